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
    let policy_path = s.resolve(&s.scenario.policy);
    let mut base = load_policy(&policy_path, &file, "scenario.policy")?;
    let baseline_overrides = apply_params(&mut base, &s.parameters, &file, "parameters")?;
    let slots = Slots::new(&base.schema)
        .map_err(|e| SetupError(format!("{file}: scenario.policy: {e}")))?;
    let mut warnings = Vec::new();

    let Variants {
        variants,
        reform_overrides,
        reform_layer,
        sweep,
    } = variants(s, base, &policy_path)?;

    check_growth(s, &variants)?;

    // Population, with each household's region and eligibility in the first month under the
    // first variant (the baseline; for the observed take-up), surveyed as it is read.
    let first = &variants[0];
    // The survey's month is the first simulated one: the burn-in's start.
    let first_month = s.start_month().plus(-(s.calibration.burn_in_months as i32));
    let mut survey = Survey::new(
        &first.policy,
        first.ids.eligible,
        first_month,
        &slots,
        &s.dynamics,
        &file,
    );
    let (population, info, population_dir, design) = match given {
        Some((hs, info)) => {
            survey.add(&hs)?;
            (
                PackedPopulation::from_households(&first.policy.schema, &hs),
                info,
                None,
                None,
            )
        }
        None => load_population(s, &first.policy, &mut survey, &mut warnings, route)?,
    };
    let Survey {
        names,
        region_ids,
        eligible: initial_eligible,
        taken,
        able,
        employed,
        ..
    } = survey;

    if population.is_empty() {
        return Err(SetupError(format!(
            "{file}: population: the population has no household"
        )));
    }

    let (regions, region_of) = regions_in_code_order(&names, region_ids);
    let eligible_n = initial_eligible.iter().filter(|e| **e).count();
    let take_up = match &s.dynamics.take_up {
        crate::dynamics::TakeUp::Rate(r) => *r,
        _ if s.calibration.take_up.is_some() => s.calibration.take_up.unwrap_or(1.0),
        _ if eligible_n == 0 => 1.0,
        _ => taken as f64 / eligible_n as f64,
    };
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
    let n = population.len();
    let mut sim = Sim {
        certain: design.as_ref().map(|(_, c)| c.clone()).unwrap_or_default(),
        design_weights: design
            .map(|(w, _)| w)
            .unwrap_or_else(|| vec![info.weight; n]),
        burn_in: s.calibration.burn_in_months,
        targets,
        max_weight_ratio: s.calibration.max_weight_ratio,
        uncertainty: s.uncertainty.clone(),
        employed_share: if able == 0 {
            0.0
        } else {
            employed as f64 / able as f64
        },
        notes: Vec::new(),
        compare_households: variants.len() == 2 && s.reform.is_some(),
        cache: true,
        compiled: true,
        variants,
        population,
        regions,
        region_of,
        areas: slots.area_variants.clone(),
        slots,
        rates: crate::dynamics::Rates::new(&s.dynamics),
        take_up,
        initial_eligible,
        dynamics: s.dynamics.clone(),
        start: s.start_month(),
        months: s.scenario.months,
        runs: s.scenario.runs,
        seed: s.scenario.seed,
        weight: info.weight,
        metrics: metrics(&allowances),
    };
    if fit {
        crate::calibrate::fit_take_up(&mut sim, s)
            .map_err(|e| SetupError(format!("{file}: calibration: {e}")))?;
    }
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

/// The regions in code order, and each household's region among them (from its region's index
/// in the order read, `region_ids`).
fn regions_in_code_order(names: &[String], region_ids: Vec<u32>) -> (Vec<String>, Vec<u16>) {
    let mut order: Vec<u32> = (0..names.len() as u32).collect();
    order.sort_by(|a, b| names[*a as usize].cmp(&names[*b as usize]));
    let mut rank = vec![0u16; names.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i as usize] = r.min(u16::MAX as usize - 1) as u16;
    }
    let mut regions: Vec<String> = order.iter().map(|&i| names[i as usize].clone()).collect();
    regions.truncate(u16::MAX as usize);
    let region_of: Vec<u16> = region_ids.iter().map(|&i| rank[i as usize]).collect();
    drop(region_ids);
    (regions, region_of)
}

/// Reads the population of `population.data` (the CSV pair in `dir`).
fn read_population_dir(
    s: &Scenario,
    dir: &Path,
    policy: &Policy,
    survey: &mut Survey<'_>,
) -> Result<(PackedPopulation, PopulationInfo), SetupError> {
    let (file, p) = (&s.file, &s.population);
    let hs = read_packed(policy, dir, survey, &|e| {
        SetupError(format!("{file}: population.data: {e}"))
    })?;
    let persons = hs.persons();
    let weight = match &p.weight {
        Some(Weight::Fixed(w)) => *w,
        _ => 1,
    };
    let info = PopulationInfo {
        source: format!("data {}", dir.display()),
        households: hs.len() as u64,
        persons,
        weight,
        reference_population: None,
        notes: Vec::new(),
    };
    Ok((hs, info))
}

