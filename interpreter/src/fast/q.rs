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
//!   a fraction) is marked *canonical*: either the decimal of its minimal scale, which `sc` then
//!   is (computed once, when the value is made, by valuations rather than a gcd), or a fraction
//!   (marked *frac*, `sc` 0). So [`Q::ref_scale`] is a bit test, and the hot path (sums and
//!   products of amounts) never computes a scale. Every value checks `sc <= 18` and
//!   `|n / d| * 10^sc < 2^62`, so the mantissa the reference holds is below `2^62`.
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
/// The reference holds the value in canonical form (`sc` is then its minimal scale).
const CANON: u64 = 1 << 61;
/// The reference holds a fraction (a canonical value that does not terminate; `sc` is 0).
const FRAC: u64 = 1 << 62;
const INT: u64 = 1 << 63;

/// `n / d` with the reference's scale `sc`, its form (a decimal of scale `sc`, canonical, or a
/// fraction) and kind `int`, in 16 bytes (so that `R<Q>` is returned in registers): `m` packs `d`
/// (bits 0..56), `sc` (56..61), canonical (61), frac (62) and `int` (63); `d > 0`, so `m` is never
/// zero.
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

use crate::num::gcd64 as gcd;

/// For each odd `r < 256`: its inverse modulo `2^64` and `u64::MAX / r`. Then `r` divides `n`
/// exactly when `n * inverse <= u64::MAX / r` (wrapping product; Granlund and Montgomery), a
/// multiplication where `n % r` would be a hardware division, in the compiled path's hottest code.
const ODD_INVERSES: [(u64, u64); 128] = {
    let mut t = [(0u64, 0u64); 128];
    let mut i = 0;
    while i < 128 {
        let r = 2 * i as u64 + 1;
        // Newton's iteration doubles the correct low bits: 3 (r * r = 1 mod 8), 6, ..., 96.
        let mut x = r;
        let mut k = 0;
        while k < 5 {
            x = x.wrapping_mul(2u64.wrapping_sub(r.wrapping_mul(x)));
            k += 1;
        }
        t[i] = (x, u64::MAX / r);
        i += 1;
    }
    t
};

/// `big / small` when `small` divides `big` (`small > 0`). Denominators are powers of ten times
/// small numbers, so the odd part of `small` is usually below 256, and the test and the quotient are
/// multiplications (see [`ODD_INVERSES`]) rather than a hardware division.
#[inline(always)]
fn multiple_of(big: i64, small: i64) -> Option<u64> {
    let (big, small) = (big as u64, small as u64);
    let x = small.trailing_zeros();
    if big.trailing_zeros() < x {
        return None;
    }
    let (b, odd) = (big >> x, small >> x);
    if odd < 256 {
        let (inv, lim) = ODD_INVERSES[(odd >> 1) as usize];
        let q = b.wrapping_mul(inv);
        (q <= lim).then_some(q)
    } else {
        b.is_multiple_of(odd).then(|| b / odd)
    }
}

/// Whether the odd number `r` divides `n`.
#[inline(always)]
fn divides(r: u64, n: u64) -> bool {
    debug_assert!(r % 2 == 1);
    if r < 256 {
        let (inv, lim) = ODD_INVERSES[(r >> 1) as usize];
        n.wrapping_mul(inv) <= lim
    } else {
        n.is_multiple_of(r)
    }
}

/// A positive integer divisor known in advance: `k = 2^twos 5^fives odd`, with `odd`'s inverse
/// modulo `2^64` and `u64::MAX / odd` (see [`ODD_INVERSES`]).
#[derive(Debug, Clone, Copy)]
pub struct IntDivisor {
    pub k: i64,
    twos: u32,
    fives: u32,
    odd: u64,
    odd_inverse: u64,
    odd_limit: u64,
}

impl IntDivisor {
    /// `None` unless `k > 0`.
    pub fn new(k: i64) -> Option<IntDivisor> {
        if k <= 0 {
            return None;
        }
        let twos = k.trailing_zeros();
        let (odd, fives) = strip_fives(k as u64 >> twos, u32::MAX);
        let mut inv = odd;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inv)));
        }
        Some(IntDivisor {
            k,
            twos,
            fives,
            odd,
            odd_inverse: inv,
            odd_limit: u64::MAX / odd,
        })
    }
}

/// `(x / 5^k, k)` for the largest `k <= limit` with `5^k` dividing the odd number `x`. An exact
/// division by 5 is a multiplication by 5's inverse modulo `2^64`, and the product is at most
/// `u64::MAX / 5` exactly when 5 divides (see [`ODD_INVERSES`]).
#[inline(always)]
fn strip_fives(mut x: u64, limit: u32) -> (u64, u32) {
    let (inv5, lim5) = ODD_INVERSES[2];
    let mut k = 0;
    while k < limit {
        let q = x.wrapping_mul(inv5);
        if q > lim5 {
            break;
        }
        x = q;
        k += 1;
    }
    (x, k)
}

