//! Golden CLI tests: each `tests/cli/NAME.cmd` holds the arguments of one `doudi` run (split on
//! whitespace, run from the workspace root); its exit code, stdout and stderr are snapshotted in
//! `tests/snapshots/cli__NAME.snap`. Regenerate with `INSTA_UPDATE=always cargo test --test cli`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs one golden case and renders what a user would see.
fn check(cmd_file: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let args_text = std::fs::read_to_string(cmd_file).unwrap();
    let args: Vec<&str> = args_text.split_whitespace().collect();
    let out = Command::new(env!("CARGO_BIN_EXE_doudi"))
        .args(&args)
        .current_dir(root)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("doudi runs");
    format!(
        "$ doudi {}\n[exit: {}]\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn golden_cli() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cmd"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    for c in cases {
        let name = c.file_stem().unwrap().to_string_lossy().to_string();
        let out = check(&c);
        insta::assert_snapshot!(name, out);
    }
}

/// The exit codes the CLI promises: 0 ok, 1 check or test failure, 2 usage or input error.
#[test]
fn exit_codes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_doudi"))
            .args(args)
            .current_dir(root)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run(&["check", "policies"]), Some(0));
    assert_eq!(run(&["check", "tests/fixtures/broken"]), Some(1));
    assert_eq!(run(&["test", "tests/fixtures/failing"]), Some(1));
    assert_eq!(
        run(&[
            "eval",
            "--policy",
            "policies/jian",
            "--input",
            "tests/fixtures/bad_household.json"
        ]),
        Some(2)
    );
    assert_eq!(run(&["eval", "--policy", "policies/jian"]), Some(2));
    assert_eq!(run(&["frobnicate"]), Some(2));
}

/// `doudi fmt` on a deliberately mis-formatted file in a temporary directory: `--check` names it,
/// writes nothing and exits 1; `fmt` rewrites it; a second `fmt` and `--check` change nothing. A
/// symbolic link to a file outside the directory is not followed.
#[test]
fn fmt_rewrites_a_misformatted_file() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let sub = dir.path().join("policy");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("p.doudi");
    let ugly = "\n# 说明  \ninput person.age \"年龄\" : integer in 0..=130\n\n\n\ndefinition person.adult: bool\n=age>=18 and age<=min( 60 ,age )   \n";
    let pretty = "# 说明\ninput person.age \"年龄\": integer in 0..=130\n\ndefinition person.adult: bool\n  = age >= 18 and age <= min(60, age)\n";
    std::fs::write(&path, ugly).unwrap();
    let elsewhere = outside.path().join("x.doudi");
    std::fs::write(&elsewhere, ugly).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&elsewhere, sub.join("link.doudi")).unwrap();

    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_doudi"))
            .args(args)
            .arg(dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        (out.status.code(), stdout)
    };
    let (code, stdout) = run(&["fmt", "--check"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("not formatted: ") && stdout.contains("p.doudi"),
        "{stdout}"
    );
    assert!(!stdout.contains("link.doudi"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), ugly);

    let (code, stdout) = run(&["fmt"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("formatted: "), "{stdout}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pretty);
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), ugly);

    let (code, stdout) = run(&["fmt"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("1 file: 0 reformatted"), "{stdout}");
    assert_eq!(run(&["fmt", "--check"]).0, Some(0));

    // A file that does not parse: its errors, exit 1, and the file is left alone.
    std::fs::write(&path, "definition person.x: integer = 1 +\n").unwrap();
    let (code, stdout) = run(&["fmt"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("error") && stdout.contains("p.doudi"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "definition person.x: integer = 1 +\n"
    );
}
