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

use imp_gc::Value;

use crate::obj::{self, THREAD};
use crate::os::{Completion, Interest};
use crate::prim::{Control, PrimDef, PrimFn, arg, def};
use crate::vm::{DISCARD_BIT, Frame, IoWait, REDO_PC, Reg, THREAD_END_PC, Vm, VmResult};

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

    fn tfield(&self, t: Value, i: usize) -> Value {
        self.heap.get(t, i)
    }

    fn tstate(&self, t: Value) -> i64 {
        self.heap.get(t, field::STATE).as_fixnum_unchecked()
    }

    fn tflags(&self, t: Value) -> i64 {
        self.heap.get(t, field::FLAGS).as_fixnum_unchecked()
    }

    fn set_tflag(&mut self, t: Value, bit: i64, on: bool) {
        let f = self.tflags(t);
        let f = if on { f | bit } else { f & !bit };
        self.heap.set(t, field::FLAGS, Value::fix(f));
    }

    /// A new thread object in state `NEW` running `thunk`, named `name`.
    fn make_thread(&mut self, thunk: Value, name: Value) -> VmResult<Value> {
        let base = self.stack.len();
        self.stack.push(thunk);
        self.stack.push(name);
        let joiners = self.queue_new()?;
        let (thunk, name) = (self.stack[base], self.stack[base + 1]);
        self.stack.truncate(base);
        let id = self.next_thread_id;
        self.next_thread_id += 1;
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
        self.refuel();
        Ok(())
    }

    /// One of the scheduler's symbols (`SYMS`).
    fn sym(&self, name: &str) -> Value {
        let i = SYMS.iter().position(|s| *s == name).unwrap_or(0);
        self.heap.get(self.reg(Reg::SchedSyms), i)
    }

    /// Microseconds since the VM started (the scheduler's clock).
    pub fn now_us(&self) -> i64 {
        self.started.elapsed().as_micros() as i64
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
        self.switches += 1;
        self.set_reg(Reg::Thread, t);
        self.refuel();
        self.set_reg(Reg::Winders, self.tfield(t, field::WINDERS));
        self.set_reg(Reg::Handlers, self.tfield(t, field::HANDLERS));
        self.set_reg(Reg::Params, self.tfield(t, field::PARAMS));
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
    fn make_runnable(&mut self, t: Value) -> VmResult<()> {
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

    /// Wake the threads whose deadlines have passed.
    fn fire_timers(&mut self, now: i64) -> VmResult<()> {
        while let Some((deadline, t)) = self.timer_peek() {
            if deadline > now {
                break;
            }
            self.timer_pop();
            if self.tstate(t) == state::PARKED
                && self.tfield(t, field::DEADLINE) == Value::fix(deadline)
            {
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
                if !self.reg(Reg::IoWaiters).is_nil() {
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
                let ms = next.map_or(-1, |d| ((d - now).max(0) + 999) / 1000);
                self.poll_io(ms.min(i32::MAX as i64) as i32)?;
                self.deliver_sigint()?;
                continue;
            }
            if let Some(deadline) = next {
                // Sleep in `poll` on the wake pipe, so the host's interrupt
                // (which writes to it) ends the sleep.
                let ms = ((deadline - now).max(0) + 999) / 1000;
                self.poll_io(ms.min(i32::MAX as i64) as i32)?;
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
        if self.os.busy() {
            return true;
        }
        let mut l = self.reg(Reg::IoWaiters);
        while !l.is_nil() {
            let e = self.heap.get(l, 0);
            let t = self.heap.get(e, 2);
            if self.tfield(t, field::WAITING_ON) == e {
                let kind = self.heap.get(e, 0).as_fixnum_unchecked();
                let key = self.heap.get(e, 1).as_fixnum_unchecked() as i32;
                let internal = match kind {
                    0 => self.os.is_internal_wait(key, Interest::Read),
                    1 => self.os.is_internal_wait(key, Interest::Write),
                    _ => false,
                };
                if !internal {
                    return true;
                }
            }
            l = self.heap.get(l, 1);
        }
        false
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
    fn end_thread(&mut self, t: Value) -> VmResult<()> {
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
            self.threads_unwinding = self.threads_unwinding.saturating_sub(1);
            let w = self.reg(Reg::TerminateWaiter);
            if self.threads_unwinding == 0 && self.is(w, THREAD) {
                self.unpark(w, Value::TRUE)?;
            }
        }
        self.stack.truncate(base);
        Ok(())
    }

    // ---- waiter queues ----------------------------------------------------------------

    /// Register the running thread as a waiter on queue `q`.
    fn enqueue_waiter(&mut self, q: Value) -> VmResult<()> {
        let t = self.reg(Reg::Thread);
        self.heap.set(t, field::WAITING_ON, q);
        self.queue_push(q, t)
    }

    /// Wake the first thread still waiting on `q`; `true` if there was one.
    fn wake_one(&mut self, q: Value, v: Value) -> VmResult<bool> {
        while let Some(t) = self.queue_pop(q) {
            if self.tfield(t, field::WAITING_ON) == q {
                self.unpark(t, v)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Wake every thread waiting on `q`.
    fn wake_all(&mut self, q: Value, v: Value) -> VmResult<()> {
        self.stack.push(q);
        self.stack.push(v);
        let n = self.stack.len();
        while self.wake_one(self.stack[n - 2], self.stack[n - 1])? {}
        self.stack.truncate(n - 2);
        Ok(())
    }

    // ---- mutexes -------------------------------------------------------------------------

    /// Unlock `m` and wake one waiter. Ownership bookkeeping is the caller's.
    fn mutex_release(&mut self, m: Value) -> VmResult<()> {
        self.heap.set(m, mutex::LOCKED, Value::FALSE);
        self.heap.set(m, mutex::OWNER, Value::FALSE);
        let q = self.heap.get(m, mutex::WAITERS);
        self.wake_one(q, Value::TRUE)?;
        Ok(())
    }

    // ---- timers: a binary min-heap of (deadline . thread) in a vector ------------------
    // Slot 0 holds the count; entries start at slot 1.

    /// The earliest timer that can still fire, dropping stale ones (the
    /// thread was woken earlier, parked again, or ended).
    fn timer_peek_live(&mut self) -> Option<(i64, Value)> {
        while let Some((deadline, t)) = self.timer_peek() {
            if self.tstate(t) == state::PARKED
                && self.tfield(t, field::DEADLINE) == Value::fix(deadline)
            {
                return Some((deadline, t));
            }
            self.timer_pop();
        }
        None
    }

    fn timer_peek(&self) -> Option<(i64, Value)> {
        let v = self.reg(Reg::Timers);
        let n = self.heap.get(v, 0).as_fixnum_unchecked();
        if n == 0 {
            return None;
        }
        let e = self.heap.get(v, 1);
        Some((
            self.heap.get(e, 0).as_fixnum_unchecked(),
            self.heap.get(e, 1),
        ))
    }

    fn timer_key(&self, v: Value, i: usize) -> i64 {
        self.heap.get(self.heap.get(v, i), 0).as_fixnum_unchecked()
    }

    fn timer_pop(&mut self) {
        let v = self.reg(Reg::Timers);
        let n = self.heap.get(v, 0).as_fixnum_unchecked() as usize;
        if n == 0 {
            return;
        }
        let last = self.heap.get(v, n);
        self.heap.set(v, n, Value::FALSE);
        self.heap.set(v, 0, Value::fix(n as i64 - 1));
        let n = n - 1;
        if n == 0 {
            return;
        }
        // Sift `last` down from the root.
        let key = self.heap.get(last, 0).as_fixnum_unchecked();
        let mut i = 1;
        loop {
            let l = 2 * i;
            if l > n {
                break;
            }
            let c = if l < n && self.timer_key(v, l + 1) < self.timer_key(v, l) {
                l + 1
            } else {
                l
            };
            if self.timer_key(v, c) >= key {
                break;
            }
            let x = self.heap.get(v, c);
            self.heap.set(v, i, x);
            i = c;
        }
        self.heap.set(v, i, last);
    }

    fn timer_push(&mut self, deadline: i64, t: Value) -> VmResult<()> {
        let e = self.cons(Value::fix(deadline), t)?;
        self.stack.push(e);
        let mut v = self.reg(Reg::Timers);
        let n = self.heap.get(v, 0).as_fixnum_unchecked() as usize;
        if n + 1 >= self.heap.len(v) {
            let grown = self.make_vector(self.heap.len(v) * 2, Value::FALSE)?;
            let old = self.reg(Reg::Timers);
            for i in 0..=n {
                let x = self.heap.get(old, i);
                self.heap.set(grown, i, x);
            }
            self.set_reg(Reg::Timers, grown);
            v = grown;
        }
        let e = self.stack.pop().unwrap_or(Value::FALSE);
        let mut i = n + 1;
        while i > 1 && self.timer_key(v, i / 2) > deadline {
            let p = self.heap.get(v, i / 2);
            self.heap.set(v, i, p);
            i /= 2;
        }
        self.heap.set(v, i, e);
        self.heap.set(v, 0, Value::fix(n as i64 + 1));
        Ok(())
    }

    // ---- waiting for the OS ----------------------------------------------------------

    /// Does any thread wait for the OS, or a helper have work in flight?
    fn io_waiting(&self) -> bool {
        !self.reg(Reg::IoWaiters).is_nil() || self.os.busy()
    }

    /// `(kind . key)` of an I/O wait, as stored in an entry.
    fn wait_key(wait: IoWait) -> (i64, i64) {
        match wait {
            IoWait::Fd(fd, Interest::Read) => (0, fd as i64),
            IoWait::Fd(fd, Interest::Write) => (1, fd as i64),
            IoWait::Stdin => (2, 0),
            IoWait::Job(j) => (3, j as i64),
        }
    }

    /// Park the running thread until `wait` is satisfied, then redo the
    /// blocked call. `false` if threads cannot switch here.
    pub(crate) fn wait_switching(
        &mut self,
        wait: IoWait,
        argc: usize,
        tail: bool,
    ) -> VmResult<bool> {
        if !self.switchable() {
            return Ok(false);
        }
        let (kind, key) = Self::wait_key(wait);
        let t = self.reg(Reg::Thread);
        let base = self.stack.len();
        self.stack.push(Value::fix(kind));
        self.stack.push(Value::fix(key));
        self.stack.push(t);
        let entry = self.object_from_stack(obj::VECTOR, base)?;
        self.stack.push(entry);
        let list = self.cons(entry, self.reg(Reg::IoWaiters));
        let entry = self.stack.pop().unwrap_or(Value::FALSE);
        self.set_reg(Reg::IoWaiters, list?);
        let t = self.reg(Reg::Thread);
        self.heap.set(t, field::WAITING_ON, entry);
        // The return point, the argument count and the tail flag.
        let recall = ((self.pc as i64) << 32) | (argc * 2 + tail as usize) as i64;
        self.heap.set(t, field::RECALL, Value::fix(recall));
        self.heap.set(t, field::STATE, Value::fix(state::PARKED));
        self.heap.set(t, field::RESUME, Value::UNDEFINED);
        self.heap.set(t, field::DEADLINE, Value::FALSE);
        self.save_current()?;
        self.switch_next()?;
        Ok(true)
    }

    /// Wait for `wait` without letting other threads run (inside a nested
    /// native call).
    pub(crate) fn wait_in_place(&mut self, wait: IoWait) -> VmResult<()> {
        loop {
            match wait {
                IoWait::Fd(fd, interest) => {
                    if self.os.is_internal_wait(fd, interest) {
                        // No other thread can run until this call returns,
                        // and only this process holds the pipe's other end.
                        return Err(self.error(
                            "deadlock: waiting on a pipe that only this program can make ready, \
                             inside a nested call from native code where no other thread can run",
                            &[],
                        ));
                    }
                    return self
                        .os
                        .wait_fd(fd, interest)
                        .map_err(|m| self.error(m, &[]));
                }
                IoWait::Stdin if !self.os.stdin_lines.is_empty() => return Ok(()),
                IoWait::Job(j) if self.job_done(j) => return Ok(()),
                _ => {
                    let c = self.os.wait_completion().map_err(|m| self.error(m, &[]))?;
                    self.deliver(c)?;
                }
            }
        }
    }

    fn job_done(&self, job: u64) -> bool {
        let mut l = self.reg(Reg::JobResults);
        while !l.is_nil() {
            if self.heap.get(self.heap.get(l, 0), 0) == Value::fix(job as i64) {
                return true;
            }
            l = self.heap.get(l, 1);
        }
        false
    }

    /// Take the status of a finished job, if it has finished.
    pub fn take_job_result(&mut self, job: u64) -> Option<Value> {
        let mut prev = Value::NIL;
        let mut l = self.reg(Reg::JobResults);
        while !l.is_nil() {
            let e = self.heap.get(l, 0);
            if self.heap.get(e, 0) == Value::fix(job as i64) {
                let next = self.heap.get(l, 1);
                if prev.is_nil() {
                    self.set_reg(Reg::JobResults, next);
                } else {
                    self.heap.set(prev, 1, next);
                }
                return Some(self.heap.get(e, 1));
            }
            prev = l;
            l = self.heap.get(l, 1);
        }
        None
    }

    /// Take in what a helper sent, waking the threads waiting for it.
    fn deliver(&mut self, c: Completion) -> VmResult<()> {
        match c {
            Completion::StdinLine(r) => {
                self.os.stdin_lines.push_back(r);
                self.wake_io(|k| k == Self::wait_key(IoWait::Stdin))
            }
            Completion::Process {
                job,
                status,
                report,
            } => {
                let v = match status {
                    Ok(code) if report.is_empty() => Value::fix(code),
                    Ok(_) => self.number_alist(&report)?,
                    Err(msg) => self.string(&msg)?,
                };
                let e = self.cons(Value::fix(job as i64), v)?;
                let l = self.cons(e, self.reg(Reg::JobResults))?;
                self.set_reg(Reg::JobResults, l);
                self.wake_io(|k| k == Self::wait_key(IoWait::Job(job)))
            }
        }
    }

    /// Wake the threads of the I/O entries whose `(kind, key)` satisfy
    /// `pred`, and drop stale entries.
    fn wake_io(&mut self, pred: impl Fn((i64, i64)) -> bool) -> VmResult<()> {
        let base = self.stack.len();
        let mut l = self.reg(Reg::IoWaiters);
        let mut to_wake = Vec::new();
        while !l.is_nil() {
            let e = self.heap.get(l, 0);
            let t = self.heap.get(e, 2);
            if self.tfield(t, field::WAITING_ON) == e {
                let k = (
                    self.heap.get(e, 0).as_fixnum_unchecked(),
                    self.heap.get(e, 1).as_fixnum_unchecked(),
                );
                if pred(k) {
                    to_wake.push(self.stack.len());
                    self.stack.push(t);
                } else {
                    self.stack.push(e);
                }
            }
            l = self.heap.get(l, 1);
        }
        // Keep the entries still waiting; wake the others.
        let keep_from = self.stack.len();
        for i in (base..self.stack.len()).rev() {
            if !to_wake.contains(&i) {
                self.stack.push(self.stack[i]);
            }
        }
        let kept = self.list_from_stack(keep_from)?;
        self.set_reg(Reg::IoWaiters, kept);
        for &i in &to_wake {
            // The blocked call is made again: no value to deliver.
            let t = self.stack[i];
            self.unpark(t, Value::UNDEFINED)?;
        }
        self.stack.truncate(base);
        Ok(())
    }

    /// Poll the OS for at most `timeout_ms` (-1: until something happens)
    /// and wake whoever it concerns.
    fn poll_io(&mut self, timeout_ms: i32) -> VmResult<()> {
        if timeout_ms != 0 {
            // About to wait: what the program wrote is shown first.
            let _ = self.out.flush();
        }
        let mut waits = Vec::new();
        let mut l = self.reg(Reg::IoWaiters);
        while !l.is_nil() {
            let e = self.heap.get(l, 0);
            let t = self.heap.get(e, 2);
            if self.tfield(t, field::WAITING_ON) == e {
                let kind = self.heap.get(e, 0).as_fixnum_unchecked();
                let fd = self.heap.get(e, 1).as_fixnum_unchecked() as i32;
                match kind {
                    0 => waits.push((fd, Interest::Read)),
                    1 => waits.push((fd, Interest::Write)),
                    _ => {}
                }
            }
            l = self.heap.get(l, 1);
        }
        let (done, ready) = self
            .os
            .poll(&waits, timeout_ms)
            .map_err(|m| self.error(m, &[]))?;
        for c in done {
            self.deliver(c)?;
        }
        let ready: Vec<(i64, i64)> = waits
            .iter()
            .zip(&ready)
            .filter(|&(_, &r)| r)
            .map(|(&(fd, i), _)| Self::wait_key(IoWait::Fd(fd, i)))
            .collect();
        if !ready.is_empty() || !self.reg(Reg::IoWaiters).is_nil() {
            self.wake_io(|k| ready.contains(&k))?;
        }
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

// ---- primitives -----------------------------------------------------------------------

const fn ctl(name: &'static str, min: u16, max: u16, c: Control) -> PrimDef {
    PrimDef {
        name,
        min,
        max,
        f: PrimFn::Control(c),
    }
}

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    ctl("%yield", 0, 0, Control::Yield),
    ctl("%park", 1, 1, Control::Park),
    ctl("%end-thread", 0, 0, Control::EndThread),
    def("current-thread", 0, 0, current_thread),
    def("%initial-thread", 0, 0, initial_thread),
    def("thread?", 1, 1, thread_p),
    def("%make-thread", 2, 2, make_thread),
    def("thread-name", 1, 1, thread_name),
    def("thread-specific", 1, 1, thread_specific),
    def("thread-specific-set!", 2, 2, thread_specific_set),
    def("%thread-start!", 1, 1, thread_start),
    def("%thread-state", 1, 1, thread_state),
    def("%thread-waiting-for", 1, 1, thread_waiting_for),
    def("%thread-end-kind", 1, 1, thread_end_kind),
    def("%thread-result", 1, 1, thread_result),
    def("%thread-joiners", 1, 1, thread_joiners),
    def("%thread-fail!", 1, 1, thread_fail),
    def("%thread-begin-terminate!", 1, 1, thread_begin_terminate),
    def("%thread-kill!", 1, 1, thread_kill),
    def("%terminate-others!", 0, 0, terminate_others),
    def("%unwinding-count", 0, 0, unwinding_count),
    def("%kill-others!", 0, 0, kill_others),
    def("%thread-interrupt!", 2, 2, thread_interrupt),
    def("%take-interrupts!", 0, 0, take_interrupts),
    def("%thread-list", 0, 0, thread_list),
    def("%others-runnable?", 0, 0, others_runnable),
    def("%unpark!", 2, 2, unpark_prim),
    def("%enqueue-waiter!", 1, 1, enqueue_waiter),
    def("%cancel-wait!", 0, 0, cancel_wait),
    def("%now-us", 0, 0, now_us),
    def("%params", 0, 0, params),
    def("%set-params!", 1, 1, set_params),
    def("%make-mutex", 1, 1, make_mutex),
    def("mutex?", 1, 1, mutex_p),
    def("mutex-name", 1, 1, mutex_name),
    def("mutex-specific", 1, 1, mutex_specific),
    def("mutex-specific-set!", 2, 2, mutex_specific_set),
    def("%mutex-state", 1, 1, mutex_state),
    def("%mutex-acquire!", 2, 2, mutex_acquire),
    def("%mutex-release!", 1, 1, mutex_release_prim),
    def("%make-condition-variable", 1, 1, make_condvar),
    def("condition-variable?", 1, 1, condvar_p),
    def("condition-variable-name", 1, 1, condvar_name),
    def("condition-variable-specific", 1, 1, condvar_specific),
    def(
        "condition-variable-specific-set!",
        2,
        2,
        condvar_specific_set,
    ),
    def("condition-variable-signal!", 1, 1, condvar_signal),
    def("condition-variable-broadcast!", 1, 1, condvar_broadcast),
    def("%condvar-waiters", 1, 1, condvar_waiters),
    def("%make-channel", 1, 1, make_channel),
    def("channel?", 1, 1, channel_p),
    def("%channel-send!", 2, 2, channel_send),
    def("%channel-sent-taken?", 2, 2, channel_sent_taken),
    def("%channel-try-receive!", 1, 1, channel_try_receive),
    def("channel-close!", 1, 1, channel_close),
    def("channel-closed?", 1, 1, channel_closed),
    def("%channel-senders", 1, 1, channel_senders),
    def("%channel-receivers", 1, 1, channel_receivers),
    def("%process-start", 2, 2, process_start),
    def("%process-wait", 1, 1, process_wait),
    def("%helper-diagnostics", 0, 0, helper_diagnostics),
];

fn thread_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, i, THREAD, "a thread")
}

fn current_thread(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(vm.reg(Reg::Thread))
}

fn initial_thread(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(vm.reg(Reg::Initial))
}

fn thread_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), THREAD)))
}

fn make_thread(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let thunk = arg(vm, base, 0);
    if !vm.is_procedure(thunk) {
        return Err(vm.type_error("make-thread", "a procedure", thunk));
    }
    vm.make_thread(thunk, arg(vm, base, 1))
}

fn thread_name(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-name", base, 0)?;
    Ok(vm.tfield(t, field::NAME))
}

fn thread_specific(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-specific", base, 0)?;
    Ok(vm.tfield(t, field::SPECIFIC))
}

fn thread_specific_set(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-specific-set!", base, 0)?;
    vm.heap.set(t, field::SPECIFIC, arg(vm, base, 1));
    Ok(Value::UNSPECIFIED)
}

fn thread_start(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-start!", base, 0)?;
    if vm.tstate(t) != state::NEW {
        return Err(vm.error("thread-start!: thread already started", &[t]));
    }
    vm.set_tflag(t, flag::FRESH, true);
    vm.make_runnable(t)?;
    let t = arg(vm, base, 0);
    let all = vm.cons(t, vm.reg(Reg::Threads))?;
    vm.set_reg(Reg::Threads, all);
    vm.threads_registered += 1;
    if vm.threads_registered > 2 * vm.threads_live_at_prune + 64 {
        vm.prune_thread_registry()?;
    }
    Ok(arg(vm, base, 0))
}

fn thread_state(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-state", base, 0)?;
    let name = match vm.tstate(t) {
        state::NEW => "new",
        state::RUNNABLE => "runnable",
        state::PARKED => "blocked",
        _ => "terminated",
    };
    Ok(vm.sym(name))
}

/// `(%thread-waiting-for t)`: what a blocked thread waits for, in words,
/// or `#f` if it does not wait.
fn thread_waiting_for(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "%thread-waiting-for", base, 0)?;
    if vm.tstate(t) != state::PARKED {
        return Ok(Value::FALSE);
    }
    let w = vm.tfield(t, field::WAITING_ON);
    let deadline = vm.tfield(t, field::DEADLINE).as_fixnum();
    let mut what =
        if w.is_ref() && vm.is(w, obj::VECTOR) && vm.heap.len(w) == 3 && vm.heap.get(w, 2) == t {
            match (vm.heap.get(w, 0).as_fixnum(), vm.heap.get(w, 1).as_fixnum()) {
                (Some(0), Some(fd)) => format!("input on descriptor {fd}"),
                (Some(1), Some(fd)) => format!("room to write on descriptor {fd}"),
                (Some(2), _) => "a line of standard input".to_string(),
                (Some(3), _) => "a process or save to end".to_string(),
                _ => "input or output".to_string(),
            }
        } else if vm.is_pair(w) {
            "a mutex, condition variable, channel or thread".to_string()
        } else if deadline.is_some() {
            "time to pass".to_string()
        } else {
            "something (parked)".to_string()
        };
    if let (Some(d), true) = (deadline, vm.is_pair(w) || w.is_ref()) {
        let left = (d - vm.now_us()).max(0) as f64 / 1e6;
        what.push_str(&format!(" (at most {left:.1} s more)"));
    } else if let Some(d) = deadline {
        let left = (d - vm.now_us()).max(0) as f64 / 1e6;
        what = format!("{left:.1} s to pass");
    }
    vm.string(&what)
}

