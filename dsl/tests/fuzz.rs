//! Property tests: whatever the input, `parse_file` (and rendering its diagnostics) never panics;
//! nor does the formatter, which changes whitespace only and is idempotent on what it formats.
//! The cargo-fuzz target in `fuzz/` does the same with coverage guidance.

use std::path::Path;

use doudi_dsl::diag::{render_all, SourceMap};
use doudi_dsl::format::{format, layout};
use doudi_dsl::parse::{parse_expr, parse_file};
use proptest::prelude::*;

/// Parses and renders; panics only if the parser or the renderer does.
fn run(text: &str) {
    let mut sources = SourceMap::default();
    let id = sources.add("fuzz.doudi", text);
    let (_, diags) = parse_file(id, text);
    let _ = render_all(&diags, &sources);
    if let Err(d) = parse_expr(id, text) {
        let _ = render_all(&[d], &sources);
    }
    let non_blank = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{3000}' | '\u{FEFF}'))
            .collect()
    };
    let laid = layout(text);
    assert_eq!(non_blank(&laid), non_blank(text), "layout changed a token");
    assert_eq!(layout(&laid), laid, "layout is not idempotent");
    if let Ok(out) = format(id, text) {
        let again = format(id, &out);
        assert_eq!(
            again.ok().as_deref(),
            Some(out.as_str()),
            "format is not idempotent"
        );
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in ["valid", "syntax"] {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(dir);
        let mut paths: Vec<_> = std::fs::read_dir(root)
            .expect("corpus dir")
            .map(|e| e.expect("entry").path())
            .collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|x| x == "doudi") {
                out.push(std::fs::read(p).expect("read corpus file"));
            }
        }
    }
    out
}

const TOKENS: &[&str] = &[
    "policy",
    "extends",
    "enum",
    "input",
    "parameter",
    "override",
    "definition",
    "exception",
    "table",
    "extern",
    "source",
    "quote",
    "assumption",
    "from",
    "by",
    "hit",
    "unique",
    "first",
    "sum",
    "result",
    "otherwise",
    "when",
    "if",
    "then",
    "else",
    "and",
    "or",
    "not",
    "in",
    "for",
    "where",
    "true",
    "false",
    "count",
    "any",
    "all",
    "min",
    "max",
    "round",
    "monthly",
    "yearly",
    "abs",
    "person",
    "household",
    "programme",
    "members",
    "households",
    "persons",
    "bool",
    "integer",
    "decimal",
    "percent",
    "money",
    "per",
    "month",
    "year",
    "months",
    "date",
    "text",
    "定义",
    "个人",
    "家庭",
    "如果",
    "那么",
    "否则",
    "且",
    "非",
    "属于",
    "对",
    "满足",
    "求和",
    "计数",
    "金额",
    "每月",
    "决策表",
    "命中",
    "结果",
    "收入",
    "x",
    "area",
    ".",
    ":",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "|",
    "..",
    "%",
    "#",
    "\"",
    "\"label\"",
    "\"unterminated",
    "\"\\q\"",
    "\"\\u{110000}\"",
    "0",
    "684",
    "0.30",
    "-5",
    "30%",
    "2024-01-01",
    "2024-02-30",
    "2024-13-01",
    "99999999999999999999999999999999",
    "（",
    "）",
    "，",
    "：",
    "\u{3000}",
    "\t",
    "\r\n",
    "\n",
    "\n  ",
    "é",
    "\u{301}",
    "🙂",
    "\0",
];

proptest! {
    // PROPTEST_CASES=100000 for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_strings_never_panic(text in any::<String>()) {
        run(&text);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..120),
                               seps in prop::collection::vec(prop::sample::select(&[" ", "", "\n", "  "][..]), 120)) {
        let mut text = String::new();
        for (t, s) in tokens.iter().zip(seps.iter()) {
            text.push_str(t);
            text.push_str(s);
        }
        run(&text);
    }

    #[test]
    fn mutated_corpus_never_panics(which in any::<prop::sample::Index>(),
                                   edits in prop::collection::vec((0u8..4, any::<prop::sample::Index>(), any::<u8>()), 1..10)) {
        let files = corpus();
        let mut bytes = files[which.index(files.len())].clone();
        for (kind, at, byte) in edits {
            let i = if bytes.is_empty() { 0 } else { at.index(bytes.len()) };
            match kind {
                0 if !bytes.is_empty() => { bytes.remove(i); }
                1 => bytes.insert(i, byte),
                2 if bytes.len() > 1 => { let j = (i + 1) % bytes.len(); bytes.swap(i, j); }
                _ => {
                    // Insert a token from the soup: more likely to reach deep parser paths.
                    let t = TOKENS[usize::from(byte) % TOKENS.len()].as_bytes();
                    for (k, b) in t.iter().enumerate() {
                        bytes.insert(i + k, *b);
                    }
                }
            }
        }
        run(&String::from_utf8_lossy(&bytes));
    }
}
