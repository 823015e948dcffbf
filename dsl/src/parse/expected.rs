//! The words of a syntax error: message, label, help and where the caret goes.
//!
//! Turns what [`super::errors`] found (the failure point and what pest expected there) into a
//! diagnostic a drafter understands, in the keywords' language of the file.

use super::errors::{full_width_hint, ErrCx, Want};
use super::keywords::{is_id_start, keyword_en, ITEM_KEYWORDS};
use super::{ChunkCx, Rule};
use crate::ast::Span;
use crate::diag::{edit_distance, Diagnostic};

/// A syntax error in words: message, label, help, and where the caret goes.
type Words = (String, String, Option<String>, Span);

/// Where the caret of a syntax error goes.
struct Carets {
    /// On the token found.
    found: Span,
    /// For "something is missing": on the offending token when it is on the same line, else right
    /// after the previous token.
    missing: Span,
    /// For a missing keyword before something written on the next line (`= formula` without `=`, a
    /// condition without `when`), on that something.
    lead: Span,
    before_next: bool,
}

impl Carets {
    fn lead_label(&self, what: String) -> String {
        if self.before_next {
            format!("expected {what} before this")
        } else {
            format!("expected {what} here")
        }
    }
}

impl ChunkCx<'_> {
    pub(super) fn describe(&self, e: &ErrCx<'_>, wants: &[Want], positives: &[Rule]) -> Diagnostic {
        let found = self.span(e.pos, e.pos + e.found.len());
        let missing = if e.broken_line {
            self.span(e.prev_end, e.prev_end)
        } else {
            found
        };
        let before_next = e.broken_line && !e.found.is_empty();
        let at = Carets {
            found,
            missing,
            lead: if before_next { found } else { missing },
            before_next,
        };
        let mut extra_help: Option<String> = full_width_hint(e.found);
        if let Some(d) = self.whatever_was_expected(e, wants, positives, &at) {
            return d;
        }
        let strong = wants.iter().copied().find(|w| !w.is_weak());
        let (message, label, mut help, span): Words = match strong {
            Some(
                w @ (Want::Then
                | Want::Else
                | Want::When
                | Want::Initially
                | Want::Assign
                | Want::ParamValues
                | Want::Hit),
            ) => keyword_words(e, w, wants, &at),
            Some(
                w @ (Want::Colon
                | Want::Dot
                | Want::Entity
                | Want::OverrideParam
                | Want::Type
                | Want::PerPeriod
                | Want::Date
                | Want::Value),
            ) => self.declaration_words(e, w, wants, &at),
            Some(
                w @ (Want::Collection
                | Want::HitPolicy
                | Want::Result
                | Want::Header
                | Want::Bar
                | Want::Variant),
            ) => table_words(e, w, wants, &at),
            Some(Want::Close(c)) => match self.close_words(e, c, wants, &at) {
                Ok(words) => words,
                Err(d) => {
                    return match extra_help {
                        Some(h) => d.with_help(h),
                        None => d,
                    };
                }
            },
            Some(Want::Expr) => {
                let label = match keyword_en(e.found) {
                    Some(_) => format!("expected an expression, found the keyword `{}`", e.found),
                    None => "expected an expression here".to_string(),
                };
                (
                    "expected an expression".to_string(),
                    label,
                    Some("for example a number, a name, `household.NAME`, a call such as `min(a, b)`, or `( ... )`".to_string()),
                    if e.broken_line { at.missing } else { at.found },
                )
            }
            Some(Want::Name) => {
                let h = match keyword_en(e.found) {
                    Some(_) => Some(format!("`{}` is a keyword and cannot be used as a name; choose another name", e.found)),
                    None => Some("names are made of letters (including Chinese characters), digits and `_`, and start with a letter or `_`".to_string()),
                };
                (
                    "expected a name".to_string(),
                    "expected a name here".to_string(),
                    h,
                    at.missing,
                )
            }
            _ => weak_words(e, wants, &at),
        };
        if extra_help.is_some() {
            help = extra_help.take();
        }
        let d = Diagnostic::error(message, span, label);
        match help {
            Some(h) => d.with_help(h),
            None => d,
        }
    }

    /// Mistakes reported as such whatever was expected: an unterminated string or a bad escape, `=`
    /// where a comparison could go, chained comparisons, metadata after a formula.
    fn whatever_was_expected(
        &self,
        e: &ErrCx<'_>,
        wants: &[Want],
        positives: &[Rule],
        at: &Carets,
    ) -> Option<Diagnostic> {
        let has = |w: Want| wants.contains(&w);
        let found_span = at.found;
        if e.found.starts_with('"') {
            let closed = e.found.len() >= 2 && e.found.ends_with('"');
            if !closed {
                return Some(Diagnostic::error("unterminated string", found_span, "this string is never closed")
                    .with_help("a string ends with `\"` on the same line; write `\\n` for a line break and `\\\"` for a quote"));
            }
            if let Some(i) = e.found.find('\\') {
                let bad = e.found[i..]
                    .chars()
                    .nth(1)
                    .map_or(String::new(), String::from);
                let s = e.pos + i;
                return Some(
                    Diagnostic::error(
                        format!("unknown escape `\\{bad}` in a string"),
                        self.span(s, s + 1 + bad.len()),
                        "unknown escape",
                    )
                    .with_help(
                        "the escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\r` and `\\u{...}`",
                    ),
                );
            }
        }
        // `=` where a comparison could go.
        if e.found == "=" && has(Want::Operator) && !has(Want::Assign) {
            return Some(Diagnostic::error("use `==` to compare two values", found_span, "`=` is not a comparison")
                .with_help("`=` only introduces a formula or a value; comparisons are `==`, `!=`, `<`, `<=`, `>` and `>=`"));
        }

        // `a < b < c`: after a complete comparison no comparison operator is expected.
        if matches!(e.found, "==" | "!=" | "<" | "<=" | ">" | ">=")
            && has(Want::Operator)
            && !positives.contains(&Rule::cmp_op)
        {
            return Some(
                Diagnostic::error(
                    "comparisons cannot be chained",
                    found_span,
                    "a second comparison",
                )
                .with_help(
                    e.tr("write `a < b {and} b < c`, or put brackets around the first comparison"),
                ),
            );
        }
        let found_en = keyword_en(e.found);
        if matches!(found_en, Some("source" | "quote" | "assumption")) && has(Want::Operator) {
            return Some(Diagnostic::error(
                format!("unexpected {} after the formula", e.found_desc()),
                found_span,
                "metadata goes before the formula",
            )
            .with_help(e.tr("write `{source}`, `{quote}` and `{assumption}` after the item's header and before `=`, `{when}` or `{hit}`")));
        }
        None
    }

    /// A `:`, `.`, entity, type, date or value missing from a declaration.
    fn declaration_words(&self, e: &ErrCx<'_>, w: Want, wants: &[Want], at: &Carets) -> Words {
        let missing_span = at.missing;
        match w {
            Want::Colon => {
                if self.innermost_open(e.pos).is_some_and(|(c, _)| c == '{') {
                    (
                        "expected `:` between the key and its value".to_string(),
                        "expected `:` here".to_string(),
                        Some("write `{ key: value, ... }`, for example `{ urban: 684, rural: 504 }`".to_string()),
                        missing_span,
                    )
                } else {
                    let example = match e.item {
                        "definition" => Some(e.tr("for example `{definition} {person}.counted \"计入家庭人口\": {bool}`")),
                        "input" => Some(e.tr("for example `{input} {person}.monthly_income: {money} {per month}`")),
                        "parameter" => Some(e.tr("for example `{parameter} rehab_cap: {money} {per year} = 3000`")),
                        "table" => Some(e.tr("for example `{table} {household}.credit_ok: {bool}`")),
                        "extern" => Some("each argument and the result have a type: `(income: money per month): decimal`".to_string()),
                        _ => None,
                    };
                    ("expected `:` and a type".to_string(), "expected `:` here".to_string(), example, missing_span)
                }
            }
            Want::Dot => (
                "expected `.` and a name after the entity".to_string(),
                "expected `.` here".to_string(),
                Some(e.tr("names are written `{person}.NAME`, `{household}.NAME` or `{programme}.NAME`")),
                missing_span,
            ),
            Want::Entity => {
                let m = if e.item == "input" {
                    format!("expected {} or {}", e.k("person"), e.k("household"))
                } else {
                    format!("expected {}, {} or {}", e.k("person"), e.k("household"), e.k("programme"))
                };
                let h = if !e.found.is_empty() && e.found.chars().next().is_some_and(is_id_start) {
                    Some(e.tr(&format!("say whose value this is, for example `{{person}}.{}`", e.found)))
                } else {
                    None
                };
                (m, "expected an entity here".to_string(), h, missing_span)
            }
            Want::OverrideParam => (
                format!("expected {} after {}", e.k("parameter"), e.k("override")),
                format!("expected {} here", e.k("parameter")),
                Some(e.tr("write `{override} {parameter} NAME = VALUE`")),
                missing_span,
            ),
            Want::Type => (
                "expected a type such as `money per month`, `bool` or an enum name".to_string(),
                "expected a type here".to_string(),
                Some(e.tr("the types are `{bool}`, `{integer}`, `{decimal}`, `{percent}`, `{money}`, `{money} {per month}`, `{money} {per year}`, `{months}`, `{date}`, `{text}` and declared enums")),
                missing_span,
            ),
            Want::PerPeriod => (
                "expected `month` or `year` after `per`".to_string(),
                "expected `month` or `year` here".to_string(),
                Some("money amounts are `money` (a stock), `money per month` or `money per year`".to_string()),
                missing_span,
            ),
            Want::Date => (
                "expected a date such as `2024-01-01`".to_string(),
                "expected a date here".to_string(),
                Some("dates are written YYYY-MM-DD, with a two-digit month and day".to_string()),
                missing_span,
            ),
            Want::Value => (
                "expected a value".to_string(),
                "expected a value here".to_string(),
                Some(e.tr("a value is a number (`684`, `-5`), a percent (`30%`), `{true}`/`{false}`, a date, a string, an enum variant, or `{ key: value, ... }` for a parameter `{by}` an enum")),
                missing_span,
            ),
            _ => weak_words(e, wants, at),
        }
    }

    /// A missing `)`, `]` or `}`: an unclosed bracket is reported at once (`Err`), with the bracket.
    fn close_words(
        &self,
        e: &ErrCx<'_>,
        c: char,
        wants: &[Want],
        at: &Carets,
    ) -> Result<Words, Diagnostic> {
        let missing_span = at.missing;
        let open = match c {
            ')' => '(',
            ']' => '[',
            _ => '{',
        };
        Ok(match self.innermost_open(e.pos) {
            Some((oc, opos)) if oc == open && !self.closed_later(opos) => {
                return Err(Diagnostic::error(
                    format!("unclosed `{open}`"),
                    missing_span,
                    format!("expected `{c}` here"),
                )
                .with_secondary(
                    self.span(opos, opos + 1),
                    format!("this `{open}` is never closed"),
                ));
            }
            _ if e.item == "enum" && c == '}' => (
                "expected a variant name or `}`".to_string(),
                "expected a variant here".to_string(),
                Some(e.tr("an enum lists its variants, each with an optional label: `{enum} area { urban \"城镇\" rural \"农村\" }`")),
                missing_span,
            ),
            _ => {
                let m = if wants.contains(&Want::Comma) {
                    format!("expected `,` or `{c}`")
                } else {
                    format!("expected `{c}`")
                };
                (m, format!("expected `{c}` here"), None, missing_span)
            }
        })
    }
}

