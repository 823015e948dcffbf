//! Growth of the standards after their last dated value (`[uncertainty] standard_growth_per_year`):
//! exact values rounded to the yuan, a rate drawn per run within the range and repeated by the seed,
//! and a forecast that changes only from the first anniversary on.

use doudi_dsl::ast::Date;
use doudi_dsl::ir::Const;
use doudi_interpreter::{Num, Policy};
use doudi_simulator::calibrate::RunDraws;
use doudi_simulator::growth;
use doudi_simulator::montecarlo::{self, Outcome};
use doudi_simulator::report::assumptions;
use doudi_simulator::scenario::Scenario;
use doudi_simulator::setup::{self, Prepared};
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn jian() -> Policy {
    Policy::load(&root().join("policies/jian"))
        .unwrap_or_else(|e| panic!("{e}"))
        .policy
}

/// A scenario on the 40-household example population (no burn-in); `extra` is appended.
fn scenario(months: u32, runs: u32, seed: u64, extra: &str) -> Result<Prepared, String> {
    let text = format!(
        "[scenario]\nname = \"t\"\npolicy = \"{}\"\nstart = \"2024-01\"\nmonths = {months}\nruns = {runs}\nseed = {seed}\n[population]\ndata = \"{}\"\n[calibration]\nburn_in_months = 0\n{extra}\n",
        root().join("policies/jian").display().to_string().replace('\\', "/"),
        root()
            .join("policies/jian/examples/population")
            .display()
            .to_string()
            .replace('\\', "/"),
    );
    let s =
        Scenario::from_toml_str(&text, "growth.toml", Path::new(".")).map_err(|e| e.to_string())?;
    setup::prepare(s, None).map_err(|e| e.to_string())
}

