//! Tests of the simulator's dynamics, Monte Carlo, reforms and determinism, on the shipped Ji'an policy
//! and its 40-household example population (small and fast in debug builds).

use doudi_interpreter::data::{self, Household};
use doudi_interpreter::{Month, Num, Policy, Value};
use doudi_simulator::dynamics::Dynamics;
use doudi_simulator::montecarlo::{self, Outcome};
use doudi_simulator::report;
use doudi_simulator::scenario::Scenario;
use doudi_simulator::setup::{self, PopulationInfo};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn policy_path() -> String {
    root().join("policies/jian").display().to_string()
}

fn example_dir() -> String {
    root()
        .join("policies/jian/examples/population")
        .display()
        .to_string()
}

/// A scenario on the example population; `extra` is appended to the TOML. Without a
/// `[calibration]` table of its own, it has no burn-in: month 0 is the data's month.
fn scenario(months: u32, runs: u32, extra: &str) -> Scenario {
    scenario_for(&policy_path(), months, runs, extra)
}

fn scenario_for(policy: &str, months: u32, runs: u32, extra: &str) -> Scenario {
    let burn_in = if extra.contains("[calibration]") {
        ""
    } else {
        "[calibration]\nburn_in_months = 0\n"
    };
    let text = format!(
        "[scenario]\nname = \"t\"\npolicy = \"{}\"\nstart = \"2024-01\"\nmonths = {months}\nruns = {runs}\nseed = 11\n[population]\ndata = \"{}\"\n{extra}\n{burn_in}",
        policy.replace('\\', "/"),
        example_dir().replace('\\', "/")
    );
    Scenario::from_toml_str(&text, "test.toml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: Scenario) -> Outcome {
    run_with(s, None)
}

fn run_with(s: Scenario, given: Option<(Vec<Household>, PopulationInfo)>) -> Outcome {
    let p = setup::prepare(s, given).unwrap_or_else(|e| panic!("{e}"));
    montecarlo::simulate(&p, &|| {}).unwrap_or_else(|e| panic!("{e}"))
}

fn metric(o: &Outcome, programme: &str, measure: &str) -> usize {
    o.metrics
        .iter()
        .position(|m| m.programme == programme && m.measure == measure)
        .unwrap()
}

/// Median of a cell for all regions and areas.
fn med(o: &Outcome, v: usize, t: usize, programme: &str, measure: &str) -> Num {
    o.variants[v]
        .monthly
        .get(t, 0, 0, metric(o, programme, measure))
        .median
        .clone()
}

/// The example population with `on_dibao` set to what the policy says in 2024-01: no errors to correct.
fn consistent_population() -> (Vec<Household>, PopulationInfo) {
    let policy = Policy::load(Path::new(&policy_path())).unwrap().policy;
    let mut hs = data::read_csv_dir(&policy.schema, Path::new(&example_dir())).unwrap();
    let eligible = policy.output("dibao_eligible").unwrap();
    let slot = policy.schema.household_index("on_dibao").unwrap();
    let m = Month::parse("2024-01").unwrap();
    for h in &mut hs {
        let e = policy.evaluate(h, m, &[eligible]).unwrap()[0].as_bool();
        h.fields[slot] = Value::Bool(e);
    }
    let persons = hs.iter().map(|h| h.members.len() as u64).sum();
    let info = PopulationInfo {
        source: "test".into(),
        households: hs.len() as u64,
        persons,
        weight: 1,
        reference_population: None,
        notes: vec![],
    };
    (hs, info)
}

#[test]
fn nobody_changes_gives_a_flat_caseload() {
    let mut s = scenario(12, 2, "");
    s.dynamics = Dynamics::frozen();
    let o = run_with(s, Some(consistent_population()));
    let first_hh = med(&o, 0, 0, "dibao", "households");
    let first_spend = med(&o, 0, 0, "dibao", "spending");
    assert!(first_hh.is_positive());
    for t in 0..12 {
        assert_eq!(med(&o, 0, t, "dibao", "households"), first_hh, "month {t}");
        assert_eq!(
            med(&o, 0, t, "dibao", "persons"),
            med(&o, 0, 0, "dibao", "persons"),
            "month {t}"
        );
        assert_eq!(med(&o, 0, t, "dibao", "spending"), first_spend, "month {t}");
        for m in [
            "inflows",
            "applications",
            "out_income",
            "out_death",
            "out_review",
            "out_credit",
            "out_grace_end",
        ] {
            assert!(med(&o, 0, t, "dibao", m).is_zero(), "{m} in month {t}");
        }
    }
}

#[test]
fn take_up_zero_gives_no_new_cases() {
    let s = scenario(24, 3, "[dynamics]\ntake_up = 0\n");
    let o = run(s);
    let v = &o.variants[0];
    for (m, name) in [
        (metric(&o, "dibao", "inflows"), "inflows"),
        (metric(&o, "dibao", "applications"), "applications"),
    ] {
        for t in 0..24 {
            assert!(
                v.monthly.get(t, 0, 0, m).p95.is_zero(),
                "{name} in month {t}"
            );
        }
    }
    // Households eligible but not on dibao exist in the example (H024-H029): they stay off it.
    assert!(med(&o, 0, 0, "dibao", "eligible_not_on_dibao").is_positive());
}

#[test]
fn take_up_one_brings_the_eligible_in() {
    let s = scenario(6, 1, "[dynamics]\ntake_up = 1\napply_per_month = 1\n");
    let o = run(s);
    // Everyone eligible applies in month 0; decisions land in month 0 or 1.
    assert!(med(&o, 0, 0, "dibao", "applications").is_positive());
    let inflows: Num = (0..6)
        .map(|t| med(&o, 0, t, "dibao", "inflows"))
        .fold(Num::ZERO, |a, b| a.checked_add(&b).unwrap());
    assert!(inflows.is_positive());
}

#[test]
fn a_reform_equal_to_the_baseline_gives_zero_difference() {
    let s = scenario(
        12,
        3,
        "[reform]\nname = \"same\"\nparameters = { grace_months = 6 }\n",
    );
    let o = run(s);
    let d = o.diff.as_ref().expect("a reform has differences");
    assert!(d
        .monthly
        .data
        .iter()
        .all(|b| b.median.is_zero() && b.p5.is_zero() && b.p95.is_zero()));
    assert!(d
        .yearly
        .data
        .iter()
        .all(|b| b.median.is_zero() && b.p5.is_zero() && b.p95.is_zero()));
    assert!(d.programme.iter().all(|s| s
        .monthly
        .iter()
        .all(|b| b.median.is_zero() && b.p5.is_zero() && b.p95.is_zero())));
    let w = o.winners.as_ref().unwrap();
    assert_eq!(
        w.shares[2].median,
        Num::from_i64(1),
        "everybody in `no change`"
    );
}

#[test]
fn raising_the_standard_costs_more_and_nobody_counts_as_no_change_by_accident() {
    let s = scenario(12, 2, "[reform]\nname = \"+50\"\nparameters = { \"dibao_standard.urban\" = { add = \"50\" }, \"dibao_standard.rural\" = { add = 50 } }\n");
    let o = run(s);
    let d = o.diff.as_ref().unwrap();
    let spend = metric(&o, "dibao", "spending");
    assert!(d.yearly.get(0, 0, 0, spend).median.is_positive());
    let w = o.winners.as_ref().unwrap();
    assert!(w.shares[0].median.is_positive() || w.shares[1].median.is_positive());
}

#[test]
fn same_seed_same_results_for_any_thread_count() {
    let mk = || {
        scenario(12, 2, "[reform]\nname = \"+50\"\nparameters = { \"dibao_standard.urban\" = { add = \"50\" } }\n")
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| run(mk()));
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| run(mk()));
    assert_eq!(one.variants[0].monthly.data, two.variants[0].monthly.data);
    assert_eq!(one.variants[1].monthly.data, two.variants[1].monthly.data);
    assert_eq!(
        one.diff.as_ref().unwrap().yearly.data,
        two.diff.as_ref().unwrap().yearly.data
    );
    // Another seed gives other draws.
    let mut s = mk();
    s.scenario.seed = 12;
    let other = run(s);
    assert_ne!(one.variants[0].monthly.data, other.variants[0].monthly.data);
}

