//! Partial programme totals (what a distributed run's workers send to its driver): merged in
//! partition order they give exactly the totals of one process, for any partitioning; bytes of
//! another month or policy, or damaged bytes, are refused with a message.

use doudi_interpreter::data::Household;
use doudi_interpreter::programme::{evaluate_programme, PartialError, Totals};
use doudi_interpreter::testgen::{Gen, Profile};
use doudi_interpreter::value::Value;
use doudi_interpreter::{Month, Policy};
use std::path::Path;

fn policy() -> Policy {
    Policy::load(Path::new("../policies/jian"))
        .map_err(|e| e.render())
        .unwrap()
        .policy
}

/// The totals of `parts`, each accumulated on its own and sent as bytes, merged in order.
fn merged(policy: &Policy, month: Month, parts: &[&[Household]]) -> Vec<(u32, Value)> {
    let partials: Vec<Vec<u8>> = parts
        .iter()
        .map(|part| {
            let mut t = Totals::new(policy, month);
            for h in *part {
                t.add_household(h).unwrap();
            }
            t.to_partial()
        })
        .collect();
    let mut all = Totals::new(policy, month);
    for bytes in &partials {
        all.merge(Totals::from_partial(policy, month, bytes).unwrap())
            .unwrap();
    }
    all.finish().unwrap()
}

/// Values with their representation (scale included), so `1.0` and `1.00` differ.
fn reprs(values: &[(u32, Value)]) -> Vec<(u32, Vec<u8>)> {
    values
        .iter()
        .map(|(id, v)| {
            let mut b = Vec::new();
            v.write_repr(&mut b);
            (*id, b)
        })
        .collect()
}

#[test]
fn merged_partials_equal_one_process_for_any_partitioning() {
    let policy = policy();
    let month = Month {
        year: 2024,
        month: 1,
    };
    let hs = Gen::new(&policy.schema, 3, Profile::Realistic).households(0, 600);
    let whole = evaluate_programme(&policy, &hs, month).unwrap();
    assert!(
        whole.iter().any(|(_, v)| !matches!(v, Value::Int(0))),
        "the generated households add something to the totals"
    );
    for cuts in [
        vec![],
        vec![1],
        vec![300],
        vec![7, 250, 251, 599],
        vec![0, 600],
    ] {
        let mut parts: Vec<&[Household]> = Vec::new();
        let mut start = 0;
        for &c in cuts.iter().chain(std::iter::once(&600)) {
            parts.push(&hs[start..c]);
            start = c;
        }
        assert_eq!(
            reprs(&merged(&policy, month, &parts)),
            reprs(&whole),
            "cut at {cuts:?}"
        );
    }
}

#[test]
fn values_read_back_exactly() {
    use doudi_interpreter::num::Num;
    let values = [
        Value::Bool(true),
        Value::Int(-42),
        Value::Num(Num::parse("1559.990").unwrap()),
        Value::Num(Num::parse("1559.99/3").unwrap()),
        Value::Num(Num::parse("-0.0000000000000000000000000001").unwrap()),
        Value::Text("城镇 urban".into()),
        Value::Enum(3),
    ];
    for v in values {
        let mut b = Vec::new();
        v.write_repr(&mut b);
        let mut rest = b.as_slice();
        let back = Value::read_repr(&mut rest).unwrap();
        assert!(rest.is_empty());
        let mut again = Vec::new();
        back.write_repr(&mut again);
        assert_eq!(again, b, "{v:?}");
    }
}

#[test]
fn other_month_other_policy_and_damage_are_refused() {
    let policy = policy();
    let jan = Month {
        year: 2024,
        month: 1,
    };
    let feb = Month {
        year: 2024,
        month: 2,
    };
    let hs = Gen::new(&policy.schema, 4, Profile::Realistic).households(0, 20);
    let mut t = Totals::new(&policy, jan);
    for h in &hs {
        t.add_household(h).unwrap();
    }
    let bytes = t.to_partial();
    let err = |b: &[u8], m| Totals::from_partial(&policy, m, b).err().unwrap();
    assert_eq!(
        err(&bytes, feb),
        PartialError::OtherMonth {
            found: jan,
            expected: feb
        }
    );
    assert_eq!(err(b"not totals", jan), PartialError::NotPartial);
    for cut in [14, 20, bytes.len() - 1] {
        assert!(
            matches!(err(&bytes[..cut], jan), PartialError::Damaged { .. }),
            "cut at {cut}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(err(&longer, jan), PartialError::Damaged { .. }));
    // Every byte changed in turn: an error or a partial that reads, never a panic.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0xA5;
        let _ = Totals::from_partial(&policy, jan, &b);
    }
    // Another policy: another number of aggregations, or another aggregation in a place.
    // (Layout: 13 bytes of magic, the month in 5, the number of totals in 4, the households in
    // 8, then each total starting with its aggregation's code.)
    let mut more = bytes.clone();
    more[18] = more[18].wrapping_add(1);
    assert!(matches!(err(&more, jan), PartialError::OtherPolicy(_)));
    let mut kind = bytes.clone();
    kind[30] = (kind[30] + 1) % 6;
    assert!(matches!(err(&kind, jan), PartialError::OtherPolicy(_)));
}
