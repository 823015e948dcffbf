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

use crate::scenario::Problem;
use crate::work;
use doudi_interpreter::data::{FieldType, Schema};
use doudi_interpreter::packed::MemberFields;
use doudi_interpreter::{Num, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An age band with a yearly probability; a band runs from `from_age` to the next band's `from_age`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgeRate {
    pub from_age: u32,
    pub per_year: f64,
}

/// Yearly onset probabilities by age band (from `from_age` to the next band).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HealthBand {
    pub from_age: u32,
    /// Onset of a disability (any grade; `severe_disability_share` of them grade 1–2).
    pub disability: f64,
    /// Independent → semi-disabled (半失能).
    pub self_care_loss: f64,
    /// Semi-disabled → fully disabled (完全失能).
    pub self_care_worsening: f64,
    /// Onset of a major illness (uremia, mental illness, cancer, other major).
    pub major_illness: f64,
    /// Onset of a serious chronic illness (for persons with none).
    pub chronic_illness: f64,
}

/// Per-area amounts (yuan per month).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AreaAmounts {
    pub urban: f64,
    pub rural: f64,
}

/// Shares of the kinds of a new major illness; they are normalised.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IllnessKinds {
    pub uremia: f64,
    pub mental: f64,
    pub cancer: f64,
    pub other_major: f64,
}

/// Take-up: a probability, or `"auto"`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TakeUp {
    Rate(f64),
    Named(String),
}

impl TakeUp {
    pub fn is_auto(&self) -> bool {
        matches!(self, TakeUp::Named(n) if n == "auto")
    }
    /// The rate, when it is a number.
    pub fn rate(&self) -> Option<f64> {
        match self {
            TakeUp::Rate(r) => Some(*r),
            TakeUp::Named(_) => None,
        }
    }
}

/// The rates of the simulation. Defaults are illustrative assumptions unless a seed is cited; replace
/// them with local figures when known.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dynamics {
    // ---- applications and administration ----------------------------------------------------
    /// Take-up: the probability that a household applies when it is eligible and not on dibao. Each
    /// household is drawn once (per run) to be one that applies or one that does not. A number in
    /// [0, 1], or `"auto"` (default): the share of the households eligible in the first month that the
    /// data shows on dibao (the observed take-up); with `"auto"`, households eligible but not on dibao
    /// in the first month are taken not to apply (they had the chance), and households on dibao do.
    pub take_up: TakeUp,
    /// Take-up of a household with a member able to work ([`Dynamics::able_to_work`]) as a share of
    /// the take-up of the others, judged once per run from the data. Default 1 (no difference). Below 1
    /// when households able to work apply less or are approved less often by the village's or
    /// community's appraisal (民主评议): studies of dibao targeting find recipients concentrated among the
    /// elderly, the disabled and the ill.
    pub take_up_able_factor: f64,
    /// Per month: probability that a household that applies, eligible and not on dibao (nor already
    /// applying), files its application this month. Default 0.25 (assumption: about three months on
    /// average; seed 002's active discovery would raise it).
    pub apply_per_month: f64,
    /// Working days the offices take from application to decision (behaviour), on the policy's
    /// working-day calendar. Default 15: decisions on the last day the policy's deadline allows (seed
    /// 003: "55732", within 15 working days).
    pub approval_lag_working_days: u32,
    /// Each application's processing time is drawn uniformly within ± this many working days of
    /// `approval_lag_working_days`. Default 0 (no published figure on how often the deadline is
    /// missed); decisions after the policy's `decision_deadline` are counted as `decided_late`.
    pub approval_lag_spread_working_days: u32,
    /// Working days in a month, for placing the decision in a month. Default 21.
    pub working_days_per_month: u32,
    /// Months between reviews of a household on dibao. Default 12 (assumption: annual review).
    pub review_interval_months: u32,
    /// Per month: probability that a change of a recipient's circumstances (job, income, health,
    /// schooling) is reported or found by data cross-checks (seed 002) in the month it happens;
    /// otherwise it waits for the review. Deaths are always found (civil registration). Default 0.5.
    pub change_report_rate: f64,
    /// Per year: probability that a household on dibao is confirmed seriously or severely dishonest
    /// (seed 000 tiers); dibao stops that month. Default 0.005 (assumption).
    pub dishonesty_per_year: f64,
    /// Share of `severe` among confirmed cases (the rest `serious`). Default 0.2 (assumption).
    pub severe_share: f64,
    /// Months after a confirmed case before credit repair can be granted. Default 6 (seed 000: applied
    /// for within half a year after correcting).
    pub credit_repair_after_months: u32,
    /// Per month after that: probability of repair (the household's credit becomes `general`).
    /// Default 0.1 (assumption).
    pub credit_repair_per_month: f64,

    // ---- demography -------------------------------------------------------------------------
    /// Yearly probability of death by age. Default: rounded from China's recent life tables (assumption).
    pub mortality: Vec<AgeRate>,
    /// Multiplies mortality for persons with uremia or cancer. Default 3 (assumption).
    pub major_illness_mortality_multiplier: f64,

    // ---- health -----------------------------------------------------------------------------
    /// Onset rates by age (see [`HealthBand`]). Default: illustrative rates rising with age (assumption).
    pub health: Vec<HealthBand>,
    /// Share of new disabilities that are severe (grade 1 or 2). Default 0.3 (assumption).
    pub severe_disability_share: f64,
    /// Yearly rehabilitation spending of a new severe disability: lognormal median (yuan/year) and sigma.
    /// Default 4000, 0.6 (assumption).
    pub rehab_cost_median: f64,
    pub rehab_cost_sigma: f64,
    /// Out-of-pocket medical costs over 12 months after a major illness: median (yuan) and sigma.
    /// Default 20000, 0.8 (assumption).
    pub major_illness_cost_median: f64,
    pub major_illness_cost_sigma: f64,
    /// Same for a serious chronic illness. Default 3000, 0.7 (assumption).
    pub chronic_illness_cost_median: f64,
    pub chronic_illness_cost_sigma: f64,
    /// Kinds of a new major illness. Default uremia 0.1, mental 0.2, cancer 0.35, other 0.35 (assumption).
    pub major_illness_kinds: IllnessKinds,
    /// Per year: recovery from cancer or another major illness (illness and its costs end). Default 0.3.
    pub major_illness_recovery_per_year: f64,

    /// Calendar month (1–12) in which everybody's age goes up by one (the data has ages, not birth
    /// dates). Default 1.
    pub ageing_month: u32,

    // ---- labour -----------------------------------------------------------------------------
    /// Per year: an employed person loses the job. Default 0.12 (assumption).
    pub job_loss_per_year: f64,
    /// Per year: a person able to work and not employed finds a job. A number, or `"auto"` (default):
    /// the rate that keeps employment where the population starts, `(job_loss + turnover) × E / (1 − E)`
    /// in monthly terms (turnover: 1 / the months of working life, the able-to-work persons who age out
    /// and are replaced by young entrants), with E the employed share of the persons able to work (working age, not in
    /// school, able-bodied) in the first simulated month — so employment is stationary.
    pub job_find_per_year: TakeUp,
    /// Youngest age at which a person looks for work. Default 16.
    pub working_age_min: u32,
    /// Age from which nobody looks for work. Default 60.
    pub retirement_age: u32,
    /// Probability that an employed person stops working on reaching `retirement_age`. Default 0.5.
    pub retirement_rate: f64,
    /// Monthly wage of a new job: lognormal median by area (yuan/month) and sigma. Default urban 2600,
    /// rural 1800, sigma 0.45 (assumption).
    pub new_job_income_median: AreaAmounts,
    pub new_job_income_sigma: f64,
    /// Yearly growth of work incomes, applied in `wage_growth_month`. Default 0.04 (assumption).
    pub wage_growth_per_year: f64,
    /// Calendar month of the yearly wage rise (1–12), or 0 (default): each household's workers get
    /// their rise in a month of their own, drawn once, so raises are spread over the year (no wave
    /// of income exits in one month).
    pub wage_growth_month: u32,

    // ---- schooling --------------------------------------------------------------------------
    /// Calendar month in which the school year starts (1–12). Default 9.
    pub school_year_start_month: u32,
    /// Age at school entry (compulsory education). Default 6.
    pub school_entry_age: u32,
    /// Years of compulsory education. Default 9.
    pub compulsory_years: u32,
    /// After compulsory education: share continuing to upper secondary school. Default 0.9.
    pub upper_secondary_rate: f64,
    /// Of those: share in secondary vocational school (the rest ordinary high school). Default 0.45.
    pub secondary_vocational_share: f64,
    /// After upper secondary (3 years): share continuing to tertiary education. Default 0.55.
    pub tertiary_rate: f64,
    /// Of those: share in higher vocational college (3 years; the rest university, 4 years). Default 0.5.
    pub higher_vocational_share: f64,
    /// Yearly tuition by school kind (yuan). Defaults 1500, 2000, 6000, 5500 (assumption).
    pub tuition_high_school: f64,
    pub tuition_secondary_vocational: f64,
    pub tuition_higher_vocational: f64,
    pub tuition_university: f64,
    /// Probability that a tertiary graduate starts a job at once (as a fresh graduate). Default 0.7.
    pub graduate_employment_rate: f64,
    /// Months during which a graduate's job counts as a fresh graduate's (employment cost deduction).
    /// Default 12 (assumption).
    pub fresh_graduate_months: u32,
}

