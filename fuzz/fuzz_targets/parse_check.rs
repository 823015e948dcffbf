//! `cargo fuzz run parse_check`: the parser (and, later, the checker) must never panic or overflow
//! the stack, whatever the input. Seed with `dsl/tests/valid` and `dsl/tests/syntax`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (_file, diags) = doudi_dsl::parse::parse_file(0, text);
        let mut sources = doudi_dsl::SourceMap::default();
        sources.add("fuzz.doudi", text);
        let _ = doudi_dsl::diag::render_all(&diags, &sources);
        let _ = doudi_dsl::parse::parse_expr(0, text);
    }
});
