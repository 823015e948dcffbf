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
// Integer helpers
// ---------------------------------------------------------------------------------------------

/// Largest mantissa magnitude of a Decimal: 2^96 - 1.
const DEC_MAX_MANT: u128 = (1u128 << 96) - 1;
/// Largest Decimal scale.
const MAX_SCALE: u32 = 28;

/// 10^0 ..= 10^38 (10^38 < 2^127).
const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

#[inline]
fn ov<T>(o: Option<T>) -> Result<T, ArithError> {
    o.ok_or(ArithError::Overflow)
}

/// Binary gcd of two u64 (shared with the compiled fast path).
pub(crate) fn gcd64(mut a: u64, mut b: u64) -> u64 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

/// Binary gcd; `gcd(0, x) == x`.
fn gcd(mut a: u128, mut b: u128) -> u128 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    if a == 1 || b == 1 {
        return 1;
    }
    if (a | b) >> 64 == 0 {
        return gcd64(a as u64, b as u64) as u128;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

/// The full 256-bit product `a * b` as `(high, low)` halves.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const M: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & M);
    let (b1, b0) = (b >> 64, b & M);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & M) + (p10 & M);
    let lo = (p00 & M) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// `(floor(a*b/c), a*b mod c)` computed exactly; `None` when `c == 0` or the quotient needs more
/// than 128 bits.
fn muldiv_rem(a: u128, b: u128, c: u128) -> Option<(u128, u128)> {
    if c == 0 {
        return None;
    }
    if let Some(p) = a.checked_mul(b) {
        return Some((p / c, p % c));
    }
    let (hi, lo) = mul_wide(a, b);
    if hi >= c {
        return None;
    }
    // Binary long division of the 256-bit (hi, lo) by c; the running remainder stays below c.
    let mut rem = hi;
    let mut q: u128 = 0;
    for i in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((lo >> i) & 1);
        q <<= 1;
        if carry != 0 || rem >= c {
            rem = rem.wrapping_sub(c);
            q |= 1;
        }
    }
    Some((q, rem))
}

/// Number of decimal digits of `x` (0 for 0).
fn decimal_digits(x: u128) -> u32 {
    let mut k = 0;
    while k < 39 && x >= POW10[k as usize] {
        k += 1;
    }
    k
}

#[inline]
fn signed(neg: bool, m: u128) -> i128 {
    // Callers guarantee m <= i128::MAX.
    if neg {
        -(m as i128)
    } else {
        m as i128
    }
}

// ---------------------------------------------------------------------------------------------
// The fraction path
// ---------------------------------------------------------------------------------------------

/// A fraction with its sign apart: `(-1)^neg · n / d`, `d >= 1`, not necessarily reduced.
#[derive(Clone, Copy, Debug)]
struct Frac {
    neg: bool,
    n: u128,
    d: u128,
}

impl Frac {
    fn of(x: &Num) -> Frac {
        match *x {
            Num::Dec(d) => Frac::of_dec(d),
            Num::Rat(n, d) => {
                let dd = if d == 0 { 1 } else { d.unsigned_abs() };
                Frac {
                    neg: (n < 0) != (d < 0),
                    n: n.unsigned_abs(),
                    d: dd,
                }
            }
        }
    }

    #[inline]
    fn of_dec(d: Decimal) -> Frac {
        // The value, not its representation: without trailing zeros, so that a result (or an
        // overflow) never depends on a decimal's scale (`0.0187694471567700` and `0.01876944715677`
        // added to 276990761176332930656118 once overflowed and once did not).
        let d = if d.scale() > 0 && d.mantissa() % 10 == 0 {
            d.normalize()
        } else {
            d
        };
        let m = d.mantissa();
        Frac {
            neg: m < 0,
            n: m.unsigned_abs(),
            d: POW10[d.scale().min(MAX_SCALE) as usize],
        }
    }

    /// -1, 0 or 1.
    fn signum(&self) -> i8 {
        if self.n == 0 {
            0
        } else if self.neg {
            -1
        } else {
            1
        }
    }

