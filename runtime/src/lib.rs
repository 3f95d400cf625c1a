//! imp: an R7RS Scheme whose running system can be saved to an image.
//!
//! ```
//! let mut rt = imp::Runtime::new().expect("runtime");
//! let v = rt.eval_str("(define (square x) (* x x)) (square 12)").expect("evaluates");
//! assert_eq!(rt.write(&v), "144");
//! assert_eq!(v.as_i64(&rt), Some(144));
//! ```
//!
//! A [`Runtime`] owns a heap, a VM and the global environment; nothing is
//! shared between runtimes, so two in one process do not interfere.
//! [`Value`] is a handle that keeps a Scheme value alive across collections.
#![deny(unsafe_code)]
#![warn(missing_docs)]

// The engine's internals: public for the `imp` binary, the fuzz targets
// and the tests, not part of the embedding API (they take a `Vm`).
#[doc(hidden)]
pub mod compile;
#[doc(hidden)]
pub mod fork;
#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod num;
#[doc(hidden)]
pub mod obj;
#[doc(hidden)]
pub mod os;
#[doc(hidden)]
pub mod prim;
#[doc(hidden)]
pub mod printer;
#[doc(hidden)]
pub mod reader;
#[doc(hidden)]
pub mod report;
#[doc(hidden)]
pub mod sched;
#[doc(hidden)]
pub mod vm;

/// The guides in `doc/`: rustdoc compiles (and, where not marked
/// otherwise, runs) every Rust block in them, so they cannot go stale.
#[cfg(doctest)]
pub mod doc_guides {
    #[doc = include_str!("../../doc/EMBEDDING.md")]
    pub struct Embedding;
    #[doc = include_str!("../../doc/ARCHITECTURE.md")]
    pub struct Architecture;
    #[doc = include_str!("../../doc/LANGUAGE.md")]
    pub struct Language;
    #[doc = include_str!("../../doc/IMAGE-FORMAT.md")]
    pub struct ImageFormat;
}

pub mod convert;
mod future;
pub use crate::future::RunAsync;
pub mod host;
pub mod image;
pub mod native;
#[cfg(feature = "serde")]
#[path = "serde_bridge.rs"]
pub mod serde;
pub mod view;

use std::cell::RefCell;
use std::io::Write as _;
use std::rc::Rc;

use imp_gc::{CollectionKind, Global, HeapConfig, Value as Raw};

use crate::printer::Mode;
use crate::vm::{Abort, Exn, Reg, Vm};

pub use crate::convert::{FromValue, IntoArgs, IntoValue};
pub use crate::host::{Host, HostMut, HostRef, HostTypeBuilder};
pub use crate::native::FromArgs;
pub use crate::os::{LineRequest, LineSource};
pub use crate::report::Report;
pub use crate::view::{Arg, View, Viewable};
pub use crate::vm::Grants;

/// Run `f`, first moving to a fresh stack segment when less than 128 KiB
/// of this thread's stack is left. The expander, the compiler and the
/// conversions between data and code recurse as deep as a program nests
/// (up to the reader's 10,000 levels), and a host may call in from a
/// thread with a small stack (2 MiB for Rust's spawned threads).
#[inline(always)]
pub(crate) fn deep<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, f)
}

/// The Scheme source of the part of the standard library written in
/// Scheme, by file name, in the order the boot loads it.
const BOOT_FILES: &[(&str, &str)] = &[
    ("boot.scm", include_str!("boot.scm")),
    ("threads.scm", include_str!("threads.scm")),
    ("net.scm", include_str!("net.scm")),
    ("os.scm", include_str!("os.scm")),
    ("srfi.scm", include_str!("srfi.scm")),
    ("charset.scm", include_str!("charset.scm")),
    ("strings.scm", include_str!("strings.scm")),
    ("collections.scm", include_str!("collections.scm")),
    ("time.scm", include_str!("time.scm")),
    ("regexp.scm", include_str!("regexp.scm")),
    ("json.scm", include_str!("json.scm")),
    ("repl.scm", include_str!("repl.scm")),
];

/// Why an evaluation failed.
///
/// ```
/// let mut rt = imp::Runtime::new().unwrap();
/// match rt.eval_str("(+ 1") {
///     Err(imp::Error::Read { line, column, incomplete, .. }) => {
///         assert_eq!((line, column), (1, 1));
///         assert!(incomplete);
///     }
///     other => panic!("expected a read error, got {other:?}"),
/// }
/// let Err(imp::Error::Raised(report)) = rt.eval_str("(error \"bad size\" 42 'big)") else { panic!() };
/// assert_eq!((report.kind.as_str(), report.message.as_str()), ("error", "bad size"));
/// assert_eq!(report.irritants, ["42", "big"]);
/// assert!(matches!(rt.eval_str("(exit 3)"), Err(imp::Error::Exit(3))));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The source text is malformed.
    #[error("{}read error: {message}", location_prefix(.file.as_deref(), *.line, *.column))]
    Read {
        /// The file, if the source came from one.
        file: Option<String>,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong.
        message: String,
        /// True when the input ended inside a datum (more input could complete it).
        incomplete: bool,
    },
    /// A condition was raised and not handled (boxed: a report is large,
    /// and errors are passed by value everywhere).
    #[error("{0}")]
    Raised(Box<Report>),
    /// The program called `exit`.
    #[error("exit with status {0}")]
    Exit(i32),
    /// The heap is exhausted or could not be reserved.
    #[error("out of memory: {0}")]
    Heap(String),
    /// A limit the host set ended the call: the call budget
    /// ([`Runtime::set_fuel`]) was used up, or the host interrupted
    /// ([`InterruptHandle`]). The running thread's `dynamic-wind`
    /// after-thunks ran; no Scheme handler could stop it.
    #[error("limit: {0}")]
    Limit(String),
    /// An image could not be saved or loaded (the message names the file
    /// and the cause).
    #[error("{0}")]
    Image(String),
    /// The operating system refused something the runtime needs (a
    /// signal handler, a helper thread).
    #[error("{0}")]
    System(String),
    /// Control is leaving the native function that got this error for a
    /// continuation captured outside it (an escape to an enclosing `guard`
    /// or `call/cc`). A native function should return it unchanged (`?`
    /// does); the runtime then resumes the continuation.
    #[error("an escape to a continuation outside this native call")]
    Escape,
    /// A value did not convert to the Rust type asked for (the message
    /// says what was expected and what was found).
    #[error("{0}")]
    Type(String),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
}

/// The text of the source file at `path`; bytes that are not UTF-8 are a
/// read error naming the file, line and column.
fn read_source(path: &std::path::Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    source_text(bytes, &path.display().to_string())
}

/// Source text from `bytes` (named `name` in errors): see
/// [`reader::decode_source`].
///
/// ```
/// let e = imp::source_text(vec![b'(', 0xff, b')'], "<command line>").unwrap_err();
/// assert_eq!(e.to_string(), "<command line>:1:2: read error: not valid UTF-8 (byte 0xff)");
/// ```
///
/// # Errors
/// [`Error::Read`] at the first byte that is not UTF-8.
pub fn source_text(bytes: Vec<u8>, name: &str) -> Result<String, Error> {
    reader::decode_source(bytes).map_err(|e| Error::Read {
        file: Some(name.to_string()),
        line: e.pos.line,
        column: e.pos.col,
        message: e.message,
        incomplete: false,
    })
}

fn location_prefix(file: Option<&str>, line: u32, col: u32) -> String {
    match file {
        Some(f) => format!("{f}:{line}:{col}: "),
        None => format!("line {line}, column {col}: "),
    }
}

/// Options for a new runtime ([`Runtime::with_options`]; the
/// [`Builder`] sets the same and more).
///
/// ```
/// let opts = imp::Options { gc_stress: true, ..Default::default() };
/// let mut rt = imp::Runtime::with_options(opts).unwrap();
/// let v = rt.eval_str("(let loop ((i 0) (l '())) (if (= i 100) (length l) (loop (+ i 1) (cons i l))))").unwrap();
/// assert_eq!(v.as_i64(&rt), Some(100));
/// assert_eq!(rt.verify_heap(), Ok(()));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Collect and move every young object at every allocation, and verify
    /// the heap after every collection (slow; for testing).
    pub gc_stress: bool,
    /// Deepest control stack before a catchable error (default 10,000,000 frames).
    pub max_frames: Option<usize>,
}

/// Configures a runtime before it starts: what its scripts may do outside
/// it ([`Grants`]: nothing unless granted here) and the limits they run
/// under. [`Runtime::new`] is `Runtime::builder().allow_all().build()`.
///
/// ```
/// let mut rt = imp::Runtime::builder().fuel(1_000_000).build().unwrap();
/// // Computation is allowed; the file system is not.
/// assert_eq!(rt.eval_str("(apply + (iota 10))").unwrap().as_i64(&rt), Some(45));
/// let e = rt.eval_str("(open-input-file \"/etc/hostname\")").unwrap_err();
/// assert!(e.to_string().contains("reading files is not granted"));
/// // A script can catch the refusal like any file error.
/// let v = rt.eval_str("(guard (e ((file-error? e) 'refused)) (load \"x.scm\"))").unwrap();
/// assert_eq!(rt.write(&v), "refused");
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    grants: Grants,
    options: Options,
    fuel: Option<u64>,
    heap_limit: Option<u64>,
}

impl Builder {
    /// Replace the grants with `grants`.
    ///
    /// ```
    /// use imp::Grants;
    /// let only_env = Grants { environment: true, ..Grants::NONE };
    /// let mut rt = imp::Runtime::builder().grants(only_env).build().unwrap();
    /// assert_eq!(rt.grants(), only_env);
    /// assert!(rt.eval_str("(get-environment-variables)").is_ok());
    /// assert!(rt.eval_str("(file-exists? \"/\")").is_err());
    /// ```
    pub fn grants(mut self, grants: Grants) -> Builder {
        self.grants = grants;
        self
    }

    /// Everything granted, as the `imp` command does.
    ///
    /// ```
    /// let mut rt = imp::Runtime::builder().allow_all().fuel(1_000_000).build().unwrap();
    /// assert_eq!(rt.grants(), imp::Grants::ALL);
    /// assert_eq!(rt.eval_str("(file-exists? \"/\")").unwrap().as_bool(&rt), Some(true));
    /// // The limits still hold.
    /// assert!(rt.eval_str("(let loop () (loop))").is_err());
    /// ```
    pub fn allow_all(self) -> Builder {
        self.grants(Grants::ALL)
    }

