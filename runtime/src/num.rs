//! The numeric tower: fixnums, bignums and flonums, and the generic
//! arithmetic the VM falls back to when the fixnum fast path does not apply.
//!
//! Exact integers overflow from fixnums into bignums and shrink back; any
//! operation with an inexact operand gives a flonum. (Exact rationals are
//! not yet represented: an exact division that does not come out even gives
//! a flonum. See doc/LANGUAGE.md.)

use imp_gc::Value;
use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};

use crate::obj::{BIGNUM, FLONUM};
use crate::vm::{Vm, VmResult};

/// A number taken apart for arithmetic.
#[derive(Clone, Debug)]
pub enum Num {
    /// A fixnum.
    Fix(i64),
    /// A bignum.
    Big(BigInt),
    /// A flonum.
    Flo(f64),
}

/// Binary operations the VM's arithmetic opcodes fall back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `=`
    NumEq,
}

impl ArithOp {
    fn name(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Lt => "<",
            ArithOp::Gt => ">",
            ArithOp::Le => "<=",
            ArithOp::Ge => ">=",
            ArithOp::NumEq => "=",
        }
    }
}

impl Num {
    /// As an f64.
    pub fn to_f64(&self) -> f64 {
        match self {
            Num::Fix(n) => *n as f64,
            Num::Big(b) => b.to_f64().unwrap_or(f64::NAN),
            Num::Flo(x) => *x,
        }
    }

    /// As a BigInt (exact only).
    fn to_big(&self) -> Option<BigInt> {
        match self {
            Num::Fix(n) => Some(BigInt::from(*n)),
            Num::Big(b) => Some(b.clone()),
            Num::Flo(_) => None,
        }
    }

    /// Is this exact?
    pub fn is_exact(&self) -> bool {
        !matches!(self, Num::Flo(_))
    }
}

impl Vm {
    /// Take a number apart; `None` if `v` is not a number.
    pub fn num(&self, v: Value) -> Option<Num> {
        if let Some(n) = v.as_fixnum() {
            return Some(Num::Fix(n));
        }
        if !v.is_ref() {
            return None;
        }
        match self.heap.tag(v) {
            FLONUM => Some(Num::Flo(self.flonum_value(v))),
            BIGNUM => Some(Num::Big(self.bignum_value(v))),
            _ => None,
        }
    }

    /// Is `v` a number?
    pub fn is_number(&self, v: Value) -> bool {
        v.is_fixnum() || self.is(v, FLONUM) || self.is(v, BIGNUM)
    }

    /// The integer of a bignum object.
    pub fn bignum_value(&self, v: Value) -> BigInt {
        let p = self.heap.payload(v);
        let sign = p[0] & 1;
        let nd = (p[0] >> 1) as usize;
        let mut digits = Vec::with_capacity(nd);
        for i in 0..nd {
            digits.push((p[1 + i / 2] >> ((i % 2) * 32)) as u32);
        }
        let s = if sign == 1 { Sign::Minus } else { Sign::Plus };
        BigInt::from_slice(s, &digits)
    }

    /// Box a number, normalising bignums that fit into fixnums.
    pub fn make_num(&mut self, n: Num) -> VmResult<Value> {
        match n {
            Num::Fix(i) => match Value::fixnum(i) {
                Some(v) => Ok(v),
                None => self.make_num(Num::Big(BigInt::from(i))),
            },
            Num::Flo(x) => self.flonum(x),
            Num::Big(b) => {
                if let Some(v) = b.to_i64().and_then(Value::fixnum) {
                    return Ok(v);
                }
                let (sign, digits) = b.to_u32_digits();
                let nd = digits.len();
                let v = self.alloc(BIGNUM, 1 + nd.div_ceil(2))?;
                let p = self.heap.payload_mut(v);
                p[0] = ((nd as u64) << 1) | (sign == Sign::Minus) as u64;
                for (i, pair) in digits.chunks(2).enumerate() {
                    p[1 + i] = pair[0] as u64 | (pair.get(1).copied().unwrap_or(0) as u64) << 32;
                }
                Ok(v)
            }
        }
    }