impl Default for Dynamics {
    fn default() -> Self {
        let band = |from_age,
                    disability,
                    self_care_loss,
                    self_care_worsening,
                    major_illness,
                    chronic_illness| HealthBand {
            from_age,
            disability,
            self_care_loss,
            self_care_worsening,
            major_illness,
            chronic_illness,
        };
        Dynamics {
            take_up: TakeUp::Named("auto".into()),
            take_up_able_factor: 1.0,
            apply_per_month: 0.25,
            approval_lag_working_days: 15,
            approval_lag_spread_working_days: 0,
            working_days_per_month: 21,
            review_interval_months: 12,
            change_report_rate: 0.5,
            dishonesty_per_year: 0.005,
            severe_share: 0.2,
            credit_repair_after_months: 6,
            credit_repair_per_month: 0.1,
            mortality: [
                (0, 0.0008),
                (40, 0.002),
                (50, 0.005),
                (60, 0.009),
                (65, 0.014),
                (70, 0.024),
                (75, 0.04),
                (80, 0.07),
                (85, 0.12),
                (90, 0.22),
            ]
            .into_iter()
            .map(|(from_age, per_year)| AgeRate { from_age, per_year })
            .collect(),
            major_illness_mortality_multiplier: 3.0,
            health: vec![
                band(0, 0.001, 0.0005, 0.05, 0.001, 0.003),
                band(40, 0.003, 0.001, 0.05, 0.004, 0.01),
                band(60, 0.006, 0.01, 0.1, 0.01, 0.02),
                band(70, 0.012, 0.03, 0.12, 0.015, 0.02),
                band(80, 0.025, 0.08, 0.15, 0.015, 0.02),
            ],
            severe_disability_share: 0.3,
            rehab_cost_median: 4000.0,
            rehab_cost_sigma: 0.6,
            major_illness_cost_median: 20000.0,
            major_illness_cost_sigma: 0.8,
            chronic_illness_cost_median: 3000.0,
            chronic_illness_cost_sigma: 0.7,
            major_illness_kinds: IllnessKinds {
                uremia: 0.1,
                mental: 0.2,
                cancer: 0.35,
                other_major: 0.35,
            },
            major_illness_recovery_per_year: 0.3,
            ageing_month: 1,
            job_loss_per_year: 0.12,
            job_find_per_year: TakeUp::Named("auto".into()),
            working_age_min: work::DEFAULT_WORKING_AGE_MIN,
            retirement_age: work::DEFAULT_RETIREMENT_AGE,
            retirement_rate: 0.5,
            new_job_income_median: AreaAmounts {
                urban: 2600.0,
                rural: 1800.0,
            },
            new_job_income_sigma: 0.45,
            wage_growth_per_year: 0.04,
            wage_growth_month: 0,
            school_year_start_month: 9,
            school_entry_age: 6,
            compulsory_years: 9,
            upper_secondary_rate: 0.9,
            secondary_vocational_share: 0.45,
            tertiary_rate: 0.55,
            higher_vocational_share: 0.5,
            tuition_high_school: 1500.0,
            tuition_secondary_vocational: 2000.0,
            tuition_higher_vocational: 6000.0,
            tuition_university: 5500.0,
            graduate_employment_rate: 0.7,
            fresh_graduate_months: 12,
        }
    }
}

