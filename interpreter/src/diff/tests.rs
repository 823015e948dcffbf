//! Unit tests of the diff: directions, size bands, and a small two-policy comparison whose counts,
//! programme change, gainers and cause are worked out from the rules below.

use super::*;
use crate::data::read_json_household;
use serde_json::json;

fn n(s: &str) -> Value {
    Value::Num(Num::parse(s).expect("a number"))
}

#[test]
fn directions() {
    assert_eq!(
        Direction::of(&n("684"), &n("684.00")),
        None,
        "equal by value"
    );
    assert_eq!(Direction::of(&n("684"), &n("734")), Some(Direction::Up));
    assert_eq!(Direction::of(&n("734"), &n("1/3")), Some(Direction::Down));
    assert_eq!(
        Direction::of(&Value::Int(3), &n("2.5")),
        Some(Direction::Down)
    );
    assert_eq!(
        Direction::of(&Value::Bool(false), &Value::Bool(true)),
        Some(Direction::BecameTrue)
    );
    assert_eq!(
        Direction::of(&Value::Bool(true), &Value::Bool(false)),
        Some(Direction::BecameFalse)
    );
    assert_eq!(
        Direction::of(&Value::Enum(0), &Value::Enum(1)),
        Some(Direction::Changed)
    );
    assert_eq!(Direction::of(&Value::Bool(true), &Value::Bool(true)), None);
}

#[test]
fn size_bands() {
    let bands: Vec<&str> = [0, 1, 2, 3, 4, 5, 6, 40]
        .iter()
        .map(|&m| SIZE_BANDS[size_band(m)])
        .collect();
    assert_eq!(
        bands,
        [
            "1人",
            "1人",
            "2人",
            "3人",
            "4人",
            "5人及以上",
            "5人及以上",
            "5人及以上"
        ]
    );
}

#[test]
fn group_counts_gainers_losers_and_the_exact_change() {
    let mut g = GroupStat::new("x".into());
    for (p, c) in [(1, "10.50"), (2, "-1/3"), (3, "0"), (4, "0.01")] {
        g.add(p, &Num::parse(c).unwrap()).unwrap();
    }
    assert_eq!(
        (g.households, g.persons, g.gainers, g.losers, g.unchanged()),
        (4, 10, 2, 1, 1)
    );
    // 10.50 − 1/3 + 0.01 = 10.51 − 1/3 = 3053/300
    assert_eq!(g.change, Num::parse("3053/300").unwrap());
}

const RULES: &str = r#"
enum area { urban rural }
input household.region: text
input household.area: area
input person.income: money per month
parameter standard: money per month by area
  assumption "test"
  from 2021-01-01 = { urban: 684, rural: 504 }
definition household.gross "收入": money per month = sum(income for members)
definition household.line "标准": money per month = standard[area] * count(members)
definition household.eligible "符合": bool = gross < line
definition household.payment "补差": money per month = if eligible then line - gross else 0
definition programme.total "总额": money per month = sum(payment for households)
definition programme.eligible_households: integer = count(households where eligible)
"#;

fn policy(text: &str) -> Policy {
    match Policy::from_source("t.doudi", text) {
        Ok(l) => l.policy,
        Err(e) => panic!("{}", e.render()),
    }
}

fn household(p: &Policy, id: &str, region: &str, area: &str, incomes: &[&str]) -> Household {
    let ms: Vec<_> = incomes
        .iter()
        .enumerate()
        .map(|(i, inc)| json!({"id": format!("{id}-{i}"), "income": inc}))
        .collect();
    read_json_household(
        &p.schema,
        &json!({"id": id, "region": region, "area": area, "members": ms}),
        "test",
    )
    .unwrap()
}

