//! Builds the tree of each declaration: `policy`, `enum`, `input`, `parameter`, `definition`, ….
//!
//! Also `exception`, `extern`, `calendar` and `state`, with the pieces items share (heads, metadata,
//! types, ranges, parameter values). Tables are in [`super::tables`].

use pest::iterators::Pairs;

use super::{peek_is, take, tight_end, Builder, Rule, P, R};
use crate::ast::{
    CalendarDecl, Date, DefDecl, EntityKind, EnumDecl, ExceptionDecl, ExternDecl, Ident, InputDecl,
    Item, Literal, Meta, ParamClause, ParamDecl, ParamValue, Period, RangeDecl, Span, Spanned,
    StateBody, StateDecl, TransitionRow, TypeExpr, Variant,
};
use crate::diag::Diagnostic;

/// The head of a definition, table or state.
pub(super) struct DeclHead {
    pub(super) entity: EntityKind,
    pub(super) entity_span: Span,
    pub(super) name: Ident,
    pub(super) label: Option<String>,
    pub(super) ty: TypeExpr,
    pub(super) meta: Vec<Meta>,
}

impl Builder<'_, '_> {
    pub(super) fn item(&mut self, pair: P<'_>) -> R<Item> {
        let at = self.start(&pair);
        let inner = pair
            .into_inner()
            .next()
            .ok_or_else(|| self.cx.internal(at))?;
        let span = self.cx.span(self.start(&inner), tight_end(&inner));
        let rule = inner.as_rule();
        let mut it = inner.into_inner();
        let cx = self.cx;
        match rule {
            Rule::policy_item => {
                take(&mut it, cx, at)?;
                let title = self.string(take(&mut it, cx, at)?)?;
                Ok(Item::Policy { title, span })
            }
            Rule::extends_item => {
                take(&mut it, cx, at)?;
                let path = self.string(take(&mut it, cx, at)?)?;
                Ok(Item::Extends { path, span })
            }
            Rule::enum_item => self.enum_item(it, span, at),
            Rule::input_item => self.input_item(it, span, at),
            Rule::parameter_item | Rule::override_item => {
                self.parameter_item(it, rule == Rule::override_item, span, at)
            }
            Rule::definition_item => self.definition_item(it, span, at),
            Rule::exception_item => self.exception_item(it, span, at),
            Rule::table_item => self.table(it, span, at),
            Rule::calendar_item => self.calendar(it, span, at),
            Rule::state_item => self.state(it, span, at),
            Rule::extern_item => self.extern_item(it, span, at),
            _ => Err(self.cx.internal(at)),
        }
    }

    /// `enum NAME "label" { VARIANT "label" ... }`.
    pub(super) fn enum_item(&mut self, mut it: Pairs<'_, Rule>, span: Span, at: usize) -> R<Item> {
        let cx = self.cx;
        take(&mut it, cx, at)?;
        let name = self.ident(&take(&mut it, cx, at)?);
        let label = self.opt_string(&mut it)?;
        let mut variants = Vec::new();
        for p in it {
            if p.as_rule() == Rule::variant {
                let mut vi = p.into_inner();
                let vname = self.ident(&take(&mut vi, cx, at)?);
                let vlabel = self.opt_string(&mut vi)?;
                variants.push(Variant {
                    name: vname,
                    label: vlabel,
                });
            }
        }
        Ok(Item::Enum(EnumDecl {
            name,
            label,
            variants,
            span,
        }))
    }

