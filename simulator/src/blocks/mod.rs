//! A scenario's runs in household blocks: workers (other processes, other machines: a distributed
//! engine such as Ray calls this API) each simulate the months of a block of households; a driver
//! rakes the weights of every block together and merges the blocks' sums. The reports are the
//! single-machine run's, byte for byte, with any number of blocks (docs/SIMULATOR.md, "Running in
//! household blocks").
//!
//! First the set-up, in two messages each way: [`Driver::open`] finds what the plan needs without
//! keeping a household and sends each worker its [`BlockSetup`]; [`Worker::open`] builds only its
//! block's households and answers with its [`Census`] (sums over them); [`Driver::census`] adds
//! them and sends every worker the [`Settle`] ([`Worker::settle`]: the regions in code order, the
//! observed take-up, the employed share). `crate::setup::block` says what set-up takes from the
//! whole population and where each part comes from.
//!
//! Per run, three phases ([`messages`] are what crosses):
//! 1. [`Worker::measure`]: the block's households start, live through the burn-in and are measured in
//!    the first reported month → [`Measured`] (one row per household, when the scenario has targets).
//! 2. [`Driver::rake`]: the rows of every block, concatenated in household order, are raked as the
//!    single-machine run rakes them → one [`Weights`] per block.
//! 3. [`Worker::months`]: the reported months with the raked weights → [`BlockMonths`] (per month and
//!    variant: exact cells, simulated cases, unfinished programme totals; per household its totals when
//!    winners and losers are kept). [`Driver::merge`] merges them in block order; after every run,
//!    [`Driver::finish`] summarises as `doudi simulate` does.
//!
//! The single-machine run ([`crate::run::Sim::run_with`]) goes through the same phases with one block.
//! The take-up fit is the driver's, its trial runs going through the workers ([`Driver::fit`]).

pub mod messages;

pub use messages::{BlockMonths, BlockSetup, Census, Measured, RunSpec, Settle, Weights};

use crate::montecarlo::{self, Outcome};
use crate::reform::{self, WinnersRun};
use crate::run::{BlockState, RunResult, CHUNK};
use crate::scenario::Scenario;
use crate::setup::Prepared;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most blocks a population is cut into.
pub const MAX_BLOCKS: usize = 4096;

/// The household blocks of a population: `blocks[b]` is the range `start..end` of population indices
/// of block `b`, in household order, each starting on a multiple of [`CHUNK`] (the chunks of every
/// block are the chunks of the whole population). A block may be empty when there are fewer chunks
/// than blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub households: usize,
    pub blocks: Vec<(usize, usize)>,
}

/// Cuts `households` into `n_blocks` blocks of whole chunks, as even as chunks allow.
pub fn plan(households: usize, n_blocks: usize) -> Result<Plan, String> {
    if n_blocks == 0 || n_blocks > MAX_BLOCKS {
        return Err(format!(
            "the number of blocks must be between 1 and {MAX_BLOCKS}, not {n_blocks}"
        ));
    }
    let chunks = households.div_ceil(CHUNK);
    let at = |b: usize| (chunks * b / n_blocks * CHUNK).min(households);
    Ok(Plan {
        households,
        blocks: (0..n_blocks).map(|b| (at(b), at(b + 1))).collect(),
    })
}

/// A worker: one block of a scenario, built on its own (only the block's households).
pub struct Worker {
    block: usize,
    range: (usize, usize),
    stage: Stage,
    census: Census,
    /// The run between its phases.
    pending: Option<(RunSpec, BlockState)>,
}

/// A worker before and after the driver's census.
enum Stage {
    Built(Box<(Scenario, crate::setup::block::Built)>),
    Ready(Box<Prepared>),
    /// Settling failed.
    Broken,
}

impl Worker {
    /// Builds the households of the block the driver's set-up message names (generated from their
    /// own streams, or read from the scenario's files keeping only the block's), surveyed: what the
    /// worker tells the driver of them is [`Worker::census`]. The take-up is not fitted (the driver
    /// fits it, [`Driver::fit`], and every [`RunSpec`] carries the take-up in force).
    pub fn open(scenario: Scenario, setup: &BlockSetup) -> Result<Worker, String> {
        let (built, census) = crate::setup::block::block(&scenario, setup).map_err(|e| e.0)?;
        let range = setup.plan.blocks[setup.block];
        Ok(Worker {
            block: setup.block,
            range,
            stage: Stage::Built(Box::new((scenario, built))),
            census,
            pending: None,
        })
    }

