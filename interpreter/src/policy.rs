//! A loaded, checked policy ready to evaluate: the program, its data schema, its compiled extern
//! scripts, parameter overrides and value formatting. `Send + Sync`: load once, evaluate from many threads.

use crate::data::{Field, FieldType, Household, Schema};
use crate::eval::{EvalError, HouseholdEval, Month, Scope};
use crate::num::Num;
use crate::rhai_bridge::Externs;
use crate::value::Value;
use doudi_dsl::ast::{EntityKind, Span};
use doudi_dsl::diag::{render_all, Diagnostic, SourceMap};
use doudi_dsl::ir::*;
use std::path::Path;

/// A checked policy with everything needed to evaluate it.
pub struct Policy {
    pub program: Program,
    pub schema: Schema,
    externs: Externs,
}

/// Why a policy could not be loaded: diagnostics (rendered with `render`) or plain errors.
#[derive(Debug)]
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    pub errors: Vec<String>,
}

impl LoadError {
    /// Human-readable report of every problem, rustc-style.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.errors {
            out.push_str(&format!("error: {e}\n"));
        }
        if !self.diagnostics.is_empty() {
            out.push_str(&render_all(&self.diagnostics, &self.sources));
        }
        out
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}
impl std::error::Error for LoadError {}

/// An output name that names no definition of the policy: the name, the closest definitions (for
/// "did you mean") and the household outputs there are. Displayed as today's message:
/// ``unknown output `x` (household outputs: a, b, …)``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOutput {
    pub name: String,
    /// Definitions (of any entity) whose names are close to `name`, closest first.
    pub suggestions: Vec<String>,
    /// Every household definition of the policy, sorted.
    pub household_outputs: Vec<String>,
}

impl UnknownOutput {
    fn new(program: &Program, name: &str) -> UnknownOutput {
        let mut household_outputs: Vec<String> = program
            .defs
            .iter()
            .filter(|d| d.entity == EntityKind::Household)
            .map(|d| d.name.clone())
            .collect();
        household_outputs.sort();
        let limit = (name.chars().count() / 3).max(1);
        let mut close: Vec<(usize, &str)> = program
            .defs
            .iter()
            .map(|d| {
                (
                    doudi_dsl::diag::edit_distance(name, &d.name),
                    d.name.as_str(),
                )
            })
            .filter(|(d, _)| *d <= limit)
            .collect();
        close.sort();
        close.dedup_by(|a, b| a.1 == b.1);
        UnknownOutput {
            name: name.to_string(),
            suggestions: close
                .into_iter()
                .take(3)
                .map(|(_, n)| n.to_string())
                .collect(),
            household_outputs,
        }
    }
}

impl std::fmt::Display for UnknownOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown output `{}` (household outputs: {})",
            self.name,
            self.household_outputs.join(", ")
        )
    }
}
impl std::error::Error for UnknownOutput {}

/// What `Policy::load` found besides the policy: warnings, already rendered-able.
pub struct LoadedPolicy {
    pub policy: Policy,
    pub warnings: Vec<Diagnostic>,
}

impl Policy {
    /// Loads, parses and checks the policy at `path` (a directory or a `.doudi` file) and its layers.
    pub fn load(path: &Path) -> Result<LoadedPolicy, LoadError> {
        Policy::from_loaded(doudi_dsl::load::load(path))
    }

    /// Like [`Policy::load`], also allowing the layers and scripts to lie under the `extra` directories
    /// (besides the policy's own tree; see `doudi_dsl::load::Roots`).
    pub fn load_within(
        path: &Path,
        extra: &[std::path::PathBuf],
    ) -> Result<LoadedPolicy, LoadError> {
        Policy::from_loaded(doudi_dsl::load::load_within(
            path,
            &doudi_dsl::load::Roots::for_policy(path, extra),
        ))
    }

    fn from_loaded(loaded: doudi_dsl::load::LoadedSources) -> Result<LoadedPolicy, LoadError> {
        let (program, diags) = doudi_dsl::check::check(&loaded);
        let mut all = loaded.diagnostics.clone();
        all.extend(diags);
        all.sort_by_key(|d| (d.severity, d.primary.span.file, d.primary.span.start));
        let has_errors = all.iter().any(|d| d.is_error()) || !loaded.errors.is_empty();
        match program {
            Some(program) if !has_errors => {
                let warnings = all;
                match Policy::new(program) {
                    Ok(policy) => Ok(LoadedPolicy { policy, warnings }),
                    Err(d) => Err(LoadError {
                        diagnostics: d,
                        sources: loaded.sources,
                        errors: loaded.errors,
                    }),
                }
            }
            _ => Err(LoadError {
                diagnostics: all,
                sources: loaded.sources,
                errors: loaded.errors,
            }),
        }
    }

