//! A scenario in household blocks across processes (`doudi.distributed.simulate` on Ray): the
//! simulator's block workers and driver (`doudi_simulator::blocks`, docs/SIMULATOR.md "Running in
//! household blocks"), their messages crossing as JSON text. Each worker builds only its block's
//! households (from the driver's set-up message) and the driver none; the report equals
//! `doudi.simulate`'s byte for byte.

use crate::errors;
use crate::simulate::{read_scenario, to_python, Ran};
use doudi::simulator::blocks::{
    BlockMonths, BlockSetup, Census, Driver, Measured, RunSpec, Settle, Weights, Worker,
};
use doudi::simulator::report;
use doudi::simulator::run::RunResult;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn sim_error(py: Python<'_>, m: String) -> PyErr {
    errors::raise(py, "EvalError", &m, |_| Ok(()))
}

fn to_json<T: serde::Serialize>(py: Python<'_>, m: &T) -> PyResult<String> {
    serde_json::to_string(m)
        .map_err(|e| sim_error(py, format!("a message does not serialise: {e}")))
}

fn of_json<T: serde::de::DeserializeOwned>(py: Python<'_>, text: &str) -> PyResult<T> {
    serde_json::from_str(text)
        .map_err(|e| sim_error(py, format!("a block message does not read: {e}")))
}

/// One block of a scenario, between the phases of each run.
#[pyclass(module = "doudi._native", name = "SimBlockWorker")]
pub(crate) struct BlockWorker {
    worker: Mutex<Worker>,
}

#[pymethods]
impl BlockWorker {
    /// Builds the households of the block that `setup` names (JSON from the driver's
    /// `block_setup`) for `scenario` (a path or a dict), and only those.
    #[new]
    fn new(py: Python<'_>, scenario: &Bound<'_, PyAny>, setup: &str) -> PyResult<Self> {
        let s = read_scenario(py, scenario)?;
        let setup: BlockSetup = of_json(py, setup)?;
        let worker = py
            .detach(|| Worker::open(s, &setup))
            .map_err(|m| errors::scenario(py, &m))?;
        Ok(BlockWorker {
            worker: Mutex::new(worker),
        })
    }

    /// What the block's households add to what set-up takes from the whole population (JSON, for
    /// the driver's `census`).
    fn census(&self, py: Python<'_>) -> PyResult<String> {
        to_json(py, lock(&self.worker).census())
    }

    /// Completes the set-up with the driver's answer to the census (JSON).
    fn settle(&self, py: Python<'_>, settle: &str) -> PyResult<()> {
        let settle: Settle = of_json(py, settle)?;
        lock(&self.worker)
            .settle(&settle)
            .map_err(|e| errors::scenario(py, &e))
    }

    /// The households the worker holds in memory (its block's).
    #[getter]
    fn households(&self) -> usize {
        lock(&self.worker).households()
    }

    /// Phase 1 of a run (`spec`: JSON from the driver's `spec` or `fit`): the block's start,
    /// burn-in and measured month (JSON).
    fn measure(&self, py: Python<'_>, spec: &str) -> PyResult<String> {
        let spec: RunSpec = of_json(py, spec)?;
        let m = py.detach(|| lock(&self.worker).measure(&spec));
        to_json(py, &m.map_err(|e| sim_error(py, e))?)
    }

    /// Phase 3: the reported months with the block's raked weights (JSON, or None when the
    /// scenario does not rake) → the block's months (JSON).
    #[pyo3(signature = (weights=None))]
    fn months(&self, py: Python<'_>, weights: Option<&str>) -> PyResult<String> {
        let weights: Option<Weights> = weights.map(|w| of_json(py, w)).transpose()?;
        let m = py.detach(|| lock(&self.worker).months(weights.as_ref(), &|| {}));
        to_json(py, &m.map_err(|e| sim_error(py, e))?)
    }
}

/// The driver of a scenario in blocks: fits the take-up through the workers, rakes and merges
/// the blocks' messages, then reports.
#[pyclass(module = "doudi._native", name = "SimBlockDriver")]
pub(crate) struct BlockDriver {
    driver: Mutex<Option<Driver>>,
}

#[pymethods]
impl BlockDriver {
    #[new]
    fn new(py: Python<'_>, scenario: &Bound<'_, PyAny>, blocks: usize) -> PyResult<Self> {
        let s = read_scenario(py, scenario)?;
        let driver = py
            .detach(|| Driver::open(s, blocks))
            .map_err(|m| errors::scenario(py, &m))?;
        Ok(BlockDriver {
            driver: Mutex::new(Some(driver)),
        })
    }

    /// The scenario's Monte Carlo runs.
    #[getter]
    fn runs(&self) -> u32 {
        lock(&self.driver).as_ref().map_or(0, |d| d.runs())
    }

    /// The set-up message (JSON) of block `block`, for its worker.
    fn block_setup(&self, py: Python<'_>, block: usize) -> PyResult<String> {
        let setup = self.with_driver(|d| d.block_setup(block));
        to_json(py, &setup.map_err(|e| sim_error(py, e))?)
    }

