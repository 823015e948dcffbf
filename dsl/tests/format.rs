//! The formatter (`doudi fmt`) over every `.doudi` file of the repository: files that parse are
//! formatted idempotently, keep their syntax tree, their comments and every non-blank character in
//! order; files that do not parse are refused with their errors. Plus a few layout rules by example.

use std::path::{Path, PathBuf};

use doudi_dsl::format::{format, layout, strip_spans};
use doudi_dsl::parse::parse_file;
use proptest::prelude::*;

/// Every `.doudi` file under the workspace root (not `target/`, not hidden directories).
fn all_doudi_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() && !name.starts_with('.') && name != "target" {
                walk(&p, out);
            } else if ft.is_file() && name.ends_with(".doudi") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    walk(&root, &mut out);
    out.sort();
    out
}

/// The comments of a text, in order, without trailing whitespace (strings are skipped).
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut in_str = false;
        let mut escaped = false;
        for (i, c) in line.char_indices() {
            if in_str {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_str = false,
                    _ => {}
                }
            } else if c == '"' {
                in_str = true;
            } else if c == '#' {
                out.push(line[i..].trim_end().to_string());
                break;
            }
        }
    }
    out
}

fn non_blank(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{3000}' | '\u{FEFF}'))
        .collect()
}

#[test]
fn every_repository_file_formats_idempotently_and_keeps_its_meaning() {
    let files = all_doudi_files();
    assert!(files.len() > 50, "found only {} .doudi files", files.len());
    let mut failures = Vec::new();
    let mut formatted = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.display();
        let (_, diags) = parse_file(0, &text);
        let parses = !diags.iter().any(|d| d.is_error());
        // The layout pass alone, on any file, changes whitespace only.
        let laid = layout(&text);
        if non_blank(&laid) != non_blank(&text) || comments(&laid) != comments(&text) {
            failures.push(format!("{name}: layout changed a token or a comment"));
        }
        match format(0, &text) {
            Err(errors) if parses => failures.push(format!(
                "{name}: parses but was refused: {}",
                errors[0].message
            )),
            Err(_) => {}
            Ok(_) if !parses => failures.push(format!("{name}: does not parse but was formatted")),
            Ok(once) => {
                formatted += 1;
                let (before, _) = parse_file(0, &text);
                let (after, diags) = parse_file(0, &once);
                if diags.iter().any(|d| d.is_error()) {
                    failures.push(format!("{name}: the formatted text does not parse"));
                }
                if strip_spans(&format!("{before:?}")) != strip_spans(&format!("{after:?}")) {
                    failures.push(format!("{name}: the syntax tree changed"));
                }
                if once != laid {
                    failures.push(format!("{name}: format differs from layout"));
                }
                match format(0, &once) {
                    Ok(twice) if twice == once => {}
                    _ => failures.push(format!("{name}: not idempotent")),
                }
            }
        }
    }
    assert!(formatted > 40, "only {formatted} files formatted");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn layout_rules_by_example() {
    let cases = [
        // Spaces around operators and after commas; none inside brackets or before a colon.
        (
            "definition household.x \"X\" : money\n  =a+b*2-c/min( d ,e )\n",
            "definition household.x \"X\": money\n  = a + b * 2 - c / min(d, e)\n",
        ),
        // A negative literal and a unary minus keep their spacing; a binary minus after `)` is spaced.
        (
            "parameter p: integer in -5..=5\n  = -3\ndefinition person.y: integer = -p-(p)-1\n",
            "parameter p: integer in -5..=5\n  = -3\ndefinition person.y: integer = -p - (p) - 1\n",
        ),
        // Items start in column 0; continuation lines are indented at least two spaces; blank-line
        // runs shrink to one; trailing whitespace and leading blank lines go; one final newline.
        (
            "\n\n   input person.age: integer  \n\n\n\ninput person.b: bool\ndefault false",
            "input person.age: integer\n\ninput person.b: bool\n  default false\n",
        ),
        // Comments and strings are untouched; a trailing comment keeps its distance; tabs become spaces.
        (
            "# a  comment\t \ndefinition person.z \"a  ,b\": bool\n\t= true   # why  \n",
            "# a  comment\ndefinition person.z \"a  ,b\": bool\n    = true   # why\n",
        ),
        // Table rows keep their inner alignment.
        (
            "table person.t: integer hit first\n  | age   | result |\n  | < 18  | 1      |\n  otherwise=0\n",
            "table person.t: integer hit first\n  | age   | result |\n  | < 18  | 1      |\n  otherwise = 0\n",
        ),
        // Chinese keywords start items too; dates and percents are single tokens.
        (
            "参数 r: percent\n  自 2024-01-01=5%\n",
            "参数 r: percent\n  自 2024-01-01 = 5%\n",
        ),
    ];
    for (input, want) in cases {
        let got = format(0, input).unwrap_or_else(|e| panic!("{input:?}: {}", e[0].message));
        assert_eq!(got, want, "formatting {input:?}");
        assert_eq!(
            format(0, &got).ok().as_deref(),
            Some(want),
            "idempotence of {want:?}"
        );
    }
}