    fn reduced(self) -> Frac {
        let g = gcd(self.n, self.d);
        if g <= 1 {
            self
        } else {
            Frac {
                neg: self.neg,
                n: self.n / g,
                d: self.d / g,
            }
        }
    }
}

/// Canonical form of `(-1)^neg · n / d`.
fn canon(neg: bool, n: u128, d: u128) -> Result<Num, ArithError> {
    if d == 0 {
        return Err(ArithError::DivisionByZero);
    }
    if n == 0 {
        return Ok(Num::ZERO);
    }
    let (n, d) = if d == 1 {
        (n, d)
    } else {
        let g = gcd(n, d);
        (n / g, d / g)
    };
    let twos = d.trailing_zeros();
    let mut rest = d >> twos;
    let mut fives = 0u32;
    while rest % 5 == 0 {
        rest /= 5;
        fives += 1;
    }
    if rest == 1 {
        // Terminating: the minimal scale is max(twos, fives), since n is coprime to d.
        let k = twos.max(fives);
        if k <= MAX_SCALE {
            let mult = POW10[k as usize] / d;
            if let Some(m) = n.checked_mul(mult) {
                if m <= DEC_MAX_MANT {
                    return Ok(Num::Dec(Decimal::from_i128_with_scale(signed(neg, m), k)));
                }
            }
        }
    }
    if d == 1 || n > i128::MAX as u128 || d > i128::MAX as u128 {
        return Err(ArithError::Overflow);
    }
    Ok(Num::Rat(signed(neg, n), d as i128))
}

fn frac_add(a: Frac, b: Frac) -> Result<Num, ArithError> {
    if a.n == 0 {
        return canon(b.neg, b.n, b.d);
    }
    if b.n == 0 {
        return canon(a.neg, a.n, a.d);
    }
    let g = gcd(a.d, b.d);
    let (ad, bd) = (a.d / g, b.d / g);
    let t1 = ov(a.n.checked_mul(bd))?;
    let t2 = ov(b.n.checked_mul(ad))?;
    let den = ov(a.d.checked_mul(bd))?;
    let (neg, n) = if a.neg == b.neg {
        (a.neg, ov(t1.checked_add(t2))?)
    } else if t1 >= t2 {
        (a.neg, t1 - t2)
    } else {
        (b.neg, t2 - t1)
    };
    canon(neg, n, den)
}

fn frac_mul(a: Frac, b: Frac) -> Result<Num, ArithError> {
    if a.n == 0 || b.n == 0 {
        return Ok(Num::ZERO);
    }
    let g1 = gcd(a.n, b.d);
    let g2 = gcd(b.n, a.d);
    let n = ov((a.n / g1).checked_mul(b.n / g2))?;
    let d = ov((a.d / g2).checked_mul(b.d / g1))?;
    canon(a.neg != b.neg, n, d)
}

