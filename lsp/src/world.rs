//! A policy as the editor sees it: the directory of a file loaded with its `extends` layers, the
//! editor's unsaved buffers laid over the disk, checked as `doudi check` checks it, with its names
//! indexed, and the conversions between byte spans and LSP positions (UTF-16 columns).

use crate::index::Index;
use doudi_dsl::diag::{Diagnostic, Severity};
use doudi_dsl::load::{self, LoadedSources, Roots};
use doudi_dsl::Span;
use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, Position, Range, Url};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One loaded policy: the layers of one directory.
pub struct Policy {
    /// The directory loaded (canonical).
    pub dir: PathBuf,
    pub loaded: LoadedSources,
    /// Every diagnostic, as the checker gives them, in `doudi check`'s order.
    pub diagnostics: Vec<Diagnostic>,
    pub index: Index,
    /// The canonical path of each source file, by file id.
    paths: Vec<PathBuf>,
    /// The byte offset of each line's start, by file id.
    lines: Vec<Vec<u32>>,
}

impl Policy {
    /// Loads the policy in `dir`; a file whose canonical path is a key of `open` is read from there.
    pub fn load(dir: &Path, open: &HashMap<PathBuf, String>) -> Policy {
        let roots = Roots::for_policy(dir, &[]);
        let loaded = load::load_overlaid(dir, &roots, &|p: &Path| open.get(p).cloned());
        let diagnostics = check(&loaded);
        let cwd = std::env::current_dir()
            .and_then(|c| c.canonicalize())
            .unwrap_or_default();
        let paths = loaded
            .sources
            .files
            .iter()
            .map(|f| {
                let p = cwd.join(&f.path);
                p.canonicalize().unwrap_or(p)
            })
            .collect();
        let lines = loaded
            .sources
            .files
            .iter()
            .map(|f| line_starts(&f.text))
            .collect();
        let index = Index::build(&loaded);
        Policy {
            dir: dir.to_path_buf(),
            loaded,
            diagnostics,
            index,
            paths,
            lines,
        }
    }

    /// The file id of the source file at `path` (canonical).
    pub fn file_id(&self, path: &Path) -> Option<u32> {
        self.paths.iter().position(|p| p == path).map(|i| i as u32)
    }

    pub fn path(&self, file: u32) -> Option<&Path> {
        self.paths.get(file as usize).map(PathBuf::as_path)
    }

    pub fn uri(&self, file: u32) -> Option<Url> {
        Url::from_file_path(self.path(file)?).ok()
    }

    pub fn text(&self, file: u32) -> &str {
        self.loaded
            .sources
            .files
            .get(file as usize)
            .map_or("", |f| f.text.as_str())
    }

