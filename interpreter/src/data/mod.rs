//! The household/person data model and its readers and writers: one JSON household, a JSON array of
//! households, JSON Lines, and the CSV pair (`households.csv` + `persons.csv`) of DATA.md.
//!
//! The readers are driven by a [`Schema`]: the inputs the policy declares, in slot order. Besides the
//! declared fields every household has an id (`id` in JSON, `household_id` in CSV) and at least one
//! member; every person has an id (`id` in JSON, `person_id` in CSV) and, in CSV, the `household_id`
//! it belongs to. Anything else is an error with a message naming the file, the line, the household or
//! person, the field and what was expected.
//!
//! Money, decimals and percents are read exactly from their decimal text (never through a binary
//! float): from a CSV cell, a JSON string, or the original text of a JSON number.
//!
//! Readers:
//! - [`read_json_household`], [`read_json_str`], [`read_json_path`]: JSON (one object, an array, or
//!   JSON Lines, auto-detected).
//! - [`read_csv_pair`], [`read_csv_dir`]: the CSV pair, whole, in any person order.
//! - [`PairSegments`]: the CSV pair cut at household boundaries into segments that worker threads
//!   parse ([`SegmentParser`]), `persons.csv` in any order (regrouped through temporary files in
//!   bounded memory when it is not grouped); `crate::stream` drives it.
//! - [`CsvChunks`]: the same as an iterator of chunks of households, parsed in the background, in
//!   memory that does not grow with the population.
//!
//! Writers: [`write_csv_pair`], [`CsvPairWriter`] (streaming), [`household_to_json`].
//!
//! With the `arrow` feature, [`arrow`] reads households from and writes households and evaluation
//! outputs to Arrow record batches (Parquet files, Python).

use crate::num::Num;
use crate::value::Value;
use doudi_dsl::ast::Date;
use rust_decimal::Decimal;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::io::{BufWriter, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

/// The type of one declared input field, as the readers need it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    Bool,
    /// `integer` and `months`.
    Int,
    /// money, decimal, percent: read as exact decimals from a string or a JSON number's text.
    Decimal,
    /// `YYYY-MM-DD`
    Date,
    Text,
    /// An enum with its variant names in declaration order; read as the variant name.
    Enum {
        name: String,
        variants: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    /// The declared range of a number field (`in 0..=4`, `>= 0`); readers reject values outside it.
    pub range: Option<doudi_dsl::ir::ValueRange>,
    /// The value used when the data has no such column (CSV) or field (a JSON object without it);
    /// `None`: the field is required. A column or field that is present is read as usual.
    pub default: Option<Value>,
}

impl Field {
    /// A required field without a declared range.
    pub fn new(name: impl Into<String>, ty: FieldType) -> Field {
        Field {
            name: name.into(),
            ty,
            range: None,
            default: None,
        }
    }

    /// The same field, optional: `default` is used when the data does not have it.
    pub fn with_default(mut self, default: Value) -> Field {
        self.default = Some(default);
        self
    }

    /// Whether a value read for this field lies in its declared range.
    pub fn in_range(&self, v: &Value) -> bool {
        let Some(r) = &self.range else { return true };
        match v {
            Value::Int(i) => r.contains(Decimal::from(*i)),
            Value::Num(n) => !matches!(n.to_decimal(), Some(d) if !r.contains(d)),
            _ => true,
        }
    }

    fn range_message(&self, v: &Value) -> String {
        let shown = match v {
            Value::Int(i) => i.to_string(),
            Value::Num(n) => n.to_decimal().map(|d| d.to_string()).unwrap_or_default(),
            _ => String::new(),
        };
        let r = self
            .range
            .as_ref()
            .map(|r| r.text.as_str())
            .unwrap_or_default();
        format!("{shown} is outside the declared range `{r}`")
    }
}

/// The declared inputs of a policy: the fields of a household and of a person, in slot order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    pub household: Vec<Field>,
    pub person: Vec<Field>,
    /// The policy's states (`Program::states` order): the fields of a household's `previous`
    /// object (JSON), last month's values.
    pub states: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: String,
    /// One value per `Schema::person` field, same order.
    pub fields: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    pub id: String,
    /// One value per `Schema::household` field, same order.
    pub fields: Vec<Value>,
    pub members: Vec<Person>,
    /// Last month's value of each state (`Program::states` order), when the caller carries the
    /// household from month to month; `None` before its first month (states start `initially`).
    pub previous: Option<Vec<Value>>,
}

