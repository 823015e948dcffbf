//! Programme-level evaluation: the population totals (`sum(x for households)`, `count(persons where ...)`)
//! that programme definitions use, accumulated household by household in bounded memory and mergeable
//! across threads, then the programme definitions themselves.

use crate::data::Household;
use crate::eval::{AggAcc, EvalError, HouseholdEval, Month, Scope};
use crate::policy::Policy;
use crate::value::Value;
use doudi_dsl::ast::{EntityKind, Span};
use doudi_dsl::ir::*;
use std::collections::HashMap;

mod partial;
pub use partial::PartialError;

/// One population aggregation found in a programme definition.
#[derive(Clone)]
struct TotalSpec<'p> {
    expr: &'p Expr,
}

/// What one household added to the population totals: per aggregation, the elements that passed its
/// filter with their body values ([`Totals::add_recorded`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    /// Aggregations of the policy (to check it is added to totals of the same shape).
    specs: usize,
    /// (aggregation, value) in the order [`Totals::add`] visits them.
    elems: Vec<(u32, Option<Value>)>,
}

impl Contribution {
    /// The contribution's exact representation as bytes (equal numbers with different scales,
    /// `0` and `0.00`, differ): a key for telling contributions apart.
    pub fn key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.specs as u32).to_le_bytes());
        for (i, v) in &self.elems {
            out.extend_from_slice(&i.to_le_bytes());
            match v {
                None => out.push(0xFF),
                Some(v) => v.write_repr(out),
            }
        }
    }
}

/// The state of a [`Totals`] without the policy it borrows: per aggregation its value, count and
/// flag ([`AggAcc::into_parts`]), and the households added.
#[derive(Debug, Clone, PartialEq)]
pub struct TotalsPartial {
    pub households: u64,
    pub accs: Vec<(Option<Value>, i64, Option<bool>)>,
}

/// Accumulates the population totals of a policy's programme definitions.
pub struct Totals<'p> {
    policy: &'p Policy,
    month: Month,
    specs: Vec<TotalSpec<'p>>,
    accs: Vec<AggAcc>,
    pub households: u64,
}

fn collect<'p>(e: &'p Expr, out: &mut Vec<TotalSpec<'p>>) {
    if let ExprKind::Agg {
        coll: Coll::Households | Coll::Persons,
        ..
    } = &e.kind
    {
        out.push(TotalSpec { expr: e });
        return;
    }
    for c in children(e) {
        collect(c, out);
    }
}

/// The direct sub-expressions of an expression.
pub fn children(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Const(_)
        | ExprKind::Input(_)
        | ExprKind::HouseholdInput(_)
        | ExprKind::Id
        | ExprKind::HasHistory
        | ExprKind::Previous(_) => vec![],
        ExprKind::Def(_) | ExprKind::HouseholdDef(_) | ExprKind::Param(_) => vec![],
        ExprKind::ParamAt(_, k) => vec![k],
        ExprKind::Neg(x) | ExprKind::Not(x) | ExprKind::Round(x, _) | ExprKind::Variant(_, x) => {
            vec![x]
        }
        ExprKind::Arith(_, a, b)
        | ExprKind::Cmp(_, a, b)
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b) => vec![a, b],
        ExprKind::In(x, _) => vec![x],
        ExprKind::If(c, a, b) => vec![c, a, b],
        ExprKind::Builtin(_, xs) | ExprKind::Extern(_, xs) => xs.iter().collect(),
        ExprKind::Agg { body, filter, .. } => {
            body.iter().chain(filter.iter()).map(|b| &**b).collect()
        }
    }
}

/// Every expression of a definition: body (or table columns, rows, otherwise) and exceptions.
pub fn def_exprs(d: &Def) -> Vec<&Expr> {
    let mut v: Vec<&Expr> = Vec::new();
    match &d.body {
        DefBody::Expr(e) => v.push(e),
        DefBody::Table(t) => {
            v.extend(t.columns.iter());
            v.extend(t.rows.iter().map(|r| &r.result));
            v.extend(t.otherwise.iter());
        }
    }
    for x in &d.exceptions {
        v.push(&x.cond);
        v.push(&x.value);
    }
    v
}

