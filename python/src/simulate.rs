//! `doudi.simulate`: a scenario (a TOML file, or a dict of the same structure) run as `doudi
//! simulate` runs it (`setup::prepare`, `montecarlo::simulate`), its report's tables returned as
//! Python values instead of (or besides) the report directory.

use crate::errors;
use doudi::simulator::report::{self, tables::Cell};
use doudi::simulator::scenario::{Scenario, MAX_RUNS};
use doudi::simulator::{estimate, montecarlo, script, setup};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::path::{Path, PathBuf};

/// The name a dict scenario goes by in messages.
const DICT_ORIGIN: &str = "<scenario>";

/// Runs a scenario: `scenario` is the path of a TOML file or a dict of the TOML's structure
/// (relative paths in a dict resolve against the working directory). Returns a dict with
/// `tables` (a list of dicts: `name`, `title`, `title_en`, `note`, `columns`, `headers`, `rows`),
/// `series` (the text of `series.csv`), `summary` (the text of `summary.json`), `headline` (what
/// the CLI prints) and `files` (the report's files when `out` is given).
#[pyfunction]
#[pyo3(signature = (scenario, runs=None, out=None, force=false))]
pub(crate) fn simulate(
    py: Python<'_>,
    scenario: &Bound<'_, PyAny>,
    runs: Option<u32>,
    out: Option<PathBuf>,
    force: bool,
) -> PyResult<Py<PyAny>> {
    let mut s = read_scenario(py, scenario)?;
    if let Some(r) = runs {
        if r == 0 || r > MAX_RUNS {
            return Err(errors::scenario(
                py,
                &format!("runs must be between 1 and {MAX_RUNS}"),
            ));
        }
        s.scenario.runs = r;
    }
    if let Some(out) = &out {
        report::check_out(out).map_err(|e| errors::scenario(py, &e))?;
    }
    let size = estimate::estimate(&s, estimate::available_memory());
    if let Some(problem) = size.problem() {
        if !force {
            return Err(errors::scenario(
                py,
                &format!(
                    "{}: the scenario is too large for this machine: {problem}\n  estimate: {}\n  = help: fewer households, runs, months or sweep values; or force=True to run it anyway",
                    s.file,
                    size.describe()
                ),
            ));
        }
    }
    let ran = py.detach(|| run(s, out.as_deref()));
    let ran = ran.map_err(|e| match e {
        Failure::Setup(m) => errors::scenario(py, &m),
        Failure::Run(m) => errors::raise(py, "EvalError", &m, |_| Ok(())),
    })?;
    to_python(py, &ran)
}

/// What a run leaves for Python.
pub(crate) struct Ran {
    prepared: std::sync::Arc<setup::Prepared>,
    outcome: montecarlo::Outcome,
    files: Vec<String>,
    series: String,
}

enum Failure {
    /// The scenario cannot be set up (policy, population, variants) or the report not written.
    Setup(String),
    /// The simulation stopped (an evaluation error in a month).
    Run(String),
}

/// Prepares, simulates and (with `out`) writes the report; without the GIL.
fn run(s: Scenario, out: Option<&Path>) -> Result<Ran, Failure> {
    let prepared = setup::prepare(s, None).map_err(|e| Failure::Setup(e.to_string()))?;
    let outcome = montecarlo::simulate(&prepared, &|| {})
        .map_err(|e| Failure::Run(format!("the simulation stopped: {e}")))?;
    Ran::new(std::sync::Arc::new(prepared), outcome, out).map_err(Failure::Setup)
}

impl Ran {
    /// A simulation's outcome with (when `out` is given) its report written there.
    pub(crate) fn new(
        prepared: std::sync::Arc<setup::Prepared>,
        outcome: montecarlo::Outcome,
        out: Option<&Path>,
    ) -> Result<Ran, String> {
        let files = match out {
            Some(dir) => report::write(&prepared, &outcome, dir)?.files,
            None => Vec::new(),
        };
        let mut series = Vec::new();
        report::tables::write_series_to(&outcome, &mut series)
            .map_err(|e| format!("series.csv: {e}"))?;
        Ok(Ran {
            prepared,
            outcome,
            files,
            series: String::from_utf8_lossy(&series).into_owned(),
        })
    }
}