/// A missing keyword that introduces the next part of an item: `then`, `else`, `when`, `initially`,
/// `=` (and a parameter's values), `hit`.
fn keyword_words(e: &ErrCx<'_>, w: Want, wants: &[Want], at: &Carets) -> Words {
    let has = |w: Want| wants.contains(&w);
    let lead_span = at.lead;
    match w {
        Want::Then => (
            format!("expected {} after the condition", e.k("then")),
            at.lead_label(e.k("then")),
            Some(e.tr("write `{if} <condition> {then} <value> {else} <value>`")),
            lead_span,
        ),
        Want::Else => (
            format!("expected {} and the value when the condition is false", e.k("else")),
            at.lead_label(e.k("else")),
            Some(e.tr("every `{if}` has an `{else}`: `{if} <condition> {then} <value> {else} <value>`")),
            lead_span,
        ),
        Want::When => (
            format!("expected {} and the exception's condition", e.k("when")),
            at.lead_label(e.k("when")),
            Some(e.tr("an exception is written `{when} <condition> = <value>` after its sources")),
            lead_span,
        ),
        Want::Initially => (
            format!("expected {} and the state's value before the first month", e.k("initially")),
            at.lead_label(e.k("initially")),
            Some(e.tr("a state is written `{state} household.NAME: TYPE {initially} = <value> = <formula>`, or with `{transitions}` and a table instead of `= <formula>`")),
            lead_span,
        ),
        Want::Assign => {
            let (m, h) = match e.item {
                "definition" => (
                    "expected `=` and the definition's formula".to_string(),
                    Some(if e.chinese {
                        "a definition ends with `= <formula>`, for example `= 在世 且 非 服刑`".to_string()
                    } else {
                        "a definition ends with `= <formula>`, for example `= alive and not imprisoned`".to_string()
                    }),
                ),
                "exception" => (
                    "expected `=` and the exception's value".to_string(),
                    Some(e.tr("an exception is written `{when} <condition> = <value>`")),
                ),
                "extern" => (
                    "expected `=` and the script file".to_string(),
                    Some("an extern ends with the rhai file that implements it, e.g. `= \"risk.rhai\"`".to_string()),
                ),
                "table" => (
                    format!("expected `=` after {}", e.k("otherwise")),
                    Some(e.tr("write `{otherwise} = <value>`")),
                ),
                "parameter" | "override" if has(Want::ParamValues) => (
                    "expected the parameter's value: `= VALUE` or `from DATE = VALUE`".to_string(),
                    Some(e.tr("for example `= 3000`, or one line per change: `{from} 2024-01-01 = 3000`")),
                ),
                "parameter" | "override" => (
                    "expected `=` and the value in force from this date".to_string(),
                    Some(e.tr("write `{from} 2024-01-01 = <value>`")),
                ),
                _ => ("expected `=`".to_string(), None),
            };
            let h = if e.found == "per" || e.found == "每月" || e.found == "每年" {
                Some(e.tr("`{per month}` and `{per year}` only follow `{money}`: write `{money} {per month}`"))
            } else {
                h
            };
            (m, at.lead_label("`=`".to_string()), h, lead_span)
        }
        Want::ParamValues => (
            "expected the parameter's value: `= VALUE` or `from DATE = VALUE`".to_string(),
            "expected `=` or `from` here".to_string(),
            Some(e.tr("for example `= 3000`, or one line per change: `{from} 2024-01-01 = 3000`")),
            at.missing,
        ),
        Want::Hit => (
            format!("expected {} and the table's hit policy", e.k("hit")),
            at.lead_label(e.k("hit")),
            Some(e.tr("after the sources, write `{hit} {unique}`, `{hit} {first}` or `{hit} {sum}`, then the header row")),
            lead_span,
        ),
        _ => weak_words(e, wants, at),
    }
}

