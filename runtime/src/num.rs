//! The numeric tower: fixnums, bignums and flonums, and the generic
//! arithmetic the VM falls back to when the fixnum fast path does not apply.
//!
//! Exact integers overflow from fixnums into bignums and shrink back; an
//! exact division that does not come out even gives an exact rational (a
//! `RATIO` object: numerator and denominator in lowest terms); any
//! operation with an inexact operand gives a flonum.

use imp_gc::Value;
use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

use crate::obj::{BIGNUM, COMPLEX, FLONUM, RATIO};
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
    /// An exact non-integer rational: numerator, denominator (lowest
    /// terms, denominator > 1). Made through [`ratio`].
    Rat(BigInt, BigInt),
}

/// The exact rational `n/d` in lowest terms: an integer when it is one.
/// `d` must not be zero.
pub fn ratio(n: BigInt, d: BigInt) -> Num {
    if d.is_one() {
        return norm(Num::Big(n));
    }
    let g = gcd(&n, &d);
    let (mut n, mut d) = if g.is_zero() {
        (n, d)
    } else {
        (n / &g, d / &g)
    };
    if d.is_negative() {
        n = -n;
        d = -d;
    }
    if d == BigInt::from(1) {
        norm(Num::Big(n))
    } else {
        Num::Rat(n, d)
    }
}

/// The greatest common divisor of `a` and `b` (non-negative). Euclid's
/// algorithm with a remainder step first: a huge number and a small one
/// (the common case: a power over 1, a sum of ratios) take one division
/// and then machine words, where the binary algorithm of `num-integer`
/// shifts the huge number bit by bit (minutes for a million-bit power).
pub fn gcd(a: &BigInt, b: &BigInt) -> BigInt {
    let (mut a, mut b) = (a.abs(), b.abs());
    loop {
        if b.is_zero() {
            return a;
        }
        if let (Some(x), Some(y)) = (a.to_u64(), b.to_u64()) {
            return BigInt::from(x.gcd(&y));
        }
        let r = &a % &b;
        a = b;
        b = r;
    }
}

/// The exact value of a finite float.
pub fn float_to_exact(x: f64) -> Option<Num> {
    if !x.is_finite() {
        return None;
    }
    if x.fract() == 0.0 {
        return Some(norm(Num::Big(float_to_big(x))));
    }
    let bits = x.to_bits();
    let sign = if bits >> 63 == 1 { -1 } else { 1 };
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mant, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    };
    let n = BigInt::from(mant) * sign;
    Some(if e >= 0 {
        norm(Num::Big(n << e as usize))
    } else {
        ratio(n, BigInt::from(1) << (-e) as usize)
    })
}

