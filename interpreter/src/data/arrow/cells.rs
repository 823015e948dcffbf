//! One Arrow column typed for one declared field, and its cells read as [`Value`]s exactly: strings
//! parsed as CSV cells are, integers, booleans, `decimal128` and `date32` taken as they are. Binary
//! floating point is refused for every number field.

use crate::data::cells::{parse_scalar, trim_ascii};
use crate::data::errors::{cell_message, expected, CellError};
use crate::data::{FieldType, TextCache};
use crate::num::Num;
use crate::value::Value;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, BooleanArray, Date32Array, Decimal128Array};
use arrow_schema::DataType;
use doudi_dsl::ast::Date;
use rust_decimal::Decimal;

/// The string cells of a column: plain, large, view, or dictionary-encoded (pandas categoricals).
pub(super) enum Strs<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    Dict {
        keys: &'a dyn Array,
        /// The keys as positions in `values` (empty when `values` is empty: then every key is null).
        positions: Vec<usize>,
        values: Box<Strs<'a>>,
    },
}

impl<'a> Strs<'a> {
    /// A string column, or `None` for any other type.
    pub(super) fn of(a: &'a dyn Array) -> Option<Strs<'a>> {
        if let Some(s) = a.as_string_opt::<i32>() {
            return Some(Strs::Utf8(s));
        }
        if let Some(s) = a.as_string_opt::<i64>() {
            return Some(Strs::Large(s));
        }
        if let Some(s) = a.as_string_view_opt() {
            return Some(Strs::View(s));
        }
        let d = a.as_any_dictionary_opt()?;
        let values = Strs::of(d.values().as_ref())?;
        let positions = if d.values().is_empty() {
            Vec::new()
        } else {
            d.normalized_keys()
        };
        Some(Strs::Dict {
            keys: d.keys(),
            positions,
            values: Box::new(values),
        })
    }

    /// The text of row `i`; `None` when it is null.
    pub(super) fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Strs::Utf8(s) => (!s.is_null(i)).then(|| s.value(i)),
            Strs::Large(s) => (!s.is_null(i)).then(|| s.value(i)),
            Strs::View(s) => (!s.is_null(i)).then(|| s.value(i)),
            Strs::Dict {
                keys,
                positions,
                values,
            } => {
                if keys.is_null(i) {
                    return None;
                }
                values.get(*positions.get(i)?)
            }
        }
    }
}

/// Integers of any width, signed or unsigned; `Err` for a `u64` above `i64::MAX`.
pub(super) type Ints<'a> = Box<dyn Fn(usize) -> Option<Result<i64, u64>> + Send + Sync + 'a>;

fn ints(a: &dyn Array) -> Option<Ints<'_>> {
    macro_rules! signed {
        ($t:ty) => {
            if let Some(p) = a.as_primitive_opt::<$t>() {
                return Some(Box::new(move |i| {
                    (!p.is_null(i)).then(|| Ok(p.value(i) as i64))
                }));
            }
        };
    }
    signed!(Int64Type);
    signed!(Int32Type);
    signed!(Int16Type);
    signed!(Int8Type);
    signed!(UInt32Type);
    signed!(UInt16Type);
    signed!(UInt8Type);
    if let Some(p) = a.as_primitive_opt::<UInt64Type>() {
        return Some(Box::new(move |i| {
            (!p.is_null(i)).then(|| i64::try_from(p.value(i)).map_err(|_| p.value(i)))
        }));
    }
    None
}

