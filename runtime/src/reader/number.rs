//! Number syntax (R7RS 7.1.1 `<number>`): reals and complex numbers.
//!
//! The entry point is [`parse_number`] (`string->number`); the reader uses
//! `classify` so that it can tell "not a number at all" (the token is a
//! symbol) apart from "a number we refuse" (complex syntax, `1/0`).
//!
//! Inexact results are always correctly rounded: decimal text goes through
//! Rust's `str::parse::<f64>` (which is correctly rounded) after we have
//! validated the grammar ourselves, and exact-to-inexact conversion of big
//! integers and ratios goes through `ratio_to_f64`.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::datum::Number;

/// Largest decimal exponent we are willing to expand into an exact number.
/// `#e1e400` must work, but `#e1e999999999` must not eat the machine.
const MAX_EXACT_EXPONENT: i64 = 100_000;

/// What a token turned out to be, as far as number syntax is concerned.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Classified {
    /// A number.
    Num(Number),
    /// An exact rational with a zero denominator (`1/0`).
    DivByZero,
    /// Not number syntax at all.
    NotNumber,
}

/// The exactness requested by a `#e` / `#i` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exactness {
    Default,
    Exact,
    Inexact,
}

/// Why a real failed to parse; only the reader cares about the difference.
enum RealErr {
    DivByZero,
    NotNumber,
}

/// Parse a number in the default `radix` (2, 8, 10 or 16), honouring `#x #b
/// #o #d #e #i` prefixes (at most one radix and one exactness prefix, in
/// either order, any case). Returns `None` if `s` is not the syntax of a
/// number. This is `string->number`.
pub fn parse_number(s: &str, radix: u32) -> Option<Number> {
    match classify(s, radix) {
        Classified::Num(n) => Some(n),
        _ => None,
    }
}

/// Like [`parse_number`], but says why a non-number was rejected.
pub(crate) fn classify(s: &str, radix: u32) -> Classified {
    if !matches!(radix, 2 | 8 | 10 | 16) {
        return Classified::NotNumber;
    }
    let Some((body, radix, exactness)) = strip_prefixes(s, radix) else {
        return Classified::NotNumber;
    };
    match parse_real(body, radix, exactness) {
        Ok(n) => Classified::Num(n),
        Err(RealErr::DivByZero) => Classified::DivByZero,
        Err(RealErr::NotNumber) => match parse_complex(body, radix, exactness) {
            Some(n) => Classified::Num(n),
            None => Classified::NotNumber,
        },
    }
}

/// Split off the `#` prefixes, returning the body, the radix in force and
/// the exactness requested.
fn strip_prefixes(mut s: &str, mut radix: u32) -> Option<(&str, u32, Exactness)> {
    let mut seen_radix = false;
    let mut exactness = Exactness::Default;
    while let Some(rest) = s.strip_prefix('#') {
        let mut chars = rest.chars();
        let c = chars.next()?.to_ascii_lowercase();
        match c {
            'x' | 'b' | 'o' | 'd' if !seen_radix => {
                seen_radix = true;
                radix = match c {
                    'x' => 16,
                    'b' => 2,
                    'o' => 8,
                    _ => 10,
                };
            }
            'e' | 'i' if exactness == Exactness::Default => {
                exactness = if c == 'e' {
                    Exactness::Exact
                } else {
                    Exactness::Inexact
                };
            }
            _ => return None,
        }
        s = chars.as_str();
    }
    Some((s, radix, exactness))
}

/// `<real R>`: an optionally signed `<ureal R>`, or `+inf.0` etc.
fn parse_real(s: &str, radix: u32, exactness: Exactness) -> Result<Number, RealErr> {
    // Slicing at 1 is safe: the first byte is an ASCII sign.
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    // `<infnan>` needs its sign: a bare `inf.0` is an identifier.
    if unsigned.len() != s.len() {
        let special = if unsigned.eq_ignore_ascii_case("inf.0") {
            Some(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        } else if unsigned.eq_ignore_ascii_case("nan.0") {
            Some(f64::NAN)
        } else {
            None
        };
        if let Some(x) = special {
            return if exactness == Exactness::Exact {
                Err(RealErr::NotNumber)
            } else {
                Ok(Number::Flonum(x))
            };
        }
    }

    if let Some((num, den)) = unsigned.split_once('/') {
        let (Some(n), Some(d)) = (parse_uinteger(num, radix), parse_uinteger(den, radix)) else {
            return Err(RealErr::NotNumber);
        };
        let n = if negative { -n } else { n };
        let exact = Number::from_ratio(n, d).ok_or(RealErr::DivByZero)?;
        return Ok(apply_exactness(exact, exactness));
    }

    if let Some(n) = parse_uinteger(unsigned, radix) {
        let n = if negative { -n } else { n };
        return Ok(apply_exactness(Number::from_bigint(n), exactness));
    }

    if radix == 10
        && let Some(dec) = Decimal::parse(unsigned)
    {
        return dec.to_number(negative, exactness).ok_or(RealErr::NotNumber);
    }
    Err(RealErr::NotNumber)
}

/// `<uinteger R>`: one or more digits of the radix.
fn parse_uinteger(s: &str, radix: u32) -> Option<BigInt> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Most literals are small: avoid the big-integer parser for them.
    if let Ok(v) = u64::from_str_radix(s, radix) {
        return Some(BigInt::from(v));
    }
    BigInt::parse_bytes(s.as_bytes(), radix)
}

