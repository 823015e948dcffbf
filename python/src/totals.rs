//! Programme totals across processes (`doudi.distributed.evaluate`): a worker evaluates its
//! households and returns, with its rows, its *partial* programme totals as exact bytes
//! (`Totals::to_partial`); the driver merges every worker's partials in household order and
//! evaluates the programme definitions on them (`merge_totals`), giving the totals `doudi eval
//! --totals` gives on one machine, digit for digit.

use crate::errors;
use crate::evaluate::{batches, output_ids, Failure};
use arrow_array::RecordBatch;
use arrow_pyarrow::{IntoPyArrow, Table};
use doudi::Month;
use doudi_interpreter::batch;
use doudi_interpreter::data::{arrow as data_arrow, Household};
use doudi_interpreter::fast::CompiledPolicy;
use doudi_interpreter::programme::Totals;
use doudi_interpreter::{Policy, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// Households evaluated as one part (one output batch, one partial total).
const PART: usize = 4096;

/// Rows as `evaluate` gives them, and the partial programme totals of these households.
pub(crate) fn evaluate_with_totals(
    py: Python<'_>,
    policy: &Policy,
    households: &Bound<'_, PyAny>,
    persons: &Bound<'_, PyAny>,
    month: Month,
    outputs: Option<Vec<String>>,
) -> PyResult<(Py<PyAny>, Py<PyBytes>)> {
    let outputs = output_ids(py, policy, outputs.unwrap_or_default())?;
    let households = batches(households, "households")?;
    let persons = batches(persons, "persons")?;
    let columns = data_arrow::OutputColumns::new(policy, &outputs);
    let done = py.detach(|| parts(policy, (&households, &persons), month, &outputs, &columns));
    let (batches, partial) = done.map_err(|f| match f {
        Failure::Data(e) => errors::from_data(py, *e),
        Failure::Eval(e) => errors::from_eval(py, *e, policy),
    })?;
    let table = Table::try_new(batches, columns.schema())
        .map_err(|e| errors::raise(py, "DoudiError", &e.to_string(), |_| Ok(())))?;
    Ok((
        table.into_pyarrow(py)?.unbind(),
        PyBytes::new(py, &partial).unbind(),
    ))
}

/// The parts read and evaluated on rayon's threads (`data::arrow::map_chunks`), each with its own
/// totals, merged in input order.
fn parts(
    policy: &Policy,
    (households, persons): (&[RecordBatch], &[RecordBatch]),
    month: Month,
    outputs: &[u32],
    columns: &data_arrow::OutputColumns,
) -> Result<(Vec<RecordBatch>, Vec<u8>), Failure> {
    let compiled = CompiledPolicy::new(policy, outputs).ok();
    let part = |hs: Vec<Household>| -> Result<_, Failure> {
        let mut totals = Totals::new(policy, month);
        let rows = batch::rows_with_totals_here(
            policy,
            compiled.as_ref(),
            &hs,
            month,
            outputs,
            &mut totals,
        )?;
        let mut builder = columns.builder();
        for (h, row) in hs.iter().zip(&rows) {
            builder.push(&h.id, row)?;
        }
        Ok((builder.finish()?, totals))
    };
    let done = data_arrow::map_chunks(
        &policy.schema,
        (data_arrow::HOUSEHOLDS, households),
        (data_arrow::PERSONS, persons),
        PART,
        part,
    )
    .map_err(|e| match e {
        data_arrow::ChunkError::Data(e) => Failure::from(e),
        data_arrow::ChunkError::Work(f) => f,
    })?;
    let mut all = Totals::new(policy, month);
    let mut batches = Vec::with_capacity(done.len());
    for (b, t) in done {
        batches.push(b);
        all.merge(t)?;
    }
    Ok((batches, all.to_partial()))
}

/// Merges partial totals (in the order given) and evaluates the programme definitions: a dict
/// `name → value` (money and decimals as `decimal.Decimal` of the CLI's text, integers as `int`,
/// booleans as `bool`, anything else as the CLI's text), and the households counted.
pub(crate) fn merge_totals(
    py: Python<'_>,
    policy: &Policy,
    partials: Vec<Vec<u8>>,
    month: Month,
) -> PyResult<(Py<PyDict>, u64)> {
    let merged = py.detach(|| -> Result<_, String> {
        let mut all = Totals::new(policy, month);
        for (i, p) in partials.iter().enumerate() {
            let t = Totals::from_partial(policy, month, p)
                .map_err(|e| format!("partial totals {}: {e}", i + 1))?;
            all.merge(t).map_err(|e| e.render(policy.sources()))?;
        }
        let n = all.households;
        let values = all.finish().map_err(|e| e.render(policy.sources()))?;
        Ok((values, n))
    });
    let (values, n) = merged.map_err(|m| errors::raise(py, "EvalError", &m, |_| Ok(())))?;
    let decimal = py.import("decimal")?.getattr("Decimal")?;
    let out = PyDict::new(py);
    for (d, v) in values {
        let def = &policy.program.defs[d as usize];
        let text = policy.display(def.ty, &v);
        let value: Bound<'_, PyAny> = match v {
            Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
            Value::Int(i) => i.into_pyobject(py)?.into_any(),
            Value::Num(_) => decimal.call1((text,))?,
            _ => text.into_pyobject(py)?.into_any(),
        };
        out.set_item(&def.name, value)?;
    }
    Ok((out.unbind(), n))
}
