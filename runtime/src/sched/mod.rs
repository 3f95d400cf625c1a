//! Green threads: thread objects, the scheduler, parking, preemption,
//! interrupts, and the atomic state changes that mutexes, condition
//! variables and channels are built from (the rest is Scheme, in
//! `threads.scm`).
//!
//! **Invariant (one OS thread):** everything here runs on the thread that
//! owns the `Vm`. A green thread that is not running is entirely in the
//! heap: its value stack, control stack, registers and wake-up state are
//! fields of its `THREAD` object, so the collector and the image writer see
//! it like any other object.
//!
//! **Invariant (switch points):** threads switch only at a safepoint (a call
//! instruction whose fuel ran out) or inside `%yield`/`%park`, and only when
//! the Rust stack holds no nested entry into the VM (`run_depth == 1`): a
//! switch replaces the VM stacks, which a nested Rust caller still points
//! into.
//!
//! Waiting is built from *park* and *unpark* with a permit: a thread first
//! registers itself as a waiter on a queue (atomically, in a primitive), then
//! parks; a wake-up that arrives between the two leaves a permit, and the
//! park returns at once. Everything that waits loops and re-checks its
//! condition, so a spurious wake-up is harmless.

mod events;
mod timers;

pub(crate) use events::wait_key;

use imp_gc::Value;

use crate::obj::{self, THREAD};
use crate::prim::Control;
use crate::vm::{DISCARD_BIT, Frame, REDO_PC, Reg, THREAD_END_PC, Vm, VmResult};

/// Field indices of a `THREAD` object.
pub mod field {
    /// Name (any value).
    pub const NAME: usize = 0;
    /// `thread-specific` slot.
    pub const SPECIFIC: usize = 1;
    /// The thunk the thread runs.
    pub const THUNK: usize = 2;
    /// State (fixnum): see `state`.
    pub const STATE: usize = 3;
    /// The thunk's result, or the uncaught condition.
    pub const RESULT: usize = 4;
    /// Saved value stack (vector) while not running, else `#f`.
    pub const STACK: usize = 5;
    /// Saved control stack (raw) while not running, else `#f`.
    pub const FRAMES: usize = 6;
    /// Saved frame pointer (fixnum).
    pub const FP: usize = 7;
    /// Saved program counter (fixnum).
    pub const PC: usize = 8;
    /// Saved dynamic-wind list.
    pub const WINDERS: usize = 9;
    /// Saved handler stack.
    pub const HANDLERS: usize = 10;
    /// The thread's parameterization (alist of parameter → value).
    pub const PARAMS: usize = 11;
    /// A wake-up that arrived before the thread parked (`UNDEFINED`: none).
    pub const PERMIT: usize = 12;
    /// Interrupt thunks not yet run, oldest first (list).
    pub const INTERRUPTS: usize = 13;
    /// Serial number (fixnum).
    pub const ID: usize = 14;
    /// Flag bits (fixnum): see `flag`.
    pub const FLAGS: usize = 15;
    /// Deadline of the current park (fixnum µs) or `#f`.
    pub const DEADLINE: usize = 16;
    /// The waiter queue the thread is registered on, or `#f`.
    pub const WAITING_ON: usize = 17;
    /// Mutexes the thread owns (list).
    pub const OWNED: usize = 18;
    /// Threads waiting for this one to end (queue).
    pub const JOINERS: usize = 19;
    /// The value to push when the thread resumes (`UNDEFINED`: nothing).
    pub const RESUME: usize = 20;
    /// A blocked primitive call to make again on resuming: fixnum
    /// `argc * 2 + tail`, or `#f`.
    pub const RECALL: usize = 21;
    /// Number of fields.
    pub const SIZE: usize = 22;
}

/// Thread states.
pub mod state {
    /// Made, not started.
    pub const NEW: i64 = 0;
    /// Running, or ready to run (in the run queue).
    pub const RUNNABLE: i64 = 1;
    /// Waiting to be unparked or for its deadline.
    pub const PARKED: i64 = 2;
    /// Finished.
    pub const TERMINATED: i64 = 3;
}

/// Fields of the vector an image that kept its threads holds them in
/// (`Vm::kept_threads_root`).
pub const KEPT_FIELDS: usize = 7;

/// Thread flag bits.
pub mod flag {
    /// A terminate request is being carried out.
    pub const TERMINATING: i64 = 1;
    /// Ended by an uncaught condition (in `RESULT`).
    pub const FAILED: i64 = 2;
    /// Ended by `thread-terminate!` or the runtime's kill.
    pub const TERMINATED: i64 = 4;
    /// Started but has not run yet.
    pub const FRESH: i64 = 8;
    /// Counted in `Vm::threads_unwinding` (asked to unwind by
    /// `%terminate-others!`).
    pub const UNWIND_COUNTED: i64 = 16;
    /// Kept in an image and not resumed since the image was loaded: checked
    /// before it is (`Vm::check_kept_thread`).
    pub const KEPT: i64 = 32;
}

/// Field indices of a `MUTEX` object.
pub mod mutex {
    /// Name.
    pub const NAME: usize = 0;
    /// `mutex-specific` slot.
    pub const SPECIFIC: usize = 1;
    /// Locked? (boolean)
    pub const LOCKED: usize = 2;
    /// The owning thread, or `#f` (locked but not owned, or unlocked).
    pub const OWNER: usize = 3;
    /// Abandoned? (boolean)
    pub const ABANDONED: usize = 4;
    /// Waiting threads (queue).
    pub const WAITERS: usize = 5;
    /// Number of fields.
    pub const SIZE: usize = 6;
}

/// Field indices of a `CONDVAR` object.
pub mod condvar {
    /// Name.
    pub const NAME: usize = 0;
    /// `condition-variable-specific` slot.
    pub const SPECIFIC: usize = 1;
    /// Waiting threads (queue).
    pub const WAITERS: usize = 2;
    /// Number of fields.
    pub const SIZE: usize = 3;
}

