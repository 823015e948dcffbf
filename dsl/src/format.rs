//! `doudi fmt`: the canonical layout of a `.doudi` file; it changes whitespace only, never a line's tokens, comments or meaning.
//!
//! The layout (docs/LANGUAGE.md, "Layout"):
//! - every line keeps its tokens and comments: no line is joined or split, so positions quoted by
//!   diagnostics and tests keep their line numbers (except where blank lines are removed);
//! - a line that starts an item (`input`, `definition`, `政策`…) starts in column 0; any other code
//!   line keeps its indentation, but at least two spaces (a tab counts as four), except a comment or
//!   a closing bracket (the `}` ending an `enum`), which may stay in column 0;
//! - inside a line: one space after a comma (before a `}`: none or one, as written) and none before it, none inside `( )` and `[ ]`, none
//!   before a colon and one after it, one space either side of `=`, comparisons, `+`, `*`, `/` and a
//!   binary `-`; other runs of spaces become one space; a trailing comment keeps its distance;
//! - table rows (lines starting with `|`) keep their inner spacing, so aligned columns stay aligned;
//! - no trailing whitespace, no blank lines at the start or end, at most one blank line in a row,
//!   `\n` line ends and one final newline.
//!
//! A file that does not parse is not formatted: [`format`] returns its errors. As a safety net the
//! result is parsed again and must give the same syntax tree (spans aside).

use crate::diag::Diagnostic;
use crate::parse::{is_id_char, keyword_en, parse_file, ITEM_KEYWORDS};
use crate::Span;

/// Formats one `.doudi` file. `Err` holds the file's syntax errors (with `file` as their file index),
/// or one error if formatting would change what the file means (a bug in the formatter).
pub fn format(file: u32, source: &str) -> Result<String, Vec<Diagnostic>> {
    let (before, diags) = parse_file(file, source);
    let errors: Vec<Diagnostic> = diags.into_iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let out = layout(source);
    let (after, diags) = parse_file(file, &out);
    if diags.iter().any(|d| d.is_error())
        || strip_spans(&format!("{before:?}")) != strip_spans(&format!("{after:?}"))
    {
        return Err(vec![Diagnostic::error(
            "the formatter would change the meaning of this file (a bug in doudi fmt); the file is left as it is",
            Span::new(file, 0, 0),
            "file starts here",
        )]);
    }
    Ok(out)
}

/// The `Debug` rendering of a syntax tree without its `Span { .. }`s: equal for two texts that differ
/// only in layout.
pub fn strip_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(i) = rest.find("Span {") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match rest.find('}') {
            Some(j) => rest = &rest[j + 1..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// The layout rules, on text that parses (on other text it still changes whitespace only).
pub fn layout(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 16);
    let mut blank_run = 0usize;
    for raw in source.split('\n') {
        let tokens = lex_line(raw);
        if tokens.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() && blank_run > 0 {
            out.push('\n');
        }
        blank_run = 0;
        out.push_str(&" ".repeat(indent(raw, &tokens)));
        join_line(raw, &tokens, &mut out);
        out.push('\n');
    }
    out
}

/// Whitespace as the grammar sees it, on one line.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\u{3000}' | '\u{FEFF}')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An identifier, keyword, number, percent or date.
    Word,
    Str,
    Comment,
    Punct,
}

/// One token of a line: its kind and byte range in the line.
#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Splits one line into tokens. Strings and comments never span lines, so a line is lexed alone.
/// Every non-whitespace character of the line is in exactly one token.
fn lex_line(line: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut i = 0usize;
    while let Some(c) = line[i..].chars().next() {
        let start = i;
        if is_blank(c) {
            i += c.len_utf8();
            continue;
        }
        let (kind, end) = if c == '#' {
            (
                Kind::Comment,
                line.trim_end_matches(is_blank).len().max(i + 1),
            )
        } else if c == '"' {
            (Kind::Str, string_end(line, i))
        } else if is_id_char(c) {
            (Kind::Word, word_end(line, i))
        } else {
            (Kind::Punct, punct_end(line, i))
        };
        toks.push(Tok { kind, start, end });
        i = end;
    }
    toks
}

/// The end of a string starting at `i` (the end of the line's last non-blank if it is not closed).
fn string_end(line: &str, i: usize) -> usize {
    let mut chars = line[i + 1..].char_indices();
    while let Some((j, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return i + 1 + j + 1,
            _ => {}
        }
    }
    line.trim_end_matches(is_blank).len()
}

