//! The core of SRFI-151 (bitwise operations on exact integers of any
//! size, in two's complement): the operations whose speed matters, with a
//! fixnum path that allocates nothing and a bignum path. The rest of the
//! SRFI (bit fields, conversions, folds) is Scheme in `srfi.scm`, built on
//! these.

use imp_gc::Value;
use num_bigint::BigInt;
use num_traits::{Signed, ToPrimitive, Zero};

use super::{MANY, PrimDef, arg, def};
use crate::num::Num;
use crate::vm::{Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("bitwise-not", 1, 1, bitwise_not),
    def("bitwise-and", 0, MANY, bitwise_and),
    def("bitwise-ior", 0, MANY, bitwise_ior),
    def("bitwise-xor", 0, MANY, bitwise_xor),
    def("bitwise-eqv", 0, MANY, bitwise_eqv),
    def("arithmetic-shift", 2, 2, arithmetic_shift),
    def("bit-count", 1, 1, bit_count),
    def("integer-length", 1, 1, integer_length),
    def("first-set-bit", 1, 1, first_set_bit),
    def("bit-set?", 2, 2, bit_set_p),
];

/// The largest left shift made, in bits: a bigger one is almost surely a
/// mistake and would stall the program building the number.
const MAX_SHIFT_BITS: u64 = 1 << 26;

/// An exact integer argument.
enum Int {
    Fix(i64),
    Big(BigInt),
}

impl Int {
    fn big(self) -> BigInt {
        match self {
            Int::Fix(n) => BigInt::from(n),
            Int::Big(b) => b,
        }
    }
}

/// Argument `i` of `who`, which must be an exact integer.
fn int_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Int> {
    let v = arg(vm, base, i);
    if let Some(n) = v.as_fixnum() {
        return Ok(Int::Fix(n));
    }
    match vm.num(v) {
        Some(Num::Big(b)) => Ok(Int::Big(b)),
        _ => Err(vm.type_error(who, "an exact integer", v)),
    }
}

fn big_result(vm: &mut Vm, b: BigInt) -> VmResult<Value> {
    vm.make_num(Num::Big(b))
}

/// `(bitwise-not i)`.
fn bitwise_not(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    match int_arg(vm, "bitwise-not", base, 0)? {
        // The complement of a fixnum is a fixnum.
        Int::Fix(n) => vm.make_num(Num::Fix(!n)),
        Int::Big(b) => big_result(vm, !b),
    }
}

/// The associative operations: fixnums all the way while the arguments
/// are fixnums (the result of two fixnums is one), bignums after.
fn fold_bits(
    vm: &mut Vm,
    base: usize,
    argc: usize,
    who: &str,
    identity: i64,
    fix: fn(i64, i64) -> i64,
    big: fn(BigInt, BigInt) -> BigInt,
) -> VmResult<Value> {
    let mut acc = Int::Fix(identity);
    for i in 0..argc {
        let x = int_arg(vm, who, base, i)?;
        acc = match (acc, x) {
            (Int::Fix(a), Int::Fix(b)) => Int::Fix(fix(a, b)),
            (a, b) => Int::Big(big(a.big(), b.big())),
        };
    }
    match acc {
        Int::Fix(n) => vm.make_num(Num::Fix(n)),
        Int::Big(b) => big_result(vm, b),
    }
}

fn bitwise_and(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    fold_bits(
        vm,
        base,
        argc,
        "bitwise-and",
        -1,
        |a, b| a & b,
        |a, b| a & b,
    )
}

fn bitwise_ior(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    fold_bits(vm, base, argc, "bitwise-ior", 0, |a, b| a | b, |a, b| a | b)
}

fn bitwise_xor(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    fold_bits(vm, base, argc, "bitwise-xor", 0, |a, b| a ^ b, |a, b| a ^ b)
}

fn bitwise_eqv(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    fold_bits(
        vm,
        base,
        argc,
        "bitwise-eqv",
        -1,
        |a, b| !(a ^ b),
        |a, b| !(a ^ b),
    )
}

