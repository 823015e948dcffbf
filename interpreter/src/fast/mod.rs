//! The compiled fast path: a checked policy compiled into a columnar program for populations.
//!
//! [`HouseholdEval`](crate::eval::HouseholdEval) stays the reference (it explains, answers what-if
//! questions and produces every error message). [`CompiledPolicy`] computes the same outputs faster:
//!
//! - **Batch evaluation over columns.** The definitions the requested outputs (and the programme
//!   totals) need are compiled once, in dependency order, into a flat list of instructions over
//!   registers. A register is a column: one lane per household of a batch (household definitions)
//!   or per member (person definitions, members of all households side by side). Each instruction
//!   runs a tight loop over its lanes, so the interpretation overhead is paid once per batch, not
//!   once per household; parameters are resolved once per interval between their `from` dates;
//!   register types come from the checked IR (bool, enum, number, other), so there is no `Value`
//!   matching, hashing or `Arc` cloning in the loops.
//! - **Fast exact numbers.** Numbers are [`q::Q`] fractions with 64-bit parts (see its module
//!   documentation for why they can never disagree with [`Num`](crate::num::Num)).
//! - **The reference's laziness, lane by lane.** Columns are computed for every lane, including
//!   lanes where the reference would not evaluate the expression (the untaken branch of an `if`,
//!   the right side of a false `and`, the body of an aggregation for filtered-out members, a table
//!   row that does not match). A lane whose value the reference would fail to compute holds
//!   *poison*, and poison only spreads where the reference evaluates: `if c then a else b` is
//!   poisoned where `c` is, or where the taken branch is; `a and b` where `a` is, or where `a` holds
//!   and `b` is; an aggregation where a member's filter is, or a kept member's body is, up to the
//!   member where `any`/`all` stop; a table where a column is, or the chosen row's result is.
//! - **Bail out, never diverge.** A household with a poisoned output (an error of any kind, a
//!   number outside the compiled path's bounds, an extern called with a decimal argument) is
//!   evaluated again by the reference, so the values are the reference's values and every error is
//!   the reference's error (message, span, definition, household, member).
//!
//! Programme totals: the compiled path hands each household's aggregation values (equal to the
//! reference's) to the same accumulator, [`Totals`], in the same order as the reference's batch
//! evaluation.
//!
//! Batches are evaluated in parallel (rayon) with results in input order, so nothing depends on the
//! number of threads. The differential test (`interpreter/tests/fast_differential.rs`) runs both
//! evaluators on seeded random households and compares every output and every error.
//!
//! The modules, in the order a batch goes through them: [`values`] (owned values and parameters
//! per interval), [`program`] (registers, operands, instructions), [`compile`] (definitions into
//! instructions), [`load`] (inputs into registers, loaded populations), [`lanes`] (the registers of
//! a batch and poison-aware lane operations), [`exec`], [`aggregate`] and [`tables`] (running the
//! instructions), and [`session`] (a month, batch by batch, outputs and totals).

/// Takes register `$dst` of kind `$field` out of frame `$fr` (to write it while reading others).
macro_rules! take {
    ($fr:ident, $field:ident, $dst:expr) => {
        std::mem::take(&mut $fr.$field[$dst as usize])
    };
}
/// Puts a register taken with `take!` back.
macro_rules! give {
    ($fr:ident, $field:ident, $dst:expr, $v:expr) => {
        $fr.$field[$dst as usize] = $v
    };
}

mod aggregate;
mod columns;
mod compile;
mod exec;
mod lanes;
mod load;
mod program;
mod q;
mod sequential;
mod session;
mod tables;
mod values;

use compile::*;
use exec::*;
use lanes::*;
use program::*;
use session::*;
use values::*;

pub use columns::SegmentError;
pub use load::LoadedPopulation;
pub use session::{Lane, Row, Session};

use crate::data::Household;
use crate::eval::{compare, EvalError, HouseholdEval, Month, Scope};
use crate::policy::Policy;
use crate::programme::{Contribution, Totals};
use crate::value::Value;
use doudi_dsl::ast::{AggKind, CmpOp, Date, EntityKind, HitPolicy, Span};
use doudi_dsl::ir::*;
use q::{Bail, IntDivisor, Q, R};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::HashMap;

/// Why a policy (or a set of outputs) cannot be compiled; callers use the reference evaluator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError(pub String);

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for CompileError {}

type CompileResult<T> = Result<T, CompileError>;

fn unsupported<T>(what: impl Into<String>) -> CompileResult<T> {
    Err(CompileError(what.into()))
}

// ---------------------------------------------------------------------------------------------
// The compiled policy
// ---------------------------------------------------------------------------------------------

/// Households per batch: columns of a batch stay in the processor's cache.
pub const BATCH: usize = 128;

