//! Sessions: a compiled policy in one month, batch by batch, with the reference for the households it cannot take.

use super::*;

/// Where an output's lanes are.
pub(super) enum OutputSource<'f> {
    Num(Lanes<'f, Q>),
    Bool(Lanes<'f, u8>),
    Enum(Lanes<'f, u16>),
    Other(&'f Operand),
}

impl OutputSource<'_> {
    pub(super) fn poisoned(&self, ex: &Executor<'_>, fr: &Frame, i: usize) -> bool {
        match self {
            OutputSource::Num(s) => s.at(i).is_poison(),
            OutputSource::Bool(s) => s.at(i) == LANE_POISON,
            OutputSource::Enum(s) => s.at(i) == ENUM_POISON,
            OutputSource::Other(o) => !matches!(ex.owned_at(fr, o, i), Some(Owned::Other(_))),
        }
    }
    /// The lane's value (not poisoned).
    pub(super) fn value(&self, ex: &Executor<'_>, fr: &Frame, i: usize) -> Value {
        match self {
            OutputSource::Num(s) => q_value(s.at(i)),
            OutputSource::Bool(s) => Value::Bool(s.at(i) == LANE_TRUE),
            OutputSource::Enum(s) => Value::Enum(s.at(i)),
            OutputSource::Other(o) => match ex.owned_at(fr, o, i) {
                Some(Owned::Other(v)) => v,
                _ => Value::Bool(false),
            },
        }
    }
}

/// One household's outputs, in the order of [`CompiledPolicy::outputs`]: made into `Value`s on
/// demand.
pub struct Row<'a> {
    pub(super) inner: RowInner<'a>,
}

pub(super) enum RowInner<'a> {
    Lanes {
        ex: &'a Executor<'a>,
        frame: &'a Frame,
        srcs: &'a [OutputSource<'a>],
        lane: usize,
    },
    /// The reference's values (a household the compiled path deferred).
    Values(&'a [Value]),
}

