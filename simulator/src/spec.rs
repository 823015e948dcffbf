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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub year: Option<u32>,
    /// Real population the spec describes (persons), for reports.
    #[serde(default)]
    pub reference_population: Option<u64>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// One county-level unit. Give exactly one of `population`, `households`, `share` (all regions the same).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

/// The same table for both areas.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByArea<T> {
    pub urban: T,
    pub rural: T,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
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

/// Household size distribution: `weights[k]` is the weight of size `k + 1`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeDist {
    pub weights: Vec<f64>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
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

/// Who lives together. Household heads are drawn from the age bands for their household type
/// (size 1, size 2, size 3+); the second member is the head's spouse with probability `spouse_share`;
/// further members are the head's children, parents (heads 45-64) or grandchildren (heads 55+).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

/// Monthly income of a person, by situation (yuan per month).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disability {
    pub bands: Vec<DisabilityBand>,
    /// Weights of grades 1, 2, 3, 4 among disabled persons.
    pub grade_weights: Vec<f64>,
    /// Self-care loss of severely disabled persons (grade 1-2).
    pub severe_semi_disabled: f64,
    pub severe_fully_disabled: f64,
    /// Yearly rehabilitation spending of disabled persons (yuan per year).
    pub rehab: Vec<LognormalPart>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
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

