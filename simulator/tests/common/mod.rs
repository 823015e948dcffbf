//! Set-up shared by the simulator's integration tests: the repository root and the policy screen
//! that draws the generated roll.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository root (the simulator crate's parent).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The policy that draws the generated roll (`on_dibao`), in the shipped scenarios' first month.
pub fn screen() -> &'static doudi_simulator::screen::PolicyScreen<'static> {
    static POLICY: OnceLock<doudi_interpreter::Policy> = OnceLock::new();
    static SCREEN: OnceLock<doudi_simulator::screen::PolicyScreen<'static>> = OnceLock::new();
    SCREEN.get_or_init(|| {
        let policy = POLICY.get_or_init(|| {
            doudi_interpreter::Policy::load(&root().join("policies/jian"))
                .expect("policies/jian loads")
                .policy
        });
        doudi_simulator::screen::PolicyScreen::new(
            policy,
            doudi_interpreter::Month::parse("2022-01").unwrap(),
        )
        .unwrap()
    })
}
