//! `Policy.evaluate`: Arrow tables of households and persons in, an Arrow table of outputs out.
//!
//! The tables arrive through the Arrow C stream interface (`__arrow_c_stream__`: no copy of their
//! buffers) and are read by the interpreter's Arrow reader (`data::arrow`, the CSV reader's checks
//! and messages). The households are evaluated with the compiled path (`CompiledPolicy`, as `doudi
//! eval --data` does) in parts on rayon's threads, each part read (`data::arrow::map_chunks`: the
//! persons grouped by an index of the ids, never the whole population as values at once),
//! evaluated and written by the interpreter's output builder into its own record batch (money `decimal128(38, 2)`, decimals `decimal128(38, 18)`),
//! and the batches go back to pyarrow as one table, again without a copy. The GIL is released from
//! the moment the input batches are imported until the output batches are made.

use crate::errors;
use arrow_array::RecordBatch;
use arrow_pyarrow::{FromPyArrow, IntoPyArrow, Table};
use doudi::dsl::ast::EntityKind;
use doudi::Month;
use doudi_interpreter::data::{arrow as data_arrow, DataError, Household};
use doudi_interpreter::fast::CompiledPolicy;
use doudi_interpreter::{EvalError, Policy};
use pyo3::prelude::*;

/// The fewest and the most households evaluated and written as one output batch.
const MIN_PART: usize = 1024;
const MAX_PART: usize = 64 * 1024;

/// Why a part failed.
pub(crate) enum Failure {
    Data(Box<DataError>),
    Eval(Box<EvalError>),
}

impl From<DataError> for Failure {
    fn from(e: DataError) -> Failure {
        Failure::Data(Box::new(e))
    }
}

impl From<EvalError> for Failure {
    fn from(e: EvalError) -> Failure {
        Failure::Eval(Box::new(e))
    }
}

pub(crate) fn evaluate(
    py: Python<'_>,
    policy: &Policy,
    households: &Bound<'_, PyAny>,
    persons: &Bound<'_, PyAny>,
    month: Month,
    outputs: Option<Vec<String>>,
) -> PyResult<Py<PyAny>> {
    let outputs = output_ids(py, policy, outputs.unwrap_or_default())?;
    let households = batches(households, "households")?;
    let persons = batches(persons, "persons")?;
    let columns = data_arrow::OutputColumns::new(policy, &outputs);
    let result =
        py.detach(|| evaluate_parts(policy, (&households, &persons), month, &outputs, &columns));
    let batches = result.map_err(|f| match f {
        Failure::Data(e) => errors::from_data(py, *e),
        Failure::Eval(e) => errors::from_eval(py, *e, policy),
    })?;
    let table = Table::try_new(batches, columns.schema())
        .map_err(|e| errors::raise(py, "DoudiError", &e.to_string(), |_| Ok(())))?;
    Ok(table.into_pyarrow(py)?.unbind())
}

/// The households of Arrow tables of households and persons (the GIL released while they are read).
pub(crate) fn read(
    py: Python<'_>,
    policy: &Policy,
    households: &Bound<'_, PyAny>,
    persons: &Bound<'_, PyAny>,
) -> PyResult<Vec<Household>> {
    let households = batches(households, "households")?;
    let persons = batches(persons, "persons")?;
    py.detach(|| data_arrow::read_batches(&policy.schema, households, persons))
        .map_err(|e| errors::from_data(py, e))
}

/// The record batches of a pyarrow Table, RecordBatchReader or any object with
/// `__arrow_c_stream__` (imported without copying their buffers).
pub(crate) fn batches(table: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<RecordBatch>> {
    let py = table.py();
    if !table.hasattr("__arrow_c_stream__")? {
        let found = table.get_type().name()?;
        return Err(errors::raise(
            py,
            "DataError",
            &format!(
                "{name}: expected a pyarrow Table, RecordBatch or pandas DataFrame, found {found}"
            ),
            |k| k.set_item("file", name),
        ));
    }
    let table = Table::from_pyarrow_bound(table).map_err(|e| {
        errors::raise(
            py,
            "DataError",
            &format!("{name}: cannot read the Arrow stream: {e}"),
            |k| k.set_item("file", name),
        )
    })?;
    Ok(table.into_inner().0)
}

/// The household definitions to evaluate, as `doudi eval --outputs` resolves them: all of them
/// when none is named; a person or programme definition is an `OutputError`.
pub(crate) fn output_ids(
    py: Python<'_>,
    policy: &Policy,
    names: Vec<String>,
) -> PyResult<Vec<u32>> {
    let defs = &policy.program.defs;
    if names.is_empty() {
        return Ok((0..defs.len() as u32)
            .filter(|&i| defs[i as usize].entity == EntityKind::Household)
            .collect());
    }
    names
        .iter()
        .map(|n| {
            let id = policy
                .output(n.trim())
                .map_err(|e| errors::from_doudi(py, e.into()))?;
            let entity = defs[id as usize].entity;
            if entity != EntityKind::Household {
                let message = format!(
                    "outputs: `{n}` is a {} definition; `evaluate` returns one row per household (explain it with `member=` for a person)",
                    entity.as_str()
                );
                return Err(errors::raise(py, "OutputError", &message, |k| {
                    k.set_item("name", n)
                }));
            }
            Ok(id)
        })
        .collect()
}

/// Reads and evaluates the households in parts on rayon's threads (`data::arrow::map_chunks`:
/// never every household as values at once), one output batch per part, in input order. A data
/// error is the whole reader's first; otherwise the first evaluation error in input order.
fn evaluate_parts(
    policy: &Policy,
    (households, persons): (&[RecordBatch], &[RecordBatch]),
    month: Month,
    outputs: &[u32],
    columns: &data_arrow::OutputColumns,
) -> Result<Vec<RecordBatch>, Failure> {
    let compiled = CompiledPolicy::new(policy, outputs).ok();
    let threads = rayon::current_num_threads().max(1);
    let len: usize = households.iter().map(|b| b.num_rows()).sum();
    let part = (len / (threads * 4)).clamp(MIN_PART, MAX_PART);
    data_arrow::map_chunks(
        &policy.schema,
        (data_arrow::HOUSEHOLDS, households),
        (data_arrow::PERSONS, persons),
        part,
        |hs| evaluate_part(policy, compiled.as_ref(), &hs, month, outputs, columns),
    )
    .map_err(|e| match e {
        data_arrow::ChunkError::Data(e) => Failure::from(e),
        data_arrow::ChunkError::Work(f) => f,
    })
}

/// One part on the calling thread: evaluated (compiled, or the reference when the policy does
/// not compile) and written into one batch.
fn evaluate_part(
    policy: &Policy,
    compiled: Option<&CompiledPolicy<'_>>,
    part: &[Household],
    month: Month,
    outputs: &[u32],
    columns: &data_arrow::OutputColumns,
) -> Result<RecordBatch, Failure> {
    let mut builder = columns.builder();
    let mut failed: Option<DataError> = None;
    let mut push = |h: &Household, row: &[doudi::Value]| {
        if failed.is_none() {
            if let Err(e) = builder.push(&h.id, row) {
                failed = Some(e);
            }
        }
    };
    match compiled {
        Some(cp) => {
            cp.map_sequential(part, month, &mut push)
                .map_err(Failure::from)?;
        }
        None => {
            for h in part {
                let row = policy.evaluate(h, month, outputs).map_err(Failure::from)?;
                push(h, &row);
            }
        }
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    builder.finish().map_err(Failure::from)
}
