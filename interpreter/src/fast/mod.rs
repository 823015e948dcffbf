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

mod q;

use crate::data::Household;
use crate::eval::{compare, EvalError, HouseholdEval, Month, Scope};
use crate::policy::Policy;
use crate::programme::{Contribution, Totals};
use crate::value::Value;
use doudi_dsl::ast::{AggKind, CmpOp, Date, EntityKind, HitPolicy, Span};
use doudi_dsl::ir::*;
use q::{msc, Bail, Q, R};
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

type CR<T> = Result<T, CompileError>;

fn unsupported<T>(what: impl Into<String>) -> CR<T> {
    Err(CompileError(what.into()))
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

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

fn q_value(q: Q) -> Value {
    if q.is_int() {
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
    if q.is_int() && matches!(ty, Ty::Decimal | Ty::Percent | Ty::Money(_)) {
        q.as_num_kind()
    } else {
        q
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
    fn new(program: &doudi_dsl::ir::Program) -> ParamTable {
        let mut breaks: Vec<Date> = program
            .params
            .iter()
            .flat_map(|p| p.versions.iter().filter_map(|v| v.from))
            .collect();
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
                let version = if i == 0 {
                    p.versions.iter().rev().find(|v| v.from.is_none())
                } else {
                    p.version_at(breaks[i - 1])
                };
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
        ParamTable {
            breaks,
            values,
            offsets,
            counts,
        }
    }
    fn at(&self, month: Month) -> &[PV] {
        let date = month.first_day();
        let i = self.breaks.partition_point(|b| *b <= date);
        &self.values[i]
    }
}

// ---------------------------------------------------------------------------------------------
// The columnar program
// ---------------------------------------------------------------------------------------------

/// The level of a register: one lane per household, or one per member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Lv {
    H,
    P,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// Bool lanes: false, true, poison.
const BF: u8 = 0;
const BT: u8 = 1;
const BP: u8 = 2;
/// Enum lanes: poison.
const EP: u16 = u16::MAX;

/// Operands: a register, a constant, or a parameter (constant over a batch).
#[derive(Debug, Clone, Copy)]
enum NO {
    R(u32),
    K(Q),
    P(u32),
}
#[derive(Debug, Clone, Copy)]
enum BO {
    R(u32),
    K(u8),
    P(u32),
}
#[derive(Debug, Clone, Copy)]
enum EO {
    R(u32),
    K(u16),
    P(u32),
}
#[derive(Debug, Clone)]
enum VO {
    R(u32),
    K(Value),
    P(u32),
}
#[derive(Debug, Clone)]
enum AO {
    N(NO),
    B(BO),
    E(EO),
    V(VO),
}

impl AO {
    fn cat(&self) -> Cat {
        match self {
            AO::N(_) => Cat::N,
            AO::B(_) => Cat::B,
            AO::E(_) => Cat::E,
            AO::V(_) => Cat::V,
        }
    }
    fn num(self) -> CR<NO> {
        match self {
            AO::N(o) => Ok(o),
            _ => unsupported("expected a number"),
        }
    }
    fn bool(self) -> CR<BO> {
        match self {
            AO::B(o) => Ok(o),
            _ => unsupported("expected a condition"),
        }
    }
    fn en(self) -> CR<EO> {
        match self {
            AO::E(o) => Ok(o),
            _ => unsupported("expected an enum value"),
        }
    }
}

/// A cell test of a table: `(range?, op, a, b)`.
type Test = (bool, CmpOp, K, K);

#[derive(Debug)]
enum Ins {
    /// A household register copied to each member's lane.
    Bcast {
        cat: Cat,
        dst: u32,
        src: u32,
    },
    Arith {
        op: Arith,
        lv: Lv,
        dst: u32,
        a: NO,
        b: NO,
        kmsc: Option<u8>,
    },
    Neg {
        lv: Lv,
        dst: u32,
        a: NO,
    },
    Abs {
        lv: Lv,
        dst: u32,
        a: NO,
    },
    /// `round(a, 10^e)`; `None`: an invalid step (every lane is poisoned).
    Round {
        lv: Lv,
        dst: u32,
        a: NO,
        e: Option<i32>,
    },
    /// An integer becomes a number (definitions of decimal, percent and money types).
    Coerce {
        lv: Lv,
        dst: u32,
        a: NO,
    },
    MinMaxN {
        lv: Lv,
        dst: u32,
        args: Vec<NO>,
        min: bool,
    },
    CmpN {
        lv: Lv,
        dst: u32,
        op: CmpOp,
        a: NO,
        b: NO,
    },
    CmpE {
        lv: Lv,
        dst: u32,
        op: CmpOp,
        a: EO,
        b: EO,
    },
    CmpB {
        lv: Lv,
        dst: u32,
        op: CmpOp,
        a: BO,
        b: BO,
    },
    InE {
        lv: Lv,
        dst: u32,
        a: EO,
        mask: u128,
    },
    InN {
        lv: Lv,
        dst: u32,
        a: NO,
        set: Vec<Q>,
    },
    Not {
        lv: Lv,
        dst: u32,
        a: BO,
    },
    And {
        lv: Lv,
        dst: u32,
        a: BO,
        b: BO,
    },
    Or {
        lv: Lv,
        dst: u32,
        a: BO,
        b: BO,
    },
    SelectN {
        lv: Lv,
        dst: u32,
        c: BO,
        a: NO,
        b: NO,
    },
    SelectB {
        lv: Lv,
        dst: u32,
        c: BO,
        a: BO,
        b: BO,
    },
    SelectE {
        lv: Lv,
        dst: u32,
        c: BO,
        a: EO,
        b: EO,
    },
    ParamAt {
        lv: Lv,
        cat: Cat,
        dst: u32,
        key: EO,
        off: u32,
        count: u32,
    },
    Count {
        dst: u32,
        filter: BO,
    },
    /// sum, min, max over members (`kind`), coerced to `ty`.
    Fold {
        kind: AggKind,
        dst: u32,
        filter: BO,
        body: NO,
        ty: Ty,
    },
    AnyAll {
        any: bool,
        dst: u32,
        filter: BO,
        body: BO,
    },
    /// A table whose columns are enums and whose cells list variants (bit masks per row and column).
    TableE {
        lv: Lv,
        cat: Cat,
        dst: u32,
        hit: HitPolicy,
        cols: Vec<EO>,
        masks: Vec<Vec<u128>>,
        results: Vec<AO>,
        otherwise: Option<AO>,
        zero: Q,
    },
    /// Any other table, lane by lane on owned values.
    TableK {
        lv: Lv,
        cat: Cat,
        dst: u32,
        hit: HitPolicy,
        cols: Vec<AO>,
        rows: Vec<Vec<Vec<Test>>>,
        results: Vec<AO>,
        otherwise: Option<AO>,
        zero: Q,
    },
    /// Exceptions of a condition: `(condition, value)` in order, then the body.
    ExceptB {
        lv: Lv,
        dst: u32,
        xs: Vec<(BO, BO)>,
        body: BO,
    },
    /// The variant of enum `en` named by the text input `slot` (poison when it names none).
    VariantOfInput {
        lv: Lv,
        dst: u32,
        slot: usize,
        en: EnumId,
    },
    /// Everything else, lane by lane on owned values.
    Generic {
        lv: Lv,
        cat: Cat,
        dst: u32,
        op: Gen,
    },
}

#[derive(Debug)]
enum Gen {
    Cmp(CmpOp, AO, AO),
    In(AO, Vec<K>),
    Select(BO, AO, AO),
    MinMax(Vec<AO>, bool),
    /// Exceptions `(condition, value)` in order, then the body; coerced to `Ty`.
    Except(Vec<(BO, AO)>, AO, Ty),
    Extern(ExternId, Span, Vec<AO>),
    Id,
    Input(usize),
    /// A date function (`Builtin::is_time`), computed by `crate::time::apply` as in the reference.
    Time(Builtin, Vec<AO>),
    /// Whether the household's history was given (household lanes only).
    HasHistory,
    /// Last month's value of a state, from the household's history (household lanes only).
    Previous(usize),
    Coerce(AO, Ty),
    /// The variant of an enum a text names (poison when it names none: the reference reports it).
    Variant(AO, EnumId),
}

/// An input field loaded into a register at the start of a batch.
#[derive(Debug)]
struct Load {
    lv: Lv,
    slot: usize,
    cat: Cat,
    dst: u32,
}

struct TotalPlan {
    lv: Lv,
    filter: BO,
    body: Option<AO>,
}

struct Program {
    loads: Vec<Load>,
    /// Instructions for the outputs, then those only the totals need.
    ins: Vec<Ins>,
    outputs_end: usize,
    /// Level of each register, per category (N, B, E, V).
    levels: [Vec<Lv>; 4],
    outputs: Vec<AO>,
    totals: Vec<TotalPlan>,
}

fn ci(c: Cat) -> usize {
    match c {
        Cat::N => 0,
        Cat::B => 1,
        Cat::E => 2,
        Cat::V => 3,
    }
}

// ---------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------

struct Comp<'p> {
    prog: &'p doudi_dsl::ir::Program,
    params: &'p ParamTable,
    ins: Vec<Ins>,
    levels: [Vec<Lv>; 4],
    loads: Vec<Load>,
    inputs: HashMap<(Lv, usize, bool), AO>,
    bcasts: HashMap<(Cat, u32), u32>,
    defs: Vec<Option<AO>>,
    visiting: Vec<bool>,
    depth: usize,
    /// Number registers that never hold an integer (`Value::Int`) at run time.
    num_only: Vec<bool>,
}

/// How deep definitions may nest (the reference reports "definitions nest too deeply" beyond its
/// `MAX_DEPTH`; the compiled path refuses such policies).
const MAX_CHAIN: usize = (crate::eval::MAX_DEPTH as usize) - 8;

/// Runs a recursive compilation step with room on the stack.
fn grow<T>(f: impl FnOnce() -> T) -> T {
    use doudi_dsl::check::{STACK_GROWTH, STACK_RED_ZONE};
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, f)
}

impl<'p> Comp<'p> {
    fn reg(&mut self, c: Cat, lv: Lv) -> u32 {
        let v = &mut self.levels[ci(c)];
        v.push(lv);
        if c == Cat::N {
            self.num_only.push(false);
        }
        (v.len() - 1) as u32
    }

    /// Whether an operand never holds an integer at run time (then `coerce_value` is a no-op).
    fn never_int(&self, o: &NO) -> bool {
        match o {
            NO::K(q) => !q.is_int(),
            NO::R(r) => self.num_only[*r as usize],
            NO::P(off) => {
                self.params.values.iter().all(
                    |row| matches!(row.get(*off as usize), Some(PV::K(K::N(q))) if !q.is_int()),
                )
            }
        }
    }

    /// Records that a new number register never holds an integer.
    fn never_int_reg(&mut self, o: NO) -> NO {
        if let NO::R(r) = o {
            self.num_only[r as usize] = true;
        }
        o
    }

    /// Pushes an instruction writing number register `dst`, recording whether it can hold an integer
    /// (mirroring `eval::arith`: integers stay integers under `+ - *`, division and rounding give
    /// numbers, a selection or a minimum is one of its operands).
    fn push_n(&mut self, ins: Ins) {
        let never = match &ins {
            Ins::Arith { op: Arith::Div, .. } | Ins::Round { .. } | Ins::Coerce { .. } => true,
            Ins::Arith { a, b, .. } => self.never_int(a) || self.never_int(b),
            Ins::Neg { a, .. } | Ins::Abs { a, .. } => self.never_int(a),
            Ins::SelectN { a, b, .. } => self.never_int(a) && self.never_int(b),
            Ins::MinMaxN { args, .. } => args.iter().all(|a| self.never_int(a)),
            Ins::Fold { ty, .. } => matches!(ty, Ty::Decimal | Ty::Percent | Ty::Money(_)),
            Ins::Bcast {
                cat: Cat::N, src, ..
            } => self.num_only[*src as usize],
            _ => false,
        };
        let dst = match &ins {
            Ins::Arith { dst, .. }
            | Ins::Round { dst, .. }
            | Ins::Coerce { dst, .. }
            | Ins::Neg { dst, .. }
            | Ins::Abs { dst, .. }
            | Ins::SelectN { dst, .. }
            | Ins::MinMaxN { dst, .. }
            | Ins::Fold { dst, .. }
            | Ins::Bcast {
                cat: Cat::N, dst, ..
            } => Some(*dst),
            _ => None,
        };
        if let (Some(d), true) = (dst, never) {
            self.never_int_reg(NO::R(d));
        }
        self.ins.push(ins);
    }

    /// A definition's value at its own level.
    fn def(&mut self, id: DefId) -> CR<AO> {
        if let Some(v) = &self.defs[id as usize] {
            return Ok(v.clone());
        }
        if self.visiting[id as usize] {
            return unsupported("a cycle of definitions");
        }
        if self.depth >= MAX_CHAIN {
            return unsupported("definitions nest too deeply for the compiled path");
        }
        self.visiting[id as usize] = true;
        self.depth += 1;
        let r = grow(|| self.def_inner(id));
        self.depth -= 1;
        self.visiting[id as usize] = false;
        let v = r?;
        self.defs[id as usize] = Some(v.clone());
        Ok(v)
    }

    fn def_inner(&mut self, id: DefId) -> CR<AO> {
        let prog = self.prog;
        let d = &prog.defs[id as usize];
        let lv = match d.entity {
            EntityKind::Person => Lv::P,
            EntityKind::Household => Lv::H,
            EntityKind::Programme => return unsupported("a programme definition"),
        };
        let ty = d.ty;
        let c = cat(ty);
        let body = match &d.body {
            DefBody::Expr(e) => self.expr(e, lv)?,
            DefBody::Table(t) => self.table(t, d, lv)?,
        };
        if d.exceptions.is_empty() {
            return self.coerce(body, ty, lv);
        }
        let mut xs = Vec::new();
        for x in &d.exceptions {
            let cond = self.expr(&x.cond, lv)?.bool()?;
            let val = self.expr(&x.value, lv)?;
            xs.push((cond, val));
        }
        let dst = self.reg(c, lv);
        if let (AO::B(body), true) = (&body, xs.iter().all(|(_, v)| matches!(v, AO::B(_)))) {
            let xs = xs
                .into_iter()
                .filter_map(|(c, v)| if let AO::B(v) = v { Some((c, v)) } else { None })
                .collect();
            self.ins.push(Ins::ExceptB {
                lv,
                dst,
                xs,
                body: *body,
            });
        } else {
            self.ins.push(Ins::Generic {
                lv,
                cat: c,
                dst,
                op: Gen::Except(xs, body, ty),
            });
        }
        Ok(reg_ao(c, dst))
    }

    /// `coerce_value` of a definition's value.
    fn coerce(&mut self, v: AO, ty: Ty, lv: Lv) -> CR<AO> {
        if !matches!(ty, Ty::Decimal | Ty::Percent | Ty::Money(_)) {
            return Ok(v);
        }
        Ok(match v {
            AO::N(NO::K(q)) => AO::N(NO::K(coerce_q(q, ty))),
            AO::N(a) if self.never_int(&a) => AO::N(a),
            AO::N(a) => {
                let dst = self.reg(Cat::N, lv);
                self.push_n(Ins::Coerce { lv, dst, a });
                AO::N(NO::R(dst))
            }
            other => {
                let c = other.cat();
                let dst = self.reg(c, lv);
                self.ins.push(Ins::Generic {
                    lv,
                    cat: c,
                    dst,
                    op: Gen::Coerce(other, ty),
                });
                reg_ao(c, dst)
            }
        })
    }

    /// A household-level operand used in person scope.
    fn down(&mut self, v: AO) -> AO {
        let (c, src) = match &v {
            AO::N(NO::R(r)) => (Cat::N, *r),
            AO::B(BO::R(r)) => (Cat::B, *r),
            AO::E(EO::R(r)) => (Cat::E, *r),
            AO::V(VO::R(r)) => (Cat::V, *r),
            _ => return v, // constants and parameters are the same at every level
        };
        if let Some(&d) = self.bcasts.get(&(c, src)) {
            return reg_ao(c, d);
        }
        let dst = self.reg(c, Lv::P);
        self.push_n(Ins::Bcast { cat: c, dst, src });
        self.bcasts.insert((c, src), dst);
        reg_ao(c, dst)
    }

    fn input(&mut self, lv: Lv, slot: usize, ty: Ty, id: bool) -> AO {
        if let Some(v) = self.inputs.get(&(lv, slot, id)) {
            return v.clone();
        }
        let c = if id { Cat::V } else { cat(ty) };
        let dst = self.reg(c, lv);
        if id {
            self.ins.push(Ins::Generic {
                lv,
                cat: c,
                dst,
                op: Gen::Id,
            });
        } else if c == Cat::V {
            self.ins.push(Ins::Generic {
                lv,
                cat: c,
                dst,
                op: Gen::Input(slot),
            });
        } else {
            self.loads.push(Load {
                lv,
                slot,
                cat: c,
                dst,
            });
        }
        let v = reg_ao(c, dst);
        self.inputs.insert((lv, slot, id), v.clone());
        v
    }

    fn expr(&mut self, e: &Expr, lv: Lv) -> CR<AO> {
        grow(|| self.expr_inner(e, lv))
    }

    fn expr_inner(&mut self, e: &Expr, lv: Lv) -> CR<AO> {
        let c = cat(e.ty);
        Ok(match &e.kind {
            ExprKind::Const(k) => match k_of_const(k) {
                Ok(K::B(b)) => AO::B(BO::K(b as u8)),
                Ok(K::N(q)) => AO::N(NO::K(q)),
                Ok(K::E(x)) => AO::E(EO::K(x)),
                Ok(K::V(v)) => AO::V(VO::K(v)),
                Err(_) => AO::N(NO::K(Q::P)),
            },
            ExprKind::Input(slot) => self.input(lv, *slot as usize, e.ty, false),
            ExprKind::HouseholdInput(slot) => {
                let v = self.input(Lv::H, *slot as usize, e.ty, false);
                if lv == Lv::P {
                    self.down(v)
                } else {
                    v
                }
            }
            ExprKind::Id => self.input(lv, usize::MAX, e.ty, true),
            ExprKind::HasHistory | ExprKind::Previous(_) => {
                if lv != Lv::H {
                    return unsupported("history outside a household definition");
                }
                let op = match &e.kind {
                    ExprKind::Previous(s) => Gen::Previous(*s as usize),
                    _ => Gen::HasHistory,
                };
                let dst = self.reg(c, lv);
                self.ins.push(Ins::Generic {
                    lv,
                    cat: c,
                    dst,
                    op,
                });
                reg_ao(c, dst)
            }
            ExprKind::Def(id) | ExprKind::HouseholdDef(id) => {
                let d = &self.prog.defs[*id as usize];
                let v = self.def(*id)?;
                match (d.entity, lv) {
                    (EntityKind::Person, Lv::P) | (EntityKind::Household, Lv::H) => v,
                    (EntityKind::Household, Lv::P) => self.down(v),
                    _ => return unsupported("a definition used outside its scope"),
                }
            }
            ExprKind::Param(p) => self.param(*p, None, lv)?,
            ExprKind::ParamAt(p, k) => {
                let key = self.expr(k, lv)?.en()?;
                self.param(*p, Some(key), lv)?
            }
            ExprKind::Variant(en, x) => {
                // A household's code (`household.region` in a person definition) is looked up once
                // per household, then broadcast to the members.
                let at = match x.kind {
                    ExprKind::HouseholdInput(_) | ExprKind::HouseholdDef(_) => Lv::H,
                    _ => lv,
                };
                let slot = match x.kind {
                    ExprKind::HouseholdInput(slot) => Some(slot),
                    ExprKind::Input(slot) if at == lv => Some(slot),
                    _ => None,
                };
                let v = match slot {
                    // An input field: read and looked up in one pass, without a text register.
                    Some(slot) => {
                        let dst = self.reg(Cat::E, at);
                        self.ins.push(Ins::VariantOfInput {
                            lv: at,
                            dst,
                            slot: slot as usize,
                            en: *en,
                        });
                        dst
                    }
                    None => {
                        let a = self.expr(x, at)?;
                        let dst = self.reg(Cat::E, at);
                        self.ins.push(Ins::Generic {
                            lv: at,
                            cat: Cat::E,
                            dst,
                            op: Gen::Variant(a, *en),
                        });
                        dst
                    }
                };
                let v = AO::E(EO::R(v));
                if at == lv {
                    v
                } else {
                    self.down(v)
                }
            }
            ExprKind::Neg(x) => {
                let a = self.expr(x, lv)?.num()?;
                let dst = self.reg(Cat::N, lv);
                self.push_n(Ins::Neg { lv, dst, a });
                AO::N(NO::R(dst))
            }
            ExprKind::Not(x) => {
                let a = self.expr(x, lv)?.bool()?;
                let dst = self.reg(Cat::B, lv);
                self.ins.push(Ins::Not { lv, dst, a });
                AO::B(BO::R(dst))
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let and = matches!(e.kind, ExprKind::And(..));
                let a = self.expr(a, lv)?.bool()?;
                let b = self.expr(b, lv)?.bool()?;
                let dst = self.reg(Cat::B, lv);
                self.ins.push(if and {
                    Ins::And { lv, dst, a, b }
                } else {
                    Ins::Or { lv, dst, a, b }
                });
                AO::B(BO::R(dst))
            }
            ExprKind::Arith(op, a, b) => {
                let a = self.expr(a, lv)?.num()?;
                let b = self.expr(b, lv)?.num()?;
                let kmsc = match b {
                    NO::K(k) => Some(msc(k.n.unsigned_abs().min(i64::MAX as u64) as i64)),
                    _ => None,
                };
                let dst = self.reg(Cat::N, lv);
                self.push_n(Ins::Arith {
                    op: *op,
                    lv,
                    dst,
                    a,
                    b,
                    kmsc,
                });
                AO::N(NO::R(dst))
            }
            ExprKind::Cmp(op, a, b) => {
                let (a, b) = (self.expr(a, lv)?, self.expr(b, lv)?);
                let dst = self.reg(Cat::B, lv);
                let op = *op;
                self.ins.push(match (a, b) {
                    (AO::N(a), AO::N(b)) => Ins::CmpN { lv, dst, op, a, b },
                    (AO::E(a), AO::E(b)) => Ins::CmpE { lv, dst, op, a, b },
                    (AO::B(a), AO::B(b)) => Ins::CmpB { lv, dst, op, a, b },
                    (a, b) => Ins::Generic {
                        lv,
                        cat: Cat::B,
                        dst,
                        op: Gen::Cmp(op, a, b),
                    },
                });
                AO::B(BO::R(dst))
            }
            ExprKind::In(x, items) => {
                let a = self.expr(x, lv)?;
                let ks: Vec<K> = items
                    .iter()
                    .map(k_of_const)
                    .collect::<R<_>>()
                    .map_err(|_| CompileError("an `in` list beyond the compiled path".into()))?;
                let dst = self.reg(Cat::B, lv);
                self.ins.push(match a {
                    AO::E(a) if ks.iter().all(|k| matches!(k, K::E(v) if *v < 128)) => {
                        let mask =
                            ks.iter()
                                .fold(0u128, |m, k| if let K::E(v) = k { m | 1 << v } else { m });
                        Ins::InE { lv, dst, a, mask }
                    }
                    AO::N(a) if ks.iter().all(|k| matches!(k, K::N(_))) => {
                        let set = ks
                            .iter()
                            .filter_map(|k| if let K::N(q) = k { Some(*q) } else { None })
                            .collect();
                        Ins::InN { lv, dst, a, set }
                    }
                    a => Ins::Generic {
                        lv,
                        cat: Cat::B,
                        dst,
                        op: Gen::In(a, ks),
                    },
                });
                AO::B(BO::R(dst))
            }
            ExprKind::If(cond, a, b) => {
                let cond = self.expr(cond, lv)?.bool()?;
                let (a, b) = (self.expr(a, lv)?, self.expr(b, lv)?);
                let dst = self.reg(c, lv);
                self.push_n(match (a, b) {
                    (AO::N(a), AO::N(b)) if c == Cat::N => Ins::SelectN {
                        lv,
                        dst,
                        c: cond,
                        a,
                        b,
                    },
                    (AO::B(a), AO::B(b)) if c == Cat::B => Ins::SelectB {
                        lv,
                        dst,
                        c: cond,
                        a,
                        b,
                    },
                    (AO::E(a), AO::E(b)) if c == Cat::E => Ins::SelectE {
                        lv,
                        dst,
                        c: cond,
                        a,
                        b,
                    },
                    (a, b) if a.cat() == c && b.cat() == c => Ins::Generic {
                        lv,
                        cat: c,
                        dst,
                        op: Gen::Select(cond, a, b),
                    },
                    _ => return unsupported("`if` branches of different kinds"),
                });
                reg_ao(c, dst)
            }
            ExprKind::Builtin(b, args) => self.builtin(*b, args, lv, c)?,
            ExprKind::Round(x, step) => {
                let a = self.expr(x, lv)?.num()?;
                let dst = self.reg(Cat::N, lv);
                self.push_n(Ins::Round {
                    lv,
                    dst,
                    a,
                    e: step_exponent(*step),
                });
                AO::N(NO::R(dst))
            }
            ExprKind::Extern(id, args) => {
                let args: Vec<AO> = args.iter().map(|a| self.expr(a, lv)).collect::<CR<_>>()?;
                let rc = cat(self.prog.externs[*id as usize].ret);
                let dst = self.reg(rc, lv);
                self.ins.push(Ins::Generic {
                    lv,
                    cat: rc,
                    dst,
                    op: Gen::Extern(*id, e.span, args),
                });
                reg_ao(rc, dst)
            }
            ExprKind::Agg {
                kind,
                coll,
                body,
                filter,
            } => {
                if *coll != Coll::Members || lv != Lv::H {
                    return unsupported("a population aggregation inside a household definition");
                }
                let filter = match filter {
                    Some(f) => self.expr(f, Lv::P)?.bool()?,
                    None => BO::K(BT),
                };
                match kind {
                    AggKind::Count => {
                        let dst = self.reg(Cat::N, Lv::H);
                        self.ins.push(Ins::Count { dst, filter });
                        AO::N(NO::R(dst))
                    }
                    AggKind::Any | AggKind::All => {
                        let body = match body {
                            Some(b) => self.expr(b, Lv::P)?.bool()?,
                            None => BO::K(BT),
                        };
                        let dst = self.reg(Cat::B, Lv::H);
                        self.ins.push(Ins::AnyAll {
                            any: *kind == AggKind::Any,
                            dst,
                            filter,
                            body,
                        });
                        AO::B(BO::R(dst))
                    }
                    AggKind::Sum | AggKind::Min | AggKind::Max => {
                        let body = match body {
                            Some(b) => self.expr(b, Lv::P)?.num()?,
                            None => NO::K(Q::ZERO_INT),
                        };
                        let dst = self.reg(Cat::N, Lv::H);
                        self.push_n(Ins::Fold {
                            kind: *kind,
                            dst,
                            filter,
                            body,
                            ty: e.ty,
                        });
                        AO::N(NO::R(dst))
                    }
                }
            }
        })
    }

    fn param(&mut self, id: ParamId, key: Option<EO>, lv: Lv) -> CR<AO> {
        let prm = &self.prog.params[id as usize];
        let off = self.params.offsets[id as usize] as u32;
        let count = self.params.counts[id as usize] as u32;
        let c = cat(prm.ty);
        if count == 0 {
            return Ok(match c {
                Cat::N => AO::N(NO::K(Q::P)),
                Cat::B => AO::B(BO::K(BP)),
                Cat::E => AO::E(EO::K(EP)),
                Cat::V => return unsupported("a text parameter with no value"),
            });
        }
        match key {
            None => Ok(match c {
                Cat::N => AO::N(NO::P(off)),
                Cat::B => AO::B(BO::P(off)),
                Cat::E => AO::E(EO::P(off)),
                Cat::V => AO::V(VO::P(off)),
            }),
            Some(key) => {
                let dst = self.reg(c, lv);
                self.ins.push(Ins::ParamAt {
                    lv,
                    cat: c,
                    dst,
                    key,
                    off,
                    count,
                });
                if c == Cat::N && (off..off + count).all(|o| self.never_int(&NO::P(o))) {
                    self.never_int_reg(NO::R(dst));
                }
                Ok(reg_ao(c, dst))
            }
        }
    }

    fn builtin(&mut self, b: Builtin, args: &[Expr], lv: Lv, c: Cat) -> CR<AO> {
        let twelve = Q::or_p(Q::int(12));
        if b.is_time() {
            let args: Vec<AO> = args.iter().map(|a| self.expr(a, lv)).collect::<CR<_>>()?;
            let dst = self.reg(c, lv);
            self.ins.push(Ins::Generic {
                lv,
                cat: c,
                dst,
                op: Gen::Time(b, args),
            });
            return Ok(reg_ao(c, dst));
        }
        match b {
            Builtin::Monthly | Builtin::Yearly | Builtin::Abs => {
                let [x] = args else {
                    return unsupported("a builtin's arguments");
                };
                let a = self.expr(x, lv)?.num()?;
                let dst = self.reg(Cat::N, lv);
                self.push_n(match b {
                    Builtin::Monthly => Ins::Arith {
                        op: Arith::Div,
                        lv,
                        dst,
                        a,
                        b: NO::K(twelve),
                        kmsc: Some(2),
                    },
                    Builtin::Yearly => Ins::Arith {
                        op: Arith::Mul,
                        lv,
                        dst,
                        a,
                        b: NO::K(twelve),
                        kmsc: None,
                    },
                    _ => Ins::Abs { lv, dst, a },
                });
                Ok(AO::N(NO::R(dst)))
            }
            Builtin::Min | Builtin::Max => {
                let min = b == Builtin::Min;
                let args: Vec<AO> = args.iter().map(|a| self.expr(a, lv)).collect::<CR<_>>()?;
                if args.is_empty() {
                    return Ok(AO::N(NO::K(Q::P)));
                }
                if args.iter().all(|a| a.cat() == Cat::N) {
                    let args: Vec<NO> = args.into_iter().map(|a| a.num()).collect::<CR<_>>()?;
                    let dst = self.reg(Cat::N, lv);
                    self.push_n(Ins::MinMaxN { lv, dst, args, min });
                    return Ok(AO::N(NO::R(dst)));
                }
                if args.iter().any(|a| a.cat() != c) {
                    return unsupported("`min`/`max` of values of different kinds");
                }
                let dst = self.reg(c, lv);
                self.ins.push(Ins::Generic {
                    lv,
                    cat: c,
                    dst,
                    op: Gen::MinMax(args, min),
                });
                Ok(reg_ao(c, dst))
            }
            _ => unsupported("a date function"),
        }
    }

    fn table(&mut self, t: &Table, d: &Def, lv: Lv) -> CR<AO> {
        let c = cat(d.ty);
        let zero = zero_q(d.ty);
        let hit = t.hit;
        let otherwise = match &t.otherwise {
            Some(o) => Some(self.expr(o, lv)?),
            None => None,
        };
        let results: Vec<AO> = t
            .rows
            .iter()
            .map(|r| self.expr(&r.result, lv))
            .collect::<CR<_>>()?;
        if results.iter().chain(otherwise.iter()).any(|r| r.cat() != c) {
            return unsupported("a table result of another kind");
        }
        let dst = self.reg(c, lv);
        let enum_cells = c != Cat::V
            && t.columns.iter().all(|col| cat(col.ty) == Cat::E)
            && t.rows.iter().all(|r| {
                r.cells.iter().all(|ts| {
                    ts.iter()
                        .all(|x| matches!(x, CellTest::Eq(Const::Enum(v)) if *v < 128))
                })
            });
        if enum_cells {
            let cols: Vec<EO> = t
                .columns
                .iter()
                .map(|col| self.expr(col, lv)?.en())
                .collect::<CR<_>>()?;
            let masks = t
                .rows
                .iter()
                .map(|r| {
                    r.cells
                        .iter()
                        .map(|ts| {
                            if ts.is_empty() {
                                u128::MAX
                            } else {
                                ts.iter().fold(0u128, |m, x| {
                                    if let CellTest::Eq(Const::Enum(v)) = x {
                                        m | 1 << v
                                    } else {
                                        m
                                    }
                                })
                            }
                        })
                        .collect()
                })
                .collect();
            self.ins.push(Ins::TableE {
                lv,
                cat: c,
                dst,
                hit,
                cols,
                masks,
                results,
                otherwise,
                zero,
            });
            return Ok(reg_ao(c, dst));
        }
        let cols: Vec<AO> = t
            .columns
            .iter()
            .map(|col| self.expr(col, lv))
            .collect::<CR<_>>()?;
        let mut rows = Vec::new();
        for r in &t.rows {
            let mut cells = Vec::new();
            for tests in &r.cells {
                let mut ts = Vec::new();
                for tst in tests {
                    let kc = |c: &Const| {
                        k_of_const(c).map_err(|_| {
                            CompileError("a table cell beyond the compiled path".into())
                        })
                    };
                    ts.push(match tst {
                        CellTest::Eq(x) => (false, CmpOp::Eq, kc(x)?, K::B(false)),
                        CellTest::Cmp(op, x) => (false, *op, kc(x)?, K::B(false)),
                        CellTest::Range(a, b) => (true, CmpOp::Ge, kc(a)?, kc(b)?),
                    });
                }
                cells.push(ts);
            }
            rows.push(cells);
        }
        self.ins.push(Ins::TableK {
            lv,
            cat: c,
            dst,
            hit,
            cols,
            rows,
            results,
            otherwise,
            zero,
        });
        Ok(reg_ao(c, dst))
    }
}

/// A constant operand (not a register, not a parameter).
fn is_const(o: &AO) -> bool {
    matches!(
        o,
        AO::N(NO::K(_)) | AO::B(BO::K(_)) | AO::E(EO::K(_)) | AO::V(VO::K(_))
    )
}

fn reg_ao(c: Cat, r: u32) -> AO {
    match c {
        Cat::N => AO::N(NO::R(r)),
        Cat::B => AO::B(BO::R(r)),
        Cat::E => AO::E(EO::R(r)),
        Cat::V => AO::V(VO::R(r)),
    }
}

// ---------------------------------------------------------------------------------------------
// Execution
// ---------------------------------------------------------------------------------------------

/// The registers of a batch, reused from batch to batch.
#[derive(Default)]
struct Frame {
    n: Vec<Vec<Q>>,
    b: Vec<Vec<u8>>,
    e: Vec<Vec<u16>>,
    v: Vec<Vec<Option<Value>>>,
    /// Households and members in the batch.
    h: usize,
    p: usize,
    /// Members of household `i`: `off[i]..off[i + 1]`.
    off: Vec<usize>,
    /// The household of each member lane.
    hix: Vec<u32>,
    /// Where each member lane is: (household in batch, member index).
    pos: Vec<(u32, u32)>,
}

/// A lane source: a register's lanes, or one value for all.
#[derive(Clone, Copy)]
enum Src<'a, T: Copy> {
    S(&'a [T]),
    K(T),
}

impl<'a, T: Copy> Src<'a, T> {
    #[inline(always)]
    fn at(&self, i: usize) -> T {
        match self {
            Src::S(s) => s[i],
            Src::K(k) => *k,
        }
    }
}

#[inline(always)]
fn zip1<A: Copy, T>(out: &mut [T], a: Src<A>, f: impl Fn(A) -> T) {
    match a {
        Src::S(x) => {
            for (o, &x) in out.iter_mut().zip(x) {
                *o = f(x);
            }
        }
        Src::K(k) => {
            for o in out.iter_mut() {
                *o = f(k);
            }
        }
    }
}

#[inline(always)]
fn zip2<A: Copy, B: Copy, T>(out: &mut [T], a: Src<A>, b: Src<B>, f: impl Fn(A, B) -> T) {
    match (a, b) {
        (Src::S(x), Src::S(y)) => {
            for ((o, &x), &y) in out.iter_mut().zip(x).zip(y) {
                *o = f(x, y);
            }
        }
        (Src::S(x), Src::K(k)) => {
            for (o, &x) in out.iter_mut().zip(x) {
                *o = f(x, k);
            }
        }
        (Src::K(k), Src::S(y)) => {
            for (o, &y) in out.iter_mut().zip(y) {
                *o = f(k, y);
            }
        }
        (Src::K(k), Src::K(l)) => {
            for o in out.iter_mut() {
                *o = f(k, l);
            }
        }
    }
}

#[inline(always)]
fn zip3<C: Copy, A: Copy, T>(
    out: &mut [T],
    c: Src<C>,
    a: Src<A>,
    b: Src<A>,
    f: impl Fn(C, A, A) -> T,
) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = f(c.at(i), a.at(i), b.at(i));
    }
}