/// The end of an identifier, keyword, number (`1.5`, `10%`) or date (`2024-01-31`) starting at `i`.
fn word_end(line: &str, i: usize) -> usize {
    let run = |from: usize| {
        line[from..]
            .char_indices()
            .find(|(_, c)| !is_id_char(*c))
            .map_or(line.len(), |(j, _)| from + j)
    };
    let mut end = run(i);
    let word = &line[i..end];
    if !word.bytes().all(|b| b.is_ascii_digit()) {
        return end;
    }
    let bytes = line.as_bytes();
    let digit_at = |k: usize| bytes.get(k).is_some_and(|b| b.is_ascii_digit());
    // A date: four digits, `-`, two digits, `-`, two digits.
    if word.len() == 4
        && bytes.get(end) == Some(&b'-')
        && digit_at(end + 1)
        && digit_at(end + 2)
        && bytes.get(end + 3) == Some(&b'-')
        && digit_at(end + 4)
        && digit_at(end + 5)
    {
        return run(end + 1).max(end + 6);
    }
    if bytes.get(end) == Some(&b'.') && digit_at(end + 1) {
        end = run(end + 1);
    }
    if bytes.get(end) == Some(&b'%') {
        end += 1;
    }
    end
}

/// The end of an operator or punctuation mark starting at `i`.
fn punct_end(line: &str, i: usize) -> usize {
    for op in ["..=", "..", "==", "!=", "<=", ">="] {
        if line[i..].starts_with(op) {
            return i + op.len();
        }
    }
    i + line[i..].chars().next().map_or(1, char::len_utf8)
}

/// The indentation of a line: 0 for a line that starts an item (as the parser splits items), else
/// the line's own indentation but at least 2. Comment lines and lines that start with a closing
/// bracket (the `}` of an `enum`) keep their indentation.
fn indent(raw: &str, tokens: &[Tok]) -> usize {
    let first = tokens[0];
    let text = &raw[first.start..first.end];
    if first.kind == Kind::Word && keyword_en(text).is_some_and(|en| ITEM_KEYWORDS.contains(&en)) {
        return 0;
    }
    let width: usize = raw[..first.start]
        .chars()
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum();
    if first.kind == Kind::Comment || matches!(text, "}" | ")" | "]") {
        width
    } else {
        width.max(2)
    }
}

/// Operators written with one space either side.
fn spaced(op: &str) -> bool {
    matches!(
        op,
        "=" | "==" | "!=" | "<=" | ">=" | "<" | ">" | "+" | "*" | "/"
    )
}

/// Whether the `-` after `prev` subtracts (rather than negates or starts a signed literal).
fn binary_minus(raw: &str, prev: Option<Tok>) -> bool {
    let Some(p) = prev else { return false };
    let text = &raw[p.start..p.end];
    match p.kind {
        Kind::Word => keyword_en(text).is_none(),
        Kind::Str => true,
        Kind::Punct => text == ")" || text == "]",
        Kind::Comment => false,
    }
}

/// Writes a line's tokens with the canonical spaces between them.
fn join_line(raw: &str, tokens: &[Tok], out: &mut String) {
    let table_row = &raw[tokens[0].start..tokens[0].end] == "|";
    let mut minus_binary = vec![false; tokens.len()];
    for (k, t) in tokens.iter().enumerate() {
        if &raw[t.start..t.end] == "-" {
            minus_binary[k] = binary_minus(raw, k.checked_sub(1).map(|j| tokens[j]));
        }
    }
    for (k, t) in tokens.iter().enumerate() {
        if k > 0 {
            let a = tokens[k - 1];
            let gap = &raw[a.end..t.start];
            let spaces = if table_row {
                gap.chars().map(|c| if c == '\t' { 4 } else { 1 }).sum()
            } else {
                gap_width(raw, a, *t, gap, minus_binary[k - 1], minus_binary[k])
            };
            out.push_str(&" ".repeat(spaces));
        }
        out.push_str(&raw[t.start..t.end]);
    }
}

/// The number of spaces between two tokens of a line (not a table row).
fn gap_width(raw: &str, a: Tok, b: Tok, gap: &str, a_minus: bool, b_minus: bool) -> usize {
    let at = &raw[a.start..a.end];
    let bt = &raw[b.start..b.end];
    let had = usize::from(!gap.is_empty());
    if b.kind == Kind::Comment {
        return gap.chars().count().max(1);
    }
    let a_p = a.kind == Kind::Punct;
    let b_p = b.kind == Kind::Punct;
    if (b_p && matches!(bt, ")" | "]" | "," | ":")) || (a_p && matches!(at, "(" | "[")) {
        return 0;
    }
    if a_p && at == "," && b_p && bt == "}" {
        return had;
    }
    if a_p && matches!(at, "," | ":") {
        return 1;
    }
    if (a_p && (spaced(at) || a_minus)) || (b_p && (spaced(bt) || b_minus)) {
        return 1;
    }
    had
}
