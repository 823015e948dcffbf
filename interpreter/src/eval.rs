//! Evaluation: the reference tree-walking evaluator of a checked policy for one household and one
//! month, with per-household memoisation, exact arithmetic and errors that point at the rule.

use crate::data::Household;
use crate::num::{ArithError, Num};
use crate::policy::Policy;
use crate::value::Value;
use doudi_dsl::ast::{AggKind, CmpOp, Date, EntityKind, HitPolicy, Span};
use doudi_dsl::diag::{Diagnostic, SourceMap};
use doudi_dsl::ir::*;
use std::fmt;

/// A month of evaluation (`YYYY-MM`). Parameters take the value in force on its first day.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Month {
    pub year: i32,
    pub month: u8,
}

impl Month {
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("expected a month as YYYY-MM (e.g. 2024-01), found `{s}`");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) {
            return Err(format!(
                "month {m} of `{s}` is out of range: a month is 01 to 12 (e.g. {y}-12)"
            ));
        }
        if year < 1 {
            return Err(format!(
                "year {y} of `{s}` is out of range: years start at 0001"
            ));
        }
        Ok(Month { year, month })
    }
    pub fn first_day(self) -> Date {
        Date {
            year: self.year,
            month: self.month,
            day: 1,
        }
    }
    /// The month `n` months later (`n` may be negative).
    pub fn plus(self, n: i32) -> Month {
        let idx = self.year * 12 + (self.month as i32 - 1) + n;
        Month {
            year: idx.div_euclid(12),
            month: (idx.rem_euclid(12) + 1) as u8,
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}
impl TryFrom<String> for Month {
    type Error = String;
    fn try_from(s: String) -> Result<Month, String> {
        Month::parse(&s)
    }
}
impl From<Month> for String {
    fn from(m: Month) -> String {
        m.to_string()
    }
}

/// An evaluation error, pointing at the rule where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub message: String,
    pub span: Option<Span>,
    /// The definition being evaluated.
    pub def: Option<String>,
    pub help: Option<String>,
    pub secondary: Vec<(Span, String)>,
    pub household: Option<String>,
    pub person: Option<String>,
}

/// The error of a text key (`centralised_care_adopted[household.region]`) that names no variant of
/// the enum keying the table. Shared with the compiled path, which hands such households to the
/// reference.
pub fn unknown_variant(text: &str, enum_name: &str, variants: &[String], span: Span) -> EvalError {
    let shown: String = if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text.to_string()
    };
    EvalError::new(
        format!("{shown:?} is not a value of `{enum_name}`, which keys this table"),
        span,
    )
    .with_help(format!(
        "the values of `{enum_name}` are: {}; add the code to the enum (and a value for it to every table by `{enum_name}`), or correct the data",
        variants.join(", ")
    ))
}

impl EvalError {
    pub fn new(message: impl Into<String>, span: Span) -> EvalError {
        EvalError {
            message: message.into(),
            span: Some(span),
            def: None,
            help: None,
            secondary: Vec::new(),
            household: None,
            person: None,
        }
    }
    pub fn plain(message: impl Into<String>) -> EvalError {
        EvalError {
            span: None,
            ..EvalError::new(message, Span::default())
        }
    }
    fn arith(e: ArithError, span: Span) -> EvalError {
        match e {
            ArithError::DivisionByZero => EvalError::new("division by zero", span)
                .with_help("guard the division, e.g. `if n > 0 then x / n else 0`"),
            ArithError::Overflow => EvalError::new(
                "the amount is too large to compute exactly (overflow)",
                span,
            )
            .with_help(
                "a value in this formula is implausibly large: an input of the household, a \
                 parameter or a number written in the policy (`doudi explain` shows each one)",
            ),
            _ => EvalError::new("invalid rounding step", span),
        }
    }
    pub fn with_help(mut self, h: impl Into<String>) -> EvalError {
        self.help = Some(h.into());
        self
    }
    /// The error as a diagnostic with its location in the policy (for rendering like the checker's).
    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut who = String::new();
        if let Some(h) = &self.household {
            who = format!(" (household {h}");
            if let Some(p) = &self.person {
                who.push_str(&format!(", member {p}"));
            }
            who.push(')');
        }
        let label = match &self.def {
            Some(d) => format!("while computing `{d}`"),
            None => String::new(),
        };
        let mut d = Diagnostic::error(
            format!("{}{who}", self.message),
            self.span.unwrap_or_default(),
            label,
        );
        d.help = self.help.clone();
        for (s, l) in &self.secondary {
            d = d.with_secondary(*s, l.clone());
        }
        d
    }
    pub fn render(&self, sources: &SourceMap) -> String {
        if self.span.is_none() || sources.files.is_empty() {
            return format!("error: {}", self.to_diagnostic().message);
        }
        doudi_dsl::diag::render(&self.to_diagnostic(), sources)
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_diagnostic().message)?;
        if let Some(d) = &self.def {
            write!(f, " while computing `{d}`")?;
        }
        Ok(())
    }
}

