//! Resolution and checking: every name resolved across layers, types and money periods checked,
//! decision tables checked for overlaps, cycles reported with their path; produces the typed IR.

use crate::ast::{
    self, AggKind, BinOp, CmpOp, Collection, EntityKind, HitPolicy, Literal, Period, Span, Spanned,
    UnOp,
};
use crate::diag::Diagnostic;
use crate::ir::*;
use crate::load::LoadedSources;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

mod time;

/// Checks a loaded policy. Returns the program when there is no error, and every diagnostic found.
pub fn check(loaded: &LoadedSources) -> (Option<Program>, Vec<Diagnostic>) {
    let mut cx = Checker {
        diags: Vec::new(),
        ..Checker::default()
    };
    cx.collect(loaded);
    cx.check_bodies(loaded);
    cx.check_cycles();
    if !cx.diags.iter().any(|d| d.is_error()) {
        cx.check_depth();
    }
    cx.warn_unused();
    let errors = cx.diags.iter().any(|d| d.is_error());
    let mut diags = std::mem::take(&mut cx.diags);
    diags.sort_by_key(|d| (d.severity, d.primary.span.file, d.primary.span.start));
    // A transition table's conditions are checked twice (for the state and for its reason): report
    // each problem once.
    let mut seen = HashSet::new();
    diags.retain(|d| seen.insert((d.message.clone(), d.primary.span)));
    if errors {
        return (None, diags);
    }
    let mut def_counts = [0u32; 3];
    for d in &cx.defs {
        def_counts[entity_index(d.entity)] += 1;
    }
    let program = Program {
        layers: cx.layer_titles,
        enums: cx.enums,
        household_inputs: cx.inputs[1].clone(),
        person_inputs: cx.inputs[0].clone(),
        params: cx.params,
        defs: cx.defs,
        externs: cx.externs,
        def_counts,
        states: cx.states,
        calendar: cx.calendar,
        sources: loaded.sources.clone(),
    };
    (Some(program), diags)
}

pub fn entity_index(e: EntityKind) -> usize {
    match e {
        EntityKind::Person => 0,
        EntityKind::Household => 1,
        EntityKind::Programme => 2,
    }
}

const BUILTINS: &[&str] = &[
    "min",
    "max",
    "abs",
    "round",
    "monthly",
    "yearly",
    "add_days",
    "days_between",
    "add_working_days",
    "working_days_between",
    "month_start",
    "month_end",
    "previous",
];

#[derive(Default)]
struct Checker {
    diags: Vec<Diagnostic>,
    layer_titles: Vec<String>,
    enums: Vec<EnumInfo>,
    enum_ids: HashMap<String, (EnumId, Span)>,
    /// person, household
    inputs: [Vec<InputInfo>; 2],
    input_ids: [HashMap<String, u32>; 2],
    params: Vec<Param>,
    param_ids: HashMap<String, ParamId>,
    param_used: HashSet<ParamId>,
    defs: Vec<Def>,
    def_ids: HashMap<(EntityKind, String), DefId>,
    /// Definitions declared so far per entity (the next definition's slot): counting them anew for
    /// each definition made `check` quadratic in the number of definitions.
    def_slots: HashMap<EntityKind, u32>,
    /// The AST of each definition's body, kept until bodies are checked: (layer, decl).
    def_asts: Vec<DefAst>,
    exception_asts: Vec<(DefId, ast::ExceptionDecl)>,
    externs: Vec<Extern>,
    extern_ids: HashMap<String, ExternId>,
    /// Definitions each definition depends on (with the span of the reference).
    deps: Vec<Vec<(DefId, Span)>>,
    /// States waiting for their `initially` to be checked, then the checked states.
    state_asts: Vec<time::StateAst>,
    states: Vec<State>,
    /// True while an `initially` expression is checked (`previous` is not allowed there).
    in_initially: bool,
    calendar: crate::calendar::Calendar,
    /// The layer and span that declared each calendar year.
    calendar_layers: HashMap<i32, (usize, Span)>,
    /// Tables whose hit policy is spelled in Chinese (by the span of the keyword): their help
    /// texts name keywords as the drafter writes them.
    chinese_hits: HashSet<Span>,
}

enum DefAst {
    Expr(ast::DefDecl),
    Table(ast::TableDecl),
}

