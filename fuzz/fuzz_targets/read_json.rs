//! `cargo fuzz run read_json`: the JSON / JSON Lines household reader must never panic, whatever the
//! bytes; every rejection is a `DataError`. Seed with `interpreter/tests/data/bad/*.json*` and
//! `policies/jian/examples/households.json`.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(hs) = doudi_interpreter::data::read_json_str(common::schema(), text, "fuzz.json")
        {
            // What is read writes back and reads again to the same households.
            for h in &hs {
                let j = doudi_interpreter::data::household_to_json(common::schema(), h);
                let back = doudi_interpreter::data::read_json_str(
                    common::schema(),
                    &j.to_string(),
                    "back.json",
                );
                assert_eq!(back.as_deref().ok(), Some(std::slice::from_ref(h)));
            }
        }
    }
});
