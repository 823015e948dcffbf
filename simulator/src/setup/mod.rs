//! From a scenario to a ready simulation: load and override the policy, build the variants (baseline,
//! reform or sweep values), generate or read the population, map regions, fix the weight.
//! Every error names the file and the key it comes from.

use crate::dynamics::Slots;
use crate::run::{metrics, Ids, Sim, Variant};
use crate::scenario::{sweep_values, ParamValue, Scenario, Weight};
use doudi_dsl::ir::{Citation, Const};
use doudi_interpreter::data::{self, Household};
use doudi_interpreter::packed::PackedPopulation;
use doudi_interpreter::{Num, Policy, Value};
use rayon::prelude::*;

pub(crate) mod block;
mod population;

pub(crate) use population::Survey;
use population::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A setup error: the message names the file and key.
#[derive(Debug, Clone)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SetupError {}

/// Where the population came from.
#[derive(Debug, Clone)]
pub struct PopulationInfo {
    /// `spec scenarios/populations/jian.toml, 10000 households, seed 7` or `data <dir>`.
    pub source: String,
    pub households: u64,
    pub persons: u64,
    pub weight: u64,
    /// The spec's reference population, when there is one.
    pub reference_population: Option<u64>,
    /// Notes from the generator (calibration), one per line.
    pub notes: Vec<String>,
}

/// A prepared simulation with what the report needs to describe it.
pub struct Prepared {
    pub scenario: Scenario,
    pub sim: Sim,
    pub population: PopulationInfo,
    /// The generated population's directory, kept until the report is written.
    pub population_dir: Option<tempfile::TempDir>,
    /// `(name, value)` overrides of the baseline.
    pub baseline_overrides: Vec<(String, String)>,
    /// `(name, value)` overrides of the reform, and its layer.
    pub reform_overrides: Vec<(String, String)>,
    pub reform_layer: Option<PathBuf>,
    /// The swept parameter and its values.
    pub sweep: Option<(String, Vec<Num>)>,
    pub warnings: Vec<String>,
}

/// Loads a policy; the error names the scenario key.
pub fn load_policy(path: &Path, file: &str, key: &str) -> Result<Policy, SetupError> {
    load_policy_within(path, file, key, &[])
}

/// Loads a policy whose layers may also lie under the directories `extra` (a reform layer may extend
/// the scenario's own policy, which the scenario names); the error names the scenario key.
pub fn load_policy_within(
    path: &Path,
    file: &str,
    key: &str,
    extra: &[PathBuf],
) -> Result<Policy, SetupError> {
    match Policy::load_within(path, extra) {
        Ok(l) => Ok(l.policy),
        Err(e) => Err(SetupError(format!(
            "{file}: {key}: the policy at {} does not load:\n{}",
            path.display(),
            e.render().trim_end()
        ))),
    }
}

/// Applies parameter overrides (`[parameters]`-style) to a policy.
pub fn apply_params(
    policy: &mut Policy,
    params: &BTreeMap<String, ParamValue>,
    file: &str,
    table: &str,
) -> Result<Vec<(String, String)>, SetupError> {
    let mut out = Vec::new();
    for (k, v) in params {
        let r = match v {
            ParamValue::Add(a) => add_to_param(policy, k, &a.add.text()),
            ParamValue::Scale(m) => scale_param(policy, k, &m.scale.text()),
            other => policy.set_param(k, &other.absolute().unwrap_or_default()),
        };
        r.map_err(|e| SetupError(format!("{file}: {table}.\"{k}\": {e}")))?;
        out.push((k.clone(), v.describe()));
    }
    Ok(out)
}

/// Adds `delta` to a parameter's value at every date (`name` or `name.key`); numbers only.
pub fn add_to_param(policy: &mut Policy, target: &str, delta: &str) -> Result<(), String> {
    adjust_param(policy, target, delta, Adjust::Add)
}

/// Multiplies a parameter's value at every date by `factor` (`name` or `name.key`): money, decimal
/// and percent values (the product of two decimals is exact); an integer only when the product is
/// whole.
pub fn scale_param(policy: &mut Policy, target: &str, factor: &str) -> Result<(), String> {
    adjust_param(policy, target, factor, Adjust::Scale)
}

#[derive(Clone, Copy, PartialEq)]
enum Adjust {
    Add,
    Scale,
}