fn thread_end_kind(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-join!", base, 0)?;
    let f = vm.tflags(t);
    let name = if f & flag::FAILED != 0 {
        "failed"
    } else if f & flag::TERMINATED != 0 {
        "terminated"
    } else {
        "normal"
    };
    Ok(vm.sym(name))
}

fn thread_result(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-join!", base, 0)?;
    Ok(vm.tfield(t, field::RESULT))
}

fn thread_joiners(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-join!", base, 0)?;
    Ok(vm.tfield(t, field::JOINERS))
}

/// `(%thread-fail! condition)`: the running thread ends by an uncaught raise.
fn thread_fail(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = vm.reg(Reg::Thread);
    if vm.tflags(t) & flag::TERMINATED == 0 {
        vm.heap.set(t, field::RESULT, arg(vm, base, 0));
        vm.set_tflag(t, flag::FAILED, true);
    }
    Ok(Value::UNSPECIFIED)
}

/// `(%thread-begin-terminate! t)`: mark a terminate request. Returns
/// `done` if `t` ended here and now (it never ran), `again` if a request
/// is already being carried out, else `unwind` (the caller must make `t`
/// unwind).
fn thread_begin_terminate(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-terminate!", base, 0)?;
    let st = vm.tstate(t);
    let f = vm.tflags(t);
    let answer = if st == state::TERMINATED {
        "done"
    } else if f & flag::TERMINATING != 0 {
        "again"
    } else {
        vm.set_tflag(t, flag::TERMINATING | flag::TERMINATED, true);
        vm.heap.set(t, field::RESULT, Value::UNSPECIFIED);
        if st == state::NEW || f & flag::FRESH != 0 {
            vm.end_thread(t)?;
            "done"
        } else {
            "unwind"
        }
    };
    Ok(vm.sym(answer))
}

