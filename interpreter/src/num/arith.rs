//! The arithmetic under [`Num`]'s operations: wide integer helpers, the fraction path and the
//! decimal fast paths (each exact, or refusing so that the caller takes the fraction path).

use super::{ArithError, Num};
use rust_decimal::Decimal;

/// Largest mantissa magnitude of a Decimal: 2^96 - 1.
pub(super) const DEC_MAX_MANT: u128 = (1u128 << 96) - 1;
/// Largest Decimal scale.
pub(super) const MAX_SCALE: u32 = 28;

/// 10^0 ..= 10^38 (10^38 < 2^127).
pub(super) const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

#[inline]
pub(super) fn ov<T>(o: Option<T>) -> Result<T, ArithError> {
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
pub(super) fn gcd(mut a: u128, mut b: u128) -> u128 {
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
pub(super) fn mul_wide(a: u128, b: u128) -> (u128, u128) {
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
pub(super) fn muldiv_rem(a: u128, b: u128, c: u128) -> Option<(u128, u128)> {
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
pub(super) fn decimal_digits(x: u128) -> u32 {
    let mut k = 0;
    while k < 39 && x >= POW10[k as usize] {
        k += 1;
    }
    k
}

#[inline]
pub(super) fn signed(neg: bool, m: u128) -> i128 {
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
pub(super) struct Frac {
    pub(super) neg: bool,
    pub(super) n: u128,
    pub(super) d: u128,
}

impl Frac {
    pub(super) fn of(x: &Num) -> Frac {
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
    pub(super) fn of_dec(d: Decimal) -> Frac {
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
    pub(super) fn signum(&self) -> i8 {
        if self.n == 0 {
            0
        } else if self.neg {
            -1
        } else {
            1
        }
    }

    pub(super) fn reduced(self) -> Frac {
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
pub(super) fn canon(neg: bool, n: u128, d: u128) -> Result<Num, ArithError> {
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

pub(super) fn frac_add(a: Frac, b: Frac) -> Result<Num, ArithError> {
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

pub(super) fn frac_mul(a: Frac, b: Frac) -> Result<Num, ArithError> {
    if a.n == 0 || b.n == 0 {
        return Ok(Num::ZERO);
    }
    let g1 = gcd(a.n, b.d);
    let g2 = gcd(b.n, a.d);
    let n = ov((a.n / g1).checked_mul(b.n / g2))?;
    let d = ov((a.d / g2).checked_mul(b.d / g1))?;
    canon(a.neg != b.neg, n, d)
}

pub(super) fn frac_div(a: Frac, b: Frac) -> Result<Num, ArithError> {
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
pub(super) fn dec_add(a: &Decimal, b: &Decimal, subtract: bool) -> Option<Decimal> {
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
pub(super) fn dec_mul(a: &Decimal, b: &Decimal) -> Option<Decimal> {
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
pub(super) fn dec_div_exact(a: &Decimal, b: &Decimal) -> Option<Decimal> {
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
pub(super) fn step_exponent(step: Decimal) -> Result<i32, ArithError> {
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
pub(super) fn parse_literal(s: &str, strip: bool) -> Option<(bool, u128, u32)> {
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

pub(super) fn parse_plain(s: &str) -> Option<Num> {
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