#[test]
fn a_raised_urban_standard() {
    let base = policy(RULES);
    let new = policy(&RULES.replace("urban: 684", "urban: 734"));
    let hs = vec![
        household(&base, "U1", "a", "urban", &["700"]), // 700 ≥ 684: not eligible; < 734: eligible, 34
        household(&base, "U2", "a", "urban", &["100", "200"]), // 1368−300 = 1068 → 1468−300 = 1168
        household(&base, "R1", "b", "rural", &["100"]), // rural: unchanged, 404
        household(&base, "U3", "b", "urban", &["800"]), // not eligible either way; its line rises
    ];
    let m = Month::parse("2024-01").unwrap();
    let opts = Options {
        measure: Some("payment".into()),
        examples: 2,
        ..Options::default()
    };
    let mut d = Diff::new(&base, &new, m, &opts).unwrap();
    assert_eq!(d.compiled(), (true, true));
    let changed = d.add_chunk(&hs, &hs).unwrap();
    let ids: Vec<&str> = changed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["U1", "U2", "U3"]);
    let s = d.finish().unwrap();
    assert_eq!((s.households, s.persons), (4, 5));
    assert_eq!((s.changed_households, s.changed_persons), (3, 4));
    let stat = |name: &str| {
        let i = s.outputs.iter().position(|o| o.name == name).unwrap();
        s.output_stats[i].clone()
    };
    assert_eq!(stat("line").count(Direction::Up), 3);
    assert_eq!(stat("eligible").count(Direction::BecameTrue), 1);
    assert_eq!(stat("payment").count(Direction::Up), 2);
    assert_eq!(stat("gross").households(), 0);
    // Programme totals: 1068 + 404 = 1472 → 34 + 1168 + 404 = 1606.
    let total = s.programmes.iter().find(|p| p.name == "total").unwrap();
    assert_eq!(total.change, Some(Num::parse("134").unwrap()));
    assert_eq!(total.yearly, Some(Num::parse("1608").unwrap()));
    let count = s
        .programmes
        .iter()
        .find(|p| p.name == "eligible_households")
        .unwrap();
    assert_eq!(count.change, Some(Num::from_i64(1)));
    assert_eq!(count.yearly, None);
    let g = s.gainers.as_ref().unwrap();
    assert_eq!(s.outputs[g.measure].name, "payment");
    assert_eq!((g.all.gainers, g.all.losers, g.all.unchanged()), (2, 0, 2));
    assert_eq!(g.all.change, Num::parse("134").unwrap());
    assert_eq!((g.by_size[0].households, g.by_size[0].gainers), (3, 1));
    assert_eq!((g.by_size[1].households, g.by_size[1].gainers), (1, 1));
    let regions: Vec<(&str, u64)> = g
        .by_region
        .iter()
        .map(|r| (r.key.as_str(), r.gainers))
        .collect();
    assert_eq!(regions, [("a", 2), ("b", 0)]);
    // Why: `line` (it reads the standard) is the first definition that differs, not `payment`.
    assert_eq!(s.examples.len(), 2);
    let c = s.examples[0].cause.as_ref().unwrap();
    assert_eq!((c.name.as_str(), c.of.as_str()), ("line", "household U1"));
    assert_eq!(
        (c.base.value.as_str(), c.new.value.as_str()),
        ("684.00", "734.00")
    );
    assert_eq!(c.parameters.len(), 1);
    assert_eq!(c.parameters[0].key.as_deref(), Some("urban"));
}

#[test]
fn an_exception_in_the_new_policy_is_the_cause() {
    let base = policy(RULES);
    let new = policy(&format!(
        "{RULES}\nexception household.eligible \"低收入\"\n  when gross < 1000\n  = true\n"
    ));
    let hs = vec![household(&base, "U", "a", "urban", &["900"])];
    let m = Month::parse("2024-01").unwrap();
    let opts = Options {
        outputs: vec!["payment".into()],
        examples: 1,
        ..Options::default()
    };
    let mut d = Diff::new(&base, &new, m, &opts).unwrap();
    d.add_chunk(&hs, &hs).unwrap();
    let s = d.finish().unwrap();
    let c = s.examples[0].cause.as_ref().unwrap();
    assert_eq!(c.name, "eligible");
    assert!(c.new.location.starts_with("t.doudi:"), "{}", c.new.location);
    assert!(
        c.new.defined_at.is_some(),
        "an exception decided in the new policy"
    );
    assert!(c.base.defined_at.is_none());
}

