//! Checker diagnostics over a corpus of broken policies (`tests/check/*.doudi` and policy directories),
//! snapshotted as rendered for drafters. Regenerate with `INSTA_UPDATE=always cargo test -p doudi-dsl --test check`
//! (or `cargo insta review`). Every policy of the corpus is checked even when one fails; the test
//! then fails once, listing each policy whose snapshot or assertion failed.

mod common;

use doudi_dsl::diag::render_all;
use std::path::{Path, PathBuf};

/// Loads and checks one policy (file or directory) and renders every diagnostic.
fn check(path: &Path) -> String {
    let loaded = doudi_dsl::load::load(path);
    let (program, diags) = doudi_dsl::check::check(&loaded);
    let mut all = loaded.diagnostics.clone();
    all.extend(diags);
    let mut out = String::new();
    for e in &loaded.errors {
        out.push_str(&format!("error: {e}\n"));
    }
    out.push_str(&render_all(&all, &loaded.sources));
    out.push_str(&format!("\n[program produced: {}]\n", program.is_some()));
    out
}

#[test]
fn checker_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check");
    // Paths in diagnostics are shown relative to the working directory.
    std::env::set_current_dir(&root).unwrap();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert!(
        entries.len() >= 15,
        "the corpus should hold at least 15 broken policies"
    );
    let mut failures = common::Failures::default();
    for p in entries {
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        let rel = PathBuf::from(p.file_name().unwrap());
        failures.check(&name.clone(), || {
            let out = check(&rel);
            // Every broken policy yields at least one diagnostic.
            assert!(
                out.contains("error") || out.contains("warning"),
                "{name}: no diagnostic:\n{out}"
            );
            insta::assert_snapshot!(name, out);
        });
    }
    failures.finish("check");
}
