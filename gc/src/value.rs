//! `Value`: one tagged 64-bit word.
//!
//! Low three bits select the kind:
//!
//! | bits    | kind       | payload                                         |
//! |---------|------------|-------------------------------------------------|
//! | `xx0`   | fixnum     | a 63-bit signed integer in the upper bits        |
//! | `001`   | reference  | byte offset of an object header from the heap base |
//! | `011`   | immediate  | kind in bits 3..8, 32-bit datum in bits 32..64   |
//!
//! **Invariant (position independence):** a reference holds an *offset* from
//! the heap region's base, never an address, so a heap copied or mapped at
//! another address stays valid without relocation (ARCHITECTURE.md invariant 2).

/// A tagged word: fixnum, heap reference or immediate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Value(u64);

const TAG_MASK: u64 = 7;
const TAG_REF: u64 = 1;
const TAG_IMM: u64 = 3;

/// The kinds of immediate values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Imm {
    /// The empty list.
    Nil = 0,
    /// `#f`.
    False = 1,
    /// `#t`.
    True = 2,
    /// The value of expressions whose value is unspecified.
    Unspecified = 3,
    /// The end-of-file object.
    Eof = 4,
    /// Marks an optional argument that was not supplied.
    Default = 5,
    /// Marks a variable that is bound but not yet assigned (letrec), or unbound.
    Undefined = 6,
    /// A character; the scalar value is the datum.
    Char = 7,
}

/// Smallest fixnum.
pub const FIXNUM_MIN: i64 = -(1 << 62);
/// Largest fixnum.
pub const FIXNUM_MAX: i64 = (1 << 62) - 1;

impl Value {
    /// The empty list.
    pub const NIL: Value = Value::imm(Imm::Nil, 0);
    /// `#f`.
    pub const FALSE: Value = Value::imm(Imm::False, 0);
    /// `#t`.
    pub const TRUE: Value = Value::imm(Imm::True, 0);
    /// The unspecified value.
    pub const UNSPECIFIED: Value = Value::imm(Imm::Unspecified, 0);
    /// The end-of-file object.
    pub const EOF: Value = Value::imm(Imm::Eof, 0);
    /// The missing-optional-argument marker.
    pub const DEFAULT: Value = Value::imm(Imm::Default, 0);
    /// The unassigned/unbound marker.
    pub const UNDEFINED: Value = Value::imm(Imm::Undefined, 0);

    const fn imm(kind: Imm, datum: u32) -> Value {
        Value(((datum as u64) << 32) | ((kind as u64) << 3) | TAG_IMM)
    }

    /// The raw bits (for hashing, images and the bytecode's constant words).
    #[inline(always)]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// A value from raw bits previously returned by [`Value::bits`].
    #[inline(always)]
    pub const fn from_bits(bits: u64) -> Value {
        Value(bits)
    }

    /// A fixnum, if `n` fits in 63 bits.
    #[inline(always)]
    pub fn fixnum(n: i64) -> Option<Value> {
        if (FIXNUM_MIN..=FIXNUM_MAX).contains(&n) {
            Some(Value((n as u64) << 1))
        } else {
            None
        }
    }

    /// A fixnum from a value known to be in range (small counts, lengths).
    #[inline(always)]
    pub const fn fix(n: i64) -> Value {
        debug_assert!(n >= FIXNUM_MIN && n <= FIXNUM_MAX);
        Value((n as u64) << 1)
    }

    /// A character.
    #[inline(always)]
    pub const fn char(c: char) -> Value {
        Value::imm(Imm::Char, c as u32)
    }

    /// `#t` or `#f`.
    #[inline(always)]
    pub const fn bool(b: bool) -> Value {
        if b {
            Value::TRUE
        } else {
            Value::FALSE
        }
    }

    /// A reference to the object whose header is at byte `offset`.
    #[inline(always)]
    pub const fn from_offset(offset: u64) -> Value {
        debug_assert!(offset & TAG_MASK == 0);
        Value(offset | TAG_REF)
    }