/// Generates (from a spec) or reads (from a directory) the population of a scenario. Also returns
/// each household's design weight when the spec oversamples rare groups.
#[allow(clippy::type_complexity)]
fn load_population(
    s: &Scenario,
    policy: &Policy,
    survey: &mut Survey<'_>,
    warnings: &mut Vec<String>,
    route: Route,
) -> Result<
    (
        PackedPopulation,
        PopulationInfo,
        Option<tempfile::TempDir>,
        Option<(Vec<u64>, Vec<bool>)>,
    ),
    SetupError,
> {
    let file = &s.file;
    let p = &s.population;
    if let Some(dir) = &p.data {
        let (hs, info) = read_population_dir(s, &s.resolve(dir), policy, survey)?;
        return Ok((hs, info, None, None));
    }
    let Some(spec_path) = &p.spec else {
        return Err(SetupError(format!(
            "{file}: population: give `spec` or `data`"
        )));
    };
    let spec_path = s.resolve(spec_path);
    let (spec, spec_warnings) = crate::spec::PopulationSpec::load(&spec_path)
        .map_err(|e| SetupError(format!("{file}: population.spec: {e}")))?;
    warnings.extend(spec_warnings.iter().map(|w| w.to_string()));
    let households = p.households.unwrap_or(1000);
    let seed = p.seed.unwrap_or(s.scenario.seed);
    // Who is on the roll when the population starts (the first simulated month, the burn-in's
    // start) is drawn from the policy's own income test in that month.
    let first_month = s.start_month().plus(-(s.calibration.burn_in_months as i32));
    let screen = crate::screen::PolicyScreen::new(policy, first_month)
        .map_err(|e| SetupError(format!("{file}: population.spec: {e}")))?;
    // A population simulated household for household (weight 1) has nothing to oversample.
    let mut spec = spec;
    if matches!(p.weight, Some(Weight::Fixed(w)) if w <= 1) {
        spec.oversample.clear();
    }
    let misfit = |e: data::DataError| {
        SetupError(format!("{file}: population.spec: the generated population does not fit the policy's inputs: {e}"))
    };
    // The households each household of the main sample stands for.
    let reference = spec.meta.reference_population;
    let main_weight = |main_persons: u64| match &p.weight {
        Some(Weight::Fixed(w)) => *w,
        Some(Weight::Named(_)) | None => match reference {
            Some(r) if main_persons > 0 => ((r as f64 / main_persons as f64).round() as u64).max(1),
            _ => 1,
        },
    };
    let mut extra: Vec<(u64, usize)> = Vec::new();
    let (hs, report, tmp) = if s.report.keep_population {
        if !spec.oversample.is_empty() {
            warnings.push(format!("{file}: report.keep_population: the population spec's oversampled groups are left out (the kept files hold the main sample only)"));
        }
        // Through files, which the report keeps.
        let tmp = tempfile::Builder::new()
            .prefix("doudi-population-")
            .tempdir()
            .map_err(|e| {
                SetupError(format!(
                    "{file}: population: cannot create a temporary directory: {e}"
                ))
            })?;
        let report =
            crate::population::generate(&spec, households as usize, seed, tmp.path(), &screen)
                .map_err(|e| SetupError(format!("{file}: population.spec: {e}")))?;
        (
            read_packed(policy, tmp.path(), survey, &misfit)?,
            report,
            Some(tmp),
        )
    } else {
        // Straight into the data model as it is generated, a part at a time in parallel (or, by
        // the CSV route, as the CSV text of the data contract read back from memory).
        let g = crate::population::Generator::new(&spec, seed, &screen);
        let (pop, report, oversampled) = generated_packed(
            &g,
            &mut spec,
            households,
            policy,
            survey,
            route,
            &main_weight,
            &misfit,
        )?;
        extra = oversampled;
        (pop, report, None)
    };
    let persons = hs.persons();
    let reference = spec.meta.reference_population;
    // The main sample's persons: the oversampled households stand for fewer households each.
    let weight = main_weight(report.persons);
    let design = design_weights(
        &spec,
        seed,
        households,
        weight,
        &extra,
        s.report.keep_population,
        &screen,
    );
    let notes = generation_notes(&report, &spec, &extra, weight);
    let info = PopulationInfo {
        source: format!(
            "spec {}, {households} households, seed {seed}",
            spec_path.display()
        ),
        households: hs.len() as u64,
        persons,
        weight,
        reference_population: reference,
        notes,
    };
    Ok((hs, info, tmp, design))
}

