//! Where a syntax error is and what pest expected there, in drafters' terms.
//!
//! Finds the failure point, the token found there, the item it is in and the brackets still open,
//! and maps pest's expected rules to a [`Want`]; [`super::expected`] turns this into words.

use pest::error::{ErrorVariant, InputLocation};

use super::keywords::{
    is_chinese_keyword, is_id_char, keyword_en, word_at, ITEM_KEYWORDS, KEYWORDS,
};
use super::scan::{Scan, Tok};
use super::{ChunkCx, Rule};
use crate::diag::Diagnostic;

/// What the parser was looking for, in drafters' terms. Declaration order is priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Want {
    Then,
    Else,
    When,
    Initially,
    Assign,
    Colon,
    Dot,
    Entity,
    OverrideParam,
    Type,
    PerPeriod,
    ParamValues,
    Date,
    Value,
    Collection,
    Hit,
    HitPolicy,
    Result,
    Header,
    Bar,
    Variant,
    Close(char),
    Expr,
    Name,
    // Weak: only used when nothing stronger was expected (an optional label, a call's `(` after a
    // name, an operator after a complete value...).
    Str,
    LParen,
    Comma,
    Item,
    End,
    Operator,
    Other,
}

impl Want {
    pub(super) fn is_weak(self) -> bool {
        self >= Want::Str
    }
}

fn want_of(rule: Rule) -> Want {
    use Rule::*;
    match rule {
        kw_then => Want::Then,
        kw_else => Want::Else,
        kw_when => Want::When,
        kw_initially => Want::Initially,
        assign => Want::Assign,
        colon => Want::Colon,
        dot => Want::Dot,
        entity | kw_person | kw_household | kw_programme => Want::Entity,
        kw_parameter => Want::OverrideParam,
        type_expr | ty_money | ty_bool | ty_integer | ty_decimal | ty_percent | ty_months
        | ty_date | ty_text | ty_named => Want::Type,
        kw_month | kw_year => Want::PerPeriod,
        param_values | param_always | param_from | kw_from => Want::ParamValues,
        date => Want::Date,
        param_value | param_literal | param_table | signed_number | signed_percent
        | range_bound => Want::Value,
        input_default | kw_default => Want::Other,
        collection | kw_members | kw_households | kw_persons | agg_over => Want::Collection,
        kw_hit => Want::Hit,
        hit_policy | kw_unique | kw_first => Want::HitPolicy,
        kw_result => Want::Result,
        table_header => Want::Header,
        bar => Want::Bar,
        variant => Want::Variant,
        rparen => Want::Close(')'),
        rbrack => Want::Close(']'),
        rbrace => Want::Close('}'),
        expr | if_expr | or_expr | and_expr | not_expr | cmp_expr | sum_expr | prod_expr
        | unary_expr | postfix_expr | primary | paren_expr | call_expr | household_field | name
        | number | percent | boolean | call_args | cell | cell_test | cell_cmp | cell_value
        | cell_any | set_expr | expr_input => Want::Expr,
        ident | param_entry | extern_param | func_name => Want::Name,
        string => Want::Str,
        lparen => Want::LParen,
        comma => Want::Comma,
        item | policy_item | extends_item | enum_item | input_item | parameter_item
        | override_item | definition_item | exception_item | table_item | extern_item | file
        | kw_policy | kw_extends | kw_enum | kw_input | kw_override | kw_definition
        | kw_exception | kw_table | kw_extern => Want::Item,
        EOI => Want::End,
        cmp_op | add_op | mul_op | kw_in | kw_and | kw_or | lbrack | index_suffix | dotdot
        | agg_for | agg_where | kw_for | kw_where | kw_otherwise | otherwise | table_row => {
            Want::Operator
        }
        _ => Want::Other,
    }
}

/// Everything the error reporter knows about the failure point.
pub(super) struct ErrCx<'a> {
    /// Byte offset of the failure in the chunk.
    pub(super) pos: usize,
    /// The item keyword the chunk starts with, in English.
    pub(super) item: &'static str,
    pub(super) chinese: bool,
    /// The token found at `pos` (empty at the end).
    pub(super) found: &'a str,
    /// End of the previous token, and whether a line break separates it from `pos`.
    pub(super) prev_end: usize,
    pub(super) broken_line: bool,
}