impl<'p> Totals<'p> {
    pub fn new(policy: &'p Policy, month: Month) -> Totals<'p> {
        let specs: Vec<TotalSpec<'p>> = Totals::spec_exprs(policy)
            .into_iter()
            .map(|expr| TotalSpec { expr })
            .collect();
        let accs = specs.iter().map(|s| new_acc(s.expr)).collect();
        Totals {
            policy,
            month,
            specs,
            accs,
            households: 0,
        }
    }

    /// The population aggregations of the programme definitions, in the order totals keep them.
    pub fn spec_exprs(policy: &'p Policy) -> Vec<&'p Expr> {
        let mut specs = Vec::new();
        for d in policy
            .program
            .defs
            .iter()
            .filter(|d| d.entity == EntityKind::Programme)
        {
            for e in def_exprs(d) {
                collect(e, &mut specs);
            }
        }
        specs.into_iter().map(|s| s.expr).collect()
    }

    /// Adds one household from values computed elsewhere (the compiled path): for each
    /// household, or each member, that passes an aggregation's filter, the aggregation's index and
    /// its body's value, in the order [`Totals::add`] visits them.
    pub(crate) fn add_values(&mut self, values: &[(u32, Option<Value>)]) -> Result<(), EvalError> {
        self.households += 1;
        for (i, v) in values {
            let i = *i as usize;
            self.accs[i].add(v.clone()).map_err(|_| {
                EvalError::new(
                    "the population total is too large (overflow)",
                    self.specs[i].expr.span,
                )
            })?;
        }
        Ok(())
    }

    /// Like [`Totals::add_values`], for a household that stands for `weight` households
    /// ([`Totals::add_weighted`]); with `record`, also returns what it added.
    pub(crate) fn add_values_weighted(
        &mut self,
        values: &[(u32, Option<Value>)],
        weight: u64,
        record: bool,
    ) -> Result<Option<Contribution>, EvalError> {
        let w = i64::try_from(weight)
            .map_err(|_| EvalError::plain("the household weight is too large"))?;
        self.households = self.households.saturating_add(weight);
        let mut rec = if record {
            Some(Vec::with_capacity(values.len()))
        } else {
            None
        };
        for (i, v) in values {
            let i = *i as usize;
            if let Some(r) = rec.as_mut() {
                r.push((i as u32, v.clone()));
            }
            self.accs[i].add_weighted(v.clone(), w).map_err(|_| {
                EvalError::new(
                    "the population total is too large (overflow)",
                    self.specs[i].expr.span,
                )
            })?;
        }
        Ok(rec.map(|elems| Contribution {
            specs: self.specs.len(),
            elems,
        }))
    }

    /// Whether the policy has programme definitions at all.
    pub fn is_empty(&self) -> bool {
        !self
            .policy
            .program
            .defs
            .iter()
            .any(|d| d.entity == EntityKind::Programme)
    }

    /// An empty accumulator of the same shape (for another thread).
    pub fn fork(&self) -> Totals<'p> {
        Totals {
            policy: self.policy,
            month: self.month,
            specs: self.specs.clone(),
            accs: self.specs.iter().map(|s| new_acc(s.expr)).collect(),
            households: 0,
        }
    }

    /// Adds one household, reusing an evaluator that already holds its values.
    pub fn add(&mut self, ev: &mut HouseholdEval<'_>) -> Result<(), EvalError> {
        self.add_inner(ev, None, None)
    }

    /// Like [`Totals::add`], for a household that stands for `weight` identical households (a
    /// sample scaled to a population): counts grow by `weight`, sums by `weight ×` the value.
    pub fn add_weighted(
        &mut self,
        ev: &mut HouseholdEval<'_>,
        weight: u64,
    ) -> Result<(), EvalError> {
        self.add_inner(ev, Some(weight), None)
    }

    /// Like [`Totals::add_weighted`], also returning what the household added, so that an unchanged
    /// household can be added again later with [`Totals::add_contribution`] without evaluating it.
    pub fn add_recorded(
        &mut self,
        ev: &mut HouseholdEval<'_>,
        weight: u64,
    ) -> Result<Contribution, EvalError> {
        let mut elems = Vec::new();
        self.add_inner(ev, Some(weight), Some(&mut elems))?;
        Ok(Contribution {
            specs: self.specs.len(),
            elems,
        })
    }

    /// Adds a contribution recorded by [`Totals::add_recorded`] (of a totals of the same policy).
    pub fn add_contribution(&mut self, c: &Contribution, weight: u64) -> Result<(), EvalError> {
        let w = i64::try_from(weight)
            .map_err(|_| EvalError::plain("the household weight is too large"))?;
        if c.specs != self.specs.len() {
            return Err(EvalError::plain(
                "a recorded contribution of another policy was added to the totals",
            ));
        }
        self.households = self.households.saturating_add(weight);
        for (i, v) in &c.elems {
            let i = *i as usize;
            self.accs[i].add_weighted(v.clone(), w).map_err(|_| {
                EvalError::new(
                    "the population total is too large (overflow)",
                    self.specs[i].expr.span,
                )
            })?;
        }
        Ok(())
    }

    /// Adds a household: once, unweighted, when `weight` is `None` (every element through
    /// `AggAcc::add`); otherwise as `weight` households (`AggAcc::add_weighted`). Records what it
    /// added in `rec` when given.
    fn add_inner(
        &mut self,
        ev: &mut HouseholdEval<'_>,
        weight: Option<u64>,
        mut rec: Option<&mut Vec<(u32, Option<Value>)>>,
    ) -> Result<(), EvalError> {
        let w = weight
            .map(i64::try_from)
            .transpose()
            .map_err(|_| EvalError::plain("the household weight is too large"))?;
        self.households = self.households.saturating_add(weight.unwrap_or(1));
        for (si, (spec, acc)) in self.specs.iter().zip(self.accs.iter_mut()).enumerate() {
            let ExprKind::Agg {
                coll, body, filter, ..
            } = &spec.expr.kind
            else {
                continue;
            };
            let scopes: Vec<Scope> = match coll {
                Coll::Households => vec![Scope::Household],
                _ => (0..ev.hh.members.len()).map(Scope::Person).collect(),
            };
            for s in scopes {
                if let Some(f) = filter {
                    if !ev.eval(f, s)?.as_bool() {
                        continue;
                    }
                }
                let v = match body {
                    Some(b) => Some(ev.eval(b, s)?),
                    None => None,
                };
                if let Some(r) = rec.as_deref_mut() {
                    r.push((si as u32, v.clone()));
                }
                let added = match w {
                    Some(w) => acc.add_weighted(v, w),
                    None => acc.add(v),
                };
                added.map_err(|_| {
                    EvalError::new(
                        "the population total is too large (overflow)",
                        spec.expr.span,
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Adds a household by itself.
    pub fn add_household(&mut self, hh: &Household) -> Result<(), EvalError> {
        let mut ev = HouseholdEval::new(self.policy, hh, self.month);
        self.add(&mut ev)
    }

    /// Merges another accumulator (in a fixed order, so results do not depend on threads).
    pub fn merge(&mut self, other: Totals<'p>) -> Result<(), EvalError> {
        self.households += other.households;
        for ((a, b), spec) in self.accs.iter_mut().zip(other.accs).zip(&self.specs) {
            a.merge(b).map_err(|_| {
                EvalError::new(
                    "the population total is too large (overflow)",
                    spec.expr.span,
                )
            })?;
        }
        Ok(())
    }

    /// The accumulated state, owned (no policy borrowed): what a worker process sends for another
    /// to merge into a [`Totals`] of the same policy and month ([`Totals::merge_partial`]).
    pub fn into_partial(self) -> TotalsPartial {
        TotalsPartial {
            households: self.households,
            accs: self.accs.into_iter().map(AggAcc::into_parts).collect(),
        }
    }

    /// Merges a state given by [`Totals::into_partial`] (of a totals of the same policy), exactly
    /// as [`Totals::merge`] merges the accumulator it came from.
    pub fn merge_partial(&mut self, other: TotalsPartial) -> Result<(), EvalError> {
        if other.accs.len() != self.accs.len() {
            return Err(EvalError::plain(
                "partial programme totals of another policy were merged into the totals",
            ));
        }
        self.households = self.households.saturating_add(other.households);
        for ((a, b), spec) in self.accs.iter_mut().zip(other.accs).zip(&self.specs) {
            a.merge_parts(b).map_err(|_| {
                EvalError::new(
                    "the population total is too large (overflow)",
                    spec.expr.span,
                )
            })?;
        }
        Ok(())
    }

    /// Evaluates every programme definition: `(definition, value)` in declaration order.
    pub fn finish(self) -> Result<Vec<(DefId, Value)>, EvalError> {
        let mut map: HashMap<Span, Value> = HashMap::new();
        for (spec, acc) in self.specs.iter().zip(self.accs) {
            let v = acc
                .finish()
                .map_err(|m| EvalError::new(m, spec.expr.span))?;
            map.insert(spec.expr.span, v);
        }
        let empty = Household {
            id: String::new(),
            fields: Vec::new(),
            members: Vec::new(),
            previous: None,
        };
        let mut ev = HouseholdEval::for_programme(self.policy, &empty, self.month, &map);
        let mut out = Vec::new();
        for (i, d) in self.policy.program.defs.iter().enumerate() {
            if d.entity == EntityKind::Programme {
                out.push((i as DefId, ev.def(i as DefId, Scope::Programme)?));
            }
        }
        Ok(out)
    }
}

fn new_acc(e: &Expr) -> AggAcc {
    match &e.kind {
        ExprKind::Agg { kind, .. } => AggAcc::new(*kind, e.ty),
        _ => AggAcc::new(doudi_dsl::ast::AggKind::Count, Ty::Int),
    }
}

/// Evaluates programme definitions over a population held in memory.
pub fn evaluate_programme(
    policy: &Policy,
    households: &[Household],
    month: Month,
) -> Result<Vec<(DefId, Value)>, EvalError> {
    let mut t = Totals::new(policy, month);
    for h in households {
        t.add_household(h)?;
    }
    t.finish()
}
