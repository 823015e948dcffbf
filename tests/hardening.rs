//! Hostile inputs from the reliability probe (issue 15) that need more than one command or a look at
//! the file system afterwards: report directories, temporary files, script sandbox and deadline,
//! atomic `eval --out`, late errors on stdout. The single-command cases are golden tests
//! (`tests/cli/hostile_*.cmd`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn doudi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doudi"))
        .args(args)
        .current_dir(root())
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("doudi runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Names in `dir` that start with a doudi temporary prefix.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".doudi-") && n != ".doudi-report")
        .collect()
}

#[test]
fn a_directory_with_a_summary_json_but_no_marker_is_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("summary.json"), "{}").unwrap();
    std::fs::write(tmp.path().join("thesis.docx"), "years of work").unwrap();
    let started = Instant::now();
    let out = doudi(&[
        "simulate",
        "tests/data/simulate/small.toml",
        "--out",
        tmp.path().to_str().unwrap(),
        "--quiet",
        "--runs",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a doudi report (no `.doudi-report` marker)"),
        "{}",
        stderr(&out)
    );
    // Checked before the simulation: nothing was simulated, nothing printed on stdout.
    assert!(out.stdout.is_empty());
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("thesis.docx")).unwrap(),
        "years of work"
    );
    assert!(temporaries(tmp.path().parent().unwrap())
        .iter()
        .all(|n| !n.contains(&std::process::id().to_string())));
}

#[test]
fn the_working_directory_and_its_ancestors_are_refused_before_any_work() {
    for out_dir in [".", "..", "/"] {
        let out = doudi(&[
            "simulate",
            "tests/data/simulate/small.toml",
            "--out",
            out_dir,
            "--quiet",
            "--runs",
            "1",
        ]);
        assert_eq!(out.status.code(), Some(2), "--out {out_dir}");
        let err = stderr(&out);
        assert!(
            err.contains("working directory")
                || err.contains("mount point")
                || err.contains("not a doudi report"),
            "--out {out_dir}: {err}"
        );
        assert!(out.stdout.is_empty(), "--out {out_dir}: nothing simulated");
    }
    assert!(
        temporaries(&root()).is_empty(),
        "no temporary directory left in the working directory"
    );
}

#[test]
fn a_marked_report_is_replaced_and_stale_temporaries_are_swept() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let run = || {
        doudi(&[
            "simulate",
            "tests/data/simulate/small.toml",
            "--out",
            report.to_str().unwrap(),
            "--quiet",
            "--runs",
            "1",
        ])
    };
    let first = run();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let marker = std::fs::read_to_string(report.join(".doudi-report")).unwrap();
    assert!(marker.starts_with("doudi report directory"), "{marker}");
    // What a killed run leaves: a staging directory of a process that no longer exists (a pid above
    // any pid limit), and an old one without a pid; and a file of the user's beside them.
    let stale = tmp.path().join(".doudi-report-4294967-abc");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("summary.json"), "{}").unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    std::fs::write(report.join("extra.txt"), "inside the old report").unwrap();
    let second = run();
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    if Path::new("/proc/self").exists() {
        assert!(!stale.exists(), "the stale staging directory is swept");
    }
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(
        !report.join("extra.txt").exists(),
        "the report directory was replaced whole"
    );
    assert!(report.join("summary.json").is_file());
    assert!(
        temporaries(tmp.path()).is_empty(),
        "{:?}",
        temporaries(tmp.path())
    );
}

/// Writes `text` as a script in a fresh directory (outside the working directory) and runs it.
fn run_script(text: &str, extra: &[&str]) -> (Output, Duration) {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("s.rhai");
    std::fs::write(&script, text).unwrap();
    let mut args = vec!["run", script.to_str().unwrap()];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let out = doudi(&args);
    (out, started.elapsed())
}

#[test]
fn scripts_read_and_write_only_inside_their_directories() {
    let scenario = root().join("tests/data/simulate/small.toml");
    let cases = [
        "load_policy(\"/etc\")".to_string(),
        "load_scenario(\"/etc/hostname\")".to_string(),
        "load_scenario(\"../../../../../../../../../etc/hostname\")".to_string(),
        "load_population(\"/proc/self\")".to_string(),
        format!("let s = load_scenario({scenario:?}); s.set_runs(1); write_report(simulate(s), \"/etc/doudi-report\")"),
    ];
    for case in &cases {
        let (out, _) = run_script(case, &[]);
        assert_eq!(out.status.code(), Some(2), "{case}");
        assert!(
            stderr(&out).contains("outside the directories a script may use"),
            "{case}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("root:"),
            "{case}: no file content in the message"
        );
    }
    assert!(!Path::new("/etc/doudi-report").exists());
    // The working directory is usable (here, the repository).
    let policy = root().join("policies/jian");
    let (out, _) = run_script(
        &format!("let p = load_policy({policy:?}); print(p.parameters().len());"),
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the working directory is usable: {}",
        stderr(&out)
    );
}

