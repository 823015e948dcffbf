//! Resolves the names in formulas, with hints for unknown ones.
//!
//! A bare name is an enum variant, a definition, an input, `id` or a parameter; also
//! `household.NAME` in a person's definition and `PARAM[key]`.

use super::{closest, entity_index, Checker};
use crate::ast::{self, EntityKind, Literal, Span};
use crate::diag::Diagnostic;
use crate::ir::*;

impl Checker {
    pub(super) fn unknown_name(
        &mut self,
        n: &str,
        span: Span,
        scope: EntityKind,
        expected: Option<Ty>,
    ) {
        let mut d = Diagnostic::error(format!("unknown name `{n}`"), span, "not found");
        let other = |e: EntityKind, s: &Checker| {
            s.def_ids.contains_key(&(e, n.to_string()))
                || (e != EntityKind::Programme && s.input_ids[entity_index(e)].contains_key(n))
        };
        if scope == EntityKind::Person && other(EntityKind::Household, self) {
            d = d.with_help(format!(
                "`{n}` belongs to the household: write `household.{n}`"
            ));
        } else if scope == EntityKind::Household && other(EntityKind::Person, self) {
            d = d.with_help(format!(
                "`{n}` belongs to each member: use an aggregation such as `sum({n} for members)` or `any(members where {n})`"
            ));
        } else if scope == EntityKind::Programme
            && (other(EntityKind::Household, self) || other(EntityKind::Person, self))
        {
            d = d.with_help(format!(
                "a programme definition sees totals: e.g. `sum({n} for households)`"
            ));
        } else if let Some(Ty::Enum(e)) = expected {
            let en = &self.enums[e as usize];
            d = d.with_help(format!(
                "`{}` has the values: {}",
                en.name,
                en.variants.join(", ")
            ));
        } else {
            let mut cands: Vec<&str> = self.param_ids.keys().map(String::as_str).collect();
            cands.extend(
                self.def_ids
                    .keys()
                    .filter(|(e, _)| *e == scope)
                    .map(|(_, n)| n.as_str()),
            );
            if scope != EntityKind::Programme {
                cands.extend(
                    self.input_ids[entity_index(scope)]
                        .keys()
                        .map(String::as_str),
                );
            }
            if let Some(h) = closest(n, cands.into_iter()) {
                d = d.with_help(format!("did you mean `{h}`?"));
            }
        }
        self.err(d);
    }

    pub(super) fn use_def(&mut self, from: DefId, to: DefId, span: Span) {
        if let Some(v) = self.deps.get_mut(from as usize) {
            v.push((to, span));
        }
    }

    pub(super) fn name(
        &mut self,
        n: &str,
        span: Span,
        scope: EntityKind,
        expected: Option<Ty>,
        def: DefId,
    ) -> Option<Expr> {
        // An enum variant wins when the context expects that enum.
        if let Some(Ty::Enum(e)) = expected {
            if let Some(i) = self.enums[e as usize].variants.iter().position(|v| v == n) {
                return Some(Expr {
                    kind: ExprKind::Const(Const::Enum(i as u16)),
                    ty: Ty::Enum(e),
                    span,
                });
            }
        }
        if def != u32::MAX {
            if let Some(&id) = self.def_ids.get(&(scope, n.to_string())) {
                self.use_def(def, id, span);
                return Some(Expr {
                    kind: ExprKind::Def(id),
                    ty: self.defs[id as usize].ty,
                    span,
                });
            }
            if scope != EntityKind::Programme {
                let ei = entity_index(scope);
                if let Some(&slot) = self.input_ids[ei].get(n) {
                    return Some(Expr {
                        kind: ExprKind::Input(slot),
                        ty: self.inputs[ei][slot as usize].ty,
                        span,
                    });
                }
                if n == "id" {
                    return Some(Expr {
                        kind: ExprKind::Id,
                        ty: Ty::Text,
                        span,
                    });
                }
            }
            if let Some(&p) = self.param_ids.get(n) {
                self.param_used.insert(p);
                let param = &self.params[p as usize];
                if let Some(by) = param.by {
                    let en = self.enums[by as usize].name.clone();
                    self.err(
                        Diagnostic::error(
                            format!("`{n}` has one value per `{en}`: say which"),
                            span,
                            "needs a key",
                        )
                        .with_help(format!(
                            "write `{n}[{en}]` or `{n}[{}]`",
                            self.enums[by as usize].variants[0]
                        )),
                    );
                    return None;
                }
                return Some(Expr {
                    kind: ExprKind::Param(p),
                    ty: param.ty,
                    span,
                });
            }
        }
        // A variant of exactly one enum.
        let hits: Vec<(usize, usize)> = self
            .enums
            .iter()
            .enumerate()
            .filter_map(|(ei, en)| en.variants.iter().position(|v| v == n).map(|vi| (ei, vi)))
            .collect();
        if hits.len() == 1 {
            let (e, v) = hits[0];
            return Some(Expr {
                kind: ExprKind::Const(Const::Enum(v as u16)),
                ty: Ty::Enum(e as EnumId),
                span,
            });
        }
        if hits.len() > 1 {
            let names: Vec<String> = hits
                .iter()
                .map(|(e, _)| format!("`{}`", self.enums[*e].name))
                .collect();
            self.err(
                Diagnostic::error(
                    format!("`{n}` is a value of several enums ({})", names.join(", ")),
                    span,
                    "which one?",
                )
                .with_help("compare it with a field of that enum, e.g. `illness == none`"),
            );
            return None;
        }
        self.unknown_name(n, span, scope, expected);
        None
    }

