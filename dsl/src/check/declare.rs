//! Collects the declarations of every layer, in order.
//!
//! Enums first (types refer to them); then inputs, parameters, definitions, tables, externs, states
//! and calendars; then overrides; then the exceptions, which attach to a definition of any layer.
//! Parameters themselves are in [`super::params`].

use super::values::literal_const;
use super::{closest, entity_index, meta_citations, Checker, DefAst, BUILTINS};
use crate::ast::{self, EntityKind, Literal, Span, Spanned};
use crate::diag::Diagnostic;
use crate::ir::*;
use crate::load::LoadedSources;

impl Checker {
    pub(super) fn collect(&mut self, loaded: &LoadedSources) {
        for (_, file) in loaded.layers.iter().flat_map(|l| &l.files) {
            for item in &file.items {
                if let ast::Item::Table(t) = item {
                    let text = loaded
                        .sources
                        .files
                        .get(t.hit.span.file as usize)
                        .and_then(|f| {
                            f.text
                                .get(t.hit.span.start as usize..t.hit.span.end as usize)
                        });
                    if text.is_some_and(|w| !w.is_ascii()) {
                        self.chinese_hits.insert(t.hit.span);
                    }
                }
            }
        }
        // Enums first (types refer to them), across all layers.
        for layer in &loaded.layers {
            let mut title = None;
            for (_, file) in &layer.files {
                for item in &file.items {
                    match item {
                        ast::Item::Policy { title: t, .. } => title = Some(t.clone()),
                        ast::Item::Enum(e) => self.declare_enum(e),
                        _ => {}
                    }
                }
            }
            self.layer_titles
                .push(title.unwrap_or_else(|| layer.name.clone()));
        }
        for (li, layer) in loaded.layers.iter().enumerate() {
            let items = || layer.files.iter().flat_map(|(_, f)| f.items.iter());
            for item in items() {
                match item {
                    ast::Item::Input(i) => self.declare_input(i),
                    ast::Item::Parameter(p) if !p.is_override => self.declare_param(p),
                    ast::Item::Definition(d) => self.declare_def(
                        d.entity,
                        &d.name,
                        d.label.clone(),
                        &d.ty,
                        &d.meta,
                        d.span,
                        DefAst::Expr(d.clone()),
                    ),
                    ast::Item::Table(t) => self.declare_def(
                        t.entity,
                        &t.name,
                        t.label.clone(),
                        &t.ty,
                        &t.meta,
                        t.span,
                        DefAst::Table(t.clone()),
                    ),
                    ast::Item::Extern(e) => self.declare_extern(e, li, loaded),
                    ast::Item::State(s) => self.declare_state(s),
                    ast::Item::Calendar(c) => self.declare_calendar(c, li),
                    _ => {}
                }
            }
            for item in items() {
                if let ast::Item::Parameter(p) = item {
                    if p.is_override {
                        self.override_param(p, li, loaded);
                    }
                }
            }
        }
        // Exceptions attach to definitions of any layer.
        for layer in &loaded.layers {
            for (_, file) in &layer.files {
                for item in &file.items {
                    if let ast::Item::Exception(x) = item {
                        match self.def_ids.get(&(x.entity, x.name.name.clone())) {
                            Some(&id) => self.exception_asts.push((id, x.clone())),
                            None => {
                                let hint = closest(
                                    &x.name.name,
                                    self.def_ids
                                        .keys()
                                        .filter(|(e, _)| *e == x.entity)
                                        .map(|(_, n)| n.as_str()),
                                );
                                let mut d = Diagnostic::error(
                                    format!(
                                        "exception to an unknown definition `{}.{}`",
                                        x.entity.as_str(),
                                        x.name.name
                                    ),
                                    x.name.span,
                                    "no such definition",
                                );
                                if let Some(h) = hint {
                                    d = d.with_help(format!(
                                        "did you mean `{}.{h}`?",
                                        x.entity.as_str()
                                    ));
                                } else {
                                    d = d.with_help("an exception changes an existing definition; declare it with `definition` first");
                                }
                                self.err(d);
                            }
                        }
                    }
                }
            }
        }
    }