// Poison-aware lane operations.

#[inline(always)]
fn n_bin(op: Arith, a: Q, b: Q, kmsc: Option<u8>) -> Q {
    if a.is_p() || b.is_p() {
        return Q::P;
    }
    Q::or_p(match op {
        Arith::Add => a.add(b),
        Arith::Sub => a.sub(b),
        Arith::Mul => a.mul(b),
        Arith::Div => a.div_with(b, kmsc),
    })
}

#[inline(always)]
fn b_of(x: bool) -> u8 {
    x as u8
}

// Three-valued lanes as bits (value `v` = bit 0, poison `p` = bit 1), branch-free so that the lane
// loops vectorise. `a and b`: poisoned if `a` is, or if `a` holds and `b` is; `a or b`: poisoned if
// `a` is, or if `a` does not hold and `b` is.

#[inline(always)]
fn and3(a: u8, b: u8) -> u8 {
    let (va, pa, vb, pb) = (a & 1, a >> 1, b & 1, b >> 1);
    let p = pa | (va & pb);
    (va & vb & (p ^ 1)) | p << 1
}

#[inline(always)]
fn or3(a: u8, b: u8) -> u8 {
    let (va, pa, vb, pb) = (a & 1, a >> 1, b & 1, b >> 1);
    let p = pa | ((va ^ 1) & pb);
    ((va | vb) & (p ^ 1)) | p << 1
}

