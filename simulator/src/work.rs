//! Whether a person can look for work: the one definition, used by the population generator (the
//! first-month dibao draw), by [`crate::dynamics::Dynamics::able_to_work`] (take-up, calibration)
//! and by the monthly job search in the dynamics.

/// Youngest age at which a person looks for work, unless a scenario sets
/// `dynamics.working_age_min`.
pub const DEFAULT_WORKING_AGE_MIN: u32 = 16;
/// Age from which nobody looks for work, unless a scenario sets `dynamics.retirement_age`.
pub const DEFAULT_RETIREMENT_AGE: u32 = 60;

/// The circumstances of a person that decide whether they can look for work.
#[derive(Debug, Clone, Copy)]
pub struct Circumstances {
    /// Alive and not in prison.
    pub present: bool,
    pub age: i64,
    /// Self-care: independent.
    pub independent: bool,
    /// 0 when not disabled; grades 1 and 2 are the severe ones.
    pub disability_grade: i64,
    /// Uremia, cancer or a mental illness.
    pub serious_illness: bool,
    /// In school (any level).
    pub in_school: bool,
}

/// Whether a person can look for work: present, aged from `working_age_min` to below
/// `retirement_age`, independent in self-care, without a grade 1 or 2 disability or a serious
/// illness (uremia, cancer, mental), and not in school.
pub fn able_to_work(p: &Circumstances, working_age_min: u32, retirement_age: u32) -> bool {
    p.present
        && p.age >= working_age_min as i64
        && p.age < retirement_age as i64
        && p.independent
        && !(p.disability_grade == 1 || p.disability_grade == 2)
        && !p.serious_illness
        && !p.in_school
}
