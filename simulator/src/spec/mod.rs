//! The population spec: a TOML description of a synthetic population (`doudi generate --spec`).
//!
//! Every table is `deny_unknown_fields`; type errors come from the TOML parser (with line and column)
//! and are reported with the dotted key path; range errors come from [`PopulationSpec::validate`].
//! Every error names the file and the key, e.g.
//! `scenarios/populations/jian.toml: regions.jizhou.urban_share: must be between 0 and 1, found 1.2`.
//!
//! # Provenance
//! Any table may carry `source = "..."` and/or `assumption = "..."`. A table holding figures (numbers,
//! or arrays of numbers or of tables with numbers) must be covered by one of them, on itself or on an
//! enclosing table; otherwise loading yields a [`Warning`] naming the key. The notes are kept in
//! [`PopulationSpec::provenance`] so reports can show them.
//!
//! # Shape (see `scenarios/populations/jian.toml` for a complete, commented example)
//! ```toml
//! [meta]            name, description, year, reference_population
//! [regions.<code>]  name, exactly one of population | households | share, urban_share, income_scale
//! [household_size.urban|rural]   weights = [w1, w2, ...]       # sizes 1, 2, ...
//! [composition.urban|rural]      head ages by household type, spouse/parent/grandchild shares
//! [income.urban|rural]           lognormal mixtures (share, median, sigma) for employed / nonemployed / elderly
//! [employment]      employed share by age band and sex per area; employment categories
//! [disability] [illness] [schooling] [pension] [assets.urban|rural] [credit]
//! [registered_poor] [pure_female] [support] [roll] [dibao.urban|rural]
//! [targets]         optional: urban_share_persons (IPF), mean_household_size (tilting),
//!                   low_income_share | mean_per_capita_income (income scale), dibao_households_share |
//!                   dibao_persons_share (dibao threshold), persons_by_age_band (reported)
//! [calibration]     sample size and tolerance (optional)
//! ```
//! A lognormal mixture is a list of parts `{ share, median, sigma }`; shares sum to at most 1 and the
//! remainder is zero. Money parameters are yuan (monthly for incomes, yearly for costs).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Declares a table of the spec: read from TOML with unknown keys refused, and with the optional
/// `source` and `assumption` notes any table may carry (accepted here; `load.rs` collects them as
/// provenance from the TOML itself).
macro_rules! table {
    ($(#[$attr:meta])* pub struct $name:ident $(<$t:ident>)? { $($fields:tt)* }) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name $(<$t>)? {
            $($fields)*
            #[serde(default)]
            pub source: Option<String>,
            #[serde(default)]
            pub assumption: Option<String>,
        }
    };
}

mod errors;
mod load;
mod validate;

pub use errors::*;
pub use validate::*;

/// Household registration area (城镇 / 农村).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    Urban,
    Rural,
}

impl Area {
    pub const ALL: [Area; 2] = [Area::Urban, Area::Rural];
    pub fn index(self) -> usize {
        match self {
            Area::Urban => 0,
            Area::Rural => 1,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Urban => "urban",
            Area::Rural => "rural",
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

/// The whole spec. Field order follows the recommended file layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpec {
    pub meta: Meta,
    pub regions: BTreeMap<String, Region>,
    pub household_size: ByArea<SizeDist>,
    pub composition: ByArea<CompositionArea>,
    pub income: ByArea<IncomeArea>,
    pub employment: Employment,
    pub disability: Disability,
    pub illness: Illness,
    pub schooling: Schooling,
    pub pension: Pension,
    pub assets: ByArea<AssetsArea>,
    pub credit: Credit,
    pub registered_poor: RegisteredPoor,
    pub pure_female: PureFemale,
    pub support: Support,
    pub roll: Roll,
    pub dibao: ByArea<DibaoArea>,
    #[serde(default)]
    pub targets: Targets,
    #[serde(default)]
    pub calibration: CalibrationSettings,
    /// Rare groups sampled at a higher rate, with lower weights (`[[oversample]]`).
    #[serde(default)]
    pub oversample: Vec<crate::oversample::Stratum>,
    /// The file the spec was read from (as given), used in messages.
    #[serde(skip)]
    pub file: String,
    /// Every `source` / `assumption` note, with its key path, in file order.
    #[serde(skip)]
    pub provenance: Vec<Provenance>,
}

/// A `source` or `assumption` note attached to a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub key: String,
    pub source: Option<String>,
    pub assumption: Option<String>,
}

table! {
    pub struct Meta {
        pub name: String,
        #[serde(default)]
        pub description: Option<String>,
        #[serde(default)]
        pub year: Option<u32>,
        /// Real population the spec describes (persons), for reports.
        #[serde(default)]
        pub reference_population: Option<u64>,
    }
}

fn one() -> f64 {
    1.0
}

table! {
    /// One county-level unit. Give exactly one of `population`, `households`, `share` (all regions the same).
    pub struct Region {
        #[serde(default)]
        pub name: Option<String>,
        /// Resident persons.
        #[serde(default)]
        pub population: Option<u64>,
        /// Households.
        #[serde(default)]
        pub households: Option<u64>,
        /// Share of the persons of all regions.
        #[serde(default)]
        pub share: Option<f64>,
        /// Share of the region's persons in urban households (before raking to `targets.urban_share_persons`).
        pub urban_share: f64,
        /// Relative income level of the region (multiplies every income median).
        #[serde(default = "one")]
        pub income_scale: f64,
    }
}

table! {
    /// The same table for both areas.
    pub struct ByArea<T> {
        pub urban: T,
        pub rural: T,
    }
}

impl<T> ByArea<T> {
    pub fn get(&self, area: Area) -> &T {
        match area {
            Area::Urban => &self.urban,
            Area::Rural => &self.rural,
        }
    }
}

/// Optional per-area values (targets).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaOpt<T> {
    #[serde(default = "none_t")]
    pub urban: Option<T>,
    #[serde(default = "none_t")]
    pub rural: Option<T>,
}