/// A rational as an f64, correctly scaled even when both parts exceed the
/// float range.
fn ratio_to_f64(n: &BigInt, d: &BigInt) -> f64 {
    if let (Some(a), Some(b)) = (n.to_f64(), d.to_f64())
        && a.is_finite()
        && b.is_finite()
        && a.abs() < 9.0e15
        && b < 9.0e15
    {
        return a / b;
    }
    // Shift so the quotient has 64 significant bits, then scale back.
    let shift = d.bits() as i64 - n.bits() as i64 + 64;
    let q = if shift >= 0 {
        (n << shift as usize) / d
    } else {
        n / (d << (-shift) as usize)
    };
    q.to_f64().unwrap_or(f64::NAN) * 2f64.powi(-(shift as i32))
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
            Num::Rat(n, d) => ratio_to_f64(n, d),
        }
    }

    /// As a BigInt (exact integers only).
    fn to_big(&self) -> Option<BigInt> {
        match self {
            Num::Fix(n) => Some(BigInt::from(*n)),
            Num::Big(b) => Some(b.clone()),
            Num::Flo(_) | Num::Rat(..) => None,
        }
    }

    /// As numerator and denominator (exact numbers only).
    pub fn to_ratio(&self) -> Option<(BigInt, BigInt)> {
        match self {
            Num::Rat(n, d) => Some((n.clone(), d.clone())),
            Num::Flo(_) => None,
            n => Some((n.to_big()?, BigInt::from(1))),
        }
    }

    /// Bits of its exact representation (numerator and denominator
    /// together for a ratio; 64 for a fixnum or a float).
    pub fn bits(&self) -> u64 {
        match self {
            Num::Fix(_) | Num::Flo(_) => 64,
            Num::Big(b) => b.bits(),
            Num::Rat(n, d) => n.bits() + d.bits(),
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
            RATIO => {
                let int = |x: Value| match x.as_fixnum() {
                    Some(i) => BigInt::from(i),
                    None if self.is(x, BIGNUM) => self.bignum_value(x),
                    None => BigInt::zero(),
                };
                Some(Num::Rat(int(self.heap.get(v, 0)), int(self.heap.get(v, 1))))
            }
            _ => None,
        }
    }

    /// Is `v` a number?
    pub fn is_number(&self, v: Value) -> bool {
        v.is_fixnum()
            || self.is(v, FLONUM)
            || self.is(v, BIGNUM)
            || self.is(v, RATIO)
            || self.is(v, COMPLEX)
    }

    /// Is `v` a non-real complex number?
    #[inline]
    pub fn is_complex(&self, v: Value) -> bool {
        self.is(v, COMPLEX)
    }

    /// The complex number `re + im i` (parts real numbers); `re` itself
    /// when `im` is the exact 0.
    pub fn make_complex(&mut self, re: Value, im: Value) -> VmResult<Value> {
        if im == Value::fix(0) {
            return Ok(re);
        }
        self.stack.push(re);
        self.stack.push(im);
        let c = self.alloc(COMPLEX, 2);
        let im = self.stack.pop().unwrap_or(Value::fix(0));
        let re = self.stack.pop().unwrap_or(Value::fix(0));
        let c = c?;
        self.heap.set(c, 0, re);
        self.heap.set(c, 1, im);
        Ok(c)
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
            Num::Rat(n, d) => {
                let n = self.make_num(Num::Big(n))?;
                self.stack.push(n);
                let d = self.make_num(Num::Big(d));
                let n = self.stack.pop().unwrap_or(Value::fix(0));
                let d = d?;
                self.stack.push(n);
                self.stack.push(d);
                let r = self.alloc(RATIO, 2);
                let d = self.stack.pop().unwrap_or(Value::fix(1));
                let n = self.stack.pop().unwrap_or(Value::fix(0));
                let r = r?;
                self.heap.set(r, 0, n);
                self.heap.set(r, 1, d);
                Ok(r)
            }
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
            None if self.is(v, COMPLEX) => Err(self.type_error(who, "a real number", v)),
            None => Err(self.type_error(who, "a number", v)),
        }
    }
}

/// The text of the complex number `re + im i`: the real part left out
/// when it is the exact 0, `+i`/`-i` for an exact unit imaginary part.
pub fn complex_to_string(re: &Num, im: &Num, radix: u32) -> String {
    let mut out = String::new();
    if !matches!(re, Num::Fix(0)) {
        out.push_str(&number_to_string(re, radix));
    }
    match im {
        Num::Fix(1) => out.push('+'),
        Num::Fix(-1) => out.push('-'),
        im => {
            let t = number_to_string(im, radix);
            if !t.starts_with(['+', '-']) {
                out.push('+');
            }
            out.push_str(&t);
        }
    }
    out.push('i');
    out
}

