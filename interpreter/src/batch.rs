//! Evaluating many households: parallel over a chunk with rayon, results in input order, so the output
//! never depends on the number of threads. Uses the compiled path ([`CompiledPolicy`]), which gives
//! exactly the reference's values and errors; a policy the compiled path cannot take is evaluated by
//! the reference evaluator.

use crate::data::Household;
use crate::eval::{EvalError, HouseholdEval, Month, Scope};
use crate::fast::CompiledPolicy;
use crate::policy::Policy;
use crate::programme::Totals;
use crate::value::Value;
use doudi_dsl::ir::DefId;
use rayon::prelude::*;

/// The values and programme totals of one part of a population, or the first error.
pub(crate) type PartResult<'p> = Result<(Vec<Vec<Value>>, Totals<'p>), EvalError>;

/// Evaluates `outputs` (household definitions) for each household, in parallel, in order.
///
/// Compiles the policy on each call (tens of microseconds); to evaluate many chunks, build a
/// [`CompiledPolicy`] once and call [`CompiledPolicy::evaluate_chunk`].
pub fn evaluate_chunk(
    policy: &Policy,
    households: &[Household],
    month: Month,
    outputs: &[DefId],
) -> Vec<Result<Vec<Value>, EvalError>> {
    match CompiledPolicy::new(policy, outputs) {
        Ok(cp) => cp.evaluate_chunk(households, month),
        Err(_) => reference_chunk(policy, households, month, outputs),
    }
}

/// Evaluates `outputs` for each household in parallel and maps each household's values with `f`
/// (in the worker threads, e.g. to format a line); the results in input order, or the first error
/// in input order.
pub fn map_chunk<T, F>(
    policy: &Policy,
    households: &[Household],
    month: Month,
    outputs: &[DefId],
    f: F,
) -> Result<Vec<T>, EvalError>
where
    T: Send,
    F: Fn(&Household, &[Value]) -> T + Sync,
{
    match CompiledPolicy::new(policy, outputs) {
        Ok(cp) => cp.map_chunk(households, month, f),
        Err(_) => households
            .par_iter()
            .with_min_len(64)
            .map(|h| policy.evaluate(h, month, outputs).map(|row| f(h, &row)))
            .collect(),
    }
}

/// [`evaluate_chunk`] with the reference evaluator only.
pub fn reference_chunk(
    policy: &Policy,
    households: &[Household],
    month: Month,
    outputs: &[DefId],
) -> Vec<Result<Vec<Value>, EvalError>> {
    households
        .par_iter()
        .with_min_len(64)
        .map(|h| policy.evaluate(h, month, outputs))
        .collect()
}

/// Like [`evaluate_chunk`], also adding every household to the programme totals.
pub fn evaluate_chunk_with_totals<'p>(
    policy: &'p Policy,
    households: &[Household],
    month: Month,
    outputs: &[DefId],
    totals: &mut Totals<'p>,
) -> Result<Vec<Vec<Value>>, EvalError> {
    if let Ok(cp) = CompiledPolicy::new(policy, outputs) {
        return cp.evaluate_chunk_with_totals(households, month, totals);
    }
    const PART: usize = 1024;
    let parts: Vec<PartResult<'p>> = households
        .par_chunks(PART)
        .map(|part| {
            let mut t = totals.fork();
            let rows = rows_with_totals_here(policy, None, part, month, outputs, &mut t)?;
            Ok((rows, t))
        })
        .collect();
    let mut out = Vec::with_capacity(households.len());
    for p in parts {
        let (rows, t) = p?;
        totals.merge(t)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The outputs of `households` evaluated on the calling thread (for callers that run their own
/// threads), each household also added to `totals`; `compiled` (the policy compiled for `outputs`)
/// or, when `None`, the reference evaluator. Stops at the first error in input order.
pub fn rows_with_totals_here<'p>(
    policy: &'p Policy,
    compiled: Option<&CompiledPolicy<'p>>,
    households: &[Household],
    month: Month,
    outputs: &[DefId],
    totals: &mut Totals<'p>,
) -> Result<Vec<Vec<Value>>, EvalError> {
    if let Some(cp) = compiled {
        return cp.rows_with_totals_sequential(households, month, totals);
    }
    let mut rows = Vec::with_capacity(households.len());
    for h in households {
        let mut ev = HouseholdEval::new(policy, h, month);
        let row = outputs
            .iter()
            .map(|&d| ev.def(d, Scope::Household))
            .collect::<Result<Vec<_>, _>>()?;
        totals.add(&mut ev)?;
        rows.push(row);
    }
    Ok(rows)
}

/// The outputs of `households` evaluated on the calling thread and mapped with `f`, in input order,
/// or the first error; `compiled` as in [`rows_with_totals_here`].
pub fn map_here<'p, T>(
    policy: &'p Policy,
    compiled: Option<&CompiledPolicy<'p>>,
    households: &[Household],
    month: Month,
    outputs: &[DefId],
    mut f: impl FnMut(&Household, &[Value]) -> T,
) -> Result<Vec<T>, EvalError> {
    match compiled {
        Some(cp) => cp.map_sequential(households, month, f),
        None => households
            .iter()
            .map(|h| policy.evaluate(h, month, outputs).map(|row| f(h, &row)))
            .collect(),
    }
}

/// Carries households into the next month: sets each household's `previous` to its states at the
/// end of `month` (the policy's `state` definitions), evaluated in parallel. A policy without
/// states leaves the households as they are. Returns the first error in input order.
pub fn advance(
    policy: &Policy,
    households: &mut [Household],
    month: Month,
) -> Result<(), EvalError> {
    let states: Vec<DefId> = policy.program.states.iter().map(|s| s.def).collect();
    if states.is_empty() {
        return Ok(());
    }
    let values = evaluate_chunk(policy, households, month, &states);
    for (h, v) in households.iter_mut().zip(values) {
        h.previous = Some(v?);
    }
    Ok(())
}