impl Dynamics {
    /// The yearly job-finding rate in force (`"auto"` before it is resolved: 0.25).
    pub fn job_find_rate(&self) -> f64 {
        self.job_find_per_year.rate().unwrap_or(0.25)
    }

    /// Resolves `job_find_per_year = "auto"`: the rate that balances job losses at the employed share
    /// `employed` of the persons able to work.
    pub fn resolve_job_find(&mut self, employed: f64) {
        if self.job_find_per_year.is_auto() {
            // Each month about 1/(12 × working years) of the persons able to work age out and are
            // replaced by young entrants; on the Ji'an population about 60 % of that turnover is a
            // net loss of employment (some keep working past 60, graduates enter employed): measured
            // by the test `employment_is_stationary_over_36_months`, balanced like a job loss.
            let turnover = TURNOVER_NET_LOSS
                / (12.0
                    * self
                        .retirement_age
                        .saturating_sub(self.working_age_min)
                        .max(1) as f64);
            let loss = monthly(self.job_loss_per_year) + turnover;
            let e = employed.clamp(0.0, 0.99);
            let find = (loss * e / (1.0 - e)).min(1.0);
            self.job_find_per_year = TakeUp::Rate(1.0 - (1.0 - find).powi(12));
        }
    }

    /// Whether a person (its age, self-care, disability grade, illness, schooling) can look for work,
    /// with this scenario's working ages ([`work::able_to_work`]).
    pub fn able_to_work(&self, hh: &impl MemberFields, m: usize, s: &Slots) -> bool {
        let circumstances = work::Circumstances {
            present: hh.member_bool(m, s.alive) && !hh.member_bool(m, s.imprisoned),
            age: hh.member_int(m, s.age).unwrap_or(0),
            independent: hh.member_enum(m, s.self_care) == Some(s.sc_independent),
            disability_grade: hh.member_int(m, s.disability_grade).unwrap_or(0),
            serious_illness: hh
                .member_enum(m, s.illness)
                .is_some_and(|ill| s.serious_illness(ill)),
            in_school: hh.member_enum(m, s.schooling) != Some(s.sch_none),
        };
        work::able_to_work(&circumstances, self.working_age_min, self.retirement_age)
    }
    /// Whether some member of the household can look for work ([`Dynamics::able_to_work`]).
    pub fn household_able_to_work(&self, hh: &impl MemberFields, s: &Slots) -> bool {
        (0..hh.member_count()).any(|m| self.able_to_work(hh, m, s))
    }

    /// Dynamics where nobody's circumstances change (no deaths, onsets, jobs, wage growth or schooling
    /// transitions, no credit events); the administrative rates keep their defaults.
    pub fn frozen() -> Dynamics {
        let d = Dynamics::default();
        Dynamics {
            dishonesty_per_year: 0.0,
            credit_repair_per_month: 0.0,
            mortality: vec![AgeRate {
                from_age: 0,
                per_year: 0.0,
            }],
            health: vec![HealthBand {
                from_age: 0,
                disability: 0.0,
                self_care_loss: 0.0,
                self_care_worsening: 0.0,
                major_illness: 0.0,
                chronic_illness: 0.0,
            }],
            major_illness_recovery_per_year: 0.0,
            job_loss_per_year: 0.0,
            job_find_per_year: TakeUp::Rate(0.0),
            retirement_rate: 0.0,
            wage_growth_per_year: 0.0,
            upper_secondary_rate: 0.0,
            tertiary_rate: 0.0,
            school_entry_age: 1000,
            compulsory_years: 1000,
            graduate_employment_rate: 0.0,
            ..d
        }
    }

