//! Numbers (R7RS 6.2): arithmetic, comparison, integer division, the
//! transcendental functions, predicates and conversion to and from text.
//!
//! The VM inlines two-argument `+ - * < > <= >= =` when the global still
//! holds the primitive, so these procedures run for other arities and for
//! first-class uses (`apply`, `map`, …). They still start with a fixnum fast
//! path because those uses are common in loops.
//!
//! Exact rationals are not represented yet: where R7RS would give an exact
//! non-integer, these give the nearest flonum, and `exact` refuses
//! non-integral flonums.

use std::cmp::Ordering;

use imp_gc::Value;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::{MANY, PrimDef, arg, def, opt_arg};
use crate::num::{ArithOp, IntDiv, Num};
use crate::num::{
    arith, compare, float_to_big, format_flonum, int_div, is_integer, neg, number_to_string, signum,
};
use crate::obj::STRING;
use crate::reader::number::ratio_to_f64;
use crate::vm::{Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("+", 0, MANY, add),
    def("-", 1, MANY, sub),
    def("*", 0, MANY, mul),
    def("/", 1, MANY, div),
    def("=", 1, MANY, num_eq),
    def("<", 1, MANY, lt),
    def(">", 1, MANY, gt),
    def("<=", 1, MANY, le),
    def(">=", 1, MANY, ge),
    def("quotient", 2, 2, quotient),
    def("remainder", 2, 2, remainder),
    def("modulo", 2, 2, modulo),
    def("truncate-quotient", 2, 2, truncate_quotient),
    def("truncate-remainder", 2, 2, truncate_remainder),
    def("floor-quotient", 2, 2, floor_quotient),
    def("floor-remainder", 2, 2, floor_remainder),
    def("abs", 1, 1, abs),
    def("min", 1, MANY, min),
    def("max", 1, MANY, max),
    def("gcd", 0, MANY, gcd),
    def("lcm", 0, MANY, lcm),
    def("expt", 2, 2, expt),
    def("exact", 1, 1, exact),
    def("inexact", 1, 1, inexact),
    def("exact->inexact", 1, 1, exact_to_inexact),
    def("inexact->exact", 1, 1, inexact_to_exact),
    def("floor", 1, 1, floor),
    def("ceiling", 1, 1, ceiling),
    def("round", 1, 1, round),
    def("truncate", 1, 1, truncate),
    def("sqrt", 1, 1, sqrt),
    def("%exact-integer-sqrt", 1, 1, exact_integer_sqrt),
    def("exp", 1, 1, exp),
    def("log", 1, 2, log),
    def("sin", 1, 1, sin),
    def("cos", 1, 1, cos),
    def("tan", 1, 1, tan),
    def("asin", 1, 1, asin),
    def("acos", 1, 1, acos),
    def("atan", 1, 2, atan),
    def("square", 1, 1, square),
    def("number?", 1, 1, number_p),
    def("complex?", 1, 1, number_p),
    def("real?", 1, 1, real_p),
    def("%make-complex", 2, 2, make_complex),
    def("%complex-parts", 1, 1, complex_parts),
    def("rational?", 1, 1, rational_p),
    def("integer?", 1, 1, integer_p),
    def("exact?", 1, 1, exact_p),
    def("inexact?", 1, 1, inexact_p),
    def("exact-integer?", 1, 1, exact_integer_p),
    def("exact-rational?", 1, 1, exact_rational_p),
    def("nan?", 1, 1, nan_p),
    def("infinite?", 1, 1, infinite_p),
    def("finite?", 1, 1, finite_p),
    def("zero?", 1, 1, zero_p),
    def("positive?", 1, 1, positive_p),
    def("negative?", 1, 1, negative_p),
    def("odd?", 1, 1, odd_p),
    def("even?", 1, 1, even_p),
    def("number->string", 1, 2, number_to_string_p),
    def("string->number", 1, 2, string_to_number),
    def("numerator", 1, 1, numerator),
    def("denominator", 1, 1, denominator),
    def("rationalize", 2, 2, rationalize),
];

/// Largest exact power we compute, in bits: past this `expt` is almost
/// certainly a mistake and would stall the program building it.
const MAX_POW_BITS: u64 = 1 << 26;

/// Primitives that call a shared helper with their name (for error
/// messages) and a parameter: `name = helper("who", extra...);`.
macro_rules! prims {
    ($($f:ident = $g:ident($who:literal $(, $x:expr)*);)*) => {$(
        fn $f(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
            $g(vm, base, argc, $who $(, $x)*)
        }
    )*};
}

/// Argument `i` as a real number. A non-real complex number hands the
/// whole call to `complex.scm` where `who` has a procedure there.
fn num_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Num> {
    let v = arg(vm, base, i);
    if vm.is_complex(v)
        && let Some(to) = crate::num::complex_redirect(who)
    {
        return Err(crate::vm::Exn::redirect(to));
    }
    vm.expect_num(who, v)
}

/// Argument `i` as an integer (exact, or an integral flonum), with its exactness.
fn int_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<(BigInt, bool)> {
    let v = arg(vm, base, i);
    match vm.num(v) {
        Some(Num::Fix(n)) => Ok((BigInt::from(n), true)),
        Some(Num::Big(b)) => Ok((b, true)),
        Some(Num::Flo(x)) if is_integer(&Num::Flo(x)) => Ok((float_to_big(x), false)),
        _ => Err(vm.type_error(who, "an integer", v)),
    }
}

/// An integer result, inexact if any operand was.
fn int_result(vm: &mut Vm, n: BigInt, exact: bool) -> VmResult<Value> {
    if exact {
        vm.make_num(Num::Big(n))
    } else {
        vm.flonum(big_to_f64(&n))
    }
}

/// Correctly rounded, unlike a naive digit-by-digit conversion.
fn big_to_f64(b: &BigInt) -> f64 {
    ratio_to_f64(b, &BigInt::one())
}