    /// `input ENTITY.NAME "label": TYPE [range] [default VALUE]` (the label may also follow the type, the old order, with a warning).
    pub(super) fn input_item(&mut self, mut it: Pairs<'_, Rule>, span: Span, at: usize) -> R<Item> {
        let cx = self.cx;
        take(&mut it, cx, at)?;
        let (entity, entity_span) = self.entity(take(&mut it, cx, at)?)?;
        take(&mut it, cx, at)?; // .
        let name = self.ident(&take(&mut it, cx, at)?);
        let label_before = self.opt_string(&mut it)?;
        take(&mut it, cx, at)?; // :
        let ty_pair = take(&mut it, cx, at)?;
        let mut after_colon = vec![ty_pair.as_str().to_string()];
        let ty = self.ty(ty_pair)?;
        let range = if peek_is(&it, Rule::range_decl) {
            let p = take(&mut it, cx, at)?;
            after_colon.push(p.as_str().to_string());
            Some(self.range_decl(p)?)
        } else {
            None
        };
        let default = if peek_is(&it, Rule::input_default) {
            let p = take(&mut it, cx, at)?;
            after_colon.push(p.as_str().to_string());
            let mut di = p.into_inner();
            take(&mut di, cx, at)?; // default
            Some(self.param_literal(take(&mut di, cx, at)?)?)
        } else {
            None
        };
        let label_after = it.peek().filter(|p| p.as_rule() == Rule::string);
        let label_span = label_after
            .as_ref()
            .map(|p| cx.span(p.as_span().start(), p.as_span().end()));
        let label_text = label_after.as_ref().map(|p| p.as_str().to_string());
        let label = match (label_before, self.opt_string(&mut it)?) {
            (Some(_), Some(_)) => return Err(Diagnostic::error(
                "this input has two labels",
                label_span.unwrap_or(span),
                "a second label",
            )
            .with_help(
                "an input takes one label, after its name: `input household.NAME \"label\": TYPE`",
            )),
            (Some(l), None) => Some(l),
            (None, Some(l)) => {
                self.warnings.push(
                    Diagnostic::warning(
                        "the label of an input goes after its name, as for parameters and definitions",
                        label_span.unwrap_or(span),
                        "label after the type (the old order)",
                    )
                    .with_help(format!(
                        "write it as: `input {}.{} {}: {}`",
                        entity.as_str(),
                        name.name,
                        label_text.unwrap_or_default(),
                        after_colon.join(" ")
                    )),
                );
                Some(l)
            }
            (None, None) => None,
        };
        if entity == EntityKind::Programme {
            return Err(Diagnostic::error(
                "an input belongs to `person` or `household`",
                entity_span,
                "`programme` has no inputs",
            )
            .with_help("programme totals are definitions: `definition programme.NAME: TYPE = sum(... for households)`"));
        }
        Ok(Item::Input(InputDecl {
            entity,
            entity_span,
            name,
            ty,
            range,
            default,
            label,
            span,
        }))
    }

    /// `[override] parameter NAME "label"[: TYPE [range] [by ENUM]] meta* = VALUE | (from DATE = VALUE)*`.
    pub(super) fn parameter_item(
        &mut self,
        mut it: Pairs<'_, Rule>,
        is_override: bool,
        span: Span,
        at: usize,
    ) -> R<Item> {
        let cx = self.cx;
        take(&mut it, cx, at)?; // parameter / override
        if is_override {
            take(&mut it, cx, at)?; // parameter
        }
        let name = self.ident(&take(&mut it, cx, at)?);
        let label = self.opt_string(&mut it)?;
        let mut ty = None;
        let mut by = None;
        let mut range = None;
        if peek_is(&it, Rule::colon) {
            take(&mut it, cx, at)?;
            ty = Some(self.ty(take(&mut it, cx, at)?)?);
            if peek_is(&it, Rule::range_decl) {
                range = Some(self.range_decl(take(&mut it, cx, at)?)?);
            }
            if peek_is(&it, Rule::by_clause) {
                let mut bi = take(&mut it, cx, at)?.into_inner();
                take(&mut bi, cx, at)?;
                by = Some(self.ident(&take(&mut bi, cx, at)?));
            }
        }
        let meta = self.metas(&mut it)?;
        let values = take(&mut it, cx, at)?;
        let mut clauses = Vec::new();
        for clause in values.into_inner() {
            // Metadata written after a value (`= 3000 source "..."`) stays with that value.
            clauses.push(self.param_clause(clause)?);
        }
        Ok(Item::Parameter(ParamDecl {
            is_override,
            name,
            label,
            ty,
            range,
            by,
            meta,
            clauses,
            span,
        }))
    }

    /// `definition ENTITY.NAME "label": TYPE meta* = EXPR`.
    pub(super) fn definition_item(
        &mut self,
        mut it: Pairs<'_, Rule>,
        span: Span,
        at: usize,
    ) -> R<Item> {
        let cx = self.cx;
        let DeclHead {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
        } = self.decl_head(&mut it, at)?;
        take(&mut it, cx, at)?; // =
        let body = self.expr(take(&mut it, cx, at)?)?.0;
        Ok(Item::Definition(DefDecl {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
            body,
            span,
        }))
    }

