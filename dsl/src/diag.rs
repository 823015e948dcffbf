//! Diagnostics for drafters: messages with labelled spans, rendered like rustc's.

use crate::ast::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One problem found in a policy. `primary` is where the caret goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    /// Other places involved (the other exception of a conflict, the earlier declaration...).
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>, span: Span, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            primary: Label {
                span,
                message: label.into(),
            },
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }
    pub fn warning(message: impl Into<String>, span: Span, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message, span, label)
        }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: label.into(),
        });
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// One loaded source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to the user (relative to where doudi was run, when possible).
    pub path: String,
    pub text: String,
}

/// All source files of a policy and its layers; `Span::file` indexes into it.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> u32 {
        self.files.push(SourceFile {
            path: path.into(),
            text: text.into(),
        });
        (self.files.len() - 1) as u32
    }
    pub fn file(&self, id: u32) -> &SourceFile {
        &self.files[id as usize]
    }
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: u32, offset: u32) -> (usize, usize) {
        let text = &self.files[file as usize].text;
        let offset = (offset as usize).min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }
    /// `path:line:col` of a span's start.
    pub fn location(&self, span: Span) -> String {
        let (l, c) = self.line_col(span.file, span.start);
        format!("{}:{}:{}", self.file(span.file).path, l, c)
    }
}

pub(crate) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Levenshtein distance over chars, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

// =================================================================================================
// Rendering, rustc-style, without colours

use std::fmt::Write as _;
use unicode_width::UnicodeWidthChar;

/// One underline to draw on a source line, in display columns.
struct Mark<'a> {
    start: usize,
    end: usize,
    primary: bool,
    message: &'a str,
}

/// Labels that are drawn on the same source line.
struct Snippet<'a> {
    /// The first label's span, for the `-->` location.
    at: Span,
    line_no: usize,
    line: String,
    marks: Vec<Mark<'a>>,
}

/// Display width of a character as printed in a snippet (tabs are expanded to 4 columns).
fn char_cols(c: char) -> usize {
    if c == '\t' {
        4
    } else if c.is_control() {
        1
    } else {
        c.width().unwrap_or(0)
    }
}

fn printable_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\t' => out.push_str("    "),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The line containing byte `offset` of `text`: (1-based number, start byte, end byte without `\r\n`).
fn line_of(text: &str, offset: usize) -> (usize, usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let end = if text[start..end].ends_with('\r') {
        end - 1
    } else {
        end
    };
    let end = end.max(start);
    (before.matches('\n').count() + 1, start, end)
}

/// Lines wider than this are shown as a window around the labels, with `...` where cut.
const MAX_SHOWN_COLS: usize = 120;
const CONTEXT_COLS: usize = 40;

/// The part of a (printable) line to show, and the marks moved to match.
fn window<'a>(line: &str, marks: &[Mark<'a>]) -> (String, Vec<Mark<'a>>) {
    let copy = |shift: isize, limit: usize| -> Vec<Mark<'a>> {
        marks
            .iter()
            .map(|m| {
                let start = (m.start as isize + shift).max(0) as usize;
                let end = ((m.end as isize + shift).max(0) as usize).min(limit.max(start + 1));
                Mark {
                    start,
                    end: end.max(start + 1),
                    primary: m.primary,
                    message: m.message,
                }
            })
            .collect()
    };
    let total = cols(line);
    if total <= MAX_SHOWN_COLS {
        return (line.to_string(), copy(0, usize::MAX));
    }
    let first = marks.iter().map(|m| m.start).min().unwrap_or(0);
    let last = marks.iter().map(|m| m.end).max().unwrap_or(0);
    let from = first.saturating_sub(CONTEXT_COLS);
    let to = (last + CONTEXT_COLS).max(from + MAX_SHOWN_COLS - CONTEXT_COLS);
    let mut shown = String::new();
    let mut col = 0;
    let mut shown_from = None;
    for c in line.chars() {
        let w = char_cols(c);
        if col >= from && col + w <= to {
            if shown_from.is_none() {
                shown_from = Some(col);
            }
            shown.push(c);
        }
        col += w;
    }
    let shown_from = shown_from.unwrap_or(from);
    let mut text = String::new();
    let mut shift = -(shown_from as isize);
    if shown_from > 0 {
        text.push_str("...");
        shift += 3;
    }
    text.push_str(&shown);
    let limit = cols(&text);
    if shown_from + cols(&shown) < total {
        text.push_str("...");
    }
    (text, copy(shift, limit + 1))
}

fn cols(text: &str) -> usize {
    text.chars().map(char_cols).sum()
}