/// `(%thread-kill! t)`: end `t` at once without running any of its code.
fn thread_kill(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "%thread-kill!", base, 0)?;
    if t == vm.reg(Reg::Thread) {
        return Err(vm.error("%thread-kill!: cannot kill the running thread", &[t]));
    }
    if vm.tstate(t) != state::TERMINATED {
        vm.set_tflag(t, flag::TERMINATED, true);
        vm.heap.set(t, field::RESULT, Value::UNSPECIFIED);
        vm.end_thread(t)?;
    }
    Ok(Value::UNSPECIFIED)
}

/// `(%terminate-others!)`: the start of a save child's terminate phase.
/// Every live thread but the running one and the initial one is ended
/// now if it has nothing to unwind (no `dynamic-wind` after-thunk, no
/// pending interrupt), else asked to unwind; those are counted in
/// `Vm::threads_unwinding`, and the running thread becomes the one their
/// ends wake (`Reg::TerminateWaiter`). One pass over the threads, with no
/// safepoint in it: no thread runs ordinary code once the phase begins.
fn terminate_others(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let base = push_live_threads(vm)?;
    vm.terminate_phase.0 = Some((std::time::Instant::now(), vm.switches));
    let me = vm.reg(Reg::Thread);
    vm.set_reg(Reg::TerminateWaiter, me);
    vm.threads_unwinding = 0;
    let terminate = vm.global_value(vm.sym("%terminate-current!"));
    for i in base..vm.stack.len() {
        let t = vm.stack[i];
        if t == me || t == vm.reg(Reg::Initial) || vm.tstate(t) == state::TERMINATED {
            continue;
        }
        let f = vm.tflags(t);
        if f & flag::TERMINATING != 0 {
            // Already unwinding: wait for it like the others.
            vm.set_tflag(t, flag::UNWIND_COUNTED, true);
            vm.threads_unwinding += 1;
            continue;
        }
        vm.set_tflag(t, flag::TERMINATING | flag::TERMINATED, true);
        vm.heap.set(t, field::RESULT, Value::UNSPECIFIED);
        let nothing_to_unwind = vm.tstate(t) == state::NEW
            || f & flag::FRESH != 0
            || (vm.tfield(t, field::WINDERS).is_nil() && vm.tfield(t, field::INTERRUPTS).is_nil());
        if nothing_to_unwind || !vm.is_procedure(terminate) {
            vm.end_thread(t)?;
        } else {
            vm.set_tflag(t, flag::UNWIND_COUNTED, true);
            vm.threads_unwinding += 1;
            let terminate = vm.global_value(vm.sym("%terminate-current!"));
            let t = vm.stack[i];
            vm.queue_interrupt(t, terminate)?;
        }
    }
    vm.stack.truncate(base);
    Ok(Value::fix(vm.threads_unwinding as i64))
}