/// What the report says of a generated population: only deterministic facts (no timings, no
/// temporary paths), so that the report does not change between runs.
fn generation_notes(
    report: &crate::population::GenerateReport,
    spec: &crate::spec::PopulationSpec,
    extra: &[(u64, usize)],
    weight: u64,
) -> Vec<String> {
    let mut notes = vec![format!(
        "generated `{}` with seed {}: {} households, {} persons, {} on dibao at the start",
        report.spec_name,
        report.seed,
        report.households,
        report.persons,
        report.on_dibao_households
    )];
    for r in &report.calibration {
        let status = match &r.status {
            crate::population::CalibrationStatus::Reached => "reached".to_string(),
            crate::population::CalibrationStatus::OutOfReach(why) => format!("out of reach: {why}"),
            crate::population::CalibrationStatus::Reported => "reported".to_string(),
        };
        notes.push(format!(
            "calibration: {}: target {:.4}, calibrated {:.4}, output {} ({}; {})",
            r.quantity,
            r.target,
            r.calibrated,
            r.output
                .map(|o| format!("{o:.4}"))
                .unwrap_or_else(|| "-".into()),
            r.parameter,
            status
        ));
    }
    for (k, st) in spec.oversample.iter().enumerate() {
        let n = extra.iter().filter(|(_, j)| *j == k).count();
        notes.push(if st.take_all {
            format!(
                "oversampled `{}` completely (take-all: every such household of the city, {} × the rate of the other households): {n} households beyond the main sample, each standing for itself, neither resampled by the bootstrap nor reweighted by calibration",
                st.name, st.rate
            )
        } else {
            format!(
                "oversampled `{}` at {} × the rate of the other households: {n} households beyond the main sample, each standing for about {:.1} households",
                st.name,
                st.rate,
                weight as f64 / st.rate as f64
            )
        });
    }
    notes
}

/// A generated population read into the packed form by `route` as it is generated, surveyed a
/// chunk at a time, then the extra households of the spec's oversampled strata (whose effective
/// rates are set in `spec` once the main sample's weight is known): the population, the generator's
/// report and the extra households (index, stratum).
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn generated_packed(
    g: &crate::population::Generator<'_>,
    spec: &mut crate::spec::PopulationSpec,
    households: u64,
    policy: &Policy,
    survey: &mut Survey<'_>,
    route: Route,
    main_weight: &dyn Fn(u64) -> u64,
    misfit: &dyn Fn(data::DataError) -> SetupError,
) -> Result<
    (
        PackedPopulation,
        crate::population::GenerateReport,
        Vec<(u64, usize)>,
    ),
    SetupError,
> {
    let reader = crate::population::DirectReader::new(&policy.schema, g);
    let mut pop = PackedPopulation::new(&policy.schema);
    let mut add = |parts: Vec<Result<Vec<Household>, data::DataError>>| {
        let mut chunk = Vec::new();
        for r in parts {
            chunk.extend(r.map_err(misfit)?);
        }
        survey.add(&chunk)?;
        pop.extend(&chunk);
        Ok::<(), SetupError>(())
    };
    let report = match route {
        Route::Direct => g.generate_direct(households as usize, &reader, |_, parts| add(parts))?,
        Route::Csv => g.generate_in_memory(households as usize, |_, parts| {
            let (h_name, p_name) = (
                Path::new(crate::population::GENERATED_HOUSEHOLDS),
                Path::new(crate::population::GENERATED_PERSONS),
            );
            add(parts
                .into_par_iter()
                .map(|(h, p)| data::read_csv_pair_bytes(&policy.schema, (h_name, h), (p_name, p)))
                .collect())
        })?,
    };
    // Rare groups: the extra households of each stratum, read the same way (a take-all stratum's
    // rate is the main sample's weight, known now).
    spec.oversample = crate::oversample::effective(&spec.oversample, main_weight(report.persons));
    let extra = crate::oversample::extra_households(g, &spec.oversample, households);
    let indices: Vec<u64> = extra.iter().map(|(i, _)| *i).collect();
    for part in indices.chunks(16_384) {
        let list: Vec<_> = part.par_iter().map(|&i| g.household(i)).collect();
        add(vec![match route {
            Route::Direct => reader.read(g, &list),
            Route::Csv => reader.read_text(g, &list),
        }])?;
    }
    Ok((pop, report, extra))
}

