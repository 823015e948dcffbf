//! AST → IR: resolves and checks a loaded policy and produces the typed program.
//!
//! Every name is resolved across layers, types and money periods are checked, decision tables are
//! checked for overlaps, cycles are reported with their path.
//!
//! This module holds the pipeline ([`check`]) and the checker's state; the passes live in
//! `declare` (items of every layer, in order), `params` (parameters, their dated values and
//! ranges), `names` (what a name in a formula refers to), `expr` (formulas), `types` (the type
//! and money-period rules), `calls` (built-in and `extern` functions), `tables` (decision tables
//! and their overlaps), `cycles` (the dependency graph: cycles and evaluation depth), `values`
//! (literal values and values given on the command line) and `time` (rules over time).

use crate::ast::{self, EntityKind, Span};
use crate::diag::{edit_distance, Diagnostic};
use crate::ir::*;
use crate::load::LoadedSources;
use std::collections::{HashMap, HashSet};

mod calls;
mod cycles;
mod declare;
mod expr;
mod names;
mod params;
mod tables;
mod time;
mod types;
mod values;

pub use values::{literal_const, parse_value_text, valid_date};

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

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .map(|c| (edit_distance(name, c), c))
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
