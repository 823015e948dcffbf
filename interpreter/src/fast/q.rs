//! `Q`: the compiled path's exact number, a small unreduced fraction `n / d` with 64-bit parts.
//!
//! The compiled path never decides anything the reference could decide differently. A `Q` operation
//! either gives the exact result or *bails* ([`Bail`]; in a column, the lane holds poison), and a
//! household whose outputs need a bailed value is evaluated again by the reference evaluator, which
//! then produces the value or the error. So a `Q` only has to be exact and to bail whenever the
//! reference might fail. Two invariants make the second part true:
//!
//! - Values stay small: `|n| < 2^62` and `0 < d < 2^56` (a result outside is reduced by its gcd once,
//!   then bails; a decimal input with more than 16 places bails). The reference holds the same value
//!   either as a reduced fraction (no larger than `n/d`) or as a `Decimal` mantissa and scale.
//! - `sc` is the scale of the `Decimal` the reference holds for this value, exactly (decimal
//!   arithmetic there keeps trailing zeros: a sum has the larger scale, a product the sum of the
//!   scales, an exact quotient the difference, a zero result scale 0), so the compiled path's
//!   output has the reference's representation, `125.00` where the reference has `125.00` and `125`
//!   where it has `125`. A value the reference holds in canonical form (a result brought back from
//!   a fraction: a `Rat`, or the decimal of its minimal scale) is marked *canonical*, and its `sc`
//!   is an upper bound of that scale; its exact scale, when an operation needs it, is computed from
//!   the value ([`Q::ref_scale`]). Every value checks `sc <= 18` and `|n / d| * 10^sc < 2^62`, so
//!   the mantissa the reference holds is below `2^62`.
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
use std::num::NonZeroU64;

/// The compiled path gives up on this household (the reference evaluates it instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

pub type R<T> = Result<T, Bail>;

/// Bound on numerators and on the reference's mantissas.
pub const LIM: i128 = 1 << 62;
/// Bound on denominators.
pub const DLIM: i128 = 1 << 56;
/// Largest scale the compiled path follows.
pub const MAX_SC: u8 = 18;
/// Most decimal places of a decimal read as `n / 10^s` (`10^16 < 2^56 <= 10^17`).
pub const MAX_DEC_SCALE: u32 = 16;

pub const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

const DMASK: u64 = (1 << 56) - 1;
/// The reference holds the value in canonical form (`sc` is then an upper bound of its scale).
const CANON: u64 = 1 << 61;
const INT: u64 = 1 << 63;

/// `n / d` with the reference's scale `sc`, its form (a decimal of scale `sc`, or canonical) and
/// kind `int`, in 16 bytes (so that `R<Q>` is returned in registers): `m` packs `d` (bits 0..56),
/// `sc` (56..61), canonical (61) and `int` (63); `d > 0`, so `m` is never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Q {
    pub n: i64,
    m: NonZeroU64,
}

#[inline(always)]
fn pack(d: u64, sc: u8, int: bool) -> NonZeroU64 {
    debug_assert!(
        d > 0 && (d as i128) < DLIM && sc < 32,
        "Q packing out of range: d = {d}, sc = {sc}"
    );
    // d >= 1, so the packed word is not zero.
    NonZeroU64::new(d | (sc as u64) << 56 | if int { INT } else { 0 }).unwrap_or(NonZeroU64::MIN)
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
    while odd.is_multiple_of(5) {
        odd /= 5;
        v5 += 1;
    }
    tz.max(v5) as u8
}

use crate::num::gcd64 as gcd;

#[cold]
fn reduce(n: i128, d: i128, sc: u8) -> R<Q> {
    if n.unsigned_abs() > u64::MAX as u128 || d > u64::MAX as i128 || d <= 0 {
        return Err(Bail);
    }
    let g = gcd(n.unsigned_abs() as u64, d as u64) as i128;
    if g <= 1 {
        return Err(Bail);
    }
    let (n, d) = (n / g, d / g);
    if n.abs() >= LIM || d >= DLIM {
        return Err(Bail);
    }
    fin(n, d, sc)
}

/// `floor(2^62 / 10^sc)`: below it, `|n| * 10^sc < 2^62 <= 2^62 * d` needs no wide multiplication.
const LIMT: [i64; 19] = {
    let mut t = [0i64; 19];
    let mut i = 0;
    while i < 19 {
        t[i] = (1i64 << 62) / POW10[i];
        i += 1;
    }
    t
};

