//! Builds formulas: operators, `if`, comparisons and `in`, indexing, brackets, literals and calls.
//!
//! Calls are plain functions or aggregations over a collection. Every built node carries its depth,
//! bounded by [`MAX_DEPTH`].

use super::{peek_is, take, tight_end, Builder, Rule, MAX_DEPTH, P, R};
use crate::ast::{
    AggKind, BinOp, CmpOp, Collection, Expr, ExprKind, Ident, Literal, Span, Spanned, UnOp,
};
use crate::diag::Diagnostic;

/// One step of [`Builder::expr`]: a finished expression with its depth, or the single child of a
/// wrapper rule to walk next.
enum Step<'i> {
    Done(Expr, usize),
    Descend(P<'i>),
}

/// A finished expression as a [`Step`].
fn done<'i>((e, d): (Expr, usize)) -> Step<'i> {
    Step::Done(e, d)
}

/// The function a call names: how it was written, its canonical (English) name, and what kind of
/// function it is.
struct Callee {
    written: String,
    canon: String,
    /// The aggregation it performs over a collection, if it can.
    agg: Option<AggKind>,
    /// Whether it can also be called as a plain function of values.
    plain: bool,
    /// The function name, and the whole call.
    fspan: Span,
    span: Span,
}

impl Builder<'_, '_> {
    pub(super) fn deeper(&self, d: usize, span: Span) -> R<usize> {
        if d + 1 > MAX_DEPTH {
            let at = (span.start as usize).saturating_sub(self.cx.base);
            return Err(self.cx.too_deep(at));
        }
        Ok(d + 1)
    }

    /// Builds an expression and returns it with its depth. Single-child wrapper rules are walked in a
    /// loop, so the recursion depth follows the nesting of the source, which the pre-scan bounded.
    pub(super) fn expr(&mut self, p: P<'_>) -> R<(Expr, usize)> {
        let mut p = p;
        loop {
            match self.expr_step(p)? {
                Step::Done(e, d) => return Ok((e, d)),
                Step::Descend(q) => p = q,
            }
        }
    }