/// Each household's design weight when the spec oversamples rare groups: `weight` for the main
/// sample's households outside the strata, `weight / rate` (rounded without bias) inside them, 1 in
/// a take-all stratum; and whether the household is certain (in a take-all stratum).
fn design_weights(
    spec: &crate::spec::PopulationSpec,
    seed: u64,
    households: u64,
    weight: u64,
    extra: &[(u64, usize)],
    kept: bool,
    screen: &dyn crate::population::DibaoScreen,
) -> Option<(Vec<u64>, Vec<bool>)> {
    use crate::oversample::{stratum_of, weight_of};
    if spec.oversample.is_empty() || kept {
        return None;
    }
    let g = crate::population::Generator::new(spec, seed, screen);
    let strata = &spec.oversample;
    let of = |k: usize, i: u64| {
        if strata[k].take_all {
            (1, true)
        } else {
            (weight_of(weight, strata[k].rate, i), false)
        }
    };
    let mut w: Vec<(u64, bool)> = (0..households)
        .into_par_iter()
        .map(
            |i| match stratum_of(strata, g.region_codes(), &g.household_before_roll_draw(i)) {
                Some(k) => of(k, i),
                None => (weight, false),
            },
        )
        .collect();
    w.extend(extra.iter().map(|&(i, k)| of(k, i)));
    Some(w.into_iter().unzip())
}

/// Reads a CSV pair into packed households, a chunk at a time (memory does not hold the unpacked
/// population), surveying each chunk.
fn read_packed(
    policy: &Policy,
    dir: &Path,
    survey: &mut Survey<'_>,
    data_err: &dyn Fn(data::DataError) -> SetupError,
) -> Result<PackedPopulation, SetupError> {
    let mut pop = PackedPopulation::new(&policy.schema);
    for chunk in data::CsvChunks::open_dir(&policy.schema, dir, 16_384).map_err(data_err)? {
        let chunk = chunk.map_err(data_err)?;
        survey.add(&chunk)?;
        pop.extend(&chunk);
    }
    Ok(pop)
}

/// Each household's region, and whether the baseline finds it eligible in the first month.
struct Survey<'p> {
    policy: &'p Policy,
    eligible_id: doudi_dsl::ir::DefId,
    start: doudi_interpreter::Month,
    region_slot: usize,
    on_dibao_slot: usize,
    file: &'p str,
    /// Region names in order of appearance, and each household's index into them.
    names: Vec<String>,
    index: std::collections::HashMap<String, u32>,
    region_ids: Vec<u32>,
    eligible: Vec<bool>,
    /// Households eligible and on dibao.
    taken: usize,
    dynamics: &'p crate::dynamics::Dynamics,
    slots: Slots,
    /// Persons able to work, and of them employed.
    able: u64,
    employed: u64,
}

impl<'p> Survey<'p> {
    fn new(
        policy: &'p Policy,
        eligible_id: doudi_dsl::ir::DefId,
        start: doudi_interpreter::Month,
        slots: &Slots,
        dynamics: &'p crate::dynamics::Dynamics,
        file: &'p str,
    ) -> Survey<'p> {
        Survey {
            policy,
            eligible_id,
            start,
            region_slot: slots.region,
            on_dibao_slot: slots.on_dibao,
            file,
            names: Vec::new(),
            index: Default::default(),
            region_ids: Vec::new(),
            eligible: Vec::new(),
            taken: 0,
            dynamics,
            slots: slots.clone(),
            able: 0,
            employed: 0,
        }
    }

    fn add(&mut self, hs: &[Household]) -> Result<(), SetupError> {
        use doudi_interpreter::packed::MemberFields;
        for h in hs {
            for m in 0..h.member_count() {
                if self.dynamics.able_to_work(h, m, &self.slots) {
                    self.able += 1;
                    self.employed += h.member_bool(m, self.slots.employed) as u64;
                }
            }
            let code = match &h.fields[self.region_slot] {
                Value::Text(t) => t.to_string(),
                other => format!("{other:?}"),
            };
            let next = self.names.len() as u32;
            let id = *self.index.entry(code).or_insert_with_key(|k| {
                self.names.push(k.clone());
                next
            });
            self.region_ids.push(id);
        }
        let (policy, start) = (self.policy, self.start);
        for (h, r) in hs.iter().zip(doudi_interpreter::batch::evaluate_chunk(
            policy,
            hs,
            start,
            &[self.eligible_id],
        )) {
            let v = r.map_err(|e| {
                SetupError(format!(
                    "{}: the policy fails on the population in {start}:\n{}",
                    self.file,
                    e.render(policy.sources()).trim_end()
                ))
            })?;
            let eligible = v.first().is_some_and(|x| x.as_bool());
            self.taken += (eligible && h.fields[self.on_dibao_slot].as_bool()) as usize;
            self.eligible.push(eligible);
        }
        Ok(())
    }
}