/// A number as an f64, rounding bignums correctly.
fn to_f64(n: &Num) -> f64 {
    match n {
        Num::Big(b) => big_to_f64(b),
        n => n.to_f64(),
    }
}

/// A real argument whose result is not real (`(sqrt -4)`, `(log -1)`,
/// `(asin 2)`): `complex.scm` computes it.
fn complex_result(vm: &mut Vm, who: &str, base: usize) -> crate::vm::Exn {
    match crate::num::complex_redirect(who) {
        Some(to) => crate::vm::Exn::redirect(to),
        None => {
            let v = arg(vm, base, 0);
            vm.error(format!("{who}: complex results are not supported"), &[v])
        }
    }
}

// arithmetic

type FixOp = fn(i64, i64) -> Option<i64>;

/// Fold fixnum arguments `i..` into `acc` with `f` while no overflow
/// occurs; returns the accumulator and the first argument not folded.
#[inline(always)]
fn fix_prefix(
    vm: &Vm,
    base: usize,
    mut i: usize,
    argc: usize,
    mut acc: i64,
    f: FixOp,
) -> (i64, usize) {
    while i < argc {
        match arg(vm, base, i).as_fixnum().and_then(|n| f(acc, n)) {
            Some(r) => acc = r,
            None => break,
        }
        i += 1;
    }
    (acc, i)
}

/// Finish a left fold generically from argument `from`.
fn fold(
    vm: &mut Vm,
    who: &str,
    op: ArithOp,
    mut acc: Num,
    base: usize,
    from: usize,
    argc: usize,
) -> VmResult<Value> {
    for i in from..argc {
        let b = num_arg(vm, who, base, i)?;
        acc = match op {
            ArithOp::Div => divide(vm, acc, b)?,
            _ => arith(vm, op, acc, b)?,
        };
    }
    vm.make_num(acc)
}

fn add(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let (acc, i) = fix_prefix(vm, base, 0, argc, 0, i64::checked_add);
    fold(vm, "+", ArithOp::Add, Num::Fix(acc), base, i, argc)
}

fn mul(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let (acc, i) = fix_prefix(vm, base, 0, argc, 1, i64::checked_mul);
    fold(vm, "*", ArithOp::Mul, Num::Fix(acc), base, i, argc)
}

fn sub(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    if let Some(first) = arg(vm, base, 0).as_fixnum() {
        if argc == 1 {
            // Fixnums are 62-bit, so negation cannot overflow an i64.
            return vm.make_num(Num::Fix(-first));
        }
        let (acc, i) = fix_prefix(vm, base, 1, argc, first, i64::checked_sub);
        return fold(vm, "-", ArithOp::Sub, Num::Fix(acc), base, i, argc);
    }
    let first = num_arg(vm, "-", base, 0)?;
    if argc == 1 {
        return vm.make_num(neg(first));
    }
    fold(vm, "-", ArithOp::Sub, first, base, 1, argc)
}

fn div(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let first = num_arg(vm, "/", base, 0)?;
    if argc == 1 {
        let r = divide(vm, Num::Fix(1), first)?;
        return vm.make_num(r);
    }
    fold(vm, "/", ArithOp::Div, first, base, 1, argc)
}

/// `a / b`: exact (an integer or an exact rational) when both are exact.
fn divide(vm: &mut Vm, a: Num, b: Num) -> VmResult<Num> {
    if !a.is_exact() || !b.is_exact() {
        return Ok(Num::Flo(to_f64(&a) / to_f64(&b)));
    }
    if matches!(a, Num::Rat(..)) || matches!(b, Num::Rat(..)) {
        return crate::num::arith(vm, ArithOp::Div, a, b);
    }
    if let (Num::Fix(x), Num::Fix(y)) = (&a, &b) {
        if *y == 0 {
            return Err(vm.error("/: division by zero", &[]));
        }
        if let (Some(0), Some(q)) = (x.checked_rem(*y), x.checked_div(*y)) {
            return Ok(Num::Fix(q));
        }
    }
    let (x, y) = (big_of(a), big_of(b));
    if y.is_zero() {
        return Err(vm.error("/: division by zero", &[]));
    }
    match x.div_rem(&y) {
        (q, r) if r.is_zero() => Ok(Num::Big(q)),
        _ => Ok(crate::num::ratio(x, y)),
    }
}

/// An exact number as a BigInt (flonums give 0; callers check exactness).
fn big_of(n: Num) -> BigInt {
    match n {
        Num::Fix(i) => BigInt::from(i),
        Num::Big(b) => b,
        Num::Flo(_) | Num::Rat(..) => BigInt::zero(),
    }
}

fn square(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let n = num_arg(vm, "square", base, 0)?;
    let r = arith(vm, ArithOp::Mul, n.clone(), n)?;
    vm.make_num(r)
}

fn abs(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    match num_arg(vm, "abs", base, 0)? {
        Num::Flo(x) => vm.flonum(x.abs()),
        n if signum(&n) < 0 => vm.make_num(neg(n)),
        _ => Ok(arg(vm, base, 0)),
    }
}

// comparison

/// Is `ok` true of every adjacent pair? Every argument is type-checked,
/// even after the answer is known, so `(< 2 1 'x)` is an error.
fn chain(
    vm: &mut Vm,
    base: usize,
    argc: usize,
    who: &str,
    ok: fn(Ordering) -> bool,
) -> VmResult<Value> {
    if argc == 2
        && let (Some(a), Some(b)) = (arg(vm, base, 0).as_fixnum(), arg(vm, base, 1).as_fixnum())
    {
        return Ok(Value::bool(ok(a.cmp(&b))));
    }
    let mut prev = num_arg(vm, who, base, 0)?;
    let mut result = true;
    for i in 1..argc {
        let cur = num_arg(vm, who, base, i)?;
        // A NaN compares as nothing, so it makes every chain false.
        result = result && compare(&prev, &cur).is_some_and(ok);
        prev = cur;
    }
    Ok(Value::bool(result))
}

