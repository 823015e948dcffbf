//! Exact numbers: a rust_decimal when the value terminates, an exact i128 fraction when it does not.
//!
//! Design notes:
//! - Every operation is exact or fails: there is no rounding anywhere except in the explicitly
//!   rounding functions ([`Num::round_to`], [`Num::format_fixed`], [`Num::to_decimal_lossy`]).
//! - `Dec op Dec` takes a fast path on the decimals' i128 mantissas (the same aligned-mantissa
//!   arithmetic rust_decimal does, but refusing instead of rounding when the result would need more
//!   than 96 bits or 28 decimal places). When the fast path refuses, the operation is redone on
//!   fractions (sign + `u128` numerator and denominator, gcd-reduced) and the result is brought back
//!   to canonical form: a `Dec` when the reduced denominator is `2^a·5^b` and the value fits a
//!   Decimal exactly, a `Rat` otherwise.
//! - `Dec` values are not forced to the minimal scale (`750.00` stays `750.00`), but equality,
//!   ordering and hashing are by value (`750.00 == 750`, both hash the same). Negative zero is never
//!   produced.
//! - Overflow is reported as [`ArithError::Overflow`]: when the exact result has neither a Decimal
//!   form nor an i128 fraction form, and (for additions and subtractions of fractions only) when an
//!   intermediate cross product exceeds 128 bits. Nothing panics, whatever the input.
//! - `Rat` values built by hand that break the invariant (not reduced, negative or zero denominator,
//!   a value that has a Decimal form) are read as the fraction they spell (a zero denominator is
//!   read as 1) and are canonicalised by the next operation.

mod arith;
#[cfg(test)]
mod tests;

pub(crate) use arith::gcd64;
use arith::*;
use rust_decimal::{Decimal, RoundingStrategy};
use std::cmp::Ordering;

/// Why an exact operation could not be carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithError {
    Overflow,
    DivisionByZero,
    /// `round_to` was given a step that is not a positive power of ten (`0.01`, `1`, `10`, ...).
    InvalidStep,
}

impl std::fmt::Display for ArithError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ArithError::Overflow => {
                "arithmetic overflow: the exact result is too large to represent"
            }
            ArithError::DivisionByZero => "division by zero",
            ArithError::InvalidStep => {
                "rounding step must be a positive power of ten (0.01, 1, 10, ...)"
            }
        })
    }
}

impl std::error::Error for ArithError {}

/// An exact rational number. Invariant: `Rat` is used only when the value has no exact `Decimal` form
/// (its reduced denominator has a prime factor other than 2 and 5, or it would need more than 28 digits).
#[derive(Debug, Clone)]
pub enum Num {
    Dec(Decimal),
    /// numerator, denominator: reduced, denominator > 1.
    Rat(i128, i128),
}

// ---------------------------------------------------------------------------------------------
// Num
// ---------------------------------------------------------------------------------------------

