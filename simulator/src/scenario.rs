//! The scenario file (`doudi simulate <scenario.toml>`): which policy, which population, which
//! dynamics, over which months, how many Monte Carlo runs, and optionally a reform or a sweep.
//!
//! Every table is `deny_unknown_fields`; type errors come from the TOML parser with the dotted key path;
//! range errors (a rate below 0 or above 1, a month that does not parse, ...) come from
//! [`Scenario::validate`]. Every message names the file and the key, e.g.
//! `scenarios/x.toml: dynamics.take_up: must be between 0 and 1, found 1.5`.
//!
//! Paths inside a scenario (`policy`, `population.spec`, `population.data`, `reform.layer`) are relative
//! to the scenario file's directory.
//!
//! ```toml
//! [scenario]
//! name = "jian-baseline"              # report directory name (reports/<name> by default)
//! title = "吉安市低保 基线预测"         # optional, shown in the report
//! policy = "../policies/jian"
//! start = "2024-01"                   # first simulated month
//! months = 36
//! runs = 20                           # Monte Carlo replicates (seed, seed+1, ...)
//! seed = 2024
//!
//! [population]                        # either a spec to generate from ...
//! spec = "populations/jian.toml"
//! households = 10000
//! seed = 7                            # optional, default: scenario.seed
//! weight = "auto"                     # households each simulated household stands for: integer or "auto"
//! # ... or a directory with households.csv and persons.csv:
//! # data = "../policies/jian/examples/population"
//!
//! [parameters]                        # policy parameter overrides (baseline and reform)
//! special_fund = "500000000"
//! "dibao_standard.urban" = { add = "50" }   # relative: added to the value at every date
//! "dibao_standard.rural" = { scale = "1.1" } # relative: multiplied at every date (exact)
//!
//! [dynamics]                          # see `crate::dynamics::Dynamics` for every rate and its default
//! take_up = 0.10
//!
//! [reform]                            # optional
//! name = "standards +50"
//! layer = "../policies/some-layer"    # optional extra layer (a policy that extends the base)
//! parameters = { "dibao_standard.urban" = { add = "50" } }
//!
//! [sweep]                             # optional
//! parameter = "dibao_standard.urban"
//! from = "700"
//! to = "900"
//! step = "20"                         # or: values = ["700", "750"]
//! ```

use crate::dynamics::Dynamics;
use doudi_interpreter::{Month, Num};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The largest number of Monte Carlo runs a scenario may ask for.
pub const MAX_RUNS: u32 = 1000;
/// The longest horizon (months).
pub const MAX_MONTHS: u32 = 600;
/// The most values a sweep may have.
pub const MAX_SWEEP_VALUES: usize = 200;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub scenario: Meta,
    pub population: PopulationSource,
    /// Parameter overrides applied to the baseline (and under the reform and sweep).
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamValue>,
    #[serde(default)]
    pub dynamics: Dynamics,
    /// The names of the policy outputs the simulator reads.
    #[serde(default)]
    pub outputs: OutputNames,
    #[serde(default)]
    pub reform: Option<Reform>,
    #[serde(default)]
    pub sweep: Option<Sweep>,
    #[serde(default)]
    pub report: ReportOptions,
    /// Administrative totals the first month must meet (`[[targets]]`).
    #[serde(default)]
    pub targets: Vec<crate::calibrate::TargetSpec>,
    #[serde(default)]
    pub calibration: crate::calibrate::CalibrationOptions,
    /// What each Monte Carlo run draws anew (`[uncertainty]`).
    #[serde(default)]
    pub uncertainty: crate::calibrate::Uncertainty,
    /// The scenario file (for messages) and its directory (for relative paths).
    #[serde(skip)]
    pub file: String,
    #[serde(skip)]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub policy: PathBuf,
    pub start: String,
    pub months: u32,
    #[serde(default = "default_runs")]
    pub runs: u32,
    #[serde(default)]
    pub seed: u64,
}

