//! A run in phases, for a block of households: [`Sim::begin`] (the households' start and the
//! burn-in), [`Sim::measure`] (the first reported month measured for calibration), [`Sim::set_weights`]
//! (the raked weights), [`Sim::reported`] (the reported months) and [`Sim::merge_blocks`] (the blocks'
//! partial results, merged in block order into the run's result). [`Sim::run_with`] is these phases
//! with one block holding every household; `crate::blocks` runs them with several blocks, in other
//! processes, and carries what crosses between them as messages.
//!
//! Nothing a household does depends on another household of the run except through the raking (the
//! driver rakes the rows of every block, concatenated in household order) and the sums the phases
//! return, which are exact ([`Num`], `u64`) and merged in a fixed order.

use super::*;
use crate::calibrate::RunDraws;
use doudi_interpreter::programme::TotalsPartial;
use std::ops::Range;

/// A run of a block of households between its phases: the households' states, the run's draws and
/// what the months carry from one to the next.
pub struct BlockState {
    run: u32,
    /// The run's draws (take-up, rates, growth of the standards).
    pub draws: RunDraws,
    dynamics: Dynamics,
    /// Per variant: the run's policy when its standards grow (`crate::growth`), else `None`.
    grown: Vec<Option<Policy>>,
    states: Vec<State>,
    last_epochs: Vec<Vec<usize>>,
    contributions: Vec<Mutex<Contributions>>,
    households: Range<usize>,
}

impl BlockState {
    /// The households of the block (population indices).
    pub fn households(&self) -> Range<usize> {
        self.households.clone()
    }
}

/// One month of a block: per variant, the cells, their sample counts and the programme totals (not
/// finished: the programme definitions are evaluated on the totals of every block).
#[derive(Debug, Clone, PartialEq)]
pub struct MonthPart {
    pub cells: Vec<Vec<Num>>,
    pub samples: Vec<Vec<u64>>,
    pub totals: Vec<TotalsPartial>,
}

/// The reported months of a block, and its households' totals over the horizon (for winners and
/// losers, when kept).
#[derive(Debug, Clone)]
pub struct BlockResult {
    pub months: Vec<MonthPart>,
    pub households: Option<Vec<HouseholdTotals>>,
}

/// One household as calibration sees it in the measured month.
#[derive(Debug, Clone, PartialEq)]
pub struct RakeRow {
    /// Its index in the population (for its unbiased rounding).
    pub index: u64,
    pub weight: u64,
    /// In a take-all stratum: its weight stays as it is.
    pub certain: bool,
    pub area: u16,
    pub region: u16,
    /// Members alive.
    pub persons: u32,
    /// Dibao paid and persons, when on dibao in the measured month.
    pub dibao: Option<(Num, Num)>,
}

impl Sim {
    /// The population indices of the households held (`population`).
    pub fn held(&self) -> Range<usize> {
        self.first..self.first + self.population.len()
    }

    /// Starts run `run` for the households `households` (population indices; a block starting on a
    /// multiple of [`CHUNK`] is cut into the same chunks as the whole population): their states at
    /// the start and the burn-in months.
    pub fn begin(
        &self,
        run: u32,
        take_up: f64,
        central: bool,
        households: Range<usize>,
    ) -> Result<BlockState, SimError> {
        let held = self.held();
        if households.start > households.end
            || households.start < held.start
            || households.end > held.end
        {
            return Err(SimError(format!(
                "households {}..{} are not among the households held, {}..{}",
                households.start, households.end, held.start, held.end
            )));
        }
        let draws = crate::calibrate::RunDraws::draw(self, run, take_up, central);
        let dynamics = draws.dynamics(&self.dynamics, self.employed_share);
        let grown =
            crate::growth::run_policies(self, draws.standard_growth_per_year).map_err(SimError)?;
        let setup = StreamKey::new(self.seed, run as u64, Purpose::Setup);
        let bootstrap = self.uncertainty.bootstrap && !central && self.runs > 1;
        let states = self.initial_states(
            &setup,
            &dynamics,
            draws.take_up,
            bootstrap,
            households.clone(),
        );
        let nv = self.variants.len();
        let mut block = BlockState {
            run,
            draws,
            dynamics,
            grown,
            states,
            last_epochs: vec![Vec::new(); nv],
            contributions: (0..nv).map(|_| Mutex::default()).collect(),
            households,
        };
        self.months_of(&mut block, 0..self.burn_in, false, &mut |_| Ok(()))?;
        Ok(block)
    }

