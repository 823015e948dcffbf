//! Tests of `Q`: exact values and the reference's scale, valuations and divisibility by inverses.

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
    let y = q("3119.99")
        .sub(d)
        .unwrap()
        .div(Q::int(3).unwrap())
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
    // A canonical value carries its exact scale, or is a fraction.
    assert_eq!(q("3/8").ref_scale(), Some(3));
    assert_eq!(q("1/3").ref_scale(), None);
    let third = q("1").div(Q::int(3).unwrap()).unwrap();
    assert_eq!(
        third.add(third).unwrap().add(third).unwrap().ref_scale(),
        Some(0)
    );
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
            .div_int(3)
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
            repr(&qa.div_int(12).unwrap().to_num()),
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
                    repr(&qa.div(*qb).unwrap().to_num()),
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

/// The minimal scale by valuations agrees with the definition (reduce by the gcd, then
/// `max(v2, v5)` of the denominator, `None` when another prime is left).
#[test]
fn minimal_scale_by_valuations_agrees_with_the_gcd() {
    fn by_gcd(n: u64, d: u64) -> Option<u8> {
        let d = d / gcd(n, d);
        let twos = d.trailing_zeros();
        let mut rest = d >> twos;
        let mut fives = 0u32;
        while rest.is_multiple_of(5) {
            rest /= 5;
            fives += 1;
        }
        (rest == 1).then_some(twos.max(fives) as u8)
    }
    proptest::proptest!(|(n in 0u64..1 << 62, k in 0u32..12, j in 0u32..12, r in 1u64..2000, mul in proptest::bool::ANY)| {
        let d = (1u64 << k) * 5u64.pow(j) * r;
        let n = if mul { (n % (1 << 40)) * r } else { n };
        proptest::prop_assert_eq!(minimal_scale_u64(n, d), by_gcd(n, d), "{} / {}", n, d);
    });
    assert_eq!(minimal_scale_u64(0, 12), Some(0));
    assert_eq!(minimal_scale_u64(6, 12), Some(1));
    assert_eq!(minimal_scale_u64(1, 12), None);
    assert_eq!(minimal_scale_u64(3, 1000), Some(3));
    assert_eq!(minimal_scale_u64(500, 1000), Some(1));
}

/// Division by a constant known in advance gives what the general division gives, value,
/// scale and form, or bails where it bails.
#[test]
fn division_by_a_known_constant_agrees_with_the_general_division() {
    proptest::proptest!(|(m in -(1i64 << 50)..(1i64 << 50), s in 0u32..8, pad in 0u32..4, k in 1i64..400, third in proptest::bool::ANY)| {
        let x = Q::from_decimal_scaled(&Decimal::new(m, s), s + pad).unwrap();
        // Also a canonical dividend, and one over a denominator that is not a power of ten.
        let xs = [x, x.div_int(7).unwrap_or(x), if third { x.div_int(3).unwrap_or(x) } else { x.div_int(8).unwrap_or(x) }];
        let dv = IntDivisor::new(k).unwrap();
        for x in xs {
            let (a, b) = (x.div_by(&dv), x.div_int(k));
            proptest::prop_assert_eq!(a.is_ok(), b.is_ok(), "{:?} / {}", x, k);
            if let (Ok(a), Ok(b)) = (a, b) {
                proptest::prop_assert_eq!(repr(&a.to_num()), repr(&b.to_num()), "{:?} / {}", x, k);
                proptest::prop_assert_eq!(a.ref_scale(), b.ref_scale());
            }
        }
    });
}

#[test]
fn multiple_of_agrees_with_the_remainder() {
    proptest::proptest!(|(a in 1i64..1 << 40, b in 1i64..1 << 12, k in 0u32..6, j in 0u32..6)| {
        // Denominators as they come: a small number times powers of two and five.
        let small = b * 2i64.pow(k) * 5i64.pow(j);
        for big in [a, (a % (1 << 20)) * small, small * 3, small, small + 1] {
            let want = (big % small == 0).then(|| (big / small) as u64);
            proptest::prop_assert_eq!(multiple_of(big, small), want, "{} / {}", big, small);
        }
    });
}
