//! Builds literals: strings with their escapes, booleans, exact numbers, percents and dates.
//!
//! Numbers are exact decimals of at most 28 significant digits; dates are checked against the
//! calendar (month lengths, leap years).

use rust_decimal::Decimal;

use super::{Builder, Rule, P, R};
use crate::ast::{Date, Literal, Spanned};
use crate::calendar::days_in_month;
use crate::diag::Diagnostic;

impl Builder<'_, '_> {
    pub(super) fn string(&self, p: P<'_>) -> R<String> {
        let raw = p.as_str();
        let start = self.start(&p);
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'u')) => {
                    let mut hex = String::new();
                    let mut end = i + 2;
                    for (j, d) in chars.by_ref() {
                        end = j + d.len_utf8();
                        if d == '}' {
                            break;
                        }
                        if d != '{' {
                            hex.push(d);
                        }
                    }
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) => out.push(ch),
                        None => {
                            let s = start + 1 + i;
                            return Err(Diagnostic::error(
                                format!("`\\u{{{hex}}}` is not a Unicode character"),
                                self.cx.span(s, start + 1 + end),
                                "invalid escape",
                            )
                            .with_help("write the character itself, or a valid code point such as `\\u{4E2D}`"));
                        }
                    }
                }
                _ => return Err(self.cx.internal(start + 1 + i)),
            }
        }
        Ok(out)
    }

    pub(super) fn boolean(&self, p: &P<'_>) -> bool {
        p.clone()
            .into_inner()
            .next()
            .is_some_and(|k| k.as_rule() == Rule::kw_true)
    }

    pub(super) fn number(&self, p: &P<'_>) -> R<Literal> {
        let s = p.as_str();
        let value = self.decimal(p, s)?;
        Ok(Literal::Number {
            value,
            is_integer: !s.contains('.'),
        })
    }

    pub(super) fn decimal(&self, p: &P<'_>, s: &str) -> R<Decimal> {
        Decimal::from_str_exact(s).map_err(|_| {
            Diagnostic::error(
                format!("the number `{}` is too large or too precise", p.as_str()),
                self.sp(p),
                "does not fit in 28 significant digits",
            )
            .with_help("doudi numbers are exact decimals of at most 28 significant digits")
        })
    }

    pub(super) fn percent(&self, p: &P<'_>) -> R<Decimal> {
        let s = p.as_str();
        let digits = s.strip_suffix('%').unwrap_or(s);
        let mut d = self.decimal(p, digits)?;
        let scale = d.scale() + 2;
        if d.set_scale(scale).is_err() {
            return Err(Diagnostic::error(
                format!("the percent `{s}` is too precise"),
                self.sp(p),
                "too many decimal places",
            )
            .with_help("doudi numbers are exact decimals of at most 28 significant digits"));
        }
        Ok(d)
    }

    pub(super) fn date(&self, p: &P<'_>) -> R<Spanned<Date>> {
        let s = p.as_str();
        let span = self.sp(p);
        let num = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<u32>().ok());
        let (Some(y), Some(m), Some(d)) = (num(0, 4), num(5, 7), num(8, 10)) else {
            return Err(self.internal(p));
        };
        let y = y as i32;
        let bad = |label: String| {
            Diagnostic::error(format!("`{s}` is not a date"), span, label)
                .with_help("dates are written YYYY-MM-DD, for example `2024-01-01`")
        };
        if !(1..=12).contains(&m) {
            return Err(bad(format!("there is no month {m}")));
        }
        let days = days_in_month(y, m);
        if d == 0 || d > days {
            return Err(bad(format!("{} {y} has {days} days", month_name(m))));
        }
        Ok(Spanned {
            node: Date {
                year: y,
                month: m as u8,
                day: d as u8,
            },
            span,
        })
    }
}

fn month_name(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    .get((m as usize).wrapping_sub(1))
    .copied()
    .unwrap_or("?")
}
