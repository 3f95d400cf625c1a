//! The virtual machine's state and the operations every part of the
//! runtime uses: allocation (which may collect), typed constructors and
//! accessors, and the error type used inside the VM.
//!
//! **Invariant (roots):** every `Value` the VM keeps lives in the value
//! stack, in `regs`, or in the heap's handle/global tables. A Rust local
//! holding a `Value` is stale after any call that may allocate; code that
//! needs one across an allocation pushes it on the stack or a handle first.

pub mod assembled;
pub mod interp;
pub mod opcode;
#[cfg(test)]
mod tests;

use imp_gc::{
    CollectionKind, Heap, HeapConfig, Roots, STACK_HEADROOM, STACK_LIMIT, Stack, Tag, Value,
};

use crate::obj::{self, *};
use crate::prim::PRIMITIVES;

/// One activation record on the control stack. Holds no values: the
/// procedure being run sits in the value stack at `fp`.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// The caller's frame pointer.
    pub fp: u32,
    /// Where to continue in the caller's code; `ENTRY_PC` marks a return to Rust.
    pub pc: u32,
}

/// `Frame::pc` of a frame whose return goes back to the Rust caller of `run`.
pub const ENTRY_PC: u32 = u32::MAX;
/// `Frame::pc` of the bottom frame of a green thread: returning to it ends
/// the thread.
pub const THREAD_END_PC: u32 = u32::MAX - 1;
/// `Frame::pc` of a frame under a thread's interrupts that interrupted a
/// blocked primitive call: returning to it drops the value and makes the
/// blocked call again (the thread's `RECALL` field says where to go on).
pub const REDO_PC: u32 = u32::MAX - 2;
/// Set in `Frame::pc` when the value returned to that frame is dropped (a
/// call the scheduler inserted, such as running interrupts). Frames whose
/// pc has this bit set all take the interpreter's slow return path.
pub const DISCARD_BIT: u32 = 0x8000_0000;

/// Registers holding values, scanned by the collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Reg {
    /// The symbol table (a vector of buckets).
    Symtab = 0,
    /// Number of interned symbols (fixnum).
    SymCount,
    /// The dynamic-wind list: `((before . after) ...)`, innermost first.
    Winders,
    /// The exception handler stack, innermost first.
    Handlers,
    /// The error object of the last uncaught error, or `#f`.
    LastError,
    /// `*command-line*`: the program's arguments as a list of strings.
    CommandLine,
    /// The last value a top-level form returned (kept alive across forms).
    Scratch,
    /// The `current-output-port` parameter object.
    OutParam,
    /// The `current-input-port` parameter object.
    InParam,
    /// The `current-error-port` parameter object.
    ErrParam,
    /// The running thread's parameterization: `((parameter . value) ...)`.
    Params,
    /// The running thread.
    Thread,
    /// The initial thread (the one the Rust caller's calls run in).
    Initial,
    /// Threads ready to run (a queue).
    RunQueue,
    /// Parked threads with deadlines: a binary heap in a vector.
    Timers,
    /// Every started thread not yet seen to have ended (a list).
    Threads,
    /// Symbols the scheduler uses (a vector).
    SchedSyms,
    /// Threads waiting for the OS: a list of `#(kind key thread)`.
    IoWaiters,
    /// Finished process jobs not yet collected: alist `(job . status)`.
    JobResults,
    /// Interned keywords: alist `(symbol . keyword)`.
    Keywords,
    /// The thread waiting for the threads `%terminate-others!` asked to
    /// unwind (a save child's terminate phase), or `#f`.
    TerminateWaiter,
    /// The internal symbol table (a vector of buckets), or `()` before the
    /// internals are hidden: see [`Vm::hide_internals`].
    Internals,
}
const NREGS: usize = 22;

/// Buckets of the internal symbol table (it holds the few hundred names of
/// imp's own procedures and data).
const INTERNAL_BUCKETS: usize = 512;

/// An error raised inside the VM, before it becomes a Scheme condition.
#[derive(Debug)]
pub enum Exn {
    /// An error to raise as a Scheme error object: `kind` is `error`,
    /// `read-error`, `file-error`, …; irritants are pushed on the handle
    /// stack by the raiser (`irritant_mark` is the root mark they start at).
    Error {
        /// The condition's kind.
        kind: &'static str,
        /// The message.
        message: String,
        /// Irritants (already converted to heap values and rooted as handles
        /// from `irritant_mark`).
        irritant_mark: usize,
    },
    /// Unwind to the Rust caller: an uncaught condition (rooted in
    /// `Reg::LastError`), a limit, or `exit`.
    Abort(Abort),
    /// A primitive cannot go on without waiting for the OS. It has had no
    /// effect yet: the running thread waits, then the call is made again
    /// with the same arguments (`argc`, in tail position or not).
    Block {
        /// What to wait for.
        wait: IoWait,
        /// The blocked call's argument count (filled in by `do_call`).
        argc: usize,
        /// Was the call in tail position?
        tail: bool,
    },
    /// A primitive hands its call, unchanged, to the Scheme procedure
    /// that is the value of the (internal) global `to`: a hash table with
    /// a Scheme equivalence or hash function is served by `boot.scm`'s
    /// procedures, while the primitive stays the fast path for the rest.
    /// Raised before any effect.
    Redirect {
        /// The global whose procedure takes the call.
        to: &'static str,
        /// The call's argument count (filled in by `do_call`).
        argc: usize,
        /// Was the call in tail position?
        tail: bool,
    },
}

impl Exn {
    /// A primitive's redirect of its call to the procedure that is the
    /// value of global `to` (`Exn::Redirect`; the interpreter fills in
    /// the argument count and position).
    pub fn redirect(to: &'static str) -> Exn {
        Exn::Redirect {
            to,
            argc: 0,
            tail: false,
        }
    }
}

/// Something outside the VM a thread can wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoWait {
    /// A descriptor becoming readable or writable.
    Fd(i32, crate::os::Interest),
    /// The stdin helper delivering a line.
    Stdin,
    /// A process job finishing.
    Job(u64),
    /// An async native call's future completing (`crate::future`).
    Future(u64),
}

/// Why the VM unwound to its Rust caller.
#[derive(Debug)]
pub enum Abort {
    /// A condition was raised and nothing handled it; it is in `Reg::LastError`.
    Uncaught,
    /// `(exit code)` was called.
    Exit(i32),
    /// The heap is exhausted.
    OutOfMemory(String),
    /// A limit the host set (the call budget, an interrupt) ended the
    /// host's call; no Scheme handler sees it.
    Limit(String),
    /// A continuation captured outside the native function now running was
    /// invoked: the native call unwinds, and the VM around it resumes the
    /// continuation (`Vm::pending_escape`).
    Escape,
    /// The image this VM started from is damaged (the message names the
    /// file and the chunk): the host's call ends, no Scheme code runs on,
    /// and every later call ends the same way (`image::load`).
    DamagedImage(String),
}

/// The result of VM operations that may raise.
pub type VmResult<T> = Result<T, Exn>;

