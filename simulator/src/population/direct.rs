//! Generated households straight into the data model ([`Household`]), without CSV text.
//!
//! The CSV route renders a generated part as the text of the data contract and reads it back with
//! `data::read_csv_pair_bytes`; the direct route gives the same households (the same [`Value`]s:
//! exact cents with scale 2, enum variants by index, declared defaults for the inputs the generator
//! has no column for, region texts shared) without writing or parsing text. Whatever it cannot
//! convert exactly the way the reader would (a cell outside its declared range, a variant the policy
//! does not declare, a type the generator does not produce, a header the policy rejects) is left to
//! the CSV route for that part, so errors are the reader's own, word for word and line for line.
//! `tests/population_direct.rs` checks both routes against each other.

use super::*;
use doudi_interpreter::data::{self, DataError, Field, FieldType, Household, Person, Schema};
use doudi_interpreter::{Num, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// The name of a generated population's `households.csv` in messages.
pub const GENERATED_HOUSEHOLDS: &str = "generated households.csv";
/// The name of a generated population's `persons.csv` in messages.
pub const GENERATED_PERSONS: &str = "generated persons.csv";

/// One cell of a generated row, before it is text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Cell<'a> {
    Text(&'a str),
    Bool(bool),
    Int(i64),
    /// An amount in cents, written `1234.05`.
    Cents(i64),
}

impl Cell<'_> {
    /// The cell's text in the CSV file.
    fn owned_text(self) -> String {
        match self {
            Cell::Text(s) => s.to_string(),
            Cell::Bool(b) => bool_str(b).to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Cents(c) => format_cents(c),
        }
    }
}

impl Record {
    /// Appends a cell as the CSV writer writes it.
    pub(super) fn push_cell(&mut self, c: Cell<'_>) {
        match c {
            Cell::Text(s) => self.push(s),
            Cell::Bool(b) => self.push(bool_str(b)),
            Cell::Int(i) => self.push_int(i),
            Cell::Cents(c) => self.push_cents(c),
        }
    }
}

impl<'s> Generator<'s> {
    /// A household's cells after `household_id`, in [`HOUSEHOLD_COLUMNS`] order (the one place that
    /// says which value goes in which column, for the CSV text and for the direct route alike).
    pub(super) fn household_cells<'a>(&'a self, h: &GeneratedHousehold) -> [Cell<'a>; 9] {
        [
            Cell::Text(&self.regions[h.region]),
            Cell::Text(h.area.as_str()),
            Cell::Bool(h.registered_poor),
            Cell::Bool(h.pure_female),
            Cell::Cents(h.financial_assets),
            Cell::Int(h.vehicles as i64),
            Cell::Int(h.houses as i64),
            Cell::Text(h.credit.as_str()),
            Cell::Bool(h.on_dibao),
        ]
    }

    /// The CSV text (headers included) of `hs`, in order: what the CSV route reads.
    pub fn text_of(&self, hs: &[GeneratedHousehold]) -> (Vec<u8>, Vec<u8>) {
        let mut wh = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(header_bytes(&HOUSEHOLD_COLUMNS));
        let mut wp = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(header_bytes(&PERSON_COLUMNS));
        let mut rec = Record::default();
        for h in hs {
            self.write_rows(h, &mut wh, &mut wp, &mut rec);
        }
        (
            wh.into_inner().expect("flush to memory"),
            wp.into_inner().expect("flush to memory"),
        )
    }

    /// Households `0..households` read into the data model by `reader`, a chunk at a time, its parts
    /// of [`SUB_CHUNK`] households in parallel: `sink` receives, in order, each chunk's first
    /// household and the result of each part. The same parts, households and report as
    /// [`Generator::generate_in_memory`] read back with `data::read_csv_pair_bytes`.
    pub fn generate_direct<E>(
        &self,
        households: usize,
        reader: &DirectReader<'_>,
        mut sink: impl FnMut(usize, Vec<Result<Vec<Household>, DataError>>) -> Result<(), E>,
    ) -> Result<GenerateReport, E> {
        let started = Instant::now();
        let stats = self.generate_direct_range(0..households, reader, &mut sink)?;
        Ok(self.report(households, &stats.0, Path::new(""), Vec::new(), started))
    }

    /// [`Generator::generate_direct`] for households `range` only (a block of a run in household
    /// blocks): the same households; returns the tallies of them.
    pub fn generate_direct_range<E>(
        &self,
        range: std::ops::Range<usize>,
        reader: &DirectReader<'_>,
        mut sink: impl FnMut(usize, Vec<Result<Vec<Household>, DataError>>) -> Result<(), E>,
    ) -> Result<Tally, E> {
        let stats = self.part_chunks(
            range,
            |s, e| {
                let list = self.households(s, e);
                let stats = self.stats_of(&list);
                (reader.read(self, &list), stats)
            },
            &mut sink,
        )?;
        Ok(Tally(stats))
    }
}