    /// Let scripts open files for reading, test for them, `load` and
    /// `include` them, and import libraries from files.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-read-{}.scm", std::process::id()));
    /// std::fs::write(&path, "(define loaded 'yes)").unwrap();
    /// let mut rt = imp::Runtime::builder().allow_read_files().build().unwrap();
    /// rt.set_global("path", path.display().to_string()).unwrap();
    /// rt.eval_str("(load path)").unwrap();
    /// assert_eq!(rt.global::<String>("loaded").unwrap(), "yes");
    /// assert!(rt.eval_str("(delete-file \"x\")").is_err()); // writing is another grant
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn allow_read_files(mut self) -> Builder {
        self.grants.read_files = true;
        self
    }

    /// Let scripts open files for writing, delete files and save images.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-write-{}.txt", std::process::id()));
    /// let mut rt = imp::Runtime::builder().allow_write_files().build().unwrap();
    /// rt.set_global("path", path.display().to_string()).unwrap();
    /// rt.eval_str("(call-with-output-file path (lambda (p) (write-string \"hi\" p)))").unwrap();
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "hi");
    /// assert!(rt.eval_str("(file-exists? path)").is_err()); // reading is another grant
    /// rt.eval_str("(delete-file path)").unwrap();
    /// assert!(!path.exists());
    /// ```
    pub fn allow_write_files(mut self) -> Builder {
        self.grants.write_files = true;
        self
    }

    /// Let scripts run other programs (`process-run`).
    ///
    /// ```
    /// let mut rt = imp::Runtime::builder().allow_processes().build().unwrap();
    /// // `process-run` returns the program's exit status.
    /// assert_eq!(rt.eval_str("(process-run \"false\")").unwrap().as_i64(&rt), Some(1));
    /// let mut locked = imp::Runtime::builder().build().unwrap();
    /// let e = locked.eval_str("(process-run \"true\")").unwrap_err();
    /// assert!(e.to_string().contains("running programs is not granted"));
    /// ```
    pub fn allow_processes(mut self) -> Builder {
        self.grants.processes = true;
        self
    }

    /// Let scripts read environment variables.
    ///
    /// ```
    /// let mut rt = imp::Runtime::builder().allow_environment().build().unwrap();
    /// let path: Option<String> = rt.call_global("get-environment-variable", ("PATH",)).unwrap();
    /// assert_eq!(path, std::env::var("PATH").ok());
    /// let mut locked = imp::Runtime::builder().build().unwrap();
    /// assert!(locked.eval_str("(get-environment-variable \"PATH\")").is_err());
    /// ```
    pub fn allow_environment(mut self) -> Builder {
        self.grants.environment = true;
        self
    }

    /// Let scripts use the network: connect out and listen
    /// ([`Grants::network_connect`] and [`Grants::network_listen`]).
    ///
    /// ```
    /// let rt = imp::Runtime::builder().allow_network().build().unwrap();
    /// assert!(rt.grants().network_connect && rt.grants().network_listen);
    /// assert!(!rt.grants().read_files);
    /// ```
    pub fn allow_network(self) -> Builder {
        self.allow_network_connect().allow_network_listen()
    }

    /// Let scripts open connections and resolve names, but not listen.
    ///
    /// ```
    /// let rt = imp::Runtime::builder().allow_network_connect().build().unwrap();
    /// assert!(rt.grants().network_connect && !rt.grants().network_listen);
    /// ```
    pub fn allow_network_connect(mut self) -> Builder {
        self.grants.network_connect = true;
        self
    }

    /// Let scripts listen for connections (and bind datagram sockets),
    /// but not connect out.
    ///
    /// ```
    /// let rt = imp::Runtime::builder().allow_network_listen().build().unwrap();
    /// assert!(!rt.grants().network_connect && rt.grants().network_listen);
    /// ```
    pub fn allow_network_listen(mut self) -> Builder {
        self.grants.network_listen = true;
        self
    }

    /// Start with a budget of `calls` procedure calls ([`Runtime::set_fuel`]).
    ///
    /// ```
    /// let mut rt = imp::Runtime::builder().fuel(50_000).build().unwrap();
    /// assert_eq!(rt.eval_str("(length (iota 100))").unwrap().as_i64(&rt), Some(100));
    /// let e = rt.eval_str("(let loop () (loop))").unwrap_err();
    /// assert!(e.to_string().contains("fuel exhausted"));
    /// ```
    pub fn fuel(mut self, calls: u64) -> Builder {
        self.fuel = Some(calls);
        self
    }

    /// Cap the heap at `bytes` ([`Runtime::set_heap_limit`]).
    ///
    /// ```
    /// let mut rt = imp::Runtime::builder().heap_limit(32 << 20).build().unwrap();
    /// let v = rt.eval_str("(guard (e (#t 'too-big)) (make-vector 10000000 0))").unwrap();
    /// assert_eq!(rt.write(&v), "too-big");
    /// assert_eq!(rt.eval_str("(string-length (make-string 100 #\\a))").unwrap().as_i64(&rt), Some(100));
    /// ```
    pub fn heap_limit(mut self, bytes: u64) -> Builder {
        self.heap_limit = Some(bytes);
        self
    }

    /// Cap the control stack at `frames` ([`Runtime::set_max_frames`]).
    ///
    /// ```
    /// let mut rt = imp::Runtime::builder().max_frames(1_000).build().unwrap();
    /// rt.eval_str("(define (depth n) (if (= n 0) 0 (+ 1 (depth (- n 1)))))").unwrap();
    /// assert_eq!(rt.eval_str("(depth 500)").unwrap().as_i64(&rt), Some(500));
    /// assert!(rt.eval_str("(depth 5000)").is_err());
    /// // Tail calls take no frames.
    /// assert!(rt.eval_str("(let loop ((i 0)) (if (< i 5000) (loop (+ i 1)) i))").is_ok());
    /// ```
    pub fn max_frames(mut self, frames: usize) -> Builder {
        self.options.max_frames = Some(frames);
        self
    }

    /// Collect at every allocation and verify the heap after each
    /// collection (slow; for testing a host's use of handles).
    ///
    /// ```
    /// let mut rt = imp::Runtime::builder().gc_stress(true).build().unwrap();
    /// let kept = rt.eval_str("(list \"a\" \"b\")").unwrap();
    /// rt.eval_str("(length (iota 1000))").unwrap(); // moves `kept` many times
    /// assert_eq!(rt.write(&kept), "(\"a\" \"b\")");
    /// assert_eq!(rt.verify_heap(), Ok(()));
    /// ```
    pub fn gc_stress(mut self, on: bool) -> Builder {
        self.options.gc_stress = on;
        self
    }

    /// Boot a runtime from source with the standard library.
    ///
    /// ```
    /// let mut rt = imp::Runtime::builder().build().unwrap();
    /// assert_eq!(rt.grants(), imp::Grants::NONE);
    /// assert_eq!(rt.fuel(), None);
    /// let v = rt.eval_str("(string-append \"im\" \"p\")").unwrap();
    /// assert_eq!(v.as_string(&rt).as_deref(), Some("imp"));
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap's address space cannot be reserved.
    pub fn build(self) -> Result<Runtime, Error> {
        let mut rt = Runtime::with_options(self.options.clone())?;
        self.apply(&mut rt);
        Ok(rt)
    }

    /// Start from the image at `path` under these grants and limits (they
    /// hold from before the image's restore hooks run); `setup` registers
    /// the host's native functions, then the image is refused, naming
    /// them, if it uses any that were not registered. See
    /// [`Runtime::from_image_with`].
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-build-image-{}.img", std::process::id()));
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("double", |_, (n,): (i64,)| Ok(2 * n)).unwrap();
    /// rt.save_image(&path, None).unwrap();
    /// let Err(e) = imp::Runtime::builder().build_from_image(&path, |_| Ok(())) else { panic!() };
    /// assert!(e.to_string().contains("double"));
    /// let (mut rt, _) = imp::Runtime::builder()
    ///     .build_from_image(&path, |rt| rt.register("double", |_, (n,): (i64,)| Ok(2 * n)))
    ///     .unwrap();
    /// assert_eq!(rt.eval_str("(double 21)").unwrap().as_i64(&rt), Some(42));
    /// assert_eq!(rt.grants(), imp::Grants::NONE);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Image`] naming the file and why it was refused.
    pub fn build_from_image(
        self,
        path: impl AsRef<std::path::Path>,
        setup: impl FnOnce(&mut Runtime) -> Result<(), Error>,
    ) -> Result<(Runtime, Option<Value>), Error> {
        let (mut rt, top) = Runtime::open_image(path.as_ref(), |rt| self.apply(rt))?;
        setup(&mut rt)?;
        rt.check_natives()?;
        Ok((rt, top))
    }

    /// [`Builder::build_from_image`] for an image held in memory
    /// ([`Runtime::from_image_bytes`]).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-builder-{}.img", std::process::id()));
    /// imp::write_boot_image(&path, |rt| rt.eval_str("(define (twice x) (* 2 x))").map(|_| ())).unwrap();
    /// let bytes = std::fs::read(&path).unwrap();
    /// # std::fs::remove_file(&path).unwrap();
    /// let (mut rt, _) = imp::Runtime::builder()
    ///     .heap_limit(64 << 20)
    ///     .build_from_image_bytes(&bytes, |_| Ok(()))
    ///     .unwrap();
    /// assert_eq!(rt.call_global::<i64>("twice", (21,)).unwrap(), 42);
    /// assert!(rt.eval_str("(delete-file \"x\")").is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::Image`] with the cause.
    pub fn build_from_image_bytes(
        self,
        bytes: &[u8],
        setup: impl FnOnce(&mut Runtime) -> Result<(), Error>,
    ) -> Result<(Runtime, Option<Value>), Error> {
        let file = Runtime::image_memfd(bytes)?;
        self.build_from_image(memfd_path(&file), setup)
    }

    fn apply(&self, rt: &mut Runtime) {
        rt.vm.grants = self.grants;
        rt.set_fuel(self.fuel);
        rt.set_heap_limit(self.heap_limit);
        if let Some(n) = self.options.max_frames {
            rt.set_max_frames(n);
        }
    }
}

/// The path through which this process opens `file`.
fn memfd_path(file: &std::fs::File) -> String {
    use std::os::fd::AsRawFd as _;
    format!("/proc/self/fd/{}", file.as_raw_fd())
}

/// A Scheme value held by the host. Keeps its object alive and follows it
/// when the collector moves it. Dropping it releases the slot.
///
/// ```
/// let mut rt = imp::Runtime::new().unwrap();
/// let v = rt.eval_str("(list 1 2 3)").unwrap();
/// rt.collect_garbage().unwrap(); // the list moves; the handle follows it
/// assert_eq!(rt.write(&v), "(1 2 3)");
/// let back: Vec<i64> = rt.get(&v).unwrap();
/// assert_eq!(back, [1, 2, 3]);
/// ```
pub struct Value {
    slot: Global,
    release: Rc<RefCell<Vec<Global>>>,
}