/// What Scheme code in a runtime may do outside it: the host's policy,
/// held by the VM and never saved in an image. A script reaches nothing
/// else of the system (anything else is reachable only through functions
/// the host registers).
/// The console ports stay open to every script; a host redirects output
/// with `Runtime::set_output`.
///
/// ```
/// let mut rt = imp::Runtime::builder()
///     .grants(imp::Grants { read_files: true, ..imp::Grants::NONE })
///     .build()
///     .unwrap();
/// assert!(rt.grants().read_files && !rt.grants().write_files);
/// assert_eq!(imp::Runtime::new().unwrap().grants(), imp::Grants::ALL);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grants {
    /// Open files for reading, `file-exists?`, `load`, `include`, and
    /// library files found on disk by `import`.
    pub read_files: bool,
    /// Open files for writing, `delete-file`, and saving images from
    /// Scheme (`save-application`, `save-image`).
    pub write_files: bool,
    /// Run other programs (`process-run`).
    pub processes: bool,
    /// Read environment variables (`get-environment-variable(s)`).
    pub environment: bool,
    /// Open network connections (`tcp-connect`, `make-client-socket`,
    /// name resolution, sending datagrams).
    pub network_connect: bool,
    /// Listen for connections and bind sockets (`tcp-listen`,
    /// `make-server-socket`).
    pub network_listen: bool,
}

impl Grants {
    /// Everything granted: what the `imp` command gives its programs.
    pub const ALL: Grants = Grants {
        read_files: true,
        write_files: true,
        processes: true,
        environment: true,
        network_connect: true,
        network_listen: true,
    };
    /// Nothing granted: the script computes and calls what the host
    /// registered, and nothing else.
    pub const NONE: Grants = Grants {
        read_files: false,
        write_files: false,
        processes: false,
        environment: false,
        network_connect: false,
        network_listen: false,
    };
}

/// One of the things [`Grants`] allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// [`Grants::read_files`].
    ReadFiles,
    /// [`Grants::write_files`].
    WriteFiles,
    /// [`Grants::processes`].
    Processes,
    /// [`Grants::environment`].
    Environment,
    /// [`Grants::network_connect`].
    NetworkConnect,
    /// [`Grants::network_listen`].
    NetworkListen,
}

/// Limits a host puts on what Scheme code may use.
#[derive(Default)]
pub struct Limits {
    /// Procedure calls (every loop iteration is one) left before a
    /// `limit` error; `None`: no budget.
    pub budget: Option<u64>,
    /// Set by an `InterruptHandle` from any thread; seen at the next
    /// safepoint.
    pub interrupt: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Heap bytes in use above which allocation raises a `limit` error.
    pub heap_bytes: Option<u64>,
    /// Heap bytes in use above which allocation raises a catchable
    /// "heap exhausted" error whatever the host set: three quarters of
    /// the memory the process may really use (`os::memory_available`), so
    /// a request too large for the machine is refused before it touches
    /// memory instead of waking the kernel's OOM killer.
    pub memory_ceiling: u64,
    /// The heap limit was hit and nothing has been freed since.
    pub heap_tripped: bool,
    /// A budget or interrupt limit tripped and the running thread is
    /// unwinding (running its `dynamic-wind` after-thunks, with
    /// `UNWIND_CALLS` calls to do it in) before the host's call ends.
    pub unwinding: Option<LimitTrip>,
}

/// Which limit ended a host call (`Limits::unwinding`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitTrip {
    /// The call budget was used up.
    Budget,
    /// The host interrupted.
    Interrupt,
}

/// Calls the after-thunks of a thread that a limit stopped may make before
/// the host's call ends anyway.
pub const UNWIND_CALLS: u64 = 100_000;

/// The VM.
pub struct Vm {
    /// The heap.
    pub heap: Heap,
    /// The value stack of the running thread.
    pub stack: Stack,
    /// The control stack of the running thread.
    pub frames: Vec<Frame>,
    /// Value registers.
    pub regs: [Value; NREGS],
    /// Maximum depth of the control stack before a catchable error.
    pub max_frames: usize,
    /// Extra frames allowed while a stack-depth error is being handled
    /// ([`Vm::reserve_frames`]).
    pub frame_reserve: usize,
    /// The value stack height below which a frame may be entered:
    /// `STACK_LIMIT`, raised while a stack-depth error is being handled.
    pub stack_limit: usize,
    /// Run the heap verifier after collections: after every one, or (in
    /// `imp`'s stress mode over whole programs, where a walk of the heap
    /// after every allocation would take hours) after every
    /// `verify_every`th.
    pub verify: bool,
    /// See `verify` (1: every collection).
    pub verify_every: u64,
    /// Nesting depth of `run` (Rust → Scheme calls).
    pub run_depth: u32,
    /// Frame pointer: index in `stack` of the running procedure.
    pub fp: usize,
    /// Index of the next instruction in the running code.
    pub pc: usize,
    /// Where Rust entered the VM, innermost last.
    pub entries: Vec<interp::Entry>,
    /// A reinstated continuation returns straight to Rust.
    pub pending_return: bool,
    /// Backtrace of the last uncaught raise of a non-error object.
    pub last_backtrace: Vec<String>,
    /// When the VM was made (for `current-jiffy`).
    pub started: std::time::Instant,
    /// Where `display` and friends write when no port is given.
    pub out: Box<dyn std::io::Write>,
    /// Where the error port writes: standard error, or what the host set
    /// (`Runtime::set_error_output`).
    pub err_out: Option<Box<dyn std::io::Write>>,
    /// Something was written to `out` since it was last flushed by a call
    /// from the host (so an idle flush can be skipped).
    pub out_pending: bool,
    /// Calls left before the next safepoint.
    pub fuel: i32,
    /// What `fuel` was last set to (to account for what was used).
    pub fuel_grant: i32,
    /// Limits the host set (`Runtime::set_fuel`, `interrupt_handle`,
    /// `set_heap_limit`).
    pub limits: Limits,
    /// What scripts may do outside the runtime (`Runtime::builder`).
    pub grants: Grants,
    /// Continuations captured so far: `map` compares it before and after
    /// to know whether its accumulator may be reversed in place.
    pub captures: u64,
    /// The secret key hash tables place their entries by.
    pub hash_key: crate::prim::hash::HashKey,
    /// Helper threads, the wake pipe, polled descriptors, the fork registry.
    pub os: crate::os::Os,
    /// The scheduler's counters.
    pub sched: crate::sched::SchedState,
    /// A save in progress, in the parent or in its child.
    pub save: crate::image::SaveState,
    /// What the host registered and lent: natives, host objects, handles.
    pub host: crate::native::HostState,
    /// The image this VM started from, while its body is checked.
    pub image: crate::image::load::ImageState,
    /// Libraries and imports, parsed from the heap's `%libraries`,
    /// `%top-imports` and `%builtin-names` (a cache: empty after an image
    /// loads, rebuilt on first use).
    pub libs: crate::compile::library::Cache,
    /// Text of files being loaded, by load-state id (a cache: a miss reads
    /// the file again).
    pub sources: std::collections::HashMap<i64, std::rc::Rc<str>>,
    /// The next load-state id.
    pub next_source_id: i64,
    /// Compiled regular expressions, by pattern (a cache).
    pub regexps: crate::prim::regexp::Cache,
}

struct VmRoots<'a> {
    stack: &'a mut Stack,
    regs: &'a mut [Value; NREGS],
}

impl Roots for VmRoots<'_> {
    fn visit(&mut self, f: &mut dyn FnMut(&mut Value)) {
        self.stack.iter_mut().for_each(&mut *f);
        self.regs.iter_mut().for_each(f);
    }
}

