//! The base policy's tests (`tests/*.toml`) run against both policies: the cases a change breaks
//! (they pass on the base and fail on the new policy), the ones it fixes, and the ones failing on
//! both. The cases are those of [`crate::testing`], with their households, months, overrides and
//! expected values; a failure carries the path through the derivation that led to the difference.

use crate::policy::Policy;
use crate::testing::run_file;
use serde_json::{json, Value as Json};
use std::fmt::Write;
use std::path::PathBuf;

/// What the change does to one test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    /// Passes on the base policy, fails on the new one.
    Broken,
    /// Fails on the base policy, passes on the new one.
    Fixed,
    /// Fails on both.
    StillFailing,
    /// Passes on both.
    Passing,
}

impl TestStatus {
    pub fn key(self) -> &'static str {
        match self {
            TestStatus::Broken => "broken",
            TestStatus::Fixed => "fixed",
            TestStatus::StillFailing => "still_failing",
            TestStatus::Passing => "passing",
        }
    }
}

/// One case of the base policy's tests, run on both policies.
#[derive(Debug, Clone)]
pub struct TestChange {
    pub file: String,
    pub name: String,
    pub status: TestStatus,
    /// The failures on the base policy (empty when it passes there).
    pub base_failures: Vec<String>,
    /// The failures on the new policy (empty when it passes there).
    pub new_failures: Vec<String>,
}

/// Runs the cases of `files` on both policies, case by case in file order.
pub fn tests_against(base: &Policy, new: &Policy, files: &[PathBuf]) -> Vec<TestChange> {
    let mut out = Vec::new();
    for f in files {
        let b = run_file(base, f);
        let n = run_file(new, f);
        for (cb, cn) in b.into_iter().zip(n) {
            let status = match (cb.failures.is_empty(), cn.failures.is_empty()) {
                (true, false) => TestStatus::Broken,
                (false, true) => TestStatus::Fixed,
                (false, false) => TestStatus::StillFailing,
                (true, true) => TestStatus::Passing,
            };
            out.push(TestChange {
                file: cb.file,
                name: cb.name,
                status,
                base_failures: cb.failures,
                new_failures: cn.failures,
            });
        }
    }
    out
}

fn count(r: &[TestChange], s: TestStatus) -> usize {
    r.iter().filter(|t| t.status == s).count()
}

/// The broken cases with what the new policy gives, the fixed ones, those failing on both, and a
/// last line of counts.
pub fn render_tests_text(r: &[TestChange], base_name: &str, new_name: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "the tests of {base_name} ({} cases) run against {new_name}:",
        r.len()
    );
    for t in r.iter().filter(|t| t.status == TestStatus::Broken) {
        let _ = writeln!(o, "BROKEN 被改变打破 {} :: {}", t.file, t.name);
        for line in t.new_failures.iter().flat_map(|m| m.lines()) {
            let _ = writeln!(o, "     {line}");
        }
    }
    for t in r.iter().filter(|t| t.status == TestStatus::Fixed) {
        let _ = writeln!(o, "FIXED  被改变修复 {} :: {}", t.file, t.name);
    }
    for t in r.iter().filter(|t| t.status == TestStatus::StillFailing) {
        let _ = writeln!(
            o,
            "FAIL   原已失败 {} :: {} (fails on the base policy too)",
            t.file, t.name
        );
    }
    let _ = writeln!(
        o,
        "{} broken, {} fixed, {} failing on both, {} passing on both",
        count(r, TestStatus::Broken),
        count(r, TestStatus::Fixed),
        count(r, TestStatus::StillFailing),
        count(r, TestStatus::Passing)
    );
    o
}

/// Every case with its status and failures, and the counts.
pub fn render_tests_json(r: &[TestChange]) -> Json {
    let cases: Vec<Json> = r
        .iter()
        .map(|t| {
            json!({
                "file": t.file, "name": t.name, "status": t.status.key(),
                "base_failures": t.base_failures, "new_failures": t.new_failures,
            })
        })
        .collect();
    json!({
        "cases": cases,
        "broken": count(r, TestStatus::Broken),
        "fixed": count(r, TestStatus::Fixed),
        "still_failing": count(r, TestStatus::StillFailing),
        "passing": count(r, TestStatus::Passing),
    })
}
