//! Calibration of the generator to the spec's targets (sizes, cells, income, the roll), and the tallies it compares.

use super::*;

/// Integer tallies over generated households (order-independent sums).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Stats {
    pub(super) households: [u64; 2],
    pub(super) persons: [u64; 2],
    pub(super) region_households: Vec<u64>,
    pub(super) region_persons: Vec<u64>,
    pub(super) region_urban_persons: Vec<u64>,
    pub(super) dibao_households: [u64; 2],
    pub(super) dibao_persons: [u64; 2],
    pub(super) below_line: [u64; 2],
    pub(super) age_band_persons: Vec<u64>,
    pub(super) counted_persons: [u64; 2],
    /// As text (exact; JSON numbers are not).
    #[serde(with = "i128_text")]
    pub(super) counted_income_cents: [i128; 2],
    pub(super) dead: u64,
    pub(super) imprisoned: u64,
}

mod i128_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[i128; 2], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[i128; 2], D::Error> {
        let [a, b] = <[String; 2]>::deserialize(d)?;
        let parse = |x: &str| x.parse::<i128>().map_err(serde::de::Error::custom);
        Ok([parse(&a)?, parse(&b)?])
    }
}

/// The generator's tallies of some of a population's households (the households of a block of a
/// run in household blocks): added block after block, they are the tallies of the whole population
/// (integer counts: the order does not matter), from which the generator's report is made.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Tally(pub(super) Stats);

impl Tally {
    /// Adds another part's tallies; refuses tallies of another shape (regions, age bands).
    pub fn merge(&mut self, other: &Tally) -> Result<(), String> {
        let (a, b) = (&self.0, &other.0);
        if a.region_households.len() != b.region_households.len()
            || a.region_persons.len() != b.region_persons.len()
            || a.region_urban_persons.len() != b.region_urban_persons.len()
            || a.age_band_persons.len() != b.age_band_persons.len()
        {
            return Err(
                "the generator's tallies of two blocks have other regions or age bands".into(),
            );
        }
        self.0.merge(b);
        Ok(())
    }

    /// Persons of the households tallied.
    pub fn persons(&self) -> u64 {
        self.0.total_persons()
    }

    /// Households on dibao among them.
    pub fn on_dibao(&self) -> u64 {
        self.0.dibao_households[0] + self.0.dibao_households[1]
    }
}

impl Stats {
    pub(super) fn new(regions: usize, bands: usize) -> Stats {
        Stats {
            region_households: vec![0; regions],
            region_persons: vec![0; regions],
            region_urban_persons: vec![0; regions],
            age_band_persons: vec![0; bands],
            ..Default::default()
        }
    }
    pub(super) fn merge(&mut self, o: &Stats) {
        for a in 0..2 {
            self.households[a] += o.households[a];
            self.persons[a] += o.persons[a];
            self.dibao_households[a] += o.dibao_households[a];
            self.dibao_persons[a] += o.dibao_persons[a];
            self.below_line[a] += o.below_line[a];
            self.counted_persons[a] += o.counted_persons[a];
            self.counted_income_cents[a] += o.counted_income_cents[a];
        }
        for (x, y) in self.region_households.iter_mut().zip(&o.region_households) {
            *x += y;
        }
        for (x, y) in self.region_persons.iter_mut().zip(&o.region_persons) {
            *x += y;
        }
        for (x, y) in self
            .region_urban_persons
            .iter_mut()
            .zip(&o.region_urban_persons)
        {
            *x += y;
        }
        for (x, y) in self.age_band_persons.iter_mut().zip(&o.age_band_persons) {
            *x += y;
        }
        self.dead += o.dead;
        self.imprisoned += o.imprisoned;
    }
    pub(super) fn total_persons(&self) -> u64 {
        self.persons[0] + self.persons[1]
    }
}