impl std::error::Error for EvalError {}

/// Where an expression is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Household,
    /// A member of the household, by index.
    Person(usize),
    /// Population totals (programme definitions).
    Programme,
}

/// The most nested evaluation (definitions calling definitions) before giving up.
pub const MAX_DEPTH: u32 = 256;

/// Evaluates definitions for one household in one month, remembering every value computed.
pub struct HouseholdEval<'a> {
    pub policy: &'a Policy,
    pub hh: &'a Household,
    pub month: Month,
    pub date: Date,
    hh_memo: Vec<Option<Value>>,
    person_memo: Vec<Option<Value>>,
    person_defs: usize,
    prog_memo: Vec<Option<Value>>,
    /// Population aggregations of programme definitions, by the span of the aggregation.
    totals: Option<&'a std::collections::HashMap<Span, Value>>,
    depth: u32,
    /// The exception that decided each household / person definition, when one did (for explanations).
    pub(crate) applied: Vec<(Scope, DefId, usize)>,
    forced: Vec<(Scope, DefId, Value)>,
}

impl<'a> HouseholdEval<'a> {
    pub fn new(policy: &'a Policy, hh: &'a Household, month: Month) -> HouseholdEval<'a> {
        let counts = policy.program.def_counts;
        let person_defs = counts[0] as usize;
        HouseholdEval {
            policy,
            hh,
            month,
            date: month.first_day(),
            hh_memo: vec![None; counts[1] as usize],
            person_memo: vec![None; person_defs * hh.members.len()],
            person_defs,
            prog_memo: vec![None; counts[2] as usize],
            totals: None,
            depth: 0,
            applied: Vec::new(),
            forced: Vec::new(),
        }
    }

    /// An evaluator for programme definitions, given the population totals of their aggregations.
    pub fn for_programme(
        policy: &'a Policy,
        empty: &'a Household,
        month: Month,
        totals: &'a std::collections::HashMap<Span, Value>,
    ) -> HouseholdEval<'a> {
        let mut ev = HouseholdEval::new(policy, empty, month);
        ev.totals = Some(totals);
        ev
    }

    fn program(&self) -> &'a Program {
        &self.policy.program
    }

    fn memo(&mut self, scope: Scope, slot: u32) -> &mut Option<Value> {
        match scope {
            Scope::Household => &mut self.hh_memo[slot as usize],
            Scope::Person(i) => &mut self.person_memo[i * self.person_defs + slot as usize],
            Scope::Programme => &mut self.prog_memo[slot as usize],
        }
    }

    /// The value of a definition (household or person, by `scope`).
    pub fn def(&mut self, id: DefId, scope: Scope) -> Result<Value, EvalError> {
        let program = self.program();
        let def = &program.defs[id as usize];
        if let Some(v) = self.memo(scope, def.slot) {
            return Ok(v.clone());
        }
        if let Some((_, _, v)) = self.forced.iter().find(|(s, d, _)| *s == scope && *d == id) {
            let v = v.clone();
            *self.memo(scope, def.slot) = Some(v.clone());
            return Ok(v);
        }
        if self.depth >= MAX_DEPTH {
            return Err(EvalError::new("definitions nest too deeply", def.span));
        }
        self.depth += 1;
        let r = self.compute_def(id, scope);
        self.depth -= 1;
        let v = r.map_err(|mut e| {
            if e.def.is_none() {
                e.def = Some(def.name.clone());
                e.household = Some(self.hh.id.clone());
                if let Scope::Person(i) = scope {
                    e.person = self.hh.members.get(i).map(|p| p.id.clone());
                }
            }
            e
        })?;
        let v = coerce_value(v, def.ty);
        *self.memo(scope, def.slot) = Some(v.clone());
        Ok(v)
    }

    fn compute_def(&mut self, id: DefId, scope: Scope) -> Result<Value, EvalError> {
        let def = &self.program().defs[id as usize];
        if !def.exceptions.is_empty() {
            let mut hit: Option<(usize, Value)> = None;
            for (i, x) in def.exceptions.iter().enumerate() {
                if self.eval(&x.cond, scope)?.as_bool() {
                    let v = coerce_value(self.eval(&x.value, scope)?, def.ty);
                    match &hit {
                        Some((j, w)) if *w != v => {
                            let other = &def.exceptions[*j];
                            let name = |x: &Exception| {
                                x.label
                                    .clone()
                                    .map(|l| format!("«{l}»"))
                                    .unwrap_or_else(|| "an exception".into())
                            };
                            let mut e = EvalError::new(
                                format!(
                                    "conflicting exceptions for `{}`: {} gives {} but {} gives {}",
                                    def.name,
                                    name(other),
                                    self.policy.display(def.ty, w),
                                    name(x),
                                    self.policy.display(def.ty, &v)
                                ),
                                x.span,
                            )
                            .with_help("both conditions hold for this household; make them exclusive or give one a narrower condition");
                            e.secondary.push((other.span, "the other exception".into()));
                            return Err(e);
                        }
                        Some(_) => {}
                        None => hit = Some((i, v)),
                    }
                }
            }
            if let Some((i, v)) = hit {
                self.applied.push((scope, id, i));
                return Ok(v);
            }
        }
        match &def.body {
            DefBody::Expr(e) => self.eval(e, scope),
            DefBody::Table(t) => self.table(t, def, scope),
        }
    }

    /// Fixes the value of a definition for this household (what-if questions such as "the payment if
    /// this household were eligible"); later evaluations use it instead of the formula.
    pub fn force(&mut self, id: DefId, scope: Scope, value: Value) {
        let slot = self.program().defs[id as usize].slot;
        // Values computed before may depend on it: start afresh.
        self.hh_memo.iter_mut().for_each(|v| *v = None);
        self.person_memo.iter_mut().for_each(|v| *v = None);
        self.prog_memo.iter_mut().for_each(|v| *v = None);
        self.forced.push((scope, id, value.clone()));
        *self.memo(scope, slot) = Some(value);
    }

    /// Which exception decided a definition's value, if any (after it was evaluated).
    pub fn applied_exception(&self, id: DefId, scope: Scope) -> Option<usize> {
        self.applied
            .iter()
            .find(|(s, d, _)| *s == scope && *d == id)
            .map(|(_, _, i)| *i)
    }

    fn table(&mut self, t: &Table, def: &Def, scope: Scope) -> Result<Value, EvalError> {
        let cols: Vec<Value> = t
            .columns
            .iter()
            .map(|c| self.eval(c, scope))
            .collect::<Result<_, _>>()?;
        let mut sum: Option<Value> = None;
        let mut found: Option<usize> = None;
        for (ri, row) in t.rows.iter().enumerate() {
            let matches =
                row.cells.iter().zip(&cols).all(|(tests, v)| {
                    tests.is_empty() || tests.iter().any(|tst| cell_matches(tst, v))
                });
            if !matches {
                continue;
            }
            match t.hit {
                HitPolicy::First => return self.eval(&row.result, scope),
                HitPolicy::Unique => {
                    if let Some(prev) = found {
                        let mut e = EvalError::new(
                            format!(
                                "rows {} and {} of the `{}` table `{}` both match",
                                prev + 1,
                                ri + 1,
                                t.hit_word,
                                def.name
                            ),
                            row.span,
                        );
                        e.secondary
                            .push((t.rows[prev].span, format!("row {}", prev + 1)));
                        return Err(e);
                    }
                    found = Some(ri);
                }
                HitPolicy::Sum => {
                    let v = self.eval(&row.result, scope)?;
                    sum = Some(match sum {
                        None => v,
                        Some(s) => {
                            arith(Arith::Add, &s, &v).map_err(|e| EvalError::arith(e, row.span))?
                        }
                    });
                }
            }
        }
        match (t.hit, found) {
            (HitPolicy::Unique, Some(ri)) => return self.eval(&t.rows[ri].result, scope),
            (HitPolicy::Sum, _) => return Ok(sum.unwrap_or_else(|| zero_of(def.ty))),
            _ => {}
        }
        match &t.otherwise {
            Some(o) => self.eval(o, scope),
            None => Err(EvalError::new(
                format!("no row of the table `{}` matches", def.name),
                def.span,
            )
            .with_help("add a row for this case, or an `otherwise = ...` line")),
        }
    }

    /// The value of an input field of the household or of a member.
    pub fn input(&self, slot: u32, scope: Scope) -> &'a Value {
        match scope {
            Scope::Person(i) => &self.hh.members[i].fields[slot as usize],
            _ => &self.hh.fields[slot as usize],
        }
    }

    /// The value of a parameter in force this month (`key`: the variant for a table).
    pub fn param(&self, id: ParamId, key: Option<u16>, span: Span) -> Result<Value, EvalError> {
        param_value(self.program(), id, key, self.date, span)
    }

    pub fn eval(&mut self, e: &Expr, scope: Scope) -> Result<Value, EvalError> {
        use doudi_dsl::check::{STACK_GROWTH, STACK_RED_ZONE};
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || self.eval_inner(e, scope))
    }

    fn eval_inner(&mut self, e: &Expr, scope: Scope) -> Result<Value, EvalError> {
        Ok(match &e.kind {
            ExprKind::Const(c) => const_value(c),
            ExprKind::Input(slot) => self.input(*slot, scope).clone(),
            ExprKind::HouseholdInput(slot) => self.hh.fields[*slot as usize].clone(),
            ExprKind::Id => match scope {
                Scope::Person(i) => Value::Text(self.hh.members[i].id.as_str().into()),
                _ => Value::Text(self.hh.id.as_str().into()),
            },
            ExprKind::Def(id) => self.def(*id, scope)?,
            ExprKind::HouseholdDef(id) => self.def(*id, Scope::Household)?,
            ExprKind::Param(p) => self.param(*p, None, e.span)?,
            ExprKind::ParamAt(p, k) => {
                let Value::Enum(key) = self.eval(k, scope)? else {
                    return Err(EvalError::new(
                        "a parameter table key must be an enum value",
                        k.span,
                    ));
                };
                self.param(*p, Some(key), e.span)?
            }
            ExprKind::Variant(en, x) => {
                let v = self.eval(x, scope)?;
                let info = &self.policy.program.enums[*en as usize];
                match &v {
                    Value::Text(t) => match info.variants.iter().position(|n| **n == **t) {
                        Some(i) => Value::Enum(i as u16),
                        None => return Err(unknown_variant(t, &info.name, &info.variants, e.span)),
                    },
                    _ => {
                        return Err(EvalError::new(
                            "a table key written as text must be a text value",
                            e.span,
                        ))
                    }
                }
            }
            ExprKind::Neg(x) => match self.eval(x, scope)? {
                Value::Int(i) => Value::Int(
                    i.checked_neg()
                        .ok_or_else(|| EvalError::arith(ArithError::Overflow, e.span))?,
                ),
                Value::Num(n) => Value::Num(n.neg()),
                _ => return Err(EvalError::new("cannot negate this value", e.span)),
            },
            ExprKind::Not(x) => Value::Bool(!self.eval(x, scope)?.as_bool()),
            ExprKind::And(a, b) => {
                Value::Bool(self.eval(a, scope)?.as_bool() && self.eval(b, scope)?.as_bool())
            }
            ExprKind::Or(a, b) => {
                Value::Bool(self.eval(a, scope)?.as_bool() || self.eval(b, scope)?.as_bool())
            }
            ExprKind::Arith(op, a, b) => {
                let (x, y) = (self.eval(a, scope)?, self.eval(b, scope)?);
                arith(*op, &x, &y).map_err(|err| EvalError::arith(err, e.span))?
            }
            ExprKind::Cmp(op, a, b) => {
                let (x, y) = (self.eval(a, scope)?, self.eval(b, scope)?);
                Value::Bool(compare(*op, &x, &y))
            }
            ExprKind::In(x, items) => {
                let v = self.eval(x, scope)?;
                Value::Bool(
                    items
                        .iter()
                        .any(|c| compare(CmpOp::Eq, &v, &const_value(c))),
                )
            }
            ExprKind::If(c, a, b) => {
                if self.eval(c, scope)?.as_bool() {
                    self.eval(a, scope)?
                } else {
                    self.eval(b, scope)?
                }
            }
            ExprKind::Builtin(b, args) => {
                let vals: Vec<Value> = args
                    .iter()
                    .map(|a| self.eval(a, scope))
                    .collect::<Result<_, _>>()?;
                if b.is_time() {
                    let cal = &self.policy.program.calendar;
                    crate::time::apply(*b, &vals, cal, self.month)
                        .map_err(|m| EvalError::new(m, e.span))?
                } else {
                    builtin(*b, vals).map_err(|err| EvalError::arith(err, e.span))?
                }
            }
            ExprKind::HasHistory => Value::Bool(self.hh.previous.is_some()),
            ExprKind::Previous(i) => self
                .hh
                .previous
                .as_ref()
                .and_then(|p| p.get(*i as usize))
                .cloned()
                .ok_or_else(|| EvalError::new("no history was given for this state", e.span))?,
            ExprKind::Round(x, step) => match self.eval(x, scope)? {
                Value::Num(n) => Value::Num(
                    n.round_to(*step)
                        .map_err(|err| EvalError::arith(err, e.span))?,
                ),
                Value::Int(i) => Value::Num(
                    Num::from_i64(i)
                        .round_to(*step)
                        .map_err(|err| EvalError::arith(err, e.span))?,
                ),
                _ => return Err(EvalError::new("cannot round this value", e.span)),
            },
            ExprKind::Extern(id, args) => {
                let vals: Vec<Value> = args
                    .iter()
                    .map(|a| self.eval(a, scope))
                    .collect::<Result<_, _>>()?;
                self.policy.call_extern(*id, &vals, e.span)?
            }
            ExprKind::Agg {
                kind,
                coll,
                body,
                filter,
            } => {
                if *coll != Coll::Members {
                    return self
                        .totals
                        .and_then(|t| t.get(&e.span))
                        .cloned()
                        .ok_or_else(|| EvalError::new("population totals are computed over a whole population (`doudi eval` with many households)", e.span));
                }
                let mut acc = AggAcc::new(*kind, e.ty);
                for i in 0..self.hh.members.len() {
                    let s = Scope::Person(i);
                    if let Some(f) = filter {
                        if !self.eval(f, s)?.as_bool() {
                            continue;
                        }
                    }
                    let v = match body {
                        Some(b) => Some(self.eval(b, s)?),
                        None => None,
                    };
                    acc.add(v).map_err(|err| EvalError::arith(err, e.span))?;
                    if acc.settled() {
                        break;
                    }
                }
                acc.finish().map_err(|m| EvalError::new(m, e.span))?
            }
        })
    }
}

