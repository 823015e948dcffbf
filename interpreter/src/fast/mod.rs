//! The compiled fast path: a checked policy compiled into closures for evaluating populations.
//!
//! [`HouseholdEval`](crate::eval::HouseholdEval) stays the reference (it explains, answers what-if
//! questions and produces every error message). [`CompiledPolicy`] computes the same outputs faster:
//!
//! - **Closure compilation.** Every definition needed for the requested outputs (and for programme
//!   totals) is compiled once into a tree of boxed closures, specialised by the static category of
//!   each expression (bool, enum, number, other), so evaluation does not match on `Value`s, hash,
//!   clone `Arc`s or look parameters up by date. Parameters are resolved once per interval between
//!   their `from` dates.
//! - **The reference's order.** Definitions are evaluated lazily and memoised per household (a flat
//!   frame of slots: household definitions, then person definitions per member), with the same
//!   short-circuits, the same aggregation early exits, table hit policies and exception conflicts,
//!   so the compiled path computes exactly the operations the reference computes.
//! - **Fast exact numbers.** Numbers are [`q::Q`] fractions with 64-bit parts (see its module
//!   documentation for why they can never disagree with [`Num`](crate::num::Num)).
//! - **Bail out, never diverge.** Anything the compiled path does not handle itself (an error of any
//!   kind, a number outside its bounds, an extern called with a decimal argument) abandons the
//!   household, which is then evaluated by the reference. So the values are the reference's values
//!   and every error is the reference's error (message, span, definition, household, member).
//!
//! Evaluation of a chunk is parallel (rayon) with results in input order, so nothing depends on the
//! number of threads. The differential test (`interpreter/tests/fast_differential.rs`) runs both
//! evaluators on seeded random households and compares every output and every error.

mod q;

use crate::data::Household;
use crate::eval::{compare, EvalError, HouseholdEval, Month, Scope};
use crate::policy::Policy;
use crate::programme::{def_exprs, Totals};
use crate::value::Value;
use doudi_dsl::ast::{AggKind, CmpOp, Date, EntityKind, HitPolicy};
use doudi_dsl::ir::*;
use q::{msc, Bail, Q, R};
use rayon::prelude::*;
use std::cmp::Ordering;

/// Why a policy (or a set of outputs) cannot be compiled; callers use the reference evaluator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError(pub String);

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for CompileError {}

type CR<T> = Result<T, CompileError>;

fn unsupported<T>(what: impl Into<String>) -> CR<T> {
    Err(CompileError(what.into()))
}

// ---------------------------------------------------------------------------------------------
// Run-time values and the frame
// ---------------------------------------------------------------------------------------------

/// A slot of the frame (a memoised definition) or the value of an expression of any category.
#[derive(Debug, Clone, Copy)]
enum FV {
    Empty,
    B(bool),
    N(Q),
    E(u16),
    /// A text or date value, kept in `Ctx::others`.
    X(u32),
}

/// An owned value of any category (table cells, parameters).
#[derive(Debug, Clone)]
enum K {
    B(bool),
    N(Q),
    E(u16),
    V(Value),
}

/// A parameter value in force in an interval (`Missing`: none in force, or beyond the fast path).
#[derive(Debug, Clone)]
enum PV {
    Missing,
    K(K),
}

/// The evaluation frame of one household.
pub struct Ctx<'c, 'h> {
    plan: &'c Plan,
    policy: &'c Policy,
    params: &'c [PV],
    hh: &'h Household,
    /// Household definitions by slot.
    hm: Vec<FV>,
    /// Person definitions: member * person_slots + slot.
    pm: Vec<FV>,
    np: usize,
    others: Vec<Value>,
}

type F<T> = Box<dyn Fn(&mut Ctx<'_, '_>, usize) -> R<T> + Send + Sync>;
type BoolFn = F<bool>;
type NumFn = F<Q>;
type EnumFn = F<u16>;
type ValFn = F<Value>;
type AnyFn = F<FV>;
type KFn = F<K>;

/// A compiled expression, by the category of its type.
enum C {
    B(BoolFn),
    N(NumFn),
    E(EnumFn),
    V(ValFn),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cat {
    B,
    N,
    E,
    V,
}

fn cat(ty: Ty) -> Cat {
    match ty {
        Ty::Bool => Cat::B,
        Ty::Enum(_) => Cat::E,
        Ty::Text | Ty::Date => Cat::V,
        _ => Cat::N,
    }
}

impl C {
    fn cat(&self) -> Cat {
        match self {
            C::B(_) => Cat::B,
            C::N(_) => Cat::N,
            C::E(_) => Cat::E,
            C::V(_) => Cat::V,
        }
    }
    fn any(self) -> AnyFn {
        match self {
            C::B(f) => Box::new(move |cx, p| f(cx, p).map(FV::B)),
            C::N(f) => Box::new(move |cx, p| f(cx, p).map(FV::N)),
            C::E(f) => Box::new(move |cx, p| f(cx, p).map(FV::E)),
            C::V(f) => Box::new(move |cx, p| {
                let v = f(cx, p)?;
                cx.others.push(v);
                Ok(FV::X((cx.others.len() - 1) as u32))
            }),
        }
    }
    fn k(self) -> KFn {
        match self {
            C::B(f) => Box::new(move |cx, p| f(cx, p).map(K::B)),
            C::N(f) => Box::new(move |cx, p| f(cx, p).map(K::N)),
            C::E(f) => Box::new(move |cx, p| f(cx, p).map(K::E)),
            C::V(f) => Box::new(move |cx, p| f(cx, p).map(K::V)),
        }
    }
    fn num(self) -> CR<NumFn> {
        match self {
            C::N(f) => Ok(f),
            _ => unsupported("expected a number"),
        }
    }
    fn bool(self) -> CR<BoolFn> {
        match self {
            C::B(f) => Ok(f),
            _ => unsupported("expected a condition"),
        }
    }
}

impl<'c, 'h> Ctx<'c, 'h> {
    #[inline]
    fn hdef(&mut self, id: usize, slot: usize) -> R<FV> {
        match self.hm[slot] {
            FV::Empty => {
                let plan = self.plan;
                let v = (plan.defs[id])(self, usize::MAX)?;
                self.hm[slot] = v;
                Ok(v)
            }
            v => Ok(v),
        }
    }
    #[inline]
    fn pdef(&mut self, id: usize, slot: usize, p: usize) -> R<FV> {
        let i = p * self.np + slot;
        match self.pm[i] {
            FV::Empty => {
                let plan = self.plan;
                let v = (plan.defs[id])(self, p)?;
                self.pm[i] = v;
                Ok(v)
            }
            v => Ok(v),
        }
    }
    fn to_value(&self, v: FV) -> Value {
        match v {
            FV::B(b) => Value::Bool(b),
            FV::E(e) => Value::Enum(e),
            FV::N(q) => q_value(q),
            FV::X(i) => self.others[i as usize].clone(),
            FV::Empty => Value::Bool(false),
        }
    }
}

fn q_value(q: Q) -> Value {
    if q.int {
        Value::Int(q.n)
    } else {
        Value::Num(q.to_num())
    }
}

#[inline]
fn num_of(v: &Value) -> R<Q> {
    match v {
        Value::Num(n) => Q::from_num(n),
        Value::Int(i) => Q::int(*i),
        _ => Err(Bail),
    }
}

fn k_of_value(v: &Value) -> R<K> {
    Ok(match v {
        Value::Bool(b) => K::B(*b),
        Value::Enum(e) => K::E(*e),
        Value::Int(_) | Value::Num(_) => K::N(num_of(v)?),
        v => K::V(v.clone()),
    })
}

fn k_of_const(c: &Const) -> R<K> {
    k_of_value(&crate::eval::const_value(c))
}

#[inline]
fn ord_ok(op: CmpOp, o: Ordering) -> bool {
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    }
}

