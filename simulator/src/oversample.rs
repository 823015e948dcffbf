//! Oversampling of rare groups: a population spec's `[[oversample]]` strata are sampled at `rate`
//! times the rate of the other households, and weighted `1 / rate` relative to them, so that a
//! programme with few recipients (the care allowance, centralised care) rests on enough simulated
//! cases while every total stays unbiased.
//!
//! The generator draws household `i` from its own stream. The main sample is households `0..n`; a
//! stratum of rate `r` also keeps every household of indices `n..n·r` that falls in it (and in no
//! earlier stratum). So stratum `h` is sampled from households `0..n·r_h`: each of its households
//! stands for `weight / r_h` households. Weights stay whole numbers: `weight / r_h` is rounded up or
//! down by a deterministic draw of the household, so the rounding is unbiased.

use crate::population::{GeneratedHousehold, Generator, IllnessKind, SelfCare};
use rayon::prelude::*;
use serde::Deserialize;

/// A `[[oversample]]` stratum of a population spec.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stratum {
    pub name: String,
    /// `urban` or `rural`; absent: both.
    #[serde(default)]
    pub area: Option<String>,
    /// A region code of the spec (`[regions.<code>]`); absent: every region. For a programme that
    /// only some regions run (centralised care, adopted in Qingyuan only).
    #[serde(default)]
    pub region: Option<String>,
    /// The stratum's sampling rate relative to the other households (≥ 1).
    #[serde(default = "one")]
    pub rate: u32,
    /// Every household of the stratum in the reference population is simulated, each standing for
    /// itself (weight 1): the rate is the main sample's weight, `rate` is not given. These households
    /// are certain, as in a survey's take-all stratum: the bootstrap does not resample them and
    /// calibration does not reweight them, so a programme they hold has no sampling error.
    #[serde(default)]
    pub take_all: bool,
    /// Only households whose counted members' mean monthly income (yuan, before deductions) is
    /// below this.
    #[serde(default)]
    pub max_income_per_capita: Option<f64>,
    #[serde(default)]
    pub pure_female: Option<bool>,
    #[serde(default)]
    pub registered_poor: Option<bool>,
    /// The household has a counted member matching one of these (absent: any household).
    #[serde(default)]
    pub any_member: Vec<MemberCondition>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

/// A condition on one member: every given field must hold.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MemberCondition {
    #[serde(default)]
    pub min_age: Option<u32>,
    /// `semi_disabled`, `fully_disabled`, `independent`.
    #[serde(default)]
    pub self_care: Vec<String>,
    #[serde(default)]
    pub disability_grades: Vec<u8>,
    /// `uremia`, `mental`, `cancer`, `other_major`, `chronic`, `none`.
    #[serde(default)]
    pub illnesses: Vec<String>,
    #[serde(default)]
    pub has_supporter: Option<bool>,
}

fn one() -> u32 {
    1
}

/// The strata with the rates in force when the main sample's households stand for `weight` each:
/// a take-all stratum's rate is `weight` (at most [`MAX_RATE`]).
pub fn effective(strata: &[Stratum], weight: u64) -> Vec<Stratum> {
    strata
        .iter()
        .map(|s| {
            let mut s = s.clone();
            if s.take_all {
                s.rate = weight.clamp(1, u64::from(MAX_RATE)) as u32;
            }
            s
        })
        .collect()
}

/// The largest rate a stratum may have.
pub const MAX_RATE: u32 = 1000;

impl MemberCondition {
    fn matches(&self, p: &crate::population::GeneratedPerson) -> bool {
        let sc = |s: SelfCare| s.as_str();
        let il = |i: IllnessKind| i.as_str();
        p.counted()
            && self.min_age.is_none_or(|a| p.age >= a)
            && (self.self_care.is_empty() || self.self_care.iter().any(|s| s == sc(p.self_care)))
            && (self.disability_grades.is_empty()
                || self.disability_grades.contains(&p.disability_grade))
            && (self.illnesses.is_empty() || self.illnesses.iter().any(|s| s == il(p.illness)))
            && self.has_supporter.is_none_or(|s| s == p.has_supporter)
    }
}

impl Stratum {
    /// Whether a generated household is in the stratum; `region_codes`: the generator's region codes
    /// (`Generator::region_codes`), which `GeneratedHousehold::region` indexes.
    pub fn matches(&self, region_codes: &[String], h: &GeneratedHousehold) -> bool {
        if self.area.as_deref().is_some_and(|a| a != h.area.as_str())
            || self
                .region
                .as_deref()
                .is_some_and(|r| region_codes.get(h.region).is_none_or(|c| c != r))
            || self.pure_female.is_some_and(|x| x != h.pure_female)
            || self.registered_poor.is_some_and(|x| x != h.registered_poor)
        {
            return false;
        }
        if let Some(max) = self.max_income_per_capita {
            let n = h.counted();
            if n == 0 || h.counted_income() as f64 / 100.0 / n as f64 >= max {
                return false;
            }
        }
        self.any_member.is_empty()
            || h.members
                .iter()
                .any(|p| self.any_member.iter().any(|c| c.matches(p)))
    }

