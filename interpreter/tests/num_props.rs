//! Property tests of the exact number type `Num`.

use doudi_interpreter::num::{ArithError, Num};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn small_dec() -> impl Strategy<Value = Num> {
    (-10_000_000i64..10_000_000, 0u32..=4).prop_map(|(m, s)| Num::from_decimal(Decimal::new(m, s)))
}

fn small_frac() -> impl Strategy<Value = Num> {
    (-1_000_000i128..1_000_000, 1i128..1000).prop_map(|(n, d)| Num::from_i128_ratio(n, d).unwrap())
}

fn small_num() -> impl Strategy<Value = Num> {
    prop_oneof![small_dec(), small_frac()]
}

fn arb_decimal() -> impl Strategy<Value = Decimal> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<bool>(),
        0u32..=28,
    )
        .prop_map(|(lo, mid, hi, neg, s)| Decimal::from_parts(lo, mid, hi, neg, s))
}

fn extreme() -> impl Strategy<Value = Num> {
    let list = vec![
        Num::from_decimal(Decimal::MAX),
        Num::from_decimal(Decimal::MIN),
        Num::from_decimal(Decimal::new(1, 28)),
        Num::from_decimal(Decimal::new(-1, 28)),
        Num::from_decimal(Decimal::from_i128_with_scale((1 << 96) - 1, 28)),
        Num::from_i128_ratio(i128::MAX, 3).unwrap(),
        Num::from_i128_ratio(-i128::MAX, 3).unwrap(),
        Num::from_i128_ratio(1, i128::MAX).unwrap(),
        Num::from_i128_ratio(-1, i128::MAX).unwrap(),
        Num::from_i128_ratio(i128::MAX, i128::MAX - 1).unwrap(),
        Num::from_i128_ratio(1, 10i128.pow(38)).unwrap(),
        Num::ZERO,
        // hand-built, non-canonical
        Num::Rat(i128::MIN, 3),
        Num::Rat(i128::MIN, i128::MIN),
        Num::Rat(i128::MIN, 0),
        Num::Rat(7, -14),
    ];
    proptest::sample::select(list)
}