/// Field indices of a `CHANNEL` object.
pub mod channel {
    /// Buffered values (queue).
    pub const BUFFER: usize = 0;
    /// How many sent values may wait unreceived (fixnum).
    pub const CAPACITY: usize = 1;
    /// Values sent so far (fixnum).
    pub const SENT: usize = 2;
    /// Values received so far (fixnum).
    pub const TAKEN: usize = 3;
    /// Closed? (boolean)
    pub const CLOSED: usize = 4;
    /// Threads waiting to receive (queue).
    pub const RECEIVERS: usize = 5;
    /// Threads waiting for their value to be taken (queue).
    pub const SENDERS: usize = 6;
    /// Number of fields.
    pub const SIZE: usize = 7;
}

/// The scheduler's counters (`Vm::sched`); the queues and timers it
/// works on are heap objects in the VM's registers.
#[derive(Default)]
pub struct SchedState {
    /// Added to the time since the VM started: where the scheduler's
    /// clock stood when an image that kept its threads was saved (so the
    /// deadlines they hold go on counting from there).
    clock_offset_us: i64,
    /// The next thread's serial number.
    next_thread_id: u64,
    /// Entries in `Reg::Threads` (live or not).
    threads_registered: usize,
    /// Live threads found by the last pruning of `Reg::Threads`.
    threads_live_at_prune: usize,
    /// Threads `%terminate-others!` asked to unwind that have not ended.
    threads_unwinding: usize,
    /// Thread switches so far (restores of a thread's state).
    switches: u64,
    /// The last terminate phase (`%terminate-others!` to
    /// `%kill-others!`): when it began and the switches count then; then
    /// its length in microseconds and the switches made during it, which a
    /// save child reports.
    terminate_phase: (Option<(std::time::Instant, u64)>, i64, i64),
    /// The wait slab's index (`events`).
    waits: events::Waits,
}

impl SchedState {
    /// A thread was added to the registry: is a pruning of it due (the
    /// registry has doubled since the last)?
    pub(crate) fn note_registered(&mut self) -> bool {
        self.threads_registered += 1;
        self.threads_registered > 2 * self.threads_live_at_prune + 64
    }

    /// A save child's terminate phase begins (`%terminate-others!`).
    pub(crate) fn begin_terminate_phase(&mut self) {
        self.terminate_phase.0 = Some((std::time::Instant::now(), self.switches));
        self.threads_unwinding = 0;
    }

    /// One more thread asked to unwind in the terminate phase.
    pub(crate) fn count_unwinding(&mut self) {
        self.threads_unwinding += 1;
    }

    /// Threads asked to unwind that have not ended.
    pub(crate) fn unwinding(&self) -> usize {
        self.threads_unwinding
    }

    /// The terminate phase ends (`%kill-others!`): its length and the
    /// switches made during it are kept for the save's report.
    pub(crate) fn end_terminate_phase(&mut self) {
        self.threads_unwinding = 0;
        if let Some((t0, switches)) = self.terminate_phase.0.take() {
            self.terminate_phase.1 = t0.elapsed().as_micros() as i64;
            self.terminate_phase.2 = (self.switches - switches) as i64;
        }
    }

    /// The last terminate phase: microseconds and thread switches.
    pub(crate) fn terminate_figures(&self) -> (i64, i64) {
        (self.terminate_phase.1, self.terminate_phase.2)
    }
}

/// Calls a thread runs before a safepoint offers the CPU to another.
pub const QUANTUM: i32 = 2000;

/// Symbols the scheduler uses, interned once into `Reg::SchedSyms`.
const SYMS: &[&str] = &[
    "%run-interrupts",
    "%limit-interrupt",
    "%limit-unwind",
    "%terminate-current!",
    "%raise-deadlock",
    "%sigint-target",
    "%user-interrupt-thunk",
    "timeout",
    "%deadlock",
    "%interrupted",
    "abandoned",
    "not-owned",
    "not-abandoned",
    "new",
    "runnable",
    "blocked",
    "terminated",
    "failed",
    "normal",
    "done",
    "again",
    "unwind",
];

impl Vm {
    // ---- queues: a pair (head-list . last-pair) ---------------------------------

    /// An empty FIFO queue.
    pub fn queue_new(&mut self) -> VmResult<Value> {
        self.cons(Value::NIL, Value::NIL)
    }

    /// Append `v` to queue `q`.
    pub fn queue_push(&mut self, q: Value, v: Value) -> VmResult<()> {
        self.stack.push(q);
        let cell = self.cons(v, Value::NIL);
        let q = self.stack.pop().unwrap_or(Value::NIL);
        let cell = cell?;
        let last = self.heap.get(q, 1);
        if last.is_nil() {
            self.heap.set(q, 0, cell);
        } else {
            self.heap.set(last, 1, cell);
        }
        self.heap.set(q, 1, cell);
        Ok(())
    }

    /// Put `v` at the front of queue `q`.
    pub fn queue_push_front(&mut self, q: Value, v: Value) -> VmResult<()> {
        self.stack.push(q);
        let cell = self.cons(v, Value::NIL);
        let q = self.stack.pop().unwrap_or(Value::NIL);
        let cell = cell?;
        let head = self.heap.get(q, 0);
        self.heap.set(cell, 1, head);
        self.heap.set(q, 0, cell);
        if head.is_nil() {
            self.heap.set(q, 1, cell);
        }
        Ok(())
    }

    /// Remove and return the first element of queue `q`.
    pub fn queue_pop(&mut self, q: Value) -> Option<Value> {
        let head = self.heap.get(q, 0);
        if head.is_nil() {
            return None;
        }
        let v = self.heap.get(head, 0);
        let rest = self.heap.get(head, 1);
        self.heap.set(q, 0, rest);
        if rest.is_nil() {
            self.heap.set(q, 1, Value::NIL);
        }
        Some(v)
    }