fn adjust_param(policy: &mut Policy, target: &str, delta: &str, op: Adjust) -> Result<(), String> {
    let (name, key) = match target.split_once('.') {
        Some((n, k)) => (n.trim(), Some(k.trim())),
        None => (target.trim(), None),
    };
    let program = &mut policy.program;
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
    let c = match op {
        Adjust::Add => doudi_dsl::check::parse_value_text(delta, ty, &program.enums)
            .map_err(|e| format!("`{target}`: {e}"))?,
        Adjust::Scale => {
            Const::Dec(delta.trim().parse::<rust_decimal::Decimal>().map_err(|_| {
                format!("`{target}`: expected a factor such as 1.1, found `{delta}`")
            })?)
        }
    };
    let idx = match (by, key) {
        (None, None) => 0,
        (Some(e), Some(k)) => {
            let en = &program.enums[e as usize];
            en.variants.iter().position(|v| v == k).ok_or_else(|| {
                format!(
                    "`{name}` is keyed by `{}`; `{k}` is not one of: {}",
                    en.name,
                    en.variants.join(", ")
                )
            })?
        }
        (Some(e), None) => {
            let en = &program.enums[e as usize];
            return Err(format!(
                "`{name}` has one value per `{}`: write `{name}.{}`",
                en.name, en.variants[0]
            ));
        }
        (None, Some(_)) => return Err(format!("`{name}` is a single value: write `{name}`")),
    };
    let param = &mut program.params[id as usize];
    for v in &mut param.versions {
        let Some(slot) = v.values.get_mut(idx) else {
            continue;
        };
        *slot = match (&*slot, &c, op) {
            (Const::Dec(a), Const::Dec(b), Adjust::Scale) => Const::Dec(
                a.checked_mul(*b)
                    .ok_or_else(|| format!("`{target}`: overflow"))?,
            ),
            (Const::Int(a), Const::Dec(b), Adjust::Scale) => {
                let x = rust_decimal::Decimal::from(*a)
                    .checked_mul(*b)
                    .ok_or_else(|| format!("`{target}`: overflow"))?;
                if !x.fract().is_zero() {
                    return Err(format!(
                        "`{target}`: {a} × {delta} = {x} is not a whole number, and `{name}` is an integer"
                    ));
                }
                Const::Int(
                    rust_decimal::prelude::ToPrimitive::to_i64(&x)
                        .ok_or_else(|| format!("`{target}`: overflow"))?,
                )
            }
            (_, _, Adjust::Scale) => return Err(format!("`{target}`: only numbers can be scaled")),
            (Const::Dec(a), Const::Dec(b), Adjust::Add) => Const::Dec(
                a.checked_add(*b)
                    .ok_or_else(|| format!("`{target}`: overflow"))?,
            ),
            (Const::Int(a), Const::Int(b), Adjust::Add) => Const::Int(
                a.checked_add(*b)
                    .ok_or_else(|| format!("`{target}`: overflow"))?,
            ),
            (Const::Int(a), Const::Dec(b), Adjust::Add) => Const::Dec(
                rust_decimal::Decimal::from(*a)
                    .checked_add(*b)
                    .ok_or_else(|| format!("`{target}`: overflow"))?,
            ),
            _ => {
                return Err(format!(
                    "`{target}`: only numbers can be changed with `add`"
                ))
            }
        };
        if let Some(r) = &param.range {
            if !r.contains_const(slot) {
                let from = v
                    .from
                    .map(|d| format!(" from {}-{:02}-{:02}", d.year, d.month, d.day))
                    .unwrap_or_default();
                let change = match op {
                    Adjust::Add => format!("adding {delta}"),
                    Adjust::Scale => format!("scaling by {delta}"),
                };
                return Err(format!(
                    "`{target}`: {change} gives a value outside the declared range `{}`{from}",
                    r.text
                ));
            }
        }
        v.citations = vec![Citation::Assumption {
            reason: match op {
                Adjust::Add => format!("{target} {delta} added by a scenario"),
                Adjust::Scale => format!("{target} scaled by {delta} by a scenario"),
            },
        }];
    }
    param.overridden_at = None;
    Ok(())
}

fn ids(policy: &Policy, s: &Scenario) -> Result<Ids, SetupError> {
    Ids::new(policy, &s.outputs).map_err(|e| SetupError(format!("{}: {e}", s.file)))
}

/// How a generated population reaches the packed form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Each generated household straight into the data model (`population::DirectReader`).
    Direct,
    /// Rendered as the CSV text of the data contract and read back with the CSV reader, as a
    /// population from files is: the same households, kept to test the direct route against.
    Csv,
}