fn add_label<'a>(
    snippets: &mut Vec<Snippet<'a>>,
    sources: &SourceMap,
    label: &'a Label,
    primary: bool,
) -> bool {
    let Some(file) = sources.files.get(label.span.file as usize) else {
        return false;
    };
    let text = file.text.as_str();
    let (line_no, ls, le) = line_of(text, label.span.start as usize);
    let s = floor_char_boundary(text, (label.span.start as usize).clamp(ls, le));
    let e = floor_char_boundary(text, (label.span.end as usize).clamp(s, le));
    let start = cols(&text[ls..s]);
    let mut end = start + cols(&text[s..e]);
    if end <= start {
        end = start + 1;
    }
    let mark = Mark {
        start,
        end,
        primary,
        message: label.message.as_str(),
    };
    if let Some(sn) = snippets
        .iter_mut()
        .find(|sn| sn.at.file == label.span.file && sn.line_no == line_no)
    {
        sn.marks.push(mark);
    } else {
        snippets.push(Snippet {
            at: label.span,
            line_no,
            line: printable_line(&text[ls..le]),
            marks: vec![mark],
        });
    }
    true
}

/// Renders one diagnostic like rustc does (without colours). The result ends with a newline.
pub fn render(diag: &Diagnostic, sources: &SourceMap) -> String {
    let mut out = String::new();
    let severity = match diag.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{severity}: {}", diag.message);

    let mut snippets: Vec<Snippet<'_>> = Vec::new();
    let mut unknown = Vec::new();
    if !add_label(&mut snippets, sources, &diag.primary, true) {
        unknown.push(&diag.primary);
    }
    for l in &diag.secondary {
        if !add_label(&mut snippets, sources, l, false) {
            unknown.push(l);
        }
    }
    let width = snippets
        .iter()
        .map(|s| s.line_no.to_string().len())
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(width);

    for (k, sn) in snippets.iter().enumerate() {
        if k > 0 {
            let _ = writeln!(out, "{pad} |");
        }
        let _ = writeln!(out, "{pad}--> {}", sources.location(sn.at));
        let _ = writeln!(out, "{pad} |");
        let (line, shifted) = window(&sn.line, &sn.marks);
        let _ = writeln!(out, "{:>width$} | {}", sn.line_no, line.trim_end());
        let mut marks: Vec<&Mark<'_>> = shifted.iter().collect();
        marks.sort_by_key(|m| (m.start, m.end));
        let row_len = marks.iter().map(|m| m.end).max().unwrap_or(0);
        let mut row = vec![' '; row_len];
        // Secondary first, so the primary carets win where they overlap.
        for m in marks
            .iter()
            .filter(|m| !m.primary)
            .chain(marks.iter().filter(|m| m.primary))
        {
            for c in row.iter_mut().take(m.end).skip(m.start) {
                *c = if m.primary { '^' } else { '-' };
            }
        }
        let underline: String = row.into_iter().collect();
        let underline = underline.trim_end();
        // The rightmost label's message goes on the underline; the others hang below it.
        let with_text: Vec<&Mark<'_>> = marks
            .iter()
            .copied()
            .filter(|m| !m.message.is_empty())
            .collect();
        match with_text.last() {
            Some(last) => {
                let _ = writeln!(out, "{pad} | {underline} {}", last.message);
            }
            None => {
                let _ = writeln!(out, "{pad} | {underline}");
            }
        }
        if with_text.len() > 1 {
            let hanging = &with_text[..with_text.len() - 1];
            for k in (0..hanging.len()).rev() {
                let mut connector = vec![' '; hanging[k].start + 1];
                for m in &hanging[..=k] {
                    if let Some(c) = connector.get_mut(m.start) {
                        *c = '|';
                    }
                }
                let connector: String = connector.into_iter().collect();
                let _ = writeln!(out, "{pad} | {}", connector.trim_end());
                let mut line = vec![' '; hanging[k].start];
                for m in &hanging[..k] {
                    if let Some(c) = line.get_mut(m.start) {
                        *c = '|';
                    }
                }
                let line: String = line.into_iter().collect();
                let _ = writeln!(out, "{pad} | {line}{}", hanging[k].message);
            }
        }
    }
    for l in unknown {
        let _ = writeln!(
            out,
            "{pad}--> <unknown file {}>: {}",
            l.span.file, l.message
        );
    }
    if diag.help.is_some() || !diag.notes.is_empty() {
        let _ = writeln!(out, "{pad} |");
        for n in &diag.notes {
            let _ = writeln!(out, "{pad} = note: {n}");
        }
        if let Some(h) = &diag.help {
            let _ = writeln!(out, "{pad} = help: {h}");
        }
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Renders all diagnostics, separated by blank lines, followed by a summary line.
pub fn render_all(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&render(d, sources));
        out.push('\n');
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if errors > 0 {
        let _ = write!(
            out,
            "error: could not load the policy: {}",
            plural(errors, "error")
        );
        if warnings > 0 {
            let _ = write!(out, ", {}", plural(warnings, "warning"));
        }
        out.push('\n');
    } else if warnings > 0 {
        let _ = writeln!(out, "warning: {} emitted", plural(warnings, "warning"));
    }
    out
}