/// Out-of-pocket medical costs over 12 months by illness (yuan per year).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IllnessCosts {
    pub none: Vec<LognormalPart>,
    pub uremia: Vec<LognormalPart>,
    pub mental: Vec<LognormalPart>,
    pub cancer: Vec<LognormalPart>,
    pub other_major: Vec<LognormalPart>,
    pub chronic: Vec<LognormalPart>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Illness {
    pub bands: Vec<IllnessBand>,
    pub oop: IllnessCosts,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
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

/// Tuition per school year (yuan) by kind of schooling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuition {
    #[serde(default)]
    pub compulsory: Vec<LognormalPart>,
    pub high_school: Vec<LognormalPart>,
    pub secondary_vocational: Vec<LognormalPart>,
    pub higher_vocational: Vec<LognormalPart>,
    pub university: Vec<LognormalPart>,
    pub abroad_self_funded: Vec<LognormalPart>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schooling {
    pub urban: SchoolingArea,
    pub rural: SchoolingArea,
    pub tuition: Tuition,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountWeight {
    pub amount: f64,
    pub weight: f64,
}

/// Individual pension contributions of persons aged `min_age..=max_age` (not students).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pension {
    pub min_age: u32,
    pub max_age: u32,
    /// Employee scheme: individual rate on wages (e.g. 0.08), share of employed persons covered.
    pub employee_rate: f64,
    pub employee_coverage: AreaRates,
    /// Resident scheme: share of the others who contribute, and the yearly levels they choose.
    pub resident_coverage: AreaRates,
    pub resident_levels: Vec<AmountWeight>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

/// Household assets. Rates apply at `reference_income` per capita and scale with
/// (per-capita income / reference_income) ^ elasticity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

/// Confirmed dishonesty tiers (weights).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credit {
    pub good: f64,
    pub general: f64,
    pub serious: f64,
    pub severe: f64,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

/// 建档立卡: probability by per-capita monthly income relative to `line`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredPoor {
    pub line: f64,
    pub rural_below_line: f64,
    pub rural_above_line: f64,
    pub urban: f64,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

/// 纯女户 (daughters only). Derived when the household lists children of the head: true iff all of them
/// are daughters. When no child of the head is listed and the head is at least `min_head_age`, drawn with
/// probability `no_children_listed_share` (the children live elsewhere).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PureFemale {
    pub min_head_age: u32,
    pub no_children_listed_share: f64,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

/// `has_supporter`: with probability `cohabiting_supported` when another counted member aged 18-59
/// who is not severely disabled lives in the household, else `alone_supported`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Support {
    pub cohabiting_supported: f64,
    pub alone_supported: f64,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

/// Roll errors kept on purpose: dead and imprisoned persons still listed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roll {
    pub dead: Vec<RateBand>,
    pub imprisoned: Vec<RateBand>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

/// Current `on_dibao`: with r = y / standard, where y is the policy's per-capita income after its
/// deductions and the standard the policy's (both evaluated by the interpreter in the month the
/// population starts, `crate::screen::PolicyScreen`),
/// `p = take_up * logistic((threshold - r) / softness) * (the policy's asset or credit test failed ? asset_penalty : 1) + error_rate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LowIncomeTarget {
    /// Monthly per-capita income line (yuan).
    pub line: f64,
    /// Target share of households below the line.
    pub share: f64,
}

/// Calibration targets. All optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub assumption: Option<String>,
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

// ---------------------------------------------------------------------------------------------
// Errors and warnings

/// One invalid value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Syntax, type, unknown or missing key (from the TOML parser).
    #[error("{file}: {key}: {message}")]
    Parse {
        file: String,
        key: String,
        message: String,
    },
    /// Values out of range; one line per problem.
    #[error("{}", problems.iter().map(|p| format!("{file}: {}: {}", p.key, p.message)).collect::<Vec<_>>().join("\n"))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

impl SpecError {
    /// The key paths named by the error (empty for I/O errors).
    pub fn keys(&self) -> Vec<&str> {
        match self {
            SpecError::Io { .. } => vec![],
            SpecError::Parse { key, .. } => vec![key.as_str()],
            SpecError::Invalid { problems, .. } => {
                problems.iter().map(|p| p.key.as_str()).collect()
            }
        }
    }
}

/// A non-fatal remark (e.g. a figure without `source` or `assumption`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: warning: {}", self.file, self.key, self.message)
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

impl PopulationSpec {
    /// Read, parse and validate a spec file. Warnings (e.g. unsourced figures) are returned beside it.
    pub fn load(path: impl AsRef<Path>) -> Result<(PopulationSpec, Vec<Warning>), SpecError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            file: file.clone(),
            source,
        })?;
        Self::from_toml_str(&text, &file)
    }

    /// Parse and validate spec text; `file` is the name used in messages.
    pub fn from_toml_str(
        text: &str,
        file: &str,
    ) -> Result<(PopulationSpec, Vec<Warning>), SpecError> {
        let de = toml::Deserializer::new(text);
        let mut spec: PopulationSpec = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            parse_error(file, text, &path, &inner)
        })?;
        spec.file = file.to_string();
        // The typed parse succeeded, so the text is valid TOML.
        let raw: toml::Table =
            toml::from_str(text).map_err(|e| parse_error(file, text, ".", &e))?;
        let mut warnings = Vec::new();
        let mut notes = Vec::new();
        walk_provenance(&raw, "", false, file, &mut warnings, &mut notes);
        spec.provenance = notes;
        let mut check = Check {
            problems: Vec::new(),
        };
        spec.validate_into(&mut check, &mut warnings);
        if !check.problems.is_empty() {
            return Err(SpecError::Invalid {
                file: file.to_string(),
                problems: check.problems,
            });
        }
        Ok((spec, warnings))
    }

    /// Check the values of a spec built or changed in code (loading already does this). Returns the
    /// warnings that do not depend on the file's provenance notes.
    pub fn validate(&self) -> Result<Vec<Warning>, SpecError> {
        let mut check = Check {
            problems: Vec::new(),
        };
        let mut warnings = Vec::new();
        self.validate_into(&mut check, &mut warnings);
        if check.problems.is_empty() {
            Ok(warnings)
        } else {
            Err(SpecError::Invalid {
                file: self.file.clone(),
                problems: check.problems,
            })
        }
    }

    /// Region codes in output order (sorted).
    pub fn region_codes(&self) -> Vec<&str> {
        self.regions.keys().map(|k| k.as_str()).collect()
    }
}

fn parse_error(file: &str, text: &str, path: &str, e: &toml::de::Error) -> SpecError {
    let message = e.message().trim().to_string();
    let mut key = if path.is_empty() || path == "." {
        String::new()
    } else {
        path.to_string()
    };
    // serde reports unknown and missing fields at the enclosing table: name the field itself.
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some(end) = rest.find('`') {
                let field = &rest[..end];
                if !key.ends_with(field) {
                    key = if key.is_empty() {
                        field.to_string()
                    } else {
                        format!("{key}.{field}")
                    };
                }
            }
        }
    }
    // `duplicate key `year` in table `meta``
    if let Some(rest) = message.strip_prefix("duplicate key `") {
        let parts: Vec<&str> = rest.split('`').collect();
        if parts.len() >= 3 && parts[1].trim() == "in table" {
            key = join_key(parts[2], parts[0]);
        } else if !parts.is_empty() {
            key = join_key(&key, parts[0]);
        }
    }
    if key.is_empty() {
        key = "(top level)".to_string();
    }
    let location = e.span().map(|span| {
        let upto = &text[..span.start.min(text.len())];
        let line = upto.matches('\n').count() + 1;
        let col = upto
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        format!(" (line {line}, column {col})")
    });
    SpecError::Parse {
        file: file.to_string(),
        key,
        message: format!("{message}{}", location.unwrap_or_default()),
    }
}

