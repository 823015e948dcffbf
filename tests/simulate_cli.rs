//! `doudi simulate`, `doudi run` and `doudi generate` from the command line: the report directory,
//! byte-identical outputs for 1 and 2 threads, atomic writes, and bad input (exit 2, nothing written).
//! Scenarios in `tests/data/simulate/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn doudi(args: &[&str], threads: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doudi"))
        .args(args)
        .current_dir(root())
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("doudi runs")
}

/// Every file under `dir`, by relative path, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn simulate_writes_a_complete_report_identical_for_1_and_2_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let scenario = "tests/data/simulate/small.toml";
    let out1 = doudi(
        &[
            "simulate",
            scenario,
            "--out",
            a.to_str().unwrap(),
            "--quiet",
        ],
        "1",
    );
    assert_eq!(
        out1.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out1.stderr)
    );
    let stdout = String::from_utf8_lossy(&out1.stdout);
    assert!(
        stdout.contains(&a.join("report.html").display().to_string()),
        "tells where the report is:\n{stdout}"
    );
    let out2 = doudi(
        &[
            "simulate",
            scenario,
            "--out",
            b.to_str().unwrap(),
            "--quiet",
        ],
        "2",
    );
    assert_eq!(
        out2.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out2.stderr)
    );
    let norm = |o: &Output, d: &Path| {
        String::from_utf8_lossy(&o.stdout).replace(&d.display().to_string(), "OUT")
    };
    assert_eq!(norm(&out1, &a), norm(&out2, &b));

    let fa = files(&a);
    let fb = files(&b);
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(fb[k] == *v, "{k} differs between 1 and 2 threads");
    }
    for f in [
        "summary.json",
        "report.html",
        "report.xlsx",
        "monthly.csv",
        "yearly.csv",
        "regions.csv",
        "programme.csv",
        "programme_yearly.csv",
        "reform_monthly.csv",
        "reform_yearly.csv",
        "winners_losers.csv",
        "deciles.csv",
        "series.csv",
        "settings.csv",
        "charts/caseload.svg",
        "charts/caseload.png",
        "charts/spending.svg",
        "charts/reform_spending.svg",
        "charts/winners_losers.svg",
        "charts/winners_losers.png",
    ] {
        assert!(
            fa.contains_key(f),
            "missing {f}; have {:?}",
            fa.keys().collect::<Vec<_>>()
        );
    }
    // No temporary directories are left beside the report.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");

    let summary: serde_json::Value = serde_json::from_slice(&fa["summary.json"]).unwrap();
    assert_eq!(summary["scenario"]["name"], "small");
    assert_eq!(summary["population"]["weight"], 100);
    assert!(summary["variants"].as_array().unwrap().len() == 2);
    assert!(summary["reform_difference"]["yearly"].is_array());
    assert!(summary["winners_losers"]["shares"]["no_change"]["median"].is_string());
    let html = String::from_utf8(fa["report.html"].clone()).unwrap();
    assert!(html.contains("<svg") && html.contains("低保") && html.contains("charset=\"utf-8\""));
    let svg = String::from_utf8(fa["charts/caseload.svg"].clone()).unwrap();
    assert!(
        svg.contains("低保在保户数"),
        "Chinese labels are text in the SVG"
    );
    assert_eq!(&fa["report.xlsx"][..2], b"PK");
    assert_eq!(&fa["charts/caseload.png"][1..4], b"PNG");

    // A second run replaces the report in place.
    let again = doudi(
        &[
            "simulate",
            scenario,
            "--out",
            a.to_str().unwrap(),
            "--quiet",
            "--runs",
            "1",
        ],
        "2",
    );
    assert_eq!(again.status.code(), Some(0));
    let s2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s2["scenario"]["runs"], 1);
}