/// Checks the invariants of a raw result (reducing it once if it is too large).
#[inline(always)]
fn fin(n: i128, d: i128, sc: u8) -> R<Q> {
    if n.abs() >= LIM || d >= DLIM {
        return reduce(n, d, sc);
    }
    fin64(n as i64, d as i64, sc)
}

/// [`fin`] for parts already below the bounds.
#[inline(always)]
fn fin64(n: i64, d: i64, sc: u8) -> R<Q> {
    if sc > MAX_SC {
        return Err(Bail);
    }
    let a = n.unsigned_abs();
    if a >= LIMT[sc as usize] as u64 && a as i128 * POW10[sc as usize] as i128 >= LIM * d as i128 {
        return Err(Bail);
    }
    Ok(Q {
        n,
        m: pack(d as u64, sc, false),
    })
}

impl Q {
    /// Poison: the lane's value would be an error, or is beyond the compiled path (an impossible
    /// packing: scale 31, not an integer, so that arithmetic on it fails its checks too).
    pub const POISON: Q = Q {
        n: 0,
        m: match NonZeroU64::new(u64::MAX >> 1) {
            Some(m) => m,
            None => NonZeroU64::MIN,
        },
    };
    pub const ZERO_INT: Q = Q {
        n: 0,
        m: NonZeroU64::MIN.saturating_add(INT),
    };

    #[inline(always)]
    pub fn is_poison(self) -> bool {
        self.m == Q::POISON.m
    }
    /// The value, or poison on failure.
    #[inline(always)]
    pub fn or_poison(r: R<Q>) -> Q {
        match r {
            Ok(q) => q,
            Err(_) => Q::POISON,
        }
    }
    pub const ZERO_NUM: Q = Q {
        n: 0,
        m: NonZeroU64::MIN,
    };

    #[inline(always)]
    pub fn d(self) -> i64 {
        (self.m.get() & DMASK) as i64
    }
    #[inline(always)]
    pub fn sc(self) -> u8 {
        ((self.m.get() >> 56) & 0x1f) as u8
    }
    #[inline(always)]
    pub fn is_int(self) -> bool {
        self.m.get() & INT != 0
    }

    #[inline]
    pub fn int(i: i64) -> R<Q> {
        if (i as i128).abs() >= LIM {
            return Err(Bail);
        }
        Ok(Q {
            n: i,
            m: pack(1, 0, true),
        })
    }

    /// A reference number (an input, a parameter, a script's result).
    #[inline]
    pub fn from_num(x: &Num) -> R<Q> {
        match x {
            Num::Dec(d) => Q::from_decimal(d),
            Num::Rat(n, d) => {
                if *d <= 0 || n.abs() >= LIM || *d >= DLIM {
                    return Err(Bail);
                }
                fin(*n, *d, msc(*d as i64)).map(Q::canonical)
            }
        }
    }

    /// A decimal input over the denominator `10^min_scale` when it has fewer places (`750` as
    /// `75000 / 100`): the same value and scale, whose denominator matches the other amounts of its
    /// column, so that sums take the common-denominator path.
    #[inline]
    pub fn from_decimal_scaled(x: &Decimal, min_scale: u32) -> R<Q> {
        let s = x.scale();
        if s >= min_scale {
            return Q::from_decimal(x);
        }
        let m = x.mantissa() * POW10[(min_scale - s) as usize] as i128;
        if m.abs() >= LIM {
            return Err(Bail);
        }
        fin64(m as i64, POW10[min_scale as usize], s as u8)
    }

    #[inline]
    pub fn from_decimal(x: &Decimal) -> R<Q> {
        let s = x.scale();
        // The denominator 10^s must stay below `DLIM` (2^56): up to 16 places.
        if s > MAX_DEC_SCALE {
            return Err(Bail);
        }
        let m = x.mantissa();
        if m.abs() >= LIM {
            return Err(Bail);
        }
        Ok(Q {
            n: m as i64,
            m: pack(POW10[s as usize] as u64, s as u8, false),
        })
    }