    fn expr_step<'i>(&mut self, p: P<'i>) -> R<Step<'i>> {
        let cx = self.cx;
        let at = self.start(&p);
        match p.as_rule() {
            Rule::name => {
                let span = self.sp(&p);
                Ok(Step::Done(
                    Expr {
                        kind: ExprKind::Name(p.as_str().to_string()),
                        span,
                    },
                    1,
                ))
            }
            Rule::expr | Rule::primary | Rule::cell_value => Ok(Step::Descend(
                p.into_inner().next().ok_or_else(|| cx.internal(at))?,
            )),
            Rule::or_expr | Rule::and_expr | Rule::sum_expr | Rule::prod_expr => {
                self.binary_chain(p, at)
            }
            Rule::not_expr | Rule::unary_expr => self.unary(p, at),
            Rule::cmp_expr => self.comparison(p, at),
            Rule::if_expr => self.if_expr(p, at).map(done),
            Rule::postfix_expr => self.postfix(p, at),
            Rule::paren_expr => {
                let span = self.cx.span(at, tight_end(&p));
                let inner = p
                    .into_inner()
                    .find(|q| q.as_rule() == Rule::expr)
                    .ok_or_else(|| cx.internal(at))?;
                let (mut e, d) = self.expr(inner)?;
                e.span = span;
                Ok(Step::Done(e, d))
            }
            Rule::household_field => {
                let span = self.cx.span(at, tight_end(&p));
                let id = p
                    .into_inner()
                    .find(|q| q.as_rule() == Rule::ident)
                    .ok_or_else(|| cx.internal(at))?;
                Ok(Step::Done(
                    Expr {
                        kind: ExprKind::HouseholdField(self.ident(&id)),
                        span,
                    },
                    1,
                ))
            }
            Rule::call_expr => self.call(p).map(done),
            Rule::number | Rule::percent | Rule::date | Rule::boolean | Rule::string => {
                Ok(Step::Done(self.literal_expr(p)?, 1))
            }
            _ => Err(cx.internal(at)),
        }
    }

    /// `a or b`, `a and b`, `a + b - c`, `a * b / c`: a left-associated chain.
    fn binary_chain<'i>(&mut self, p: P<'i>, at: usize) -> R<Step<'i>> {
        let cx = self.cx;
        let mut it = p.into_inner();
        let first = take(&mut it, cx, at)?;
        if it.peek().is_none() {
            return Ok(Step::Descend(first));
        }
        let (mut acc, mut depth) = self.expr(first)?;
        while let Some(op) = it.next() {
            let bop = match (op.as_rule(), op.as_str()) {
                (Rule::kw_or, _) => BinOp::Or,
                (Rule::kw_and, _) => BinOp::And,
                (_, "+") => BinOp::Add,
                (_, "-") => BinOp::Sub,
                (_, "*") => BinOp::Mul,
                (_, "/") => BinOp::Div,
                _ => return Err(cx.internal(self.start(&op))),
            };
            let (rhs, rd) = self.expr(take(&mut it, cx, at)?)?;
            let span = acc.span.to(rhs.span);
            depth = self.deeper(depth.max(rd), span)?;
            acc = Expr {
                kind: ExprKind::Binary(bop, Box::new(acc), Box::new(rhs)),
                span,
            };
        }
        Ok(Step::Done(acc, depth))
    }

    /// `not x` and `-x`.
    fn unary<'i>(&mut self, p: P<'i>, at: usize) -> R<Step<'i>> {
        let cx = self.cx;
        let mut it = p.into_inner();
        let first = take(&mut it, cx, at)?;
        match first.as_rule() {
            Rule::kw_not | Rule::neg_op => {
                let op = if first.as_rule() == Rule::kw_not {
                    UnOp::Not
                } else {
                    UnOp::Neg
                };
                let (e, d) = self.expr(take(&mut it, cx, at)?)?;
                let span = self.sp(&first).to(e.span);
                let d = self.deeper(d, span)?;
                Ok(Step::Done(
                    Expr {
                        kind: ExprKind::Unary(op, Box::new(e)),
                        span,
                    },
                    d,
                ))
            }
            _ => Ok(Step::Descend(first)),
        }
    }

    /// `a < b` and the other comparisons, and `a in {x, y}`.
    fn comparison<'i>(&mut self, p: P<'i>, at: usize) -> R<Step<'i>> {
        let cx = self.cx;
        let mut it = p.into_inner();
        let first = take(&mut it, cx, at)?;
        let Some(op) = it.next() else {
            return Ok(Step::Descend(first));
        };
        let (lhs, ld) = self.expr(first)?;
        if op.as_rule() == Rule::kw_in {
            let set = take(&mut it, cx, at)?;
            let set_end = tight_end(&set);
            let mut items = Vec::new();
            let mut depth = ld;
            for q in set.into_inner() {
                if q.as_rule() == Rule::expr {
                    let (e, d) = self.expr(q)?;
                    depth = depth.max(d);
                    items.push(e);
                }
            }
            let span = Span {
                end: (set_end + cx.base) as u32,
                ..lhs.span
            };
            let depth = self.deeper(depth, span)?;
            return Ok(Step::Done(
                Expr {
                    kind: ExprKind::In(Box::new(lhs), items),
                    span,
                },
                depth,
            ));
        }
        let cop = cmp_op(op.as_str()).ok_or_else(|| cx.internal(self.start(&op)))?;
        let (rhs, rd) = self.expr(take(&mut it, cx, at)?)?;
        let span = lhs.span.to(rhs.span);
        let depth = self.deeper(ld.max(rd), span)?;
        Ok(Step::Done(
            Expr {
                kind: ExprKind::Binary(BinOp::Cmp(cop), Box::new(lhs), Box::new(rhs)),
                span,
            },
            depth,
        ))
    }

    /// `if c then a else b`.
    fn if_expr(&mut self, p: P<'_>, at: usize) -> R<(Expr, usize)> {
        let cx = self.cx;
        let mut it = p.into_inner();
        let kw = take(&mut it, cx, at)?;
        let (c, cd) = self.expr(take(&mut it, cx, at)?)?;
        take(&mut it, cx, at)?;
        let (a, ad) = self.expr(take(&mut it, cx, at)?)?;
        take(&mut it, cx, at)?;
        let (b, bd) = self.expr(take(&mut it, cx, at)?)?;
        let span = self.sp(&kw).to(b.span);
        let depth = self.deeper(cd.max(ad).max(bd), span)?;
        Ok((
            Expr {
                kind: ExprKind::If(Box::new(c), Box::new(a), Box::new(b)),
                span,
            },
            depth,
        ))
    }

    /// `x[key]`, possibly repeated.
    fn postfix<'i>(&mut self, p: P<'i>, at: usize) -> R<Step<'i>> {
        let cx = self.cx;
        let mut it = p.into_inner();
        let first = take(&mut it, cx, at)?;
        if it.peek().is_none() {
            return Ok(Step::Descend(first));
        }
        let (mut acc, mut depth) = self.expr(first)?;
        for suffix in it {
            let end = tight_end(&suffix);
            let key = suffix
                .into_inner()
                .find(|q| q.as_rule() == Rule::expr)
                .ok_or_else(|| cx.internal(at))?;
            let (k, kd) = self.expr(key)?;
            let span = Span {
                end: (end + cx.base) as u32,
                ..acc.span
            };
            depth = self.deeper(depth.max(kd), span)?;
            acc = Expr {
                kind: ExprKind::Index(Box::new(acc), Box::new(k)),
                span,
            };
        }
        Ok(Step::Done(acc, depth))
    }

    /// A number, percent, date, boolean or string written in a formula.
    fn literal_expr(&mut self, p: P<'_>) -> R<Expr> {
        Ok(match p.as_rule() {
            Rule::number => Expr {
                kind: ExprKind::Lit(self.number(&p)?),
                span: self.sp(&p),
            },
            Rule::percent => Expr {
                kind: ExprKind::Lit(Literal::Percent(self.percent(&p)?)),
                span: self.sp(&p),
            },
            Rule::date => {
                let d = self.date(&p)?;
                Expr {
                    kind: ExprKind::Lit(Literal::Date(d.node)),
                    span: d.span,
                }
            }
            Rule::boolean => Expr {
                kind: ExprKind::Lit(Literal::Bool(self.boolean(&p))),
                span: self.sp(&p),
            },
            Rule::string => {
                let span = self.sp(&p);
                Expr {
                    kind: ExprKind::Lit(Literal::Text(self.string(p)?)),
                    span,
                }
            }
            _ => return Err(self.internal(&p)),
        })
    }

    /// A call: a plain function of values (`min(a, b)`), or an aggregation over a collection
    /// (`sum(x for members where c)`, `count(members where c)`).
    fn call(&mut self, p: P<'_>) -> R<(Expr, usize)> {
        let cx = self.cx;
        let at = self.start(&p);
        let span = cx.span(at, tight_end(&p));
        let mut it = p.into_inner();
        let fname = take(&mut it, cx, at)?;
        let fspan = self.sp(&fname);
        let fkw = fname
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| cx.internal(at))?;
        let written = fname.as_str().to_string();
        let (canon, agg, plain) = callee_kind(fkw.as_rule(), &written);
        let f = Callee {
            written,
            canon,
            agg,
            plain,
            fspan,
            span,
        };
        take(&mut it, cx, at)?; // (
        let args = take(&mut it, cx, at)?;
        let mut ai = args.into_inner().peekable();

        // Aggregation forms.
        let (body, tail) = match ai.peek().map(|q| q.as_rule()) {
            Some(Rule::agg_over) => (None, ai.next().ok_or_else(|| cx.internal(at))?),
            Some(Rule::expr) => {
                let body = ai.next().ok_or_else(|| cx.internal(at))?;
                if ai.peek().is_some_and(|q| q.as_rule() == Rule::agg_for) {
                    (Some(body), ai.next().ok_or_else(|| cx.internal(at))?)
                } else {
                    // Plain call: put the first argument back in front.
                    let mut exprs = vec![body];
                    exprs.extend(ai.filter(|q| q.as_rule() == Rule::expr));
                    return self.plain_call(f, exprs);
                }
            }
            None => return empty_call(f),
            _ => return Err(cx.internal(at)),
        };
        let Some(kind) = f.agg else {
            return Err(Diagnostic::error(
                format!("`{}` is not an aggregation", f.written),
                f.fspan,
                "cannot take `for` or a collection",
            )
            .with_help("the aggregations are `sum`, `count`, `any`, `all`, `min` and `max`"));
        };
        self.aggregation(&f, kind, body, tail, at)
    }

    /// `f(a, b, ...)`: a function of values.
    fn plain_call(&mut self, f: Callee, exprs: Vec<P<'_>>) -> R<(Expr, usize)> {
        let written = &f.written;
        if !f.plain {
            let example = match f.canon.as_str() {
                "count" => format!("`{written}(members where CONDITION)`"),
                "any" | "all" => format!("`{written}(CONDITION for members)`"),
                _ => format!("`{written}(VALUE for members)`"),
            };
            return Err(Diagnostic::error(
                format!("`{written}` is an aggregation over a collection"),
                f.fspan,
                "not a function of several values",
            )
            .with_help(format!(
                "write {example}; to combine two values use an operator such as `+`"
            )));
        }
        let mut args_out = Vec::with_capacity(exprs.len());
        let mut depth = 0;
        for e in exprs {
            let (e, d) = self.expr(e)?;
            depth = depth.max(d);
            args_out.push(e);
        }
        let depth = self.deeper(depth, f.span)?;
        let name = Ident {
            name: f.canon,
            span: f.fspan,
        };
        Ok((
            Expr {
                kind: ExprKind::Call(name, args_out),
                span: f.span,
            },
            depth,
        ))
    }

    /// `kind([VALUE for] COLLECTION [where CONDITION])`, `tail` being what follows the value.
    fn aggregation(
        &mut self,
        f: &Callee,
        kind: AggKind,
        body: Option<P<'_>>,
        tail: P<'_>,
        at: usize,
    ) -> R<(Expr, usize)> {
        let cx = self.cx;
        let mut ti = tail.into_inner();
        if peek_is(&ti, Rule::kw_for) {
            ti.next();
        }
        let coll = take(&mut ti, cx, at)?;
        let coll_span = self.sp(&coll);
        let collection = match coll.into_inner().next().map(|k| k.as_rule()) {
            Some(Rule::kw_members) => Collection::Members,
            Some(Rule::kw_households) => Collection::Households,
            Some(Rule::kw_persons) => Collection::Persons,
            _ => return Err(cx.internal(at)),
        };
        let filter_pair = match ti.next() {
            Some(w) => Some(
                w.into_inner()
                    .find(|q| q.as_rule() == Rule::expr)
                    .ok_or_else(|| cx.internal(at))?,
            ),
            None => None,
        };
        self.aggregation_shape(f, kind, body.as_ref(), filter_pair.is_some(), coll_span)?;
        let mut depth = 0;
        let body = match body {
            Some(b) => {
                let (e, d) = self.expr(b)?;
                depth = depth.max(d);
                Some(Box::new(e))
            }
            None => None,
        };
        let filter = match filter_pair {
            Some(f) => {
                let (e, d) = self.expr(f)?;
                depth = depth.max(d);
                Some(Box::new(e))
            }
            None => None,
        };
        let depth = self.deeper(depth, f.span)?;
        Ok((
            Expr {
                kind: ExprKind::Agg {
                    kind,
                    body,
                    collection: Spanned {
                        node: collection,
                        span: coll_span,
                    },
                    filter,
                },
                span: f.span,
            },
            depth,
        ))
    }

    /// Whether an aggregation has the parts its kind needs: a value for `sum`, `min` and `max`, no
    /// value for `count`, a condition for `any` and `all`.
    fn aggregation_shape(
        &self,
        f: &Callee,
        kind: AggKind,
        body: Option<&P<'_>>,
        has_filter: bool,
        coll_span: Span,
    ) -> R<()> {
        let written = &f.written;
        let needs_body = matches!(kind, AggKind::Sum | AggKind::Min | AggKind::Max);
        if needs_body && body.is_none() {
            return Err(Diagnostic::error(
                format!("`{written}` needs a value to aggregate"),
                coll_span,
                "expected `VALUE for` before the collection",
            )
            .with_help(format!(
                "for example `{written}(monthly_income for members)`"
            )));
        }
        if kind == AggKind::Count {
            if let Some(b) = body {
                return Err(Diagnostic::error(
                    "`count` counts the members of a collection and takes no value",
                    self.sp(b),
                    "remove this and `for`",
                )
                .with_help(format!("write `{written}(members where CONDITION)`")));
            }
        }
        if matches!(kind, AggKind::Any | AggKind::All) && body.is_none() && !has_filter {
            return Err(Diagnostic::error(
                format!("`{written}` needs a condition"),
                coll_span,
                "expected `where CONDITION` after the collection",
            )
            .with_help(format!(
                "for example `{written}(members where disability_grade in {{1, 2}})`"
            )));
        }
        Ok(())
    }
}