    /// Is this a fixnum?
    #[inline(always)]
    pub const fn is_fixnum(self) -> bool {
        self.0 & 1 == 0
    }

    /// Is this a heap reference?
    #[inline(always)]
    pub const fn is_ref(self) -> bool {
        self.0 & TAG_MASK == TAG_REF
    }

    /// Is this an immediate?
    #[inline(always)]
    pub const fn is_imm(self) -> bool {
        self.0 & TAG_MASK == TAG_IMM
    }

    /// The fixnum's integer (meaningless unless [`Value::is_fixnum`]).
    #[inline(always)]
    pub const fn as_fixnum_unchecked(self) -> i64 {
        (self.0 as i64) >> 1
    }

    /// The integer if this is a fixnum.
    #[inline(always)]
    pub fn as_fixnum(self) -> Option<i64> {
        if self.is_fixnum() {
            Some(self.as_fixnum_unchecked())
        } else {
            None
        }
    }

    /// Byte offset of the referenced object's header (meaningless unless a reference).
    #[inline(always)]
    pub const fn offset(self) -> u64 {
        self.0 & !TAG_MASK
    }

    /// The immediate kind, if this is an immediate.
    #[inline(always)]
    pub fn imm_kind(self) -> Option<Imm> {
        if !self.is_imm() {
            return None;
        }
        Some(match (self.0 >> 3) & 31 {
            0 => Imm::Nil,
            1 => Imm::False,
            2 => Imm::True,
            3 => Imm::Unspecified,
            4 => Imm::Eof,
            5 => Imm::Default,
            6 => Imm::Undefined,
            _ => Imm::Char,
        })
    }

    /// The character if this is one.
    #[inline(always)]
    pub fn as_char(self) -> Option<char> {
        if self.0 & 0xff == ((Imm::Char as u64) << 3) | TAG_IMM {
            char::from_u32((self.0 >> 32) as u32)
        } else {
            None
        }
    }

    /// Is this `#f`? (the only false value)
    #[inline(always)]
    pub const fn is_false(self) -> bool {
        self.0 == Value::FALSE.0
    }

    /// Anything but `#f` counts as true.
    #[inline(always)]
    pub const fn is_true(self) -> bool {
        self.0 != Value::FALSE.0
    }

    /// Is this the empty list?
    #[inline(always)]
    pub const fn is_nil(self) -> bool {
        self.0 == Value::NIL.0
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(n) = self.as_fixnum() {
            write!(f, "Fix({n})")
        } else if self.is_ref() {
            write!(f, "Ref({:#x})", self.offset())
        } else if let Some(c) = self.as_char() {
            write!(f, "Char({c:?})")
        } else {
            write!(f, "{:?}", self.imm_kind())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_is_one_word() {
        assert_eq!(std::mem::size_of::<Value>(), 8);
    }

    #[test]
    fn fixnums_round_trip_at_the_edges() {
        for n in [0, 1, -1, FIXNUM_MIN, FIXNUM_MAX, 12345, -98765] {
            let v = Value::fixnum(n).expect("in range");
            assert!(v.is_fixnum() && !v.is_ref() && !v.is_imm());
            assert_eq!(v.as_fixnum(), Some(n));
        }
        assert!(Value::fixnum(FIXNUM_MAX + 1).is_none());
        assert!(Value::fixnum(FIXNUM_MIN - 1).is_none());
    }

    #[test]
    fn immediates_are_distinct_and_classified() {
        let all = [
            Value::NIL,
            Value::FALSE,
            Value::TRUE,
            Value::UNSPECIFIED,
            Value::EOF,
            Value::DEFAULT,
            Value::UNDEFINED,
            Value::char('a'),
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(a.is_imm());
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(Value::char('λ').as_char(), Some('λ'));
        assert_eq!(Value::NIL.as_char(), None);
        assert!(Value::FALSE.is_false() && Value::NIL.is_true());
    }

    #[test]
    fn references_keep_their_offset() {
        let v = Value::from_offset(0x0001_2345_6780);
        assert!(v.is_ref());
        assert_eq!(v.offset(), 0x0001_2345_6780);
    }
}