/// `min` (`want` = Less) or `max` (`want` = Greater); inexact if any argument is.
fn extremum(vm: &mut Vm, base: usize, argc: usize, who: &str, want: Ordering) -> VmResult<Value> {
    let mut best = num_arg(vm, who, base, 0)?;
    let mut inexact = !best.is_exact();
    for i in 1..argc {
        let n = num_arg(vm, who, base, i)?;
        inexact |= !n.is_exact();
        match compare(&n, &best) {
            None => best = Num::Flo(f64::NAN),
            Some(o) if o == want => best = n,
            Some(_) => {}
        }
    }
    if inexact {
        vm.flonum(to_f64(&best))
    } else {
        vm.make_num(best)
    }
}

// integer division

fn int_division(vm: &mut Vm, base: usize, _: usize, who: &str, kind: IntDiv) -> VmResult<Value> {
    let (a, b) = (arg(vm, base, 0), arg(vm, base, 1));
    if let (Some(x), Some(y)) = (a.as_fixnum(), b.as_fixnum())
        && y != 0
    {
        // Fixnums are 62-bit: even FIXNUM_MIN / -1 fits an i64.
        let r = match kind {
            IntDiv::TruncQuot => x / y,
            IntDiv::TruncRem => x % y,
            IntDiv::FloorQuot => Integer::div_floor(&x, &y),
            IntDiv::FloorRem => Integer::mod_floor(&x, &y),
        };
        // Only FIXNUM_MIN / -1 leaves the fixnum range.
        if (imp_gc::FIXNUM_MIN..=imp_gc::FIXNUM_MAX).contains(&r) {
            return Ok(Value::fix(r));
        }
        return vm.make_num(Num::Fix(r));
    }
    let r = int_div(vm, who, kind, a, b)?;
    vm.make_num(r)
}

fn gcd(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let (mut acc, mut exact) = (BigInt::zero(), true);
    for i in 0..argc {
        let (n, e) = int_arg(vm, "gcd", base, i)?;
        acc = crate::num::gcd(&acc, &n);
        exact &= e;
    }
    int_result(vm, acc, exact)
}

fn lcm(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let (mut acc, mut exact) = (BigInt::one(), true);
    for i in 0..argc {
        let (n, e) = int_arg(vm, "lcm", base, i)?;
        acc = if acc.is_zero() || n.is_zero() {
            BigInt::zero()
        } else {
            vm.check_number_bits("lcm", acc.bits() + n.bits())?;
            (&acc / crate::num::gcd(&acc, &n) * &n).abs()
        };
        exact &= e;
    }
    int_result(vm, acc, exact)
}

// powers and roots

fn expt(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let b = num_arg(vm, "expt", base, 0)?;
    let e = num_arg(vm, "expt", base, 1)?;
    if b.is_exact() && is_integer(&e) && e.is_exact() {
        let negative = signum(&e) < 0;
        let k = big_of(e).abs();
        let (bn, bd) = b.to_ratio().unwrap_or_default();
        let (pn, pd) = (exact_pow(vm, bn, &k)?, exact_pow(vm, bd, &k)?);
        if !negative {
            return vm.make_num(crate::num::ratio(pn, pd));
        }
        if pn.is_zero() {
            return Err(vm.error("expt: division by zero", &[]));
        }
        return vm.make_num(crate::num::ratio(pd, pn));
    }
    let (x, y) = (to_f64(&b), to_f64(&e));
    if x < 0.0 && y.is_finite() && y.fract() != 0.0 {
        return Err(complex_result(vm, "expt", base));
    }
    vm.flonum(x.powf(y))
}

/// `b^k` for `k >= 0`, refusing results too large to be useful.
fn exact_pow(vm: &mut Vm, b: BigInt, k: &BigInt) -> VmResult<BigInt> {
    // 0, 1 and -1 have small powers however large the exponent.
    if b.is_zero() {
        return Ok(if k.is_zero() {
            BigInt::one()
        } else {
            BigInt::zero()
        });
    }
    if b.abs().is_one() {
        // (-1)^k is 1 for even k; 1^k and (-1)^odd are the base itself.
        return Ok(if b.is_negative() && k.is_even() {
            -b
        } else {
            b
        });
    }
    match k.to_u32() {
        Some(k) if b.bits().saturating_mul(u64::from(k)) <= MAX_POW_BITS => {
            let bits = b.bits().saturating_mul(u64::from(k));
            vm.check_number_bits("expt", bits)?;
            vm.charge_work(bits, bits);
            Ok(b.pow(k))
        }
        _ => Err(vm.error("expt: result too large", &[])),
    }
}

fn sqrt(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let n = num_arg(vm, "sqrt", base, 0)?;
    if signum(&n) < 0 {
        return Err(complex_result(vm, "sqrt", base));
    }
    match n {
        Num::Flo(x) => vm.flonum(x.sqrt()),
        Num::Rat(p, q) => {
            let (sp, sq) = (p.sqrt(), q.sqrt());
            if &sp * &sp == p && &sq * &sq == q {
                return vm.make_num(crate::num::ratio(sp, sq));
            }
            vm.flonum(to_f64(&Num::Rat(p, q)).sqrt())
        }
        // Below 2^52 the f64 is exact and its sqrt correctly rounded, so a
        // perfect square gives an integral result.
        Num::Fix(i) if i < 1 << 52 => {
            let r = (i as f64).sqrt();
            if r.fract() == 0.0 && (r as i64) * (r as i64) == i {
                return Ok(Value::fix(r as i64));
            }
            vm.flonum(r)
        }
        n => {
            let b = big_of(n);
            let s = b.sqrt();
            if &s * &s == b {
                return vm.make_num(Num::Big(s));
            }
            let f = big_to_f64(&b);
            // Past f64 range, the integer root is as good as we can do.
            vm.flonum(if f.is_finite() {
                f.sqrt()
            } else {
                big_to_f64(&s)
            })
        }
    }
}

