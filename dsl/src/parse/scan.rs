//! Cheap scans of the raw text that run before (or instead of) pest.
//!
//! The split of a file into item chunks, a token scan that skips comments and strings, and the
//! nesting pre-scan that bounds pest's recursion.

use super::keywords::{is_id_char, is_space, keyword_en, word_at, ITEM_KEYWORDS};
use super::MAX_DEPTH;

/// Byte offsets of the lines of `text` that begin (after blanks) with an item keyword.
pub(super) fn split_chunks(text: &str) -> Vec<(usize, usize)> {
    let mut starts = vec![0usize];
    let mut line_start = 0usize;
    loop {
        if line_start > 0 {
            if let Some(line) = text.get(line_start..) {
                let lead = line.len()
                    - line
                        .trim_start_matches([' ', '\t', '\u{3000}', '\u{FEFF}'])
                        .len();
                let w = word_at(line, lead);
                if keyword_en(w).is_some_and(|en| ITEM_KEYWORDS.contains(&en)) {
                    starts.push(line_start);
                }
            }
        }
        match text.get(line_start..).and_then(|rest| rest.find('\n')) {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    let mut chunks = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(text.len());
        chunks.push((s, e));
    }
    chunks
}

/// A cheap token scan of a chunk that skips comments and strings, used by the nesting pre-scan and
/// the error reporter. Strings never span lines (an unterminated string stops at the line end).
pub(super) struct Scan<'a> {
    s: &'a str,
    i: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Tok<'a> {
    Word(&'a str),
    Number,
    Str,
    Punct(char),
    /// Two-character operators: `==`, `!=`, `<=`, `>=`, `..`.
    Op2,
}

impl<'a> Scan<'a> {
    pub(super) fn new(s: &'a str) -> Self {
        Scan { s, i: 0 }
    }
    fn peek_char(&self) -> Option<char> {
        self.s.get(self.i..).and_then(|r| r.chars().next())
    }
    /// Next token with its byte range; blanks and comments are skipped.
    pub(super) fn next(&mut self) -> Option<(Tok<'a>, usize, usize)> {
        loop {
            let c = self.peek_char()?;
            let start = self.i;
            if is_space(c) {
                self.i += c.len_utf8();
                continue;
            }
            if c == '#' {
                match self.s.get(self.i..).and_then(|r| r.find('\n')) {
                    Some(n) => self.i += n,
                    None => self.i = self.s.len(),
                }
                continue;
            }
            if c == '"' {
                self.i += 1;
                while let Some(d) = self.peek_char() {
                    if d == '\n' {
                        break;
                    }
                    self.i += d.len_utf8();
                    if d == '\\' {
                        if let Some(e) = self.peek_char() {
                            if e != '\n' {
                                self.i += e.len_utf8();
                            }
                        }
                    } else if d == '"' {
                        break;
                    }
                }
                return Some((Tok::Str, start, self.i));
            }
            if c.is_ascii_digit() {
                while let Some(d) = self.peek_char() {
                    let fraction = d == '.'
                        && self
                            .s
                            .as_bytes()
                            .get(self.i + 1)
                            .is_some_and(|b| b.is_ascii_digit());
                    if d.is_ascii_digit() || d == '%' || fraction {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                return Some((Tok::Number, start, self.i));
            }
            if is_id_char(c) {
                let w = word_at(self.s, self.i);
                self.i += w.len().max(c.len_utf8());
                return Some((Tok::Word(w), start, self.i));
            }
            self.i += c.len_utf8();
            let next = self.peek_char();
            let two = matches!(
                (c, next),
                ('=', Some('='))
                    | ('!', Some('='))
                    | ('<', Some('='))
                    | ('>', Some('='))
                    | ('.', Some('.'))
            );
            if two {
                self.i += 1;
                return Some((Tok::Op2, start, self.i));
            }
            return Some((Tok::Punct(c), start, self.i));
        }
    }
}

/// Bounds the recursion pest would need for this chunk. Counts, at each bracket level, the `if`s,
/// `not`s and unary minuses that may still be open, plus the open brackets; returns the byte offset
/// where the total first exceeds [`MAX_DEPTH`] (`Err`), or the largest total (`Ok`). Over-estimates,
/// never under-estimates.
pub(super) fn nesting(chunk: &str) -> Result<usize, usize> {
    #[derive(Default)]
    struct Level {
        ifs: usize,
        nots: usize,
        negs: usize,
    }
    let mut stack: Vec<Level> = vec![Level::default()];
    let mut total = 0usize;
    let mut max = 0usize;
    let mut operand_end = false;
    let mut scan = Scan::new(chunk);
    while let Some((tok, start, _)) = scan.next() {
        if matches!(tok, Tok::Punct('(' | '[' | '{')) {
            stack.push(Level::default());
            total += 1;
            operand_end = false;
        } else if matches!(tok, Tok::Punct(')' | ']' | '}')) {
            if stack.len() > 1 {
                if let Some(l) = stack.pop() {
                    total = total.saturating_sub(1 + l.ifs + l.nots + l.negs);
                }
            }
            operand_end = true;
        } else if let Some(top) = stack.last_mut() {
            let clear = |top: &mut Level, ifs: bool, nots: bool, negs: bool, total: &mut usize| {
                if ifs {
                    *total = total.saturating_sub(top.ifs);
                    top.ifs = 0;
                }
                if nots {
                    *total = total.saturating_sub(top.nots);
                    top.nots = 0;
                }
                if negs {
                    *total = total.saturating_sub(top.negs);
                    top.negs = 0;
                }
            };
            match tok {
                Tok::Punct('-') => {
                    if operand_end {
                        clear(top, false, false, true, &mut total);
                    } else {
                        top.negs += 1;
                        total += 1;
                    }
                    operand_end = false;
                }
                Tok::Punct('=' | ',' | '|' | ':') => {
                    clear(top, true, true, true, &mut total);
                    operand_end = false;
                }
                Tok::Op2 | Tok::Punct(_) => {
                    clear(top, false, false, true, &mut total);
                    operand_end = false;
                }
                Tok::Number | Tok::Str => operand_end = true,
                Tok::Word(w) => match keyword_en(w) {
                    Some("if") => {
                        top.ifs += 1;
                        total += 1;
                        operand_end = false;
                    }
                    Some("not") => {
                        top.nots += 1;
                        total += 1;
                        operand_end = false;
                    }
                    Some("and" | "or" | "then" | "else" | "in") => {
                        clear(top, false, true, true, &mut total);
                        operand_end = false;
                    }
                    // Words that cannot appear inside a formula at this bracket level end
                    // whatever was open (pest stops there anyway, after the depth seen so far).
                    Some(
                        "when" | "for" | "where" | "otherwise" | "from" | "by" | "hit" | "result"
                        | "source" | "quote" | "assumption" | "policy" | "extends" | "enum"
                        | "input" | "parameter" | "override" | "definition" | "exception" | "table"
                        | "extern",
                    ) => {
                        clear(top, true, true, true, &mut total);
                        operand_end = false;
                    }
                    // Everything else (`true`, `household` in `household.x`, function names,
                    // collections...) may sit inside an open `if`: it closes nothing.
                    Some(_) => operand_end = true,
                    None => operand_end = true,
                },
            }
        }
        if total > MAX_DEPTH {
            return Err(start);
        }
        max = max.max(total);
    }
    Ok(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_at_item_keywords_only() {
        let text = "policy \"x\"\ninput person.a: bool\n  # definition in a comment\ndefinitions\n定义 person.b: bool = a\n";
        let chunks = split_chunks(text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(&text[chunks[1].0..chunks[1].0 + 5], "input");
    }

    #[test]
    fn nesting_prescan() {
        assert!(nesting(&"(".repeat(MAX_DEPTH + 1)).is_err());
        assert!(nesting(&"not ".repeat(MAX_DEPTH + 1)).is_err());
        assert!(nesting(&"- ".repeat(MAX_DEPTH + 1)).is_err());
        assert!(nesting(&"a - ".repeat(1000)) == Ok(0));
        assert!(nesting(&"not a and ".repeat(1000)) == Ok(1));
        assert!(nesting("= if a then (b) else - c") == Ok(2));
    }
}