fn meta_citations(meta: &[ast::Meta]) -> Vec<Citation> {
    meta.iter()
        .map(|m| match m {
            ast::Meta::Source {
                citation, quote, ..
            } => Citation::Source {
                citation: citation.clone(),
                quote: quote.clone(),
            },
            ast::Meta::Assumption { reason, .. } => Citation::Assumption {
                reason: reason.clone(),
            },
        })
        .collect()
}

/// Levenshtein distance over chars, for "did you mean" hints (the interpreter's unknown outputs too).
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

impl Checker {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn enum_names(&self) -> &[EnumInfo] {
        &self.enums
    }

    fn tyname(&self, t: Ty) -> String {
        ty_name(t, self.enum_names())
    }

    fn resolve_type(&mut self, t: &ast::TypeExpr) -> Option<Ty> {
        Some(match t {
            ast::TypeExpr::Bool(_) => Ty::Bool,
            ast::TypeExpr::Integer(_) => Ty::Int,
            ast::TypeExpr::Decimal(_) => Ty::Decimal,
            ast::TypeExpr::Percent(_) => Ty::Percent,
            ast::TypeExpr::Money(p, _) => Ty::Money(*p),
            ast::TypeExpr::Months(_) => Ty::Months,
            ast::TypeExpr::Date(_) => Ty::Date,
            ast::TypeExpr::Text(_) => Ty::Text,
            ast::TypeExpr::Named(id) => match self.enum_ids.get(&id.name) {
                Some((e, _)) => Ty::Enum(*e),
                None => {
                    let hint = closest(&id.name, self.enum_ids.keys().map(String::as_str));
                    let mut d = Diagnostic::error(
                        format!("unknown type `{}`", id.name),
                        id.span,
                        "not a type",
                    );
                    d = match hint {
                        Some(h) => d.with_help(format!("did you mean the enum `{h}`?")),
                        None => d.with_help(
                            "types are bool, integer, decimal, percent, money, money per month, money per year, months, date, text, or a declared enum",
                        ),
                    };
                    self.err(d);
                    return None;
                }
            },
        })
    }

    // ---------------------------------------------------------------- declarations

