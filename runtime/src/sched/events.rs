//! Threads waiting for the OS: a descriptor becoming ready, a line of
//! standard input, a helper's job; and the event loop that wakes them.
//!
//! A primitive that must wait raises `Exn::Block`; the thread parks on a
//! *wait entry* `#(kind key thread)` (its `WAITING_ON`), and the call is
//! made again when the entry is woken. Entries live in a slab, the heap
//! vector `Reg::IoWaiters`, whose slots `SchedState::waits` finds by
//! `(kind, key)`: waking the waiters of a ready descriptor costs O(its
//! waiters), never O(every waiting thread), so 10,000 idle connections
//! cost nothing on a wake-up. An entry is stale once its thread stopped
//! waiting on it (woken, interrupted, timed out, ended): stale entries are
//! skipped and their slots freed when their key is next woken or closed.
//!
//! **Invariant (waits):** every slot of `Reg::IoWaiters` that holds an
//! entry is listed under that entry's `(kind, key)` in
//! `SchedState::waits`, or is in `free`; both are rebuilt empty with the
//! slab (`init_waits`) whenever the scheduler starts.

use imp_gc::Value;

use super::{field, state};
use crate::obj;
use crate::os::{Completion, Interest};
use crate::vm::{IoWait, Reg, Vm, VmResult};

/// `(kind, key)` of an I/O wait, as stored in an entry: 0 read, 1 write,
/// 2 standard input, 3 a job.
pub(crate) fn wait_key(wait: IoWait) -> (i64, i64) {
    match wait {
        IoWait::Fd(fd, Interest::Read) => (0, fd as i64),
        IoWait::Fd(fd, Interest::Write) => (1, fd as i64),
        IoWait::Stdin => (2, 0),
        IoWait::Job(j) => (3, j as i64),
        IoWait::Future(f) => (4, f as i64),
    }
}

/// The Rust side of the wait slab (`SchedState::waits`).
#[derive(Default)]
pub struct Waits {
    /// Slots of `Reg::IoWaiters` by `(kind, key)`.
    by_key: crate::native::WordMap<(i64, i64), Vec<u32>>,
    /// Free slots.
    free: Vec<u32>,
    /// Slots in use or free so far (the next new slot).
    used: u32,
    /// The deadline the next `Exn::Block` carries (µs on `now_us`'s clock),
    /// set by `Vm::block_until`.
    pub(crate) next_deadline: Option<i64>,
    /// When the event loop last asked the kernel (µs).
    pub(crate) last_poll: i64,
}

impl Waits {
    /// Any wait registered (possibly stale)?
    pub(crate) fn any(&self) -> bool {
        !self.by_key.is_empty()
    }
}

/// Slots the wait slab starts with.
const WAIT_SLOTS: usize = 64;

impl Vm {
    // ---- waiting for the OS ----------------------------------------------------------

    /// An empty wait slab (the scheduler starting).
    pub(crate) fn init_waits(&mut self) -> VmResult<()> {
        let v = self.make_vector(WAIT_SLOTS, Value::FALSE)?;
        self.set_reg(Reg::IoWaiters, v);
        self.sched.waits = Waits::default();
        Ok(())
    }

    /// Does any thread wait for the OS, or a helper have work in flight?
    pub(crate) fn io_waiting(&self) -> bool {
        self.sched.waits.any() || self.os.busy()
    }

    /// `Exn::Block` for `wait` that ends by `deadline` (µs, `now_us`'s
    /// clock) at the latest: the call is made again then, and must itself
    /// see that the deadline has passed.
    pub(crate) fn block_until(&mut self, wait: IoWait, deadline: Option<i64>) -> crate::vm::Exn {
        self.sched.waits.next_deadline = deadline;
        crate::vm::Exn::Block {
            wait,
            argc: 0,
            tail: false,
        }
    }

