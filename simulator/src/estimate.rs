//! A size estimate of a scenario before it runs: how many households, variants, runs and months,
//! roughly how much memory and time, and whether that fits the machine. `doudi simulate` refuses a
//! scenario that does not fit unless `--force` is given, so that a scenario whose dimensions are
//! each within their limits but whose product is enormous does not start blindly.
//!
//! The model is deliberately simple and calibrated on BENCHMARKS.md (the city-scale run: 1,520,000
//! households, one variant, 24 months, 1.74 GB peak, about 1.4 million household-months a second on
//! two threads of a shared machine). It errs on the large side.

use crate::scenario::{sweep_values, Scenario};
use std::io::{BufRead, BufReader};

/// Peak bytes per simulated household and variant (1.74 GB / 1.52 M households, rounded up).
pub const BYTES_PER_HOUSEHOLD: u64 = 1_200;
/// Bytes besides the households: the policy, the compiled programs, buffers, the report.
pub const BASE_BYTES: u64 = 128 << 20;
/// Household-months simulated per second (a pessimistic reading of the benchmark).
pub const HOUSEHOLD_MONTHS_PER_SECOND: u64 = 500_000;
/// The longest run `doudi simulate` starts without `--force`.
pub const MAX_SECONDS: u64 = 24 * 3600;

/// What a scenario will cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub households: u64,
    /// Baseline, reform and sweep points.
    pub variants: u64,
    pub runs: u64,
    pub months: u64,
    /// Months simulated before the first reported one (calibration's burn-in), in every run.
    pub burn_in: u64,
    /// Extra runs of the baseline that fitting the take-up to a trend target may take (at most).
    pub fit_runs: u64,
    /// Peak memory, bytes.
    pub bytes: u64,
    /// Wall-clock time, seconds.
    pub seconds: u64,
    /// Memory the system says is available (Linux `MemAvailable`), if known.
    pub available: Option<u64>,
}

impl Estimate {
    /// Why the scenario does not fit, if it does not.
    pub fn problem(&self) -> Option<String> {
        if let Some(avail) = self.available {
            if self.bytes > avail {
                return Some(format!(
                    "it needs about {} of memory and {} is available",
                    gib(self.bytes),
                    gib(avail)
                ));
            }
        }
        if self.seconds > MAX_SECONDS {
            return Some(format!("it would run for about {}", duration(self.seconds)));
        }
        None
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        let mut extra = String::new();
        if self.burn_in > 0 {
            extra.push_str(&format!(" (+{} burn-in)", self.burn_in));
        }
        if self.fit_runs > 0 {
            extra.push_str(&format!(
                ", up to {} runs more to fit the take-up",
                self.fit_runs
            ));
        }
        format!(
            "{} households × {} variant{} × {} run{} × {} months{extra}: about {} of memory and {}",
            self.households,
            self.variants,
            if self.variants == 1 { "" } else { "s" },
            self.runs,
            if self.runs == 1 { "" } else { "s" },
            self.months,
            gib(self.bytes),
            duration(self.seconds)
        )
    }
}

fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
}

