//! A pair of tables read and worked on in chunks of households, in parallel, without holding every
//! household as values at once: the ids are indexed first (persons grouped by household, in any
//! order), then each chunk's rows are read and handed to the caller's work on rayon's threads.
//!
//! The errors are the whole reader's ([`super::read_batch_results`]): when anything in the data is
//! wrong (an id, a value, a household without persons), the pair is read again by that reader,
//! whose first error in its order is the one returned. So a caller sees the same message whether it
//! reads whole or in chunks; only valid data takes the chunked route to the end.

use super::read_batch_results;
use super::table::{self, Columns, Table};
use crate::data::ids::IdBuild;
use crate::data::{DataError, Household, Schema};
use arrow_array::RecordBatch;
use rayon::prelude::*;
use std::collections::HashMap;

/// Why [`map_chunks`] failed: the data (the whole reader's first error), or the caller's work on a
/// chunk (the first in household order, the data being valid).
#[derive(Debug)]
pub enum ChunkError<E> {
    Data(DataError),
    Work(E),
}

/// Reads the pair (`households`, `persons`: each its name in messages and its batches) in chunks
/// of `chunk` households in order, each with its persons, and maps every chunk with `work` on
/// rayon's threads; the results in household order. Persons may come in any order.
pub fn map_chunks<T, E, F>(
    schema: &Schema,
    households: (&str, &[RecordBatch]),
    persons: (&str, &[RecordBatch]),
    chunk: usize,
    work: F,
) -> Result<Vec<T>, ChunkError<E>>
where
    T: Send,
    E: Send,
    F: Fn(Vec<Household>) -> Result<T, E> + Sync,
{
    let whole_reader_error = |fallback: DataError| {
        let h = households.1.iter().cloned().map(Ok::<_, DataError>);
        let p = persons.1.iter().cloned().map(Ok::<_, DataError>);
        ChunkError::Data(
            read_batch_results(schema, (households.0, h), (persons.0, p))
                .err()
                .unwrap_or(fallback),
        )
    };
    let index = match PairIndex::new(schema, households, persons) {
        Ok(index) => index,
        Err(e) => return Err(whole_reader_error(e)),
    };
    let chunk = chunk.max(1);
    let starts: Vec<usize> = (0..index.len()).step_by(chunk).collect();
    let done: Vec<Result<T, ChunkError<E>>> = starts
        .par_iter()
        .map(|&start| {
            let hs = index
                .households(start..(start + chunk).min(index.len()))
                .map_err(ChunkError::Data)?;
            work(hs).map_err(ChunkError::Work)
        })
        .collect();
    let mut first_work_error = None;
    let mut out = Vec::with_capacity(done.len());
    for d in done {
        match d {
            Ok(t) => out.push(t),
            Err(ChunkError::Data(e)) => return Err(whole_reader_error(e)),
            Err(ChunkError::Work(e)) => {
                first_work_error.get_or_insert(e);
            }
        }
    }
    match first_work_error {
        Some(e) => Err(ChunkError::Work(e)),
        None => Ok(out),
    }
}

/// One table's batches with their columns and where each batch starts (in rows of the table).
struct Batches<'a, 's> {
    table: Table<'s>,
    columns: Vec<Columns<'a>>,
    starts: Vec<usize>,
}

impl<'a, 's> Batches<'a, 's> {
    fn new(table: Table<'s>, batches: &'a [RecordBatch]) -> Result<Self, DataError> {
        let columns = batches
            .iter()
            .map(|b| table.columns(b))
            .collect::<Result<Vec<_>, _>>()?;
        let mut starts = Vec::with_capacity(columns.len() + 1);
        let mut at = 0;
        for c in &columns {
            starts.push(at);
            at += c.len;
        }
        starts.push(at);
        Ok(Batches {
            table,
            columns,
            starts,
        })
    }

