//! Evaluator unit tests on small in-memory policies: exact division, errors that name the rule,
//! rounding, aggregations, exceptions and tables.

use doudi_interpreter::data::read_json_household;
use doudi_interpreter::{Month, Num, Policy, Value};
use proptest::prelude::*;
use serde_json::json;

const BASE: &str = r#"
enum area { urban rural }
input household.area: area
input person.income: money per month
input person.annual: money per year
input person.age: integer
parameter standard: money per month by area
  assumption "test"
  from 2021-01-01 = { urban: 684, rural: 504 }
  from 2022-07-01 = { urban: 734, rural: 554 }
"#;

fn policy(rules: &str) -> Policy {
    match Policy::from_source("test.doudi", &format!("{BASE}\n{rules}")) {
        Ok(l) => l.policy,
        Err(e) => panic!("policy does not load:\n{}", e.render()),
    }
}

fn household(
    p: &Policy,
    area: &str,
    members: &[(&str, &str, i64)],
) -> doudi_interpreter::data::Household {
    let ms: Vec<_> = members
        .iter()
        .enumerate()
        .map(|(i, (inc, yr, age))| json!({"id": format!("P{i}"), "income": inc, "annual": yr, "age": age}))
        .collect();
    read_json_household(
        &p.schema,
        &json!({"id": "H", "area": area, "members": ms}),
        "test",
    )
    .unwrap()
}

fn eval(
    p: &Policy,
    h: &doudi_interpreter::data::Household,
    month: &str,
    name: &str,
) -> Result<Value, String> {
    let id = p.output(name).unwrap();
    p.evaluate(h, Month::parse(month).unwrap(), &[id])
        .map(|mut v| v.remove(0))
        .map_err(|e| e.render(p.sources()))
}

fn num(s: &str) -> Value {
    Value::Num(Num::parse(s).unwrap())
}

#[test]
fn division_stays_exact_until_rounding() {
    let p = policy(
        "definition household.y: money per month = sum(monthly(annual) for members) / count(members)
         definition household.r: money per month = round(y, 0.01)
         definition household.below: bool = y < 520",
    );
    // The POLICY-SPEC worked example: D = (18319.88 + 200 + 200) / 12 = 1559.99 exactly.
    let h = household(
        &p,
        "rural",
        &[("0", "18319.88", 40), ("0", "200", 40), ("0", "200", 40)],
    );
    assert_eq!(eval(&p, &h, "2024-01", "y").unwrap(), num("155999/300"));
    assert_eq!(eval(&p, &h, "2024-01", "r").unwrap(), num("520.00"));
    assert_eq!(eval(&p, &h, "2024-01", "below").unwrap(), Value::Bool(true));
}

#[test]
fn division_by_zero_names_the_rule() {
    let p = policy("definition household.per_head: money per month = sum(income for members where age > 200) / count(members where age > 200)");
    let h = household(&p, "urban", &[("100", "0", 30)]);
    let err = eval(&p, &h, "2024-01", "per_head").unwrap_err();
    assert!(err.contains("division by zero"), "{err}");
    assert!(err.contains("per_head"), "{err}");
    assert!(err.contains("test.doudi:"), "{err}");
}

#[test]
fn overflow_is_an_error_not_a_panic() {
    let p = policy("definition household.big: money per month = sum(income * 1000000000000000000 * 1000000000000 for members)");
    let h = household(&p, "urban", &[("79228162514264337593543950335", "0", 30)]);
    let err = eval(&p, &h, "2024-01", "big").unwrap_err();
    assert!(err.contains("overflow"), "{err}");
}

#[test]
fn parameters_follow_their_effective_dates() {
    let p = policy("definition household.s: money per month = standard[area]");
    let h = household(&p, "urban", &[("0", "0", 30)]);
    assert_eq!(eval(&p, &h, "2022-06", "s").unwrap(), num("684"));
    assert_eq!(eval(&p, &h, "2022-07", "s").unwrap(), num("734"));
    let err = eval(&p, &h, "2020-12", "s").unwrap_err();
    assert!(err.contains("no value in force on 2020-12-01"), "{err}");
}

#[test]
fn min_over_no_members_is_an_error() {
    let p = policy("definition household.youngest: integer = min(age for members where age > 150)");
    let h = household(&p, "urban", &[("0", "0", 30)]);
    assert!(eval(&p, &h, "2024-01", "youngest")
        .unwrap_err()
        .contains("over no elements"));
}

#[test]
fn rounding_is_half_away_from_zero() {
    let p = policy(
        "definition household.a: money per month = round(sum(income for members) / 8, 0.01)
         definition household.b: money per month = round(0 - sum(income for members) / 8, 0.01)
         definition household.c: money per month = round(sum(income for members), 1)",
    );
    let h = household(&p, "urban", &[("0.1", "0", 30)]); // 0.1/8 = 0.0125
    assert_eq!(eval(&p, &h, "2024-01", "a").unwrap(), num("0.01"));
    assert_eq!(eval(&p, &h, "2024-01", "b").unwrap(), num("-0.01"));
    let h = household(&p, "urban", &[("2.5", "0", 30)]);
    assert_eq!(eval(&p, &h, "2024-01", "c").unwrap(), num("3"));
}

