//! Checking rules over time: `calendar` years, `state` items (desugared to definitions), `previous`,
//! and the date functions.

use super::{meta_citations, Checker, DefAst};
use crate::ast::{self, BinOp, EntityKind, Literal, Span, Spanned};
use crate::calendar::{self, CalendarYear};
use crate::diag::Diagnostic;
use crate::ir::*;

/// The date functions: English name, Chinese name, arity, usage.
pub(super) const TIME_FUNCTIONS: &[(&str, &str, usize, &str)] = &[
    ("add_days", "加天数", 2, "add_days(date, days)"),
    ("days_between", "相隔天数", 2, "days_between(from, to)"),
    (
        "add_working_days",
        "加工作日",
        2,
        "add_working_days(date, days)",
    ),
    (
        "working_days_between",
        "相隔工作日",
        2,
        "working_days_between(from, to)",
    ),
    ("month_start", "本月首日", 0, "month_start()"),
    ("month_end", "本月末日", 0, "month_end()"),
    ("previous", "上月", 1, "previous(STATE)"),
];

/// The English name of a date function written in either language.
pub(super) fn time_function(name: &str) -> Option<(&'static str, usize, &'static str)> {
    TIME_FUNCTIONS
        .iter()
        .find(|(en, zh, _, _)| *en == name || *zh == name)
        .map(|(en, _, n, usage)| (*en, *n, *usage))
}

/// A state waiting for its `initially` expression to be checked.
pub(super) struct StateAst {
    pub def: DefId,
    pub initially: ast::Expr,
    pub reason: Option<DefId>,
}

impl Checker {
    /// One `calendar YEAR` item: its dates must lie in that year, working weekends must be weekend
    /// days, and no date may be both. A later layer replaces a year of an earlier one.
    pub(super) fn declare_calendar(&mut self, c: &ast::CalendarDecl, layer: usize) {
        let year = c.year.node;
        if let Some(&(prev_layer, prev_span)) = self.calendar_layers.get(&year) {
            if prev_layer == layer {
                self.err(
                    Diagnostic::error(
                        format!("the calendar year {year} is declared twice"),
                        c.year.span,
                        "declared again here",
                    )
                    .with_secondary(prev_span, "first declared here")
                    .with_help(
                        "put all of a year's holidays and working weekends in one `calendar` item",
                    ),
                );
                return;
            }
        }
        let check_year = |s: &mut Checker, d: &Spanned<ast::Date>, what: &str| -> bool {
            if d.node.year != year {
                s.err(
                    Diagnostic::error(
                        format!(
                            "a {what} of the calendar year {year} falls in {}",
                            d.node.year
                        ),
                        d.span,
                        format!("not in {year}"),
                    )
                    .with_help(format!("move it to `calendar {}`", d.node.year)),
                );
                return false;
            }
            true
        };
        self.calendar_layers.insert(year, (layer, c.year.span));
        let mut ok = true;
        for d in &c.holidays {
            ok &= check_year(self, d, "holiday");
        }
        for d in &c.working_weekends {
            ok &= check_year(self, d, "working weekend");
            if !calendar::is_weekend(d.node) {
                ok = false;
                self.err(
                    Diagnostic::error(
                        format!("{} is not a Saturday or a Sunday", format_date(d.node)),
                        d.span,
                        "a weekday",
                    )
                    .with_help("`working_weekends` lists the weekend days that are worked (调休上班); weekdays are working days already"),
                );
            }
        }
        for d in &c.holidays {
            if let Some(w) = c.working_weekends.iter().find(|w| w.node == d.node) {
                ok = false;
                self.err(
                    Diagnostic::error(
                        format!(
                            "{} is both a holiday and a working day",
                            format_date(d.node)
                        ),
                        w.span,
                        "also a working weekend",
                    )
                    .with_secondary(d.span, "a holiday"),
                );
            }
        }
        if !ok {
            return;
        }
        self.calendar.years.insert(
            year,
            CalendarYear {
                label: c.label.clone(),
                holidays: c.holidays.iter().map(|d| d.node).collect(),
                working_weekends: c.working_weekends.iter().map(|d| d.node).collect(),
                citations: meta_citations(&c.meta),
                span: c.year.span,
            },
        );
    }