#[test]
fn a_file_that_does_not_parse_is_refused_with_its_errors() {
    let errors = format(0, "definition person.x: integer = 1 +\n").unwrap_err();
    assert!(!errors.is_empty() && errors.iter().all(|d| d.is_error()));
}

/// The shipped policies' files (already in the canonical layout).
fn policy_files() -> Vec<String> {
    all_doudi_files()
        .iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "policies"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// Scatters whitespace over a formatted text without changing what the layout keeps: the spaces
/// between tokens of a code line (not a table row, not before a trailing comment, not in a string)
/// become runs of spaces and tabs; trailing whitespace and extra blank lines are added.
fn scatter(text: &str, mut seed: u64) -> String {
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut out = String::new();
    for line in text.lines() {
        if line.is_empty() {
            out.push_str(&"\n".repeat(1 + next() % 3));
            continue;
        }
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        out.push_str(indent);
        let (mut in_str, mut escaped, mut code_end) = (false, false, body.len());
        for (i, c) in body.char_indices() {
            match (in_str, escaped, c) {
                (true, true, _) => escaped = false,
                (true, false, '\\') => escaped = true,
                (true, false, '"') => in_str = false,
                (false, _, '"') => in_str = true,
                (false, _, '#') => {
                    code_end = i;
                    break;
                }
                _ => {}
            }
        }
        let code = body[..code_end].trim_end();
        if body.starts_with('|') || body.starts_with('#') {
            out.push_str(body);
        } else {
            in_str = false;
            escaped = false;
            for c in code.chars() {
                match (in_str, escaped, c) {
                    (true, true, _) => escaped = false,
                    (true, false, '\\') => escaped = true,
                    (true, false, '"') => in_str = false,
                    (false, _, '"') => in_str = true,
                    (false, _, ' ') => {
                        for _ in 0..1 + next() % 3 {
                            out.push(if next() % 4 == 0 { '\t' } else { ' ' });
                        }
                        continue;
                    }
                    _ => {}
                }
                out.push(c);
            }
            out.push_str(&body[code.len()..]);
        }
        out.push_str(&" ".repeat(next() % 3));
        out.push('\n');
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Whitespace scattered over a shipped policy file formats back to the file.
    #[test]
    fn scattered_whitespace_formats_back(which in any::<prop::sample::Index>(), seed in any::<u64>()) {
        let files = policy_files();
        let text = &files[which.index(files.len())];
        let messy = scatter(text, seed);
        prop_assert_ne!(&messy, text);
        let got = format(0, &messy).map_err(|e| TestCaseError::fail(e[0].message.clone()))?;
        prop_assert_eq!(&got, text);
    }
}
