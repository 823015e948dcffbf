//! Values outside formulas: parameter literals and values given on the command line.
//!
//! Converts a literal to a constant of its declared type; parses a `--set` or TOML override text.

use crate::ast::{self, Literal};
use crate::ir::*;
use rust_decimal::Decimal;
use std::str::FromStr;

/// Converts a parameter literal to a constant of type `ty`.
pub fn literal_const(l: &Literal, ty: Ty, enums: &[EnumInfo]) -> Result<Const, String> {
    let tn = ty_name(ty, enums);
    match (l, ty) {
        (Literal::Bool(b), Ty::Bool) => Ok(Const::Bool(*b)),
        (Literal::Number { value, .. }, Ty::Int | Ty::Months) => {
            if !value.fract().is_zero() {
                return Err(format!("expected a whole number for {tn}, found {value}"));
            }
            i64::try_from(*value)
                .map(Const::Int)
                .map_err(|_| format!("{value} is too large"))
        }
        (Literal::Number { value, .. }, Ty::Decimal | Ty::Percent | Ty::Money(_)) => {
            Ok(Const::Dec(*value))
        }
        (Literal::Percent(p), Ty::Percent | Ty::Decimal) => Ok(Const::Dec(*p)),
        (Literal::Date(d), Ty::Date) => Ok(Const::Date(*d)),
        (Literal::Text(t), Ty::Text) => Ok(Const::Text(t.clone())),
        (Literal::Name(n), Ty::Enum(e)) => {
            let en = &enums[e as usize];
            en.variants
                .iter()
                .position(|v| v == n)
                .map(|i| Const::Enum(i as u16))
                .ok_or_else(|| {
                    format!(
                        "`{n}` is not a value of `{}` ({})",
                        en.name,
                        en.variants.join(", ")
                    )
                })
        }
        (l, _) => Err(format!("expected {tn}, found {}", describe_literal(l))),
    }
}

fn describe_literal(l: &Literal) -> String {
    match l {
        Literal::Number { value, .. } => format!("the number {value}"),
        Literal::Percent(p) => format!("the percentage {}%", (*p * Decimal::from(100)).normalize()),
        Literal::Bool(b) => format!("`{b}`"),
        Literal::Date(d) => format!("the date {}", format_date(*d)),
        Literal::Text(t) => format!("the text \"{t}\""),
        Literal::Name(n) => format!("`{n}`"),
    }
}

/// Parses a value given on the command line or in a TOML override (`750`, `30%`, `0.30`, `true`, `urban`).
pub fn parse_value_text(text: &str, ty: Ty, enums: &[EnumInfo]) -> Result<Const, String> {
    let t = text.trim();
    let lit = match ty {
        Ty::Bool => match t {
            "true" | "1" => Literal::Bool(true),
            "false" | "0" => Literal::Bool(false),
            _ => return Err(format!("expected true or false, found `{t}`")),
        },
        Ty::Percent if t.ends_with('%') => {
            let d = Decimal::from_str_exact(t.trim_end_matches('%').trim())
                .map_err(|_| format!("expected a percentage such as 30% or 0.30, found `{t}`"))?;
            Literal::Percent(d / Decimal::from(100))
        }
        Ty::Int | Ty::Months | Ty::Decimal | Ty::Percent | Ty::Money(_) => {
            if t.contains(['e', 'E']) || t.is_empty() {
                return Err(format!(
                    "expected a number such as 750 or 750.00, found `{t}`"
                ));
            }
            let d = Decimal::from_str_exact(t)
                .map_err(|_| format!("expected a number such as 750 or 750.00, found `{t}`"))?;
            Literal::Number {
                value: d,
                is_integer: !t.contains('.'),
            }
        }
        Ty::Date => {
            let parts: Vec<&str> = t.split('-').collect();
            let bad = || format!("expected a date YYYY-MM-DD, found `{t}`");
            if parts.len() != 3 {
                return Err(bad());
            }
            let y = i32::from_str(parts[0]).map_err(|_| bad())?;
            let m = u8::from_str(parts[1]).map_err(|_| bad())?;
            let d = u8::from_str(parts[2]).map_err(|_| bad())?;
            let date = ast::Date {
                year: y,
                month: m,
                day: d,
            };
            if !valid_date(date) {
                return Err(bad());
            }
            Literal::Date(date)
        }
        Ty::Text => Literal::Text(t.to_string()),
        Ty::Enum(_) => Literal::Name(t.to_string()),
        Ty::Lit(_) => return Err("internal: literal type".into()),
    };
    literal_const(&lit, ty, enums)
}

/// Whether a date exists (years 1 to 9999).
pub fn valid_date(d: ast::Date) -> bool {
    let days = crate::calendar::days_in_month(d.year, u32::from(d.month));
    d.day >= 1 && u32::from(d.day) <= days && (1..=9999).contains(&d.year)
}