    /// An exact integer from an i128.
    pub fn make_int(&mut self, n: i128) -> VmResult<Value> {
        match i64::try_from(n) {
            Ok(i) => self.make_num(Num::Fix(i)),
            Err(_) => self.make_num(Num::Big(BigInt::from(n))),
        }
    }

    /// The number `v`, or a type error for `who`.
    pub fn expect_num(&mut self, who: &str, v: Value) -> VmResult<Num> {
        match self.num(v) {
            Some(n) => Ok(n),
            None => Err(self.type_error(who, "a number", v)),
        }
    }
}

/// Apply `op` to the two values on top of the stack (not popped).
pub fn binop(vm: &mut Vm, op: ArithOp) -> VmResult<Value> {
    let n = vm.stack.len();
    let (x, y) = (vm.stack[n - 2], vm.stack[n - 1]);
    let a = vm.expect_num(op.name(), x)?;
    let b = vm.expect_num(op.name(), y)?;
    match op {
        ArithOp::Lt | ArithOp::Gt | ArithOp::Le | ArithOp::Ge | ArithOp::NumEq => {
            let c = compare(&a, &b);
            let r = match (op, c) {
                (_, None) => false,
                (ArithOp::Lt, Some(c)) => c.is_lt(),
                (ArithOp::Gt, Some(c)) => c.is_gt(),
                (ArithOp::Le, Some(c)) => c.is_le(),
                (ArithOp::Ge, Some(c)) => c.is_ge(),
                (_, Some(c)) => c.is_eq(),
            };
            Ok(Value::bool(r))
        }
        _ => {
            let r = arith(vm, op, a, b)?;
            vm.make_num(r)
        }
    }
}

/// Compare two numbers (`None` when a NaN is involved).
pub fn compare(a: &Num, b: &Num) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Num::Fix(x), Num::Fix(y)) => Some(x.cmp(y)),
        (Num::Flo(x), Num::Flo(y)) => x.partial_cmp(y),
        (Num::Flo(x), e) | (e, Num::Flo(x)) => {
            let flipped = matches!(a, Num::Fix(_) | Num::Big(_));
            let o = cmp_float_exact(*x, e)?;
            Some(if flipped { o.reverse() } else { o })
        }
        _ => {
            let (x, y) = (a.to_big()?, b.to_big()?);
            Some(x.cmp(&y))
        }
    }
}

/// Compare a float with an exact integer exactly.
fn cmp_float_exact(x: f64, e: &Num) -> Option<std::cmp::Ordering> {
    if x.is_nan() {
        return None;
    }
    if x.is_infinite() {
        return Some(if x > 0.0 {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Less
        });
    }
    let ex = e.to_big()?;
    let fl = x.floor();
    let fb = num_bigint::BigInt::from(fl as i128);
    let fb = if fl.abs() < 1e38 {
        fb
    } else {
        float_to_big(fl)
    };
    match fb.cmp(&ex) {
        std::cmp::Ordering::Equal if x > fl => Some(std::cmp::Ordering::Greater),
        o => Some(o),
    }
}

/// An integral float as a BigInt.
pub fn float_to_big(x: f64) -> BigInt {
    use num_traits::FromPrimitive;
    BigInt::from_f64(x).unwrap_or_default()
}

/// Arithmetic on two numbers.
pub fn arith(vm: &mut Vm, op: ArithOp, a: Num, b: Num) -> VmResult<Num> {
    if let (Num::Fix(x), Num::Fix(y)) = (&a, &b) {
        let (x, y) = (*x as i128, *y as i128);
        let r = match op {
            ArithOp::Add => Some(x + y),
            ArithOp::Sub => Some(x - y),
            ArithOp::Mul => Some(x * y),
            _ => None,
        };
        if let Some(r) = r {
            return Ok(match i64::try_from(r) {
                Ok(i) => Num::Fix(i),
                Err(_) => Num::Big(BigInt::from(r)),
            });
        }
    }
    if !a.is_exact() || !b.is_exact() {
        let (x, y) = (a.to_f64(), b.to_f64());
        return Ok(Num::Flo(match op {
            ArithOp::Add => x + y,
            ArithOp::Sub => x - y,
            ArithOp::Mul => x * y,
            _ => x / y,
        }));
    }
    let (x, y) = (
        a.to_big().unwrap_or_default(),
        b.to_big().unwrap_or_default(),
    );
    Ok(match op {
        ArithOp::Add => Num::Big(x + y),
        ArithOp::Sub => Num::Big(x - y),
        ArithOp::Mul => Num::Big(x * y),
        _ => {
            if y.is_zero() {
                return Err(vm.error("/: division by zero", &[]));
            }
            let (q, r) = x.div_rem(&y);
            if r.is_zero() {
                Num::Big(q)
            } else {
                Num::Flo(a.to_f64() / b.to_f64())
            }
        }
    })
}