/// Prepares a scenario: the population is generated or read unless one is given.
pub fn prepare(
    scenario: Scenario,
    given: Option<(Vec<Household>, PopulationInfo)>,
) -> Result<Prepared, SetupError> {
    prepare_via(scenario, given, Route::Direct)
}

/// [`prepare`], a generated population reaching the packed form by `route`.
pub fn prepare_via(
    scenario: Scenario,
    given: Option<(Vec<Household>, PopulationInfo)>,
    route: Route,
) -> Result<Prepared, SetupError> {
    prepare_with(scenario, given, route, true)
}

/// [`prepare_via`]; without `fit`, the take-up is not fitted to a caseload trend (a driver of a run
/// in household blocks fits it with the workers, `crate::blocks::Driver::fit`).
pub fn prepare_with(
    scenario: Scenario,
    given: Option<(Vec<Household>, PopulationInfo)>,
    route: Route,
    fit: bool,
) -> Result<Prepared, SetupError> {
    let s = &scenario;
    let file = s.file.clone();
    let mut pol = policies(s)?;
    let mut warnings = Vec::new();
    // Population, with each household's region and eligibility in the first month under the
    // first variant (the baseline; for the observed take-up), surveyed as it is read.
    let mut survey = pol.survey(s);
    let (population, info, population_dir, design) = match given {
        Some((hs, info)) => {
            survey.add(&hs)?;
            (
                PackedPopulation::from_households(&pol.variants[0].policy.schema, &hs),
                info,
                None,
                None,
            )
        }
        None => load_population(
            s,
            &pol.variants[0].policy,
            &mut survey,
            &mut warnings,
            route,
        )?,
    };
    let held = survey.held(population, 0, design);
    pol.warnings.extend(warnings);
    if held.population.is_empty() {
        return Err(SetupError(format!(
            "{file}: population: the population has no household"
        )));
    }
    let mut regions = held.names.clone();
    regions.sort();
    let whole = Whole::of(s, regions, &held.counts);
    let mut prepared = assemble(scenario, pol, held, &whole, info, population_dir)?;
    if fit {
        crate::calibrate::fit_take_up(&mut prepared.sim, &prepared.scenario)
            .map_err(|e| SetupError(format!("{file}: calibration: {e}")))?;
    }
    Ok(prepared)
}

/// A scenario's policies, loaded and overridden: what every process of a run prepares the same
/// way, before (and without) the population.
pub(crate) struct Policies {
    pub variants: Vec<Variant>,
    pub slots: Slots,
    pub baseline_overrides: Vec<(String, String)>,
    pub reform_overrides: Vec<(String, String)>,
    pub reform_layer: Option<PathBuf>,
    pub sweep: Option<(String, Vec<Num>)>,
    pub warnings: Vec<String>,
}

/// Loads the scenario's policy and variants, with their overrides.
pub(crate) fn policies(s: &Scenario) -> Result<Policies, SetupError> {
    let file = s.file.clone();
    let policy_path = s.resolve(&s.scenario.policy);
    let mut base = load_policy(&policy_path, &file, "scenario.policy")?;
    let baseline_overrides = apply_params(&mut base, &s.parameters, &file, "parameters")?;
    let slots = Slots::new(&base.schema)
        .map_err(|e| SetupError(format!("{file}: scenario.policy: {e}")))?;
    let Variants {
        variants,
        reform_overrides,
        reform_layer,
        sweep,
    } = variants(s, base, &policy_path)?;
    check_growth(s, &variants)?;
    Ok(Policies {
        variants,
        slots,
        baseline_overrides,
        reform_overrides,
        reform_layer,
        sweep,
        warnings: Vec::new(),
    })
}

impl Policies {
    /// A survey of households under the baseline in the first simulated month (the burn-in's
    /// start).
    pub(crate) fn survey<'p>(&'p self, s: &'p Scenario) -> Survey<'p> {
        let first = &self.variants[0];
        let first_month = s.start_month().plus(-(s.calibration.burn_in_months as i32));
        Survey::new(
            &first.policy,
            first.ids.eligible,
            first_month,
            &self.slots,
            &s.dynamics,
            &s.file,
        )
    }
}

/// What the survey of some households counted: sums over households, added block after block in
/// a run in household blocks.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Households the baseline finds eligible in the first month.
    pub eligible: u64,
    /// Of them, on dibao.
    pub taken: u64,
    /// Persons able to work, and of them employed.
    pub able: u64,
    pub employed: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.eligible += o.eligible;
        self.taken += o.taken;
        self.able += o.able;
        self.employed += o.employed;
    }
}