/// Turn an exact value into the representation the prefix asked for.
fn apply_exactness(exact: Number, exactness: Exactness) -> Number {
    match exactness {
        Exactness::Inexact => Number::Flonum(exact.to_f64()),
        _ => exact,
    }
}

/// The pieces of a radix-10 `<decimal>`: `digits.digits` with an exponent.
struct Decimal<'a> {
    int: &'a str,
    frac: &'a str,
    exp: &'a str,
}

impl<'a> Decimal<'a> {
    /// Validate `<decimal 10>` (sign already removed). At least one mantissa
    /// digit; the exponent, if any, is a marker (`e`, or R7RS's `s f d l`
    /// for the precisions imp reads all as double), an optional sign and
    /// digits.
    fn parse(s: &'a str) -> Option<Decimal<'a>> {
        const MARKERS: [char; 10] = ['e', 'E', 's', 'S', 'f', 'F', 'd', 'D', 'l', 'L'];
        let (mantissa, exp) = match s.find(MARKERS) {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => (s, ""),
        };
        let has_exp = mantissa.len() != s.len();
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        if has_exp {
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !all_digits(digits) {
                return None;
            }
        }
        Some(Decimal { int, frac, exp })
    }

    fn to_number(&self, negative: bool, exactness: Exactness) -> Option<Number> {
        if exactness != Exactness::Exact {
            // Rebuild a string in the one shape Rust's parser must accept,
            // so that nothing like `inf` or `1_0` could slip through.
            let text = format!(
                "{}{}.{}e{}",
                if negative { "-" } else { "" },
                if self.int.is_empty() { "0" } else { self.int },
                if self.frac.is_empty() { "0" } else { self.frac },
                if self.exp.is_empty() { "0" } else { self.exp },
            );
            return text.parse::<f64>().ok().map(Number::Flonum);
        }
        let mut digits = String::with_capacity(self.int.len() + self.frac.len());
        digits.push_str(self.int);
        digits.push_str(self.frac);
        let mut mantissa = parse_uinteger(&digits, 10)?;
        if mantissa.is_zero() {
            return Some(Number::Fixnum(0));
        }
        if negative {
            mantissa = -mantissa;
        }
        let exp: i64 = if self.exp.is_empty() {
            0
        } else {
            // An absurdly long exponent does not fit: refuse rather than
            // build an absurdly large number.
            self.exp.parse().ok()?
        };
        let frac_len = i64::try_from(self.frac.len()).ok()?;
        let scale = exp.checked_sub(frac_len)?;
        if scale.abs() > MAX_EXACT_EXPONENT {
            return None;
        }
        let power = num_traits::pow(
            BigInt::from(10),
            usize::try_from(scale.unsigned_abs()).ok()?,
        );
        if scale >= 0 {
            Some(Number::from_bigint(mantissa * power))
        } else {
            Number::from_ratio(mantissa, power)
        }
    }
}

/// Complex-number syntax (prefixes already removed): rectangular `a+bi`,
/// `+bi`, `a+i`, `+i`, or polar `m@a`, with the exactness prefix applied
/// to both parts. `None` if `s` is not such syntax (or is polar under
/// `#e` with an angle other than the exact 0).
fn parse_complex(s: &str, radix: u32, exactness: Exactness) -> Option<Number> {
    let real = |t: &str| parse_real(t, radix, exactness).ok();
    if let Some((mag, angle)) = s.split_once('@') {
        let (m, a) = (real(mag)?, real(angle)?);
        if a == Number::Fixnum(0) {
            return Some(m);
        }
        if exactness == Exactness::Exact {
            return None;
        }
        let (m, a) = (m.to_f64(), a.to_f64());
        return Some(Number::complex(
            Number::Flonum(m * a.cos()),
            Number::Flonum(m * a.sin()),
        ));
    }
    let z = s.strip_suffix(['i', 'I'])?;
    // The imaginary part starts at a sign, and can itself hold at most one
    // more (in its exponent), so only the last two signs are candidates;
    // a wrong split, as in `1e` + `+2`, simply fails to parse as reals.
    let signs: Vec<usize> = z
        .char_indices()
        .filter(|&(_, c)| c == '+' || c == '-')
        .map(|(k, _)| k)
        .collect();
    signs.iter().rev().take(2).find_map(|&k| {
        let (re, im) = z.split_at(k);
        let re = if re.is_empty() {
            Some(apply_exactness(Number::Fixnum(0), exactness))
        } else {
            real(re)
        };
        let im = match im {
            "+" => Some(apply_exactness(Number::Fixnum(1), exactness)),
            "-" => Some(apply_exactness(Number::Fixnum(-1), exactness)),
            im => real(im),
        };
        Some(Number::complex(re?, im?))
    })
}

impl Number {
    /// The exact integer `n`, as a fixnum when it fits.
    pub fn from_bigint(n: BigInt) -> Number {
        match n.to_i64() {
            Some(v) => Number::Fixnum(v),
            None => Number::Big(n),
        }
    }