    pub(crate) fn validate_into(&self, problems: &mut Vec<Problem>) {
        let mut err = |key: String, message: String| {
            problems.push(Problem {
                key: format!("dynamics.{key}"),
                message,
            })
        };
        match &self.take_up {
            TakeUp::Rate(r) if !(r.is_finite() && (0.0..=1.0).contains(r)) => err(
                "take_up".into(),
                format!("must be between 0 and 1 or \"auto\", found {r}"),
            ),
            TakeUp::Named(n) if n != "auto" => err(
                "take_up".into(),
                format!("must be between 0 and 1 or \"auto\", found \"{n}\""),
            ),
            _ => {}
        }
        match &self.job_find_per_year {
            TakeUp::Rate(r) if !(r.is_finite() && (0.0..=1.0).contains(r)) => err(
                "job_find_per_year".into(),
                format!("must be between 0 and 1 or \"auto\", found {r}"),
            ),
            TakeUp::Named(n) if n != "auto" => err(
                "job_find_per_year".into(),
                format!("must be between 0 and 1 or \"auto\", found \"{n}\""),
            ),
            _ => {}
        }
        let rates: [(&str, f64); 19] = [
            ("take_up_able_factor", self.take_up_able_factor),
            ("apply_per_month", self.apply_per_month),
            ("change_report_rate", self.change_report_rate),
            ("dishonesty_per_year", self.dishonesty_per_year),
            ("severe_share", self.severe_share),
            ("credit_repair_per_month", self.credit_repair_per_month),
            ("severe_disability_share", self.severe_disability_share),
            (
                "major_illness_recovery_per_year",
                self.major_illness_recovery_per_year,
            ),
            ("job_loss_per_year", self.job_loss_per_year),
            ("retirement_rate", self.retirement_rate),
            ("upper_secondary_rate", self.upper_secondary_rate),
            (
                "secondary_vocational_share",
                self.secondary_vocational_share,
            ),
            ("tertiary_rate", self.tertiary_rate),
            ("higher_vocational_share", self.higher_vocational_share),
            ("graduate_employment_rate", self.graduate_employment_rate),
            (
                "major_illness_kinds.uremia",
                self.major_illness_kinds.uremia,
            ),
            (
                "major_illness_kinds.mental",
                self.major_illness_kinds.mental,
            ),
            (
                "major_illness_kinds.cancer",
                self.major_illness_kinds.cancer,
            ),
            (
                "major_illness_kinds.other_major",
                self.major_illness_kinds.other_major,
            ),
        ];
        for (k, v) in rates {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                err(k.into(), format!("must be between 0 and 1, found {v}"));
            }
        }
        let k = &self.major_illness_kinds;
        if k.uremia + k.mental + k.cancer + k.other_major <= 0.0 {
            err(
                "major_illness_kinds".into(),
                "the shares must not all be 0".into(),
            );
        }
        let nonneg: [(&str, f64); 14] = [
            (
                "major_illness_mortality_multiplier",
                self.major_illness_mortality_multiplier,
            ),
            ("rehab_cost_median", self.rehab_cost_median),
            ("major_illness_cost_median", self.major_illness_cost_median),
            (
                "chronic_illness_cost_median",
                self.chronic_illness_cost_median,
            ),
            (
                "new_job_income_median.urban",
                self.new_job_income_median.urban,
            ),
            (
                "new_job_income_median.rural",
                self.new_job_income_median.rural,
            ),
            ("new_job_income_sigma", self.new_job_income_sigma),
            ("tuition_high_school", self.tuition_high_school),
            (
                "tuition_secondary_vocational",
                self.tuition_secondary_vocational,
            ),
            ("tuition_higher_vocational", self.tuition_higher_vocational),
            ("tuition_university", self.tuition_university),
            ("rehab_cost_sigma", self.rehab_cost_sigma),
            ("major_illness_cost_sigma", self.major_illness_cost_sigma),
            (
                "chronic_illness_cost_sigma",
                self.chronic_illness_cost_sigma,
            ),
        ];
        for (k, v) in nonneg {
            if !(v.is_finite() && v >= 0.0) {
                err(
                    k.into(),
                    format!("must be a number of at least 0, found {v}"),
                );
            } else if v > 1e9 {
                err(k.into(), format!("implausibly large: {v}"));
            }
        }
        for (k, v) in [
            ("rehab_cost_sigma", self.rehab_cost_sigma),
            ("major_illness_cost_sigma", self.major_illness_cost_sigma),
            (
                "chronic_illness_cost_sigma",
                self.chronic_illness_cost_sigma,
            ),
            ("new_job_income_sigma", self.new_job_income_sigma),
        ] {
            if v.is_finite() && v > 3.0 {
                err(
                    k.into(),
                    format!("a lognormal sigma above 3 is implausible, found {v}"),
                );
            }
        }
        if !(self.wage_growth_per_year.is_finite()
            && (-0.5..=1.0).contains(&self.wage_growth_per_year))
        {
            err(
                "wage_growth_per_year".into(),
                format!(
                    "must be between -0.5 and 1, found {}",
                    self.wage_growth_per_year
                ),
            );
        }
        if self.wage_growth_month > 12 {
            err(
                "wage_growth_month".into(),
                format!(
                    "must be a calendar month 1–12, or 0 (spread over the year), found {}",
                    self.wage_growth_month
                ),
            );
        }
        for (k, v) in [
            ("school_year_start_month", self.school_year_start_month),
            ("ageing_month", self.ageing_month),
        ] {
            if !(1..=12).contains(&v) {
                err(
                    k.into(),
                    format!("must be a calendar month 1–12, found {v}"),
                );
            }
        }
        if self.working_days_per_month == 0 || self.working_days_per_month > 31 {
            err(
                "working_days_per_month".into(),
                format!(
                    "must be between 1 and 31, found {}",
                    self.working_days_per_month
                ),
            );
        }
        if self.approval_lag_spread_working_days > self.approval_lag_working_days {
            err(
                "approval_lag_spread_working_days".into(),
                format!(
                    "at most approval_lag_working_days ({}), found {}",
                    self.approval_lag_working_days, self.approval_lag_spread_working_days
                ),
            );
        }
        if self.approval_lag_working_days > 2000 {
            err(
                "approval_lag_working_days".into(),
                format!("at most 2000, found {}", self.approval_lag_working_days),
            );
        }
        if self.review_interval_months == 0 || self.review_interval_months > 600 {
            err(
                "review_interval_months".into(),
                format!(
                    "must be between 1 and 600, found {}",
                    self.review_interval_months
                ),
            );
        }
        if self.fresh_graduate_months > 255 {
            err(
                "fresh_graduate_months".into(),
                format!("at most 255, found {}", self.fresh_graduate_months),
            );
        }
        check_bands(
            &mut err,
            "mortality",
            self.mortality
                .iter()
                .map(|b| (b.from_age, vec![("per_year", b.per_year)]))
                .collect(),
        );
        check_bands(
            &mut err,
            "health",
            self.health
                .iter()
                .map(|b| {
                    (
                        b.from_age,
                        vec![
                            ("disability", b.disability),
                            ("self_care_loss", b.self_care_loss),
                            ("self_care_worsening", b.self_care_worsening),
                            ("major_illness", b.major_illness),
                            ("chronic_illness", b.chronic_illness),
                        ],
                    )
                })
                .collect(),
        );
    }
}

type BandRow<'a> = (u32, Vec<(&'a str, f64)>);