#[test]
fn exceptions_override_the_base_case() {
    let p = policy(
        "definition household.adults: integer = count(members where age >= 18)
         exception household.adults \"rural households count everyone\"
           when area == rural
           = count(members)",
    );
    let h = household(&p, "urban", &[("0", "0", 30), ("0", "0", 10)]);
    assert_eq!(eval(&p, &h, "2024-01", "adults").unwrap(), Value::Int(1));
    let h = household(&p, "rural", &[("0", "0", 30), ("0", "0", 10)]);
    assert_eq!(eval(&p, &h, "2024-01", "adults").unwrap(), Value::Int(2));
}

#[test]
fn overlapping_unique_table_rows_are_reported_at_check_time() {
    let r = Policy::from_source(
        "t.doudi",
        &format!(
            "{BASE}
table person.band: integer
  hit unique
  | age   | result |
  | < 18  | 1      |
  | 10..20 | 2     |
  otherwise = 3"
        ),
    );
    let e = r.err().expect("overlap is an error").render();
    assert!(e.contains("rows 1 and 2"), "{e}");
}

proptest! {
    /// Over random incomes, the policy's exact per-capita test agrees with integer arithmetic in fen:
    /// sum/n < S  ⇔  sum_fen < S_fen × n.
    #[test]
    fn per_capita_test_agrees_with_integer_arithmetic(incomes in proptest::collection::vec(0i64..300_000, 1..7)) {
        let p = policy(
            "definition household.y: money per month = sum(income for members) / count(members)
             definition household.below: bool = y < standard[area]
             definition household.gap: money per month = round((standard[area] - y) * count(members), 0.01)",
        );
        let ms: Vec<(String, &str, i64)> = incomes.iter().map(|f| (format!("{}.{:02}", f / 100, f % 100), "0", 30)).collect();
        let refs: Vec<(&str, &str, i64)> = ms.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
        let h = household(&p, "urban", &refs);
        let total: i64 = incomes.iter().sum();
        let n = incomes.len() as i64;
        let below = total < 73_400 * n;
        prop_assert_eq!(eval(&p, &h, "2024-01", "below").unwrap(), Value::Bool(below));
        // (S - sum/n) × n = S×n - sum, exactly, in fen.
        let gap_fen = 73_400 * n - total;
        let expect = Num::parse(&format!("{}{}.{:02}", if gap_fen < 0 { "-" } else { "" }, gap_fen.abs() / 100, gap_fen.abs() % 100)).unwrap();
        prop_assert_eq!(eval(&p, &h, "2024-01", "gap").unwrap(), Value::Num(expect));
    }
}

/// A policy just inside the nesting bound evaluates on a small thread stack without overflowing.
#[test]
fn deep_but_allowed_policy_evaluates_on_small_stacks() {
    let mut src = String::from("input household.x: bool\n");
    for i in 0..5 {
        let next = if i < 4 {
            format!("d{}", i + 1)
        } else {
            "x".to_string()
        };
        src.push_str(&format!(
            "definition household.d{i}: bool = {}{next}\n",
            "not ".repeat(190)
        ));
    }
    let p = Policy::from_source("deep.doudi", &src)
        .map_err(|e| e.render())
        .unwrap()
        .policy;
    let h = read_json_household(
        &p.schema,
        &json!({"id": "H", "x": true, "members": [{"id": "P"}]}),
        "t",
    )
    .unwrap();
    let id = p.output("d0").unwrap();
    let v = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            p.evaluate(&h, Month::parse("2024-01").unwrap(), &[id])
                .map(|mut v| v.remove(0))
                .map_err(|e| e.to_string())
        })
        .unwrap()
        .join()
        .unwrap();
    // 950 negations of true: an even number.
    assert_eq!(v.unwrap(), Value::Bool(true));
}

/// An overflow caused by a number written in the policy says so: the help names inputs, parameters
/// and the policy's own numbers, not only the data.
#[test]
fn an_overflow_from_a_policy_constant_does_not_blame_the_data() {
    let src = "input household.x: money per month\n\
               definition household.big: money per month = x + 70000000000000000000000000000 * 10\n";
    let p = Policy::from_source("big.doudi", src)
        .map_err(|e| e.render())
        .unwrap()
        .policy;
    let h = read_json_household(
        &p.schema,
        &json!({"id": "H", "x": "1", "members": [{"id": "P"}]}),
        "t",
    )
    .unwrap();
    let id = p.output("big").unwrap();
    let e = p
        .evaluate(&h, Month::parse("2024-01").unwrap(), &[id])
        .unwrap_err();
    let text = e.render(p.sources());
    assert!(text.contains("too large to compute exactly"), "{text}");
    assert!(text.contains("a number written in the policy"), "{text}");
}