    pub(super) fn declare_enum(&mut self, e: &ast::EnumDecl) {
        if let Some((_, prev)) = self.enum_ids.get(&e.name.name) {
            let prev = *prev;
            self.err(
                Diagnostic::error(
                    format!("the enum `{}` is declared twice", e.name.name),
                    e.name.span,
                    "declared again here",
                )
                .with_secondary(prev, "first declared here"),
            );
            return;
        }
        let mut names: Vec<String> = Vec::new();
        let mut labels = Vec::new();
        for v in &e.variants {
            if names.contains(&v.name.name) {
                self.err(Diagnostic::error(
                    format!(
                        "`{}` is listed twice in the enum `{}`",
                        v.name.name, e.name.name
                    ),
                    v.name.span,
                    "listed again here",
                ));
                continue;
            }
            names.push(v.name.name.clone());
            labels.push(v.label.clone());
        }
        if names.is_empty() || names.len() > u16::MAX as usize {
            self.err(Diagnostic::error(
                format!("the enum `{}` has no values", e.name.name),
                e.name.span,
                "empty enum",
            ));
        }
        self.enum_ids.insert(
            e.name.name.clone(),
            (self.enums.len() as EnumId, e.name.span),
        );
        self.enums.push(EnumInfo {
            name: e.name.name.clone(),
            label: e.label.clone(),
            variants: names,
            variant_labels: labels,
        });
    }

    pub(super) fn declare_input(&mut self, i: &ast::InputDecl) {
        let ei = match i.entity {
            EntityKind::Programme => {
                self.err(
                    Diagnostic::error("inputs belong to a `person` or a `household`", i.entity_span, "not an input entity")
                        .with_help("population-level values are parameters: `parameter special_fund: money per year = ...`"),
                );
                return;
            }
            e => entity_index(e),
        };
        let Some(ty) = self.resolve_type(&i.ty) else {
            return;
        };
        if i.name.name == "id"
            || i.name.name == "members"
            || i.name.name == "household_id"
            || i.name.name == "person_id"
        {
            self.err(Diagnostic::error(
                format!(
                    "`{}` is built in and cannot be declared as an input",
                    i.name.name
                ),
                i.name.span,
                "built-in field",
            ));
            return;
        }
        if let Some(&slot) = self.input_ids[ei].get(&i.name.name) {
            let prev = self.inputs[ei][slot as usize].span;
            self.err(
                Diagnostic::error(
                    format!(
                        "the input `{}.{}` is declared twice",
                        i.entity.as_str(),
                        i.name.name
                    ),
                    i.name.span,
                    "declared again here",
                )
                .with_secondary(prev, "first declared here"),
            );
            return;
        }
        let range = i
            .range
            .as_ref()
            .and_then(|r| self.lower_range(r, ty, "input", &i.name.name));
        let default = i
            .default
            .as_ref()
            .and_then(|d| self.input_default(i, d, ty, range.as_ref()));
        self.input_ids[ei].insert(i.name.name.clone(), self.inputs[ei].len() as u32);
        self.inputs[ei].push(InputInfo {
            name: i.name.name.clone(),
            label: i.label.clone(),
            ty,
            span: i.name.span,
            range,
            default,
        });
    }