fn none_t<T>() -> Option<T> {
    None
}

impl<T> AreaOpt<T> {
    pub fn get(&self, area: Area) -> Option<&T> {
        match area {
            Area::Urban => self.urban.as_ref(),
            Area::Rural => self.rural.as_ref(),
        }
    }
}

/// Plain per-area rates.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaRates {
    pub urban: f64,
    pub rural: f64,
}

impl AreaRates {
    pub fn get(&self, area: Area) -> f64 {
        match area {
            Area::Urban => self.urban,
            Area::Rural => self.rural,
        }
    }
}

table! {
    /// Household size distribution: `weights[k]` is the weight of size `k + 1`.
    pub struct SizeDist {
        pub weights: Vec<f64>,
    }
}

/// An inclusive age band with a weight.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedBand {
    pub min: u32,
    pub max: u32,
    pub weight: f64,
}

/// An inclusive age band with a rate (probability).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateBand {
    pub min: u32,
    pub max: u32,
    pub rate: f64,
}

/// An inclusive age band with a target share.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareBand {
    pub min: u32,
    pub max: u32,
    pub share: f64,
}

/// One part of a lognormal mixture: with probability `share` the value is
/// `median * exp(sigma * z)`, z standard normal. The shares' remainder gives zero.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LognormalPart {
    pub share: f64,
    pub median: f64,
    pub sigma: f64,
}

table! {
    /// Who lives together. Household heads are drawn from the age bands for their household type
    /// (size 1, size 2, size 3+); the second member is the head's spouse with probability `spouse_share`;
    /// further members are the head's children, parents (heads 45-64) or grandchildren (heads 55+).
    pub struct CompositionArea {
        pub single_head_ages: Vec<WeightedBand>,
        pub couple_head_ages: Vec<WeightedBand>,
        pub family_head_ages: Vec<WeightedBand>,
        pub head_male_share: f64,
        pub spouse_share: f64,
        /// Probability that an extra member of a household with head aged 45-64 is the head's parent.
        pub parent_share: f64,
        /// Probability that an extra member of a household with head aged 55+ is a grandchild.
        pub grandchild_share: f64,
        /// Share of boys among children and grandchildren.
        pub child_male_share: f64,
        /// Share of men among the head's parents living in the household.
        pub parent_male_share: f64,
    }
}

