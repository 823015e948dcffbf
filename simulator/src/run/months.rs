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
    pub fn run_with(
        &self,
        run: u32,
        take_up: f64,
        central: bool,
        progress: &(dyn Fn() + Sync),
    ) -> Result<RunResult, SimError> {
        let draws = crate::calibrate::RunDraws::draw(self, run, take_up, central);
        let dynamics = draws.dynamics(&self.dynamics, self.employed_share);
        let rates = Rates::new(&dynamics);
        let setup = StreamKey::new(self.seed, run as u64, Purpose::Setup);
        let keys = (
            StreamKey::new(self.seed, run as u64, Purpose::Dynamics),
            StreamKey::new(self.seed, run as u64, Purpose::Admin),
        );
        let nv = self.variants.len();
        let grown =
            crate::growth::run_policies(self, draws.standard_growth_per_year).map_err(SimError)?;
        let policies: Vec<&Policy> = self
            .variants
            .iter()
            .zip(&grown)
            .map(|(var, g)| g.as_ref().unwrap_or(&var.policy))
            .collect();
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
        let bootstrap = self.uncertainty.bootstrap && !central && self.runs > 1;
        let mut states = self.initial_states(&setup, &dynamics, draws.take_up, bootstrap);
        let run_ctx = RunCtx {
            dynamics: &dynamics,
            rates: &rates,
            keys: &keys,
            evals: &evals,
            policies: &policies,
            contributions: (0..nv).map(|_| Mutex::default()).collect(),
        };
        let mut last_epochs: Vec<Vec<usize>> = vec![Vec::new(); nv];
        for t in 0..self.burn_in {
            self.month(t, &mut states, &run_ctx, &mut last_epochs, false)?;
        }
        let raking = if self.targets.is_empty() {
            None
        } else {
            // Measure the first reported month on copies of the households (a chunk at a time), rake,
            // then simulate it from the unchanged states with the calibrated weights (the same random
            // numbers: the same events).
            let mut epochs = last_epochs.clone();
            for st in states.iter_mut() {
                st.measured = None;
            }
            self.month(self.burn_in, &mut states, &run_ctx, &mut epochs, true)?;
            let probes: Vec<crate::calibrate::Probe<'_>> = states
                .iter()
                .map(|st| crate::calibrate::Probe {
                    index: st.actual.index,
                    run: run as u64,
                    weight: st.weight,
                    certain: self
                        .certain
                        .get(st.actual.index as usize)
                        .copied()
                        .unwrap_or(false),
                    area: st.actual.area,
                    region: st.actual.region,
                    packed: &st.packed,
                    dibao: st.measured.clone(),
                })
                .collect();
            let (weights, info) =
                crate::calibrate::rake_households(self, &probes).map_err(SimError)?;
            drop(probes);
            for (st, w) in states.iter_mut().zip(weights) {
                st.weight = w;
            }
            Some(info)
        };
        let mut out: Vec<VariantRun> = (0..nv)
            .map(|_| VariantRun {
                cells: Vec::new(),
                programme: Vec::new(),
                samples: Vec::new(),
            })
            .collect();
        for t in self.burn_in..self.burn_in + self.months {
            let (cells, samples, programme) =
                self.month(t, &mut states, &run_ctx, &mut last_epochs, false)?;
            for (v, ((c, n), p)) in cells.into_iter().zip(samples).zip(programme).enumerate() {
                out[v].cells.push(c);
                out[v].samples.push(n);
                out[v].programme.push(p);
            }
            progress();
        }
        let households = if self.compare_households && nv >= 2 {
            Some(
                states
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
                    .collect(),
            )
        } else {
            None
        };
        Ok(RunResult {
            variants: out,
            households,
            raking,
            draws,
        })
    }

    /// Every household's state at the start of a run: the roll as the data has it, the take-up draw,
    /// the run's weight (the design weight times a Poisson(1) bootstrap draw, when `bootstrap`).
    fn initial_states(
        &self,
        setup: &StreamKey,
        dynamics: &Dynamics,
        take_up: f64,
        bootstrap: bool,
    ) -> Vec<State> {
        let s = &self.slots;
        let nv = self.variants.len();
        let pop = &self.population;
        (0..pop.len())
            .into_par_iter()
            .with_min_len(256)
            .map(|i| {
                let mut packed = pop.packed(i).clone();
                let h = PackedMut {
                    packer: pop.packer(),
                    packed: &mut packed,
                };
                let credit = match h.household_field(s.credit) {
                    Value::Enum(e) => e,
                    _ => s.credit_good,
                };
                let on = h.household_field(s.on_dibao).as_bool();
                let actual = Actual::new(&h, i as u64, self.region_of[i], s, dynamics, setup);
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
                    on || (!self.initial_eligible.get(i).copied().unwrap_or(false)
                        && actual.take_up_draw < take_up)
                } else {
                    actual.take_up_draw < take_up
                };
                let design = self.design_weights.get(i).copied().unwrap_or(self.weight);
                let certain = self.certain.get(i).copied().unwrap_or(false);
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

    /// Simulates month `t` (counted from the start of the burn-in) for every household: returns, per
    /// variant, the cells, their sample counts and the programme outputs. `measure`: simulate copies
    /// of the households and keep only the baseline's dibao payments per household
    /// (`State::measured`), for calibration; the states do not move.
    #[allow(clippy::type_complexity)]
    fn month(
        &self,
        t: u32,
        states: &mut [State],
        rc: &RunCtx<'_>,
        last_epochs: &mut Vec<Vec<usize>>,
        measure: bool,
    ) -> Result<(Vec<Vec<Num>>, Vec<Vec<u64>>, Vec<Vec<Option<Num>>>), SimError> {
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
            contributions: &rc.contributions,
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
        let mut programme = Vec::with_capacity(nv);
        for (v, tt) in totals.into_iter().enumerate() {
            let values = if tt.is_empty() {
                Vec::new()
            } else {
                tt.finish().map_err(|e| self.render(v, &e))?
            };
            programme.push(values.into_iter().map(|(_, val)| val.to_num()).collect());
        }
        Ok((cells, samples, programme))
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
