//! Monte Carlo: `runs` replicates with different seeds, summarised cell by cell as the exact mean over
//! the runs, the median and the 5th–95th percentile band.
//!
//! The mean is what additive tables show: the mean of a sum is the sum of the means, exactly (the
//! arithmetic is exact), so regions add up to the city, urban and rural to the whole, the programmes
//! to the total, the months to the year and the reform-difference table is the reform table minus the
//! baseline table. Medians and percentiles do not add up; they describe the spread.
//!
//! Quantiles are exact: the values of a cell over the runs are sorted as exact numbers; the median is
//! the middle value (the mean of the two middle values for an even count); the 5th and 95th
//! percentiles use the nearest-rank method (the value of rank ⌈0.05·K⌉ and ⌈0.95·K⌉ of K), so with
//! fewer than 20 runs they are the smallest and largest value. Differences between the reform and the
//! baseline are taken run by run (same seeds, same random numbers), then summarised.
//!
//! The run results come weighted (each simulated household carries its own weight); they are not
//! scaled again here. `Outcome::weight` is the design weight, for display. Each cell also carries how
//! many simulated households added a non-zero value to it (`Cube::samples`, the mean over the runs),
//! so that a figure resting on few simulated cases can be flagged ([`FEW_CASES`]).

use crate::reform::{self, WinnersOutcome, WinnersRun};
use crate::run::{is_money, is_stock, programme_defs, Metric, RunResult, SimError};
use crate::setup::Prepared;
use doudi_interpreter::{Month, Num};

/// A cell resting on fewer simulated households than this (mean over the runs) is flagged in every
/// output: too few cases for the figure to be more than an order of magnitude.
pub const FEW_CASES: u64 = 30;

/// Exact mean, median and 5th–95th percentile band of one cell over the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// The exact mean over the runs: additive (what tables meant to add up show).
    pub mean: Num,
    pub median: Num,
    pub p5: Num,
    pub p95: Num,
}

impl Band {
    pub fn zero() -> Band {
        Band {
            mean: Num::ZERO,
            median: Num::ZERO,
            p5: Num::ZERO,
            p95: Num::ZERO,
        }
    }
    /// Zero in every run.
    pub fn is_zero(&self) -> bool {
        self.p5.is_zero() && self.p95.is_zero() && self.mean.is_zero()
    }
}

/// The exact mean of some values (zero for none).
pub fn mean_of(values: &[Num]) -> Num {
    if values.is_empty() {
        return Num::ZERO;
    }
    let mut s = Num::ZERO;
    for v in values {
        s = s.checked_add(v).unwrap_or(s);
    }
    s.checked_div(&Num::from_i64(values.len() as i64))
        .unwrap_or(Num::ZERO)
}

/// The band of a set of run values (see the module documentation).
pub fn band(values: &mut [Num]) -> Band {
    if values.is_empty() {
        return Band::zero();
    }
    let mean = mean_of(values);
    values.sort();
    let k = values.len();
    let median = if k % 2 == 1 {
        values[k / 2].clone()
    } else {
        let a = &values[k / 2 - 1];
        let b = &values[k / 2];
        a.checked_add(b)
            .ok()
            .and_then(|s| s.checked_div(&Num::from_i64(2)).ok())
            .unwrap_or_else(|| a.clone())
    };
    let rank = |p: usize| -> usize {
        // ⌈p/100 · k⌉, 1-based, at least 1.
        let r = (p * k).div_ceil(100);
        r.clamp(1, k) - 1
    };
    Band {
        mean,
        median,
        p5: values[rank(5)].clone(),
        p95: values[rank(95)].clone(),
    }
}

/// Bands for cells indexed `[period][region][area][metric]` (region 0 and area 0 are "all").
#[derive(Debug, Clone, PartialEq)]
pub struct Cube {
    pub periods: usize,
    pub regions: usize,
    pub areas: usize,
    pub metrics: usize,
    pub data: Vec<Band>,
    /// Same layout as `data`: how many simulated households added a non-zero value to the cell,
    /// the mean over the runs (rounded). Yearly: the mean of the months for stocks and spending, the
    /// sum for events. Reform − baseline: the smaller of the two variants' counts.
    pub samples: Vec<u64>,
}

