//! `doudi._native`: the extension module under the Python package `doudi` (python/README.md).
//!
//! The Python layer (`pysrc/doudi/`) checks and converts arguments (pandas to Arrow, parameter
//! overrides to text, households to JSON) and shapes results (the explanation's dict, the
//! simulator's DataFrames); this module does the work with the GIL released, on the same library
//! calls as the CLI, and turns every failure into a `doudi.errors` exception with the CLI's text.

mod blocks;
mod errors;
mod evaluate;
mod explain;
mod simulate;
mod totals;

use doudi::interpreter::Policy as Loaded;
use doudi::{Engine, Month};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// mimalloc for the extension's own allocations (Python's are untouched): as the `doudi` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A loaded, checked policy with its parameter overrides (immutable: an override makes a new one).
#[pyclass(frozen, module = "doudi._native", name = "Policy")]
struct NativePolicy {
    engine: Arc<Engine>,
    /// The directory or file it was loaded from, as given.
    path: PathBuf,
    /// The overrides applied, in order (`name`, `value`), for pickling and `repr`.
    overrides: Vec<(String, String)>,
}

/// Parses a month `YYYY-MM` as the CLI does; a `PeriodError` otherwise.
fn month(py: Python<'_>, text: &str) -> PyResult<Month> {
    Month::parse(text).map_err(|message| {
        errors::from_doudi(
            py,
            doudi::Error::Period {
                text: text.to_string(),
                message,
            },
        )
    })
}

impl NativePolicy {
    /// The policy with `overrides` applied after its own (a new policy; this one is unchanged).
    fn overridden(&self, py: Python<'_>, overrides: &[(String, String)]) -> PyResult<NativePolicy> {
        let program = self.engine.policy().program.clone();
        let mut policy = py.detach(|| Loaded::new(program)).map_err(|_| {
            errors::raise(py, "DoudiError", "the policy cannot be copied", |_| Ok(()))
        })?;
        for (name, value) in overrides {
            policy.set_param(name, value).map_err(|e| {
                errors::raise(
                    py,
                    "ParameterError",
                    &format!("set {name}={value}: {e}"),
                    |_| Ok(()),
                )
            })?;
        }
        let mut all = self.overrides.clone();
        all.extend(overrides.iter().cloned());
        Ok(NativePolicy {
            engine: Arc::new(Engine::from_policy(policy)),
            path: self.path.clone(),
            overrides: all,
        })
    }
}

#[pymethods]
impl NativePolicy {
    /// Loads and checks a policy directory (or one `.doudi` file) as `doudi check` does.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<NativePolicy> {
        let engine = py
            .detach(|| Engine::load(&path))
            .map_err(|e| errors::from_doudi(py, e))?;
        Ok(NativePolicy {
            engine: Arc::new(engine),
            path,
            overrides: Vec::new(),
        })
    }

    /// A copy with parameter overrides applied (`name` or `name.key`, value as text).
    fn with_params(
        &self,
        py: Python<'_>,
        overrides: Vec<(String, String)>,
    ) -> PyResult<NativePolicy> {
        self.overridden(py, &overrides)
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    #[getter]
    fn overrides(&self) -> Vec<(String, String)> {
        self.overrides.clone()
    }

    /// The checker's warnings, rendered (empty when none).
    #[getter]
    fn warnings(&self) -> String {
        self.engine.warnings()
    }

    /// Every household definition, in declaration order (the default outputs of `evaluate`).
    #[getter]
    fn outputs(&self) -> Vec<String> {
        self.engine
            .output_names()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Explains a household output (or, with `member`, a person definition) for one household
    /// given as DATA.md's JSON text.
    #[pyo3(signature = (household, output, period, member=None))]
    fn explain(
        &self,
        py: Python<'_>,
        household: &str,
        output: &str,
        period: &str,
        member: Option<&str>,
    ) -> PyResult<explain::NativeExplanation> {
        let m = month(py, period)?;
        let engine = &self.engine;
        let r = py.detach(|| match member {
            None => engine.explain(household, m, output),
            Some(member) => engine.explain_member(household, m, output, member),
        });
        r.map(explain::NativeExplanation::new)
            .map_err(|e| errors::from_doudi(py, e))
    }

    /// Explains an output for the household `id` of Arrow tables of households and persons (read
    /// as `evaluate` reads them).
    #[pyo3(signature = (households, persons, id, output, period, member=None))]
    #[allow(clippy::too_many_arguments)]
    fn explain_in_tables(
        &self,
        py: Python<'_>,
        households: &Bound<'_, PyAny>,
        persons: &Bound<'_, PyAny>,
        id: &str,
        output: &str,
        period: &str,
        member: Option<&str>,
    ) -> PyResult<explain::NativeExplanation> {
        let m = month(py, period)?;
        let hs = evaluate::read(py, self.engine.policy(), households, persons)?;
        let Some(hh) = hs.iter().find(|h| h.id == id) else {
            let message = format!("no household `{id}` in the households table");
            return Err(errors::raise(py, "DataError", &message, |k| {
                k.set_item("file", "households")
            }));
        };
        let engine = &self.engine;
        let r = py.detach(|| match member {
            None => engine.explain(hh, m, output),
            Some(member) => engine.explain_member(hh, m, output, member),
        });
        r.map(explain::NativeExplanation::new)
            .map_err(|e| errors::from_doudi(py, e))
    }

    /// Evaluates household outputs for Arrow tables of households and persons; see
    /// `evaluate.rs`.
    #[pyo3(signature = (households, persons, period, outputs=None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        households: &Bound<'_, PyAny>,
        persons: &Bound<'_, PyAny>,
        period: &str,
        outputs: Option<Vec<String>>,
    ) -> PyResult<Py<PyAny>> {
        let m = month(py, period)?;
        evaluate::evaluate(py, self.engine.policy(), households, persons, m, outputs)
    }

    /// `evaluate`, and the partial programme totals of these households as bytes (for a
    /// distributed run's driver to merge with `merge_totals`); see `totals.rs`.
    #[pyo3(signature = (households, persons, period, outputs=None))]
    fn evaluate_partial(
        &self,
        py: Python<'_>,
        households: &Bound<'_, PyAny>,
        persons: &Bound<'_, PyAny>,
        period: &str,
        outputs: Option<Vec<String>>,
    ) -> PyResult<(Py<PyAny>, Py<pyo3::types::PyBytes>)> {
        let m = month(py, period)?;
        totals::evaluate_with_totals(py, self.engine.policy(), households, persons, m, outputs)
    }

    /// Partial totals merged in the order given, and the programme definitions evaluated on them:
    /// (`{name: value}`, households counted).
    fn merge_totals(
        &self,
        py: Python<'_>,
        partials: Vec<Vec<u8>>,
        period: &str,
    ) -> PyResult<(Py<pyo3::types::PyDict>, u64)> {
        let m = month(py, period)?;
        totals::merge_totals(py, self.engine.policy(), partials, m)
    }
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativePolicy>()?;
    m.add_class::<explain::NativeExplanation>()?;
    m.add_function(wrap_pyfunction!(simulate::simulate, m)?)?;
    m.add_class::<blocks::BlockWorker>()?;
    m.add_class::<blocks::BlockDriver>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