    /// Remove every occurrence of `v` from queue `q`.
    pub fn queue_remove(&mut self, q: Value, v: Value) {
        if !self.is(q, obj::PAIR) {
            return;
        }
        let mut prev = Value::NIL;
        let mut l = self.heap.get(q, 0);
        while !l.is_nil() {
            let next = self.heap.get(l, 1);
            if self.heap.get(l, 0) == v {
                if prev.is_nil() {
                    self.heap.set(q, 0, next);
                } else {
                    self.heap.set(prev, 1, next);
                }
                if next.is_nil() {
                    self.heap.set(q, 1, prev);
                }
            } else {
                prev = l;
            }
            l = next;
        }
    }

    pub(crate) fn queue_is_empty(&self, q: Value) -> bool {
        self.heap.get(q, 0).is_nil()
    }

    // ---- thread objects ------------------------------------------------------------

    pub(crate) fn tfield(&self, t: Value, i: usize) -> Value {
        self.heap.get(t, i)
    }

    pub(crate) fn tstate(&self, t: Value) -> i64 {
        self.heap.get(t, field::STATE).as_fixnum_unchecked()
    }

    pub(crate) fn tflags(&self, t: Value) -> i64 {
        self.heap.get(t, field::FLAGS).as_fixnum_unchecked()
    }

    pub(crate) fn set_tflag(&mut self, t: Value, bit: i64, on: bool) {
        let f = self.tflags(t);
        let f = if on { f | bit } else { f & !bit };
        self.heap.set(t, field::FLAGS, Value::fix(f));
    }

    /// A new thread object in state `NEW` running `thunk`, named `name`.
    pub(crate) fn make_thread(&mut self, thunk: Value, name: Value) -> VmResult<Value> {
        let base = self.stack.len();
        self.stack.push(thunk);
        self.stack.push(name);
        let joiners = self.queue_new()?;
        let (thunk, name) = (self.stack[base], self.stack[base + 1]);
        self.stack.truncate(base);
        let id = self.sched.next_thread_id;
        self.sched.next_thread_id += 1;
        let params = self.reg(Reg::Params);
        let fields: [Value; field::SIZE] = [
            name,
            Value::FALSE,
            thunk,
            Value::fix(state::NEW),
            Value::UNSPECIFIED,
            Value::FALSE,
            Value::FALSE,
            Value::fix(0),
            Value::fix(0),
            Value::NIL,
            Value::NIL,
            params,
            Value::UNDEFINED,
            Value::NIL,
            Value::fix(id as i64),
            Value::fix(0),
            Value::FALSE,
            Value::FALSE,
            Value::NIL,
            joiners,
            Value::UNDEFINED,
            Value::FALSE,
        ];
        self.stack.extend_from_slice(&fields);
        self.object_from_stack(THREAD, base)
    }

    /// Set up the scheduler: the initial thread (the one running now), an
    /// empty run queue and no timers.
    pub fn init_threads(&mut self) -> VmResult<()> {
        let syms = self.make_vector(SYMS.len(), Value::FALSE)?;
        self.set_reg(Reg::SchedSyms, syms);
        for (i, name) in SYMS.iter().enumerate() {
            let s = if name.starts_with('%') {
                self.intern_internal(name)?
            } else {
                self.intern(name)?
            };
            let v = self.reg(Reg::SchedSyms);
            self.heap.set(v, i, s);
        }
        let name = self.intern("initial")?;
        let t = self.make_thread(Value::FALSE, name)?;
        self.heap.set(t, field::STATE, Value::fix(state::RUNNABLE));
        self.set_reg(Reg::Thread, t);
        self.set_reg(Reg::Initial, t);
        let all = self.cons(t, Value::NIL)?;
        self.set_reg(Reg::Threads, all);
        let q = self.queue_new()?;
        self.set_reg(Reg::RunQueue, q);
        let timers = self.make_vector(8, Value::FALSE)?;
        self.heap.set(timers, 0, Value::fix(0));
        self.set_reg(Reg::Timers, timers);
        self.init_waits()?;
        self.refuel();
        Ok(())
    }

    /// One of the scheduler's symbols (`SYMS`).
    pub(crate) fn sym(&self, name: &str) -> Value {
        let i = SYMS.iter().position(|s| *s == name).unwrap_or(0);
        self.heap.get(self.reg(Reg::SchedSyms), i)
    }

    /// Microseconds since the VM started (the scheduler's clock).
    pub fn now_us(&self) -> i64 {
        self.started.elapsed().as_micros() as i64 + self.sched.clock_offset_us
    }

    /// May the running thread be switched out now?
    fn switchable(&self) -> bool {
        self.run_depth == 1
    }

    // ---- saving and restoring a thread's VM state -------------------------------

    /// Move the running thread's stacks and registers into its object.
    fn save_current(&mut self) -> VmResult<()> {
        let n = self.stack.len();
        let sv = self.alloc(obj::VECTOR, n)?;
        for i in 0..n {
            let x = self.stack[i];
            self.heap.set(sv, i, x);
        }
        self.stack.push(sv);
        let nframes = self.frames.len();
        let fr = self.alloc(obj::BYTEVECTOR, 1 + nframes);
        let sv = self.stack.pop().unwrap_or(Value::FALSE);
        let fr = fr?;
        self.heap.set_raw(fr, 0, (nframes * 8) as u64);
        for (i, f) in self.frames.iter().enumerate() {
            self.heap
                .set_raw(fr, 1 + i, (f.fp as u64) | ((f.pc as u64) << 32));
        }
        let t = self.reg(Reg::Thread);
        self.heap.set(t, field::STACK, sv);
        self.heap.set(t, field::FRAMES, fr);
        self.heap.set(t, field::FP, Value::fix(self.fp as i64));
        self.heap.set(t, field::PC, Value::fix(self.pc as i64));
        let (w, h, p) = (
            self.reg(Reg::Winders),
            self.reg(Reg::Handlers),
            self.reg(Reg::Params),
        );
        self.heap.set(t, field::WINDERS, w);
        self.heap.set(t, field::HANDLERS, h);
        self.heap.set(t, field::PARAMS, p);
        self.stack.clear();
        self.frames.clear();
        Ok(())
    }