impl Row<'_> {
    pub fn len(&self) -> usize {
        match &self.inner {
            RowInner::Lanes { srcs, .. } => srcs.len(),
            RowInner::Values(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Output `k`.
    pub fn get(&self, k: usize) -> Value {
        match &self.inner {
            RowInner::Lanes {
                ex,
                frame,
                srcs,
                lane,
            } => srcs[k].value(ex, frame, *lane),
            RowInner::Values(v) => v[k].clone(),
        }
    }
    /// Every output.
    pub fn values(&self) -> Vec<Value> {
        (0..self.len()).map(|k| self.get(k)).collect()
    }
}

/// One household of a batch run by [`Session::run_batch`].
pub struct Lane<'s, 'c> {
    pub(super) session: &'s Session<'c>,
    pub(super) hh: &'s Household,
    pub(super) lane: usize,
    pub(super) values: &'s [Value],
    /// The reference evaluator that computed `values`, when the compiled path deferred the household.
    pub(super) ev: Option<HouseholdEval<'s>>,
}

impl Lane<'_, '_> {
    /// The outputs, then the expressions, in the order given to [`CompiledPolicy::with_exprs`].
    pub fn values(&self) -> &[Value] {
        self.values
    }

    /// Adds the household to `totals` (of the same policy and month) as `weight` households, as
    /// [`Totals::add_weighted`] does; with `record`, also returns what it added
    /// ([`Totals::add_recorded`]).
    pub fn add_totals(
        &mut self,
        totals: &mut Totals<'_>,
        weight: u64,
        record: bool,
    ) -> Result<Option<Contribution>, EvalError> {
        if self.ev.is_none() {
            let mut vals = Vec::new();
            if self.session.total_values(self.lane, &mut vals) {
                return totals.add_values_weighted(&vals, weight, record);
            }
            self.ev = Some(self.session.cp.reference_eval(self.hh, self.session.month));
        }
        let ev = self.ev.as_mut().expect("set above");
        if record {
            totals.add_recorded(ev, weight).map(Some)
        } else {
            totals.add_weighted(ev, weight).map(|_| None)
        }
    }
}

/// Household `i`'s outputs appended to `out`; `false` (and `out` as it was) if one is poisoned.
pub(super) fn push_outputs(
    ex: &Executor<'_>,
    fr: &Frame,
    srcs: &[OutputSource<'_>],
    i: usize,
    out: &mut Vec<Value>,
) -> bool {
    let len = out.len();
    for s in srcs {
        let v = match s {
            OutputSource::Num(s) => {
                let q = s.at(i);
                if q.is_poison() {
                    None
                } else {
                    Some(q_value(q))
                }
            }
            OutputSource::Bool(s) => match s.at(i) {
                LANE_POISON => None,
                b => Some(Value::Bool(b == LANE_TRUE)),
            },
            OutputSource::Enum(s) => match s.at(i) {
                ENUM_POISON => None,
                e => Some(Value::Enum(e)),
            },
            OutputSource::Other(o) => match ex.owned_at(fr, o, i) {
                Some(Owned::Other(v)) => Some(v),
                _ => None,
            },
        };
        match v {
            Some(v) => out.push(v),
            None => {
                out.truncate(len);
                return false;
            }
        }
    }
    true
}

/// A reusable evaluation frame of a [`CompiledPolicy`] for one month.
pub struct Session<'c> {
    pub(super) cp: &'c CompiledPolicy<'c>,
    pub(super) month: Month,
    pub(super) params: &'c [ParamValue],
    pub(super) frame: Frame,
}

impl<'c> Session<'c> {
    pub fn month(&self) -> Month {
        self.month
    }

    pub(super) fn exec<'a>(&'a self, hs: &'a [Household]) -> Executor<'a> {
        Executor {
            params: self.params,
            policy: self.cp.policy,
            hs,
            month: self.month,
        }
    }

    /// Runs the program on a loaded batch (prepared with `prepare_loaded`).
    pub(super) fn run_loaded(&mut self, hs: &[Household]) {
        let prog = &self.cp.prog;
        let ex = Executor {
            params: self.params,
            policy: self.cp.policy,
            hs,
            month: self.month,
        };
        for ins in &prog.ins[..prog.outputs_end] {
            ex.run(ins, &mut self.frame);
        }
    }

    pub(super) fn exec_loaded<'a>(&'a self, hs: &'a [Household]) -> Executor<'a> {
        Executor {
            params: self.params,
            policy: self.cp.policy,
            hs,
            month: self.month,
        }
    }

    /// Runs the program on the prepared frame (`totals`: also the totals' instructions).
    pub(super) fn run(&mut self, hs: &[Household], totals: bool) {
        let prog = &self.cp.prog;
        let end = if totals {
            prog.ins.len()
        } else {
            prog.outputs_end
        };
        let ex = Executor {
            params: self.params,
            policy: self.cp.policy,
            hs,
            month: self.month,
        };
        for ins in &prog.ins[..end] {
            ex.run(ins, &mut self.frame);
        }
    }

    /// Household `i`'s outputs appended to `out`; `false` (and `out` as it was) if one is poisoned.
    pub(super) fn outputs(&self, hs: &[Household], i: usize, out: &mut Vec<Value>) -> bool {
        let ex = self.exec(hs);
        let srcs = self.output_sources(&ex);
        push_outputs(&ex, &self.frame, &srcs, i, out)
    }

    pub(super) fn output_sources<'f>(&'f self, ex: &'f Executor<'f>) -> Vec<OutputSource<'f>> {
        self.cp
            .prog
            .outputs
            .iter()
            .map(|o| match o {
                Operand::Num(o) => OutputSource::Num(ex.num_lanes(&self.frame, o)),
                Operand::Bool(o) => OutputSource::Bool(ex.bool_lanes(&self.frame, o)),
                Operand::Enum(o) => OutputSource::Enum(ex.enum_lanes(&self.frame, o)),
                Operand::Other(_) => OutputSource::Other(o),
            })
            .collect()
    }

    /// Household `i`'s values for the population totals; `false` if one is poisoned.
    pub(super) fn total_values(&self, i: usize, vals: &mut Vec<(u32, Option<Value>)>) -> bool {
        let fr = &self.frame;
        let ex = Executor {
            params: self.params,
            policy: self.cp.policy,
            hs: &[],
            month: self.month,
        };
        for (ti, t) in self.cp.prog.totals.iter().enumerate() {
            let lanes = match t.lv {
                Level::Household => i..i + 1,
                Level::Person => fr.off[i]..fr.off[i + 1],
            };
            for j in lanes {
                match ex.bool_lanes(fr, &t.filter).at(j) {
                    LANE_FALSE => continue,
                    LANE_TRUE => {}
                    _ => return false,
                }
                let v = match &t.body {
                    None => None,
                    Some(b) => match ex.owned_at(fr, b, j) {
                        Some(Owned::Num(q)) => Some(q_value(q)),
                        Some(Owned::Bool(b)) => Some(Value::Bool(b)),
                        Some(Owned::Enum(e)) => Some(Value::Enum(e)),
                        Some(Owned::Other(v)) => Some(v),
                        None => return false,
                    },
                };
                vals.push((ti as u32, v));
            }
        }
        true
    }

    /// Evaluates a batch; `sink(i, result)` for each household in order.
    pub(super) fn batch(
        &mut self,
        hs: &[Household],
        mut sink: impl FnMut(usize, Result<Vec<Value>, EvalError>),
    ) {
        self.cp.prog.prepare(&mut self.frame, hs);
        self.run(hs, false);
        for (i, h) in hs.iter().enumerate() {
            let mut out = Vec::with_capacity(self.cp.outputs.len());
            if self.outputs(hs, i, &mut out) {
                sink(i, Ok(out));
            } else {
                sink(i, self.reference(h, &mut out).map(|_| out));
            }
        }
    }

    /// Like `batch`, reusing one output buffer.
    pub(super) fn batch_into(
        &mut self,
        hs: &[Household],
        out: &mut Vec<Value>,
        sink: impl FnMut(usize, Result<&[Value], &EvalError>),
    ) {
        self.cp.prog.prepare(&mut self.frame, hs);
        self.run(hs, false);
        self.finish_batch(hs, out, sink);
    }

    /// Hands each household's outputs of the run batch to `sink` (the reference's for poisoned ones).
    pub(super) fn finish_batch(
        &mut self,
        hs: &[Household],
        out: &mut Vec<Value>,
        sink: impl FnMut(usize, Result<&[Value], &EvalError>),
    ) {
        let ex = Executor {
            params: self.params,
            policy: self.cp.policy,
            hs,
            month: self.month,
        };
        self.finish_with(&ex, hs, out, sink);
    }

    pub(super) fn finish_with(
        &self,
        ex: &Executor<'_>,
        hs: &[Household],
        out: &mut Vec<Value>,
        mut sink: impl FnMut(usize, Result<&[Value], &EvalError>),
    ) {
        let srcs = self.output_sources(ex);
        for (i, h) in hs.iter().enumerate() {
            out.clear();
            if push_outputs(ex, &self.frame, &srcs, i, out) {
                sink(i, Ok(out));
            } else {
                match self.reference(h, out) {
                    Ok(()) => sink(i, Ok(out)),
                    Err(e) => sink(i, Err(&e)),
                }
            }
        }
    }

    pub(super) fn reference(&self, hh: &Household, out: &mut Vec<Value>) -> Result<(), EvalError> {
        let mut ev = self.cp.reference_eval(hh, self.month);
        self.cp.reference_outputs(&mut ev, out)
    }

    /// Evaluates a batch (at most [`BATCH`] households) with the programme totals and hands each
    /// household, in order, to `f` as a [`Lane`]: its outputs (the reference's when the compiled
    /// path defers it) and the means to add it to a [`Totals`]. For callers that decide household by
    /// household what to do with the outputs (the simulator's administration).
    pub fn run_batch(
        &mut self,
        hs: &[Household],
        mut f: impl FnMut(usize, Result<Lane<'_, '_>, EvalError>),
    ) {
        debug_assert!(hs.len() <= BATCH);
        self.cp.prog.prepare(&mut self.frame, hs);
        self.run(hs, true);
        let this = &*self;
        let mut out = Vec::with_capacity(this.cp.outputs.len() + this.cp.exprs.len());
        for (i, h) in hs.iter().enumerate() {
            out.clear();
            if this.outputs(hs, i, &mut out) {
                f(
                    i,
                    Ok(Lane {
                        session: this,
                        hh: h,
                        lane: i,
                        values: &out,
                        ev: None,
                    }),
                );
            } else {
                let mut ev = this.cp.reference_eval(h, this.month);
                match this.cp.reference_outputs(&mut ev, &mut out) {
                    Ok(()) => f(
                        i,
                        Ok(Lane {
                            session: this,
                            hh: h,
                            lane: i,
                            values: &out,
                            ev: Some(ev),
                        }),
                    ),
                    Err(e) => f(i, Err(e)),
                }
            }
        }
    }

    /// Appends the outputs of `hh` to `out`; on an error `out` is left as it was.
    pub fn evaluate_into(&mut self, hh: &Household, out: &mut Vec<Value>) -> Result<(), EvalError> {
        if self.try_evaluate(hh, out) {
            return Ok(());
        }
        self.reference(hh, out)
    }

    /// The compiled path alone: appends the outputs and returns `true`, or returns `false` (leaving
    /// `out` as it was) when the household needs the reference evaluator (an error, or values beyond
    /// the compiled path).
    pub fn try_evaluate(&mut self, hh: &Household, out: &mut Vec<Value>) -> bool {
        let hs = std::slice::from_ref(hh);
        self.cp.prog.prepare(&mut self.frame, hs);
        self.run(hs, false);
        self.outputs(hs, 0, out)
    }

    /// Whether the compiled path handles `hh` by itself.
    pub fn is_fast(&mut self, hh: &Household) -> bool {
        let mut out = Vec::new();
        self.try_evaluate(hh, &mut out)
    }
}