/// The value of a parameter on a date.
pub fn param_value(
    program: &Program,
    id: ParamId,
    key: Option<u16>,
    date: Date,
    span: Span,
) -> Result<Value, EvalError> {
    let p = &program.params[id as usize];
    let Some(v) = p.version_at(date) else {
        let first = p
            .versions
            .first()
            .and_then(|v| v.from)
            .map(format_date)
            .unwrap_or_default();
        return Err(EvalError::new(
            format!(
                "`{}` has no value in force on {} (its first value takes effect {first})",
                p.name,
                format_date(date)
            ),
            span,
        ));
    };
    let c = match key {
        Some(k) => v.values.get(k as usize),
        None => v.values.first(),
    };
    c.map(const_value)
        .ok_or_else(|| EvalError::new(format!("`{}` has no value for this key", p.name), span))
}

pub(crate) fn cell_matches(t: &CellTest, v: &Value) -> bool {
    match t {
        CellTest::Eq(c) => compare(CmpOp::Eq, v, &const_value(c)),
        CellTest::Cmp(op, c) => compare(*op, v, &const_value(c)),
        CellTest::Range(a, b) => {
            compare(CmpOp::Ge, v, &const_value(a)) && compare(CmpOp::Le, v, &const_value(b))
        }
    }
}

