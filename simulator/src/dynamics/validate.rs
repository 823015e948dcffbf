//! Validation of the `[dynamics]` parameters: every rate, amount, month and age band in range, each
//! problem naming its key.

use super::{Dynamics, TakeUp};
use crate::scenario::Problem;

impl Dynamics {
    /// Adds a problem for each parameter out of range, in the order of the checks below.
    pub(crate) fn validate_into(&self, problems: &mut Vec<Problem>) {
        let mut err = |key: String, message: String| {
            problems.push(Problem {
                key: format!("dynamics.{key}"),
                message,
            })
        };
        let err = &mut err;
        self.check_auto_rates(err);
        self.check_probabilities(err);
        self.check_amounts(err);
        self.check_calendar(err);
        self.check_administration(err);
        self.check_age_bands(err);
    }

    /// `take_up` and `job_find_per_year`: a probability or `"auto"`.
    fn check_auto_rates(&self, err: &mut impl FnMut(String, String)) {
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
    }

    /// The probabilities and shares, each in [0, 1]; the major-illness kinds not all 0.
    fn check_probabilities(&self, err: &mut impl FnMut(String, String)) {
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
    }

    /// Amounts at least 0 and plausible; lognormal sigmas at most 3.
    fn check_amounts(&self, err: &mut impl FnMut(String, String)) {
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
    }

    /// Wage growth, and the calendar months and working days.
    fn check_calendar(&self, err: &mut impl FnMut(String, String)) {
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
    }

    /// The approval lag, the review interval and the fresh graduates' months.
    fn check_administration(&self, err: &mut impl FnMut(String, String)) {
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
    }

    /// The mortality and health tables by age band.
    fn check_age_bands(&self, err: &mut impl FnMut(String, String)) {
        check_bands(
            err,
            "mortality",
            self.mortality
                .iter()
                .map(|b| (b.from_age, vec![("per_year", b.per_year)]))
                .collect(),
        );
        check_bands(
            err,
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