/// The households a process holds (all of the population, or a block of it), surveyed.
pub(crate) struct Held {
    pub population: PackedPopulation,
    /// The population index of the first.
    pub first: usize,
    /// Region codes in order of appearance, and each household's index into them.
    pub names: Vec<String>,
    pub region_ids: Vec<u32>,
    pub initial_eligible: Vec<bool>,
    pub counts: Counts,
    /// Design weights and take-all flags, when the spec oversamples.
    pub design: Option<(Vec<u64>, Vec<bool>)>,
}

/// What set-up takes from the whole population: the regions present (sorted by code), the
/// observed take-up and the employed share at the start.
pub(crate) struct Whole {
    pub regions: Vec<String>,
    pub take_up: f64,
    pub employed_share: f64,
}

impl Whole {
    /// From the sorted region codes of every household and the counts of the whole population.
    pub(crate) fn of(s: &Scenario, regions: Vec<String>, c: &Counts) -> Whole {
        let take_up = match &s.dynamics.take_up {
            crate::dynamics::TakeUp::Rate(r) => *r,
            _ if s.calibration.take_up.is_some() => s.calibration.take_up.unwrap_or(1.0),
            _ if c.eligible == 0 => 1.0,
            _ => c.taken as f64 / c.eligible as f64,
        };
        let employed_share = if c.able == 0 {
            0.0
        } else {
            c.employed as f64 / c.able as f64
        };
        Whole {
            regions,
            take_up,
            employed_share,
        }
    }
}

/// The simulation of the households `held`, with what set-up takes from the whole population.
pub(crate) fn assemble(
    scenario: Scenario,
    pol: Policies,
    held: Held,
    whole: &Whole,
    info: PopulationInfo,
    population_dir: Option<tempfile::TempDir>,
) -> Result<Prepared, SetupError> {
    let s = &scenario;
    let Policies {
        variants,
        slots,
        baseline_overrides,
        reform_overrides,
        reform_layer,
        sweep,
        warnings,
    } = pol;
    let (regions, region_of) = regions_in_code_order(&whole.regions, &held.names, held.region_ids)
        .map_err(|e| SetupError(format!("{}: population: {e}", s.file)))?;
    let allowances: Vec<(String, String)> = s
        .outputs
        .allowances
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                a.label.clone().unwrap_or_else(|| a.name.clone()),
            )
        })
        .collect();
    let targets =
        crate::calibrate::resolve(s, &slots.area_variants, &regions).map_err(SetupError)?;
    let n = held.population.len();
    let design = held.design;
    let sim = Sim {
        certain: design.as_ref().map(|(_, c)| c.clone()).unwrap_or_default(),
        design_weights: design
            .map(|(w, _)| w)
            .unwrap_or_else(|| vec![info.weight; n]),
        burn_in: s.calibration.burn_in_months,
        targets,
        max_weight_ratio: s.calibration.max_weight_ratio,
        uncertainty: s.uncertainty.clone(),
        employed_share: whole.employed_share,
        notes: Vec::new(),
        compare_households: variants.len() == 2 && s.reform.is_some(),
        cache: true,
        compiled: true,
        variants,
        population: held.population,
        first: held.first,
        regions,
        region_of,
        areas: slots.area_variants.clone(),
        slots,
        rates: crate::dynamics::Rates::new(&s.dynamics),
        take_up: whole.take_up,
        initial_eligible: held.initial_eligible,
        dynamics: s.dynamics.clone(),
        start: s.start_month(),
        months: s.scenario.months,
        runs: s.scenario.runs,
        seed: s.scenario.seed,
        weight: info.weight,
        metrics: metrics(&allowances),
    };
    Ok(Prepared {
        scenario,
        sim,
        population: info,
        population_dir,
        baseline_overrides,
        reform_overrides,
        reform_layer,
        sweep,
        warnings,
    })
}

/// A scenario's policy variants: the baseline, then the reform or the sweep's points.
struct Variants {
    variants: Vec<Variant>,
    reform_overrides: Vec<(String, String)>,
    reform_layer: Option<PathBuf>,
    sweep: Option<(String, Vec<Num>)>,
}

