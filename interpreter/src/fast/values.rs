//! Owned values of any category (table cells, parameters) and parameters resolved per interval between their `from` dates.

use super::*;

/// An owned value of any category (table cells, parameters).
#[derive(Debug, Clone)]
pub(super) enum Owned {
    Bool(bool),
    Num(Q),
    Enum(u16),
    /// A date or a text.
    Other(Value),
}

/// A parameter value in force in an interval (`Missing`: none in force, or beyond the fast path).
#[derive(Debug, Clone)]
pub(super) enum ParamValue {
    Missing,
    Known(Owned),
}

pub(super) fn q_value(q: Q) -> Value {
    if q.is_int() {
        Value::Int(q.n)
    } else {
        Value::Num(q.to_num())
    }
}

#[inline]
pub(super) fn num_of(v: &Value) -> R<Q> {
    match v {
        Value::Num(n) => Q::from_num(n),
        Value::Int(i) => Q::int(*i),
        _ => Err(Bail),
    }
}

pub(super) fn owned_of_value(v: &Value) -> R<Owned> {
    Ok(match v {
        Value::Bool(b) => Owned::Bool(*b),
        Value::Enum(e) => Owned::Enum(*e),
        Value::Int(_) | Value::Num(_) => Owned::Num(num_of(v)?),
        v => Owned::Other(v.clone()),
    })
}

pub(super) fn owned_of_const(c: &Const) -> R<Owned> {
    owned_of_value(&crate::eval::const_value(c))
}

#[inline]
pub(super) fn ord_ok(op: CmpOp, o: Ordering) -> bool {
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
pub(super) fn compare_owned(op: CmpOp, a: &Owned, b: &Owned) -> bool {
    match (a, b) {
        (Owned::Num(x), Owned::Num(y)) => ord_ok(op, x.cmp(*y)),
        (Owned::Bool(x), Owned::Bool(y)) => ord_ok(op, x.cmp(y)),
        (Owned::Enum(x), Owned::Enum(y)) => ord_ok(op, x.cmp(y)),
        (Owned::Other(x), Owned::Other(y)) => compare(op, x, y),
        _ => op == CmpOp::Ne,
    }
}

/// `Value`'s `==` (which the reference uses for exception conflicts).
pub(super) fn same_owned(a: &Owned, b: &Owned) -> bool {
    match (a, b) {
        (Owned::Num(x), Owned::Num(y)) => x.same(*y),
        (Owned::Bool(x), Owned::Bool(y)) => x == y,
        (Owned::Enum(x), Owned::Enum(y)) => x == y,
        (Owned::Other(x), Owned::Other(y)) => x == y,
        _ => false,
    }
}

/// `coerce_value`: an integer value of a decimal/percent/money definition becomes a number.
#[inline]
pub(super) fn coerce_q(q: Q, ty: Ty) -> Q {
    if q.is_int() && matches!(ty, Ty::Decimal | Ty::Percent | Ty::Money(_)) {
        q.as_num_kind()
    } else {
        q
    }
}

/// `zero_of`.
pub(super) fn zero_q(ty: Ty) -> Q {
    if ty.is_integer() {
        Q::ZERO_INT
    } else {
        Q::ZERO_NUM
    }
}

/// `step == 10^e`, as `num::step_exponent`.
pub(super) fn step_exponent(step: rust_decimal::Decimal) -> Option<i32> {
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

pub(super) struct ParamTable {
    /// Sorted distinct `from` dates of every parameter.
    pub(super) breaks: Vec<Date>,
    /// Per interval (before the first break, then from each break): values at `offsets[p] + key`.
    pub(super) values: Vec<Vec<ParamValue>>,
    pub(super) offsets: Vec<usize>,
    pub(super) counts: Vec<usize>,
}

impl ParamTable {
    pub(super) fn new(program: &doudi_dsl::ir::Program) -> ParamTable {
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
                        Some(c) => owned_of_const(c)
                            .map(ParamValue::Known)
                            .unwrap_or(ParamValue::Missing),
                        None => ParamValue::Missing,
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
    pub(super) fn at(&self, month: Month) -> &[ParamValue] {
        let date = month.first_day();
        let i = self.breaks.partition_point(|b| *b <= date);
        &self.values[i]
    }
}

// ---------------------------------------------------------------------------------------------