    /// `exception ENTITY.NAME "label" meta* when EXPR = EXPR`.
    pub(super) fn exception_item(
        &mut self,
        mut it: Pairs<'_, Rule>,
        span: Span,
        at: usize,
    ) -> R<Item> {
        let cx = self.cx;
        take(&mut it, cx, at)?;
        let (entity, entity_span) = self.entity(take(&mut it, cx, at)?)?;
        take(&mut it, cx, at)?; // .
        let name = self.ident(&take(&mut it, cx, at)?);
        let label = self.opt_string(&mut it)?;
        let meta = self.metas(&mut it)?;
        take(&mut it, cx, at)?; // when
        let when = self.expr(take(&mut it, cx, at)?)?.0;
        take(&mut it, cx, at)?; // =
        let body = self.expr(take(&mut it, cx, at)?)?.0;
        Ok(Item::Exception(ExceptionDecl {
            entity,
            entity_span,
            name,
            label,
            meta,
            when,
            body,
            span,
        }))
    }

    /// `extern NAME "label"(ARG: TYPE, ...): TYPE = "file.rhai"`.
    pub(super) fn extern_item(
        &mut self,
        mut it: Pairs<'_, Rule>,
        span: Span,
        at: usize,
    ) -> R<Item> {
        let cx = self.cx;
        take(&mut it, cx, at)?;
        let name = self.ident(&take(&mut it, cx, at)?);
        let label = self.opt_string(&mut it)?;
        take(&mut it, cx, at)?; // (
        let mut params = Vec::new();
        while peek_is(&it, Rule::extern_param) || peek_is(&it, Rule::comma) {
            let p = take(&mut it, cx, at)?;
            if p.as_rule() == Rule::extern_param {
                let mut pi = p.into_inner();
                let pname = self.ident(&take(&mut pi, cx, at)?);
                take(&mut pi, cx, at)?; // :
                let pty = self.ty(take(&mut pi, cx, at)?)?;
                params.push((pname, pty));
            }
        }
        take(&mut it, cx, at)?; // )
        take(&mut it, cx, at)?; // :
        let ret = self.ty(take(&mut it, cx, at)?)?;
        take(&mut it, cx, at)?; // =
        let fp = take(&mut it, cx, at)?;
        let fspan = self.sp(&fp);
        let file = Spanned {
            node: self.string(fp)?,
            span: fspan,
        };
        Ok(Item::Extern(ExternDecl {
            name,
            label,
            params,
            ret,
            file,
            span,
        }))
    }

    /// `calendar YEAR "label" meta* holidays = { dates } working_weekends = { dates }`.
    pub(super) fn calendar(&mut self, mut it: Pairs<'_, Rule>, span: Span, at: usize) -> R<Item> {
        let cx = self.cx;
        take(&mut it, cx, at)?; // calendar
        let yp = take(&mut it, cx, at)?;
        let year = Spanned {
            node: yp.as_str().parse::<i32>().map_err(|_| self.internal(&yp))?,
            span: self.sp(&yp),
        };
        let label = self.opt_string(&mut it)?;
        let meta = self.metas(&mut it)?;
        let mut sets = Vec::new();
        for p in it {
            if p.as_rule() == Rule::date_set {
                let mut dates = Vec::new();
                for d in p.into_inner() {
                    if d.as_rule() == Rule::date {
                        dates.push(self.date(&d)?);
                    }
                }
                sets.push(dates);
            }
        }
        let [holidays, working_weekends]: [Vec<Spanned<Date>>; 2] =
            sets.try_into().map_err(|_| cx.internal(at))?;
        Ok(Item::Calendar(CalendarDecl {
            year,
            label,
            meta,
            holidays,
            working_weekends,
            span,
        }))
    }

    /// `state ENTITY.NAME "label": TYPE meta* initially = EXPR (= EXPR | transitions ROWS)`.
    pub(super) fn state(&mut self, mut it: Pairs<'_, Rule>, span: Span, at: usize) -> R<Item> {
        let cx = self.cx;
        let DeclHead {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
        } = self.decl_head(&mut it, at)?;
        take(&mut it, cx, at)?; // initially
        take(&mut it, cx, at)?; // =
        let initially = self.expr(take(&mut it, cx, at)?)?.0;
        let next = take(&mut it, cx, at)?;
        let body = if next.as_rule() == Rule::state_transitions {
            let mut rows = Vec::new();
            for r in next.into_inner() {
                if r.as_rule() == Rule::transition_row {
                    rows.push(self.transition_row(r)?);
                }
            }
            StateBody::Transitions(rows)
        } else {
            StateBody::Expr(self.expr(take(&mut it, cx, at)?)?.0)
        };
        Ok(Item::State(StateDecl {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
            initially,
            body,
            span,
        }))
    }

