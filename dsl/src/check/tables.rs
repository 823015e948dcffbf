//! Checks decision tables, and the rows of a `hit unique` table that can both match.
//!
//! Columns, cells and results are checked against the table's type and the hit policy's rules;
//! overlaps are found by comparing cells as intervals.

use super::Checker;
use crate::ast::{self, CmpOp, EntityKind, HitPolicy};
use crate::diag::Diagnostic;
use crate::ir::*;
use rust_decimal::Decimal;

impl Checker {
    pub(super) fn table(
        &mut self,
        t: &ast::TableDecl,
        entity: EntityKind,
        ty: Ty,
        def: DefId,
    ) -> Option<Table> {
        let mut ok = true;
        let mut columns = Vec::new();
        for c in &t.columns {
            match self.expr(c, entity, None, def) {
                Some(x) => columns.push(x),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let mut rows = Vec::new();
        for r in &t.rows {
            if r.cells.len() != columns.len() {
                self.err(Diagnostic::error(
                    format!("this row has {} cells but the table has {} columns", r.cells.len(), columns.len()),
                    r.span,
                    "wrong number of cells",
                ).with_help("each row has one cell per column, then the result; use `-` for \"any value\""));
                ok = false;
                continue;
            }
            let mut cells = Vec::new();
            for (cell, col) in r.cells.iter().zip(&columns) {
                let cty = match col.ty {
                    Ty::Lit(true) => Ty::Int,
                    Ty::Lit(false) => Ty::Decimal,
                    t => t,
                };
                let mut tests = Vec::new();
                for test in &cell.tests {
                    let tc = match test {
                        ast::CellTest::Equals(x) => {
                            self.constant(x, entity, cty, def).map(CellTest::Eq)
                        }
                        ast::CellTest::Compare(op, x) => {
                            if !(cty.is_numeric() || cty == Ty::Date) {
                                self.err(Diagnostic::error(
                                    format!("`{}` cannot order {}", op.as_str(), self.tyname(cty)),
                                    cell.span,
                                    "no order",
                                ));
                                None
                            } else {
                                self.constant(x, entity, cty, def)
                                    .map(|c| CellTest::Cmp(*op, c))
                            }
                        }
                        ast::CellTest::Range(a, b) => {
                            let a = self.constant(a, entity, cty, def);
                            let b = self.constant(b, entity, cty, def);
                            match (a, b) {
                                (Some(a), Some(b)) => Some(CellTest::Range(a, b)),
                                _ => None,
                            }
                        }
                    };
                    match tc {
                        Some(tc) => tests.push(tc),
                        None => ok = false,
                    }
                }
                cells.push(tests);
            }
            match self.expr_as(&r.result, entity, ty, def) {
                Some(result) => rows.push(TableRow {
                    cells,
                    result,
                    span: r.span,
                }),
                None => ok = false,
            }
        }
        let otherwise = match &t.otherwise {
            Some(o) => {
                if t.hit.node == HitPolicy::Sum {
                    self.err(Diagnostic::error(
                        "a `sum` table adds up its matching rows; it has no `otherwise`",
                        o.span,
                        "not used",
                    ));
                    ok = false;
                }
                Some(self.expr_as(o, entity, ty, def)?)
            }
            None => None,
        };
        if t.hit.node == HitPolicy::Sum && !ty.is_numeric() {
            self.err(Diagnostic::error(
                "a `sum` table must produce numbers or money",
                t.hit.span,
                "cannot add these up",
            ));
            ok = false;
        }
        if !ok {
            return None;
        }
        if t.hit.node == HitPolicy::Unique {
            self.check_overlaps(t, &rows);
        }
        let chinese = self.chinese_hits.contains(&t.hit.span);
        Some(Table {
            hit: t.hit.node,
            hit_word: hit_word(t.hit.node, chinese),
            columns,
            rows,
            otherwise,
        })
    }

    pub(super) fn check_overlaps(&mut self, t: &ast::TableDecl, rows: &[TableRow]) {
        for i in 0..rows.len() {
            for j in i + 1..rows.len() {
                let overlap = rows[i]
                    .cells
                    .iter()
                    .zip(&rows[j].cells)
                    .all(|(a, b)| cells_intersect(a, b));
                if overlap {
                    self.err(
                        Diagnostic::error(
                            format!(
                                "rows {} and {} of the `{}` table `{}` can both match",
                                i + 1,
                                j + 1,
                                hit_word(HitPolicy::Unique, self.chinese_hits.contains(&t.hit.span)),
                                t.name.name
                            ),
                            rows[j].span,
                            format!("row {} overlaps row {}", j + 1, i + 1),
                        )
                        .with_secondary(rows[i].span, format!("row {}", i + 1))
                        .with_help(if self.chinese_hits.contains(&t.hit.span) {
                            "make the rows exclusive, or declare `命中 首个` (`hit first`) if the first matching row should win"
                        } else {
                            "make the rows exclusive, or declare `hit first` if the first matching row should win"
                        }),
                    );
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Bound {
    NegInf,
    Val(Decimal, bool), // value, inclusive
    PosInf,
}

fn const_num(c: &Const) -> Option<Decimal> {
    match c {
        Const::Int(i) => Some(Decimal::from(*i)),
        Const::Dec(d) => Some(*d),
        Const::Date(d) => Some(Decimal::from(
            d.year as i64 * 10000 + d.month as i64 * 100 + d.day as i64,
        )),
        _ => None,
    }
}

/// A test as an interval (for ordered values) or `None` for an unordered equality test.
fn interval(t: &CellTest) -> Option<(Bound, Bound)> {
    Some(match t {
        CellTest::Eq(c) => {
            let v = const_num(c)?;
            (Bound::Val(v, true), Bound::Val(v, true))
        }
        CellTest::Cmp(op, c) => {
            let v = const_num(c)?;
            match op {
                CmpOp::Lt => (Bound::NegInf, Bound::Val(v, false)),
                CmpOp::Le => (Bound::NegInf, Bound::Val(v, true)),
                CmpOp::Gt => (Bound::Val(v, false), Bound::PosInf),
                CmpOp::Ge => (Bound::Val(v, true), Bound::PosInf),
                CmpOp::Eq => (Bound::Val(v, true), Bound::Val(v, true)),
                CmpOp::Ne => return None,
            }
        }
        CellTest::Range(a, b) => (
            Bound::Val(const_num(a)?, true),
            Bound::Val(const_num(b)?, true),
        ),
    })
}

fn intervals_meet(a: (Bound, Bound), b: (Bound, Bound)) -> bool {
    // lo = max(a.lo, b.lo), hi = min(a.hi, b.hi); non-empty when lo <= hi with inclusivity.
    let lo_val = |x: Bound| match x {
        Bound::NegInf => None,
        Bound::Val(v, inc) => Some((v, inc)),
        Bound::PosInf => Some((Decimal::MAX, false)),
    };
    let hi_val = |x: Bound| match x {
        Bound::PosInf => None,
        Bound::Val(v, inc) => Some((v, inc)),
        Bound::NegInf => Some((Decimal::MIN, false)),
    };
    let lo = match (lo_val(a.0), lo_val(b.0)) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => Some(if x.0 > y.0 || (x.0 == y.0 && !x.1) {
            x
        } else {
            y
        }),
    };
    let hi = match (hi_val(a.1), hi_val(b.1)) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => Some(if x.0 < y.0 || (x.0 == y.0 && !x.1) {
            x
        } else {
            y
        }),
    };
    match (lo, hi) {
        (Some((l, li)), Some((h, hi))) => l < h || (l == h && li && hi),
        _ => true,
    }
}

fn cells_intersect(a: &[CellTest], b: &[CellTest]) -> bool {
    if a.is_empty() || b.is_empty() {
        return true;
    }
    a.iter().any(|x| b.iter().any(|y| tests_intersect(x, y)))
}

fn tests_intersect(a: &CellTest, b: &CellTest) -> bool {
    match (interval(a), interval(b)) {
        (Some(x), Some(y)) => intervals_meet(x, y),
        _ => match (a, b) {
            (CellTest::Eq(x), CellTest::Eq(y)) => x == y,
            (CellTest::Cmp(CmpOp::Ne, x), CellTest::Eq(y))
            | (CellTest::Eq(y), CellTest::Cmp(CmpOp::Ne, x)) => x != y,
            _ => true,
        },
    }
}

/// A hit policy's keyword in the spelling the drafter used.
pub(super) fn hit_word(hit: HitPolicy, chinese: bool) -> &'static str {
    match (hit, chinese) {
        (HitPolicy::Unique, false) => "unique",
        (HitPolicy::Unique, true) => "唯一",
        (HitPolicy::First, false) => "first",
        (HitPolicy::First, true) => "首个",
        (HitPolicy::Sum, false) => "sum",
        (HitPolicy::Sum, true) => "求和",
    }
}