    /// Parses and checks a one-file policy held in memory (no `extends`, no extern scripts).
    pub fn from_source(name: &str, text: &str) -> Result<LoadedPolicy, LoadError> {
        Policy::from_loaded(doudi_dsl::load::load_str(name, text))
    }

    /// Wraps a checked program, compiling its extern scripts.
    pub fn new(program: Program) -> Result<Policy, Vec<Diagnostic>> {
        let externs = Externs::compile(&program)?;
        let schema = schema_of(&program);
        Ok(Policy {
            program,
            schema,
            externs,
        })
    }

    pub fn sources(&self) -> &SourceMap {
        &self.program.sources
    }

    pub(crate) fn call_extern(
        &self,
        id: ExternId,
        args: &[Value],
        span: Span,
    ) -> Result<Value, EvalError> {
        self.externs.call(&self.program, id, args, span)
    }

    /// Replaces a parameter's value at every date: `name` or `name.key`, with a value as text
    /// (`750`, `30%`, `0.30`, `true`, an enum value).
    pub fn set_param(&mut self, target: &str, value: &str) -> Result<(), String> {
        let (name, key) = match target.split_once('.') {
            Some((n, k)) => (n.trim(), Some(k.trim())),
            None => (target.trim(), None),
        };
        let program = &mut self.program;
        let Some(id) = program.param_by_name(name) else {
            let mut names: Vec<&str> = program.params.iter().map(|p| p.name.as_str()).collect();
            names.sort();
            return Err(format!(
                "unknown parameter `{name}` (parameters: {})",
                names.join(", ")
            ));
        };
        let (ty, by) = (
            program.params[id as usize].ty,
            program.params[id as usize].by,
        );
        let c = doudi_dsl::check::parse_value_text(value, ty, &program.enums)
            .map_err(|e| format!("`{target}`: {e}"))?;
        if let Some(r) = &program.params[id as usize].range {
            if !r.contains_const(&c) {
                return Err(format!(
                    "`{target}`: {} is outside the declared range `{}`",
                    value.trim(),
                    r.text
                ));
            }
        }
        let param = &mut program.params[id as usize];
        match (by, key) {
            (None, None) => {
                param.versions = vec![ParamVersion {
                    from: None,
                    values: vec![c],
                    citations: vec![Citation::Assumption {
                        reason: format!("set to {value} by an override"),
                    }],
                    span: param.span,
                }];
            }
            (Some(e), Some(k)) => {
                let en = &program.enums[e as usize];
                let Some(idx) = en.variants.iter().position(|v| v == k) else {
                    return Err(format!(
                        "`{name}` is keyed by `{}`; `{k}` is not one of: {}",
                        en.name,
                        en.variants.join(", ")
                    ));
                };
                for v in &mut param.versions {
                    v.values[idx] = c.clone();
                    v.citations = vec![Citation::Assumption {
                        reason: format!("{k} set to {value} by an override"),
                    }];
                }
            }
            (Some(e), None) => {
                let en = &program.enums[e as usize];
                return Err(format!(
                    "`{name}` has one value per `{}`: write `{name}.{}={value}`",
                    en.name, en.variants[0]
                ));
            }
            (None, Some(_)) => {
                return Err(format!(
                    "`{name}` is a single value: write `{name}={value}`"
                ))
            }
        }
        param.overridden_at = None;
        Ok(())
    }

    /// Applies overrides from a TOML table: `name = value` or `name = { key = value }`.
    pub fn set_params_toml(&mut self, text: &str, origin: &str) -> Result<(), String> {
        let table: toml::Table = text.parse().map_err(|e| format!("{origin}: {e}"))?;
        for (k, v) in &table {
            match v {
                toml::Value::Table(t) => {
                    for (kk, vv) in t {
                        self.set_param(&format!("{k}.{kk}"), &toml_scalar(vv))
                            .map_err(|e| format!("{origin}: {e}"))?;
                    }
                }
                v => self
                    .set_param(k, &toml_scalar(v))
                    .map_err(|e| format!("{origin}: {e}"))?,
            }
        }
        Ok(())
    }