impl Num {
    pub const ZERO: Num = Num::Dec(Decimal::ZERO);
    pub fn from_decimal(d: Decimal) -> Num {
        if d.is_zero() {
            Num::ZERO
        } else {
            Num::Dec(d)
        }
    }
    pub fn from_i64(i: i64) -> Num {
        Num::Dec(Decimal::from(i))
    }
    /// The exact value `n / d` in canonical form. `DivisionByZero` when `d == 0`; `Overflow` when the
    /// value has neither a Decimal form nor a reduced i128 fraction form (e.g. an integer of 2^96 or
    /// more, or `i128::MIN / 3`).
    pub fn from_i128_ratio(n: i128, d: i128) -> Result<Num, ArithError> {
        if d == 0 {
            return Err(ArithError::DivisionByZero);
        }
        canon((n < 0) != (d < 0), n.unsigned_abs(), d.unsigned_abs())
    }
    /// Parses `12.34`, `-5`, `1e3` is rejected; also an exact fraction `1559.99/3`.
    ///
    /// Grammar (no whitespace anywhere: callers trim): a decimal is `[+-]digits[.digits]` (so `.5`,
    /// `1.`, `+`, `-`, exponents and the empty string are rejected); a plain decimal is accepted iff
    /// its value has an exact rust_decimal form (at most 28 places once trailing zeros are dropped, a
    /// mantissa below 2^96: more than 28 significant digits is rejected unless the value still fits,
    /// which allows some 29-digit integers). A fraction is `X/Y` with `X`, `Y` such decimals (each up
    /// to 38 digits), `Y` non-zero, and the exact quotient representable; the result is canonical
    /// (`1/2` parses to `0.5`). Everything [`Display`](std::fmt::Display) prints parses back.
    pub fn parse(s: &str) -> Option<Num> {
        match s.split_once('/') {
            None => parse_plain(s),
            Some((x, y)) => {
                let (xn, xm, xs) = parse_literal(x, true)?;
                let (yn, ym, ys) = parse_literal(y, true)?;
                if ym == 0 {
                    return None;
                }
                let fx = Frac {
                    neg: xn,
                    n: xm,
                    d: POW10[xs as usize],
                };
                let fy = Frac {
                    neg: yn,
                    n: ym,
                    d: POW10[ys as usize],
                };
                frac_div(fx, fy).ok()
            }
        }
    }
    pub fn checked_add(&self, o: &Num) -> Result<Num, ArithError> {
        if let (Num::Dec(a), Num::Dec(b)) = (self, o) {
            if let Some(r) = dec_add(a, b, false) {
                return Ok(Num::Dec(r));
            }
        }
        frac_add(Frac::of(self), Frac::of(o))
    }
    pub fn checked_sub(&self, o: &Num) -> Result<Num, ArithError> {
        if let (Num::Dec(a), Num::Dec(b)) = (self, o) {
            if let Some(r) = dec_add(a, b, true) {
                return Ok(Num::Dec(r));
            }
        }
        let mut f = Frac::of(o);
        f.neg = !f.neg;
        frac_add(Frac::of(self), f)
    }
    pub fn checked_mul(&self, o: &Num) -> Result<Num, ArithError> {
        if let (Num::Dec(a), Num::Dec(b)) = (self, o) {
            if let Some(r) = dec_mul(a, b) {
                return Ok(Num::Dec(r));
            }
        }
        frac_mul(Frac::of(self), Frac::of(o))
    }
    pub fn checked_div(&self, o: &Num) -> Result<Num, ArithError> {
        if o.is_zero() {
            return Err(ArithError::DivisionByZero);
        }
        if let (Num::Dec(a), Num::Dec(b)) = (self, o) {
            if let Some(r) = dec_div_exact(a, b) {
                return Ok(Num::Dec(r));
            }
        }
        frac_div(Frac::of(self), Frac::of(o))
    }
    /// `self * i`, exactly.
    pub fn checked_mul_i64(&self, i: i64) -> Result<Num, ArithError> {
        self.checked_mul(&Num::from_i64(i))
    }
    pub fn neg(&self) -> Num {
        match *self {
            Num::Dec(d) => Num::from_decimal(-d),
            Num::Rat(n, d) => match n.checked_neg() {
                Some(m) => Num::Rat(m, d),
                // Only reachable for a hand-built Rat(i128::MIN, d).
                None => match d.checked_neg() {
                    Some(0) => Num::Rat(n, -1), // Rat(MIN, 0) reads as MIN/1
                    Some(e) => Num::Rat(n, e),
                    None => Num::from_i64(-1), // MIN/MIN
                },
            },
        }
    }
    pub fn abs(&self) -> Num {
        match self {
            Num::Dec(d) => Num::Dec(d.abs()),
            Num::Rat(..) => {
                if self.is_negative() {
                    self.neg()
                } else {
                    self.clone()
                }
            }
        }
    }
    pub fn is_zero(&self) -> bool {
        match self {
            Num::Dec(d) => d.is_zero(),
            Num::Rat(n, _) => *n == 0,
        }
    }
    /// Strictly below zero.
    pub fn is_negative(&self) -> bool {
        Frac::of(self).signum() < 0
    }
    /// Strictly above zero.
    pub fn is_positive(&self) -> bool {
        Frac::of(self).signum() > 0
    }
    /// Whether the value is a whole number.
    pub fn is_integer(&self) -> bool {
        match self {
            Num::Dec(d) => d.is_integer(),
            Num::Rat(..) => {
                let f = Frac::of(self);
                f.n.checked_rem(f.d) == Some(0)
            }
        }
    }
    /// The value as an `i64`, if it is a whole number in range (no rounding).
    pub fn to_i64(&self) -> Option<i64> {
        let f = Frac::of(self);
        if f.n.checked_rem(f.d) != Some(0) {
            return None;
        }
        let q = f.n / f.d;
        if q > 1u128 << 63 {
            return None;
        }
        i64::try_from(signed(f.neg, q)).ok()
    }
    /// Rounds half away from zero to a multiple of `step` (`0.01`, `1`, `0.1`, ... a power of ten).
    ///
    /// Exact on fractions (`520/3` → `173.33`, `1/8` at `0.01` → `0.13`). `InvalidStep` when `step` is
    /// not a positive power of ten (`10^-28 ..= 10^28`); `Overflow` when the result does not fit.
    pub fn round_to(&self, step: Decimal) -> Result<Num, ArithError> {
        let e = step_exponent(step)?;
        if let (Num::Dec(d), true) = (self, e <= 0) {
            let t = (-e) as u32;
            if d.scale() <= t {
                return Ok(self.clone());
            }
            return Ok(Num::from_decimal(d.round_dp_with_strategy(
                t,
                RoundingStrategy::MidpointAwayFromZero,
            )));
        }
        let f = Frac::of(self);
        if e <= 0 {
            let p = POW10[(-e) as usize];
            let (q, r) = ov(muldiv_rem(f.n, p, f.d))?;
            let q = if r >= f.d - r {
                ov(q.checked_add(1))?
            } else {
                q
            };
            canon(f.neg, q, p)
        } else {
            // value = i + r1/d with i = q*p + r2; the fraction of value/p is (r2 + r1/d)/p, which is
            // at least 1/2 exactly when r2 >= p/2 (p is even and r2 an integer).
            let p = POW10[e as usize];
            let i = f.n / f.d;
            let (q, r2) = (i / p, i % p);
            let q = if r2 >= p / 2 { q + 1 } else { q };
            canon(f.neg, ov(q.checked_mul(p))?, 1)
        }
    }
    /// The exact decimal value, if it has one.
    pub fn to_decimal(&self) -> Option<Decimal> {
        match self {
            Num::Dec(d) => Some(*d),
            Num::Rat(..) => {
                let f = Frac::of(self);
                match canon(f.neg, f.n, f.d) {
                    Ok(Num::Dec(d)) => Some(d),
                    _ => None,
                }
            }
        }
    }
    /// The nearest 28-digit decimal (only for the rhai boundary and display of approximations).
    ///
    /// For a fraction: as many decimal places as fit (up to 28), the last one rounded half away from
    /// zero. A value beyond the Decimal range (only possible for a huge fraction) saturates to
    /// `Decimal::MAX` / `Decimal::MIN`.
    pub fn to_decimal_lossy(&self) -> Decimal {
        if let Num::Dec(d) = self {
            return *d;
        }
        let f = Frac::of(self);
        let saturated = if f.neg { Decimal::MIN } else { Decimal::MAX };
        let k = decimal_digits(f.n / f.d);
        if k > 29 {
            return saturated;
        }
        let mut s = MAX_SCALE.min(29 - k);
        loop {
            if let Some((q, r)) = muldiv_rem(f.n, POW10[s as usize], f.d) {
                let q = if r >= f.d - r { q.saturating_add(1) } else { q };
                if q <= DEC_MAX_MANT {
                    return Decimal::from_i128_with_scale(signed(f.neg, q), s);
                }
            }
            if s == 0 {
                return saturated;
            }
            s -= 1;
        }
    }
    /// Formats rounded half away from zero to `dp` decimals, always showing `dp` digits (`520.00`).
    ///
    /// Never prints `-0.00`: a value that rounds to zero prints without a sign.
    pub fn format_fixed(&self, dp: u32) -> String {
        self.format_fixed_exact(dp)
            .unwrap_or_else(|| self.format_fixed_frac(dp))
    }