    /// A `state` item: declared as a definition whose body is the expression, or the transition
    /// table desugared to nested `if`s (plus the text definition `NAME_reason`).
    pub(super) fn declare_state(&mut self, s: &ast::StateDecl) {
        if s.entity != EntityKind::Household {
            self.err(
                Diagnostic::error(
                    format!("a state belongs to `household`, not `{}`", s.entity.as_str()),
                    s.entity_span,
                    "states are kept per household",
                )
                .with_help(format!(
                    "write `state household.{}`; a person's history is computed in household definitions",
                    s.name.name
                )),
            );
            return;
        }
        let (body, reason) = match &s.body {
            ast::StateBody::Expr(e) => (e.clone(), None),
            ast::StateBody::Transitions(rows) => {
                let to = |r: &ast::TransitionRow| ast::Expr {
                    kind: ast::ExprKind::Name(r.to.name.clone()),
                    span: r.to.span,
                };
                let reason = |r: &ast::TransitionRow| ast::Expr {
                    kind: ast::ExprKind::Lit(Literal::Text(r.reason.node.clone())),
                    span: r.reason.span,
                };
                let stay = previous_call(&s.name, s.name.span);
                let none = ast::Expr {
                    kind: ast::ExprKind::Lit(Literal::Text(String::new())),
                    span: s.name.span,
                };
                (
                    transition_chain(&s.name, rows, &to, stay),
                    Some(transition_chain(&s.name, rows, &reason, none)),
                )
            }
        };
        let before = self.defs.len();
        self.declare_def(
            s.entity,
            &s.name,
            s.label.clone(),
            &s.ty,
            &s.meta,
            s.span,
            DefAst::Expr(ast::DefDecl {
                entity: s.entity,
                entity_span: s.entity_span,
                name: s.name.clone(),
                label: s.label.clone(),
                ty: s.ty.clone(),
                meta: s.meta.clone(),
                body,
                span: s.span,
            }),
        );
        if self.defs.len() == before {
            return; // reported
        }
        let def = before as DefId;
        let reason = reason.and_then(|body| {
            let name = ast::Ident {
                name: format!("{}_reason", s.name.name),
                span: s.name.span,
            };
            let label = Some(format!(
                "{}的变更原因",
                s.label.as_deref().unwrap_or(&s.name.name)
            ));
            let at = self.defs.len();
            let ty = ast::TypeExpr::Text(s.name.span);
            self.declare_def(
                s.entity,
                &name,
                label.clone(),
                &ty,
                &s.meta,
                s.span,
                DefAst::Expr(ast::DefDecl {
                    entity: s.entity,
                    entity_span: s.entity_span,
                    name: name.clone(),
                    label,
                    ty: ty.clone(),
                    meta: s.meta.clone(),
                    body,
                    span: s.span,
                }),
            );
            (self.defs.len() > at).then_some(at as DefId)
        });
        self.state_asts.push(StateAst {
            def,
            initially: s.initially.clone(),
            reason,
        });
    }

    /// Checks every state's `initially` (before any body, since `previous` inlines it).
    pub(super) fn check_initial_values(&mut self) {
        let asts = std::mem::take(&mut self.state_asts);
        for st in &asts {
            let ty = self.defs[st.def as usize].ty;
            self.in_initially = true;
            let initially = self.expr_as(&st.initially, EntityKind::Household, ty, st.def);
            self.in_initially = false;
            let initially = initially.unwrap_or(Expr {
                kind: ExprKind::Const(Const::Bool(false)),
                ty,
                span: st.initially.span,
            });
            self.states.push(State {
                def: st.def,
                initially,
                reason: st.reason,
            });
        }
    }