    /// Put `entry` in a free slot of the slab under `k`.
    fn add_wait(&mut self, k: (i64, i64), entry: Value) -> VmResult<()> {
        let slot = match self.sched.waits.free.pop() {
            Some(s) => s,
            None => {
                let v = self.reg(Reg::IoWaiters);
                let n = self.heap.len(v);
                if self.sched.waits.used as usize == n {
                    self.stack.push(entry);
                    let grown = self.make_vector(n * 2, Value::FALSE);
                    let entry_again = self.stack.pop().unwrap_or(Value::FALSE);
                    let grown = grown?;
                    let old = self.reg(Reg::IoWaiters);
                    for i in 0..n {
                        let x = self.heap.get(old, i);
                        self.heap.set(grown, i, x);
                    }
                    self.set_reg(Reg::IoWaiters, grown);
                    return self.add_wait(k, entry_again);
                }
                self.sched.waits.used += 1;
                self.sched.waits.used - 1
            }
        };
        let v = self.reg(Reg::IoWaiters);
        self.heap.set(v, slot as usize, entry);
        self.sched.waits.by_key.entry(k).or_default().push(slot);
        Ok(())
    }

    /// Park the running thread until `wait` is satisfied (or the deadline
    /// `block_until` gave passes), then redo the blocked call. `false` if
    /// threads cannot switch here.
    pub(crate) fn wait_switching(
        &mut self,
        wait: IoWait,
        argc: usize,
        tail: bool,
    ) -> VmResult<bool> {
        if !self.switchable() {
            return Ok(false);
        }
        let deadline = self.sched.waits.next_deadline.take();
        let (kind, key) = wait_key(wait);
        let t = self.reg(Reg::Thread);
        let base = self.stack.len();
        self.stack.push(Value::fix(kind));
        self.stack.push(Value::fix(key));
        self.stack.push(t);
        let entry = self.object_from_stack(obj::VECTOR, base)?;
        self.stack.push(entry);
        let added = self.add_wait((kind, key), entry);
        let entry = self.stack.pop().unwrap_or(Value::FALSE);
        added?;
        let t = self.reg(Reg::Thread);
        self.heap.set(t, field::WAITING_ON, entry);
        // The return point, the argument count and the tail flag.
        let recall = ((self.pc as i64) << 32) | (argc * 2 + tail as usize) as i64;
        self.heap.set(t, field::RECALL, Value::fix(recall));
        self.heap.set(t, field::STATE, Value::fix(state::PARKED));
        self.heap.set(t, field::RESUME, Value::UNDEFINED);
        self.heap.set(t, field::DEADLINE, Value::FALSE);
        if let Some(d) = deadline {
            self.heap.set(t, field::DEADLINE, Value::fix(d));
            self.timer_push(d, t)?;
        }
        self.save_current()?;
        if let IoWait::Fd(fd, interest) = wait
            && self.os.is_ready(fd, interest)
        {
            // Ready since the call looked (or never waits): it runs again
            // after the threads already queued.
            let t = self.reg(Reg::Thread);
            self.unpark(t, Value::UNDEFINED)?;
        }
        self.switch_next()?;
        Ok(true)
    }