    /// Measures the first reported month for calibration on copies of the households (the states do
    /// not move): each household's row, or `None` when the scenario has no target to rake to.
    pub fn measure(&self, block: &mut BlockState) -> Result<Option<Vec<RakeRow>>, SimError> {
        if self.targets.is_empty() {
            return Ok(None);
        }
        for st in block.states.iter_mut() {
            st.measured = None;
        }
        let epochs = block.last_epochs.clone();
        let t = self.burn_in;
        self.months_of(block, t..t + 1, true, &mut |_| Ok(()))?;
        block.last_epochs = epochs;
        let packer = self.population.packer();
        let mut hh = empty_household();
        let rows = block
            .states
            .iter_mut()
            .map(|st| {
                packer.unpack_into(&st.packed, &mut hh);
                let persons = (0..hh.member_count())
                    .filter(|&m| hh.member_bool(m, self.slots.alive))
                    .count() as u32;
                let index = st.actual.index;
                RakeRow {
                    index,
                    weight: st.weight,
                    certain: self
                        .certain
                        .get(index as usize - self.first)
                        .copied()
                        .unwrap_or(false),
                    area: st.actual.area,
                    region: st.actual.region,
                    persons,
                    dibao: st.measured.take(),
                }
            })
            .collect();
        Ok(Some(rows))
    }

    /// Gives the block's households their raked weights (in household order).
    pub fn set_weights(&self, block: &mut BlockState, weights: &[u64]) -> Result<(), SimError> {
        if weights.len() != block.states.len() {
            return Err(SimError(format!(
                "{} raked weights for a block of {} households",
                weights.len(),
                block.states.len()
            )));
        }
        for (st, w) in block.states.iter_mut().zip(weights) {
            st.weight = *w;
        }
        Ok(())
    }

    /// Simulates the reported months of the block. `progress` is called once per month.
    pub fn reported(
        &self,
        mut block: BlockState,
        progress: &(dyn Fn() + Sync),
    ) -> Result<BlockResult, SimError> {
        let mut months = Vec::with_capacity(self.months as usize);
        let t = self.burn_in;
        self.months_of(&mut block, t..t + self.months, false, &mut |part| {
            months.push(part);
            progress();
            Ok(())
        })?;
        let households = (self.compare_households && self.variants.len() >= 2).then(|| {
            block
                .states
                .iter()
                .map(|st| {
                    let sum = |v: usize| st.admin[v].sums.as_deref();
                    HouseholdTotals {
                        income: sum(0).map_or(Num::ZERO, |x| x.income.clone()),
                        benefit: [
                            sum(0).map_or(Num::ZERO, |x| x.benefit.clone()),
                            sum(1).map_or(Num::ZERO, |x| x.benefit.clone()),
                        ],
                        members: sum(0).map_or(0, |x| x.members0),
                        weight: st.weight,
                    }
                })
                .collect()
        });
        Ok(BlockResult { months, households })
    }

    /// Months `ts` of the block, each month's part given to `sink`.
    fn months_of(
        &self,
        block: &mut BlockState,
        ts: Range<u32>,
        measure: bool,
        sink: &mut dyn FnMut(MonthPart) -> Result<(), SimError>,
    ) -> Result<(), SimError> {
        let BlockState {
            run,
            dynamics,
            grown,
            states,
            last_epochs,
            contributions,
            ..
        } = block;
        let run = *run as u64;
        let rates = Rates::new(dynamics);
        let keys = (
            StreamKey::new(self.seed, run, Purpose::Dynamics),
            StreamKey::new(self.seed, run, Purpose::Admin),
        );
        let policies = self.run_policies(grown);
        let evals: Vec<Evals<'_>> = self
            .variants
            .iter()
            .enumerate()
            .map(|(v, var)| {
                Evals::new(
                    policies[v],
                    &var.ids,
                    v == 0 && self.compare_households,
                    self.compiled,
                )
            })
            .collect();
        let rc = RunCtx {
            dynamics,
            rates: &rates,
            keys: &keys,
            evals: &evals,
            policies: &policies,
            contributions,
        };
        for t in ts {
            sink(self.month(t, states, &rc, last_epochs, measure)?)?;
        }
        Ok(())
    }