    /// Make `t` the running thread: load its state into the VM, push its
    /// resume value, and start any pending interrupts.
    fn restore(&mut self, t: Value) -> VmResult<()> {
        self.sched.switches += 1;
        self.set_reg(Reg::Thread, t);
        self.refuel();
        self.set_reg(Reg::Winders, self.tfield(t, field::WINDERS));
        self.set_reg(Reg::Handlers, self.tfield(t, field::HANDLERS));
        self.set_reg(Reg::Params, self.tfield(t, field::PARAMS));
        if self.tflags(t) & flag::KEPT != 0 {
            self.check_kept_thread(t)?;
            self.set_tflag(t, flag::KEPT, false);
        }
        if self.tflags(t) & flag::FRESH != 0 {
            // First run: call the thunk over an end-of-thread frame.
            self.set_tflag(t, flag::FRESH, false);
            self.stack.clear();
            self.frames.clear();
            self.stack.push(self.tfield(t, field::THUNK));
            self.fp = 0;
            self.pc = THREAD_END_PC as usize;
            return self.enter_from_scheduler(0);
        }
        let sv = self.tfield(t, field::STACK);
        let fr = self.tfield(t, field::FRAMES);
        self.stack.clear();
        for i in 0..self.heap.len(sv) {
            self.stack.push(self.heap.get(sv, i));
        }
        self.frames.clear();
        let nframes = self.heap.raw(fr, 0) as usize / 8;
        for i in 0..nframes {
            let w = self.heap.raw(fr, 1 + i);
            self.frames.push(Frame {
                fp: w as u32,
                pc: (w >> 32) as u32,
            });
        }
        self.fp = self.tfield(t, field::FP).as_fixnum_unchecked() as usize;
        self.pc = self.tfield(t, field::PC).as_fixnum_unchecked() as usize;
        self.heap.set(t, field::STACK, Value::FALSE);
        self.heap.set(t, field::FRAMES, Value::FALSE);
        let resume = self.tfield(t, field::RESUME);
        if resume != Value::UNDEFINED {
            self.stack.push(resume);
            self.heap.set(t, field::RESUME, Value::UNDEFINED);
        }
        let recall = self.tfield(t, field::RECALL).as_fixnum();
        if !self.tfield(t, field::INTERRUPTS).is_nil() {
            // Run the interrupts first; their value is dropped on return,
            // and a blocked call is made again after them (`REDO_PC`).
            let run = self.global_value(self.sym("%run-interrupts"));
            self.stack.push(run);
            if recall.is_some() {
                self.pc = REDO_PC as usize;
            } else {
                self.pc |= DISCARD_BIT as usize;
            }
            return self.enter_from_scheduler(0);
        }
        if recall.is_some() {
            return self.redo_blocked_call();
        }
        Ok(())
    }

    /// Make again the running thread's blocked primitive call (its
    /// procedure and arguments are at the stack top).
    pub(crate) fn redo_blocked_call(&mut self) -> VmResult<()> {
        let t = self.reg(Reg::Thread);
        let Some(r) = self.tfield(t, field::RECALL).as_fixnum() else {
            return Err(self.error("internal: no blocked call to make again", &[]));
        };
        self.heap.set(t, field::RECALL, Value::FALSE);
        self.pc = (r >> 32) as usize;
        let argc = ((r & 0xffff_ffff) / 2) as usize;
        self.redo_call(argc, r % 2 == 1)
    }

    // ---- scheduling ------------------------------------------------------------------

    /// Make thread `t` ready to run.
    pub(crate) fn make_runnable(&mut self, t: Value) -> VmResult<()> {
        self.heap.set(t, field::STATE, Value::fix(state::RUNNABLE));
        let q = self.reg(Reg::RunQueue);
        self.queue_push(q, t)
    }