impl ErrCx<'_> {
    /// A keyword as the drafter writes it (Chinese spelling in a Chinese-keyword file).
    pub(super) fn k(&self, en: &str) -> String {
        if self.chinese {
            if let Some((_, zh)) = KEYWORDS.iter().find(|(e, _)| *e == en) {
                return format!("`{zh}`");
            }
        }
        format!("`{en}`")
    }
    /// Replaces `{kw}` in a template with the drafter's spelling of the keyword `kw`.
    pub(super) fn tr(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            match after.find('}') {
                Some(j) if keyword_en(&after[..j]).is_some() => {
                    let en = &after[..j];
                    let word = if self.chinese {
                        KEYWORDS
                            .iter()
                            .find(|(e, _)| *e == en)
                            .map_or(en, |(_, zh)| *zh)
                    } else {
                        en
                    };
                    out.push_str(word);
                    rest = &after[j + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
    pub(super) fn found_desc(&self) -> String {
        if self.found.is_empty() {
            "the end of the item".to_string()
        } else {
            format!("`{}`", self.found)
        }
    }
}

fn found_token(chunk: &str, pos: usize) -> &str {
    let Some(rest) = chunk.get(pos..) else {
        return "";
    };
    let Some(c) = rest.chars().next() else {
        return "";
    };
    let len = if c == '"' {
        let line_end = rest.find('\n').unwrap_or(rest.len());
        let mut end = line_end;
        let mut esc = false;
        for (i, d) in rest[..line_end].char_indices().skip(1) {
            if esc {
                esc = false;
            } else if d == '\\' {
                esc = true;
            } else if d == '"' {
                end = i + 1;
                break;
            }
        }
        end
    } else if is_id_char(c) {
        word_at(rest, 0).len().max(c.len_utf8())
    } else {
        let two = rest
            .get(..2)
            .is_some_and(|t| matches!(t, "==" | "!=" | "<=" | ">=" | ".."));
        if two {
            2
        } else {
            c.len_utf8()
        }
    };
    let len = len.min(rest.len());
    rest.get(..len).unwrap_or("").trim_end_matches(['\r'])
}

pub(super) fn full_width_hint(found: &str) -> Option<String> {
    let c = found.chars().next()?;
    let ascii = match c {
        '，' => ",",
        '：' => ":",
        '（' => "(",
        '）' => ")",
        '｜' => "|",
        '＝' => "=",
        '［' => "[",
        '］' => "]",
        '｛' => "{",
        '｝' => "}",
        '“' | '”' => "\"",
        '．' | '。' => ".",
        '－' => "-",
        '＋' => "+",
        '＜' => "<",
        '＞' => ">",
        _ => return None,
    };
    Some(format!(
        "`{c}` is a full-width character; write the ASCII `{ascii}` instead"
    ))
}

impl ChunkCx<'_> {
    pub(super) fn pest_error(&self, e: pest::error::Error<Rule>, expr_only: bool) -> Diagnostic {
        let pos = match e.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
        let pos = crate::diag::floor_char_boundary(self.chunk, pos.min(self.chunk.len()));
        let positives = match e.variant {
            ErrorVariant::ParsingError { positives, .. } => positives,
            ErrorVariant::CustomError { message } => {
                // pest's own guards ("stack limit reached", "call limit reached").
                return self
                    .too_deep(pos)
                    .with_note(format!("the parser stopped: {message}"));
            }
        };
        // Item keyword of the chunk and whether it is written in Chinese.
        let mut scan = Scan::new(self.chunk);
        let mut item = if expr_only { "expression" } else { "" };
        let mut chinese = false;
        if let Some((Tok::Word(w), _, _)) = scan.next() {
            if let Some(en) = keyword_en(w) {
                if ITEM_KEYWORDS.contains(&en) && !expr_only {
                    item = en;
                }
                chinese = is_chinese_keyword(w);
            }
        }
        // Previous token end.
        let mut scan = Scan::new(self.chunk);
        let mut prev_end = 0;
        while let Some((_, s, e)) = scan.next() {
            if s >= pos {
                break;
            }
            prev_end = e;
        }
        let prev_end = prev_end.min(pos);
        let broken_line = self
            .chunk
            .get(prev_end..pos)
            .is_some_and(|g| g.contains('\n'))
            || pos >= self.chunk.len();
        let found = found_token(self.chunk, pos);
        let ecx = ErrCx {
            pos,
            item,
            chinese,
            found,
            prev_end,
            broken_line,
        };

        let mut wants: Vec<Want> = positives.iter().map(|r| want_of(*r)).collect();
        wants.sort();
        wants.dedup();
        self.describe(&ecx, &wants, &positives)
    }

    /// The innermost bracket still open at `pos` (ignoring strings and comments).
    pub(super) fn innermost_open(&self, pos: usize) -> Option<(char, usize)> {
        let mut stack: Vec<(char, usize)> = Vec::new();
        let mut scan = Scan::new(self.chunk);
        while let Some((tok, s, _)) = scan.next() {
            if s >= pos {
                break;
            }
            match tok {
                Tok::Punct(c @ ('(' | '[' | '{')) => stack.push((c, s)),
                Tok::Punct(')' | ']' | '}') => {
                    stack.pop();
                }
                _ => {}
            }
        }
        stack.pop()
    }

    /// Whether the bracket opened at `open` is closed somewhere in the chunk.
    pub(super) fn closed_later(&self, open: usize) -> bool {
        let mut depth = 0usize;
        let mut scan = Scan::new(self.chunk);
        while let Some((tok, s, _)) = scan.next() {
            if s < open {
                continue;
            }
            match tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }
}