    pub(super) fn transition_row(&mut self, p: P<'_>) -> R<TransitionRow> {
        let cx = self.cx;
        let at = self.start(&p);
        let span = cx.span(at, tight_end(&p));
        let mut from = Vec::new();
        let mut when = None;
        let mut to = None;
        let mut reason = None;
        let mut prev_end: Option<usize> = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::bar => self.bar(&mut prev_end, &q)?,
                Rule::transition_from => {
                    prev_end = Some(q.as_span().end());
                    for v in q.into_inner() {
                        if v.as_rule() == Rule::ident {
                            from.push(self.ident(&v));
                        }
                    }
                }
                Rule::expr => {
                    prev_end = Some(q.as_span().end());
                    when = Some(self.expr(q)?.0);
                }
                Rule::ident => {
                    prev_end = Some(q.as_span().end());
                    to = Some(self.ident(&q));
                }
                Rule::string => {
                    prev_end = Some(q.as_span().end());
                    let rs = self.sp(&q);
                    reason = Some(Spanned {
                        node: self.string(q)?,
                        span: rs,
                    });
                }
                _ => {}
            }
        }
        match (when, to, reason) {
            (Some(when), Some(to), Some(reason)) => Ok(TransitionRow {
                from,
                when,
                to,
                reason,
                span,
            }),
            _ => Err(cx.internal(at)),
        }
    }

    /// The head shared by definitions, tables and states: `KEYWORD ENTITY.NAME ["label"]: TYPE meta*`.
    pub(super) fn decl_head(&mut self, it: &mut Pairs<'_, Rule>, at: usize) -> R<DeclHead> {
        let cx = self.cx;
        take(it, cx, at)?; // definition / table / state
        let (entity, entity_span) = self.entity(take(it, cx, at)?)?;
        take(it, cx, at)?; // .
        let name = self.ident(&take(it, cx, at)?);
        let label = self.opt_string(it)?;
        take(it, cx, at)?; // :
        let ty = self.ty(take(it, cx, at)?)?;
        let meta = self.metas(it)?;
        Ok(DeclHead {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
        })
    }

    pub(super) fn opt_string(&mut self, it: &mut Pairs<'_, Rule>) -> R<Option<String>> {
        if peek_is(it, Rule::string) {
            let p = take(it, self.cx, 0)?;
            Ok(Some(self.string(p)?))
        } else {
            Ok(None)
        }
    }

    pub(super) fn metas(&mut self, it: &mut Pairs<'_, Rule>) -> R<Vec<Meta>> {
        let mut out = Vec::new();
        while peek_is(it, Rule::meta) {
            let m = take(it, self.cx, 0)?;
            out.push(self.meta(m)?);
        }
        Ok(out)
    }

    pub(super) fn meta(&mut self, p: P<'_>) -> R<Meta> {
        let at = self.start(&p);
        let inner = p.into_inner().next().ok_or_else(|| self.cx.internal(at))?;
        let span = self.cx.span(self.start(&inner), tight_end(&inner));
        let rule = inner.as_rule();
        let mut it = inner.into_inner();
        take(&mut it, self.cx, at)?; // source / assumption
        let text = self.string(take(&mut it, self.cx, at)?)?;
        if rule == Rule::source_meta {
            let quote = if peek_is(&it, Rule::kw_quote) {
                take(&mut it, self.cx, at)?;
                Some(self.string(take(&mut it, self.cx, at)?)?)
            } else {
                None
            };
            Ok(Meta::Source {
                citation: text,
                quote,
                span,
            })
        } else {
            Ok(Meta::Assumption { reason: text, span })
        }
    }

    pub(super) fn entity(&self, p: P<'_>) -> R<(EntityKind, Span)> {
        let span = self.sp(&p);
        let kind = match p.into_inner().next().map(|k| k.as_rule()) {
            Some(Rule::kw_person) => EntityKind::Person,
            Some(Rule::kw_household) => EntityKind::Household,
            Some(Rule::kw_programme) => EntityKind::Programme,
            _ => {
                return Err(self
                    .cx
                    .internal((span.start as usize).saturating_sub(self.cx.base)))
            }
        };
        Ok((kind, span))
    }

    pub(super) fn ty(&self, p: P<'_>) -> R<TypeExpr> {
        let inner = p
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&p))?;
        let span = self.cx.span(self.start(&inner), tight_end(&inner));
        Ok(match inner.as_rule() {
            Rule::ty_bool => TypeExpr::Bool(span),
            Rule::ty_integer => TypeExpr::Integer(span),
            Rule::ty_decimal => TypeExpr::Decimal(span),
            Rule::ty_percent => TypeExpr::Percent(span),
            Rule::ty_months => TypeExpr::Months(span),
            Rule::ty_date => TypeExpr::Date(span),
            Rule::ty_text => TypeExpr::Text(span),
            Rule::ty_money => {
                let period = match inner
                    .into_inner()
                    .find(|q| q.as_rule() == Rule::money_period)
                {
                    None => Period::Stock,
                    Some(mp) => {
                        let words: Vec<Rule> = mp.into_inner().map(|q| q.as_rule()).collect();
                        if words.contains(&Rule::kw_month) || words.contains(&Rule::kw_per_month) {
                            Period::Month
                        } else {
                            Period::Year
                        }
                    }
                };
                TypeExpr::Money(period, span)
            }
            Rule::ty_named => {
                let id = inner.into_inner().next().ok_or_else(|| self.internal(&p))?;
                TypeExpr::Named(self.ident(&id))
            }
            _ => return Err(self.internal(&p)),
        })
    }

    pub(super) fn param_clause(&mut self, p: P<'_>) -> R<ParamClause> {
        let at = self.start(&p);
        let span = self.cx.span(at, tight_end(&p));
        let rule = p.as_rule();
        let mut it = p.into_inner();
        let mut from = None;
        if rule == Rule::param_from {
            take(&mut it, self.cx, at)?; // from
            let d = take(&mut it, self.cx, at)?;
            from = Some(self.date(&d)?);
        }
        take(&mut it, self.cx, at)?; // =
        let vp = take(&mut it, self.cx, at)?;
        let value_pair = vp
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&vp))?;
        let value = if value_pair.as_rule() == Rule::param_table {
            let tspan = self
                .cx
                .span(self.start(&value_pair), tight_end(&value_pair));
            let mut entries = Vec::new();
            for e in value_pair.into_inner() {
                if e.as_rule() == Rule::param_entry {
                    let mut ei = e.into_inner();
                    let key = self.ident(&take(&mut ei, self.cx, at)?);
                    take(&mut ei, self.cx, at)?; // :
                    let lit = self.param_literal(take(&mut ei, self.cx, at)?)?;
                    entries.push((key, lit));
                }
            }
            ParamValue::Table(entries, tspan)
        } else {
            ParamValue::Scalar(self.param_literal(value_pair)?)
        };
        let meta = self.metas(&mut it)?;
        Ok(ParamClause {
            from,
            value,
            meta,
            span,
        })
    }

    /// `in LO..=HI`, `>= LO` or `<= HI`.
    pub(super) fn range_decl(&mut self, p: P<'_>) -> R<RangeDecl> {
        let span = self.sp(&p);
        let inner = p
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&p))?;
        let rule = inner.as_rule();
        let parts: Vec<P<'_>> = inner.into_inner().collect();
        let mut bounds = Vec::new();
        let mut op = "";
        for part in parts {
            match part.as_rule() {
                Rule::range_bound => bounds.push(self.param_literal(part)?),
                Rule::range_op => op = if part.as_str() == ">=" { ">=" } else { "<=" },
                Rule::range_to if part.as_str() == ".." => {
                    return Err(Diagnostic::error(
                        "a declared range includes both bounds: write `..=`",
                        self.sp(&part),
                        "`..` here",
                    )
                    .with_help("for example `integer in 0..=4`"));
                }
                _ => {}
            }
        }
        let mut bounds = bounds.into_iter();
        let (lo, hi) = match (rule, op) {
            (Rule::range_in, _) => (bounds.next(), bounds.next()),
            (_, ">=") => (bounds.next(), None),
            _ => (None, bounds.next()),
        };
        Ok(RangeDecl { lo, hi, span })
    }

    pub(super) fn param_literal(&mut self, p: P<'_>) -> R<Spanned<Literal>> {
        let inner = p
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&p))?;
        let span = self.sp(&inner);
        let node = match inner.as_rule() {
            Rule::date => Literal::Date(self.date(&inner)?.node),
            Rule::signed_percent => Literal::Percent(self.percent(&inner)?),
            Rule::signed_number => self.number(&inner)?,
            Rule::boolean => Literal::Bool(self.boolean(&inner)),
            Rule::string => Literal::Text(self.string(inner)?),
            Rule::ident => Literal::Name(inner.as_str().to_string()),
            _ => return Err(self.internal(&p)),
        };
        Ok(Spanned { node, span })
    }
}
