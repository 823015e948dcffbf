//! A run month by month: the households' start, then every month their dynamics and each variant's
//! administration, merged in chunk order.

use super::*;

impl Sim {
    /// Runs replicate `run` (seeds derive from the scenario seed and `run`): its own bootstrap sample
    /// of the households and its own draws of the uncertain parameters. `progress` is called once
    /// per reported month.
    pub fn run(&self, run: u32, progress: &(dyn Fn() + Sync)) -> Result<RunResult, SimError> {
        self.run_with(run, self.take_up, false, progress)
    }

    /// Runs replicate `run` with the take-up `take_up` (before this run's draw); `central`: no
    /// bootstrap and every uncertain parameter at its central value (for fitting).
    ///
    /// The run goes through the phases of a run in household blocks (`crate::blocks`) with one
    /// block holding every household: [`Sim::begin`], [`Sim::measure`], the raking, [`Sim::reported`]
    /// and [`Sim::merge_blocks`]. A run split into blocks does the same, so its results are these.
    pub fn run_with(
        &self,
        run: u32,
        take_up: f64,
        central: bool,
        progress: &(dyn Fn() + Sync),
    ) -> Result<RunResult, SimError> {
        let mut block = self.begin(run, take_up, central, self.held())?;
        let raking = match self.measure(&mut block)? {
            None => None,
            Some(rows) => {
                let (weights, info) =
                    crate::calibrate::rake_households(self, run as u64, &rows).map_err(SimError)?;
                self.set_weights(&mut block, &weights)?;
                Some(info)
            }
        };
        let draws = block.draws.clone();
        let part = self.reported(block, progress)?;
        self.merge_blocks(&draws, raking, vec![part])
    }

    /// Every household's state at the start of a run: the roll as the data has it, the take-up draw,
    /// the run's weight (the design weight times a Poisson(1) bootstrap draw, when `bootstrap`).
    pub(super) fn initial_states(
        &self,
        setup: &StreamKey,
        dynamics: &Dynamics,
        take_up: f64,
        bootstrap: bool,
        households: std::ops::Range<usize>,
    ) -> Vec<State> {
        let s = &self.slots;
        let nv = self.variants.len();
        let pop = &self.population;
        households
            .into_par_iter()
            .with_min_len(256)
            .map(|i| {
                // `i` is the population index (the household's random streams); `k` its place in
                // the households held.
                let k = i - self.first;
                let mut packed = pop.packed(k).clone();
                let h = PackedMut {
                    packer: pop.packer(),
                    packed: &mut packed,
                };
                let credit = match h.household_field(s.credit) {
                    Value::Enum(e) => e,
                    _ => s.credit_good,
                };
                let on = h.household_field(s.on_dibao).as_bool();
                let actual = Actual::new(&h, i as u64, self.region_of[k], s, dynamics, setup);
                let file = on.then(|| {
                    Box::new(CaseFile {
                        status: Status::On,
                        history: None,
                        snapshot: Some(h.packed.clone()),
                        work: work(&h, &actual.persons, s),
                    })
                });
                let admin = Admin {
                    file,
                    pending: None,
                    credit,
                    credit_since: 0,
                    replay: Replay::None,
                    sums: self.compare_households.then(|| {
                        Box::new(Sums {
                            benefit: Num::ZERO,
                            income: Num::ZERO,
                            members0: 0,
                        })
                    }),
                };
                let take_up = if dynamics.household_able_to_work(&h, s) {
                    take_up * dynamics.take_up_able_factor
                } else {
                    take_up
                };
                let applicant = if self.dynamics.take_up.is_auto() {
                    on || (!self.initial_eligible.get(k).copied().unwrap_or(false)
                        && actual.take_up_draw < take_up)
                } else {
                    actual.take_up_draw < take_up
                };
                let design = self.design_weights.get(k).copied().unwrap_or(self.weight);
                let certain = self.certain.get(k).copied().unwrap_or(false);
                let weight = if bootstrap && !certain {
                    design * crate::calibrate::poisson1(actual.bootstrap_draw)
                } else {
                    design
                };
                State {
                    packed,
                    actual,
                    admin: vec![admin; nv].into_boxed_slice(),
                    applicant,
                    weight,
                    measured: None,
                }
            })
            .collect()
    }