impl Cube {
    pub fn index(&self, p: usize, r: usize, a: usize, m: usize) -> usize {
        ((p * self.regions + r) * self.areas + a) * self.metrics + m
    }
    pub fn get(&self, p: usize, r: usize, a: usize, m: usize) -> &Band {
        &self.data[self.index(p, r, a, m)]
    }
    /// Simulated households behind a cell (0 when unknown).
    pub fn cases(&self, p: usize, r: usize, a: usize, m: usize) -> u64 {
        self.samples
            .get(self.index(p, r, a, m))
            .copied()
            .unwrap_or(0)
    }
    /// Whether a cell rests on fewer than [`FEW_CASES`] simulated households (a cell that is zero in
    /// every run is not flagged).
    pub fn few(&self, p: usize, r: usize, a: usize, m: usize) -> bool {
        self.cases(p, r, a, m) < FEW_CASES && !self.get(p, r, a, m).is_zero()
    }
}

/// A numeric programme-level output of the policy over time.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgrammeSeries {
    pub name: String,
    pub label: String,
    pub money: bool,
    /// One band per month.
    pub monthly: Vec<Band>,
    /// One band per year: the mean of the year's months.
    pub yearly: Vec<Band>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantOutcome {
    pub name: String,
    pub label: String,
    /// Whether the breakdown by region and area is kept (else only "all").
    pub regions: bool,
    pub monthly: Cube,
    pub yearly: Cube,
    pub programme: Vec<ProgrammeSeries>,
}

/// One value of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    pub value: Num,
    /// Total spending over the horizon divided by its length in years.
    pub annual_cost: Band,
    /// Dibao spending per year (same convention).
    pub annual_dibao_cost: Band,
    /// Mean monthly caseload over the horizon.
    pub households: Band,
    pub persons: Band,
    /// Caseload in the last month.
    pub households_end: Band,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SweepOutcome {
    pub parameter: String,
    pub points: Vec<SweepPoint>,
}

/// Everything the reports show.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub months: Vec<Month>,
    /// Calendar years and how many simulated months each has.
    pub years: Vec<(i32, u32)>,
    /// Region codes with "all" first.
    pub regions: Vec<String>,
    /// Area names with "all" first.
    pub areas: Vec<String>,
    pub metrics: Vec<Metric>,
    pub variants: Vec<VariantOutcome>,
    /// Reform − baseline, run by run.
    pub diff: Option<VariantOutcome>,
    pub winners: Option<WinnersOutcome>,
    pub sweep: Option<SweepOutcome>,
    pub runs: u32,
    pub weight: u64,
    /// The calibration to administrative totals (empty when the scenario declares no target).
    pub calibration: crate::calibrate::Calibration,
}

/// Per run: the marginal cells of a variant.
type RunCells = Vec<Vec<Num>>;

/// Runs every replicate and summarises. `progress` is called once per simulated month of every run.
pub fn simulate(p: &Prepared, progress: &(dyn Fn() + Sync)) -> Result<Outcome, SimError> {
    let sim = &p.sim;
    let mut results: Vec<RunResult> = Vec::with_capacity(sim.runs as usize);
    let mut winners: Vec<WinnersRun> = Vec::new();
    for r in 0..sim.runs {
        let mut res = sim.run(r, progress)?;
        if let Some(h) = res.households.take() {
            winners.push(reform::winners_run(&h, sim.months).map_err(SimError)?);
        }
        results.push(res);
    }
    summarise(p, &results, winners)
}

