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
//! - [`CsvChunks`]: the CSV pair in chunks of households, in memory that does not grow with the
//!   population; it needs `persons.csv` grouped by household in the order of `households.csv`.
//!
//! Writers: [`write_csv_pair`], [`CsvPairWriter`] (streaming), [`household_to_json`].

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
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
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

// ---------------------------------------------------------------------------------------------------
// Errors

/// A data error: where (`file:line`, or just the file) and what (household, member, field, expected
/// type, what was found). Displayed as `location: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct DataError {
    /// `persons.csv:17`, `households.jsonl:3`, `households.json:12:5`, or a file name.
    pub location: String,
    pub message: String,
}

impl DataError {
    fn new(location: impl Into<String>, message: impl Into<String>) -> DataError {
        DataError {
            location: location.into(),
            message: message.into(),
        }
    }

    fn io(path: &Path, what: &str, e: &std::io::Error) -> DataError {
        DataError::new(path.display().to_string(), format!("cannot {what}: {e}"))
    }
}

/// What a field of this type must look like, for "expected ..." messages.
fn expected(ty: &FieldType) -> String {
    match ty {
        FieldType::Bool => "true, false, 1 or 0".into(),
        FieldType::Int => "an integer".into(),
        FieldType::Decimal => "a decimal number such as 900 or 900.50".into(),
        FieldType::Date => "a date YYYY-MM-DD".into(),
        FieldType::Text => "text".into(),
        FieldType::Enum { variants, .. } => format!("one of {}", variants.join(", ")),
    }
}

/// Why a cell could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellError {
    Invalid,
    Empty,
    /// An integer outside i64.
    IntRange,
    NotUtf8,
}

const SHOW_MAX: usize = 60;

/// A cell's text for messages: quoted, escaped, shortened.
fn show_text(s: &str) -> String {
    if s.chars().count() > SHOW_MAX {
        let short: String = s.chars().take(SHOW_MAX).collect();
        format!("{short:?}...")
    } else {
        format!("{s:?}")
    }
}

fn cell_message(ty: &FieldType, raw: &[u8], e: CellError) -> String {
    let found = match e {
        CellError::Empty => "an empty cell (an empty cell is an error, not zero)".to_string(),
        CellError::NotUtf8 => "bytes that are not UTF-8 text".to_string(),
        _ => show_text(&String::from_utf8_lossy(raw)),
    };
    match e {
        CellError::IntRange => format!(
            "expected an integer between {} and {}, found {found}",
            i64::MIN,
            i64::MAX
        ),
        _ => format!("expected {}, found {found}", expected(ty)),
    }
}

// ---------------------------------------------------------------------------------------------------
// Cell parsers (shared by CSV cells and JSON strings)

fn trim_ascii(b: &[u8]) -> &[u8] {
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

fn parse_bool(b: &[u8]) -> Option<bool> {
    match b {
        b"1" => Some(true),
        b"0" => Some(false),
        _ if b.eq_ignore_ascii_case(b"true") => Some(true),
        _ if b.eq_ignore_ascii_case(b"false") => Some(false),
        _ => None,
    }
}

/// `-?[0-9]+`, within i64.
fn parse_int(b: &[u8]) -> Result<i64, CellError> {
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
fn parse_decimal(b: &[u8]) -> Option<Decimal> {
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

fn days_in_month(year: i32, month: u8) -> u8 {
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
fn parse_date(b: &[u8]) -> Option<Date> {
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

fn parse_enum(variants: &[String], b: &[u8]) -> Option<u16> {
    variants
        .iter()
        .position(|v| v.as_bytes() == b)
        .map(|i| i as u16)
}

/// Parses one non-text cell (already trimmed and non-empty for CSV).
fn parse_scalar(ty: &FieldType, b: &[u8]) -> Result<Value, CellError> {
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

// ---------------------------------------------------------------------------------------------------
// Hashing and id sets

/// A small fast hasher for ids (FxHash-style mixing with a murmur finaliser so low bits are good).
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap());
            h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
        }
        self.0 = h;
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(K);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(K);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        // murmur3 fmix64
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type IdBuild = BuildHasherDefault<IdHasher>;

/// Pass-through hasher for keys that are already hashes.
#[derive(Default, Clone, Copy)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn write(&mut self, _: &[u8]) {
        unreachable!("PreHashed only hashes u64")
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

fn hash_id(id: &[u8]) -> u64 {
    let mut h = IdHasher::default();
    id.hash(&mut h);
    h.finish()
}

/// A set of ids that remembers where each was first seen, without copying the ids: it maps the id's
/// hash to a locator `L` (from which the caller can fetch the id) and a line; the rare ids whose hash
/// collides with a different id are kept by value.
struct IdSet<L> {
    map: HashMap<u64, (L, u64), BuildHasherDefault<PreHashed>>,
    overflow: HashMap<Box<[u8]>, (L, u64), IdBuild>,
}

impl<L: Copy> IdSet<L> {
    fn with_capacity(n: usize) -> IdSet<L> {
        IdSet {
            map: HashMap::with_capacity_and_hasher(n, Default::default()),
            overflow: HashMap::default(),
        }
    }

    /// Inserts `id`; if it is already there, returns the line where it was first seen.
    fn insert<'a>(
        &mut self,
        id: &[u8],
        loc: L,
        line: u64,
        get: impl Fn(L) -> &'a [u8],
    ) -> Result<(), u64> {
        match self.map.entry(hash_id(id)) {
            Entry::Vacant(v) => {
                v.insert((loc, line));
                Ok(())
            }
            Entry::Occupied(o) => {
                let (first, first_line) = *o.get();
                if get(first) == id {
                    return Err(first_line);
                }
                match self.overflow.entry(id.into()) {
                    Entry::Occupied(o) => Err(o.get().1),
                    Entry::Vacant(v) => {
                        v.insert((loc, line));
                        Ok(())
                    }
                }
            }
        }
    }

    fn get<'a>(&self, id: &[u8], get: impl Fn(L) -> &'a [u8]) -> Option<L> {
        let &(loc, _) = self.map.get(&hash_id(id))?;
        if get(loc) == id {
            Some(loc)
        } else {
            self.overflow.get(id).map(|&(l, _)| l)
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// JSON

/// A JSON value for messages.
fn show_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => show_text(s),
        serde_json::Value::Array(_) => "an array".into(),
        serde_json::Value::Object(_) => "an object".into(),
    }
}

fn json_cell(ty: &FieldType, v: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    let bad = |e: CellError| match e {
        CellError::IntRange => format!(
            "expected an integer between {} and {}, found {}",
            i64::MIN,
            i64::MAX,
            show_json(v)
        ),
        _ => format!("expected {}, found {}", expected(ty), show_json(v)),
    };
    match (ty, v) {
        (FieldType::Text, J::String(s)) => Ok(Value::Text(Arc::from(s.as_str()))),
        (FieldType::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
        (FieldType::Bool | FieldType::Int | FieldType::Decimal, J::Number(n)) => {
            parse_scalar(ty, number_text(n).as_bytes()).map_err(bad)
        }
        (FieldType::Text, _) => Err(bad(CellError::Invalid)),
        (_, J::String(s)) => {
            let b = trim_ascii(s.as_bytes());
            if b.is_empty() && matches!(ty, FieldType::Decimal) {
                return Err(format!(
                    "expected {}, found \"\" (an empty string is an error, not zero)",
                    expected(ty)
                ));
            }
            parse_scalar(ty, b).map_err(bad)
        }
        _ => Err(bad(CellError::Invalid)),
    }
}

/// The original text of a JSON number (serde_json's `arbitrary_precision` keeps it).
fn number_text(n: &serde_json::Number) -> &str {
    n.as_str()
}

fn quoted(id: &str) -> String {
    show_text(id)
}

fn json_id<'a>(
    obj: &'a serde_json::Map<String, serde_json::Value>,
    origin: &str,
    what: &str,
) -> Result<&'a str, DataError> {
    match obj.get("id") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s),
        Some(v) => Err(DataError::new(
            origin,
            format!(
                "{what}: field \"id\": expected a non-empty string, found {}",
                show_json(v)
            ),
        )),
        None => Err(DataError::new(
            origin,
            format!("{what}: missing field \"id\""),
        )),
    }
}