    /// Checks an input's `default VALUE`: a value of the input's type, inside its declared range (a
    /// money input without a range may not default to a negative amount, as the data may not hold one).
    pub(super) fn input_default(
        &mut self,
        i: &ast::InputDecl,
        d: &Spanned<Literal>,
        ty: Ty,
        range: Option<&ValueRange>,
    ) -> Option<Const> {
        let name = &i.name.name;
        let c = match literal_const(&d.node, ty, &self.enums) {
            Ok(c) => c,
            Err(msg) => {
                self.err(
                    Diagnostic::error(
                        format!("wrong default for the input `{name}`: {msg}"),
                        d.span,
                        "this default",
                    )
                    .with_help(format!(
                        "the default is used when the data has no `{name}` column or field, so it is a value of the input's type `{}`",
                        self.tyname(ty)
                    )),
                );
                return None;
            }
        };
        let bad = match range {
            Some(r) if !r.contains_const(&c) => Some((
                format!("the default of the input `{name}` is outside its range `{}`", r.text),
                "the data may not hold this value, so neither may the default: fix the default or widen the range".to_string(),
            )),
            None if ty.is_money()
                && matches!(&c, Const::Dec(v) if v.is_sign_negative() && !v.is_zero()) =>
            {
                Some((
                    format!("the default of the money input `{name}` is negative"),
                    "a money input without a declared range may not be negative, nor may its default; declare a range that allows it, e.g. `money >= -100000`".to_string(),
                ))
            }
            _ => None,
        };
        if let Some((msg, help)) = bad {
            self.err(Diagnostic::error(msg, d.span, "out of range").with_help(help));
            return None;
        }
        Some(c)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn declare_def(
        &mut self,
        entity: EntityKind,
        name: &ast::Ident,
        label: Option<String>,
        ty: &ast::TypeExpr,
        meta: &[ast::Meta],
        span: Span,
        body: DefAst,
    ) {
        let key = (entity, name.name.clone());
        if let Some(&prev) = self.def_ids.get(&key) {
            let prev_span = self.defs[prev as usize].span;
            self.err(
                Diagnostic::error(
                    format!("`{}.{}` is defined twice", entity.as_str(), name.name),
                    name.span,
                    "defined again here",
                )
                .with_secondary(prev_span, "first defined here")
                .with_help("to change a definition from another layer, add an `exception` to it"),
            );
            return;
        }
        if entity != EntityKind::Programme
            && self.input_ids[entity_index(entity)].contains_key(&name.name)
        {
            self.err(Diagnostic::error(
                format!(
                    "`{}` is already an input of `{}`",
                    name.name,
                    entity.as_str()
                ),
                name.span,
                "same name as an input",
            ));
            return;
        }
        if self.param_ids.contains_key(&name.name) {
            let prev = self.params[self.param_ids[&name.name] as usize].span;
            self.err(
                Diagnostic::error(
                    format!("`{}` is already a parameter", name.name),
                    name.span,
                    "same name as a parameter",
                )
                .with_secondary(prev, "the parameter"),
            );
            return;
        }
        let Some(ty) = self.resolve_type(ty) else {
            return;
        };
        let next = self.def_slots.entry(entity).or_insert(0);
        let slot = *next;
        *next += 1;
        let id = self.defs.len() as DefId;
        self.def_ids.insert(key, id);
        self.defs.push(Def {
            name: name.name.clone(),
            label,
            entity,
            ty,
            body: DefBody::Expr(Expr {
                kind: ExprKind::Const(Const::Bool(false)),
                ty,
                span,
            }),
            exceptions: Vec::new(),
            citations: meta_citations(meta),
            span: name.span,
            slot,
        });
        self.def_asts.push(body);
        self.deps.push(Vec::new());
    }

    pub(super) fn declare_extern(
        &mut self,
        e: &ast::ExternDecl,
        layer: usize,
        loaded: &LoadedSources,
    ) {
        if BUILTINS.contains(&e.name.name.as_str()) || self.extern_ids.contains_key(&e.name.name) {
            self.err(Diagnostic::error(
                format!("the function `{}` already exists", e.name.name),
                e.name.span,
                "name taken",
            ));
            return;
        }
        let mut params = Vec::new();
        for (n, t) in &e.params {
            let Some(t) = self.resolve_type(t) else {
                return;
            };
            params.push((n.name.clone(), t));
        }
        let Some(ret) = self.resolve_type(&e.ret) else {
            return;
        };
        let Some((path, script)) = loaded.scripts.get(&(layer, e.file.node.clone())).cloned()
        else {
            return; // the loader reported it
        };
        self.extern_ids
            .insert(e.name.name.clone(), self.externs.len() as ExternId);
        self.externs.push(Extern {
            name: e.name.name.clone(),
            label: e.label.clone(),
            params,
            ret,
            path,
            script,
            span: e.name.span,
        });
    }
}