fn default_runs() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSource {
    /// A population spec (`doudi generate`) to generate the households from.
    #[serde(default)]
    pub spec: Option<PathBuf>,
    /// How many households to generate from `spec`.
    #[serde(default)]
    pub households: Option<u64>,
    /// The generator's seed (default: the scenario's seed).
    #[serde(default)]
    pub seed: Option<u64>,
    /// A directory with `households.csv` and `persons.csv`.
    #[serde(default)]
    pub data: Option<PathBuf>,
    /// How many real households each simulated household stands for: an integer, or `"auto"`
    /// (spec only: the spec's `meta.reference_population` divided by the persons generated, rounded).
    #[serde(default)]
    pub weight: Option<Weight>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Weight {
    Fixed(u64),
    Named(String),
}

/// A parameter override: a value (`"734"`, `734`, `0.3`, `"30%"`, `true`), `{ add = "50" }` or
/// `{ scale = "1.1" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Add(AddValue),
    Scale(ScaleValue),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleValue {
    /// Multiplies the parameter's value at every date (money, decimal or percent; exact).
    pub scale: ParamScalar,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddValue {
    /// Added to the parameter's value at every date (money, decimal, percent or integer).
    pub add: ParamScalar,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ParamScalar {
    Text(String),
    Int(i64),
    Float(f64),
}

impl ParamScalar {
    pub fn text(&self) -> String {
        match self {
            ParamScalar::Text(s) => s.clone(),
            ParamScalar::Int(i) => i.to_string(),
            ParamScalar::Float(f) => f.to_string(),
        }
    }
}

impl ParamValue {
    /// The value as text for `Policy::set_param`, or `None` for a relative change.
    pub fn absolute(&self) -> Option<String> {
        match self {
            ParamValue::Text(s) => Some(s.clone()),
            ParamValue::Int(i) => Some(i.to_string()),
            ParamValue::Float(f) => Some(f.to_string()),
            ParamValue::Bool(b) => Some(b.to_string()),
            ParamValue::Add(_) | ParamValue::Scale(_) => None,
        }
    }
    pub fn describe(&self) -> String {
        match self {
            ParamValue::Add(a) => format!("+{}", a.add.text()),
            ParamValue::Scale(m) => format!("×{}", m.scale.text()),
            v => v.absolute().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reform {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// A policy layer to use instead of the baseline policy (usually one that `extends` it).
    #[serde(default)]
    pub layer: Option<PathBuf>,
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamValue>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// `name` or `name.key`, as in `[parameters]`.
    pub parameter: String,
    #[serde(default)]
    pub from: Option<ParamScalar>,
    #[serde(default)]
    pub to: Option<ParamScalar>,
    #[serde(default)]
    pub step: Option<ParamScalar>,
    #[serde(default)]
    pub values: Option<Vec<ParamScalar>>,
}

/// Names of the policy outputs the simulator reads (household definitions unless noted).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputNames {
    /// Eligibility for dibao (bool).
    pub eligible: String,
    /// The monthly dibao payment (money per month).
    pub payment: String,
    /// Counted members (integer): the persons of a household on dibao.
    pub members: String,
    /// Household gross income (money per month), for winners and losers.
    pub gross_income: String,
    /// The household state (an enum with the variant `off`; `applying` and `grace` are read when
    /// present, any other variant is on the roll) that says where a household stands: the simulator
    /// runs the policy's roll with its event inputs (policies/jiangxi/roll.doudi).
    pub roll: String,
    /// The household state (money per month) of what a household on the roll is paid.
    pub paid: String,
    /// The household state of the grace months left, this month included (optional): a household
    /// whose grace runs out is checked by the office.
    pub grace_left: String,
    /// The household definition (bool) that says whether a decision came within the policy's
    /// deadline (optional): decisions it finds late are counted as `decided_late`.
    pub decided_in_time: String,
    /// A household definition that is forced to false for households that have not applied
    /// (默认 `expenditure_poor`: means-tested status needs an application too); empty for none.
    pub not_applied_false: Vec<String>,
    /// The allowances paid beside dibao.
    pub allowances: Vec<Allowance>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowance {
    /// The programme's name in reports.
    pub name: String,
    /// Chinese label for reports.
    #[serde(default)]
    pub label: Option<String>,
    /// Household amount (money per month).
    pub amount: String,
    /// Person definition (bool): who receives it.
    pub persons: String,
}

impl Default for OutputNames {
    fn default() -> Self {
        OutputNames {
            eligible: "dibao_eligible".into(),
            payment: "dibao_payment".into(),
            members: "member_count".into(),
            gross_income: "gross_income".into(),
            roll: "roll".into(),
            paid: "paid".into(),
            grace_left: "grace_left".into(),
            decided_in_time: "decided_in_time".into(),
            not_applied_false: vec!["expenditure_poor".into()],
            allowances: vec![
                Allowance {
                    name: "care_allowance".into(),
                    label: Some("失能照护补贴".into()),
                    amount: "care_allowance".into(),
                    persons: "care_allowance_eligible".into(),
                },
                Allowance {
                    name: "centralised_care".into(),
                    label: Some("集中供养照护".into()),
                    amount: "centralised_care_cost".into(),
                    persons: "centralised_care_eligible".into(),
                },
            ],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportOptions {
    /// Write PNG charts beside the SVG ones.
    pub png: bool,
    /// Write report.xlsx.
    pub xlsx: bool,
    /// Write the generated population into the report (`population/`).
    pub keep_population: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            png: true,
            xlsx: true,
            keep_population: false,
        }
    }
}

/// A scenario problem, naming the file and the key.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

#[derive(Debug)]
pub enum ScenarioError {
    Io {
        file: String,
        message: String,
    },
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Io { file, message } => write!(f, "{file}: {message}"),
            ScenarioError::Invalid { file, problems } => {
                let lines: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{file}: {}: {}", p.key, p.message))
                    .collect();
                f.write_str(&lines.join("\n"))
            }
        }
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    pub fn one(file: &str, key: impl Into<String>, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: file.to_string(),
            problems: vec![Problem {
                key: key.into(),
                message: message.into(),
            }],
        }
    }
}

impl Scenario {
    /// Reads, parses and validates a scenario file.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            file: file.clone(),
            message: format!("cannot read: {e}"),
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Scenario::from_toml_str(&text, &file, &dir)
    }

    /// Parses and validates scenario text; `file` names it in messages, `dir` resolves relative paths.
    pub fn from_toml_str(text: &str, file: &str, dir: &Path) -> Result<Scenario, ScenarioError> {
        let de = toml::Deserializer::new(text);
        let mut s: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            parse_error(file, text, &path, &inner)
        })?;
        s.file = file.to_string();
        s.dir = dir.to_path_buf();
        let problems = s.validate();
        if !problems.is_empty() {
            return Err(ScenarioError::Invalid {
                file: file.to_string(),
                problems,
            });
        }
        Ok(s)
    }

    /// A path of the scenario, relative to its directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    pub fn start_month(&self) -> Month {
        Month::parse(&self.scenario.start).unwrap_or(Month {
            year: 2024,
            month: 1,
        })
    }

    /// Range and consistency checks; one problem per key.
    pub fn validate(&self) -> Vec<Problem> {
        let mut c = Check::default();
        let m = &self.scenario;
        if m.name.trim().is_empty()
            || m.name.contains(['/', '\\'])
            || m.name == "."
            || m.name == ".."
        {
            c.err(
                "scenario.name",
                "must be a non-empty name without `/` (it names the report directory)",
            );
        }
        if let Err(e) = Month::parse(&m.start) {
            c.err("scenario.start", e);
        }
        if m.months == 0 || m.months > MAX_MONTHS {
            c.err(
                "scenario.months",
                format!("must be between 1 and {MAX_MONTHS}, found {}", m.months),
            );
        }
        if m.runs == 0 || m.runs > MAX_RUNS {
            c.err(
                "scenario.runs",
                format!("must be between 1 and {MAX_RUNS}, found {}", m.runs),
            );
        }
        let p = &self.population;
        match (&p.spec, &p.data) {
            (Some(_), Some(_)) => c.err("population", "give either `spec` (generate) or `data` (a directory of CSV files), not both"),
            (None, None) => c.err("population", "give `spec` (a population spec to generate from) or `data` (a directory with households.csv and persons.csv)"),
            (Some(_), None) => match p.households {
                None => c.err("population.households", "required with `spec`: how many households to generate"),
                Some(0) => c.err("population.households", "must be at least 1, found 0"),
                Some(n) if n > 10_000_000 => c.err("population.households", format!("at most 10000000 households, found {n}")),
                _ => {}
            },
            (None, Some(_)) => {
                if p.households.is_some() {
                    c.err("population.households", "only with `spec`: a `data` population has the households of its files");
                }
                if p.seed.is_some() {
                    c.err("population.seed", "only with `spec`");
                }
            }
        }
        match &p.weight {
            Some(Weight::Fixed(0)) => c.err("population.weight", "must be at least 1, found 0"),
            Some(Weight::Named(s)) if s != "auto" => c.err(
                "population.weight",
                format!("expected a whole number of households or \"auto\", found \"{s}\""),
            ),
            Some(Weight::Named(_)) if p.spec.is_none() => c.err(
                "population.weight",
                "\"auto\" needs a `spec` (its meta.reference_population)",
            ),
            _ => {}
        }
        check_params(&mut c, "parameters", &self.parameters);
        self.dynamics.validate_into(&mut c.problems);
        let o = &self.outputs;
        for (k, v) in [
            ("eligible", &o.eligible),
            ("payment", &o.payment),
            ("members", &o.members),
            ("gross_income", &o.gross_income),
            ("roll", &o.roll),
            ("paid", &o.paid),
        ] {
            if v.trim().is_empty() {
                c.err(format!("outputs.{k}"), "must name a policy definition");
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, a) in o.allowances.iter().enumerate() {
            if a.name.trim().is_empty()
                || !names.insert(a.name.clone())
                || a.name == "dibao"
                || a.name == "total"
            {
                c.err(
                    format!("outputs.allowances[{i}].name"),
                    "must be a unique name other than `dibao` and `total`",
                );
            }
        }
        if let Some(r) = &self.reform {
            if r.name.trim().is_empty() {
                c.err("reform.name", "must not be empty");
            }
            check_params(&mut c, "reform.parameters", &r.parameters);
        }
        crate::calibrate::validate(self, &mut c.problems);
        if let Some(sw) = &self.sweep {
            if self.reform.is_some() {
                c.err("sweep", "a scenario has a `reform` or a `sweep`, not both");
            }
            if let Err(e) = sweep_values(sw) {
                c.err(e.0, e.1);
            }
        }
        c.problems
    }
}

fn check_params(c: &mut Check, table: &str, params: &BTreeMap<String, ParamValue>) {
    for (k, v) in params {
        match v {
            ParamValue::Float(f) if !f.is_finite() => {
                c.err(format!("{table}.\"{k}\""), "must be a finite number")
            }
            ParamValue::Add(a) if Num::parse(a.add.text().trim()).is_none() => {
                c.err(
                    format!("{table}.\"{k}\".add"),
                    format!(
                        "expected a decimal number such as 50 or -12.5, found `{}`",
                        a.add.text()
                    ),
                );
            }
            ParamValue::Scale(m)
                if Num::parse(m.scale.text().trim()).is_none_or(|x| x.is_negative()) =>
            {
                c.err(
                    format!("{table}.\"{k}\".scale"),
                    format!(
                        "expected a factor of 0 or more such as 1.1 (ten per cent more), found `{}`",
                        m.scale.text()
                    ),
                );
            }
            _ => {}
        }
    }
}

/// The values of a sweep, as exact numbers, or (key, message).
pub fn sweep_values(sw: &Sweep) -> Result<Vec<Num>, (String, String)> {
    let num = |key: &str, v: &ParamScalar| -> Result<Num, (String, String)> {
        Num::parse(v.text().trim()).ok_or_else(|| {
            (
                format!("sweep.{key}"),
                format!("expected a decimal number, found `{}`", v.text()),
            )
        })
    };
    if sw.parameter.trim().is_empty() {
        return Err((
            "sweep.parameter".into(),
            "must name a parameter (`name` or `name.key`)".into(),
        ));
    }
    let vals = match (&sw.values, &sw.from, &sw.to, &sw.step) {
        (Some(vs), None, None, None) => {
            let mut out = Vec::new();
            for (i, v) in vs.iter().enumerate() {
                out.push(num(&format!("values[{i}]"), v)?);
            }
            out
        }
        (None, Some(f), Some(t), Some(s)) => {
            let (f, t, s) = (num("from", f)?, num("to", t)?, num("step", s)?);
            if !s.is_positive() {
                return Err(("sweep.step".into(), "must be greater than 0".into()));
            }
            if t < f {
                return Err(("sweep.to".into(), "must not be below `from`".into()));
            }
            let mut out = Vec::new();
            let mut v = f;
            while v <= t {
                out.push(v.clone());
                if out.len() > MAX_SWEEP_VALUES {
                    return Err((
                        "sweep.step".into(),
                        format!("the sweep has more than {MAX_SWEEP_VALUES} values"),
                    ));
                }
                v = v
                    .checked_add(&s)
                    .map_err(|_| ("sweep.step".to_string(), "overflow".to_string()))?;
            }
            out
        }
        _ => {
            return Err((
                "sweep".into(),
                "give `values = [...]`, or `from`, `to` and `step`".into(),
            ))
        }
    };
    if vals.is_empty() {
        return Err(("sweep.values".into(), "must not be empty".into()));
    }
    if vals.len() > MAX_SWEEP_VALUES {
        return Err((
            "sweep.values".into(),
            format!("at most {MAX_SWEEP_VALUES} values"),
        ));
    }
    Ok(vals)
}

#[derive(Default)]
pub(crate) struct Check {
    pub problems: Vec<Problem>,
}

impl Check {
    pub fn err(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }
}

fn join_key(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn parse_error(file: &str, text: &str, path: &str, e: &toml::de::Error) -> ScenarioError {
    let message = e.message().trim().to_string();
    let mut key = if path.is_empty() || path == "." {
        String::new()
    } else {
        path.to_string()
    };
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some(end) = rest.find('`') {
                let field = &rest[..end];
                if !key.ends_with(field) {
                    key = join_key(&key, field);
                }
            }
        }
    }
    if let Some(rest) = message.strip_prefix("duplicate key `") {
        let parts: Vec<&str> = rest.split('`').collect();
        if parts.len() >= 3 && parts[1].trim() == "in table" {
            key = join_key(parts[2], parts[0]);
        } else if !parts.is_empty() {
            key = join_key(&key, parts[0]);
        }
    }
    if key.is_empty() {
        key = "(top level)".to_string();
    }
    let message = if message
        .starts_with("data did not match any variant of untagged enum ParamValue")
    {
        "expected a value (\"734\", 734, 0.3, \"30%\", true), { add = \"50\" } or { scale = \"1.1\" }"
                .to_string()
    } else if message.starts_with("data did not match any variant of untagged enum Weight") {
        "expected a whole number of households or \"auto\"".to_string()
    } else {
        message
    };
    let location = e.span().map(|span| {
        let upto = &text[..span.start.min(text.len())];
        let line = upto.matches('\n').count() + 1;
        let col = upto
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        format!(" (line {line}, column {col})")
    });
    ScenarioError::Invalid {
        file: file.to_string(),
        problems: vec![Problem {
            key,
            message: format!("{message}{}", location.unwrap_or_default()),
        }],
    }
}
