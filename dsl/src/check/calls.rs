//! Checks calls of the built-in functions and of the policy's `extern` functions.
//!
//! The built-ins here are `min`, `max`, `abs`, `monthly`, `yearly` and `round`; the date functions
//! and `previous` are in [`super::time`].

use super::types::retype;
use super::{closest, time, Checker, BUILTINS};
use crate::ast::{self, EntityKind, Literal, Period, Span};
use crate::diag::Diagnostic;
use crate::ir::*;
use rust_decimal::Decimal;

/// A call being checked: the function's name, its arguments, where it is, and what the caller
/// expects.
struct Call<'a> {
    f: &'a ast::Ident,
    args: &'a [ast::Expr],
    scope: EntityKind,
    expected: Option<Ty>,
    def: DefId,
    span: Span,
}

impl Checker {
    pub(super) fn call(
        &mut self,
        f: &ast::Ident,
        args: &[ast::Expr],
        scope: EntityKind,
        expected: Option<Ty>,
        def: DefId,
        span: Span,
    ) -> Option<Expr> {
        if let Some((name, n, usage)) = time::time_function(&f.name) {
            return self.time_call(name, n, usage, args, scope, def, span);
        }
        let c = Call {
            f,
            args,
            scope,
            expected,
            def,
            span,
        };
        match f.name.as_str() {
            "min" | "max" => self.min_max(&c),
            "abs" => self.abs(&c),
            "monthly" | "yearly" => self.convert_period(&c),
            "round" => self.round(&c),
            name => self.extern_call(&c, name),
        }
    }

    /// Whether the call has `n` arguments; reports it with the usage `usage` when not.
    fn arity(&mut self, c: &Call<'_>, n: usize, usage: &str) -> bool {
        if c.args.len() != n {
            self.err(
                Diagnostic::error(
                    format!(
                        "`{}` takes {n} argument{}, found {}",
                        c.f.name,
                        if n == 1 { "" } else { "s" },
                        c.args.len()
                    ),
                    c.span,
                    "wrong number of arguments",
                )
                .with_help(format!("write `{usage}`")),
            );
            false
        } else {
            true
        }
    }

    /// The first argument of a call of `n` arguments (`usage`), which must be a number or an amount
    /// (`message` when not).
    fn numeric_first(
        &mut self,
        c: &Call<'_>,
        n: usize,
        usage: &str,
        message: &str,
    ) -> Option<Expr> {
        if !self.arity(c, n, usage) {
            return None;
        }
        let x = self.expr(&c.args[0], c.scope, c.expected, c.def)?;
        if !x.ty.is_numeric() {
            self.err(Diagnostic::error(message, x.span, "not a number"));
            return None;
        }
        Some(x)
    }

    /// `min(a, b, ...)` and `max(a, b, ...)` of numbers, money or dates.
    fn min_max(&mut self, c: &Call<'_>) -> Option<Expr> {
        let (f, span) = (c.f, c.span);
        if c.args.len() < 2 {
            self.err(
                Diagnostic::error(
                    format!("`{}` needs at least two values", f.name),
                    span,
                    "too few arguments",
                )
                .with_help(format!(
                    "write `{}(a, b)`; over members use `{}(x for members)`",
                    f.name, f.name
                )),
            );
            return None;
        }
        let xs: Vec<Option<Expr>> = c
            .args
            .iter()
            .map(|a| self.expr(a, c.scope, c.expected, c.def))
            .collect();
        let xs: Vec<Expr> = xs.into_iter().collect::<Option<_>>()?;
        let mut t = xs[0].ty;
        for x in &xs[1..] {
            t = self.unify(t, x.ty, span, &format!("the values of `{}`", f.name))?;
        }
        if !t.is_numeric() && t != Ty::Date {
            self.err(Diagnostic::error(
                format!("`{}` compares numbers, money or dates", f.name),
                span,
                "not comparable",
            ));
            return None;
        }
        let xs: Vec<Expr> = xs
            .into_iter()
            .map(|x| self.coerce(x, t))
            .collect::<Option<_>>()?;
        let b = if f.name == "min" {
            Builtin::Min
        } else {
            Builtin::Max
        };
        Some(Expr {
            kind: ExprKind::Builtin(b, xs),
            ty: t,
            span,
        })
    }

    /// `abs(x)` of a number or an amount.
    fn abs(&mut self, c: &Call<'_>) -> Option<Expr> {
        let x = self.numeric_first(c, 1, "abs(x)", "`abs` takes a number")?;
        let t = x.ty;
        Some(Expr {
            kind: ExprKind::Builtin(Builtin::Abs, vec![x]),
            ty: t,
            span: c.span,
        })
    }