/// Normalise a Num: bignums that fit become fixnums.
pub fn norm(n: Num) -> Num {
    match n {
        Num::Big(b) => match b.to_i64() {
            Some(i) if Value::fixnum(i).is_some() => Num::Fix(i),
            _ => Num::Big(b),
        },
        n => n,
    }
}

/// Integer division kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntDiv {
    /// `quotient` / `truncate-quotient`
    TruncQuot,
    /// `remainder` / `truncate-remainder`
    TruncRem,
    /// `floor-quotient`
    FloorQuot,
    /// `modulo` / `floor-remainder`
    FloorRem,
}

/// Integer division of integers (exact or integral inexact).
pub fn int_div(vm: &mut Vm, who: &str, kind: IntDiv, a: Value, b: Value) -> VmResult<Num> {
    let x = vm.expect_num(who, a)?;
    let y = vm.expect_num(who, b)?;
    let exact = x.is_exact() && y.is_exact();
    let to_int = |n: &Num| -> Option<BigInt> {
        match n {
            Num::Flo(f) if f.fract() == 0.0 && f.is_finite() => Some(float_to_big(*f)),
            Num::Flo(_) => None,
            n => n.to_big(),
        }
    };
    let (Some(xi), Some(yi)) = (to_int(&x), to_int(&y)) else {
        return Err(vm.error(format!("{who}: expected integers"), &[a, b]));
    };
    if yi.is_zero() {
        return Err(vm.error(format!("{who}: division by zero"), &[a, b]));
    }
    let r = match kind {
        IntDiv::TruncQuot => &xi / &yi,
        IntDiv::TruncRem => &xi % &yi,
        IntDiv::FloorQuot => xi.div_floor(&yi),
        IntDiv::FloorRem => xi.mod_floor(&yi),
    };
    Ok(if exact {
        norm(Num::Big(r))
    } else {
        Num::Flo(r.to_f64().unwrap_or(f64::NAN))
    })
}

/// Format a flonum in the shortest form that reads back equal.
pub fn format_flonum(x: f64) -> String {
    if x.is_nan() {
        return "+nan.0".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+inf.0".into()
        } else {
            "-inf.0".into()
        };
    }
    let s = format!("{x:?}");
    // Rust writes `1e300` and `1.5e-7`; both read back in Scheme.
    s
}

/// `number->string`.
pub fn number_to_string(n: &Num, radix: u32) -> String {
    match n {
        Num::Fix(i) if radix == 10 => i.to_string(),
        Num::Fix(i) => BigInt::from(*i).to_str_radix(radix),
        Num::Big(b) => b.to_str_radix(radix),
        Num::Flo(x) => format_flonum(*x),
    }
}

/// Is this number an integer (exact or inexact)?
pub fn is_integer(n: &Num) -> bool {
    match n {
        Num::Flo(x) => x.is_finite() && x.fract() == 0.0,
        _ => true,
    }
}

/// Negate.
pub fn neg(n: Num) -> Num {
    match n {
        Num::Fix(i) => match i.checked_neg() {
            Some(j) => Num::Fix(j),
            None => Num::Big(-BigInt::from(i)),
        },
        Num::Big(b) => norm(Num::Big(-b)),
        Num::Flo(x) => Num::Flo(-x),
    }
}

/// Sign test: -1, 0, 1 (NaN gives 0).
pub fn signum(n: &Num) -> i32 {
    match n {
        Num::Fix(i) => i.signum() as i32,
        Num::Big(b) => {
            if b.is_negative() {
                -1
            } else if b.is_zero() {
                0
            } else {
                1
            }
        }
        Num::Flo(x) => {
            if *x > 0.0 {
                1
            } else if *x < 0.0 {
                -1
            } else {
                0
            }
        }
    }
}