/// Initial number of symbol-table buckets.
const SYMTAB_BUCKETS: usize = 1024;

impl Vm {
    /// A VM over a fresh heap.
    pub fn new(config: HeapConfig) -> Result<Vm, String> {
        let heap = Heap::new(config).map_err(|e| e.to_string())?;
        let os = crate::os::Os::new()?;
        let mut vm = Vm {
            heap,
            stack: Stack::new().map_err(|e| e.to_string())?,
            frames: Vec::with_capacity(256),
            regs: [Value::NIL; NREGS],
            max_frames: 10_000_000,
            frame_reserve: 0,
            stack_limit: STACK_LIMIT,
            verify: false,
            verify_every: 1,
            run_depth: 0,
            fp: 0,
            pc: 0,
            entries: Vec::new(),
            pending_return: false,
            last_backtrace: Vec::new(),
            started: std::time::Instant::now(),
            out: Box::new(std::io::BufWriter::new(std::io::stdout())),
            err_out: None,
            out_pending: false,
            fuel: crate::sched::QUANTUM,
            fuel_grant: crate::sched::QUANTUM,
            limits: Limits {
                memory_ceiling: crate::os::memory_available() / 4 * 3,
                ..Limits::default()
            },
            grants: Grants::ALL,
            captures: 0,
            hash_key: Default::default(),
            os,
            sched: Default::default(),
            save: Default::default(),
            host: Default::default(),
            image: Default::default(),
            libs: Default::default(),
            sources: std::collections::HashMap::new(),
            regexps: Default::default(),
            next_source_id: 0,
        };
        vm.regs[Reg::SymCount as usize] = Value::fix(0);
        let tab = vm
            .make_vector(SYMTAB_BUCKETS, Value::NIL)
            .map_err(|_| "out of memory making the symbol table".to_string())?;
        vm.regs[Reg::Symtab as usize] = tab;
        vm.regs[Reg::Keywords as usize] = Value::NIL;
        vm.init_threads()
            .map_err(|_| "out of memory starting the scheduler".to_string())?;
        Ok(vm)
    }

    /// A register's value.
    #[inline(always)]
    pub fn reg(&self, r: Reg) -> Value {
        self.regs[r as usize]
    }

    /// Set a register.
    #[inline(always)]
    pub fn set_reg(&mut self, r: Reg, v: Value) {
        self.regs[r as usize] = v;
    }

    // ---- allocation ---------------------------------------------------------

    /// Allocate an object; may collect. Every word of the payload must be
    /// initialised by the caller before the next allocation.
    #[inline(always)]
    pub fn alloc(&mut self, tag: Tag, words: usize) -> VmResult<Value> {
        if let Some(v) = self.heap.try_alloc(tag, words) {
            return Ok(v);
        }
        self.alloc_slow(tag, words)
    }

    #[cold]
    fn alloc_slow(&mut self, tag: Tag, words: usize) -> VmResult<Value> {
        if !self.heap.fits_nursery(words) {
            if self.heap.wants_major() {
                self.collect(CollectionKind::Major)?;
            }
            let bytes = (words as u64).saturating_add(1).saturating_mul(8);
            self.check_heap_limit(bytes)?;
            return match self.heap.alloc_old(tag, words) {
                Ok(v) => Ok(v),
                Err(e) => Err(self.error_kind(
                    "limit",
                    format!("heap exhausted: an object of {bytes} bytes does not fit ({e})"),
                    &[],
                )),
            };
        }
        self.collect(CollectionKind::Auto)?;
        self.check_heap_limit(0)?;
        self.heap
            .try_alloc(tag, words)
            .ok_or_else(|| Exn::Abort(Abort::OutOfMemory("nursery exhausted".into())))
    }

    /// With a heap limit: is the heap (plus `more` bytes) over it, even
    /// after a full collection? Then a `limit` error, once: it is not
    /// raised again until a collection finds the heap back under the limit
    /// (so the handler and the condition object can be allocated).
    fn check_heap_limit(&mut self, more: u64) -> VmResult<()> {
        let host = self.limits.heap_bytes.unwrap_or(u64::MAX);
        let limit = host.min(self.limits.memory_ceiling);
        if self.heap.used_bytes().saturating_add(more) <= limit {
            self.limits.heap_tripped = false;
            return Ok(());
        }
        if self.limits.heap_tripped && more < limit / 4 {
            // The handler of the error just raised may allocate a little.
            return Ok(());
        }
        // A request larger than the limit by itself is refused without a
        // collection: no collection could make room for it.
        if more <= limit {
            self.collect(CollectionKind::Major)?;
        }
        let used = self.heap.used_bytes().saturating_add(more);
        if used <= limit {
            return Ok(());
        }
        self.limits.heap_tripped = true;
        let message = if host <= self.limits.memory_ceiling {
            format!("heap limit exceeded: {used} bytes needed, the limit is {limit}")
        } else {
            format!(
                "heap exhausted: {used} bytes needed, and this process may use {limit} \
                 (three quarters of the memory it has)"
            )
        };
        Err(self.error_kind("limit", message, &[]))
    }