/// The minimal decimal scale of `n / d` (`d > 0`): `max(v2(d'), v5(d'))` of the reduced
/// denominator `d' = d / gcd(n, d)`, or `None` when the value does not terminate. With
/// `d = 2^a 5^b r` (`r` prime to 10), `n / d` terminates exactly when `r` divides `n`, and then
/// `d' = 2^(a - min(a, v2(n))) 5^(b - min(b, v5(n)))`: valuations, no gcd.
#[inline]
fn minimal_scale_u64(n: u64, d: u64) -> Option<u8> {
    if n == 0 {
        return Some(0);
    }
    let a = d.trailing_zeros();
    let (r, b) = strip_fives(d >> a, u32::MAX);
    if r != 1 && !divides(r, n) {
        return None;
    }
    let twos = a.saturating_sub(n.trailing_zeros());
    let (_, v5) = strip_fives(n >> n.trailing_zeros(), b);
    Some(twos.max(b - v5) as u8)
}

/// `n / d` reduced by its gcd once, when a part is beyond the bounds; bails if it stays beyond.
#[cold]
fn reduce_parts(n: i128, d: i128) -> R<(i64, i64)> {
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
    Ok((n as i64, d as i64))
}

#[cold]
fn reduce(n: i128, d: i128, sc: u8) -> R<Q> {
    let (n, d) = reduce_parts(n, d)?;
    fin64(n, d, sc)
}

/// A result known not to terminate (`d > 0`): the reference holds a fraction.
#[inline]
fn frac(n: i128, d: i128) -> R<Q> {
    let (n, d) = if n.abs() >= LIM || d >= DLIM {
        reduce_parts(n, d)?
    } else {
        (n as i64, d as i64)
    };
    Ok(Q {
        n,
        m: pack(d as u64, 0, false) | CANON | FRAC,
    })
}

/// A result the reference holds in canonical form (`d > 0`): the decimal of its minimal scale when
/// the value terminates (the scale computed here, once), else a fraction.
#[inline(never)]
fn canon(n: i128, d: i128) -> R<Q> {
    let (n, d) = bounded(n, d)?;
    canon_of(n, d, minimal_scale_u64(n.unsigned_abs(), d as u64))
}

/// `n / d` with parts below the bounds (reduced once by their gcd when they are not).
#[inline(always)]
fn bounded(n: i128, d: i128) -> R<(i64, i64)> {
    if n.abs() >= LIM || d >= DLIM {
        reduce_parts(n, d)
    } else {
        Ok((n as i64, d as i64))
    }
}