    /// The name shown for a file in hovers: its layer's directory name and the file name.
    pub fn short_name(&self, file: u32) -> String {
        let Some(p) = self.path(file) else {
            return String::new();
        };
        let name = |p: Option<&Path>| {
            p.and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        format!("{}/{}", name(p.parent()), name(Some(p)))
    }

    /// `layer/file.doudi:LINE` of a span's start.
    pub fn place(&self, span: Span) -> String {
        let line = self.position(span.file, span.start).line + 1;
        format!("{}:{line}", self.short_name(span.file))
    }

    /// The LSP position of a byte offset.
    pub fn position(&self, file: u32, offset: u32) -> Position {
        match self.lines.get(file as usize) {
            Some(lines) => position_in(self.text(file), lines, offset),
            None => Position::new(0, 0),
        }
    }

    /// The byte offset of an LSP position (clamped to the line and the text).
    pub fn offset(&self, file: u32, pos: Position) -> u32 {
        match self.lines.get(file as usize) {
            Some(lines) => offset_in(self.text(file), lines, pos),
            None => 0,
        }
    }

    pub fn range(&self, span: Span) -> Range {
        Range::new(
            self.position(span.file, span.start),
            self.position(span.file, span.end),
        )
    }

    pub fn location(&self, span: Span) -> Option<Location> {
        Some(Location::new(self.uri(span.file)?, self.range(span)))
    }

    /// The text of a span.
    pub fn slice(&self, span: Span) -> &str {
        self.text(span.file)
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// A checker diagnostic for the editor, with the file it belongs to.
    pub fn to_lsp(&self, d: &Diagnostic) -> Option<(Url, lsp_types::Diagnostic)> {
        let uri = self.uri(d.primary.span.file)?;
        let mut message = d.message.clone();
        if let Some(h) = &d.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        for n in &d.notes {
            message.push_str(&format!("\nnote: {n}"));
        }
        let related: Vec<DiagnosticRelatedInformation> = std::iter::once(&d.primary)
            .filter(|l| !l.message.is_empty())
            .chain(&d.secondary)
            .filter_map(|l| {
                Some(DiagnosticRelatedInformation {
                    location: self.location(l.span)?,
                    message: l.message.clone(),
                })
            })
            .collect();
        let severity = match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        };
        Some((
            uri,
            lsp_types::Diagnostic {
                range: self.range(d.primary.span),
                severity: Some(severity),
                source: Some("doudi".into()),
                message,
                related_information: (!related.is_empty()).then_some(related),
                ..Default::default()
            },
        ))
    }
}

/// Parses and checks a loaded policy as `doudi check` does: the loader's and the checker's
/// diagnostics, then (when the policy checks) the interpreter's (extern scripts that do not compile).
fn check(loaded: &LoadedSources) -> Vec<Diagnostic> {
    let (program, diags) = doudi_dsl::check::check(loaded);
    let mut all = loaded.diagnostics.clone();
    all.extend(diags);
    if let Some(program) = program {
        if !all.iter().any(Diagnostic::is_error) && loaded.errors.is_empty() {
            if let Err(d) = doudi_interpreter::Policy::new(program) {
                all.extend(d);
            }
        }
    }
    all.sort_by_key(|d| (d.severity, d.primary.span.file, d.primary.span.start));
    all
}

/// The position of byte `offset` in `text` whose lines start at `lines`: a zero-based line and a
/// column in UTF-16 code units (what LSP counts by default).
fn position_in(text: &str, lines: &[u32], offset: u32) -> Position {
    let offset = offset.min(text.len() as u32);
    let line = lines.partition_point(|&s| s <= offset).saturating_sub(1);
    let start = lines.get(line).copied().unwrap_or(0) as usize;
    let end = floor_boundary(text, offset as usize);
    let col: usize = text[start.min(end)..end].chars().map(char::len_utf16).sum();
    Position::new(line as u32, col as u32)
}

/// The byte offset of `pos` in `text`, clamped to its line (a column past the end is the line's
/// end) and to the text.
fn offset_in(text: &str, lines: &[u32], pos: Position) -> u32 {
    let Some(&start) = lines.get(pos.line as usize) else {
        return text.len() as u32;
    };
    let mut units = 0u32;
    let mut at = start as usize;
    for c in text[at..].chars() {
        if c == '\n' || units >= pos.character {
            break;
        }
        units += c.len_utf16() as u32;
        at += c.len_utf8();
    }
    at as u32
}

fn line_starts(text: &str) -> Vec<u32> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i as u32 + 1))
        .collect()
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        // `低` is 3 bytes and 1 unit; `𠀀` (outside the BMP) is 4 bytes and 2 units.
        let text = "ab\n低𠀀x = 1\n";
        let lines = line_starts(text);
        let x = text.find('x').unwrap() as u32;
        assert_eq!(position_in(text, &lines, x), Position::new(1, 3));
        assert_eq!(offset_in(text, &lines, Position::new(1, 3)), x);
        // Past the line's end: the line's end; past the last line: the text's end.
        assert_eq!(offset_in(text, &lines, Position::new(0, 99)), 2);
        assert_eq!(
            offset_in(text, &lines, Position::new(9, 0)),
            text.len() as u32
        );
        // Inside a character: its start.
        assert_eq!(position_in(text, &lines, 4), Position::new(1, 0));
        assert_eq!(position_in(text, &lines, 999), Position::new(2, 0));
    }
}