    /// Simulates month `t` (counted from the start of the burn-in) for the households of `states`:
    /// returns, per variant, the cells, their sample counts and the programme totals, merged in chunk
    /// order and not finished ([`MonthPart`]). `measure`: simulate copies of the households and keep
    /// only the baseline's dibao payments per household (`State::measured`), for calibration; the
    /// states do not move.
    pub(super) fn month(
        &self,
        t: u32,
        states: &mut [State],
        rc: &RunCtx<'_>,
        last_epochs: &mut Vec<Vec<usize>>,
        measure: bool,
    ) -> Result<MonthPart, SimError> {
        let nv = self.variants.len();
        let month = self.start.plus(t as i32 - self.burn_in as i32);
        let epochs: Vec<Vec<usize>> = rc.policies.iter().map(|p| epoch(p, month)).collect();
        let epoch_changed: Vec<bool> = epochs
            .iter()
            .zip(last_epochs.iter())
            .map(|(a, b)| t == 0 || a != b)
            .collect();
        *last_epochs = epochs;
        let ctx = MonthCtx {
            t,
            month,
            epoch_changed: &epoch_changed,
            dyn_key: &rc.keys.0,
            admin_key: &rc.keys.1,
            contributions: rc.contributions,
            dynamics: rc.dynamics,
            rates: rc.rates,
            measure,
            policies: rc.policies,
        };
        let masters: Vec<Totals<'_>> = rc.policies.iter().map(|p| Totals::new(p, month)).collect();
        let parts: Vec<Result<Acc<'_>, SimError>> = states
            .par_chunks_mut(CHUNK)
            .map_init(
                || Work::new(rc.evals, month),
                |ws, chunk| {
                    let mut acc = Acc {
                        cells: (0..nv).map(|v| vec![Num::ZERO; self.cell_len(v)]).collect(),
                        samples: (0..nv).map(|v| vec![0; self.cell_len(v)]).collect(),
                        totals: masters.iter().map(|m| m.fork()).collect(),
                    };
                    if measure {
                        // On a copy: only what calibration measures is kept.
                        let mut copy = chunk.to_vec();
                        self.chunk(&mut copy, ws, &ctx, &mut acc)?;
                        for (st, c) in chunk.iter_mut().zip(copy) {
                            st.measured = c.measured;
                        }
                    } else {
                        self.chunk(chunk, ws, &ctx, &mut acc)?;
                    }
                    Ok(acc)
                },
            )
            .collect();
        let mut cells: Vec<Vec<Num>> = (0..nv).map(|v| vec![Num::ZERO; self.cell_len(v)]).collect();
        let mut samples: Vec<Vec<u64>> = (0..nv).map(|v| vec![0; self.cell_len(v)]).collect();
        let mut totals = masters;
        for p in parts {
            let p = p?;
            for (v, c) in p.cells.into_iter().enumerate() {
                for (i, x) in c.iter().enumerate() {
                    if !x.is_zero() {
                        add(&mut cells[v], i, x)?;
                    }
                }
            }
            for (v, n) in p.samples.into_iter().enumerate() {
                for (i, x) in n.into_iter().enumerate() {
                    samples[v][i] += x;
                }
            }
            for (v, tt) in p.totals.into_iter().enumerate() {
                totals[v].merge(tt).map_err(|e| self.render(v, &e))?;
            }
        }
        Ok(MonthPart {
            cells,
            samples,
            totals: totals.into_iter().map(Totals::into_partial).collect(),
        })
    }

    /// One month of a chunk of households: their dynamics, then each variant's administration and
    /// payments.
    fn chunk<'p>(
        &'p self,
        chunk: &mut [State],
        ws: &mut Work<'_>,
        ctx: &MonthCtx<'_>,
        acc: &mut Acc<'p>,
    ) -> Result<(), SimError> {
        let d = ctx.dynamics;
        let s = &self.slots;
        let packer = self.population.packer();
        ws.events.clear();
        ws.draws.clear();
        ws.unpacked.clear();
        for st in chunk.iter_mut() {
            let events = if ctx.t > 0 && st.weight > 0 {
                let mut hh = PackedMut {
                    packer,
                    packed: &mut st.packed,
                };
                st.actual.step(
                    &mut hh,
                    d,
                    ctx.rates,
                    s,
                    ctx.dyn_key,
                    ctx.t,
                    ctx.month.month as u32,
                )
            } else {
                Default::default()
            };
            ws.events.push(events);
            ws.unpacked.push(false);
            ws.draws.push(None);
        }
        (0..self.variants.len()).try_for_each(|v| self.variant_chunk(v, chunk, ws, ctx, acc))
    }
}

/// Which version of each parameter is in force in a month: when it changes, every household must be
/// evaluated again.
fn epoch(policy: &Policy, month: Month) -> Vec<usize> {
    let date = month.first_day();
    policy
        .program
        .params
        .iter()
        .map(|p| {
            p.versions
                .iter()
                .rposition(|v| v.from.is_none_or(|f| f <= date))
                .unwrap_or(usize::MAX)
        })
        .collect()
}