/// A missing part of a table (hit policy, header, `|`) or of an enum (a variant), or a collection
/// to aggregate over.
fn table_words(e: &ErrCx<'_>, w: Want, wants: &[Want], at: &Carets) -> Words {
    let missing_span = at.missing;
    match w {
        Want::Collection => {
            let lower = e.found.to_lowercase();
            let close = ["members", "households", "persons"]
                .into_iter()
                .filter(|k| lower.len() >= 4 && edit_distance(&lower, k) <= 2)
                .min_by_key(|k| edit_distance(&lower, k));
            let h = match close {
                Some(k) => format!("did you mean {}?", e.k(k)),
                None => e.tr("aggregations run over `{members}` (in a household definition) or `{households}` / `{persons}` (in a programme definition)"),
            };
            (
                format!("expected {}, {} or {}", e.k("members"), e.k("households"), e.k("persons")),
                "expected a collection here".to_string(),
                Some(h),
                missing_span,
            )
        }
        Want::HitPolicy => (
            format!("expected a hit policy: {}, {} or {}", e.k("unique"), e.k("first"), e.k("sum")),
            "expected a hit policy here".to_string(),
            None,
            missing_span,
        ),
        Want::Result => (
            format!("expected {} as the last column of the header row", e.k("result")),
            format!("expected {} here", e.k("result")),
            Some(e.tr("the header row lists the inputs, then `{result}`: `| credit | {result} |`")),
            missing_span,
        ),
        Want::Header => (
            "expected the table's header row".to_string(),
            "expected `|` here".to_string(),
            Some(e.tr("the header row lists the inputs, then `{result}`: `| credit | {result} |`")),
            missing_span,
        ),
        Want::Bar => {
            let m = if e.broken_line || e.found.is_empty() {
                "expected `|` to end the table row"
            } else {
                "expected `|` between the cells"
            };
            (
                m.to_string(),
                "expected `|` here".to_string(),
                Some("every row starts and ends with `|` on the same line, with `|` between the cells".to_string()),
                missing_span,
            )
        }
        Want::Variant => (
            "expected a variant name or `}`".to_string(),
            "expected a variant here".to_string(),
            Some(e.tr("an enum lists its variants, each with an optional label: `{enum} area { urban \"城镇\" rural \"农村\" }`")),
            missing_span,
        ),
        _ => weak_words(e, wants, at),
    }
}

