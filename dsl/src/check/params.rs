//! Checks parameters: declarations, overrides, dated values and declared ranges.
//!
//! A value is one constant, or one per variant of an enum; declared ranges are also used by inputs.

use super::values::literal_const;
use super::{closest, meta_citations, Checker};
use crate::ast::{self, Literal, Span, Spanned};
use crate::diag::Diagnostic;
use crate::ir::*;
use crate::load::LoadedSources;
use rust_decimal::Decimal;

impl Checker {
    /// Checks a declared range against the type it bounds: numbers only, bounds written like the
    /// type's values (a percent as `30%`, an integer without a decimal point), not empty.
    pub(super) fn lower_range(
        &mut self,
        r: &ast::RangeDecl,
        ty: Ty,
        what: &str,
        name: &str,
    ) -> Option<ValueRange> {
        let tn = self.tyname(ty);
        if !matches!(
            ty,
            Ty::Int | Ty::Months | Ty::Decimal | Ty::Percent | Ty::Money(_)
        ) {
            self.err(
                Diagnostic::error(format!("the {what} `{name}` has the type `{tn}`: only numbers have a range"), r.span, "a range on a type that is not a number")
                    .with_help("ranges bound integers, decimals, percents, money and months; remove it (an enum's values are its range)"),
            );
            return None;
        }
        let mut bound = |b: &Option<Spanned<Literal>>| -> Result<Option<(Decimal, String)>, ()> {
            let Some(b) = b else { return Ok(None) };
            let (value, text, ok, help) = match (&b.node, ty) {
                (Literal::Percent(d), Ty::Percent) => (
                    *d,
                    format!("{}%", (*d * Decimal::from(100)).normalize()),
                    true,
                    "",
                ),
                (Literal::Number { value, is_integer }, Ty::Int | Ty::Months) => (
                    *value,
                    value.to_string(),
                    *is_integer,
                    "an integer bound has no decimal point: `0..=4`",
                ),
                (Literal::Number { value, .. }, Ty::Decimal | Ty::Money(_)) => {
                    (*value, value.to_string(), true, "")
                }
                (Literal::Number { value, .. }, Ty::Percent) => (
                    *value,
                    value.to_string(),
                    false,
                    "write a percent bound with `%`: `in 0%..=100%`",
                ),
                (Literal::Percent(d), _) => (
                    *d,
                    String::new(),
                    false,
                    "only a `percent` has percent bounds; write a number",
                ),
                _ => (Decimal::ZERO, String::new(), false, "a bound is a number"),
            };
            if !ok {
                self.err(
                    Diagnostic::error(
                        format!("this bound does not fit the type `{tn}`"),
                        b.span,
                        "wrong kind of bound",
                    )
                    .with_help(help),
                );
                return Err(());
            }
            Ok(Some((value, text)))
        };
        let lo = bound(&r.lo).ok()?;
        let hi = bound(&r.hi).ok()?;
        let text = match (&lo, &hi) {
            (Some((_, l)), Some((_, h))) => format!("{l}..={h}"),
            (Some((_, l)), None) => format!(">= {l}"),
            (None, Some((_, h))) => format!("<= {h}"),
            (None, None) => return None,
        };
        if let (Some((l, _)), Some((h, _))) = (&lo, &hi) {
            if l > h {
                self.err(
                    Diagnostic::error(
                        format!("the range `{text}` of `{name}` is empty"),
                        r.span,
                        "no value lies in this range",
                    )
                    .with_help("write the smaller bound first, e.g. `in 0..=4`"),
                );
                return None;
            }
        }
        Some(ValueRange {
            lo: lo.map(|x| x.0),
            hi: hi.map(|x| x.0),
            text,
        })
    }

    /// Every value of a parameter lies in its declared range.
    pub(super) fn check_param_range(
        &mut self,
        name: &str,
        range: &Option<ValueRange>,
        versions: &[ParamVersion],
    ) {
        let Some(r) = range else { return };
        for v in versions {
            if v.values.iter().any(|c| !r.contains_const(c)) {
                self.err(
                    Diagnostic::error(
                        format!(
                            "a value of `{name}` is outside its declared range `{}`",
                            r.text
                        ),
                        v.span,
                        "out of range",
                    )
                    .with_help("fix the value, or widen the range where the parameter is declared"),
                );
            }
        }
    }