/// Prunes the thread registry and pushes every thread in it (all live
/// now) onto the stack, where the collector sees them while the caller
/// works;
/// returns the stack height below them, for the caller to truncate to.
fn push_live_threads(vm: &mut Vm) -> VmResult<usize> {
    vm.prune_thread_registry()?;
    let base = vm.stack.len();
    let mut l = vm.reg(Reg::Threads);
    while !l.is_nil() {
        vm.stack.push(vm.heap.get(l, 0));
        l = vm.heap.get(l, 1);
    }
    Ok(base)
}

/// `(%unwinding-count)`: threads asked to unwind by `%terminate-others!`
/// that have not ended yet.
fn unwinding_count(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(vm.threads_unwinding as i64))
}

/// `(%kill-others!)`: the end of the terminate phase. Every thread but the
/// running one still alive ends at once, without running any of its code
/// (its mutexes become abandoned).
fn kill_others(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let base = push_live_threads(vm)?;
    let me = vm.reg(Reg::Thread);
    for i in base..vm.stack.len() {
        let t = vm.stack[i];
        if t != me && vm.tstate(t) != state::TERMINATED {
            vm.set_tflag(t, flag::TERMINATED, true);
            vm.heap.set(t, field::RESULT, Value::UNSPECIFIED);
            vm.end_thread(t)?;
        }
    }
    vm.stack.truncate(base);
    vm.set_reg(Reg::TerminateWaiter, Value::FALSE);
    vm.threads_unwinding = 0;
    if let Some((t0, switches)) = vm.terminate_phase.0.take() {
        let us = i64::try_from(t0.elapsed().as_micros()).unwrap_or(i64::MAX);
        vm.terminate_phase.1 = us;
        vm.terminate_phase.2 = (vm.switches - switches) as i64;
    }
    Ok(Value::UNSPECIFIED)
}