    /// Problems with the stratum's values (`oversample[i].key: message`); `region_codes`: the spec's
    /// region codes.
    pub fn problems(&self, i: usize, region_codes: &[&str]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let key = |k: &str| format!("oversample[{i}].{k}");
        if self.take_all && self.rate != 1 {
            out.push((
                key("rate"),
                "a take-all stratum has no rate (its households stand for themselves)".into(),
            ));
        }
        if !(1..=MAX_RATE).contains(&self.rate) {
            out.push((
                key("rate"),
                format!("must be between 1 and {MAX_RATE}, found {}", self.rate),
            ));
        }
        if self
            .max_income_per_capita
            .is_some_and(|m| !(m.is_finite() && m > 0.0))
        {
            out.push((
                key("max_income_per_capita"),
                "must be a positive number of yuan".into(),
            ));
        }
        for (j, c) in self.any_member.iter().enumerate() {
            for s in &c.self_care {
                if !["independent", "semi_disabled", "fully_disabled"].contains(&s.as_str()) {
                    out.push((
                        key(&format!("any_member[{j}].self_care")),
                        format!("`{s}` is not independent, semi_disabled or fully_disabled"),
                    ));
                }
            }
            for s in &c.illnesses {
                if ![
                    "none",
                    "uremia",
                    "mental",
                    "cancer",
                    "other_major",
                    "chronic",
                ]
                .contains(&s.as_str())
                {
                    out.push((
                        key(&format!("any_member[{j}].illnesses")),
                        format!("`{s}` is not an illness code of DATA.md"),
                    ));
                }
            }
        }
        if self
            .area
            .as_deref()
            .is_some_and(|a| a != "urban" && a != "rural")
        {
            out.push((key("area"), "must be `urban` or `rural`".into()));
        }
        if let Some(r) = &self.region {
            if !region_codes.contains(&r.as_str()) {
                out.push((
                    key("region"),
                    format!(
                        "`{r}` is not a region of the spec (regions: {})",
                        region_codes.join(", ")
                    ),
                ));
            }
        }
        if self.source.is_none() && self.assumption.is_none() {
            out.push((key("assumption"), "say why the stratum is oversampled (`assumption`) or where its definition comes from (`source`)".into()));
        }
        out
    }
}

/// The first stratum a household falls in (`region_codes`: as [`Stratum::matches`]).
pub fn stratum_of(
    strata: &[Stratum],
    region_codes: &[String],
    h: &GeneratedHousehold,
) -> Option<usize> {
    strata.iter().position(|s| s.matches(region_codes, h))
}

/// The extra households of the strata beyond the main sample `0..n`: `(index, stratum)` in index
/// order, every household of `n..n·rate` whose first stratum is one of rate `rate`.
pub fn extra_households(g: &Generator, strata: &[Stratum], n: u64) -> Vec<(u64, usize)> {
    let max_rate = strata.iter().map(|s| s.rate).max().unwrap_or(1) as u64;
    let end = n.saturating_mul(max_rate);
    const BLOCK: u64 = 4096;
    let blocks: Vec<u64> = (n..end).step_by(BLOCK as usize).collect();
    blocks
        .into_par_iter()
        .flat_map_iter(|b| {
            let mut found = Vec::new();
            for i in b..(b + BLOCK).min(end) {
                // Strata do not depend on the roll: the policy is not asked.
                let h = g.household_before_roll_draw(i);
                if let Some(k) = stratum_of(strata, g.region_codes(), &h) {
                    if i < n.saturating_mul(strata[k].rate as u64) {
                        found.push((i, k));
                    }
                }
            }
            found.into_iter()
        })
        .collect()
}

/// The whole-number weight of a household of stratum `rate` (or of none: `rate` 1), when the other
/// households stand for `weight` each: `weight / rate`, rounded up or down by a draw of the
/// household index so that the rounding is unbiased.
pub fn weight_of(weight: u64, rate: u32, index: u64) -> u64 {
    if rate <= 1 {
        return weight;
    }
    let exact = weight as f64 / rate as f64;
    let floor = exact.floor();
    let mut x = index ^ 0x6F76_6572_7361_6D70; // "oversamp"
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    let u = (x >> 11) as f64 / (1u64 << 53) as f64;
    (floor as u64) + ((exact - floor) > u) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_weights_are_unbiased() {
        let n = 100_000u64;
        let sum: u64 = (0..n).map(|i| weight_of(153, 20, i)).sum();
        let mean = sum as f64 / n as f64;
        assert!((mean - 7.65).abs() < 0.01, "mean weight {mean}");
        assert_eq!(weight_of(153, 1, 5), 153);
    }
}