/// A person's cells after `person_id` and `household_id`, in [`PERSON_COLUMNS`] order.
pub(super) fn person_cells(p: &GeneratedPerson) -> [Cell<'static>; 16] {
    [
        Cell::Int(p.age as i64),
        Cell::Text(if p.male { "male" } else { "female" }),
        Cell::Cents(p.monthly_income),
        Cell::Bool(p.employed),
        Cell::Text(p.employment_category.as_str()),
        Cell::Int(p.disability_grade as i64),
        Cell::Text(p.self_care.as_str()),
        Cell::Text(p.illness.as_str()),
        Cell::Cents(p.medical_oop_12m),
        Cell::Cents(p.rehab_cost_year),
        Cell::Text(p.schooling.as_str()),
        Cell::Cents(p.tuition_year),
        Cell::Cents(p.pension_contrib_year),
        Cell::Bool(p.alive),
        Cell::Bool(p.imprisoned),
        Cell::Bool(p.has_supporter),
    ]
}

/// Where a declared input's value comes from.
#[derive(Debug, Clone)]
enum Slot {
    /// A column of the generated rows (its index after the id columns).
    Column(usize, Field),
    /// No such column: the field's declared default (the header check guarantees one).
    Default(Value),
}

/// Builds the data model of generated households for one policy's inputs (see the module
/// documentation).
#[derive(Debug)]
pub struct DirectReader<'p> {
    schema: &'p Schema,
    household: Vec<Slot>,
    person: Vec<Slot>,
    /// The reader's answer to the generated headers, when it rejects them.
    header_error: Option<DataError>,
    /// One text per region code, shared by every household.
    shared: HashMap<String, Arc<str>>,
}

