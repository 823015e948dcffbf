//! One part of a population evaluated on the calling thread (no rayon): for pipelines whose tasks
//! each read, evaluate and format one segment, so a segment's data stays in that core's cache.

use super::*;

impl<'p> CompiledPolicy<'p> {
    /// Evaluates `households` on this thread, batch by batch, and maps each household's outputs with
    /// `f`; the results in input order, or the first error in input order.
    pub fn map_sequential<T, F>(
        &self,
        households: &[Household],
        month: Month,
        mut f: F,
    ) -> Result<Vec<T>, EvalError>
    where
        F: FnMut(&Household, &[Value]) -> T,
    {
        let mut s = self.session(month);
        let mut out = Vec::new();
        let mut res = Vec::with_capacity(households.len());
        let mut err = None;
        for batch in households.chunks(BATCH) {
            s.batch_into(batch, &mut out, |i, r| {
                if err.is_some() {
                    return;
                }
                match r {
                    Ok(row) => res.push(f(&batch[i], row)),
                    Err(e) => err = Some(e.clone()),
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
        }
        Ok(res)
    }

    /// The outputs of `households` on this thread, each household also added to `totals` (which
    /// must belong to the same policy and month); stops at the first error in input order.
    pub fn rows_with_totals_sequential(
        &self,
        households: &[Household],
        month: Month,
        totals: &mut Totals<'p>,
    ) -> Result<Vec<Vec<Value>>, EvalError> {
        let mut s = self.session(month);
        let mut rows = Vec::with_capacity(households.len());
        let mut vals: Vec<(u32, Option<Value>)> = Vec::new();
        for batch in households.chunks(BATCH) {
            self.prog.prepare(&mut s.frame, batch);
            s.run(batch, true);
            for (i, h) in batch.iter().enumerate() {
                let mut row = Vec::with_capacity(self.outputs.len());
                vals.clear();
                if s.outputs(batch, i, &mut row) && s.total_values(i, &mut vals) {
                    totals.add_values(&vals)?;
                } else {
                    let mut ev = self.reference_eval(h, month);
                    row.clear();
                    self.reference_outputs(&mut ev, &mut row)?;
                    totals.add(&mut ev)?;
                }
                rows.push(row);
            }
        }
        Ok(rows)
    }
}