    /// Resolves an output name: a household definition (or a person definition, for tests).
    pub fn output(&self, name: &str) -> Result<DefId, UnknownOutput> {
        self.program
            .find_def(name)
            .ok_or_else(|| UnknownOutput::new(&self.program, name))
    }

    /// Evaluates household definitions for one household.
    pub fn evaluate(
        &self,
        hh: &Household,
        month: Month,
        outputs: &[DefId],
    ) -> Result<Vec<Value>, EvalError> {
        let mut ev = HouseholdEval::new(self, hh, month);
        outputs
            .iter()
            .map(|&d| ev.def(d, Scope::Household))
            .collect()
    }

    /// The household's states at the end of `month` (`Program::states` order): the `previous` to
    /// give it for the next month. A month's evaluation stays a pure function of the policy, the
    /// household (with its `previous`) and the month; carrying the states is the caller's job.
    pub fn states_after(&self, hh: &Household, month: Month) -> Result<Vec<Value>, EvalError> {
        let defs: Vec<DefId> = self.program.states.iter().map(|s| s.def).collect();
        self.evaluate(hh, month, &defs)
    }

    /// Formats a value for people: money with two decimals, percents with `%`, enum values by name.
    pub fn display(&self, ty: Ty, v: &Value) -> String {
        format_value(&self.program, ty, v)
    }

    /// Like `display`, but an amount that has no finite decimal form shows its exact fraction too.
    pub fn display_exact(&self, ty: Ty, v: &Value) -> String {
        match v {
            Value::Num(n @ Num::Rat(..)) => {
                format!("{} (exactly {n})", format_value(&self.program, ty, v))
            }
            Value::Num(n)
                if ty.is_money()
                    && n.to_decimal()
                        .is_some_and(|d| d.scale() > 2 && d.normalize().scale() > 2) =>
            {
                format!("{} (exactly {n})", format_value(&self.program, ty, v))
            }
            _ => format_value(&self.program, ty, v),
        }
    }
}

fn toml_scalar(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

pub fn format_value(program: &Program, ty: Ty, v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => match ty {
            Ty::Money(_) => Num::from_i64(*i).format_fixed(2),
            _ => i.to_string(),
        },
        Value::Num(n) => match ty {
            Ty::Money(_) => n.format_fixed(2),
            Ty::Percent => match n.checked_mul(&Num::from_i64(100)) {
                Ok(p) => format!("{p}%"),
                Err(_) => n.to_string(),
            },
            _ => n.to_string(),
        },
        Value::Date(d) => format_date(*d),
        Value::Text(t) => t.to_string(),
        Value::Enum(i) => match ty {
            Ty::Enum(e) => program
                .enums
                .get(e as usize)
                .and_then(|en| en.variants.get(*i as usize))
                .cloned()
                .unwrap_or_default(),
            _ => i.to_string(),
        },
    }
}

fn field_type(program: &Program, ty: Ty) -> FieldType {
    match ty {
        Ty::Bool => FieldType::Bool,
        Ty::Int | Ty::Months => FieldType::Int,
        Ty::Decimal | Ty::Percent | Ty::Money(_) | Ty::Lit(_) => FieldType::Decimal,
        Ty::Date => FieldType::Date,
        Ty::Text => FieldType::Text,
        Ty::Enum(e) => {
            let en = &program.enums[e as usize];
            FieldType::Enum {
                name: en.name.clone(),
                variants: en.variants.clone(),
            }
        }
    }
}

/// The data schema a policy reads: its declared inputs.
pub fn schema_of(program: &Program) -> Schema {
    // Money is not negative unless the policy declares a range (the data contract).
    let range = |i: &InputInfo| match (&i.range, i.ty) {
        (None, Ty::Money(_)) => Some(ValueRange {
            lo: Some(Default::default()),
            hi: None,
            text: ">= 0 (money is never negative unless the policy declares a range)".into(),
        }),
        (r, _) => r.clone(),
    };
    let fields = |inputs: &[InputInfo]| {
        inputs
            .iter()
            .map(|i| Field {
                name: i.name.clone(),
                ty: field_type(program, i.ty),
                range: range(i),
                default: i.default.as_ref().map(crate::eval::const_value),
            })
            .collect()
    };
    let states = program
        .states
        .iter()
        .map(|s| {
            let d = &program.defs[s.def as usize];
            Field::new(d.name.clone(), field_type(program, d.ty))
        })
        .collect();
    Schema {
        household: fields(&program.household_inputs),
        person: fields(&program.person_inputs),
        states,
    }
}

// A policy is shared between threads: load once, evaluate anywhere.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
};