    /// [`format_fixed`](Self::format_fixed) of a decimal with at most `dp` places (no rounding),
    /// written digit by digit (`eval` writes one per amount and row); `None` for other numbers.
    fn format_fixed_exact(&self, dp: u32) -> Option<String> {
        let Num::Dec(d) = self else {
            return None;
        };
        if d.scale() > dp || dp > 18 {
            return None;
        }
        let m = d.mantissa();
        // In 64 bits (no 128-bit division): the amounts of a row fit.
        let scaled = u64::try_from(m.unsigned_abs())
            .ok()?
            .checked_mul(10u64.pow(dp - d.scale()))?;
        let p = 10u64.pow(dp);
        let (int, frac) = (scaled / p, scaled % p);
        let mut out = String::with_capacity(24);
        if m < 0 && scaled != 0 {
            out.push('-');
        }
        push_digits(&mut out, int, 1);
        if dp > 0 {
            out.push('.');
            push_digits(&mut out, frac, dp as usize);
        }
        Some(out)
    }

    /// [`format_fixed`](Self::format_fixed) of any number, through its fraction.
    fn format_fixed_frac(&self, dp: u32) -> String {
        let f = Frac::of(self);
        let mut digits: Vec<u8> = (f.n / f.d).to_string().into_bytes();
        let mut int_len = digits.len();
        let mut r = f.n % f.d;
        let mut produced = 0u32;
        while produced < dp && r != 0 {
            // r < d, so the quotient is a single digit and always fits.
            let (q, rr) = muldiv_rem(r, 10, f.d).unwrap_or((0, 0));
            digits.push(b'0' + q as u8);
            r = rr;
            produced += 1;
        }
        if produced < dp {
            digits.resize(digits.len() + (dp - produced) as usize, b'0');
        }
        if r != 0 && r >= f.d - r {
            let mut i = digits.len();
            loop {
                if i == 0 {
                    digits.insert(0, b'1');
                    int_len += 1;
                    break;
                }
                i -= 1;
                if digits[i] == b'9' {
                    digits[i] = b'0';
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
        let nonzero = digits.iter().any(|&c| c != b'0');
        let mut out = String::with_capacity(digits.len() + 2);
        if f.neg && nonzero {
            out.push('-');
        }
        // digits are ASCII
        out.push_str(std::str::from_utf8(&digits[..int_len]).unwrap_or(""));
        if dp > 0 {
            out.push('.');
            out.push_str(std::str::from_utf8(&digits[int_len..]).unwrap_or(""));
        }
        out
    }
}

/// Appends the digits of `n`, with leading zeros to at least `width` digits.
fn push_digits(out: &mut String, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    while n > 0 {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = i.min(buf.len() - width.min(buf.len()));
    for &c in &buf[start..] {
        out.push(c as char);
    }
}

impl From<Decimal> for Num {
    fn from(d: Decimal) -> Num {
        Num::from_decimal(d)
    }
}

impl From<i64> for Num {
    fn from(i: i64) -> Num {
        Num::from_i64(i)
    }
}

impl PartialEq for Num {
    fn eq(&self, o: &Num) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Num {}
impl PartialOrd for Num {
    fn partial_cmp(&self, o: &Num) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Num {
    /// Exact and total: decimals compare through rust_decimal (exact), anything else by a 256-bit
    /// cross multiplication of the fractions, which cannot overflow.
    fn cmp(&self, o: &Num) -> Ordering {
        if let (Num::Dec(a), Num::Dec(b)) = (self, o) {
            return a.cmp(b);
        }
        let (a, b) = (Frac::of(self), Frac::of(o));
        let (sa, sb) = (a.signum(), b.signum());
        if sa != sb || sa == 0 {
            return sa.cmp(&sb);
        }
        let ord = mul_wide(a.n, b.d).cmp(&mul_wide(b.n, a.d));
        if sa < 0 {
            ord.reverse()
        } else {
            ord
        }
    }
}

impl std::hash::Hash for Num {
    /// Consistent with `Eq`: a value with a Decimal form hashes as its normalised decimal (however it
    /// is held), any other value as its reduced fraction.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Num::Dec(d) => {
                0u8.hash(state);
                d.hash(state); // rust_decimal hashes the normalised value (and -0 as 0)
            }
            Num::Rat(..) => {
                let f = Frac::of(self);
                match canon(f.neg, f.n, f.d) {
                    Ok(Num::Dec(d)) => {
                        0u8.hash(state);
                        d.hash(state);
                    }
                    Ok(Num::Rat(n, d)) => {
                        1u8.hash(state);
                        n.hash(state);
                        d.hash(state);
                    }
                    Err(_) => {
                        let r = f.reduced();
                        2u8.hash(state);
                        (r.signum() < 0).hash(state);
                        r.n.hash(state);
                        r.d.hash(state);
                    }
                }
            }
        }
    }
}

impl std::fmt::Display for Num {
    /// The exact value: a normalised decimal (`520`, `173.5`), or `n/d` for a fraction.
    ///
    /// A fraction prints as its reduced integer numerator and denominator (`1559.99/3` prints as
    /// `155999/300`), which [`Num::parse`] reads back. With a precision (`{:.2}`), prints
    /// [`Num::format_fixed`] instead.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = f.precision() {
            return f.write_str(&self.format_fixed(p as u32));
        }
        match self {
            Num::Dec(d) => write!(f, "{}", d.normalize()),
            Num::Rat(n, d) => write!(f, "{n}/{d}"),
        }
    }
}

#[cfg(test)]
mod format_fixed_tests {
    use super::*;

    /// The digit-by-digit path writes what the fraction path writes.
    #[test]
    fn exact_decimals_are_written_as_the_fraction_path_writes_them() {
        let mut seen = 0;
        for m in [
            0i64,
            1,
            -1,
            5,
            -5,
            9,
            10,
            99,
            100,
            -100,
            123456,
            -123456,
            1000001,
            i64::MAX,
            i64::MIN + 1,
        ] {
            for scale in 0..=4 {
                for dp in 0..=4 {
                    let n = Num::Dec(Decimal::new(m, scale));
                    if let Some(fast) = n.format_fixed_exact(dp) {
                        assert_eq!(fast, n.format_fixed_frac(dp), "{m}e-{scale} to {dp} places");
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen > 100);
    }
}