/// The scenario of a path (read as `doudi simulate` reads it) or of a dict (written as TOML text
/// and read by the same parser, with the same checks and messages).
pub(crate) fn read_scenario(py: Python<'_>, scenario: &Bound<'_, PyAny>) -> PyResult<Scenario> {
    if scenario.is_instance_of::<PyDict>() {
        let value = to_toml(scenario, "")?;
        let text = toml::to_string(&value).map_err(|e| {
            errors::scenario(
                py,
                &format!("{DICT_ORIGIN}: cannot be written as TOML: {e}"),
            )
        })?;
        Scenario::from_toml_str(&text, DICT_ORIGIN, Path::new(""))
            .map_err(|e| errors::from_scenario(py, e))
    } else {
        let path: PathBuf = scenario.extract()?;
        Scenario::load(&path).map_err(|e| errors::from_scenario(py, e))
    }
}

/// A Python value as TOML: dicts (string keys), lists and tuples, str, bool, int, float,
/// `decimal.Decimal` (as its text, as a scenario writes amounts) and paths; a `None` value drops
/// its key. `key` is the dotted path shown in errors.
fn to_toml(v: &Bound<'_, PyAny>, key: &str) -> PyResult<toml::Value> {
    let py = v.py();
    let bad = |what: String| {
        let at = if key.is_empty() { "the scenario" } else { key };
        errors::raise(
            py,
            "ScenarioError",
            &format!("{DICT_ORIGIN}: {at}: {what}"),
            |k| {
                k.set_item("file", DICT_ORIGIN)?;
                k.set_item("problems", vec![(at.to_string(), what.clone())])
            },
        )
    };
    if let Ok(d) = v.cast::<PyDict>() {
        let mut table = toml::map::Map::new();
        for (k, item) in d.iter() {
            let Ok(name) = k.extract::<String>() else {
                return Err(bad(format!("a key must be a string, found {}", k.repr()?)));
            };
            if item.is_none() {
                continue;
            }
            let path = if key.is_empty() {
                name.clone()
            } else {
                format!("{key}.{name}")
            };
            table.insert(name, to_toml(&item, &path)?);
        }
        return Ok(toml::Value::Table(table));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = v.extract()?;
        let values = items
            .iter()
            .enumerate()
            .map(|(i, item)| to_toml(item, &format!("{key}[{i}]")))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(toml::Value::Array(values));
    }
    if v.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        return match v.extract::<i64>() {
            Ok(i) => Ok(toml::Value::Integer(i)),
            Err(_) => Err(bad(format!("{} is too large for an integer", v.repr()?))),
        };
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(v.extract()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(v.extract()?));
    }
    let decimal = py.import("decimal")?.getattr("Decimal")?;
    if v.is_instance(&decimal)? {
        return Ok(toml::Value::String(v.str()?.extract()?));
    }
    if let Ok(p) = v.extract::<PathBuf>() {
        return Ok(toml::Value::String(p.display().to_string()));
    }
    Err(bad(format!(
        "cannot be written in a scenario: {} (use str, int, float, bool, Decimal, list or dict)",
        v.get_type().name()?
    )))
}

/// The run's results as Python values (see [`simulate`]).
pub(crate) fn to_python(py: Python<'_>, ran: &Ran) -> PyResult<Py<PyAny>> {
    let decimal = py.import("decimal")?.getattr("Decimal")?;
    let tables = PyList::empty(py);
    for t in report::tables(&ran.prepared, &ran.outcome) {
        let d = PyDict::new(py);
        d.set_item("name", &t.name)?;
        d.set_item("title", &t.title.zh)?;
        d.set_item("title_en", &t.title.en)?;
        d.set_item("note", &t.note)?;
        let keys: Vec<&str> = t.columns.iter().map(|c| c.key.as_str()).collect();
        d.set_item("columns", keys)?;
        let headers: Vec<String> = t.columns.iter().map(|c| c.header()).collect();
        d.set_item("headers", headers)?;
        let rows = PyList::empty(py);
        for r in &t.rows {
            let row = PyList::empty(py);
            for c in r {
                match c {
                    Cell::Text(_) | Cell::Unit(_) => row.append(c.text())?,
                    Cell::Cases(n) => row.append(*n)?,
                    // Exact: the text the CSV file holds, as a Decimal (never a float).
                    Cell::Money(_) | Cell::Count(_) | Cell::Share(_) => {
                        row.append(decimal.call1((c.text(),))?)?
                    }
                }
            }
            rows.append(row)?;
        }
        d.set_item("rows", rows)?;
        tables.append(d)?;
    }
    let out = PyDict::new(py);
    out.set_item("tables", tables)?;
    out.set_item("series", &ran.series)?;
    let summary = report::tables::summary_json(&ran.prepared, &ran.outcome, &ran.files);
    out.set_item("summary", summary.to_string())?;
    out.set_item("headline", script::headline(&ran.prepared, &ran.outcome))?;
    out.set_item("files", &ran.files)?;
    out.set_item("warnings", &ran.prepared.warnings)?;
    Ok(out.into_any().unbind())
}
