//! Type-checks formulas in the scope of their definition.
//!
//! Conditions, comparisons, arithmetic, `in` lists, `if` and aggregations over a collection; names
//! are in [`super::names`], the type rules in [`super::types`], calls in [`super::calls`].

use super::types::{lit_partner, retype};
use super::{entity_index, Checker, STACK_GROWTH, STACK_RED_ZONE};
use crate::ast::{
    self, AggKind, BinOp, CmpOp, Collection, EntityKind, Literal, Span, Spanned, UnOp,
};
use crate::diag::Diagnostic;
use crate::ir::*;

impl Checker {
    /// Checks `e` and requires it to have (or be coercible to) `want`.
    pub(super) fn expr_as(
        &mut self,
        e: &ast::Expr,
        scope: EntityKind,
        want: Ty,
        def: DefId,
    ) -> Option<Expr> {
        let x = self.expr(e, scope, Some(want), def)?;
        self.coerce(x, want)
    }

    pub(super) fn expect_bool(
        &mut self,
        e: &ast::Expr,
        scope: EntityKind,
        def: DefId,
        what: &str,
    ) -> Option<Expr> {
        let x = self.expr(e, scope, Some(Ty::Bool), def)?;
        if x.ty != Ty::Bool {
            self.err(Diagnostic::error(
                format!(
                    "{what} must be a condition (true or false), found {}",
                    self.tyname(x.ty)
                ),
                x.span,
                "not a condition",
            ));
            return None;
        }
        Some(x)
    }

    /// The constant an expression denotes (for `in` lists and table cells).
    pub(super) fn constant(
        &mut self,
        e: &ast::Expr,
        scope: EntityKind,
        want: Ty,
        def: DefId,
    ) -> Option<Const> {
        let x = self.expr(e, scope, Some(want), def)?;
        let x = self.coerce(x, want)?;
        match x.kind {
            ExprKind::Const(c) => Some(c),
            ExprKind::Neg(inner) => match inner.kind {
                ExprKind::Const(Const::Int(i)) => Some(Const::Int(-i)),
                ExprKind::Const(Const::Dec(d)) => Some(Const::Dec(-d)),
                _ => None,
            },
            _ => {
                self.err(Diagnostic::error("expected a fixed value here", x.span, "not a fixed value")
                    .with_help("lists and table cells hold values such as `3`, `urban` or `true`, not formulas"));
                None
            }
        }
    }