impl Drop for Value {
    #[inline]
    fn drop(&mut self) {
        self.release.borrow_mut().push(self.slot);
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "imp::Value({:?})", self.slot)
    }
}

impl Value {
    /// The integer, if this is an exact integer that fits an `i64` (and
    /// the value is `rt`'s: every accessor here answers `None`, or false,
    /// for a value of another runtime).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let v = rt.eval_str("(* 6 7)").unwrap();
    /// assert_eq!(v.as_i64(&rt), Some(42));
    /// assert_eq!(rt.eval_str("\"42\"").unwrap().as_i64(&rt), None);
    /// ```
    ///
    pub fn as_i64(&self, rt: &Runtime) -> Option<i64> {
        let v = rt.raw(self).ok()?;
        match rt.vm.num(v)? {
            num::Num::Fix(n) => Some(n),
            num::Num::Big(b) => num_traits::ToPrimitive::to_i64(&b),
            num::Num::Flo(_) | num::Num::Rat(..) => None,
        }
    }

    /// The number as an `f64`, if this is a real number.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// assert_eq!(rt.eval_str("(/ 1 4)").unwrap().as_f64(&rt), Some(0.25));
    /// assert_eq!(rt.eval_str("(sqrt 2.25)").unwrap().as_f64(&rt), Some(1.5));
    /// assert_eq!(rt.eval_str("'x").unwrap().as_f64(&rt), None);
    /// ```
    pub fn as_f64(&self, rt: &Runtime) -> Option<f64> {
        rt.vm.num(rt.raw(self).ok()?).map(|n| n.to_f64())
    }

    /// The text, if this is a string.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let v = rt.eval_str("(string-upcase \"imp\")").unwrap();
    /// assert_eq!(v.as_string(&rt).as_deref(), Some("IMP"));
    /// // Not a symbol or a character.
    /// assert_eq!(rt.eval_str("'imp").unwrap().as_string(&rt), None);
    /// assert_eq!(rt.eval_str("#\\i").unwrap().as_string(&rt), None);
    /// ```
    pub fn as_string(&self, rt: &Runtime) -> Option<String> {
        let v = rt.raw(self).ok()?;
        rt.vm.is(v, obj::STRING).then(|| rt.vm.string_text(v))
    }

    /// The boolean, if this is `#t` or `#f`.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// assert_eq!(rt.eval_str("(< 1 2)").unwrap().as_bool(&rt), Some(true));
    /// assert_eq!(rt.eval_str("(null? '(1))").unwrap().as_bool(&rt), Some(false));
    /// // Scheme counts everything but #f as true; this does not.
    /// assert_eq!(rt.eval_str("0").unwrap().as_bool(&rt), None);
    /// ```
    pub fn as_bool(&self, rt: &Runtime) -> Option<bool> {
        match rt.raw(self).ok()? {
            Raw::TRUE => Some(true),
            Raw::FALSE => Some(false),
            _ => None,
        }
    }

    /// Is this the unspecified value (what `define` or `set!` return)?
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// assert!(rt.eval_str("(define x 1)").unwrap().is_unspecified(&rt));
    /// assert!(rt.eval_str("(set! x 2)").unwrap().is_unspecified(&rt));
    /// assert!(!rt.eval_str("x").unwrap().is_unspecified(&rt));
    /// assert!(!rt.eval_str("#f").unwrap().is_unspecified(&rt));
    /// ```
    pub fn is_unspecified(&self, rt: &Runtime) -> bool {
        rt.raw(self).ok() == Some(Raw::UNSPECIFIED)
    }
}

/// A runtime seen from Rust code that runs inside it: a native function
/// gets one, and the typed conversions ([`IntoValue`], [`FromValue`]) work
/// in one. [`Runtime::scope`] makes one over a whole runtime.
///
/// ```
/// use imp::{FromValue, IntoValue};
/// let mut rt = imp::Runtime::new().unwrap();
/// rt.register("sum-list", |cx, (l,): (imp::Value,)| {
///     let xs = Vec::<i64>::from_value(&l, cx)?;
///     Ok(xs.iter().sum::<i64>())
/// }).unwrap();
/// let mut cx = rt.scope();
/// let l = vec![1, 2, 3].into_value(&mut cx).unwrap();
/// assert_eq!(cx.write(&l), "(1 2 3)");
/// assert_eq!(rt.call_global::<i64>("sum-list", (vec![4, 5],)).unwrap(), 9);
/// ```
pub struct Scope<'a> {
    vm: &'a mut Vm,
}

impl Scope<'_> {
    #[inline]
    fn raw(&self, v: &Value) -> Result<Raw, Error> {
        raw_in(self.vm, v)
    }

    #[inline]
    fn hold(&mut self, v: Raw) -> Value {
        hold_in(self.vm, v)
    }

    fn convert(&mut self, e: Exn) -> Error {
        convert_in(self.vm, e)
    }

    #[cfg(feature = "serde")]
    fn hold_raw(&mut self, v: Raw) -> Result<Value, Error> {
        Ok(self.hold(v))
    }

    #[cfg(feature = "serde")]
    fn cons(&mut self, a: &Value, d: &Value) -> Result<Value, Error> {
        let (a, d) = (self.raw(a)?, self.raw(d)?);
        let r = self.vm.cons(a, d);
        match r {
            Ok(p) => Ok(self.hold(p)),
            Err(e) => Err(self.convert(e)),
        }
    }

    /// Call procedure `f` with `args`.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// // A native function that calls back into Scheme.
    /// rt.register("twice", |cx, (f, x): (imp::Value, imp::Value)| {
    ///     let once = cx.call(&f, &[&x])?;
    ///     cx.call(&f, &[&once])
    /// }).unwrap();
    /// let v = rt.eval_str("(twice (lambda (s) (string-append s \"!\")) \"hey\")").unwrap();
    /// assert_eq!(v.as_string(&rt).as_deref(), Some("hey!!"));
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::eval_str`].
    pub fn call(&mut self, f: &Value, args: &[&Value]) -> Result<Value, Error> {
        self.call_with(f, args.iter().copied())
    }

    /// [`Scope::call`] with the arguments from an iterator.
    pub(crate) fn call_with<'v>(
        &mut self,
        f: &Value,
        args: impl Iterator<Item = &'v Value>,
    ) -> Result<Value, Error> {
        let base = self.vm.stack.len();
        let fv = self.raw(f)?;
        self.vm.stack.push(fv);
        for a in args {
            match self.raw(a) {
                Ok(v) => self.vm.stack.push(v),
                Err(e) => {
                    self.vm.stack.truncate(base);
                    return Err(e);
                }
            }
        }
        let v = self.call_pushed(base)?;
        Ok(self.hold(v))
    }

    /// Call the procedure at stack slot `base` with the arguments above
    /// it; the stack is cut back to `base`. The result is raw: use it
    /// before anything allocates.
    pub(crate) fn call_pushed(&mut self, base: usize) -> Result<Raw, Error> {
        let r = self.vm.call_from_rust(base);
        self.vm.stack.truncate(base);
        // Back at the host's outermost level: flush what Scheme wrote.
        if self.vm.entries.is_empty() && self.vm.out_pending {
            self.vm.out_pending = false;
            let _ = std::io::Write::flush(&mut self.vm.out);
        }
        r.map_err(|e| self.convert(e))
    }

    /// The value printed as `write` would.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("describe", |cx, (v,): (imp::Value,)| Ok(format!("got {}", cx.write(&v)))).unwrap();
    /// let v = rt.eval_str("(describe '(\"a\" #\\b))").unwrap();
    /// assert_eq!(v.as_string(&rt).as_deref(), Some("got (\"a\" #\\b)"));
    /// ```
    pub fn write(&self, v: &Value) -> String {
        match self.raw(v) {
            Ok(r) => printer::print(self.vm, r, Mode::Write),
            Err(_) => FOREIGN_VALUE.to_string(),
        }
    }

    /// The value printed as `display` would.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("shout", |cx, (v,): (imp::Value,)| Ok(cx.display(&v).to_uppercase())).unwrap();
    /// let v = rt.eval_str("(shout '(\"a\" #\\b))").unwrap();
    /// assert_eq!(v.as_string(&rt).as_deref(), Some("(A B)"));
    /// ```
    pub fn display(&self, v: &Value) -> String {
        match self.raw(v) {
            Ok(r) => printer::print(self.vm, r, Mode::Display),
            Err(_) => FOREIGN_VALUE.to_string(),
        }
    }
}

/// How `write` and `display` show a value of another runtime.
const FOREIGN_VALUE: &str = "#<value of another runtime>";

/// Interrupts a runtime's Scheme code from anywhere: another OS thread, a
/// timer, a signal handler's thread. The host's call into the runtime ends
/// with [`Error::Limit`] ("interrupted by the host") at the next safepoint
/// (within 2,000 procedure calls) or sooner in a built-in that loops; no
/// Scheme handler can stop it (see [`InterruptHandle::interrupt`]). The
/// runtime stays usable.
///
/// ```
/// let mut rt = imp::Runtime::new().unwrap();
/// let h = rt.interrupt_handle();
/// let t = std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_millis(20));
///     h.interrupt();
/// });
/// let e = rt.eval_str("(let spin () (spin))").unwrap_err();
/// assert!(e.to_string().contains("interrupted by the host"));
/// t.join().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct InterruptHandle(
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    crate::os::Waker,
);

impl InterruptHandle {
    /// Ask the runtime to stop what it is running: the host's call ends
    /// with [`Error::Limit`] at the next safepoint (or sooner, in a
    /// built-in that loops). The running thread's `dynamic-wind`
    /// after-thunks run, so Scheme code can clean up, but no handler can
    /// catch the interruption and go on; interrupting again while they run
    /// ends the call at once.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let h = rt.interrupt_handle();
    /// let timer = std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(20));
    ///     h.interrupt();
    /// });
    /// let e = rt.eval_str(
    ///     "(define cleaned #f)
    ///      (guard (e (#t 'caught))
    ///        (dynamic-wind (lambda () #f)
    ///                      (lambda () (let loop () (loop)))
    ///                      (lambda () (set! cleaned #t))))",
    /// ).unwrap_err();
    /// assert!(matches!(e, imp::Error::Limit(_)), "{e}");
    /// timer.join().unwrap();
    /// assert_eq!(rt.eval_str("cleaned").unwrap().as_bool(&rt), Some(true));
    /// assert_eq!(rt.eval_str("(+ 1 2)").unwrap().as_i64(&rt), Some(3));
    /// ```
    pub fn interrupt(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        // A runtime asleep in its scheduler (every thread waiting for a
        // timer) wakes to see it.
        self.1.wake();
    }
}