pub fn const_value(c: &Const) -> Value {
    match c {
        Const::Bool(b) => Value::Bool(*b),
        Const::Int(i) => Value::Int(*i),
        Const::Dec(d) => Value::Num(Num::from_decimal(*d)),
        Const::Date(d) => Value::Date(*d),
        Const::Text(t) => Value::Text(t.as_str().into()),
        Const::Enum(e) => Value::Enum(*e),
    }
}

/// Integer values of a decimal/money definition become exact numbers, so outputs have one form per type.
pub fn coerce_value(v: Value, ty: Ty) -> Value {
    match (v, ty) {
        (Value::Int(i), Ty::Decimal | Ty::Percent | Ty::Money(_)) => Value::Num(Num::from_i64(i)),
        (v, _) => v,
    }
}

pub fn zero_of(ty: Ty) -> Value {
    if ty.is_integer() {
        Value::Int(0)
    } else {
        Value::Num(Num::ZERO)
    }
}

impl Value {
    pub fn as_bool(&self) -> bool {
        matches!(self, Value::Bool(true))
    }
    pub fn to_num(&self) -> Option<Num> {
        match self {
            Value::Int(i) => Some(Num::from_i64(*i)),
            Value::Num(n) => Some(n.clone()),
            _ => None,
        }
    }
}

