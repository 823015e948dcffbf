//! A scenario's runs in household blocks: workers (other processes, other machines: a distributed
//! engine such as Ray calls this API) each simulate the months of a block of households; a driver
//! rakes the weights of every block together and merges the blocks' sums. The reports are the
//! single-machine run's, byte for byte, with any number of blocks (docs/SIMULATOR.md, "Running in
//! household blocks").
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
//! Setting up (population, oversampling, design weights, the take-up fit) is deterministic: every
//! worker and the driver prepare the same scenario the same way ([`Worker::open`]), or share one
//! preparation in one process ([`Worker::new`]).

pub mod messages;

pub use messages::{BlockMonths, Measured, Weights};

use crate::montecarlo::{self, Outcome};
use crate::reform::{self, WinnersRun};
use crate::run::{BlockState, RunResult, CHUNK};
use crate::scenario::Scenario;
use crate::setup::Prepared;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

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

/// A worker: one block of a prepared scenario.
pub struct Worker {
    prepared: Arc<Prepared>,
    block: usize,
    range: (usize, usize),
    /// The run between its phases.
    pending: Option<(u32, BlockState)>,
}

impl Worker {
    /// Prepares the scenario (as `doudi simulate` does: the same population, weights and take-up
    /// in every process) and takes block `block` of `n_blocks`.
    pub fn open(scenario: Scenario, block: usize, n_blocks: usize) -> Result<Worker, String> {
        let prepared = crate::setup::prepare(scenario, None).map_err(|e| e.0)?;
        Worker::new(Arc::new(prepared), block, n_blocks)
    }

    /// Block `block` of `n_blocks` of a prepared scenario.
    pub fn new(prepared: Arc<Prepared>, block: usize, n_blocks: usize) -> Result<Worker, String> {
        let plan = plan(prepared.sim.population.len(), n_blocks)?;
        let Some(&range) = plan.blocks.get(block) else {
            return Err(format!("block {block} of {n_blocks} does not exist"));
        };
        Ok(Worker {
            prepared,
            block,
            range,
            pending: None,
        })
    }

