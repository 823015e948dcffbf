//! Monte Carlo: `runs` replicates with different seeds, summarised cell by cell as the median and the
//! 5th–95th percentile band.
//!
//! Quantiles are exact: the values of a cell over the runs are sorted as exact numbers; the median is
//! the middle value (the mean of the two middle values for an even count); the 5th and 95th
//! percentiles use the nearest-rank method (the value of rank ⌈0.05·K⌉ and ⌈0.95·K⌉ of K), so with
//! fewer than 20 runs they are the smallest and largest value. Differences between the reform and the
//! baseline are taken run by run (same seeds, same random numbers), then summarised.
//!
//! Every count and amount is scaled by the population weight (each simulated household stands for
//! `weight` households); programme-level outputs are computed by the policy on weighted totals.

use crate::reform::{self, WinnersOutcome, WinnersRun};
use crate::run::{is_money, is_stock, programme_defs, Metric, RunResult, SimError};
use crate::setup::Prepared;
use doudi_interpreter::{Month, Num};

/// Median and 5th–95th percentile band of one cell over the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub median: Num,
    pub p5: Num,
    pub p95: Num,
}

impl Band {
    pub fn zero() -> Band {
        Band { median: Num::ZERO, p5: Num::ZERO, p95: Num::ZERO }
    }
}

/// The band of a set of run values (see the module documentation).
pub fn band(values: &mut [Num]) -> Band {
    if values.is_empty() {
        return Band::zero();
    }
    values.sort();
    let k = values.len();
    let median = if k % 2 == 1 {
        values[k / 2].clone()
    } else {
        let a = &values[k / 2 - 1];
        let b = &values[k / 2];
        a.checked_add(b).ok().and_then(|s| s.checked_div(&Num::from_i64(2)).ok()).unwrap_or_else(|| a.clone())
    };
    let rank = |p: usize| -> usize {
        // ⌈p/100 · k⌉, 1-based, at least 1.
        let r = (p * k).div_ceil(100);
        r.clamp(1, k) - 1
    };
    Band { median, p5: values[rank(5)].clone(), p95: values[rank(95)].clone() }
}

/// Bands for cells indexed `[period][region][area][metric]` (region 0 and area 0 are "all").
#[derive(Debug, Clone, PartialEq)]
pub struct Cube {
    pub periods: usize,
    pub regions: usize,
    pub areas: usize,
    pub metrics: usize,
    pub data: Vec<Band>,
}