fn check_bands(err: &mut impl FnMut(String, String), table: &str, rows: Vec<BandRow<'_>>) {
    if rows.is_empty() {
        err(
            table.into(),
            "needs at least one band (from_age = 0)".into(),
        );
        return;
    }
    if rows[0].0 != 0 {
        err(
            format!("{table}[0].from_age"),
            format!("the first band must start at age 0, found {}", rows[0].0),
        );
    }
    for (i, (from, rates)) in rows.iter().enumerate() {
        if i > 0 && *from <= rows[i - 1].0 {
            err(
                format!("{table}[{i}].from_age"),
                format!(
                    "bands must be in increasing order of age, found {from} after {}",
                    rows[i - 1].0
                ),
            );
        }
        for (k, v) in rates {
            if !(v.is_finite() && (0.0..=1.0).contains(v)) {
                err(
                    format!("{table}[{i}].{k}"),
                    format!("must be between 0 and 1, found {v}"),
                );
            }
        }
    }
}

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

// ---------------------------------------------------------------------------------------------
// Random streams

/// What a stream is for (part of its key), so streams of different purposes never overlap.
#[derive(Clone, Copy)]
pub enum Purpose {
    /// Once per household at the start (review phase, take-up).
    Setup = 1,
    /// The month's events of the population.
    Dynamics = 2,
    /// The month's administrative draws (same for every policy variant).
    Admin = 3,
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of the streams of one run and purpose.
#[derive(Clone, Copy)]
pub struct StreamKey([u8; 32]);

impl StreamKey {
    pub fn new(seed: u64, run: u64, purpose: Purpose) -> StreamKey {
        let mut state = seed ^ 0x646F_7564_695F_7369; // "doudi_si"
        let _ = splitmix(&mut state);
        state ^= run.wrapping_mul(0xA24B_AED4_963E_E407);
        let _ = splitmix(&mut state);
        state ^= purpose as u64;
        let mut key = [0u8; 32];
        for chunk in key.chunks_mut(8) {
            chunk.copy_from_slice(&splitmix(&mut state).to_le_bytes());
        }
        StreamKey(key)
    }

    /// The stream of household `index` positioned at month `month` (each month has 2^16 words).
    pub fn stream(&self, index: u64, month: u32) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::from_seed(self.0);
        rng.set_stream(index);
        rng.set_word_pos((month as u128) << 16);
        rng
    }
}

pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    rng.gen::<f64>()
}

/// A standard normal value (Box–Muller) from two uniforms, drawn now and transformed only if the value is
/// used (most persons' monthly normals are not): the same values and the same stream positions.
#[derive(Debug, Clone, Copy)]
pub struct Normal(f64, f64);

impl Normal {
    pub fn draw(rng: &mut ChaCha8Rng) -> Normal {
        let u1: f64 = rng.gen::<f64>();
        let u2: f64 = rng.gen::<f64>();
        Normal(u1, u2)
    }
    pub fn value(self) -> f64 {
        let u1 = if self.0 <= f64::MIN_POSITIVE {
            f64::MIN_POSITIVE
        } else {
            self.0
        };
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * self.1).cos()
    }
}

// ---------------------------------------------------------------------------------------------
// Where the dynamics read and write the data (DATA.md fields)

/// Slots of the DATA.md fields the dynamics change, and the enum variants they use.
#[derive(Debug, Clone)]
pub struct Slots {
    pub region: usize,
    pub area: usize,
    pub credit: usize,
    pub on_dibao: usize,
    pub age: usize,
    pub monthly_income: usize,
    pub employed: usize,
    pub employment_category: usize,
    pub disability_grade: usize,
    pub self_care: usize,
    pub illness: usize,
    pub medical_oop_12m: usize,
    pub rehab_cost_year: usize,
    pub schooling: usize,
    pub tuition_year: usize,
    pub alive: usize,
    pub imprisoned: usize,
    pub area_variants: Vec<String>,
    pub urban: u16,
    pub credit_good: u16,
    pub credit_general: u16,
    pub credit_serious: u16,
    pub credit_severe: u16,
    pub cat_none: u16,
    pub cat_fresh_graduate: u16,
    pub sc_independent: u16,
    pub sc_semi: u16,
    pub sc_fully: u16,
    pub ill_none: u16,
    pub ill_uremia: u16,
    pub ill_mental: u16,
    pub ill_cancer: u16,
    pub ill_other_major: u16,
    pub ill_chronic: u16,
    pub sch_none: u16,
    pub sch_compulsory: u16,
    pub sch_high_school: u16,
    pub sch_secondary_vocational: u16,
    pub sch_higher_vocational: u16,
    pub sch_university: u16,
}

impl Slots {
    /// Uremia, cancer or a mental illness: an illness that keeps a person from looking for work.
    pub fn serious_illness(&self, illness: u16) -> bool {
        illness == self.ill_uremia || illness == self.ill_cancer || illness == self.ill_mental
    }