fn date(year: i32, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

/// The values of `name` in force on `d`.
fn values_at(policy_program: &doudi_dsl::ir::Program, name: &str, d: Date) -> Vec<Decimal> {
    let id = policy_program.param_by_name(name).unwrap();
    policy_program.params[id as usize]
        .version_at(d)
        .unwrap()
        .values
        .iter()
        .map(|c| match c {
            Const::Dec(x) => *x,
            Const::Int(i) => Decimal::from(*i),
            other => panic!("not a number: {other:?}"),
        })
        .collect()
}

#[test]
fn standards_grow_from_each_anniversary_of_the_last_dated_value_rounded_to_the_yuan() {
    let policy = jian();
    let mut program = policy.program.clone();
    let names = vec!["dibao_standard".to_string()];
    let before = values_at(&program, "dibao_standard", date(2025, 12, 31));
    let earlier = values_at(&program, "dibao_standard", date(2024, 6, 1));
    let added = growth::grow_program(
        &mut program,
        &names,
        Decimal::new(350, 4),
        date(2027, 12, 31),
    )
    .unwrap();
    // The last dated value is 2025-01-01: new values on 2026-01-01 and 2027-01-01, none after the
    // horizon.
    assert_eq!(
        added,
        vec![(
            "dibao_standard".to_string(),
            vec![date(2026, 1, 1), date(2027, 1, 1)]
        )]
    );
    // Values before the first anniversary are untouched.
    assert_eq!(
        values_at(&program, "dibao_standard", date(2025, 12, 31)),
        before
    );
    assert_eq!(
        values_at(&program, "dibao_standard", date(2024, 6, 1)),
        earlier
    );
    // Each key: its last dated value × 1.035^k, rounded to the yuan (urban 815 × 1.035 = 843.525 →
    // 844; 815 × 1.071225 = 873.048… → 873).
    let v26 = values_at(&program, "dibao_standard", date(2026, 1, 1));
    let v27 = values_at(&program, "dibao_standard", date(2027, 6, 1));
    let factor = Decimal::new(1035, 3);
    for ((b, g1), g2) in before.iter().zip(&v26).zip(&v27) {
        assert_eq!(g1.scale(), 0, "whole yuan: {g1}");
        assert_eq!(*g1, (b * factor).round());
        assert_eq!(*g2, (b * factor * factor).round());
        assert!(g2 > g1 && g1 > b);
    }
    assert_eq!(v26[..].iter().max(), Some(&Decimal::from(844)));
    assert_eq!(v27[..].iter().max(), Some(&Decimal::from(873)));
}

#[test]
fn a_half_yuan_is_rounded_away_from_zero() {
    let mut policy = jian();
    policy.set_param("dibao_standard.urban", "200").unwrap();
    policy.set_param("dibao_standard.rural", "2").unwrap();
    let mut program = policy.program.clone();
    growth::grow_program(
        &mut program,
        &["dibao_standard".to_string()],
        Decimal::new(25, 4), // 0.25 %: 200 → 200.5, 2 → 2.005
        date(2026, 1, 1),
    )
    .unwrap();
    let v = values_at(&program, "dibao_standard", date(2026, 1, 1));
    let area = policy
        .program
        .enums
        .iter()
        .find(|e| e.name == "area")
        .unwrap();
    let urban = area.variants.iter().position(|v| v == "urban").unwrap();
    let rural = area.variants.iter().position(|v| v == "rural").unwrap();
    assert_eq!(v[urban], Decimal::from(201));
    assert_eq!(v[rural], Decimal::from(2));
}

#[test]
fn only_dated_money_parameters_grow() {
    let program = jian().program;
    let check = |n: &str| growth::check(&program, &[n.to_string()]);
    assert!(check("dibao_standard").is_ok());
    assert!(check("care_allowance_amount").is_ok());
    assert!(check("elderly_age")
        .unwrap_err()
        .contains("not an amount of money"));
    assert!(check("centralised_care_standard")
        .unwrap_err()
        .contains("no dated value"));
    assert!(check("no_such_parameter")
        .unwrap_err()
        .contains("unknown parameter"));
}

#[test]
fn bad_growth_settings_name_the_file_and_key() {
    let e = scenario(
        3,
        1,
        1,
        "[uncertainty]\nstandard_growth_per_year = [0.05, 0.02]\n",
    )
    .err()
    .unwrap();
    assert!(
        e.contains("growth.toml") && e.contains("uncertainty.standard_growth_per_year"),
        "{e}"
    );
    let e = scenario(
        3,
        1,
        1,
        "[uncertainty]\nstandard_growth_per_year = [-0.1, 0.02]\n",
    )
    .err()
    .unwrap();
    assert!(e.contains("uncertainty.standard_growth_per_year"), "{e}");
    let e = scenario(
        3,
        1,
        1,
        "[uncertainty]\nstandard_growth_per_year = [0.02, 0.05]\nstandard_parameters = [\"elderly_age\"]\n",
    )
    .err()
    .unwrap();
    assert!(
        e.contains("growth.toml: uncertainty.standard_parameters")
            && e.contains("not an amount of money"),
        "{e}"
    );
    let e = scenario(
        3,
        1,
        1,
        "[uncertainty]\nstandard_parameters = [\"dibao_standard\"]\n",
    )
    .err()
    .unwrap();
    assert!(
        e.contains("uncertainty.standard_parameters") && e.contains("standard_growth_per_year"),
        "{e}"
    );
}

#[test]
fn each_run_draws_its_rate_in_the_range_and_the_seed_repeats_it() {
    let u = "[uncertainty]\nstandard_growth_per_year = [0.02, 0.05]\n";
    let a = scenario(3, 20, 5, u).unwrap();
    let b = scenario(3, 20, 5, u).unwrap();
    let c = scenario(3, 20, 6, u).unwrap();
    let rates = |p: &Prepared| -> Vec<f64> {
        (0..20)
            .map(|r| RunDraws::draw(&p.sim, r, 0.5, false).standard_growth_per_year)
            .collect()
    };
    let (ra, rb, rc) = (rates(&a), rates(&b), rates(&c));
    assert_eq!(ra, rb, "the same seed draws the same rates");
    assert_ne!(ra, rc, "another seed draws other rates");
    for g in &ra {
        assert!((0.02..=0.05).contains(g), "{g} outside [0.02, 0.05]");
        // A whole number of 0.01 percentage points: an exact decimal.
        assert_eq!(
            growth::rate_decimal(*g) * Decimal::from(10_000) % Decimal::ONE,
            Decimal::ZERO
        );
        assert_eq!(growth::rounded_rate(*g), *g);
    }
    let distinct: std::collections::BTreeSet<u64> = ra.iter().map(|g| g.to_bits()).collect();
    assert!(distinct.len() > 10, "rates vary from run to run: {ra:?}");
    let lo = ra.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = ra.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        lo < 0.03 && hi > 0.04,
        "20 draws spread over the range: {lo}–{hi}"
    );
    // The central runs (the take-up fit) use the midpoint.
    assert_eq!(
        RunDraws::draw(&a.sim, 3, 0.5, true).standard_growth_per_year,
        0.035
    );
    // Without a range the standards do not grow.
    let flat = scenario(3, 2, 5, "").unwrap();
    assert_eq!(
        RunDraws::draw(&flat.sim, 0, 0.5, false).standard_growth_per_year,
        0.0
    );
}