impl Cube {
    pub fn index(&self, p: usize, r: usize, a: usize, m: usize) -> usize {
        ((p * self.regions + r) * self.areas + a) * self.metrics + m
    }
    pub fn get(&self, p: usize, r: usize, a: usize, m: usize) -> &Band {
        &self.data[self.index(p, r, a, m)]
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
}

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

fn w(n: &Num, weight: u64) -> Num {
    if weight == 1 {
        n.clone()
    } else {
        n.checked_mul_i64(weight as i64).unwrap_or_else(|_| n.clone())
    }
}

/// Summarises run results (see [`simulate`]).
pub fn summarise(p: &Prepared, results: &[RunResult], winners: Vec<WinnersRun>) -> Result<Outcome, SimError> {
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

    // Per run and variant: weighted marginal cells, monthly and yearly.
    let marginal = |v: usize, run: &RunResult| -> (Vec<Num>, Vec<Num>) {
        let var = &sim.variants[v];
        let (nr, na) = if var.regions { (regions.len(), areas.len()) } else { (1, 1) };
        let mut monthly = vec![Num::ZERO; months.len() * nr * na * nm];
        let idx = |t: usize, r: usize, a: usize, m: usize| ((t * nr + r) * na + a) * nm + m;
        for (t, cells) in run.variants[v].cells.iter().enumerate() {
            if var.regions {
                let (dr, da) = (sim.regions.len().max(1), sim.areas.len().max(1));
                for r in 0..dr {
                    for a in 0..da {
                        for m in 0..nm {
                            let x = &cells[(r * da + a) * nm + m];
                            if x.is_zero() {
                                continue;
                            }
                            for (rr, aa) in [(r + 1, a + 1), (0, a + 1), (r + 1, 0), (0, 0)] {
                                let i = idx(t, rr, aa, m);
                                monthly[i] = monthly[i].checked_add(x).unwrap_or_else(|_| monthly[i].clone());
                            }
                        }
                    }
                }
            } else {
                for m in 0..nm {
                    monthly[idx(t, 0, 0, m)] = cells[m].clone();
                }
            }
        }
        for x in monthly.iter_mut() {
            *x = w(x, sim.weight);
        }
        let yearly = yearly_of(&monthly, &years, nr * na, &sim.metrics);
        (monthly, yearly)
    };
    let cube = |per_run: Vec<Vec<Num>>, periods: usize, nr: usize, na: usize| -> Cube {
        let len = per_run.first().map_or(0, |v| v.len());
        let mut data = Vec::with_capacity(len);
        let mut buf: Vec<Num> = Vec::with_capacity(per_run.len());
        for i in 0..len {
            buf.clear();
            buf.extend(per_run.iter().map(|r| r[i].clone()));
            data.push(band(&mut buf));
        }
        Cube { periods, regions: nr, areas: na, metrics: nm, data }
    };

    let mut variants = Vec::new();
    let mut per_variant_runs: Vec<(Vec<Vec<Num>>, Vec<Vec<Num>>)> = Vec::new();
    for (v, var) in sim.variants.iter().enumerate() {
        let (nr, na) = if var.regions { (regions.len(), areas.len()) } else { (1, 1) };
        let (mut mo, mut ye) = (Vec::new(), Vec::new());
        for run in results {
            let (m, y) = marginal(v, run);
            mo.push(m);
            ye.push(y);
        }
        let programme = programme_series(&var.policy, results, v, &years);
        variants.push(VariantOutcome {
            name: var.name.clone(),
            label: var.label.clone(),
            regions: var.regions,
            monthly: cube(mo.clone(), months.len(), nr, na),
            yearly: cube(ye.clone(), years.len(), nr, na),
            programme,
        });
        per_variant_runs.push((mo, ye));
    }

    // Reform − baseline, run by run.
    let diff = if sim.compare_households && per_variant_runs.len() == 2 && sim.variants[0].regions && sim.variants[1].regions {
        let sub = |a: &[Vec<Num>], b: &[Vec<Num>]| -> Vec<Vec<Num>> {
            a.iter().zip(b).map(|(x, y)| x.iter().zip(y).map(|(p, q)| q.checked_sub(p).unwrap_or(Num::ZERO)).collect()).collect()
        };
        let (bm, by) = &per_variant_runs[0];
        let (rm, ry) = &per_variant_runs[1];
        // Programme outputs matched by name.
        let base_prog = &variants[0].programme;
        let mut programme = Vec::new();
        let rdefs = programme_defs(&sim.variants[1].policy);
        let bdefs = programme_defs(&sim.variants[0].policy);
        for (bi, (name, label, ty)) in bdefs.iter().enumerate() {
            let Some(ri) = rdefs.iter().position(|(n, _, _)| n == name) else { continue };
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
            let monthly: Vec<Band> = (0..months.len()).map(|t| band(&mut per_run_month(t))).collect();
            let mut yearly = Vec::new();
            let mut t0 = 0usize;
            for (_, n) in &years {
                let mut vals: Vec<Num> = Vec::new();
                for k in 0..results.len() {
                    let mut s = Num::ZERO;
                    for t in t0..t0 + *n as usize {
                        let b = results[k].variants[0].programme.get(t).and_then(|x| x.get(bi)).cloned().flatten().unwrap_or(Num::ZERO);
                        let f = results[k].variants[1].programme.get(t).and_then(|x| x.get(ri)).cloned().flatten().unwrap_or(Num::ZERO);
                        s = s.checked_add(&f.checked_sub(&b).unwrap_or(Num::ZERO)).unwrap_or(s);
                    }
                    vals.push(s.checked_div(&Num::from_i64(*n as i64)).unwrap_or(Num::ZERO));
                }
                yearly.push(band(&mut vals));
                t0 += *n as usize;
            }
            programme.push(ProgrammeSeries { name: name.clone(), label: label.clone(), money: ty.is_money(), monthly, yearly });
        }
        Some(VariantOutcome {
            name: "reform - baseline".into(),
            label: "改革 − 基线".into(),
            regions: true,
            monthly: cube(sub(bm, rm), months.len(), regions.len(), areas.len()),
            yearly: cube(sub(by, ry), years.len(), regions.len(), areas.len()),
            programme,
        })
    } else {
        None
    };

    let winners = if winners.is_empty() { None } else { Some(reform::summarise_winners(winners)) };

    let sweep = p.sweep.as_ref().map(|(param, values)| {
        let total_spend = sim.metrics.iter().position(|m| m.programme == "total" && m.measure == "spending").unwrap_or(0);
        let dibao_spend = sim.metrics.iter().position(|m| m.programme == "dibao" && m.measure == "spending").unwrap_or(0);
        let hh = sim.metrics.iter().position(|m| m.programme == "dibao" && m.measure == "households").unwrap_or(0);
        let persons = sim.metrics.iter().position(|m| m.programme == "dibao" && m.measure == "persons").unwrap_or(0);
        let nmonths = months.len() as i64;
        let points = values
            .iter()
            .enumerate()
            .map(|(v, value)| {
                let runs = &per_variant_runs[v].0;
                let sum_metric = |run: &Vec<Num>, m: usize| -> Num {
                    let mut s = Num::ZERO;
                    for t in 0..months.len() {
                        s = s.checked_add(&run[t * nm + m]).unwrap_or(s);
                    }
                    s
                };
                let annual = |m: usize| -> Band {
                    let mut vals: Vec<Num> =
                        runs.iter().map(|r| sum_metric(r, m).checked_mul_i64(12).and_then(|x| x.checked_div(&Num::from_i64(nmonths))).unwrap_or(Num::ZERO)).collect();
                    band(&mut vals)
                };
                let mean = |m: usize| -> Band {
                    let mut vals: Vec<Num> = runs.iter().map(|r| sum_metric(r, m).checked_div(&Num::from_i64(nmonths)).unwrap_or(Num::ZERO)).collect();
                    band(&mut vals)
                };
                let mut end: Vec<Num> = runs.iter().map(|r| r[(months.len() - 1) * nm + hh].clone()).collect();
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
        SweepOutcome { parameter: param.clone(), points }
    });

    Ok(Outcome { months, years, regions, areas, metrics: sim.metrics.clone(), variants, diff, winners, sweep, runs: sim.runs, weight: sim.weight })
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
                    s = s.checked_add(&monthly[(t * groups + g) * nm + m]).unwrap_or(s);
                }
                if is_stock(metric.measure) {
                    s = s.checked_div(&Num::from_i64(*n as i64)).unwrap_or(s);
                }
                out[(yi * groups + g) * nm + m] = s;
            }
        }
        t0 += *n as usize;
    }
    let _ = is_money;
    out
}

