//! `doudi fmt [--check] PATH…`: rewrites `.doudi` files in the canonical layout (doudi_dsl::format).

use crate::{Fail, Res};
use doudi::dsl::diag::{render, SourceMap};
use std::path::{Path, PathBuf};

/// Directories deeper than this under a given path are not searched.
const MAX_DEPTH: usize = 32;

/// Formats (or with `check`, only checks) every `.doudi` file under `paths`.
pub fn fmt(paths: &[PathBuf], check: bool) -> Res {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p)
            .map_err(|e| Fail::usage(format!("error: cannot read {}: {e}", p.display())))?;
        if meta.is_file() {
            if !is_doudi(p) {
                return Err(Fail::usage(format!(
                    "error: {} is not a `.doudi` file",
                    p.display()
                )));
            }
            files.push(p.clone());
        } else {
            walk(p, &mut files, 0);
        }
    }
    let mut unformatted = 0usize;
    let mut broken = 0usize;
    for path in &files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                println!("error: cannot read {}: {e}", path.display());
                broken += 1;
                continue;
            }
        };
        let out = match doudi::dsl::format::format(0, &text) {
            Ok(out) => out,
            Err(diags) => {
                let mut sources = SourceMap::default();
                sources.add(path.display().to_string(), text);
                for d in &diags {
                    println!("{}", render(d, &sources));
                }
                println!("not formatted (it does not parse): {}", path.display());
                broken += 1;
                continue;
            }
        };
        if out == text {
            continue;
        }
        unformatted += 1;
        if check {
            println!("not formatted: {}", path.display());
            print!("{}", first_difference(&text, &out));
        } else {
            std::fs::write(path, &out)
                .map_err(|e| Fail::usage(format!("error: cannot write {}: {e}", path.display())))?;
            println!("formatted: {}", path.display());
        }
    }
    let n = files.len();
    let what = if check {
        "not formatted"
    } else {
        "reformatted"
    };
    println!(
        "{n} file{}: {unformatted} {what}, {broken} not parsed",
        if n == 1 { "" } else { "s" }
    );
    if broken > 0 || (check && unformatted > 0) {
        Err(Fail::check(""))
    } else {
        Ok(())
    }
}

fn is_doudi(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "doudi")
}

/// The `.doudi` files under `dir`, sorted; symbolic links and hidden entries are never followed.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(ft) = e.file_type() else { continue };
        let path = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if ft.is_dir() {
            walk(&path, out, depth + 1);
        } else if ft.is_file() && is_doudi(&path) {
            out.push(path);
        }
    }
}

/// The first line that formatting changes, as `-` (now) and `+` (formatted) lines.
fn first_difference(old: &str, new: &str) -> String {
    let mut a = old.split('\n');
    let mut b = new.split('\n');
    let mut line = 1usize;
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (None, None) => return String::new(),
            (x, y) => {
                let show = |s: Option<&str>| match s {
                    Some(s) => format!("{:?}", s.trim_end_matches('\r')),
                    None => "(end of file)".to_string(),
                };
                return format!("  line {line}:\n  - {}\n  + {}\n", show(x), show(y));
            }
        }
    }
}