/// `%exact-integer-sqrt`: the largest `s` with `s*s <= n`.
fn exact_integer_sqrt(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let v = arg(vm, base, 0);
    match vm.num(v) {
        Some(n @ (Num::Fix(_) | Num::Big(_))) if signum(&n) >= 0 => {
            let s = big_of(n).sqrt();
            vm.make_num(Num::Big(s))
        }
        _ => Err(vm.type_error("%exact-integer-sqrt", "a non-negative exact integer", v)),
    }
}

// transcendental functions

/// Natural log, staying finite for bignums beyond f64 range.
fn ln(n: &Num) -> f64 {
    if let Num::Big(b) = n {
        let bits = b.bits();
        if bits > 1000 {
            let shift = bits - 64;
            let top = big_to_f64(&(b >> shift));
            return top.ln() + shift as f64 * std::f64::consts::LN_2;
        }
    }
    to_f64(n).ln()
}

fn log(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let n = num_arg(vm, "log", base, 0)?;
    let b = match opt_arg(vm, base, argc, 1) {
        Some(_) => Some(num_arg(vm, "log", base, 1)?),
        None => None,
    };
    if signum(&n) < 0 || b.as_ref().is_some_and(|b| signum(b) < 0) {
        return Err(complex_result(vm, "log", base));
    }
    let r = match b {
        None => ln(&n),
        // log2/log10 are exact on exact powers, where ln(x)/ln(b) is not.
        Some(Num::Fix(2)) if to_f64(&n).is_finite() => to_f64(&n).log2(),
        Some(Num::Fix(10)) if to_f64(&n).is_finite() => to_f64(&n).log10(),
        Some(b) => ln(&n) / ln(&b),
    };
    vm.flonum(r)
}

/// A flonum function of one argument.
fn float1(vm: &mut Vm, base: usize, _: usize, who: &str, f: fn(f64) -> f64) -> VmResult<Value> {
    let x = to_f64(&num_arg(vm, who, base, 0)?);
    vm.flonum(f(x))
}

/// `asin`/`acos`, which leave the reals outside [-1, 1].
fn arc(vm: &mut Vm, base: usize, _: usize, who: &str, f: fn(f64) -> f64) -> VmResult<Value> {
    let x = to_f64(&num_arg(vm, who, base, 0)?);
    if x.abs() > 1.0 {
        return Err(complex_result(vm, who, base));
    }
    vm.flonum(f(x))
}

fn atan(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let y = to_f64(&num_arg(vm, "atan", base, 0)?);
    if opt_arg(vm, base, argc, 1).is_none() {
        return vm.flonum(y.atan());
    }
    let x = to_f64(&num_arg(vm, "atan", base, 1)?);
    vm.flonum(y.atan2(x))
}

// exactness and rounding

fn to_exact(vm: &mut Vm, base: usize, _: usize, who: &str) -> VmResult<Value> {
    let x = match num_arg(vm, who, base, 0)? {
        Num::Flo(x) => x,
        _ => return Ok(arg(vm, base, 0)),
    };
    match crate::num::float_to_exact(x) {
        Some(n) => vm.make_num(n),
        None => {
            let (v, x) = (arg(vm, base, 0), format_flonum(x));
            Err(vm.error(format!("{who}: no exact representation of {x}"), &[v]))
        }
    }
}

fn to_inexact(vm: &mut Vm, base: usize, _: usize, who: &str) -> VmResult<Value> {
    match num_arg(vm, who, base, 0)? {
        Num::Flo(_) => Ok(arg(vm, base, 0)),
        n => vm.flonum(to_f64(&n)),
    }
}

/// Exact integers are already integral; flonums are rounded by `f`;
/// exact rationals give the exact integer `who` names.
fn rounding(vm: &mut Vm, base: usize, _: usize, who: &str, f: fn(f64) -> f64) -> VmResult<Value> {
    match num_arg(vm, who, base, 0)? {
        Num::Flo(x) => vm.flonum(f(x)),
        Num::Rat(n, d) => {
            let fl = n.div_floor(&d);
            let r = match who {
                "floor" => fl,
                "ceiling" => fl + 1,
                "truncate" => &n / &d,
                _ => {
                    // Nearest, ties to even.
                    let twice: BigInt = (&n - &fl * &d) * BigInt::from(2);
                    match twice.cmp(&d) {
                        Ordering::Less => fl,
                        Ordering::Greater => fl + 1,
                        Ordering::Equal if fl.is_even() => fl,
                        Ordering::Equal => fl + 1,
                    }
                }
            };
            vm.make_num(Num::Big(r))
        }
        _ => Ok(arg(vm, base, 0)),
    }
}

/// `(rationalize x y)`: the simplest rational within `y` of `x`; inexact
/// if either is.
fn rationalize(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let x = num_arg(vm, "rationalize", base, 0)?;
    let y = num_arg(vm, "rationalize", base, 1)?;
    let inexact = !x.is_exact() || !y.is_exact();
    let (fx, fy) = (to_f64(&x), to_f64(&y));
    if inexact && (fx.is_nan() || fy.is_nan() || fx.is_infinite()) {
        return vm.flonum(if fy.is_nan() {
            fy
        } else if fy.is_infinite() && fx.is_infinite() {
            f64::NAN
        } else {
            fx
        });
    }
    if inexact && fy.is_infinite() {
        return vm.flonum(0.0);
    }
    let exact = |n: &Num| match n {
        Num::Flo(f) => crate::num::float_to_exact(*f).and_then(|e| e.to_ratio()),
        n => n.to_ratio(),
    };
    let (Some((xn, xd)), Some((yn, yd))) = (exact(&x), exact(&y)) else {
        return vm.flonum(f64::NAN);
    };
    let yn = yn.abs();
    // lo = x - |y|, hi = x + |y| as fractions.
    let lo = (&xn * &yd - &yn * &xd, &xd * &yd);
    let hi = (&xn * &yd + &yn * &xd, &xd * &yd);
    let (n, d) = simplest_between(lo, hi);
    let r = crate::num::ratio(n, d);
    if inexact {
        vm.flonum(to_f64(&r))
    } else {
        vm.make_num(r)
    }
}