/// A checked policy compiled for fast evaluation of household outputs. `Send + Sync`: compile once,
/// evaluate from any number of threads.
pub struct CompiledPolicy<'p> {
    policy: &'p Policy,
    outputs: Vec<DefId>,
    prog: ColumnarProgram,
    params: ParamTable,
    /// Household definitions fixed to values (see [`CompiledPolicy::with_forced`]).
    forced: Vec<(DefId, Value)>,
    /// Household-level expressions computed after `outputs` (see [`CompiledPolicy::with_exprs`]).
    exprs: Vec<Expr>,
}

impl<'p> CompiledPolicy<'p> {
    /// Compiles the definitions `outputs` (household definitions) need, and the population totals of
    /// the policy's programme definitions.
    pub fn new(policy: &'p Policy, outputs: &[DefId]) -> Result<CompiledPolicy<'p>, CompileError> {
        CompiledPolicy::with_forced(policy, outputs, &[])
    }

    /// Like [`new`](Self::new), with household definitions fixed to values for every household, as
    /// [`HouseholdEval::force`] does (what-if questions: "the payment if this household were
    /// eligible"); households the compiled path defers are evaluated by the reference with the same
    /// values forced.
    pub fn with_forced(
        policy: &'p Policy,
        outputs: &[DefId],
        forced: &[(DefId, Value)],
    ) -> Result<CompiledPolicy<'p>, CompileError> {
        CompiledPolicy::with_exprs(policy, outputs, forced, &[])
    }

