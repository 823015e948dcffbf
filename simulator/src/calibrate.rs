//! Calibration of a simulation to administrative totals: household weights raked so that the
//! forecast's first month meets the scenario's targets, and the take-up fitted to the caseload trend.
//!
//! What a report shows of it is a list of [`CalibrationRow`]s (one per target) and free-text notes
//! (method, weight dispersion, fitted parameters).

use doudi_interpreter::Num;
use rayon::prelude::*;

pub use crate::rake::{poisson1, rake, round_unbiased};

/// One calibration target, as met (or not) by the simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationRow {
    /// The target's name in the scenario (`dibao_households_urban`, …).
    pub target: String,
    /// What it counts, in Chinese then English (`城镇低保户数 · urban dibao households`).
    pub label: String,
    /// The month it applies to (`2024-01`), or the span of a trend (`2024-01→2026-12`).
    pub month: String,
    /// The unit of `value` and `simulated`: `households`, `persons`, `yuan`, `persons per household`
    /// or `% a year`.
    pub unit: String,
    /// The target value.
    pub value: Num,
    /// The simulated value (mean over the runs).
    pub simulated: Num,
    /// `(simulated − value) / value × 100` (for a trend: the difference in percentage points).
    pub difference_pct: f64,
    /// `source: …` or `assumption: …`, as the scenario gives it.
    pub source: String,
    /// How many simulated households the simulated value rests on (mean over the runs).
    pub samples: u64,
}

/// What the calibration did, for the report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Calibration {
    pub rows: Vec<CalibrationRow>,
    /// Method, weight dispersion, fitted take-up, burn-in: one sentence each.
    pub notes: Vec<String>,
}

impl Calibration {
    /// Whether every target is met within `tolerance_pct` percent (percentage points for a trend).
    pub fn all_met(&self, tolerance_pct: f64) -> bool {
        self.rows
            .iter()
            .all(|r| r.difference_pct.abs() <= tolerance_pct)
    }
}

/// What a target counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Households paid dibao in the month.
    DibaoHouseholds,
    /// Persons in those households (counted members).
    DibaoPersons,
    /// Dibao paid in the month (yuan).
    DibaoSpending,
    /// Dibao persons per dibao household (met through the two counts; reported).
    PersonsPerHousehold,
    /// Yearly change of dibao persons over the horizon, in percent (`-2.5`).
    CaseloadTrend,
}

impl Measure {
    pub fn label(self) -> &'static str {
        match self {
            Measure::DibaoHouseholds => "低保户数 · dibao households",
            Measure::DibaoPersons => "低保人数 · dibao persons",
            Measure::DibaoSpending => "低保月支出 · dibao spending in the month",
            Measure::PersonsPerHousehold => "户均低保人数 · persons per dibao household",
            Measure::CaseloadTrend => "低保人数年变化 · yearly change of dibao persons",
        }
    }
    pub fn unit(self) -> &'static str {
        match self {
            Measure::DibaoHouseholds => "households",
            Measure::DibaoPersons => "persons",
            Measure::DibaoSpending => "yuan",
            Measure::PersonsPerHousehold => "persons per household",
            Measure::CaseloadTrend => "% a year",
        }
    }
}

/// A `[[targets]]` entry of a scenario.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub name: String,
    pub measure: Measure,
    /// `urban` or `rural` (an `area` of the policy); absent: both.
    #[serde(default)]
    pub area: Option<String>,
    /// A region code; absent: the whole population.
    #[serde(default)]
    pub region: Option<String>,
    /// `YYYY-MM`; absent: the scenario's first month. Calibration meets targets of the first month.
    #[serde(default)]
    pub month: Option<String>,
    /// The value: a number (households, persons, yuan, persons per household, or percent a year).
    pub value: f64,
    /// Where the value comes from…
    #[serde(default)]
    pub source: Option<String>,
    /// …or why it was chosen (one of the two is required).
    #[serde(default)]
    pub assumption: Option<String>,
}