/// Summarises run results (see [`simulate`]).
pub fn summarise(
    p: &Prepared,
    results: &[RunResult],
    winners: Vec<WinnersRun>,
) -> Result<Outcome, SimError> {
    let sim = &p.sim;
    let months: Vec<Month> = (0..sim.months).map(|t| sim.start.plus(t as i32)).collect();
    let mut years: Vec<(i32, u32)> = Vec::new();
    for m in &months {
        match years.last_mut() {
            Some((y, n)) if *y == m.year => *n += 1,
            _ => years.push((m.year, 1)),
        }
    }
    let mut regions = vec!["all".to_string()];
    regions.extend(sim.regions.iter().cloned());
    let mut areas = vec!["all".to_string()];
    areas.extend(sim.areas.iter().cloned());
    let nm = sim.metrics.len();

    // Per run and variant: marginal cells (already weighted), monthly and yearly, with their
    // simulated case counts.
    let shape = |v: usize| {
        if sim.variants[v].regions {
            (regions.len(), areas.len())
        } else {
            (1, 1)
        }
    };
    let cube = |per_run, samples, periods, nr, na| cube(per_run, samples, periods, (nr, na), nm);

    let mut variants = Vec::new();
    let mut per_variant_runs: Vec<(RunCells, RunCells)> = Vec::new();
    let mut per_variant_samples: Vec<(Vec<u64>, Vec<u64>)> = Vec::new();
    for (v, var) in sim.variants.iter().enumerate() {
        let (nr, na) = shape(v);
        let (mo, ye, smo, sye) = run_cells(sim, results, v, &years, (nr, na));
        let programme = programme_series(&var.policy, results, v, &years);
        variants.push(VariantOutcome {
            name: var.name.clone(),
            label: var.label.clone(),
            regions: var.regions,
            monthly: cube(mo.clone(), smo.clone(), months.len(), nr, na),
            yearly: cube(ye.clone(), sye.clone(), years.len(), nr, na),
            programme,
        });
        per_variant_runs.push((mo, ye));
        per_variant_samples.push((smo, sye));
    }
    // Reform − baseline, run by run.
    let diff = if sim.compare_households
        && per_variant_runs.len() == 2
        && sim.variants[0].regions
        && sim.variants[1].regions
    {
        let sub = |a: &[Vec<Num>], b: &[Vec<Num>]| -> Vec<Vec<Num>> {
            a.iter()
                .zip(b)
                .map(|(x, y)| {
                    x.iter()
                        .zip(y)
                        .map(|(p, q)| q.checked_sub(p).unwrap_or(Num::ZERO))
                        .collect()
                })
                .collect()
        };
        let (bm, by) = &per_variant_runs[0];
        let (rm, ry) = &per_variant_runs[1];
        let programme = programme_diff(sim, results, &variants[0].programme, months.len(), &years);
        Some(VariantOutcome {
            name: "reform - baseline".into(),
            label: "改革 − 基线".into(),
            regions: true,
            monthly: cube(
                sub(bm, rm),
                min_counts(&per_variant_samples[0].0, &per_variant_samples[1].0),
                months.len(),
                regions.len(),
                areas.len(),
            ),
            yearly: cube(
                sub(by, ry),
                min_counts(&per_variant_samples[0].1, &per_variant_samples[1].1),
                years.len(),
                regions.len(),
                areas.len(),
            ),
            programme,
        })
    } else {
        None
    };

    let winners = if winners.is_empty() {
        None
    } else {
        Some(reform::summarise_winners(winners))
    };

    let sweep = p
        .sweep
        .as_ref()
        .map(|(param, values)| sweep_outcome(sim, param, values, &per_variant_runs, months.len()));

    Ok(Outcome {
        months,
        years,
        regions,
        areas,
        metrics: sim.metrics.clone(),
        variants,
        diff,
        winners,
        sweep,
        runs: sim.runs,
        weight: sim.weight,
        calibration: crate::calibrate::rows(sim, results),
    })
}

/// Variant `v`'s marginal cells of each run, monthly and yearly, and their simulated case counts
/// (mean over the runs).
fn run_cells(
    sim: &crate::run::Sim,
    results: &[RunResult],
    v: usize,
    years: &[(i32, u32)],
    (nr, na): (usize, usize),
) -> (RunCells, RunCells, Vec<u64>, Vec<u64>) {
    let var = &sim.variants[v];
    let (months, nm) = (sim.months as usize, sim.metrics.len());
    let (mut mo, mut ye) = (Vec::new(), Vec::new());
    let (mut smo, mut sye): (Vec<u128>, Vec<u128>) = (Vec::new(), Vec::new());
    for run in results {
        let m = marginal(
            &run.variants[v].cells,
            var.regions,
            sim,
            months,
            (nr, na),
            nm,
            Num::ZERO,
            |a, x| a.checked_add(x).unwrap_or_else(|_| a.clone()),
        );
        let y = yearly_of(&m, years, nr * na, &sim.metrics);
        let sm = marginal(
            &run.variants[v].samples,
            var.regions,
            sim,
            months,
            (nr, na),
            nm,
            0u64,
            |a, x| a.saturating_add(*x),
        );
        let sy = yearly_samples(&sm, years, nr * na, &sim.metrics);
        add_counts(&mut smo, &sm);
        add_counts(&mut sye, &sy);
        mo.push(m);
        ye.push(y);
    }
    let k = results.len().max(1) as u128;
    let avg =
        |v: Vec<u128>| -> Vec<u64> { v.into_iter().map(|x| ((x + k / 2) / k) as u64).collect() };
    let (smo, sye) = (avg(smo), avg(sye));
    (mo, ye, smo, sye)
}