    /// A call of a date function or `previous`; `name` is its English name.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn time_call(
        &mut self,
        name: &'static str,
        arity: usize,
        usage: &str,
        args: &[ast::Expr],
        scope: EntityKind,
        def: DefId,
        span: Span,
    ) -> Option<Expr> {
        if args.len() != arity {
            self.err(
                Diagnostic::error(
                    format!(
                        "`{name}` takes {arity} argument{}, found {}",
                        if arity == 1 { "" } else { "s" },
                        args.len()
                    ),
                    span,
                    "wrong number of arguments",
                )
                .with_help(format!("write `{usage}`")),
            );
            return None;
        }
        if name == "previous" {
            return self.previous(&args[0], scope, def, span);
        }
        let (builtin, arg_tys, ty): (Builtin, &[Ty], Ty) = match name {
            "add_days" => (Builtin::AddDays, &[Ty::Date, Ty::Int], Ty::Date),
            "days_between" => (Builtin::DaysBetween, &[Ty::Date, Ty::Date], Ty::Int),
            "add_working_days" => (Builtin::AddWorkingDays, &[Ty::Date, Ty::Int], Ty::Date),
            "working_days_between" => (Builtin::WorkingDaysBetween, &[Ty::Date, Ty::Date], Ty::Int),
            "month_start" => (Builtin::MonthStart, &[], Ty::Date),
            _ => (Builtin::MonthEnd, &[], Ty::Date),
        };
        if matches!(
            builtin,
            Builtin::AddWorkingDays | Builtin::WorkingDaysBetween
        ) && self.calendar.is_empty()
        {
            self.err(
                Diagnostic::error(
                    format!("`{name}` needs the working-day calendar, and the policy declares none"),
                    span,
                    "no `calendar` item",
                )
                .with_help("declare each year's public holidays and 调休 working weekends: `calendar 2024 source \"...\" holidays = { 2024-10-01, ... } working_weekends = { 2024-09-29, ... }`"),
            );
            return None;
        }
        let mut xs = Vec::new();
        for (a, t) in args.iter().zip(arg_tys) {
            xs.push(self.expr_as(a, scope, *t, def));
        }
        let xs: Vec<Expr> = xs.into_iter().collect::<Option<_>>()?;
        Some(Expr {
            kind: ExprKind::Builtin(builtin, xs),
            ty,
            span,
        })
    }

    /// `previous(x)`: last month's value of the state `x`, lowered to
    /// `if HasHistory then Previous(x) else <x's initially>`.
    fn previous(
        &mut self,
        arg: &ast::Expr,
        scope: EntityKind,
        def: DefId,
        span: Span,
    ) -> Option<Expr> {
        let ast::ExprKind::Name(n) = &arg.kind else {
            self.err(
                Diagnostic::error(
                    "`previous` takes the name of a state",
                    arg.span,
                    "not a name",
                )
                .with_help(
                    "write `previous(roll)`, where `roll` is declared with `state household.roll`",
                ),
            );
            return None;
        };
        if scope != EntityKind::Household {
            self.err(
                Diagnostic::error(
                    format!("`previous({n})` is only available in household definitions"),
                    span,
                    format!("in a {} definition", scope.as_str()),
                )
                .with_help(
                    "compute it in a household definition and read it here as `household.NAME`",
                ),
            );
            return None;
        }
        if self.in_initially {
            self.err(
                Diagnostic::error(
                    "`initially` cannot look at an earlier month",
                    span,
                    "`previous` in `initially`",
                )
                .with_help("`initially` is the value before the first month: write it from this month's data"),
            );
            return None;
        }
        let id = self
            .def_ids
            .get(&(EntityKind::Household, n.clone()))
            .copied();
        let Some(index) = id.and_then(|id| self.states.iter().position(|s| s.def == id)) else {
            let mut d = Diagnostic::error(
                format!("`{n}` is not a state, so it has no history"),
                arg.span,
                "not declared with `state`",
            );
            d = match id {
                Some(id) => d
                    .with_secondary(self.defs[id as usize].span, "a definition")
                    .with_help(format!(
                        "to remember `{n}` from month to month, declare it with `state household.{n}: TYPE initially = ... = ...`"
                    )),
                None => d.with_help("declare it with `state household.NAME: TYPE initially = ... = ...`"),
            };
            self.err(d);
            return None;
        };
        let st = self.states[index].clone();
        // `previous(x)` evaluates x's `initially` when there is no history: what that expression
        // uses, the definition containing `previous(x)` uses too.
        let mut refs = Vec::new();
        def_refs(&st.initially, &mut refs);
        // The edge points at the `initially` it comes through, which is what a cycle report shows.
        for r in refs {
            self.use_def(def, r, st.initially.span);
        }
        let ty = self.defs[st.def as usize].ty;
        Some(Expr {
            kind: ExprKind::If(
                Box::new(Expr {
                    kind: ExprKind::HasHistory,
                    ty: Ty::Bool,
                    span,
                }),
                Box::new(Expr {
                    kind: ExprKind::Previous(index as u32),
                    ty,
                    span,
                }),
                Box::new(st.initially),
            ),
            ty,
            span,
        })
    }
}