fn note_text(t: &toml::Table, name: &str) -> Option<String> {
    match t.get(name) {
        Some(toml::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn is_figure(v: &toml::Value) -> bool {
    match v {
        toml::Value::Integer(_) | toml::Value::Float(_) => true,
        toml::Value::Array(items) => items.iter().any(is_figure),
        toml::Value::Table(t) => t.values().any(is_figure),
        _ => false,
    }
}

fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Warn for every table holding figures that neither it nor an enclosing table covers with a
/// `source` or `assumption`; collect the notes.
fn walk_provenance(
    table: &toml::Table,
    path: &str,
    covered: bool,
    file: &str,
    warnings: &mut Vec<Warning>,
    notes: &mut Vec<Provenance>,
) {
    let source = note_text(table, "source");
    let assumption = note_text(table, "assumption");
    for name in ["source", "assumption"] {
        if let Some(v) = table.get(name) {
            if !matches!(v, toml::Value::String(s) if !s.trim().is_empty()) {
                warnings.push(Warning {
                    file: file.to_string(),
                    key: join_key(path, name),
                    message: "should be a non-empty text".to_string(),
                });
            }
        }
    }
    if source.is_some() || assumption.is_some() {
        notes.push(Provenance {
            key: if path.is_empty() {
                "(top level)".into()
            } else {
                path.to_string()
            },
            source: source.clone(),
            assumption: assumption.clone(),
        });
    }
    let covered = covered || source.is_some() || assumption.is_some();
    let mut uncovered_figures: Vec<&str> = Vec::new();
    for (k, v) in table {
        if path.is_empty() && k == "calibration" {
            continue; // settings, not figures
        }
        match v {
            toml::Value::Table(sub) => {
                walk_provenance(sub, &join_key(path, k), covered, file, warnings, notes)
            }
            toml::Value::Array(items)
                if items.iter().all(|i| matches!(i, toml::Value::Table(_)))
                    && !items.is_empty() =>
            {
                // Arrays of tables: each element may carry its own note; otherwise this table must.
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::Table(sub) = item {
                        let has_note = note_text(sub, "source").is_some()
                            || note_text(sub, "assumption").is_some();
                        if has_note {
                            walk_provenance(
                                sub,
                                &format!("{}[{i}]", join_key(path, k)),
                                covered,
                                file,
                                warnings,
                                notes,
                            );
                        } else if !covered
                            && is_figure(item)
                            && !uncovered_figures.contains(&k.as_str())
                        {
                            uncovered_figures.push(k);
                        }
                    }
                }
            }
            other => {
                if !covered && is_figure(other) {
                    uncovered_figures.push(k);
                }
            }
        }
    }
    if !uncovered_figures.is_empty() {
        warnings.push(Warning {
            file: file.to_string(),
            key: if path.is_empty() { uncovered_figures.join(", ") } else { path.to_string() },
            message: format!(
                "figures without `source` or `assumption` ({}): add one to this table or an enclosing one",
                uncovered_figures.join(", ")
            ),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Validation

struct Check {
    problems: Vec<Problem>,
}

impl Check {
    fn err(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }
    fn finite(&mut self, key: &str, v: f64) -> bool {
        if v.is_finite() {
            true
        } else {
            self.err(key, format!("must be a finite number, found {v}"));
            false
        }
    }
    fn rate(&mut self, key: &str, v: f64) {
        if self.finite(key, v) && !(0.0..=1.0).contains(&v) {
            self.err(key, format!("must be between 0 and 1, found {v}"));
        }
    }
    fn nonneg(&mut self, key: &str, v: f64) {
        if self.finite(key, v) && v < 0.0 {
            self.err(key, format!("must not be negative, found {v}"));
        }
    }
    fn positive(&mut self, key: &str, v: f64) {
        if self.finite(key, v) && v <= 0.0 {
            self.err(key, format!("must be greater than 0, found {v}"));
        }
    }
    fn weights(&mut self, key: &str, ws: &[f64]) {
        if ws.is_empty() {
            self.err(key, "must not be empty");
            return;
        }
        let mut ok = true;
        for (i, w) in ws.iter().enumerate() {
            let k = format!("{key}[{i}]");
            if !self.finite(&k, *w) {
                ok = false;
            } else if *w < 0.0 {
                self.err(k, format!("must not be negative, found {w}"));
                ok = false;
            }
        }
        if ok && ws.iter().sum::<f64>() <= 0.0 {
            self.err(key, "weights must not all be zero");
        }
    }
    fn mixture(&mut self, key: &str, parts: &[LognormalPart]) {
        let mut total = 0.0;
        for (i, p) in parts.iter().enumerate() {
            let k = format!("{key}[{i}]");
            self.rate(&format!("{k}.share"), p.share);
            self.nonneg(&format!("{k}.median"), p.median);
            self.nonneg(&format!("{k}.sigma"), p.sigma);
            if p.sigma.is_finite() && p.sigma > 5.0 {
                self.err(
                    format!("{k}.sigma"),
                    format!("must be at most 5, found {}", p.sigma),
                );
            }
            if p.share.is_finite() {
                total += p.share;
            }
        }
        if total > 1.0 + 1e-9 {
            self.err(
                key,
                format!("shares must add up to at most 1, found {total}"),
            );
        }
    }
    fn age_range(&mut self, key: &str, min: u32, max: u32) {
        if min > max {
            self.err(key, format!("min ({min}) must not exceed max ({max})"));
        }
        if max > MAX_AGE {
            self.err(
                format!("{key}.max"),
                format!("must be at most {MAX_AGE}, found {max}"),
            );
        }
    }
    fn no_overlap(&mut self, key: &str, ranges: &[(u32, u32)]) {
        for i in 0..ranges.len() {
            for j in (i + 1)..ranges.len() {
                let (a, b) = (ranges[i], ranges[j]);
                if a.0 <= b.1 && b.0 <= a.1 {
                    self.err(
                        key,
                        format!(
                            "age bands [{i}] ({}-{}) and [{j}] ({}-{}) overlap",
                            a.0, a.1, b.0, b.1
                        ),
                    );
                }
            }
        }
    }
}

/// Oldest age the generator produces.
pub const MAX_AGE: u32 = 105;
/// Largest household size accepted in `household_size` weights.
pub const MAX_HOUSEHOLD_SIZE: usize = 20;

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl PopulationSpec {
    fn validate_into(&self, c: &mut Check, warnings: &mut Vec<Warning>) {
        let region_codes = self.region_codes();
        for (i, st) in self.oversample.iter().enumerate() {
            for (k, m) in st.problems(i, &region_codes) {
                c.err(k, m);
            }
        }
        let file = self.file.clone();
        let mut warn = |key: String, message: String| {
            warnings.push(Warning {
                file: file.clone(),
                key,
                message,
            })
        };

        // Regions.
        if self.regions.is_empty() {
            c.err("regions", "at least one region is required");
        }
        let mut kinds = std::collections::BTreeSet::new();
        let mut share_sum = 0.0;
        for (code, r) in &self.regions {
            let k = format!("regions.{code}");
            if !is_code(code) {
                c.err(&k, "region codes must be lowercase ASCII letters, digits or `_` (they are written to households.csv)");
            }
            let given = [
                r.population.is_some(),
                r.households.is_some(),
                r.share.is_some(),
            ];
            match given.iter().filter(|g| **g).count() {
                1 => {}
                0 => c.err(&k, "give one of `population`, `households` or `share`"),
                _ => c.err(&k, "give only one of `population`, `households` or `share`"),
            }
            if let Some(p) = r.population {
                kinds.insert("population");
                if p == 0 {
                    c.err(format!("{k}.population"), "must be greater than 0, found 0");
                }
            }
            if let Some(h) = r.households {
                kinds.insert("households");
                if h == 0 {
                    c.err(format!("{k}.households"), "must be greater than 0, found 0");
                }
            }
            if let Some(s) = r.share {
                kinds.insert("share");
                c.rate(&format!("{k}.share"), s);
                if s.is_finite() {
                    share_sum += s;
                }
            }
            c.rate(&format!("{k}.urban_share"), r.urban_share);
            c.positive(&format!("{k}.income_scale"), r.income_scale);
        }
        if kinds.len() > 1 {
            c.err(
                "regions",
                format!(
                    "all regions must use the same kind of size ({} mixed)",
                    kinds.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            );
        } else if kinds.contains("share") && (share_sum - 1.0).abs() > 1e-3 && share_sum > 0.0 {
            warn(
                "regions".into(),
                format!("shares add up to {share_sum}, not 1; they are normalised"),
            );
        }
        if kinds.contains("share") && share_sum <= 0.0 {
            c.err("regions", "shares must not all be zero");
        }

        for area in Area::ALL {
            let a = area.as_str();
            // Household size.
            let hs = self.household_size.get(area);
            let k = format!("household_size.{a}.weights");
            c.weights(&k, &hs.weights);
            if hs.weights.len() > MAX_HOUSEHOLD_SIZE {
                c.err(
                    &k,
                    format!(
                        "at most {MAX_HOUSEHOLD_SIZE} sizes, found {}",
                        hs.weights.len()
                    ),
                );
            }

            // Composition.
            let comp = self.composition.get(area);
            let k = format!("composition.{a}");
            for (name, bands) in [
                ("single_head_ages", &comp.single_head_ages),
                ("couple_head_ages", &comp.couple_head_ages),
                ("family_head_ages", &comp.family_head_ages),
            ] {
                let kb = format!("{k}.{name}");
                weighted_bands(c, &kb, bands);
                for (i, b) in bands.iter().enumerate() {
                    if b.min < 18 {
                        c.err(
                            format!("{kb}[{i}].min"),
                            format!("household heads must be at least 18, found {}", b.min),
                        );
                    }
                }
            }
            c.rate(&format!("{k}.head_male_share"), comp.head_male_share);
            c.rate(&format!("{k}.spouse_share"), comp.spouse_share);
            c.rate(&format!("{k}.parent_share"), comp.parent_share);
            c.rate(&format!("{k}.grandchild_share"), comp.grandchild_share);
            c.rate(&format!("{k}.child_male_share"), comp.child_male_share);
            c.rate(&format!("{k}.parent_male_share"), comp.parent_male_share);
            if comp.parent_share.is_finite()
                && comp.grandchild_share.is_finite()
                && comp.parent_share + comp.grandchild_share > 1.0
            {
                c.err(
                    format!("{k}.grandchild_share"),
                    "parent_share + grandchild_share must be at most 1",
                );
            }

            // Income.
            let inc = self.income.get(area);
            let k = format!("income.{a}");
            c.mixture(&format!("{k}.employed"), &inc.employed);
            c.mixture(&format!("{k}.nonemployed"), &inc.nonemployed);
            c.mixture(&format!("{k}.elderly"), &inc.elderly);
            c.mixture(&format!("{k}.student"), &inc.student);
            if inc.elderly_age < 16 || inc.elderly_age > MAX_AGE {
                c.err(
                    format!("{k}.elderly_age"),
                    format!(
                        "must be between 16 and {MAX_AGE}, found {}",
                        inc.elderly_age
                    ),
                );
            }

            // Employment bands.
            let k = format!("employment.{a}");
            let bands = self.employment.bands(area);
            for (i, b) in bands.iter().enumerate() {
                let kb = format!("{k}[{i}]");
                c.age_range(&kb, b.min, b.max);
                c.rate(&format!("{kb}.male"), b.male);
                c.rate(&format!("{kb}.female"), b.female);
            }
            c.no_overlap(
                &k,
                &bands.iter().map(|b| (b.min, b.max)).collect::<Vec<_>>(),
            );

            // Schooling.
            let s = match area {
                Area::Urban => &self.schooling.urban,
                Area::Rural => &self.schooling.rural,
            };
            let k = format!("schooling.{a}");
            c.rate(&format!("{k}.compulsory"), s.compulsory);
            c.rate(&format!("{k}.upper_secondary"), s.upper_secondary);
            c.rate(&format!("{k}.vocational_share"), s.vocational_share);
            c.rate(&format!("{k}.tertiary"), s.tertiary);
            c.nonneg(&format!("{k}.higher_vocational"), s.higher_vocational);
            c.nonneg(&format!("{k}.university"), s.university);
            c.nonneg(&format!("{k}.abroad_self_funded"), s.abroad_self_funded);
            if s.tertiary > 0.0 && s.higher_vocational + s.university + s.abroad_self_funded <= 0.0
            {
                c.err(&k, "tertiary weights (higher_vocational, university, abroad_self_funded) must not all be zero");
            }

            // Pension coverage.
            c.rate(
                &format!("pension.employee_coverage.{a}"),
                self.pension.employee_coverage.get(area),
            );
            c.rate(
                &format!("pension.resident_coverage.{a}"),
                self.pension.resident_coverage.get(area),
            );

            // Assets.
            let asx = self.assets.get(area);
            let k = format!("assets.{a}");
            c.positive(&format!("{k}.reference_income"), asx.reference_income);
            c.mixture(&format!("{k}.financial"), &asx.financial);
            c.nonneg(
                &format!("{k}.financial_elasticity"),
                asx.financial_elasticity,
            );
            c.rate(&format!("{k}.vehicle_rate"), asx.vehicle_rate);
            c.nonneg(&format!("{k}.vehicle_elasticity"), asx.vehicle_elasticity);
            c.rate(&format!("{k}.second_vehicle_rate"), asx.second_vehicle_rate);
            c.weights(&format!("{k}.house_weights"), &asx.house_weights);
            c.rate(&format!("{k}.extra_house_rate"), asx.extra_house_rate);

            // Dibao.
            let d = self.dibao.get(area);
            let k = format!("dibao.{a}");
            c.positive(&format!("{k}.standard"), d.standard);
            c.finite(&format!("{k}.threshold"), d.threshold);
            c.nonneg(&format!("{k}.softness"), d.softness);
            c.rate(&format!("{k}.take_up"), d.take_up);
            c.rate(&format!("{k}.error_rate"), d.error_rate);
            c.rate(&format!("{k}.asset_penalty"), d.asset_penalty);
            c.rate(&format!("{k}.able_take_up_factor"), d.able_take_up_factor);
            c.nonneg(&format!("{k}.asset_months"), d.asset_months);
        }

        // Employment categories.
        c.rate(
            "employment.severe_disability_factor",
            self.employment.severe_disability_factor,
        );
        if let Some(b) = &self.employment.breadwinner {
            c.rate("employment.breadwinner.urban", b.urban);
            c.rate("employment.breadwinner.rural", b.rural);
        }
        let mut cat_sum_ok = true;
        for (name, rule) in [
            ("fresh_graduate", &self.employment.fresh_graduate),
            ("released_prisoner", &self.employment.released_prisoner),
            ("discharged_soldier", &self.employment.discharged_soldier),
        ] {
            let k = format!("employment.{name}");
            c.age_range(&k, rule.min, rule.max);
            c.rate(&format!("{k}.share"), rule.share);
            cat_sum_ok &= rule.share.is_finite();
        }
        if cat_sum_ok {
            let total = self.employment.fresh_graduate.share
                + self.employment.released_prisoner.share
                + self.employment.discharged_soldier.share;
            if total > 1.0 {
                c.err(
                    "employment",
                    format!("category shares must add up to at most 1, found {total}"),
                );
            }
        }

        // Disability.
        let d = &self.disability;
        for (i, b) in d.bands.iter().enumerate() {
            let k = format!("disability.bands[{i}]");
            c.age_range(&k, b.min, b.max);
            c.rate(&format!("{k}.prevalence"), b.prevalence);
            c.rate(&format!("{k}.semi_disabled"), b.semi_disabled);
            c.rate(&format!("{k}.fully_disabled"), b.fully_disabled);
            if b.semi_disabled + b.fully_disabled > 1.0 {
                c.err(&k, "semi_disabled + fully_disabled must be at most 1");
            }
        }
        c.no_overlap(
            "disability.bands",
            &d.bands.iter().map(|b| (b.min, b.max)).collect::<Vec<_>>(),
        );
        c.weights("disability.grade_weights", &d.grade_weights);
        if d.grade_weights.len() != 4 {
            c.err(
                "disability.grade_weights",
                format!(
                    "must have 4 weights (grades 1-4), found {}",
                    d.grade_weights.len()
                ),
            );
        }
        c.rate("disability.severe_semi_disabled", d.severe_semi_disabled);
        c.rate("disability.severe_fully_disabled", d.severe_fully_disabled);
        if d.severe_semi_disabled + d.severe_fully_disabled > 1.0 {
            c.err(
                "disability",
                "severe_semi_disabled + severe_fully_disabled must be at most 1",
            );
        }
        c.mixture("disability.rehab", &d.rehab);

        // Illness.
        for (i, b) in self.illness.bands.iter().enumerate() {
            let k = format!("illness.bands[{i}]");
            c.age_range(&k, b.min, b.max);
            let rates = [
                ("uremia", b.uremia),
                ("mental", b.mental),
                ("cancer", b.cancer),
                ("other_major", b.other_major),
                ("chronic", b.chronic),
            ];
            for (n, r) in rates {
                c.rate(&format!("{k}.{n}"), r);
            }
            let total: f64 = rates.iter().map(|r| r.1).sum();
            if total > 1.0 + 1e-9 {
                c.err(
                    &k,
                    format!("illness rates must add up to at most 1, found {total}"),
                );
            }
        }
        c.no_overlap(
            "illness.bands",
            &self
                .illness
                .bands
                .iter()
                .map(|b| (b.min, b.max))
                .collect::<Vec<_>>(),
        );
        let o = &self.illness.oop;
        for (n, m) in [
            ("none", &o.none),
            ("uremia", &o.uremia),
            ("mental", &o.mental),
            ("cancer", &o.cancer),
            ("other_major", &o.other_major),
            ("chronic", &o.chronic),
        ] {
            c.mixture(&format!("illness.oop.{n}"), m);
        }

        // Tuition.
        let t = &self.schooling.tuition;
        for (n, m) in [
            ("compulsory", &t.compulsory),
            ("high_school", &t.high_school),
            ("secondary_vocational", &t.secondary_vocational),
            ("higher_vocational", &t.higher_vocational),
            ("university", &t.university),
            ("abroad_self_funded", &t.abroad_self_funded),
        ] {
            c.mixture(&format!("schooling.tuition.{n}"), m);
        }

        // Pension.
        let p = &self.pension;
        c.age_range("pension", p.min_age, p.max_age);
        c.rate("pension.employee_rate", p.employee_rate);
        if p.resident_levels.is_empty() {
            c.err("pension.resident_levels", "must not be empty");
        }
        for (i, l) in p.resident_levels.iter().enumerate() {
            c.nonneg(&format!("pension.resident_levels[{i}].amount"), l.amount);
            c.nonneg(&format!("pension.resident_levels[{i}].weight"), l.weight);
        }
        if !p.resident_levels.is_empty()
            && p.resident_levels.iter().map(|l| l.weight).sum::<f64>() <= 0.0
        {
            c.err("pension.resident_levels", "weights must not all be zero");
        }

        // Credit.
        let cr = &self.credit;
        c.weights("credit", &[cr.good, cr.general, cr.serious, cr.severe]);
        for (n, v) in [
            ("good", cr.good),
            ("general", cr.general),
            ("serious", cr.serious),
            ("severe", cr.severe),
        ] {
            c.nonneg(&format!("credit.{n}"), v);
        }

        // Registered poor, pure female, support.
        c.nonneg("registered_poor.line", self.registered_poor.line);
        c.rate(
            "registered_poor.rural_below_line",
            self.registered_poor.rural_below_line,
        );
        c.rate(
            "registered_poor.rural_above_line",
            self.registered_poor.rural_above_line,
        );
        c.rate("registered_poor.urban", self.registered_poor.urban);
        c.rate(
            "pure_female.no_children_listed_share",
            self.pure_female.no_children_listed_share,
        );
        c.rate(
            "support.cohabiting_supported",
            self.support.cohabiting_supported,
        );
        c.rate("support.alone_supported", self.support.alone_supported);

        // Roll.
        for (name, bands) in [
            ("dead", &self.roll.dead),
            ("imprisoned", &self.roll.imprisoned),
        ] {
            for (i, b) in bands.iter().enumerate() {
                let k = format!("roll.{name}[{i}]");
                c.age_range(&k, b.min, b.max);
                c.rate(&format!("{k}.rate"), b.rate);
            }
            c.no_overlap(
                &format!("roll.{name}"),
                &bands.iter().map(|b| (b.min, b.max)).collect::<Vec<_>>(),
            );
        }

        // Targets.
        let t = &self.targets;
        if let Some(u) = t.urban_share_persons {
            c.rate("targets.urban_share_persons", u);
            if u.is_finite() {
                let needs_urban = u > 0.0;
                let needs_rural = u < 1.0;
                if needs_urban && self.regions.values().all(|r| r.urban_share <= 0.0) {
                    c.err(
                        "targets.urban_share_persons",
                        "unreachable: no region has urban persons",
                    );
                }
                if needs_rural && self.regions.values().all(|r| r.urban_share >= 1.0) {
                    c.err(
                        "targets.urban_share_persons",
                        "unreachable: no region has rural persons",
                    );
                }
            }
        }
        for area in Area::ALL {
            let a = area.as_str();
            if let Some(m) = t.mean_household_size.as_ref().and_then(|m| m.get(area)) {
                let k = format!("targets.mean_household_size.{a}");
                let ws = &self.household_size.get(area).weights;
                let lo = ws.iter().position(|w| *w > 0.0).map(|i| i + 1).unwrap_or(1) as f64;
                let hi = ws
                    .iter()
                    .rposition(|w| *w > 0.0)
                    .map(|i| i + 1)
                    .unwrap_or(1) as f64;
                if c.finite(&k, *m) && (*m < lo || *m > hi) {
                    c.err(&k, format!("must be between {lo} and {hi} (the sizes with positive weight), found {m}"));
                }
            }
            if let Some(li) = t.low_income_share.as_ref().and_then(|m| m.get(area)) {
                let k = format!("targets.low_income_share.{a}");
                c.positive(&format!("{k}.line"), li.line);
                c.rate(&format!("{k}.share"), li.share);
            }
            if let Some(m) = t.mean_per_capita_income.as_ref().and_then(|m| m.get(area)) {
                let k = format!("targets.mean_per_capita_income.{a}");
                c.positive(&k, *m);
                if t.low_income_share
                    .as_ref()
                    .and_then(|m| m.get(area))
                    .is_some()
                {
                    c.err(&k, format!("give either low_income_share.{a} or mean_per_capita_income.{a}, not both (both set the income scale)"));
                }
            }
            let dh = t.dibao_households_share.as_ref().and_then(|m| m.get(area));
            let dp = t.dibao_persons_share.as_ref().and_then(|m| m.get(area));
            if let Some(v) = dh {
                c.rate(&format!("targets.dibao_households_share.{a}"), *v);
            }
            if let Some(v) = dp {
                c.rate(&format!("targets.dibao_persons_share.{a}"), *v);
            }
            if dh.is_some() && dp.is_some() {
                c.err(format!("targets.dibao_persons_share.{a}"), format!("give either dibao_households_share.{a} or dibao_persons_share.{a}, not both"));
            }
        }
        if let Some(bands) = &t.persons_by_age_band {
            let mut total = 0.0;
            for (i, b) in bands.iter().enumerate() {
                let k = format!("targets.persons_by_age_band[{i}]");
                c.age_range(&k, b.min, b.max);
                c.rate(&format!("{k}.share"), b.share);
                total += b.share;
            }
            c.no_overlap(
                "targets.persons_by_age_band",
                &bands.iter().map(|b| (b.min, b.max)).collect::<Vec<_>>(),
            );
            if total > 1.0 + 1e-6 {
                c.err(
                    "targets.persons_by_age_band",
                    format!("shares must add up to at most 1, found {total}"),
                );
            }
        }
        if self.calibration.sample_households == 0 {
            c.err("calibration.sample_households", "must be at least 1");
        }
        c.positive("calibration.tolerance", self.calibration.tolerance);
    }
}

fn weighted_bands(c: &mut Check, key: &str, bands: &[WeightedBand]) {
    if bands.is_empty() {
        c.err(key, "must not be empty");
        return;
    }
    for (i, b) in bands.iter().enumerate() {
        let k = format!("{key}[{i}]");
        c.age_range(&k, b.min, b.max);
        c.nonneg(&format!("{k}.weight"), b.weight);
    }
    if bands
        .iter()
        .map(|b| b.weight)
        .filter(|w| w.is_finite())
        .sum::<f64>()
        <= 0.0
    {
        c.err(key, "weights must not all be zero");
    }
    c.no_overlap(
        key,
        &bands.iter().map(|b| (b.min, b.max)).collect::<Vec<_>>(),
    );
}