/// `(%thread-interrupt! t thunk)`: queue `thunk` for `t` (another thread)
/// and wake it if it waits. Returns `#f` if `t` has ended.
fn thread_interrupt(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-interrupt!", base, 0)?;
    vm.queue_interrupt(t, arg(vm, base, 1))
}

impl Vm {
    /// Queue `thunk` for thread `t` and wake `t` if it waits. `#f` if `t`
    /// has ended.
    fn queue_interrupt(&mut self, t: Value, thunk: Value) -> VmResult<Value> {
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
    fn deliver_sigint(&mut self) -> VmResult<bool> {
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
}

/// `(%take-interrupts!)`: the running thread's pending interrupt thunks,
/// removed from it.
fn take_interrupts(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let t = vm.reg(Reg::Thread);
    let l = vm.tfield(t, field::INTERRUPTS);
    vm.heap.set(t, field::INTERRUPTS, Value::NIL);
    Ok(l)
}

impl Vm {
    /// Drop ended threads from `Reg::Threads` (amortised: called when the
    /// list has doubled since the last pruning).
    fn prune_thread_registry(&mut self) -> VmResult<()> {
        let base = self.stack.len();
        let mut l = self.reg(Reg::Threads);
        while !l.is_nil() {
            let t = self.heap.get(l, 0);
            if self.tstate(t) != state::TERMINATED {
                self.stack.push(t);
            }
            l = self.heap.get(l, 1);
        }
        self.threads_live_at_prune = self.stack.len() - base;
        self.threads_registered = self.threads_live_at_prune;
        let live = self.list_from_stack(base)?;
        self.set_reg(Reg::Threads, live);
        Ok(())
    }
}

/// `(%others-runnable?)`: is another thread ready to run now?
fn others_runnable(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let q = vm.reg(Reg::RunQueue);
    Ok(Value::bool(!vm.queue_is_empty(q)))
}

fn thread_list(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    // `Reg::Threads` lists every started thread (and the initial one);
    // the caller gets a fresh list, not the registry itself.
    let base = push_live_threads(vm)?;
    vm.list_from_stack(base)
}

fn unpark_prim(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "%unpark!", base, 0)?;
    vm.unpark(t, arg(vm, base, 1))?;
    Ok(Value::UNSPECIFIED)
}

fn enqueue_waiter(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let q = arg(vm, base, 0);
    vm.enqueue_waiter(q)?;
    Ok(Value::UNSPECIFIED)
}

fn cancel_wait(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let t = vm.reg(Reg::Thread);
    let q = vm.tfield(t, field::WAITING_ON);
    if q.is_ref() {
        vm.queue_remove(q, t);
    }
    vm.heap.set(t, field::WAITING_ON, Value::FALSE);
    vm.heap.set(t, field::PERMIT, Value::UNDEFINED);
    Ok(Value::UNSPECIFIED)
}

fn now_us(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(vm.now_us()))
}