#[inline(always)]
fn not3(a: u8) -> u8 {
    let (va, pa) = (a & 1, a >> 1);
    ((va ^ 1) & (pa ^ 1)) | pa << 1
}

/// A condition's lane from a comparison that may meet poison.
#[inline(always)]
fn cond3(poison: bool, v: bool) -> u8 {
    let p = poison as u8;
    ((v as u8) & (p ^ 1)) | p << 1
}

struct Exec<'a> {
    params: &'a [PV],
    policy: &'a Policy,
    hs: &'a [Household],
    /// The month evaluated (for `month_start()` and `month_end()`).
    month: Month,
}

impl<'a> Exec<'a> {
    fn lanes(&self, fr: &Frame, lv: Lv) -> usize {
        match lv {
            Lv::H => fr.h,
            Lv::P => fr.p,
        }
    }

    fn ns<'f>(&'f self, fr: &'f Frame, o: &NO) -> Src<'f, Q> {
        match o {
            NO::R(r) => Src::S(&fr.n[*r as usize]),
            NO::K(q) => Src::K(*q),
            NO::P(off) => Src::K(match &self.params[*off as usize] {
                PV::K(K::N(q)) => *q,
                _ => Q::P,
            }),
        }
    }
    fn bs<'f>(&'f self, fr: &'f Frame, o: &BO) -> Src<'f, u8> {
        match o {
            BO::R(r) => Src::S(&fr.b[*r as usize]),
            BO::K(b) => Src::K(*b),
            BO::P(off) => Src::K(match &self.params[*off as usize] {
                PV::K(K::B(b)) => *b as u8,
                _ => BP,
            }),
        }
    }
    fn es<'f>(&'f self, fr: &'f Frame, o: &EO) -> Src<'f, u16> {
        match o {
            EO::R(r) => Src::S(&fr.e[*r as usize]),
            EO::K(e) => Src::K(*e),
            EO::P(off) => Src::K(match &self.params[*off as usize] {
                PV::K(K::E(e)) => *e,
                _ => EP,
            }),
        }
    }

