//! The reader's output: a plain Rust tree of data with source positions.
//!
//! Datums are scratch: the reader produces them, the expander and compiler
//! consume them, and `datum_to_value` turns them into heap values when a
//! program reads data (`read`, `quote`). Nothing here outlives one
//! read/compile step, so no Scheme state hides in these trees (ARCHITECTURE.md invariant 1).

use num_bigint::BigInt;

/// A position in the source: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line number; 0 means "no position known".
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
}

/// A number as read: the reader normalises to the smallest representation.
#[derive(Clone, Debug, PartialEq)]
pub enum Number {
    /// An exact integer that fits in `i64`.
    Fixnum(i64),
    /// An exact integer that does not fit in `i64`.
    Big(BigInt),
    /// An exact non-integer rational in lowest terms, denominator > 1.
    Ratio(BigInt, BigInt),
    /// An inexact real.
    Flonum(f64),
    /// A non-real complex number: real and imaginary parts (reals, the
    /// imaginary one never the exact 0). Made through `Number::complex`.
    Complex(Box<Number>, Box<Number>),
}

/// One datum with the position where it starts.
#[derive(Debug, PartialEq)]
pub struct Datum {
    /// What was read.
    pub kind: DatumKind,
    /// Where it starts in the source.
    pub pos: Pos,
}

// A datum nests as deep as what was read (10,000 levels): copying and
// dropping one recurse that deep, so both may move to a fresh stack
// segment (`crate::deep`).
impl Clone for Datum {
    fn clone(&self) -> Datum {
        crate::deep(|| Datum {
            kind: self.kind.clone(),
            pos: self.pos,
        })
    }
}

impl Drop for Datum {
    fn drop(&mut self) {
        if matches!(
            self.kind,
            DatumKind::List(..) | DatumKind::Vector(_) | DatumKind::Label(..)
        ) {
            let kind = std::mem::replace(&mut self.kind, DatumKind::Bool(false));
            crate::deep(move || drop(kind));
        }
    }
}

/// The shapes a datum can take.
#[derive(Clone, Debug, PartialEq)]
pub enum DatumKind {
    /// `#t` / `#f` / `#true` / `#false`.
    Bool(bool),
    /// Any number literal.
    Num(Number),
    /// A character literal.
    Char(char),
    /// A string literal, escapes already decoded.
    Str(String),
    /// A symbol (already case-folded under `#!fold-case`).
    Sym(String),
    /// A keyword object `#:name` (self-evaluating).
    Keyword(String),
    /// A proper list `(a b c)` (possibly empty) or, when `tail` is set, an
    /// improper list `(a b . c)` with at least one element before the dot.
    List(Vec<Datum>, Option<Box<Datum>>),
    /// `#(a b c)`.
    Vector(Vec<Datum>),
    /// `#u8(1 2 3)`.
    Bytevector(Vec<u8>),
    /// `#n=datum`: defines label n for the datum that follows.
    Label(u64, Box<Datum>),
    /// `#n#`: refers to the datum labelled n.
    LabelRef(u64),
    /// A heap value carried through unchanged (used when the compiler is
    /// given heap data by `eval`); the index names a handle slot.
    Opaque(u32),
}

impl Datum {
    /// Its kind, taken out (a datum is not moved out of, since it drops
    /// itself).
    pub fn into_kind(mut self) -> DatumKind {
        std::mem::replace(&mut self.kind, DatumKind::Bool(false))
    }

    /// A datum of `kind` at `pos`.
    pub fn new(kind: DatumKind, pos: Pos) -> Datum {
        Datum { kind, pos }
    }

    /// The symbol's name if this is a symbol.
    pub fn as_sym(&self) -> Option<&str> {
        match &self.kind {
            DatumKind::Sym(s) => Some(s),
            _ => None,
        }
    }

    /// The elements if this is a proper list.
    pub fn as_list(&self) -> Option<&[Datum]> {
        match &self.kind {
            DatumKind::List(items, None) => Some(items),
            _ => None,
        }
    }
}