/// `f()`: a plain function without arguments (an aggregation needs a collection).
fn empty_call(f: Callee) -> R<(Expr, usize)> {
    if !f.plain {
        let written = &f.written;
        return Err(Diagnostic::error(
            format!("`{written}` needs a collection to aggregate over"),
            f.span,
            "nothing between the brackets",
        )
        .with_help(format!("for example `{written}(members where counted)`")));
    }
    let name = Ident {
        name: f.canon,
        span: f.fspan,
    };
    Ok((
        Expr {
            kind: ExprKind::Call(name, Vec::new()),
            span: f.span,
        },
        1,
    ))
}

/// (canonical name, aggregation kind, plain function?) of the function keyword `rule` (any other
/// name is a plain function, kept as written).
fn callee_kind(rule: Rule, written: &str) -> (String, Option<AggKind>, bool) {
    match rule {
        Rule::kw_sum => ("sum".into(), Some(AggKind::Sum), false),
        Rule::kw_count => ("count".into(), Some(AggKind::Count), false),
        Rule::kw_any => ("any".into(), Some(AggKind::Any), false),
        Rule::kw_all => ("all".into(), Some(AggKind::All), false),
        Rule::kw_min => ("min".into(), Some(AggKind::Min), true),
        Rule::kw_max => ("max".into(), Some(AggKind::Max), true),
        Rule::kw_round => ("round".into(), None, true),
        Rule::kw_monthly => ("monthly".into(), None, true),
        Rule::kw_yearly => ("yearly".into(), None, true),
        Rule::kw_abs => ("abs".into(), None, true),
        _ => (written.to_string(), None, true),
    }
}

pub(super) fn cmp_op(s: &str) -> Option<CmpOp> {
    Some(match s {
        "==" => CmpOp::Eq,
        "!=" => CmpOp::Ne,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Le,
        ">" => CmpOp::Gt,
        ">=" => CmpOp::Ge,
        _ => return None,
    })
}