/// The simplest fraction in the closed interval [lo, hi] (fractions with
/// positive denominators, lo <= hi).
fn simplest_between(lo: (BigInt, BigInt), hi: (BigInt, BigInt)) -> (BigInt, BigInt) {
    let sign = |f: &(BigInt, BigInt)| f.0.signum();
    if sign(&lo) <= BigInt::zero() && sign(&hi) >= BigInt::zero() {
        return (BigInt::zero(), BigInt::one());
    }
    if sign(&hi) < BigInt::zero() {
        let (n, d) = simplest_between((-hi.0, hi.1), (-lo.0, lo.1));
        return (-n, d);
    }
    let fl = lo.0.div_floor(&lo.1);
    if &fl * &lo.1 == lo.0 {
        return (fl, BigInt::one());
    }
    if fl < hi.0.div_floor(&hi.1) {
        return (fl + 1, BigInt::one());
    }
    // fl + 1 / simplest(1 / (hi - fl), 1 / (lo - fl)).
    let (hn, ld) = (&hi.0 - &fl * &hi.1, &lo.0 - &fl * &lo.1);
    let (n, d) = simplest_between((hi.1.clone(), hn), (lo.1.clone(), ld));
    (fl * &n + d, n)
}

/// A finite flonum as `n / d` in lowest terms (`d` a power of two).
fn float_fraction(x: f64) -> (f64, f64) {
    let (mut n, mut d) = (x, 1.0);
    // Doubling is exact, and at most 1074 steps make any finite flonum integral.
    while n.fract() != 0.0 {
        n *= 2.0;
        d *= 2.0;
    }
    (n, d)
}

fn fraction_part(
    vm: &mut Vm,
    base: usize,
    _: usize,
    who: &str,
    denominator: bool,
) -> VmResult<Value> {
    let v = arg(vm, base, 0);
    match vm.num(v) {
        Some(Num::Flo(x)) if x.is_finite() => {
            let (n, d) = float_fraction(x);
            vm.flonum(if denominator { d } else { n })
        }
        Some(Num::Fix(_) | Num::Big(_)) => Ok(if denominator { Value::fix(1) } else { v }),
        Some(Num::Rat(n, d)) => vm.make_num(Num::Big(if denominator { d } else { n })),
        _ => Err(vm.type_error(who, "a rational number", v)),
    }
}

// predicates

/// Predicates on any object: a non-number is simply not one.
macro_rules! obj_preds {
    ($($f:ident |$vm:ident, $v:ident| $body:expr;)*) => {$(
        fn $f(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
            let ($vm, $v) = (&*vm, arg(vm, base, 0));
            Ok(Value::bool($body))
        }
    )*};
}

obj_preds! {
    number_p |vm, v| vm.is_number(v);
    real_p |vm, v| vm.num(v).is_some();
    rational_p |vm, v| vm.num(v).is_some_and(|n| n.is_exact() || to_f64(&n).is_finite());
    integer_p |vm, v| vm.num(v).is_some_and(|n| is_integer(&n));
    exact_integer_p |vm, v| vm.num(v).is_some_and(|n| matches!(n, Num::Fix(_) | Num::Big(_)));
    exact_rational_p |vm, v| vm.num(v).is_some_and(|n| n.is_exact());
}

/// Predicates on numbers: anything else is a type error.
macro_rules! num_preds {
    ($($f:ident $who:literal |$n:ident| $body:expr;)*) => {$(
        fn $f(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
            let $n = num_arg(vm, $who, base, 0)?;
            Ok(Value::bool($body))
        }
    )*};
}

num_preds! {
    exact_p "exact?" |n| n.is_exact();
    inexact_p "inexact?" |n| !n.is_exact();
    nan_p "nan?" |n| matches!(n, Num::Flo(x) if x.is_nan());
    infinite_p "infinite?" |n| matches!(n, Num::Flo(x) if x.is_infinite());
    finite_p "finite?" |n| !matches!(n, Num::Flo(x) if !x.is_finite());
    zero_p "zero?" |n| signum(&n) == 0 && !matches!(n, Num::Flo(x) if x.is_nan());
    positive_p "positive?" |n| signum(&n) > 0;
    negative_p "negative?" |n| signum(&n) < 0;
}

/// `odd?` (`odd` true) or `even?`: argument 0 must be an integer.
fn parity(vm: &mut Vm, base: usize, _: usize, who: &str, odd: bool) -> VmResult<Value> {
    let v = arg(vm, base, 0);
    match vm.num(v) {
        Some(Num::Fix(n)) => Ok(Value::bool((n & 1 == 1) == odd)),
        Some(Num::Big(b)) => Ok(Value::bool(b.is_odd() == odd)),
        Some(Num::Flo(x)) if is_integer(&Num::Flo(x)) => Ok(Value::bool((x % 2.0 != 0.0) == odd)),
        _ => Err(vm.type_error(who, "an integer", v)),
    }
}

// text

/// The optional radix argument `i` (default 10).
fn radix_arg(vm: &mut Vm, who: &str, base: usize, argc: usize, i: usize) -> VmResult<u32> {
    match opt_arg(vm, base, argc, i) {
        None => Ok(10),
        Some(r) => match r.as_fixnum() {
            Some(r @ (2 | 8 | 10 | 16)) => Ok(r as u32),
            _ => Err(vm.error(format!("{who}: radix must be 2, 8, 10 or 16"), &[r])),
        },
    }
}

