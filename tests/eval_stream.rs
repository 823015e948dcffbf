//! `doudi eval --data DIR` (the segmented reader) through the binary: persons.csv in any order gives
//! the same rows and programme totals as the grouped file, on any number of threads.

use std::path::Path;
use std::process::Command;

fn eval(args: &[&str], threads: &str) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_doudi"))
        .args(["eval", "--policy", "policies/jian", "--period", "2024-01"])
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn any_person_order_and_thread_count_give_the_same_rows_and_totals() {
    let example = Path::new("policies/jian/examples/population");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        example.join("households.csv"),
        dir.path().join("households.csv"),
    )
    .unwrap();
    // persons.csv reversed: each household's persons still together, households in reverse order.
    let persons = std::fs::read_to_string(example.join("persons.csv")).unwrap();
    let mut lines: Vec<&str> = persons.lines().collect();
    lines[1..].reverse();
    std::fs::write(dir.path().join("persons.csv"), lines.join("\n") + "\n").unwrap();
    let grouped = example.to_str().unwrap();
    let reversed = dir.path().to_str().unwrap();
    let (rows, totals) = eval(&["--data", grouped, "--format", "csv", "--totals"], "1");
    assert!(rows.lines().count() == 41 && totals.contains("programme totals over 40 households"));
    for (data, threads) in [(grouped, "3"), (reversed, "1"), (reversed, "2")] {
        let (r, t) = eval(&["--data", data, "--format", "csv", "--totals"], threads);
        // Members come in file order, so reversing them could change a household's member order;
        // the outputs are household-level and do not depend on it.
        assert_eq!(r, rows, "{data} on {threads} threads");
        assert_eq!(t, totals, "{data} on {threads} threads");
    }
}