/// The `[calibration]` table of a scenario.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalibrationOptions {
    /// Months simulated before the first reported month, so that the roll starts in a steady state
    /// (the administration has reviewed everybody, the dead have been removed). Default 24.
    pub burn_in_months: u32,
    /// No raked weight may differ from the design weight by more than this factor. Default 4.
    pub max_weight_ratio: f64,
    /// Fit the take-up to a `caseload_trend` target (when there is one). Default true.
    pub fit_take_up: bool,
    /// With `take_up = "auto"`: the probability that a household applies when it becomes eligible,
    /// as fitted elsewhere (e.g. by the baseline, for a run too large to fit); no fit then.
    pub take_up: Option<f64>,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        CalibrationOptions {
            burn_in_months: 24,
            max_weight_ratio: 4.0,
            fit_take_up: true,
            take_up: None,
        }
    }
}

/// A range `[low, high]` a run's value is drawn from (uniformly).
pub type Range = [f64; 2];

/// The `[uncertainty]` table of a scenario: what each Monte Carlo run draws anew.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Uncertainty {
    /// Each run simulates a bootstrap sample of the households (Poisson weights). Default true.
    pub bootstrap: bool,
    /// Multiplier of the take-up in force (fitted or given).
    pub take_up_factor: Option<Range>,
    pub job_loss_per_year: Option<Range>,
    pub job_find_factor: Option<Range>,
    pub wage_growth_per_year: Option<Range>,
    /// Yearly growth of the standards after their last dated value (`crate::growth`); absent: the
    /// standards stay at their last dated value.
    pub standard_growth_per_year: Option<Range>,
    /// The parameters that grow (money parameters with a dated value); default `dibao_standard`.
    pub standard_parameters: Option<Vec<String>>,
    /// Where the ranges come from or why they were chosen.
    pub assumption: Option<String>,
}

impl Default for Uncertainty {
    fn default() -> Self {
        Uncertainty {
            bootstrap: true,
            take_up_factor: None,
            job_loss_per_year: None,
            job_find_factor: None,
            wage_growth_per_year: None,
            standard_growth_per_year: None,
            standard_parameters: None,
            assumption: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Targets resolved against a simulation

/// A target resolved against the simulation: its area and region indices and its month index.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub spec: TargetSpec,
    /// Index of the area variant (as `Actual::area`), or none for both.
    pub area: Option<u16>,
    /// Index into `Sim::regions`, or none for the whole population.
    pub region: Option<u16>,
    /// Month index counted from the first reported month.
    pub month: u32,
}

impl Target {
    /// Whether a household of `area` and `region` counts towards the target.
    pub fn covers(&self, area: u16, region: u16) -> bool {
        self.area.is_none_or(|a| a == area) && self.region.is_none_or(|r| r == region)
    }
    /// Whether raking meets the target (a count or an amount of the first reported month).
    pub fn raked(&self) -> bool {
        self.month == 0
            && matches!(
                self.spec.measure,
                Measure::DibaoHouseholds | Measure::DibaoPersons | Measure::DibaoSpending
            )
    }
}

/// What raking did in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Raking {
    /// The smallest and largest ratio of a raked weight to the household's design weight.
    pub g_min: f64,
    pub g_max: f64,
    /// The largest remaining difference between a raked total and its target, in percent.
    pub max_residual_pct: f64,
    pub iterations: u32,
    /// Per area: persons per dibao household of the measured month before raking (design and
    /// bootstrap weights), 0 without dibao households: how far the simulated roll's structure was
    /// from the targets before the weights moved it.
    pub unraked_pph: Vec<f64>,
}

/// The values one run drew for the uncertain parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunDraws {
    pub take_up: f64,
    pub job_loss_per_year: f64,
    pub job_find_factor: f64,
    pub wage_growth_per_year: f64,
    /// Yearly growth of the standards after their last dated value (rounded to 0.01 percentage
    /// point; 0 without a `standard_growth_per_year` range).
    pub standard_growth_per_year: f64,
}