impl<'p> DirectReader<'p> {
    pub fn new(schema: &'p Schema, g: &Generator<'_>) -> DirectReader<'p> {
        // The reader checks the headers (unknown, duplicate and missing columns) before any row.
        let header_error = data::read_csv_pair_bytes(
            schema,
            (
                Path::new(GENERATED_HOUSEHOLDS),
                header_bytes(&HOUSEHOLD_COLUMNS),
            ),
            (Path::new(GENERATED_PERSONS), header_bytes(&PERSON_COLUMNS)),
        )
        .err();
        let slots = |fields: &[Field], columns: &[&str]| -> Vec<Slot> {
            fields
                .iter()
                .map(|f| match columns.iter().position(|c| *c == f.name) {
                    Some(c) => Slot::Column(c, f.clone()),
                    None => Slot::Default(f.default.clone().unwrap_or(Value::Bool(false))),
                })
                .collect()
        };
        DirectReader {
            schema,
            household: slots(&schema.household, &HOUSEHOLD_COLUMNS[1..]),
            person: slots(&schema.person, &PERSON_COLUMNS[2..]),
            header_error,
            shared: g
                .region_codes()
                .iter()
                .map(|r| (r.clone(), Arc::from(r.as_str())))
                .collect(),
        }
    }

    /// The households `hs` (generated by `g`), as `data::read_csv_pair_bytes` reads their CSV text:
    /// directly when every value converts exactly, through the text otherwise.
    pub fn read(
        &self,
        g: &Generator<'_>,
        hs: &[GeneratedHousehold],
    ) -> Result<Vec<Household>, DataError> {
        if let Some(e) = &self.header_error {
            return Err(e.clone());
        }
        match self.direct(g, hs) {
            Some(list) => Ok(list),
            None => self.read_text(g, hs),
        }
    }

    /// The households `hs` without their text, or `None` when some value needs the reader's own
    /// judgement (then [`DirectReader::read_text`] gives the households, or the reader's error).
    pub fn direct(&self, g: &Generator<'_>, hs: &[GeneratedHousehold]) -> Option<Vec<Household>> {
        if self.header_error.is_some() {
            return None;
        }
        let mut texts = HashMap::new();
        hs.iter()
            .map(|h| self.household(g, h, &mut texts))
            .collect()
    }

    /// The CSV route: the text of `hs` read back.
    pub fn read_text(
        &self,
        g: &Generator<'_>,
        hs: &[GeneratedHousehold],
    ) -> Result<Vec<Household>, DataError> {
        let (h, p) = g.text_of(hs);
        data::read_csv_pair_bytes(
            self.schema,
            (Path::new(GENERATED_HOUSEHOLDS), h),
            (Path::new(GENERATED_PERSONS), p),
        )
    }

    /// One household, or `None` when some value needs the reader's own judgement.
    fn household(
        &self,
        g: &Generator<'_>,
        h: &GeneratedHousehold,
        texts: &mut HashMap<String, Arc<str>>,
    ) -> Option<Household> {
        if h.members.is_empty() {
            return None;
        }
        let id = household_id(h.index);
        let fields = self.values(&self.household, &g.household_cells(h), texts)?;
        let mut members = Vec::with_capacity(h.members.len());
        for (k, p) in h.members.iter().enumerate() {
            members.push(Person {
                id: format!("{id}-P{}", k + 1),
                fields: self.values(&self.person, &person_cells(p), texts)?,
            });
        }
        Some(Household {
            id,
            fields,
            members,
            previous: None,
        })
    }

    fn values(
        &self,
        slots: &[Slot],
        cells: &[Cell<'_>],
        texts: &mut HashMap<String, Arc<str>>,
    ) -> Option<Vec<Value>> {
        slots
            .iter()
            .map(|s| match s {
                Slot::Default(v) => Some(v.clone()),
                Slot::Column(c, f) => self.value(f, cells[*c], texts),
            })
            .collect()
    }

    /// A cell's value as the reader gives it, when it can say so without the text.
    fn value(
        &self,
        f: &Field,
        cell: Cell<'_>,
        texts: &mut HashMap<String, Arc<str>>,
    ) -> Option<Value> {
        let v = match (&f.ty, cell) {
            // Text is taken as it stands (not trimmed), one allocation per distinct text.
            (FieldType::Text, Cell::Text(s)) => Value::Text(match self.shared.get(s) {
                Some(t) => t.clone(),
                None => texts
                    .entry(s.to_string())
                    .or_insert_with(|| Arc::from(s))
                    .clone(),
            }),
            (FieldType::Text, other) => {
                let s = other.owned_text();
                Value::Text(
                    texts
                        .entry(s)
                        .or_insert_with_key(|k| Arc::from(k.as_str()))
                        .clone(),
                )
            }
            (FieldType::Bool, Cell::Bool(b)) => Value::Bool(b),
            (FieldType::Int, Cell::Int(i)) => Value::Int(i),
            // `1234.05` reads as 123405 × 10⁻², `3` as 3 × 10⁰ (the scale is kept).
            (FieldType::Decimal, Cell::Cents(c)) => {
                Value::Num(Num::from_decimal(rust_decimal::Decimal::new(c, 2)))
            }
            (FieldType::Decimal, Cell::Int(i)) => {
                Value::Num(Num::from_decimal(rust_decimal::Decimal::new(i, 0)))
            }
            (FieldType::Enum { variants, .. }, c) => {
                let text = match c {
                    Cell::Text(s) => Cow::Borrowed(s),
                    other => Cow::Owned(other.owned_text()),
                };
                let i = variants.iter().position(|v| *v == *text)?;
                Value::Enum(u16::try_from(i).ok()?)
            }
            _ => return None,
        };
        f.in_range(&v).then_some(v)
    }
}