    /// An operand's lane as an owned value (`None`: poison).
    fn k_at(&self, fr: &Frame, o: &AO, i: usize) -> Option<K> {
        match o {
            AO::N(o) => {
                let q = self.ns(fr, o).at(i);
                (!q.is_p()).then_some(K::N(q))
            }
            AO::B(o) => match self.bs(fr, o).at(i) {
                BP => None,
                b => Some(K::B(b == BT)),
            },
            AO::E(o) => match self.es(fr, o).at(i) {
                EP => None,
                e => Some(K::E(e)),
            },
            AO::V(VO::R(r)) => fr.v[*r as usize][i].clone().map(K::V),
            AO::V(VO::K(v)) => Some(K::V(v.clone())),
            AO::V(VO::P(off)) => match &self.params[*off as usize] {
                PV::K(K::V(v)) => Some(K::V(v.clone())),
                _ => None,
            },
        }
    }

    /// Writes owned lane values into a register.
    fn put(&self, fr: &mut Frame, c: Cat, dst: u32, vals: Vec<Option<K>>) {
        let d = dst as usize;
        for (i, v) in vals.into_iter().enumerate() {
            match c {
                Cat::N => {
                    fr.n[d][i] = match v {
                        Some(K::N(q)) => q,
                        _ => Q::P,
                    }
                }
                Cat::B => {
                    fr.b[d][i] = match v {
                        Some(K::B(b)) => b as u8,
                        _ => BP,
                    }
                }
                Cat::E => {
                    fr.e[d][i] = match v {
                        Some(K::E(e)) if e != EP => e,
                        _ => EP,
                    }
                }
                Cat::V => {
                    fr.v[d][i] = match v {
                        Some(K::V(x)) => Some(x),
                        _ => None,
                    }
                }
            }
        }
    }