impl Schema {
    /// The slot of a declared household field.
    pub fn household_index(&self, name: &str) -> Option<usize> {
        self.household.iter().position(|f| f.name == name)
    }

    /// The slot of a declared person field.
    pub fn person_index(&self, name: &str) -> Option<usize> {
        self.person.iter().position(|f| f.name == name)
    }
}

/// The largest JSON input [`read_json_str`] and [`read_json_path`] accept (1 GiB); use
/// [`read_json_path_limited`] for another bound.
pub const MAX_JSON_BYTES: usize = 1 << 30;

/// The deepest nesting of arrays and objects accepted in JSON input. A household needs 4 (array,
/// household, members, person); serde_json's own recursion limit (128) stays on as well.
pub const MAX_JSON_DEPTH: usize = 64;

#[cfg(feature = "arrow")]
pub mod arrow;
mod cells;
mod columns;
mod csv_chunks;
mod csv_read;
mod errors;
mod ids;
mod json;
mod regroup;
mod segments;
mod write;

use cells::*;
pub use columns::{FieldSink, SegmentRecords};
pub use csv_chunks::*;
use csv_read::*;
pub use csv_read::*;
use errors::*;
pub use errors::*;
use ids::*;
use json::*;
pub use json::*;
pub use segments::{
    PairSegments, ParsedSegment, PersonIdCheck, PersonIds, RawSegment, SegmentParser,
    SEGMENT_HOUSEHOLDS,
};
pub use write::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        let d = |s: &str| parse_decimal(s.as_bytes()).map(|d| d.to_string());
        assert_eq!(d("900"), Some("900".into()));
        assert_eq!(d("900.50"), Some("900.50".into()));
        assert_eq!(d("-0.5"), Some("-0.5".into()));
        assert_eq!(
            d("12345678901234567890.123"),
            Some("12345678901234567890.123".into())
        );
        assert_eq!(
            d("0.1000000000000000000000000001"),
            Some("0.1000000000000000000000000001".into())
        );
        for bad in [
            "", "-", "1e3", "1E3", "+5", ".5", "5.", "1_000", "1,5", "1.2.3", "0x10", "NaN", "inf",
        ] {
            assert_eq!(d(bad), None, "{bad}");
        }
        // More digits than a Decimal holds exactly: refused, not rounded.
        assert_eq!(d("1.00000000000000000000000000001"), None);
    }

    #[test]
    fn ints_bools_dates() {
        assert_eq!(parse_int(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_int(b"9223372036854775808"), Err(CellError::IntRange));
        assert_eq!(parse_int(b"1.0"), Err(CellError::Invalid));
        assert_eq!(parse_int(b"-"), Err(CellError::Invalid));
        assert_eq!(parse_bool(b"TRUE"), Some(true));
        assert_eq!(parse_bool(b"0"), Some(false));
        assert_eq!(parse_bool(b"yes"), None);
        assert_eq!(
            parse_date(b"2024-02-29"),
            Some(Date {
                year: 2024,
                month: 2,
                day: 29
            })
        );
        assert_eq!(parse_date(b"2023-02-29"), None);
        assert_eq!(parse_date(b"2023-13-01"), None);
        assert_eq!(parse_date(b"2023-1-01"), None);
    }

    #[test]
    fn json_scan() {
        assert_eq!(
            scan_json(b"[\n{\"a\": [1,2]},\n \"x,]\" ,\n{}]"),
            Ok(vec![2, 3, 4])
        );
        let deep = "[".repeat(65);
        assert_eq!(scan_json(deep.as_bytes()), Err(64));
        assert!(scan_json("[".repeat(64).as_bytes()).is_ok());
    }

    #[test]
    fn id_set_collisions() {
        let ids: Vec<String> = (0..100_000).map(|i| format!("P{i:07}")).collect();
        let mut set: IdSet<usize> = IdSet::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            set.insert(id.as_bytes(), i, i as u64, |j| ids[j].as_bytes())
                .unwrap();
        }
        assert_eq!(
            set.insert(b"P0000042", 0, 0, |j| ids[j].as_bytes()),
            Err(42)
        );
        assert_eq!(set.get(b"P0000099", |j| ids[j].as_bytes()), Some(99));
        assert_eq!(set.get(b"Q", |j| ids[j].as_bytes()), None);
    }
}