impl RunDraws {
    /// Draws run `run`'s values from the scenario's ranges (uniformly), or takes the central values.
    pub fn draw(sim: &crate::run::Sim, run: u32, take_up: f64, central: bool) -> RunDraws {
        use crate::dynamics::{unit, Purpose, StreamKey};
        let u = &sim.uncertainty;
        let d = &sim.dynamics;
        // A stream no household uses.
        let mut rng = StreamKey::new(sim.seed, run as u64, Purpose::Setup).stream(u64::MAX, 0);
        let mut pick = |range: Option<Range>, centre: f64| -> f64 {
            let x = unit(&mut rng);
            match range {
                Some([lo, hi]) if !central => lo + (hi - lo) * x,
                _ => centre,
            }
        };
        let take_up = (take_up * pick(u.take_up_factor, 1.0)).clamp(0.0, 1.0);
        let job_loss_per_year = pick(u.job_loss_per_year, d.job_loss_per_year);
        let job_find_factor = pick(u.job_find_factor, 1.0);
        let wage_growth_per_year = pick(u.wage_growth_per_year, d.wage_growth_per_year);
        // Drawn last, so that adding it left the other draws of a seed as they were. Its central
        // value is the range's midpoint.
        let standard_growth = u.standard_growth_per_year.map(|[lo, hi]| (lo + hi) / 2.0);
        let standard_growth_per_year = crate::growth::rounded_rate(pick(
            u.standard_growth_per_year,
            standard_growth.unwrap_or(0.0),
        ));
        RunDraws {
            take_up,
            job_loss_per_year,
            job_find_factor,
            wage_growth_per_year,
            standard_growth_per_year,
        }
    }

    /// This run's dynamics: the drawn rates, with the stationary job-finding rate for the drawn
    /// job-loss rate when `job_find_per_year` is `"auto"` (`employed`: the employed share of the
    /// persons able to work at the start).
    pub fn dynamics(
        &self,
        base: &crate::dynamics::Dynamics,
        employed: f64,
    ) -> crate::dynamics::Dynamics {
        let mut d = base.clone();
        d.job_loss_per_year = self.job_loss_per_year;
        d.wage_growth_per_year = self.wage_growth_per_year;
        d.resolve_job_find(employed);
        let find = (d.job_find_rate() * self.job_find_factor).clamp(0.0, 1.0);
        d.job_find_per_year = crate::dynamics::TakeUp::Rate(find);
        d
    }
}

/// Rakes the run's weights so that the first reported month meets the raked targets while the
/// persons of each area keep their total: returns each household's new (integer) weight.
pub fn rake_households(
    sim: &crate::run::Sim,
    run: u64,
    probes: &[crate::run::RakeRow],
) -> Result<(Vec<u64>, Raking), String> {
    let targets: Vec<&Target> = sim.targets.iter().filter(|t| t.raked()).collect();
    let areas = sim.areas.len().max(1);
    let mut x: Vec<Vec<(usize, f64)>> = Vec::with_capacity(probes.len());
    let mut totals = vec![0.0; areas];
    // Dibao households and persons by area, with the weights before raking.
    let mut roll = vec![(0.0, 0.0); areas];
    for p in probes {
        let persons = p.persons as f64;
        let a = (p.area as usize).min(areas - 1);
        let mut row = vec![(a, persons)];
        totals[a] += p.weight as f64 * persons;
        if let Some((paid, members)) = &p.dibao {
            roll[a].0 += p.weight as f64;
            roll[a].1 += p.weight as f64 * to_f64(members);
            for (k, t) in targets.iter().enumerate() {
                if !t.covers(p.area, p.region) {
                    continue;
                }
                let v = match t.spec.measure {
                    Measure::DibaoHouseholds => 1.0,
                    Measure::DibaoPersons => to_f64(members),
                    _ => to_f64(paid),
                };
                row.push((areas + k, v));
            }
        }
        x.push(row);
    }
    let mut goal = totals;
    goal.extend(targets.iter().map(|t| t.spec.value));
    // Certain households keep their weight: what they add is taken off the goals, and they are
    // left out of the raking (an empty row and a zero weight).
    for (row, p) in x.iter_mut().zip(probes) {
        if p.certain {
            for (k, v) in row.drain(..) {
                goal[k] -= p.weight as f64 * v;
            }
        }
    }
    let d: Vec<f64> = probes
        .iter()
        .map(|p| if p.certain { 0.0 } else { p.weight as f64 })
        .collect();
    // When the targets cannot be met within the bound (a bootstrap sample with few cases of a kind),
    // the bound is relaxed, twice at most; the report shows the weight ratios reached.
    let (mut g, mut info) = rake(&d, &x, &goal, sim.max_weight_ratio);
    for k in 1..=2 {
        if info.max_residual_pct <= 0.1 {
            break;
        }
        (g, info) = rake(
            &d,
            &x,
            &goal,
            sim.max_weight_ratio * f64::from(1 << (2 * k)),
        );
    }
    // Whole households, rounded up or down by a draw of the household (unbiased: the small weights
    // of oversampled households would otherwise all round the same way).
    let weights: Vec<u64> = d
        .iter()
        .zip(&g)
        .zip(probes)
        .map(|((d, g), p)| {
            if p.certain {
                return p.weight;
            }
            round_unbiased(
                d * g,
                p.index ^ sim.seed.rotate_left(17) ^ run.rotate_left(41),
            )
        })
        .collect();
    // The residual after rounding the weights to whole households.
    let mut got = vec![0.0; goal.len()];
    for (row, w) in x.iter().zip(&weights) {
        for (k, v) in row {
            got[*k] += *w as f64 * v;
        }
    }
    info.unraked_pph = roll
        .iter()
        .map(|(h, p)| if *h > 0.0 { p / h } else { 0.0 })
        .collect();
    info.max_residual_pct = got
        .iter()
        .zip(&goal)
        .filter(|(_, t)| **t > 0.0)
        .map(|(a, t)| ((a - t) / t * 100.0).abs())
        .fold(0.0, f64::max);
    Ok((weights, info))
}