/// Only weak expectations: a value is complete and something unexpected follows, or an item, `(`,
/// a string or `,` was expected.
fn weak_words(e: &ErrCx<'_>, wants: &[Want], at: &Carets) -> Words {
    let has = |w: Want| wants.contains(&w);
    let (found_span, missing_span) = (at.found, at.missing);
    if has(Want::Operator) && (has(Want::End) || has(Want::Item)) {
        (
            format!("unexpected {} after a complete formula", e.found_desc()),
            "expected an operator or a new item here".to_string(),
            Some(e.tr("join values with an operator such as `+`, `{and}` or `==`; a new item starts on its own line with a keyword such as `{definition}`")),
            found_span,
        )
    } else if has(Want::Item) || has(Want::End) {
        let mut h = e.tr("items start with `{policy}`, `{extends}`, `{enum}`, `{input}`, `{parameter}`, `{override}`, `{definition}`, `{exception}`, `{table}` or `{extern}`");
        if keyword_en(e.found).is_some() {
            h = format!("{} cannot start an item; {}", e.found_desc(), h);
        } else if !e.found.is_empty() {
            let lower = e.found.to_lowercase();
            if let Some(best) = ITEM_KEYWORDS
                .iter()
                .chain(
                    [
                        "source",
                        "assumption",
                        "quote",
                        "from",
                        "when",
                        "hit",
                        "otherwise",
                        "default",
                    ]
                    .iter(),
                )
                .filter(|k| lower.len() >= 3 && edit_distance(&lower, k) <= 2)
                .min_by_key(|k| edit_distance(&lower, k))
            {
                h = format!("did you mean `{best}`?");
            }
        }
        (
            format!("expected an item, found {}", e.found_desc()),
            "expected an item here".to_string(),
            Some(h),
            found_span,
        )
    } else if has(Want::LParen) {
        let m = if e.item == "extern" {
            "expected `(` and the extern's arguments".to_string()
        } else {
            "expected `(` after the function name".to_string()
        };
        (m, "expected `(` here".to_string(), None, missing_span)
    } else if has(Want::Str) {
        (
            "expected a string in double quotes".to_string(),
            "expected a string here".to_string(),
            None,
            missing_span,
        )
    } else if has(Want::Comma) {
        (
            "expected `,`".to_string(),
            "expected `,` here".to_string(),
            None,
            missing_span,
        )
    } else if has(Want::Operator) {
        (
            format!("unexpected {}", e.found_desc()),
            "expected an operator here".to_string(),
            None,
            found_span,
        )
    } else {
        (
            format!("unexpected {}", e.found_desc()),
            "not expected here".to_string(),
            None,
            found_span,
        )
    }
}
