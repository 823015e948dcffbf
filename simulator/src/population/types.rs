//! The data model of a generated household and person (money in cents).

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Head,
    Spouse,
    Child,
    Parent,
    Grandchild,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmploymentCategory {
    None,
    FreshGraduate,
    ReleasedPrisoner,
    DischargedSoldier,
}

impl EmploymentCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            EmploymentCategory::None => "none",
            EmploymentCategory::FreshGraduate => "fresh_graduate",
            EmploymentCategory::ReleasedPrisoner => "released_prisoner",
            EmploymentCategory::DischargedSoldier => "discharged_soldier",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfCare {
    Independent,
    SemiDisabled,
    FullyDisabled,
}

impl SelfCare {
    pub fn as_str(self) -> &'static str {
        match self {
            SelfCare::Independent => "independent",
            SelfCare::SemiDisabled => "semi_disabled",
            SelfCare::FullyDisabled => "fully_disabled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IllnessKind {
    None,
    Uremia,
    Mental,
    Cancer,
    OtherMajor,
    Chronic,
}

impl IllnessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IllnessKind::None => "none",
            IllnessKind::Uremia => "uremia",
            IllnessKind::Mental => "mental",
            IllnessKind::Cancer => "cancer",
            IllnessKind::OtherMajor => "other_major",
            IllnessKind::Chronic => "chronic",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchoolingKind {
    None,
    Compulsory,
    HighSchool,
    SecondaryVocational,
    HigherVocational,
    University,
    AbroadSelfFunded,
}

impl SchoolingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SchoolingKind::None => "none",
            SchoolingKind::Compulsory => "compulsory",
            SchoolingKind::HighSchool => "high_school",
            SchoolingKind::SecondaryVocational => "secondary_vocational",
            SchoolingKind::HigherVocational => "higher_vocational",
            SchoolingKind::University => "university",
            SchoolingKind::AbroadSelfFunded => "abroad_self_funded",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditTier {
    Good,
    General,
    Serious,
    Severe,
}

impl CreditTier {
    pub fn as_str(self) -> &'static str {
        match self {
            CreditTier::Good => "good",
            CreditTier::General => "general",
            CreditTier::Serious => "serious",
            CreditTier::Severe => "severe",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GeneratedPerson {
    pub age: u32,
    pub male: bool,
    pub role: Role,
    /// Cents per month.
    pub monthly_income: i64,
    pub employed: bool,
    pub employment_category: EmploymentCategory,
    pub disability_grade: u8,
    pub self_care: SelfCare,
    pub illness: IllnessKind,
    /// Cents.
    pub medical_oop_12m: i64,
    /// Cents.
    pub rehab_cost_year: i64,
    pub schooling: SchoolingKind,
    /// Cents.
    pub tuition_year: i64,
    /// Cents.
    pub pension_contrib_year: i64,
    pub alive: bool,
    pub imprisoned: bool,
    pub has_supporter: bool,
    /// Income before the area income scale (yuan per month), for calibration.
    pub(super) base_income: f64,
}

impl GeneratedPerson {
    pub fn counted(&self) -> bool {
        self.alive && !self.imprisoned
    }

    /// What decides whether the person can look for work ([`work::able_to_work`]).
    pub fn work_circumstances(&self) -> work::Circumstances {
        work::Circumstances {
            present: self.counted(),
            age: self.age as i64,
            independent: self.self_care == SelfCare::Independent,
            disability_grade: self.disability_grade as i64,
            serious_illness: matches!(
                self.illness,
                IllnessKind::Uremia | IllnessKind::Cancer | IllnessKind::Mental
            ),
            in_school: self.schooling != SchoolingKind::None,
        }
    }
}

/// What the `on_dibao` draw saw (kept for calibration).
#[derive(Debug, Clone, Copy)]
pub(super) struct DibaoDraw {
    /// The policy's per-capita income after deductions over its standard.
    pub(super) ratio: f64,
    /// Asset and credit tests passed.
    pub(super) tests_ok: bool,
    /// Some member is able to work (see `able_take_up_factor`).
    pub(super) able: bool,
    pub(super) u: f64,
}

#[derive(Debug, Clone)]
pub struct GeneratedHousehold {
    /// 0-based position in the stream.
    pub index: u64,
    /// Index into [`Generator::region_codes`].
    pub region: usize,
    pub area: Area,
    pub registered_poor: bool,
    pub pure_female: bool,
    /// Cents.
    pub financial_assets: i64,
    pub vehicles: u32,
    pub houses: u32,
    pub credit: CreditTier,
    pub on_dibao: bool,
    pub members: Vec<GeneratedPerson>,
    pub(super) pc_base: f64,
    pub(super) dibao: DibaoDraw,
}

impl GeneratedHousehold {
    /// `H00000001` for index 0.
    pub fn id(&self) -> String {
        household_id(self.index)
    }
    pub fn counted(&self) -> usize {
        self.members.iter().filter(|p| p.counted()).count()
    }
    /// Sum of counted members' monthly income, cents.
    pub fn counted_income(&self) -> i64 {
        self.members
            .iter()
            .filter(|p| p.counted())
            .map(|p| p.monthly_income)
            .sum()
    }
}

pub fn household_id(index: u64) -> String {
    format!("H{:08}", index + 1)
}

/// Exact text of a non-negative amount of cents: `1234.05`.
pub fn format_cents(cents: i64) -> String {
    let mut s = String::new();
    push_cents(&mut s, cents);
    s
}

pub(super) fn push_cents(s: &mut String, cents: i64) {
    use std::fmt::Write as _;
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let _ = write!(s, "{sign}{}.{:02}", c / 100, c % 100);
}

/// Round a draw (yuan) to cents with integer arithmetic afterwards; negative and non-finite give 0.
pub(super) fn to_cents(yuan: f64) -> i64 {
    if !(yuan.is_finite() && yuan > 0.0) {
        return 0;
    }
    (yuan.min(1e12) * 100.0).round() as i64
}