fn to_f64(n: &Num) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    n.to_decimal_lossy().to_f64().unwrap_or(0.0)
}

/// Persons per household (`(persons, households)` summed), or 0.
fn ratio(p: &Num, h: &Num) -> Num {
    if h.is_zero() {
        Num::ZERO
    } else {
        p.checked_div(h).unwrap_or(Num::ZERO)
    }
}

/// The mean of exact values.
fn mean(values: &[Num]) -> Num {
    let mut s = Num::ZERO;
    for v in values {
        // Weighted counts and amounts in cents add exactly; anything else is rounded to 6 decimals.
        let v = match v.to_decimal() {
            Some(_) => v.clone(),
            None => v
                .round_to(rust_decimal::Decimal::new(1, 6))
                .unwrap_or(Num::ZERO),
        };
        s = s.checked_add(&v).unwrap_or(s);
    }
    if values.is_empty() {
        s
    } else {
        s.checked_div(&Num::from_i64(values.len() as i64))
            .unwrap_or(s)
    }
}

/// The calibration table: each target against the simulation (the baseline, mean over the runs).
pub fn rows(sim: &crate::run::Sim, results: &[crate::run::RunResult]) -> Calibration {
    let mut out = Calibration::default();
    if sim.targets.is_empty() || results.is_empty() {
        return out;
    }
    let var = &sim.variants[0];
    let nm = sim.metrics.len();
    let (nr, na) = if var.regions {
        (sim.regions.len().max(1), sim.areas.len().max(1))
    } else {
        (1, 1)
    };
    let metric = |m: &str| {
        sim.metrics
            .iter()
            .position(|x| x.programme == "dibao" && x.measure == m)
            .unwrap_or(0)
    };
    let (hh, persons, spending) = (metric("households"), metric("persons"), metric("spending"));
    // The value and samples of a metric over the cells a target covers, in month t of a run.
    let cell = |r: &crate::run::RunResult, t: usize, m: usize, target: &Target| -> (Num, u64) {
        let mut v = Num::ZERO;
        let mut n = 0;
        let (Some(cells), Some(samples)) =
            (r.variants[0].cells.get(t), r.variants[0].samples.get(t))
        else {
            return (v, n);
        };
        for ri in 0..nr {
            for ai in 0..na {
                if var.regions && !target.covers(ai as u16, ri as u16) {
                    continue;
                }
                let i = (ri * na + ai) * nm + m;
                v = v.checked_add(&cells[i]).unwrap_or(v);
                n += samples[i];
            }
        }
        (v, n)
    };
    for t in &sim.targets {
        let s = &t.spec;
        let tm = t.month as usize;
        let month = sim.start.plus(t.month as i32).to_string();
        let mut samples = Vec::new();
        let (simulated, month) = match s.measure {
            Measure::CaseloadTrend => {
                let months = sim.months as usize;
                if months < 24 {
                    continue;
                }
                let years = (months - 12) as f64 / 12.0;
                let per_run: Vec<f64> = results
                    .iter()
                    .map(|r| {
                        let sum = |range: std::ops::Range<usize>| {
                            range
                                .map(|i| to_f64(&cell(r, i, persons, t).0))
                                .sum::<f64>()
                        };
                        // The cases it rests on: the fewest of any month compared.
                        let fewest = (0..12)
                            .chain(months - 12..months)
                            .map(|i| cell(r, i, persons, t).1)
                            .min()
                            .unwrap_or(0);
                        samples.push(fewest);
                        let (a, b) = (sum(0..12), sum(months - 12..months));
                        if a > 0.0 {
                            ((b / a).powf(1.0 / years) - 1.0) * 100.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let m = per_run.iter().sum::<f64>() / per_run.len() as f64;
                let span = format!("{}→{}", sim.start, sim.start.plus(sim.months as i32 - 1));
                (Num::parse(&format!("{m:.4}")).unwrap_or(Num::ZERO), span)
            }
            Measure::PersonsPerHousehold => {
                let per_run: Vec<Num> = results
                    .iter()
                    .map(|r| {
                        let (h, n) = cell(r, tm, hh, t);
                        samples.push(n);
                        // Rounded to 6 decimals: a mean of exact fractions with large denominators
                        // would overflow.
                        let step = rust_decimal::Decimal::new(1, 6);
                        ratio(&cell(r, tm, persons, t).0, &h)
                            .round_to(step)
                            .unwrap_or(Num::ZERO)
                    })
                    .collect();
                (mean(&per_run), month)
            }
            m => {
                let idx = match m {
                    Measure::DibaoHouseholds => hh,
                    Measure::DibaoPersons => persons,
                    _ => spending,
                };
                let per_run: Vec<Num> = results
                    .iter()
                    .map(|r| {
                        let (v, n) = cell(r, tm, idx, t);
                        samples.push(n);
                        v
                    })
                    .collect();
                (mean(&per_run), month)
            }
        };
        out.rows
            .push(calibration_row(s, simulated, month, &samples));
    }
    out.notes.extend(raking_notes(sim, results));
    out.notes.extend(sim.notes.iter().cloned());
    out.notes.push(format!(
        "Burn-in: {} months simulated before {} and not reported, so that the roll the report starts from was made by the simulated administration (reviews done, the dead removed).",
        sim.burn_in, sim.start
    ));
    out
}

/// A target's row of the calibration table: its value against the `simulated` one (in `month`,
/// resting on `samples` simulated households per run).
fn calibration_row(
    s: &TargetSpec,
    simulated: Num,
    month: String,
    samples: &[u64],
) -> CalibrationRow {
    let value = Num::parse(&format!("{}", s.value)).unwrap_or(Num::ZERO);
    let (sv, tv) = (to_f64(&simulated), s.value);
    let difference_pct = match s.measure {
        Measure::CaseloadTrend => sv - tv,
        _ if tv != 0.0 => (sv - tv) / tv * 100.0,
        _ => 0.0,
    };
    let source = match (&s.source, &s.assumption) {
        (Some(src), _) => format!("source: {src}"),
        (None, Some(a)) => format!("assumption: {a}"),
        (None, None) => String::new(),
    };
    let mut label = s.measure.label().to_string();
    if let Some(a) = &s.area {
        label = format!("{label} ({a})");
    }
    if let Some(r) = &s.region {
        label = format!("{label} [{r}]");
    }
    CalibrationRow {
        target: s.name.clone(),
        label,
        month,
        unit: s.measure.unit().to_string(),
        value,
        simulated,
        difference_pct,
        source,
        samples: if samples.is_empty() {
            0
        } else {
            samples.iter().sum::<u64>() / samples.len() as u64
        },
    }
}

/// What the calibration table says of the raking of the runs' weights.
fn raking_notes(sim: &crate::run::Sim, results: &[crate::run::RunResult]) -> Vec<String> {
    let mut notes = Vec::new();
    let rakings: Vec<&Raking> = results.iter().filter_map(|r| r.raking.as_ref()).collect();
    if !rakings.is_empty() {
        let g_min = rakings
            .iter()
            .map(|r| r.g_min)
            .fold(f64::INFINITY, f64::min);
        let g_max = rakings.iter().map(|r| r.g_max).fold(0.0, f64::max);
        let res = rakings
            .iter()
            .map(|r| r.max_residual_pct)
            .fold(0.0, f64::max);
        notes.push(format!(
            "Weights: each run's household weights (design weight × bootstrap draw) are raked (exponential calibration, bounded to 1/{0}–{0} × the design weight, relaxed to {1} then {2} × in a run whose targets cannot be met within it) so that the first reported month meets the household, person and spending targets while each area keeps its persons; raked/design weight ratios ranged {g_min:.2}–{g_max:.2}; largest remaining difference after rounding to whole households {res:.3}%.",
            sim.max_weight_ratio,
            sim.max_weight_ratio * 4.0,
            sim.max_weight_ratio * 16.0
        ));
        let structure: Vec<String> = sim
            .areas
            .iter()
            .enumerate()
            .map(|(a, name)| {
                let v: Vec<f64> = rakings
                    .iter()
                    .filter_map(|r| r.unraked_pph.get(a).copied())
                    .collect();
                let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
                format!("{mean:.2} ({name})")
            })
            .collect();
        notes.push(format!(
            "Before raking, the simulated roll of the first reported month had {} persons per household (mean over the runs): the structure the population and the dynamics produce, which the weights then move to the targets.",
            structure.join(", ")
        ));
    }
    notes
}

/// Checks the `[[targets]]`, `[calibration]` and `[uncertainty]` tables of a scenario.
pub fn validate(s: &crate::scenario::Scenario, problems: &mut Vec<crate::scenario::Problem>) {
    let mut err =
        |key: String, message: String| problems.push(crate::scenario::Problem { key, message });
    let mut names = std::collections::BTreeSet::new();
    let start = doudi_interpreter::Month::parse(&s.scenario.start).ok();
    for (i, t) in s.targets.iter().enumerate() {
        let key = |k: &str| format!("targets[{i}].{k}");
        if t.name.trim().is_empty() || !names.insert(t.name.clone()) {
            err(key("name"), "must be a unique, non-empty name".into());
        }
        if !t.value.is_finite() || (t.measure != Measure::CaseloadTrend && t.value <= 0.0) {
            err(
                key("value"),
                format!("must be a positive number, found {}", t.value),
            );
        }
        if t.source.is_none() && t.assumption.is_none() {
            err(
                key("source"),
                "give `source` (where the figure comes from) or `assumption` (why it was chosen)"
                    .into(),
            );
        }
        if let (Some(m), Some(start)) = (&t.month, start) {
            match doudi_interpreter::Month::parse(m) {
                Ok(m)
                    if month_index(m) < month_index(start)
                        || month_index(m) >= month_index(start) + s.scenario.months as i64 =>
                {
                    err(
                        key("month"),
                        format!(
                            "{m} is outside the simulated months ({start} and the {} after it)",
                            s.scenario.months.saturating_sub(1)
                        ),
                    )
                }
                Err(e) => err(key("month"), e),
                _ => {}
            }
        }
        if t.measure == Measure::CaseloadTrend && s.scenario.months < 24 {
            err(key("measure"), format!("a caseload trend needs at least 24 simulated months (the first and the last year), found {}", s.scenario.months));
        }
    }
    let c = &s.calibration;
    if c.burn_in_months > crate::scenario::MAX_MONTHS {
        err(
            "calibration.burn_in_months".into(),
            format!(
                "must be at most {}, found {}",
                crate::scenario::MAX_MONTHS,
                c.burn_in_months
            ),
        );
    }
    if c.take_up
        .is_some_and(|t| !(t.is_finite() && (0.0..=1.0).contains(&t)))
    {
        err(
            "calibration.take_up".into(),
            format!(
                "must be between 0 and 1, found {}",
                c.take_up.unwrap_or(0.0)
            ),
        );
    }
    if !(c.max_weight_ratio.is_finite() && c.max_weight_ratio >= 1.0) {
        err(
            "calibration.max_weight_ratio".into(),
            format!(
                "must be a number of at least 1, found {}",
                c.max_weight_ratio
            ),
        );
    }
    let u = &s.uncertainty;
    for (k, r, lo, hi) in [
        ("take_up_factor", u.take_up_factor, 0.0, 10.0),
        ("job_loss_per_year", u.job_loss_per_year, 0.0, 1.0),
        ("job_find_factor", u.job_find_factor, 0.0, 10.0),
        ("wage_growth_per_year", u.wage_growth_per_year, -0.5, 1.0),
        // Standards are not lowered; 50 % a year is far beyond any published rise.
        (
            "standard_growth_per_year",
            u.standard_growth_per_year,
            0.0,
            0.5,
        ),
    ] {
        if let Some([a, b]) = r {
            if !(a.is_finite() && b.is_finite() && a <= b && a >= lo && b <= hi) {
                err(
                    format!("uncertainty.{k}"),
                    format!("must be [low, high] with {lo} ≤ low ≤ high ≤ {hi}, found [{a}, {b}]"),
                );
            }
        }
    }
    if let Some(names) = &u.standard_parameters {
        if u.standard_growth_per_year.is_none() {
            err(
                "uncertainty.standard_parameters".into(),
                "names what grows by `standard_growth_per_year`, which is not given".into(),
            );
        }
        if names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
            err(
                "uncertainty.standard_parameters".into(),
                "must list parameter names (default: [\"dibao_standard\"])".into(),
            );
        }
    }
}

/// Months since year 0 (for differences of months).
pub fn month_index(m: doudi_interpreter::Month) -> i64 {
    m.year as i64 * 12 + m.month as i64 - 1
}

/// Resolves the scenario's targets against the simulation's areas and regions.
pub fn resolve(
    s: &crate::scenario::Scenario,
    areas: &[String],
    regions: &[String],
) -> Result<Vec<Target>, String> {
    let start = s.start_month();
    let mut out = Vec::new();
    for (i, t) in s.targets.iter().enumerate() {
        let area = match &t.area {
            None => None,
            Some(a) => Some(areas.iter().position(|x| x == a).ok_or_else(|| {
                format!(
                    "{}: targets[{i}].area: `{a}` is not an area of the policy ({})",
                    s.file,
                    areas.join(", ")
                )
            })? as u16),
        };
        let region = match &t.region {
            None => None,
            Some(r) => Some(regions.iter().position(|x| x == r).ok_or_else(|| {
                format!(
                    "{}: targets[{i}].region: no household of the population is in region `{r}`",
                    s.file
                )
            })? as u16),
        };
        let month = match &t.month {
            None => 0,
            Some(m) => doudi_interpreter::Month::parse(m)
                .map(|m| (month_index(m) - month_index(start)).max(0) as u32)
                .map_err(|e| format!("{}: targets[{i}].month: {e}", s.file))?,
        };
        out.push(Target {
            spec: t.clone(),
            area,
            region,
            month,
        });
    }
    Ok(out)
}

/// The yearly change of dibao persons in a run (percent): the mean of the last 12 months against the
/// mean of the first 12, annualised.
pub fn caseload_trend(sim: &crate::run::Sim, r: &crate::run::RunResult) -> f64 {
    let persons = sim
        .metrics
        .iter()
        .position(|x| x.programme == "dibao" && x.measure == "persons")
        .unwrap_or(0);
    let nm = sim.metrics.len();
    let cells = &r.variants[0].cells;
    let months = cells.len();
    if months < 24 {
        return 0.0;
    }
    let month_total =
        |t: usize| -> f64 { cells[t].iter().skip(persons).step_by(nm).map(to_f64).sum() };
    let a: f64 = (0..12).map(month_total).sum();
    let b: f64 = (months - 12..months).map(month_total).sum();
    if a <= 0.0 {
        return 0.0;
    }
    ((b / a).powf(12.0 / (months - 12) as f64) - 1.0) * 100.0
}

/// How many runs the take-up fit averages.
pub const FIT_RUNS: u32 = 3;
/// The most trial take-ups the fit simulates (after the two ends), and when it stops early
/// (percentage points a year from the target).
pub const FIT_STEPS: usize = 5;
const FIT_TOLERANCE_PP: f64 = 0.1;

/// Fits the take-up (the probability that a household applies when it becomes eligible) so that the
/// baseline's caseload follows the `caseload_trend` target, on the mean trend of the
/// first [`FIT_RUNS`] runs, by regula falsi. Only with `take_up = "auto"` and `fit_take_up`.
pub fn fit_take_up(sim: &mut crate::run::Sim, s: &crate::scenario::Scenario) -> Result<(), String> {
    // The mean trend of a few runs with the uncertain parameters at their central values and no
    // bootstrap, each with its own random events: one run alone is too noisy to fit on, and the
    // parameter draws would add noise the runs of the forecast average out.
    let fit_runs = fit_runs(sim);
    let mut trend_at = |sim: &crate::run::Sim, take_up: f64| -> Result<f64, String> {
        let trends: Vec<f64> = (0..fit_runs)
            .into_par_iter()
            .map(|run| {
                sim.run_with(run, take_up, true, &|| {})
                    .map(|r| caseload_trend(sim, &r))
                    .map_err(|e| e.0)
            })
            .collect::<Result<_, _>>()?;
        Ok(mean_trend(&trends))
    };
    let fit = fit_take_up_by(sim, s, &mut trend_at)?;
    fit.apply(sim);
    Ok(())
}

/// How many central runs the take-up fit averages.
pub fn fit_runs(sim: &crate::run::Sim) -> u32 {
    sim.runs.clamp(1, FIT_RUNS)
}

/// The mean of the fit's runs' trends (in run order).
pub fn mean_trend(trends: &[f64]) -> f64 {
    trends.iter().sum::<f64>() / trends.len() as f64
}

/// What the take-up fit found: the take-up in force (`None`: unchanged) and a note for the report.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Fit {
    pub take_up: Option<f64>,
    pub note: Option<String>,
}

impl Fit {
    /// Puts the fit into a simulation (its take-up and its note).
    pub fn apply(&self, sim: &mut crate::run::Sim) {
        if let Some(n) = &self.note {
            sim.notes.push(n.clone());
        }
        if let Some(t) = self.take_up {
            sim.take_up = t;
        }
    }
}

/// [`fit_take_up`] with the trend at a take-up measured by `trend_at` (the mean caseload trend of
/// the first [`fit_runs`] runs, central, at that take-up: on one machine, or run in household blocks
/// by a driver, `crate::blocks`). The simulation is not changed: [`Fit::apply`] does.
pub fn fit_take_up_by(
    sim: &crate::run::Sim,
    s: &crate::scenario::Scenario,
    trend_at: &mut dyn FnMut(&crate::run::Sim, f64) -> Result<f64, String>,
) -> Result<Fit, String> {
    let Some(target) = sim
        .targets
        .iter()
        .find(|t| t.spec.measure == Measure::CaseloadTrend)
        .map(|t| t.spec.value)
    else {
        return Ok(Fit::default());
    };
    if !s.calibration.fit_take_up || s.calibration.take_up.is_some() {
        return Ok(Fit::default());
    }
    if !s.dynamics.take_up.is_auto() {
        return Ok(Fit {
            take_up: None,
            note: Some(format!(
                "Take-up: {} as the scenario sets it (not fitted to the caseload trend).",
                sim.take_up
            )),
        });
    }
    let fit_runs = fit_runs(sim);
    let (mut lo, mut hi) = (0.0, 1.0);
    let (t_lo, t_hi) = (trend_at(sim, lo)?, trend_at(sim, hi)?);
    let note;
    let fitted = if target <= t_lo {
        note = Some(format!("Take-up: the caseload trend target {target:+.2}% a year is out of reach: even with no new applicant the caseload changes {t_lo:+.2}% a year; take-up set to 0."));
        0.0
    } else if target >= t_hi {
        note = Some(format!("Take-up: the caseload trend target {target:+.2}% a year is out of reach: with every eligible household applying the caseload changes {t_hi:+.2}% a year; take-up set to 1."));
        1.0
    } else {
        // Regula falsi (Illinois): the trend rises with the take-up, nearly linearly.
        let (mut f_lo, mut f_hi) = (t_lo - target, t_hi - target);
        let mut best = (f64::INFINITY, 0.5, 0.0);
        let mut side = 0i8;
        let mut trials = 2;
        for _ in 0..FIT_STEPS {
            trials += 1;
            let x = (lo * f_hi - hi * f_lo) / (f_hi - f_lo);
            let t = trend_at(sim, x)?;
            let f = t - target;
            if f.abs() < best.0 {
                best = (f.abs(), x, t);
            }
            if f.abs() < FIT_TOLERANCE_PP {
                break;
            }
            if f < 0.0 {
                lo = x;
                f_lo = f;
                if side == -1 {
                    f_hi /= 2.0;
                }
                side = -1;
            } else {
                hi = x;
                f_hi = f;
                if side == 1 {
                    f_lo /= 2.0;
                }
                side = 1;
            }
        }
        note = Some(format!(
            "Take-up: fitted to the caseload trend target ({target:+.2}% a year) by regula falsi on the mean trend of {fit_runs} runs with central parameters ({trials} trial take-ups): {:.4} of the households that become eligible apply (trend {:+.2}% a year at that value).",
            best.1, best.2
        ));
        best.1
    };
    Ok(Fit {
        take_up: Some(fitted),
        note,
    })
}
