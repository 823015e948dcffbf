//! The type rules: coercions, literal types, unification, and arithmetic with money periods.
//!
//! A literal takes the type of its partner; `money per month × months` is money; two periods never
//! add.

use super::Checker;
use crate::ast::{EntityKind, Literal, Period, Span};
use crate::diag::Diagnostic;
use crate::ir::*;
use rust_decimal::Decimal;

impl Checker {
    pub(super) fn coerce(&mut self, x: Expr, want: Ty) -> Option<Expr> {
        if x.ty == want {
            return Some(x);
        }
        match (x.ty, want) {
            (Ty::Lit(is_int), w) if w.is_numeric() => {
                if w.is_integer() && !is_int {
                    self.err(Diagnostic::error(
                        format!("expected {}, found a number with decimals", self.tyname(w)),
                        x.span,
                        "not a whole number",
                    ));
                    return None;
                }
                Some(retype(x, w))
            }
            (Ty::Int, Ty::Decimal)
            | (Ty::Int, Ty::Percent)
            | (Ty::Percent, Ty::Decimal)
            | (Ty::Decimal, Ty::Percent) => Some(Expr { ty: want, ..x }),
            (Ty::Int, Ty::Months) | (Ty::Months, Ty::Int) => Some(Expr { ty: want, ..x }),
            (have, want) => {
                let mut d = Diagnostic::error(
                    format!(
                        "expected {}, found {}",
                        self.tyname(want),
                        self.tyname(have)
                    ),
                    x.span,
                    format!("this is {}", self.tyname(have)),
                );
                d = match (have, want) {
                    (Ty::Money(Period::Year), Ty::Money(Period::Month)) => {
                        d.with_help("convert a yearly amount with `monthly(...)`, which divides it by 12 exactly")
                    }
                    (Ty::Money(Period::Month), Ty::Money(Period::Year)) => {
                        d.with_help("convert a monthly amount with `yearly(...)`, which multiplies it by 12")
                    }
                    (Ty::Money(Period::Month), Ty::Money(Period::Stock)) => {
                        d.with_help("a monthly amount becomes a sum of money when multiplied by a number of `months`")
                    }
                    (Ty::Decimal, Ty::Money(_)) => d.with_help("money divided by money is a plain decimal; multiply by an amount to get money"),
                    _ => d,
                };
                self.err(d);
                None
            }
        }
    }

    pub(super) fn lit(&mut self, l: &Literal, span: Span, expected: Option<Ty>) -> Option<Expr> {
        let (c, ty) = match l {
            Literal::Number { value, is_integer } => {
                if *is_integer {
                    match i64::try_from(*value) {
                        Ok(i) if value.fract().is_zero() => (Const::Int(i), Ty::Lit(true)),
                        _ => (Const::Dec(*value), Ty::Lit(false)),
                    }
                } else {
                    (Const::Dec(*value), Ty::Lit(false))
                }
            }
            Literal::Percent(p) => (Const::Dec(*p), Ty::Percent),
            Literal::Bool(b) => (Const::Bool(*b), Ty::Bool),
            Literal::Date(d) => (Const::Date(*d), Ty::Date),
            Literal::Text(t) => (Const::Text(t.clone()), Ty::Text),
            Literal::Name(n) => {
                return self.name(n, span, EntityKind::Household, expected, u32::MAX)
            }
        };
        Some(Expr {
            kind: ExprKind::Const(c),
            ty,
            span,
        })
    }

    /// Unifies two operand types for comparison, `if` branches, `min`/`max`.
    pub(super) fn unify(&mut self, a: Ty, b: Ty, span: Span, what: &str) -> Option<Ty> {
        use Ty::*;
        let t = match (a, b) {
            _ if a == b => a,
            (Lit(x), Lit(y)) => Lit(x && y),
            (Lit(true), t) | (t, Lit(true)) if t.is_numeric() => t,
            (Lit(false), t) | (t, Lit(false)) if t.is_numeric() && !t.is_integer() => t,
            (Lit(false), Int) | (Int, Lit(false)) => Decimal,
            (Int, Decimal)
            | (Decimal, Int)
            | (Percent, Decimal)
            | (Decimal, Percent)
            | (Int, Percent)
            | (Percent, Int) => Decimal,
            (Int, Months) | (Months, Int) => Int,
            _ => {
                let mut d = Diagnostic::error(
                    format!(
                        "{what}: {} and {} do not go together",
                        self.tyname(a),
                        self.tyname(b)
                    ),
                    span,
                    "mismatched types",
                );
                if let (Money(_), Money(_)) = (a, b) {
                    d = d.with_help("amounts of different periods: convert one with `monthly(...)` or `yearly(...)`");
                }
                self.err(d);
                return None;
            }
        };
        Some(t)
    }

