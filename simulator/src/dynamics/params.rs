//! The scenario's `[dynamics]` parameters: every rate with its documented default, the frozen
//! variant, and who can look for work.

use super::{monthly, Slots, TURNOVER_NET_LOSS};
use crate::work;
use doudi_interpreter::packed::MemberFields;
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
}