fn params(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(vm.reg(Reg::Params))
}

fn set_params(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    vm.set_reg(Reg::Params, arg(vm, base, 0));
    Ok(Value::UNSPECIFIED)
}

// ---- mutexes ---------------------------------------------------------------------------

fn mutex_arg(vm: &mut Vm, who: &str, base: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, 0, obj::MUTEX, "a mutex")
}

fn make_mutex(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let q = vm.queue_new()?;
    let at = vm.stack.len();
    vm.stack.extend_from_slice(&[
        arg(vm, base, 0),
        Value::FALSE,
        Value::FALSE,
        Value::FALSE,
        Value::FALSE,
        q,
    ]);
    vm.object_from_stack(obj::MUTEX, at)
}

fn mutex_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), obj::MUTEX)))
}

fn mutex_name(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-name", base)?;
    Ok(vm.heap.get(m, mutex::NAME))
}

fn mutex_specific(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-specific", base)?;
    Ok(vm.heap.get(m, mutex::SPECIFIC))
}

fn mutex_specific_set(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-specific-set!", base)?;
    vm.heap.set(m, mutex::SPECIFIC, arg(vm, base, 1));
    Ok(Value::UNSPECIFIED)
}

/// SRFI-18 `mutex-state`: the owner, `not-owned`, `abandoned` or
/// `not-abandoned`.
fn mutex_state(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-state", base)?;
    if vm.heap.get(m, mutex::LOCKED).is_true() {
        let owner = vm.heap.get(m, mutex::OWNER);
        if vm.is(owner, THREAD) {
            return Ok(owner);
        }
        return Ok(vm.sym("not-owned"));
    }
    if vm.heap.get(m, mutex::ABANDONED).is_true() {
        Ok(vm.sym("abandoned"))
    } else {
        Ok(vm.sym("not-abandoned"))
    }
}