    // Lanes index several columns at once (`d`, `fr.off`, the filter): index loops read best here.
    #[allow(clippy::needless_range_loop)]
    fn run(&self, ins: &Ins, fr: &mut Frame) {
        macro_rules! take {
            ($field:ident, $dst:expr) => {
                std::mem::take(&mut fr.$field[$dst as usize])
            };
        }
        macro_rules! give {
            ($field:ident, $dst:expr, $v:expr) => {
                fr.$field[$dst as usize] = $v
            };
        }
        match ins {
            Ins::Bcast { cat, dst, src } => {
                let (dst, src) = (*dst as usize, *src);
                let p = fr.p;
                match cat {
                    Cat::N => {
                        let mut d = std::mem::take(&mut fr.n[dst]);
                        let s = self.ns(fr, &NO::R(src));
                        for (o, &h) in d[..p].iter_mut().zip(&fr.hix) {
                            *o = s.at(h as usize);
                        }
                        fr.n[dst] = d;
                    }
                    Cat::B => {
                        let mut d = std::mem::take(&mut fr.b[dst]);
                        let s = self.bs(fr, &BO::R(src));
                        for (o, &h) in d[..p].iter_mut().zip(&fr.hix) {
                            *o = s.at(h as usize);
                        }
                        fr.b[dst] = d;
                    }
                    Cat::E => {
                        let mut d = std::mem::take(&mut fr.e[dst]);
                        let s = self.es(fr, &EO::R(src));
                        for (o, &h) in d[..p].iter_mut().zip(&fr.hix) {
                            *o = s.at(h as usize);
                        }
                        fr.e[dst] = d;
                    }
                    Cat::V => {
                        let mut d = std::mem::take(&mut fr.v[dst]);
                        let s = &fr.v[src as usize];
                        for (o, &h) in d[..p].iter_mut().zip(&fr.hix) {
                            *o = s[h as usize].clone();
                        }
                        fr.v[dst] = d;
                    }
                }
            }
            Ins::Arith {
                op,
                lv,
                dst,
                a,
                b,
                kmsc,
            } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(n, *dst);
                let (sa, sb) = (self.ns(fr, a), self.ns(fr, b));
                let out = &mut d[..n];
                match (op, sb) {
                    // A positive integer constant divisor (`monthly`, `/ 12`) or multiplier.
                    (Arith::Div, Src::K(k)) if k.is_int() && k.n > 0 => {
                        let (k, km) = (k.n, kmsc.unwrap_or(0));
                        zip1(out, sa, |x| {
                            if x.is_p() {
                                x
                            } else {
                                Q::or_p(x.div_int(k, km))
                            }
                        })
                    }
                    (Arith::Mul, Src::K(k)) if k.is_int() => {
                        let k = k.n;
                        zip1(
                            out,
                            sa,
                            |x| if x.is_p() { x } else { Q::or_p(x.mul_int(k)) },
                        )
                    }
                    (Arith::Add, _) => zip2(out, sa, sb, |x, y| n_bin(Arith::Add, x, y, None)),
                    (Arith::Sub, _) => zip2(out, sa, sb, |x, y| n_bin(Arith::Sub, x, y, None)),
                    (Arith::Mul, _) => zip2(out, sa, sb, |x, y| n_bin(Arith::Mul, x, y, None)),
                    (Arith::Div, _) => {
                        let kmsc = *kmsc;
                        zip2(out, sa, sb, |x, y| n_bin(Arith::Div, x, y, kmsc))
                    }
                }
                give!(n, *dst, d);
            }
            Ins::Neg { lv, dst, a } | Ins::Abs { lv, dst, a } | Ins::Coerce { lv, dst, a } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(n, *dst);
                match ins {
                    Ins::Neg { .. } => zip1(&mut d[..n], self.ns(fr, a), |x| {
                        if x.is_p() {
                            x
                        } else {
                            x.neg()
                        }
                    }),
                    Ins::Abs { .. } => zip1(&mut d[..n], self.ns(fr, a), |x| {
                        if x.is_p() {
                            x
                        } else {
                            x.abs()
                        }
                    }),
                    _ => zip1(&mut d[..n], self.ns(fr, a), |x| {
                        if x.is_p() {
                            x
                        } else {
                            x.as_num_kind()
                        }
                    }),
                }
                give!(n, *dst, d);
            }
            Ins::Round { lv, dst, a, e } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(n, *dst);
                match e {
                    Some(e) => {
                        let e = *e;
                        zip1(&mut d[..n], self.ns(fr, a), |x| {
                            if x.is_p() {
                                x
                            } else {
                                Q::or_p(x.round(e))
                            }
                        })
                    }
                    None => d[..n].fill(Q::P),
                }
                give!(n, *dst, d);
            }
            Ins::MinMaxN { lv, dst, args, min } if args.len() == 2 => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(n, *dst);
                let want = if *min {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                // Both evaluated; the second replaces the first only when strictly better.
                zip2(
                    &mut d[..n],
                    self.ns(fr, &args[0]),
                    self.ns(fr, &args[1]),
                    |x, y| {
                        if x.is_p() || y.is_p() {
                            Q::P
                        } else if y.cmp(x) == want {
                            y
                        } else {
                            x
                        }
                    },
                );
                give!(n, *dst, d);
            }
            Ins::MinMaxN { lv, dst, args, min } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(n, *dst);
                let srcs: Vec<Src<Q>> = args.iter().map(|a| self.ns(fr, a)).collect();
                let want = if *min {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                for (i, o) in d[..n].iter_mut().enumerate() {
                    // Every argument is evaluated; the first best one is kept.
                    let mut best = srcs[0].at(i);
                    let mut poison = best.is_p();
                    for s in &srcs[1..] {
                        let v = s.at(i);
                        if v.is_p() {
                            poison = true;
                        } else if !poison && v.cmp(best) == want {
                            best = v;
                        }
                    }
                    *o = if poison { Q::P } else { best };
                }
                give!(n, *dst, d);
            }
            Ins::CmpN { lv, dst, op, a, b } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(b, *dst);
                let op = *op;
                zip2(&mut d[..n], self.ns(fr, a), self.ns(fr, b), |x, y| {
                    if x.is_p() || y.is_p() {
                        BP
                    } else {
                        b_of(ord_ok(op, x.cmp(y)))
                    }
                });
                give!(b, *dst, d);
            }
            Ins::CmpE { lv, dst, op, a, b } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(b, *dst);
                let op = *op;
                match op {
                    CmpOp::Eq => zip2(&mut d[..n], self.es(fr, a), self.es(fr, b), |x, y| {
                        cond3((x == EP) | (y == EP), x == y)
                    }),
                    CmpOp::Ne => zip2(&mut d[..n], self.es(fr, a), self.es(fr, b), |x, y| {
                        cond3((x == EP) | (y == EP), x != y)
                    }),
                    _ => zip2(&mut d[..n], self.es(fr, a), self.es(fr, b), |x, y| {
                        cond3((x == EP) | (y == EP), ord_ok(op, x.cmp(&y)))
                    }),
                }
                give!(b, *dst, d);
            }
            Ins::CmpB { lv, dst, op, a, b } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(b, *dst);
                let op = *op;
                zip2(&mut d[..n], self.bs(fr, a), self.bs(fr, b), |x, y| {
                    if x == BP || y == BP {
                        BP
                    } else {
                        b_of(ord_ok(op, x.cmp(&y)))
                    }
                });
                give!(b, *dst, d);
            }
            Ins::InE { lv, dst, a, mask } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(b, *dst);
                let mask = *mask;
                // A byte table per variant (the poison value `EP` is beyond it).
                let mut table = [0u8; 130];
                for (v, t) in table.iter_mut().enumerate().take(128) {
                    *t = (mask >> v & 1) as u8;
                }
                table[129] = BP;
                zip1(&mut d[..n], self.es(fr, a), |x| {
                    table[(x as usize).min(128) + (x == EP) as usize]
                });
                give!(b, *dst, d);
            }
            Ins::InN { lv, dst, a, set } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(b, *dst);
                zip1(&mut d[..n], self.ns(fr, a), |x| {
                    if x.is_p() {
                        BP
                    } else {
                        b_of(set.iter().any(|q| x.cmp(*q) == Ordering::Equal))
                    }
                });
                give!(b, *dst, d);
            }
            Ins::Not { lv, dst, a } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(b, *dst);
                zip1(&mut d[..n], self.bs(fr, a), not3);
                give!(b, *dst, d);
            }
            Ins::And { lv, dst, a, b } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(b, *dst);
                zip2(&mut d[..n], self.bs(fr, a), self.bs(fr, b), and3);
                give!(b, *dst, d);
            }
            Ins::Or { lv, dst, a, b } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(b, *dst);
                zip2(&mut d[..n], self.bs(fr, a), self.bs(fr, b), or3);
                give!(b, *dst, d);
            }
            Ins::SelectN { lv, dst, c, a, b } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(n, *dst);
                zip3(
                    &mut d[..n],
                    self.bs(fr, c),
                    self.ns(fr, a),
                    self.ns(fr, b),
                    |c, x, y| match c {
                        BT => x,
                        BF => y,
                        _ => Q::P,
                    },
                );
                give!(n, *dst, d);
            }
            Ins::SelectB { lv, dst, c, a, b } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(b, *dst);
                zip3(
                    &mut d[..n],
                    self.bs(fr, c),
                    self.bs(fr, a),
                    self.bs(fr, b),
                    |c, x, y| match c {
                        BT => x,
                        BF => y,
                        _ => BP,
                    },
                );
                give!(b, *dst, d);
            }
            Ins::SelectE { lv, dst, c, a, b } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(e, *dst);
                zip3(
                    &mut d[..n],
                    self.bs(fr, c),
                    self.es(fr, a),
                    self.es(fr, b),
                    |c, x, y| match c {
                        BT => x,
                        BF => y,
                        _ => EP,
                    },
                );
                give!(e, *dst, d);
            }
            Ins::ParamAt {
                lv,
                cat,
                dst,
                key,
                off,
                count,
            } => {
                let n = self.lanes(fr, *lv);
                let table = &self.params[*off as usize..(*off + *count) as usize];
                match cat {
                    Cat::N => {
                        let mut d = take!(n, *dst);
                        let keys = self.es(fr, key);
                        let vals: Vec<Q> = table
                            .iter()
                            .map(|v| if let PV::K(K::N(q)) = v { *q } else { Q::P })
                            .collect();
                        zip1(&mut d[..n], keys, |k| {
                            vals.get(k as usize).copied().unwrap_or(Q::P)
                        });
                        give!(n, *dst, d);
                    }
                    Cat::B => {
                        let mut d = take!(b, *dst);
                        let keys = self.es(fr, key);
                        let vals: Vec<u8> = table
                            .iter()
                            .map(|v| if let PV::K(K::B(b)) = v { *b as u8 } else { BP })
                            .collect();
                        zip1(&mut d[..n], keys, |k| {
                            vals.get(k as usize).copied().unwrap_or(BP)
                        });
                        give!(b, *dst, d);
                    }
                    Cat::E => {
                        let mut d = take!(e, *dst);
                        let keys = self.es(fr, key);
                        let vals: Vec<u16> = table
                            .iter()
                            .map(|v| if let PV::K(K::E(e)) = v { *e } else { EP })
                            .collect();
                        zip1(&mut d[..n], keys, |k| {
                            vals.get(k as usize).copied().unwrap_or(EP)
                        });
                        give!(e, *dst, d);
                    }
                    Cat::V => {
                        let keys = self.es(fr, key);
                        let vals: Vec<Option<K>> = (0..n)
                            .map(|i| match table.get(keys.at(i) as usize) {
                                Some(PV::K(K::V(v))) => Some(K::V(v.clone())),
                                _ => None,
                            })
                            .collect();
                        self.put(fr, Cat::V, *dst, vals);
                    }
                }
            }
            Ins::Count { dst, filter } => {
                let mut d = take!(n, *dst);
                let f = self.bs(fr, filter);
                for h in 0..fr.h {
                    let mut c = 0i64;
                    let mut poison = false;
                    for j in fr.off[h]..fr.off[h + 1] {
                        match f.at(j) {
                            BT => c += 1,
                            BF => {}
                            _ => {
                                poison = true;
                                break;
                            }
                        }
                    }
                    d[h] = if poison { Q::P } else { Q::or_p(Q::int(c)) };
                }
                give!(n, *dst, d);
            }
            Ins::AnyAll {
                any,
                dst,
                filter,
                body,
            } => {
                let mut d = take!(b, *dst);
                let (f, bd) = (self.bs(fr, filter), self.bs(fr, body));
                let any = *any;
                for h in 0..fr.h {
                    let mut r = if any { BF } else { BT };
                    for j in fr.off[h]..fr.off[h + 1] {
                        match f.at(j) {
                            BF => continue,
                            BT => {}
                            _ => {
                                r = BP;
                                break;
                            }
                        }
                        match bd.at(j) {
                            BP => {
                                r = BP;
                                break;
                            }
                            v => {
                                if any && v == BT {
                                    r = BT;
                                    break;
                                }
                                if !any && v == BF {
                                    r = BF;
                                    break;
                                }
                            }
                        }
                    }
                    d[h] = r;
                }
                give!(b, *dst, d);
            }
            Ins::Fold {
                kind,
                dst,
                filter,
                body,
                ty,
            } => {
                let mut d = take!(n, *dst);
                let (f, bd) = (self.bs(fr, filter), self.ns(fr, body));
                let zero = zero_q(*ty);
                for h in 0..fr.h {
                    let mut acc: Option<Q> = None;
                    let mut poison = false;
                    for j in fr.off[h]..fr.off[h + 1] {
                        match f.at(j) {
                            BF => continue,
                            BT => {}
                            _ => {
                                poison = true;
                                break;
                            }
                        }
                        let v = bd.at(j);
                        if v.is_p() {
                            poison = true;
                            break;
                        }
                        acc = Some(match acc {
                            None => v,
                            Some(a) => match kind {
                                AggKind::Sum => match a.add(v) {
                                    Ok(s) => s,
                                    Err(_) => {
                                        poison = true;
                                        break;
                                    }
                                },
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
                    d[h] = match (poison, acc) {
                        (true, _) => Q::P,
                        (false, Some(a)) => coerce_q(a, *ty),
                        (false, None) if *kind == AggKind::Sum => coerce_q(zero, *ty),
                        (false, None) => Q::P,
                    };
                }
                give!(n, *dst, d);
            }
            Ins::TableE {
                lv,
                cat,
                dst,
                hit,
                cols,
                masks,
                results,
                otherwise,
                ..
            } if *hit != HitPolicy::Sum
                && cols.len() == 1
                && results.iter().chain(otherwise.iter()).all(is_const) =>
            {
                // One enum column, constant results: the chosen row per variant is known.
                let n = self.lanes(fr, *lv);
                let pick: Vec<Option<usize>> = (0..128)
                    .map(|v| {
                        let rows: Vec<usize> = masks
                            .iter()
                            .enumerate()
                            .filter(|(_, m)| m[0] >> v & 1 == 1)
                            .map(|(i, _)| i)
                            .collect();
                        match (hit, rows.len()) {
                            (_, 0) => otherwise.as_ref().map(|_| usize::MAX),
                            (HitPolicy::Unique, 1) | (HitPolicy::First, _) => Some(rows[0]),
                            _ => None,
                        }
                    })
                    .collect();
                let konst = |i: usize| -> Option<K> {
                    let o = if i == usize::MAX {
                        otherwise.as_ref()?
                    } else {
                        &results[i]
                    };
                    self.k_at(fr, o, 0)
                };
                let table: Vec<Option<K>> = pick.iter().map(|p| p.and_then(konst)).collect();
                let keys = self.es(fr, &cols[0]);
                let lane = |i: usize| -> Option<K> {
                    let v = keys.at(i);
                    if v == EP {
                        return None;
                    }
                    match table.get(v as usize) {
                        Some(k) => k.clone(),
                        None => otherwise.as_ref().and_then(|_| konst(usize::MAX)),
                    }
                };
                match cat {
                    Cat::B => {
                        let lanes: Vec<u8> = (0..n)
                            .map(|i| match lane(i) {
                                Some(K::B(b)) => b as u8,
                                _ => BP,
                            })
                            .collect();
                        fr.b[*dst as usize][..n].copy_from_slice(&lanes);
                    }
                    Cat::E => {
                        let lanes: Vec<u16> = (0..n)
                            .map(|i| match lane(i) {
                                Some(K::E(e)) => e,
                                _ => EP,
                            })
                            .collect();
                        fr.e[*dst as usize][..n].copy_from_slice(&lanes);
                    }
                    _ => {
                        let vals: Vec<Option<K>> = (0..n).map(lane).collect();
                        self.put(fr, *cat, *dst, vals);
                    }
                }
            }
            Ins::TableE {
                lv,
                cat,
                dst,
                hit,
                cols,
                masks,
                results,
                otherwise,
                zero,
            } => {
                let n = self.lanes(fr, *lv);
                let cols: Vec<Src<u16>> = cols.iter().map(|c| self.es(fr, c)).collect();
                let mut out: Vec<Option<K>> = Vec::with_capacity(n);
                for i in 0..n {
                    let mut poison = false;
                    let mut found: Option<usize> = None;
                    let mut sum: Option<Q> = None;
                    let mut first: Option<usize> = None;
                    if cols.iter().any(|c| c.at(i) == EP) {
                        out.push(None);
                        continue;
                    }
                    for (ri, m) in masks.iter().enumerate() {
                        let hit_row = m.iter().zip(&cols).all(|(m, c)| {
                            let v = c.at(i);
                            *m == u128::MAX || (v < 128 && m >> v & 1 == 1)
                        });
                        if !hit_row {
                            continue;
                        }
                        match hit {
                            HitPolicy::First => {
                                first = Some(ri);
                                break;
                            }
                            HitPolicy::Unique => {
                                if found.is_some() {
                                    poison = true;
                                    break;
                                }
                                found = Some(ri);
                            }
                            HitPolicy::Sum => match self.k_at(fr, &results[ri], i) {
                                Some(K::N(v)) => {
                                    sum = Some(match sum {
                                        None => v,
                                        Some(s) => match s.add(v) {
                                            Ok(x) => x,
                                            Err(_) => {
                                                poison = true;
                                                break;
                                            }
                                        },
                                    })
                                }
                                _ => {
                                    poison = true;
                                    break;
                                }
                            },
                        }
                    }
                    out.push(if poison {
                        None
                    } else {
                        self.table_pick(
                            fr,
                            *hit,
                            first.or(found),
                            sum,
                            results,
                            otherwise,
                            *zero,
                            i,
                        )
                    });
                }
                self.put(fr, *cat, *dst, out);
            }
            Ins::TableK {
                lv,
                cat,
                dst,
                hit,
                cols,
                rows,
                results,
                otherwise,
                zero,
            } => {
                let n = self.lanes(fr, *lv);
                let mut out: Vec<Option<K>> = Vec::with_capacity(n);
                'lane: for i in 0..n {
                    let mut vals = Vec::with_capacity(cols.len());
                    for c in cols {
                        match self.k_at(fr, c, i) {
                            Some(v) => vals.push(v),
                            None => {
                                out.push(None);
                                continue 'lane;
                            }
                        }
                    }
                    let mut found: Option<usize> = None;
                    let mut first: Option<usize> = None;
                    let mut sum: Option<Q> = None;
                    for (ri, cells) in rows.iter().enumerate() {
                        let matches = cells.iter().zip(&vals).all(|(tests, v)| {
                            tests.is_empty()
                                || tests.iter().any(|(range, op, a, b)| {
                                    if *range {
                                        compare_k(CmpOp::Ge, v, a) && compare_k(CmpOp::Le, v, b)
                                    } else {
                                        compare_k(*op, v, a)
                                    }
                                })
                        });
                        if !matches {
                            continue;
                        }
                        match hit {
                            HitPolicy::First => {
                                first = Some(ri);
                                break;
                            }
                            HitPolicy::Unique => {
                                if found.is_some() {
                                    out.push(None);
                                    continue 'lane;
                                }
                                found = Some(ri);
                            }
                            HitPolicy::Sum => match self.k_at(fr, &results[ri], i) {
                                Some(K::N(v)) => match sum.map_or(Ok(v), |s| s.add(v)) {
                                    Ok(s) => sum = Some(s),
                                    Err(_) => {
                                        out.push(None);
                                        continue 'lane;
                                    }
                                },
                                _ => {
                                    out.push(None);
                                    continue 'lane;
                                }
                            },
                        }
                    }
                    out.push(self.table_pick(
                        fr,
                        *hit,
                        first.or(found),
                        sum,
                        results,
                        otherwise,
                        *zero,
                        i,
                    ));
                }
                self.put(fr, *cat, *dst, out);
            }
            Ins::ExceptB { lv, dst, xs, body } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(b, *dst);
                let xs: Vec<(Src<u8>, Src<u8>)> = xs
                    .iter()
                    .map(|(c, v)| (self.bs(fr, c), self.bs(fr, v)))
                    .collect();
                let body = self.bs(fr, body);
                const NONE: u8 = 3;
                for (i, o) in d[..n].iter_mut().enumerate() {
                    let mut hit = NONE;
                    for (c, v) in &xs {
                        match c.at(i) {
                            BF => continue,
                            BT => {}
                            _ => {
                                hit = BP;
                                break;
                            }
                        }
                        let v = v.at(i);
                        if v == BP || (hit != NONE && hit != v) {
                            // An error, or a conflict: the reference reports it.
                            hit = BP;
                            break;
                        }
                        hit = v;
                    }
                    *o = if hit == NONE { body.at(i) } else { hit };
                }
                give!(b, *dst, d);
            }
            Ins::VariantOfInput { lv, dst, slot, en } => {
                let n = self.lanes(fr, *lv);
                let mut d = take!(e, *dst);
                let names = &self.policy.program.enums[*en as usize].variants;
                // Readers share one allocation per distinct text of a column: remember the last one.
                let mut last: Option<(&std::sync::Arc<str>, u16)> = None;
                for (i, o) in d[..n].iter_mut().enumerate() {
                    let v = match lv {
                        Lv::H => &self.hs[i].fields[*slot],
                        Lv::P => {
                            let (h, m) = fr.pos[i];
                            &self.hs[h as usize].members[m as usize].fields[*slot]
                        }
                    };
                    *o = match v {
                        Value::Text(t) => match last {
                            Some((l, k)) if std::sync::Arc::ptr_eq(l, t) => k,
                            _ => {
                                let k = names
                                    .iter()
                                    .position(|x| x.as_str() == &**t)
                                    .map_or(EP, |k| k as u16);
                                last = Some((t, k));
                                k
                            }
                        },
                        _ => EP,
                    };
                }
                give!(e, *dst, d);
            }
            Ins::Generic { lv, cat, dst, op } => {
                let n = self.lanes(fr, *lv);
                let out: Vec<Option<K>> = (0..n).map(|i| self.generic(fr, op, *lv, i)).collect();
                self.put(fr, *cat, *dst, out);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn table_pick(
        &self,
        fr: &Frame,
        hit: HitPolicy,
        row: Option<usize>,
        sum: Option<Q>,
        results: &[AO],
        otherwise: &Option<AO>,
        zero: Q,
        i: usize,
    ) -> Option<K> {
        if hit == HitPolicy::Sum {
            return Some(K::N(sum.unwrap_or(zero)));
        }
        match (row, otherwise) {
            (Some(r), _) => self.k_at(fr, &results[r], i),
            (None, Some(o)) => self.k_at(fr, o, i),
            (None, None) => None,
        }
    }

    /// One lane of a generic instruction (`None`: poison).
    fn generic(&self, fr: &Frame, op: &Gen, lv: Lv, i: usize) -> Option<K> {
        match op {
            Gen::Cmp(op, a, b) => {
                let (x, y) = (self.k_at(fr, a, i)?, self.k_at(fr, b, i)?);
                Some(K::B(compare_k(*op, &x, &y)))
            }
            Gen::In(a, set) => {
                let x = self.k_at(fr, a, i)?;
                Some(K::B(set.iter().any(|k| compare_k(CmpOp::Eq, &x, k))))
            }
            Gen::Select(c, a, b) => match self.bs(fr, c).at(i) {
                BT => self.k_at(fr, a, i),
                BF => self.k_at(fr, b, i),
                _ => None,
            },
            Gen::MinMax(args, min) => {
                let op = if *min { CmpOp::Lt } else { CmpOp::Gt };
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.k_at(fr, a, i)?);
                }
                let mut it = vals.into_iter();
                let mut best = it.next()?;
                for v in it {
                    if compare_k(op, &v, &best) {
                        best = v;
                    }
                }
                Some(best)
            }
            Gen::Except(xs, body, ty) => {
                let mut hit: Option<K> = None;
                for (c, v) in xs {
                    match self.bs(fr, c).at(i) {
                        BF => continue,
                        BT => {}
                        _ => return None,
                    }
                    let v = match self.k_at(fr, v, i)? {
                        K::N(q) => K::N(coerce_q(q, *ty)),
                        k => k,
                    };
                    match &hit {
                        // A conflict: the reference reports it.
                        Some(w) if !same_k(w, &v) => return None,
                        Some(_) => {}
                        None => hit = Some(v),
                    }
                }
                match hit {
                    Some(v) => Some(v),
                    None => match self.k_at(fr, body, i)? {
                        K::N(q) => Some(K::N(coerce_q(q, *ty))),
                        k => Some(k),
                    },
                }
            }
            Gen::Variant(a, en) => match self.k_at(fr, a, i)? {
                K::V(Value::Text(t)) => self.policy.program.enums[*en as usize]
                    .variants
                    .iter()
                    .position(|n| n.as_str() == &*t)
                    .map(|v| K::E(v as u16)),
                _ => None,
            },
            Gen::Coerce(a, ty) => match self.k_at(fr, a, i)? {
                K::N(q) => Some(K::N(coerce_q(q, *ty))),
                k => Some(k),
            },
            Gen::Extern(id, span, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(match self.k_at(fr, a, i)? {
                        K::B(b) => Value::Bool(b),
                        K::E(e) => Value::Enum(e),
                        K::N(q) if q.is_int() => Value::Int(q.n),
                        // A script sees a decimal's written scale, which the compiled path does not
                        // follow: the reference calls it.
                        K::N(_) => return None,
                        K::V(v) => v,
                    });
                }
                let v = self.policy.call_extern(*id, &vals, *span).ok()?;
                k_of_value(&v).ok()
            }
            Gen::Time(b, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(match self.k_at(fr, a, i)? {
                        K::N(q) if q.is_int() => Value::Int(q.n),
                        K::V(v) => v,
                        _ => return None,
                    });
                }
                let cal = &self.policy.program.calendar;
                // An error (a year the calendar lacks) poisons the lane: the reference reports it.
                let v = crate::time::apply(*b, &vals, cal, self.month).ok()?;
                k_of_value(&v).ok()
            }
            Gen::HasHistory => Some(K::B(self.hs[i].previous.is_some())),
            Gen::Previous(s) => {
                let v = self.hs[i].previous.as_ref()?.get(*s)?;
                k_of_value(v).ok()
            }
            Gen::Id => {
                let id = match lv {
                    Lv::H => &self.hs[i].id,
                    Lv::P => {
                        let (h, m) = fr.pos[i];
                        &self.hs[h as usize].members[m as usize].id
                    }
                };
                Some(K::V(Value::Text(id.as_str().into())))
            }
            Gen::Input(slot) => {
                let v = match lv {
                    Lv::H => &self.hs[i].fields[*slot],
                    Lv::P => {
                        let (h, m) = fr.pos[i];
                        &self.hs[h as usize].members[m as usize].fields[*slot]
                    }
                };
                k_of_value(v).ok()
            }
        }
    }
}