    /// Wait for `wait` without letting other threads run (inside a nested
    /// native call).
    pub(crate) fn wait_in_place(&mut self, wait: IoWait) -> VmResult<()> {
        // The deadline `block_until` gave: the call made again when it
        // passes sees that it has.
        let deadline = self.sched.waits.next_deadline.take();
        let left_ms = |vm: &Vm| -> Option<i32> {
            deadline.map(|d| ((d - vm.now_us()).max(0) / 1000 + 1).min(i32::MAX as i64) as i32)
        };
        loop {
            if deadline.is_some_and(|d| self.now_us() >= d) {
                return Ok(());
            }
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
                    let ms = left_ms(self);
                    return self
                        .os
                        .wait_fd(fd, interest, ms)
                        .map_err(|m| self.error(m, &[]));
                }
                IoWait::Stdin if !self.os.stdin_lines.is_empty() => return Ok(()),
                IoWait::Job(j) if self.job_done(j) => return Ok(()),
                IoWait::Future(f) => {
                    // Its waker writes to the wake pipe: poll the OS (which
                    // polls the woken futures) until it is done.
                    self.poll_futures()?;
                    if self.future_done(f) {
                        return Ok(());
                    }
                    let us = deadline.map_or(-1, |d| (d - self.now_us()).max(0));
                    self.poll_io(us)?;
                }
                _ => {
                    let ms = left_ms(self);
                    match self
                        .os
                        .wait_completion(ms)
                        .map_err(|m| self.error(m, &[]))?
                    {
                        Some(c) => self.deliver(c)?,
                        None => return Ok(()),
                    }
                }
            }
        }
    }

    fn job_done(&self, job: u64) -> bool {
        if self.os.resolved_ready(job) {
            return true;
        }
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
            Completion::Resolved { job, result } => {
                self.os.put_resolved(job, result);
                self.wake_key(wait_key(IoWait::Job(job)))
            }
            Completion::StdinLine(r) => {
                self.os.stdin_lines.push_back(r);
                self.wake_key(wait_key(IoWait::Stdin))
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
                self.wake_key(wait_key(IoWait::Job(job)))
            }
        }
    }

    /// Wake the threads waiting on `k` and free its slots (stale entries
    /// included).
    pub(crate) fn wake_key(&mut self, k: (i64, i64)) -> VmResult<()> {
        let Some(slots) = self.sched.waits.by_key.remove(&k) else {
            return Ok(());
        };
        let v = self.reg(Reg::IoWaiters);
        for &slot in &slots {
            let e = self.heap.get(v, slot as usize);
            self.heap.set(v, slot as usize, Value::FALSE);
            if !e.is_ref() {
                continue;
            }
            let t = self.heap.get(e, 2);
            if self.tfield(t, field::WAITING_ON) == e {
                // The blocked call is made again: no value to deliver.
                // (`unpark` allocates nothing; the slab is not reread.)
                self.unpark(t, Value::UNDEFINED)?;
            }
        }
        self.sched.waits.free.extend(slots);
        Ok(())
    }

    /// Close port key `key` and wake its waiters, who see it closed.
    pub(crate) fn close_fd(&mut self, key: i32) -> VmResult<()> {
        self.os.close(key);
        self.wake_key(wait_key(IoWait::Fd(key, Interest::Read)))?;
        self.wake_key(wait_key(IoWait::Fd(key, Interest::Write)))
    }

    /// Does a live wait entry exist that something outside this process's
    /// threads can end (a descriptor another process may make ready,
    /// standard input, a job)?
    pub(crate) fn external_wait_exists(&self) -> bool {
        let v = self.reg(Reg::IoWaiters);
        for (&(kind, key), slots) in &self.sched.waits.by_key {
            let internal = match kind {
                0 => self.os.is_internal_wait(key as i32, Interest::Read),
                1 => self.os.is_internal_wait(key as i32, Interest::Write),
                _ => false,
            };
            if internal {
                continue;
            }
            for &slot in slots {
                let e = self.heap.get(v, slot as usize);
                if e.is_ref() && self.tfield(self.heap.get(e, 2), field::WAITING_ON) == e {
                    return true;
                }
            }
        }
        false
    }

    /// Poll the OS for at most `timeout_ms` (-1: until something happens)
    /// and wake whoever it concerns.
    pub(crate) fn poll_io(&mut self, timeout_us: i64) -> VmResult<()> {
        if timeout_us != 0 {
            // About to wait: what the program wrote is shown first.
            let _ = self.out.flush();
        }
        let (done, ready) = self.os.poll(timeout_us).map_err(|m| self.error(m, &[]))?;
        self.sched.waits.last_poll = self.now_us();
        for c in done {
            self.deliver(c)?;
        }
        self.poll_futures()?;
        for (key, interest) in ready {
            self.wake_key(wait_key(IoWait::Fd(key, interest)))?;
        }
        Ok(())
    }
}
