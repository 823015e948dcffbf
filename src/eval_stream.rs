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
    let work = |hs: Vec<data::Household>| -> Result<Done<'p>, Fail> {
        match &template {
            Some(template) => {
                let mut t = template.fork();
                let rows = batch::rows_with_totals_here(policy, compiled, &hs, m, outputs, &mut t)
                    .map_err(render_err)?;
                let rows = hs.iter().zip(rows).map(|(h, r)| fmt.row(&h.id, &r));
                Ok((rows.collect(), Some(t)))
            }
            None => {
                let rows = batch::map_here(policy, compiled, &hs, m, outputs, |h, row| {
                    fmt.row(&h.id, row)
                })
                .map_err(render_err)?;
                Ok((rows, None))
            }
        }
    };
    interpreter::stream::for_each_segment(pair, threads, work, sink)
}
