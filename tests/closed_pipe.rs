//! `doudi … | head`: when the reader of its output goes away, doudi ends quietly (no panic, no exit
//! 101), as Unix tools do.

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs doudi with `args`, closing its stdout before it writes anything; returns its status and
/// stderr.
fn with_closed_stdout(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_doudi"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("doudi starts");
    // The reader goes away at once: doudi's first write meets a closed pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("doudi ends");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_doudi_quietly() {
    use std::os::unix::process::ExitStatusExt;
    for args in [
        &["check", "policies"][..],
        &["test", "policies"][..],
        &[
            "explain",
            "--policy",
            "policies/jian",
            "--input",
            "policies/jian/examples/households.json",
            "--household",
            "H002",
            "--output",
            "dibao_payment",
            "--period",
            "2024-01",
        ][..],
    ] {
        let (status, stderr) = with_closed_stdout(args);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "doudi {args:?}: {stderr}"
        );
        assert_ne!(status.code(), Some(101), "doudi {args:?}: {stderr}");
        // Ended by SIGPIPE, as `yes | head` is (or, had it written nothing, normally).
        assert!(
            status.signal() == Some(libc_sigpipe()) || status.success(),
            "doudi {args:?}: {status:?} {stderr}"
        );
    }
}

/// SIGPIPE's number on the platforms doudi is built for (13 on Linux and macOS).
#[cfg(unix)]
fn libc_sigpipe() -> i32 {
    13
}