/// `(arithmetic-shift i count)`: left for a positive count, right (toward
/// negative infinity) for a negative one.
fn arithmetic_shift(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "arithmetic-shift";
    let i = int_arg(vm, who, base, 0)?;
    let count = match int_arg(vm, who, base, 1)? {
        Int::Fix(c) => c,
        // A count past any fixnum: everything shifts out to the right, and
        // nothing could hold the result to the left.
        Int::Big(c) if c.is_negative() => i64::MIN,
        Int::Big(_) => i64::MAX,
    };
    if count <= 0 {
        let k = count.unsigned_abs();
        return match i {
            Int::Fix(n) => vm.make_num(Num::Fix(n >> k.min(63))),
            Int::Big(b) => {
                let bits = b.bits();
                if k >= bits {
                    vm.make_num(Num::Fix(if b.is_negative() { -1 } else { 0 }))
                } else {
                    big_result(vm, b >> k)
                }
            }
        };
    }
    let k = count as u64;
    if let Int::Fix(n) = i {
        if n == 0 {
            return Ok(Value::fix(0));
        }
        if k < 63 {
            let shifted = (n as i128) << k;
            if let Some(s) = i64::try_from(shifted)
                .ok()
                .filter(|s| Value::fixnum(*s).is_some())
            {
                return Ok(Value::fix(s));
            }
        }
    }
    let b = i.big();
    if b.is_zero() {
        return Ok(Value::fix(0));
    }
    if k > MAX_SHIFT_BITS {
        return Err(vm.error(
            format!("{who}: shifting by {k} bits would make a number too large"),
            &[],
        ));
    }
    big_result(vm, b << k)
}

/// `(bit-count i)`: the 1 bits of a non-negative `i`, the 0 bits of a
/// negative one.
fn bit_count(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let n = match int_arg(vm, "bit-count", base, 0)? {
        Int::Fix(n) if n < 0 => u64::from((!n).count_ones()),
        Int::Fix(n) => u64::from(n.count_ones()),
        Int::Big(b) if b.is_negative() => (!b).magnitude().count_ones(),
        Int::Big(b) => b.magnitude().count_ones(),
    };
    vm.make_num(Num::Fix(n as i64))
}

/// `(integer-length i)`: the bits needed for `i` without its sign.
fn integer_length(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let n = match int_arg(vm, "integer-length", base, 0)? {
        Int::Fix(n) if n < 0 => u64::from(64 - (!n).leading_zeros()),
        Int::Fix(n) => u64::from(64 - n.leading_zeros()),
        Int::Big(b) if b.is_negative() => (!b).bits(),
        Int::Big(b) => b.bits(),
    };
    vm.make_num(Num::Fix(n as i64))
}

/// `(first-set-bit i)`: the index of the lowest 1 bit, -1 for 0.
fn first_set_bit(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let n = match int_arg(vm, "first-set-bit", base, 0)? {
        Int::Fix(0) => -1,
        Int::Fix(n) => i64::from(n.trailing_zeros()),
        // Two's complement keeps the magnitude's trailing zeros.
        Int::Big(b) => b.trailing_zeros().map_or(-1, |z| z as i64),
    };
    vm.make_num(Num::Fix(n))
}

/// `(bit-set? index i)`.
fn bit_set_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "bit-set?";
    let index = match int_arg(vm, who, base, 0)? {
        Int::Fix(k) if k >= 0 => k as u64,
        Int::Big(k) if !k.is_negative() => k.to_u64().unwrap_or(u64::MAX),
        _ => {
            let v = arg(vm, base, 0);
            return Err(vm.type_error(who, "a non-negative exact integer", v));
        }
    };
    let set = match int_arg(vm, who, base, 1)? {
        Int::Fix(n) => (n >> index.min(63)) & 1 == 1,
        Int::Big(b) => b.bit(index),
    };
    Ok(Value::bool(set))
}