#[test]
fn a_directory_that_is_not_a_report_is_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("precious.txt"), "keep me").unwrap();
    let out = doudi(
        &[
            "simulate",
            "tests/data/simulate/small.toml",
            "--out",
            tmp.path().to_str().unwrap(),
            "--quiet",
            "--runs",
            "1",
        ],
        "2",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a doudi report"));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("precious.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn bad_input_exits_2_names_file_and_key_and_writes_nothing() {
    let cases: [(&str, &[&str]); 7] = [
        (
            "bad_param_add_range",
            &[
                "bad_param_add_range.toml",
                "parameters.\"dibao_standard.urban\"",
                "adding -1000 gives a value outside the declared range `>= 0`",
            ],
        ),
        (
            "unknown_key",
            &["unknown_key.toml", "dynamics.job_losses", "unknown field"],
        ),
        (
            "bad_param_range",
            &[
                "bad_param_range.toml",
                "parameters.\"dibao_standard.urban\"",
                "outside the declared range `>= 0`",
            ],
        ),
        (
            "bad_rate",
            &[
                "bad_rate.toml",
                "dynamics.change_report_rate",
                "between 0 and 1",
            ],
        ),
        ("bad_type", &["bad_type.toml", "scenario.months"]),
        (
            "bad_policy",
            &["bad_policy.toml", "scenario.policy", "does not load"],
        ),
        (
            "bad_population",
            &[
                "bad_population.toml",
                "population.data",
                "persons.csv",
                "age",
            ],
        ),
    ];
    for (name, expect) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out_dir = tmp.path().join("report");
        let out = doudi(
            &[
                "simulate",
                &format!("tests/data/simulate/{name}.toml"),
                "--out",
                out_dir.to_str().unwrap(),
                "--quiet",
            ],
            "2",
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        for e in expect {
            assert!(err.contains(e), "{name}: expected `{e}` in:\n{err}");
        }
        assert!(!out_dir.exists(), "{name}: nothing is written");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "{name}: no temporary files left"
        );
    }
    let out = doudi(&["simulate", "tests/data/simulate/no_such_file.toml"], "2");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_file.toml"));
}

#[test]
fn run_executes_a_sandboxed_script() {
    let out = doudi(&["run", "tests/data/simulate/script.rhai"], "2");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("households ") && stdout.contains("->"),
        "{stdout}"
    );
    assert!(stdout.contains("urban standard 734.00"), "{stdout}");
    // The sandbox: no file access of its own.
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("evil.rhai");
    std::fs::write(&script, "import \"std\" as s; eval(\"1\")").unwrap();
    let out = doudi(&["run", script.to_str().unwrap()], "2");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn generate_writes_a_population_the_policy_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let out = doudi(
        &[
            "generate",
            "--spec",
            "scenarios/populations/jian.toml",
            "--households",
            "60",
            "--seed",
            "3",
            "--policy",
            "policies/jian",
            "--period",
            "2022-01",
            "--out",
            tmp.path().to_str().unwrap(),
        ],
        "2",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eval = doudi(
        &[
            "eval",
            "--policy",
            "policies/jian",
            "--data",
            tmp.path().to_str().unwrap(),
            "--outputs",
            "dibao_eligible",
            "--format",
            "csv",
        ],
        "2",
    );
    assert_eq!(
        eval.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&eval.stdout).lines().count(), 61);
}

/// `doudi simulate --blocks N` (households in N blocks, every message between a worker and the driver
/// written as JSON and read back) writes the report of `doudi simulate`, byte for byte, for 1, 2 and 4
/// blocks: a generated population of 7 chunks with oversampled and take-all strata, a burn-in,
/// raking, a bootstrap, drawn parameters, grown standards, a reform with winners and losers.
#[test]
fn simulate_in_household_blocks_writes_the_same_report() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = "tests/data/simulate/blocks.toml";
    let run = |name: &str, blocks: Option<&str>| {
        let dir = tmp.path().join(name);
        let mut args = vec![
            "simulate",
            scenario,
            "--out",
            dir.to_str().unwrap(),
            "--quiet",
        ];
        if let Some(n) = blocks {
            args.extend(["--blocks", n]);
        }
        let out = doudi(&args, "2");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout =
            String::from_utf8_lossy(&out.stdout).replace(&dir.display().to_string(), "OUT");
        (stdout, files(&dir))
    };
    let (stdout, whole) = run("whole", None);
    assert!(whole.len() > 10 && whole.contains_key("winners_losers.csv"));
    assert!(
        String::from_utf8_lossy(&whole["calibration.csv"]).contains("dibao_spending"),
        "the scenario rakes its weights"
    );
    for n in ["1", "2", "4"] {
        let (out, f) = run(&format!("blocks{n}"), Some(n));
        assert_eq!(out, stdout, "--blocks {n}: the headline differs");
        assert_eq!(
            f.keys().collect::<Vec<_>>(),
            whole.keys().collect::<Vec<_>>(),
            "--blocks {n}: other files"
        );
        for (k, v) in &whole {
            assert!(f[k] == *v, "--blocks {n}: {k} differs");
        }
    }
    // A number of blocks out of range is bad input, and nothing is written.
    let dir = tmp.path().join("zero");
    let out = doudi(
        &[
            "simulate",
            scenario,
            "--out",
            dir.to_str().unwrap(),
            "--blocks",
            "0",
        ],
        "1",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--blocks must be between 1 and"));
    assert!(!dir.exists());
}