    /// In a loop of a built-in that may run long: every 2^20 steps (`i`
    /// counts them), stop if the host has interrupted. The error it
    /// returns only ends the built-in; the interrupt stays set, and the
    /// next safepoint ends the host's call (`trip_limit`), so no handler
    /// can carry on past it.
    #[inline(always)]
    pub fn poll_interrupt(&mut self, who: &str, i: u64) -> VmResult<()> {
        if i & ((1 << 20) - 1) != 0
            || !self
                .limits
                .interrupt
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(());
        }
        Err(self.error_kind("limit", format!("{who}: interrupted by the host"), &[]))
    }

    /// Charge the work of an operation on numbers of `a` and `b` bits to
    /// the call budget (about one call per 64 × 64 limb products), so that
    /// a host's budget bounds arithmetic on huge numbers as it bounds
    /// loops. The next call then reaches a safepoint, which accounts for it.
    pub fn charge_work(&mut self, a: u64, b: u64) {
        let work = (a / 64 + 1).saturating_mul(b / 64 + 1) / 64;
        let work = i32::try_from(work).unwrap_or(i32::MAX);
        self.fuel = self.fuel.saturating_sub(work).max(i32::MIN / 2);
    }

    /// May a number of `bits` bits be made? Its size counts against the
    /// heap's limits before the work to compute it is done (a product of
    /// two huge numbers takes seconds and the memory of both), so a result
    /// that could never be kept is refused at once.
    pub fn check_number_bits(&mut self, who: &str, bits: u64) -> VmResult<()> {
        let bytes = bits / 8 + 64;
        let limit = self
            .limits
            .heap_bytes
            .unwrap_or(u64::MAX)
            .min(self.limits.memory_ceiling);
        if bytes.saturating_mul(3) <= limit.saturating_sub(self.heap.used_bytes()) {
            return Ok(());
        }
        Err(self.error_kind(
            "limit",
            format!(
                "{who}: the result would take about {bytes} bytes, more than the heap may hold"
            ),
            &[],
        ))
    }

    /// Write `bytes` to the error port's destination (after what is
    /// waiting in the output buffer, so the two keep their order).
    pub fn write_error_output(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let _ = self.out.flush();
        match &mut self.err_out {
            Some(w) => {
                w.write_all(bytes)?;
                w.flush()
            }
            None => std::io::Write::write_all(&mut std::io::stderr(), bytes),
        }
    }

    /// Account for the calls made since the fuel was last set, and set it
    /// again: a quantum, or what is left of the budget if that is less.
    pub fn refuel(&mut self) {
        let used = (self.fuel_grant - self.fuel).max(0) as u64;
        let grant = match &mut self.limits.budget {
            Some(b) => {
                *b = b.saturating_sub(used);
                if *b == 0 {
                    // Exhausted: a little room for handlers to run; the
                    // next safepoint raises again.
                    crate::sched::QUANTUM / 2
                } else {
                    (*b).min(crate::sched::QUANTUM as u64) as i32
                }
            }
            None => crate::sched::QUANTUM,
        };
        self.fuel = grant;
        self.fuel_grant = grant;
    }

    /// Run a collection with the VM's roots.
    pub fn collect(&mut self, kind: CollectionKind) -> VmResult<()> {
        let mut roots = VmRoots {
            stack: &mut self.stack,
            regs: &mut self.regs,
        };
        self.heap
            .collect(kind, &mut roots)
            .map_err(|e| Exn::Abort(Abort::OutOfMemory(e.to_string())))?;
        crate::host::drop_dead(self);
        if self.image.mark.is_some() && !self.heap.static_check_pending() {
            // A full collection checked the rest of a large image's body.
            if let Some(mark) = self.image.mark.take() {
                mark.record();
            }
        }
        let n = self.heap.stats().minor_collections + self.heap.stats().major_collections;
        if self.verify && n.is_multiple_of(self.verify_every.max(1)) {
            let mut roots = VmRoots {
                stack: &mut self.stack,
                regs: &mut self.regs,
            };
            if let Err(e) = self.heap.verify(&mut roots) {
                // A failed verification is a collector or runtime bug.
                panic!("heap verification failed after collection: {e}");
            }
        }
        Ok(())
    }

    /// May one more frame be entered? Both stacks must be under their
    /// limits, raised while an overflow is handled.
    #[inline(always)]
    pub(crate) fn frame_room(&self) -> bool {
        self.frames.len() < self.max_frames + self.frame_reserve
            && self.stack.len() < self.stack_limit
    }

    /// Raise the stack limits so that handlers of a stack-depth error can
    /// run (`true`), or put them back (`false`).
    pub(crate) fn reserve_frames(&mut self, on: bool) {
        if on {
            self.frame_reserve = 10_000;
            self.stack_limit = STACK_LIMIT + STACK_HEADROOM / 2;
        } else {
            self.frame_reserve = 0;
            self.stack_limit = STACK_LIMIT;
        }
    }

    // ---- type tests -----------------------------------------------------------

    /// Is `v` a heap object with tag `t`?
    #[inline(always)]
    pub fn is(&self, v: Value, t: Tag) -> bool {
        v.is_ref() && {
            let x = self.heap.tag(v);
            x == t || (x == WIDENED && t == STRING)
        }
    }

    /// Is `v` a procedure?
    pub fn is_procedure(&self, v: Value) -> bool {
        v.is_ref()
            && matches!(
                self.heap.tag(v),
                CLOSURE | PRIMITIVE | CONTINUATION | PARAMETER
            )
    }

    /// A short name of `v`'s type for error messages.
    pub fn type_name(&self, v: Value) -> &'static str {
        if v.is_fixnum() {
            "integer"
        } else if v.is_ref() {
            obj::tag_name(self.heap.tag(v))
        } else if v.as_char().is_some() {
            "character"
        } else if v == Value::TRUE || v == Value::FALSE {
            "boolean"
        } else if v.is_nil() {
            "empty list"
        } else {
            "object"
        }
    }

    // ---- errors -----------------------------------------------------------------

    /// An error with irritants, to raise as a Scheme condition.
    pub fn error(&mut self, message: impl Into<String>, irritants: &[Value]) -> Exn {
        self.error_kind("error", message, irritants)
    }

    /// Raise an error naming `who` unless the host granted `what`: a
    /// `file-error` for the file grants, an `error` for the others.
    pub fn require(&mut self, who: &str, what: Grant) -> VmResult<()> {
        let g = self.grants;
        let (granted, kind, doing) = match what {
            Grant::ReadFiles => (g.read_files, "file-error", "reading files"),
            Grant::WriteFiles => (g.write_files, "file-error", "writing files"),
            Grant::Processes => (g.processes, "error", "running programs"),
            Grant::Environment => (g.environment, "error", "reading environment variables"),
            Grant::NetworkConnect => (
                g.network_connect,
                "socket-error",
                "opening network connections",
            ),
            Grant::NetworkListen => (g.network_listen, "socket-error", "listening on the network"),
        };
        if granted {
            Ok(())
        } else {
            Err(self.error_kind(
                kind,
                format!("{who}: {doing} is not granted to this engine"),
                &[],
            ))
        }
    }

    /// The text of the source file at `path`, for `who` (`load`,
    /// `include`, `import`), if the host granted reading files; else a
    /// `file-error` naming the file and the cause.
    pub fn read_source_file(&mut self, who: &str, path: &std::path::Path) -> VmResult<String> {
        self.require(who, Grant::ReadFiles)?;
        let bytes = std::fs::read(path).map_err(|e| {
            self.error_kind(
                "file-error",
                format!(
                    "{who}: cannot read `{}`: {}",
                    path.display(),
                    crate::os::io_error_text(&e)
                ),
                &[],
            )
        })?;
        crate::reader::decode_source(bytes).map_err(|e| {
            self.error_kind(
                "read-error",
                format!(
                    "{who}: {}:{}:{}: {}",
                    path.display(),
                    e.pos.line,
                    e.pos.col,
                    e.message
                ),
                &[],
            )
        })
    }

    /// An error of a given kind (`read-error`, `file-error`, …).
    pub fn error_kind(
        &mut self,
        kind: &'static str,
        message: impl Into<String>,
        irritants: &[Value],
    ) -> Exn {
        let irritant_mark = self.heap.root_mark();
        for &v in irritants {
            self.heap.push_root(v);
        }
        Exn::Error {
            kind,
            message: message.into(),
            irritant_mark,
        }
    }

    /// "`who`: expected a `what`, got `v`".
    pub fn type_error(&mut self, who: &str, what: &str, v: Value) -> Exn {
        let msg = format!(
            "{who}: expected {what}, got a{} {}",
            article(self.type_name(v)),
            self.type_name(v)
        );
        self.error(msg, &[v])
    }

    // ---- pairs and lists ----------------------------------------------------------

    /// `(cons a d)`.
    #[inline(always)]
    pub fn cons(&mut self, a: Value, d: Value) -> VmResult<Value> {
        if let Some(p) = self.heap.try_alloc2(PAIR, a, d) {
            return Ok(p);
        }
        // Root the parts: allocation may move them.
        self.stack.push(a);
        self.stack.push(d);
        let p = self.alloc(PAIR, 2);
        let d = self.stack.pop().unwrap_or(Value::NIL);
        let a = self.stack.pop().unwrap_or(Value::NIL);
        let p = p?;
        self.heap.set(p, 0, a);
        self.heap.set(p, 1, d);
        Ok(p)
    }

    /// `car` of a known pair.
    #[inline(always)]
    pub fn car(&self, p: Value) -> Value {
        self.heap.get(p, 0)
    }

    /// `cdr` of a known pair.
    #[inline(always)]
    pub fn cdr(&self, p: Value) -> Value {
        self.heap.get(p, 1)
    }

    /// Is `v` a pair?
    #[inline(always)]
    pub fn is_pair(&self, v: Value) -> bool {
        self.is(v, PAIR)
    }

    /// The elements of a proper list, or `None` if it is not one (cycles included).
    pub fn list_to_vec(&self, mut l: Value) -> Option<Vec<Value>> {
        let mut out = Vec::new();
        let mut slow = l;
        while self.is_pair(l) {
            out.push(self.car(l));
            l = self.cdr(l);
            if out.len() % 2 == 0 {
                slow = self.cdr(slow);
                if slow == l && self.is_pair(l) {
                    return None;
                }
            }
        }
        l.is_nil().then_some(out)
    }

    /// How many continuations were captured so far, as a fixnum: a loop
    /// that compares it before and after calling out knows whether a
    /// continuation may re-enter it.
    #[inline(always)]
    pub fn capture_count(&self) -> Value {
        Value::fix((self.captures & ((1 << 60) - 1)) as i64)
    }

    /// A list of the values `stack[from..]`, popping them.
    pub fn list_from_stack(&mut self, from: usize) -> VmResult<Value> {
        self.stack.push(Value::NIL);
        while self.stack.len() > from + 1 {
            let n = self.stack.len();
            let (a, d) = (self.stack[n - 2], self.stack[n - 1]);
            let p = self.cons(a, d)?;
            self.stack.truncate(n - 2);
            self.stack.push(p);
        }
        Ok(self.stack.pop().unwrap_or(Value::NIL))
    }

    /// An association list `((name . n) ...)` of symbols and integers.
    pub fn number_alist(&mut self, pairs: &[(String, i64)]) -> VmResult<Value> {
        let base = self.stack.len();
        for (k, n) in pairs {
            let k = self.intern(k)?;
            let e = self.cons(
                k,
                Value::fix((*n).clamp(imp_gc::FIXNUM_MIN, imp_gc::FIXNUM_MAX)),
            )?;
            self.stack.push(e);
        }
        self.list_from_stack(base)
    }

    // ---- vectors ----------------------------------------------------------------

    /// A vector of `n` copies of `fill`.
    pub fn make_vector(&mut self, n: usize, fill: Value) -> VmResult<Value> {
        self.stack.push(fill);
        let v = self.alloc(VECTOR, n);
        let fill = self.stack.pop().unwrap_or(Value::FALSE);
        let v = v?;
        if self.heap.is_young(v) || !self.heap.is_young(fill) {
            self.heap.payload_mut(v).fill(fill.bits());
        } else {
            for i in 0..n {
                self.heap.set(v, i, fill);
            }
        }
        Ok(v)
    }

    /// A vector of the values `stack[from..]`, popping them.
    pub fn vector_from_stack(&mut self, from: usize) -> VmResult<Value> {
        let n = self.stack.len() - from;
        let v = self.alloc(VECTOR, n)?;
        for i in 0..n {
            let x = self.stack[from + i];
            self.heap.set(v, i, x);
        }
        self.stack.truncate(from);
        Ok(v)
    }

    // ---- strings ------------------------------------------------------------------
    //
    // A string is narrow (a byte a character) while all its characters are
    // below U+0100 and wide (four bytes a character) otherwise; see `obj`.
    // Storing a wide character into a narrow string widens it first
    // (`widen_string`, which allocates), so `string_set` itself never
    // allocates: callers widen, then store.

    /// A fresh string of `n` characters, wide or narrow, all zero.
    fn alloc_string(&mut self, n: usize, wide: bool) -> VmResult<Value> {
        let words = if wide { n.div_ceil(2) } else { n.div_ceil(8) };
        let s = self.alloc(STRING, 1 + words)?;
        let p = self.heap.payload_mut(s);
        p[0] = n as u64 | if wide { STRING_WIDE } else { 0 };
        p[1..].fill(0);
        Ok(s)
    }

    /// A string of `n` copies of `c`.
    pub fn make_string(&mut self, n: usize, c: char) -> VmResult<Value> {
        let s = self.alloc_string(n, !narrow_char(c))?;
        for i in 0..n {
            self.string_set(s, i, c);
        }
        Ok(s)
    }

    /// A heap string holding `text`.
    pub fn string(&mut self, text: &str) -> VmResult<Value> {
        if text.is_ascii() {
            // ASCII is its own narrow encoding.
            let s = self.alloc_string(text.len(), false)?;
            self.heap.set_payload_bytes(s, 8, text.as_bytes());
            return Ok(s);
        }
        let n = text.chars().count();
        let s = self.alloc_string(n, !text.chars().all(narrow_char))?;
        for (i, c) in text.chars().enumerate() {
            self.string_set(s, i, c);
        }
        Ok(s)
    }

    /// A heap string of `chars`.
    pub fn string_from_chars(&mut self, chars: &[char]) -> VmResult<Value> {
        let s = self.alloc_string(chars.len(), !chars.iter().all(|&c| narrow_char(c)))?;
        for (i, &c) in chars.iter().enumerate() {
            self.string_set(s, i, c);
        }
        Ok(s)
    }

    /// A fresh string of `n` spaces, wide if `wide`: the destination of a
    /// copy of characters of which some may be wide.
    pub fn blank_string(&mut self, n: usize, wide: bool) -> VmResult<Value> {
        let s = self.alloc_string(n, wide)?;
        if !wide {
            self.heap.payload_mut(s)[1..].fill(u64::from_ne_bytes([b' '; 8]));
            self.clear_string_padding(s, n);
        } else {
            for i in 0..n {
                self.string_set(s, i, ' ');
            }
        }
        Ok(s)
    }

    fn clear_string_padding(&mut self, s: Value, n: usize) {
        if !n.is_multiple_of(8) {
            let last = n / 8 + 1;
            let w = self.heap.raw(s, last);
            self.heap
                .set_raw(s, last, w & ((1u64 << ((n % 8) * 8)) - 1));
        }
    }

    /// The object holding a string's characters: the string itself, or the
    /// wide string a widened one refers to.
    #[inline]
    pub fn string_body(&self, s: Value) -> Value {
        if self.heap.tag(s) == WIDENED {
            self.heap.get(s, 0)
        } else {
            s
        }
    }

    /// The length word of a string's body (0 for anything malformed).
    #[inline]
    fn string_word(&self, s: Value) -> (Value, u64) {
        match self.heap.tag(s) {
            STRING => (s, self.heap.raw(s, 0)),
            WIDENED => {
                let b = self.heap.get(s, 0);
                if b.is_ref() && self.heap.tag(b) == STRING {
                    (b, self.heap.raw(b, 0))
                } else {
                    (b, 0)
                }
            }
            _ => (s, 0),
        }
    }

    /// Length of a string in characters.
    #[inline]
    pub fn string_len(&self, s: Value) -> usize {
        (self.string_word(s).1 & !STRING_WIDE) as usize
    }

    /// Is the string `s` stored wide?
    pub fn string_is_wide(&self, s: Value) -> bool {
        self.string_word(s).1 & STRING_WIDE != 0
    }

    /// Do characters `start..end` of `s` all fit a narrow string?
    pub fn string_range_narrow(&self, s: Value, start: usize, end: usize) -> bool {
        !self.string_is_wide(s) || (start..end).all(|i| narrow_char(self.string_ref(s, i)))
    }

    /// Character `i` of a string (`i` must be in range).
    #[inline]
    pub fn string_ref(&self, s: Value, i: usize) -> char {
        let (b, len) = self.string_word(s);
        if len & STRING_WIDE != 0 {
            let w = self.heap.raw(b, 1 + i / 2);
            char::from_u32((w >> ((i % 2) * 32)) as u32).unwrap_or('\u{fffd}')
        } else {
            let w = self.heap.raw(b, 1 + i / 8);
            char::from((w >> ((i % 8) * 8)) as u8)
        }
    }

    /// Set character `i` of a string (`i` must be in range). A string that
    /// cannot hold `c` must have been widened (`widen_string`) first; if
    /// not, a bug, the character stored is `?`.
    #[inline]
    pub fn string_set(&mut self, s: Value, i: usize, c: char) {
        let (b, len) = self.string_word(s);
        if len & STRING_WIDE != 0 {
            let shift = (i % 2) * 32;
            let w = self.heap.raw(b, 1 + i / 2);
            let w = (w & !(0xffff_ffffu64 << shift)) | ((c as u64) << shift);
            self.heap.set_raw(b, 1 + i / 2, w);
        } else {
            debug_assert!(narrow_char(c), "a wide character stored in a narrow string");
            let byte = if narrow_char(c) {
                c as u64
            } else {
                u64::from(b'?')
            };
            let shift = (i % 8) * 8;
            let w = self.heap.raw(b, 1 + i / 8);
            let w = (w & !(0xffu64 << shift)) | (byte << shift);
            self.heap.set_raw(b, 1 + i / 8, w);
        }
    }

    /// Copy `n` characters of string `from` at `fstart` into string `to` at
    /// `at` (overlap-safe). `to` must be able to hold them (wide, or they
    /// are all narrow).
    pub fn copy_string_chars(
        &mut self,
        to: Value,
        at: usize,
        from: Value,
        fstart: usize,
        n: usize,
    ) {
        let (tb, tl) = self.string_word(to);
        let (fb, fl) = self.string_word(from);
        if tl & STRING_WIDE == 0 && fl & STRING_WIDE == 0 {
            self.heap.copy_payload_bytes(fb, 8 + fstart, tb, 8 + at, n);
            return;
        }
        if at <= fstart {
            for k in 0..n {
                let c = self.string_ref(from, fstart + k);
                self.string_set(to, at + k, c);
            }
        } else {
            for k in (0..n).rev() {
                let c = self.string_ref(from, fstart + k);
                self.string_set(to, at + k, c);
            }
        }
    }

    /// Make the string at `stack[slot]` able to hold any character: a
    /// narrow string becomes `WIDENED`, referring to a new wide string with
    /// its characters, and keeps its identity. Allocates; values other than
    /// `stack[slot]` held across the call must be rooted.
    pub fn widen_string(&mut self, slot: usize) -> VmResult<()> {
        let s = self.stack[slot];
        if self.string_is_wide(s) {
            return Ok(());
        }
        let n = self.string_len(s);
        let w = self.alloc_string(n, true)?;
        let s = self.stack[slot];
        for i in 0..n {
            let c = self.string_ref(s, i);
            self.string_set(w, i, c);
        }
        self.heap.become_traced(s, WIDENED, Value::FALSE);
        self.heap.set(s, 0, w);
        Ok(())
    }

    /// Characters `start..end` of `s` as text, without a copy, if `s` is
    /// narrow and they are all ASCII (`end` must not pass the string).
    pub fn ascii_chars(&self, s: Value, start: usize, end: usize) -> Option<&str> {
        let (b, len) = self.string_word(s);
        if len & STRING_WIDE != 0 || !b.is_ref() || self.heap.tag(b) != STRING {
            return None;
        }
        let words = self.heap.payload(b).get(1..)?;
        let bytes: &[u8] = bytemuck::cast_slice(words);
        let bytes = bytes.get(start..end)?;
        if !bytes.is_ascii() {
            return None;
        }
        std::str::from_utf8(bytes).ok()
    }

    /// Characters `start..end` of `s` (in range) as UTF-8.
    pub fn string_utf8(&self, s: Value, start: usize, end: usize) -> String {
        let (b, len) = self.string_word(s);
        if !b.is_ref() || self.heap.tag(b) != STRING {
            return String::new();
        }
        let words = self.heap.payload(b).get(1..).unwrap_or(&[]);
        if len & STRING_WIDE != 0 {
            let units: &[u32] = bytemuck::cast_slice(words);
            units
                .get(start..end)
                .unwrap_or(&[])
                .iter()
                .map(|&u| char::from_u32(u).unwrap_or('\u{fffd}'))
                .collect()
        } else {
            let bytes: &[u8] = bytemuck::cast_slice(words);
            bytes
                .get(start..end)
                .unwrap_or(&[])
                .iter()
                .map(|&b| char::from(b))
                .collect()
        }
    }

    /// The characters of a string.
    pub fn string_chars(&self, s: Value) -> Vec<char> {
        (0..self.string_len(s))
            .map(|i| self.string_ref(s, i))
            .collect()
    }

    /// A string's text as a Rust string.
    pub fn string_text(&self, s: Value) -> String {
        (0..self.string_len(s))
            .map(|i| self.string_ref(s, i))
            .collect()
    }

    /// The first character of a string, if it has one.
    pub fn string_first_char(&self, s: Value) -> Option<char> {
        (self.string_len(s) > 0).then(|| self.string_ref(s, 0))
    }

    /// Does the heap string `s` hold exactly `text`?
    pub fn string_eq_str(&self, s: Value, text: &str) -> bool {
        let mut i = 0;
        let n = self.string_len(s);
        for c in text.chars() {
            if i >= n || self.string_ref(s, i) != c {
                return false;
            }
            i += 1;
        }
        i == n
    }

    // ---- bytevectors ----------------------------------------------------------------

    /// A bytevector of `n` copies of `fill`.
    pub fn make_bytevector(&mut self, n: usize, fill: u8) -> VmResult<Value> {
        let b = self.alloc(BYTEVECTOR, 1 + n.div_ceil(8))?;
        let p = self.heap.payload_mut(b);
        p[0] = n as u64;
        p[1..].fill(u64::from_ne_bytes([fill; 8]));
        Ok(b)
    }

    /// Length of a bytevector.
    #[inline]
    pub fn bytevector_len(&self, b: Value) -> usize {
        self.heap.raw(b, 0) as usize
    }

    /// Byte `i` of a bytevector (in range).
    #[inline]
    pub fn bytevector_ref(&self, b: Value, i: usize) -> u8 {
        (self.heap.raw(b, 1 + i / 8) >> ((i % 8) * 8)) as u8
    }

    /// Set byte `i` of a bytevector (in range).
    #[inline]
    pub fn bytevector_set(&mut self, b: Value, i: usize, x: u8) {
        let shift = (i % 8) * 8;
        let w = self.heap.raw(b, 1 + i / 8);
        self.heap.set_raw(
            b,
            1 + i / 8,
            (w & !(0xffu64 << shift)) | ((x as u64) << shift),
        );
    }

    /// A bytevector holding `bytes`.
    pub fn bytevector(&mut self, bytes: &[u8]) -> VmResult<Value> {
        let b = self.bytevector_uninit(bytes.len())?;
        self.heap.set_payload_bytes(b, 8, bytes);
        Ok(b)
    }

    /// A bytevector of `n` bytes whose contents the caller writes next
    /// (before any allocation): only the padding of its last word is
    /// zeroed here, so a large one is not written twice.
    pub fn bytevector_uninit(&mut self, n: usize) -> VmResult<Value> {
        let b = self.alloc(BYTEVECTOR, 1 + n.div_ceil(8))?;
        let p = self.heap.payload_mut(b);
        p[0] = n as u64;
        if let Some(last) = p.get_mut(n.div_ceil(8)).filter(|_| n > 0) {
            *last = 0;
        }
        Ok(b)
    }

    /// The bytes of a bytevector, in place (byte `i` is at payload byte
    /// `8 + i`: the words are little-endian, as `bytevector_ref` reads them).
    pub fn bytevector_slice(&self, b: Value) -> &[u8] {
        let n = self.bytevector_len(b);
        &self.heap.payload_bytes(b)[8..8 + n]
    }

    /// The bytes of a bytevector.
    pub fn bytevector_bytes(&self, b: Value) -> Vec<u8> {
        self.bytevector_slice(b).to_vec()
    }

    // ---- flonums ------------------------------------------------------------------------

    /// A boxed flonum.
    #[inline]
    pub fn flonum(&mut self, x: f64) -> VmResult<Value> {
        let v = self.alloc(FLONUM, 1)?;
        self.heap.set_raw(v, 0, x.to_bits());
        Ok(v)
    }

    /// The f64 of a flonum object.
    #[inline]
    pub fn flonum_value(&self, v: Value) -> f64 {
        f64::from_bits(self.heap.raw(v, 0))
    }

    // ---- symbols --------------------------------------------------------------------------

    /// The symbol named `name` if it was interned (never allocates).
    pub fn symbol_lookup(&self, name: &str) -> Option<Value> {
        self.lookup_in(self.reg(Reg::Symtab), name)
    }

    /// The internal symbol named `name`, if any (never allocates).
    pub fn internal_lookup(&self, name: &str) -> Option<Value> {
        self.lookup_in(self.reg(Reg::Internals), name)
    }

    /// The symbol named `name` in the hash table `tab` (a vector of
    /// buckets, each a list of symbols), if `tab` is one and holds it.
    fn lookup_in(&self, tab: Value, name: &str) -> Option<Value> {
        if !self.is(tab, VECTOR) {
            return None;
        }
        let h = str_hash(name.chars());
        let mut l = self.heap.get(tab, (h % self.heap.len(tab) as u64) as usize);
        while !l.is_nil() {
            let sym = self.car(l);
            if self.string_eq_str(self.heap.get(sym, 0), name) {
                return Some(sym);
            }
            l = self.cdr(l);
        }
        None
    }

    /// The symbol of one of imp's own names (`%park`, `%libraries`, …):
    /// from the internal table, where [`Vm::hide_internals`] put them, or
    /// (before that, while the standard library is being compiled) the
    /// ordinary one. A name not yet known is made where such names live
    /// now.
    pub fn intern_internal(&mut self, name: &str) -> VmResult<Value> {
        if let Some(sym) = self.internal_lookup(name) {
            return Ok(sym);
        }
        if !self.is(self.reg(Reg::Internals), VECTOR) {
            return self.intern(name);
        }
        let s = self.string(name)?;
        self.stack.push(s);
        let sym = self.alloc(SYMBOL, 2);
        let s = self.stack.pop().unwrap_or(Value::FALSE);
        let sym = sym?;
        self.heap.set(sym, 0, s);
        self.heap.set(sym, 1, Value::UNDEFINED);
        self.add_internal(sym)
    }

    /// Put symbol `sym` in the internal table; returns it (it may have moved).
    fn add_internal(&mut self, sym: Value) -> VmResult<Value> {
        let h = str_hash(self.string_chars(self.heap.get(sym, 0)).into_iter());
        self.stack.push(sym);
        let tab = self.reg(Reg::Internals);
        let i = (h % self.heap.len(tab) as u64) as usize;
        let bucket = self.heap.get(tab, i);
        let cell = self.cons(sym, bucket)?;
        let tab = self.reg(Reg::Internals);
        self.heap.set(tab, i, cell);
        Ok(self.stack.pop().unwrap_or(Value::UNDEFINED))
    }

    /// Take imp's own names out of the symbol table user code reads from.
    /// Every symbol whose name starts with `%` (the internal primitives,
    /// which trust their arguments, and the standard library's private
    /// procedures and data) moves to the internal table. Code compiled
    /// before refers to the symbol objects themselves and runs unchanged;
    /// a name written in user code, read by `read` or made by
    /// `string->symbol` interns a new, unbound symbol, so no program can
    /// reach them. imp's expansions reach them through `#%global`, a name
    /// user code cannot use (the compiler refuses `#%` names from source
    /// and data alike).
    ///
    /// # Errors
    /// If the heap is exhausted.
    pub fn hide_internals(&mut self) -> VmResult<()> {
        if self.is(self.reg(Reg::Internals), VECTOR) {
            return Ok(());
        }
        let tab = self.make_vector(INTERNAL_BUCKETS, Value::NIL)?;
        self.set_reg(Reg::Internals, tab);
        let base = self.stack.len();
        let symtab = self.reg(Reg::Symtab);
        for b in 0..self.heap.len(symtab) {
            // Keep the bucket's public symbols, in order; push the others.
            let mut keep = Vec::new();
            let mut l = self.heap.get(symtab, b);
            while !l.is_nil() {
                let sym = self.car(l);
                if self.string_first_char(self.heap.get(sym, 0)) == Some('%') {
                    self.stack.push(sym);
                } else {
                    keep.push(sym);
                }
                l = self.cdr(l);
            }
            let moved = self.stack.len() - base;
            if moved == 0 {
                continue;
            }
            let kbase = self.stack.len();
            self.stack.extend(keep);
            let list = self.list_from_stack(kbase)?;
            let symtab = self.reg(Reg::Symtab);
            self.heap.set(symtab, b, list);
            let count = self.reg(Reg::SymCount).as_fixnum_unchecked() - moved as i64;
            self.set_reg(Reg::SymCount, Value::fix(count));
            while self.stack.len() > base {
                let sym = self.stack[self.stack.len() - 1];
                self.add_internal(sym)?;
                self.stack.pop();
            }
        }
        Ok(())
    }

    /// Bind every internal name in the ordinary table too, to the same
    /// value: for unit tests of the internal primitives themselves.
    #[cfg(test)]
    pub(crate) fn expose_internals_for_tests(&mut self) {
        let tab = self.reg(Reg::Internals);
        if !self.is(tab, VECTOR) {
            return;
        }
        let mut pairs = Vec::new();
        for b in 0..self.heap.len(tab) {
            let mut l = self.heap.get(tab, b);
            while !l.is_nil() {
                let sym = self.car(l);
                pairs.push((self.symbol_name(sym), sym));
                l = self.cdr(l);
            }
        }
        for (name, sym) in pairs {
            let v = self.global_value(sym);
            self.stack.push(v);
            if let Ok(public) = self.intern(&name) {
                let v = self.stack[self.stack.len() - 1];
                self.set_global_value(public, v);
            }
            self.stack.pop();
        }
    }

    /// The interned symbol named `name`.
    pub fn intern(&mut self, name: &str) -> VmResult<Value> {
        if let Some(sym) = self.symbol_lookup(name) {
            return Ok(sym);
        }
        let h = str_hash(name.chars());
        let s = self.string(name)?;
        self.stack.push(s);
        let sym = self.alloc(SYMBOL, 2);
        let s = self.stack.pop().unwrap_or(Value::FALSE);
        let sym = sym?;
        self.heap.set(sym, 0, s);
        self.heap.set(sym, 1, Value::UNDEFINED);
        self.add_symbol(sym, h)
    }

    /// Intern an existing symbol object (uninterned so far) in the table;
    /// returns it (it may have moved).
    fn add_symbol(&mut self, sym: Value, h: u64) -> VmResult<Value> {
        self.stack.push(sym);
        let tab = self.reg(Reg::Symtab);
        let nb = self.heap.len(tab);
        let count = self.reg(Reg::SymCount).as_fixnum_unchecked() as usize + 1;
        if count > nb * 2 {
            self.grow_symtab(nb * 2)?;
        }
        let tab = self.reg(Reg::Symtab);
        let nb = self.heap.len(tab);
        let i = (h % nb as u64) as usize;
        let sym = self.stack[self.stack.len() - 1];
        let bucket = self.heap.get(tab, i);
        let cell = self.cons(sym, bucket)?;
        let tab = self.reg(Reg::Symtab);
        self.heap.set(tab, i, cell);
        self.set_reg(Reg::SymCount, Value::fix(count as i64));
        Ok(self.stack.pop().unwrap_or(Value::UNDEFINED))
    }

    fn grow_symtab(&mut self, n: usize) -> VmResult<()> {
        let new = self.make_vector(n, Value::NIL)?;
        self.stack.push(new);
        let old = self.reg(Reg::Symtab);
        for b in 0..self.heap.len(old) {
            let mut l = self.heap.get(self.reg(Reg::Symtab), b);
            while !l.is_nil() {
                self.stack.push(l);
                let sym = self.car(l);
                let h = str_hash(self.string_chars(self.heap.get(sym, 0)).into_iter());
                let new = self.stack[self.stack.len() - 2];
                let i = (h % n as u64) as usize;
                let bucket = self.heap.get(new, i);
                let cell = self.cons(sym, bucket)?;
                let new = self.stack[self.stack.len() - 2];
                self.heap.set(new, i, cell);
                let popped = self.stack.pop().unwrap_or(Value::NIL);
                l = self.cdr(popped);
            }
        }
        let new = self.stack.pop().unwrap_or(Value::NIL);
        self.set_reg(Reg::Symtab, new);
        Ok(())
    }

    /// A symbol's name.
    pub fn symbol_name(&self, sym: Value) -> String {
        self.string_text(self.heap.get(sym, 0))
    }

    /// A symbol's global value (`UNDEFINED` if unbound).
    #[inline(always)]
    pub fn global_value(&self, sym: Value) -> Value {
        self.heap.get(sym, 1)
    }

    /// The global value of one of imp's own names (see
    /// [`Vm::intern_internal`]).
    pub fn internal_global(&mut self, name: &str) -> VmResult<Value> {
        let s = self.intern_internal(name)?;
        Ok(self.global_value(s))
    }

    /// Bind a symbol globally.
    #[inline(always)]
    pub fn set_global_value(&mut self, sym: Value, v: Value) {
        self.heap.set(sym, 1, v);
    }

    /// The value of parameter object `p` in the running thread: its
    /// innermost `parameterize` binding, else its global value.
    pub fn parameter_value(&self, p: Value) -> Value {
        let mut l = self.reg(Reg::Params);
        while self.is(l, PAIR) {
            let b = self.heap.get(l, 0);
            if self.heap.get(b, 0) == p {
                return self.heap.get(b, 1);
            }
            l = self.heap.get(l, 1);
        }
        self.heap.get(p, 0)
    }

    /// The keyword `#:name`, the same object every time.
    pub fn intern_keyword(&mut self, name: &str) -> VmResult<Value> {
        let sym = self.intern(name)?;
        let mut l = self.reg(Reg::Keywords);
        while self.is(l, PAIR) {
            let e = self.heap.get(l, 0);
            if self.heap.get(e, 0) == sym {
                return Ok(self.heap.get(e, 1));
            }
            l = self.heap.get(l, 1);
        }
        let base = self.stack.len();
        self.stack.push(sym);
        let s = self.string(name)?;
        self.stack.push(s);
        let k = self.object_from_stack(KEYWORD, base + 1)?;
        self.stack.push(k);
        debug_assert_eq!(self.stack.len(), base + 2);
        let e = self.cons(self.stack[base], self.stack[base + 1])?;
        let l = self.cons(e, self.reg(Reg::Keywords))?;
        self.set_reg(Reg::Keywords, l);
        let k = self.stack[base + 1];
        self.stack.truncate(base);
        Ok(k)
    }

    /// Bind `name` globally to `v`.
    pub fn define_global(&mut self, name: &str, v: Value) -> VmResult<()> {
        self.stack.push(v);
        let sym = if name.starts_with('%') {
            self.intern_internal(name)
        } else {
            self.intern(name)
        };
        let v = self.stack.pop().unwrap_or(Value::UNDEFINED);
        self.set_global_value(sym?, v);
        Ok(())
    }

    /// Every interned symbol.
    pub fn all_symbols(&self) -> Vec<Value> {
        let tab = self.reg(Reg::Symtab);
        let mut out = Vec::new();
        for b in 0..self.heap.len(tab) {
            let mut l = self.heap.get(tab, b);
            while !l.is_nil() {
                out.push(self.car(l));
                l = self.cdr(l);
            }
        }
        out
    }

    // ---- boxes, closures, misc ---------------------------------------------------------

    /// A fresh mutable cell holding `v`.
    #[inline]
    pub fn make_box(&mut self, v: Value) -> VmResult<Value> {
        self.stack.push(v);
        let b = self.alloc(BOX, 1);
        let v = self.stack.pop().unwrap_or(Value::UNDEFINED);
        let b = b?;
        self.heap.set(b, 0, v);
        Ok(b)
    }

    /// A primitive procedure object for table entry `id`.
    pub fn make_primitive(&mut self, id: usize) -> VmResult<Value> {
        let name = self.intern(PRIMITIVES[id].name)?;
        self.stack.push(name);
        let p = self.alloc(PRIMITIVE, 2);
        let name = self.stack.pop().unwrap_or(Value::FALSE);
        let p = p?;
        self.heap.set(p, 0, Value::fix(id as i64));
        self.heap.set(p, 1, name);
        Ok(p)
    }

    /// A record or other object with `fields` from the stack top (popped).
    pub fn object_from_stack(&mut self, tag: Tag, from: usize) -> VmResult<Value> {
        let n = self.stack.len() - from;
        let o = self.alloc(tag, n)?;
        for i in 0..n {
            let x = self.stack[from + i];
            self.heap.set(o, i, x);
        }
        self.stack.truncate(from);
        Ok(o)
    }
}

/// Hash of a string's characters (FNV-1a over code points).
pub fn str_hash(chars: impl Iterator<Item = char>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in chars {
        h ^= c as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn article(noun: &str) -> &'static str {
    match noun.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => "n",
        _ => "",
    }
}

/// Does `c` fit a narrow string (Latin-1)?
#[inline]
pub fn narrow_char(c: char) -> bool {
    (c as u32) < 0x100
}