/// The bands over the runs of each cell (`per_run[run][cell]`), with the cells' case counts.
fn cube(
    per_run: Vec<Vec<Num>>,
    samples: Vec<u64>,
    periods: usize,
    (nr, na): (usize, usize),
    nm: usize,
) -> Cube {
    let len = per_run.first().map_or(0, |v| v.len());
    let mut data = Vec::with_capacity(len);
    let mut buf: Vec<Num> = Vec::with_capacity(per_run.len());
    for i in 0..len {
        buf.clear();
        buf.extend(per_run.iter().map(|r| r[i].clone()));
        data.push(band(&mut buf));
    }
    let mut samples = samples;
    samples.resize(len, 0);
    Cube {
        periods,
        regions: nr,
        areas: na,
        metrics: nm,
        data,
        samples,
    }
}

/// Reform − baseline of each programme output present in both policies (matched by name), run by run.
fn programme_diff(
    sim: &crate::run::Sim,
    results: &[RunResult],
    base_prog: &[ProgrammeSeries],
    nmonths: usize,
    years: &[(i32, u32)],
) -> Vec<ProgrammeSeries> {
    // Programme outputs matched by name.
    let mut programme = Vec::new();
    let rdefs = programme_defs(&sim.variants[1].policy);
    let bdefs = programme_defs(&sim.variants[0].policy);
    for (bi, (name, label, ty)) in bdefs.iter().enumerate() {
        let Some(ri) = rdefs.iter().position(|(n, _, _)| n == name) else {
            continue;
        };
        if base_prog.iter().all(|s| &s.name != name) {
            continue;
        }
        let per_run_month = |t: usize| -> Vec<Num> {
            results
                .iter()
                .filter_map(|r| {
                    let b = r.variants[0].programme.get(t)?.get(bi)?.clone()?;
                    let f = r.variants[1].programme.get(t)?.get(ri)?.clone()?;
                    f.checked_sub(&b).ok()
                })
                .collect()
        };
        let monthly: Vec<Band> = (0..nmonths).map(|t| band(&mut per_run_month(t))).collect();
        let mut yearly = Vec::new();
        let mut t0 = 0usize;
        for (_, n) in years {
            let mut vals: Vec<Num> = Vec::new();
            for res in results {
                let mut s = Num::ZERO;
                for t in t0..t0 + *n as usize {
                    let b = res.variants[0]
                        .programme
                        .get(t)
                        .and_then(|x| x.get(bi))
                        .cloned()
                        .flatten()
                        .unwrap_or(Num::ZERO);
                    let f = res.variants[1]
                        .programme
                        .get(t)
                        .and_then(|x| x.get(ri))
                        .cloned()
                        .flatten()
                        .unwrap_or(Num::ZERO);
                    s = s
                        .checked_add(&f.checked_sub(&b).unwrap_or(Num::ZERO))
                        .unwrap_or(s);
                }
                vals.push(
                    s.checked_div(&Num::from_i64(*n as i64))
                        .unwrap_or(Num::ZERO),
                );
            }
            yearly.push(band(&mut vals));
            t0 += *n as usize;
        }
        programme.push(ProgrammeSeries {
            name: name.clone(),
            label: label.clone(),
            money: ty.is_money(),
            monthly,
            yearly,
        });
    }
    programme
}