/// Exact arithmetic on two values; integers stay integers except under division.
pub fn arith(op: Arith, a: &Value, b: &Value) -> Result<Value, ArithError> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        let r = match op {
            Arith::Add => x.checked_add(*y),
            Arith::Sub => x.checked_sub(*y),
            Arith::Mul => x.checked_mul(*y),
            Arith::Div => {
                if *y == 0 {
                    return Err(ArithError::DivisionByZero);
                }
                return Num::from_i64(*x)
                    .checked_div(&Num::from_i64(*y))
                    .map(Value::Num);
            }
        };
        return r.map(Value::Int).ok_or(ArithError::Overflow);
    }
    let (Some(x), Some(y)) = (a.to_num(), b.to_num()) else {
        return Err(ArithError::Overflow);
    };
    let r = match op {
        Arith::Add => x.checked_add(&y),
        Arith::Sub => x.checked_sub(&y),
        Arith::Mul => x.checked_mul(&y),
        Arith::Div => x.checked_div(&y),
    }?;
    Ok(Value::Num(r))
}

pub fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    let ord = match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Int(_) | Value::Num(_), Value::Int(_) | Value::Num(_)) => {
            match (a.to_num(), b.to_num()) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => return false,
            }
        }
        _ => {
            if std::mem::discriminant(a) != std::mem::discriminant(b) {
                return op == CmpOp::Ne;
            }
            a.cmp(b)
        }
    };
    use std::cmp::Ordering::*;
    match op {
        CmpOp::Eq => ord == Equal,
        CmpOp::Ne => ord != Equal,
        CmpOp::Lt => ord == Less,
        CmpOp::Le => ord != Greater,
        CmpOp::Gt => ord == Greater,
        CmpOp::Ge => ord != Less,
    }
}

