//! Issue 10, "Done when": with `policies/jian-credit-tiers` and `centralised_care_adopted` set true
//! for every region, `doudi eval` gives, for 2024-01, the same outputs as `policies/jian` did before
//! the fidelity corrections.
//!
//! The outputs of that policy were recorded before any change (commit 132554a) in
//! `tests/fixtures/jian-2024-01-before-fidelity.json` (the five households of
//! `policies/jian/examples/households.json`), `tests/fixtures/jian-population-2024-01-before-fidelity.json`
//! and `…-totals.txt` (the 40 households of `policies/jian/examples/population`, with the programme
//! totals). Every output that existed then must be equal, value for value; outputs added since
//! (`cash_benefit`) are not compared.
//!
//! Why equality is expected: the corrections change the shipped policy in ways that the layer and the
//! overrides undo for this data. The credit tiers (serious and severe stop the dibao, 支出型 and with
//! them the care allowance) are back through the layer; centralised care is back everywhere through
//! the overrides. What the layer adds beyond the old policy (centralised care stops under serious or
//! severe dishonesty) touches no household of the example data, and the other corrections do not
//! change values in 2024-01: `tekun` is absent from the data (false), the reform parameters are
//! dated 2020-05-09, and the 2020 standard is not in force in 2024.

use doudi::Policy;
use serde_json::Value as Json;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `--set centralised_care_adopted.<region>=true` for every region the layer knows.
fn adopt_everywhere() -> Vec<String> {
    let policy = Policy::load(&root().join("policies/jian-credit-tiers"))
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .policy;
    let p = policy
        .program
        .param_by_name("centralised_care_adopted")
        .expect("the parameter exists");
    let by = policy.program.params[p as usize]
        .by
        .expect("a table by region");
    let regions = &policy.program.enums[by as usize].variants;
    assert_eq!(regions.len(), 13, "Ji'an's 13 counties and districts");
    regions
        .iter()
        .flat_map(|r| {
            [
                "--set".to_string(),
                format!("centralised_care_adopted.{r}=true"),
            ]
        })
        .collect()
}

fn eval(data: &[&str], extra: &[String]) -> (Vec<Json>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_doudi"))
        .args([
            "eval",
            "--policy",
            "policies/jian-credit-tiers",
            "--period",
            "2024-01",
            "--format",
            "json",
        ])
        .args(data)
        .args(extra)
        .current_dir(root())
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("doudi runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "doudi eval failed:\n{stderr}");
    let rows: Json = serde_json::from_slice(&out.stdout).expect("JSON rows");
    (rows.as_array().expect("an array").clone(), stderr)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures").join(name)).unwrap()
}

/// Every output of every fixture row is in the new row with the same value; new outputs are only
/// the ones added since.
fn assert_same_outputs(new: &[Json], old: &[Json], what: &str) {
    const ADDED_SINCE: &[&str] = &[
        "cash_benefit",
        // Rules over time (policies/jiangxi/roll.doudi, procedure.doudi, fraud.doudi).
        "application_date",
        "applied_on",
        "days_in_month",
        "decided_in_time",
        "decision_date",
        "decision_deadline",
        "grace_applies",
        "grace_left",
        "monitored",
        "monitoring_left",
        "on_register",
        "overdue",
        "owed",
        "paid",
        "pushed_to_credit",
        "roll",
        "roll_reason",
        "spot_check_by",
        "unpaid_months",
        "warned",
        // The credit-tiers layer's repair and 容缺 deadlines (repair.doudi).
        "repair_applied_on",
        "repair_deadline",
        "papers_deadline",
    ];
    assert_eq!(new.len(), old.len(), "{what}: number of households");
    for (n, o) in new.iter().zip(old) {
        let (n, o) = (n.as_object().unwrap(), o.as_object().unwrap());
        let id = &o["household_id"];
        assert_eq!(
            &n["household_id"], id,
            "{what}: households in the same order"
        );
        for (k, v) in o {
            assert_eq!(
                n.get(k),
                Some(v),
                "{what}: household {id}, output `{k}` differs from the policy before the corrections"
            );
        }
        for k in n.keys() {
            assert!(
                o.contains_key(k) || ADDED_SINCE.contains(&k.as_str()),
                "{what}: household {id}: output `{k}` is new and not expected"
            );
        }
    }
}

#[test]
fn credit_tiers_with_centralised_care_everywhere_equal_jian_before_the_corrections() {
    let everywhere = adopt_everywhere();
    let old: Json = serde_json::from_str(&fixture("jian-2024-01-before-fidelity.json")).unwrap();
    let (new, _) = eval(
        &["--input", "policies/jian/examples/households.json"],
        &everywhere,
    );
    assert_same_outputs(&new, old.as_array().unwrap(), "examples/households.json");

    let old: Json =
        serde_json::from_str(&fixture("jian-population-2024-01-before-fidelity.json")).unwrap();
    let mut with_totals = everywhere.clone();
    with_totals.push("--totals".into());
    let (new, totals) = eval(
        &["--data", "policies/jian/examples/population"],
        &with_totals,
    );
    assert_same_outputs(&new, old.as_array().unwrap(), "examples/population");
    // The programme totals (printed on stderr) are the same, line for line, except the total added
    // since (`dibao_paid_total`, what the households on the roll are paid).
    let kept: String = totals
        .lines()
        .filter(|l| !l.trim_start().starts_with("dibao_paid_total "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(kept, totals, "dibao_paid_total is among the totals");
    assert_eq!(
        kept,
        fixture("jian-population-2024-01-before-fidelity-totals.txt"),
        "programme totals"
    );
}

/// The shipped policy differs from the fixture exactly where the corrections say it should, on the
/// example population: centralised care only in Qingyuan (H004 and H028 are in Yongfeng and Yongxin),
/// and no stop for dishonesty (H020 serious, H021 severe).
#[test]
fn the_shipped_policy_differs_only_where_the_corrections_say() {
    let out = Command::new(env!("CARGO_BIN_EXE_doudi"))
        .args([
            "eval",
            "--policy",
            "policies/jian",
            "--data",
            "policies/jian/examples/population",
            "--period",
            "2024-01",
            "--format",
            "json",
        ])
        .current_dir(root())
        .output()
        .expect("doudi runs");
    assert!(out.status.success());
    let new: Json = serde_json::from_slice(&out.stdout).unwrap();
    let old: Json =
        serde_json::from_str(&fixture("jian-population-2024-01-before-fidelity.json")).unwrap();
    let mut changed: Vec<String> = Vec::new();
    for (n, o) in new.as_array().unwrap().iter().zip(old.as_array().unwrap()) {
        for (k, v) in o.as_object().unwrap() {
            if n.get(k) != Some(v) {
                changed.push(format!("{} {k}", o["household_id"].as_str().unwrap()));
            }
        }
    }
    let expected = [
        // Centralised care is not adopted in Yongfeng and Yongxin.
        "H004 centralised_care_cost",
        "H004 total_benefit",
        "H028 centralised_care_cost",
        "H028 total_benefit",
        // Ji'an does not stop benefits for dishonesty (001 五(二)).
        "H020 credit_ok",
        "H020 dibao_eligible",
        "H020 dibao_payment",
        "H020 total_benefit",
        "H021 credit_ok",
        "H021 dibao_eligible",
        "H021 dibao_payment",
        "H021 total_benefit",
    ];
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    changed.sort();
    assert_eq!(changed, expected);
}
