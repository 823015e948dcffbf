//! Calibration of a simulation to administrative totals: household weights raked so that the
//! forecast's first month meets the scenario's targets, and the take-up fitted to the caseload trend.
//!
//! What a report shows of it is a list of [`CalibrationRow`]s (one per target) and free-text notes
//! (method, weight dispersion, fitted parameters).

use doudi_interpreter::Num;

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
        self.rows.iter().all(|r| r.difference_pct.abs() <= tolerance_pct)
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
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        CalibrationOptions { burn_in_months: 24, max_weight_ratio: 4.0, fit_take_up: true }
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
    /// Where the ranges come from or why they were chosen.
    pub assumption: Option<String>,
}

impl Default for Uncertainty {
    fn default() -> Self {
        Uncertainty { bootstrap: true, take_up_factor: None, job_loss_per_year: None, job_find_factor: None, wage_growth_per_year: None, assumption: None }
    }
}