    /// Finds the fields in a policy's schema; the error names the missing field or variant.
    pub fn new(schema: &Schema) -> Result<Slots, String> {
        let h = |n: &str| {
            schema.household_index(n).ok_or_else(|| format!("the policy declares no household input `{n}`, which the simulator needs (DATA.md)"))
        };
        let p = |n: &str| {
            schema.person_index(n).ok_or_else(|| format!("the policy declares no person input `{n}`, which the simulator needs (DATA.md)"))
        };
        let variants = |ty: &FieldType, field: &str| -> Result<Vec<String>, String> {
            match ty {
                FieldType::Enum { variants, .. } => Ok(variants.clone()),
                _ => Err(format!("the input `{field}` must be an enum (DATA.md)")),
            }
        };
        let var = |vs: &[String], field: &str, v: &str| -> Result<u16, String> {
            vs.iter()
                .position(|x| x == v)
                .map(|i| i as u16)
                .ok_or_else(|| format!("the input `{field}` has no value `{v}` (DATA.md)"))
        };
        let (region, area, credit, on_dibao) =
            (h("region")?, h("area")?, h("credit")?, h("on_dibao")?);
        let area_v = variants(&schema.household[area].ty, "area")?;
        let credit_v = variants(&schema.household[credit].ty, "credit")?;
        let (age, monthly_income, employed, employment_category) = (
            p("age")?,
            p("monthly_income")?,
            p("employed")?,
            p("employment_category")?,
        );
        let (disability_grade, self_care, illness, medical_oop_12m) = (
            p("disability_grade")?,
            p("self_care")?,
            p("illness")?,
            p("medical_oop_12m")?,
        );
        let (rehab_cost_year, schooling, tuition_year, alive, imprisoned) = (
            p("rehab_cost_year")?,
            p("schooling")?,
            p("tuition_year")?,
            p("alive")?,
            p("imprisoned")?,
        );
        let cat_v = variants(
            &schema.person[employment_category].ty,
            "employment_category",
        )?;
        let sc_v = variants(&schema.person[self_care].ty, "self_care")?;
        let ill_v = variants(&schema.person[illness].ty, "illness")?;
        let sch_v = variants(&schema.person[schooling].ty, "schooling")?;
        Ok(Slots {
            region,
            area,
            credit,
            on_dibao,
            age,
            monthly_income,
            employed,
            employment_category,
            disability_grade,
            self_care,
            illness,
            medical_oop_12m,
            rehab_cost_year,
            schooling,
            tuition_year,
            alive,
            imprisoned,
            urban: var(&area_v, "area", "urban")?,
            area_variants: area_v.clone(),
            credit_good: var(&credit_v, "credit", "good")?,
            credit_general: var(&credit_v, "credit", "general")?,
            credit_serious: var(&credit_v, "credit", "serious")?,
            credit_severe: var(&credit_v, "credit", "severe")?,
            cat_none: var(&cat_v, "employment_category", "none")?,
            cat_fresh_graduate: var(&cat_v, "employment_category", "fresh_graduate")?,
            sc_independent: var(&sc_v, "self_care", "independent")?,
            sc_semi: var(&sc_v, "self_care", "semi_disabled")?,
            sc_fully: var(&sc_v, "self_care", "fully_disabled")?,
            ill_none: var(&ill_v, "illness", "none")?,
            ill_uremia: var(&ill_v, "illness", "uremia")?,
            ill_mental: var(&ill_v, "illness", "mental")?,
            ill_cancer: var(&ill_v, "illness", "cancer")?,
            ill_other_major: var(&ill_v, "illness", "other_major")?,
            ill_chronic: var(&ill_v, "illness", "chronic")?,
            sch_none: var(&sch_v, "schooling", "none")?,
            sch_compulsory: var(&sch_v, "schooling", "compulsory")?,
            sch_high_school: var(&sch_v, "schooling", "high_school")?,
            sch_secondary_vocational: var(&sch_v, "schooling", "secondary_vocational")?,
            sch_higher_vocational: var(&sch_v, "schooling", "higher_vocational")?,
            sch_university: var(&sch_v, "schooling", "university")?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Values

/// Money in cents from a value (rounded half away from zero to the cent).
pub fn cents_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) => i.saturating_mul(100),
        Value::Num(n) => n
            .checked_mul_i64(100)
            .ok()
            .and_then(|x| x.round_to(Decimal::ONE).ok())
            .and_then(|x| x.to_i64())
            .unwrap_or(0),
        _ => 0,
    }
}

pub fn money(cents: i64) -> Value {
    Value::Num(Num::from_decimal(Decimal::new(cents, 2)))
}

fn yuan_cents(yuan: f64) -> i64 {
    if yuan.is_finite() {
        (yuan.clamp(0.0, 1e12) * 100.0).round() as i64
    } else {
        0
    }
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Num(n) => n.to_i64().unwrap_or(0),
        _ => 0,
    }
}

fn enum_of(v: &Value) -> u16 {
    match v {
        Value::Enum(e) => *e,
        _ => u16::MAX,
    }
}

// ---------------------------------------------------------------------------------------------
// The state of a household

/// What the simulator tracks about a person beyond the data.
#[derive(Debug, Clone)]
pub struct PersonSim {
    /// The part of `monthly_income` that is work income (cents): all of it for a person employed at
    /// the start (assumption), the wage of a job found later.
    pub work_cents: i64,
    /// Months left during which the person counts as a fresh graduate.
    pub graduate_months_left: u8,
}

/// What the simulator keeps about a household beside its actual data (the truth, which the
/// administration may not know yet; held packed by the caller).
#[derive(Debug, Clone)]
pub struct Actual {
    pub persons: Vec<PersonSim>,
    pub region: u16,
    /// Index of the area variant.
    pub area: u16,
    /// Reviews happen in months `t` with `(t + review_phase) % interval == 0`.
    pub review_phase: u32,
    /// Index of the household in the population (its random stream).
    pub index: u64,
    /// Uniform draw that decides whether the household applies when eligible (take-up).
    pub take_up_draw: f64,
    /// Uniform draw of the household's bootstrap multiplicity in this run.
    pub bootstrap_draw: f64,
    /// The calendar month (1–12) of the yearly wage rise of the household's workers, when wage
    /// growth is staggered over the year (`wage_growth_month = 0`).
    pub raise_month: u32,
}

/// What happened to a household this month.
#[derive(Debug, Clone, Copy, Default)]
pub struct Events {
    /// Some input changed (other than ageing): a change the household should report.
    pub changed: bool,
    /// A member died.
    pub member_died: bool,
    /// Some input changed (ageing included): earlier evaluations of the household are stale.
    pub touched: bool,
}

impl Actual {
    /// Sets up the simulator's state of a household from the data.
    pub fn new(
        hh: &impl MemberFields,
        index: u64,
        region: u16,
        slots: &Slots,
        dynamics: &Dynamics,
        setup: &StreamKey,
    ) -> Actual {
        let mut rng = setup.stream(index, 0);
        let review_phase = (unit(&mut rng) * dynamics.review_interval_months as f64) as u32
            % dynamics.review_interval_months.max(1);
        let persons = (0..hh.member_count())
            .map(|m| {
                let employed = hh.member_field(m, slots.employed).as_bool();
                let work_cents = if employed {
                    cents_of(&hh.member_field(m, slots.monthly_income)).max(0)
                } else {
                    0
                };
                PersonSim {
                    work_cents,
                    graduate_months_left: 0,
                }
            })
            .collect();
        let area = enum_of(&hh.household_field(slots.area));
        let take_up_draw = unit(&mut rng);
        let bootstrap_draw = unit(&mut rng);
        let raise_month = 1 + ((unit(&mut rng) * 12.0) as u32).min(11);
        Actual {
            persons,
            region,
            area,
            review_phase,
            index,
            take_up_draw,
            bootstrap_draw,
            raise_month,
        }
    }

