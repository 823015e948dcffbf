//! `doudi eval` on the CSV pair: segments read, evaluated and formatted on worker threads
//! (`interpreter::stream`), written in file order.
//!
//! When the compiled path reads its inputs from columns (`CompiledPolicy::reads_columns`), each
//! segment is parsed straight into the program's input columns (`CompiledPolicy::map_segment`);
//! otherwise into households, evaluated by `batch`. Both give the same rows, totals and errors.

use crate::{Fail, Formatted, Res, RowFormat, RowWriter};
use doudi::interpreter::{
    self, batch, data, fast::CompiledPolicy, fast::SegmentError, programme::Totals, Month, Policy,
};
use std::io::Write;
use std::path::Path;

impl From<data::DataError> for Fail {
    fn from(e: data::DataError) -> Fail {
        Fail::usage(format!("error: {e}"))
    }
}

/// The rows of a segment, and its share of the programme totals when they are asked for.
type Done<'p> = (Vec<Formatted>, Option<Totals<'p>>);

/// Evaluates the CSV pair `households`, `persons` segment by segment and writes the rows to `out`
/// in file order; adds every household to `totals` when given.
#[allow(clippy::too_many_arguments)]
pub(crate) fn eval_pair<'p>(
    policy: &'p Policy,
    (households, persons): (&Path, &Path),
    m: Month,
    outputs: &[u32],
    fmt: &RowFormat,
    mut totals: Option<&mut Totals<'p>>,
    out: &mut dyn Write,
    writer: &mut RowWriter,
) -> Res {
    let pair = data::PairSegments::open(&policy.schema, households, persons)?;
    let compiled = CompiledPolicy::new(policy, outputs).ok();
    let compiled = compiled.as_ref();
    let render_err = |e: interpreter::EvalError| Fail::usage(e.render(policy.sources()));
    let io = |e: std::io::Error| Fail::usage(format!("error: cannot write the output: {e}"));
    let template = totals.as_ref().map(|t| t.fork());
    let threads = interpreter::stream::default_threads();
    let sink = |(rows, t): Done<'p>| {
        if let (Some(t), Some(totals)) = (t, totals.as_deref_mut()) {
            totals.merge(t).map_err(render_err)?;
        }
        for row in rows {
            writer.emit(out, row).map_err(io)?;
        }
        Ok(())
    };
    if let Some(cp) = compiled.filter(|cp| cp.reads_columns()) {
        let work = |parser: &_, seg| -> Result<_, Fail> {
            let mut t = template.as_ref().map(|t| t.fork());
            match cp.map_segment(parser, seg, m, t.as_mut(), |id, row| fmt.row(id, row)) {
                Ok((ids, rows)) => Ok((ids, (rows, t))),
                Err(SegmentError::Data(e)) => Err(e.into()),
                Err(SegmentError::Eval(e)) => Err(render_err(e)),
            }
        };
        return interpreter::stream::for_each_raw_segment(pair, threads, work, sink);
    }
    let work = |hs: Vec<data::Household>| {
        household_rows(policy, compiled, template.as_ref(), &hs, (m, outputs), fmt)
    };
    interpreter::stream::for_each_segment(pair, threads, work, sink)
}

/// The rows of `hs` on the calling thread, with their share of the programme totals when
/// `template` is given (an empty accumulator of the right shape).
fn household_rows<'p>(
    policy: &'p Policy,
    compiled: Option<&CompiledPolicy<'p>>,
    template: Option<&Totals<'p>>,
    hs: &[data::Household],
    (m, outputs): (Month, &[u32]),
    fmt: &RowFormat,
) -> Result<Done<'p>, Fail> {
    let render_err = |e: interpreter::EvalError| Fail::usage(e.render(policy.sources()));
    match template {
        Some(template) => {
            let mut t = template.fork();
            let rows = batch::rows_with_totals_here(policy, compiled, hs, m, outputs, &mut t)
                .map_err(render_err)?;
            let rows = hs.iter().zip(rows).map(|(h, r)| fmt.row(&h.id, &r));
            Ok((rows.collect(), Some(t)))
        }
        None => {
            let rows = batch::map_here(policy, compiled, hs, m, outputs, |h, row| {
                fmt.row(&h.id, row)
            })
            .map_err(render_err)?;
            Ok((rows, None))
        }
    }
}

/// Households evaluated per chunk of a Parquet pair.
const PARQUET_CHUNK: usize = 4096;

/// Evaluates the Parquet pair `households`, `persons` in chunks of households on rayon's threads
/// (`data::arrow::map_chunks`: the decoded columns are held, never every household as values) and
/// writes the rows to `out` in file order; adds every household to `totals` when given.
#[allow(clippy::too_many_arguments)]
pub(crate) fn eval_parquet<'p>(
    policy: &'p Policy,
    (households, persons): (&Path, &Path),
    m: Month,
    outputs: &[u32],
    fmt: &RowFormat,
    mut totals: Option<&mut Totals<'p>>,
    out: &mut dyn Write,
    writer: &mut RowWriter,
) -> Res {
    let (hb, pb) = crate::parquet_io::parquet_batches(&policy.schema, households, persons)?;
    let compiled = CompiledPolicy::new(policy, outputs).ok();
    let template = totals.as_ref().map(|t| t.fork());
    let done = data::arrow::map_chunks(
        &policy.schema,
        (&households.display().to_string(), &hb),
        (&persons.display().to_string(), &pb),
        PARQUET_CHUNK,
        |hs| {
            household_rows(
                policy,
                compiled.as_ref(),
                template.as_ref(),
                &hs,
                (m, outputs),
                fmt,
            )
        },
    )
    .map_err(|e| match e {
        data::arrow::ChunkError::Data(e) => Fail::from(e),
        data::arrow::ChunkError::Work(f) => f,
    })?;
    drop((hb, pb));
    let io = |e: std::io::Error| Fail::usage(format!("error: cannot write the output: {e}"));
    for (rows, t) in done {
        if let (Some(t), Some(totals)) = (t, totals.as_deref_mut()) {
            totals
                .merge(t)
                .map_err(|e| Fail::usage(e.render(policy.sources())))?;
        }
        for row in rows {
            writer.emit(out, row).map_err(io)?;
        }
    }
    Ok(())
}
