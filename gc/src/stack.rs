//! The VM's value stack: a fixed reservation of virtual memory whose slots
//! the interpreter reads and writes without a bounds check.
//!
//! **Invariant:** the reservation is [`STACK_SLOTS`] words, a power of two,
//! so any index masked with `STACK_SLOTS - 1` lies inside it. [`Stack::at`]
//! and [`Stack::set`] mask the index instead of comparing it with the length
//! held in memory: one `and` with a constant, no branch. An index past the
//! top (a VM bug) reads a stale value or writes a dead slot, never memory
//! outside the mapping; debug builds assert it is below the top.
//!
//! Pages are mapped on first touch (`MAP_NORESERVE`), so a shallow stack
//! costs only the pages it has used. Everything below the top reads back
//! what was written; the collector sees the live part through `Deref`.
//!
//! Frame entries keep the top below [`STACK_LIMIT`], so the values a frame
//! pushes and the primitives it calls have [`STACK_HEADROOM`] slots; a push
//! past the whole reservation ends the process like a failed allocation.

use std::ops::{Deref, DerefMut};

use crate::space::Region;
use crate::value::Value;
use crate::HeapError;

/// Slots reserved for a value stack: 2 GiB of address space.
pub const STACK_SLOTS: usize = 1 << 28;

/// Slots kept free above [`STACK_LIMIT`].
pub const STACK_HEADROOM: usize = 1 << 20;

/// The height below which a frame may be entered. While a stack overflow
/// is handled the VM allows up to half the headroom more.
pub const STACK_LIMIT: usize = STACK_SLOTS - STACK_HEADROOM;

/// A stack of values in its own reservation.
pub struct Stack {
    region: Region,
    len: usize,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack").field("len", &self.len).finish()
    }
}

impl Stack {
    /// Reserve an empty stack.
    ///
    /// # Errors
    /// [`HeapError::Reserve`] if the address space cannot be reserved.
    pub fn new() -> Result<Stack, HeapError> {
        let region = Region::reserve((STACK_SLOTS * 8) as u64)?;
        Ok(Stack { region, len: 0 })
    }

    /// Number of values on the stack.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Is the stack empty?
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value in slot `i` (below the top).
    #[inline(always)]
    pub fn at(&self, i: usize) -> Value {
        debug_assert!(
            i < self.len,
            "stack slot {i} read above the top {}",
            self.len
        );
        self.word(i)
    }

    /// Store `v` in slot `i` (below the top).
    #[inline(always)]
    pub fn set(&mut self, i: usize, v: Value) {
        debug_assert!(
            i < self.len,
            "stack slot {i} written above the top {}",
            self.len
        );
        self.put(i, v);
    }

    /// Push `v`.
    #[inline(always)]
    pub fn push(&mut self, v: Value) {
        let n = self.len;
        // `len` never passes the reservation, so `Deref` stays inside it.
        if n >= STACK_SLOTS {
            overflow();
        }
        // SAFETY: `n` is below STACK_SLOTS (checked above), so the word
        // lies inside the mapping; `&mut self` makes this the only access.
        unsafe { *self.region.base_ptr().add(n) = v.bits() }
        self.len = n + 1;
    }

    /// Remove and return the top value.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<Value> {
        self.len = self.len.checked_sub(1)?;
        Some(self.word(self.len))
    }

    /// The word in slot `i` of the reservation, masked (see the module
    /// invariant).
    #[inline(always)]
    fn word(&self, i: usize) -> Value {
        // SAFETY: the masked index is below STACK_SLOTS, the mapping's
        // length in words; the mapping lives as long as `self`, every word
        // of it is initialized (zero until written), any bits are a `Value`.
        Value::from_bits(unsafe { *self.region.base_ptr().add(i & (STACK_SLOTS - 1)) })
    }

    /// Store `v` in slot `i` of the reservation, masked as in `word`.
    #[inline(always)]
    fn put(&mut self, i: usize, v: Value) {
        // SAFETY: as in `word`; `&mut self` makes this the only access.
        unsafe { *self.region.base_ptr().add(i & (STACK_SLOTS - 1)) = v.bits() }
    }

    /// Drop the values above the first `n`.
    #[inline(always)]
    pub fn truncate(&mut self, n: usize) {
        if n < self.len {
            self.len = n;
        }
    }

    /// Remove every value.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Grow or shrink to `n` values, new slots holding `v`.
    pub fn resize(&mut self, n: usize, v: Value) {
        while self.len < n {
            self.push(v);
        }
        self.truncate(n);
    }

    /// Insert `v` at slot `i`, moving the values above it up one.
    ///
    /// # Panics
    /// If `i` is above the top.
    pub fn insert(&mut self, i: usize, v: Value) {
        assert!(
            i <= self.len,
            "stack insert at {i} above the top {}",
            self.len
        );
        self.push(v);
        self[i..].rotate_right(1);
    }

    /// Remove and return the value at slot `i`, moving those above it down.
    ///
    /// # Panics
    /// If `i` is not below the top.
    pub fn remove(&mut self, i: usize) -> Value {
        let v = self[i];
        self[i..].rotate_left(1);
        self.len -= 1;
        v
    }

    /// Push copies of `vs`.
    pub fn extend_from_slice(&mut self, vs: &[Value]) {
        for &v in vs {
            self.push(v);
        }
    }
}