fn programme_series(policy: &doudi_interpreter::Policy, results: &[RunResult], v: usize, years: &[(i32, u32)]) -> Vec<ProgrammeSeries> {
    let defs = programme_defs(policy);
    let months = results.first().map_or(0, |r| r.variants[v].programme.len());
    let mut out = Vec::new();
    for (i, (name, label, ty)) in defs.iter().enumerate() {
        let numeric = results.iter().all(|r| r.variants[v].programme.iter().all(|m| m.get(i).is_some_and(|x| x.is_some())));
        if !numeric || months == 0 {
            continue;
        }
        let val = |r: &RunResult, t: usize| r.variants[v].programme[t][i].clone().unwrap_or(Num::ZERO);
        let monthly: Vec<Band> = (0..months).map(|t| band(&mut results.iter().map(|r| val(r, t)).collect::<Vec<_>>())).collect();
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
        out.push(ProgrammeSeries { name: name.clone(), label: label.clone(), money: ty.is_money(), monthly, yearly });
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
        let mut v: Vec<Num> = (1..=100).map(n).collect();
        let b = band(&mut v);
        assert_eq!((b.p5, b.p95), (n(5), n(95)));
        let mut v: Vec<Num> = (1..=20).map(n).collect();
        let b = band(&mut v);
        assert_eq!((b.p5, b.p95), (n(1), n(19)));
    }
}