/// [`canon`] of bounded parts whose minimal scale `ms` is known.
#[inline(always)]
fn canon_of(n: i64, d: i64, ms: Option<u8>) -> R<Q> {
    match ms {
        Some(sc) => {
            let q = fin64(n, d, sc)?;
            Ok(Q {
                n: q.n,
                m: q.m | CANON,
            })
        }
        None => Ok(Q {
            n,
            m: pack(d as u64, 0, false) | CANON | FRAC,
        }),
    }
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
                canon(*n, *d)
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

    /// As the reference's number: the decimal of scale `sc` (a canonical value that terminates is
    /// the decimal of its minimal scale, which `sc` is), or a fraction.
    pub fn to_num(self) -> Num {
        let d = self.d();
        if !self.is_frac() {
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
        // A fraction: the reference's canonical form of it.
        Num::from_i128_ratio(sn, d as i128).unwrap_or(Num::ZERO)
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

    /// The reference holds a fraction (a value that does not terminate).
    #[inline(always)]
    fn is_frac(self) -> bool {
        self.m.get() & FRAC != 0
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
    /// is poison, whose packing has the frac bit).
    #[inline(always)]
    pub fn ref_scale(self) -> Option<u8> {
        if self.is_frac() {
            None
        } else {
            Some(self.sc())
        }
    }

    #[inline(always)]
    pub fn add(self, o: Q) -> R<Q> {
        if self.is_int() && o.is_int() {
            return Q::int(self.n + o.n);
        }
        if (self.m.get() | o.m.get()) & FRAC != 0 {
            return self.add_fraction(o);
        }
        // Two decimals in the reference (a canonical value is the decimal of its minimal scale):
        // the sum has the larger scale (scale 0 when it is zero).
        let s = self.sc().max(o.sc());
        Ok(self.add_scaled(o, s)?.zero_scale())
    }

    /// A sum where the reference holds a fraction: it adds fractions, and the result is canonical.
    #[inline(never)]
    fn add_fraction(self, o: Q) -> R<Q> {
        let (n, d) = self.sum_parts(o);
        if self.is_frac() && o.is_frac() {
            return canon(n, d);
        }
        // A fraction that does not terminate plus one that does cannot terminate (else the first
        // would be the difference of two terminating values): no scale to compute.
        frac(n, d)
    }

    /// `self + o` as a wide `n / d`, over the larger denominator when one divides the other (so
    /// that amounts over related denominators stay small), else over their product.
    #[inline(always)]
    fn sum_parts(self, o: Q) -> (i128, i128) {
        let (an, bn) = (self.n as i128, o.n as i128);
        let (ad, bd) = (self.d(), o.d());
        // Only the larger denominator can be a multiple of the smaller.
        if ad == bd {
            (an + bn, ad as i128)
        } else if let Some(k) = (ad < bd).then(|| multiple_of(bd, ad)).flatten() {
            (an * k as i128 + bn, bd as i128)
        } else if let Some(k) = (bd < ad).then(|| multiple_of(ad, bd)).flatten() {
            (an + bn * k as i128, ad as i128)
        } else {
            (an * bd as i128 + bn * ad as i128, ad as i128 * bd as i128)
        }
    }

    /// `self + o`, two decimals in the reference, with the sum's scale `s`.
    #[inline(always)]
    fn add_scaled(self, o: Q, s: u8) -> R<Q> {
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
        let (n, d) = self.sum_parts(o);
        fin(n, d, s)
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
        if (self.m.get() | o.m.get()) & FRAC == 0 {
            // Two decimals: the product's scale is the sum of the scales.
            return Ok(fin(n, d, self.sc() + o.sc())?.zero_scale());
        }
        // The reference multiplies fractions.
        canon(n, d)
    }

    /// The quotient `n / d` (`d > 0`) of `self` by a divisor whose reference scale is `sb`
    /// (`None`: a fraction): a decimal when the reference divides decimals exactly, else canonical.
    #[inline]
    fn quotient(self, n: i128, d: i128, sb: Option<u8>) -> R<Q> {
        if n == 0 {
            // The reference's zero quotient (a decimal divided exactly, or a fraction brought
            // back to its canonical form) is `0`, of scale 0.
            return Ok(Q::ZERO_NUM);
        }
        let (n, d) = bounded(n, d)?;
        let ms = minimal_scale_u64(n.unsigned_abs(), d as u64);
        if let (Some(sa), Some(sb), Some(m)) = (self.ref_scale(), sb, ms) {
            // The quotient of the mantissas is `n / d * 10^(sa - sb)`: an integer, so a decimal of
            // scale `sa - sb`, exactly when the value's minimal scale is at most `sa - sb`.
            if sa >= sb {
                if m <= sa - sb {
                    return fin64(n, d, sa - sb);
                }
            } else {
                // The quotient of the mantissas is `n / d / 10^(sb - sa)`: a decimal of scale 0
                // when it is an integer (scales are at most 18, so `dd` fits).
                let dd = d as i128 * POW10[(sb - sa) as usize] as i128;
                if n as i128 % dd == 0 {
                    return fin64(n, d, 0);
                }
            }
        }
        canon_of(n, d, ms)
    }

    /// `self / o`.
    #[inline]
    pub fn div(self, o: Q) -> R<Q> {
        if o.n == 0 {
            return Err(Bail);
        }
        let (mut n, mut d) = (
            self.n as i128 * o.d() as i128,
            self.d() as i128 * o.n as i128,
        );
        if d < 0 {
            n = -n;
            d = -d;
        }
        self.quotient(n, d, o.ref_scale())
    }

    /// `self / k` for a positive integer `k`.
    #[inline]
    pub fn div_int(self, k: i64) -> R<Q> {
        self.quotient(self.n as i128, self.d() as i128 * k as i128, Some(0))
    }

    /// `self / k` for a positive integer constant `k` (`monthly`, `/ 12`), as [`Q::div_int`]. The
    /// common case, a decimal over a power of ten, needs no division: the quotient's denominator
    /// is `10^t k`, whose valuations and odd part are `k`'s, known in advance.
    #[inline(always)]
    pub fn div_by(self, k: &IntDivisor) -> R<Q> {
        if self.n == 0 {
            return Ok(Q::ZERO_NUM);
        }
        let d = self.d();
        let t = d.trailing_zeros();
        if self.is_frac() || t > MAX_SC as u32 || POW10[t as usize] != d {
            return self.div_int(k.k);
        }
        let n = self.n.unsigned_abs();
        let d = d as i128 * k.k as i128;
        if k.odd != 1 && n.wrapping_mul(k.odd_inverse) > k.odd_limit {
            // The odd part of the denominator does not divide: a fraction.
            return frac(self.n as i128, d);
        }
        let (a, b) = (t + k.twos, t + k.fives);
        let tz = n.trailing_zeros();
        let (_, v5) = strip_fives(n >> tz, b);
        let ms = (a - a.min(tz)).max(b - v5) as u8;
        let sa = self.sc();
        if ms <= sa {
            // The reference divides the decimals exactly: a decimal of the dividend's scale.
            return fin(self.n as i128, d, sa);
        }
        let (n, d) = bounded(self.n as i128, d)?;
        canon_of(n, d, Some(ms))
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
            None => canon(p, self.d() as i128),
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
            if rs.is_some() {
                Ok(fin(qi, p as i128, t as u8)?.zero_scale())
            } else {
                canon(qi, p as i128)
            }
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
            canon(vi, 1)
        }
    }
}

#[cfg(test)]
#[path = "q_tests.rs"]
mod tests;