    /// `household.NAME` inside a person's definition: a household definition or input.
    pub(super) fn household_field(
        &mut self,
        f: &ast::Ident,
        scope: EntityKind,
        def: DefId,
        span: Span,
    ) -> Option<Expr> {
        if scope != EntityKind::Person {
            self.err(
                Diagnostic::error(
                    "`household.` is only needed inside a person's definition",
                    span,
                    "not in a person's definition",
                )
                .with_help(format!("write `{}` directly", f.name)),
            );
            return None;
        }
        if let Some(&id) = self.def_ids.get(&(EntityKind::Household, f.name.clone())) {
            self.use_def(def, id, span);
            Some(Expr {
                kind: ExprKind::HouseholdDef(id),
                ty: self.defs[id as usize].ty,
                span,
            })
        } else if let Some(&slot) = self.input_ids[1].get(&f.name) {
            Some(Expr {
                kind: ExprKind::HouseholdInput(slot),
                ty: self.inputs[1][slot as usize].ty,
                span,
            })
        } else {
            let hint = closest(
                &f.name,
                self.input_ids[1].keys().map(String::as_str).chain(
                    self.def_ids
                        .keys()
                        .filter(|(e, _)| *e == EntityKind::Household)
                        .map(|(_, n)| n.as_str()),
                ),
            );
            let mut d = Diagnostic::error(
                format!("the household has no `{}`", f.name),
                f.span,
                "unknown household field",
            );
            if let Some(h) = hint {
                d = d.with_help(format!("did you mean `household.{h}`?"));
            }
            self.err(d);
            None
        }
    }

    /// `NAME[key]`: the value of a parameter table `by` an enum, for a variant or a text naming one.
    pub(super) fn param_index(
        &mut self,
        base: &ast::Expr,
        key: &ast::Expr,
        scope: EntityKind,
        def: DefId,
        span: Span,
    ) -> Option<Expr> {
        use ast::ExprKind as K;
        let (K::Name(pn) | K::Lit(Literal::Name(pn))) = &base.kind else {
            self.err(Diagnostic::error(
                "only a parameter table can be indexed with `[...]`",
                base.span,
                "not a parameter",
            ));
            return None;
        };
        let Some(&p) = self.param_ids.get(pn) else {
            self.unknown_name(pn, base.span, scope, None);
            return None;
        };
        self.param_used.insert(p);
        let (pty, by) = (self.params[p as usize].ty, self.params[p as usize].by);
        let Some(by) = by else {
            self.err(
                Diagnostic::error(
                    format!("`{pn}` is a single value, not a table"),
                    key.span,
                    "no key needed",
                )
                .with_help(format!("write `{pn}` without `[...]`")),
            );
            return None;
        };
        let mut k = self.expr(key, scope, Some(Ty::Enum(by)), def)?;
        if k.ty == Ty::Text {
            // A code in the data (`region`) names the variant: looked up when evaluated
            // (a written text, now).
            let span = k.span;
            let kind = match &k.kind {
                ExprKind::Const(Const::Text(t)) => {
                    let en = &self.enums[by as usize];
                    match en.variants.iter().position(|v| v == t) {
                        Some(i) => ExprKind::Const(Const::Enum(i as u16)),
                        None => {
                            let msg = format!("\"{t}\" is not a value of `{}`", en.name);
                            let help = format!(
                                "the values of `{}` are: {}",
                                en.name,
                                en.variants.join(", ")
                            );
                            self.err(Diagnostic::error(msg, span, "unknown key").with_help(help));
                            return None;
                        }
                    }
                }
                _ => ExprKind::Variant(by, Box::new(k)),
            };
            k = Expr {
                kind,
                ty: Ty::Enum(by),
                span,
            };
        }
        if k.ty != Ty::Enum(by) {
            let en = self.enums[by as usize].name.clone();
            self.err(
                Diagnostic::error(
                    format!("`{pn}` is keyed by `{en}`, found {}", self.tyname(k.ty)),
                    k.span,
                    format!("expected a `{en}`"),
                )
                .with_help(format!(
                    "a key is a value of `{en}`, or a text naming one (a code of the data, such as `household.region`)"
                )),
            );
            return None;
        }
        Some(Expr {
            kind: ExprKind::ParamAt(p, Box::new(k)),
            ty: pty,
            span,
        })
    }
}