fn previous_call(name: &ast::Ident, span: Span) -> ast::Expr {
    ast::Expr {
        kind: ast::ExprKind::Call(
            ast::Ident {
                name: "previous".into(),
                span,
            },
            vec![ast::Expr {
                kind: ast::ExprKind::Name(name.name.clone()),
                span,
            }],
        ),
        span,
    }
}

/// `if <row 1 applies> then value(row 1) else if ... else otherwise`, where a row applies when last
/// month's value is one of its `from` variants (any, for `-`) and its `when` holds.
fn transition_chain(
    state: &ast::Ident,
    rows: &[ast::TransitionRow],
    value: &dyn Fn(&ast::TransitionRow) -> ast::Expr,
    otherwise: ast::Expr,
) -> ast::Expr {
    rows.iter().rev().fold(otherwise, |rest, r| {
        let cond = if r.from.is_empty() {
            r.when.clone()
        } else {
            let from_span = r.from[0].span.to(r.from[r.from.len() - 1].span);
            let is_from = ast::Expr {
                kind: ast::ExprKind::In(
                    Box::new(previous_call(state, from_span)),
                    r.from
                        .iter()
                        .map(|v| ast::Expr {
                            kind: ast::ExprKind::Name(v.name.clone()),
                            span: v.span,
                        })
                        .collect(),
                ),
                span: from_span,
            };
            ast::Expr {
                kind: ast::ExprKind::Binary(
                    BinOp::And,
                    Box::new(is_from),
                    Box::new(r.when.clone()),
                ),
                span: r.span,
            }
        };
        ast::Expr {
            kind: ast::ExprKind::If(Box::new(cond), Box::new(value(r)), Box::new(rest)),
            span: r.span,
        }
    })
}

/// The definitions an expression refers to.
fn def_refs(e: &Expr, out: &mut Vec<DefId>) {
    match &e.kind {
        ExprKind::Def(id) | ExprKind::HouseholdDef(id) => out.push(*id),
        ExprKind::Const(_)
        | ExprKind::Input(_)
        | ExprKind::HouseholdInput(_)
        | ExprKind::Id
        | ExprKind::Param(_)
        | ExprKind::HasHistory
        | ExprKind::Previous(_) => {}
        ExprKind::ParamAt(_, x)
        | ExprKind::Variant(_, x)
        | ExprKind::Neg(x)
        | ExprKind::Not(x)
        | ExprKind::Round(x, _)
        | ExprKind::In(x, _) => def_refs(x, out),
        ExprKind::Arith(_, a, b)
        | ExprKind::Cmp(_, a, b)
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b) => {
            def_refs(a, out);
            def_refs(b, out);
        }
        ExprKind::If(c, a, b) => {
            def_refs(c, out);
            def_refs(a, out);
            def_refs(b, out);
        }
        ExprKind::Builtin(_, xs) | ExprKind::Extern(_, xs) => {
            for x in xs {
                def_refs(x, out);
            }
        }
        ExprKind::Agg { body, filter, .. } => {
            if let Some(b) = body {
                def_refs(b, out);
            }
            if let Some(f) = filter {
                def_refs(f, out);
            }
        }
    }
}
