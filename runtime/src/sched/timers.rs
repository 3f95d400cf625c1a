//! The scheduler's timers: a binary min-heap of `(deadline . thread)`
//! pairs in a heap vector (`Reg::Timers`), so a wake-up costs O(log n) in
//! the sleeping threads and a thread woken early leaves a stale entry that
//! is dropped when it reaches the top.

use imp_gc::Value;

use super::{field, state};
use crate::vm::{Reg, Vm, VmResult};

impl Vm {
    // ---- timers: a binary min-heap of (deadline . thread) in a vector ------------------
    // Slot 0 holds the count; entries start at slot 1.

    /// The earliest timer that can still fire, dropping stale ones (the
    /// thread was woken earlier, parked again, or ended).
    pub(crate) fn timer_peek_live(&mut self) -> Option<(i64, Value)> {
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

    pub(crate) fn timer_peek(&self) -> Option<(i64, Value)> {
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

    pub(crate) fn timer_pop(&mut self) {
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

    pub(crate) fn timer_push(&mut self, deadline: i64, t: Value) -> VmResult<()> {
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
}