/// `(%make-complex re im)`: the complex number of two real parts (`re`
/// when `im` is the exact 0).
fn make_complex(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    for i in 0..2 {
        let v = arg(vm, base, i);
        if vm.num(v).is_none() {
            return Err(vm.type_error("make-rectangular", "a real number", v));
        }
    }
    let (re, im) = (arg(vm, base, 0), arg(vm, base, 1));
    vm.make_complex(re, im)
}

/// `(%complex-parts z)`: `(re . im)` of a number (`im` 0 for a real one).
fn complex_parts(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let z = arg(vm, base, 0);
    if vm.is_complex(z) {
        let (re, im) = (vm.heap.get(z, 0), vm.heap.get(z, 1));
        return vm.cons(re, im);
    }
    if vm.num(z).is_none() {
        return Err(vm.type_error("real-part", "a number", z));
    }
    vm.cons(z, Value::fix(0))
}

fn number_to_string_p(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let z = arg(vm, base, 0);
    if vm.is_complex(z) {
        let radix = radix_arg(vm, "number->string", base, argc, 1)?;
        let (re, im) = (vm.heap.get(z, 0), vm.heap.get(z, 1));
        let (Some(re), Some(im)) = (vm.num(re), vm.num(im)) else {
            return Err(vm.type_error("number->string", "a number", z));
        };
        if (!re.is_exact() || !im.is_exact()) && radix != 10 {
            return Err(vm.error(
                "number->string: inexact numbers can only be written in radix 10",
                &[z],
            ));
        }
        let text = crate::num::complex_to_string(&re, &im, radix);
        return vm.string(&text);
    }
    let n = num_arg(vm, "number->string", base, 0)?;
    let radix = radix_arg(vm, "number->string", base, argc, 1)?;
    if !n.is_exact() && radix != 10 {
        let v = arg(vm, base, 0);
        return Err(vm.error(
            "number->string: inexact numbers can only be written in radix 10",
            &[v],
        ));
    }
    let text = number_to_string(&n, radix);
    vm.string(&text)
}

fn string_to_number(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let s = vm.typed_arg("string->number", base, 0, STRING, "a string")?;
    let text = vm.string_text(s);
    let radix = radix_arg(vm, "string->number", base, argc, 1)?;
    match crate::reader::parse_number(&text, radix) {
        Some(n) => crate::compile::number_value(vm, &n),
        None => Ok(Value::FALSE),
    }
}

// Each wrapper names its procedure for error messages.
prims! {
    num_eq = chain("=", Ordering::is_eq);
    lt = chain("<", Ordering::is_lt);
    gt = chain(">", Ordering::is_gt);
    le = chain("<=", Ordering::is_le);
    ge = chain(">=", Ordering::is_ge);
    quotient = int_division("quotient", IntDiv::TruncQuot);
    remainder = int_division("remainder", IntDiv::TruncRem);
    modulo = int_division("modulo", IntDiv::FloorRem);
    truncate_quotient = int_division("truncate-quotient", IntDiv::TruncQuot);
    truncate_remainder = int_division("truncate-remainder", IntDiv::TruncRem);
    floor_quotient = int_division("floor-quotient", IntDiv::FloorQuot);
    floor_remainder = int_division("floor-remainder", IntDiv::FloorRem);
    odd_p = parity("odd?", true);
    even_p = parity("even?", false);
    min = extremum("min", Ordering::Less);
    max = extremum("max", Ordering::Greater);
    exp = float1("exp", f64::exp);
    sin = float1("sin", f64::sin);
    cos = float1("cos", f64::cos);
    tan = float1("tan", f64::tan);
    asin = arc("asin", f64::asin);
    acos = arc("acos", f64::acos);
    exact = to_exact("exact");
    inexact_to_exact = to_exact("inexact->exact");
    inexact = to_inexact("inexact");
    exact_to_inexact = to_inexact("exact->inexact");
    floor = rounding("floor", f64::floor);
    ceiling = rounding("ceiling", f64::ceil);
    round = rounding("round", f64::round_ties_even);
    truncate = rounding("truncate", f64::trunc);
    numerator = fraction_part("numerator", false);
    denominator = fraction_part("denominator", true);
}

#[cfg(test)]
mod tests {
    /// The cases of a table: `expr => expected` separated by `|` or newlines.
    fn cases(table: &str) -> Vec<(&str, &str)> {
        let items = table
            .lines()
            .flat_map(|l| l.split(" | "))
            .map(str::trim)
            .filter(|c| !c.is_empty());
        items
            .map(|c| {
                c.split_once(" => ")
                    .unwrap_or_else(|| panic!("bad case {c}"))
            })
            .collect()
    }

    /// Each expression must evaluate to a value written as expected, also
    /// when every allocation moves young objects (catching unrooted values).
    fn check(table: &str) {
        for gc_stress in [false, true] {
            let opts = crate::Options {
                gc_stress,
                ..Default::default()
            };
            let mut rt = crate::Runtime::with_options(opts).unwrap();
            rt.vm().expose_internals_for_tests();
            for (src, want) in cases(table) {
                let v = rt.eval_str(src).unwrap_or_else(|e| panic!("{src}: {e}"));
                assert_eq!(rt.write(&v), want, "{src}");
            }
        }
    }

    /// Each expression must raise an error whose message contains the text.
    fn check_err(table: &str) {
        let mut rt = crate::prim::testing::runtime();
        for (src, want) in cases(table) {
            match rt.eval_str(src) {
                Ok(v) => panic!("{src}: expected an error, got {}", rt.write(&v)),
                Err(e) => assert!(e.to_string().contains(want), "{src}: {e}"),
            }
        }
    }