    pub(super) fn param_versions(
        &mut self,
        p: &ast::ParamDecl,
        ty: Ty,
        by: Option<EnumId>,
    ) -> Vec<ParamVersion> {
        let mut versions: Vec<ParamVersion> = Vec::new();
        for c in &p.clauses {
            let Some(values) = self.clause_values(p, c, ty, by) else {
                continue;
            };
            if let Some(last) = versions.last() {
                match (last.from, c.from.as_ref()) {
                    (_, None) => {
                        self.err(
                            Diagnostic::error(format!("`{}` has a value without a date after another value", p.name.name), c.span, "no `from` date")
                                .with_help("a value without `from` is in force at every date; give it first, or give dates to all"),
                        );
                        continue;
                    }
                    (Some(prev), Some(d)) if d.node <= prev => {
                        self.err(
                            Diagnostic::error(
                                format!("the dates of `{}` must increase", p.name.name),
                                d.span,
                                "not after the previous date",
                            )
                            .with_secondary(last.span, "previous value"),
                        );
                        continue;
                    }
                    _ => {}
                }
            }
            versions.push(ParamVersion {
                from: c.from.as_ref().map(|d| d.node),
                values,
                citations: meta_citations(&c.meta),
                span: c.span,
            });
        }
        if versions.is_empty() && !p.clauses.is_empty() {
            return versions;
        }
        if p.clauses.is_empty() {
            self.err(
                Diagnostic::error(
                    format!("the parameter `{}` has no value", p.name.name),
                    p.name.span,
                    "no value",
                )
                .with_help("give `= VALUE`, or `from YYYY-MM-DD = VALUE` lines"),
            );
        }
        versions
    }