/// `(%mutex-acquire! m owner)`: lock `m` for `owner` (a thread or `#f`)
/// if it is unlocked: `#t`, or `abandoned` if it was. Otherwise register
/// the running thread as a waiter and return `#f`.
fn mutex_acquire(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-lock!", base)?;
    let owner = arg(vm, base, 1);
    if !(owner.is_false() || vm.is(owner, THREAD)) {
        return Err(vm.type_error("mutex-lock!", "a thread or #f", owner));
    }
    if vm.heap.get(m, mutex::LOCKED).is_true() {
        let q = vm.heap.get(m, mutex::WAITERS);
        vm.enqueue_waiter(q)?;
        return Ok(Value::FALSE);
    }
    let was_abandoned = vm.heap.get(m, mutex::ABANDONED).is_true();
    if vm.is(owner, THREAD) && vm.tstate(owner) != state::TERMINATED {
        let owned = vm.tfield(owner, field::OWNED);
        let cell = vm.cons(m, owned)?;
        let (m, owner) = (arg(vm, base, 0), arg(vm, base, 1));
        vm.heap.set(owner, field::OWNED, cell);
        vm.heap.set(m, mutex::OWNER, owner);
    } else if vm.is(owner, THREAD) {
        // Locking on behalf of a thread that has ended: abandoned at once.
        vm.heap.set(m, mutex::ABANDONED, Value::TRUE);
        return Ok(vm.sym("abandoned"));
    }
    let m = arg(vm, base, 0);
    vm.heap.set(m, mutex::LOCKED, Value::TRUE);
    vm.heap.set(m, mutex::ABANDONED, Value::FALSE);
    if was_abandoned {
        Ok(vm.sym("abandoned"))
    } else {
        Ok(Value::TRUE)
    }
}

/// `(%mutex-release! m)`: unlock, forget the owner, wake one waiter.
fn mutex_release_prim(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-unlock!", base)?;
    let owner = vm.heap.get(m, mutex::OWNER);
    if vm.is(owner, THREAD) {
        // Drop m from the owner's list.
        let mut prev = Value::NIL;
        let mut l = vm.tfield(owner, field::OWNED);
        while !l.is_nil() {
            let next = vm.heap.get(l, 1);
            if vm.heap.get(l, 0) == m {
                if prev.is_nil() {
                    vm.heap.set(owner, field::OWNED, next);
                } else {
                    vm.heap.set(prev, 1, next);
                }
                break;
            }
            prev = l;
            l = next;
        }
    }
    vm.mutex_release(m)?;
    Ok(Value::UNSPECIFIED)
}

// ---- condition variables ---------------------------------------------------------------

fn condvar_arg(vm: &mut Vm, who: &str, base: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, 0, obj::CONDVAR, "a condition variable")
}

fn make_condvar(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let q = vm.queue_new()?;
    let at = vm.stack.len();
    vm.stack
        .extend_from_slice(&[arg(vm, base, 0), Value::FALSE, q]);
    vm.object_from_stack(obj::CONDVAR, at)
}

fn condvar_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), obj::CONDVAR)))
}

fn condvar_name(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "condition-variable-name", base)?;
    Ok(vm.heap.get(c, condvar::NAME))
}

fn condvar_specific(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "condition-variable-specific", base)?;
    Ok(vm.heap.get(c, condvar::SPECIFIC))
}

fn condvar_specific_set(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "condition-variable-specific-set!", base)?;
    vm.heap.set(c, condvar::SPECIFIC, arg(vm, base, 1));
    Ok(Value::UNSPECIFIED)
}

fn condvar_signal(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "condition-variable-signal!", base)?;
    let q = vm.heap.get(c, condvar::WAITERS);
    vm.wake_one(q, Value::TRUE)?;
    Ok(Value::UNSPECIFIED)
}

fn condvar_broadcast(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "condition-variable-broadcast!", base)?;
    let q = vm.heap.get(c, condvar::WAITERS);
    vm.wake_all(q, Value::TRUE)?;
    Ok(Value::UNSPECIFIED)
}

fn condvar_waiters(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "mutex-unlock!", base)?;
    Ok(vm.heap.get(c, condvar::WAITERS))
}

// ---- channels --------------------------------------------------------------------------

fn channel_arg(vm: &mut Vm, who: &str, base: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, 0, obj::CHANNEL, "a channel")
}

fn make_channel(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let cap = arg(vm, base, 0);
    if cap.as_fixnum().is_none_or(|c| c < 0) {
        return Err(vm.type_error("make-channel", "a non-negative capacity", cap));
    }
    let at = vm.stack.len();
    vm.stack.push(Value::FALSE);
    vm.stack.push(cap);
    vm.stack.push(Value::fix(0));
    vm.stack.push(Value::fix(0));
    vm.stack.push(Value::FALSE);
    for i in [channel::BUFFER, channel::RECEIVERS, channel::SENDERS] {
        let q = vm.queue_new()?;
        if i == channel::BUFFER {
            vm.stack[at] = q;
        } else {
            vm.stack.push(q);
        }
    }
    vm.object_from_stack(obj::CHANNEL, at)
}