    /// Per variant: the run's policy (the variant's, or its copy with grown standards).
    fn run_policies<'a>(&'a self, grown: &'a [Option<Policy>]) -> Vec<&'a Policy> {
        self.variants
            .iter()
            .zip(grown)
            .map(|(var, g)| g.as_ref().unwrap_or(&var.policy))
            .collect()
    }

    /// Merges the blocks' results of a run (in block order: the blocks in household order) into the
    /// run's result: cells and sample counts added exactly, the programme totals merged and their
    /// definitions evaluated on the run's policies, the households' totals concatenated.
    pub fn merge_blocks(
        &self,
        draws: &RunDraws,
        raking: Option<crate::calibrate::Raking>,
        blocks: Vec<BlockResult>,
    ) -> Result<RunResult, SimError> {
        let nv = self.variants.len();
        let grown =
            crate::growth::run_policies(self, draws.standard_growth_per_year).map_err(SimError)?;
        let policies = self.run_policies(&grown);
        let mut out: Vec<VariantRun> = (0..nv)
            .map(|_| VariantRun {
                cells: Vec::new(),
                programme: Vec::new(),
                samples: Vec::new(),
            })
            .collect();
        let mut months: Vec<std::vec::IntoIter<MonthPart>> = Vec::with_capacity(blocks.len());
        let mut households: Option<Vec<HouseholdTotals>> = None;
        for b in blocks {
            if b.months.len() != self.months as usize {
                return Err(SimError(format!(
                    "a block's result has {} months, the run {}",
                    b.months.len(),
                    self.months
                )));
            }
            months.push(b.months.into_iter());
            if let Some(h) = b.households {
                households.get_or_insert_with(Vec::new).extend(h);
            }
        }
        for t in 0..self.months {
            let month = self.start.plus(t as i32);
            let mut cells: Vec<Vec<Num>> =
                (0..nv).map(|v| vec![Num::ZERO; self.cell_len(v)]).collect();
            let mut samples: Vec<Vec<u64>> = (0..nv).map(|v| vec![0; self.cell_len(v)]).collect();
            let mut totals: Vec<Totals<'_>> =
                policies.iter().map(|p| Totals::new(p, month)).collect();
            for part in months.iter_mut().filter_map(Iterator::next) {
                self.merge_part(part, &mut cells, &mut samples, &mut totals)?;
            }
            for (v, tt) in totals.into_iter().enumerate() {
                let values = if tt.is_empty() {
                    Vec::new()
                } else {
                    tt.finish().map_err(|e| self.render(v, &e))?
                };
                out[v]
                    .programme
                    .push(values.into_iter().map(|(_, val)| val.to_num()).collect());
            }
            for (v, (c, n)) in cells.into_iter().zip(samples).enumerate() {
                out[v].cells.push(c);
                out[v].samples.push(n);
            }
        }
        Ok(RunResult {
            variants: out,
            households,
            raking,
            draws: draws.clone(),
        })
    }

    /// Adds one block's month into the run's month.
    fn merge_part(
        &self,
        part: MonthPart,
        cells: &mut [Vec<Num>],
        samples: &mut [Vec<u64>],
        totals: &mut [Totals<'_>],
    ) -> Result<(), SimError> {
        let shape_ok = part.cells.len() == cells.len()
            && part.samples.len() == samples.len()
            && part.totals.len() == totals.len()
            && part
                .cells
                .iter()
                .zip(cells.iter())
                .all(|(a, b)| a.len() == b.len())
            && part
                .samples
                .iter()
                .zip(samples.iter())
                .all(|(a, b)| a.len() == b.len());
        if !shape_ok {
            return Err(SimError(
                "a block's month does not have the run's variants and cells".into(),
            ));
        }
        for (v, c) in part.cells.into_iter().enumerate() {
            for (i, x) in c.iter().enumerate() {
                if !x.is_zero() {
                    add(&mut cells[v], i, x)?;
                }
            }
        }
        for (v, n) in part.samples.into_iter().enumerate() {
            for (i, x) in n.into_iter().enumerate() {
                samples[v][i] = samples[v][i].saturating_add(x);
            }
        }
        for (v, tt) in part.totals.into_iter().enumerate() {
            totals[v]
                .merge_partial(tt)
                .map_err(|e| self.render(v, &e))?;
        }
        Ok(())
    }
}