#[test]
fn a_script_is_stopped_at_its_deadline() {
    // Each sort is one operation: the operation limit alone would let this run for minutes.
    let (out, took) = run_script(
        "let a = []; a.pad(100000, 1); loop { a.sort(); }",
        &["--timeout", "1"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("ran longer than 1 s and was stopped"),
        "{}",
        stderr(&out)
    );
    assert!(took < Duration::from_secs(30), "stopped after {took:?}");
    let (out, _) = run_script("sleep(100000000);", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`sleep` is not available"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn eval_out_is_written_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = tmp.path().join("rows.json");
    let bad = doudi(&[
        "eval",
        "--policy",
        "policies/jian",
        "--input",
        "tests/fixtures/hostile/disability_grade_9.json",
        "--format",
        "json",
        "--out",
        rows.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "neither the file nor a temporary is left"
    );
    let good = doudi(&[
        "eval",
        "--policy",
        "policies/jian",
        "--input",
        "policies/jian/examples/households.json",
        "--format",
        "json",
        "--out",
        rows.to_str().unwrap(),
    ]);
    assert_eq!(good.status.code(), Some(0), "{}", stderr(&good));
    assert!(good.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rows).unwrap()).unwrap();
    assert!(!v.as_array().unwrap().is_empty());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

/// A CSV pair of `n` copies of the example's first household, the last one with a bad person row.
fn population_with_a_late_error(dir: &Path, n: usize) {
    let src = root().join("policies/jian/examples/population");
    let hs = std::fs::read_to_string(src.join("households.csv")).unwrap();
    let ps = std::fs::read_to_string(src.join("persons.csv")).unwrap();
    let (h_header, h_rows) = hs.split_once('\n').unwrap();
    let (p_header, p_rows) = ps.split_once('\n').unwrap();
    let h_row = h_rows.lines().next().unwrap();
    let p_row = p_rows.lines().next().unwrap();
    let (mut h, mut p) = (format!("{h_header}\n"), format!("{p_header}\n"));
    for i in 0..n {
        h.push_str(&h_row.replacen("H001", &format!("X{i:05}"), 1));
        h.push('\n');
        let mut row = p_row.replacen("H001-1,H001", &format!("X{i:05}-1,X{i:05}"), 1);
        if i == n - 1 {
            let mut cells: Vec<&str> = row.split(',').collect();
            cells[7] = "9"; // disability_grade, outside 0..=4
            row = cells.join(",");
        }
        p.push_str(&row);
        p.push('\n');
    }
    std::fs::write(dir.join("households.csv"), h).unwrap();
    std::fs::write(dir.join("persons.csv"), p).unwrap();
}

#[test]
fn a_late_error_on_stdout_closes_the_json_and_says_the_output_is_incomplete() {
    let tmp = tempfile::tempdir().unwrap();
    population_with_a_late_error(tmp.path(), 1500);
    let d = tmp.path().to_str().unwrap();
    let out = doudi(&[
        "eval",
        "--policy",
        "policies/jian",
        "--data",
        d,
        "--format",
        "json",
        "--outputs",
        "dibao_eligible",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: serde_json::Value =
        serde_json::from_str(&stdout).expect("the JSON on stdout is closed");
    let n = rows.as_array().unwrap().len();
    assert!(n > 0 && n < 1500, "{n} rows");
    let err = stderr(&out);
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.contains("the output above is incomplete") && last.contains(&format!("{n} rows")),
        "{err}"
    );
    assert!(
        err.contains("disability_grade") && err.contains("persons.csv:1501"),
        "{err}"
    );
    // CSV: the same last line.
    let out = doudi(&[
        "eval",
        "--policy",
        "policies/jian",
        "--data",
        d,
        "--format",
        "csv",
        "--outputs",
        "dibao_eligible",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .trim_end()
            .ends_with("written before the error)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_scenario_too_large_for_the_machine_is_refused_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let started = Instant::now();
    let out = doudi(&[
        "simulate",
        "tests/data/simulate/huge.toml",
        "--out",
        report.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("too large for this machine")
            && err.contains("10000000 households × 200 variants × 1000 runs × 600 months"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "refused before generating anything"
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn generate_sweeps_what_a_killed_generate_left() {
    let tmp = tempfile::tempdir().unwrap();
    let stale = tmp.path().join(".doudi-generate-4294967-x");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(tmp.path().join("mine.csv"), "a,b\n").unwrap();
    let out = doudi(&[
        "generate",
        "--spec",
        "scenarios/populations/jian.toml",
        "--households",
        "5",
        "--policy",
        "policies/jian",
        "--period",
        "2022-01",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    if Path::new("/proc/self").exists() {
        assert!(!stale.exists());
    }
    assert!(tmp.path().join("mine.csv").exists() && tmp.path().join("households.csv").exists());
}

#[test]
fn allow_opens_one_more_directory_to_a_script() {
    let data = tempfile::tempdir().unwrap();
    for f in ["households.csv", "persons.csv"] {
        std::fs::copy(
            root().join("policies/jian/examples/population").join(f),
            data.path().join(f),
        )
        .unwrap();
    }
    let script = format!(
        "let p = load_population({:?}); print(p.households());",
        data.path()
    );
    let (out, _) = run_script(&script, &[]);
    assert_eq!(out.status.code(), Some(2), "not allowed without --allow");
    assert!(
        stderr(&out).contains("outside the directories a script may use"),
        "{}",
        stderr(&out)
    );
    let (out, _) = run_script(&script, &["--allow", data.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "40");
}