fn frac_div(a: Frac, b: Frac) -> Result<Num, ArithError> {
    if b.n == 0 {
        return Err(ArithError::DivisionByZero);
    }
    frac_mul(
        a,
        Frac {
            neg: b.neg,
            n: b.d,
            d: b.n,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The decimal fast paths (exact or None)
// ---------------------------------------------------------------------------------------------

#[inline]
fn dec_add(a: &Decimal, b: &Decimal, subtract: bool) -> Option<Decimal> {
    let (mut ma, sa) = (a.mantissa(), a.scale());
    let (mut mb, sb) = (b.mantissa(), b.scale());
    if subtract {
        mb = -mb; // |mb| < 2^96: cannot overflow
    }
    let s = if sa == sb {
        sa
    } else if sa < sb {
        ma = ma.checked_mul(POW10[(sb - sa) as usize] as i128)?;
        sb
    } else {
        mb = mb.checked_mul(POW10[(sa - sb) as usize] as i128)?;
        sa
    };
    let m = ma.checked_add(mb)?;
    if m == 0 {
        return Some(Decimal::ZERO);
    }
    Decimal::try_from_i128_with_scale(m, s).ok()
}

#[inline]
fn dec_mul(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let s = a.scale() + b.scale();
    if s > MAX_SCALE {
        return None;
    }
    let m = a.mantissa().checked_mul(b.mantissa())?;
    if m == 0 {
        return Some(Decimal::ZERO);
    }
    Decimal::try_from_i128_with_scale(m, s).ok()
}

/// `a / b` when `b`'s mantissa divides `a`'s (`b != 0`).
#[inline]
fn dec_div_exact(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let (ma, sa) = (a.mantissa(), a.scale());
    let (mb, sb) = (b.mantissa(), b.scale());
    if mb == 0 || ma % mb != 0 {
        return None;
    }
    let q = ma / mb; // |q| <= |ma| < 2^96
    if q == 0 {
        return Some(Decimal::ZERO);
    }
    if sa >= sb {
        Decimal::try_from_i128_with_scale(q, sa - sb).ok()
    } else {
        let m = q.checked_mul(POW10[(sb - sa) as usize] as i128)?;
        Decimal::try_from_i128_with_scale(m, 0).ok()
    }
}

/// `e` such that `step == 10^e`, or `InvalidStep`.
fn step_exponent(step: Decimal) -> Result<i32, ArithError> {
    if step.is_sign_negative() || step.is_zero() {
        return Err(ArithError::InvalidStep);
    }
    let n = step.normalize();
    let (m, s) = (n.mantissa() as u128, n.scale());
    if s > 0 {
        if m == 1 {
            Ok(-(s as i32))
        } else {
            Err(ArithError::InvalidStep)
        }
    } else {
        (0..=MAX_SCALE)
            .find(|&k| POW10[k as usize] == m)
            .map(|k| k as i32)
            .ok_or(ArithError::InvalidStep)
    }
}

/// A decimal literal `[+-]digits[.digits]`: `(negative, mantissa, scale)`. With `strip`, trailing
/// zeros of the fraction part are dropped first. `None` when malformed or the mantissa exceeds u128
/// or the scale exceeds 38.
fn parse_literal(s: &str, strip: bool) -> Option<(bool, u128, u32)> {
    let b = s.as_bytes();
    let (neg, body) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let (int, frac) = match body.iter().position(|&c| c == b'.') {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut frac = frac.unwrap_or(&[]);
    if body.contains(&b'.') && (frac.is_empty() || !frac.iter().all(u8::is_ascii_digit)) {
        return None;
    }
    if strip {
        while let [rest @ .., b'0'] = frac {
            frac = rest;
        }
    }
    if frac.len() > 38 {
        return None;
    }
    let mut m: u128 = 0;
    for &c in int.iter().chain(frac.iter()) {
        m = m.checked_mul(10)?.checked_add((c - b'0') as u128)?;
    }
    Some((neg, m, frac.len() as u32))
}

fn parse_plain(s: &str) -> Option<Num> {
    let fits = |(neg, m, sc): (bool, u128, u32)| {
        (m <= DEC_MAX_MANT && sc <= MAX_SCALE)
            .then(|| Num::from_decimal(Decimal::from_i128_with_scale(signed(neg, m), sc)))
    };
    match parse_literal(s, false) {
        Some(lit) => fits(lit).or_else(|| fits(parse_literal(s, true)?)),
        // Syntactically valid but too long unstripped (e.g. many trailing zeros): retry stripped.
        None => fits(parse_literal(s, true)?),
    }
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
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};
    use std::str::FromStr;

    fn n(s: &str) -> Num {
        Num::parse(s).unwrap_or_else(|| panic!("parse {s}"))
    }
    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn h(x: &Num) -> u64 {
        let mut s = DefaultHasher::new();
        x.hash(&mut s);
        s.finish()
    }

    #[test]
    fn num_policy_spec_worked_example() {
        let twelve = n("12");
        let dd = n("18319.88")
            .checked_div(&twelve)
            .unwrap()
            .checked_add(&n("200").checked_div(&twelve).unwrap())
            .unwrap()
            .checked_add(&n("200").checked_div(&twelve).unwrap())
            .unwrap();
        assert_eq!(dd, n("1559.99"));
        assert!(matches!(dd, Num::Dec(_)), "canonical: {dd:?}");
        assert_eq!(dd.to_string(), "1559.99");
        let y = n("3119.99")
            .checked_sub(&dd)
            .unwrap()
            .checked_div(&n("3"))
            .unwrap();
        assert_eq!(y, n("520"));
        assert_eq!(y.to_string(), "520");
        let s = n("520");
        assert!(y >= s, "exact: not eligible");

        // Naive 28-digit rust_decimal division per term.
        let t = Decimal::from(12);
        let naive_d = d("18319.88").checked_div(t).unwrap()
            + d("200").checked_div(t).unwrap()
            + d("200").checked_div(t).unwrap();
        assert_ne!(naive_d, d("1559.99"));
        assert!(naive_d > d("1559.99"), "a hair above: {naive_d}");
        let naive_y = (d("3119.99") - naive_d)
            .checked_div(Decimal::from(3))
            .unwrap();
        assert!(
            naive_y < d("520"),
            "a hair below: {naive_y} -> wrongly eligible"
        );
    }

    #[test]
    fn num_canonical_forms() {
        assert!(matches!(n("1/2"), Num::Dec(_)));
        assert_eq!(n("1/2").to_string(), "0.5");
        assert_eq!(n("1/3").to_string(), "1/3");
        assert_eq!(n("1559.99/3").to_string(), "155999/300");
        assert_eq!(n("-2/-4").to_string(), "0.5");
        assert_eq!(n("2/-6").to_string(), "-1/3");
        let third = n("1/3");
        assert!(matches!(third.checked_mul(&n("3")).unwrap(), Num::Dec(_)));
        assert_eq!(
            third
                .checked_add(&third)
                .unwrap()
                .checked_add(&third)
                .unwrap()
                .to_string(),
            "1"
        );
        // Too many places for a Decimal but terminating: a Rat by the invariant.
        let tiny = Num::from_i128_ratio(1, 10i128.pow(29)).unwrap();
        assert!(matches!(tiny, Num::Rat(1, _)));
        assert_eq!(
            tiny.checked_mul(&n("10")).unwrap(),
            n("0.0000000000000000000000000001")
        );
        assert!(matches!(tiny.checked_mul(&n("10")).unwrap(), Num::Dec(_)));
        // Multiplication beyond 28 places falls back and stays exact.
        let a = n("0.00000000000001"); // 1e-14
        let p = a.checked_mul(&a).unwrap(); // 1e-28 fits
        assert_eq!(p.to_string(), "0.0000000000000000000000000001");
        let p2 = p.checked_mul(&n("0.1")).unwrap();
        assert!(matches!(p2, Num::Rat(1, _)));
        assert_eq!(p2.checked_mul(&n("10")).unwrap(), p);
        // Scale overflow in the fast path but exact after normalisation.
        let x = n("1.0000000000000000");
        let y = n("2.000000000000000");
        assert_eq!(x.checked_mul(&y).unwrap().to_string(), "2");
    }

    #[test]
    fn num_add_sub_mul_div_basics() {
        assert_eq!(n("0.1").checked_add(&n("0.2")).unwrap(), n("0.3"));
        assert_eq!(n("520.00").checked_sub(&n("520")).unwrap(), Num::ZERO);
        assert_eq!(
            n("1234.56").checked_mul(&n("0.30")).unwrap().to_string(),
            "370.368"
        );
        assert_eq!(n("10").checked_div(&n("4")).unwrap().to_string(), "2.5");
        assert_eq!(n("1").checked_div(&n("0.001")).unwrap().to_string(), "1000");
        assert_eq!(
            n("0.001").checked_div(&n("1000")).unwrap().to_string(),
            "0.000001"
        );
        assert_eq!(n("1").checked_div(&n("0")), Err(ArithError::DivisionByZero));
        assert_eq!(
            n("1/3").checked_div(&n("0.00")),
            Err(ArithError::DivisionByZero)
        );
        assert_eq!(n("1/3").checked_sub(&n("1/3")).unwrap(), Num::ZERO);
        assert_eq!(n("1/3").checked_add(&n("1/6")).unwrap().to_string(), "0.5");
        assert_eq!(n("2/3").checked_mul(&n("3/4")).unwrap().to_string(), "0.5");
        assert_eq!(n("5").checked_mul_i64(-3).unwrap().to_string(), "-15");
        // No negative zero anywhere.
        assert_eq!(n("-0").to_string(), "0");
        assert_eq!(n("0").neg().to_string(), "0");
        assert_eq!(n("-1").checked_mul(&n("0")).unwrap().to_string(), "0");
        assert_eq!(n("-0.001").round_to(d("0.01")).unwrap().to_string(), "0");
    }

    #[test]
    fn num_extremes_do_not_panic() {
        let max = Num::from_decimal(Decimal::MAX);
        let min = Num::from_decimal(Decimal::MIN);
        let one = n("1");
        assert_eq!(max.checked_add(&one), Err(ArithError::Overflow));
        assert_eq!(min.checked_sub(&one), Err(ArithError::Overflow));
        assert_eq!(max.checked_mul(&max), Err(ArithError::Overflow));
        assert_eq!(min.checked_div(&n("-1")).unwrap(), max);
        assert!(matches!(max.checked_div(&n("3")).unwrap(), Num::Dec(_))); // 2^96-1 = 0 mod 3
        let r = max.checked_div(&n("11")).unwrap();
        assert!(matches!(r, Num::Rat(..)));
        assert_eq!(r.checked_mul(&n("11")).unwrap(), max);
        assert_eq!(
            max.checked_add(&n("0.5")).map(|x| x.to_string()),
            Ok("158456325028528675187087900671/2".into())
        );
        assert_eq!(
            Num::from_i128_ratio(i128::MIN, 1),
            Err(ArithError::Overflow)
        );
        assert_eq!(
            Num::from_i128_ratio(i128::MIN, -1),
            Err(ArithError::Overflow)
        );
        assert_eq!(
            Num::from_i128_ratio(i128::MIN, 3),
            Err(ArithError::Overflow)
        );
        assert_eq!(Num::from_i128_ratio(i128::MIN, i128::MIN).unwrap(), one);
        assert_eq!(Num::from_i128_ratio(1, 0), Err(ArithError::DivisionByZero));
        let big = Num::from_i128_ratio(i128::MAX, 3).unwrap();
        let big2 = Num::from_i128_ratio(i128::MAX - 2, 3).unwrap();
        assert_eq!(
            Num::from_i128_ratio(i128::MAX - 1, 3),
            Err(ArithError::Overflow)
        ); // an integer above 2^96
        assert!(big2 < big);
        assert!(big.neg() < big2.neg());
        assert!(big > max);
        assert_eq!(big.checked_add(&big), Err(ArithError::Overflow));
        assert_eq!(big.checked_mul(&big), Err(ArithError::Overflow));
        assert_eq!(big.to_decimal_lossy(), Decimal::MAX);
        assert_eq!(big.neg().to_decimal_lossy(), Decimal::MIN);
        assert_eq!(big.round_to(d("0.01")), Err(ArithError::Overflow));
        assert!(big
            .format_fixed(2)
            .starts_with("56713727820156410577229101238628035242.33"));
        let small = Num::from_i128_ratio(1, i128::MAX).unwrap();
        assert!(small > Num::ZERO && small < Num::from_decimal(Decimal::new(1, 28)));
        assert_eq!(small.round_to(d("0.01")).unwrap(), Num::ZERO);
        assert_eq!(small.format_fixed(2), "0.00");
        assert_eq!(small.neg().format_fixed(2), "0.00");
        assert_eq!(small.to_decimal_lossy(), Decimal::ZERO);
        assert_eq!(
            max.round_to(d("10000000000000000000000000000")),
            Err(ArithError::Overflow)
        );
        assert_eq!(
            max.round_to(d("1000000000000000000000000000"))
                .unwrap()
                .to_string(),
            "79000000000000000000000000000"
        );
        // Hand-built, non-canonical values.
        let odd = Num::Rat(i128::MIN, i128::MIN);
        assert_eq!(odd, one);
        assert_eq!(odd.neg(), n("-1"));
        assert_eq!(h(&odd), h(&one));
        assert_eq!(Num::Rat(5, 0), n("5"));
        let m2 = Num::Rat(i128::MIN, 2);
        assert!(m2.neg().is_positive());
        assert_eq!(m2.neg().neg(), m2);
        assert_eq!(Num::Rat(i128::MIN, 0).neg().neg(), Num::Rat(i128::MIN, 1));
    }

    #[test]
    fn num_round_to() {
        let c = d("0.01");
        assert_eq!(n("173.335").round_to(c).unwrap().to_string(), "173.34");
        assert_eq!(n("-0.005").round_to(c).unwrap().to_string(), "-0.01");
        assert_eq!(n("520/3").round_to(c).unwrap().to_string(), "173.33");
        assert_eq!(n("1/8").round_to(c).unwrap().to_string(), "0.13");
        assert_eq!(n("-1/8").round_to(c).unwrap().to_string(), "-0.13");
        assert_eq!(n("2/3").round_to(c).unwrap().to_string(), "0.67");
        assert_eq!(n("2.5").round_to(d("1")).unwrap().to_string(), "3");
        assert_eq!(n("-2.5").round_to(d("1")).unwrap().to_string(), "-3");
        assert_eq!(n("15").round_to(d("10")).unwrap().to_string(), "20");
        assert_eq!(n("-15").round_to(d("10")).unwrap().to_string(), "-20");
        assert_eq!(n("14.99").round_to(d("10")).unwrap().to_string(), "10");
        assert_eq!(n("149/10").round_to(d("10")).unwrap().to_string(), "10");
        assert_eq!(n("4.9").round_to(d("10")).unwrap().to_string(), "0");
        assert_eq!(n("5").round_to(d("10")).unwrap().to_string(), "10");
        assert_eq!(n("1").round_to(d("1.00")).unwrap().to_string(), "1");
        assert_eq!(n("12.3").round_to(d("0.01")).unwrap().to_string(), "12.3");
        for bad in ["0.05", "0", "-0.01", "2", "0.02", "20", "-1"] {
            assert_eq!(
                n("1").round_to(d(bad)),
                Err(ArithError::InvalidStep),
                "{bad}"
            );
        }
    }

    #[test]
    fn num_format_fixed() {
        assert_eq!(n("520").format_fixed(2), "520.00");
        assert_eq!(n("-0.5").format_fixed(2), "-0.50");
        assert_eq!(Num::ZERO.format_fixed(2), "0.00");
        assert_eq!(n("-0.001").format_fixed(2), "0.00");
        assert_eq!(n("-0.005").format_fixed(2), "-0.01");
        assert_eq!(n("1/3").format_fixed(2), "0.33");
        assert_eq!(n("-2/3").format_fixed(2), "-0.67");
        assert_eq!(n("999.995").format_fixed(2), "1000.00");
        assert_eq!(n("-9.5").format_fixed(0), "-10");
        assert_eq!(n("0.4").format_fixed(0), "0");
        assert_eq!(n("1/7").format_fixed(10), "0.1428571429");
        assert_eq!(n("173.335").format_fixed(2), "173.34");
        assert_eq!(format!("{:.2}", n("520/3")), "173.33");
    }

    #[test]
    fn num_display_and_parse() {
        assert_eq!(n("520.00").to_string(), "520");
        assert_eq!(n("173.50").to_string(), "173.5");
        assert_eq!(n("-0.01").to_string(), "-0.01");
        assert_eq!(n("+5").to_string(), "5");
        assert_eq!(n("007.50").to_string(), "7.5");
        for bad in [
            "",
            "+",
            "-",
            "1.",
            ".5",
            "1e3",
            "1E3",
            " 1",
            "1 ",
            "1 .5",
            "1/",
            "/2",
            "1/0",
            "1/0.00",
            "1/2/3",
            "--1",
            "+-1",
            "1-",
            "0x10",
            "1,5",
            "1_000",
            "١",
            "0.00000000000000000000000000001",
            "79228162514264337593543950336",
            "12345678901234567890123456789012",
        ] {
            assert_eq!(Num::parse(bad), None, "{bad:?}");
        }
        // 28 places, the largest mantissa, many trailing zeros.
        assert_eq!(
            n("0.0000000000000000000000000001").to_string(),
            "0.0000000000000000000000000001"
        );
        assert_eq!(
            n("79228162514264337593543950335"),
            Num::from_decimal(Decimal::MAX)
        );
        assert_eq!(
            n("1.000000000000000000000000000000000000000000").to_string(),
            "1"
        );
        // Fractions with decimals.
        assert_eq!(n("1559.99/3"), n("155999/300"));
        assert_eq!(n("0.5/0.25").to_string(), "2");
        // Display -> parse round trip on Rat extremes.
        for x in [
            Num::from_i128_ratio(i128::MAX, 3).unwrap(),
            Num::from_i128_ratio(-i128::MAX, i128::MAX - 1).unwrap(),
            Num::from_i128_ratio(1, i128::MAX).unwrap(),
            Num::from_i128_ratio(1, 10i128.pow(38)).unwrap(),
        ] {
            assert_eq!(n(&x.to_string()), x);
        }
        assert_eq!(n("-0").to_string(), "0");
    }

    #[test]
    fn num_hash_eq_conversions() {
        assert_eq!(n("750.00"), n("750"));
        assert_eq!(h(&n("750.00")), h(&n("750")));
        assert_eq!(h(&Num::Rat(3, 6)), h(&n("0.5")));
        assert_eq!(Num::Rat(3, 6), n("0.5"));
        assert_eq!(h(&Num::Rat(-2, -6)), h(&n("1/3")));
        assert_eq!(h(&Num::from_decimal(Decimal::new(0, 5))), h(&Num::ZERO));
        assert!(n("1/3") < n("0.3333333333333333333333333334"));
        assert!(n("1/3") > n("0.3333333333333333333333333333"));
        assert!(n("-1/3") < n("-0.3333333333333333333333333333"));
        assert_eq!(n("520.00").to_i64(), Some(520));
        assert_eq!(n("520.5").to_i64(), None);
        assert_eq!(n("1/3").to_i64(), None);
        assert_eq!(n("-9223372036854775808").to_i64(), Some(i64::MIN));
        assert_eq!(n("9223372036854775808").to_i64(), None);
        assert!(n("5.000").is_integer());
        assert!(!n("1/3").is_integer());
        assert!(Num::Rat(6, 3).is_integer());
        assert_eq!(n("1/3").to_decimal(), None);
        assert_eq!(n("1.25").to_decimal(), Some(d("1.25")));
        assert_eq!(Num::Rat(1, 4).to_decimal(), Some(d("0.25")));
        assert_eq!(
            n("1/3").to_decimal_lossy(),
            d("0.3333333333333333333333333333")
        );
        assert_eq!(
            n("2/3").to_decimal_lossy(),
            d("0.6666666666666666666666666667")
        );
        assert_eq!(
            n("-2/3").to_decimal_lossy(),
            d("-0.6666666666666666666666666667")
        );
        assert_eq!(
            n("155999/300").to_decimal_lossy(),
            d("519.99666666666666666666666667")
        );
        assert_eq!(n("-1/3").abs(), n("1/3"));
        assert_eq!(n("-1.5").abs(), n("1.5"));
        assert!(n("-1/3").is_negative() && n("1/3").is_positive() && !Num::ZERO.is_positive());
    }

    #[test]
    fn num_muldiv_and_wide_helpers() {
        assert_eq!(mul_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(mul_wide(1 << 64, 1 << 64), (1, 0));
        assert_eq!(
            muldiv_rem(u128::MAX, u128::MAX, u128::MAX),
            Some((u128::MAX, 0))
        );
        assert_eq!(
            muldiv_rem(u128::MAX, 10, u128::MAX - 1).map(|x| x.0),
            Some(10)
        );
        assert_eq!(muldiv_rem(u128::MAX, 2, 1), None);
        assert_eq!(muldiv_rem(1, 1, 0), None);
        assert_eq!(gcd(0, 0), 0);
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(1 << 100, 3 << 90), 1 << 90);
        assert_eq!(decimal_digits(0), 0);
        assert_eq!(decimal_digits(u128::MAX), 39);
    }
}