    /// Phase 1 of run `run`: the block's start, burn-in and measured month.
    pub fn measure(&mut self, run: u32) -> Result<Measured, String> {
        let sim = &self.prepared.sim;
        if run >= sim.runs {
            return Err(format!("run {run} of a scenario of {} runs", sim.runs));
        }
        let mut state = sim
            .begin(run, sim.take_up, false, self.range.0..self.range.1)
            .map_err(|e| e.0)?;
        let rows = sim.measure(&mut state).map_err(|e| e.0)?;
        self.pending = Some((run, state));
        Ok(Measured {
            run,
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
        let Some((run, mut state)) = self.pending.take() else {
            return Err("no run measured: call measure first".into());
        };
        let sim = &self.prepared.sim;
        match weights {
            Some(w) if w.run != run || w.block != self.block => {
                return Err(format!(
                    "weights of run {} block {} given to run {run} block {}",
                    w.run, w.block, self.block
                ))
            }
            Some(w) => sim.set_weights(&mut state, &w.weights).map_err(|e| e.0)?,
            None if !sim.targets.is_empty() => {
                return Err("the scenario rakes its weights: the block's weights are needed".into())
            }
            None => {}
        }
        let result = sim.reported(state, progress).map_err(|e| e.0)?;
        Ok(BlockMonths::of(run, self.block, &result))
    }
}

/// The driver: rakes and merges the blocks' messages, run by run, and summarises.
pub struct Driver {
    prepared: Arc<Prepared>,
    plan: Plan,
    /// Per run: what raking did.
    raking: BTreeMap<u32, Option<crate::calibrate::Raking>>,
    results: BTreeMap<u32, (RunResult, Option<WinnersRun>)>,
}

impl Driver {
    /// The driver of a prepared scenario cut into `n_blocks` blocks.
    pub fn new(prepared: Arc<Prepared>, n_blocks: usize) -> Result<Driver, String> {
        let plan = plan(prepared.sim.population.len(), n_blocks)?;
        Ok(Driver {
            prepared,
            plan,
            raking: BTreeMap::new(),
            results: BTreeMap::new(),
        })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Phase 2 of a run: rakes the rows of every block (one message per block, in any order) →
    /// the weights of each block, in block order (empty when the scenario has no targets).
    pub fn rake(&mut self, measured: Vec<Measured>) -> Result<Vec<Weights>, String> {
        let measured = self.in_block_order(measured, |m| (m.run, m.block))?;
        let run = measured[0].run;
        let sim = &self.prepared.sim;
        if sim.targets.is_empty() {
            self.raking.insert(run, None);
            return Ok(Vec::new());
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
        self.raking.insert(run, Some(info));
        Ok(self
            .plan
            .blocks
            .iter()
            .enumerate()
            .map(|(block, &(start, end))| Weights {
                run,
                block,
                weights: weights[start..end].to_vec(),
            })
            .collect())
    }

    /// Merges the blocks' months of a run (one message per block, in any order) into the run's
    /// result.
    pub fn merge(&mut self, parts: Vec<BlockMonths>) -> Result<(), String> {
        let parts = self.in_block_order(parts, |p| (p.run, p.block))?;
        let run = parts[0].run;
        let Some(raking) = self.raking.remove(&run) else {
            return Err(format!("run {run} was not raked: call rake first"));
        };
        let sim = &self.prepared.sim;
        let blocks = parts
            .iter()
            .map(BlockMonths::result)
            .collect::<Result<Vec<_>, String>>()?;
        let draws = crate::calibrate::RunDraws::draw(sim, run, sim.take_up, false);
        let mut result = sim.merge_blocks(&draws, raking, blocks).map_err(|e| e.0)?;
        let winners = match result.households.take() {
            Some(h) => Some(reform::winners_run(&h, sim.months)?),
            None => None,
        };
        self.results.insert(run, (result, winners));
        Ok(())
    }

    /// Every run merged: the outcome `doudi simulate` reports.
    pub fn finish(self) -> Result<Outcome, String> {
        let runs = self.prepared.sim.runs;
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
        montecarlo::summarise(&self.prepared, &results, winners).map_err(|e| e.0)
    }

    /// The messages of one run and every block, sorted by block.
    fn in_block_order<T>(
        &self,
        mut messages: Vec<T>,
        key: impl Fn(&T) -> (u32, usize),
    ) -> Result<Vec<T>, String> {
        messages.sort_by_key(|m| key(m).1);
        let n = self.plan.blocks.len();
        let Some(run) = messages.first().map(|m| key(m).0) else {
            return Err("no block's message".into());
        };
        if run >= self.prepared.sim.runs {
            return Err(format!(
                "run {run} of a scenario of {} runs",
                self.prepared.sim.runs
            ));
        }
        let ok =
            messages.len() == n && messages.iter().enumerate().all(|(b, m)| key(m) == (run, b));
        if !ok {
            return Err(format!(
                "expected one message of run {run} from each of the {n} blocks"
            ));
        }
        Ok(messages)
    }
}

/// Runs a prepared scenario in `n_blocks` blocks in this process, one worker after another, every
/// message written as JSON and read back (nothing passes between worker and driver but the bytes):
/// what `doudi simulate --blocks N` does, and what a distributed driver does across processes.
pub fn simulate_in_blocks(
    prepared: Arc<Prepared>,
    n_blocks: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<Outcome, String> {
    let mut driver = Driver::new(prepared.clone(), n_blocks)?;
    let mut workers = (0..n_blocks)
        .map(|b| Worker::new(prepared.clone(), b, n_blocks))
        .collect::<Result<Vec<_>, _>>()?;
    let quiet = || {};
    for run in 0..prepared.sim.runs {
        let measured = workers
            .iter_mut()
            .map(|w| w.measure(run).and_then(|m| through_json(&m)))
            .collect::<Result<Vec<_>, _>>()?;
        let weights = driver.rake(measured)?;
        let mut parts = Vec::with_capacity(n_blocks);
        for (b, w) in workers.iter_mut().enumerate() {
            let weights = match weights.get(b) {
                Some(x) => Some(through_json(x)?),
                None => None,
            };
            // Progress once per month of the run (the first block's months).
            let progress: &(dyn Fn() + Sync) = if b == 0 { progress } else { &quiet };
            parts.push(through_json(&w.months(weights.as_ref(), progress)?)?);
        }
        driver.merge(parts)?;
    }
    driver.finish()
}

/// A message written as JSON and read back.
pub fn through_json<T: Serialize + serde::de::DeserializeOwned>(m: &T) -> Result<T, String> {
    let bytes = serde_json::to_vec(m).map_err(|e| format!("a message does not serialise: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("a message does not read back: {e}"))
}