fn builtin(b: Builtin, vals: Vec<Value>) -> Result<Value, ArithError> {
    let twelve = Value::Int(12);
    match b {
        Builtin::Min | Builtin::Max => {
            let mut it = vals.into_iter();
            let mut best = it.next().ok_or(ArithError::Overflow)?;
            for v in it {
                let better = if b == Builtin::Min {
                    compare(CmpOp::Lt, &v, &best)
                } else {
                    compare(CmpOp::Gt, &v, &best)
                };
                if better {
                    best = v;
                }
            }
            Ok(best)
        }
        Builtin::Abs => match &vals[0] {
            Value::Int(i) => i.checked_abs().map(Value::Int).ok_or(ArithError::Overflow),
            Value::Num(n) => Ok(Value::Num(n.abs())),
            _ => Err(ArithError::Overflow),
        },
        Builtin::Monthly => arith(Arith::Div, &vals[0], &twelve),
        Builtin::Yearly => arith(Arith::Mul, &vals[0], &twelve),
        // Evaluated by `crate::time::apply`.
        _ => Err(ArithError::Overflow),
    }
}

/// An aggregation in progress.
pub struct AggAcc {
    pub(crate) kind: AggKind,
    ty: Ty,
    pub(crate) acc: Option<Value>,
    pub(crate) count: i64,
    pub(crate) flag: Option<bool>,
}

