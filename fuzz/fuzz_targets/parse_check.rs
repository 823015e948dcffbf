//! `cargo fuzz run parse_check`: parsing and checking must never panic or overflow the stack,
//! whatever the input. Seed with `dsl/tests/valid`, `dsl/tests/syntax` and `dsl/tests/check`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let loaded = doudi_dsl::load::load_str("fuzz.doudi", text);
        let (_program, diags) = doudi_dsl::check::check(&loaded);
        let _ = doudi_dsl::diag::render_all(&diags, &loaded.sources);
        let _ = doudi_dsl::diag::render_all(&loaded.diagnostics, &loaded.sources);
        let _ = doudi_dsl::parse::parse_expr(0, text);
    }
});
