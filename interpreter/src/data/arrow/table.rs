//! One table (households or persons) as record batches: its columns mapped to the schema's fields
//! (unknown, duplicate and missing columns refused as the CSV reader refuses them), its rows read
//! as households and persons.

use super::cells::{id_col, typed, Col};
use crate::data::errors::expected;
use crate::data::{quoted, DataError, Field, Household, Person, TextCache};
use crate::value::Value;
use arrow_array::RecordBatch;
use rayon::prelude::*;

/// Which table: its name in messages, its declared fields and its id columns.
pub(super) struct Table<'s> {
    /// `households.parquet`, or the name the caller gave.
    pub(super) name: String,
    pub(super) fields: &'s [Field],
    /// The id columns: the row's own id first (`household_id` / `person_id`), then, for persons,
    /// `household_id`.
    pub(super) builtins: &'static [&'static str],
    /// `household` or `person`, for messages.
    pub(super) kind: &'static str,
    pub(super) caches: Vec<TextCache>,
    /// Rows read so far, over every batch (rows are numbered from 1 in messages).
    pub(super) rows: u64,
}

/// The columns of one batch, typed for the table's fields.
pub(super) struct Columns<'b> {
    /// One per builtin id column.
    pub(super) ids: Vec<Col<'b>>,
    /// One per declared field; `None` for an optional field the batch does not have.
    pub(super) fields: Vec<Option<Col<'b>>>,
    pub(super) len: usize,
}

impl<'s> Table<'s> {
    pub(super) fn new(
        name: &str,
        fields: &'s [Field],
        builtins: &'static [&'static str],
        kind: &'static str,
    ) -> Table<'s> {
        Table {
            name: name.to_string(),
            fields,
            builtins,
            kind,
            caches: fields.iter().map(|_| TextCache::default()).collect(),
            rows: 0,
        }
    }

    /// The same table with empty text caches (for converting rows on another thread).
    pub(super) fn fork(&self) -> Table<'s> {
        Table::new(&self.name, self.fields, self.builtins, self.kind)
    }

    /// Where row `row` (from 1) is, for messages.
    pub(super) fn at(&self, row: u64) -> String {
        format!("{} row {row}", self.name)
    }

    fn header_error(&self, message: String) -> DataError {
        DataError::new(self.name.clone(), message)
    }

    /// Maps a batch's columns: every builtin id column and every required field exactly once, no
    /// column the schema does not declare, and each column of a type its field accepts.
    pub(super) fn columns<'b>(&self, batch: &'b RecordBatch) -> Result<Columns<'b>, DataError> {
        let schema = batch.schema_ref();
        let mut builtin_cols = vec![usize::MAX; self.builtins.len()];
        let mut cols = vec![usize::MAX; self.fields.len()];
        for (c, f) in schema.fields().iter().enumerate() {
            let name = f.name().as_str();
            let slot = if let Some(b) = self.builtins.iter().position(|b| *b == name) {
                &mut builtin_cols[b]
            } else if let Some(i) = self.fields.iter().position(|f| f.name == name) {
                &mut cols[i]
            } else {
                let known: Vec<&str> = self
                    .builtins
                    .iter()
                    .copied()
                    .chain(self.fields.iter().map(|f| f.name.as_str()))
                    .collect();
                return Err(self.header_error(format!(
                    "unknown column {} (the columns are: {})",
                    quoted(name),
                    known.join(", ")
                )));
            };
            if *slot != usize::MAX {
                return Err(self.header_error(format!("duplicate column {}", quoted(name))));
            }
            *slot = c;
        }
        let missing: Vec<String> = self
            .builtins
            .iter()
            .zip(&builtin_cols)
            .filter(|(_, &c)| c == usize::MAX)
            .map(|(b, _)| format!("\"{b}\""))
            .chain(
                self.fields
                    .iter()
                    .zip(&cols)
                    .filter(|(f, &c)| c == usize::MAX && f.default.is_none())
                    .map(|(f, _)| format!("\"{}\" (expected {})", f.name, expected(&f.ty))),
            )
            .collect();
        if !missing.is_empty() {
            let s = if missing.len() == 1 { "" } else { "s" };
            return Err(self.header_error(format!("missing column{s} {}", missing.join(", "))));
        }
        let mut ids = Vec::with_capacity(builtin_cols.len());
        for (name, &c) in self.builtins.iter().zip(&builtin_cols) {
            let col = id_col(batch.column(c).as_ref())
                .map_err(|m| self.header_error(format!("column \"{name}\": {m}")))?;
            ids.push(col);
        }
        let mut fields = Vec::with_capacity(cols.len());
        for (f, &c) in self.fields.iter().zip(&cols) {
            if c == usize::MAX {
                fields.push(None);
                continue;
            }
            let col = typed(batch.column(c).as_ref(), &f.ty).map_err(|m| {
                self.header_error(format!("column \"{}\": {m}", f.name))
                    .at_field(f, DataError::expected_of(f))
            })?;
            fields.push(Some(col));
        }
        Ok(Columns {
            ids,
            fields,
            len: batch.num_rows(),
        })
    }

    /// Id column `k` of row `i` (a non-empty id), at row number `row`.
    pub(super) fn id(
        &self,
        cols: &Columns,
        k: usize,
        i: usize,
        row: u64,
    ) -> Result<String, DataError> {
        let name = self.builtins[k];
        match cols.ids[k].id(i) {
            Ok(s) if !s.is_empty() => Ok(s),
            Ok(_) => Err(DataError::new(
                self.at(row),
                format!("column \"{name}\": expected an id, found an empty string"),
            )),
            Err(_) => Err(DataError::new(
                self.at(row),
                format!("column \"{name}\": expected an id, found a null"),
            )),
        }
    }

    /// The declared fields of row `i` (row number `row`, own id `id`), in slot order.
    pub(super) fn values(
        &mut self,
        cols: &Columns,
        i: usize,
        row: u64,
        id: &str,
    ) -> Result<Vec<Value>, DataError> {
        let mut out = Vec::with_capacity(self.fields.len());
        for (slot, f) in self.fields.iter().enumerate() {
            let Some(col) = &cols.fields[slot] else {
                out.push(f.default.clone().unwrap_or(Value::Bool(false)));
                continue;
            };
            let said = match col.value(i, &f.ty, &mut self.caches[slot]) {
                Ok(v) if f.in_range(&v) => {
                    out.push(v);
                    continue;
                }
                Ok(v) => f.range_message(&v),
                Err(bad) => bad.message(&f.ty),
            };
            return Err(DataError::new(
                self.at(row),
                format!("{} {}, field \"{}\": {said}", self.kind, quoted(id), f.name),
            )
            .at_field(f, DataError::expected_of(f)));
        }
        Ok(out)
    }
}

