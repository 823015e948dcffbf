//! Households in and evaluation outputs out as Arrow record batches (the `arrow` cargo feature):
//! the Arrow side of the CSV pair, for Parquet files (`doudi eval --data`) and for Python (pyarrow
//! tables handed over through Arrow's C data interface).
//!
//! **Reading** ([`read_batches`], [`read_batch_results`]): one stream of batches for households,
//! one for persons, with the columns of the CSV pair (`household_id` and the policy's household
//! inputs; `person_id`, `household_id` and its person inputs), checked against the policy's
//! [`Schema`] as the CSV reader checks them: unknown, duplicate and missing columns, values that do
//! not read or lie outside their declared range, duplicate household and person ids, a person whose
//! household does not exist and a household without persons are errors naming the table, the row
//! (counted from 1 over all batches), the household or person, the field and what was expected.
//! Persons may come in any order (grouped in memory). Accepted Arrow types, per field type:
//!
//! | field | Arrow types |
//! | --- | --- |
//! | every field, ids | strings (`utf8`, `large_utf8`, `utf8_view`, dictionary-encoded), read as the CSV cell |
//! | money, decimal, percent | `decimal128` (exact), any integer type |
//! | integer, months | any integer type |
//! | bool | `boolean`, an integer 0 or 1 |
//! | date | `date32` |
//! | ids | any integer type (written in decimal) |
//!
//! Floating-point columns (`float16/32/64`) are refused for every number field: binary floating
//! point does not hold money exactly, and nothing here guesses what it meant. A null is an error (a
//! missing value is not zero), except that an optional input's column may be absent altogether.
//!
//! **Writing**: [`households_to_batches`] (a population: the inputs, exact) and
//! [`OutputColumns`] / [`outputs_to_batch`] (the rows `doudi eval` prints). See `write.rs` for the
//! types and the decimal scales.

mod cells;
mod chunks;
mod output;
mod table;
mod write;

pub use chunks::{map_chunks, ChunkError};
pub use output::*;
pub use write::*;

use super::ids::IdBuild;
use crate::data::{quoted, DataError, Household, Schema};
use arrow_array::RecordBatch;
use std::collections::HashMap;
use std::fmt::Display;
use table::Table;

/// The name of the households table in messages when the caller gives none.
pub const HOUSEHOLDS: &str = "households";
/// The name of the persons table in messages when the caller gives none.
pub const PERSONS: &str = "persons";

/// Reads households and their persons from two streams of record batches (see the module's
/// documentation); messages name the tables `households` and `persons`.
pub fn read_batches<H, P>(
    schema: &Schema,
    households: H,
    persons: P,
) -> Result<Vec<Household>, DataError>
where
    H: IntoIterator<Item = RecordBatch>,
    P: IntoIterator<Item = RecordBatch>,
{
    read_batch_results(
        schema,
        (HOUSEHOLDS, households.into_iter().map(Ok::<_, DataError>)),
        (PERSONS, persons.into_iter().map(Ok::<_, DataError>)),
    )
}

/// [`read_batches`] on streams that can fail (a Parquet reader's batches), each with its name for
/// messages (`households.parquet`). A stream's own error is reported as "cannot read".
pub fn read_batch_results<H, P, E>(
    schema: &Schema,
    households: (&str, H),
    persons: (&str, P),
) -> Result<Vec<Household>, DataError>
where
    H: IntoIterator<Item = Result<RecordBatch, E>>,
    P: IntoIterator<Item = Result<RecordBatch, E>>,
    E: Display,
{
    let mut pair = PairReader::new(schema, households.0, persons.0);
    for batch in households.1 {
        let batch = batch.map_err(|e| pair.cannot_read(true, e))?;
        pair.push_households(&batch)?;
    }
    for batch in persons.1 {
        let batch = batch.map_err(|e| pair.cannot_read(false, e))?;
        pair.push_persons(&batch)?;
    }
    pair.finish()
}

/// The pair read batch by batch: households first (all of them), then persons in any order. For
/// callers that get batches one at a time ([`read_batch_results`] drives it from two iterators).
pub struct PairReader<'s> {
    households_table: Table<'s>,
    persons_table: Table<'s>,
    households: Vec<Household>,
    /// Household id → its position.
    index: HashMap<String, usize, IdBuild>,
    /// Person id → the row that first had it.
    person_rows: HashMap<String, u64, IdBuild>,
}

impl<'s> PairReader<'s> {
    /// A reader for `schema`, naming the tables `households` and `persons` in messages.
    pub fn new(schema: &'s Schema, households: &str, persons: &str) -> PairReader<'s> {
        PairReader {
            households_table: Table::new(
                households,
                &schema.household,
                &["household_id"],
                "household",
            ),
            persons_table: Table::new(
                persons,
                &schema.person,
                &["person_id", "household_id"],
                "person",
            ),
            households: Vec::new(),
            index: HashMap::default(),
            person_rows: HashMap::default(),
        }
    }

    /// An error of the stream itself (a Parquet file that does not decode).
    pub fn cannot_read(&self, households: bool, e: impl Display) -> DataError {
        let t = if households {
            &self.households_table
        } else {
            &self.persons_table
        };
        DataError::new(t.name.clone(), format!("cannot read: {e}"))
    }

    /// Reads one batch of households.
    pub fn push_households(&mut self, batch: &RecordBatch) -> Result<(), DataError> {
        let t = &mut self.households_table;
        let cols = t.columns(batch)?;
        let (households, failed) = table::convert_rows(t, &cols, table::household);
        for h in households {
            let row = t.rows + 1;
            if let Some(&first) = self.index.get(&h.id) {
                return Err(DataError::new(
                    t.at(row),
                    format!(
                        "duplicate household id {} (first at row {})",
                        quoted(&h.id),
                        first + 1
                    ),
                ));
            }
            self.index.insert(h.id.clone(), self.households.len());
            self.households.push(h);
            t.rows = row;
        }
        failed.map_or(Ok(()), Err)
    }

    /// Reads one batch of persons (after every household).
    pub fn push_persons(&mut self, batch: &RecordBatch) -> Result<(), DataError> {
        let t = &mut self.persons_table;
        let cols = t.columns(batch)?;
        let (persons, failed) = table::convert_rows(t, &cols, table::person);
        for (hh, p) in persons {
            let row = t.rows + 1;
            if let Some(first) = self.person_rows.get(&p.id) {
                return Err(DataError::new(
                    t.at(row),
                    format!(
                        "duplicate person id {} (first at row {first})",
                        quoted(&p.id)
                    ),
                ));
            }
            let Some(&h) = self.index.get(&hh) else {
                return Err(DataError::new(
                    t.at(row),
                    format!(
                        "person {}: household {} is not in {}",
                        quoted(&p.id),
                        quoted(&hh),
                        self.households_table.name
                    ),
                ));
            };
            self.person_rows.insert(p.id.clone(), row);
            self.households[h].members.push(p);
            t.rows = row;
        }
        failed.map_or(Ok(()), Err)
    }

    /// The households, in their order, each with its persons in theirs; a household without persons
    /// is an error.
    pub fn finish(self) -> Result<Vec<Household>, DataError> {
        if let Some((i, h)) = self
            .households
            .iter()
            .enumerate()
            .find(|(_, h)| h.members.is_empty())
        {
            return Err(DataError::new(
                self.households_table.at(i as u64 + 1),
                format!(
                    "household {} has no person row in {} (every household has at least one person)",
                    quoted(&h.id),
                    self.persons_table.name
                ),
            ));
        }
        Ok(self.households)
    }
}