/// Decimal inputs are read with at least this many places (cents), so that the amounts of a column
/// share a denominator.
const INPUT_SCALE: u32 = 2;

#[inline]
fn load_n(v: &Value) -> Q {
    match v {
        Value::Num(crate::num::Num::Dec(d)) => Q::or_p(Q::from_decimal_scaled(d, INPUT_SCALE)),
        Value::Num(n) => Q::or_p(Q::from_num(n)),
        Value::Int(i) => Q::or_p(Q::int(*i)),
        _ => Q::P,
    }
}
#[inline]
fn load_b(v: &Value) -> u8 {
    match v {
        Value::Bool(b) => *b as u8,
        _ => BP,
    }
}
#[inline]
fn load_e(v: &Value) -> u16 {
    match v {
        Value::Enum(e) if *e != EP => *e,
        _ => EP,
    }
}

impl Program {
    /// Lays out a batch (members side by side) and sizes the registers.
    fn layout(&self, fr: &mut Frame, hs: &[Household]) {
        fr.h = hs.len();
        fr.off.clear();
        fr.hix.clear();
        fr.pos.clear();
        let mut p = 0;
        for (i, h) in hs.iter().enumerate() {
            fr.off.push(p);
            for m in 0..h.members.len() {
                fr.hix.push(i as u32);
                fr.pos.push((i as u32, m as u32));
            }
            p += h.members.len();
        }
        fr.off.push(p);
        fr.p = p;
        self.size(fr);
    }

