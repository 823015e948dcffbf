//! Every ```doudi code block in README.md and docs/*.md parses: the examples a drafter copies are
//! valid syntax. Blocks are fragments (they use names declared elsewhere), so they are parsed, not
//! resolved; a block that stands for a part of a value writes `# …` in a comment, never `...` in code.

use doudi_dsl::parse::parse_file;
use doudi_dsl::{Severity, SourceMap};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The ```doudi blocks of a Markdown file: (line of the first code line, text).
fn blocks(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start().starts_with("```doudi") => {
                current = Some((i + 2, String::new()))
            }
            Some(_) if line.trim_start().starts_with("```") => out.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_doudi_block_in_the_docs_parses() {
    let mut failures = Vec::new();
    let mut n = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file
            .strip_prefix(root())
            .unwrap_or(Path::new("?"))
            .display()
            .to_string();
        for (line, body) in blocks(&text) {
            n += 1;
            let (_, diags) = parse_file(0, &body);
            let errors: Vec<_> = diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .cloned()
                .collect();
            if !errors.is_empty() {
                let mut sources = SourceMap::default();
                sources.add(format!("{rel} (block at line {line})"), body.clone());
                failures.push(doudi_dsl::diag::render_all(&errors, &sources));
            }
        }
    }
    assert!(n >= 10, "only {n} doudi blocks found");
    assert!(
        failures.is_empty(),
        "{} of {n} blocks do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
