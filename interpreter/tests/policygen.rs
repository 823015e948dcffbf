//! The generated-policy differential: random well-typed policies (`policygen`), both evaluators on
//! every household output, error and programme total; plus the minimised disagreements it found,
//! kept as regression cases under `tests/data/generated/`.
//!
//! `DOUDI_POLICYGEN_N` sets the number of policies (default 400; BENCHMARKS.md records a run of
//! 10,000 with the `policygen` example).

use doudi_interpreter::data::read_json_str;
use doudi_interpreter::policygen::{self, compare};
use doudi_interpreter::{Month, Policy};
use std::path::Path;

fn n_policies() -> u64 {
    std::env::var("DOUDI_POLICYGEN_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400)
}

#[test]
fn generated_policies_agree() {
    let mut total = compare::Stats::default();
    let mut bad = Vec::new();
    for seed in 0..n_policies() {
        match compare::check_seed(seed, 16) {
            Ok(s) => total.add(&s),
            Err(d) => bad.push(d.to_string()),
        }
    }
    eprintln!("{total:?}");
    assert!(
        bad.is_empty(),
        "{} disagreements; the first:\n{}",
        bad.len(),
        bad[0]
    );
    // The comparison means something: almost every policy compiles, the compiled path computes
    // most households by itself, and some evaluations fail (errors are compared too).
    assert!(total.uncompiled * 20 <= total.policies, "{total:?}");
    assert!(total.fast * 2 >= total.evaluations, "{total:?}");
    assert!(total.errors * 50 >= total.evaluations, "{total:?}");
    assert!(total.errors * 2 <= total.evaluations, "{total:?}");
    assert!(total.totals > 0, "{total:?}");
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(policygen::generate(7).text(), policygen::generate(7).text());
    assert_ne!(policygen::generate(7).text(), policygen::generate(8).text());
}

/// Every generated policy checks (one that does not is a generator or checker bug).
#[test]
fn generated_policies_check() {
    for seed in 1000..1500 {
        if let Err(d) = compare::load(seed, &policygen::generate(seed).text()) {
            panic!("{d}");
        }
    }
}

/// Over a few hundred seeds the generator writes every construct it is meant to exercise.
#[test]
fn generator_covers_the_constructs() {
    let texts: String = (0..300).map(|s| policygen::generate(s).text()).collect();
    for construct in [
        "hit unique",
        "hit first",
        "hit sum",
        "otherwise =",
        "exception household.",
        "exception person.",
        "state household.",
        "previous(",
        "from 2023-07-01",
        " by e",
        "monthly(",
        "yearly(",
        "round(",
        "abs(",
        " / ",
        "any(",
        "all(",
        "count(",
        "min(",
        "max(",
        "sum(",
        " for members where ",
        "days_between(",
        "add_days(",
        "[code]",
        "household.",
        "programme.",
        "for households",
        "count(persons",
        "money per year",
        "percent",
        "months",
        " in {",
        "if ",
        " and ",
        " or ",
        "not ",
    ] {
        assert!(texts.contains(construct), "never generated: {construct}");
    }
}

/// A minimised case: `policy.doudi`, `households.json` and the `months` to compare.
fn regression(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/generated")
        .join(name);
    let path = dir.join("policy.doudi");
    let text = std::fs::read_to_string(&path).unwrap();
    let policy = Policy::load(&path)
        .unwrap_or_else(|e| panic!("{name}: {}", e.render()))
        .policy;
    let json = std::fs::read_to_string(dir.join("households.json")).unwrap();
    let hs = read_json_str(&policy.schema, &json, "households.json").unwrap();
    let months: Vec<Month> = std::fs::read_to_string(dir.join("months"))
        .unwrap()
        .split_whitespace()
        .map(|m| Month::parse(m).unwrap())
        .collect();
    if let Err(d) = compare::compare(0, &text, &policy, &hs, &months) {
        panic!("{name}: {d}");
    }
}

/// Equal values at different scales made a programme total exact on one side and an overflow on the
/// other (fixed in `num/`: fraction arithmetic drops a decimal's trailing zeros).
#[test]
fn regression_total_scale() {
    regression("total-scale");
}
