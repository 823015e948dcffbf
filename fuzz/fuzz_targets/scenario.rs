//! `cargo fuzz run scenario`: parsing and validating a scenario (TOML) and estimating its size must
//! never panic. Seed with `scenarios/*.toml` and `tests/data/simulate/*.toml`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(s) = doudi_simulator::scenario::Scenario::from_toml_str(
            text,
            "fuzz.toml",
            std::path::Path::new("/nonexistent"),
        ) {
            let e = doudi_simulator::estimate::estimate(&s, Some(1 << 30));
            let _ = (e.problem(), e.describe());
        }
    }
});