    pub(super) fn expr(
        &mut self,
        e: &ast::Expr,
        scope: EntityKind,
        expected: Option<Ty>,
        def: DefId,
    ) -> Option<Expr> {
        // Nesting is bounded by the parser; grow the stack rather than overflow on deep formulas.
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || {
            self.expr_inner(e, scope, expected, def)
        })
    }

    pub(super) fn expr_inner(
        &mut self,
        e: &ast::Expr,
        scope: EntityKind,
        expected: Option<Ty>,
        def: DefId,
    ) -> Option<Expr> {
        let span = e.span;
        use ast::ExprKind as K;
        Some(match &e.kind {
            K::Lit(l) => {
                if let Literal::Name(n) = l {
                    return self.name(n, span, scope, expected, def);
                }
                return self.lit(l, span, expected);
            }
            K::Name(n) => return self.name(n, span, scope, expected, def),
            K::HouseholdField(f) => return self.household_field(f, scope, def, span),
            K::Index(base, key) => return self.param_index(base, key, scope, def, span),
            K::Unary(UnOp::Not, x) => {
                let x = self.expect_bool(x, scope, def, "the operand of `not`")?;
                Expr {
                    kind: ExprKind::Not(Box::new(x)),
                    ty: Ty::Bool,
                    span,
                }
            }
            K::Unary(UnOp::Neg, x) => {
                let x = self.expr(x, scope, expected, def)?;
                if !x.ty.is_numeric() {
                    self.err(Diagnostic::error(
                        format!("cannot negate {}", self.tyname(x.ty)),
                        x.span,
                        "not a number",
                    ));
                    return None;
                }
                let ty = x.ty;
                Expr {
                    kind: ExprKind::Neg(Box::new(x)),
                    ty,
                    span,
                }
            }
            K::Binary(BinOp::And | BinOp::Or, l, r) => {
                let is_and = matches!(&e.kind, K::Binary(BinOp::And, ..));
                let word = if is_and { "`and`" } else { "`or`" };
                let l = self.expect_bool(l, scope, def, &format!("each side of {word}"));
                let r = self.expect_bool(r, scope, def, &format!("each side of {word}"));
                let (l, r) = (Box::new(l?), Box::new(r?));
                Expr {
                    kind: if is_and {
                        ExprKind::And(l, r)
                    } else {
                        ExprKind::Or(l, r)
                    },
                    ty: Ty::Bool,
                    span,
                }
            }
            K::Binary(BinOp::Cmp(op), l, r) => return self.comparison(*op, l, r, scope, def, span),
            K::Binary(op, l, r) => return self.arithmetic(*op, l, r, scope, def, span),
            K::In(x, items) => {
                let x = self.expr(x, scope, None, def)?;
                let t = match x.ty {
                    Ty::Lit(true) => Ty::Int,
                    Ty::Lit(false) => Ty::Decimal,
                    t => t,
                };
                let mut consts = Vec::new();
                for it in items {
                    if let Some(c) = self.constant(it, scope, t, def) {
                        consts.push(c);
                    }
                }
                if consts.len() != items.len() {
                    return None;
                }
                Expr {
                    kind: ExprKind::In(Box::new(x), consts),
                    ty: Ty::Bool,
                    span,
                }
            }
            K::If(c, a, b) => {
                let c = self.expect_bool(c, scope, def, "the condition of `if`");
                let a = self.expr(a, scope, expected, def);
                let b = self.expr(b, scope, expected.or(a.as_ref().map(|x| x.ty)), def);
                let (c, a, b) = (c?, a?, b?);
                let t = self.unify(
                    a.ty,
                    b.ty,
                    span,
                    "the two branches of `if` must have the same type",
                )?;
                let a = self.coerce(a, t)?;
                let b = self.coerce(b, t)?;
                Expr {
                    kind: ExprKind::If(Box::new(c), Box::new(a), Box::new(b)),
                    ty: t,
                    span,
                }
            }
            K::Call(f, args) => return self.call(f, args, scope, expected, def, span),
            K::Agg {
                kind,
                body,
                collection,
                filter,
            } => {
                return self.aggregation(
                    *kind,
                    body.as_deref(),
                    collection,
                    filter.as_deref(),
                    scope,
                    def,
                    span,
                )
            }
        })
    }

    /// `l OP r` for a comparison operator.
    fn comparison(
        &mut self,
        op: CmpOp,
        l: &ast::Expr,
        r: &ast::Expr,
        scope: EntityKind,
        def: DefId,
        span: Span,
    ) -> Option<Expr> {
        use ast::ExprKind as K;
        // Infer the side that is not a bare name first, so `none == illness` works too.
        // A bare name that is not an input, definition or parameter is an enum value.
        let is_value = |x: &ast::Expr, s: &Checker| match &x.kind {
            K::Name(n) | K::Lit(Literal::Name(n)) => {
                !(s.def_ids.contains_key(&(scope, n.clone()))
                    || s.param_ids.contains_key(n)
                    || (scope != EntityKind::Programme
                        && s.input_ids[entity_index(scope)].contains_key(n)))
            }
            _ => false,
        };
        let (lx, rx) = if is_value(l, self) && !is_value(r, self) {
            let rx = self.expr(r, scope, None, def);
            let lx = self.expr(l, scope, rx.as_ref().map(|x| x.ty), def);
            (lx, rx)
        } else {
            let lx = self.expr(l, scope, None, def);
            let rx = self.expr(r, scope, lx.as_ref().map(|x| x.ty), def);
            (lx, rx)
        };
        let (lx, rx) = (lx?, rx?);
        let t = self.unify(
            lx.ty,
            rx.ty,
            span,
            &format!("cannot compare with `{}`", op.as_str()),
        )?;
        if !(matches!(op, CmpOp::Eq | CmpOp::Ne) || t.is_numeric() || t == Ty::Date) {
            self.err(
                Diagnostic::error(
                    format!(
                        "`{}` compares numbers, money or dates, not {}",
                        op.as_str(),
                        self.tyname(t)
                    ),
                    span,
                    "cannot be ordered",
                )
                .with_help("use `==`, `!=` or `in {...}` for values that have no order"),
            );
            return None;
        }
        let lx = if lx.ty.is_numeric() && matches!(lx.ty, Ty::Lit(_)) {
            self.coerce(lx, t)?
        } else {
            lx
        };
        let rx = if rx.ty.is_numeric() && matches!(rx.ty, Ty::Lit(_)) {
            self.coerce(rx, t)?
        } else {
            rx
        };
        Some(Expr {
            kind: ExprKind::Cmp(op, Box::new(lx), Box::new(rx)),
            ty: Ty::Bool,
            span,
        })
    }

    /// `l + r`, `l - r`, `l * r`, `l / r`.
    fn arithmetic(
        &mut self,
        op: BinOp,
        l: &ast::Expr,
        r: &ast::Expr,
        scope: EntityKind,
        def: DefId,
        span: Span,
    ) -> Option<Expr> {
        let aop = match op {
            BinOp::Add => Arith::Add,
            BinOp::Sub => Arith::Sub,
            BinOp::Mul => Arith::Mul,
            _ => Arith::Div,
        };
        let lx = self.expr(l, scope, None, def);
        let rx = self.expr(r, scope, None, def);
        let (lx, rx) = (lx?, rx?);
        let ty = self.arith_ty(aop, lx.ty, rx.ty, span)?;
        // Give literals the type of their partner.
        let target = |t: Ty| {
            if matches!(aop, Arith::Add | Arith::Sub) || !t.is_integer() && !t.is_money() {
                t
            } else {
                lit_partner(t)
            }
        };
        let (lx, rx) = match (lx.ty, rx.ty) {
            (Ty::Lit(_), t) if !matches!(t, Ty::Lit(_)) => (retype(lx, target(t)), rx),
            (t, Ty::Lit(_)) if !matches!(t, Ty::Lit(_)) => (lx, retype(rx, target(t))),
            _ => (lx, rx),
        };
        Some(Expr {
            kind: ExprKind::Arith(aop, Box::new(lx), Box::new(rx)),
            ty,
            span,
        })
    }

    /// `sum`, `count`, `any`, `all`, `min` and `max` over a collection reachable from `scope`.
    #[allow(clippy::too_many_arguments)]
    fn aggregation(
        &mut self,
        kind: AggKind,
        body: Option<&ast::Expr>,
        collection: &Spanned<Collection>,
        filter: Option<&ast::Expr>,
        scope: EntityKind,
        def: DefId,
        span: Span,
    ) -> Option<Expr> {
        let (coll, inner) = match (collection.node, scope) {
            (Collection::Members, EntityKind::Household) => (Coll::Members, EntityKind::Person),
            (Collection::Households, EntityKind::Programme) => {
                (Coll::Households, EntityKind::Household)
            }
            (Collection::Persons, EntityKind::Programme) => (Coll::Persons, EntityKind::Person),
            (c, s) => {
                let (word, help) = match c {
                    Collection::Members => (
                        "members",
                        "`members` are reached from a household definition",
                    ),
                    Collection::Households => (
                        "households",
                        "`households` are reached from a programme definition",
                    ),
                    Collection::Persons => (
                        "persons",
                        "`persons` are reached from a programme definition",
                    ),
                };
                self.err(
                    Diagnostic::error(
                        format!("a {} definition cannot go over `{word}`", s.as_str()),
                        collection.span,
                        "not reachable here",
                    )
                    .with_help(help),
                );
                return None;
            }
        };
        let filter = match filter {
            Some(f) => Some(Box::new(self.expect_bool(
                f,
                inner,
                def,
                "the `where` filter",
            )?)),
            None => None,
        };
        let body = match (kind, body) {
            (AggKind::Count, Some(b)) => {
                self.err(
                    Diagnostic::error(
                        "`count` counts; it takes no value before `for`",
                        b.span,
                        "remove this",
                    )
                    .with_help("write `count(members where <condition>)`"),
                );
                return None;
            }
            (AggKind::Sum | AggKind::Min | AggKind::Max, None) => {
                self.err(
                    Diagnostic::error("this aggregation needs a value", span, "what to add up?")
                        .with_help("write e.g. `sum(monthly_income for members where counted)`"),
                );
                return None;
            }
            (AggKind::Any | AggKind::All, None) if filter.is_none() => {
                self.err(
                    Diagnostic::error("`any`/`all` need a condition", span, "no condition")
                        .with_help("write e.g. `any(members where disability_grade in {1, 2})`"),
                );
                return None;
            }
            (AggKind::Any | AggKind::All, Some(b)) => Some(Box::new(self.expect_bool(
                b,
                inner,
                def,
                "the value of `any`/`all`",
            )?)),
            (_, Some(b)) => {
                let x = self.expr(b, inner, None, def)?;
                if !x.ty.is_numeric() {
                    self.err(Diagnostic::error(
                        format!("cannot add up {}", self.tyname(x.ty)),
                        x.span,
                        "not a number",
                    ));
                    return None;
                }
                Some(Box::new(x))
            }
            (_, None) => None,
        };
        let ty = match kind {
            AggKind::Count => Ty::Int,
            AggKind::Any | AggKind::All => Ty::Bool,
            _ => match body.as_ref().map(|b| b.ty) {
                Some(Ty::Lit(true)) => Ty::Int,
                Some(Ty::Lit(false)) => Ty::Decimal,
                Some(t) => t,
                None => Ty::Int,
            },
        };
        let body = body.map(|b| {
            if matches!(b.ty, Ty::Lit(_)) {
                Box::new(retype(*b, ty))
            } else {
                b
            }
        });
        Some(Expr {
            kind: ExprKind::Agg {
                kind,
                coll,
                body,
                filter,
            },
            ty,
            span,
        })
    }
}