fn field_names(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the declared fields of a JSON object (a household or a person) in slot order.
fn json_fields(
    fields: &[Field],
    builtins: &[&str],
    obj: &serde_json::Map<String, serde_json::Value>,
    origin: &str,
    ctx: &str,
    kind: &str,
) -> Result<Vec<Value>, DataError> {
    for key in obj.keys() {
        if !builtins.contains(&key.as_str()) && !fields.iter().any(|f| &f.name == key) {
            return Err(DataError::new(
                origin,
                format!(
                    "{ctx}: unknown field {} (the policy declares these {kind} fields: {})",
                    quoted(key),
                    field_names(fields)
                ),
            ));
        }
    }
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        match obj.get(&f.name) {
            None if f.default.is_some() => out.push(f.default.clone().expect("checked")),
            None => {
                return Err(DataError::new(
                    origin,
                    format!(
                        "{ctx}: missing field \"{}\" (expected {})",
                        f.name,
                        expected(&f.ty)
                    ),
                ))
            }
            Some(v) => {
                let value = json_cell(&f.ty, v).map_err(|m| {
                    DataError::new(origin, format!("{ctx}, field \"{}\": {m}", f.name))
                })?;
                if !f.in_range(&value) {
                    return Err(DataError::new(
                        origin,
                        format!("{ctx}, field \"{}\": {}", f.name, f.range_message(&value)),
                    ));
                }
                out.push(value)
            }
        }
    }
    Ok(out)
}

/// Reads one household from a JSON value. `origin` is where it came from (`households.jsonl:3`) and
/// starts every error message.
pub fn read_json_household(
    schema: &Schema,
    value: &serde_json::Value,
    origin: &str,
) -> Result<Household, DataError> {
    let obj = value.as_object().ok_or_else(|| {
        DataError::new(
            origin,
            format!(
                "expected a household (a JSON object), found {}",
                show_json(value)
            ),
        )
    })?;
    let id = json_id(obj, origin, "household")?;
    let ctx = format!("household {}", quoted(id));
    let fields = json_fields(
        &schema.household,
        &["id", "members", "previous"],
        obj,
        origin,
        &ctx,
        "household",
    )?;
    let members = match obj.get("members") {
        Some(serde_json::Value::Array(a)) => a,
        Some(v) => {
            return Err(DataError::new(
                origin,
                format!(
                    "{ctx}, field \"members\": expected an array of persons, found {}",
                    show_json(v)
                ),
            ))
        }
        None => {
            return Err(DataError::new(
                origin,
                format!("{ctx}: missing field \"members\" (an array of persons)"),
            ))
        }
    };
    if members.is_empty() {
        return Err(DataError::new(
            origin,
            format!("{ctx}: no members (every household has at least one person)"),
        ));
    }
    let mut persons: Vec<Person> = Vec::with_capacity(members.len());
    let mut hashes = IdHashes::default();
    for (i, m) in members.iter().enumerate() {
        let mobj = m.as_object().ok_or_else(|| {
            DataError::new(
                origin,
                format!(
                    "{ctx}, member #{}: expected a person (a JSON object), found {}",
                    i + 1,
                    show_json(m)
                ),
            )
        })?;
        let pid = json_id(mobj, origin, &format!("{ctx}, member #{}", i + 1))?;
        let pctx = format!("{ctx}, member {}", quoted(pid));
        if seen_before(
            persons.len(),
            |i| persons[i].id.as_bytes(),
            &mut hashes,
            pid.as_bytes(),
        ) {
            return Err(DataError::new(
                origin,
                format!("{ctx}: duplicate member id {}", quoted(pid)),
            ));
        }
        let fields = json_fields(&schema.person, &["id"], mobj, origin, &pctx, "person")?;
        persons.push(Person {
            id: pid.to_string(),
            fields,
        });
    }
    let previous = match obj.get("previous") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Object(p)) if !schema.states.is_empty() => Some(json_fields(
            &schema.states,
            &[],
            p,
            origin,
            &format!("{ctx}, \"previous\""),
            "state",
        )?),
        Some(serde_json::Value::Object(_)) => {
            return Err(DataError::new(
                origin,
                format!("{ctx}: field \"previous\" gives last month's states, and the policy declares no `state`"),
            ))
        }
        Some(v) => {
            return Err(DataError::new(
                origin,
                format!(
                    "{ctx}, field \"previous\": expected an object of last month's states, found {}",
                    show_json(v)
                ),
            ))
        }
    };
    Ok(Household {
        id: id.to_string(),
        fields,
        members: persons,
        previous,
    })
}

/// Checks the nesting depth of JSON text and, when the top level is an array, returns the line on
/// which each element starts (for messages). A byte scan that ignores string contents.
fn scan_json(b: &[u8]) -> Result<Vec<usize>, usize> {
    let mut lines = Vec::new();
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut top_array = None;
    let mut expecting = false;
    for (off, &c) in b.iter().enumerate() {
        if c == b'\n' {
            line += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if top_array.is_none() {
            top_array = Some(c == b'[');
        }
        if expecting && depth == 1 && c != b']' {
            lines.push(line);
            expecting = false;
        }
        match c {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(off);
                }
                if depth == 1 && top_array == Some(true) {
                    expecting = true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 && top_array == Some(true) => expecting = true,
            _ => {}
        }
    }
    Ok(lines)
}

fn line_col(text: &str, off: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..off];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let col = text[start..off].chars().count() + 1;
    (line, col)
}

/// serde_json's message without its " at line L column C" suffix.
fn json_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn malformed(origin: &str, line: usize, col: usize, e: &serde_json::Error) -> DataError {
    DataError::new(
        format!("{origin}:{line}:{col}"),
        format!("malformed JSON: {}", json_message(e)),
    )
}

/// Reads households from JSON text: one object, an array of objects, or JSON Lines (one object per
/// line; blank lines are skipped). `origin` (a file name) starts every error message.
pub fn read_json_str(
    schema: &Schema,
    text: &str,
    origin: &str,
) -> Result<Vec<Household>, DataError> {
    read_json_str_limited(schema, text, origin, MAX_JSON_BYTES)
}