    /// The exact rational `n/d` in lowest terms (an integer when `d`
    /// divides `n`); `None` when `d` is zero.
    pub fn from_ratio(n: BigInt, d: BigInt) -> Option<Number> {
        if d.is_zero() {
            return None;
        }
        let g = crate::num::gcd(&n, &d);
        let (mut n, mut d) = (n / &g, d / &g);
        if d.is_negative() {
            n = -n;
            d = -d;
        }
        Some(if d.is_one() {
            Number::from_bigint(n)
        } else {
            Number::Ratio(n, d)
        })
    }

    /// The nearest `f64` (round half to even), as `exact->inexact` needs.
    pub fn to_f64(&self) -> f64 {
        match self {
            // `as` rounds to nearest for integer-to-float casts.
            Number::Fixnum(v) => *v as f64,
            Number::Big(n) => ratio_to_f64(n, &BigInt::one()),
            Number::Ratio(n, d) => ratio_to_f64(n, d),
            Number::Flonum(x) => *x,
            Number::Complex(re, _) => re.to_f64(),
        }
    }

    /// The number `re + im i`: `re` itself when `im` is the exact 0.
    pub fn complex(re: Number, im: Number) -> Number {
        if im == Number::Fixnum(0) {
            re
        } else {
            Number::Complex(Box::new(re), Box::new(im))
        }
    }
}

/// The correctly rounded (nearest, ties to even) `f64` for `n/d`, `d > 0`.
///
/// Dividing two `f64` approximations would round twice, so instead take an
/// integer quotient with at least 55 significant bits, remember whether the
/// division was exact (the sticky bit), and round that by hand.
pub(crate) fn ratio_to_f64(n: &BigInt, d: &BigInt) -> f64 {
    if n.is_zero() || d.is_zero() {
        return 0.0;
    }
    let negative = n.is_negative() != d.is_negative();
    let (n, d) = (n.abs(), d.abs());
    let sign = if negative { -1.0 } else { 1.0 };
    let (nb, db) = (n.bits() as i64, d.bits() as i64);
    // n/d lies in [2^(e-1), 2^(e+1)): settle the far ranges before
    // shifting by huge amounts.
    let e = nb - db;
    if e > 1024 {
        return sign * f64::INFINITY; // at least 2^1024
    }
    if e < -1075 {
        return sign * 0.0; // below 2^-1075, half the smallest subnormal
    }
    // q = floor(n * 2^s / d) has 55 or 56 bits.
    let s = 55 + db - nb;
    let (q, r) = if s >= 0 {
        (n << (s as usize)).div_rem(&d)
    } else {
        n.div_rem(&(d << ((-s) as usize)))
    };
    let sticky = !r.is_zero();
    let Some(q) = q.to_u64() else {
        return sign * f64::NAN; // unreachable: q < 2^56
    };
    let qb = 64 - i64::from(q.leading_zeros());
    // Keep 53 bits, or fewer when the result is subnormal (its last bit is
    // then worth 2^-1074).
    let drop = (qb - 53).max(s - 1074);
    if drop > 60 {
        return sign * 0.0; // below half the smallest subnormal
    }
    let mut m = q >> drop;
    let rest = q & ((1u64 << drop) - 1);
    let half = 1u64 << (drop - 1);
    if rest > half || (rest == half && (sticky || m & 1 == 1)) {
        m += 1;
    }
    // The value is now m * 2^k with m <= 2^53.
    let mut k = drop - s;
    if m == 1 << 53 {
        m >>= 1;
        k += 1;
    }
    let bits = if m >= 1 << 52 {
        let biased = k + 52 + 1023;
        if biased > 2046 {
            return sign * f64::INFINITY;
        }
        ((biased as u64) << 52) | (m - (1 << 52))
    } else {
        m // subnormal: k is -1074 here
    };
    sign * f64::from_bits(bits)
}
