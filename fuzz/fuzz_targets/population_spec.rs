//! `cargo fuzz run population_spec`: parsing and validating a population spec (TOML) must never
//! panic. Seed with `scenarios/populations/*.toml`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = doudi_simulator::spec::PopulationSpec::from_toml_str(text, "fuzz.toml");
    }
});