    pub(super) fn arith_ty(&mut self, op: Arith, l: Ty, r: Ty, span: Span) -> Option<Ty> {
        use Period::*;
        use Ty::*;
        let scalar = |t: Ty| matches!(t, Int | Decimal | Percent | Lit(_));
        let sym = match op {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
        };
        let t = match op {
            Arith::Add | Arith::Sub => match (l, r) {
                (Money(p), Money(q)) if p == q => Money(p),
                (Money(p), Money(q)) => {
                    let ln = self.tyname(Money(p));
                    let rn = self.tyname(Money(q));
                    self.err(
                        Diagnostic::error(format!("cannot {} {ln} and {rn}", if op == Arith::Add { "add" } else { "subtract" }), span, "different periods")
                            .with_help("convert one side first: `monthly(x)` divides a yearly amount by 12, `yearly(x)` multiplies a monthly one by 12"),
                    );
                    return None;
                }
                (Money(p), Lit(_)) | (Lit(_), Money(p)) => Money(p),
                (Months, Months)
                | (Months, Int)
                | (Int, Months)
                | (Months, Lit(true))
                | (Lit(true), Months) => Months,
                (Int, Int) | (Int, Lit(true)) | (Lit(true), Int) => Int,
                (Lit(a), Lit(b)) => Lit(a && b),
                (Percent, Percent) | (Percent, Lit(_)) | (Lit(_), Percent) => Percent,
                (a, b) if scalar(a) && scalar(b) => Decimal,
                _ => return self.bad_operands(sym, l, r, span),
            },
            Arith::Mul => match (l, r) {
                (Money(Month), Months) | (Months, Money(Month)) => Money(Stock),
                (Money(p), s) | (s, Money(p)) if scalar(s) => Money(p),
                (Money(_), Money(_)) => {
                    self.err(Diagnostic::error(
                        "cannot multiply two amounts of money",
                        span,
                        "money × money",
                    ));
                    return None;
                }
                (Months, Int) | (Int, Months) | (Months, Lit(true)) | (Lit(true), Months) => Months,
                (Int, Int) | (Int, Lit(true)) | (Lit(true), Int) => Int,
                (Lit(a), Lit(b)) => Lit(a && b),
                (a, b) if scalar(a) && scalar(b) => Decimal,
                _ => return self.bad_operands(sym, l, r, span),
            },
            Arith::Div => match (l, r) {
                (Money(p), Money(q)) if p == q => Decimal,
                (Money(Stock), Months) => Money(Month),
                (Money(p), s) if scalar(s) => Money(p),
                (Lit(_), Lit(_)) => Lit(false),
                (a, b) if scalar(a) && scalar(b) => Decimal,
                (Months, Months) => Decimal,
                _ => return self.bad_operands(sym, l, r, span),
            },
        };
        Some(t)
    }

    pub(super) fn bad_operands(&mut self, op: &str, l: Ty, r: Ty, span: Span) -> Option<Ty> {
        let mut d = Diagnostic::error(
            format!("cannot compute {} {op} {}", self.tyname(l), self.tyname(r)),
            span,
            "these do not combine",
        );
        if let (Ty::Money(_), Ty::Money(_)) = (l, r) {
            d = d.with_help(
                "amounts of different periods: convert with `monthly(...)` or `yearly(...)`",
            );
        } else if matches!(l, Ty::Money(Period::Year)) && r == Ty::Months {
            d = d.with_help("convert to a monthly amount first with `monthly(...)`");
        }
        self.err(d);
        None
    }
}

/// For `integer × literal` keep the literal an integer; for money the literal is a scalar decimal.
pub(super) fn lit_partner(t: Ty) -> Ty {
    if t.is_integer() {
        Ty::Int
    } else {
        Ty::Decimal
    }
}

/// Gives a literal-typed expression its final type (recursively through arithmetic on literals).
pub(super) fn retype(mut x: Expr, t: Ty) -> Expr {
    if !matches!(x.ty, Ty::Lit(_)) {
        return x;
    }
    x.ty = t;
    x.kind = match x.kind {
        ExprKind::Const(Const::Int(i)) if !t.is_integer() => {
            ExprKind::Const(Const::Dec(Decimal::from(i)))
        }
        ExprKind::Neg(inner) => ExprKind::Neg(Box::new(retype(*inner, t))),
        ExprKind::Arith(op, a, b) => {
            let (ta, tb) = match op {
                Arith::Mul | Arith::Div if t.is_money() => (t, Ty::Decimal),
                _ => (t, t),
            };
            ExprKind::Arith(op, Box::new(retype(*a, ta)), Box::new(retype(*b, tb)))
        }
        ExprKind::If(c, a, b) => ExprKind::If(c, Box::new(retype(*a, t)), Box::new(retype(*b, t))),
        ExprKind::Builtin(b, xs) => {
            ExprKind::Builtin(b, xs.into_iter().map(|x| retype(x, t)).collect())
        }
        k => k,
    };
    x
}