impl Extend<Value> for Stack {
    fn extend<I: IntoIterator<Item = Value>>(&mut self, iter: I) {
        for v in iter {
            self.push(v);
        }
    }
}

/// More values than the reservation holds: frame entries keep
/// [`STACK_HEADROOM`] free, so only a single primitive spreading hundreds of
/// millions of values gets here. Like a failed allocation, it ends the
/// process with a message.
#[cold]
#[inline(never)]
fn overflow() -> ! {
    eprintln!("imp: the value stack is full ({STACK_SLOTS} values)");
    std::process::abort()
}

impl Deref for Stack {
    type Target = [Value];

    #[inline(always)]
    fn deref(&self) -> &[Value] {
        // SAFETY: the first `len` words lie inside the mapping (len <=
        // STACK_SLOTS), are initialized, and `Value` is a transparent `u64`;
        // the borrow of `self` keeps the mapping alive and unchanged.
        unsafe { std::slice::from_raw_parts(self.region.base_ptr().cast::<Value>(), self.len) }
    }
}

impl DerefMut for Stack {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [Value] {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow.
        unsafe { std::slice::from_raw_parts_mut(self.region.base_ptr().cast::<Value>(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(n: i64) -> Value {
        Value::fix(n)
    }

    #[test]
    fn pushes_pops_and_indexes_like_a_vector() {
        let mut s = Stack::new().expect("reserve");
        assert!(s.is_empty());
        for i in 0..10_000 {
            s.push(fix(i));
        }
        assert_eq!(s.len(), 10_000);
        assert_eq!(s.at(1234), fix(1234));
        s.set(1234, fix(-1));
        assert_eq!(s[1234], fix(-1));
        assert_eq!(s.pop(), Some(fix(9999)));
        s.truncate(3);
        assert_eq!(&s[..], &[fix(0), fix(1), fix(2)]);
        s.truncate(10);
        assert_eq!(s.len(), 3);
        s.insert(1, fix(7));
        assert_eq!(&s[..], &[fix(0), fix(7), fix(1), fix(2)]);
        assert_eq!(s.remove(0), fix(0));
        assert_eq!(&s[..], &[fix(7), fix(1), fix(2)]);
        s.resize(5, Value::NIL);
        assert_eq!(&s[..], &[fix(7), fix(1), fix(2), Value::NIL, Value::NIL]);
        s.extend([fix(8), fix(9)]);
        s.extend_from_slice(&[fix(10)]);
        assert_eq!(s.len(), 8);
        assert_eq!(s.at(7), fix(10));
        s.copy_within(5..8, 0);
        assert_eq!(&s[..3], &[fix(8), fix(9), fix(10)]);
        s.clear();
        assert_eq!(s.pop(), None);
    }

    #[test]
    fn slots_pushed_again_after_a_pop_hold_the_new_value() {
        let mut s = Stack::new().expect("reserve");
        s.push(fix(1));
        s.push(fix(2));
        s.truncate(0);
        s.push(fix(3));
        assert_eq!(&s[..], &[fix(3)]);
    }

    #[test]
    fn a_deep_stack_holds_its_values_and_two_stacks_are_apart() {
        let mut a = Stack::new().expect("reserve");
        let mut b = Stack::new().expect("reserve");
        for i in 0..3_000_000 {
            a.push(fix(i));
        }
        b.push(fix(-5));
        assert_eq!(a.at(2_999_999), fix(2_999_999));
        assert_eq!(b.at(0), fix(-5));
        assert_eq!(
            a.iter().map(|v| v.as_fixnum_unchecked()).sum::<i64>(),
            4_499_998_500_000
        );
    }
}