/// `eval::compare` on owned values of any category.
fn compare_k(op: CmpOp, a: &K, b: &K) -> bool {
    match (a, b) {
        (K::N(x), K::N(y)) => ord_ok(op, x.cmp(*y)),
        (K::B(x), K::B(y)) => ord_ok(op, x.cmp(y)),
        (K::E(x), K::E(y)) => ord_ok(op, x.cmp(y)),
        (K::V(x), K::V(y)) => compare(op, x, y),
        _ => op == CmpOp::Ne,
    }
}

/// `Value`'s `==` (which the reference uses for exception conflicts).
fn same_k(a: &K, b: &K) -> bool {
    match (a, b) {
        (K::N(x), K::N(y)) => x.same(*y),
        (K::B(x), K::B(y)) => x == y,
        (K::E(x), K::E(y)) => x == y,
        (K::V(x), K::V(y)) => x == y,
        _ => false,
    }
}

/// `coerce_value`: an integer value of a decimal/percent/money definition becomes a number.
#[inline]
fn coerce_q(q: Q, ty: Ty) -> Q {
    if q.int && matches!(ty, Ty::Decimal | Ty::Percent | Ty::Money(_)) {
        q.as_num_kind()
    } else {
        q
    }
}

#[inline]
fn coerce_fv(v: FV, ty: Ty) -> FV {
    match v {
        FV::N(q) => FV::N(coerce_q(q, ty)),
        v => v,
    }
}

/// `zero_of`.
fn zero_q(ty: Ty) -> Q {
    if ty.is_integer() {
        Q::ZERO_INT
    } else {
        Q::ZERO_NUM
    }
}

/// `step == 10^e`, as `num::step_exponent`.
fn step_exponent(step: rust_decimal::Decimal) -> Option<i32> {
    if step.is_sign_negative() || step.is_zero() {
        return None;
    }
    let n = step.normalize();
    let (m, s) = (n.mantissa() as u128, n.scale());
    if s > 0 {
        (m == 1).then(|| -(s as i32))
    } else {
        (0..=28u32).find(|&k| 10u128.pow(k) == m).map(|k| k as i32)
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters, resolved per interval between their `from` dates
// ---------------------------------------------------------------------------------------------

struct ParamTable {
    /// Sorted distinct `from` dates of every parameter.
    breaks: Vec<Date>,
    /// Per interval (before the first break, then from each break): values at `offsets[p] + key`.
    values: Vec<Vec<PV>>,
    offsets: Vec<usize>,
    counts: Vec<usize>,
}

impl ParamTable {
    fn new(program: &Program) -> ParamTable {
        let mut breaks: Vec<Date> = program.params.iter().flat_map(|p| p.versions.iter().filter_map(|v| v.from)).collect();
        breaks.sort();
        breaks.dedup();
        let mut offsets = Vec::new();
        let mut counts = Vec::new();
        let mut total = 0;
        for p in &program.params {
            let n = p.versions.iter().map(|v| v.values.len()).max().unwrap_or(0);
            offsets.push(total);
            counts.push(n);
            total += n;
        }
        let mut values = Vec::new();
        for i in 0..=breaks.len() {
            let mut row = Vec::with_capacity(total);
            for (p, n) in program.params.iter().zip(&counts) {
                let version = if i == 0 { p.versions.iter().rev().find(|v| v.from.is_none()) } else { p.version_at(breaks[i - 1]) };
                for k in 0..*n {
                    let pv = match version.and_then(|v| v.values.get(k)) {
                        Some(c) => k_of_const(c).map(PV::K).unwrap_or(PV::Missing),
                        None => PV::Missing,
                    };
                    row.push(pv);
                }
            }
            values.push(row);
        }
        ParamTable { breaks, values, offsets, counts }
    }
    fn at(&self, month: Month) -> &[PV] {
        let date = month.first_day();
        let i = self.breaks.partition_point(|b| *b <= date);
        &self.values[i]
    }
}

// ---------------------------------------------------------------------------------------------
// The compiled plan
// ---------------------------------------------------------------------------------------------

struct TotalPlan {
    persons: bool,
    filter: Option<BoolFn>,
    body: Option<AnyFn>,
}

struct Plan {
    /// Every definition's computation, by `DefId` (a bailing closure for those not needed).
    defs: Vec<AnyFn>,
    hslots: usize,
    pslots: usize,
    totals: Vec<TotalPlan>,
}

/// A checked policy compiled for fast evaluation of household outputs. `Send + Sync`.
pub struct CompiledPolicy<'p> {
    policy: &'p Policy,
    outputs: Vec<DefId>,
    plan: Plan,
    params: ParamTable,
}

struct Compiler<'p> {
    prog: &'p Program,
    params: &'p ParamTable,
}