/// The sweep's points: annual costs and caseloads per value, from each variant's monthly cells.
fn sweep_outcome(
    sim: &crate::run::Sim,
    param: &str,
    values: &[Num],
    per_variant_runs: &[(RunCells, RunCells)],
    nmonths_usize: usize,
) -> SweepOutcome {
    let nm = sim.metrics.len();
    let total_spend = sim
        .metrics
        .iter()
        .position(|m| m.programme == "total" && m.measure == "spending")
        .unwrap_or(0);
    let dibao_spend = sim
        .metrics
        .iter()
        .position(|m| m.programme == "dibao" && m.measure == "spending")
        .unwrap_or(0);
    let hh = sim
        .metrics
        .iter()
        .position(|m| m.programme == "dibao" && m.measure == "households")
        .unwrap_or(0);
    let persons = sim
        .metrics
        .iter()
        .position(|m| m.programme == "dibao" && m.measure == "persons")
        .unwrap_or(0);
    let nmonths = nmonths_usize as i64;
    let points = values
        .iter()
        .enumerate()
        .map(|(v, value)| {
            let runs = &per_variant_runs[v].0;
            let sum_metric = |run: &Vec<Num>, m: usize| -> Num {
                let mut s = Num::ZERO;
                for t in 0..nmonths_usize {
                    s = s.checked_add(&run[t * nm + m]).unwrap_or(s);
                }
                s
            };
            let annual = |m: usize| -> Band {
                let mut vals: Vec<Num> = runs
                    .iter()
                    .map(|r| {
                        sum_metric(r, m)
                            .checked_mul_i64(12)
                            .and_then(|x| x.checked_div(&Num::from_i64(nmonths)))
                            .unwrap_or(Num::ZERO)
                    })
                    .collect();
                band(&mut vals)
            };
            let mean = |m: usize| -> Band {
                let mut vals: Vec<Num> = runs
                    .iter()
                    .map(|r| {
                        sum_metric(r, m)
                            .checked_div(&Num::from_i64(nmonths))
                            .unwrap_or(Num::ZERO)
                    })
                    .collect();
                band(&mut vals)
            };
            let mut end: Vec<Num> = runs
                .iter()
                .map(|r| r[(nmonths_usize - 1) * nm + hh].clone())
                .collect();
            SweepPoint {
                value: value.clone(),
                annual_cost: annual(total_spend),
                annual_dibao_cost: annual(dibao_spend),
                households: mean(hh),
                persons: mean(persons),
                households_end: band(&mut end),
            }
        })
        .collect();
    SweepOutcome {
        parameter: param.to_string(),
        points,
    }
}

/// Marginal cells `[month][region][area][metric]` (region 0 and area 0 are "all") of one run's cells
/// `[month][(region × areas + area) × metrics + metric]` (one region and area when not kept).
#[allow(clippy::too_many_arguments)]
fn marginal<T: Clone>(
    cells: &[Vec<T>],
    by_region: bool,
    sim: &crate::run::Sim,
    months: usize,
    (nr, na): (usize, usize),
    nm: usize,
    zero: T,
    add: impl Fn(&T, &T) -> T,
) -> Vec<T> {
    let mut out = vec![zero; months * nr * na * nm];
    let idx = |t: usize, r: usize, a: usize, m: usize| ((t * nr + r) * na + a) * nm + m;
    for (t, cells) in cells.iter().enumerate().take(months) {
        if by_region {
            let (dr, da) = (sim.regions.len().max(1), sim.areas.len().max(1));
            for r in 0..dr {
                for a in 0..da {
                    for m in 0..nm {
                        let Some(x) = cells.get((r * da + a) * nm + m) else {
                            continue;
                        };
                        for (rr, aa) in [(r + 1, a + 1), (0, a + 1), (r + 1, 0), (0, 0)] {
                            let i = idx(t, rr, aa, m);
                            out[i] = add(&out[i], x);
                        }
                    }
                }
            }
        } else {
            for m in 0..nm {
                if let Some(x) = cells.get(m) {
                    out[idx(t, 0, 0, m)] = x.clone();
                }
            }
        }
    }
    out
}

fn add_counts(acc: &mut Vec<u128>, x: &[u64]) {
    if acc.len() < x.len() {
        acc.resize(x.len(), 0);
    }
    for (a, b) in acc.iter_mut().zip(x) {
        *a += *b as u128;
    }
}

fn min_counts(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| *x.min(y)).collect()
}