    /// The calendar month of the household's wage rise: `wage_growth_month`, or its own month when
    /// that is 0 (raises staggered over the year).
    fn wage_month(&self, d: &Dynamics) -> u32 {
        if d.wage_growth_month == 0 {
            self.raise_month
        } else {
            d.wage_growth_month
        }
    }

    /// Applies one month of events (month index `t` ≥ 1, calendar month `cal`).
    /// The members' fields are read and written through `hh` (the household packed or not).
    #[allow(clippy::too_many_arguments)] // the month's context, passed as the loop holds it
    pub fn step<H: MemberFields>(
        &mut self,
        hh: &mut H,
        d: &Dynamics,
        r: &Rates,
        s: &Slots,
        key: &StreamKey,
        t: u32,
        cal: u32,
    ) -> Events {
        let mut rng = key.stream(self.index, t);
        let mut ev = Events::default();
        let urban = self.area == s.urban;
        let wage_month = self.wage_month(d);
        for (m, sim) in self.persons.iter_mut().enumerate().take(hh.member_count()) {
            // Fixed draws per person and month.
            let u: [f64; 12] = std::array::from_fn(|_| unit(&mut rng));
            let z_income = Normal::draw(&mut rng);
            let z_cost = Normal::draw(&mut rng);
            let f = &mut Fields { hh: &mut *hh, m };
            if !f.bool(s.alive) {
                continue;
            }
            let mut age = f.int(s.age);
            if cal == d.ageing_month {
                age += 1;
                ev.touched = true;
                f.set(s.age, Value::Int(age));
                if age == d.retirement_age as i64 && f.bool(s.employed) && u[10] < d.retirement_rate
                {
                    lose_job(f, sim, s);
                    ev.changed = true;
                }
            }
            // Death.
            let ill = f.enumeration(s.illness);
            let mort = band_of(&r.mortality, age, |b| b.0).map_or(0.0, |b| {
                if ill == s.ill_uremia || ill == s.ill_cancer {
                    b.2
                } else {
                    b.1
                }
            });
            if u[0] < mort {
                f.set(s.alive, Value::Bool(false));
                ev.member_died = true;
                ev.changed = true;
                continue;
            }
            if f.bool(s.imprisoned) {
                continue;
            }
            // Health.
            if let Some((_, h)) = band_of(&r.health, age, |b| b.0) {
                let h = *h;
                if f.int(s.disability_grade) == 0 && u[1] < h[0] {
                    let severe = u[2] < d.severe_disability_share;
                    let grade = if severe {
                        if u[2] < d.severe_disability_share / 2.0 {
                            1
                        } else {
                            2
                        }
                    } else if u[2] < (1.0 + d.severe_disability_share) / 2.0 {
                        3
                    } else {
                        4
                    };
                    f.set(s.disability_grade, Value::Int(grade));
                    if severe {
                        f.set(
                            s.rehab_cost_year,
                            money(yuan_cents(
                                d.rehab_cost_median * (d.rehab_cost_sigma * z_cost.value()).exp(),
                            )),
                        );
                    }
                    ev.changed = true;
                }
                let sc = f.enumeration(s.self_care);
                if sc == s.sc_independent && u[3] < h[1] {
                    f.set(s.self_care, Value::Enum(s.sc_semi));
                    ev.changed = true;
                } else if sc == s.sc_semi && u[3] < h[2] {
                    f.set(s.self_care, Value::Enum(s.sc_fully));
                    ev.changed = true;
                }
                if (ill == s.ill_none || ill == s.ill_chronic) && u[4] < h[3] {
                    let k = &d.major_illness_kinds;
                    let total = k.uremia + k.mental + k.cancer + k.other_major;
                    let x = u[5] * total;
                    let kind = if x < k.uremia {
                        s.ill_uremia
                    } else if x < k.uremia + k.mental {
                        s.ill_mental
                    } else if x < k.uremia + k.mental + k.cancer {
                        s.ill_cancer
                    } else {
                        s.ill_other_major
                    };
                    f.set(s.illness, Value::Enum(kind));
                    f.set(
                        s.medical_oop_12m,
                        money(yuan_cents(
                            d.major_illness_cost_median
                                * (d.major_illness_cost_sigma * z_cost.value()).exp(),
                        )),
                    );
                    ev.changed = true;
                } else if ill == s.ill_none && u[5] < h[4] {
                    f.set(s.illness, Value::Enum(s.ill_chronic));
                    f.set(
                        s.medical_oop_12m,
                        money(yuan_cents(
                            d.chronic_illness_cost_median
                                * (d.chronic_illness_cost_sigma * z_cost.value()).exp(),
                        )),
                    );
                    ev.changed = true;
                } else if (ill == s.ill_cancer || ill == s.ill_other_major) && u[6] < r.recovery {
                    f.set(s.illness, Value::Enum(s.ill_none));
                    f.set(s.medical_oop_12m, money(0));
                    ev.changed = true;
                }
            }
            // Work.
            let ill = f.enumeration(s.illness);
            let grade = f.int(s.disability_grade);
            let can_work = work::able_to_work(
                &work::Circumstances {
                    present: f.bool(s.alive) && !f.bool(s.imprisoned),
                    age,
                    independent: f.enumeration(s.self_care) == s.sc_independent,
                    disability_grade: grade,
                    serious_illness: s.serious_illness(ill),
                    in_school: f.enumeration(s.schooling) != s.sch_none,
                },
                d.working_age_min,
                d.retirement_age,
            );
            let employed = f.bool(s.employed);
            let able_now = f.enumeration(s.self_care) == s.sc_independent
                && !(grade == 1 || grade == 2)
                && !(ill == s.ill_uremia || ill == s.ill_cancer);
            if employed && (!able_now || u[7] < r.job_loss) {
                lose_job(f, sim, s);
                ev.changed = true;
            } else if !employed && can_work && u[7] < r.job_find {
                let median = if urban {
                    d.new_job_income_median.urban
                } else {
                    d.new_job_income_median.rural
                };
                let wage = yuan_cents(median * (d.new_job_income_sigma * z_income.value()).exp());
                gain_job(f, sim, s, wage, false);
                ev.changed = true;
            } else if employed
                && cal == wage_month
                && d.wage_growth_per_year != 0.0
                && sim.work_cents > 0
            {
                let new = ((sim.work_cents as f64) * (1.0 + d.wage_growth_per_year)).round() as i64;
                let delta = new - sim.work_cents;
                if delta != 0 {
                    sim.work_cents = new;
                    let inc = (cents_of(&f.get(s.monthly_income)) + delta).max(0);
                    f.set(s.monthly_income, money(inc));
                    ev.changed = true;
                }
            }
            if sim.graduate_months_left > 0 {
                sim.graduate_months_left -= 1;
                if sim.graduate_months_left == 0
                    && f.enumeration(s.employment_category) == s.cat_fresh_graduate
                {
                    f.set(s.employment_category, Value::Enum(s.cat_none));
                    ev.changed = true;
                }
            }
            // Schooling, at the start of the school year.
            if cal == d.school_year_start_month {
                let sch = f.enumeration(s.schooling);
                let entry = d.school_entry_age as i64;
                let after_compulsory = entry + d.compulsory_years as i64;
                let set = |f: &mut Fields<'_, H>, kind: u16, tuition: f64| {
                    f.set(s.schooling, Value::Enum(kind));
                    f.set(s.tuition_year, money(yuan_cents(tuition)));
                };
                if sch == s.sch_none && age == entry {
                    set(f, s.sch_compulsory, 0.0);
                    ev.changed = true;
                } else if sch == s.sch_compulsory && age >= after_compulsory {
                    if u[8] < d.upper_secondary_rate {
                        if u[9] < d.secondary_vocational_share {
                            set(
                                f,
                                s.sch_secondary_vocational,
                                d.tuition_secondary_vocational,
                            );
                        } else {
                            set(f, s.sch_high_school, d.tuition_high_school);
                        }
                    } else {
                        set(f, s.sch_none, 0.0);
                    }
                    ev.changed = true;
                } else if (sch == s.sch_high_school || sch == s.sch_secondary_vocational)
                    && age >= after_compulsory + 3
                {
                    if u[8] < d.tertiary_rate {
                        if u[9] < d.higher_vocational_share {
                            set(f, s.sch_higher_vocational, d.tuition_higher_vocational);
                        } else {
                            set(f, s.sch_university, d.tuition_university);
                        }
                    } else {
                        set(f, s.sch_none, 0.0);
                    }
                    ev.changed = true;
                } else if (sch == s.sch_university && age >= after_compulsory + 7)
                    || (sch == s.sch_higher_vocational && age >= after_compulsory + 6)
                {
                    set(f, s.sch_none, 0.0);
                    if u[11] < d.graduate_employment_rate && !f.bool(s.employed) {
                        let median = if urban {
                            d.new_job_income_median.urban
                        } else {
                            d.new_job_income_median.rural
                        };
                        let wage =
                            yuan_cents(median * (d.new_job_income_sigma * z_income.value()).exp());
                        gain_job(f, sim, s, wage, true);
                        sim.graduate_months_left = d.fresh_graduate_months.min(255) as u8;
                    }
                    ev.changed = true;
                }
            }
        }
        ev.touched |= ev.changed;
        ev
    }
}