/// Builds the variants from the baseline policy `base` (loaded from `policy_path`, with the
/// scenario's parameters applied).
fn variants(s: &Scenario, base: Policy, policy_path: &Path) -> Result<Variants, SetupError> {
    let file = s.file.clone();
    let policy_path = policy_path.to_path_buf();
    let mut variants = Vec::new();
    let mut reform_overrides = Vec::new();
    let mut reform_layer = None;
    let mut sweep = None;
    let base_ids = ids(&base, s)?;
    match (&s.reform, &s.sweep) {
        (Some(r), _) => {
            let mut reform = match &r.layer {
                Some(layer) => {
                    let path = s.resolve(layer);
                    reform_layer = Some(path.clone());
                    // The scenario names its policy: the layer may extend it (its tree is a root).
                    let tree = policy_path
                        .parent()
                        .map_or_else(|| policy_path.clone(), Path::to_path_buf);
                    let mut p = load_policy_within(&path, &file, "reform.layer", &[tree])?;
                    if p.schema != base.schema {
                        return Err(SetupError(format!("{file}: reform.layer: the layer at {} reads other inputs than the baseline policy; a reform must read the same data", path.display())));
                    }
                    apply_params(&mut p, &s.parameters, &file, "parameters")?;
                    p
                }
                None => {
                    let mut p = load_policy(&policy_path, &file, "scenario.policy")?;
                    apply_params(&mut p, &s.parameters, &file, "parameters")?;
                    p
                }
            };
            reform_overrides =
                apply_params(&mut reform, &r.parameters, &file, "reform.parameters")?;
            let rids = ids(&reform, s)?;
            variants.push(Variant {
                name: "baseline".into(),
                label: "基线".into(),
                policy: base,
                ids: base_ids,
                regions: true,
            });
            variants.push(Variant {
                name: "reform".into(),
                label: r.name.clone(),
                policy: reform,
                ids: rids,
                regions: true,
            });
        }
        (None, Some(sw)) => {
            let values =
                sweep_values(sw).map_err(|(k, m)| SetupError(format!("{file}: {k}: {m}")))?;
            for v in &values {
                let mut p = load_policy(&policy_path, &file, "scenario.policy")?;
                apply_params(&mut p, &s.parameters, &file, "parameters")?;
                let text = v.to_string();
                p.set_param(&sw.parameter, &text)
                    .map_err(|e| SetupError(format!("{file}: sweep.parameter: {e}")))?;
                let vids = ids(&p, s)?;
                variants.push(Variant {
                    name: format!("{}={}", sw.parameter, text),
                    label: text.clone(),
                    policy: p,
                    ids: vids,
                    regions: false,
                });
            }
            sweep = Some((sw.parameter.clone(), values));
        }
        (None, None) => {
            variants.push(Variant {
                name: "baseline".into(),
                label: "基线".into(),
                policy: base,
                ids: base_ids,
                regions: true,
            });
        }
    }
    Ok(Variants {
        variants,
        reform_overrides,
        reform_layer,
        sweep,
    })
}

/// The standards that grow after their last dated value: every variant must have them.
fn check_growth(s: &Scenario, variants: &[Variant]) -> Result<(), SetupError> {
    let file = &s.file;
    if s.uncertainty.standard_growth_per_year.is_some() {
        let names = crate::growth::parameter_names(&s.uncertainty);
        for v in variants {
            crate::growth::check(&v.policy.program, &names).map_err(|e| {
                SetupError(format!(
                    "{file}: uncertainty.standard_parameters: {e}{}",
                    if v.name == "baseline" {
                        String::new()
                    } else {
                        format!(" (variant {})", v.name)
                    }
                ))
            })?;
        }
    }
    Ok(())
}

/// The regions in code order (`sorted`: every region code of the population, sorted), at most
/// `u16::MAX` of them, and each household's region among them (from its region's index in `names`,
/// the codes in the order the households held were read, `region_ids`).
fn regions_in_code_order(
    sorted: &[String],
    names: &[String],
    region_ids: Vec<u32>,
) -> Result<(Vec<String>, Vec<u16>), String> {
    let rank = names
        .iter()
        .map(|n| match sorted.binary_search(n) {
            Ok(r) => Ok(r.min(u16::MAX as usize - 1) as u16),
            Err(_) => Err(format!(
                "region `{n}` is not among the population's regions"
            )),
        })
        .collect::<Result<Vec<u16>, String>>()?;
    let mut regions = sorted.to_vec();
    regions.truncate(u16::MAX as usize);
    let region_of: Vec<u16> = region_ids.iter().map(|&i| rank[i as usize]).collect();
    Ok((regions, region_of))
}