pub(super) fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl<'s> Generator<'s> {
    // 1. Exponential tilting of the size distribution.
    pub(super) fn calibrate_sizes(&mut self) {
        let Some(targets) = self.spec.targets.mean_household_size.clone() else {
            return;
        };
        for area in Area::ALL {
            let Some(&target) = targets.get(area) else {
                continue;
            };
            let base = self.spec.household_size.get(area).weights.clone();
            let tilt = |theta: f64| -> Vec<f64> {
                let max = base
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| **w > 0.0)
                    .map(|(k, _)| theta * (k + 1) as f64)
                    .fold(f64::NEG_INFINITY, f64::max);
                base.iter()
                    .enumerate()
                    .map(|(k, w)| {
                        if *w > 0.0 {
                            w * (theta * (k + 1) as f64 - max).exp()
                        } else {
                            0.0
                        }
                    })
                    .collect()
            };
            let mean = |w: &[f64]| {
                w.iter()
                    .enumerate()
                    .map(|(k, x)| (k + 1) as f64 * x)
                    .sum::<f64>()
                    / w.iter().sum::<f64>()
            };
            let (mut lo, mut hi) = (-30.0f64, 30.0f64);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if mean(&tilt(mid)) < target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let theta = 0.5 * (lo + hi);
            let w = tilt(theta);
            let achieved = mean(&w);
            self.size_cdf[area.index()] = cdf_of(&w);
            self.size_weights[area.index()] = w;
            let status = if self.tolerance_ok(achieved, target) {
                CalibrationStatus::Reached
            } else {
                CalibrationStatus::OutOfReach("sizes with positive weight cannot reach it".into())
            };
            self.calibration.push(CalibrationRow {
                quantity: format!("mean household size ({area})"),
                method: "exponential tilting (bisection)".into(),
                parameter: format!("theta = {theta:.5}"),
                target,
                calibrated: achieved,
                output: None,
                status,
            });
        }
    }

    // 2. Region × area persons, raked to the urban margin; household cell probabilities.
    pub(super) fn calibrate_cells(&mut self) {
        let ms = [self.mean_size(Area::Urban), self.mean_size(Area::Rural)];
        let regions: Vec<_> = self.spec.regions.values().cloned().collect();
        let persons: Vec<f64> = regions
            .iter()
            .map(|r| {
                if let Some(p) = r.population {
                    p as f64
                } else if let Some(h) = r.households {
                    h as f64 / (r.urban_share / ms[0] + (1.0 - r.urban_share) / ms[1])
                } else {
                    r.share.unwrap_or(0.0)
                }
            })
            .collect();
        let total: f64 = persons.iter().sum();
        let mut m: Vec<[f64; 2]> = regions
            .iter()
            .zip(&persons)
            .map(|(r, p)| [p * r.urban_share, p * (1.0 - r.urban_share)])
            .collect();
        if let Some(u) = self.spec.targets.urban_share_persons {
            let col_target = [u * total, (1.0 - u) * total];
            let mut iterations = 0;
            for it in 0..10_000 {
                iterations = it + 1;
                for a in 0..2 {
                    let s: f64 = m.iter().map(|c| c[a]).sum();
                    if s > 0.0 {
                        for c in m.iter_mut() {
                            c[a] *= col_target[a] / s;
                        }
                    }
                }
                let mut worst = 0.0f64;
                for (c, p) in m.iter_mut().zip(&persons) {
                    let s = c[0] + c[1];
                    if s > 0.0 {
                        worst = worst.max((s - p).abs() / p);
                        c[0] *= p / s;
                        c[1] *= p / s;
                    }
                }
                if worst < 1e-13 {
                    break;
                }
            }
            let achieved = m.iter().map(|c| c[0]).sum::<f64>() / total;
            let status = if self.tolerance_ok(achieved, u) {
                CalibrationStatus::Reached
            } else {
                CalibrationStatus::OutOfReach("region margins conflict".into())
            };
            self.calibration.push(CalibrationRow {
                quantity: "urban share of persons".into(),
                method: "IPF (region × area)".into(),
                parameter: format!("{iterations} iterations"),
                target: u,
                calibrated: achieved,
                output: None,
                status,
            });
        }
        self.cells.clear();
        let mut weights = Vec::new();
        for (i, c) in m.iter().enumerate() {
            for area in Area::ALL {
                let w = c[area.index()] / ms[area.index()];
                if w > 0.0 {
                    self.cells.push((i, area));
                    weights.push(w);
                }
            }
        }
        self.cell_cdf = cdf_of(&weights);
        self.region_rows = regions
            .iter()
            .enumerate()
            .map(|(i, r)| RegionRow {
                code: self.regions[i].clone(),
                name: self.region_names[i].clone(),
                target_share: persons[i] / total,
                urban_share_spec: r.urban_share,
                urban_share_raked: m[i][0] / (m[i][0] + m[i][1]),
                households: 0,
                persons: 0,
                urban_persons: 0,
            })
            .collect();
    }

    pub(super) fn sample(&self) -> Vec<GeneratedHousehold> {
        let n = self.spec.calibration.sample_households as u64;
        let subs: Vec<(u64, u64)> = (0..n)
            .step_by(SUB_CHUNK)
            .map(|s| (s, (s + SUB_CHUNK as u64).min(n)))
            .collect();
        subs.into_par_iter()
            .flat_map_iter(|(s, e)| self.households(s, e))
            .collect()
    }

    // 3. Income scale per area.
    pub(super) fn calibrate_income(&mut self) {
        let lows = self.spec.targets.low_income_share.clone();
        let means = self.spec.targets.mean_per_capita_income.clone();
        if lows.is_none() && means.is_none() {
            return;
        }
        let sample = self.sample();
        for area in Area::ALL {
            if let Some(&target) = means.as_ref().and_then(|m| m.get(area)) {
                let (mut sum, mut n) = (0.0, 0usize);
                for h in sample.iter().filter(|h| h.area == area) {
                    let c = h.counted();
                    sum += h.pc_base * c as f64;
                    n += c;
                }
                let base_mean = if n > 0 { sum / n as f64 } else { 0.0 };
                let (scale, status) = if base_mean > 0.0 {
                    (target / base_mean, CalibrationStatus::Reached)
                } else {
                    (
                        1.0,
                        CalibrationStatus::OutOfReach(
                            "no income in the sample for this area".into(),
                        ),
                    )
                };
                self.income_scale[area.index()] = scale;
                self.calibration.push(CalibrationRow {
                    quantity: format!("mean income per counted person ({area})"),
                    method: "income scale (linear, solved exactly)".into(),
                    parameter: format!("income scale = {scale:.5}"),
                    target,
                    calibrated: base_mean * scale,
                    output: None,
                    status,
                });
                continue;
            }
            let Some(&t) = lows.as_ref().and_then(|l| l.get(area)) else {
                continue;
            };
            let pcs: Vec<f64> = sample
                .iter()
                .filter(|h| h.area == area)
                .map(|h| h.pc_base)
                .collect();
            if pcs.is_empty() {
                self.calibration.push(CalibrationRow {
                    quantity: format!("households below {} per capita ({area})", t.line),
                    method: "bisection on income scale".into(),
                    parameter: "income scale = 1".into(),
                    target: t.share,
                    calibrated: 0.0,
                    output: None,
                    status: CalibrationStatus::OutOfReach(
                        "no household of this area in the sample".into(),
                    ),
                });
                continue;
            }
            let share =
                |s: f64| pcs.iter().filter(|p| **p * s < t.line).count() as f64 / pcs.len() as f64;
            // share is non-increasing in the scale; search in log space.
            let (lmin, lmax) = ((1e-3f64).ln(), (1e3f64).ln());
            let (smin, smax) = (share(lmin.exp()), share(lmax.exp()));
            let (scale, status) = if t.share > smin {
                (
                    lmin.exp(),
                    CalibrationStatus::OutOfReach(format!(
                        "at most {smin:.4} even with income scale 0.001"
                    )),
                )
            } else if t.share < smax {
                (
                    lmax.exp(),
                    CalibrationStatus::OutOfReach(format!(
                        "at least {smax:.4}: households without income"
                    )),
                )
            } else {
                let (mut lo, mut hi) = (lmin, lmax); // share(lo) >= target >= share(hi)
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if share(mid.exp()) > t.share {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let (a, b) = (share(lo.exp()), share(hi.exp()));
                let s = if (a - t.share).abs() < (b - t.share).abs() {
                    lo.exp()
                } else {
                    hi.exp()
                };
                let achieved = share(s);
                (
                    s,
                    if self.tolerance_ok(achieved, t.share) {
                        CalibrationStatus::Reached
                    } else {
                        CalibrationStatus::OutOfReach("sample too small for this tolerance".into())
                    },
                )
            };
            self.income_scale[area.index()] = scale;
            self.calibration.push(CalibrationRow {
                quantity: format!("households below {} per capita ({area})", t.line),
                method: "bisection on income scale".into(),
                parameter: format!("income scale = {scale:.5}"),
                target: t.share,
                calibrated: share(scale),
                output: None,
                status,
            });
        }
    }

    pub(super) fn dibao_probability(&self, area: Area, threshold: f64, d: &DibaoDraw) -> f64 {
        let p = self.spec.dibao.get(area);
        let x = threshold - d.ratio;
        let s = if p.softness > 0.0 {
            logistic(x / p.softness)
        } else if x > 0.0 {
            1.0
        } else {
            0.0
        };
        let tests = if d.tests_ok { 1.0 } else { p.asset_penalty };
        let able = if d.able { p.able_take_up_factor } else { 1.0 };
        (p.take_up * able * s * tests + p.error_rate).clamp(0.0, 1.0)
    }

    // 4. Dibao threshold per area.
    pub(super) fn calibrate_dibao(&mut self) {
        let hh = self.spec.targets.dibao_households_share.clone();
        let pp = self.spec.targets.dibao_persons_share.clone();
        if hh.is_none() && pp.is_none() {
            return;
        }
        let sample = self.sample();
        for area in Area::ALL {
            let (target, by_persons) = match (
                hh.as_ref().and_then(|t| t.get(area)),
                pp.as_ref().and_then(|t| t.get(area)),
            ) {
                (Some(t), _) => (*t, false),
                (None, Some(t)) => (*t, true),
                (None, None) => continue,
            };
            let draws: Vec<(DibaoDraw, u64)> = sample
                .iter()
                .filter(|h| h.area == area)
                .map(|h| (h.dibao, h.members.len() as u64))
                .collect();
            let quantity = if by_persons {
                format!("persons on dibao ({area})")
            } else {
                format!("households on dibao ({area})")
            };
            let total: u64 = draws
                .iter()
                .map(|(_, n)| if by_persons { *n } else { 1 })
                .sum();
            if total == 0 {
                self.calibration.push(CalibrationRow {
                    quantity,
                    method: "bisection on dibao threshold".into(),
                    parameter: "-".into(),
                    target,
                    calibrated: 0.0,
                    output: None,
                    status: CalibrationStatus::OutOfReach(
                        "no household of this area in the sample".into(),
                    ),
                });
                continue;
            }
            let share = |th: f64| {
                let on: u64 = draws
                    .iter()
                    .filter(|(d, _)| d.u < self.dibao_probability(area, th, d))
                    .map(|(_, n)| if by_persons { *n } else { 1 })
                    .sum();
                on as f64 / total as f64
            };
            let (tmin, tmax) = (-20.0f64, 50.0f64);
            let (smin, smax) = (share(tmin), share(tmax));
            let (th, status) = if target < smin {
                (
                    tmin,
                    CalibrationStatus::OutOfReach(format!("at least {smin:.4} (error_rate)")),
                )
            } else if target > smax {
                (
                    tmax,
                    CalibrationStatus::OutOfReach(format!("at most {smax:.4} (take_up)")),
                )
            } else {
                let (mut lo, mut hi) = (tmin, tmax); // share(lo) <= target <= share(hi)
                for _ in 0..100 {
                    let mid = 0.5 * (lo + hi);
                    if share(mid) < target {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let (a, b) = (share(lo), share(hi));
                let th = if (a - target).abs() < (b - target).abs() {
                    lo
                } else {
                    hi
                };
                let achieved = share(th);
                (
                    th,
                    if self.tolerance_ok(achieved, target) {
                        CalibrationStatus::Reached
                    } else {
                        CalibrationStatus::OutOfReach("sample too small for this tolerance".into())
                    },
                )
            };
            let calibrated = share(th);
            self.dibao_threshold[area.index()] = th;
            self.calibration.push(CalibrationRow {
                quantity,
                method: "bisection on dibao threshold".into(),
                parameter: format!("threshold = {th:.5}"),
                target,
                calibrated,
                output: None,
                status,
            });
        }
    }

    pub(super) fn age_bands(&self) -> Vec<(u32, u32)> {
        self.spec
            .targets
            .persons_by_age_band
            .as_ref()
            .map(|b| b.iter().map(|x| (x.min, x.max)).collect())
            .unwrap_or_default()
    }

    pub(super) fn stats_of(&self, households: &[GeneratedHousehold]) -> Stats {
        let bands = self.age_bands();
        let lines = self.spec.targets.low_income_share.as_ref();
        let mut s = Stats::new(self.regions.len(), bands.len());
        for h in households {
            let a = h.area.index();
            let n = h.members.len() as u64;
            s.households[a] += 1;
            s.persons[a] += n;
            s.region_households[h.region] += 1;
            s.region_persons[h.region] += n;
            if h.area == Area::Urban {
                s.region_urban_persons[h.region] += n;
            }
            s.counted_persons[a] += h.counted() as u64;
            s.counted_income_cents[a] += h.counted_income() as i128;
            if h.on_dibao {
                s.dibao_households[a] += 1;
                s.dibao_persons[a] += n;
            }
            if let Some(t) = lines.and_then(|l| l.get(h.area)) {
                // Exact: counted income (cents) < line × 100 × counted.
                let line_cents = (t.line * 100.0).round() as i128;
                if (h.counted_income() as i128) < line_cents * h.counted() as i128
                    || h.counted() == 0
                {
                    s.below_line[a] += 1;
                }
            }
            for p in &h.members {
                if !p.alive {
                    s.dead += 1;
                }
                if p.imprisoned {
                    s.imprisoned += 1;
                }
                for (i, (lo, hi)) in bands.iter().enumerate() {
                    if *lo <= p.age && p.age <= *hi {
                        s.age_band_persons[i] += 1;
                    }
                }
            }
        }
        s
    }

    /// Figures reported (and, for calibrated ones, measured) on the sample with the final parameters.
    pub(super) fn report_sample(&mut self) {
        let needs_sample = self.spec.targets.persons_by_age_band.is_some()
            || self.spec.targets.mean_household_size.is_some();
        if !needs_sample {
            return;
        }
        let sample = self.sample();
        let s = self.stats_of(&sample);
        if let Some(bands) = self.spec.targets.persons_by_age_band.clone() {
            for (i, b) in bands.iter().enumerate() {
                self.calibration.push(CalibrationRow {
                    quantity: format!("persons aged {}-{}", b.min, b.max),
                    method: "-".into(),
                    parameter: "-".into(),
                    target: b.share,
                    calibrated: ratio(s.age_band_persons[i], s.total_persons()),
                    output: None,
                    status: CalibrationStatus::Reported,
                });
            }
        }
    }
}

/// The calibration rows' values in the output, from the tallies of the whole population.
pub fn fill_tally_output(rows: &mut [CalibrationRow], t: &Tally) {
    fill_output(rows, &t.0)
}

pub(super) fn fill_output(rows: &mut [CalibrationRow], s: &Stats) {
    let mut band = 0;
    for r in rows.iter_mut() {
        let area = if r.quantity.ends_with("(urban)") {
            Area::Urban
        } else {
            Area::Rural
        };
        let a = area.index();
        r.output = Some(if r.quantity.starts_with("mean household size") {
            ratio(s.persons[a], s.households[a])
        } else if r.quantity == "urban share of persons" {
            ratio(s.persons[0], s.total_persons())
        } else if r.quantity.starts_with("mean income per counted person") {
            if s.counted_persons[a] == 0 {
                0.0
            } else {
                s.counted_income_cents[a] as f64 / 100.0 / s.counted_persons[a] as f64
            }
        } else if r.quantity.starts_with("households below") {
            ratio(s.below_line[a], s.households[a])
        } else if r.quantity.starts_with("persons on dibao") {
            ratio(s.dibao_persons[a], s.persons[a])
        } else if r.quantity.starts_with("households on dibao") {
            ratio(s.dibao_households[a], s.households[a])
        } else if r.quantity.starts_with("persons aged") {
            band += 1;
            ratio(s.age_band_persons[band - 1], s.total_persons())
        } else {
            continue;
        });
    }
}