    /// Wake `t` with `v` as the value of its `%park` (or leave a permit if
    /// it has not parked yet). Returns whether `t` was waiting.
    pub fn unpark(&mut self, t: Value, v: Value) -> VmResult<()> {
        self.heap.set(t, field::WAITING_ON, Value::FALSE);
        match self.tstate(t) {
            state::PARKED => {
                self.heap.set(t, field::RESUME, v);
                self.heap.set(t, field::DEADLINE, Value::FALSE);
                self.make_runnable(t)
            }
            state::RUNNABLE => {
                self.heap.set(t, field::PERMIT, v);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    // ---- threads kept in an image (`save-application #:threads 'keep`) --------------

    /// The scheduler's state for an image that keeps its threads, built in
    /// the process about to save: `#(caller threads run-queue timers stale
    /// sources now)`. `caller` is the thread saving (the image's initial
    /// thread); `timers` is the timer heap as it is; `stale` lists the
    /// threads blocked on the OS (a descriptor, a child process, a
    /// helper's job, a host future), whose calls are made again in the
    /// image and find their handles stale; `sources` lists `(id . text)`
    /// for the programs `load` is reading (the image must not need their
    /// files); `now` is the scheduler's clock, which the image's goes on
    /// from, so every deadline (the timers', and those Scheme code holds
    /// in its variables) keeps the time it had left.
    pub(crate) fn kept_threads_root(&mut self) -> VmResult<Value> {
        let kept = self.make_vector(KEPT_FIELDS, Value::FALSE)?;
        self.stack.push(kept);
        let at = self.stack.len() - 1;
        let r = self.fill_kept_threads(at);
        let kept = self.stack.pop().unwrap_or(Value::FALSE);
        r.map(|()| kept)
    }

    /// Fill the vector at stack slot `at` (`kept_threads_root`).
    fn fill_kept_threads(&mut self, at: usize) -> VmResult<()> {
        let set = |vm: &mut Vm, i: usize, v: Value| {
            let k = vm.stack[at];
            vm.heap.set(k, i, v);
        };
        set(self, 0, self.reg(Reg::Thread));
        set(self, 1, self.reg(Reg::Threads));
        set(self, 2, self.reg(Reg::RunQueue));
        set(self, 3, self.reg(Reg::Timers));
        set(self, 4, Value::NIL);
        set(self, 6, Value::fix(self.now_us()));
        // Each new cell goes in the vector at once, so it stays rooted.
        // Every thread is marked for its check when it is first resumed in
        // the image (this is the save's process: the mark is the image's).
        let mut l = self.reg(Reg::Threads);
        while self.is_pair(l) {
            let t = self.heap.get(l, 0);
            if t != self.reg(Reg::Thread) {
                self.set_tflag(t, flag::KEPT, true);
            }
            let waits = self.tfield(t, field::WAITING_ON);
            if self.tstate(t) == state::PARKED
                && self.tfield(t, field::RECALL).is_fixnum()
                && self.is(waits, obj::VECTOR)
            {
                self.stack.push(l);
                let stale = self.heap.get(self.stack[at], 4);
                let cell = self.cons(t, stale);
                l = self.stack.pop().unwrap_or(Value::NIL);
                set(self, 4, cell?);
            }
            l = self.heap.get(l, 1);
        }
        let mut sources: Vec<(i64, std::rc::Rc<str>)> =
            self.sources.iter().map(|(k, v)| (*k, v.clone())).collect();
        sources.sort_by_key(|(k, _)| *k);
        set(self, 5, Value::NIL);
        for (id, text) in sources {
            let bv = self.bytevector(text.as_bytes())?;
            let e = self.cons(Value::fix(id), bv)?;
            let rest = self.heap.get(self.stack[at], 5);
            let cell = self.cons(e, rest)?;
            set(self, 5, cell);
        }
        Ok(())
    }

    /// Take the threads an image kept (`kept_threads_root`'s vector) as
    /// this scheduler's: the saving thread becomes the initial, running
    /// one; the clock goes on from the save's; threads blocked on the old
    /// process's handles run again, to find them stale.
    pub(crate) fn adopt_kept_threads(&mut self, kept: Value) -> VmResult<()> {
        // This VM has just started: its clock is made to read the save's.
        let saved_now = self.heap.get(kept, 6).as_fixnum().unwrap_or(0);
        self.sched.clock_offset_us = saved_now - self.now_us();
        let caller = self.heap.get(kept, 0);
        self.heap
            .set(caller, field::STATE, Value::fix(state::RUNNABLE));
        for f in [field::WAITING_ON, field::DEADLINE, field::RECALL] {
            self.heap.set(caller, f, Value::FALSE);
        }
        self.set_reg(Reg::Thread, caller);
        self.set_reg(Reg::Initial, caller);
        self.set_reg(Reg::Threads, self.heap.get(kept, 1));
        self.set_reg(Reg::RunQueue, self.heap.get(kept, 2));
        self.set_reg(Reg::Timers, self.heap.get(kept, 3));
        self.stack.push(kept);
        let at = self.stack.len() - 1;
        let mut l = self.heap.get(kept, 4);
        while self.is_pair(l) {
            let t = self.heap.get(l, 0);
            // Its blocked call is made again, and finds the handle of the
            // old process stale (an error raised in the thread).
            self.stack.push(l);
            let r = self.unpark(t, Value::UNDEFINED);
            l = self.stack.pop().unwrap_or(Value::NIL);
            if let Err(e) = r {
                self.stack.truncate(at);
                return Err(e);
            }
            l = self.heap.get(l, 1);
        }
        let kept = self.stack.pop().unwrap_or(Value::FALSE);
        let mut l = self.heap.get(kept, 5);
        while self.is_pair(l) {
            let e = self.heap.get(l, 0);
            if let Some(id) = self.heap.get(e, 0).as_fixnum()
                && let Ok(text) = String::from_utf8(self.bytevector_bytes(self.heap.get(e, 1)))
            {
                self.sources.insert(id, text.into());
                self.next_source_id = self.next_source_id.max(id + 1);
            }
            l = self.heap.get(l, 1);
        }
        self.image.threads_kept = true;
        Ok(())
    }

    /// Is a started thread other than the initial one alive?
    pub(crate) fn other_threads_alive(&self) -> bool {
        let init = self.reg(Reg::Initial);
        let mut l = self.reg(Reg::Threads);
        while self.is_pair(l) {
            let t = self.heap.get(l, 0);
            if t != init && self.tstate(t) != state::TERMINATED {
                return true;
            }
            l = self.heap.get(l, 1);
        }
        false
    }

    /// Wake the threads whose deadlines have passed.
    pub(crate) fn fire_timers(&mut self, now: i64) -> VmResult<()> {
        while let Some((deadline, t)) = self.timer_peek() {
            if deadline > now {
                break;
            }
            self.timer_pop();
            if self.tstate(t) == state::PARKED
                && self.tfield(t, field::DEADLINE) == Value::fix(deadline)
            {
                if self.tfield(t, field::RECALL).is_fixnum() {
                    // A blocked call with a deadline: made again, it sees
                    // the deadline passed (its wait entry is now stale).
                    self.unpark(t, Value::UNDEFINED)?;
                    continue;
                }
                let q = self.tfield(t, field::WAITING_ON);
                if q.is_ref() {
                    self.queue_remove(q, t);
                }
                let timeout = self.sym("timeout");
                self.unpark(t, timeout)?;
                if t == self.reg(Reg::TerminateWaiter) {
                    // The terminate phase's deadline bounds it: the waiter
                    // runs next, not after a quantum of every thread.
                    let q = self.reg(Reg::RunQueue);
                    self.queue_remove(q, t);
                    self.queue_push_front(q, t)?;
                }
            }
        }
        Ok(())
    }

    /// Switch to the next runnable thread. The running thread must already
    /// be saved (and queued, parked or finished). Sleeps when every thread
    /// waits for a deadline.
    fn switch_next(&mut self) -> VmResult<()> {
        loop {
            if self
                .limits
                .interrupt
                .load(std::sync::atomic::Ordering::Relaxed)
                && self.interrupt_waiting_initial()?
            {
                continue;
            }
            let now = self.now_us();
            self.fire_timers(now)?;
            let q = self.reg(Reg::RunQueue);
            while let Some(t) = self.queue_pop(q) {
                if self.tstate(t) == state::RUNNABLE {
                    return self.restore(t);
                }
            }
            let next = self.timer_peek_live().map(|(d, _)| d);
            if next.is_none() && !self.wait_can_end_from_outside() {
                // Every thread waits, and only threads of this process
                // could end the waits. A pipe may be ready already (a
                // thread wrote to it before it ended): look once.
                if self.sched.waits.any() {
                    self.poll_io(0)?;
                    if !self.queue_is_empty(self.reg(Reg::RunQueue)) {
                        continue;
                    }
                }
                if self.raise_deadlock_in_initial()? {
                    continue;
                }
                return Err(self.error("scheduler: no thread can run", &[]));
            }
            if self.io_waiting() || self.os.catching_sigint {
                let us = next.map_or(-1, |d| (d - now).max(0));
                self.poll_io(us)?;
                self.deliver_sigint()?;
                continue;
            }
            if let Some(deadline) = next {
                // Sleep in `poll` on the wake pipe, so the host's interrupt
                // (which writes to it) ends the sleep.
                self.poll_io((deadline - now).max(0))?;
                continue;
            }
            // Reached only when a SIGINT is awaited: poll again.
        }
    }

    /// The host interrupted while every thread waits (`Runtime`'s call is
    /// asleep in the scheduler): make the initial thread, parked, run
    /// `%limit-interrupt`, which unwinds it and ends the call. False if
    /// the initial thread is not parked (its next safepoint sees the
    /// interrupt).
    fn interrupt_waiting_initial(&mut self) -> VmResult<bool> {
        let init = self.reg(Reg::Initial);
        if self.tstate(init) != state::PARKED || self.limits.unwinding.is_some() {
            return Ok(false);
        }
        let thunk = self.global_value(self.sym("%limit-interrupt"));
        if !self.is_procedure(thunk)
            || !self
                .limits
                .interrupt
                .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(false);
        }
        self.limits.unwinding = Some(crate::vm::LimitTrip::Interrupt);
        self.limits.budget = self.limits.budget.map(|_| crate::vm::UNWIND_CALLS);
        self.queue_interrupt(init, thunk)?;
        Ok(true)
    }

    /// Can something outside this process's threads end a wait: a helper
    /// with work in flight, standard input, or a descriptor some other
    /// process may make ready?
    fn wait_can_end_from_outside(&self) -> bool {
        self.os.busy() || self.external_wait_exists()
    }

    /// Every thread waits and nothing will wake one: make the initial
    /// thread's wait raise a deadlock error. A thread parked in a wait
    /// loop gets `%deadlock` as its wake-up value (`%park*` raises); one
    /// blocked in a primitive (an I/O wait) gets an interrupt that raises.
    /// `false` if the initial thread is not waiting.
    fn raise_deadlock_in_initial(&mut self) -> VmResult<bool> {
        let init = self.reg(Reg::Initial);
        if self.tstate(init) != state::PARKED {
            return Ok(false);
        }
        if self.tfield(init, field::RECALL).is_fixnum() {
            let thunk = self.global_value(self.sym("%raise-deadlock"));
            if !self.is_procedure(thunk) {
                return Ok(false);
            }
            self.queue_interrupt(init, thunk)?;
            return Ok(true);
        }
        let q = self.tfield(init, field::WAITING_ON);
        if q.is_ref() {
            self.queue_remove(q, init);
        }
        let dl = self.sym("%deadlock");
        self.unpark(init, dl)?;
        Ok(true)
    }

    /// A call instruction ran out of fuel: let the scheduler run (timers,
    /// other threads). The running thread's state is synced into `self`.
    pub fn safepoint(&mut self) -> VmResult<()> {
        self.refuel();
        if self
            .limits
            .interrupt
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            // The image checker found damage: stop at once, running no
            // more Scheme code (no after-thunks either).
            if let Some(e) = self.image_damage_found() {
                return Err(e);
            }
            return self.trip_limit(crate::vm::LimitTrip::Interrupt);
        }
        if self.limits.budget == Some(0) {
            return self.trip_limit(crate::vm::LimitTrip::Budget);
        }
        if !self.switchable() {
            return Ok(());
        }
        if self.deliver_sigint()? {
            // The running thread was interrupted: switch out and back in,
            // which runs its interrupts.
            self.save_current()?;
            let t = self.reg(Reg::Thread);
            self.make_runnable(t)?;
            return self.switch_next();
        }
        let now_has_timers = self.timer_peek().is_some();
        if now_has_timers {
            let now = self.now_us();
            self.fire_timers(now)?;
        }
        if self.io_waiting() {
            self.poll_io(0)?;
        }
        let q = self.reg(Reg::RunQueue);
        if self.queue_is_empty(q) {
            return Ok(());
        }
        let t = self.reg(Reg::Thread);
        self.heap.set(t, field::RESUME, Value::UNDEFINED);
        self.save_current()?;
        let t = self.reg(Reg::Thread);
        self.make_runnable(t)?;
        self.switch_next()
    }

    /// A limit the host set has tripped: the host's call ends, and no
    /// Scheme handler can stop that. The running thread first unwinds
    /// (`%limit-unwind` runs its `dynamic-wind` after-thunks, with
    /// `UNWIND_CALLS` calls to do it in), then `%limit-abort` ends the
    /// call. A limit that trips again while it unwinds, or inside a nested
    /// call from native code (where the thread cannot be made to call
    /// anything), ends the call at once.
    fn trip_limit(&mut self, why: crate::vm::LimitTrip) -> VmResult<()> {
        use crate::vm::{Abort, Exn, LimitTrip};
        let message = match why {
            LimitTrip::Budget => "fuel exhausted (call budget used up)",
            LimitTrip::Interrupt => "interrupted by the host",
        };
        if self.limits.unwinding.is_some() || !self.switchable() {
            if self.limits.unwinding.is_none() {
                self.limits.unwinding = Some(why);
            }
            return Err(Exn::Abort(Abort::Limit(message.into())));
        }
        let unwind = self.global_value(self.sym("%limit-unwind"));
        if !self.is_procedure(unwind) {
            self.limits.unwinding = Some(why);
            return Err(Exn::Abort(Abort::Limit(message.into())));
        }
        self.limits.unwinding = Some(why);
        // The after-thunks' allowance (the budget, if any, is used up).
        self.limits.budget = self.limits.budget.map(|_| crate::vm::UNWIND_CALLS);
        self.refuel();
        let msg = self.string(message)?;
        let unwind = self.global_value(self.sym("%limit-unwind"));
        self.stack.push(unwind);
        self.stack.push(msg);
        self.enter_from_scheduler(1)
    }

    /// Enter the procedure at `stack[len - argc - 1]` from scheduler code
    /// (thread start, interrupts). `self.pc` is the return point.
    fn enter_from_scheduler(&mut self, argc: usize) -> VmResult<()> {
        match self.do_call_for_scheduler(argc)? {
            Some(v) => {
                // A primitive ran at once: deliver its value as a return would.
                self.return_to_frame(v)
            }
            None => Ok(()),
        }
    }

    /// End the running thread (not the initial one) and load the initial
    /// thread's stacks, for an abort that unwinds to the Rust caller.
    pub fn return_to_initial(&mut self) -> VmResult<()> {
        let t = self.reg(Reg::Thread);
        self.set_tflag(t, flag::TERMINATED, true);
        self.stack.clear();
        self.frames.clear();
        self.end_thread(t)?;
        let init = self.reg(Reg::Initial);
        let q = self.reg(Reg::RunQueue);
        self.queue_remove(q, init);
        let w = self.tfield(init, field::WAITING_ON);
        if w.is_ref() {
            self.queue_remove(w, init);
            self.heap.set(init, field::WAITING_ON, Value::FALSE);
        }
        self.heap
            .set(init, field::STATE, Value::fix(state::RUNNABLE));
        self.heap.set(init, field::DEADLINE, Value::FALSE);
        self.heap.set(init, field::RESUME, Value::UNDEFINED);
        self.heap.set(init, field::INTERRUPTS, Value::NIL);
        // Only its stacks are wanted (the abort unwinds them): a call it
        // was blocked in is not made again.
        self.heap.set(init, field::RECALL, Value::FALSE);
        self.restore(init)
    }

    /// The running thread returned to its end-of-thread frame with `v`.
    pub fn thread_finished(&mut self, v: Value) -> VmResult<()> {
        let t = self.reg(Reg::Thread);
        let flags = self.tflags(t);
        if flags & (flag::FAILED | flag::TERMINATED) == 0 {
            self.heap.set(t, field::RESULT, v);
        }
        self.stack.clear();
        self.frames.clear();
        self.end_thread(t)?;
        self.switch_next()
    }

    /// Mark `t` finished: abandon its mutexes and wake its joiners.
    pub(crate) fn end_thread(&mut self, t: Value) -> VmResult<()> {
        self.heap
            .set(t, field::STATE, Value::fix(state::TERMINATED));
        self.heap.set(t, field::STACK, Value::FALSE);
        self.heap.set(t, field::FRAMES, Value::FALSE);
        self.heap.set(t, field::INTERRUPTS, Value::NIL);
        let q = self.tfield(t, field::WAITING_ON);
        if q.is_ref() {
            self.queue_remove(q, t);
            self.heap.set(t, field::WAITING_ON, Value::FALSE);
        }
        let base = self.stack.len();
        self.stack.push(t);
        loop {
            let t = self.stack[base];
            let owned = self.tfield(t, field::OWNED);
            if owned.is_nil() {
                break;
            }
            let m = self.heap.get(owned, 0);
            self.heap.set(t, field::OWNED, self.heap.get(owned, 1));
            self.heap.set(m, mutex::ABANDONED, Value::TRUE);
            self.mutex_release(m)?;
        }
        let t = self.stack[base];
        let joiners = self.tfield(t, field::JOINERS);
        self.wake_all(joiners, Value::TRUE)?;
        let t = self.stack[base];
        if self.tflags(t) & flag::UNWIND_COUNTED != 0 {
            self.set_tflag(t, flag::UNWIND_COUNTED, false);
            self.sched.threads_unwinding = self.sched.threads_unwinding.saturating_sub(1);
            let w = self.reg(Reg::TerminateWaiter);
            if self.sched.threads_unwinding == 0 && self.is(w, THREAD) {
                self.unpark(w, Value::TRUE)?;
            }
        }
        self.stack.truncate(base);
        Ok(())
    }

    // ---- waiter queues ----------------------------------------------------------------

    /// Register the running thread as a waiter on queue `q`.
    pub(crate) fn enqueue_waiter(&mut self, q: Value) -> VmResult<()> {
        let t = self.reg(Reg::Thread);
        self.heap.set(t, field::WAITING_ON, q);
        self.queue_push(q, t)
    }

    /// Wake the first thread still waiting on `q`; `true` if there was one.
    pub(crate) fn wake_one(&mut self, q: Value, v: Value) -> VmResult<bool> {
        while let Some(t) = self.queue_pop(q) {
            if self.tfield(t, field::WAITING_ON) == q {
                self.unpark(t, v)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Wake every thread waiting on `q`.
    pub(crate) fn wake_all(&mut self, q: Value, v: Value) -> VmResult<()> {
        self.stack.push(q);
        self.stack.push(v);
        let n = self.stack.len();
        while self.wake_one(self.stack[n - 2], self.stack[n - 1])? {}
        self.stack.truncate(n - 2);
        Ok(())
    }

    // ---- mutexes -------------------------------------------------------------------------

    /// Unlock `m` and wake one waiter. Ownership bookkeeping is the caller's.
    pub(crate) fn mutex_release(&mut self, m: Value) -> VmResult<()> {
        self.heap.set(m, mutex::LOCKED, Value::FALSE);
        self.heap.set(m, mutex::OWNER, Value::FALSE);
        let q = self.heap.get(m, mutex::WAITERS);
        self.wake_one(q, Value::TRUE)?;
        Ok(())
    }

    // ---- control primitives ------------------------------------------------------------

    /// `(%yield)` and `(%park deadline)`: the call at `f_idx` with `argc`
    /// arguments. `Some(v)`: the call completed with `v`; `None`: another
    /// thread now runs (this one resumes later with its value pushed).
    pub fn thread_control(
        &mut self,
        c: Control,
        f_idx: usize,
        tail: bool,
    ) -> VmResult<Option<Value>> {
        if c == Control::EndThread {
            // Never returns: the thread ends here (its winders already ran).
            if self.reg(Reg::Thread) == self.reg(Reg::Initial) {
                return Err(self.error("%end-thread: not in a green thread", &[]));
            }
            self.stack.clear();
            self.frames.clear();
            self.thread_finished(Value::UNSPECIFIED)?;
            return Ok(None);
        }
        if tail {
            return Err(self.error("internal: scheduler primitive called in tail position", &[]));
        }
        match c {
            Control::Yield => {
                self.stack.truncate(f_idx);
                let q = self.reg(Reg::RunQueue);
                if !self.switchable() || self.queue_is_empty(q) {
                    return Ok(Some(Value::UNSPECIFIED));
                }
                let t = self.reg(Reg::Thread);
                self.heap.set(t, field::RESUME, Value::UNSPECIFIED);
                self.save_current()?;
                let t = self.reg(Reg::Thread);
                self.make_runnable(t)?;
                self.switch_next()?;
                Ok(None)
            }
            Control::Park => {
                let deadline = self.stack[f_idx + 1];
                self.stack.truncate(f_idx);
                let t = self.reg(Reg::Thread);
                let permit = self.tfield(t, field::PERMIT);
                if permit != Value::UNDEFINED {
                    self.heap.set(t, field::PERMIT, Value::UNDEFINED);
                    return Ok(Some(permit));
                }
                if let Some(d) = deadline.as_fixnum()
                    && d <= self.now_us()
                {
                    let q = self.tfield(t, field::WAITING_ON);
                    if q.is_ref() {
                        self.queue_remove(q, t);
                        self.heap.set(t, field::WAITING_ON, Value::FALSE);
                    }
                    return Ok(Some(self.sym("timeout")));
                }
                if !self.switchable() {
                    return Err(self.error(
                        "cannot wait for another thread inside a nested call from native code \
                         (a define-macro transformer)",
                        &[],
                    ));
                }
                self.heap.set(t, field::STATE, Value::fix(state::PARKED));
                self.heap.set(t, field::RESUME, Value::UNSPECIFIED);
                self.heap.set(t, field::DEADLINE, deadline);
                if let Some(d) = deadline.as_fixnum() {
                    self.timer_push(d, t)?;
                }
                self.save_current()?;
                self.switch_next()?;
                Ok(None)
            }
            _ => Err(self.error("internal: not a scheduler primitive", &[])),
        }
    }
}
impl Vm {
    /// Queue `thunk` for thread `t` and wake `t` if it waits. `#f` if `t`
    /// has ended.
    pub(crate) fn queue_interrupt(&mut self, t: Value, thunk: Value) -> VmResult<Value> {
        if self.tstate(t) == state::TERMINATED {
            return Ok(Value::FALSE);
        }
        self.stack.push(t);
        let cell = self.cons(thunk, Value::NIL);
        let t = self.stack.pop().unwrap_or(Value::FALSE);
        let cell = cell?;
        let mut l = self.tfield(t, field::INTERRUPTS);
        if l.is_nil() {
            self.heap.set(t, field::INTERRUPTS, cell);
        } else {
            while !self.heap.get(l, 1).is_nil() {
                l = self.heap.get(l, 1);
            }
            self.heap.set(l, 1, cell);
        }
        if self.tstate(t) == state::PARKED {
            // Resume it now; after the interrupts it waits again: a wait
            // loop parks again, a blocked call is made again.
            if self.tfield(t, field::RECALL).is_fixnum() {
                self.heap.set(t, field::WAITING_ON, Value::FALSE);
            } else {
                let marker = self.sym("%interrupted");
                self.heap.set(t, field::RESUME, marker);
            }
            self.heap.set(t, field::DEADLINE, Value::FALSE);
            self.make_runnable(t)?;
        }
        Ok(Value::TRUE)
    }

    /// If SIGINT arrived (`Os::catch_sigint`), queue `%user-interrupt-thunk`
    /// for the thread `%sigint-target` names. True if that is the running
    /// thread, which must then let the scheduler run its interrupts.
    pub(crate) fn deliver_sigint(&mut self) -> VmResult<bool> {
        if !self
            .os
            .sigint
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(false);
        }
        let target = self.global_value(self.sym("%sigint-target"));
        let thunk = self.global_value(self.sym("%user-interrupt-thunk"));
        if !self.is(target, THREAD) || !self.is_procedure(thunk) {
            return Ok(false);
        }
        let queued = self.queue_interrupt(target, thunk)? == Value::TRUE;
        Ok(queued && target == self.reg(Reg::Thread))
    }

    /// Drop ended threads from `Reg::Threads` (amortised: called when the
    /// list has doubled since the last pruning).
    pub(crate) fn prune_thread_registry(&mut self) -> VmResult<()> {
        let base = self.stack.len();
        let mut l = self.reg(Reg::Threads);
        while !l.is_nil() {
            let t = self.heap.get(l, 0);
            if self.tstate(t) != state::TERMINATED {
                self.stack.push(t);
            }
            l = self.heap.get(l, 1);
        }
        self.sched.threads_live_at_prune = self.stack.len() - base;
        self.sched.threads_registered = self.sched.threads_live_at_prune;
        let live = self.list_from_stack(base)?;
        self.set_reg(Reg::Threads, live);
        Ok(())
    }
}