    fn len(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// The batch of row `r` (from 0) and the row within it.
    fn locate(&self, r: usize) -> (usize, usize) {
        let b = self.starts.partition_point(|&s| s <= r) - 1;
        (b, r - self.starts[b])
    }

    /// Id column `k` of every row, in order, with its row number (from 1).
    fn ids(&self, k: usize) -> impl Iterator<Item = Result<String, DataError>> + '_ {
        self.columns.iter().enumerate().flat_map(move |(b, cols)| {
            (0..cols.len).map(move |i| {
                let row = (self.starts[b] + i) as u64 + 1;
                self.table.id(cols, k, i, row)
            })
        })
    }
}

/// The pair's ids: households in order and, for each, its persons' rows in file order.
struct PairIndex<'a, 's> {
    households: Batches<'a, 's>,
    persons: Batches<'a, 's>,
    /// Household `k`'s persons are the rows `members[offsets[k]..offsets[k + 1]]`.
    offsets: Vec<usize>,
    members: Vec<usize>,
}

impl<'a, 's> PairIndex<'a, 's> {
    /// Indexes the pair; any error (which the caller reports through the whole reader).
    fn new(
        schema: &'s Schema,
        households: (&str, &'a [RecordBatch]),
        persons: (&str, &'a [RecordBatch]),
    ) -> Result<Self, DataError> {
        let (hh_fields, ps_fields) = (&schema.household[..], &schema.person[..]);
        let households = Batches::new(
            Table::new(households.0, hh_fields, &["household_id"], "household"),
            households.1,
        )?;
        let persons = Batches::new(
            Table::new(
                persons.0,
                ps_fields,
                &["person_id", "household_id"],
                "person",
            ),
            persons.1,
        )?;
        let mut index: HashMap<String, usize, IdBuild> = HashMap::default();
        index.reserve(households.len());
        for (k, id) in households.ids(0).enumerate() {
            if index.insert(id?, k).is_some() {
                return Err(DataError::new(
                    households.table.name.clone(),
                    "duplicate id",
                ));
            }
        }
        let mut person_ids: HashMap<String, (), IdBuild> = HashMap::default();
        person_ids.reserve(persons.len());
        let mut of = Vec::with_capacity(persons.len());
        for (id, hh) in persons.ids(0).zip(persons.ids(1)) {
            let unknown = || DataError::new(persons.table.name.clone(), "unknown household");
            of.push(*index.get(&hh?).ok_or_else(unknown)?);
            if person_ids.insert(id?, ()).is_some() {
                return Err(DataError::new(persons.table.name.clone(), "duplicate id"));
            }
        }
        drop((index, person_ids));
        // Persons grouped by household, each household's in file order (a counting sort).
        let mut offsets = vec![0usize; households.len() + 1];
        for &k in &of {
            offsets[k + 1] += 1;
        }
        for k in 0..households.len() {
            if offsets[k + 1] == 0 {
                return Err(DataError::new(households.table.name.clone(), "no persons"));
            }
            offsets[k + 1] += offsets[k];
        }
        let mut next = offsets.clone();
        let mut members = vec![0usize; of.len()];
        for (r, &k) in of.iter().enumerate() {
            members[next[k]] = r;
            next[k] += 1;
        }
        Ok(PairIndex {
            households,
            persons,
            offsets,
            members,
        })
    }

    fn len(&self) -> usize {
        self.households.len()
    }

    /// Households `range` (in order), each with its persons.
    fn households(&self, range: std::ops::Range<usize>) -> Result<Vec<Household>, DataError> {
        let mut ht = self.households.table.fork();
        let mut pt = self.persons.table.fork();
        let mut out = Vec::with_capacity(range.len());
        for k in range {
            let (b, i) = self.households.locate(k);
            let mut h = table::household(&mut ht, &self.households.columns[b], i, k as u64 + 1)?;
            for &r in &self.members[self.offsets[k]..self.offsets[k + 1]] {
                let (b, i) = self.persons.locate(r);
                let (_, p) = table::person(&mut pt, &self.persons.columns[b], i, r as u64 + 1)?;
                h.members.push(p);
            }
            out.push(h);
        }
        Ok(out)
    }
}
