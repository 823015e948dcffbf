//! `doudi diff` against `doudi eval --totals` (issue 13's acceptance test): on the Ji'an policy
//! and a layer that raises the urban dibao standard by 50 (`tests/fixtures/jian_urban_plus50`),
//! the change diff reports for each programme total is exactly the difference of the two
//! policies' `eval --totals`, on the example population and on a generated one, compared as
//! decimals.

use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::str::FromStr;

const BASE: &str = "policies/jian";
const NEW: &str = "tests/fixtures/jian_urban_plus50";

fn doudi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doudi"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("doudi runs")
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s.trim()).unwrap_or_else(|e| panic!("`{s}` is not a decimal: {e}"))
}

/// `doudi eval --totals`: the programme totals it prints on stderr (`  name label = value`).
fn eval_totals(policy: &str, data: &str, period: &str) -> BTreeMap<String, Decimal> {
    let out = doudi(&[
        "eval",
        "--policy",
        policy,
        "--data",
        data,
        "--period",
        period,
        "--outputs",
        "dibao_eligible",
        "--format",
        "csv",
        "--totals",
    ]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    let mut lines = err.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("programme totals over")),
        "{err}"
    );
    lines
        .map(|l| {
            let (left, value) = l.rsplit_once(" = ").expect("name = value");
            let name = left.split_whitespace().next().expect("a name");
            (name.to_string(), dec(value))
        })
        .collect()
}

fn json_dec(v: &serde_json::Value) -> Decimal {
    match v {
        serde_json::Value::String(s) => dec(s),
        serde_json::Value::Number(n) => dec(&n.to_string()),
        other => panic!("not a number: {other}"),
    }
}

/// Checks `doudi diff --format json` against the two `eval --totals`; returns the diff's JSON.
fn check_against_eval(data: &str, period: &str) -> serde_json::Value {
    let base = eval_totals(BASE, data, period);
    let new = eval_totals(NEW, data, period);
    assert!(!base.is_empty());
    let out = doudi(&[
        "diff", "--base", BASE, "--new", NEW, "--data", data, "--period", period, "--format",
        "json",
    ]);
    ok(&out);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("diff prints JSON");
    let programmes = j["programmes"].as_array().expect("programmes");
    assert_eq!(programmes.len(), base.len(), "every programme total");
    for p in programmes {
        let name = p["name"].as_str().unwrap();
        let (b, n) = (base[name], new[name]);
        assert_eq!(json_dec(&p["base"]), b, "{name}: base total");
        assert_eq!(json_dec(&p["new"]), n, "{name}: new total");
        assert_eq!(json_dec(&p["change"]), n - b, "{name}: change = new − base");
        match p["type"].as_str().unwrap() {
            "money per month" => {
                assert_eq!(json_dec(&p["monthly_change"]), n - b, "{name}");
                assert_eq!(
                    json_dec(&p["yearly_change"]),
                    (n - b) * Decimal::from(12),
                    "{name}"
                );
            }
            "money per year" => assert_eq!(json_dec(&p["yearly_change"]), n - b, "{name}"),
            _ => assert!(p["yearly_change"].is_null(), "{name}"),
        }
    }
    // The raise does reach the dibao paid: the comparison above is not of zeros only.
    let paid = programmes
        .iter()
        .find(|p| p["name"] == "dibao_payment_total")
        .unwrap();
    assert!(json_dec(&paid["change"]) > Decimal::ZERO, "{paid}");
    j
}

#[test]
fn diff_equals_the_difference_of_eval_totals_on_the_example_population() {
    let j = check_against_eval("policies/jian/examples/population", "2024-01");
    // The households that change: consistent counts, and rural households never gain (the raise
    // is urban only).
    let changed = j["changed_households"].as_u64().unwrap();
    assert!(changed > 0 && changed <= j["households"].as_u64().unwrap());
    let g = &j["gainers"];
    assert_eq!(g["measure"], "total_benefit");
    assert_eq!(g["all"]["losers"], 0, "{g}");
    let size_sum: u64 = g["by_size"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["households"].as_u64().unwrap())
        .sum();
    assert_eq!(size_sum, j["households"].as_u64().unwrap());
    // Why: the first definition that differs is the household's standard, read from the
    // overridden parameter in the fixture layer.
    let e = &j["examples"][0]["cause"];
    assert_eq!(e["definition"], "standard", "{e}");
    let p = &e["parameters"][0];
    assert_eq!(p["name"], "dibao_standard");
    assert_eq!(p["key"], "urban");
    assert!(p["base"]["at"]
        .as_str()
        .unwrap()
        .starts_with("policies/jian/standards.doudi:"));
    assert!(p["new"]["at"].as_str().unwrap().starts_with(NEW), "{p}");
}

#[test]
fn diff_equals_the_difference_of_eval_totals_on_a_generated_population() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let out = doudi(&[
        "generate",
        "--spec",
        "scenarios/populations/jian.toml",
        "--households",
        "400",
        "--seed",
        "13",
        "--policy",
        BASE,
        "--period",
        "2025-03",
        "--out",
        dir,
    ]);
    ok(&out);
    check_against_eval(dir, "2025-03");
}

/// CSV: one row per household and changed output; the households are those the JSON counts.
#[test]
fn csv_rows_are_the_changed_households() {
    let data = "policies/jian/examples/population";
    let args = [
        "diff",
        "--base",
        BASE,
        "--new",
        NEW,
        "--data",
        data,
        "--outputs",
        "dibao_payment",
    ];
    let csv = doudi(&[&args[..], &["--format", "csv"]].concat());
    ok(&csv);
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("household_id,persons,region,output,base,new,change,direction")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let json = doudi(&[&args[..], &["--format", "json"]].concat());
    ok(&json);
    let j: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    // dibao_payment, then total_benefit (the measure, added to the outputs).
    let pay = &j["outputs"][0];
    assert_eq!(pay["name"], "dibao_payment");
    let pay_rows: Vec<&Vec<&str>> = rows.iter().filter(|r| r[3] == "dibao_payment").collect();
    assert_eq!(pay_rows.len() as u64, pay["households"].as_u64().unwrap());
    for r in pay_rows {
        assert_eq!(dec(r[5]) - dec(r[4]), dec(r[6]), "{r:?}");
        assert_eq!(
            r[7],
            if dec(r[6]) > Decimal::ZERO {
                "up"
            } else {
                "down"
            }
        );
    }
}

/// A new policy that declares one more input (with a default; the CSV pair lacks its column): the
/// CSV pair is read once per policy, in step, and the unchanged rules change nothing.
#[test]
fn policies_with_different_inputs_read_the_data_each_their_way() {
    let out = doudi(&[
        "diff",
        "--base",
        BASE,
        "--new",
        "tests/fixtures/jian_extra_input",
        "--data",
        "policies/jian/examples/population",
        "--format",
        "json",
    ]);
    ok(&out);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["households"], 40);
    assert_eq!(j["changed_households"], 0);
    for p in j["programmes"].as_array().unwrap() {
        assert_eq!(json_dec(&p["change"]), Decimal::ZERO, "{p}");
    }
}
