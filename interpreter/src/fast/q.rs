//! `Q`: the compiled path's exact number, a small unreduced fraction `n / d` with 64-bit parts.
//!
//! The compiled path never decides anything the reference could decide differently. A `Q` operation
//! either gives the exact result or *bails* ([`Bail`]), and a bailing household is evaluated again by
//! the reference evaluator, which then produces the value or the error. So a `Q` only has to be exact
//! and to bail whenever the reference might fail. Two invariants make the second part true:
//!
//! - Values stay small: `|n| < 2^62` and `0 < d < 2^62` (a result outside is reduced by its gcd once,
//!   then bails). The reference holds the same value either as a reduced fraction (no larger than
//!   `n/d`) or as a `Decimal` mantissa and scale.
//! - `sc` bounds the scale the reference's `Decimal` would have for this value (decimal
//!   arithmetic there keeps trailing zeros: a sum has the larger scale, a product the sum of the
//!   scales; a result brought back from a fraction has its minimal scale). Every value checks
//!   `sc <= 18` and `|n / d| * 10^sc < 2^62`, so the mantissa the reference holds is below `2^62`.
//!
//! With every operand's numerator and denominator (as the reference sees them) below `2^62`, the
//! reference's fraction arithmetic (128-bit cross products), its canonicalisation and its `i64`
//! integer arithmetic cannot overflow, so the reference succeeds exactly where the compiled path
//! succeeds, with the same exact value. Division by zero, an empty `min`, a conflict and every other
//! error also bail, so errors always come from the reference, word for word.
//!
//! `int` mirrors the reference's run-time kind (`Value::Int` or `Value::Num`): integers stay integers
//! under `+ - *` and become exact numbers under `/`, as in `eval::arith`.

use crate::num::Num;
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// The compiled path gives up on this household (the reference evaluates it instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

pub type R<T> = Result<T, Bail>;

/// Bound on numerators, denominators and the reference's mantissas.
pub const LIM: i128 = 1 << 62;
/// Largest scale the compiled path follows.
pub const MAX_SC: u8 = 18;

pub const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Q {
    pub n: i64,
    /// > 0
    pub d: i64,
    /// Upper bound on the reference's decimal scale; also `>= msc(d)`.
    pub sc: u8,
    /// The reference holds a `Value::Int` (then `d == 1`, `sc == 0`).
    pub int: bool,
}