/// How [`Runtime::save_forked_with`] saves: the image's toplevel
/// procedure, and whether the image keeps the other green threads.
#[derive(Clone, Copy, Debug, Default)]
pub struct SaveOptions<'a> {
    toplevel: Option<&'a Value>,
    keep_threads: bool,
}

impl<'a> SaveOptions<'a> {
    /// No toplevel; the other green threads end in the image (the
    /// default, as [`Runtime::save_forked`]).
    pub fn new() -> SaveOptions<'a> {
        SaveOptions::default()
    }

    /// The procedure the image runs when it starts (returned by
    /// [`Runtime::from_image`]).
    pub fn toplevel(mut self, proc: &'a Value) -> SaveOptions<'a> {
        self.toplevel = Some(proc);
        self
    }

    /// Keep the other green threads in the image, which resumes them
    /// (`save-application`'s `#:threads 'keep`; doc/LANGUAGE.md says
    /// what is kept and what is not), or end them (`false`, the default).
    pub fn keep_threads(mut self, keep: bool) -> SaveOptions<'a> {
        self.keep_threads = keep;
        self
    }
}

/// An imp runtime: a heap, a VM and a global environment.
///
/// ```
/// let mut rt = imp::Runtime::new().unwrap();
/// rt.eval_str("(define (greet who) (string-append \"hello, \" who))").unwrap();
/// let s: String = rt.call_global("greet", ("world",)).unwrap();
/// assert_eq!(s, "hello, world");
/// ```
pub struct Runtime {
    vm: Vm,
}

impl Runtime {
    /// A runtime with the standard library loaded and everything granted
    /// ([`Grants::ALL`]: files, programs, environment variables), as the
    /// `imp` command runs programs. For scripts that should only compute,
    /// start from [`Runtime::builder`], which grants nothing.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// assert_eq!(rt.eval_str("(+ 1 2)").unwrap().as_i64(&rt), Some(3));
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap's address space cannot be reserved.
    pub fn new() -> Result<Runtime, Error> {
        Runtime::with_options(Options::default())
    }

    /// Whether a panic inside a native function is printed by Rust's panic
    /// hook (the host's, or the default one that writes to stderr) before it
    /// becomes a Scheme error. Off by default: the panic is reported only as
    /// the error, whose message carries the panic's.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("boom", |_: &mut imp::Scope, _: ()| -> Result<i64, imp::Error> { panic!("kaboom") }).unwrap();
    /// let e = rt.eval_str("(boom)").unwrap_err();
    /// assert!(e.to_string().contains("kaboom"));
    /// rt.show_native_panics(true);
    /// ```
    pub fn show_native_panics(&mut self, show: bool) {
        self.vm.host.natives.show_panics = show;
    }

    /// Turn the collector's stress mode on or off from now on: every
    /// allocation collects and moves every young object, and the heap is
    /// verified after each collection. A test aid (slow); `imp` turns it on
    /// when `IMP_GC_STRESS=1` is set.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_gc_stress(true);
    /// let v = rt.eval_str("(length (map (lambda (x) (list x)) (iota 100)))").unwrap();
    /// assert_eq!(v.as_i64(&rt), Some(100));
    /// assert!(rt.gc_stats().minor_collections > 100);
    /// ```
    pub fn set_gc_stress(&mut self, on: bool) {
        self.vm.heap.set_stress(on);
        self.vm.verify = on;
        // Over whole programs a walk of the heap after every allocation
        // would take hours: one collection in 65,536 is verified (a bug
        // the moving itself does not show still shows within seconds).
        self.vm.verify_every = if on { 65536 } else { 1 };
    }

    /// The VM inside (for the project's own tests and tools).
    #[doc(hidden)]
    pub fn vm(&mut self) -> &mut Vm {
        &mut self.vm
    }

    /// A [`Builder`] with nothing granted and no limits set.
    ///
    /// ```
    /// let rt = imp::Runtime::builder().build().unwrap();
    /// assert_eq!(rt.grants(), imp::Grants::NONE);
    /// assert_eq!(rt.fuel(), None);
    /// ```
    pub fn builder() -> Builder {
        Builder {
            grants: Grants::NONE,
            options: Options::default(),
            fuel: None,
            heap_limit: None,
        }
    }

    /// What this runtime's scripts may do outside it.
    ///
    /// ```
    /// let rt = imp::Runtime::builder().allow_read_files().build().unwrap();
    /// let g = rt.grants();
    /// assert!(g.read_files && !g.write_files && !g.processes && !g.environment);
    /// assert_eq!(imp::Runtime::new().unwrap().grants(), imp::Grants::ALL);
    /// ```
    pub fn grants(&self) -> Grants {
        self.vm.grants
    }

    /// A runtime configured by `opts`.
    ///
    /// ```
    /// let opts = imp::Options { max_frames: Some(100), ..Default::default() };
    /// let mut rt = imp::Runtime::with_options(opts).unwrap();
    /// rt.eval_str("(define (f n) (if (= n 0) 0 (+ 1 (f (- n 1)))))").unwrap();
    /// assert!(rt.eval_str("(f 1000)").is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap's address space cannot be reserved.
    pub fn with_options(opts: Options) -> Result<Runtime, Error> {
        let mut config = HeapConfig::default();
        if opts.gc_stress {
            config.stress = true;
            config.nursery_bytes = 256 * 1024;
        }
        let mut vm = Vm::new(config).map_err(|e| Error::Heap(e.to_string()))?;
        vm.verify = opts.gc_stress;
        if let Some(n) = opts.max_frames {
            vm.max_frames = n;
        }
        let mut rt = Runtime { vm };
        rt.boot()?;
        Ok(rt)
    }

    fn boot(&mut self) -> Result<(), Error> {
        prim::install(&mut self.vm).map_err(|e| self.convert(e))?;
        for (file, text) in BOOT_FILES {
            self.eval_source(text, Some(file))?;
        }
        compile::library::record_builtins(&mut self.vm).map_err(|e| self.convert(e))?;
        self.vm.hide_internals().map_err(|e| self.convert(e))?;
        for (reg, name) in [
            (Reg::OutParam, "current-output-port"),
            (Reg::ErrParam, "current-error-port"),
            (Reg::InParam, "current-input-port"),
        ] {
            let s = self.vm.intern(name).map_err(|e| self.convert(e))?;
            let p = self.vm.global_value(s);
            self.vm.set_reg(reg, p);
        }
        Ok(())
    }

    fn raw(&self, v: &Value) -> Result<Raw, Error> {
        raw_in(&self.vm, v)
    }

    fn hold(&mut self, v: Raw) -> Value {
        hold_in(&mut self.vm, v)
    }

    fn drain_released(&mut self) {
        drain_released_in(&mut self.vm);
    }

    /// Give Scheme code a budget of `calls` procedure calls (every loop
    /// iteration is a call), as wasmtime gives a store fuel: the budget
    /// belongs to the engine, every call from the host draws on what is
    /// left, and the host refills it by setting it again. When it runs out,
    /// the host's call ends with [`Error::Limit`]: the running thread's
    /// `dynamic-wind` after-thunks run (with up to 100,000 calls of their
    /// own), and no Scheme handler can catch it or carry on. While the
    /// budget stays used up, every later call ends the same way after at
    /// most 1,000 calls. `None` removes the limit. Costs nothing per call:
    /// the budget is counted at the scheduler's safepoints (every 2,000
    /// calls), so a call may run up to that many calls past it.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_fuel(Some(10_000));
    /// // A guard does not catch it: the limit ends the host's call.
    /// let e = rt.eval_str("(guard (e (#t 'caught)) (let loop () (loop)))").unwrap_err();
    /// assert!(matches!(e, imp::Error::Limit(_)), "{e}");
    /// assert!(e.to_string().contains("fuel exhausted"));
    /// rt.set_fuel(None);
    /// assert_eq!(rt.eval_str("(+ 1 2)").unwrap().as_i64(&rt), Some(3));
    /// ```
    pub fn set_fuel(&mut self, calls: Option<u64>) {
        self.vm.limits.budget = calls;
        self.vm.fuel_grant = self.vm.fuel;
        self.vm.refuel();
    }

    /// The procedure calls left of the budget [`Runtime::set_fuel`] set
    /// (counted at safepoints, so up to 2,000 calls stale).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// assert_eq!(rt.fuel(), None);
    /// rt.set_fuel(Some(1_000_000));
    /// rt.eval_str("(let loop ((i 0)) (if (< i 100000) (loop (+ i 1))))").unwrap();
    /// let left = rt.fuel().unwrap();
    /// assert!(left < 1_000_000 - 90_000, "{left} calls left");
    /// ```
    pub fn fuel(&self) -> Option<u64> {
        self.vm.limits.budget
    }

