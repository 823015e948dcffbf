//! The shipped policies' own test cases (`policies/*/tests/*.toml`) inside `cargo test`, as
//! `doudi test policies` runs them: every policy directory under `policies/` that has a `tests/`
//! folder is loaded and every case of every file is run. All failures of all files are collected and
//! reported together (file, case and messages), and the number of cases run is checked against the
//! number the files hold, so the test cannot pass by running nothing.

use doudi::interpreter::testing::{find_policies, run_file, test_files, CaseResult};
use doudi::Policy;
use std::path::{Path, PathBuf};

fn policies_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

/// The `[[case]]` entries of a test file, read independently of the test runner.
fn cases_in(file: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    let doc: toml::Table = text.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    match doc.get("case") {
        Some(toml::Value::Array(cases)) => Ok(cases.len()),
        _ => Err("no `[[case]]`".into()),
    }
}

/// The directories `policies/<name>/` that have a `tests/` folder, read from the disk.
fn directories_with_tests(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("tests").is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_shipped_policy_case_passes() {
    let root = policies_root();
    let with_tests: Vec<PathBuf> = find_policies(&root)
        .into_iter()
        .filter(|p| p.join("tests").is_dir())
        .collect();
    // The runner's discovery finds every policy directory with tests that the disk holds.
    for dir in directories_with_tests(&root) {
        assert!(
            with_tests.contains(&dir),
            "{} has tests but is not found as a policy",
            dir.display()
        );
    }
    assert!(
        !with_tests.is_empty(),
        "no policy with tests under {}",
        root.display()
    );

    let mut failures: Vec<String> = Vec::new();
    let mut present = 0usize;
    let mut run: Vec<CaseResult> = Vec::new();
    for dir in &with_tests {
        let files = test_files(dir);
        if files.is_empty() {
            failures.push(format!(
                "{}: a tests/ folder without any .toml file",
                dir.display()
            ));
            continue;
        }
        for f in &files {
            match cases_in(f) {
                Ok(n) => present += n,
                Err(e) => failures.push(format!("{}: {e}", f.display())),
            }
        }
        match Policy::load(dir) {
            Err(e) => failures.push(format!(
                "{}: the policy does not load:\n{}",
                dir.display(),
                e.render()
            )),
            Ok(loaded) => {
                for f in &files {
                    run.extend(run_file(&loaded.policy, f));
                }
            }
        }
    }
    for c in &run {
        if !c.failures.is_empty() {
            failures.push(format!(
                "{} :: {}\n    {}",
                c.file,
                c.name,
                c.failures.join("\n").replace('\n', "\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} policy test cases (or files) failed:\n\n{}",
        failures.len(),
        run.len(),
        failures.join("\n\n")
    );
    assert!(
        present > 0 && run.len() >= present,
        "ran {} policy test cases, but the files hold {present}",
        run.len()
    );
    eprintln!(
        "{} policy test cases passed in {} policies",
        run.len(),
        with_tests.len()
    );
}