/// An upper bound of the minimal decimal scale of any terminating value whose reduced denominator
/// divides `d`: `max(v2(d), v5(d))`.
pub fn msc(d: i64) -> u8 {
    if d <= 1 {
        return 0;
    }
    let d = d as u64;
    let tz = d.trailing_zeros();
    let mut odd = d >> tz;
    let mut v5 = 0u32;
    while odd % 5 == 0 {
        odd /= 5;
        v5 += 1;
    }
    tz.max(v5) as u8
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
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

/// Checks the invariants of a raw result (reducing it once if it is too large).
#[inline]
fn fin(mut n: i128, mut d: i128, sc: u8) -> R<Q> {
    if n.abs() >= LIM || d >= LIM {
        let g = gcd(n.unsigned_abs().min(u64::MAX as u128) as u64, d.min(u64::MAX as i128) as u64) as i128;
        if g <= 1 || n.unsigned_abs() > u64::MAX as u128 || d > u64::MAX as i128 {
            return Err(Bail);
        }
        n /= g;
        d /= g;
        if n.abs() >= LIM || d >= LIM {
            return Err(Bail);
        }
    }
    if sc > MAX_SC || n.abs() * POW10[sc as usize] as i128 >= LIM * d {
        return Err(Bail);
    }
    Ok(Q { n: n as i64, d: d as i64, sc, int: false })
}

impl Q {
    pub const ZERO_INT: Q = Q { n: 0, d: 1, sc: 0, int: true };
    pub const ZERO_NUM: Q = Q { n: 0, d: 1, sc: 0, int: false };

    #[inline]
    pub fn int(i: i64) -> R<Q> {
        if (i as i128).abs() >= LIM {
            return Err(Bail);
        }
        Ok(Q { n: i, d: 1, sc: 0, int: true })
    }

    /// A reference number (an input, a parameter, a script's result).
    #[inline]
    pub fn from_num(x: &Num) -> R<Q> {
        match x {
            Num::Dec(d) => Q::from_decimal(d),
            Num::Rat(n, d) => {
                if *d <= 0 || n.abs() >= LIM || *d >= LIM {
                    return Err(Bail);
                }
                fin(*n, *d, msc(*d as i64))
            }
        }
    }

    #[inline]
    pub fn from_decimal(x: &Decimal) -> R<Q> {
        let s = x.scale();
        if s > MAX_SC as u32 {
            return Err(Bail);
        }
        let m = x.mantissa();
        if m.abs() >= LIM {
            return Err(Bail);
        }
        Ok(Q { n: m as i64, d: POW10[s as usize], sc: s as u8, int: false })
    }

    /// As a reference number (a `Num` in canonical form: a decimal when the value terminates).
    pub fn to_num(self) -> Num {
        if self.n == 0 {
            return Num::ZERO;
        }
        if self.d == 1 {
            return Num::Dec(Decimal::from(self.n));
        }
        // A power of ten: a decimal of that scale.
        if (self.d as u64).trailing_zeros() as usize >= 1 {
            let k = (self.d as u64).trailing_zeros() as usize;
            if k < POW10.len() && POW10[k] == self.d {
                return Num::Dec(Decimal::from_i128_with_scale(self.n as i128, k as u32));
            }
        }
        let neg = self.n < 0;
        let (mut n, mut d) = (self.n.unsigned_abs(), self.d as u64);
        let g = gcd(n, d);
        if g > 1 {
            n /= g;
            d /= g;
        }
        let sn = if neg { -(n as i128) } else { n as i128 };
        if d == 1 {
            return Num::Dec(Decimal::from_i128_with_scale(sn, 0));
        }
        let twos = d.trailing_zeros();
        let mut rest = d >> twos;
        let mut fives = 0u32;
        while rest % 5 == 0 {
            rest /= 5;
            fives += 1;
        }
        if rest == 1 {
            let k = twos.max(fives);
            if k <= 18 {
                let mult = (POW10[k as usize] as u64 / d) as i128;
                let m = sn * mult; // |sn| < 2^62, mult <= 10^18: fits i128
                if m.unsigned_abs() < 1u128 << 96 {
                    return Num::Dec(Decimal::from_i128_with_scale(m, k));
                }
            }
            // Let the reference's canonicalisation decide (a long decimal or a fraction).
            return Num::from_i128_ratio(sn, d as i128).unwrap_or(Num::ZERO);
        }
        Num::Rat(sn, d as i128)
    }

    /// Mirrors `Value::Int` to `Value::Num` coercion of a decimal/money definition.
    #[inline]
    pub fn as_num_kind(mut self) -> Q {
        self.int = false;
        self
    }

    #[inline]
    pub fn add(self, o: Q) -> R<Q> {
        if self.int && o.int {
            return Q::int(self.n + o.n);
        }
        let (a, b) = (self, o);
        if a.d == b.d {
            return fin(a.n as i128 + b.n as i128, a.d as i128, a.sc.max(b.sc));
        }
        if b.d % a.d == 0 {
            let k = (b.d / a.d) as i128;
            return fin(a.n as i128 * k + b.n as i128, b.d as i128, a.sc.max(b.sc));
        }
        if a.d % b.d == 0 {
            let k = (a.d / b.d) as i128;
            return fin(a.n as i128 + b.n as i128 * k, a.d as i128, a.sc.max(b.sc));
        }
        fin(a.n as i128 * b.d as i128 + b.n as i128 * a.d as i128, a.d as i128 * b.d as i128, a.sc + b.sc)
    }

    #[inline]
    pub fn neg(self) -> Q {
        Q { n: -self.n, ..self }
    }

    #[inline]
    pub fn sub(self, o: Q) -> R<Q> {
        self.add(o.neg())
    }

    #[inline]
    pub fn mul(self, o: Q) -> R<Q> {
        if self.int && o.int {
            let p = self.n as i128 * o.n as i128;
            if p.abs() >= LIM {
                return Err(Bail);
            }
            return Ok(Q { n: p as i64, d: 1, sc: 0, int: true });
        }
        fin(self.n as i128 * o.n as i128, self.d as i128 * o.d as i128, self.sc + o.sc)
    }

    /// `self / o`; `o_msc` is `msc(|o.n|)` when known (a constant divisor), else computed.
    #[inline]
    pub fn div_with(self, o: Q, o_msc: Option<u8>) -> R<Q> {
        if o.n == 0 {
            return Err(Bail);
        }
        let m = match o_msc {
            Some(m) => m,
            None => msc(o.n.unsigned_abs().min(i64::MAX as u64) as i64),
        };
        let (mut n, mut d) = (self.n as i128 * o.d as i128, self.d as i128 * o.n as i128);
        if d < 0 {
            n = -n;
            d = -d;
        }
        fin(n, d, self.sc + m)
    }

    #[inline]
    pub fn div(self, o: Q) -> R<Q> {
        self.div_with(o, None)
    }

    #[inline]
    pub fn abs(self) -> Q {
        Q { n: self.n.abs(), ..self }
    }

    #[inline]
    pub fn cmp(self, o: Q) -> Ordering {
        if self.d == o.d {
            return self.n.cmp(&o.n);
        }
        (self.n as i128 * o.d as i128).cmp(&(o.n as i128 * self.d as i128))
    }

    /// Value and kind equal (as `Value`'s `==`: `Int(5) != Num(5)`).
    #[inline]
    pub fn same(self, o: Q) -> bool {
        self.int == o.int && self.cmp(o) == Ordering::Equal
    }

    /// Rounds half away from zero to a multiple of `10^e` (`e` from the step `round(x, 10^e)`).
    pub fn round(self, e: i32) -> R<Q> {
        let neg = self.n < 0;
        let (n, d) = (self.n.unsigned_abs() as u128, self.d as u128);
        if e <= 0 {
            let t = (-e) as usize;
            if t >= POW10.len() {
                return Err(Bail);
            }
            let p = POW10[t] as u128;
            let prod = n * p;
            let (mut q, r) = (prod / d, prod % d);
            if r != 0 && r >= d - r {
                q += 1;
            }
            let qi = if neg { -(q as i128) } else { q as i128 };
            fin(qi, p as i128, t as u8)
        } else {
            let e = e as usize;
            if e >= POW10.len() {
                return Err(Bail);
            }
            let p = POW10[e] as u128;
            let i = n / d;
            let (mut q, r2) = (i / p, i % p);
            if r2 >= p / 2 {
                q += 1;
            }
            let v = q * p;
            let vi = if neg { -(v as i128) } else { v as i128 };
            fin(vi, 1, 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Q {
        Q::from_num(&Num::parse(s).unwrap()).unwrap()
    }

    #[test]
    fn q_basics() {
        let a = q("18319.88").div(Q::int(12).unwrap()).unwrap();
        let b = q("200").div(Q::int(12).unwrap()).unwrap();
        let d = a.add(b).unwrap().add(b).unwrap();
        assert_eq!(d.to_num(), Num::parse("1559.99").unwrap());
        let y = q("3119.99").sub(d).unwrap().div(Q::int(3).unwrap()).unwrap();
        assert_eq!(y.to_num(), Num::parse("520").unwrap());
        assert_eq!(q("520/3").round(-2).unwrap().to_num(), Num::parse("173.33").unwrap());
        assert_eq!(q("-0.005").round(-2).unwrap().to_num(), Num::parse("-0.01").unwrap());
        assert_eq!(q("15").round(1).unwrap().to_num(), Num::parse("20").unwrap());
        assert_eq!(q("-15").round(1).unwrap().to_num(), Num::parse("-20").unwrap());
        assert_eq!(q("1/3").to_num().to_string(), "1/3");
        assert_eq!(q("3/8").to_num().to_string(), "0.375");
        assert!(matches!(q("3/8").to_num(), Num::Dec(_)));
        assert_eq!(msc(1200), 4);
        assert_eq!(msc(12), 2);
        assert_eq!(msc(3), 0);
        assert_eq!(msc(1000), 3);
    }
}
