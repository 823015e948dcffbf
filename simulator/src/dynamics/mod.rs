//! Monthly dynamics of the population (policy-independent): ageing, deaths, disability, self-care
//! loss and illness by age, job loss and gain, wage growth, schooling transitions; and the rates of
//! the administrative process (take-up, approval lag, review, reporting of changes, credit events)
//! that `run.rs` applies per policy variant.
//!
//! Every rate is a named scenario parameter (`[dynamics]`) with the default documented on its field.
//! Rates given `per_year` are probabilities over a year, converted to a monthly probability
//! `1 − (1 − p)^(1/12)`; `per_month` rates are used as they are.
//!
//! Random numbers: household `i` in month `t` of run `r` draws from a ChaCha8 stream whose key is
//! derived from (seed, r, purpose) and whose stream number is `i`, positioned at month `t`: nothing
//! depends on another household, on thread count or on evaluation order. Every person draws the same
//! number of values each month whatever happens to them, so draws stay aligned.

mod params;
mod random;
mod slots;
mod step;
mod validate;

pub use params::{AgeRate, AreaAmounts, Dynamics, HealthBand, IllnessKinds, TakeUp};
pub use random::{unit, Normal, Purpose, StreamKey};
pub use slots::{cents_of, money, Slots};
use slots::{enum_of, int_of, yuan_cents};
pub use step::{Actual, Events, PersonSim};

/// The share of the able-to-work turnover (ageing out, entering) that is a net loss of employment,
/// for the stationary job-finding rate (assumption, measured on the Ji'an population).
pub const TURNOVER_NET_LOSS: f64 = 0.6;

/// The monthly probabilities of a [`Dynamics`], computed once.
#[derive(Debug, Clone)]
pub struct Rates {
    /// (from_age, monthly death probability, same for uremia/cancer)
    mortality: Vec<(u32, f64, f64)>,
    /// (from_age, [disability, self_care_loss, self_care_worsening, major_illness, chronic_illness])
    health: Vec<(u32, [f64; 5])>,
    recovery: f64,
    job_loss: f64,
    job_find: f64,
}

impl Rates {
    pub fn new(d: &Dynamics) -> Rates {
        Rates {
            mortality: d
                .mortality
                .iter()
                .map(|b| {
                    (
                        b.from_age,
                        monthly(b.per_year),
                        monthly((b.per_year * d.major_illness_mortality_multiplier).min(1.0)),
                    )
                })
                .collect(),
            health: d
                .health
                .iter()
                .map(|h| {
                    (
                        h.from_age,
                        [
                            monthly(h.disability),
                            monthly(h.self_care_loss),
                            monthly(h.self_care_worsening),
                            monthly(h.major_illness),
                            monthly(h.chronic_illness),
                        ],
                    )
                })
                .collect(),
            recovery: monthly(d.major_illness_recovery_per_year),
            job_loss: monthly(d.job_loss_per_year),
            job_find: monthly(d.job_find_rate()),
        }
    }
}

/// A yearly probability as a monthly one.
pub fn monthly(p_year: f64) -> f64 {
    if p_year >= 1.0 {
        1.0
    } else if p_year <= 0.0 {
        0.0
    } else {
        1.0 - (1.0 - p_year).powf(1.0 / 12.0)
    }
}

fn band_of<T>(bands: &[T], age: i64, from: impl Fn(&T) -> u32) -> Option<&T> {
    bands.iter().rev().find(|b| age >= from(b) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monthly_rates() {
        assert_eq!(monthly(0.0), 0.0);
        assert_eq!(monthly(1.0), 1.0);
        let m = monthly(0.12);
        assert!((1.0 - (1.0 - m).powi(12) - 0.12).abs() < 1e-12);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let k = StreamKey::new(7, 0, Purpose::Dynamics);
        let a: Vec<f64> = (0..4).map(|_| unit(&mut k.stream(3, 5))).collect();
        let b = unit(&mut k.stream(3, 5));
        assert_eq!(a[0], b);
        assert_ne!(unit(&mut k.stream(4, 5)), b);
        assert_ne!(unit(&mut k.stream(3, 6)), b);
        let k2 = StreamKey::new(7, 1, Purpose::Dynamics);
        assert_ne!(unit(&mut k2.stream(3, 5)), b);
    }

    #[test]
    fn defaults_validate() {
        let mut p = Vec::new();
        Dynamics::default().validate_into(&mut p);
        assert!(p.is_empty(), "{p:?}");
        let mut p = Vec::new();
        Dynamics::frozen().validate_into(&mut p);
        assert!(p.is_empty(), "{p:?}");
    }
}