/// The Scheme procedure (in `complex.scm`) that takes a call of primitive
/// `who` given a non-real complex argument, if it has one.
pub fn complex_redirect(who: &str) -> Option<&'static str> {
    Some(match who {
        "+" => "%complex+",
        "-" => "%complex-",
        "*" => "%complex*",
        "/" => "%complex/",
        "=" => "%complex=",
        "zero?" => "%complex-zero?",
        "exact?" => "%complex-exact?",
        "inexact?" => "%complex-inexact?",
        "exact" | "inexact->exact" => "%complex-exact",
        "inexact" | "exact->inexact" => "%complex-inexact",
        "nan?" => "%complex-nan?",
        "infinite?" => "%complex-infinite?",
        "finite?" => "%complex-finite?",
        "sqrt" => "%complex-sqrt",
        "exp" => "%complex-exp",
        "log" => "%complex-log",
        "sin" => "%complex-sin",
        "cos" => "%complex-cos",
        "tan" => "%complex-tan",
        "asin" => "%complex-asin",
        "acos" => "%complex-acos",
        "atan" => "%complex-atan",
        "expt" => "%complex-expt",
        "square" => "%complex-square",
        _ => return None,
    })
}

/// Apply `op` to the two values on top of the stack (not popped).
pub fn binop(vm: &mut Vm, op: ArithOp) -> VmResult<Value> {
    let n = vm.stack.len();
    let (x, y) = (vm.stack[n - 2], vm.stack[n - 1]);
    if vm.is_complex(x) || vm.is_complex(y) {
        return complex_binop(vm, op, x, y);
    }
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

/// The real and imaginary parts of a number (`None` if `v` is not one).
fn parts(vm: &Vm, v: Value) -> Option<(Num, Num)> {
    if vm.is(v, COMPLEX) {
        Some((vm.num(vm.heap.get(v, 0))?, vm.num(vm.heap.get(v, 1))?))
    } else {
        Some((vm.num(v)?, Num::Fix(0)))
    }
}

fn mul(vm: &mut Vm, a: &Num, b: &Num) -> VmResult<Num> {
    arith(vm, ArithOp::Mul, a.clone(), b.clone())
}

/// An inline operation (`binop`) with a non-real complex operand: the
/// arithmetic and `=` on the parts; an order is an error.
fn complex_binop(vm: &mut Vm, op: ArithOp, x: Value, y: Value) -> VmResult<Value> {
    let (Some((ar, ai)), Some((br, bi))) = (parts(vm, x), parts(vm, y)) else {
        let bad = if parts(vm, x).is_none() { x } else { y };
        return Err(vm.type_error(op.name(), "a number", bad));
    };
    let (re, im) = match op {
        ArithOp::NumEq => {
            let same = |a: &Num, b: &Num| compare(a, b).is_some_and(|c| c.is_eq());
            return Ok(Value::bool(same(&ar, &br) && same(&ai, &bi)));
        }
        ArithOp::Lt | ArithOp::Gt | ArithOp::Le | ArithOp::Ge => {
            let bad = if vm.is(x, COMPLEX) { x } else { y };
            return Err(vm.type_error(op.name(), "a real number", bad));
        }
        ArithOp::Add | ArithOp::Sub => (arith(vm, op, ar, br)?, arith(vm, op, ai, bi)?),
        ArithOp::Mul => {
            let (p, q) = (mul(vm, &ar, &br)?, mul(vm, &ai, &bi)?);
            let re = arith(vm, ArithOp::Sub, p, q)?;
            let (p, q) = (mul(vm, &ar, &bi)?, mul(vm, &ai, &br)?);
            (re, arith(vm, ArithOp::Add, p, q)?)
        }
        ArithOp::Div => {
            // (a+bi)/(c+di) = ((ac+bd) + (bc-ad)i) / (c²+d²)
            let (p, q) = (mul(vm, &br, &br)?, mul(vm, &bi, &bi)?);
            let d = arith(vm, ArithOp::Add, p, q)?;
            if matches!(d, Num::Fix(0)) {
                return Err(vm.error("/: division by zero", &[x, y]));
            }
            let (p, q) = (mul(vm, &ar, &br)?, mul(vm, &ai, &bi)?);
            let re_n = arith(vm, ArithOp::Add, p, q)?;
            let (p, q) = (mul(vm, &ai, &br)?, mul(vm, &ar, &bi)?);
            let im_n = arith(vm, ArithOp::Sub, p, q)?;
            (
                arith(vm, ArithOp::Div, re_n, d.clone())?,
                arith(vm, ArithOp::Div, im_n, d)?,
            )
        }
    };
    let re = vm.make_num(re)?;
    vm.stack.push(re);
    let im = vm.make_num(im);
    let re = vm.stack.pop().unwrap_or(Value::fix(0));
    vm.make_complex(re, im?)
}

/// Compare two numbers (`None` when a NaN is involved).
pub fn compare(a: &Num, b: &Num) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Num::Fix(x), Num::Fix(y)) => Some(x.cmp(y)),
        (Num::Flo(x), Num::Flo(y)) => x.partial_cmp(y),
        (Num::Flo(x), e) | (e, Num::Flo(x)) => {
            let flipped = !matches!(a, Num::Flo(_));
            let o = cmp_float_exact(*x, e)?;
            Some(if flipped { o.reverse() } else { o })
        }
        (Num::Rat(..), _) | (_, Num::Rat(..)) => {
            let ((an, ad), (bn, bd)) = (a.to_ratio()?, b.to_ratio()?);
            Some((an * bd).cmp(&(bn * ad)))
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
    if let Num::Rat(..) = e {
        // Exactly: the float's own exact value against the rational.
        let fx = float_to_exact(x)?;
        return compare(&fx, e);
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

/// Results of more bits than this have their size checked against the
/// heap's limits and their work charged to the call budget.
pub const BIG_WORK_BITS: u64 = 1 << 16;

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
    let est = match op {
        ArithOp::Add | ArithOp::Sub if !matches!(a, Num::Rat(..)) && !matches!(b, Num::Rat(..)) => {
            a.bits().max(b.bits()) + 1
        }
        _ => a.bits() + b.bits(),
    };
    if est > BIG_WORK_BITS {
        vm.check_number_bits(op.name(), est)?;
        vm.charge_work(a.bits(), b.bits());
    }
    if matches!(a, Num::Rat(..)) || matches!(b, Num::Rat(..)) {
        let ((an, ad), (bn, bd)) = (
            a.to_ratio().unwrap_or_default(),
            b.to_ratio().unwrap_or_default(),
        );
        return Ok(match op {
            ArithOp::Add => ratio(&an * &bd + &bn * &ad, ad * bd),
            ArithOp::Sub => ratio(&an * &bd - &bn * &ad, ad * bd),
            ArithOp::Mul => ratio(an * bn, ad * bd),
            _ => {
                if bn.is_zero() {
                    return Err(vm.error("/: division by zero", &[]));
                }
                ratio(an * bd, ad * bn)
            }
        });
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
                ratio(x, y)
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
    // Rust writes `1e300` and `1.5e-7`; R7RS wants a decimal point in an
    // inexact number whenever one fits: `1.0e300`.
    match s.split_once('e') {
        Some((m, e)) if !m.contains('.') => format!("{m}.0e{e}"),
        _ => s,
    }
}

/// `number->string`.
pub fn number_to_string(n: &Num, radix: u32) -> String {
    match n {
        Num::Fix(i) if radix == 10 => i.to_string(),
        Num::Fix(i) => BigInt::from(*i).to_str_radix(radix),
        Num::Big(b) => b.to_str_radix(radix),
        Num::Flo(x) => format_flonum(*x),
        Num::Rat(n, d) => format!("{}/{}", n.to_str_radix(radix), d.to_str_radix(radix)),
    }
}

/// Is this number an integer (exact or inexact)?
pub fn is_integer(n: &Num) -> bool {
    match n {
        Num::Flo(x) => x.is_finite() && x.fract() == 0.0,
        Num::Rat(..) => false,
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
        Num::Rat(n, d) => Num::Rat(-n, d),
    }
}

/// Sign test: -1, 0, 1 (NaN gives 0).
pub fn signum(n: &Num) -> i32 {
    match n {
        Num::Fix(i) => i.signum() as i32,
        Num::Big(b) | Num::Rat(b, _) => {
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