    fn size(&self, fr: &mut Frame) {
        let (h, p) = (fr.h, fr.p);
        let lanes = |lv: Lv| match lv {
            Lv::H => h,
            Lv::P => p,
        };
        fn size<T: Clone>(
            regs: &mut Vec<Vec<T>>,
            levels: &[Lv],
            lanes: &dyn Fn(Lv) -> usize,
            fill: T,
        ) {
            if regs.len() < levels.len() {
                regs.resize_with(levels.len(), Vec::new);
            }
            for (r, lv) in regs.iter_mut().zip(levels) {
                let n = lanes(*lv);
                if r.len() < n {
                    r.resize(n, fill.clone());
                }
            }
        }
        size(&mut fr.n, &self.levels[0], &lanes, Q::P);
        size(&mut fr.b, &self.levels[1], &lanes, BP);
        size(&mut fr.e, &self.levels[2], &lanes, EP);
        size(&mut fr.v, &self.levels[3], &lanes, None);
    }

    /// Lays out a batch and loads its inputs from the households' values.
    fn prepare(&self, fr: &mut Frame, hs: &[Household]) {
        self.layout(fr, hs);
        // Household fields, then each member's fields in one pass over the member.
        for l in self.loads.iter().filter(|l| l.lv == Lv::H) {
            let d = l.dst as usize;
            for (i, h) in hs.iter().enumerate() {
                let v = &h.fields[l.slot];
                match l.cat {
                    Cat::N => fr.n[d][i] = load_n(v),
                    Cat::B => fr.b[d][i] = load_b(v),
                    Cat::E => fr.e[d][i] = load_e(v),
                    Cat::V => {}
                }
            }
        }
        let person: Vec<&Load> = self.loads.iter().filter(|l| l.lv == Lv::P).collect();
        let mut j = 0;
        for h in hs {
            for m in &h.members {
                for l in &person {
                    let v = &m.fields[l.slot];
                    let d = l.dst as usize;
                    match l.cat {
                        Cat::N => fr.n[d][j] = load_n(v),
                        Cat::B => fr.b[d][j] = load_b(v),
                        Cat::E => fr.e[d][j] = load_e(v),
                        Cat::V => {}
                    }
                }
                j += 1;
            }
        }
    }

    /// Lays out a batch from its loaded columns, copied into the registers (one sequential copy
    /// of contiguous memory; the program then reads its inputs from the processor's cache, which is
    /// faster than reading the loaded columns in place each time an instruction uses them).
    fn prepare_loaded(&self, fr: &mut Frame, b: &LoadedBatch) {
        fr.h = b.h;
        fr.p = b.p;
        fr.off.clear();
        fr.off.extend_from_slice(&b.off);
        fr.hix.clear();
        fr.hix.extend_from_slice(&b.hix);
        fr.pos.clear();
        fr.pos.extend_from_slice(&b.pos);
        self.size(fr);
        let (mut n, mut bo, mut e) = (0, 0, 0);
        for l in &self.loads {
            let d = l.dst as usize;
            let lanes = if l.lv == Lv::H { b.h } else { b.p };
            match l.cat {
                Cat::N => {
                    fr.n[d][..lanes].copy_from_slice(&b.n[n]);
                    n += 1;
                }
                Cat::B => {
                    fr.b[d][..lanes].copy_from_slice(&b.b[bo]);
                    bo += 1;
                }
                Cat::E => {
                    fr.e[d][..lanes].copy_from_slice(&b.e[e]);
                    e += 1;
                }
                Cat::V => {}
            }
        }
    }

    /// The input columns of a batch, for [`Loaded`].
    fn load_batch(&self, hs: &[Household], start: usize) -> LoadedBatch {
        let mut fr = Frame::default();
        self.prepare(&mut fr, hs);
        let mut b = LoadedBatch {
            start,
            h: fr.h,
            p: fr.p,
            off: fr.off.clone(),
            hix: fr.hix.clone(),
            pos: fr.pos.clone(),
            n: Vec::new(),
            b: Vec::new(),
            e: Vec::new(),
        };
        for l in &self.loads {
            let d = l.dst as usize;
            let lanes = if l.lv == Lv::H { fr.h } else { fr.p };
            match l.cat {
                Cat::N => b.n.push(fr.n[d][..lanes].to_vec()),
                Cat::B => b.b.push(fr.b[d][..lanes].to_vec()),
                Cat::E => b.e.push(fr.e[d][..lanes].to_vec()),
                Cat::V => {}
            }
        }
        b
    }
}