fn arb_num() -> impl Strategy<Value = Num> {
    prop_oneof![
        arb_decimal().prop_map(Num::from_decimal),
        (any::<i128>(), any::<i128>())
            .prop_filter_map("representable", |(n, d)| Num::from_i128_ratio(n, d).ok()),
        (any::<i64>(), 1i128..1_000_000_000)
            .prop_filter_map("representable", |(n, d)| Num::from_i128_ratio(n as i128, d)
                .ok()),
        small_num(),
        extreme(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Independent references
// ---------------------------------------------------------------------------------------------

/// (sign, |n|, |d|) of any Num, read as the fraction it spells (zero denominator read as 1).
fn parts(x: &Num) -> (i8, u128, u128) {
    let (neg, n, d) = match *x {
        Num::Dec(dec) => {
            let m = dec.mantissa();
            (m < 0, m.unsigned_abs(), 10u128.pow(dec.scale()))
        }
        Num::Rat(n, d) => (
            (n < 0) != (d < 0),
            n.unsigned_abs(),
            if d == 0 { 1 } else { d.unsigned_abs() },
        ),
    };
    let s = if n == 0 {
        0
    } else if neg {
        -1
    } else {
        1
    };
    (s, n, d)
}

/// Compares positive fractions a/b and c/d by Euclid's algorithm (continued fractions): no products.
fn cmp_pos(mut a: u128, mut b: u128, mut c: u128, mut d: u128) -> Ordering {
    loop {
        let (q1, r1) = (a / b, a % b);
        let (q2, r2) = (c / d, c % d);
        if q1 != q2 {
            return q1.cmp(&q2);
        }
        match (r1 == 0, r2 == 0) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            // r1/b vs r2/d  <=>  d/r2 vs b/r1
            (false, false) => (a, b, c, d) = (d, r2, b, r1),
        }
    }
}

fn ref_cmp(x: &Num, y: &Num) -> Ordering {
    let (sx, nx, dx) = parts(x);
    let (sy, ny, dy) = parts(y);
    if sx != sy || sx == 0 {
        return sx.cmp(&sy);
    }
    let o = cmp_pos(nx, dx, ny, dy);
    if sx < 0 {
        o.reverse()
    } else {
        o
    }
}

/// Small values only: (n, d) as i128 with d > 0.
fn ratio(x: &Num) -> (i128, i128) {
    let (s, n, d) = parts(x);
    (s as i128 * n as i128, d as i128)
}

/// Round half away from zero of n/d (d > 0), i128.
fn round_half_away(n: i128, d: i128) -> i128 {
    let q = (2 * n.abs() + d) / (2 * d);
    if n < 0 {
        -q
    } else {
        q
    }
}

fn hash_of(x: &Num) -> u64 {
    let mut h = DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

fn pow10(k: u32) -> Decimal {
    Decimal::from_i128_with_scale(10i128.pow(k), 0)
}

fn step(k: i32) -> Decimal {
    if k >= 0 {
        pow10(k as u32)
    } else {
        Decimal::new(1, (-k) as u32)
    }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn num_add_then_sub_is_identity(a in small_num(), b in small_num()) {
        let s = a.checked_add(&b).unwrap();
        prop_assert_eq!(s.checked_sub(&b).unwrap(), a.clone());
        prop_assert_eq!(hash_of(&s.checked_sub(&b).unwrap()), hash_of(&a));
        prop_assert_eq!(s, b.checked_add(&a).unwrap());
    }

    #[test]
    fn num_div_then_mul_is_identity(a in small_num(), b in small_num()) {
        if b.is_zero() {
            prop_assert_eq!(a.checked_div(&b), Err(ArithError::DivisionByZero));
        } else {
            let q = a.checked_div(&b).unwrap();
            prop_assert_eq!(q.checked_mul(&b).unwrap(), a.clone());
            prop_assert_eq!(a.checked_mul(&b).unwrap().checked_div(&b).unwrap(), a);
        }
    }

    #[test]
    fn num_field_laws(a in small_num(), b in small_num(), c in small_num()) {
        let ab_c = a.checked_add(&b).unwrap().checked_add(&c).unwrap();
        let a_bc = a.checked_add(&b.checked_add(&c).unwrap()).unwrap();
        prop_assert_eq!(ab_c, a_bc);
        prop_assert_eq!(a.checked_mul(&b).unwrap(), b.checked_mul(&a).unwrap());
        let lhs = a.checked_mul(&b.checked_add(&c).unwrap()).unwrap();
        let rhs = a.checked_mul(&b).unwrap().checked_add(&a.checked_mul(&c).unwrap()).unwrap();
        prop_assert_eq!(lhs, rhs);
        prop_assert_eq!(a.checked_sub(&a).unwrap(), Num::ZERO);
        prop_assert_eq!(a.neg().neg(), a.clone());
        prop_assert_eq!(a.checked_add(&a.neg()).unwrap(), Num::ZERO);
    }

    #[test]
    fn num_results_are_canonical(a in small_num(), b in small_num()) {
        for r in [a.checked_add(&b), a.checked_sub(&b), a.checked_mul(&b), a.checked_div(&b)].into_iter().flatten() {
            if let Num::Rat(n, d) = r {
                prop_assert!(d > 1);
                prop_assert_eq!(num_integer::Integer::gcd(&n, &d), 1);
                // Terminating fractions this small always have a Decimal form.
                let mut dd = d;
                while dd % 2 == 0 { dd /= 2; }
                while dd % 5 == 0 { dd /= 5; }
                prop_assert!(dd != 1, "Rat({}, {}) has a Decimal form", n, d);
            }
        }
    }

    #[test]
    fn num_cmp_matches_i128_reference(a in small_num(), b in small_num()) {
        let (n1, d1) = ratio(&a);
        let (n2, d2) = ratio(&b);
        prop_assert_eq!(a.cmp(&b), (n1 * d2).cmp(&(n2 * d1)));
        // consistent with the sign of the difference
        let diff = a.checked_sub(&b).unwrap();
        prop_assert_eq!(a.cmp(&b), diff.cmp(&Num::ZERO));
        if a == b {
            prop_assert_eq!(hash_of(&a), hash_of(&b));
        }
    }

    #[test]
    fn num_order_is_total_and_transitive(mut v in proptest::collection::vec(arb_num(), 1..12)) {
        v.sort();
        for i in 0..v.len() {
            for j in i..v.len() {
                prop_assert!(v[i] <= v[j]);
                prop_assert_eq!(v[i].cmp(&v[j]), v[j].cmp(&v[i]).reverse());
            }
        }
    }

    #[test]
    fn num_cmp_matches_euclid_reference_on_any_values(a in arb_num(), b in arb_num()) {
        prop_assert_eq!(a.cmp(&b), ref_cmp(&a, &b));
        if a == b {
            prop_assert_eq!(hash_of(&a), hash_of(&b));
        }
    }

    #[test]
    fn num_round_to_matches_reference(n in -10_000_000i128..10_000_000, d in 1i128..5000, k in -5i32..=3) {
        let x = Num::from_i128_ratio(n, d).unwrap();
        let expected = if k <= 0 {
            let t = 10i128.pow((-k) as u32);
            Num::from_i128_ratio(round_half_away(n * t, d), t).unwrap()
        } else {
            let p = 10i128.pow(k as u32);
            Num::from_i128_ratio(round_half_away(n, d * p) * p, 1).unwrap()
        };
        prop_assert_eq!(x.round_to(step(k)).unwrap(), expected.clone());
        // the same value held as a Decimal (when it has one) rounds the same way
        if let Some(dec) = x.to_decimal() {
            let rescaled = {
                let mut r = dec;
                r.rescale(dec.scale().max(6));
                r
            };
            prop_assert_eq!(Num::from_decimal(rescaled).round_to(step(k)).unwrap(), expected);
        }
    }

    #[test]
    fn num_format_fixed_matches_reference(n in -10_000_000i128..10_000_000, d in 1i128..5000, dp in 0u32..7) {
        let x = Num::from_i128_ratio(n, d).unwrap();
        let q = round_half_away(n * 10i128.pow(dp), d);
        let mag = q.unsigned_abs().to_string();
        let mag = format!("{:0>width$}", mag, width = dp as usize + 1);
        let (int, frac) = mag.split_at(mag.len() - dp as usize);
        let expected = format!("{}{}{}{}", if q < 0 { "-" } else { "" }, int, if dp > 0 { "." } else { "" }, frac);
        prop_assert_eq!(x.format_fixed(dp), expected);
    }

    #[test]
    fn num_display_parse_round_trip(x in arb_num().prop_filter_map("canonical", |x| x.checked_add(&Num::ZERO).ok())) {
        let s = x.to_string();
        let back = Num::parse(&s);
        prop_assert!(back.is_some(), "{} does not parse", s);
        let back = back.unwrap();
        prop_assert_eq!(&back, &x);
        prop_assert_eq!(back.to_string(), s);
        prop_assert_eq!(hash_of(&back), hash_of(&x));
    }

    #[test]
    fn num_lossy_is_nearest(n in -10_000_000i128..10_000_000, d in 1i128..5000) {
        let x = Num::from_i128_ratio(n, d).unwrap();
        let l = x.to_decimal_lossy();
        let err = Num::from_decimal(l).checked_sub(&x).unwrap().abs();
        // at most half a unit in the last place of the result
        let half_ulp = Num::from_i128_ratio(1, 2 * 10i128.pow(l.scale())).unwrap();
        prop_assert!(err <= half_ulp, "{} -> {} (err {})", x, l, err);
        match x.to_decimal() {
            Some(dec) => prop_assert_eq!(l, dec),
            None => prop_assert!(l.scale() >= 20, "{} -> {}", x, l),
        }
    }

    #[test]
    fn num_no_panics_and_consistency_on_extremes(a in arb_num(), b in arb_num(), k in -28i32..=28, dp in 0u32..40) {
        let add = a.checked_add(&b);
        let sub = a.checked_sub(&b);
        let mul = a.checked_mul(&b);
        let div = a.checked_div(&b);
        if b.is_zero() {
            prop_assert_eq!(div.clone(), Err(ArithError::DivisionByZero));
        }
        if let Ok(d) = &sub {
            prop_assert_eq!(d.cmp(&Num::ZERO), a.cmp(&b));
        }
        if let Ok(s) = &add {
            if let Ok(back) = s.checked_sub(&b) {
                prop_assert_eq!(back, a.clone());
            }
        }
        if let Ok(p) = &mul {
            if !b.is_zero() {
                if let Ok(back) = p.checked_div(&b) {
                    prop_assert_eq!(back, a.clone());
                }
            }
        }
        if let Ok(q) = &div {
            if let Ok(back) = q.checked_mul(&b) {
                prop_assert_eq!(back, a.clone());
            }
        }
        for r in [&add, &sub, &mul, &div] {
            if let Ok(Num::Rat(_, d)) = r {
                prop_assert!(*d > 1);
            }
        }
        let _ = a.round_to(step(k));
        let _ = a.format_fixed(dp);
        let _ = a.to_decimal_lossy();
        let _ = a.to_decimal();
        let _ = a.to_i64();
        let _ = a.is_integer();
        let _ = a.abs();
        let _ = a.neg();
        let _ = hash_of(&a);
        let _ = format!("{a} {a:?} {a:.2}");
        let _ = a.checked_mul_i64(i64::MIN);
    }

    #[test]
    fn num_decimal_fast_paths_agree_with_fraction_path(a in arb_decimal(), b in arb_decimal()) {
        // A hand-built Rat(m, 10^s), reduced as every fraction `Num` makes is, holds the same value
        // but forces the fraction path.
        let as_rat = |d: Decimal| {
            let (m, p) = (d.mantissa(), 10i128.pow(d.scale()));
            let g = num_integer::Integer::gcd(&m, &p).max(1);
            Num::Rat(m / g, p / g)
        };
        let (x, y) = (Num::from_decimal(a), Num::from_decimal(b));
        let (rx, ry) = (as_rat(a), as_rat(b));
        let pairs = [
            (x.checked_add(&y), rx.checked_add(&ry)),
            (x.checked_sub(&y), rx.checked_sub(&ry)),
            (x.checked_mul(&y), rx.checked_mul(&ry)),
            (x.checked_div(&y), rx.checked_div(&ry)),
        ];
        for (fast, slow) in pairs {
            if let (Ok(f), Ok(s)) = (&fast, &slow) {
                prop_assert_eq!(f, s);
                prop_assert_eq!(hash_of(f), hash_of(s));
                prop_assert_eq!(f.to_string(), s.to_string());
            }
            // the fraction path only fails where the exact result is not representable
            if let (Ok(f), Err(_)) = (&fast, &slow) {
                prop_assert!(false, "fraction path failed where the fast path gave {}", f);
            }
        }
        prop_assert_eq!(x.cmp(&y), rx.cmp(&ry));
    }

    #[test]
    fn num_round_to_decimal_matches_mantissa_reference(a in arb_decimal(), t in 0u32..=28) {
        let x = Num::from_decimal(a);
        let r = x.round_to(step(-(t as i32))).unwrap();
        let expected = if a.scale() <= t {
            a
        } else {
            let q = round_half_away(a.mantissa(), 10i128.pow(a.scale() - t));
            Decimal::from_i128_with_scale(q, t)
        };
        prop_assert_eq!(r, Num::from_decimal(expected));
    }

    #[test]
    fn num_round_to_is_nearest_on_any_values(a in arb_num(), k in -28i32..=28) {
        if let Ok(r) = a.round_to(step(k)) {
            let st = Num::from_decimal(step(k));
            // r is a multiple of the step
            if let Ok(q) = r.checked_div(&st) {
                prop_assert!(q.is_integer(), "{} / {} = {}", r, st, q);
            }
            // and within half a step, ties away from zero
            if let (Ok(err), Ok(half)) = (a.checked_sub(&r), st.checked_div(&Num::from_i64(2))) {
                let err = err.abs();
                prop_assert!(err <= half, "{} -> {} at {}", a, r, st);
                if err == half {
                    prop_assert!(r.abs() > a.abs());
                }
            }
        }
    }

    #[test]
    fn num_parse_never_panics(s in "[-+0-9./eE ]{0,45}") {
        if let Some(x) = Num::parse(&s) {
            prop_assert_eq!(Num::parse(&x.to_string()), Some(x));
        }
    }
}

#[test]
fn num_policy_spec_worked_example_props() {
    // D = 18319.88/12 + 200/12 + 200/12 == 1559.99 exactly; y = (3119.99 - D) / 3 == 520 == S.
    let p = |s: &str| Num::parse(s).unwrap();
    let twelve = p("12");
    let d = [p("18319.88"), p("200"), p("200")]
        .iter()
        .map(|x| x.checked_div(&twelve).unwrap())
        .try_fold(Num::ZERO, |acc, x| acc.checked_add(&x))
        .unwrap();
    assert_eq!(d, p("1559.99"));
    let y = p("3119.99")
        .checked_sub(&d)
        .unwrap()
        .checked_div(&p("3"))
        .unwrap();
    assert_eq!(y, p("520"));
    assert!(y >= p("520"), "exactly S: not eligible");
    // The naive 28-digit decimal route gets it wrong.
    let t = Decimal::from(12);
    let dd = |s: &str| s.parse::<Decimal>().unwrap();
    let naive_d = [dd("18319.88"), dd("200"), dd("200")]
        .iter()
        .map(|x| x.checked_div(t).unwrap())
        .sum::<Decimal>();
    let naive_y = (dd("3119.99") - naive_d)
        .checked_div(Decimal::from(3))
        .unwrap();
    assert_ne!(naive_d, dd("1559.99"));
    assert!(
        naive_y < dd("520"),
        "naive: {naive_y} < 520 would wrongly be eligible"
    );
}

/// Found by the generated-policy differential (seed 5218): the same values at different scales gave
/// an exact sum once and an overflow once, so the two evaluators (which may give a value different
/// scales) disagreed on a programme total. Arithmetic is a function of the values.
#[test]
fn results_do_not_depend_on_the_scale() {
    let big = Num::parse("276990761176332930656118").unwrap();
    let small = Num::parse("0.01876944715677").unwrap();
    let padded = Num::parse("0.0187694471567700").unwrap();
    assert_eq!(small, padded);
    let exact = Num::parse("27699076117633293065611801876944715677/100000000000000").unwrap();
    for x in [&small, &padded] {
        assert_eq!(big.checked_add(x), Ok(exact.clone()));
        assert_eq!(x.checked_add(&big), Ok(exact.clone()));
        assert_eq!(big.checked_sub(x), big.checked_sub(&small));
        assert_eq!(big.checked_mul(x), big.checked_mul(&small));
        assert_eq!(big.checked_div(x), big.checked_div(&small));
    }
}
