//! The rows `doudi eval` prints (a household id, then one value per output) as a record batch.
//!
//! Types: `household_id` `utf8`; bool `boolean`; integer and months `int64`; money
//! `decimal128(38, 2)`; decimal and percent `decimal128(38, 18)`; date `date32`; enum (its variant
//! name) and text `utf8`.
//!
//! **Money is what every eval output shows: cents.** The table, CSV and JSON outputs print money
//! rounded half away from zero to two places (`Num::format_fixed(2)`), and the Parquet/Arrow
//! output carries exactly those cents, so a money cell equals its CSV cell. **Decimals and percents
//! are exact**: the CSV prints them in full (`0.125`, `12.5%`); here a percent is its fraction
//! (`0.125`), at 18 places. A decimal with more places than 18, or a fraction without a finite
//! decimal form (the CSV prints `1/3`), cannot be written exactly and is an error naming the
//! household and the output, never rounded.

use super::write::{ColBuilder, MONEY_SCALE, PRECISION};
use crate::data::{quoted, DataError};
use crate::num::Num;
use crate::policy::Policy;
use crate::value::Value;
use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema, SchemaRef};
use doudi_dsl::ir::Ty;
use std::sync::Arc;

/// The columns of an output batch: `household_id`, then one per output.
#[derive(Debug, Clone)]
pub struct OutputColumns {
    names: Vec<String>,
    tys: Vec<Ty>,
    /// Per output: an enum's variant names.
    variants: Vec<Option<Vec<String>>>,
    schema: SchemaRef,
}

impl OutputColumns {
    /// The columns of the household definitions `outputs` (ids of `policy.program.defs`), as
    /// `doudi eval --outputs` names them.
    pub fn new(policy: &Policy, outputs: &[u32]) -> OutputColumns {
        let defs = outputs.iter().map(|&d| &policy.program.defs[d as usize]);
        let (names, tys) = defs.map(|d| (d.name.clone(), d.ty)).unzip();
        OutputColumns::of_types(policy, names, tys)
    }

    /// Columns of any names and types (the CLI's `eval --through` puts a `period` text column
    /// first).
    pub fn of_types(policy: &Policy, names: Vec<String>, tys: Vec<Ty>) -> OutputColumns {
        let variants = tys
            .iter()
            .map(|t| match t {
                Ty::Enum(e) => policy
                    .program
                    .enums
                    .get(*e as usize)
                    .map(|en| en.variants.clone()),
                _ => None,
            })
            .collect();
        let fields: Vec<ArrowField> =
            std::iter::once(ArrowField::new("household_id", DataType::Utf8, false))
                .chain(
                    names
                        .iter()
                        .zip(&tys)
                        .map(|(n, t)| ArrowField::new(n, super::output_type(*t), false)),
                )
                .collect();
        OutputColumns {
            names,
            tys,
            variants,
            schema: Arc::new(ArrowSchema::new(fields)),
        }
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// An empty batch builder.
    pub fn builder(&self) -> OutputBuilder<'_> {
        OutputBuilder {
            columns: self,
            ids: StringBuilder::new(),
            cols: self.tys.iter().map(|t| builder_for(*t)).collect(),
            rows: 0,
        }
    }

    /// One batch of rows: each a household id and its values, in the columns' order.
    pub fn batch<'r, I, V>(&self, rows: I) -> Result<RecordBatch, DataError>
    where
        I: IntoIterator<Item = (&'r str, V)>,
        V: AsRef<[Value]>,
    {
        let mut b = self.builder();
        for (id, row) in rows {
            b.push(id, row.as_ref())?;
        }
        b.finish()
    }
}

fn builder_for(ty: Ty) -> ColBuilder {
    match super::output_type(ty) {
        DataType::Decimal128(_, s) => ColBuilder::decimal(s),
        DataType::Boolean => ColBuilder::Bool(Default::default()),
        DataType::Int64 => ColBuilder::Int(Default::default()),
        DataType::Date32 => ColBuilder::Date(Default::default()),
        _ => ColBuilder::string(),
    }
}

/// Money as the eval outputs show it: cents, rounded half away from zero (`Num::format_fixed(2)`).
pub fn money_cents(n: &Num) -> Result<i128, String> {
    let text = n.format_fixed(MONEY_SCALE as u32);
    let digits: String = text.chars().filter(|c| *c != '.').collect();
    digits
        .parse::<i128>()
        .ok()
        .filter(|v| v.abs() < 10i128.pow(PRECISION as u32))
        .ok_or_else(|| format!("{text} has more than {PRECISION} digits"))
}

/// Rows appended one at a time; [`OutputBuilder::finish`] makes the batch.
pub struct OutputBuilder<'c> {
    columns: &'c OutputColumns,
    ids: StringBuilder,
    cols: Vec<ColBuilder>,
    rows: usize,
}

impl OutputBuilder<'_> {
    /// Appends one household's row. On error (a value that cannot be written exactly, or a row of
    /// the wrong length) the builder must not be used further.
    pub fn push(&mut self, id: &str, row: &[Value]) -> Result<(), DataError> {
        let c = self.columns;
        if row.len() != c.names.len() {
            return Err(DataError::new(
                format!("household {}", quoted(id)),
                format!("{} values for {} outputs", row.len(), c.names.len()),
            ));
        }
        for (k, v) in row.iter().enumerate() {
            let r = match (c.tys[k], v, &mut self.cols[k]) {
                (Ty::Money(_), Value::Num(n), ColBuilder::Dec(b, _)) => {
                    money_cents(n).map(|x| b.append_value(x))
                }
                (_, v, b) => b.push(v, c.variants[k].as_deref()),
            };
            r.map_err(|e| {
                DataError::new(
                    format!("household {}", quoted(id)),
                    format!(
                        "output \"{}\": {e}; the Arrow/Parquet output holds decimals exactly in decimal128({PRECISION}, {}) (use the CSV or JSON output for this value)",
                        c.names[k],
                        match super::output_type(c.tys[k]) {
                            DataType::Decimal128(_, s) => s,
                            _ => 0,
                        }
                    ),
                )
            })?;
        }
        self.ids.append_value(id);
        self.rows += 1;
        Ok(())
    }

    /// Rows appended so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was appended.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The batch of the rows appended (the builder is empty again afterwards).
    pub fn finish(&mut self) -> Result<RecordBatch, DataError> {
        let cols: Vec<ArrayRef> = std::iter::once(Arc::new(self.ids.finish()) as ArrayRef)
            .chain(self.cols.iter_mut().map(ColBuilder::finish))
            .collect();
        self.rows = 0;
        RecordBatch::try_new(self.columns.schema(), cols)
            .map_err(|e| DataError::new("outputs", e.to_string()))
    }
}

/// The rows of `doudi eval` for the household definitions `outputs` as one batch: `rows` holds
/// each household's id and values (as `batch::evaluate_chunk` returns them, zipped with the ids).
pub fn outputs_to_batch<'r, I, V>(
    policy: &Policy,
    outputs: &[u32],
    rows: I,
) -> Result<RecordBatch, DataError>
where
    I: IntoIterator<Item = (&'r str, V)>,
    V: AsRef<[Value]>,
{
    OutputColumns::new(policy, outputs).batch(rows)
}