table! {
    /// Monthly income of a person, by situation (yuan per month).
    pub struct IncomeArea {
        /// Employed persons (wages, business income).
        pub employed: Vec<LognormalPart>,
        /// Persons aged 16 to `elderly_age - 1` who are not employed and not students (farming, odd jobs,
        /// transfers, rents); the remainder has no income.
        pub nonemployed: Vec<LognormalPart>,
        /// Persons aged `elderly_age` or more who are not employed (pensions and other income).
        pub elderly: Vec<LognormalPart>,
        /// Students aged 16 or more (default: none).
        #[serde(default)]
        pub student: Vec<LognormalPart>,
        pub elderly_age: u32,
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmploymentBand {
    pub min: u32,
    pub max: u32,
    pub male: f64,
    pub female: f64,
}

/// Share of employed persons in an age range (optionally one sex) that belong to a category.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    pub min: u32,
    pub max: u32,
    pub share: f64,
    #[serde(default)]
    pub sex: Option<Sex>,
}

table! {
    pub struct Employment {
        /// Employed share by age band and sex (persons not in a band are not employed; students never are).
        pub urban: Vec<EmploymentBand>,
        pub rural: Vec<EmploymentBand>,
        /// Multiplier on the employed share for severely disabled (grade 1-2) or fully disabled persons.
        pub severe_disability_factor: f64,
        /// Share of households with a child under 18 and an able adult aged 18-59 in which at least one
        /// adult works: when the independent draws leave such a household without an earner, one able adult
        /// is made employed with this probability (absent: the draws stay independent).
        #[serde(default)]
        pub breadwinner: Option<AreaRates>,
        pub fresh_graduate: CategoryRule,
        pub released_prisoner: CategoryRule,
        pub discharged_soldier: CategoryRule,
    }
}

impl Employment {
    pub fn bands(&self, area: Area) -> &[EmploymentBand] {
        match area {
            Area::Urban => &self.urban,
            Area::Rural => &self.rural,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisabilityBand {
    pub min: u32,
    pub max: u32,
    /// Share of persons with a certified disability (grade 1-4).
    pub prevalence: f64,
    /// Self-care loss of persons who are not severely disabled.
    pub semi_disabled: f64,
    pub fully_disabled: f64,
}

table! {
    pub struct Disability {
        pub bands: Vec<DisabilityBand>,
        /// Weights of grades 1, 2, 3, 4 among disabled persons.
        pub grade_weights: Vec<f64>,
        /// Self-care loss of severely disabled persons (grade 1-2).
        pub severe_semi_disabled: f64,
        pub severe_fully_disabled: f64,
        /// Yearly rehabilitation spending of disabled persons (yuan per year).
        pub rehab: Vec<LognormalPart>,
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IllnessBand {
    pub min: u32,
    pub max: u32,
    pub uremia: f64,
    pub mental: f64,
    pub cancer: f64,
    pub other_major: f64,
    pub chronic: f64,
}

table! {
    /// Out-of-pocket medical costs over 12 months by illness (yuan per year).
    pub struct IllnessCosts {
        pub none: Vec<LognormalPart>,
        pub uremia: Vec<LognormalPart>,
        pub mental: Vec<LognormalPart>,
        pub cancer: Vec<LognormalPart>,
        pub other_major: Vec<LognormalPart>,
        pub chronic: Vec<LognormalPart>,
    }
}

table! {
    pub struct Illness {
        pub bands: Vec<IllnessBand>,
        pub oop: IllnessCosts,
    }
}

/// Enrolment by stage. Ages: compulsory 6-14, upper secondary 15-17, tertiary 18-21.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchoolingArea {
    pub compulsory: f64,
    pub upper_secondary: f64,
    /// Share of upper-secondary students in secondary vocational school (rest: high school).
    pub vocational_share: f64,
    pub tertiary: f64,
    /// Weights among tertiary students.
    pub higher_vocational: f64,
    pub university: f64,
    pub abroad_self_funded: f64,
}

table! {
    /// Tuition per school year (yuan) by kind of schooling.
    pub struct Tuition {
        #[serde(default)]
        pub compulsory: Vec<LognormalPart>,
        pub high_school: Vec<LognormalPart>,
        pub secondary_vocational: Vec<LognormalPart>,
        pub higher_vocational: Vec<LognormalPart>,
        pub university: Vec<LognormalPart>,
        pub abroad_self_funded: Vec<LognormalPart>,
    }
}

table! {
    pub struct Schooling {
        pub urban: SchoolingArea,
        pub rural: SchoolingArea,
        pub tuition: Tuition,
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountWeight {
    pub amount: f64,
    pub weight: f64,
}

table! {
    /// Individual pension contributions of persons aged `min_age..=max_age` (not students).
    pub struct Pension {
        pub min_age: u32,
        pub max_age: u32,
        /// Employee scheme: individual rate on wages (e.g. 0.08), share of employed persons covered.
        pub employee_rate: f64,
        pub employee_coverage: AreaRates,
        /// Resident scheme: share of the others who contribute, and the yearly levels they choose.
        pub resident_coverage: AreaRates,
        pub resident_levels: Vec<AmountWeight>,
    }
}

table! {
    /// Household assets. Rates apply at `reference_income` per capita and scale with
    /// (per-capita income / reference_income) ^ elasticity.
    pub struct AssetsArea {
        pub reference_income: f64,
        pub financial: Vec<LognormalPart>,
        pub financial_elasticity: f64,
        pub vehicle_rate: f64,
        pub vehicle_elasticity: f64,
        pub second_vehicle_rate: f64,
        /// Weights of owning 0, 1, 2, ... dwellings.
        pub house_weights: Vec<f64>,
        /// Probability of one more dwelling per unit of income ratio above 1 (capped at 0.5).
        pub extra_house_rate: f64,
    }
}

table! {
    /// Confirmed dishonesty tiers (weights).
    pub struct Credit {
        pub good: f64,
        pub general: f64,
        pub serious: f64,
        pub severe: f64,
    }
}

table! {
    /// 建档立卡: probability by per-capita monthly income relative to `line`.
    pub struct RegisteredPoor {
        pub line: f64,
        pub rural_below_line: f64,
        pub rural_above_line: f64,
        pub urban: f64,
    }
}

table! {
    /// 纯女户 (daughters only). Derived when the household lists children of the head: true iff all of them
    /// are daughters. When no child of the head is listed and the head is at least `min_head_age`, drawn with
    /// probability `no_children_listed_share` (the children live elsewhere).
    pub struct PureFemale {
        pub min_head_age: u32,
        pub no_children_listed_share: f64,
    }
}

table! {
    /// `has_supporter`: with probability `cohabiting_supported` when another counted member aged 18-59
    /// who is not severely disabled lives in the household, else `alone_supported`.
    pub struct Support {
        pub cohabiting_supported: f64,
        pub alone_supported: f64,
    }
}

table! {
    /// Roll errors kept on purpose: dead and imprisoned persons still listed.
    pub struct Roll {
        pub dead: Vec<RateBand>,
        pub imprisoned: Vec<RateBand>,
    }
}

table! {
    /// Current `on_dibao`: with r = y / standard, where y is the policy's per-capita income after its
    /// deductions and the standard the policy's (both evaluated by the interpreter in the month the
    /// population starts, `crate::screen::PolicyScreen`),
    /// `p = take_up * logistic((threshold - r) / softness) * (the policy's asset or credit test failed ? asset_penalty : 1) + error_rate`.
    pub struct DibaoArea {
        /// Not read: the policy's standard is used (kept so that specs that give it still load).
        pub standard: f64,
        /// Ratio r at which half of `take_up` applies (calibrated when a dibao target is given).
        pub threshold: f64,
        pub softness: f64,
        pub take_up: f64,
        pub error_rate: f64,
        pub asset_penalty: f64,
        /// Not read: the policy's asset test is used (`asset_months`, `max_vehicles`, `max_houses` are
        /// kept so that specs that give them still load).
        pub asset_months: f64,
        pub max_vehicles: u32,
        pub max_houses: u32,
        /// Take-up of a household with a member able to work (aged 16-59, alive and free, not a student,
        /// independent in self-care, not severely disabled, without uremia, cancer or a severe mental
        /// disorder) as a share of the others' take-up. Default 1.
        #[serde(default = "one")]
        pub able_take_up_factor: f64,
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LowIncomeTarget {
    /// Monthly per-capita income line (yuan).
    pub line: f64,
    /// Target share of households below the line.
    pub share: f64,
}

table! {
    /// Calibration targets. All optional.
    #[derive(Default)]
    pub struct Targets {
        /// City-wide share of persons in urban households: region × area persons are raked (IPF) to the
        /// region totals and to this margin.
        #[serde(default)]
        pub urban_share_persons: Option<f64>,
        /// Mean household size by area: the size distribution is exponentially tilted (bisection).
        #[serde(default)]
        pub mean_household_size: Option<AreaOpt<f64>>,
        /// Share of households below a per-capita income line: income scale by area (bisection).
        #[serde(default)]
        pub low_income_share: Option<AreaOpt<LowIncomeTarget>>,
        /// Mean monthly income per counted person by area (alternative to `low_income_share`): income
        /// scale by area (incomes are linear in the scale, so the scale is solved exactly).
        #[serde(default)]
        pub mean_per_capita_income: Option<AreaOpt<f64>>,
        /// Share of households on dibao by area: dibao threshold by area (bisection).
        #[serde(default)]
        pub dibao_households_share: Option<AreaOpt<f64>>,
        /// Share of persons in dibao households by area (alternative to the household share).
        #[serde(default)]
        pub dibao_persons_share: Option<AreaOpt<f64>>,
        /// Persons by age band: reported against the achieved structure (not adjusted).
        #[serde(default)]
        pub persons_by_age_band: Option<Vec<ShareBand>>,
    }
}

fn default_sample() -> usize {
    20_000
}
fn default_tolerance() -> f64 {
    0.01
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSettings {
    /// Calibration runs on the first `sample_households` households of the seed's stream.
    #[serde(default = "default_sample")]
    pub sample_households: usize,
    /// Relative tolerance used to mark a calibrated figure as reached.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
}

impl Default for CalibrationSettings {
    fn default() -> Self {
        CalibrationSettings {
            sample_households: default_sample(),
            tolerance: default_tolerance(),
        }
    }
}