fn duration(s: u64) -> String {
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// The lines of a file after its header (a household count for `households.csv`), without holding
/// the file in memory; `None` if it cannot be read.
fn data_rows(path: &std::path::Path) -> Option<u64> {
    let f = std::fs::File::open(path).ok()?;
    let mut r = BufReader::with_capacity(1 << 16, f);
    let mut n = 0u64;
    loop {
        let buf = r.fill_buf().ok()?;
        if buf.is_empty() {
            break;
        }
        n += buf.iter().filter(|&&c| c == b'\n').count() as u64;
        let len = buf.len();
        r.consume(len);
    }
    Some(n.saturating_sub(1))
}

/// Memory available to a new process, from `/proc/meminfo` (Linux); `None` elsewhere.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Estimates a scenario as it will run (after any `--runs` override), against `available` bytes.
pub fn estimate(s: &Scenario, available: Option<u64>) -> Estimate {
    let households = match (&s.population.households, &s.population.data) {
        (Some(n), _) => *n,
        (None, Some(dir)) => data_rows(&s.resolve(dir).join("households.csv")).unwrap_or(0),
        (None, None) => 0,
    };
    let sweep = s
        .sweep
        .as_ref()
        .map_or(0, |sw| sweep_values(sw).map_or(0, |v| v.len() as u64));
    let variants = 1 + s.reform.is_some() as u64 + sweep;
    let runs = s.scenario.runs as u64;
    let months = s.scenario.months as u64;
    let burn_in = u64::from(s.calibration.burn_in_months);
    // Calibration simulates the first reported month twice (to measure, then for real), and fitting
    // the take-up runs the baseline at most `2 + FIT_STEPS` times `FIT_RUNS` runs.
    let calibrated = !s.targets.is_empty();
    let fits = s
        .targets
        .iter()
        .any(|t| t.measure == crate::calibrate::Measure::CaseloadTrend)
        && s.calibration.fit_take_up
        && s.calibration.take_up.is_none()
        && s.dynamics.take_up.is_auto();
    let fit_runs = if fits {
        runs.clamp(1, u64::from(crate::calibrate::FIT_RUNS))
            * (2 + crate::calibrate::FIT_STEPS as u64)
    } else {
        0
    };
    let bytes = households
        .saturating_mul(variants)
        .saturating_mul(BYTES_PER_HOUSEHOLD)
        .saturating_add(BASE_BYTES);
    let work = households.saturating_mul(
        variants
            .saturating_mul(runs)
            .saturating_add(fit_runs)
            .saturating_mul(months + burn_in + calibrated as u64),
    );
    Estimate {
        households,
        variants,
        runs,
        months,
        burn_in,
        fit_runs,
        bytes,
        seconds: work / HOUSEHOLD_MONTHS_PER_SECOND,
        available,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(households: u64, runs: u32, months: u32, sweep: usize) -> Scenario {
        let sweep = if sweep > 0 {
            let values: Vec<String> = (0..sweep).map(|i| format!("\"{}\"", 700 + i)).collect();
            format!(
                "[sweep]\nparameter = \"dibao_standard.urban\"\nvalues = [{}]\n",
                values.join(", ")
            )
        } else {
            String::new()
        };
        let text = format!(
            "[scenario]\nname = \"x\"\npolicy = \"p\"\nstart = \"2024-01\"\nmonths = {months}\nruns = {runs}\n\n[population]\nspec = \"s.toml\"\nhouseholds = {households}\n\n{sweep}"
        );
        Scenario::from_toml_str(&text, "x.toml", std::path::Path::new(".")).unwrap()
    }

    #[test]
    fn a_product_of_limits_is_refused_and_a_small_scenario_is_not() {
        let small = estimate(&scenario(10_000, 20, 36, 0), Some(8 << 30));
        assert_eq!(small.variants, 1);
        assert_eq!(small.problem(), None, "{}", small.describe());
        // Each dimension within its limit, the product enormous.
        let huge = estimate(&scenario(10_000_000, 1000, 600, 200), Some(64 << 30));
        assert_eq!(huge.variants, 201);
        let p = huge.problem().unwrap();
        assert!(p.contains("of memory"), "{p}");
        // Fits in memory but would run for days.
        let long = estimate(&scenario(1_000_000, 1000, 600, 0), Some(1 << 40));
        assert!(
            long.problem().unwrap().contains("run for about"),
            "{}",
            long.describe()
        );
        // The burn-in and the take-up fit count: the shipped baseline's work is more than its 20 runs.
        let baseline = Scenario::load(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../scenarios/jian-baseline.toml"),
        )
        .unwrap();
        let e = estimate(&baseline, None);
        assert_eq!(e.burn_in, 24);
        assert_eq!(e.fit_runs, 21, "{}", e.describe());
        let plain = e.households * e.runs * e.months / HOUSEHOLD_MONTHS_PER_SECOND;
        assert!(e.seconds > plain * 2, "{} against {plain}", e.seconds);
        assert!(e.describe().contains("+24 burn-in"), "{}", e.describe());
        // Unknown memory: judged by time only.
        assert_eq!(
            estimate(&scenario(1_000_000, 1, 24, 0), None).problem(),
            None
        );
    }
}