    /// The values of one clause of a parameter: one value, or one per variant of the enum `by`.
    fn clause_values(
        &mut self,
        p: &ast::ParamDecl,
        c: &ast::ParamClause,
        ty: Ty,
        by: Option<EnumId>,
    ) -> Option<Vec<Const>> {
        match (&c.value, by) {
            (ast::ParamValue::Scalar(l), None) => match literal_const(&l.node, ty, &self.enums) {
                Ok(v) => Some(vec![v]),
                Err(msg) => {
                    self.err(Diagnostic::error(
                        format!("wrong value for `{}`: {msg}", p.name.name),
                        l.span,
                        "this value",
                    ));
                    None
                }
            },
            (ast::ParamValue::Scalar(l), Some(e)) => {
                let en = &self.enums[e as usize];
                self.err(
                    Diagnostic::error(
                        format!(
                            "`{}` is a table by `{}`: give one value per {}",
                            p.name.name, en.name, en.name
                        ),
                        l.span,
                        "a single value",
                    )
                    .with_help(format!(
                        "write `{{ {} }}`",
                        en.variants
                            .iter()
                            .map(|v| format!("{v}: ..."))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
                None
            }
            (ast::ParamValue::Table(_, span), None) => {
                self.err(
                    Diagnostic::error(format!("`{}` is not a table", p.name.name), *span, "a table of values")
                        .with_help("declare it `by` an enum to give one value per variant, e.g. `: money per month by area`"),
                );
                None
            }
            (ast::ParamValue::Table(entries, span), Some(e)) => {
                self.table_values(p, entries, *span, ty, e)
            }
        }
    }

    /// `{ key: value, ... }`: one value per variant of the enum `e`, each given once.
    fn table_values(
        &mut self,
        p: &ast::ParamDecl,
        entries: &[(ast::Ident, Spanned<Literal>)],
        span: Span,
        ty: Ty,
        e: EnumId,
    ) -> Option<Vec<Const>> {
        let en = self.enums[e as usize].clone();
        let mut vals: Vec<Option<Const>> = vec![None; en.variants.len()];
        for (key, lit) in entries {
            let Some(idx) = en.variants.iter().position(|v| *v == key.name) else {
                self.err(
                    Diagnostic::error(
                        format!("`{}` is not a value of `{}`", key.name, en.name),
                        key.span,
                        "unknown key",
                    )
                    .with_help(format!(
                        "the values of `{}` are: {}",
                        en.name,
                        en.variants.join(", ")
                    )),
                );
                continue;
            };
            if vals[idx].is_some() {
                self.err(Diagnostic::error(
                    format!("`{}` is given twice", key.name),
                    key.span,
                    "given again here",
                ));
                continue;
            }
            match literal_const(&lit.node, ty, &self.enums) {
                Ok(v) => vals[idx] = Some(v),
                Err(msg) => self.err(Diagnostic::error(
                    format!("wrong value for `{}`: {msg}", p.name.name),
                    lit.span,
                    "this value",
                )),
            }
        }
        let missing: Vec<&str> = en
            .variants
            .iter()
            .zip(&vals)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        if !missing.is_empty() {
            self.err(
                Diagnostic::error(
                    format!("`{}` has no value for {}", p.name.name, missing.join(", ")),
                    span,
                    "incomplete table",
                )
                .with_help(format!(
                    "a table by `{}` gives a value for every one of its values",
                    en.name
                )),
            );
            return None;
        }
        Some(vals.into_iter().flatten().collect())
    }

    pub(super) fn declare_param(&mut self, p: &ast::ParamDecl) {
        if let Some(&prev) = self.param_ids.get(&p.name.name) {
            let prev_span = self.params[prev as usize].span;
            self.err(
                Diagnostic::error(
                    format!("the parameter `{}` is declared twice", p.name.name),
                    p.name.span,
                    "declared again here",
                )
                .with_secondary(prev_span, "first declared here")
                .with_help("to change a base layer's values, write `override parameter NAME`"),
            );
            return;
        }
        let Some(tyx) = &p.ty else {
            self.err(Diagnostic::error(
                format!("the parameter `{}` needs a type", p.name.name),
                p.name.span,
                "no type",
            ));
            return;
        };
        let Some(ty) = self.resolve_type(tyx) else {
            return;
        };
        let by = match &p.by {
            None => None,
            Some(id) => match self.enum_ids.get(&id.name) {
                Some((e, _)) => Some(*e),
                None => {
                    self.err(Diagnostic::error(
                        format!("unknown enum `{}`", id.name),
                        id.span,
                        "a table must be keyed by an enum",
                    ));
                    return;
                }
            },
        };
        let mut citations = meta_citations(&p.meta);
        let range = p
            .range
            .as_ref()
            .and_then(|r| self.lower_range(r, ty, "parameter", &p.name.name));
        let versions = self.param_versions(p, ty, by);
        self.check_param_range(&p.name.name, &range, &versions);
        if citations.is_empty() && versions.iter().all(|v| v.citations.is_empty()) {
            self.err(
                Diagnostic::warning(format!("the parameter `{}` has no source", p.name.name), p.name.span, "no `source` or `assumption`")
                    .with_help("cite the article (`source \"001_....txt 五(一)5(2)\"`) or say why the value is assumed (`assumption \"...\"`)"),
            );
        }
        citations.dedup();
        self.param_ids
            .insert(p.name.name.clone(), self.params.len() as ParamId);
        self.params.push(Param {
            name: p.name.name.clone(),
            label: p.label.clone(),
            ty,
            by,
            citations,
            versions,
            span: p.name.span,
            overridden_at: None,
            range,
        });
    }

    pub(super) fn override_param(
        &mut self,
        p: &ast::ParamDecl,
        _layer: usize,
        _loaded: &LoadedSources,
    ) {
        let Some(&id) = self.param_ids.get(&p.name.name) else {
            let hint = closest(&p.name.name, self.param_ids.keys().map(String::as_str));
            let mut d = Diagnostic::error(
                format!("`override` of an unknown parameter `{}`", p.name.name),
                p.name.span,
                "no such parameter in the base layers",
            );
            if let Some(h) = hint {
                d = d.with_help(format!("did you mean `{h}`?"));
            }
            self.err(d);
            return;
        };
        let (ty, by) = (self.params[id as usize].ty, self.params[id as usize].by);
        if let Some(t) = &p.ty {
            if let Some(t2) = self.resolve_type(t) {
                if t2 != ty {
                    let msg = format!(
                        "`{}` has type `{}`; an override cannot change it",
                        p.name.name,
                        self.tyname(ty)
                    );
                    self.err(Diagnostic::error(msg, t.span(), "different type"));
                }
            }
        }
        let versions = self.param_versions(p, ty, by);
        if versions.is_empty() {
            return;
        }
        if let Some(r) = &p.range {
            self.err(
                Diagnostic::error(
                    format!("an override cannot change the range of `{}`", p.name.name),
                    r.span,
                    "range given here",
                )
                .with_help("the range is declared once, with the parameter's type"),
            );
        }
        let range = self.params[id as usize].range.clone();
        self.check_param_range(&p.name.name, &range, &versions);
        let param = &mut self.params[id as usize];
        param.versions = versions;
        let cites = meta_citations(&p.meta);
        if !cites.is_empty() {
            param.citations = cites;
        }
        if p.label.is_some() {
            param.label = p.label.clone();
        }
        param.overridden_at = Some(p.name.span);
    }
}