/// The inputs of one batch as columns.
struct LoadedBatch {
    start: usize,
    h: usize,
    p: usize,
    off: Vec<usize>,
    hix: Vec<u32>,
    pos: Vec<(u32, u32)>,
    n: Vec<Vec<Q>>,
    b: Vec<Vec<u8>>,
    e: Vec<Vec<u16>>,
}

/// A population loaded for a [`CompiledPolicy`]: the input fields its program reads, as compact
/// columns (exact numbers of 16 bytes, booleans and enum values of one and two), batch by batch.
/// What "data already loaded" means for the compiled path, like arrays for a vectorised engine;
/// the households stay borrowed for the households the reference must take over.
pub struct Loaded<'h> {
    hs: &'h [Household],
    batches: Vec<LoadedBatch>,
}

impl<'h> Loaded<'h> {
    pub fn len(&self) -> usize {
        self.hs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.hs.is_empty()
    }
    /// Bytes held by the columns.
    pub fn column_bytes(&self) -> usize {
        self.batches
            .iter()
            .map(|b| {
                b.n.iter().map(|c| c.len() * 16).sum::<usize>()
                    + b.b.iter().map(|c| c.len()).sum::<usize>()
                    + b.e.iter().map(|c| c.len() * 2).sum::<usize>()
                    + b.off.len() * 8
                    + b.hix.len() * 4
                    + b.pos.len() * 8
            })
            .sum()
    }
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
    prog: Program,
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
        let mut c = Comp {
            prog: p,
            params: &params,
            ins: Vec::new(),
            levels: Default::default(),
            loads: Vec::new(),
            inputs: HashMap::new(),
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
                Value::Bool(b) => AO::B(BO::K(*b as u8)),
                Value::Enum(e) => AO::E(EO::K(*e)),
                Value::Int(_) | Value::Num(_) => AO::N(NO::K(num_of(v).unwrap_or(Q::P))),
                v => AO::V(VO::K(v.clone())),
            });
        }
        let mut outs = Vec::new();
        for &o in outputs {
            outs.push(c.def(o)?);
        }
        for e in exprs {
            outs.push(c.expr(e, Lv::H)?);
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
                Coll::Households => Lv::H,
                Coll::Persons => Lv::P,
                Coll::Members => return unsupported("a population total over members"),
            };
            let filter = match filter {
                Some(f) => c.expr(f, lv)?.bool()?,
                None => BO::K(BT),
            };
            let body = match body {
                Some(b) => Some(c.expr(b, lv)?),
                None => None,
            };
            totals.push(TotalPlan { lv, filter, body });
        }
        let prog = Program {
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
        let poison = || AO::N(NO::K(Q::P));
        let prog = Program {
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
                    lv: Lv::H,
                    filter: BO::K(BP),
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
    pub fn load<'h>(&self, households: &'h [Household]) -> Loaded<'h> {
        let batches = households
            .par_chunks(BATCH)
            .enumerate()
            .map(|(i, b)| self.prog.load_batch(b, i * BATCH))
            .collect();
        Loaded {
            hs: households,
            batches,
        }
    }

    /// [`for_each`](Self::for_each) on a loaded population.
    pub fn for_each_loaded<F>(&self, loaded: &Loaded<'_>, month: Month, sink: F)
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
    pub fn for_each_row_loaded<F>(&self, loaded: &Loaded<'_>, month: Month, sink: F)
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
                let mut s = self.session(month);
                let mut rows = Vec::with_capacity(part.len());
                let mut vals: Vec<(u32, Option<Value>)> = Vec::new();
                for batch in part.chunks(BATCH) {
                    self.prog.prepare(&mut s.frame, batch);
                    s.run(batch, true);
                    for (i, h) in batch.iter().enumerate() {
                        let mut row = Vec::with_capacity(self.outputs.len());
                        vals.clear();
                        if s.outputs(batch, i, &mut row) && s.total_values(i, &mut vals) {
                            t.add_values(&vals)?;
                        } else {
                            let mut ev = self.reference_eval(h, month);
                            row.clear();
                            self.reference_outputs(&mut ev, &mut row)?;
                            t.add(&mut ev)?;
                        }
                        rows.push(row);
                    }
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

/// Where an output's lanes are.
enum OSrc<'f> {
    N(Src<'f, Q>),
    B(Src<'f, u8>),
    E(Src<'f, u16>),
    V(&'f AO),
}

impl OSrc<'_> {
    fn poisoned(&self, ex: &Exec<'_>, fr: &Frame, i: usize) -> bool {
        match self {
            OSrc::N(s) => s.at(i).is_p(),
            OSrc::B(s) => s.at(i) == BP,
            OSrc::E(s) => s.at(i) == EP,
            OSrc::V(o) => !matches!(ex.k_at(fr, o, i), Some(K::V(_))),
        }
    }
    /// The lane's value (not poisoned).
    fn value(&self, ex: &Exec<'_>, fr: &Frame, i: usize) -> Value {
        match self {
            OSrc::N(s) => q_value(s.at(i)),
            OSrc::B(s) => Value::Bool(s.at(i) == BT),
            OSrc::E(s) => Value::Enum(s.at(i)),
            OSrc::V(o) => match ex.k_at(fr, o, i) {
                Some(K::V(v)) => v,
                _ => Value::Bool(false),
            },
        }
    }
}

/// One household's outputs, in the order of [`CompiledPolicy::outputs`]: made into `Value`s on
/// demand.
pub struct Row<'a> {
    inner: RowInner<'a>,
}

enum RowInner<'a> {
    Lanes {
        ex: &'a Exec<'a>,
        frame: &'a Frame,
        srcs: &'a [OSrc<'a>],
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
    session: &'s Session<'c>,
    hh: &'s Household,
    lane: usize,
    values: &'s [Value],
    /// The reference evaluator that computed `values`, when the compiled path deferred the household.
    ev: Option<HouseholdEval<'s>>,
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
fn push_outputs(
    ex: &Exec<'_>,
    fr: &Frame,
    srcs: &[OSrc<'_>],
    i: usize,
    out: &mut Vec<Value>,
) -> bool {
    let len = out.len();
    for s in srcs {
        let v = match s {
            OSrc::N(s) => {
                let q = s.at(i);
                if q.is_p() {
                    None
                } else {
                    Some(q_value(q))
                }
            }
            OSrc::B(s) => match s.at(i) {
                BP => None,
                b => Some(Value::Bool(b == BT)),
            },
            OSrc::E(s) => match s.at(i) {
                EP => None,
                e => Some(Value::Enum(e)),
            },
            OSrc::V(o) => match ex.k_at(fr, o, i) {
                Some(K::V(v)) => Some(v),
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
    cp: &'c CompiledPolicy<'c>,
    month: Month,
    params: &'c [PV],
    frame: Frame,
}

impl<'c> Session<'c> {
    pub fn month(&self) -> Month {
        self.month
    }

    fn exec<'a>(&'a self, hs: &'a [Household]) -> Exec<'a> {
        Exec {
            params: self.params,
            policy: self.cp.policy,
            hs,
            month: self.month,
        }
    }

    /// Runs the program on a loaded batch (prepared with `prepare_loaded`).
    fn run_loaded(&mut self, hs: &[Household]) {
        let prog = &self.cp.prog;
        let ex = Exec {
            params: self.params,
            policy: self.cp.policy,
            hs,
            month: self.month,
        };
        for ins in &prog.ins[..prog.outputs_end] {
            ex.run(ins, &mut self.frame);
        }
    }

    fn exec_loaded<'a>(&'a self, hs: &'a [Household]) -> Exec<'a> {
        Exec {
            params: self.params,
            policy: self.cp.policy,
            hs,
            month: self.month,
        }
    }

    /// Runs the program on the prepared frame (`totals`: also the totals' instructions).
    fn run(&mut self, hs: &[Household], totals: bool) {
        let prog = &self.cp.prog;
        let end = if totals {
            prog.ins.len()
        } else {
            prog.outputs_end
        };
        let ex = Exec {
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
    fn outputs(&self, hs: &[Household], i: usize, out: &mut Vec<Value>) -> bool {
        let ex = self.exec(hs);
        let srcs = self.output_sources(&ex);
        push_outputs(&ex, &self.frame, &srcs, i, out)
    }

    fn output_sources<'f>(&'f self, ex: &'f Exec<'f>) -> Vec<OSrc<'f>> {
        self.cp
            .prog
            .outputs
            .iter()
            .map(|o| match o {
                AO::N(o) => OSrc::N(ex.ns(&self.frame, o)),
                AO::B(o) => OSrc::B(ex.bs(&self.frame, o)),
                AO::E(o) => OSrc::E(ex.es(&self.frame, o)),
                AO::V(_) => OSrc::V(o),
            })
            .collect()
    }

    /// Household `i`'s values for the population totals; `false` if one is poisoned.
    fn total_values(&self, i: usize, vals: &mut Vec<(u32, Option<Value>)>) -> bool {
        let fr = &self.frame;
        let ex = Exec {
            params: self.params,
            policy: self.cp.policy,
            hs: &[],
            month: self.month,
        };
        for (ti, t) in self.cp.prog.totals.iter().enumerate() {
            let lanes = match t.lv {
                Lv::H => i..i + 1,
                Lv::P => fr.off[i]..fr.off[i + 1],
            };
            for j in lanes {
                match ex.bs(fr, &t.filter).at(j) {
                    BF => continue,
                    BT => {}
                    _ => return false,
                }
                let v = match &t.body {
                    None => None,
                    Some(b) => match ex.k_at(fr, b, j) {
                        Some(K::N(q)) => Some(q_value(q)),
                        Some(K::B(b)) => Some(Value::Bool(b)),
                        Some(K::E(e)) => Some(Value::Enum(e)),
                        Some(K::V(v)) => Some(v),
                        None => return false,
                    },
                };
                vals.push((ti as u32, v));
            }
        }
        true
    }

    /// Evaluates a batch; `sink(i, result)` for each household in order.
    fn batch(
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
    fn batch_into(
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
    fn finish_batch(
        &mut self,
        hs: &[Household],
        out: &mut Vec<Value>,
        sink: impl FnMut(usize, Result<&[Value], &EvalError>),
    ) {
        let ex = Exec {
            params: self.params,
            policy: self.cp.policy,
            hs,
            month: self.month,
        };
        self.finish_with(&ex, hs, out, sink);
    }

    fn finish_with(
        &self,
        ex: &Exec<'_>,
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

    fn reference(&self, hh: &Household, out: &mut Vec<Value>) -> Result<(), EvalError> {
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
