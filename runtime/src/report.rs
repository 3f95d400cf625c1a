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
    /// Innermost first: "procedure (file:line)".
    pub backtrace: Vec<String>,
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
    let location = location.filter(|l| !(backtrace.is_empty() && l.starts_with("boot.scm:")));
    Report {
        kind,
        message,
        irritants,
        location,
        backtrace,
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