    // `(apply f ...)` reaches the primitive even where the compiler would
    // inline a two-argument call.
    #[test]
    fn arithmetic() {
        check(
            "(+) => 0 | (*) => 1 | (+ 1 2 3) => 6 | (apply + '(1 2)) => 3
             (- 5) => -5 | (- 10 1 2) => 7 | (apply - '(1.5)) => -1.5
             (- -4611686018427387904) => 4611686018427387904 | (* 2 3 4) => 24
             (* 4611686018427387904 4) => 18446744073709551616
             (apply * '(4611686018427387904 4)) => 18446744073709551616
             (apply * '(3037000500 3037000500 2)) => 18446744074000500000
             (- (expt 2 62) 1) => 4611686018427387903
             (apply + '(4611686018427387903 1)) => 4611686018427387904
             (+ 4611686018427387903 1 -1) => 4611686018427387903
             (+ (expt 2 70) (- (expt 2 70)) 5) => 5 | (+ 1 2.5) => 3.5 | (apply + '(1 2.5)) => 3.5
             (/ 1 3) => 1/3 | (/ 6 4) => 3/2 | (/ -6 4) => -3/2 | (+ 1/3 1/6) => 1/2 | (* 2/3 3/2) => 1 | (- 1/2 1) => -1/2 | (exact->inexact 1/3) => 0.3333333333333333 | (apply / '(6 3)) => 2 | (/ 12 2 3) => 2
             (/ 2) => 1/2 | (/ 1/2) => 2 | (/ 0.5) => 2.0 | (/ 1.0 0) => +inf.0 | (/ 0.0 0) => +nan.0
             (/ (expt 10 30) (expt 10 28)) => 100 | (/ (expt 10 30) (* 3 (expt 10 29))) => 10/3 | (exact->inexact (/ (expt 10 30) (* 3 (expt 10 29)))) => 3.3333333333333335 | (exact->inexact (/ (expt 10 400) (* 3 (expt 10 399)))) => 3.3333333333333335
             (square 5) => 25 | (square 1.5) => 2.25 | (square (expt 2 40)) => 1208925819614629174706176
             (abs -5) => 5 | (abs -5.5) => 5.5 | (abs 7) => 7
             (abs (- (expt 2 70))) => 1180591620717411303424 | (abs -4611686018427387904) => 4611686018427387904
             (max 1 2 3) => 3 | (max 3) => 3 | (min 1 2.0) => 1.0 | (max 1 2.0) => 2.0 | (max 1 +nan.0) => +nan.0
             (min (expt 2 70) 5) => 5 | (max (expt 2 70) 5) => 1180591620717411303424",
        );
    }

    #[test]
    fn comparison() {
        check(
            "(= 1 1 1) => #t | (= 1 1.0) => #t | (apply = '(1 2)) => #f | (= 5) => #t
             (< 1 2 3) => #t | (< 1 3 2) => #f | (< 1) => #t | (apply < '(1 2)) => #t | (< 1 1.5 2) => #t
             (> 3 2 1) => #t | (apply > '(1 2)) => #f | (<= 1 1 2) => #t | (>= 2 2 3) => #f
             (apply >= '(2 2)) => #t | (apply = (list +nan.0 +nan.0)) => #f
             (apply < (list (expt 2 70) (expt 2 71))) => #t
             (apply = (list (expt 2 70) (inexact (expt 2 70)))) => #t",
        );
    }

    #[test]
    fn integer_division() {
        check(
            "(quotient 17 5) => 3 | (remainder -17 5) => -2 | (modulo -17 5) => 3
             (truncate-quotient -17 5) => -3 | (truncate-remainder 17 -5) => 2
             (floor-quotient -17 5) => -4 | (floor-remainder 17 -5) => -3
             (quotient (expt 10 20) 7) => 14285714285714285714 | (modulo 17.0 5) => 2.0
             (quotient -4611686018427387904 -1) => 4611686018427387904
             (gcd) => 0 | (gcd 12 18) => 6 | (gcd -12 18 8) => 2 | (gcd 4.0 6) => 2.0
             (lcm) => 1 | (lcm 4 6) => 12 | (lcm -4 6) => 12 | (lcm 0 5) => 0",
        );
    }

    #[test]
    fn powers_and_roots() {
        check(
            "(expt 2 10) => 1024 | (expt 0 0) => 1 | (expt 0 5) => 0 | (expt -2 3) => -8
             (expt 2 100) => 1267650600228229401496703205376 | (expt -1 (expt 10 30)) => 1 | (expt -1 (+ (expt 10 30) 1)) => -1 | (expt 1 (expt 10 30)) => 1
             (expt 2 -2) => 1/4 | (expt 10 -3) => 1/1000 | (expt 2/3 3) => 8/27 | (expt 2/3 -2) => 9/4 | (sqrt 4/9) => 2/3 | (sqrt 1/2) => 0.7071067811865476 | (expt 2.0 3) => 8.0 | (expt 4 0.5) => 2.0
             (expt 0.0 0) => 1.0
             (sqrt 16) => 4 | (sqrt 0) => 0 | (sqrt 2) => 1.4142135623730951 | (sqrt 16.0) => 4.0
             (sqrt (expt 10 40)) => 100000000000000000000 | (exact? (sqrt (+ (expt 10 40) 1))) => #f
             (= (sqrt (+ (expt 10 40) 1)) 1e20) => #t
             (%exact-integer-sqrt 17) => 4 | (%exact-integer-sqrt 0) => 0
             (%exact-integer-sqrt (expt 10 41)) => 316227766016837933199
             (exp 0) => 1.0 | (log 1) => 0.0 | (log 8 2) => 3.0 | (log 100 10) => 2.0
             (< 1386.29 (log (expt 2 2000)) 1386.3) => #t
             (sin 0) => 0.0 | (cos 0) => 1.0 | (tan 0) => 0.0 | (asin 1) => 1.5707963267948966
             (acos 1) => 0.0 | (atan 1) => 0.7853981633974483 | (atan 1 1) => 0.7853981633974483
             (atan 0 -1) => 3.141592653589793",
        );
    }

    #[test]
    fn exactness_and_rounding() {
        check(
            "(exact 2.0) => 2 | (exact 5) => 5 | (exact -0.0) => 0 | (exact 1e20) => 100000000000000000000
             (inexact->exact 3.0) => 3 | (inexact 1) => 1.0 | (exact->inexact 7) => 7.0 | (inexact 2.5) => 2.5
             (inexact (+ (expt 2 53) 1)) => 9007199254740992.0 | (inexact (+ (expt 2 53) 3)) => 9007199254740996.0
             (exact? (+ 1 2.0)) => #f | (exact? (apply + '(1 2))) => #t
             (floor 2.5) => 2.0 | (floor -3.5) => -4.0 | (ceiling 2.1) => 3.0 | (round 2.5) => 2.0
             (round 3.5) => 4.0 | (round -2.5) => -2.0 | (round 7) => 7 | (truncate -2.7) => -2.0
             (floor (expt 2 70)) => 1180591620717411303424
             (numerator 5) => 5 | (denominator 5) => 1 | (numerator 6.0) => 6.0 | (denominator 6.0) => 1.0
             (numerator 0.75) => 3.0 | (denominator 0.75) => 4.0
             (numerator 6/4) => 3 | (denominator 6/4) => 2 | (numerator -1/2) => -1 | (exact 2.5) => 5/2 | (exact 0.1) => 3602879701896397/36028797018963968
             (floor 7/2) => 3 | (ceiling 7/2) => 4 | (round 7/2) => 4 | (round 5/2) => 2 | (round -7/2) => -4 | (truncate -7/2) => -3 | (floor -7/2) => -4
             (rationalize 1/3 1/100) => 1/3 | (rationalize (exact .3) 1/10) => 1/3 | (rationalize .3 1/10) => 0.3333333333333333 | (rationalize 3 0) => 3 | (rationalize -5/7 0) => -5/7
             (< 1/3 0.34 1/2) => #t | (> 1/2 0.34 1/3) => #t | (= 1/2 0.5) => #t | (eqv? 1/2 (/ 2 4)) => #t | (eqv? 1/2 0.5) => #f | (max 1/2 1/3) => 1/2 | (max 1/2 0.1) => 0.5
             (integer? 4/2) => #t | (integer? 1/2) => #f | (exact-integer? 1/2) => #f | (rational? 1/2) => #t | (exact? 1/2) => #t | (abs -1/2) => 1/2 | (number->string 3/4 2) => \"11/100\"",
        );
    }

    #[test]
    fn predicates() {
        check(
            r#"(number? 1) => #t | (number? 'a) => #f | (complex? 1.5) => #t | (real? (expt 2 70)) => #t
               (rational? 1.5) => #t | (rational? +inf.0) => #f | (rational? +nan.0) => #f | (rational? "x") => #f
               (integer? 2.0) => #t | (integer? 2.5) => #f | (integer? 'a) => #f
               (exact? 1) => #t | (inexact? 1.0) => #t | (exact-integer? 5) => #t | (exact-integer? 5.0) => #f
               (exact-rational? 5) => #t | (exact-rational? 0.5) => #f | (exact-rational? 1/2) => #t
               (nan? +nan.0) => #t | (nan? 1) => #f | (infinite? -inf.0) => #t | (infinite? 1.0) => #f
               (finite? +inf.0) => #f | (finite? 1) => #t
               (zero? 0) => #t | (apply zero? '(0.0)) => #t | (apply zero? (list +nan.0)) => #f | (apply zero? '(1)) => #f
               (positive? 5) => #t | (positive? +nan.0) => #f | (negative? (- (expt 2 70))) => #t | (negative? 0) => #f
               (odd? 3) => #t | (odd? -3) => #t | (even? 0) => #t | (odd? 3.0) => #t
               (even? (expt 2 70)) => #t | (odd? (+ (expt 2 70) 1)) => #t"#,
        );
    }

    #[test]
    fn text() {
        check(
            r##"(number->string 255 16) => "ff" | (number->string 255) => "255" | (number->string -255 2) => "-11111111"
                (number->string 8 8) => "10" | (number->string 1.5) => "1.5"
                (number->string (expt 2 70) 16) => "400000000000000000"
                (string->number "#xff") => 255 | (string->number "abc") => #f | (string->number "ff" 16) => 255
                (string->number "1e3") => 1000.0 | (string->number "-17") => -17 | (string->number "1/2") => 1/2
                (string->number "100000000000000000000") => 100000000000000000000"##,
        );
    }

    #[test]
    fn errors() {
        check_err(
            r#"(+ 1 "a") => +: expected a number, got a string | (apply + '(1 "a")) => +: expected a number, got a string
               (apply + '(1 2 "a")) => +: expected a number | (- 'a) => -: expected a number
               (* 2 'a 3) => *: expected a number | (/ 1 0) => /: division by zero
               (apply / '(5 0)) => /: division by zero | (/ 0) => /: division by zero
               (quotient 1 0) => quotient: division by zero | (modulo 1.5 2) => modulo
               (< 2 1 'x) => <: expected a number | (max 'a) => max: expected a number
               (gcd 1.5) => gcd: expected an integer | (expt 0 -1) => expt: division by zero
               (< 1 +i) => <: expected a real number | (floor 1+i) => floor: expected a real number
               (exact +inf.0) => exact: no exact representation of +inf.0
               (inexact->exact +nan.0) => inexact->exact: no exact representation of +nan.0
               (make-rectangular 'a 1) => make-rectangular: expected a real number
               (%exact-integer-sqrt -1) => %exact-integer-sqrt: expected a non-negative exact integer
               (%exact-integer-sqrt 4.0) => %exact-integer-sqrt | (exact? 'a) => exact?: expected a number
               (nan? "x") => nan?: expected a number | (odd? 1.5) => odd?: expected an integer
               (numerator +inf.0) => numerator: expected a rational number
               (number->string 1.5 16) => number->string | (number->string 10 3) => radix
               (string->number 5) => string->number: expected a string | (floor 'a) => floor: expected a number"#,
        );
    }
}