impl AggAcc {
    pub fn new(kind: AggKind, ty: Ty) -> AggAcc {
        AggAcc {
            kind,
            ty,
            acc: None,
            count: 0,
            flag: None,
        }
    }
    /// Adds one element that passed the filter (`v`: its body value, if the aggregation has one).
    pub fn add(&mut self, v: Option<Value>) -> Result<(), ArithError> {
        match self.kind {
            AggKind::Count => self.count = self.count.checked_add(1).ok_or(ArithError::Overflow)?,
            AggKind::Any => {
                if v.is_none_or(|v| v.as_bool()) {
                    self.flag = Some(true);
                }
            }
            AggKind::All => {
                if !v.is_none_or(|v| v.as_bool()) {
                    self.flag = Some(false);
                }
            }
            AggKind::Sum => {
                let v = v.unwrap_or(Value::Int(0));
                self.acc = Some(match self.acc.take() {
                    None => v,
                    Some(a) => arith(Arith::Add, &a, &v)?,
                });
            }
            AggKind::Min | AggKind::Max => {
                let v = v.unwrap_or(Value::Int(0));
                self.acc = Some(match self.acc.take() {
                    None => v,
                    Some(a) => {
                        let take = if self.kind == AggKind::Min {
                            compare(CmpOp::Lt, &v, &a)
                        } else {
                            compare(CmpOp::Gt, &v, &a)
                        };
                        if take {
                            v
                        } else {
                            a
                        }
                    }
                });
            }
        }
        Ok(())
    }
    /// Adds one element that stands for `weight` identical elements (a weighted sample): a count
    /// grows by `weight`, a sum by `weight × v`; `any`, `all`, `min` and `max` see it once.
    pub fn add_weighted(&mut self, v: Option<Value>, weight: i64) -> Result<(), ArithError> {
        match self.kind {
            AggKind::Count => {
                self.count = self.count.checked_add(weight).ok_or(ArithError::Overflow)?
            }
            AggKind::Sum => {
                let v = v.unwrap_or(Value::Int(0));
                let w = arith(Arith::Mul, &v, &Value::Int(weight))?;
                self.add(Some(w))?;
            }
            _ => self.add(v)?,
        }
        Ok(())
    }
    /// Whether more elements cannot change the result (`any` found one, `all` found a failure).
    pub fn settled(&self) -> bool {
        self.flag.is_some()
    }
    /// The accumulated state without its kind and type (what another process needs to merge it
    /// into an accumulator of the same aggregation): the value, the count and the flag.
    pub fn into_parts(self) -> (Option<Value>, i64, Option<bool>) {
        (self.acc, self.count, self.flag)
    }
    /// Merges a state given by [`AggAcc::into_parts`] of an accumulator of the same aggregation.
    pub fn merge_parts(
        &mut self,
        (acc, count, flag): (Option<Value>, i64, Option<bool>),
    ) -> Result<(), ArithError> {
        let other = AggAcc {
            kind: self.kind,
            ty: self.ty,
            acc,
            count,
            flag,
        };
        self.merge(other)
    }
    /// Combines with another accumulator of the same aggregation (for parallel totals).
    pub fn merge(&mut self, other: AggAcc) -> Result<(), ArithError> {
        self.count = self
            .count
            .checked_add(other.count)
            .ok_or(ArithError::Overflow)?;
        if let Some(f) = other.flag {
            self.flag = Some(f);
        }
        if let Some(v) = other.acc {
            match self.kind {
                AggKind::Sum | AggKind::Min | AggKind::Max => {
                    let keep = self.kind;
                    let mut tmp = AggAcc {
                        kind: keep,
                        ty: self.ty,
                        acc: self.acc.take(),
                        count: 0,
                        flag: None,
                    };
                    tmp.add(Some(v))?;
                    self.acc = tmp.acc;
                }
                _ => {}
            }
        }
        Ok(())
    }
    pub fn finish(self) -> Result<Value, String> {
        Ok(match self.kind {
            AggKind::Count => Value::Int(self.count),
            AggKind::Any => Value::Bool(self.flag.unwrap_or(false)),
            AggKind::All => Value::Bool(self.flag.unwrap_or(true)),
            AggKind::Sum => coerce_value(self.acc.unwrap_or_else(|| zero_of(self.ty)), self.ty),
            AggKind::Min | AggKind::Max => match self.acc {
                Some(v) => coerce_value(v, self.ty),
                None => return Err("`min`/`max` over no elements: add a `where` that keeps at least one, or guard it".into()),
            },
        })
    }
}

/// Which definitions an evaluation asks for: household definitions, or programme totals.
pub fn entity_of(program: &Program, id: DefId) -> EntityKind {
    program.defs[id as usize].entity
}
