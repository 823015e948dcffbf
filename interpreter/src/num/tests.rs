//! Tests of the exact arithmetic: every operation against fractions, the canonical forms, ordering and
//! hashing by value, overflow and rounding.

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
