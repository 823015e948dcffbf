//! Shared by the corpus tests (`parse.rs`, `check.rs`): every corpus file is checked, and the test
//! fails once at the end with the list of files that failed, so one mismatch does not hide the rest.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// The failures of a corpus run, one per file.
#[derive(Default)]
pub struct Failures {
    files: usize,
    failed: Vec<String>,
}

impl Failures {
    /// Runs the checks of one corpus file. A panic inside them (a snapshot that does not match, a
    /// failed assertion) is recorded under `name`; insta has already printed its diff and, unless
    /// told otherwise, written the new snapshot beside the old one.
    pub fn check(&mut self, name: &str, checks: impl FnOnce()) {
        self.files += 1;
        if let Err(payload) = catch_unwind(AssertUnwindSafe(checks)) {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("panicked");
            self.failed.push(format!("{name}: {message}"));
        }
    }

    /// Fails listing every file that failed, if any.
    pub fn finish(self, corpus: &str) {
        assert!(
            self.failed.is_empty(),
            "{} of the {} files of the {corpus} corpus failed:\n{}",
            self.failed.len(),
            self.files,
            self.failed.join("\n")
        );
    }
}