/// How deep definitions may nest before the reference could report "definitions nest too deeply"
/// (the compiled path then refuses the policy).
const MAX_CHAIN: usize = (crate::eval::MAX_DEPTH as usize) - 8;

impl<'p> CompiledPolicy<'p> {
    /// Compiles the definitions `outputs` (household definitions) need, and the population totals of
    /// the policy's programme definitions.
    pub fn new(policy: &'p Policy, outputs: &[DefId]) -> Result<CompiledPolicy<'p>, CompileError> {
        let prog = &policy.program;
        for &o in outputs {
            match prog.defs.get(o as usize) {
                Some(d) if d.entity == EntityKind::Household => {}
                Some(d) => return unsupported(format!("`{}` is not a household definition", d.name)),
                None => return unsupported("unknown definition"),
            }
        }
        let params = ParamTable::new(prog);
        // Which definitions are needed, and how deeply they can nest.
        let mut roots: Vec<DefId> = outputs.to_vec();
        let total_exprs = Totals::spec_exprs(policy);
        for e in &total_exprs {
            collect_defs(e, &mut roots);
        }
        let mut depth: Vec<Option<usize>> = vec![None; prog.defs.len()];
        let mut visiting = vec![false; prog.defs.len()];
        for &r in &roots {
            if chain(prog, r, &mut depth, &mut visiting)? > MAX_CHAIN {
                return unsupported("definitions nest too deeply for the compiled path");
            }
        }
        let c = Compiler { prog, params: &params };
        let mut defs: Vec<AnyFn> = Vec::with_capacity(prog.defs.len());
        for (i, d) in prog.defs.iter().enumerate() {
            if depth[i].is_some() && d.entity != EntityKind::Programme {
                defs.push(c.def(d)?);
            } else {
                defs.push(Box::new(|_, _| Err(Bail)));
            }
        }
        let mut totals = Vec::new();
        for e in &total_exprs {
            let ExprKind::Agg { coll, body, filter, .. } = &e.kind else { return unsupported("a population total") };
            let person = match coll {
                Coll::Households => false,
                Coll::Persons => true,
                Coll::Members => return unsupported("a population total over members"),
            };
            totals.push(TotalPlan {
                persons: person,
                filter: match filter {
                    Some(f) => Some(c.expr(f, person)?.bool()?),
                    None => None,
                },
                body: match body {
                    Some(b) => Some(c.expr(b, person)?.any()),
                    None => None,
                },
            });
        }
        let plan = Plan { defs, hslots: prog.def_counts[1] as usize, pslots: prog.def_counts[0] as usize, totals };
        Ok(CompiledPolicy { policy, outputs: outputs.to_vec(), plan, params })
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

    /// A reusable evaluator for one thread and one month (no allocation per household).
    pub fn session(&self, month: Month) -> Session<'_> {
        Session {
            cp: self,
            month,
            params: self.params.at(month),
            hm: vec![FV::Empty; self.plan.hslots],
            pm: Vec::new(),
            others: Vec::new(),
        }
    }

    /// The outputs for one household: exactly `Policy::evaluate(hh, month, outputs)`.
    pub fn evaluate(&self, hh: &Household, month: Month) -> Result<Vec<Value>, EvalError> {
        let mut out = Vec::with_capacity(self.outputs.len());
        self.session(month).evaluate_into(hh, &mut out)?;
        Ok(out)
    }

    /// The outputs for each household, evaluated in parallel, in input order.
    pub fn evaluate_chunk(&self, households: &[Household], month: Month) -> Vec<Result<Vec<Value>, EvalError>> {
        households
            .par_iter()
            .with_min_len(256)
            .map_init(
                || self.session(month),
                |s, h| {
                    let mut out = Vec::with_capacity(self.outputs.len());
                    s.evaluate_into(h, &mut out).map(|_| out)
                },
            )
            .collect()
    }

    /// Like [`evaluate_chunk`](Self::evaluate_chunk), also adding every household to `totals`
    /// (which must belong to the same policy and month); stops at the first error in input order.
    pub fn evaluate_chunk_with_totals(
        &self,
        households: &[Household],
        month: Month,
        totals: &mut Totals<'p>,
    ) -> Result<Vec<Vec<Value>>, EvalError> {
        const PART: usize = 1024;
        let parts: Vec<Result<(Vec<Vec<Value>>, Totals<'p>), EvalError>> = households
            .par_chunks(PART)
            .map(|part| {
                let mut t = totals.fork();
                let mut s = self.session(month);
                let mut rows = Vec::with_capacity(part.len());
                let mut vals: Vec<(u32, Option<Value>)> = Vec::new();
                for h in part {
                    let mut row = Vec::with_capacity(self.outputs.len());
                    vals.clear();
                    if s.fast(h, &mut row, Some(&mut vals)).is_ok() {
                        t.add_values(&vals)?;
                    } else {
                        let mut ev = HouseholdEval::new(self.policy, h, month);
                        row = self.outputs.iter().map(|&d| ev.def(d, Scope::Household)).collect::<Result<Vec<_>, _>>()?;
                        t.add(&mut ev)?;
                    }
                    rows.push(row);
                }
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

/// A reusable evaluation frame of a [`CompiledPolicy`] for one month.
pub struct Session<'c> {
    cp: &'c CompiledPolicy<'c>,
    month: Month,
    params: &'c [PV],
    hm: Vec<FV>,
    pm: Vec<FV>,
    others: Vec<Value>,
}

impl<'c> Session<'c> {
    pub fn month(&self) -> Month {
        self.month
    }

    /// Appends the outputs of `hh` to `out`; on an error `out` is left as it was.
    pub fn evaluate_into(&mut self, hh: &Household, out: &mut Vec<Value>) -> Result<(), EvalError> {
        let len = out.len();
        if self.fast(hh, out, None).is_ok() {
            return Ok(());
        }
        out.truncate(len);
        let cp = self.cp;
        let mut ev = HouseholdEval::new(cp.policy, hh, self.month);
        for &d in &cp.outputs {
            match ev.def(d, Scope::Household) {
                Ok(v) => out.push(v),
                Err(e) => {
                    out.truncate(len);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The compiled path alone: appends the outputs and returns `true`, or returns `false` (leaving
    /// `out` as it was) when the household needs the reference evaluator (an error, or values beyond
    /// the compiled path).
    pub fn try_evaluate(&mut self, hh: &Household, out: &mut Vec<Value>) -> bool {
        let len = out.len();
        if self.fast(hh, out, None).is_ok() {
            return true;
        }
        out.truncate(len);
        false
    }

    /// Whether the compiled path handles `hh` by itself.
    pub fn is_fast(&mut self, hh: &Household) -> bool {
        let mut out = Vec::new();
        self.try_evaluate(hh, &mut out)
    }

    /// The compiled evaluation; `totals`: also the values of the population totals' bodies.
    fn fast(&mut self, hh: &Household, out: &mut Vec<Value>, totals: Option<&mut Vec<(u32, Option<Value>)>>) -> R<()> {
        let cp = self.cp;
        let plan = &cp.plan;
        let np = plan.pslots;
        self.hm.fill(FV::Empty);
        self.pm.clear();
        self.pm.resize(np * hh.members.len(), FV::Empty);
        self.others.clear();
        let mut cx = Ctx {
            plan,
            policy: cp.policy,
            params: self.params,
            hh,
            hm: std::mem::take(&mut self.hm),
            pm: std::mem::take(&mut self.pm),
            np,
            others: std::mem::take(&mut self.others),
        };
        let r = (|| -> R<()> {
            for &d in &cp.outputs {
                let slot = cp.policy.program.defs[d as usize].slot as usize;
                let v = cx.hdef(d as usize, slot)?;
                out.push(cx.to_value(v));
            }
            if let Some(tv) = totals {
                for (ti, t) in plan.totals.iter().enumerate() {
                    let n = if t.persons { hh.members.len() } else { 1 };
                    for i in 0..n {
                        let sc = if t.persons { i } else { usize::MAX };
                        if let Some(f) = &t.filter {
                            if !f(&mut cx, sc)? {
                                continue;
                            }
                        }
                        let v = match &t.body {
                            Some(b) => {
                                let v = b(&mut cx, sc)?;
                                Some(cx.to_value(v))
                            }
                            None => None,
                        };
                        tv.push((ti as u32, v));
                    }
                }
            }
            Ok(())
        })();
        self.hm = cx.hm;
        self.pm = cx.pm;
        self.others = cx.others;
        r
    }
}

/// The longest chain of nested definitions starting at `id`.
fn chain(prog: &Program, id: DefId, depth: &mut [Option<usize>], visiting: &mut [bool]) -> CR<usize> {
    if let Some(d) = depth[id as usize] {
        return Ok(d);
    }
    if visiting[id as usize] {
        return unsupported("a cycle of definitions");
    }
    visiting[id as usize] = true;
    let mut deps = Vec::new();
    for e in def_exprs(&prog.defs[id as usize]) {
        collect_defs(e, &mut deps);
    }
    let mut best = 0;
    for d in deps {
        best = best.max(chain(prog, d, depth, visiting)?);
    }
    visiting[id as usize] = false;
    depth[id as usize] = Some(best + 1);
    Ok(best + 1)
}

fn collect_defs(e: &Expr, out: &mut Vec<DefId>) {
    match &e.kind {
        ExprKind::Def(d) | ExprKind::HouseholdDef(d) => out.push(*d),
        _ => {}
    }
    for c in crate::programme::children(e) {
        collect_defs(c, out);
    }
}

// ---------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------

impl<'p> Compiler<'p> {
    /// A definition's computation: exceptions, then its expression or table, coerced to its type.
    fn def(&self, d: &Def) -> CR<AnyFn> {
        let person = d.entity == EntityKind::Person;
        let ty = d.ty;
        let body: AnyFn = match &d.body {
            DefBody::Expr(e) => self.expr(e, person)?.any(),
            DefBody::Table(t) => self.table(t, d, person)?,
        };
        if d.exceptions.is_empty() {
            return Ok(Box::new(move |cx, p| body(cx, p).map(|v| coerce_fv(v, ty))));
        }
        let mut xs: Vec<(BoolFn, KFn)> = Vec::new();
        for x in &d.exceptions {
            xs.push((self.expr(&x.cond, person)?.bool()?, self.expr(&x.value, person)?.k()));
        }
        Ok(Box::new(move |cx, p| {
            let mut hit: Option<K> = None;
            for (c, v) in &xs {
                if c(cx, p)? {
                    let v = match v(cx, p)? {
                        K::N(q) => K::N(coerce_q(q, ty)),
                        k => k,
                    };
                    match &hit {
                        // A conflict: the reference reports it.
                        Some(w) if !same_k(w, &v) => return Err(Bail),
                        Some(_) => {}
                        None => hit = Some(v),
                    }
                }
            }
            match hit {
                Some(K::B(b)) => Ok(FV::B(b)),
                Some(K::E(e)) => Ok(FV::E(e)),
                Some(K::N(q)) => Ok(FV::N(q)),
                Some(K::V(v)) => {
                    cx.others.push(v);
                    Ok(FV::X((cx.others.len() - 1) as u32))
                }
                None => body(cx, p).map(|v| coerce_fv(v, ty)),
            }
        }))
    }

    fn table(&self, t: &Table, d: &Def, person: bool) -> CR<AnyFn> {
        let cols: Vec<KFn> = t.columns.iter().map(|c| Ok(self.expr(c, person)?.k())).collect::<CR<_>>()?;
        type Test = (u8, CmpOp, K, K);
        let mut rows: Vec<(Vec<Vec<Test>>, AnyFn)> = Vec::new();
        for r in &t.rows {
            let mut cells = Vec::new();
            for tests in &r.cells {
                let mut ts = Vec::new();
                for tst in tests {
                    let kc = |c: &Const| k_of_const(c).map_err(|_| CompileError("a table cell beyond the compiled path".into()));
                    ts.push(match tst {
                        CellTest::Eq(c) => (0u8, CmpOp::Eq, kc(c)?, K::B(false)),
                        CellTest::Cmp(op, c) => (0, *op, kc(c)?, K::B(false)),
                        CellTest::Range(a, b) => (1, CmpOp::Ge, kc(a)?, kc(b)?),
                    });
                }
                cells.push(ts);
            }
            rows.push((cells, self.expr(&r.result, person)?.any()));
        }
        let otherwise = match &t.otherwise {
            Some(o) => Some(self.expr(o, person)?.any()),
            None => None,
        };
        let hit = t.hit;
        let zero = zero_q(d.ty);
        Ok(Box::new(move |cx, p| {
            let mut vals: Vec<K> = Vec::with_capacity(cols.len());
            for c in &cols {
                vals.push(c(cx, p)?);
            }
            let mut found: Option<usize> = None;
            let mut sum: Option<Q> = None;
            for (ri, (cells, result)) in rows.iter().enumerate() {
                let matches = cells.iter().zip(&vals).all(|(tests, v)| {
                    tests.is_empty()
                        || tests.iter().any(|(kind, op, a, b)| {
                            if *kind == 0 {
                                compare_k(*op, v, a)
                            } else {
                                compare_k(CmpOp::Ge, v, a) && compare_k(CmpOp::Le, v, b)
                            }
                        })
                });
                if !matches {
                    continue;
                }
                match hit {
                    HitPolicy::First => return result(cx, p),
                    HitPolicy::Unique => {
                        if found.is_some() {
                            return Err(Bail);
                        }
                        found = Some(ri);
                    }
                    HitPolicy::Sum => {
                        let FV::N(v) = result(cx, p)? else { return Err(Bail) };
                        sum = Some(match sum {
                            None => v,
                            Some(s) => s.add(v)?,
                        });
                    }
                }
            }
            match (hit, found) {
                (HitPolicy::Unique, Some(ri)) => return (rows[ri].1)(cx, p),
                (HitPolicy::Sum, _) => return Ok(FV::N(sum.unwrap_or(zero))),
                _ => {}
            }
            match &otherwise {
                Some(o) => o(cx, p),
                None => Err(Bail),
            }
        }))
    }

    fn expr(&self, e: &Expr, person: bool) -> CR<C> {
        let ty = e.ty;
        let category = cat(ty);
        Ok(match &e.kind {
            ExprKind::Const(c) => match k_of_const(c) {
                Ok(K::B(b)) => C::B(Box::new(move |_, _| Ok(b))),
                Ok(K::N(q)) => C::N(Box::new(move |_, _| Ok(q))),
                Ok(K::E(x)) => C::E(Box::new(move |_, _| Ok(x))),
                Ok(K::V(v)) => C::V(Box::new(move |_, _| Ok(v.clone()))),
                Err(_) => C::N(Box::new(|_, _| Err(Bail))),
            },
            ExprKind::Input(slot) => {
                let slot = *slot as usize;
                if person {
                    self.input(category, getter(move |h: &Household, p: usize| &h.members[p].fields[slot]))
                } else {
                    self.input(category, getter(move |h: &Household, _p: usize| &h.fields[slot]))
                }
            }
            ExprKind::HouseholdInput(slot) => {
                let slot = *slot as usize;
                self.input(category, getter(move |h: &Household, _p: usize| &h.fields[slot]))
            }
            ExprKind::Id => {
                if person {
                    C::V(Box::new(|cx, p| Ok(Value::Text(cx.hh.members[p].id.as_str().into()))))
                } else {
                    C::V(Box::new(|cx, _| Ok(Value::Text(cx.hh.id.as_str().into()))))
                }
            }
            ExprKind::Def(id) | ExprKind::HouseholdDef(id) => {
                let d = &self.prog.defs[*id as usize];
                let (id, slot) = (*id as usize, d.slot as usize);
                let pers = d.entity == EntityKind::Person;
                if pers && !person {
                    return unsupported("a person definition outside person scope");
                }
                if d.entity == EntityKind::Programme {
                    return unsupported("a programme definition in a household definition");
                }
                macro_rules! acc {
                    ($variant:ident, $wrap:ident) => {
                        if pers {
                            C::$wrap(Box::new(move |cx, p| match cx.pdef(id, slot, p)? {
                                FV::$variant(v) => Ok(v),
                                _ => Err(Bail),
                            }))
                        } else {
                            C::$wrap(Box::new(move |cx, _| match cx.hdef(id, slot)? {
                                FV::$variant(v) => Ok(v),
                                _ => Err(Bail),
                            }))
                        }
                    };
                }
                match cat(d.ty) {
                    Cat::B => acc!(B, B),
                    Cat::N => acc!(N, N),
                    Cat::E => acc!(E, E),
                    Cat::V => {
                        if pers {
                            C::V(Box::new(move |cx, p| match cx.pdef(id, slot, p)? {
                                FV::X(i) => Ok(cx.others[i as usize].clone()),
                                _ => Err(Bail),
                            }))
                        } else {
                            C::V(Box::new(move |cx, _| match cx.hdef(id, slot)? {
                                FV::X(i) => Ok(cx.others[i as usize].clone()),
                                _ => Err(Bail),
                            }))
                        }
                    }
                }
            }
            ExprKind::Param(p) => self.param(*p, None)?,
            ExprKind::ParamAt(p, k) => {
                let C::E(key) = self.expr(k, person)? else { return unsupported("a parameter key that is not an enum") };
                self.param(*p, Some(key))?
            }
            ExprKind::Neg(x) => {
                let x = self.expr(x, person)?.num()?;
                C::N(Box::new(move |cx, p| Ok(x(cx, p)?.neg())))
            }
            ExprKind::Not(x) => {
                let x = self.expr(x, person)?.bool()?;
                C::B(Box::new(move |cx, p| Ok(!x(cx, p)?)))
            }
            ExprKind::And(a, b) => {
                let (a, b) = (self.expr(a, person)?.bool()?, self.expr(b, person)?.bool()?);
                C::B(Box::new(move |cx, p| Ok(a(cx, p)? && b(cx, p)?)))
            }
            ExprKind::Or(a, b) => {
                let (a, b) = (self.expr(a, person)?.bool()?, self.expr(b, person)?.bool()?);
                C::B(Box::new(move |cx, p| Ok(a(cx, p)? || b(cx, p)?)))
            }
            ExprKind::Arith(op, a, b) => self.arith(*op, a, b, person)?,
            ExprKind::Cmp(op, a, b) => self.cmp(*op, a, b, person)?,
            ExprKind::In(x, items) => {
                let xc = self.expr(x, person)?;
                let ks: Vec<K> = items.iter().map(k_of_const).collect::<R<_>>().map_err(|_| CompileError("an `in` list beyond the compiled path".into()))?;
                match xc {
                    C::E(f) if ks.iter().all(|k| matches!(k, K::E(_))) => {
                        let mut mask: u128 = 0;
                        let mut big = Vec::new();
                        for k in &ks {
                            if let K::E(v) = k {
                                if *v < 128 {
                                    mask |= 1 << v;
                                } else {
                                    big.push(*v);
                                }
                            }
                        }
                        C::B(Box::new(move |cx, p| {
                            let v = f(cx, p)?;
                            Ok(if v < 128 { mask >> v & 1 == 1 } else { big.contains(&v) })
                        }))
                    }
                    C::N(f) if ks.iter().all(|k| matches!(k, K::N(_))) => {
                        let qs: Vec<Q> = ks.iter().filter_map(|k| if let K::N(q) = k { Some(*q) } else { None }).collect();
                        C::B(Box::new(move |cx, p| {
                            let v = f(cx, p)?;
                            Ok(qs.iter().any(|q| v.cmp(*q) == Ordering::Equal))
                        }))
                    }
                    other => {
                        let f = other.k();
                        C::B(Box::new(move |cx, p| {
                            let v = f(cx, p)?;
                            Ok(ks.iter().any(|k| compare_k(CmpOp::Eq, &v, k)))
                        }))
                    }
                }
            }
            ExprKind::If(c, a, b) => {
                let c = self.expr(c, person)?.bool()?;
                let (a, b) = (self.expr(a, person)?, self.expr(b, person)?);
                match (a, b) {
                    (C::N(a), C::N(b)) => C::N(Box::new(move |cx, p| if c(cx, p)? { a(cx, p) } else { b(cx, p) })),
                    (C::B(a), C::B(b)) => C::B(Box::new(move |cx, p| if c(cx, p)? { a(cx, p) } else { b(cx, p) })),
                    (C::E(a), C::E(b)) => C::E(Box::new(move |cx, p| if c(cx, p)? { a(cx, p) } else { b(cx, p) })),
                    (C::V(a), C::V(b)) => C::V(Box::new(move |cx, p| if c(cx, p)? { a(cx, p) } else { b(cx, p) })),
                    _ => return unsupported("`if` branches of different kinds"),
                }
            }
            ExprKind::Builtin(b, args) => self.builtin(*b, args, person)?,
            ExprKind::Round(x, step) => {
                let x = self.expr(x, person)?.num()?;
                match step_exponent(*step) {
                    Some(e) => C::N(Box::new(move |cx, p| x(cx, p)?.round(e))),
                    None => C::N(Box::new(move |_, _| Err(Bail))),
                }
            }
            ExprKind::Extern(id, args) => {
                let id = *id;
                let span = e.span;
                let ret = self.prog.externs[id as usize].ret;
                let args: Vec<KFn> = args.iter().map(|a| Ok(self.expr(a, person)?.k())).collect::<CR<_>>()?;
                let call = move |cx: &mut Ctx<'_, '_>, p: usize| -> R<Value> {
                    let mut vals = Vec::with_capacity(args.len());
                    for a in &args {
                        vals.push(match a(cx, p)? {
                            K::B(b) => Value::Bool(b),
                            K::E(e) => Value::Enum(e),
                            K::N(q) if q.int => Value::Int(q.n),
                            // A script sees a decimal's written scale, which the compiled path does
                            // not follow: the reference calls it.
                            K::N(_) => return Err(Bail),
                            K::V(v) => v,
                        });
                    }
                    cx.policy.call_extern(id, &vals, span).map_err(|_| Bail)
                };
                match cat(ret) {
                    Cat::B => C::B(Box::new(move |cx, p| match call(cx, p)? {
                        Value::Bool(b) => Ok(b),
                        _ => Err(Bail),
                    })),
                    Cat::E => C::E(Box::new(move |cx, p| match call(cx, p)? {
                        Value::Enum(e) => Ok(e),
                        _ => Err(Bail),
                    })),
                    Cat::N => C::N(Box::new(move |cx, p| num_of(&call(cx, p)?))),
                    Cat::V => C::V(Box::new(call)),
                }
            }
            ExprKind::Agg { kind, coll, body, filter } => {
                if *coll != Coll::Members || person {
                    return unsupported("a population aggregation inside a household definition");
                }
                self.agg(*kind, ty, body.as_deref(), filter.as_deref())?
            }
        })
    }

    fn input<G>(&self, category: Cat, get: G) -> C
    where
        G: for<'a> Fn(&'a Household, usize) -> &'a Value + Send + Sync + Copy + 'static,
    {
        match category {
            Cat::N => C::N(Box::new(move |cx, p| num_of(get(cx.hh, p)))),
            Cat::B => C::B(Box::new(move |cx, p| match get(cx.hh, p) {
                Value::Bool(b) => Ok(*b),
                _ => Err(Bail),
            })),
            Cat::E => C::E(Box::new(move |cx, p| match get(cx.hh, p) {
                Value::Enum(e) => Ok(*e),
                _ => Err(Bail),
            })),
            Cat::V => C::V(Box::new(move |cx, p| Ok(get(cx.hh, p).clone()))),
        }
    }

    fn param(&self, id: ParamId, key: Option<EnumFn>) -> CR<C> {
        let prm = &self.prog.params[id as usize];
        let off = self.params.offsets[id as usize];
        let count = self.params.counts[id as usize];
        let category = cat(prm.ty);
        macro_rules! get {
            ($variant:ident, $wrap:ident, $conv:expr) => {
                match key {
                    None => C::$wrap(Box::new(move |cx, _| match cx.params.get(off) {
                        Some(PV::K(K::$variant(v))) if count > 0 => Ok($conv(v)),
                        _ => Err(Bail),
                    })),
                    Some(k) => C::$wrap(Box::new(move |cx, p| {
                        let k = k(cx, p)? as usize;
                        if k >= count {
                            return Err(Bail);
                        }
                        match cx.params.get(off + k) {
                            Some(PV::K(K::$variant(v))) => Ok($conv(v)),
                            _ => Err(Bail),
                        }
                    })),
                }
            };
        }
        Ok(match category {
            Cat::B => get!(B, B, |v: &bool| *v),
            Cat::N => get!(N, N, |v: &Q| *v),
            Cat::E => get!(E, E, |v: &u16| *v),
            Cat::V => get!(V, V, |v: &Value| v.clone()),
        })
    }

    fn arith(&self, op: Arith, a: &Expr, b: &Expr, person: bool) -> CR<C> {
        let fa = self.expr(a, person)?.num()?;
        // A constant right operand (`x / 12`, `x * 0.3`) is captured.
        if let ExprKind::Const(c) = &b.kind {
            if let Ok(K::N(k)) = k_of_const(c) {
                let km = msc(k.n.unsigned_abs().min(i64::MAX as u64) as i64);
                return Ok(C::N(match op {
                    Arith::Add => Box::new(move |cx, p| fa(cx, p)?.add(k)),
                    Arith::Sub => Box::new(move |cx, p| fa(cx, p)?.sub(k)),
                    Arith::Mul => Box::new(move |cx, p| fa(cx, p)?.mul(k)),
                    Arith::Div => Box::new(move |cx, p| fa(cx, p)?.div_with(k, Some(km))),
                }));
            }
        }
        let fb = self.expr(b, person)?.num()?;
        Ok(C::N(match op {
            Arith::Add => Box::new(move |cx, p| {
                let x = fa(cx, p)?;
                x.add(fb(cx, p)?)
            }),
            Arith::Sub => Box::new(move |cx, p| {
                let x = fa(cx, p)?;
                x.sub(fb(cx, p)?)
            }),
            Arith::Mul => Box::new(move |cx, p| {
                let x = fa(cx, p)?;
                x.mul(fb(cx, p)?)
            }),
            Arith::Div => Box::new(move |cx, p| {
                let x = fa(cx, p)?;
                x.div(fb(cx, p)?)
            }),
        }))
    }

    fn cmp(&self, op: CmpOp, a: &Expr, b: &Expr, person: bool) -> CR<C> {
        let (ca, cb) = (self.expr(a, person)?, self.expr(b, person)?);
        Ok(match (ca, cb) {
            (C::N(fa), C::N(fb)) => {
                if let ExprKind::Const(c) = &b.kind {
                    if let Ok(K::N(k)) = k_of_const(c) {
                        return Ok(C::B(Box::new(move |cx, p| Ok(ord_ok(op, fa(cx, p)?.cmp(k))))));
                    }
                }
                C::B(Box::new(move |cx, p| {
                    let x = fa(cx, p)?;
                    Ok(ord_ok(op, x.cmp(fb(cx, p)?)))
                }))
            }
            (C::E(fa), C::E(fb)) => C::B(Box::new(move |cx, p| {
                let x = fa(cx, p)?;
                Ok(ord_ok(op, x.cmp(&fb(cx, p)?)))
            })),
            (C::B(fa), C::B(fb)) => C::B(Box::new(move |cx, p| {
                let x = fa(cx, p)?;
                Ok(ord_ok(op, x.cmp(&fb(cx, p)?)))
            })),
            (ca, cb) => {
                let (fa, fb) = (ca.k(), cb.k());
                C::B(Box::new(move |cx, p| {
                    let x = fa(cx, p)?;
                    Ok(compare_k(op, &x, &fb(cx, p)?))
                }))
            }
        })
    }

    fn builtin(&self, b: Builtin, args: &[Expr], person: bool) -> CR<C> {
        let twelve = Q::int(12).map_err(|_| CompileError("12".into()))?;
        match b {
            Builtin::Monthly | Builtin::Yearly | Builtin::Abs => {
                let [x] = args else { return unsupported("a builtin's arguments") };
                let x = self.expr(x, person)?.num()?;
                Ok(C::N(match b {
                    Builtin::Monthly => Box::new(move |cx, p| x(cx, p)?.div_with(twelve, Some(2))),
                    Builtin::Yearly => Box::new(move |cx, p| x(cx, p)?.mul(twelve)),
                    _ => Box::new(move |cx, p| Ok(x(cx, p)?.abs())),
                }))
            }
            Builtin::Min | Builtin::Max => {
                let min = b == Builtin::Min;
                // The reference evaluates every argument, then keeps the first best one.
                let better = move |o: Ordering| if min { o == Ordering::Less } else { o == Ordering::Greater };
                let cs: Vec<C> = args.iter().map(|a| self.expr(a, person)).collect::<CR<_>>()?;
                if cs.is_empty() {
                    return Ok(C::N(Box::new(|_, _| Err(Bail))));
                }
                if cs.iter().all(|c| c.cat() == Cat::N) {
                    let fs: Vec<NumFn> = cs.into_iter().map(|c| c.num()).collect::<CR<_>>()?;
                    if fs.len() == 2 {
                        let mut it = fs.into_iter();
                        let (fa, fb) = (it.next().unwrap_or_else(|| Box::new(|_, _| Err(Bail))), it.next().unwrap_or_else(|| Box::new(|_, _| Err(Bail))));
                        return Ok(C::N(Box::new(move |cx, p| {
                            let a = fa(cx, p)?;
                            let v = fb(cx, p)?;
                            Ok(if better(v.cmp(a)) { v } else { a })
                        })));
                    }
                    return Ok(C::N(Box::new(move |cx, p| {
                        let mut best = fs[0](cx, p)?;
                        let mut rest: [Q; 8] = [best; 8];
                        let mut extra = Vec::new();
                        for (i, f) in fs[1..].iter().enumerate() {
                            let v = f(cx, p)?;
                            if i < 8 {
                                rest[i] = v;
                            } else {
                                extra.push(v);
                            }
                        }
                        for v in rest.iter().take((fs.len() - 1).min(8)).chain(extra.iter()) {
                            if better(v.cmp(best)) {
                                best = *v;
                            }
                        }
                        Ok(best)
                    })));
                }
                let category = cs[0].cat();
                if cs.iter().any(|c| c.cat() != category) {
                    return unsupported("`min`/`max` of values of different kinds");
                }
                let fs: Vec<KFn> = cs.into_iter().map(|c| c.k()).collect();
                let op = if min { CmpOp::Lt } else { CmpOp::Gt };
                let pick = move |cx: &mut Ctx<'_, '_>, p: usize| -> R<K> {
                    let mut vals = Vec::with_capacity(fs.len());
                    for f in &fs {
                        vals.push(f(cx, p)?);
                    }
                    let mut it = vals.into_iter();
                    let mut best = it.next().ok_or(Bail)?;
                    for v in it {
                        if compare_k(op, &v, &best) {
                            best = v;
                        }
                    }
                    Ok(best)
                };
                Ok(match category {
                    Cat::E => C::E(Box::new(move |cx, p| match pick(cx, p)? {
                        K::E(e) => Ok(e),
                        _ => Err(Bail),
                    })),
                    Cat::B => C::B(Box::new(move |cx, p| match pick(cx, p)? {
                        K::B(b) => Ok(b),
                        _ => Err(Bail),
                    })),
                    _ => C::V(Box::new(move |cx, p| match pick(cx, p)? {
                        K::V(v) => Ok(v),
                        _ => Err(Bail),
                    })),
                })
            }
        }
    }

    fn agg(&self, kind: AggKind, ty: Ty, body: Option<&Expr>, filter: Option<&Expr>) -> CR<C> {
        let filter: Option<BoolFn> = match filter {
            Some(f) => Some(self.expr(f, true)?.bool()?),
            None => None,
        };
        let pass = move |f: &Option<BoolFn>, cx: &mut Ctx<'_, '_>, i: usize| -> R<bool> {
            match f {
                Some(f) => f(cx, i),
                None => Ok(true),
            }
        };
        Ok(match kind {
            AggKind::Count => C::N(Box::new(move |cx, _| {
                let mut n = 0i64;
                for i in 0..cx.hh.members.len() {
                    if pass(&filter, cx, i)? {
                        n += 1;
                    }
                }
                Q::int(n)
            })),
            AggKind::Any | AggKind::All => {
                let body: Option<BoolFn> = match body {
                    Some(b) => Some(self.expr(b, true)?.bool()?),
                    None => None,
                };
                let any = kind == AggKind::Any;
                C::B(Box::new(move |cx, _| {
                    for i in 0..cx.hh.members.len() {
                        if !pass(&filter, cx, i)? {
                            continue;
                        }
                        let v = match &body {
                            Some(b) => b(cx, i)?,
                            None => true,
                        };
                        if any && v {
                            return Ok(true);
                        }
                        if !any && !v {
                            return Ok(false);
                        }
                    }
                    Ok(!any)
                }))
            }
            AggKind::Sum | AggKind::Min | AggKind::Max => {
                let body: Option<NumFn> = match body {
                    Some(b) => Some(self.expr(b, true)?.num()?),
                    None => None,
                };
                let zero = zero_q(ty);
                C::N(Box::new(move |cx, _| {
                    let mut acc: Option<Q> = None;
                    for i in 0..cx.hh.members.len() {
                        if !pass(&filter, cx, i)? {
                            continue;
                        }
                        let v = match &body {
                            Some(b) => b(cx, i)?,
                            None => Q::ZERO_INT,
                        };
                        acc = Some(match acc {
                            None => v,
                            Some(a) => match kind {
                                AggKind::Sum => a.add(v)?,
                                AggKind::Min => {
                                    if v.cmp(a) == Ordering::Less {
                                        v
                                    } else {
                                        a
                                    }
                                }
                                _ => {
                                    if v.cmp(a) == Ordering::Greater {
                                        v
                                    } else {
                                        a
                                    }
                                }
                            },
                        });
                    }
                    match acc {
                        Some(a) => Ok(coerce_q(a, ty)),
                        None if kind == AggKind::Sum => Ok(coerce_q(zero, ty)),
                        None => Err(Bail),
                    }
                }))
            }
        })
    }
}

/// Gives an input accessor closure its higher-ranked signature.
fn getter<G>(g: G) -> G
where
    G: for<'a> Fn(&'a Household, usize) -> &'a Value,
{
    g
}