fn spending(o: &Outcome) -> Vec<Num> {
    let m = o
        .metrics
        .iter()
        .position(|m| m.programme == "dibao" && m.measure == "spending")
        .unwrap();
    (0..o.variants[0].monthly.periods)
        .map(|t| o.variants[0].monthly.get(t, 0, 0, m).mean.clone())
        .collect()
}

#[test]
fn grown_standards_change_the_forecast_from_the_first_anniversary_only() {
    // One run (no bootstrap): the same events with and without growth.
    let flat = scenario(36, 1, 9, "[dynamics]\ntake_up = 1\n").unwrap();
    let grown = scenario(
        36,
        1,
        9,
        "[dynamics]\ntake_up = 1\n[uncertainty]\nstandard_growth_per_year = [0.05, 0.05]\nassumption = \"test\"\n",
    )
    .unwrap();
    let of = montecarlo::simulate(&flat, &|| {}).unwrap_or_else(|e| panic!("{e}"));
    let og = montecarlo::simulate(&grown, &|| {}).unwrap_or_else(|e| panic!("{e}"));
    let (sf, sg) = (spending(&of), spending(&og));
    assert_eq!(sf.len(), 36);
    // 2024 and 2025 (before 2026-01-01, the first anniversary of 2025-01-01): identical to the cent.
    assert_eq!(sf[..24], sg[..24]);
    // 2026: standards 5 % higher, so no household is paid less and the total is higher.
    for t in 24..36 {
        assert!(sg[t] >= sf[t], "month {t}: {} < {}", sg[t], sf[t]);
    }
    let (a, b): (Num, Num) = (
        sf[24..]
            .iter()
            .fold(Num::ZERO, |s, x| s.checked_add(x).unwrap()),
        sg[24..]
            .iter()
            .fold(Num::ZERO, |s, x| s.checked_add(x).unwrap()),
    );
    assert!(b > a, "2026 spending {b} is not above {a}");
    // The report lists the grown values as assumptions beside the dated ones.
    let rows = assumptions::parameters(&grown);
    let row = rows
        .iter()
        .find(|r| r.name == "dibao_standard" && r.from == "2026-01-01")
        .unwrap_or_else(|| panic!("no grown row in {rows:?}"));
    assert!(row.source.starts_with("assumption"), "{}", row.source);
    assert!(row.value.contains("urban: 856 [856–856]"), "{}", row.value);
    assert!(!assumptions::parameters(&flat)
        .iter()
        .any(|r| r.from == "2026-01-01"));
}