    fn collect(&mut self, loaded: &LoadedSources) {
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

    fn declare_enum(&mut self, e: &ast::EnumDecl) {
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

    fn declare_input(&mut self, i: &ast::InputDecl) {
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
    fn input_default(
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

    /// Checks a declared range against the type it bounds: numbers only, bounds written like the
    /// type's values (a percent as `30%`, an integer without a decimal point), not empty.
    fn lower_range(
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
    fn check_param_range(
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

    fn param_versions(
        &mut self,
        p: &ast::ParamDecl,
        ty: Ty,
        by: Option<EnumId>,
    ) -> Vec<ParamVersion> {
        let mut versions: Vec<ParamVersion> = Vec::new();
        for c in &p.clauses {
            let values = match (&c.value, by) {
                (ast::ParamValue::Scalar(l), None) => match literal_const(&l.node, ty, &self.enums)
                {
                    Ok(v) => vec![v],
                    Err(msg) => {
                        self.err(Diagnostic::error(
                            format!("wrong value for `{}`: {msg}", p.name.name),
                            l.span,
                            "this value",
                        ));
                        continue;
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
                    continue;
                }
                (ast::ParamValue::Table(_, span), None) => {
                    self.err(
                        Diagnostic::error(format!("`{}` is not a table", p.name.name), *span, "a table of values")
                            .with_help("declare it `by` an enum to give one value per variant, e.g. `: money per month by area`"),
                    );
                    continue;
                }
                (ast::ParamValue::Table(entries, span), Some(e)) => {
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
                                format!(
                                    "`{}` has no value for {}",
                                    p.name.name,
                                    missing.join(", ")
                                ),
                                *span,
                                "incomplete table",
                            )
                            .with_help(format!(
                                "a table by `{}` gives a value for every one of its values",
                                en.name
                            )),
                        );
                        continue;
                    }
                    vals.into_iter().flatten().collect()
                }
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

    fn declare_param(&mut self, p: &ast::ParamDecl) {
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

    fn override_param(&mut self, p: &ast::ParamDecl, _layer: usize, _loaded: &LoadedSources) {
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

    #[allow(clippy::too_many_arguments)]
    fn declare_def(
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

    fn declare_extern(&mut self, e: &ast::ExternDecl, layer: usize, loaded: &LoadedSources) {
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

    // ---------------------------------------------------------------- bodies

    fn check_bodies(&mut self, _loaded: &LoadedSources) {
        self.check_initial_values();
        let asts = std::mem::take(&mut self.def_asts);
        for (i, a) in asts.iter().enumerate() {
            let id = i as DefId;
            let (entity, ty) = (self.defs[i].entity, self.defs[i].ty);
            let body = match a {
                DefAst::Expr(d) => self.expr_as(&d.body, entity, ty, id).map(DefBody::Expr),
                DefAst::Table(t) => self.table(t, entity, ty, id).map(DefBody::Table),
            };
            if let Some(b) = body {
                self.defs[i].body = b;
            }
        }
        let excs = std::mem::take(&mut self.exception_asts);
        for (id, x) in &excs {
            let (entity, ty) = (self.defs[*id as usize].entity, self.defs[*id as usize].ty);
            let cond = self.expr_as(&x.when, entity, Ty::Bool, *id);
            let value = self.expr_as(&x.body, entity, ty, *id);
            if let (Some(cond), Some(value)) = (cond, value) {
                self.defs[*id as usize].exceptions.push(Exception {
                    label: x.label.clone(),
                    cond,
                    value,
                    citations: meta_citations(&x.meta),
                    span: x.name.span.to(x.when.span),
                });
            }
        }
    }

    /// Checks `e` and requires it to have (or be coercible to) `want`.
    fn expr_as(&mut self, e: &ast::Expr, scope: EntityKind, want: Ty, def: DefId) -> Option<Expr> {
        let x = self.expr(e, scope, Some(want), def)?;
        self.coerce(x, want)
    }

    fn coerce(&mut self, x: Expr, want: Ty) -> Option<Expr> {
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

    fn lit(&mut self, l: &Literal, span: Span, expected: Option<Ty>) -> Option<Expr> {
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

    fn unknown_name(&mut self, n: &str, span: Span, scope: EntityKind, expected: Option<Ty>) {
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

    fn use_def(&mut self, from: DefId, to: DefId, span: Span) {
        if let Some(v) = self.deps.get_mut(from as usize) {
            v.push((to, span));
        }
    }

    fn name(
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

    /// Unifies two operand types for comparison, `if` branches, `min`/`max`.
    fn unify(&mut self, a: Ty, b: Ty, span: Span, what: &str) -> Option<Ty> {
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

    fn arith_ty(&mut self, op: Arith, l: Ty, r: Ty, span: Span) -> Option<Ty> {
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

    fn bad_operands(&mut self, op: &str, l: Ty, r: Ty, span: Span) -> Option<Ty> {
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

    fn expect_bool(
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
    fn constant(
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

    fn expr(
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

    fn expr_inner(
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
            K::HouseholdField(f) => {
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
                    Expr {
                        kind: ExprKind::HouseholdDef(id),
                        ty: self.defs[id as usize].ty,
                        span,
                    }
                } else if let Some(&slot) = self.input_ids[1].get(&f.name) {
                    Expr {
                        kind: ExprKind::HouseholdInput(slot),
                        ty: self.inputs[1][slot as usize].ty,
                        span,
                    }
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
                    return None;
                }
            }
            K::Index(base, key) => {
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
                                    self.err(
                                        Diagnostic::error(msg, span, "unknown key").with_help(help),
                                    );
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
                Expr {
                    kind: ExprKind::ParamAt(p, Box::new(k)),
                    ty: pty,
                    span,
                }
            }
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
            K::Binary(BinOp::Cmp(op), l, r) => {
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
                Expr {
                    kind: ExprKind::Cmp(*op, Box::new(lx), Box::new(rx)),
                    ty: Ty::Bool,
                    span,
                }
            }
            K::Binary(op, l, r) => {
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
                let (lx, rx) = match (lx.ty, rx.ty) {
                    (Ty::Lit(_), t) if !matches!(t, Ty::Lit(_)) => {
                        let target = if matches!(aop, Arith::Add | Arith::Sub)
                            || !t.is_integer() && !t.is_money()
                        {
                            t
                        } else {
                            lit_partner(t)
                        };
                        (retype(lx, target), rx)
                    }
                    (t, Ty::Lit(_)) if !matches!(t, Ty::Lit(_)) => {
                        let target = if matches!(aop, Arith::Add | Arith::Sub)
                            || !t.is_integer() && !t.is_money()
                        {
                            t
                        } else {
                            lit_partner(t)
                        };
                        (lx, retype(rx, target))
                    }
                    _ => (lx, rx),
                };
                Expr {
                    kind: ExprKind::Arith(aop, Box::new(lx), Box::new(rx)),
                    ty,
                    span,
                }
            }
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
                let (coll, inner) = match (collection.node, scope) {
                    (Collection::Members, EntityKind::Household) => {
                        (Coll::Members, EntityKind::Person)
                    }
                    (Collection::Households, EntityKind::Programme) => {
                        (Coll::Households, EntityKind::Household)
                    }
                    (Collection::Persons, EntityKind::Programme) => {
                        (Coll::Persons, EntityKind::Person)
                    }
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
                            Diagnostic::error(
                                "this aggregation needs a value",
                                span,
                                "what to add up?",
                            )
                            .with_help(
                                "write e.g. `sum(monthly_income for members where counted)`",
                            ),
                        );
                        return None;
                    }
                    (AggKind::Any | AggKind::All, None) if filter.is_none() => {
                        self.err(
                            Diagnostic::error("`any`/`all` need a condition", span, "no condition")
                                .with_help(
                                    "write e.g. `any(members where disability_grade in {1, 2})`",
                                ),
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
                Expr {
                    kind: ExprKind::Agg {
                        kind: *kind,
                        coll,
                        body,
                        filter,
                    },
                    ty,
                    span,
                }
            }
        })
    }

    fn call(
        &mut self,
        f: &ast::Ident,
        args: &[ast::Expr],
        scope: EntityKind,
        expected: Option<Ty>,
        def: DefId,
        span: Span,
    ) -> Option<Expr> {
        let arity = |s: &mut Checker, n: usize, usage: &str| -> bool {
            if args.len() != n {
                s.err(
                    Diagnostic::error(
                        format!(
                            "`{}` takes {n} argument{}, found {}",
                            f.name,
                            if n == 1 { "" } else { "s" },
                            args.len()
                        ),
                        span,
                        "wrong number of arguments",
                    )
                    .with_help(format!("write `{usage}`")),
                );
                false
            } else {
                true
            }
        };
        if let Some((name, n, usage)) = time::time_function(&f.name) {
            return self.time_call(name, n, usage, args, scope, def, span);
        }
        match f.name.as_str() {
            "min" | "max" => {
                if args.len() < 2 {
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
                let xs: Vec<Option<Expr>> = args
                    .iter()
                    .map(|a| self.expr(a, scope, expected, def))
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
            "abs" => {
                if !arity(self, 1, "abs(x)") {
                    return None;
                }
                let x = self.expr(&args[0], scope, expected, def)?;
                if !x.ty.is_numeric() {
                    self.err(Diagnostic::error(
                        "`abs` takes a number",
                        x.span,
                        "not a number",
                    ));
                    return None;
                }
                let t = x.ty;
                Some(Expr {
                    kind: ExprKind::Builtin(Builtin::Abs, vec![x]),
                    ty: t,
                    span,
                })
            }
            "monthly" | "yearly" => {
                let usage = format!("{}(x)", f.name);
                if !arity(self, 1, &usage) {
                    return None;
                }
                let x = self.expr(&args[0], scope, None, def)?;
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
            "round" => {
                if !arity(self, 2, "round(x, 0.01)") {
                    return None;
                }
                let x = self.expr(&args[0], scope, expected, def)?;
                if !x.ty.is_numeric() {
                    self.err(Diagnostic::error(
                        "`round` takes a number or an amount",
                        x.span,
                        "not a number",
                    ));
                    return None;
                }
                let step = match &args[1].kind {
                    ast::ExprKind::Lit(Literal::Number { value, .. })
                        if is_power_of_ten(*value) =>
                    {
                        *value
                    }
                    _ => {
                        self.err(Diagnostic::error("round to a power of ten, such as 0.01 (a fen) or 1 (a yuan)", args[1].span, "not a rounding step")
                            .with_help("write `round(x, 0.01)` or `round(x, 1)`; rounding is half away from zero"));
                        return None;
                    }
                };
                let t = x.ty;
                Some(Expr {
                    kind: ExprKind::Round(Box::new(x), step),
                    ty: t,
                    span,
                })
            }
            name => {
                let Some(&id) = self.extern_ids.get(name) else {
                    let mut cands: Vec<&str> = BUILTINS.to_vec();
                    cands.extend(self.extern_ids.keys().map(String::as_str));
                    let mut d = Diagnostic::error(
                        format!("unknown function `{name}`"),
                        f.span,
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
                    if let Some(x) = self.expr_as(a, scope, *t, def) {
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
    }

    fn table(
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

    fn check_overlaps(&mut self, t: &ast::TableDecl, rows: &[TableRow]) {
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

    // ---------------------------------------------------------------- whole-program checks

    fn check_cycles(&mut self) {
        let n = self.defs.len();
        let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
        let mut reported: HashSet<Vec<DefId>> = HashSet::new();
        for start in 0..n {
            if state[start] != 0 {
                continue;
            }
            // Iterative DFS: (node, next edge index).
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(&mut (node, ref mut ei)) = stack.last_mut() {
                if *ei < self.deps[node].len() {
                    let (to, _) = self.deps[node][*ei];
                    *ei += 1;
                    let to = to as usize;
                    match state[to] {
                        0 => {
                            state[to] = 1;
                            stack.push((to, 0));
                        }
                        1 => {
                            let pos = stack.iter().position(|(x, _)| *x == to).unwrap_or(0);
                            let cycle: Vec<DefId> =
                                stack[pos..].iter().map(|(x, _)| *x as DefId).collect();
                            let mut key = cycle.clone();
                            key.sort();
                            if reported.insert(key) {
                                self.report_cycle(&cycle);
                            }
                        }
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    stack.pop();
                }
            }
        }
    }

    fn report_cycle(&mut self, cycle: &[DefId]) {
        let names: Vec<String> = cycle
            .iter()
            .map(|&d| self.defs[d as usize].name.clone())
            .collect();
        let path = format!("{} → {}", names.join(" → "), names[0]);
        let first = cycle[0] as usize;
        let mut d = Diagnostic::error(
            format!("`{}` depends on itself: {path}", names[0]),
            self.defs[first].span,
            "defined in terms of itself",
        );
        for w in 0..cycle.len() {
            let from = cycle[w];
            let to = cycle[(w + 1) % cycle.len()];
            if let Some((_, span)) = self.deps[from as usize].iter().find(|(t, _)| *t == to) {
                d = d.with_secondary(
                    *span,
                    format!(
                        "`{}` uses `{}` here",
                        self.defs[from as usize].name, self.defs[to as usize].name
                    ),
                );
            }
        }
        self.err(d.with_help("break the circle: one of these definitions must be computed from inputs and parameters only"));
    }

    /// Bounds how deeply evaluation can nest (formulas inside definitions inside definitions), so
    /// that no policy can overflow the evaluator's stack. Runs on an acyclic dependency graph.
    fn check_depth(&mut self) {
        let n = self.defs.len();
        let own: Vec<usize> = self.defs.iter().map(def_depth).collect();
        let mut total: Vec<Option<usize>> = vec![None; n];
        // Iterative post-order over the dependency graph.
        for start in 0..n {
            let mut stack = vec![(start, false)];
            while let Some((d, expanded)) = stack.pop() {
                if total[d].is_some() {
                    continue;
                }
                if expanded {
                    let deps = self.deps[d]
                        .iter()
                        .filter_map(|(t, _)| total[*t as usize])
                        .max()
                        .unwrap_or(0);
                    total[d] = Some(own[d] + deps);
                } else {
                    stack.push((d, true));
                    for (t, _) in &self.deps[d] {
                        if total[*t as usize].is_none() {
                            stack.push((*t as usize, false));
                        }
                    }
                }
            }
        }
        for (i, t) in total.iter().enumerate() {
            if t.unwrap_or(0) > MAX_EVAL_NESTING {
                let d = &self.defs[i];
                let msg = format!(
                    "`{}` nests formulas and definitions too deeply to evaluate safely",
                    d.name
                );
                let help = format!(
                    "the chain of definitions it depends on adds up to more than {MAX_EVAL_NESTING} levels; split long formulas or shorten the chain"
                );
                self.diags
                    .push(Diagnostic::error(msg, d.span, "too deep").with_help(help));
                return;
            }
        }
    }

    fn warn_unused(&mut self) {
        for (i, p) in self.params.iter().enumerate() {
            if !self.param_used.contains(&(i as ParamId)) {
                self.diags.push(
                    Diagnostic::warning(
                        format!("the parameter `{}` is never used", p.name),
                        p.span,
                        "unused parameter",
                    )
                    .with_help("remove it, or use it in a definition"),
                );
            }
        }
    }
}

/// The most nested evaluation a policy may need: expression levels summed along its longest chain of
/// definitions. Keeps evaluation well inside a thread's stack.
pub const MAX_EVAL_NESTING: usize = 1000;

/// Stack left before a recursive pass grows its stack, and by how much it grows it.
pub const STACK_RED_ZONE: usize = 128 * 1024;
pub const STACK_GROWTH: usize = 4 * 1024 * 1024;

fn expr_depth(e: &Expr) -> usize {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || expr_depth_inner(e))
}

fn expr_depth_inner(e: &Expr) -> usize {
    let kids: Vec<&Expr> = match &e.kind {
        ExprKind::ParamAt(_, k) => vec![k],
        ExprKind::Neg(x)
        | ExprKind::Not(x)
        | ExprKind::Round(x, _)
        | ExprKind::In(x, _)
        | ExprKind::Variant(_, x) => vec![x],
        ExprKind::Arith(_, a, b)
        | ExprKind::Cmp(_, a, b)
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b) => vec![a, b],
        ExprKind::If(c, a, b) => vec![c, a, b],
        ExprKind::Builtin(_, xs) | ExprKind::Extern(_, xs) => xs.iter().collect(),
        ExprKind::Agg { body, filter, .. } => {
            body.iter().chain(filter.iter()).map(|b| &**b).collect()
        }
        _ => vec![],
    };
    1 + kids.into_iter().map(expr_depth).max().unwrap_or(0)
}

fn def_depth(d: &Def) -> usize {
    let body = match &d.body {
        DefBody::Expr(e) => expr_depth(e),
        DefBody::Table(t) => t
            .columns
            .iter()
            .chain(t.rows.iter().map(|r| &r.result))
            .chain(t.otherwise.iter())
            .map(expr_depth)
            .max()
            .unwrap_or(0),
    };
    let exc = d
        .exceptions
        .iter()
        .map(|x| expr_depth(&x.cond).max(expr_depth(&x.value)))
        .max()
        .unwrap_or(0);
    1 + body.max(exc)
}

/// For `integer × literal` keep the literal an integer; for money the literal is a scalar decimal.
fn lit_partner(t: Ty) -> Ty {
    if t.is_integer() {
        Ty::Int
    } else {
        Ty::Decimal
    }
}

/// Gives a literal-typed expression its final type (recursively through arithmetic on literals).
fn retype(mut x: Expr, t: Ty) -> Expr {
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

fn is_power_of_ten(d: Decimal) -> bool {
    if d <= Decimal::ZERO {
        return false;
    }
    let s = d.normalize().to_string();
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let trimmed = digits.trim_start_matches('0');
    trimmed.starts_with('1') && trimmed[1..].chars().all(|c| c == '0')
}

/// Converts a parameter literal to a constant of type `ty`.
pub fn literal_const(l: &Literal, ty: Ty, enums: &[EnumInfo]) -> Result<Const, String> {
    let tn = ty_name(ty, enums);
    match (l, ty) {
        (Literal::Bool(b), Ty::Bool) => Ok(Const::Bool(*b)),
        (Literal::Number { value, .. }, Ty::Int | Ty::Months) => {
            if !value.fract().is_zero() {
                return Err(format!("expected a whole number for {tn}, found {value}"));
            }
            i64::try_from(*value)
                .map(Const::Int)
                .map_err(|_| format!("{value} is too large"))
        }
        (Literal::Number { value, .. }, Ty::Decimal | Ty::Percent | Ty::Money(_)) => {
            Ok(Const::Dec(*value))
        }
        (Literal::Percent(p), Ty::Percent | Ty::Decimal) => Ok(Const::Dec(*p)),
        (Literal::Date(d), Ty::Date) => Ok(Const::Date(*d)),
        (Literal::Text(t), Ty::Text) => Ok(Const::Text(t.clone())),
        (Literal::Name(n), Ty::Enum(e)) => {
            let en = &enums[e as usize];
            en.variants
                .iter()
                .position(|v| v == n)
                .map(|i| Const::Enum(i as u16))
                .ok_or_else(|| {
                    format!(
                        "`{n}` is not a value of `{}` ({})",
                        en.name,
                        en.variants.join(", ")
                    )
                })
        }
        (l, _) => Err(format!("expected {tn}, found {}", describe_literal(l))),
    }
}

fn describe_literal(l: &Literal) -> String {
    match l {
        Literal::Number { value, .. } => format!("the number {value}"),
        Literal::Percent(p) => format!("the percentage {}%", (*p * Decimal::from(100)).normalize()),
        Literal::Bool(b) => format!("`{b}`"),
        Literal::Date(d) => format!("the date {}", format_date(*d)),
        Literal::Text(t) => format!("the text \"{t}\""),
        Literal::Name(n) => format!("`{n}`"),
    }
}

/// Parses a value given on the command line or in a TOML override (`750`, `30%`, `0.30`, `true`, `urban`).
pub fn parse_value_text(text: &str, ty: Ty, enums: &[EnumInfo]) -> Result<Const, String> {
    let t = text.trim();
    let lit = match ty {
        Ty::Bool => match t {
            "true" | "1" => Literal::Bool(true),
            "false" | "0" => Literal::Bool(false),
            _ => return Err(format!("expected true or false, found `{t}`")),
        },
        Ty::Percent if t.ends_with('%') => {
            let d = Decimal::from_str_exact(t.trim_end_matches('%').trim())
                .map_err(|_| format!("expected a percentage such as 30% or 0.30, found `{t}`"))?;
            Literal::Percent(d / Decimal::from(100))
        }
        Ty::Int | Ty::Months | Ty::Decimal | Ty::Percent | Ty::Money(_) => {
            if t.contains(['e', 'E']) || t.is_empty() {
                return Err(format!(
                    "expected a number such as 750 or 750.00, found `{t}`"
                ));
            }
            let d = Decimal::from_str_exact(t)
                .map_err(|_| format!("expected a number such as 750 or 750.00, found `{t}`"))?;
            Literal::Number {
                value: d,
                is_integer: !t.contains('.'),
            }
        }
        Ty::Date => {
            let parts: Vec<&str> = t.split('-').collect();
            let bad = || format!("expected a date YYYY-MM-DD, found `{t}`");
            if parts.len() != 3 {
                return Err(bad());
            }
            let y = i32::from_str(parts[0]).map_err(|_| bad())?;
            let m = u8::from_str(parts[1]).map_err(|_| bad())?;
            let d = u8::from_str(parts[2]).map_err(|_| bad())?;
            let date = ast::Date {
                year: y,
                month: m,
                day: d,
            };
            if !valid_date(date) {
                return Err(bad());
            }
            Literal::Date(date)
        }
        Ty::Text => Literal::Text(t.to_string()),
        Ty::Enum(_) => Literal::Name(t.to_string()),
        Ty::Lit(_) => return Err("internal: literal type".into()),
    };
    literal_const(&lit, ty, enums)
}

pub fn valid_date(d: ast::Date) -> bool {
    let leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0;
    let days = match d.month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    d.day >= 1 && d.day <= days && (1..=9999).contains(&d.year)
}

// ---------------------------------------------------------------- table overlap

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

/// A hit policy's keyword in the spelling the drafter used.
fn hit_word(hit: HitPolicy, chinese: bool) -> &'static str {
    match (hit, chinese) {
        (HitPolicy::Unique, false) => "unique",
        (HitPolicy::Unique, true) => "唯一",
        (HitPolicy::First, false) => "first",
        (HitPolicy::First, true) => "首个",
        (HitPolicy::Sum, false) => "sum",
        (HitPolicy::Sum, true) => "求和",
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