    /// A handle that interrupts this runtime from any thread.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let h = rt.interrupt_handle();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(20));
    ///     h.interrupt();
    /// });
    /// let e = rt.eval_str("(let loop () (loop))").unwrap_err();
    /// assert!(e.to_string().contains("interrupted"));
    /// ```
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle(self.vm.limits.interrupt.clone(), self.vm.os.waker())
    }

    /// Limit the heap to `bytes` (the standard library itself takes a few
    /// hundred kilobytes); an allocation that would pass it, even after a
    /// full collection, raises a catchable `limit` error. `None` removes
    /// the limit.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_heap_limit(Some(32 << 20));
    /// let e = rt.eval_str("(make-vector 10000000 0)").unwrap_err();
    /// assert!(e.to_string().contains("heap limit"));
    /// assert_eq!(rt.eval_str("(vector-length (make-vector 10 0))").unwrap().as_i64(&rt), Some(10));
    /// ```
    pub fn set_heap_limit(&mut self, bytes: Option<u64>) {
        self.vm.limits.heap_bytes = bytes;
        self.vm.limits.heap_tripped = false;
    }

    /// Limit the control stack to `frames` nested non-tail calls; deeper,
    /// a catchable error. The default is 10,000,000.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_max_frames(1_000);
    /// rt.eval_str("(define (depth n) (if (= n 0) 0 (+ 1 (depth (- n 1)))))").unwrap();
    /// assert!(rt.eval_str("(depth 100000)").is_err());
    /// assert_eq!(rt.eval_str("(depth 500)").unwrap().as_i64(&rt), Some(500));
    /// ```
    pub fn set_max_frames(&mut self, frames: usize) {
        self.vm.max_frames = frames;
    }

    /// Let the runtime's other green threads run until none is ready to
    /// (threads waiting for a timer, a channel or I/O stay waiting).
    /// Between calls into the runtime its threads are suspended; this is
    /// how a host drives them.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.eval_str("(define done #f) (thread-start! (make-thread (lambda () (set! done #t))))").unwrap();
    /// rt.run_until_idle().unwrap();
    /// assert_eq!(rt.global::<bool>("done").unwrap(), true);
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::eval_str`].
    pub fn run_until_idle(&mut self) -> Result<(), Error> {
        self.call_internal::<()>("%run-until-idle", ())
    }

    /// Let the runtime's other green threads run for `slice` (the host's
    /// thread waits that long; timers and I/O they wait for are served).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.eval_str("(define n 0) (thread-start! (make-thread (lambda () (thread-sleep! 0.01) (set! n 1))))").unwrap();
    /// rt.run_for(std::time::Duration::from_millis(100)).unwrap();
    /// assert_eq!(rt.global::<i64>("n").unwrap(), 1);
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::eval_str`].
    pub fn run_for(&mut self, slice: std::time::Duration) -> Result<(), Error> {
        self.call_global::<()>("thread-sleep!", (slice.as_secs_f64(),))
    }

    /// Run the runtime's green threads until `thread` finishes; its result.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let t = rt.eval_str("(thread-start! (make-thread (lambda () (* 6 7))))").unwrap();
    /// assert_eq!(rt.join::<i64>(&t).unwrap(), 42);
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::eval_str`]; [`Error::Raised`] with an
    /// `uncaught-exception` if the thread ended by an uncaught raise.
    pub fn join<R: FromValue>(&mut self, thread: &Value) -> Result<R, Error> {
        self.call_global("thread-join!", (thread,))
    }

    /// A new Scheme channel holding up to `capacity` values unreceived
    /// (0: each send waits for its receiver), to pass values between the
    /// host and the runtime's green threads.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let jobs = rt.make_channel(16).unwrap();
    /// let done = rt.make_channel(16).unwrap();
    /// let worker = rt.eval_str(
    ///     "(lambda (in out)
    ///        (thread-start! (make-thread (lambda ()
    ///          (let loop ((n (channel-receive in)))
    ///            (if (eof-object? n) (channel-close! out)
    ///                (begin (channel-send! out (* n n)) (loop (channel-receive in)))))))))",
    /// ).unwrap();
    /// rt.call_value::<imp::Value>(&worker, (&jobs, &done)).unwrap();
    /// for n in 1..=3 { rt.send(&jobs, n).unwrap(); }
    /// rt.close_channel(&jobs).unwrap();
    /// let mut got = Vec::new();
    /// while let Some(sq) = rt.receive::<i64>(&done).unwrap() { got.push(sq); }
    /// assert_eq!(got, [1, 4, 9]);
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::eval_str`].
    pub fn make_channel(&mut self, capacity: usize) -> Result<Value, Error> {
        self.call_global("make-channel", (capacity,))
    }

    /// Send `value` on `channel`, running the green threads until a
    /// receiver takes it or the channel's buffer has room.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let inbox = rt.make_channel(0).unwrap();
    /// rt.set_global("inbox", &inbox).unwrap();
    /// rt.eval_str("(define got '())
    ///              (thread-start! (make-thread (lambda ()
    ///                (set! got (cons (channel-receive inbox) got)))))").unwrap();
    /// rt.send(&inbox, "hello").unwrap(); // waits for the thread to take it
    /// assert_eq!(rt.global::<Vec<String>>("got").unwrap(), ["hello"]);
    /// ```
    ///
    /// # Errors
    /// [`Error::Raised`] if `channel` is not a channel or is closed, or
    /// (a deadlock) if no thread could ever receive.
    pub fn send(&mut self, channel: &Value, value: impl IntoValue) -> Result<(), Error> {
        let v = value.into_value(&mut self.scope())?;
        self.call_global("channel-send!", (channel, &v))
    }

    /// The next value on `channel`, converted, running the green threads
    /// until one comes; `None` once the channel is closed and empty.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let out = rt.make_channel(0).unwrap();
    /// rt.set_global("out", &out).unwrap();
    /// rt.eval_str("(thread-start! (make-thread (lambda ()
    ///                (channel-send! out (* 6 7))
    ///                (channel-close! out))))").unwrap();
    /// assert_eq!(rt.receive::<i64>(&out).unwrap(), Some(42));
    /// assert_eq!(rt.receive::<i64>(&out).unwrap(), None);
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::send`]; [`Error::Type`] if the value does not convert.
    pub fn receive<T: FromValue>(&mut self, channel: &Value) -> Result<Option<T>, Error> {
        let v: Value = self.call_global("channel-receive", (channel,))?;
        self.unless_eof(v)
    }

    /// A value from `channel` if one is ready now (the green threads get
    /// one turn first); `None` if none is, or if the channel is closed.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let ch = rt.make_channel(4).unwrap();
    /// assert_eq!(rt.try_receive::<i64>(&ch).unwrap(), None); // returns at once
    /// rt.set_global("ch", &ch).unwrap();
    /// rt.eval_str("(thread-start! (make-thread (lambda () (channel-send! ch 7))))").unwrap();
    /// rt.run_until_idle().unwrap();
    /// assert_eq!(rt.try_receive::<i64>(&ch).unwrap(), Some(7));
    /// assert_eq!(rt.try_receive::<i64>(&ch).unwrap(), None);
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::receive`].
    pub fn try_receive<T: FromValue>(&mut self, channel: &Value) -> Result<Option<T>, Error> {
        let v: Value = self.call_internal("%channel-poll", (channel,))?;
        let r = self.raw(&v)?;
        if self.vm.is_pair(r) {
            let first = self.hold(self.vm.car(r));
            T::from_value(&first, &mut self.scope()).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Close `channel`: receivers get what is buffered, then the end.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let ch = rt.make_channel(4).unwrap();
    /// rt.send(&ch, 1).unwrap();
    /// rt.close_channel(&ch).unwrap();
    /// assert_eq!(rt.receive::<i64>(&ch).unwrap(), Some(1));
    /// assert_eq!(rt.receive::<i64>(&ch).unwrap(), None);
    /// assert!(rt.send(&ch, 2).is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::Raised`] if `channel` is not a channel.
    pub fn close_channel(&mut self, channel: &Value) -> Result<(), Error> {
        self.call_global("channel-close!", (channel,))
    }

    fn unless_eof<T: FromValue>(&mut self, v: Value) -> Result<Option<T>, Error> {
        if self.raw(&v)? == Raw::EOF {
            Ok(None)
        } else {
            T::from_value(&v, &mut self.scope()).map(Some)
        }
    }

    /// A scope over this runtime: what a native function gets, and what
    /// the typed conversions work in.
    ///
    /// ```
    /// use imp::{FromValue, IntoValue};
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let mut cx = rt.scope();
    /// let v = vec![1, 2, 3].into_value(&mut cx).unwrap();
    /// let r: imp::Value = cx.call_global("reverse", (&v,)).unwrap();
    /// assert_eq!(cx.write(&r), "(3 2 1)");
    /// assert_eq!(Vec::<u8>::from_value(&r, &mut cx).unwrap(), [3, 2, 1]);
    /// ```
    pub fn scope(&mut self) -> Scope<'_> {
        Scope { vm: &mut self.vm }
    }

    /// Turn a VM error into an API error, resetting the VM's dynamic state.
    fn convert(&mut self, e: Exn) -> Error {
        convert_in(&mut self.vm, e)
    }

    /// Evaluate every form in `src`; the value of the last one.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let v = rt.eval_str("(define x 20) (* x 2)").unwrap();
    /// assert_eq!(rt.write(&v), "40");
    /// // Errors leave the runtime usable.
    /// assert!(rt.eval_str("(car 1)").is_err());
    /// assert_eq!(rt.eval_str("x").unwrap().as_i64(&rt), Some(20));
    /// ```
    ///
    /// # Errors
    /// [`Error::Read`] for malformed source, [`Error::Raised`] for an
    /// uncaught condition, [`Error::Exit`] if the program called `exit`.
    /// The runtime stays usable after any of them.
    pub fn eval_str(&mut self, src: &str) -> Result<Value, Error> {
        let v = self.eval_source(src, None)?;
        Ok(self.hold(v))
    }

    /// Evaluate every form in `src`, naming `file` in locations.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let e = rt.eval_named("(define x 1)\n(car x)", "config.scm").unwrap_err();
    /// let imp::Error::Raised(report) = e else { panic!() };
    /// assert_eq!(report.location.as_deref(), Some("config.scm:2"));
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::eval_str`].
    pub fn eval_named(&mut self, src: &str, file: &str) -> Result<Value, Error> {
        let v = self.eval_source(src, Some(file))?;
        Ok(self.hold(v))
    }

    /// Evaluate every form of the file at `path`.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-eval-file-{}.scm", std::process::id()));
    /// std::fs::write(&path, "(define (square x) (* x x))\n(square 9)\n").unwrap();
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let v = rt.eval_file(path.to_str().unwrap()).unwrap();
    /// assert_eq!(v.as_i64(&rt), Some(81));
    /// # std::fs::remove_file(&path).unwrap();
    /// let e = rt.eval_file("/no/such/file.scm").unwrap_err();
    /// assert!(matches!(e, imp::Error::Io { .. }));
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read, else as [`Runtime::eval_str`].
    pub fn eval_file(&mut self, path: impl AsRef<std::path::Path>) -> Result<Value, Error> {
        let path = path.as_ref();
        let src = read_source(path)?;
        self.eval_named(&src, &path.display().to_string())
    }

    /// Run the file at `path` as an R7RS program: its forms in order, by
    /// Scheme's `load`, so that a continuation captured in one top-level
    /// form and invoked from a later one goes on with the rest of the file.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-program-{}.scm", std::process::id()));
    /// std::fs::write(&path, "(define k #f)\n(define n (call/cc (lambda (c) (set! k c) 0)))\n(if (< n 3) (k (+ n 1)))\n").unwrap();
    /// // The host reads the file: no grant is needed.
    /// let mut rt = imp::Runtime::builder().build().unwrap();
    /// rt.run_program(path.to_str().unwrap()).unwrap();
    /// assert_eq!(rt.global::<i64>("n").unwrap(), 3);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read, else as [`Runtime::eval_str`].
    /// The host reads the file, so this works whatever the runtime's
    /// [`Grants`]; the program's own `load`s and file ports obey them.
    pub fn run_program(&mut self, path: impl AsRef<std::path::Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let text = read_source(path)?;
        let base = self.vm.stack.len();
        let r = (|| {
            let name = self.vm.intern_internal("%load-run")?;
            let run = self.vm.global_value(name);
            self.vm.stack.push(run);
            let p = self.vm.string(&path.display().to_string())?;
            let state = prim::io::new_load_state(&mut self.vm, text, p)?;
            self.vm.stack.push(state);
            self.vm.call_from_rust(base)
        })();
        self.vm.stack.truncate(base);
        let _ = std::io::Write::flush(&mut self.vm.out);
        r.map(|_| ()).map_err(|e| self.convert(e))
    }

    fn eval_source(&mut self, src: &str, file: Option<&str>) -> Result<Raw, Error> {
        let mut reader = reader::Reader::new(src);
        let mut last = Raw::UNSPECIFIED;
        let base = self.vm.stack.len();
        loop {
            let d = match reader.read() {
                Ok(Some(d)) => d,
                Ok(None) => break,
                Err(e) => {
                    return Err(Error::Read {
                        file: file.map(str::to_string),
                        line: e.pos.line,
                        column: e.pos.col,
                        message: e.message,
                        incomplete: e.incomplete,
                    });
                }
            };
            let r = self.eval_datum(&d, file);
            self.vm.stack.truncate(base);
            last = r?;
            // Keep the last value rooted across the next form.
            self.vm.set_reg(Reg::Scratch, last);
        }
        let _ = self.vm.out.flush();
        Ok(last)
    }

    fn eval_datum(&mut self, d: &reader::Datum, file: Option<&str>) -> Result<Raw, Error> {
        let thunk =
            compile::compile_toplevel(&mut self.vm, d, file).map_err(|e| self.convert(e))?;
        let base = self.vm.stack.len();
        self.vm.stack.push(thunk);
        let r = self.vm.call_from_rust(base);
        self.vm.stack.truncate(base);
        r.map_err(|e| self.convert(e))
    }

    /// Start from the image at `path`: map it (checked first), then run
    /// its restore hooks. Everything is granted, as by [`Runtime::new`];
    /// [`Builder::build_from_image`] starts one under other grants. The image's toplevel procedure, if it has one, is
    /// the second element of the result; nothing runs it until the host does.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-{}.img", std::process::id()));
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.eval_str("(define greeting \"hi\")").unwrap();
    /// rt.save_image(&path, None).unwrap();
    /// let (mut again, _) = imp::Runtime::from_image(&path).unwrap();
    /// assert_eq!(again.global::<String>("greeting").unwrap(), "hi");
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// An image larger than 16 MiB is not checked whole before it starts
    /// (doc/IMAGE-FORMAT.md §8): no byte of it is read before its chunk
    /// has matched its checksum, a helper thread checks the rest, and
    /// nothing the image's code does is seen outside the process (output,
    /// files, programs, host functions, a call's return) until all of it
    /// has; a damaged image makes every call return [`Error::Image`]
    /// naming the file and the damaged chunk. A damaged chunk that the
    /// code reaches before the helper thread does ends the process
    /// (status 70, the same message on standard error), since the error
    /// cannot be returned from where it is found.
    ///
    /// # Errors
    /// [`Error::Image`] naming the file and why it was refused.
    pub fn from_image(
        path: impl AsRef<std::path::Path>,
    ) -> Result<(Runtime, Option<Value>), Error> {
        Runtime::open_image(path.as_ref(), |_| {})
    }

    /// Map the image at `path`, let `configure` set the host's policy, then
    /// run the image's restore hooks.
    fn open_image(
        path: &std::path::Path,
        configure: impl FnOnce(&mut Runtime),
    ) -> Result<(Runtime, Option<Value>), Error> {
        let (vm, top, hooks) = Vm::from_image(path, HeapConfig::default()).map_err(Error::Image)?;
        let mut rt = Runtime { vm };
        configure(&mut rt);
        let top = if rt.vm.is_procedure(top) {
            Some(rt.hold(top))
        } else {
            None
        };
        let run = rt
            .vm
            .intern_internal("%run-restore-hooks")
            .map_err(|e| rt.convert(e))?;
        let run = rt.vm.global_value(run);
        if rt.vm.is_procedure(run) {
            let base = rt.vm.stack.len();
            rt.vm.stack.push(run);
            rt.vm.stack.push(hooks);
            // A start does not wait for a large image's body to be checked
            // whole: the hooks' effects wait, their end does not.
            rt.vm.image.gate_deferred = true;
            let r = rt.vm.call_from_rust(base);
            rt.vm.image.gate_deferred = false;
            rt.vm.stack.truncate(base);
            // A failed hook's error is seen outside: damage comes first.
            let r = match r {
                Err(e) => Err(rt.vm.before_effect().err().unwrap_or(e)),
                ok => ok,
            };
            r.map_err(|e| rt.convert(e))?;
        }
        Ok((rt, top))
    }

    /// Start from an image held in memory (an image a build script wrote
    /// and the host embedded with `include_bytes!`, see
    /// [`write_boot_image`]). The bytes go to an anonymous memory file that
    /// is then mapped as an image file would be, so they are checked the
    /// same way: a stale or damaged image is refused, never half-loaded.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-bytes-{}.img", std::process::id()));
    /// imp::write_boot_image(&path, |rt| rt.eval_str("(define answer 42)").map(|_| ())).unwrap();
    /// let bytes = std::fs::read(&path).unwrap();
    /// # std::fs::remove_file(&path).unwrap();
    /// let (mut rt, _) = imp::Runtime::from_image_bytes(&bytes).unwrap();
    /// assert_eq!(rt.global::<i64>("answer").unwrap(), 42);
    /// ```
    ///
    /// # Errors
    /// [`Error::Image`] with the cause.
    pub fn from_image_bytes(bytes: &[u8]) -> Result<(Runtime, Option<Value>), Error> {
        let file = Runtime::image_memfd(bytes)?;
        // The mapping outlives the descriptor, which `file` closes.
        Runtime::from_image(memfd_path(&file))
    }

    /// An anonymous memory file holding `bytes`.
    fn image_memfd(bytes: &[u8]) -> Result<std::fs::File, Error> {
        use std::io::Write as _;
        let fd = nix::sys::memfd::memfd_create(
            c"imp-image",
            nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
        )
        .map_err(|e| Error::Image(format!("cannot make a memory file for the image: {e}")))?;
        let mut f = std::fs::File::from(fd);
        f.write_all(bytes)
            .map_err(|e| Error::Image(format!("cannot copy the image to a memory file: {e}")))?;
        Ok(f)
    }

    /// Save this runtime as an image at `path` the way Scheme's
    /// `save-application` does: a forked child writes the file while this
    /// process goes on, after a pause of about a millisecond per 100 MB of
    /// heap. Other green threads keep running here; in the image they are
    /// gone. Returns when the child is done, with its report as an
    /// association list (`fork-pause-us`, `image-bytes`, `purify-us`, …).
    ///
    /// (Not run as a doctest, which could share its process with other
    /// tests' threads; `tests/fork` runs the same steps.)
    ///
    /// ```no_run
    /// let path = std::env::temp_dir().join(format!("doc-forked-{}.img", std::process::id()));
    /// let mut rt = imp::Runtime::builder().build().unwrap(); // the host may save without grants
    /// rt.eval_str("(define saved 'yes)").unwrap();
    /// let report = rt.save_forked(&path, None).unwrap();
    /// let field = rt.eval_str("(lambda (r) (cdr (assq 'image-bytes r)))").unwrap();
    /// let bytes: u64 = rt.call_value(&field, (&report,)).unwrap();
    /// assert_eq!(bytes, std::fs::metadata(&path).unwrap().len());
    /// let (mut again, _) = imp::Runtime::from_image(&path).unwrap();
    /// assert_eq!(again.global::<String>("saved").unwrap(), "yes");
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Raised`] naming the file and the cause if the save failed
    /// (an earlier file at `path` is left as it was).
    pub fn save_forked(
        &mut self,
        path: impl AsRef<std::path::Path>,
        toplevel: Option<&Value>,
    ) -> Result<Value, Error> {
        let mut options = SaveOptions::new();
        if let Some(t) = toplevel {
            options = options.toplevel(t);
        }
        self.save_forked_with(path, &options)
    }

    /// [`save_forked`](Runtime::save_forked) with options: the image's
    /// toplevel, and whether it keeps this runtime's other green threads
    /// ([`SaveOptions::keep_threads`]). An image that kept them resumes
    /// them when [`from_image`](Runtime::from_image) starts it (each where
    /// it was: running, asleep for the time it had left, blocked on the
    /// same mutex or channel); the host drives them with
    /// [`run_until_idle`](Runtime::run_until_idle),
    /// [`run_for`](Runtime::run_for) or [`join`](Runtime::join), and
    /// [`threads_kept`](Runtime::threads_kept) says it is such an image.
    /// The host's own call, which made the save, is not kept: the image
    /// starts with no Scheme code running on the host's side.
    ///
    /// ```no_run
    /// let path = std::env::temp_dir().join(format!("doc-kept-{}.img", std::process::id()));
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.eval_str("(define done 0)
    ///              (define worker (thread-start! (make-thread (lambda ()
    ///                (let loop ((i 0)) (when (< i 10) (thread-sleep! 0.01) (set! done i) (loop (+ i 1))))
    ///                'finished))))
    ///              (thread-sleep! 0.035)").unwrap();
    /// rt.save_forked_with(&path, &imp::SaveOptions::new().keep_threads(true)).unwrap();
    /// let (mut again, _) = imp::Runtime::from_image(&path).unwrap();
    /// assert!(again.threads_kept());
    /// let worker = again.global::<imp::Value>("worker").unwrap();
    /// let r: imp::Value = again.join(&worker).unwrap();
    /// assert_eq!(again.display(&r), "finished");
    /// assert_eq!(again.global::<i64>("done").unwrap(), 9);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// As [`save_forked`](Runtime::save_forked).
    pub fn save_forked_with(
        &mut self,
        path: impl AsRef<std::path::Path>,
        options: &SaveOptions<'_>,
    ) -> Result<Value, Error> {
        let path = path.as_ref().display().to_string();
        // The host may save whatever the scripts may do.
        self.vm.save.set_permit(true);
        let save = self.eval_str(
            "(lambda (path top threads)
               (if top
                   (save-application path #:toplevel top #:threads threads)
                   (save-application path #:threads threads #:resume #f)))",
        );
        let r = save.and_then(|save| {
            let top = match options.toplevel {
                Some(t) => IntoValue::into_value(t, &mut self.scope())?,
                None => self.put(false)?,
            };
            let threads = self.symbol(if options.keep_threads {
                "keep"
            } else {
                "terminate"
            })?;
            self.call_value(&save, (path, top, threads))
        });
        self.vm.save.set_permit(false);
        r
    }

    /// Did this runtime start from an image that kept its green threads
    /// ([`SaveOptions::keep_threads`], or Scheme's `save-application`
    /// with `#:threads 'keep`)? Scheme's `(image-threads-kept?)`.
    pub fn threads_kept(&self) -> bool {
        self.vm.image.threads_kept
    }

    /// Save this runtime's heap as an image at `path`, in this process (the
    /// heap is only read, so the runtime goes on). `toplevel` is the
    /// procedure the image runs when it starts.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-save-{}.img", std::process::id()));
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let main = rt.eval_str("(define count 41) (lambda () (+ count 1))").unwrap();
    /// let report = rt.save_image(&path, Some(&main)).unwrap();
    /// assert_eq!(report.image_bytes, std::fs::metadata(&path).unwrap().len());
    /// let (mut again, top) = imp::Runtime::from_image(&path).unwrap();
    /// let v = again.call(&top.unwrap(), &[]).unwrap();
    /// assert_eq!(v.as_i64(&again), Some(42));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Image`] naming the file and the cause.
    pub fn save_image(
        &mut self,
        path: impl AsRef<std::path::Path>,
        toplevel: Option<&Value>,
    ) -> Result<image::SaveReport, Error> {
        let top = match toplevel {
            Some(v) => self.raw(v)?,
            None => Raw::FALSE,
        };
        let hooks = self
            .vm
            .intern_internal("%restore-hooks")
            .map(|s| self.vm.global_value(s))
            .map_err(|e| self.convert(e))?;
        let hooks = if hooks == Raw::UNDEFINED {
            Raw::NIL
        } else {
            hooks
        };
        self.vm
            .save_image(path.as_ref(), top, hooks, false)
            .map_err(Error::Image)
    }

    /// Call procedure `f` with `args`.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let f = rt.eval_str("(lambda (a b) (list b a))").unwrap();
    /// let (a, b) = (rt.put(1).unwrap(), rt.put("x").unwrap());
    /// let v = rt.call(&f, &[&a, &b]).unwrap();
    /// assert_eq!(rt.write(&v), "(\"x\" 1)");
    /// assert!(rt.call(&f, &[&a]).is_err()); // wrong number of arguments
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::eval_str`].
    pub fn call(&mut self, f: &Value, args: &[&Value]) -> Result<Value, Error> {
        self.scope().call(f, args)
    }

    /// The value printed as `display` would.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let v = rt.eval_str("(list \"hi\" #\\a 'sym 1.5)").unwrap();
    /// assert_eq!(rt.display(&v), "(hi a sym 1.5)");
    /// ```
    pub fn display(&self, v: &Value) -> String {
        match self.raw(v) {
            Ok(r) => printer::print(&self.vm, r, Mode::Display),
            Err(_) => FOREIGN_VALUE.to_string(),
        }
    }

    /// The value printed as `write` would.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let v = rt.eval_str("(list \"hi\" #\\a 'sym 1.5)").unwrap();
    /// assert_eq!(rt.write(&v), "(\"hi\" #\\a sym 1.5)");
    /// ```
    pub fn write(&self, v: &Value) -> String {
        match self.raw(v) {
            Ok(r) => printer::print(&self.vm, r, Mode::Write),
            Err(_) => FOREIGN_VALUE.to_string(),
        }
    }

    /// The values of a multiple-values result, each written; one for a single value.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let v = rt.eval_str("(values 1 \"two\" 'three)").unwrap();
    /// assert_eq!(rt.write_values(&v), ["1", "\"two\"", "three"]);
    /// let one = rt.eval_str("(+ 1 2)").unwrap();
    /// assert_eq!(rt.write_values(&one), ["3"]);
    /// ```
    pub fn write_values(&self, v: &Value) -> Vec<String> {
        let Ok(raw) = self.raw(v) else {
            return vec![FOREIGN_VALUE.to_string()];
        };
        if self.vm.is(raw, obj::VALUES) {
            (0..self.vm.heap.len(raw))
                .map(|i| printer::print(&self.vm, self.vm.heap.get(raw, i), Mode::Write))
                .collect()
        } else {
            vec![printer::print(&self.vm, raw, Mode::Write)]
        }
    }

    /// Write `v` as `write` does to `out` (each value of a
    /// multiple-values result on a line of its own), a piece at a time: a
    /// large value is never held whole as text.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let v = rt.eval_str("(values (make-vector 3 'x) \"two\")").unwrap();
    /// let mut out = Vec::new();
    /// rt.write_to(&v, &mut out).unwrap();
    /// assert_eq!(out, b"#(x x x)\n\"two\"\n");
    /// ```
    ///
    /// # Errors
    /// What `out` returned.
    pub fn write_to(&self, v: &Value, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let raw = self
            .raw(v)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let values: Vec<Raw> = if self.vm.is(raw, obj::VALUES) {
            (0..self.vm.heap.len(raw))
                .map(|i| self.vm.heap.get(raw, i))
                .collect()
        } else {
            vec![raw]
        };
        for x in values {
            let mut p = printer::Printer::new(&self.vm, x, Mode::Write);
            while let Some(piece) = p.next_chunk(&self.vm) {
                out.write_all(piece.as_bytes())?;
            }
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Set what `(command-line)` returns.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_command_line(&["tool".to_string(), "--verbose".to_string()]).unwrap();
    /// let args: Vec<String> = rt.call_global("command-line", ()).unwrap();
    /// assert_eq!(args, ["tool", "--verbose"]);
    /// ```
    pub fn set_command_line(&mut self, args: &[String]) -> Result<(), Error> {
        let base = self.vm.stack.len();
        for a in args {
            let s = self.vm.string(a).map_err(|e| self.convert(e))?;
            self.vm.stack.push(s);
        }
        let l = self.vm.list_from_stack(base).map_err(|e| self.convert(e))?;
        self.vm.set_reg(Reg::CommandLine, l);
        Ok(())
    }

    /// Send what `display` and friends write to `sink` instead of stdout.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-output-{}.txt", std::process::id()));
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_output(Box::new(std::fs::File::create(&path).unwrap()));
    /// rt.eval_str("(display \"hello\") (newline) (write 'done)").unwrap();
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\ndone");
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn set_output(&mut self, sink: Box<dyn std::io::Write>) {
        let _ = self.vm.out.flush();
        self.vm.out = sink;
    }

    /// Send what is written to the error port (`current-error-port`,
    /// error reports of the REPL) to `sink` instead of stderr.
    ///
    /// ```
    /// #[derive(Clone, Default)]
    /// struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    /// impl std::io::Write for Shared {
    ///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.borrow_mut().extend_from_slice(b); Ok(b.len()) }
    ///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// }
    /// let err = Shared::default();
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_error_output(Box::new(err.clone()));
    /// rt.eval_str("(display \"oops\" (current-error-port))").unwrap();
    /// assert_eq!(err.0.borrow().as_slice(), b"oops");
    /// ```
    pub fn set_error_output(&mut self, sink: Box<dyn std::io::Write>) {
        self.vm.err_out = Some(sink);
    }

    /// Read standard input through `source` (a line editor) instead of
    /// the descriptor: what `read-line` and the REPL read on standard input
    /// comes from it, on its own OS thread. Only before standard input is
    /// first read.
    ///
    /// ```
    /// struct Lines(Vec<&'static str>);
    /// impl imp::LineSource for Lines {
    ///     fn read_line(&mut self, _: imp::LineRequest) -> Result<Option<String>, String> {
    ///         Ok((!self.0.is_empty()).then(|| self.0.remove(0).to_string()))
    ///     }
    /// }
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_line_source(Box::new(Lines(vec!["first line\n", "second\n"]))).unwrap();
    /// let v = rt.eval_str("(list (read-line) (read-line) (eof-object? (read-line)))").unwrap();
    /// assert_eq!(rt.write(&v), "(\"first line\" \"second\" #t)");
    /// ```
    ///
    /// # Errors
    /// [`Error::System`] if standard input is already being read.
    pub fn set_line_source(&mut self, source: Box<dyn os::LineSource>) -> Result<(), Error> {
        self.vm.os.set_line_source(source).map_err(Error::System)
    }

    /// Let Ctrl-C (SIGINT) interrupt the REPL's listener instead of ending
    /// the process (the REPL enables this; programs keep the default).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.catch_sigint().unwrap();
    /// assert_eq!(rt.eval_str("(+ 1 2)").unwrap().as_i64(&rt), Some(3));
    /// ```
    ///
    /// # Errors
    /// [`Error::System`] if the signal handler cannot be installed.
    pub fn catch_sigint(&mut self) -> Result<(), Error> {
        self.vm.os.catch_sigint().map_err(Error::System)
    }

    /// Run the REPL's listener on this runtime until the end of standard
    /// input or `,quit`: read, evaluate, print, with other threads running
    /// meanwhile. `Ok(true)` if no entry failed.
    ///
    /// ```
    /// use std::{cell::RefCell, io::Write, rc::Rc};
    /// struct Lines(Vec<&'static str>);
    /// impl imp::LineSource for Lines {
    ///     fn read_line(&mut self, _: imp::LineRequest) -> Result<Option<String>, String> {
    ///         Ok((!self.0.is_empty()).then(|| self.0.remove(0).to_string()))
    ///     }
    /// }
    /// #[derive(Clone, Default)]
    /// struct Shared(Rc<RefCell<Vec<u8>>>);
    /// impl Write for Shared {
    ///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.borrow_mut().write(b) }
    ///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// }
    /// let out = Shared::default();
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_output(Box::new(out.clone()));
    /// rt.set_line_source(Box::new(Lines(vec!["(define x 20)\n", "(+ x 22)\n"]))).unwrap();
    /// assert_eq!(rt.run_repl().unwrap(), true);
    /// let text = String::from_utf8(out.0.borrow().clone()).unwrap();
    /// assert!(text.contains("42"), "{text}");
    /// ```
    ///
    /// # Errors
    /// [`Error::Exit`] for `(exit)` or `,quit`; anything else the listener
    /// itself could not survive.
    pub fn run_repl(&mut self) -> Result<bool, Error> {
        let v: Value = self.call_internal("%repl", ())?;
        self.flush();
        Ok(self.raw(&v)? != Raw::FALSE)
    }

    /// Flush buffered output.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-flush-{}.txt", std::process::id()));
    /// let file = std::fs::File::create(&path).unwrap();
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_output(Box::new(std::io::BufWriter::new(file)));
    /// rt.call_global::<()>("display", ("logged",)).unwrap();
    /// rt.flush();
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "logged");
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn flush(&mut self) {
        let _ = self.vm.out.flush();
    }

    /// Run a full collection.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let kept = rt.eval_str("(list 1 2 3)").unwrap();
    /// let before = rt.gc_stats().major_collections;
    /// rt.collect_garbage().unwrap();
    /// assert_eq!(rt.gc_stats().major_collections, before + 1);
    /// assert_eq!(rt.write(&kept), "(1 2 3)"); // held values survive, wherever they moved
    /// ```
    pub fn collect_garbage(&mut self) -> Result<(), Error> {
        self.drain_released();
        self.vm
            .collect(CollectionKind::Major)
            .map_err(|e| self.convert(e))
    }

    /// The collector's counters.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let before = rt.gc_stats();
    /// rt.eval_str("(length (iota 100000))").unwrap();
    /// let after = rt.gc_stats();
    /// assert!(after.bytes_allocated > before.bytes_allocated);
    /// assert!(after.max_pause <= after.total_pause);
    /// ```
    pub fn gc_stats(&self) -> imp_gc::GcStats {
        self.vm.heap.stats().clone()
    }

    /// Check the heap's structure (every reference valid).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.eval_str("(define table (map (lambda (i) (cons i (number->string i))) (iota 1000)))").unwrap();
    /// rt.collect_garbage().unwrap();
    /// assert_eq!(rt.verify_heap(), Ok(()));
    /// ```
    ///
    /// # Errors
    /// A description of the first inconsistency.
    pub fn verify_heap(&mut self) -> Result<(), String> {
        let mut regs = self.vm.regs;
        struct R<'a>(&'a mut [Raw], &'a mut [Raw]);
        impl imp_gc::Roots for R<'_> {
            fn visit(&mut self, f: &mut dyn FnMut(&mut Raw)) {
                self.0.iter_mut().for_each(&mut *f);
                self.1.iter_mut().for_each(f);
            }
        }
        self.vm.heap.verify(&mut R(&mut self.vm.stack, &mut regs))
    }

    /// Copy this runtime's whole heap to memory at another address and
    /// return a runtime running on the copy. References are offsets, so
    /// nothing is relocated: this is the seed of loading images.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.eval_str("(define x 42)").unwrap();
    /// let mut copy = rt.copy_to_new_heap().unwrap();
    /// assert_ne!(copy.heap_address(), rt.heap_address());
    /// assert_eq!(copy.global::<i64>("x").unwrap(), 42);
    /// copy.eval_str("(set! x 1)").unwrap();
    /// assert_eq!(rt.global::<i64>("x").unwrap(), 42); // the two are independent
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the new region cannot be reserved.
    pub fn copy_to_new_heap(&mut self) -> Result<Runtime, Error> {
        self.collect_garbage()?;
        let heap = self
            .vm
            .heap
            .copy_to_new_region()
            .map_err(|e| Error::Heap(e.to_string()))?;
        let mut vm =
            Vm::new(self.vm.heap.config().clone()).map_err(|e| Error::Heap(e.to_string()))?;
        vm.heap = heap;
        vm.regs = self.vm.regs;
        vm.max_frames = self.vm.max_frames;
        // The host's policy and functions carry over; its host objects'
        // Rust values stay with this runtime.
        vm.grants = self.vm.grants;
        vm.limits.heap_bytes = self.vm.limits.heap_bytes;
        vm.host.natives = self.vm.host.natives.duplicate();
        let mut copy = Runtime { vm };
        copy.set_fuel(self.fuel());
        Ok(copy)
    }

    /// Address of the heap's region (to show a copy lives elsewhere).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let copy = rt.copy_to_new_heap().unwrap();
    /// assert_ne!(rt.heap_address(), copy.heap_address());
    /// ```
    pub fn heap_address(&self) -> usize {
        self.vm.heap.base_address()
    }

    /// Names of every globally bound symbol.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// assert!(!rt.global_names().iter().any(|n| n == "my-var"));
    /// rt.eval_str("(define my-var 1)").unwrap();
    /// let names = rt.global_names();
    /// assert!(names.iter().any(|n| n == "my-var"));
    /// assert!(names.iter().any(|n| n == "car"));
    /// ```
    pub fn global_names(&self) -> Vec<String> {
        self.vm
            .all_symbols()
            .into_iter()
            .filter(|s| self.vm.global_value(*s) != Raw::UNDEFINED)
            .map(|s| self.vm.symbol_name(s))
            .filter(|n| !compile::library::is_mangled(n))
            .collect()
    }
}

/// Write an image of a fresh runtime (the whole standard library, nothing
/// else) to `path`, after `setup` has run on it: what a host's build script
/// calls to embed a ready engine in its binary.
///
/// ```
/// let path = std::env::temp_dir().join(format!("doc-boot-{}.img", std::process::id()));
/// imp::write_boot_image(&path, |rt| rt.eval_str("(define (greet who) (string-append \"hi \" who))").map(|_| ())).unwrap();
/// let (mut rt, top) = imp::Runtime::from_image(&path).unwrap();
/// assert!(top.is_none());
/// assert_eq!(rt.call_global::<String>("greet", ("ada",)).unwrap(), "hi ada");
/// // A failing setup writes nothing.
/// std::fs::remove_file(&path).unwrap();
/// assert!(imp::write_boot_image(&path, |rt| rt.eval_str("(car '())").map(|_| ())).is_err());
/// assert!(!path.exists());
/// ```
///
/// In a host, a build script writes the image and the program embeds it:
///
/// ```no_run
/// // build.rs
/// let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("boot.img");
/// imp::write_boot_image(&out, |rt| rt.eval_str("(define greeting \"hi\")").map(|_| ())).unwrap();
/// // main.rs: static BOOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/boot.img"));
/// //          let (rt, _) = imp::Runtime::from_image_bytes(BOOT)?;
/// ```
///
/// # Errors
/// Whatever `setup` returns, or [`Error::Image`] if the image cannot be
/// written.
pub fn write_boot_image(
    path: impl AsRef<std::path::Path>,
    setup: impl FnOnce(&mut Runtime) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut rt = Runtime::new()?;
    setup(&mut rt)?;
    rt.save_image(path, None).map(|_| ())
}

/// The heap value of a handle the runtime made itself (a pending escape's
/// continuation and values): never another runtime's.
pub(crate) fn own_raw(vm: &Vm, v: &Value) -> Raw {
    debug_assert!(Rc::ptr_eq(&v.release, &vm.host.handles));
    vm.heap.global(v.slot)
}

/// The heap value a handle names, if the handle is this runtime's: a
/// handle from another runtime is an error (its slot number would name
/// something else here), as wasmtime refuses an object of another store.
#[inline]
pub(crate) fn raw_in(vm: &Vm, v: &Value) -> Result<Raw, Error> {
    if !Rc::ptr_eq(&v.release, &vm.host.handles) {
        return Err(foreign_value());
    }
    Ok(vm.heap.global(v.slot))
}

#[cold]
fn foreign_value() -> Error {
    Error::Type(
        "a Value of another runtime was used with this one (each Value belongs to the runtime that made it)".into(),
    )
}

#[inline]
pub(crate) fn hold_in(vm: &mut Vm, v: Raw) -> Value {
    drain_released_in(vm);
    Value {
        slot: vm.heap.new_global(v),
        release: vm.host.handles.clone(),
    }
}

#[inline]
fn drain_released_in(vm: &mut Vm) {
    let Vm { host, heap, .. } = vm;
    let mut released = host.handles.borrow_mut();
    if released.is_empty() {
        return;
    }
    for g in released.drain(..) {
        heap.release_global(g);
    }
}

/// Turn a VM error into an API error, resetting the VM's dynamic state.
fn convert_in(vm: &mut Vm, e: Exn) -> Error {
    if vm.entries.is_empty() {
        vm.set_reg(Reg::Winders, Raw::NIL);
        vm.set_reg(Reg::Handlers, Raw::NIL);
    }
    match e {
        Exn::Abort(Abort::Uncaught) => {
            let c = vm.reg(Reg::LastError);
            Error::Raised(Box::new(report::condition_parts(vm, c)))
        }
        Exn::Abort(Abort::Exit(code)) => Error::Exit(code),
        Exn::Abort(Abort::OutOfMemory(m)) => Error::Heap(m),
        Exn::Abort(Abort::Limit(m)) => {
            // The call is over: the next one starts with the limits as the
            // host leaves them (a used-up budget stays used up).
            if vm.limits.unwinding.take() == Some(crate::vm::LimitTrip::Budget) {
                vm.limits.budget = Some(0);
            }
            vm.refuel();
            Error::Limit(m)
        }
        Exn::Abort(Abort::Escape) => Error::Escape,
        Exn::Abort(Abort::DamagedImage(m)) => Error::Image(m),
        Exn::Block { .. } => Error::Heap("internal: a wait escaped the scheduler".into()),
        Exn::Redirect { to, .. } => Error::Heap(format!("internal: a call for `{to}` escaped")),
        Exn::Error {
            kind,
            message,
            irritant_mark,
        } => {
            let irritants = (irritant_mark..vm.heap.root_mark())
                .map(|i| {
                    let v = vm.heap.handle(imp_gc::Handle::from_index(i));
                    printer::print(vm, v, Mode::Write)
                })
                .collect();
            vm.heap.truncate_roots(irritant_mark);
            Error::Raised(Box::new(Report {
                kind: kind.to_string(),
                message,
                irritants,
                location: None,
                backtrace: Vec::new(),
                full_backtrace: Vec::new(),
            }))
        }
    }
}

#[cfg(test)]
mod boot_source_tests {
    /// Each top-level name the boot files define is defined once: a later
    /// file that reuses a helper's name (say a `%…` one) silently replaces
    /// the earlier file's procedure for every caller.
    #[test]
    fn boot_files_define_each_name_once() {
        let mut seen = std::collections::HashMap::new();
        for (file, text) in super::BOOT_FILES {
            for line in text.lines() {
                let Some(rest) = line
                    .strip_prefix("(define ")
                    .or_else(|| line.strip_prefix("(define-syntax "))
                    .or_else(|| line.strip_prefix("(define-record-type "))
                else {
                    continue;
                };
                let name: String = rest
                    .trim_start_matches('(')
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != ')' && *c != '(')
                    .collect();
                if let Some(first) = seen.insert(name.clone(), file) {
                    panic!("`{name}` is defined in {first} and again in {file}");
                }
            }
        }
        assert!(seen.len() > 500, "{} names", seen.len());
    }
}