fn channel_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), obj::CHANNEL)))
}

/// `(%channel-send! ch v)`: buffer `v`, wake a receiver, return the
/// value's sequence number (the sender waits until it is taken, or is
/// within the capacity). Raises if the channel is closed.
fn channel_send(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-send!", base)?;
    if vm.heap.get(ch, channel::CLOSED).is_true() {
        return Err(vm.error("channel-send!: channel is closed", &[ch]));
    }
    let buf = vm.heap.get(ch, channel::BUFFER);
    vm.queue_push(buf, arg(vm, base, 1))?;
    let ch = arg(vm, base, 0);
    let seq = vm.heap.get(ch, channel::SENT).as_fixnum_unchecked();
    vm.heap.set(ch, channel::SENT, Value::fix(seq + 1));
    let rq = vm.heap.get(ch, channel::RECEIVERS);
    vm.wake_one(rq, Value::TRUE)?;
    Ok(Value::fix(seq))
}

/// `(%channel-sent-taken? ch seq)`: may the sender of value `seq` go on?
/// If not, it is registered as a waiting sender.
fn channel_sent_taken(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-send!", base)?;
    let seq = arg(vm, base, 1).as_fixnum().unwrap_or(0);
    let taken = vm.heap.get(ch, channel::TAKEN).as_fixnum_unchecked();
    let cap = vm.heap.get(ch, channel::CAPACITY).as_fixnum_unchecked();
    if seq - taken < cap || seq < taken || vm.heap.get(ch, channel::CLOSED).is_true() {
        return Ok(Value::TRUE);
    }
    let q = vm.heap.get(ch, channel::SENDERS);
    vm.enqueue_waiter(q)?;
    Ok(Value::FALSE)
}

/// `(%channel-try-receive! ch)`: `(v)` if a value was waiting, the eof
/// object if the channel is closed and empty, else `#f` with the running
/// thread registered as a waiting receiver.
fn channel_try_receive(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-receive", base)?;
    let buf = vm.heap.get(ch, channel::BUFFER);
    if let Some(v) = vm.queue_pop(buf) {
        let ch = arg(vm, base, 0);
        let taken = vm.heap.get(ch, channel::TAKEN).as_fixnum_unchecked();
        vm.heap.set(ch, channel::TAKEN, Value::fix(taken + 1));
        vm.stack.push(v);
        let sq = vm.heap.get(ch, channel::SENDERS);
        // Senders re-check their own sequence number, so wake them all.
        vm.wake_all(sq, Value::TRUE)?;
        let v = vm.stack.pop().unwrap_or(Value::FALSE);
        return vm.cons(v, Value::NIL);
    }
    if vm.heap.get(ch, channel::CLOSED).is_true() {
        return Ok(Value::EOF);
    }
    let q = vm.heap.get(ch, channel::RECEIVERS);
    vm.enqueue_waiter(q)?;
    Ok(Value::FALSE)
}

fn channel_close(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-close!", base)?;
    vm.heap.set(ch, channel::CLOSED, Value::TRUE);
    let rq = vm.heap.get(ch, channel::RECEIVERS);
    vm.wake_all(rq, Value::TRUE)?;
    let ch = arg(vm, base, 0);
    let sq = vm.heap.get(ch, channel::SENDERS);
    vm.wake_all(sq, Value::TRUE)?;
    Ok(Value::UNSPECIFIED)
}

fn channel_closed(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-closed?", base)?;
    Ok(vm.heap.get(ch, channel::CLOSED))
}

fn channel_senders(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-send!", base)?;
    Ok(vm.heap.get(ch, channel::SENDERS))
}

fn channel_receivers(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-receive", base)?;
    Ok(vm.heap.get(ch, channel::RECEIVERS))
}

// ---- processes ---------------------------------------------------------------------------

/// `(%process-start cmd args)`: run a program (stdio inherited) on a helper
/// that waits for it; returns the job number.
fn process_start(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    if vm.os.fenced {
        return Err(vm.error("process-run: not allowed while saving an image", &[]));
    }
    vm.require("process-run", crate::vm::Grant::Processes)?;
    vm.before_effect()?;
    let cmd = vm.typed_arg("process-run", base, 0, obj::STRING, "a program name string")?;
    let cmd = vm.string_text(cmd);
    let list = arg(vm, base, 1);
    let Some(items) = vm.list_to_vec(list) else {
        return Err(vm.type_error("process-run", "a list of argument strings", list));
    };
    let mut args = Vec::with_capacity(items.len());
    for a in items {
        if !vm.is(a, obj::STRING) {
            return Err(vm.type_error("process-run", "a string argument", a));
        }
        args.push(vm.string_text(a));
    }
    let _ = vm.out.flush();
    let job = vm.os.start_process(cmd, args);
    Ok(Value::fix(job as i64))
}

/// `(%process-wait job)`: the job's exit status, waiting for it to end.
fn process_wait(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let j = arg(vm, base, 0);
    let Some(job) = j.as_fixnum().filter(|&j| j >= 0) else {
        return Err(vm.type_error("process-run", "a job number", j));
    };
    match vm.take_job_result(job as u64) {
        Some(v) if v.is_fixnum() => Ok(v),
        Some(msg) => {
            let text = vm.string_text(msg);
            Err(vm.error_kind("file-error", format!("process-run: {text}"), &[]))
        }
        None => Err(crate::vm::Exn::Block {
            wait: IoWait::Job(job as u64),
            argc: 0,
            tail: false,
        }),
    }
}

/// `(%helper-diagnostics)`: messages helper threads left, as strings.
fn helper_diagnostics(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let base = vm.stack.len();
    for m in vm.os.take_diagnostics() {
        let s = vm.string(&m)?;
        vm.stack.push(s);
    }
    vm.list_from_stack(base)
}