/// A column, typed for what its field accepts.
pub(super) enum Col<'a> {
    Str(Strs<'a>),
    Int(Ints<'a>),
    Bool(&'a BooleanArray),
    Dec(&'a Decimal128Array, i8),
    Date(&'a Date32Array),
}

/// The Arrow types a field of type `ty` accepts, for messages.
pub(super) fn accepted(ty: &FieldType) -> &'static str {
    match ty {
        FieldType::Bool => "boolean, an integer 0/1, or strings",
        FieldType::Int => "an integer type or strings",
        FieldType::Decimal => "decimal128, an integer type, or strings",
        FieldType::Date => "date32 or strings YYYY-MM-DD",
        FieldType::Text | FieldType::Enum { .. } => {
            "strings (utf8, large_utf8, utf8_view or dictionary-encoded)"
        }
    }
}

/// Types `a` for a field of type `ty`, or says why it cannot hold one.
pub(super) fn typed<'a>(a: &'a dyn Array, ty: &FieldType) -> Result<Col<'a>, String> {
    if let Some(s) = Strs::of(a) {
        return Ok(Col::Str(s));
    }
    let dt = a.data_type();
    let col = match ty {
        FieldType::Text | FieldType::Enum { .. } => None,
        FieldType::Int => ints(a).map(Col::Int),
        FieldType::Bool => a
            .as_boolean_opt()
            .map(Col::Bool)
            .or_else(|| ints(a).map(Col::Int)),
        FieldType::Decimal => match dt {
            DataType::Decimal128(_, scale) => a
                .as_primitive_opt::<Decimal128Type>()
                .map(|d| Col::Dec(d, *scale)),
            _ => ints(a).map(Col::Int),
        },
        FieldType::Date => a.as_primitive_opt::<Date32Type>().map(Col::Date),
    };
    if let Some(col) = col {
        return Ok(col);
    }
    let is_float = matches!(
        dt,
        DataType::Float16 | DataType::Float32 | DataType::Float64
    );
    Err(match ty {
        FieldType::Decimal if is_float => format!(
            "the column is {dt} (binary floating point), which cannot hold money or decimals exactly; \
             give decimal128 or strings (in pandas: Decimal values or str, not float)"
        ),
        FieldType::Int | FieldType::Bool if is_float => format!(
            "the column is {dt} (binary floating point); give {} (a column of integers with \
             missing values becomes float in pandas: fill or drop them, then use an integer type)",
            accepted(ty)
        ),
        _ => format!(
            "the column is {dt}; a field holding {} takes {}",
            expected(ty),
            accepted(ty)
        ),
    })
}

/// Why a cell could not be read; turned into the message by [`Bad::message`].
pub(super) enum Bad {
    Null,
    /// As the CSV reader says it, with the cell's text.
    Cell(CellError, String),
    /// Anything else, said in full after "expected ..., ".
    Found(String),
}

impl Bad {
    pub(super) fn message(&self, ty: &FieldType) -> String {
        match self {
            Bad::Null => format!(
                "expected {}, found a null (a missing value is an error, not zero)",
                expected(ty)
            ),
            Bad::Cell(e, raw) => cell_message(ty, raw.as_bytes(), *e),
            Bad::Found(s) => format!("expected {}, found {s}", expected(ty)),
        }
    }
}

/// A `decimal128` value exactly, or why it has no exact `rust_decimal` form.
pub(super) fn decimal_of(v: i128, scale: i8) -> Result<Decimal, String> {
    let shown = || show_decimal128(v, scale);
    let (mut v, mut scale) = (v, scale as i32);
    while scale < 0 {
        v = v
            .checked_mul(10)
            .ok_or_else(|| format!("{} (too large)", shown()))?;
        scale += 1;
    }
    // Trailing zeros of the fraction are not digits of the value: drop them until it fits.
    loop {
        if scale <= 28 {
            if let Ok(d) = Decimal::try_from_i128_with_scale(v, scale as u32) {
                return Ok(d);
            }
        }
        if scale == 0 || v % 10 != 0 {
            break;
        }
        v /= 10;
        scale -= 1;
    }
    Err(if scale > 28 {
        format!(
            "{} (more than 28 decimal places cannot be held exactly)",
            shown()
        )
    } else {
        format!("{} (more than 28 significant digits)", shown())
    })
}

/// The text of a `decimal128` value, for messages.
pub(super) fn show_decimal128(v: i128, scale: i8) -> String {
    let digits = v.unsigned_abs().to_string();
    let sign = if v < 0 { "-" } else { "" };
    if scale <= 0 {
        return format!("{sign}{digits}{}", "0".repeat((-scale) as usize));
    }
    let s = scale as usize;
    let padded = format!("{digits:0>width$}", width = s + 1);
    let (int, frac) = padded.split_at(padded.len() - s);
    format!("{sign}{int}.{frac}")
}

/// Days since 1970-01-01 as a calendar date (the proleptic Gregorian calendar).
pub(super) fn date_of_days(days: i32) -> Option<Date> {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let year = i32::try_from(year)
        .ok()
        .filter(|y| (0..=9999).contains(y))?;
    Some(Date { year, month, day })
}

/// Days since 1970-01-01 of a calendar date.
pub(super) fn days_of_date(d: Date) -> i32 {
    let y = d.year as i64 - i64::from(d.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = d.month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d.day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as i32
}

impl Col<'_> {
    /// Row `i` as a value of type `ty` (range not checked); text through `cache`.
    pub(super) fn value(
        &self,
        i: usize,
        ty: &FieldType,
        cache: &mut TextCache,
    ) -> Result<Value, Bad> {
        match self {
            Col::Str(s) => {
                let raw = s.get(i).ok_or(Bad::Null)?;
                if let FieldType::Text = ty {
                    return cache
                        .get(raw.as_bytes())
                        .map(Value::Text)
                        .map_err(|e| Bad::Cell(e, raw.to_string()));
                }
                let b = trim_ascii(raw.as_bytes());
                if b.is_empty() {
                    return Err(Bad::Cell(CellError::Empty, String::new()));
                }
                parse_scalar(ty, b).map_err(|e| Bad::Cell(e, raw.to_string()))
            }
            Col::Int(get) => {
                let n = match get(i).ok_or(Bad::Null)? {
                    Ok(n) => n,
                    Err(big) => return Err(Bad::Cell(CellError::IntRange, big.to_string())),
                };
                match ty {
                    FieldType::Bool => match n {
                        0 | 1 => Ok(Value::Bool(n == 1)),
                        _ => Err(Bad::Cell(CellError::Invalid, n.to_string())),
                    },
                    FieldType::Decimal => Ok(Value::Num(Num::from_decimal(Decimal::from(n)))),
                    _ => Ok(Value::Int(n)),
                }
            }
            Col::Bool(b) => (!b.is_null(i))
                .then(|| Value::Bool(b.value(i)))
                .ok_or(Bad::Null),
            Col::Dec(d, scale) => {
                if d.is_null(i) {
                    return Err(Bad::Null);
                }
                decimal_of(d.value(i), *scale)
                    .map(|d| Value::Num(Num::from_decimal(d)))
                    .map_err(Bad::Found)
            }
            Col::Date(d) => {
                if d.is_null(i) {
                    return Err(Bad::Null);
                }
                date_of_days(d.value(i)).map(Value::Date).ok_or_else(|| {
                    Bad::Found(format!(
                        "{} days from 1970-01-01 (outside years 0-9999)",
                        d.value(i)
                    ))
                })
            }
        }
    }

    /// Row `i` as an id: text, or an integer written in decimal.
    pub(super) fn id(&self, i: usize) -> Result<String, Bad> {
        match self {
            Col::Str(s) => s.get(i).map(str::to_string).ok_or(Bad::Null),
            Col::Int(get) => match get(i).ok_or(Bad::Null)? {
                Ok(n) => Ok(n.to_string()),
                Err(big) => Ok(big.to_string()),
            },
            _ => Err(Bad::Found("a value that is not an id".into())),
        }
    }
}

/// Types an id column: strings or integers.
pub(super) fn id_col(a: &dyn Array) -> Result<Col<'_>, String> {
    if let Some(s) = Strs::of(a) {
        return Ok(Col::Str(s));
    }
    ints(a).map(Col::Int).ok_or_else(|| {
        format!(
            "the column is {}; an id takes strings or an integer type",
            a.data_type()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for days in [-719_528, -1, 0, 1, 59, 10_957, 19_782, 2_932_896] {
            let d = date_of_days(days).unwrap();
            assert_eq!(days_of_date(d), days, "{d:?}");
        }
        assert_eq!(
            date_of_days(19_782),
            Some(Date {
                year: 2024,
                month: 2,
                day: 29
            })
        );
        assert_eq!(date_of_days(i32::MAX), None);
    }

    #[test]
    fn decimals_exact_or_refused() {
        assert_eq!(decimal_of(90050, 2).unwrap().to_string(), "900.50");
        assert_eq!(decimal_of(9, -3).unwrap().to_string(), "9000");
        assert_eq!(
            decimal_of(10i128.pow(30), 30)
                .unwrap()
                .normalize()
                .to_string(),
            "1"
        );
        assert!(decimal_of(1, 30).is_err());
        assert!(decimal_of(i128::MAX, 0).is_err());
        // 16 digits, 12 places, written at scale 18: 34 digits, 6 of them trailing zeros.
        assert_eq!(
            decimal_of(1234567890123456123456789012000000, 18)
                .unwrap()
                .normalize()
                .to_string(),
            "1234567890123456.123456789012"
        );
        assert_eq!(show_decimal128(-5, 3), "-0.005");
        assert_eq!(show_decimal128(12, -2), "1200");
    }
}