    /// As the reference's number: the decimal of scale `sc`, or the canonical form (a decimal of
    /// minimal scale when the value terminates, else a fraction).
    pub fn to_num(self) -> Num {
        let d = self.d();
        if !self.is_canonical() {
            let sc = self.sc().min(MAX_SC);
            // |n| < 2^62 and 10^sc <= 10^18 < 2^60: the product fits i128.
            let p = self.n as i128 * POW10[sc as usize] as i128;
            if p % d as i128 == 0 {
                return Num::Dec(Decimal::from_i128_with_scale(p / d as i128, sc as u32));
            }
            debug_assert!(
                false,
                "a decimal Q whose scale does not hold its value: {self:?}"
            );
        }
        if self.n == 0 {
            return Num::ZERO;
        }
        if d == 1 {
            return Num::Dec(Decimal::from(self.n));
        }
        let neg = self.n < 0;
        let (mut n, mut d) = (self.n.unsigned_abs(), d as u64);
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
    pub fn as_num_kind(self) -> Q {
        if !self.is_int() {
            return self;
        }
        Q {
            n: self.n,
            m: pack(self.d() as u64, self.sc(), false),
        }
    }

    #[inline(always)]
    pub fn is_canonical(self) -> bool {
        self.m.get() & CANON != 0
    }

    /// The same value, marked as held in canonical form by the reference.
    #[inline(always)]
    fn canonical(self) -> Q {
        Q {
            n: self.n,
            m: self.m | CANON,
        }
    }

    /// The same value as a decimal of scale `sc` (not an integer).
    #[inline(always)]
    fn with_scale(self, sc: u8) -> Q {
        Q {
            n: self.n,
            m: pack(self.d() as u64, sc, false),
        }
    }

    /// A zero result of decimal arithmetic: the reference's `Decimal::ZERO` has scale 0.
    #[inline(always)]
    fn zero_scale(self) -> Q {
        if self.n == 0 && !self.is_int() {
            self.with_scale(0)
        } else {
            self
        }
    }

    /// The scale of the decimal the reference holds, or `None` when it holds a fraction (or this
    /// is poison).
    #[inline]
    pub fn ref_scale(self) -> Option<u8> {
        if !self.is_canonical() {
            return Some(self.sc());
        }
        self.minimal_scale()
    }

    /// The minimal scale of a canonical value: `max(v2(d'), v5(d'))` of its reduced denominator
    /// `d'`, or `None` when the value does not terminate.
    #[inline(never)]
    fn minimal_scale(self) -> Option<u8> {
        if self.is_poison() {
            return None;
        }
        if self.n == 0 {
            return Some(0);
        }
        let d = self.d() as u64;
        let d = d / gcd(self.n.unsigned_abs(), d);
        let twos = d.trailing_zeros();
        let mut rest = d >> twos;
        let mut fives = 0u32;
        while rest.is_multiple_of(5) {
            rest /= 5;
            fives += 1;
        }
        (rest == 1).then_some(twos.max(fives) as u8)
    }

    #[inline(always)]
    pub fn add(self, o: Q) -> R<Q> {
        if self.is_int() && o.is_int() {
            return Q::int(self.n + o.n);
        }
        if (self.m.get() | o.m.get()) & CANON != 0 {
            return self.add_canonical(o);
        }
        // Two decimals: the reference's sum has the larger scale (scale 0 when it is zero).
        let s = self.sc().max(o.sc());
        Ok(self.add_scaled(o, s, s)?.zero_scale())
    }

    /// A sum where an operand is canonical: a decimal sum if both are decimals in the reference,
    /// else a canonical result (the reference adds fractions).
    #[inline(never)]
    fn add_canonical(self, o: Q) -> R<Q> {
        match (self.ref_scale(), o.ref_scale()) {
            (Some(sa), Some(sb)) => {
                let s = sa.max(sb);
                Ok(self.add_scaled(o, s, s)?.zero_scale())
            }
            _ => {
                let (sa, sb) = (self.sc(), o.sc());
                Ok(self.add_scaled(o, sa.max(sb), sa + sb)?.canonical())
            }
        }
    }

    /// `self + o` with scale `s` when the denominators are related (equal, or one divides the
    /// other), `s_cross` when they are not (a bound for canonical results).
    #[inline(always)]
    fn add_scaled(self, o: Q, s: u8, s_cross: u8) -> R<Q> {
        let (ad, bd) = (self.d(), o.d());
        // Adding zero: the other value, with the sum's scale.
        if self.n == 0 {
            return fin64(o.n, bd, s);
        }
        if o.n == 0 {
            return fin64(self.n, ad, s);
        }
        if ad == bd {
            // |n| < 2^62 each: the sum fits i64.
            let n = self.n + o.n;
            if n.unsigned_abs() >= LIM as u64 {
                return fin(n as i128, ad as i128, s);
            }
            return fin64(n, ad, s);
        }
        if ad == 1 {
            return fin(self.n as i128 * bd as i128 + o.n as i128, bd as i128, s);
        }
        if bd == 1 {
            return fin(self.n as i128 + o.n as i128 * ad as i128, ad as i128, s);
        }
        if bd % ad == 0 {
            let k = (bd / ad) as i128;
            return fin(self.n as i128 * k + o.n as i128, bd as i128, s);
        }
        if ad % bd == 0 {
            let k = (ad / bd) as i128;
            return fin(self.n as i128 + o.n as i128 * k, ad as i128, s);
        }
        fin(
            self.n as i128 * bd as i128 + o.n as i128 * ad as i128,
            ad as i128 * bd as i128,
            s_cross,
        )
    }

    /// `-self` (a decimal zero becomes the reference's `Num::ZERO`, of scale 0).
    #[inline]
    pub fn neg(self) -> Q {
        Q {
            n: -self.n,
            m: self.m,
        }
        .zero_scale()
    }

    #[inline]
    pub fn sub(self, o: Q) -> R<Q> {
        self.add(o.neg())
    }

    #[inline]
    pub fn mul(self, o: Q) -> R<Q> {
        if self.is_int() && o.is_int() {
            let p = self.n as i128 * o.n as i128;
            if p.abs() >= LIM {
                return Err(Bail);
            }
            return Ok(Q {
                n: p as i64,
                m: pack(1, 0, true),
            });
        }
        let (n, d) = (
            self.n as i128 * o.n as i128,
            self.d() as i128 * o.d() as i128,
        );
        if (self.m.get() | o.m.get()) & CANON == 0 {
            // Two decimals: the product's scale is the sum of the scales.
            return Ok(fin(n, d, self.sc() + o.sc())?.zero_scale());
        }
        match (self.ref_scale(), o.ref_scale()) {
            (Some(sa), Some(sb)) => Ok(fin(n, d, sa + sb)?.zero_scale()),
            _ => Ok(fin(n, d, self.sc() + o.sc())?.canonical()),
        }
    }

    /// The scale of the reference's decimal quotient `a / b` of decimals of scales `sa` and `sb`
    /// whose value is `n / d` (`d > 0`), or `None` when `b`'s mantissa does not divide `a`'s (the
    /// reference then divides fractions, and the result is canonical).
    #[inline]
    fn exact_quotient_scale(n: i128, d: i128, sa: u8, sb: u8) -> Option<u8> {
        if n == 0 {
            return Some(0);
        }
        if sa >= sb {
            // The quotient of the mantissas is `n / d * 10^(sa - sb)`, of scale `sa - sb`.
            let k = (sa - sb) as usize;
            match n.checked_mul(*POW10.get(k)? as i128) {
                Some(p) => (p % d == 0).then_some(sa - sb),
                None => (Q::minimal_scale_of(n, d)? as usize <= k).then_some(sa - sb),
            }
        } else {
            // The quotient of the mantissas is `n / d / 10^(sb - sa)`, an integer (scale 0).
            let dd = d.checked_mul(*POW10.get((sb - sa) as usize)? as i128)?;
            (n % dd == 0).then_some(0)
        }
    }

    /// [`Q::minimal_scale`] of a wide value.
    #[cold]
    fn minimal_scale_of(n: i128, d: i128) -> Option<u8> {
        let (mut a, mut b) = (n.unsigned_abs(), d.unsigned_abs());
        while b != 0 {
            (a, b) = (b, a % b);
        }
        let d = d.unsigned_abs() / a;
        let twos = d.trailing_zeros();
        let mut rest = d >> twos;
        let mut fives = 0u32;
        while rest.is_multiple_of(5) {
            rest /= 5;
            fives += 1;
        }
        (rest == 1).then_some(twos.max(fives) as u8)
    }

    /// The quotient `n / d` (`d > 0`) of `self` by a divisor whose reference scale is `sb`
    /// (`None`: a fraction), with `bound` the scale bound of a canonical result.
    #[inline]
    fn quotient(self, n: i128, d: i128, sb: Option<u8>, bound: u8) -> R<Q> {
        if let (Some(sa), Some(sb)) = (self.ref_scale(), sb) {
            if let Some(s) = Q::exact_quotient_scale(n, d, sa, sb) {
                return fin(n, d, s);
            }
        }
        Ok(fin(n, d, bound)?.canonical())
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
        let (mut n, mut d) = (
            self.n as i128 * o.d() as i128,
            self.d() as i128 * o.n as i128,
        );
        if d < 0 {
            n = -n;
            d = -d;
        }
        self.quotient(n, d, o.ref_scale(), self.sc() + m)
    }

    /// `self / k` for a positive integer `k` with `msc(k) == k_msc`.
    #[inline]
    pub fn div_int(self, k: i64, k_msc: u8) -> R<Q> {
        self.quotient(
            self.n as i128,
            self.d() as i128 * k as i128,
            Some(0),
            self.sc() + k_msc,
        )
    }

    /// `self * k` for an integer constant `k` (kind as `mul`).
    #[inline]
    pub fn mul_int(self, k: i64) -> R<Q> {
        let p = self.n as i128 * k as i128;
        if self.is_int() {
            if p.abs() >= LIM {
                return Err(Bail);
            }
            return Ok(Q {
                n: p as i64,
                m: pack(1, 0, true),
            });
        }
        match self.ref_scale() {
            // A decimal times an integer (a decimal of scale 0): the decimal's scale.
            Some(s) => Ok(fin(p, self.d() as i128, s)?.zero_scale()),
            None => Ok(fin(p, self.d() as i128, self.sc())?.canonical()),
        }
    }

    #[inline]
    pub fn abs(self) -> Q {
        Q {
            n: self.n.abs(),
            m: self.m,
        }
    }

    #[inline]
    pub fn cmp(self, o: Q) -> Ordering {
        let (ad, bd) = (self.d(), o.d());
        if ad == bd {
            return self.n.cmp(&o.n);
        }
        (self.n as i128 * bd as i128).cmp(&(o.n as i128 * ad as i128))
    }

    /// Value and kind equal (as `Value`'s `==`: `Int(5) != Num(5)`).
    #[inline]
    pub fn same(self, o: Q) -> bool {
        self.is_int() == o.is_int() && self.cmp(o) == Ordering::Equal
    }

    /// Rounds half away from zero to a multiple of `10^e` (`e` from the step `round(x, 10^e)`).
    ///
    /// As the reference: a decimal with no more than `-e` places is unchanged; a decimal with more
    /// is rounded to `-e` places (scale `-e`, or 0 when the result is zero); a fraction, or a step
    /// above 1, gives the canonical form.
    pub fn round(self, e: i32) -> R<Q> {
        let rs = self.ref_scale();
        if let Some(s) = rs {
            if e <= 0 && s as i32 <= -e {
                return Ok(self.as_num_kind());
            }
        }
        let neg = self.n < 0;
        let (n, d) = (self.n.unsigned_abs() as u128, self.d() as u128);
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
            let r = fin(qi, p as i128, t as u8)?;
            Ok(if rs.is_some() {
                r.zero_scale()
            } else {
                r.canonical()
            })
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
            Ok(fin(vi, 1, 0)?.canonical())
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
        let a = q("18319.88").div_with(Q::int(12).unwrap(), None).unwrap();
        let b = q("200").div_with(Q::int(12).unwrap(), None).unwrap();
        let d = a.add(b).unwrap().add(b).unwrap();
        assert_eq!(d.to_num(), Num::parse("1559.99").unwrap());
        let y = q("3119.99")
            .sub(d)
            .unwrap()
            .div_with(Q::int(3).unwrap(), None)
            .unwrap();
        assert_eq!(y.to_num(), Num::parse("520").unwrap());
        assert_eq!(
            q("520/3").round(-2).unwrap().to_num(),
            Num::parse("173.33").unwrap()
        );
        assert_eq!(
            q("-0.005").round(-2).unwrap().to_num(),
            Num::parse("-0.01").unwrap()
        );
        assert_eq!(
            q("15").round(1).unwrap().to_num(),
            Num::parse("20").unwrap()
        );
        assert_eq!(
            q("-15").round(1).unwrap().to_num(),
            Num::parse("-20").unwrap()
        );
        assert_eq!(q("1/3").to_num().to_string(), "1/3");
        assert_eq!(q("3/8").to_num().to_string(), "0.375");
        assert!(matches!(q("3/8").to_num(), Num::Dec(_)));
        assert_eq!(msc(1200), 4);
        assert_eq!(msc(12), 2);
        assert_eq!(msc(3), 0);
        assert_eq!(msc(1000), 3);
        // 17 decimal places: 10^17 does not fit the packed denominator, so the compiled path declines.
        assert!(Q::from_num(&Num::parse("0.00000836983336750").unwrap()).is_err());
        assert!(Q::from_num(&Num::parse("0.0000000000000001").unwrap()).is_ok());
    }

    /// A decimal written with its scale (`Num::parse` drops trailing zeros).
    fn dec(s: &str) -> Num {
        Num::Dec(s.parse().unwrap())
    }

    /// The representation (`Debug` shows a decimal's scale: `Dec(125.00)`), not only the value.
    fn repr(x: &Num) -> String {
        format!("{x:?}")
    }

    /// Every operation gives the reference's representation: `125.00` where `Num` gives `125.00`,
    /// `125` where it gives `125`, a fraction or the minimal scale after a fraction.
    #[test]
    fn q_keeps_the_reference_scale() {
        let xs = [
            dec("125"),
            dec("125.00"),
            dec("0.50"),
            dec("1.5"),
            dec("-2.250"),
            dec("1000.00"),
            dec("1200.00"),
            dec("0.25"),
            dec("3"),
            dec("0.001"),
            Num::parse("1/3").unwrap(),
            Num::parse("250/3").unwrap(),
            Num::ZERO,
        ];
        // Canonical values that terminate (the reference holds their minimal scale).
        let third = Q::from_num(&Num::parse("1/3").unwrap()).unwrap();
        let mut qs: Vec<(Num, Q)> = xs
            .iter()
            .map(|x| (x.clone(), Q::from_num(x).unwrap()))
            .collect();
        qs.push((
            Num::parse("1/3")
                .unwrap()
                .checked_mul(&dec("1.50"))
                .unwrap(),
            third.mul(Q::from_num(&dec("1.50")).unwrap()).unwrap(),
        ));
        qs.push((
            dec("1000.00")
                .checked_div(&Num::from_i64(3))
                .unwrap()
                .checked_mul_i64(3)
                .unwrap(),
            Q::from_num(&dec("1000.00"))
                .unwrap()
                .div_int(3, 0)
                .unwrap()
                .mul_int(3)
                .unwrap(),
        ));
        // Inputs read over a common denominator keep their own scale.
        qs.push((
            dec("750"),
            Q::from_decimal_scaled(&"750".parse().unwrap(), 2).unwrap(),
        ));
        for (a, qa) in &qs {
            assert_eq!(repr(&qa.to_num()), repr(a), "{a:?}");
            assert_eq!(repr(&qa.neg().to_num()), repr(&a.neg()), "-{a:?}");
            assert_eq!(repr(&qa.abs().to_num()), repr(&a.abs()), "abs {a:?}");
            for e in [-3, -2, -1, 0, 1] {
                let step = if e <= 0 {
                    Decimal::new(1, (-e) as u32)
                } else {
                    Decimal::new(10i64.pow(e as u32), 0)
                };
                let want = a.round_to(step).unwrap();
                assert_eq!(
                    repr(&qa.round(e).unwrap().to_num()),
                    repr(&want),
                    "round({a:?}, 10^{e})"
                );
            }
            assert_eq!(
                repr(&qa.mul_int(12).unwrap().to_num()),
                repr(&a.checked_mul_i64(12).unwrap()),
                "{a:?} * 12"
            );
            assert_eq!(
                repr(&qa.div_int(12, msc(12)).unwrap().to_num()),
                repr(&a.checked_div(&Num::from_i64(12)).unwrap()),
                "{a:?} / 12"
            );
            for (b, qb) in &qs {
                let cases = [
                    ("+", qa.add(*qb), a.checked_add(b)),
                    ("-", qa.sub(*qb), a.checked_sub(b)),
                    ("*", qa.mul(*qb), a.checked_mul(b)),
                ];
                for (op, got, want) in cases {
                    assert_eq!(
                        repr(&got.unwrap().to_num()),
                        repr(&want.unwrap()),
                        "{a:?} {op} {b:?}"
                    );
                }
                if !b.is_zero() {
                    assert_eq!(
                        repr(&qa.div_with(*qb, None).unwrap().to_num()),
                        repr(&a.checked_div(b).unwrap()),
                        "{a:?} / {b:?}"
                    );
                }
            }
        }
        // The case that showed: round(125, 0.01) is `125`, and round(125.00, 0.01) is `125.00`.
        assert_eq!(
            repr(&Q::int(125).unwrap().round(-2).unwrap().to_num()),
            "Dec(125)"
        );
        let q125 = Q::from_num(&dec("125.00")).unwrap();
        assert_eq!(repr(&q125.round(-2).unwrap().to_num()), "Dec(125.00)");
    }
}