/// One household row.
pub(super) fn household(
    t: &mut Table,
    cols: &Columns,
    i: usize,
    row: u64,
) -> Result<Household, DataError> {
    let id = t.id(cols, 0, i, row)?;
    let fields = t.values(cols, i, row, &id)?;
    Ok(Household {
        id,
        fields,
        members: Vec::new(),
        previous: None,
    })
}

/// One person row, with the id of its household.
pub(super) fn person(
    t: &mut Table,
    cols: &Columns,
    i: usize,
    row: u64,
) -> Result<(String, Person), DataError> {
    let hh = t.id(cols, 1, i, row)?;
    let id = t.id(cols, 0, i, row)?;
    let fields = t.values(cols, i, row, &id)?;
    Ok((hh, Person { id, fields }))
}

/// Rows converted by `convert` per parallel task (each task with its own text caches).
const ROWS_PER_TASK: usize = 8_192;

/// Every row of a batch converted by `convert` (`household` or `person`), in parallel, numbered on
/// from `t.rows`: the rows in order up to the first that fails, and that row's error. The caller
/// checks the rows in order and reports an earlier row's error before the conversion's.
pub(super) fn convert_rows<T, F>(
    t: &Table,
    cols: &Columns,
    convert: F,
) -> (Vec<T>, Option<DataError>)
where
    T: Send,
    F: Fn(&mut Table, &Columns, usize, u64) -> Result<T, DataError> + Sync,
{
    let starts: Vec<usize> = (0..cols.len).step_by(ROWS_PER_TASK).collect();
    let parts: Vec<(Vec<T>, Option<DataError>)> = starts
        .par_iter()
        .map(|&start| {
            let mut own = t.fork();
            let end = (start + ROWS_PER_TASK).min(cols.len);
            let mut rows = Vec::with_capacity(end - start);
            for i in start..end {
                match convert(&mut own, cols, i, t.rows + i as u64 + 1) {
                    Ok(r) => rows.push(r),
                    Err(e) => return (rows, Some(e)),
                }
            }
            (rows, None)
        })
        .collect();
    let mut all = Vec::with_capacity(cols.len);
    for (rows, err) in parts {
        all.extend(rows);
        if err.is_some() {
            return (all, err);
        }
    }
    (all, None)
}
