//! `cargo fuzz run read_csv`: the CSV pair reader must never panic, whatever the bytes. The input is
//! split at its first NUL byte into households.csv and persons.csv. Seed with the directories of
//! `interpreter/tests/data/bad/csv_*` (households, NUL, persons).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let (h, p) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    let _ = doudi_interpreter::data::read_csv_pair_bytes(
        common::schema(),
        (Path::new("households.csv"), h.to_vec()),
        (Path::new("persons.csv"), p.to_vec()),
    );
});