    /// `monthly(x)` of a yearly amount and `yearly(x)` of a monthly one.
    fn convert_period(&mut self, c: &Call<'_>) -> Option<Expr> {
        let (f, span) = (c.f, c.span);
        let usage = format!("{}(x)", f.name);
        if !self.arity(c, 1, &usage) {
            return None;
        }
        let x = self.expr(&c.args[0], c.scope, None, c.def)?;
        let (from, to, b) = if f.name == "monthly" {
            (Period::Year, Period::Month, Builtin::Monthly)
        } else {
            (Period::Month, Period::Year, Builtin::Yearly)
        };
        match x.ty {
            Ty::Money(p) if p == from => Some(Expr {
                kind: ExprKind::Builtin(b, vec![x]),
                ty: Ty::Money(to),
                span,
            }),
            Ty::Lit(_) => {
                let x = retype(x, Ty::Money(from));
                Some(Expr {
                    kind: ExprKind::Builtin(b, vec![x]),
                    ty: Ty::Money(to),
                    span,
                })
            }
            t => {
                self.err(Diagnostic::error(
                    format!(
                        "`{}` converts {}; found {}",
                        f.name,
                        self.tyname(Ty::Money(from)),
                        self.tyname(t)
                    ),
                    x.span,
                    format!("expected {}", self.tyname(Ty::Money(from))),
                ));
                None
            }
        }
    }

    /// `round(x, step)`, `step` a written power of ten.
    fn round(&mut self, c: &Call<'_>) -> Option<Expr> {
        let x = self.numeric_first(
            c,
            2,
            "round(x, 0.01)",
            "`round` takes a number or an amount",
        )?;
        let step = match &c.args[1].kind {
            ast::ExprKind::Lit(Literal::Number { value, .. }) if is_power_of_ten(*value) => *value,
            _ => {
                self.err(
                    Diagnostic::error(
                        "round to a power of ten, such as 0.01 (a fen) or 1 (a yuan)",
                        c.args[1].span,
                        "not a rounding step",
                    )
                    .with_help(
                        "write `round(x, 0.01)` or `round(x, 1)`; rounding is half away from zero",
                    ),
                );
                return None;
            }
        };
        let t = x.ty;
        Some(Expr {
            kind: ExprKind::Round(Box::new(x), step),
            ty: t,
            span: c.span,
        })
    }

    /// A call of an `extern` function declared in the policy (or of an unknown function).
    fn extern_call(&mut self, c: &Call<'_>, name: &str) -> Option<Expr> {
        let (args, span) = (c.args, c.span);
        let Some(&id) = self.extern_ids.get(name) else {
            let mut cands: Vec<&str> = BUILTINS.to_vec();
            cands.extend(self.extern_ids.keys().map(String::as_str));
            let mut d = Diagnostic::error(
                format!("unknown function `{name}`"),
                c.f.span,
                "no such function",
            );
            d = match closest(name, cands.into_iter()) {
                Some(h) => d.with_help(format!("did you mean `{h}`?")),
                None => d.with_help("functions are min, max, abs, round, monthly, yearly, the date functions (add_days, days_between, add_working_days, working_days_between, month_start, month_end), previous, aggregations, and `extern` functions declared in the policy"),
            };
            self.err(d);
            return None;
        };
        let ext = self.externs[id as usize].clone();
        if args.len() != ext.params.len() {
            self.err(
                Diagnostic::error(
                    format!(
                        "`{name}` takes {} arguments, found {}",
                        ext.params.len(),
                        args.len()
                    ),
                    span,
                    "wrong number of arguments",
                )
                .with_secondary(ext.span, "declared here"),
            );
            return None;
        }
        let mut xs = Vec::new();
        for (a, (_, t)) in args.iter().zip(&ext.params) {
            if let Some(x) = self.expr_as(a, c.scope, *t, c.def) {
                xs.push(x);
            }
        }
        if xs.len() != args.len() {
            return None;
        }
        Some(Expr {
            kind: ExprKind::Extern(id, xs),
            ty: ext.ret,
            span,
        })
    }
}

fn is_power_of_ten(d: Decimal) -> bool {
    if d <= Decimal::ZERO {
        return false;
    }
    let s = d.normalize().to_string();
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let trimmed = digits.trim_start_matches('0');
    trimmed.starts_with('1') && trimmed[1..].chars().all(|c| c == '0')
}