fn lose_job<H: MemberFields>(f: &mut Fields<'_, H>, sim: &mut PersonSim, s: &Slots) {
    let inc = (cents_of(&f.get(s.monthly_income)) - sim.work_cents).max(0);
    f.set(s.monthly_income, money(inc));
    sim.work_cents = 0;
    sim.graduate_months_left = 0;
    f.set(s.employed, Value::Bool(false));
    f.set(s.employment_category, Value::Enum(s.cat_none));
}

fn gain_job<H: MemberFields>(
    f: &mut Fields<'_, H>,
    sim: &mut PersonSim,
    s: &Slots,
    wage: i64,
    graduate: bool,
) {
    sim.work_cents = wage;
    let inc = cents_of(&f.get(s.monthly_income)) + wage;
    f.set(s.monthly_income, money(inc));
    f.set(s.employed, Value::Bool(true));
    f.set(
        s.employment_category,
        Value::Enum(if graduate {
            s.cat_fresh_graduate
        } else {
            s.cat_none
        }),
    );
}

/// One member's fields.
struct Fields<'h, H: MemberFields> {
    hh: &'h mut H,
    m: usize,
}

impl<H: MemberFields> Fields<'_, H> {
    fn get(&self, slot: usize) -> Value {
        self.hh.member_field(self.m, slot)
    }
    fn bool(&self, slot: usize) -> bool {
        self.hh.member_bool(self.m, slot)
    }
    /// An integer field (0 when it holds no integer, as `int_of`).
    fn int(&self, slot: usize) -> i64 {
        self.hh
            .member_int(self.m, slot)
            .unwrap_or_else(|| int_of(&self.get(slot)))
    }
    /// An enum field (`u16::MAX` when it holds no enum value, as `enum_of`).
    fn enumeration(&self, slot: usize) -> u16 {
        self.hh
            .member_enum(self.m, slot)
            .unwrap_or_else(|| enum_of(&self.get(slot)))
    }
    fn set(&mut self, slot: usize, v: Value) {
        self.hh.set_member_field(self.m, slot, v);
    }
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