#[test]
fn replaying_unchanged_households_changes_nothing() {
    let s = scenario(
        14,
        2,
        "[reform]\nname = \"+50\"\nparameters = { \"dibao_standard.rural\" = { add = \"50\" } }\n",
    );
    let p = setup::prepare(s.clone(), None).unwrap();
    let cached = montecarlo::simulate(&p, &|| {}).unwrap();
    let mut p = setup::prepare(s, None).unwrap();
    p.sim.cache = false;
    let fresh = montecarlo::simulate(&p, &|| {}).unwrap();
    for v in 0..2 {
        assert_eq!(
            cached.variants[v].monthly.data,
            fresh.variants[v].monthly.data
        );
        for (a, b) in cached.variants[v]
            .programme
            .iter()
            .zip(&fresh.variants[v].programme)
        {
            assert_eq!(a.monthly, b.monthly, "{}", a.name);
        }
    }
}

/// The simulator's compiled evaluation (with replay of unchanged households) against the reference
/// evaluator without replay: every figure of the outcome (monthly and yearly cells, programme totals,
/// reform differences, winners and losers) is the same, on a generated population over two years
/// (ageing, a school year, wage growth, new standards in force).
#[test]
fn compiled_simulation_equals_the_reference() {
    let text = format!(
        "[scenario]\nname = \"t\"\npolicy = \"{}\"\nstart = \"2024-01\"\nmonths = 24\nruns = 2\nseed = 3\n\
         [population]\nspec = \"{}\"\nhouseholds = 1500\nseed = 5\n\
         [dynamics]\njob_loss_per_year = 0.3\ndishonesty_per_year = 0.05\n\
         [reform]\nname = \"+50\"\nparameters = {{ \"dibao_standard.rural\" = {{ add = \"50\" }} }}\n",
        policy_path().replace('\\', "/"),
        root().join("scenarios/populations/jian.toml").display().to_string().replace('\\', "/")
    );
    let s = Scenario::from_toml_str(&text, "test.toml", Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let p = setup::prepare(s.clone(), None).unwrap_or_else(|e| panic!("{e}"));
    let compiled = montecarlo::simulate(&p, &|| {}).unwrap();
    let mut p = setup::prepare(s, None).unwrap();
    p.sim.compiled = false;
    p.sim.cache = false;
    let reference = montecarlo::simulate(&p, &|| {}).unwrap();
    assert!(
        compiled.variants[0]
            .monthly
            .data
            .iter()
            .any(|b| !b.median.is_zero()),
        "the scenario pays something"
    );
    // Exact numbers compare by value: the compiled path may write 733266 where the reference writes
    // 733266.00 (the reports print every figure with its fixed number of decimals).
    assert!(compiled == reference, "the outcomes differ");
    // And the reports are the same, byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("compiled"), dir.path().join("reference"));
    let files = report::write(&p, &compiled, &a).unwrap().files;
    report::write(&p, &reference, &b).unwrap();
    assert!(files.len() > 10);
    for f in files {
        assert!(
            std::fs::read(a.join(&f)).unwrap() == std::fs::read(b.join(&f)).unwrap(),
            "{f} differs"
        );
    }
}

/// One single person on dibao who finds a well-paid job in month 1; `extra` is added to the scenario.
fn grace_outcome(extra: &str) -> Outcome {
    let policy = Policy::load(Path::new(&policy_path())).unwrap().policy;
    let all = data::read_csv_dir(&policy.schema, Path::new(&example_dir())).unwrap();
    let s = &policy.schema;
    let mut h = all
        .into_iter()
        .find(|h| {
            h.members.len() == 1 && h.fields[s.household_index("on_dibao").unwrap()].as_bool()
        })
        .unwrap();
    let p = &mut h.members[0];
    let set = |p: &mut doudi_interpreter::data::Person, f: &str, v: Value| {
        p.fields[s.person_index(f).unwrap()] = v
    };
    set(p, "age", Value::Int(30));
    set(p, "alive", Value::Bool(true));
    set(p, "imprisoned", Value::Bool(false));
    set(p, "monthly_income", Value::Num(Num::ZERO));
    set(p, "employed", Value::Bool(false));
    set(p, "disability_grade", Value::Int(0));
    set(p, "self_care", Value::Enum(0));
    set(p, "illness", Value::Enum(0));
    set(p, "schooling", Value::Enum(0));
    let hs = vec![h];
    let info = PopulationInfo {
        source: "one".into(),
        households: 1,
        persons: 1,
        weight: 1,
        reference_population: None,
        notes: vec![],
    };
    let mut sc = scenario(
        10,
        1,
        &format!("[dynamics]\njob_find_per_year = 1\nchange_report_rate = 1\nnew_job_income_sigma = 0\nnew_job_income_median = {{ urban = 6000, rural = 6000 }}\nwage_growth_per_year = 0\njob_loss_per_year = 0\nreview_interval_months = 600\n{extra}"),
    );
    sc.dynamics.mortality = vec![doudi_simulator::dynamics::AgeRate {
        from_age: 0,
        per_year: 0.0,
    }];
    sc.dynamics.health = Dynamics::frozen().health;
    sc.dynamics.dishonesty_per_year = 0.0;
    run_with(sc, Some((hs, info)))
}

/// Grace for `grace_period` months (the policy's 6), then exit.
#[test]
fn grace_period_keeps_the_last_payment_then_ends() {
    let o = grace_outcome("");
    let paid0 = med(&o, 0, 0, "dibao", "spending");
    assert!(paid0.is_positive());
    // Month 1: the job starts, income ≥ 1.5 S, grace begins: the payment is kept for 6 months (1..=6).
    for t in 1..=6 {
        assert_eq!(
            med(&o, 0, t, "dibao", "households"),
            Num::from_i64(1),
            "month {t}"
        );
        assert_eq!(
            med(&o, 0, t, "dibao", "in_grace"),
            Num::from_i64(1),
            "month {t}"
        );
        assert_eq!(med(&o, 0, t, "dibao", "spending"), paid0, "month {t}");
    }
    assert_eq!(med(&o, 0, 7, "dibao", "out_grace_end"), Num::from_i64(1));
    for t in 7..10 {
        assert!(med(&o, 0, t, "dibao", "households").is_zero(), "month {t}");
    }
}

/// The grace period is the policy's definition `grace_period`: a reform layer that puts an exception on
/// it (scenarios/layers/jian-grace-3m, 3 months) shortens the simulated grace, with no parameter or
/// simulator setting changed.
#[test]
fn a_layer_that_shortens_the_grace_period_changes_the_forecast() {
    let layer = root()
        .join("scenarios/layers/jian-grace-3m")
        .display()
        .to_string()
        .replace('\\', "/");
    let o = grace_outcome(&format!(
        "[reform]\nname = \"grace 3\"\nlayer = \"{layer}\"\n"
    ));
    let paid0 = med(&o, 1, 0, "dibao", "spending");
    assert!(paid0.is_positive());
    for t in 1..=3 {
        assert_eq!(
            med(&o, 1, t, "dibao", "in_grace"),
            Num::from_i64(1),
            "month {t}"
        );
        assert_eq!(med(&o, 1, t, "dibao", "spending"), paid0, "month {t}");
    }
    assert_eq!(med(&o, 1, 4, "dibao", "out_grace_end"), Num::from_i64(1));
    assert!(med(&o, 1, 5, "dibao", "households").is_zero());
    // The baseline keeps its 6 months in the same run.
    assert_eq!(med(&o, 0, 5, "dibao", "in_grace"), Num::from_i64(1));
    assert_eq!(med(&o, 0, 7, "dibao", "out_grace_end"), Num::from_i64(1));
}

/// What a household on the roll is paid is the policy's state `paid`: a reform layer that puts an
/// exception on it (scenarios/layers/jian-grace-half: half the last amount during grace) changes the
/// simulated spending in grace and nothing before it, with no simulator setting changed.
#[test]
fn a_layer_that_changes_what_grace_pays_changes_the_spending() {
    let layer = root()
        .join("scenarios/layers/jian-grace-half")
        .display()
        .to_string()
        .replace('\\', "/");
    let o = grace_outcome(&format!(
        "[reform]\nname = \"grace half\"\nlayer = \"{layer}\"\n"
    ));
    let yuan = |x: Num| x.to_string().parse::<f64>().unwrap();
    let paid0 = yuan(med(&o, 1, 0, "dibao", "spending"));
    assert!(paid0 > 0.0);
    assert_eq!(yuan(med(&o, 0, 0, "dibao", "spending")), paid0);
    for t in 1..=6 {
        assert_eq!(
            med(&o, 1, t, "dibao", "in_grace"),
            Num::from_i64(1),
            "month {t}"
        );
        let half = yuan(med(&o, 1, t, "dibao", "spending"));
        assert!(
            (half * 2.0 - paid0).abs() <= 0.01,
            "month {t}: {half} of {paid0}"
        );
        // The baseline pays the full amount in the same months.
        assert_eq!(yuan(med(&o, 0, t, "dibao", "spending")), paid0, "month {t}");
    }
    assert_eq!(med(&o, 1, 7, "dibao", "out_grace_end"), Num::from_i64(1));
}

/// A confirmed dishonesty case is investigated; the policy decides what stops. Under Ji'an's rules
/// (001 五(二): warning, recovery, register) nobody still eligible leaves; under the credit-tiers
/// layer (seed 000) serious and severe cases stop all assistance that month.
#[test]
fn confirmed_dishonesty_stops_dibao_only_where_the_policy_says_so() {
    let every = "[dynamics]\ndishonesty_per_year = 1\ntake_up = 0\n";
    let none = "[dynamics]\ndishonesty_per_year = 0\ntake_up = 0\n";
    let jian = run(scenario(3, 1, every));
    let quiet = run(scenario(3, 1, none));
    let on_roll = med(&quiet, 0, 0, "dibao", "households");
    assert!(on_roll.is_positive());
    // Only households the investigation finds not eligible leave (the inclusion errors a review
    // would find); most stay on the roll.
    let stayed = med(&jian, 0, 0, "dibao", "households");
    let left = med(&jian, 0, 0, "dibao", "out_credit");
    assert!(stayed.is_positive());
    assert!(stayed > left, "{stayed} stayed, {left} left");
    let tiers_policy = root()
        .join("policies/jian-credit-tiers")
        .display()
        .to_string();
    let tiers = run(scenario_for(&tiers_policy, 3, 1, every));
    assert!(med(&tiers, 0, 0, "dibao", "out_credit").is_positive());
    assert!(med(&tiers, 0, 0, "dibao", "households").is_zero());
    assert!(med(&tiers, 0, 0, "dibao", "spending").is_zero());
}

#[test]
fn deaths_end_dibao() {
    let mut s = scenario(3, 1, "[dynamics]\ntake_up = 0\n");
    s.dynamics.mortality = vec![doudi_simulator::dynamics::AgeRate {
        from_age: 0,
        per_year: 1.0,
    }];
    let o = run(s);
    assert!(med(&o, 0, 1, "dibao", "out_death").is_positive());
    assert!(med(&o, 0, 1, "dibao", "households").is_zero());
}

#[test]
fn sweep_reports_one_point_per_value() {
    let s = scenario(3, 2, "[sweep]\nparameter = \"dibao_standard.urban\"\nfrom = \"700\"\nto = \"800\"\nstep = \"50\"\n");
    let o = run(s);
    let sw = o.sweep.as_ref().unwrap();
    assert_eq!(sw.points.len(), 3);
    // A higher standard never costs less on the same population and draws.
    assert!(sw.points[0].annual_cost.median <= sw.points[2].annual_cost.median);
}

#[test]
fn programme_rules_come_from_the_policy() {
    let o = run(scenario(
        2,
        1,
        "[parameters]\nservices_demand = \"20000000\"\n",
    ));
    let p = &o.variants[0].programme;
    let get = |n: &str| {
        p.iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("{n}"))
            .monthly[0]
            .median
            .clone()
    };
    // 2% of the 500,000,000 special fund is 10,000,000: the rest falls on local finance.
    assert_eq!(get("services_from_fund"), Num::from_i64(10_000_000));
    assert_eq!(
        get("services_from_local_finance"),
        Num::from_i64(10_000_000)
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input: a message naming the file and the key.

fn bad(extra_scenario: &str, dynamics: &str) -> String {
    let text = format!(
        "[scenario]\nname = \"t\"\npolicy = \"{}\"\nstart = \"2024-01\"\nmonths = 3\n{extra_scenario}\n[population]\ndata = \"{}\"\n{dynamics}",
        policy_path().replace('\\', "/"),
        example_dir().replace('\\', "/")
    );
    match Scenario::from_toml_str(&text, "bad.toml", Path::new(".")) {
        Ok(s) => match setup::prepare(s, None) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_scenarios_name_the_file_and_key() {
    let e = bad("colour = \"red\"", "");
    assert!(
        e.contains("bad.toml") && e.contains("scenario.colour"),
        "{e}"
    );
    let e = bad("", "[dynamics]\ntake_up = 1.5\n");
    assert!(
        e.contains("bad.toml: dynamics.take_up") && e.contains("between 0 and 1"),
        "{e}"
    );
    let e = bad("", "[dynamics]\njob_loss_per_year = -0.1\n");
    assert!(e.contains("dynamics.job_loss_per_year"), "{e}");
    let e = bad("runs = \"many\"", "");
    assert!(e.contains("scenario.runs"), "{e}");
    let e = bad(
        "",
        "[dynamics]\nmortality = [{ from_age = 10, per_year = 0.1 }]\n",
    );
    assert!(e.contains("dynamics.mortality[0].from_age"), "{e}");
    let e = bad("", "[parameters]\nno_such_parameter = 1\n");
    assert!(
        e.contains("parameters.\"no_such_parameter\"") && e.contains("unknown parameter"),
        "{e}"
    );
    let e = bad("", "[sweep]\nparameter = \"dibao_standard.urban\"\nfrom = \"900\"\nto = \"700\"\nstep = \"10\"\n");
    assert!(e.contains("sweep.to"), "{e}");
}

#[test]
fn a_policy_that_does_not_load_is_named() {
    let text = format!(
        "[scenario]\nname = \"t\"\npolicy = \"{}\"\nstart = \"2024-01\"\nmonths = 3\n[population]\ndata = \"{}\"\n",
        root().join("tests/fixtures/broken").display().to_string().replace('\\', "/"),
        example_dir().replace('\\', "/")
    );
    let s = Scenario::from_toml_str(&text, "bad.toml", Path::new(".")).unwrap();
    let e = setup::prepare(s, None).err().unwrap().to_string();
    assert!(
        e.contains("bad.toml: scenario.policy") && e.contains("does not load"),
        "{e}"
    );
}

#[test]
fn a_population_with_errors_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = example_dir();
    let src = Path::new(&src_dir);
    std::fs::copy(
        src.join("households.csv"),
        dir.path().join("households.csv"),
    )
    .unwrap();
    let persons = std::fs::read_to_string(src.join("persons.csv")).unwrap();
    let mut lines: Vec<String> = persons.lines().map(String::from).collect();
    lines[3] = lines[3].replacen(",", ",NOT_A_HOUSEHOLD_", 1);
    std::fs::write(dir.path().join("persons.csv"), lines.join("\n") + "\n").unwrap();
    let text = format!(
        "[scenario]\nname = \"t\"\npolicy = \"{}\"\nstart = \"2024-01\"\nmonths = 3\n[population]\ndata = \"{}\"\n",
        policy_path().replace('\\', "/"),
        dir.path().display().to_string().replace('\\', "/")
    );
    let s = Scenario::from_toml_str(&text, "bad.toml", Path::new(".")).unwrap();
    let e = setup::prepare(s, None).err().unwrap().to_string();
    assert!(
        e.contains("bad.toml: population.data") && e.contains("persons.csv"),
        "{e}"
    );
}

/// Every shipped scenario reads and validates (the city-scale one is not run here: 1.5 million
/// households).
#[test]
fn shipped_scenarios_load() {
    let mut n = 0;
    for e in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 5, "{n} scenarios");
}

/// Applications are decided on the policy's working-day calendar: one filed on the first working day
/// of September 2024 is decided in September (09-02 + 15 working days = 09-24, with 09-14 worked and
/// the Mid-Autumn holiday off); one filed on its last working day, 09-30, crosses National Day and
/// is decided on 10-23.
#[test]
fn decisions_follow_the_policys_working_day_calendar() {
    let policy = Policy::load(&root().join("policies/jian"))
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .policy;
    let cal = &policy.program.calendar;
    let sep = Month::parse("2024-09").unwrap();
    assert_eq!(
        doudi_simulator::run::decision_months(cal, sep, 0.0, 15),
        Some(0)
    );
    assert_eq!(
        doudi_simulator::run::decision_months(cal, sep, 0.9999, 15),
        Some(1)
    );
    // A processing time of 0 decides on the filing day.
    assert_eq!(
        doudi_simulator::run::decision_months(cal, sep, 0.9999, 0),
        Some(0)
    );
    // Beyond the calendar's last year: no answer (the simulator falls back to 21 working days).
    let later = Month::parse("2026-12").unwrap();
    assert_eq!(
        doudi_simulator::run::decision_months(cal, later, 0.9999, 15),
        None
    );
}

/// Timeliness: with a processing time of 15 ± 5 working days, decisions after the policy's
/// `decision_deadline` (15 working days) are counted as `decided_late`; with 15 exactly, none is.
#[test]
fn decisions_after_the_policys_deadline_are_counted_late() {
    let on_time = run(scenario(12, 2, "[dynamics]\ntake_up = 1\n"));
    let spread = run(scenario(
        12,
        2,
        "[dynamics]\ntake_up = 1\napproval_lag_spread_working_days = 5\n",
    ));
    let sum = |o: &Outcome, m: &str| {
        (0..12).fold(Num::ZERO, |a, t| {
            a.checked_add(&med(o, 0, t, "dibao", m)).unwrap()
        })
    };
    let decisions = |o: &Outcome| {
        sum(o, "inflows")
            .checked_add(&sum(o, "rejections"))
            .unwrap()
    };
    assert!(decisions(&on_time).is_positive());
    assert!(sum(&on_time, "decided_late").is_zero());
    let late = sum(&spread, "decided_late");
    assert!(late.is_positive(), "some of the 15 ± 5 days come late");
    assert!(late < decisions(&spread), "not every decision is late");
}

/// Whether a recipient who found work keeps its payment is the policy's `grace_applies`: a reform
/// layer with an exception on it (scenarios/layers/jian-no-grace) ends the payment at once; the
/// simulator only supplies the event (work began).
#[test]
fn the_grace_condition_is_the_policys() {
    let layer = root()
        .join("scenarios/layers/jian-no-grace")
        .display()
        .to_string()
        .replace('\\', "/");
    let o = grace_outcome(&format!(
        "[reform]\nname = \"no grace\"\nlayer = \"{layer}\"\n"
    ));
    // Baseline: grace from month 1. Reform: exit in month 1 on the reported change.
    assert_eq!(med(&o, 0, 1, "dibao", "in_grace"), Num::from_i64(1));
    assert!(med(&o, 1, 1, "dibao", "in_grace").is_zero());
    assert_eq!(med(&o, 1, 1, "dibao", "out_income"), Num::from_i64(1));
    assert!(med(&o, 1, 2, "dibao", "households").is_zero());
}