    /// Every worker's `census` (JSON, any order) → the answer (JSON) for every worker's `settle`.
    fn census(&self, py: Python<'_>, census: Vec<String>) -> PyResult<String> {
        let census = census
            .iter()
            .map(|c| of_json::<Census>(py, c))
            .collect::<PyResult<Vec<_>>>()?;
        let settle = py.detach(|| self.with_driver(|d| d.census(census)));
        to_json(py, &settle.map_err(|e| errors::scenario(py, &e))?)
    }

    /// The blocks' household ranges (population indices), in block order.
    #[getter]
    fn plan(&self) -> Vec<(usize, usize)> {
        lock(&self.driver)
            .as_ref()
            .map(|d| d.plan().blocks.clone())
            .unwrap_or_default()
    }

    /// Fits the take-up as `doudi simulate` does (when the scenario asks for it), each trial run
    /// simulated by the workers: `measure(spec)` returns every block's `measure` of a spec,
    /// `months(weights)` every block's `months` given the blocks' weights (a list, empty when the
    /// scenario does not rake). Call once, before the runs, even when nothing is fitted.
    fn fit(
        &self,
        py: Python<'_>,
        measure: Bound<'_, PyAny>,
        months: Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let mut guard = lock(&self.driver);
        let driver = guard
            .as_mut()
            .ok_or_else(|| sim_error(py, "the driver has already finished".into()))?;
        let mut trial = |d: &Driver, spec: &RunSpec| -> Result<RunResult, String> {
            let fail = |e: PyErr| format!("a trial run of the take-up fit failed: {e}");
            let spec = serde_json::to_string(spec).map_err(|e| e.to_string())?;
            let measured: Vec<String> = measure
                .call1((spec,))
                .and_then(|r| r.extract())
                .map_err(fail)?;
            let measured = measured
                .iter()
                .map(|m| serde_json::from_str::<Measured>(m).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, String>>()?;
            let (weights, raking) = d.rake_of(measured)?;
            let weights = weights
                .iter()
                .map(|w| serde_json::to_string(w).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, String>>()?;
            let parts: Vec<String> = months
                .call1((weights,))
                .and_then(|r| r.extract())
                .map_err(fail)?;
            let parts = parts
                .iter()
                .map(|m| serde_json::from_str::<BlockMonths>(m).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, String>>()?;
            d.result_of(raking.and_then(|(_, r)| r), parts)
        };
        driver
            .fit(&mut trial)
            .map(|_| ())
            .map_err(|e| sim_error(py, e))
    }

    /// The spec of run `run` of the forecast (JSON), after `fit`.
    fn spec(&self, py: Python<'_>, run: u32) -> PyResult<String> {
        let spec = self.with_driver(|d| d.spec(run));
        to_json(py, &spec.map_err(|e| sim_error(py, e))?)
    }

    /// Phase 2: every block's `measure` (JSON, any order) → each block's weights (JSON, in block
    /// order; empty when the scenario does not rake).
    fn rake(&self, py: Python<'_>, measured: Vec<String>) -> PyResult<Vec<String>> {
        let measured = measured
            .iter()
            .map(|m| of_json::<Measured>(py, m))
            .collect::<PyResult<Vec<_>>>()?;
        let weights = py.detach(|| self.with_driver(|d| d.rake(measured)));
        let weights = weights.map_err(|e| sim_error(py, e))?;
        weights.iter().map(|w| to_json(py, w)).collect()
    }

    /// Phase 4: every block's `months` of one run (JSON, any order), merged in block order.
    fn merge(&self, py: Python<'_>, parts: Vec<String>) -> PyResult<()> {
        let parts = parts
            .iter()
            .map(|m| of_json::<BlockMonths>(py, m))
            .collect::<PyResult<Vec<_>>>()?;
        py.detach(|| self.with_driver(|d| d.merge(parts)))
            .map_err(|e| sim_error(py, e))
    }

    /// Every run merged: what `doudi.simulate` returns; with `out`, the report written there.
    #[pyo3(signature = (out=None))]
    fn finish(&self, py: Python<'_>, out: Option<PathBuf>) -> PyResult<Py<PyAny>> {
        if let Some(out) = &out {
            report::check_out(out).map_err(|e| errors::scenario(py, &e))?;
        }
        let driver = lock(&self.driver)
            .take()
            .ok_or_else(|| sim_error(py, "the driver has already finished".into()))?;
        let ran = py.detach(|| -> Result<Ran, String> {
            let (outcome, prepared) = driver.finish()?;
            Ran::new(Arc::new(prepared), outcome, out.as_deref())
        });
        to_python(py, &ran.map_err(|e| sim_error(py, e))?)
    }
}

impl BlockDriver {
    fn with_driver<T>(
        &self,
        f: impl FnOnce(&mut Driver) -> Result<T, String>,
    ) -> Result<T, String> {
        match lock(&self.driver).as_mut() {
            Some(d) => f(d),
            None => Err("the driver has already finished".into()),
        }
    }
}

/// The lock's value, even after a panic in another thread (the state is checked by the phases).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