    /// What the block's households add to what set-up takes from the whole population (for
    /// [`Driver::census`]).
    pub fn census(&self) -> &Census {
        &self.census
    }

    /// Completes the worker's set-up with what the driver's census found (the regions in code
    /// order, the observed take-up, the employed share): the worker is then ready for the runs.
    pub fn settle(&mut self, settle: &Settle) -> Result<(), String> {
        match std::mem::replace(&mut self.stage, Stage::Broken) {
            Stage::Built(b) => {
                let (scenario, built) = *b;
                let prepared = built.settle(scenario, settle).map_err(|e| e.0)?;
                self.stage = Stage::Ready(Box::new(prepared));
                Ok(())
            }
            Stage::Ready(p) => {
                self.stage = Stage::Ready(p);
                Err("the worker is settled already".into())
            }
            Stage::Broken => Err("the worker's set-up failed".into()),
        }
    }

    /// The households the worker holds (its block's), in memory as packed households.
    pub fn households(&self) -> usize {
        match &self.stage {
            Stage::Built(b) => b.1.held.population.len(),
            Stage::Ready(p) => p.sim.population.len(),
            Stage::Broken => 0,
        }
    }

    /// The worker's preparation (after [`Worker::settle`]).
    pub fn prepared(&self) -> Option<&Prepared> {
        match &self.stage {
            Stage::Ready(p) => Some(p),
            _ => None,
        }
    }

    fn sim(&self) -> Result<&crate::run::Sim, String> {
        self.prepared()
            .map(|p| &p.sim)
            .ok_or_else(|| "the worker is not settled: call settle with the driver's census".into())
    }

    /// Phase 1 of a run: the block's start, burn-in and measured month.
    pub fn measure(&mut self, spec: &RunSpec) -> Result<Measured, String> {
        let sim = self.sim()?;
        if spec.run >= sim.runs {
            return Err(format!(
                "run {} of a scenario of {} runs",
                spec.run, sim.runs
            ));
        }
        let mut state = sim
            .begin(
                spec.run,
                spec.take_up()?,
                spec.central,
                self.range.0..self.range.1,
            )
            .map_err(|e| e.0)?;
        let rows = sim.measure(&mut state).map_err(|e| e.0)?;
        self.pending = Some((spec.clone(), state));
        Ok(Measured {
            spec: spec.clone(),
            block: self.block,
            rows: rows.map(|r| r.iter().map(messages::RowMsg::of).collect()),
        })
    }

    /// Phase 3 of the run measured last: the reported months, with the block's raked weights (`None`
    /// when the scenario has no targets). `progress` is called once per month.
    pub fn months(
        &mut self,
        weights: Option<&Weights>,
        progress: &(dyn Fn() + Sync),
    ) -> Result<BlockMonths, String> {
        let Some((spec, mut state)) = self.pending.take() else {
            return Err("no run measured: call measure first".into());
        };
        let sim = self.sim()?;
        match weights {
            Some(w) if w.run != spec.run || w.block != self.block => {
                return Err(format!(
                    "weights of run {} block {} given to run {} block {}",
                    w.run, w.block, spec.run, self.block
                ))
            }
            Some(w) => sim.set_weights(&mut state, &w.weights).map_err(|e| e.0)?,
            None if !sim.targets.is_empty() => {
                return Err("the scenario rakes its weights: the block's weights are needed".into())
            }
            None => {}
        }
        let result = sim.reported(state, progress).map_err(|e| e.0)?;
        Ok(BlockMonths::of(spec, self.block, &result))
    }
}

/// The driver: sets the blocks up, fits the take-up, rakes and merges the blocks' messages, run by
/// run, and summarises. It holds no household.
pub struct Driver {
    scenario: Scenario,
    plan: Plan,
    /// Until the census: the policies and the population's size.
    setup: Option<crate::setup::block::DriverSetup>,
    /// After the census: the scenario prepared without households.
    prepared: Option<Prepared>,
    /// Whether the take-up is fitted (or needs no fit).
    fitted: bool,
    /// Per run: what raking did.
    raking: BTreeMap<u32, Option<crate::calibrate::Raking>>,
    results: BTreeMap<u32, (RunResult, Option<WinnersRun>)>,
}