fn read_json_str_limited(
    schema: &Schema,
    text: &str,
    origin: &str,
    max_bytes: usize,
) -> Result<Vec<Household>, DataError> {
    if text.len() > max_bytes {
        return Err(DataError::new(
            origin,
            format!("the input is {} bytes, more than the limit of {max_bytes}; use the CSV pair for large populations", text.len()),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let element_lines = scan_json(text.as_bytes()).map_err(|off| {
        let (line, col) = line_col(text, off);
        DataError::new(
            format!("{origin}:{line}:{col}"),
            format!("JSON nested more than {MAX_JSON_DEPTH} levels deep"),
        )
    })?;
    let Some(first) = text.bytes().position(|c| !c.is_ascii_whitespace()) else {
        return Err(DataError::new(
            origin,
            "empty input: expected a household object, an array of households, or JSON Lines",
        ));
    };
    if text.as_bytes()[first] == b'[' {
        let value: serde_json::Value = serde_json::from_str::<StrictJson>(text)
            .map_err(|e| malformed(origin, e.line(), e.column(), &e))?
            .0;
        let serde_json::Value::Array(items) = value else {
            unreachable!("starts with [")
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let o = match element_lines.get(i) {
                Some(line) if element_lines.len() == items.len() => format!("{origin}:{line}"),
                _ => format!("{origin}: household #{}", i + 1),
            };
            out.push(read_json_household(schema, item, &o)?);
        }
        return check_unique(out, |i| {
            element_lines
                .get(i)
                .map(|l| format!("{origin}:{l}"))
                .unwrap_or_else(|| origin.to_string())
        });
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<StrictJson>();
    let first_value = match stream.next() {
        Some(Ok(v)) => v.0,
        Some(Err(e)) => return Err(malformed(origin, e.line(), e.column(), &e)),
        None => unreachable!("non-blank input"),
    };
    let end = stream.byte_offset();
    if !text[end..].trim().is_empty() && text[first..end].contains('\n') {
        // A multi-line value followed by more: not JSON Lines.
        let extra = end + text[end..].len() - text[end..].trim_start().len();
        let (line, col) = line_col(text, extra);
        return Err(DataError::new(
            format!("{origin}:{line}:{col}"),
            "unexpected content after the first household; several households go in a JSON array or \
             in JSON Lines (one household per line)",
        ));
    }
    if text[end..].trim().is_empty() {
        if !first_value.is_object() {
            return Err(DataError::new(
                origin,
                format!(
                    "expected a household object, an array of households, or JSON Lines, found {}",
                    show_json(&first_value)
                ),
            ));
        }
        return Ok(vec![read_json_household(schema, &first_value, origin)?]);
    }
    // JSON Lines.
    let mut out = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let v: serde_json::Value = serde_json::from_str::<StrictJson>(line)
            .map_err(|e| malformed(origin, n, e.column(), &e))?
            .0;
        out.push(read_json_household(schema, &v, &format!("{origin}:{n}"))?);
        lines.push(n);
    }
    check_unique(out, |i| format!("{origin}:{}", lines[i]))
}

/// A JSON value read strictly: an object that repeats a key is an error (serde_json would keep the
/// last one silently).
struct StrictJson(serde_json::Value);

/// The key under which serde_json (with `arbitrary_precision`) hands a number's text to a visitor.
const JSON_NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> serde::Deserialize<'de> for StrictJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictJson)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_string(v.to_string())
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        if v.len() as u64 > MAX_ROW_BYTES {
            return Err(E::custom(format!(
                "a string longer than {MAX_ROW_BYTES} bytes (1 MiB)"
            )));
        }
        Ok(serde_json::Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictJson(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == JSON_NUMBER_TOKEN && out.is_empty() {
                let text: String = map.next_value()?;
                let n: serde_json::Number = text.parse().map_err(A::Error::custom)?;
                return Ok(serde_json::Value::Number(n));
            }
            let StrictJson(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(A::Error::custom(format!(
                    "duplicate key {} in an object (each field may appear once)",
                    quoted(&key)
                )));
            }
            out.insert(key, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// Rejects duplicate household ids among JSON households, and a person id used twice anywhere in the
/// file (a person belongs to one household).
fn check_unique(
    households: Vec<Household>,
    location: impl Fn(usize) -> String,
) -> Result<Vec<Household>, DataError> {
    let mut set: IdSet<usize> = IdSet::with_capacity(households.len());
    for (i, h) in households.iter().enumerate() {
        if let Err(first) = set.insert(h.id.as_bytes(), i, i as u64, |j| {
            households[j].id.as_bytes()
        }) {
            return Err(DataError::new(
                location(i),
                format!(
                    "duplicate household id {} (first at {})",
                    quoted(&h.id),
                    location(first as usize)
                ),
            ));
        }
    }
    let mut persons: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, h) in households.iter().enumerate() {
        for p in &h.members {
            if let Some(first) = persons.insert(p.id.as_str(), i) {
                if first != i {
                    return Err(DataError::new(
                        location(i),
                        format!(
                            "household {}: person id {} is already a member of household {} (at {}); a person id is unique in the whole file",
                            quoted(&h.id),
                            quoted(&p.id),
                            quoted(&households[first].id),
                            location(first)
                        ),
                    ));
                }
            }
        }
    }
    Ok(households)
}

/// Reads households from a JSON or JSON Lines file (at most [`MAX_JSON_BYTES`]).
pub fn read_json_path(schema: &Schema, path: &Path) -> Result<Vec<Household>, DataError> {
    read_json_path_limited(schema, path, MAX_JSON_BYTES)
}

/// [`read_json_path`] with another size limit.
pub fn read_json_path_limited(
    schema: &Schema,
    path: &Path,
    max_bytes: usize,
) -> Result<Vec<Household>, DataError> {
    let origin = path.display().to_string();
    let file = File::open(path).map_err(|e| DataError::io(path, "open the file", &e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > max_bytes as u64 {
        return Err(DataError::new(
            origin,
            format!("the file is {len} bytes, more than the limit of {max_bytes}; use the CSV pair for large populations"),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, "read the file", &e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, col) = line_col(
            // SAFETY-free: the prefix before the first invalid byte is valid UTF-8.
            std::str::from_utf8(&e.as_bytes()[..e.utf8_error().valid_up_to()]).unwrap(),
            e.utf8_error().valid_up_to(),
        );
        DataError::new(
            format!("{origin}:{line}:{col}"),
            "the file is not UTF-8 text",
        )
    })?;
    read_json_str_limited(schema, &text, &origin, max_bytes)
}

/// Reads households from a path: a directory holding `households.csv` and `persons.csv`, or a JSON /
/// JSON Lines file.
pub fn read_households(schema: &Schema, path: &Path) -> Result<Vec<Household>, DataError> {
    if path.is_dir() {
        read_csv_dir(schema, path)
    } else {
        read_json_path(schema, path)
    }
}

// ---------------------------------------------------------------------------------------------------
// CSV reading

const CSV_BUFFER: usize = 1 << 18;
/// The most bytes one CSV row (a line, or several when a quoted cell holds line breaks) may take, so
/// that memory stays bounded whatever the file holds; a JSON string (a cell) is bounded likewise.
pub const MAX_ROW_BYTES: u64 = 1 << 20;

/// A reader that fails once more than `limit` bytes pass without `reset` (called after each record):
/// a row longer than the limit stops the reader before its bytes are all held in memory. The count
/// includes what the CSV reader buffers ahead, so the effective limit is `limit` plus one buffer.
struct RowBounded {
    inner: Box<dyn Read + Send>,
    since: Arc<std::sync::atomic::AtomicU64>,
    limit: u64,
}

impl Read for RowBounded {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.since.load(Ordering::Relaxed) > self.limit {
            return Err(std::io::Error::other(ROW_TOO_LONG));
        }
        let n = self.inner.read(buf)?;
        self.since.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

const ROW_TOO_LONG: &str = "row too long";
/// Distinct texts remembered per text column (so that repeated region codes share one allocation).
const TEXT_CACHE_MAX: usize = 4096;

/// A CSV error, or the row-size limit hit near `line`.
fn row_error(path: &Path, line: u64, e: csv::Error) -> DataError {
    if let csv::ErrorKind::Io(io) = e.kind() {
        if io.to_string() == ROW_TOO_LONG {
            return DataError::new(
                format!("{}:{line}", path.display()),
                format!("a row longer than {} bytes (1 MiB); no field of the data contract needs that much", MAX_ROW_BYTES),
            );
        }
    }
    csv_error(path, e)
}

fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let file = path.display().to_string();
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => DataError::new(
            match pos {
                Some(p) => format!("{file}:{}", p.line()),
                None => file,
            },
            format!("the row has {len} cells but the header has {expected_len}"),
        ),
        csv::ErrorKind::Io(io) => DataError::new(file, format!("cannot read the file: {io}")),
        _ => DataError::new(file, format!("cannot read the file: {e}")),
    }
}

/// A cache of the texts of one column: the last one and up to [`TEXT_CACHE_MAX`] distinct ones.
#[derive(Default)]
struct TextCache {
    last: Option<Arc<str>>,
    map: HashMap<Box<[u8]>, Arc<str>, IdBuild>,
}

impl TextCache {
    fn get(&mut self, b: &[u8]) -> Result<Arc<str>, CellError> {
        if let Some(last) = &self.last {
            if last.as_bytes() == b {
                return Ok(last.clone());
            }
        }
        let a = match self.map.get(b) {
            Some(a) => a.clone(),
            None => {
                let s = std::str::from_utf8(b).map_err(|_| CellError::NotUtf8)?;
                let a: Arc<str> = Arc::from(s);
                if self.map.len() < TEXT_CACHE_MAX {
                    self.map.insert(b.into(), a.clone());
                }
                a
            }
        };
        self.last = Some(a.clone());
        Ok(a)
    }
}

/// One CSV file of the pair, open, with its columns mapped to slots once from the header.
struct CsvFile {
    path: PathBuf,
    file: String,
    reader: csv::Reader<RowBounded>,
    /// Bytes read since the last complete record (see [`RowBounded`]).
    since: Arc<std::sync::atomic::AtomicU64>,
    record: csv::ByteRecord,
    /// Line of the current record.
    line: u64,
    /// Column of the record's own id (`household_id` / `person_id`).
    id_col: usize,
    /// Column of `household_id` in persons.csv.
    hh_col: usize,
    /// Per schema slot: its column.
    cols: Vec<usize>,
    fields: Vec<Field>,
    caches: Vec<TextCache>,
    /// `household` or `person`, for messages.
    kind: &'static str,
}

impl CsvFile {
    /// Opens `path` and maps its header: `builtins` are the id columns (the first is the record's own
    /// id), the rest must be exactly the declared `fields`.
    fn open(
        path: &Path,
        fields: &[Field],
        builtins: &[&str],
        kind: &'static str,
    ) -> Result<CsvFile, DataError> {
        let f = File::open(path).map_err(|e| DataError::io(path, "open the file", &e))?;
        CsvFile::from_reader(path, Box::new(f), fields, builtins, kind)
    }

    /// Like [`CsvFile::open`], on any reader; `path` names it in messages.
    fn from_reader(
        path: &Path,
        f: Box<dyn Read + Send>,
        fields: &[Field],
        builtins: &[&str],
        kind: &'static str,
    ) -> Result<CsvFile, DataError> {
        let since = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let bounded = RowBounded {
            inner: f,
            since: since.clone(),
            limit: MAX_ROW_BYTES + CSV_BUFFER as u64,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .buffer_capacity(CSV_BUFFER)
            .from_reader(bounded);
        let file = path.display().to_string();
        let mut header = csv::ByteRecord::new();
        if !reader
            .read_byte_record(&mut header)
            .map_err(|e| row_error(path, 1, e))?
        {
            return Err(DataError::new(
                file,
                "the file is empty: expected a header row",
            ));
        }
        let at1 = format!("{file}:{}", header.position().map_or(1, |p| p.line()));
        let mut builtin_cols = vec![usize::MAX; builtins.len()];
        let mut cols = vec![usize::MAX; fields.len()];
        for (c, raw) in header.iter().enumerate() {
            let raw = if c == 0 {
                raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
            } else {
                raw
            };
            let name = std::str::from_utf8(trim_ascii(raw)).map_err(|_| {
                DataError::new(
                    &at1,
                    format!("column {} of the header is not UTF-8 text", c + 1),
                )
            })?;
            let slot = if let Some(b) = builtins.iter().position(|b| *b == name) {
                &mut builtin_cols[b]
            } else if let Some(i) = fields.iter().position(|f| f.name == name) {
                &mut cols[i]
            } else {
                let known: Vec<&str> = builtins
                    .iter()
                    .copied()
                    .chain(fields.iter().map(|f| f.name.as_str()))
                    .collect();
                return Err(DataError::new(
                    &at1,
                    format!(
                        "unknown column {} (the columns are: {})",
                        quoted(name),
                        known.join(", ")
                    ),
                ));
            };
            if *slot != usize::MAX {
                return Err(DataError::new(
                    &at1,
                    format!("duplicate column {}", quoted(name)),
                ));
            }
            *slot = c;
        }
        let missing: Vec<String> = builtins
            .iter()
            .zip(&builtin_cols)
            .filter(|(_, &c)| c == usize::MAX)
            .map(|(b, _)| format!("\"{b}\""))
            .chain(
                fields
                    .iter()
                    .zip(&cols)
                    .filter(|(f, &c)| c == usize::MAX && f.default.is_none())
                    .map(|(f, _)| format!("\"{}\" (expected {})", f.name, expected(&f.ty))),
            )
            .collect();
        if !missing.is_empty() {
            let s = if missing.len() == 1 { "" } else { "s" };
            return Err(DataError::new(
                &at1,
                format!("missing column{s} {}", missing.join(", ")),
            ));
        }
        Ok(CsvFile {
            since,
            path: path.to_path_buf(),
            file,
            reader,
            record: csv::ByteRecord::new(),
            line: 1,
            id_col: builtin_cols[0],
            hh_col: builtin_cols.get(1).copied().unwrap_or(usize::MAX),
            cols,
            fields: fields.to_vec(),
            caches: fields.iter().map(|_| TextCache::default()).collect(),
            kind,
        })
    }

    /// Reads the next record; `false` at the end.
    fn next_record(&mut self) -> Result<bool, DataError> {
        let more = self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(|e| row_error(&self.path, self.line + 1, e))?;
        self.since.store(0, Ordering::Relaxed);
        if more {
            self.line = self.record.position().map_or(0, |p| p.line());
        }
        Ok(more)
    }

    fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// A non-empty id from column `col`.
    fn id_cell(&self, col: usize, name: &str) -> Result<&str, DataError> {
        let raw = &self.record[col];
        match std::str::from_utf8(raw) {
            Ok(s) if !s.is_empty() => Ok(s),
            Ok(_) => Err(DataError::new(
                self.at(),
                format!("column \"{name}\": expected an id, found an empty cell"),
            )),
            Err(_) => Err(DataError::new(
                self.at(),
                format!("column \"{name}\": the id is not UTF-8 text"),
            )),
        }
    }

    fn own_id(&self) -> Result<&str, DataError> {
        let name = if self.kind == "household" {
            "household_id"
        } else {
            "person_id"
        };
        self.id_cell(self.id_col, name)
    }

    fn household_id(&self) -> Result<&str, DataError> {
        self.id_cell(self.hh_col, "household_id")
    }

    /// The declared fields of the current record, in slot order.
    fn values(&mut self) -> Result<Vec<Value>, DataError> {
        let mut out = Vec::with_capacity(self.fields.len());
        self.values_into(&mut out)?;
        Ok(out)
    }

    /// Appends the declared fields of the current record to `out`, in slot order (on error, `out` may
    /// hold some of them).
    fn values_into(&mut self, out: &mut Vec<Value>) -> Result<(), DataError> {
        for slot in 0..self.fields.len() {
            let Some(raw) = self.record.get(self.cols[slot]) else {
                // A column the file does not have: only an optional field (with a default) has none.
                out.push(
                    self.fields[slot]
                        .default
                        .clone()
                        .unwrap_or(Value::Bool(false)),
                );
                continue;
            };
            let ty = &self.fields[slot].ty;
            let v = match ty {
                FieldType::Text => self.caches[slot].get(raw).map(Value::Text),
                _ => {
                    let b = trim_ascii(raw);
                    if b.is_empty() {
                        Err(CellError::Empty)
                    } else {
                        parse_scalar(ty, b)
                    }
                }
            };
            match v {
                Ok(v) if self.fields[slot].in_range(&v) => out.push(v),
                Ok(v) => return Err(self.range_error(slot, &v)),
                Err(e) => return Err(self.cell_error(slot, e)),
            }
        }
        Ok(())
    }

    #[cold]
    fn range_error(&self, slot: usize, v: &Value) -> DataError {
        let f = &self.fields[slot];
        let id = String::from_utf8_lossy(&self.record[self.id_col]);
        DataError::new(
            self.at(),
            format!(
                "{} {}, field \"{}\": {}",
                self.kind,
                quoted(&id),
                f.name,
                f.range_message(v)
            ),
        )
    }

    #[cold]
    fn cell_error(&self, slot: usize, e: CellError) -> DataError {
        let raw = &self.record[self.cols[slot]];
        let f = &self.fields[slot];
        let id = String::from_utf8_lossy(&self.record[self.id_col]);
        DataError::new(
            self.at(),
            format!(
                "{} {}, field \"{}\": {}",
                self.kind,
                quoted(&id),
                f.name,
                cell_message(&f.ty, trim_ascii(raw), e)
            ),
        )
    }

    fn household(&mut self) -> Result<Household, DataError> {
        let id = self.own_id()?.to_string();
        let fields = self.values()?;
        Ok(Household {
            id,
            fields,
            members: Vec::new(),
            previous: None,
        })
    }

    fn person(&mut self) -> Result<Person, DataError> {
        let id = self.own_id()?.to_string();
        let fields = self.values()?;
        Ok(Person { id, fields })
    }
}

fn open_households(schema: &Schema, path: &Path) -> Result<CsvFile, DataError> {
    CsvFile::open(path, &schema.household, &["household_id"], "household")
}

fn open_persons(schema: &Schema, path: &Path) -> Result<CsvFile, DataError> {
    CsvFile::open(
        path,
        &schema.person,
        &["person_id", "household_id"],
        "person",
    )
}

/// households.csv, whole: the households (without members), their lines, and an id set over them.
struct HouseholdsRead {
    households: Vec<Household>,
    lines: Vec<u64>,
    ids: IdSet<u32>,
}

fn read_households_csv(mut f: CsvFile) -> Result<HouseholdsRead, DataError> {
    let mut households: Vec<Household> = Vec::new();
    let mut lines = Vec::new();
    let mut ids: IdSet<u32> = IdSet::with_capacity(1024);
    while f.next_record()? {
        let h = f.household()?;
        let idx = households.len() as u32;
        if let Err(first) = ids.insert(h.id.as_bytes(), idx, f.line, |i| {
            households[i as usize].id.as_bytes()
        }) {
            return Err(DataError::new(
                f.at(),
                format!(
                    "duplicate household id {} (first at line {first})",
                    quoted(&h.id)
                ),
            ));
        }
        households.push(h);
        lines.push(f.line);
    }
    Ok(HouseholdsRead {
        households,
        lines,
        ids,
    })
}

/// Consecutive persons of one household, as they appear in persons.csv.
struct Run {
    household_id: String,
    /// Line of the first person of the run.
    line: u64,
    persons: Vec<Person>,
}

/// Stops early (with what it has) when `stop` is set.
fn read_persons_csv(mut f: CsvFile, stop: &AtomicBool) -> Result<Vec<Run>, DataError> {
    let mut runs: Vec<Run> = Vec::new();
    let mut ids: IdSet<(u32, u32)> = IdSet::with_capacity(1024);
    while f.next_record()? {
        if runs.len() & 4095 == 0 && stop.load(Ordering::Relaxed) {
            break;
        }
        let hh = f.household_id()?;
        let same = runs.last().is_some_and(|r| r.household_id == hh);
        if !same {
            runs.push(Run {
                household_id: hh.to_string(),
                line: f.line,
                persons: Vec::with_capacity(4),
            });
        }
        let p = f.person()?;
        let r = (runs.len() - 1) as u32;
        let pos = runs[r as usize].persons.len() as u32;
        if let Err(first) = ids.insert(p.id.as_bytes(), (r, pos), f.line, |(r, i)| {
            runs[r as usize].persons[i as usize].id.as_bytes()
        }) {
            return Err(DataError::new(
                f.at(),
                format!(
                    "duplicate person id {} (first at line {first})",
                    quoted(&p.id)
                ),
            ));
        }
        runs[r as usize].persons.push(p);
    }
    Ok(runs)
}

/// Reads the CSV pair whole. Households come in the order of `households.csv`, members in the order of
/// `persons.csv`, which may list persons in any order. The two files are parsed in parallel.
pub fn read_csv_pair(
    schema: &Schema,
    households: &Path,
    persons: &Path,
) -> Result<Vec<Household>, DataError> {
    // Both headers are checked before either file is read.
    let households_file = open_households(schema, households)?;
    let persons_file = open_persons(schema, persons)?;
    read_pair(households_file, persons_file, households, persons)
}

/// [`read_csv_pair`] on CSV text held in memory (a header row, then the records); the paths name
/// the two texts in messages.
pub fn read_csv_pair_bytes(
    schema: &Schema,
    households: (&Path, Vec<u8>),
    persons: (&Path, Vec<u8>),
) -> Result<Vec<Household>, DataError> {
    let households_file = CsvFile::from_reader(
        households.0,
        Box::new(std::io::Cursor::new(households.1)),
        &schema.household,
        &["household_id"],
        "household",
    )?;
    let persons_file = CsvFile::from_reader(
        persons.0,
        Box::new(std::io::Cursor::new(persons.1)),
        &schema.person,
        &["person_id", "household_id"],
        "person",
    )?;
    read_pair(households_file, persons_file, households.0, persons.0)
}

fn read_pair(
    households_file: CsvFile,
    persons_file: CsvFile,
    households_path: &Path,
    persons: &Path,
) -> Result<Vec<Household>, DataError> {
    let stop = AtomicBool::new(false);
    let (hh, runs) = std::thread::scope(|s| {
        // households.csv errors are reported first, so only they stop the other reader (keeping the
        // reported error the same from run to run).
        let p = s.spawn(|| read_persons_csv(persons_file, &stop));
        let h = read_households_csv(households_file);
        if h.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        (h, p.join().expect("persons.csv reader panicked"))
    });
    let HouseholdsRead {
        mut households,
        lines,
        ids,
    } = hh?;
    let runs = runs?;
    let n = households.len();
    let mut members: Vec<Vec<Person>> = Vec::new();
    members.resize_with(n, Vec::new);
    let mut next = 0usize;
    let pfile = persons.display().to_string();
    for run in runs {
        let idx = if next < n && households[next].id == run.household_id {
            next
        } else {
            match ids.get(run.household_id.as_bytes(), |i| {
                households[i as usize].id.as_bytes()
            }) {
                Some(i) => i as usize,
                None => {
                    return Err(DataError::new(
                        format!("{pfile}:{}", run.line),
                        format!(
                            "person {}: household {} is not in {}",
                            quoted(&run.persons[0].id),
                            quoted(&run.household_id),
                            households_path.display()
                        ),
                    ))
                }
            }
        };
        if members[idx].is_empty() {
            members[idx] = run.persons;
        } else {
            members[idx].extend(run.persons);
        }
        next = idx + 1;
    }
    for (i, (h, m)) in households.iter_mut().zip(members).enumerate() {
        if m.is_empty() {
            return Err(no_person_row(households_path, lines[i], &h.id, persons));
        }
        h.members = m;
    }
    Ok(households)
}

fn no_person_row(households: &Path, line: u64, id: &str, persons: &Path) -> DataError {
    DataError::new(
        format!("{}:{line}", households.display()),
        format!(
            "household {} has no person row in {} (every household has at least one person)",
            quoted(id),
            persons.display()
        ),
    )
}

/// Reads `households.csv` and `persons.csv` from a directory (see [`read_csv_pair`]).
pub fn read_csv_dir(schema: &Schema, dir: &Path) -> Result<Vec<Household>, DataError> {
    read_csv_pair(
        schema,
        &dir.join("households.csv"),
        &dir.join("persons.csv"),
    )
}

/// The CSV pair read in chunks of at most `chunk_size` households, in memory that does not grow with
/// the population. `persons.csv` is parsed on a background thread, a bounded number of households
/// ahead.
///
/// It needs `persons.csv` grouped by household in the order of `households.csv` (as doudi's
/// generator and [`CsvPairWriter`] write it) and reports an error when a person row belongs to
/// neither the current nor the next household. Duplicate ids are detected between consecutive
/// households and among the members of a household (a global check would need memory growing with
/// the population; [`read_csv_pair`] does it). After an error the iterator ends.
pub struct CsvChunks {
    households: CsvFile,
    persons_path: PathBuf,
    /// Batches of parsed persons from the persons thread, and the way back for their buffers.
    batches: Receiver<Result<PersonBatch, DataError>>,
    recycle: Sender<PersonBatch>,
    batch: PersonBatch,
    /// The next run of `batch`.
    run: usize,
    person_fields: usize,
    persons_done: bool,
    previous_id: String,
    chunk_size: usize,
    done: bool,
}

/// Complete runs (consecutive persons of one household) of persons.csv, parsed, in flat buffers that
/// go back to the persons thread for reuse (so that thread allocates nothing per person).
#[derive(Default)]
struct PersonBatch {
    runs: Vec<RunRecord>,
    /// Per person: its id in `text`.
    persons: Vec<Range<usize>>,
    text: Vec<u8>,
    /// `fields` values per person.
    values: Vec<Value>,
}

struct RunRecord {
    /// The household id, in `text`.
    household: Range<usize>,
    /// Line of the first person.
    line: u64,
    /// Indexes into `persons`.
    persons: Range<usize>,
}

impl PersonBatch {
    fn clear(&mut self) {
        self.runs.clear();
        self.persons.clear();
        self.text.clear();
        self.values.clear();
    }

    fn str(&self, r: &Range<usize>) -> &str {
        std::str::from_utf8(&self.text[r.clone()]).expect("ids are checked UTF-8")
    }
}

/// Runs per batch from the persons thread, and batches in flight.
const RUN_BATCH: usize = 1024;
const BATCHES_IN_FLIGHT: usize = 4;

impl CsvChunks {
    pub fn open(
        schema: &Schema,
        households: &Path,
        persons: &Path,
        chunk_size: usize,
    ) -> Result<CsvChunks, DataError> {
        let households = open_households(schema, households)?;
        let persons_file = open_persons(schema, persons)?;
        CsvChunks::start(schema, households, persons_file, persons, chunk_size)
    }

    /// [`CsvChunks::open`] on CSV text held in memory (a header row, then the records); the paths
    /// name the two texts in messages.
    pub fn from_bytes(
        schema: &Schema,
        households: (&Path, Vec<u8>),
        persons: (&Path, Vec<u8>),
        chunk_size: usize,
    ) -> Result<CsvChunks, DataError> {
        let households_file = CsvFile::from_reader(
            households.0,
            Box::new(std::io::Cursor::new(households.1)),
            &schema.household,
            &["household_id"],
            "household",
        )?;
        let persons_file = CsvFile::from_reader(
            persons.0,
            Box::new(std::io::Cursor::new(persons.1)),
            &schema.person,
            &["person_id", "household_id"],
            "person",
        )?;
        CsvChunks::start(schema, households_file, persons_file, persons.0, chunk_size)
    }

    fn start(
        schema: &Schema,
        households: CsvFile,
        persons_file: CsvFile,
        persons: &Path,
        chunk_size: usize,
    ) -> Result<CsvChunks, DataError> {
        let (tx, rx) = sync_channel(BATCHES_IN_FLIGHT);
        let (recycle, recycled) = channel();
        std::thread::Builder::new()
            .name("doudi-persons-csv".into())
            .spawn(move || persons_thread(persons_file, tx, recycled))
            .map_err(|e| {
                DataError::new(
                    persons.display().to_string(),
                    format!("cannot start a reader thread: {e}"),
                )
            })?;
        Ok(CsvChunks {
            households,
            persons_path: persons.to_path_buf(),
            batches: rx,
            recycle,
            batch: PersonBatch::default(),
            run: 0,
            person_fields: schema.person.len(),
            persons_done: false,
            previous_id: String::new(),
            chunk_size: chunk_size.max(1),
            done: false,
        })
    }

    /// [`CsvChunks::open`] on `dir/households.csv` and `dir/persons.csv`.
    pub fn open_dir(
        schema: &Schema,
        dir: &Path,
        chunk_size: usize,
    ) -> Result<CsvChunks, DataError> {
        CsvChunks::open(
            schema,
            &dir.join("households.csv"),
            &dir.join("persons.csv"),
            chunk_size,
        )
    }

    /// Whether another run is available (at `self.run`); `false` at the end of persons.csv.
    fn have_run(&mut self) -> Result<bool, DataError> {
        while self.run >= self.batch.runs.len() {
            if self.persons_done {
                return Ok(false);
            }
            match self.batches.recv() {
                Ok(Ok(b)) => {
                    let used = std::mem::replace(&mut self.batch, b);
                    self.run = 0;
                    let _ = self.recycle.send(used);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => self.persons_done = true,
            }
        }
        Ok(true)
    }

    /// Location, first person id and household id of the next run.
    fn run_summary(&self) -> (String, String, String) {
        let r = &self.batch.runs[self.run];
        (
            format!("{}:{}", self.persons_path.display(), r.line),
            self.batch
                .str(&self.batch.persons[r.persons.start])
                .to_string(),
            self.batch.str(&r.household).to_string(),
        )
    }

    /// Takes the persons of the next run (which belongs to the household being read).
    fn take_members(&mut self) -> Vec<Person> {
        let n = self.person_fields;
        let b = &mut self.batch;
        let r = &b.runs[self.run];
        let mut members = Vec::with_capacity(r.persons.len());
        for p in r.persons.clone() {
            let id =
                std::str::from_utf8(&b.text[b.persons[p].clone()]).expect("ids are checked UTF-8");
            let fields: Vec<Value> = b.values[p * n..(p + 1) * n]
                .iter_mut()
                .map(|v| std::mem::replace(v, Value::Bool(false)))
                .collect();
            members.push(Person {
                id: id.to_string(),
                fields,
            });
        }
        self.run += 1;
        members
    }

    fn next_chunk(&mut self) -> Result<Vec<Household>, DataError> {
        let mut out: Vec<Household> = Vec::with_capacity(self.chunk_size.min(1 << 16));
        while out.len() < self.chunk_size {
            if !self.households.next_record()? {
                self.done = true;
                if self.have_run()? {
                    let (at, person, household) = self.run_summary();
                    return Err(DataError::new(
                        at,
                        format!(
                            "person {}: household {} is not in {} (or persons.csv is not grouped by \
                             household in the order of households.csv, which the chunked reader needs)",
                            quoted(&person),
                            quoted(&household),
                            self.households.file
                        ),
                    ));
                }
                break;
            }
            let mut h = self.households.household()?;
            if h.id == self.previous_id {
                return Err(DataError::new(
                    self.households.at(),
                    format!(
                        "duplicate household id {} (also on the line before)",
                        quoted(&h.id)
                    ),
                ));
            }
            if !self.have_run()? {
                return Err(no_person_row(
                    &self.households.path,
                    self.households.line,
                    &h.id,
                    &self.persons_path,
                ));
            }
            let r = &self.batch.runs[self.run];
            if self.batch.text[r.household.clone()] != *h.id.as_bytes() {
                let (at, person, household) = self.run_summary();
                return Err(DataError::new(
                    at,
                    format!(
                        "person {} of household {} is out of order: a person of household {} ({}:{}) \
                         was expected next. The chunked reader needs persons.csv grouped by household \
                         in the order of households.csv, and every household to have a person row \
                         (read_csv_pair accepts any order)",
                        quoted(&person),
                        quoted(&household),
                        quoted(&h.id),
                        self.households.file,
                        self.households.line
                    ),
                ));
            }
            h.members = self.take_members();
            self.previous_id.clear();
            self.previous_id.push_str(&h.id);
            out.push(h);
        }
        Ok(out)
    }
}

/// A 64-bit hash of a person id, for the file-wide uniqueness check of the chunked reader (8 bytes a
/// person instead of the id itself).
fn person_id_hash(id: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// Parses persons.csv into batches of complete runs, checking that member ids are unique within a
/// run and across the file (by a 64-bit hash of each id). Ends at the end of the file, at an error
/// (sent after the complete runs before it), or when the reader is dropped.
fn persons_thread(
    mut f: CsvFile,
    tx: SyncSender<Result<PersonBatch, DataError>>,
    recycled: Receiver<PersonBatch>,
) {
    let mut batch = PersonBatch::default();
    let mut hashes: IdHashes = Default::default();
    let mut all_ids: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let result = (|| -> Result<(), DataError> {
        while f.next_record()? {
            let hh = f.household_id()?.as_bytes();
            let same = batch
                .runs
                .last()
                .is_some_and(|r| batch.text[r.household.clone()] == *hh);
            if !same {
                if batch.runs.len() >= RUN_BATCH {
                    let mut next = recycled.try_recv().unwrap_or_default();
                    next.clear();
                    let full = std::mem::replace(&mut batch, next);
                    if tx.send(Ok(full)).is_err() {
                        return Ok(()); // the reader was dropped
                    }
                }
                let start = batch.text.len();
                batch.text.extend_from_slice(hh);
                let p = batch.persons.len();
                batch.runs.push(RunRecord {
                    household: start..batch.text.len(),
                    line: f.line,
                    persons: p..p,
                });
                hashes.clear();
            }
            let id = f.own_id()?.as_bytes();
            let run = batch.runs.last().expect("a run was started");
            let members = &batch.persons[run.persons.clone()];
            if seen_before(
                members.len(),
                |i| &batch.text[members[i].clone()],
                &mut hashes,
                id,
            ) {
                let household = String::from_utf8_lossy(&batch.text[run.household.clone()]);
                return Err(DataError::new(
                    f.at(),
                    format!(
                        "duplicate person id {} in household {}",
                        quoted(&String::from_utf8_lossy(id)),
                        quoted(&household)
                    ),
                ));
            }
            if !all_ids.insert(person_id_hash(id)) {
                let household = String::from_utf8_lossy(&batch.text[run.household.clone()]);
                return Err(DataError::new(
                    f.at(),
                    format!(
                        "person id {} of household {} is already used by a person of another household; a person id is unique in the whole file",
                        quoted(&String::from_utf8_lossy(id)),
                        quoted(&household)
                    ),
                ));
            }
            let start = batch.text.len();
            batch.text.extend_from_slice(id);
            batch.persons.push(start..batch.text.len());
            f.values_into(&mut batch.values)?;
            batch
                .runs
                .last_mut()
                .expect("a run was started")
                .persons
                .end += 1;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            if !batch.runs.is_empty() {
                let _ = tx.send(Ok(batch));
            }
        }
        Err(e) => {
            // The last run is incomplete: send the runs before it, then the error.
            if let Some(last) = batch.runs.pop() {
                batch.persons.truncate(last.persons.start);
                batch.values.truncate(last.persons.start * f.fields.len());
            }
            if !batch.runs.is_empty() && tx.send(Ok(batch)).is_err() {
                return;
            }
            let _ = tx.send(Err(e));
        }
    }
}

type IdHashes = std::collections::HashSet<u64, BuildHasherDefault<PreHashed>>;

/// Members above which [`seen_before`] keeps hashes instead of comparing pairwise.
const PAIRWISE_MEMBERS: usize = 16;

/// Whether `id` is among the `n` member ids read so far (`id_at(i)`); `hashes` holds their hashes
/// once there are more than [`PAIRWISE_MEMBERS`] (clear it for each new household).
fn seen_before<'a>(
    n: usize,
    id_at: impl Fn(usize) -> &'a [u8],
    hashes: &mut IdHashes,
    id: &[u8],
) -> bool {
    if n < PAIRWISE_MEMBERS {
        return (0..n).any(|i| id_at(i) == id);
    }
    if hashes.is_empty() {
        hashes.extend((0..n).map(|i| hash_id(id_at(i))));
    }
    !hashes.insert(hash_id(id)) && (0..n).any(|i| id_at(i) == id)
}

impl Iterator for CsvChunks {
    type Item = Result<Vec<Household>, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_chunk() {
            Ok(chunk) if chunk.is_empty() => None,
            Ok(chunk) => Some(Ok(chunk)),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Writing

fn write_value(out: &mut String, ty: &FieldType, v: &Value) -> Result<(), String> {
    out.clear();
    match (ty, v) {
        (FieldType::Bool, Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        (FieldType::Int, Value::Int(i)) => write!(out, "{i}").unwrap(),
        (FieldType::Decimal, Value::Num(n)) => {
            if matches!(n, Num::Rat(..)) {
                return Err(format!("{n} has no exact decimal form"));
            }
            write!(out, "{n}").unwrap()
        }
        (FieldType::Date, Value::Date(d)) => {
            write!(out, "{:04}-{:02}-{:02}", d.year, d.month, d.day).unwrap()
        }
        (FieldType::Text, Value::Text(t)) => out.push_str(t),
        (FieldType::Enum { variants, .. }, Value::Enum(i)) => match variants.get(*i as usize) {
            Some(name) => out.push_str(name),
            None => return Err(format!("variant #{i} does not exist")),
        },
        _ => {
            return Err(format!(
                "the value {v:?} does not have the declared type ({})",
                expected(ty)
            ))
        }
    }
    Ok(())
}

/// One value as JSON, in the form the JSON readers read (money as an exact decimal string).
pub fn value_to_json(ty: &FieldType, v: &Value) -> Result<serde_json::Value, String> {
    Ok(match (ty, v) {
        (FieldType::Bool, Value::Bool(b)) => serde_json::Value::Bool(*b),
        (FieldType::Int, Value::Int(i)) => serde_json::Value::from(*i),
        _ => {
            let mut s = String::new();
            write_value(&mut s, ty, v)?;
            serde_json::Value::String(s)
        }
    })
}

/// A household as JSON, in the form [`read_json_household`] reads (money as exact decimal strings).
///
/// # Panics
/// If a value does not have its declared type or a number has no exact decimal form (data read by
/// this module always has both).
pub fn household_to_json(schema: &Schema, h: &Household) -> serde_json::Value {
    let object = |id: &str, fields: &[Field], values: &[Value]| {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), id.into());
        for (f, v) in fields.iter().zip(values) {
            let j = value_to_json(&f.ty, v)
                .unwrap_or_else(|e| panic!("household {}, field {}: {e}", h.id, f.name));
            m.insert(f.name.clone(), j);
        }
        m
    };
    let mut m = object(&h.id, &schema.household, &h.fields);
    let members = h
        .members
        .iter()
        .map(|p| serde_json::Value::Object(object(&p.id, &schema.person, &p.fields)))
        .collect();
    m.insert("members".into(), serde_json::Value::Array(members));
    serde_json::Value::Object(m)
}

/// Writes the CSV pair as it goes, one household at a time (households.csv and persons.csv in `dir`,
/// persons grouped by household in household order, so [`CsvChunks`] can read them back).
pub struct CsvPairWriter {
    schema: Schema,
    dir: PathBuf,
    households: csv::Writer<BufWriter<File>>,
    persons: csv::Writer<BufWriter<File>>,
    buf: String,
}

impl CsvPairWriter {
    /// Creates `dir` if needed and writes the header rows.
    pub fn create(schema: &Schema, dir: &Path) -> Result<CsvPairWriter, DataError> {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, "create the directory", &e))?;
        let open = |name: &str| -> Result<csv::Writer<BufWriter<File>>, DataError> {
            let p = dir.join(name);
            let f = File::create(&p).map_err(|e| DataError::io(&p, "create the file", &e))?;
            Ok(csv::WriterBuilder::new().from_writer(BufWriter::with_capacity(CSV_BUFFER, f)))
        };
        let mut w = CsvPairWriter {
            schema: schema.clone(),
            dir: dir.to_path_buf(),
            households: open("households.csv")?,
            persons: open("persons.csv")?,
            buf: String::new(),
        };
        let hh_header: Vec<&str> = std::iter::once("household_id")
            .chain(schema.household.iter().map(|f| f.name.as_str()))
            .collect();
        let p_header: Vec<&str> = ["person_id", "household_id"]
            .into_iter()
            .chain(schema.person.iter().map(|f| f.name.as_str()))
            .collect();
        w.households
            .write_record(&hh_header)
            .map_err(|e| w.err("households.csv", e))?;
        w.persons
            .write_record(&p_header)
            .map_err(|e| w.err("persons.csv", e))?;
        Ok(w)
    }

    fn err(&self, name: &str, e: csv::Error) -> DataError {
        DataError::new(
            self.dir.join(name).display().to_string(),
            format!("cannot write: {e}"),
        )
    }

    fn bad_value(&self, name: &str, ctx: String, m: String) -> DataError {
        DataError::new(
            self.dir.join(name).display().to_string(),
            format!("{ctx}: {m}"),
        )
    }

    /// Appends one household and its members.
    pub fn write(&mut self, h: &Household) -> Result<(), DataError> {
        if h.fields.len() != self.schema.household.len() {
            return Err(self.bad_value(
                "households.csv",
                format!("household {}", quoted(&h.id)),
                "wrong number of fields".into(),
            ));
        }
        self.households
            .write_field(&h.id)
            .map_err(|e| self.err("households.csv", e))?;
        for (f, v) in self.schema.household.iter().zip(&h.fields) {
            if let Err(m) = write_value(&mut self.buf, &f.ty, v) {
                let ctx = format!("household {}, field \"{}\"", quoted(&h.id), f.name);
                return Err(self.bad_value("households.csv", ctx, m));
            }
            self.households
                .write_field(&self.buf)
                .map_err(|e| self.err("households.csv", e))?;
        }
        self.households
            .write_record(None::<&[u8]>)
            .map_err(|e| self.err("households.csv", e))?;
        for p in &h.members {
            if p.fields.len() != self.schema.person.len() {
                let ctx = format!("household {}, member {}", quoted(&h.id), quoted(&p.id));
                return Err(self.bad_value("persons.csv", ctx, "wrong number of fields".into()));
            }
            self.persons
                .write_field(&p.id)
                .map_err(|e| self.err("persons.csv", e))?;
            self.persons
                .write_field(&h.id)
                .map_err(|e| self.err("persons.csv", e))?;
            for (f, v) in self.schema.person.iter().zip(&p.fields) {
                if let Err(m) = write_value(&mut self.buf, &f.ty, v) {
                    let ctx = format!(
                        "household {}, member {}, field \"{}\"",
                        quoted(&h.id),
                        quoted(&p.id),
                        f.name
                    );
                    return Err(self.bad_value("persons.csv", ctx, m));
                }
                self.persons
                    .write_field(&self.buf)
                    .map_err(|e| self.err("persons.csv", e))?;
            }
            self.persons
                .write_record(None::<&[u8]>)
                .map_err(|e| self.err("persons.csv", e))?;
        }
        Ok(())
    }

    /// Flushes both files.
    pub fn finish(mut self) -> Result<(), DataError> {
        self.households
            .flush()
            .map_err(|e| DataError::io(&self.dir.join("households.csv"), "write", &e))?;
        self.persons
            .flush()
            .map_err(|e| DataError::io(&self.dir.join("persons.csv"), "write", &e))?;
        Ok(())
    }
}

/// Writes `households` as the CSV pair in `dir` (created if needed).
pub fn write_csv_pair(
    schema: &Schema,
    households: &[Household],
    dir: &Path,
) -> Result<(), DataError> {
    let mut w = CsvPairWriter::create(schema, dir)?;
    for h in households {
        w.write(h)?;
    }
    w.finish()
}

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
