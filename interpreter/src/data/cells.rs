//! Cells read exactly from their text: booleans, integers, decimals, dates and enum variants.

use super::*;

pub(super) fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t'))
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &b[start..end]
}

pub(super) fn parse_bool(b: &[u8]) -> Option<bool> {
    match b {
        b"1" => Some(true),
        b"0" => Some(false),
        _ if b.eq_ignore_ascii_case(b"true") => Some(true),
        _ if b.eq_ignore_ascii_case(b"false") => Some(false),
        _ => None,
    }
}

/// `-?[0-9]+`, within i64.
pub(super) fn parse_int(b: &[u8]) -> Result<i64, CellError> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(CellError::Invalid);
    }
    // Accumulate negatively so that i64::MIN fits.
    let mut acc: i64 = 0;
    for &c in digits {
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_sub((c - b'0') as i64))
            .ok_or(CellError::IntRange)?;
    }
    if neg {
        Ok(acc)
    } else {
        acc.checked_neg().ok_or(CellError::IntRange)
    }
}

/// `-?[0-9]+(\.[0-9]+)?`, exactly (no exponent, no sign `+`, no separators), at most 28 digits of scale.
pub(super) fn parse_decimal(b: &[u8]) -> Option<Decimal> {
    let (neg, body) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    let mut int_digits = 0usize;
    let mut scale = 0u32;
    let mut point = false;
    for &c in body {
        match c {
            b'0'..=b'9' => {
                if digits < 19 {
                    mantissa = mantissa * 10 + (c - b'0') as u64;
                }
                digits += 1;
                if point {
                    scale += 1;
                } else {
                    int_digits += 1;
                }
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if int_digits == 0 || (point && scale == 0) {
        return None;
    }
    if digits <= 18 {
        let m = mantissa as i64;
        return Some(Decimal::new(if neg { -m } else { m }, scale));
    }
    // Long numbers: rust_decimal's exact parser (refuses to round; the syntax is already checked).
    let s = std::str::from_utf8(b).ok()?;
    Decimal::from_str_exact(s).ok()
}

pub(super) fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// `YYYY-MM-DD`, a real calendar date.
pub(super) fn parse_date(b: &[u8]) -> Option<Date> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
        })
    };
    let year = num(&b[0..4])? as i32;
    let month = num(&b[5..7])? as u8;
    let day = num(&b[8..10])? as u8;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(Date { year, month, day })
}

pub(super) fn parse_enum(variants: &[String], b: &[u8]) -> Option<u16> {
    variants
        .iter()
        .position(|v| v.as_bytes() == b)
        .map(|i| i as u16)
}

/// Parses one non-text cell (already trimmed and non-empty for CSV).
pub(super) fn parse_scalar(ty: &FieldType, b: &[u8]) -> Result<Value, CellError> {
    match ty {
        FieldType::Bool => parse_bool(b).map(Value::Bool).ok_or(CellError::Invalid),
        FieldType::Int => parse_int(b).map(Value::Int),
        FieldType::Decimal => parse_decimal(b)
            .map(|d| Value::Num(Num::from_decimal(d)))
            .ok_or(CellError::Invalid),
        FieldType::Date => parse_date(b).map(Value::Date).ok_or(CellError::Invalid),
        FieldType::Enum { variants, .. } => parse_enum(variants, b)
            .map(Value::Enum)
            .ok_or(CellError::Invalid),
        FieldType::Text => match std::str::from_utf8(b) {
            Ok(s) => Ok(Value::Text(Arc::from(s))),
            Err(_) => Err(CellError::NotUtf8),
        },
    }
}