/// Yearly case counts from monthly ones: the sum over the year's months for events (inflows,
/// applications, exits), the mean (rounded) for stocks and for spending: a year's spending paid to
/// the same 3 simulated households every month rests on 3 households, not on 36.
fn yearly_samples(
    monthly: &[u64],
    years: &[(i32, u32)],
    groups: usize,
    metrics: &[Metric],
) -> Vec<u64> {
    let nm = metrics.len();
    let mut out = vec![0u64; years.len() * groups * nm];
    let mut t0 = 0usize;
    for (yi, (_, n)) in years.iter().enumerate() {
        for g in 0..groups {
            for (m, metric) in metrics.iter().enumerate() {
                let s: u64 = (t0..t0 + *n as usize)
                    .map(|t| monthly.get((t * groups + g) * nm + m).copied().unwrap_or(0))
                    .sum();
                out[(yi * groups + g) * nm + m] =
                    if is_stock(metric.measure) || is_money(metric.measure) {
                        (s + *n as u64 / 2) / (*n as u64).max(1)
                    } else {
                        s
                    };
            }
        }
        t0 += *n as usize;
    }
    out
}

/// Yearly values from monthly ones: flows are summed over the year's months, stocks averaged.
fn yearly_of(monthly: &[Num], years: &[(i32, u32)], groups: usize, metrics: &[Metric]) -> Vec<Num> {
    let nm = metrics.len();
    let mut out = vec![Num::ZERO; years.len() * groups * nm];
    let mut t0 = 0usize;
    for (yi, (_, n)) in years.iter().enumerate() {
        for g in 0..groups {
            for (m, metric) in metrics.iter().enumerate() {
                let mut s = Num::ZERO;
                for t in t0..t0 + *n as usize {
                    s = s
                        .checked_add(&monthly[(t * groups + g) * nm + m])
                        .unwrap_or(s);
                }
                if is_stock(metric.measure) {
                    s = s.checked_div(&Num::from_i64(*n as i64)).unwrap_or(s);
                }
                out[(yi * groups + g) * nm + m] = s;
            }
        }
        t0 += *n as usize;
    }
    out
}

fn programme_series(
    policy: &doudi_interpreter::Policy,
    results: &[RunResult],
    v: usize,
    years: &[(i32, u32)],
) -> Vec<ProgrammeSeries> {
    let defs = programme_defs(policy);
    let months = results.first().map_or(0, |r| r.variants[v].programme.len());
    let mut out = Vec::new();
    for (i, (name, label, ty)) in defs.iter().enumerate() {
        let numeric = results.iter().all(|r| {
            r.variants[v]
                .programme
                .iter()
                .all(|m| m.get(i).is_some_and(|x| x.is_some()))
        });
        if !numeric || months == 0 {
            continue;
        }
        let val =
            |r: &RunResult, t: usize| r.variants[v].programme[t][i].clone().unwrap_or(Num::ZERO);
        let monthly: Vec<Band> = (0..months)
            .map(|t| band(&mut results.iter().map(|r| val(r, t)).collect::<Vec<_>>()))
            .collect();
        let mut yearly = Vec::new();
        let mut t0 = 0usize;
        for (_, n) in years {
            let mut vals: Vec<Num> = results
                .iter()
                .map(|r| {
                    let mut s = Num::ZERO;
                    for t in t0..(t0 + *n as usize).min(months) {
                        s = s.checked_add(&val(r, t)).unwrap_or(s);
                    }
                    s.checked_div(&Num::from_i64(*n as i64)).unwrap_or(s)
                })
                .collect();
            yearly.push(band(&mut vals));
            t0 += *n as usize;
        }
        out.push(ProgrammeSeries {
            name: name.clone(),
            label: label.clone(),
            money: ty.is_money(),
            monthly,
            yearly,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(i: i64) -> Num {
        Num::from_i64(i)
    }

    #[test]
    fn quantiles() {
        let b = band(&mut [n(3), n(1), n(2)]);
        assert_eq!((b.median, b.p5, b.p95), (n(2), n(1), n(3)));
        let b = band(&mut [n(4), n(1), n(2), n(3)]);
        assert_eq!(b.median, Num::parse("2.5").unwrap());
        // The mean is exact, also when it does not terminate as a decimal.
        let b = band(&mut [n(1), n(1), n(2)]);
        assert_eq!(b.mean.checked_mul_i64(3).unwrap(), n(4));
        assert_eq!(b.median, n(1));
        let mut v: Vec<Num> = (1..=100).map(n).collect();
        let b = band(&mut v);
        assert_eq!((b.p5, b.p95), (n(5), n(95)));
        let mut v: Vec<Num> = (1..=20).map(n).collect();
        let b = band(&mut v);
        assert_eq!((b.p5, b.p95), (n(1), n(19)));
    }
}