impl Driver {
    /// The driver of a scenario cut into `n_blocks` blocks: the policies, and of the population
    /// only what the plan needs (its size; for a generated population the main sample's weight
    /// and the extra households of the oversampled strata), without keeping a household.
    pub fn open(scenario: Scenario, n_blocks: usize) -> Result<Driver, String> {
        let setup = crate::setup::block::driver(&scenario).map_err(|e| e.0)?;
        let plan = plan(setup.households, n_blocks)?;
        Ok(Driver {
            scenario,
            plan,
            setup: Some(setup),
            prepared: None,
            fitted: false,
            raking: BTreeMap::new(),
            results: BTreeMap::new(),
        })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The scenario's runs.
    pub fn runs(&self) -> u32 {
        self.scenario.scenario.runs
    }

    /// The set-up message of block `block` (for [`Worker::open`]).
    pub fn block_setup(&self, block: usize) -> Result<BlockSetup, String> {
        let Some(setup) = &self.setup else {
            return Err("the blocks are set up already".into());
        };
        if block >= self.plan.blocks.len() {
            return Err(format!(
                "block {block} of {} does not exist",
                self.plan.blocks.len()
            ));
        }
        Ok(setup.block_setup(&self.plan, block))
    }

    /// Every block's census (one per block, in any order) → the driver's preparation, and what
    /// every worker needs of it ([`Worker::settle`]).
    pub fn census(&mut self, census: Vec<Census>) -> Result<Settle, String> {
        let n = self.plan.blocks.len();
        let mut census = census;
        census.sort_by_key(|c| c.block);
        if census.len() != n || census.iter().enumerate().any(|(b, c)| c.block != b) {
            return Err(format!("expected one census from each of the {n} blocks"));
        }
        let Some(setup) = self.setup.take() else {
            return Err("the census is taken already".into());
        };
        let (prepared, settle) =
            crate::setup::block::census(self.scenario.clone(), setup, &self.plan, &census)
                .map_err(|e| e.0)?;
        self.prepared = Some(prepared);
        Ok(settle)
    }

    /// The scenario as the driver prepared it (after [`Driver::census`]; with the fitted take-up
    /// once [`Driver::fit`] ran): what `report::write` takes with the outcome.
    pub fn prepared(&self) -> Option<&Prepared> {
        self.prepared.as_ref()
    }

    fn ready(&self) -> Result<&Prepared, String> {
        self.prepared
            .as_ref()
            .ok_or_else(|| "the blocks are not set up: call census first".into())
    }

    /// Fits the take-up to the caseload trend target as `doudi simulate` does, with the trials' runs
    /// simulated in blocks: `run` runs one [`RunSpec`] through every worker ([`Driver::run_blocks`]
    /// does it in this process; a distributed driver sends it out) and returns its result from
    /// [`Driver::result_of`]. Called once, before the forecast's runs, whether or not the scenario
    /// fits its take-up (when it does not, no run is asked for).
    pub fn fit(
        &mut self,
        run: &mut dyn FnMut(&Driver, &RunSpec) -> Result<RunResult, String>,
    ) -> Result<crate::calibrate::Fit, String> {
        if self.fitted {
            return Err("the take-up is fitted already".into());
        }
        let prepared = self.ready()?;
        let sim = &prepared.sim;
        let fit = {
            let this = &*self;
            let mut trend_at = |sim: &crate::run::Sim, take_up: f64| -> Result<f64, String> {
                let trends = (0..crate::calibrate::fit_runs(sim))
                    .map(|r| {
                        let result = run(this, &RunSpec::new(r, take_up, true))?;
                        Ok(crate::calibrate::caseload_trend(sim, &result))
                    })
                    .collect::<Result<Vec<f64>, String>>()?;
                Ok(crate::calibrate::mean_trend(&trends))
            };
            crate::calibrate::fit_take_up_by(sim, &prepared.scenario, &mut trend_at)?
        };
        if let Some(p) = self.prepared.as_mut() {
            fit.apply(&mut p.sim);
        }
        self.fitted = true;
        Ok(fit)
    }

    /// The spec of run `run` of the forecast (after the fit).
    pub fn spec(&self, run: u32) -> Result<RunSpec, String> {
        if !self.fitted {
            return Err("the take-up is not fitted yet: call fit first".into());
        }
        Ok(RunSpec::new(run, self.ready()?.sim.take_up, false))
    }

    /// Phase 2 of a run: rakes the rows of every block (one message per block, in any order) →
    /// the weights of each block, in block order (empty when the scenario has no targets).
    pub fn rake(&mut self, measured: Vec<Measured>) -> Result<Vec<Weights>, String> {
        let (weights, raking) = self.rake_of(measured)?;
        if let Some((run, r)) = raking {
            self.raking.insert(run, r);
        }
        Ok(weights)
    }

    /// [`Driver::rake`] without keeping what raking did: returned with the run, for
    /// [`Driver::result_of`].
    #[allow(clippy::type_complexity)]
    pub fn rake_of(
        &self,
        measured: Vec<Measured>,
    ) -> Result<
        (
            Vec<Weights>,
            Option<(u32, Option<crate::calibrate::Raking>)>,
        ),
        String,
    > {
        let measured = self.in_block_order(measured, |m| (&m.spec, m.block))?;
        let run = measured[0].spec.run;
        let sim = &self.ready()?.sim;
        if sim.targets.is_empty() {
            return Ok((Vec::new(), Some((run, None))));
        }
        let mut rows = Vec::with_capacity(self.plan.households);
        for (m, &(start, end)) in measured.iter().zip(&self.plan.blocks) {
            let block_rows = m.rows.as_ref().ok_or("a block measured no rows")?;
            if block_rows.len() != end - start {
                return Err(format!(
                    "block {} measured {} households, not {}",
                    m.block,
                    block_rows.len(),
                    end - start
                ));
            }
            for r in block_rows {
                rows.push(r.row()?);
            }
        }
        let (weights, info) = crate::calibrate::rake_households(sim, run as u64, &rows)?;
        let weights = self
            .plan
            .blocks
            .iter()
            .enumerate()
            .map(|(block, &(start, end))| Weights {
                run,
                block,
                weights: weights[start..end].to_vec(),
            })
            .collect();
        Ok((weights, Some((run, Some(info)))))
    }

    /// Merges the blocks' months of a run of the forecast (one message per block, in any order).
    pub fn merge(&mut self, parts: Vec<BlockMonths>) -> Result<(), String> {
        let run = parts.first().map_or(0, |p| p.spec.run);
        let Some(raking) = self.raking.remove(&run) else {
            return Err(format!("run {run} was not raked: call rake first"));
        };
        let expected = self.spec(run)?;
        if parts.iter().any(|p| p.spec != expected) {
            return Err(format!("run {run}'s months are not the forecast's run"));
        }
        let mut result = self.result_of(raking, parts)?;
        let winners = match result.households.take() {
            Some(h) => Some(reform::winners_run(&h, self.ready()?.sim.months)?),
            None => None,
        };
        self.results.insert(run, (result, winners));
        Ok(())
    }

    /// The result of a run from what raking did and the blocks' months (one message per block, in
    /// any order): the blocks merged in block order.
    pub fn result_of(
        &self,
        raking: Option<crate::calibrate::Raking>,
        parts: Vec<BlockMonths>,
    ) -> Result<RunResult, String> {
        let parts = self.in_block_order(parts, |p| (&p.spec, p.block))?;
        let spec = &parts[0].spec;
        let sim = &self.ready()?.sim;
        let blocks = parts
            .iter()
            .map(BlockMonths::result)
            .collect::<Result<Vec<_>, String>>()?;
        let draws = crate::calibrate::RunDraws::draw(sim, spec.run, spec.take_up()?, spec.central);
        sim.merge_blocks(&draws, raking, blocks).map_err(|e| e.0)
    }

    /// Every run merged: the outcome `doudi simulate` reports, and the preparation to write it with.
    pub fn finish(self) -> Result<(Outcome, Prepared), String> {
        let Some(prepared) = self.prepared else {
            return Err("the blocks are not set up: call census first".into());
        };
        let runs = prepared.sim.runs;
        if self.results.len() != runs as usize {
            return Err(format!(
                "{} of the {runs} runs were merged",
                self.results.len()
            ));
        }
        let mut results = Vec::with_capacity(runs as usize);
        let mut winners = Vec::new();
        for (_, (r, w)) in self.results {
            results.push(r);
            winners.extend(w);
        }
        let outcome = montecarlo::summarise(&prepared, &results, winners).map_err(|e| e.0)?;
        Ok((outcome, prepared))
    }

    /// The messages of one run and every block, sorted by block.
    fn in_block_order<T>(
        &self,
        mut messages: Vec<T>,
        key: impl Fn(&T) -> (&RunSpec, usize),
    ) -> Result<Vec<T>, String> {
        messages.sort_by_key(|m| key(m).1);
        let n = self.plan.blocks.len();
        let Some(spec) = messages.first().map(|m| key(m).0.clone()) else {
            return Err("no block's message".into());
        };
        if spec.run >= self.runs() {
            return Err(format!(
                "run {} of a scenario of {} runs",
                spec.run,
                self.runs()
            ));
        }
        let ok = messages.len() == n
            && messages
                .iter()
                .enumerate()
                .all(|(b, m)| key(m) == (&spec, b));
        if !ok {
            return Err(format!(
                "expected one message of run {} from each of the {n} blocks",
                spec.run
            ));
        }
        Ok(messages)
    }

    /// Runs one run through workers of this process, every message through JSON: the worker's
    /// phases and the driver's raking (what a distributed driver does across processes).
    #[allow(clippy::type_complexity)]
    pub fn run_blocks(
        &self,
        workers: &mut [Worker],
        spec: &RunSpec,
        progress: &(dyn Fn() + Sync),
    ) -> Result<
        (
            Vec<Weights>,
            Option<crate::calibrate::Raking>,
            Vec<BlockMonths>,
        ),
        String,
    > {
        let measured = workers
            .iter_mut()
            .map(|w| {
                w.measure(&through_json(spec)?)
                    .and_then(|m| through_json(&m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (weights, raking) = self.rake_of(measured)?;
        let mut parts = Vec::with_capacity(workers.len());
        let quiet = || {};
        for (b, w) in workers.iter_mut().enumerate() {
            let weights = match weights.get(b) {
                Some(x) => Some(through_json(x)?),
                None => None,
            };
            // Progress once per month of the run (the first block's months).
            let progress: &(dyn Fn() + Sync) = if b == 0 { progress } else { &quiet };
            parts.push(through_json(&w.months(weights.as_ref(), progress)?)?);
        }
        Ok((weights, raking.and_then(|(_, r)| r), parts))
    }
}

/// Runs a scenario in `n_blocks` blocks in this process, one worker after another, every message
/// written as JSON and read back (nothing passes between worker and driver but the bytes): what
/// `doudi simulate --blocks N` does, and what a distributed driver does across processes. Each
/// worker builds only its block's households; the driver holds none. Returns the outcome and the
/// driver's preparation (for the report).
pub fn simulate_in_blocks(
    scenario: Scenario,
    n_blocks: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<(Outcome, Prepared), String> {
    let mut driver = Driver::open(scenario.clone(), n_blocks)?;
    let (mut workers, settle) = set_up(&mut driver, &scenario)?;
    for w in workers.iter_mut() {
        w.settle(&through_json(&settle)?)?;
    }
    driver.fit(&mut |d, spec| {
        let (_, raking, parts) = d.run_blocks(&mut workers, spec, &|| {})?;
        d.result_of(raking, parts)
    })?;
    for run in 0..driver.runs() {
        let spec = driver.spec(run)?;
        let (_, raking, parts) = driver.run_blocks(&mut workers, &spec, progress)?;
        driver.raking.insert(run, raking);
        driver.merge(parts)?;
    }
    drop(workers);
    driver.finish()
}

/// Opens a worker per block of the driver's plan in this process (one after another: each builds
/// its block) and takes their census through JSON: the workers, and the driver's answer for them
/// (not yet given to them).
pub fn set_up(driver: &mut Driver, scenario: &Scenario) -> Result<(Vec<Worker>, Settle), String> {
    let mut workers = Vec::with_capacity(driver.plan().blocks.len());
    let mut census = Vec::with_capacity(workers.capacity());
    for b in 0..driver.plan().blocks.len() {
        let w = Worker::open(scenario.clone(), &through_json(&driver.block_setup(b)?)?)?;
        census.push(through_json(w.census())?);
        workers.push(w);
    }
    let settle = driver.census(census)?;
    Ok((workers, settle))
}

/// A message written as JSON and read back.
pub fn through_json<T: Serialize + serde::de::DeserializeOwned>(m: &T) -> Result<T, String> {
    let bytes = serde_json::to_vec(m).map_err(|e| format!("a message does not serialise: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("a message does not read back: {e}"))
}
