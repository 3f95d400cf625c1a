//! How an uncaught condition is reported: message, irritants, location and
//! backtrace, as people read them on a terminal.

use imp_gc::Value;

use crate::obj::{self, error};
use crate::printer::{Mode, print};
use crate::vm::Vm;

/// The parts of a condition, as text: what [`Error::Raised`](crate::Error::Raised) carries.
///
/// ```
/// let mut rt = imp::Runtime::new().unwrap();
/// rt.eval_named("(define (check n) (if (< n 0) (error \"negative:\" n) n))", "lib.scm").unwrap();
/// let Err(imp::Error::Raised(r)) = rt.eval_str("(check -5)") else { panic!() };
/// assert_eq!((r.kind.as_str(), r.message.as_str()), ("error", "negative:"));
/// assert_eq!(r.irritants, ["-5"]);
/// assert_eq!(r.location.as_deref(), Some("lib.scm:1"));
/// assert!(r.backtrace[0].starts_with("check (lib.scm:1)"));
/// assert!(r.to_string().starts_with("error: negative: -5"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The kind: `error`, `read-error`, `file-error`, `syntax-error`, or
    /// `raise` for a non-error object.
    pub kind: String,
    /// The message (for a raised non-error object, its written form).
    pub message: String,
    /// The irritants, each written with `write`.
    pub irritants: Vec<String>,
    /// "file:line" where it was raised, if known.
    pub location: Option<String>,
    /// Innermost first: "procedure (file:line)", the program's own frames
    /// (imp's library frames left out; runs of one frame folded as
    /// "procedure (file:line) × N").
    pub backtrace: Vec<String>,
    /// Every frame, imp's own included (what `,bt full` shows).
    pub full_backtrace: Vec<String>,
}

/// The files of imp's own library, compiled into every runtime.
const OWN_SOURCES: [&str; 3] = ["boot.scm:", "threads.scm:", "repl.scm:"];

/// Is this location ("file:line") in imp's own library?
fn is_own_location(loc: &str) -> bool {
    OWN_SOURCES.iter().any(|f| loc.starts_with(f))
}

/// Is this backtrace line a frame of imp's own library?
fn is_own_frame(line: &str) -> bool {
    match frame_location(line) {
        Some(loc) => is_own_location(loc),
        // No source line: imp's own internal procedures are named `%…`.
        None => line.starts_with('%'),
    }
}

/// The "file:line" of a backtrace line "procedure (file:line)[ × N]".
fn frame_location(line: &str) -> Option<&str> {
    let open = line.find(" (")?;
    let rest = &line[open + 2..];
    Some(&rest[..rest.find(')')?])
}

/// Take a condition apart.
pub fn condition_parts(vm: &Vm, c: Value) -> Report {
    if !vm.is(c, obj::ERROR) {
        return Report {
            kind: "raise".into(),
            message: format!("uncaught exception: {}", print(vm, c, Mode::Write)),
            irritants: Vec::new(),
            location: None,
            backtrace: vm.last_backtrace.clone(),
            full_backtrace: vm.last_backtrace.clone(),
        };
    }
    let msg = vm.heap.get(c, error::MESSAGE);
    let message = if vm.is(msg, obj::STRING) {
        vm.string_text(msg)
    } else {
        print(vm, msg, Mode::Display)
    };
    let mut irritants = Vec::new();
    let mut l = vm.heap.get(c, error::IRRITANTS);
    while vm.is_pair(l) {
        irritants.push(print(vm, vm.car(l), Mode::Write));
        l = vm.cdr(l);
    }
    let kind = vm.heap.get(c, error::KIND);
    let kind = if vm.is(kind, obj::SYMBOL) {
        vm.symbol_name(kind)
    } else {
        "error".into()
    };
    let loc = vm.heap.get(c, error::LOCATION);
    let location = vm.is(loc, obj::STRING).then(|| vm.string_text(loc));
    let mut backtrace = Vec::new();
    let mut b = vm.heap.get(c, error::BACKTRACE);
    while vm.is_pair(b) {
        let s = vm.car(b);
        if vm.is(s, obj::STRING) {
            backtrace.push(vm.string_text(s));
        }
        b = vm.cdr(b);
    }
    // The outermost frames of the runtime's own `load` (which runs a
    // program's forms) say nothing about the program.
    while backtrace
        .last()
        .is_some_and(|l| l.starts_with("%load-forms (boot.scm:"))
    {
        backtrace.pop();
    }
    let full_backtrace = backtrace.clone();
    let backtrace: Vec<String> = backtrace.into_iter().filter(|l| !is_own_frame(l)).collect();
    // Raised inside imp's library: the place is where the program called it.
    let location = match location {
        Some(l) if is_own_location(&l) => backtrace
            .first()
            .and_then(|f| frame_location(f))
            .map(str::to_string),
        l => l,
    };
    Report {
        kind,
        message,
        irritants,
        location,
        backtrace,
        full_backtrace,
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let label = match self.kind.as_str() {
            "error" | "raise" => "error",
            k => k,
        };
        write!(f, "{label}: {}", self.message)?;
        for i in &self.irritants {
            write!(f, " {i}")?;
        }
        if let Some(l) = &self.location {
            write!(f, "\n  at {l}")?;
        }
        if !self.backtrace.is_empty() {
            write!(f, "\nbacktrace:")?;
            for (i, line) in self.backtrace.iter().enumerate() {
                write!(f, "\n  {i}: {line}")?;
            }
        }
        Ok(())
    }
}

/// The full report of a condition, as printed for an uncaught error.
pub fn condition_report(vm: &Vm, c: Value) -> String {
    condition_parts(vm, c).to_string()
}