#[test]
fn outputs_and_measures_the_policies_do_not_share_are_errors() {
    let base = policy(RULES);
    let new = policy(&format!(
        "{RULES}\ndefinition household.extra: bool = true\n"
    ));
    let m = Month::parse("2024-01").unwrap();
    let with = |outputs: &[&str], measure: Option<&str>| {
        let opts = Options {
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            measure: measure.map(String::from),
            examples: 0,
            persons: false,
        };
        Diff::new(&base, &new, m, &opts).err().map(|e| e.0)
    };
    let e = with(&["extra"], None).unwrap();
    assert!(e.contains("base policy"), "{e}");
    let e = with(&[], Some("eligible")).unwrap();
    assert!(e.contains("--measure") && e.contains("money"), "{e}");
    assert!(with(&["payment"], Some("line")).is_none());
}

/// A new policy that reads one more input: the households are read with each policy's schema and
/// compared pairwise; households that are not the same in both readings are an error.
#[test]
fn policies_with_different_inputs() {
    let base = policy(RULES);
    let new = policy(&format!(
        "{RULES}\ninput household.disabled_members: integer >= 0 default 0\n\
         exception household.eligible \"重残户\"\n  when disabled_members > 0\n  = true\n"
    ));
    assert_ne!(base.schema, new.schema);
    let read = |p: &Policy, id: &str, extra: Option<i64>| {
        let mut h = json!({"id": id, "region": "a", "area": "urban",
                           "members": [{"id": format!("{id}-1"), "income": "800"}]});
        if let Some(x) = extra {
            h["disabled_members"] = json!(x);
        }
        read_json_household(&p.schema, &h, "test").unwrap()
    };
    let b = vec![read(&base, "A", None), read(&base, "B", None)];
    let n = vec![read(&new, "A", Some(1)), read(&new, "B", None)];
    let m = Month::parse("2024-01").unwrap();
    let opts = Options {
        outputs: vec!["eligible".into()],
        examples: 1,
        ..Options::default()
    };
    let mut d = Diff::new(&base, &new, m, &opts).unwrap();
    let changed = d.add_chunk(&b, &n).unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].id, "A");
    assert_eq!(changed[0].changes[0].direction, Direction::BecameTrue);
    let e = d.add_chunk(&b, &n[..1]).unwrap_err();
    assert!(e.0.contains("differ"), "{e}");
    let s = d.finish().unwrap();
    let c = s.examples[0].cause.as_ref().unwrap();
    assert_eq!(c.name, "eligible");
    assert!(
        c.new.defined_at.is_some(),
        "the new policy's exception decided"
    );
}

/// `persons`: person definitions compared member by member.
#[test]
fn person_definitions_member_by_member() {
    let rules = format!(
        "{RULES}\ndefinition person.below \"低于标准\": bool = income < standard[household.area]\n"
    );
    let base = policy(&rules);
    let new = policy(&rules.replace("urban: 684", "urban: 734"));
    let hs = vec![
        household(&base, "U", "a", "urban", &["700", "100", "690"]),
        household(&base, "R", "b", "rural", &["700"]),
    ];
    let m = Month::parse("2024-01").unwrap();
    let opts = Options {
        outputs: vec!["eligible".into()],
        persons: true,
        ..Options::default()
    };
    let mut d = Diff::new(&base, &new, m, &opts).unwrap();
    d.add_chunk(&hs, &hs).unwrap();
    let s = d.finish().unwrap();
    let po = s.person_outputs.as_ref().unwrap();
    let names: Vec<&str> = po.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["below"]);
    // 700 and 690 fall below 734, not below 684; 100 is below both; the rural member is not.
    assert_eq!(po.stats[0].count(Direction::BecameTrue), 2);
    assert_eq!((po.stats[0].members(), po.stats[0].households), (2, 1));
    assert_eq!((po.changed_members, po.not_computed), (2, 0));
}