    /// Like [`with_forced`](Self::with_forced), with checked household-level expressions of the
    /// policy as further outputs after `outputs` (e.g. `count(members where flag)` for a person
    /// definition `flag`); every row holds `outputs.len() + exprs.len()` values. The reference
    /// evaluates them with [`HouseholdEval::eval`].
    pub fn with_exprs(
        policy: &'p Policy,
        outputs: &[DefId],
        forced: &[(DefId, Value)],
        exprs: &[Expr],
    ) -> Result<CompiledPolicy<'p>, CompileError> {
        let p = &policy.program;
        for &o in outputs {
            match p.defs.get(o as usize) {
                Some(d) if d.entity == EntityKind::Household => {}
                Some(d) => {
                    return unsupported(format!("`{}` is not a household definition", d.name))
                }
                None => return unsupported("unknown definition"),
            }
        }
        let params = ParamTable::new(p);
        let mut c = Compiler {
            prog: p,
            params: &params,
            ins: Vec::new(),
            levels: Default::default(),
            loads: Vec::new(),
            inputs: HashMap::new(),
            variant_inputs: HashMap::new(),
            bcasts: HashMap::new(),
            defs: vec![None; p.defs.len()],
            visiting: vec![false; p.defs.len()],
            depth: 0,
            num_only: Vec::new(),
        };
        for (id, v) in forced {
            match p.defs.get(*id as usize) {
                Some(d) if d.entity == EntityKind::Household => {}
                _ => return unsupported("only household definitions can be forced"),
            }
            c.defs[*id as usize] = Some(match v {
                Value::Bool(b) => Operand::Bool(BoolOperand::Const(*b as u8)),
                Value::Enum(e) => Operand::Enum(EnumOperand::Const(*e)),
                Value::Int(_) | Value::Num(_) => {
                    Operand::Num(NumOperand::Const(num_of(v).unwrap_or(Q::POISON)))
                }
                v => Operand::Other(OtherOperand::Const(v.clone())),
            });
        }
        let mut outs = Vec::new();
        for &o in outputs {
            outs.push(c.def(o)?);
        }
        for e in exprs {
            outs.push(c.expr(e, Level::Household)?);
        }
        let outputs_end = c.ins.len();
        let mut totals = Vec::new();
        for e in Totals::spec_exprs(policy) {
            let ExprKind::Agg {
                coll, body, filter, ..
            } = &e.kind
            else {
                return unsupported("a population total");
            };
            let lv = match coll {
                Coll::Households => Level::Household,
                Coll::Persons => Level::Person,
                Coll::Members => return unsupported("a population total over members"),
            };
            let filter = match filter {
                Some(f) => c.expr(f, lv)?.bool()?,
                None => BoolOperand::Const(LANE_TRUE),
            };
            let body = match body {
                Some(b) => Some(c.expr(b, lv)?),
                None => None,
            };
            totals.push(TotalPlan { lv, filter, body });
        }
        let prog = ColumnarProgram {
            loads: c.loads,
            ins: c.ins,
            outputs_end,
            levels: c.levels,
            outputs: outs,
            totals,
        };
        Ok(CompiledPolicy {
            policy,
            outputs: outputs.to_vec(),
            prog,
            params,
            forced: forced.to_vec(),
            exprs: exprs.to_vec(),
        })
    }

    /// A policy that is not compiled: every household is evaluated by the reference (with the
    /// same API, for callers whose policy [`with_exprs`](Self::with_exprs) cannot compile).
    pub fn reference(
        policy: &'p Policy,
        outputs: &[DefId],
        forced: &[(DefId, Value)],
        exprs: &[Expr],
    ) -> CompiledPolicy<'p> {
        // Every output and every total is poison, so every household defers to the reference.
        let poison = || Operand::Num(NumOperand::Const(Q::POISON));
        let prog = ColumnarProgram {
            loads: Vec::new(),
            ins: Vec::new(),
            outputs_end: 0,
            levels: Default::default(),
            outputs: outputs
                .iter()
                .map(|_| poison())
                .chain(exprs.iter().map(|_| poison()))
                .collect(),
            totals: Totals::spec_exprs(policy)
                .iter()
                .map(|_| TotalPlan {
                    lv: Level::Household,
                    filter: BoolOperand::Const(LANE_POISON),
                    body: None,
                })
                .collect(),
        };
        CompiledPolicy {
            policy,
            outputs: outputs.to_vec(),
            prog,
            params: ParamTable::new(&policy.program),
            forced: forced.to_vec(),
            exprs: exprs.to_vec(),
        }
    }

    /// The reference evaluator for a household, with the forced definitions.
    fn reference_eval<'h>(&self, hh: &'h Household, month: Month) -> HouseholdEval<'h>
    where
        'p: 'h,
    {
        let mut ev = HouseholdEval::new(self.policy, hh, month);
        for (id, v) in &self.forced {
            ev.force(*id, Scope::Household, v.clone());
        }
        ev
    }

    /// The reference's values of the outputs and expressions, appended to `out` (left as it was
    /// on an error).
    fn reference_outputs(
        &self,
        ev: &mut HouseholdEval<'_>,
        out: &mut Vec<Value>,
    ) -> Result<(), EvalError> {
        let len = out.len();
        let r = (|| {
            for &d in &self.outputs {
                out.push(ev.def(d, Scope::Household)?);
            }
            for e in &self.exprs {
                out.push(ev.eval(e, Scope::Household)?);
            }
            Ok(())
        })();
        if r.is_err() {
            out.truncate(len);
        }
        r
    }

    /// Compiles every household definition as an output (what `doudi eval` prints by default).
    pub fn all_household(policy: &'p Policy) -> Result<CompiledPolicy<'p>, CompileError> {
        let outs: Vec<DefId> = policy
            .program
            .defs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.entity == EntityKind::Household)
            .map(|(i, _)| i as DefId)
            .collect();
        CompiledPolicy::new(policy, &outs)
    }

    pub fn policy(&self) -> &'p Policy {
        self.policy
    }

    pub fn outputs(&self) -> &[DefId] {
        &self.outputs
    }

    /// Instructions in the compiled program (for the curious and for tests).
    pub fn instructions(&self) -> usize {
        self.prog.ins.len()
    }

    /// The compiled program, one instruction a line (for the curious and for tests).
    pub fn listing(&self) -> String {
        let mut s = String::new();
        for l in &self.prog.loads {
            s.push_str(&format!("load {l:?}\n"));
        }
        for (i, ins) in self.prog.ins.iter().enumerate() {
            s.push_str(&format!("{i:3} {ins:?}\n"));
        }
        s
    }

    /// A reusable evaluator for one thread and one month (no allocation per household).
    pub fn session(&self, month: Month) -> Session<'_> {
        Session {
            cp: self,
            month,
            params: self.params.at(month),
            frame: Frame::default(),
        }
    }

    /// The outputs for one household: exactly `Policy::evaluate(hh, month, outputs)`.
    pub fn evaluate(&self, hh: &Household, month: Month) -> Result<Vec<Value>, EvalError> {
        let mut out = Vec::with_capacity(self.outputs.len());
        self.session(month).evaluate_into(hh, &mut out)?;
        Ok(out)
    }

    /// The outputs for each household, evaluated in parallel batches, in input order.
    pub fn evaluate_chunk(
        &self,
        households: &[Household],
        month: Month,
    ) -> Vec<Result<Vec<Value>, EvalError>> {
        households
            .par_chunks(BATCH)
            .map_init(
                || self.session(month),
                |s, batch| {
                    let mut rows = Vec::with_capacity(batch.len());
                    s.batch(batch, |_, r| rows.push(r));
                    rows
                },
            )
            .flatten_iter()
            .collect()
    }

    /// Evaluates households in parallel and hands each household's outputs (or error), in input
    /// order within each batch, to `sink` with the household's index. Nothing is collected: for
    /// computing over large populations without holding the results.
    pub fn for_each<F>(&self, households: &[Household], month: Month, sink: F)
    where
        F: Fn(usize, Result<&[Value], &EvalError>) + Sync,
    {
        households.par_chunks(BATCH).enumerate().for_each_init(
            || (self.session(month), Vec::new()),
            |(s, out), (bi, batch)| {
                s.batch_into(batch, out, |i, r| sink(bi * BATCH + i, r));
            },
        );
    }

    /// Evaluates households in parallel and maps each household's outputs with `f` (in the worker
    /// threads); the results in input order, or the first error in input order.
    pub fn map_chunk<T, F>(
        &self,
        households: &[Household],
        month: Month,
        f: F,
    ) -> Result<Vec<T>, EvalError>
    where
        T: Send,
        F: Fn(&Household, &[Value]) -> T + Sync,
    {
        let parts: Vec<Result<Vec<T>, EvalError>> = households
            .par_chunks(BATCH)
            .map_init(
                || (self.session(month), Vec::new()),
                |(s, out), batch| {
                    let mut res = Vec::with_capacity(batch.len());
                    let mut err = None;
                    s.batch_into(batch, out, |i, r| {
                        if err.is_some() {
                            return;
                        }
                        match r {
                            Ok(row) => res.push(f(&batch[i], row)),
                            Err(e) => err = Some(e.clone()),
                        }
                    });
                    match err {
                        Some(e) => Err(e),
                        None => Ok(res),
                    }
                },
            )
            .collect();
        let mut out = Vec::with_capacity(households.len());
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }

    /// Loads households into the compiled program's input columns (in parallel).
    pub fn load<'h>(&self, households: &'h [Household]) -> LoadedPopulation<'h> {
        let batches = households
            .par_chunks(BATCH)
            .enumerate()
            .map(|(i, b)| self.prog.load_batch(b, i * BATCH))
            .collect();
        LoadedPopulation {
            hs: households,
            batches,
        }
    }

    /// [`for_each`](Self::for_each) on a loaded population.
    pub fn for_each_loaded<F>(&self, loaded: &LoadedPopulation<'_>, month: Month, sink: F)
    where
        F: Fn(usize, Result<&[Value], &EvalError>) + Sync,
    {
        loaded.batches.par_iter().for_each_init(
            || (self.session(month), Vec::new()),
            |(s, out), b| {
                let hs = &loaded.hs[b.start..b.start + b.h];
                self.prog.prepare_loaded(&mut s.frame, b);
                s.run_loaded(hs);
                let ex = s.exec_loaded(hs);
                s.finish_with(&ex, hs, out, |i, r| sink(b.start + i, r));
            },
        );
    }

    /// Like [`for_each_loaded`](Self::for_each_loaded), handing out each household's outputs as a
    /// [`Row`] that makes a `Value` only for the outputs asked for (the exact numbers stay in the
    /// columns until then).
    pub fn for_each_row_loaded<F>(&self, loaded: &LoadedPopulation<'_>, month: Month, sink: F)
    where
        F: Fn(usize, Result<Row<'_>, &EvalError>) + Sync,
    {
        loaded.batches.par_iter().for_each_init(
            || (self.session(month), Vec::new()),
            |(s, out), b| {
                let hs = &loaded.hs[b.start..b.start + b.h];
                self.prog.prepare_loaded(&mut s.frame, b);
                s.run_loaded(hs);
                let ex = s.exec_loaded(hs);
                let srcs = s.output_sources(&ex);
                for (i, h) in hs.iter().enumerate() {
                    if srcs.iter().all(|src| !src.poisoned(&ex, &s.frame, i)) {
                        sink(
                            b.start + i,
                            Ok(Row {
                                inner: RowInner::Lanes {
                                    ex: &ex,
                                    frame: &s.frame,
                                    srcs: &srcs,
                                    lane: i,
                                },
                            }),
                        );
                    } else {
                        out.clear();
                        match s.reference(h, out) {
                            Ok(()) => sink(
                                b.start + i,
                                Ok(Row {
                                    inner: RowInner::Values(out),
                                }),
                            ),
                            Err(e) => sink(b.start + i, Err(&e)),
                        }
                    }
                }
            },
        );
    }

    /// Like [`evaluate_chunk`](Self::evaluate_chunk), also adding every household to `totals`
    /// (which must belong to the same policy and month); stops at the first error in input order.
    pub fn evaluate_chunk_with_totals(
        &self,
        households: &[Household],
        month: Month,
        totals: &mut Totals<'p>,
    ) -> Result<Vec<Vec<Value>>, EvalError> {
        // Parts of 1024 households (as the reference's batch evaluation), each accumulated in order.
        const PART: usize = 1024;
        let parts: Vec<crate::batch::PartResult<'p>> = households
            .par_chunks(PART)
            .map(|part| {
                let mut t = totals.fork();
                let rows = self.rows_with_totals_sequential(part, month, &mut t)?;
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
}
