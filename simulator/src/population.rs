//! Synthetic populations: `households.csv` + `persons.csv` (DATA.md) from a [`PopulationSpec`].
//!
//! # Determinism
//! Household `i` (0-based) draws everything from its own ChaCha8 stream: the key is derived from the
//! seed, the stream number is `i` (`set_stream`), so a household never depends on another one, on the
//! thread count or on evaluation order. `on_dibao` draws from a second key (same stream number), so
//! calibrating the dibao threshold changes nothing else. Calibration itself runs on the first
//! `calibration.sample_households` households of the same streams, sequentially, so it is deterministic
//! too, and independent of the number of households asked for.
//!
//! # Calibration (in this order)
//! 1. `targets.mean_household_size`: the size weights of an area are tilted exponentially,
//!    w_k ∝ w_k·e^(θk), with θ found by bisection (exact, no sampling).
//! 2. `targets.urban_share_persons`: the region × area matrix of persons (region totals from the spec,
//!    split by each region's `urban_share`) is raked by iterative proportional fitting to the region totals
//!    and to the city-wide urban/rural margin. Household cell probabilities are persons / mean size.
//! 3. `targets.low_income_share`: bisection on an income scale per area (multiplies every income median)
//!    so that the sample share of households whose per-capita income is below the line matches; or
//!    `targets.mean_per_capita_income`: the same scale solved exactly (incomes are linear in it).
//! 4. `targets.dibao_households_share` / `dibao_persons_share`: bisection on the dibao threshold per area.
//!
//! `targets.persons_by_age_band` is reported against the achieved structure, not adjusted.
//! Every calibrated figure is reported with its target, the value reached on the sample (or exactly, for
//! tilting and IPF) and the value in the written population ([`GenerateReport`]'s table).
//!
//! # Output
//! Written chunk by chunk (64k households, generated in parallel, written in order by a writer thread)
//! into a hidden temporary directory inside `out_dir`; both files are moved into place only when
//! complete (an old `households.csv` is removed first, then `persons.csv` and `households.csv` are
//! renamed in), so an interrupted run never leaves a mismatched or half-written pair under the final
//! names. A run killed outright may leave the hidden `.doudi-generate-<pid>-*` directory behind; the
//! next run into the same directory removes it (its process is gone).
//!
//! Schooling by age (compulsory 6-14, upper secondary 15-17, tertiary 18-21) applies to the head's
//! children, parents and grandchildren only: heads and spouses are not full-time students (a student
//! belongs to the parents' household).
//!
//! `pure_female` (纯女户): when the household lists children of the head, true iff all of them are
//! daughters; otherwise drawn for heads of at least `pure_female.min_head_age` (children living elsewhere).
//! Per-capita income (targets, assets, registered_poor) is the income of counted members (alive and
//! not imprisoned) divided by their number, and 0 when there is none.

use crate::spec::{Area, CategoryRule, LognormalPart, PopulationSpec, RateBand, Sex, MAX_AGE};
use crate::work;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Households generated (in parallel) and written per chunk.
pub const CHUNK_HOUSEHOLDS: usize = 65_536;
const SUB_CHUNK: usize = 1_024;

/// What the policy says of a generated household, for its `on_dibao` draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Screened {
    /// Per-capita income after the policy's deductions over the policy's standard.
    pub ratio: f64,
    /// The policy's asset and credit tests passed.
    pub tests_ok: bool,
}

impl Screened {
    /// A household the policy could not evaluate (it then fails again, with its error, when the
    /// simulator evaluates the population): drawn as far above the standard, tests failed.
    pub const UNKNOWN: Screened = Screened {
        ratio: f64::INFINITY,
        tests_ok: false,
    };
}

/// Asks the policy about generated households. The generator never decides eligibility itself:
/// the `on_dibao` draw takes the per-capita income and the tests from the policy (see
/// `crate::screen::PolicyScreen`, which evaluates them with the interpreter).
pub trait DibaoScreen: Sync + fmt::Debug {
    /// The households of a CSV pair (headers included, `on_dibao` false), in order.
    fn screen(&self, households_csv: Vec<u8>, persons_csv: Vec<u8>, n: usize) -> Vec<Screened>;
}

pub const HOUSEHOLD_COLUMNS: [&str; 10] = [
    "household_id",
    "region",
    "area",
    "registered_poor",
    "pure_female",
    "financial_assets",
    "vehicles",
    "houses",
    "credit",
    "on_dibao",
];

pub const PERSON_COLUMNS: [&str; 18] = [
    "person_id",
    "household_id",
    "age",
    "sex",
    "monthly_income",
    "employed",
    "employment_category",
    "disability_grade",
    "self_care",
    "illness",
    "medical_oop_12m",
    "rehab_cost_year",
    "schooling",
    "tuition_year",
    "pension_contrib_year",
    "alive",
    "imprisoned",
    "has_supporter",
];

// ---------------------------------------------------------------------------------------------
// Data model of a generated household (money in cents)

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
    base_income: f64,
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
struct DibaoDraw {
    /// The policy's per-capita income after deductions over its standard.
    ratio: f64,
    /// Asset and credit tests passed.
    tests_ok: bool,
    /// Some member is able to work (see `able_take_up_factor`).
    able: bool,
    u: f64,
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
    pc_base: f64,
    dibao: DibaoDraw,
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

fn push_cents(s: &mut String, cents: i64) {
    use std::fmt::Write as _;
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let _ = write!(s, "{sign}{}.{:02}", c / 100, c % 100);
}

/// Round a draw (yuan) to cents with integer arithmetic afterwards; negative and non-finite give 0.
fn to_cents(yuan: f64) -> i64 {
    if !(yuan.is_finite() && yuan > 0.0) {
        return 0;
    }
    (yuan.min(1e12) * 100.0).round() as i64
}

// ---------------------------------------------------------------------------------------------
// Errors, report

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GenerateError + '_ {
    move |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CalibrationStatus {
    /// Adjusted, and the calibrated value is within the tolerance.
    Reached,
    /// Adjusted as far as possible; the reason says why it stops short.
    OutOfReach(String),
    /// Not adjusted: shown against its target.
    Reported,
}

#[derive(Debug, Clone)]
pub struct CalibrationRow {
    pub quantity: String,
    pub method: String,
    /// The adjusted parameter and its value, e.g. `income scale = 1.083`.
    pub parameter: String,
    pub target: f64,
    /// Value the calibration achieved: exact for analytic methods (IPF, tilting), on the calibration
    /// sample otherwise.
    pub calibrated: f64,
    /// Value in the written population.
    pub output: Option<f64>,
    pub status: CalibrationStatus,
}

#[derive(Debug, Clone)]
pub struct RegionRow {
    pub code: String,
    pub name: String,
    /// Share of persons from the spec.
    pub target_share: f64,
    pub urban_share_spec: f64,
    /// Urban share after raking.
    pub urban_share_raked: f64,
    pub households: u64,
    pub persons: u64,
    pub urban_persons: u64,
}

#[derive(Debug, Clone)]
pub struct GenerateReport {
    pub spec_name: String,
    pub seed: u64,
    pub households: u64,
    pub persons: u64,
    pub out_dir: PathBuf,
    /// Written files and their sizes in bytes.
    pub files: Vec<(PathBuf, u64)>,
    pub calibration: Vec<CalibrationRow>,
    pub regions: Vec<RegionRow>,
    pub dead_persons: u64,
    pub imprisoned_persons: u64,
    pub on_dibao_households: u64,
    pub elapsed_seconds: f64,
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

impl fmt::Display for GenerateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "population `{}`, seed {}: {} households, {} persons ({:.2} s)",
            self.spec_name, self.seed, self.households, self.persons, self.elapsed_seconds
        )?;
        for (path, size) in &self.files {
            writeln!(f, "  {} ({} bytes)", path.display(), size)?;
        }
        writeln!(
            f,
            "  on dibao: {} households; listed but dead: {} persons; imprisoned: {} persons",
            self.on_dibao_households, self.dead_persons, self.imprisoned_persons
        )?;
        if !self.calibration.is_empty() {
            writeln!(f)?;
            let header = [
                "quantity",
                "target",
                "calibrated",
                "output",
                "method",
                "parameter",
                "status",
            ];
            let rows: Vec<[String; 7]> = self
                .calibration
                .iter()
                .map(|r| {
                    [
                        r.quantity.clone(),
                        fmt_num(r.target),
                        fmt_num(r.calibrated),
                        r.output.map(fmt_num).unwrap_or_else(|| "-".into()),
                        r.method.clone(),
                        r.parameter.clone(),
                        match &r.status {
                            CalibrationStatus::Reached => "reached".to_string(),
                            CalibrationStatus::OutOfReach(why) => format!("out of reach: {why}"),
                            CalibrationStatus::Reported => "reported".to_string(),
                        },
                    ]
                })
                .collect();
            write_table(f, &header, &rows)?;
        }
        if !self.regions.is_empty() {
            writeln!(f)?;
            let header = [
                "region",
                "name",
                "share (spec)",
                "share (output)",
                "urban (spec)",
                "urban (raked)",
                "urban (output)",
                "households",
                "persons",
            ];
            let total: u64 = self.regions.iter().map(|r| r.persons).sum::<u64>().max(1);
            let rows: Vec<[String; 9]> = self
                .regions
                .iter()
                .map(|r| {
                    [
                        r.code.clone(),
                        r.name.clone(),
                        format!("{:.4}", r.target_share),
                        format!("{:.4}", r.persons as f64 / total as f64),
                        format!("{:.4}", r.urban_share_spec),
                        format!("{:.4}", r.urban_share_raked),
                        format!("{:.4}", r.urban_persons as f64 / r.persons.max(1) as f64),
                        r.households.to_string(),
                        r.persons.to_string(),
                    ]
                })
                .collect();
            write_table(f, &header, &rows)?;
        }
        Ok(())
    }
}

fn write_table<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    header: &[&str; N],
    rows: &[[String; N]],
) -> fmt::Result {
    let width = |s: &str| {
        s.chars()
            .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
            .sum::<usize>()
    };
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(width(c));
        }
    }
    let line = |f: &mut fmt::Formatter<'_>, cells: Vec<&str>| -> fmt::Result {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(c);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(widths[i] - width(c)));
            }
        }
        writeln!(f, "{}", out.trim_end())
    };
    line(f, header.to_vec())?;
    line(
        f,
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(|s| s.as_str())
            .collect(),
    )?;
    for r in rows {
        line(f, r.iter().map(|s| s.as_str()).collect())?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Random streams

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn derive_key(seed: u64, domain: u64) -> [u8; 32] {
    let mut state = seed ^ domain.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    key
}

fn stream(key: &[u8; 32], index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::from_seed(*key);
    rng.set_stream(index);
    rng
}

#[inline]
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    rng.gen::<f64>()
}

/// Index of the category for a uniform draw, given a cumulative distribution ending at 1.
fn pick(cdf: &[f64], u: f64) -> usize {
    cdf.partition_point(|c| *c <= u)
        .min(cdf.len().saturating_sub(1))
}

fn cdf_of(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect();
    if let Some(last) = cdf.last_mut() {
        *last = 1.0;
    }
    cdf
}

/// Draw from a lognormal mixture (two draws, always). `scale` multiplies the medians.
fn mixture(rng: &mut ChaCha8Rng, parts: &[LognormalPart], scale: f64) -> f64 {
    let u = unit(rng);
    let z: f64 = rng.sample(StandardNormal);
    let mut acc = 0.0;
    for p in parts {
        acc += p.share;
        if u < acc {
            return p.median * scale * (p.sigma * z).exp();
        }
    }
    0.0
}

fn band_rate(bands: &[RateBand], age: u32) -> f64 {
    bands
        .iter()
        .find(|b| b.min <= age && age <= b.max)
        .map(|b| b.rate)
        .unwrap_or(0.0)
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

// ---------------------------------------------------------------------------------------------
// The generator

/// A calibrated population model: [`Generator::household`] gives household `i` of the stream.
#[derive(Debug, Clone)]
pub struct Generator<'s> {
    spec: PopulationSpec,
    /// The policy's answers for the `on_dibao` draw.
    screen: &'s dyn DibaoScreen,
    seed: u64,
    key_main: [u8; 32],
    key_dibao: [u8; 32],
    regions: Vec<String>,
    region_names: Vec<String>,
    region_scale: Vec<f64>,
    /// (region, area) per cell and the cumulative household probabilities.
    cells: Vec<(usize, Area)>,
    cell_cdf: Vec<f64>,
    size_weights: [Vec<f64>; 2],
    size_cdf: [Vec<f64>; 2],
    head_cdf: [[Vec<f64>; 3]; 2],
    house_cdf: [Vec<f64>; 2],
    tertiary_cdf: [Vec<f64>; 2],
    grade_cdf: Vec<f64>,
    credit_cdf: Vec<f64>,
    level_cdf: Vec<f64>,
    income_scale: [f64; 2],
    dibao_threshold: [f64; 2],
    region_rows: Vec<RegionRow>,
    calibration: Vec<CalibrationRow>,
}

/// Integer tallies over generated households (order-independent sums).
#[derive(Debug, Clone, Default)]
struct Stats {
    households: [u64; 2],
    persons: [u64; 2],
    region_households: Vec<u64>,
    region_persons: Vec<u64>,
    region_urban_persons: Vec<u64>,
    dibao_households: [u64; 2],
    dibao_persons: [u64; 2],
    below_line: [u64; 2],
    age_band_persons: Vec<u64>,
    counted_persons: [u64; 2],
    counted_income_cents: [i128; 2],
    dead: u64,
    imprisoned: u64,
}

impl Stats {
    fn new(regions: usize, bands: usize) -> Stats {
        Stats {
            region_households: vec![0; regions],
            region_persons: vec![0; regions],
            region_urban_persons: vec![0; regions],
            age_band_persons: vec![0; bands],
            ..Default::default()
        }
    }
    fn merge(&mut self, o: &Stats) {
        for a in 0..2 {
            self.households[a] += o.households[a];
            self.persons[a] += o.persons[a];
            self.dibao_households[a] += o.dibao_households[a];
            self.dibao_persons[a] += o.dibao_persons[a];
            self.below_line[a] += o.below_line[a];
            self.counted_persons[a] += o.counted_persons[a];
            self.counted_income_cents[a] += o.counted_income_cents[a];
        }
        for (x, y) in self.region_households.iter_mut().zip(&o.region_households) {
            *x += y;
        }
        for (x, y) in self.region_persons.iter_mut().zip(&o.region_persons) {
            *x += y;
        }
        for (x, y) in self
            .region_urban_persons
            .iter_mut()
            .zip(&o.region_urban_persons)
        {
            *x += y;
        }
        for (x, y) in self.age_band_persons.iter_mut().zip(&o.age_band_persons) {
            *x += y;
        }
        self.dead += o.dead;
        self.imprisoned += o.imprisoned;
    }
    fn total_persons(&self) -> u64 {
        self.persons[0] + self.persons[1]
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl<'s> Generator<'s> {
    /// Prepare and calibrate, with `screen` answering for the policy in the `on_dibao` draw. The
    /// spec must be valid ([`PopulationSpec::load`] or [`PopulationSpec::validate`]); an invalid
    /// one may panic.
    pub fn new(spec: &PopulationSpec, seed: u64, screen: &'s dyn DibaoScreen) -> Generator<'s> {
        let spec = spec.clone();
        let regions: Vec<String> = spec.regions.keys().cloned().collect();
        let region_names = spec
            .regions
            .iter()
            .map(|(k, r)| r.name.clone().unwrap_or_else(|| k.clone()))
            .collect();
        let region_scale = spec.regions.values().map(|r| r.income_scale).collect();
        let head_cdf = [Area::Urban, Area::Rural].map(|a| {
            let c = spec.composition.get(a);
            [
                &c.single_head_ages,
                &c.couple_head_ages,
                &c.family_head_ages,
            ]
            .map(|b| cdf_of(&b.iter().map(|x| x.weight).collect::<Vec<_>>()))
        });
        let size_weights = [
            spec.household_size.urban.weights.clone(),
            spec.household_size.rural.weights.clone(),
        ];
        let house_cdf = [
            cdf_of(&spec.assets.urban.house_weights),
            cdf_of(&spec.assets.rural.house_weights),
        ];
        let tertiary_cdf = [&spec.schooling.urban, &spec.schooling.rural]
            .map(|s| cdf_of(&[s.higher_vocational, s.university, s.abroad_self_funded]));
        let grade_cdf = cdf_of(&spec.disability.grade_weights);
        let c = &spec.credit;
        let credit_cdf = cdf_of(&[c.good, c.general, c.serious, c.severe]);
        let level_cdf = cdf_of(
            &spec
                .pension
                .resident_levels
                .iter()
                .map(|l| l.weight)
                .collect::<Vec<_>>(),
        );
        let mut g = Generator {
            screen,
            house_cdf,
            tertiary_cdf,
            grade_cdf,
            credit_cdf,
            level_cdf,
            seed,
            key_main: derive_key(seed, 1),
            key_dibao: derive_key(seed, 2),
            regions,
            region_names,
            region_scale,
            cells: Vec::new(),
            cell_cdf: Vec::new(),
            size_cdf: [cdf_of(&size_weights[0]), cdf_of(&size_weights[1])],
            size_weights,
            head_cdf,
            income_scale: [1.0, 1.0],
            dibao_threshold: [spec.dibao.urban.threshold, spec.dibao.rural.threshold],
            region_rows: Vec::new(),
            calibration: Vec::new(),
            spec,
        };
        g.calibrate_sizes();
        g.calibrate_cells();
        g.calibrate_income();
        g.calibrate_dibao();
        g.report_sample();
        g
    }

    pub fn spec(&self) -> &PopulationSpec {
        &self.spec
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn region_codes(&self) -> &[String] {
        &self.regions
    }
    pub fn calibration(&self) -> &[CalibrationRow] {
        &self.calibration
    }
    /// Income scale by area after calibration.
    pub fn income_scale(&self, area: Area) -> f64 {
        self.income_scale[area.index()]
    }
    /// Dibao threshold by area after calibration.
    pub fn dibao_threshold(&self, area: Area) -> f64 {
        self.dibao_threshold[area.index()]
    }
    /// Household size weights by area after calibration.
    pub fn size_weights(&self, area: Area) -> &[f64] {
        &self.size_weights[area.index()]
    }

    fn tolerance_ok(&self, achieved: f64, target: f64) -> bool {
        (achieved - target).abs() <= self.spec.calibration.tolerance * target.abs().max(1e-12)
    }

    fn mean_size(&self, area: Area) -> f64 {
        let w = &self.size_weights[area.index()];
        let total: f64 = w.iter().sum();
        w.iter()
            .enumerate()
            .map(|(k, x)| (k + 1) as f64 * x)
            .sum::<f64>()
            / total
    }

    // 1. Exponential tilting of the size distribution.
    fn calibrate_sizes(&mut self) {
        let Some(targets) = self.spec.targets.mean_household_size.clone() else {
            return;
        };
        for area in Area::ALL {
            let Some(&target) = targets.get(area) else {
                continue;
            };
            let base = self.spec.household_size.get(area).weights.clone();
            let tilt = |theta: f64| -> Vec<f64> {
                let max = base
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| **w > 0.0)
                    .map(|(k, _)| theta * (k + 1) as f64)
                    .fold(f64::NEG_INFINITY, f64::max);
                base.iter()
                    .enumerate()
                    .map(|(k, w)| {
                        if *w > 0.0 {
                            w * (theta * (k + 1) as f64 - max).exp()
                        } else {
                            0.0
                        }
                    })
                    .collect()
            };
            let mean = |w: &[f64]| {
                w.iter()
                    .enumerate()
                    .map(|(k, x)| (k + 1) as f64 * x)
                    .sum::<f64>()
                    / w.iter().sum::<f64>()
            };
            let (mut lo, mut hi) = (-30.0f64, 30.0f64);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if mean(&tilt(mid)) < target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let theta = 0.5 * (lo + hi);
            let w = tilt(theta);
            let achieved = mean(&w);
            self.size_cdf[area.index()] = cdf_of(&w);
            self.size_weights[area.index()] = w;
            let status = if self.tolerance_ok(achieved, target) {
                CalibrationStatus::Reached
            } else {
                CalibrationStatus::OutOfReach("sizes with positive weight cannot reach it".into())
            };
            self.calibration.push(CalibrationRow {
                quantity: format!("mean household size ({area})"),
                method: "exponential tilting (bisection)".into(),
                parameter: format!("theta = {theta:.5}"),
                target,
                calibrated: achieved,
                output: None,
                status,
            });
        }
    }

    // 2. Region × area persons, raked to the urban margin; household cell probabilities.
    fn calibrate_cells(&mut self) {
        let ms = [self.mean_size(Area::Urban), self.mean_size(Area::Rural)];
        let regions: Vec<_> = self.spec.regions.values().cloned().collect();
        let persons: Vec<f64> = regions
            .iter()
            .map(|r| {
                if let Some(p) = r.population {
                    p as f64
                } else if let Some(h) = r.households {
                    h as f64 / (r.urban_share / ms[0] + (1.0 - r.urban_share) / ms[1])
                } else {
                    r.share.unwrap_or(0.0)
                }
            })
            .collect();
        let total: f64 = persons.iter().sum();
        let mut m: Vec<[f64; 2]> = regions
            .iter()
            .zip(&persons)
            .map(|(r, p)| [p * r.urban_share, p * (1.0 - r.urban_share)])
            .collect();
        if let Some(u) = self.spec.targets.urban_share_persons {
            let col_target = [u * total, (1.0 - u) * total];
            let mut iterations = 0;
            for it in 0..10_000 {
                iterations = it + 1;
                for a in 0..2 {
                    let s: f64 = m.iter().map(|c| c[a]).sum();
                    if s > 0.0 {
                        for c in m.iter_mut() {
                            c[a] *= col_target[a] / s;
                        }
                    }
                }
                let mut worst = 0.0f64;
                for (c, p) in m.iter_mut().zip(&persons) {
                    let s = c[0] + c[1];
                    if s > 0.0 {
                        worst = worst.max((s - p).abs() / p);
                        c[0] *= p / s;
                        c[1] *= p / s;
                    }
                }
                if worst < 1e-13 {
                    break;
                }
            }
            let achieved = m.iter().map(|c| c[0]).sum::<f64>() / total;
            let status = if self.tolerance_ok(achieved, u) {
                CalibrationStatus::Reached
            } else {
                CalibrationStatus::OutOfReach("region margins conflict".into())
            };
            self.calibration.push(CalibrationRow {
                quantity: "urban share of persons".into(),
                method: "IPF (region × area)".into(),
                parameter: format!("{iterations} iterations"),
                target: u,
                calibrated: achieved,
                output: None,
                status,
            });
        }
        self.cells.clear();
        let mut weights = Vec::new();
        for (i, c) in m.iter().enumerate() {
            for area in Area::ALL {
                let w = c[area.index()] / ms[area.index()];
                if w > 0.0 {
                    self.cells.push((i, area));
                    weights.push(w);
                }
            }
        }
        self.cell_cdf = cdf_of(&weights);
        self.region_rows = regions
            .iter()
            .enumerate()
            .map(|(i, r)| RegionRow {
                code: self.regions[i].clone(),
                name: self.region_names[i].clone(),
                target_share: persons[i] / total,
                urban_share_spec: r.urban_share,
                urban_share_raked: m[i][0] / (m[i][0] + m[i][1]),
                households: 0,
                persons: 0,
                urban_persons: 0,
            })
            .collect();
    }

    fn sample(&self) -> Vec<GeneratedHousehold> {
        let n = self.spec.calibration.sample_households as u64;
        let subs: Vec<(u64, u64)> = (0..n)
            .step_by(SUB_CHUNK)
            .map(|s| (s, (s + SUB_CHUNK as u64).min(n)))
            .collect();
        subs.into_par_iter()
            .flat_map_iter(|(s, e)| self.households(s, e))
            .collect()
    }

    // 3. Income scale per area.
    fn calibrate_income(&mut self) {
        let lows = self.spec.targets.low_income_share.clone();
        let means = self.spec.targets.mean_per_capita_income.clone();
        if lows.is_none() && means.is_none() {
            return;
        }
        let sample = self.sample();
        for area in Area::ALL {
            if let Some(&target) = means.as_ref().and_then(|m| m.get(area)) {
                let (mut sum, mut n) = (0.0, 0usize);
                for h in sample.iter().filter(|h| h.area == area) {
                    let c = h.counted();
                    sum += h.pc_base * c as f64;
                    n += c;
                }
                let base_mean = if n > 0 { sum / n as f64 } else { 0.0 };
                let (scale, status) = if base_mean > 0.0 {
                    (target / base_mean, CalibrationStatus::Reached)
                } else {
                    (
                        1.0,
                        CalibrationStatus::OutOfReach(
                            "no income in the sample for this area".into(),
                        ),
                    )
                };
                self.income_scale[area.index()] = scale;
                self.calibration.push(CalibrationRow {
                    quantity: format!("mean income per counted person ({area})"),
                    method: "income scale (linear, solved exactly)".into(),
                    parameter: format!("income scale = {scale:.5}"),
                    target,
                    calibrated: base_mean * scale,
                    output: None,
                    status,
                });
                continue;
            }
            let Some(&t) = lows.as_ref().and_then(|l| l.get(area)) else {
                continue;
            };
            let pcs: Vec<f64> = sample
                .iter()
                .filter(|h| h.area == area)
                .map(|h| h.pc_base)
                .collect();
            if pcs.is_empty() {
                self.calibration.push(CalibrationRow {
                    quantity: format!("households below {} per capita ({area})", t.line),
                    method: "bisection on income scale".into(),
                    parameter: "income scale = 1".into(),
                    target: t.share,
                    calibrated: 0.0,
                    output: None,
                    status: CalibrationStatus::OutOfReach(
                        "no household of this area in the sample".into(),
                    ),
                });
                continue;
            }
            let share =
                |s: f64| pcs.iter().filter(|p| **p * s < t.line).count() as f64 / pcs.len() as f64;
            // share is non-increasing in the scale; search in log space.
            let (lmin, lmax) = ((1e-3f64).ln(), (1e3f64).ln());
            let (smin, smax) = (share(lmin.exp()), share(lmax.exp()));
            let (scale, status) = if t.share > smin {
                (
                    lmin.exp(),
                    CalibrationStatus::OutOfReach(format!(
                        "at most {smin:.4} even with income scale 0.001"
                    )),
                )
            } else if t.share < smax {
                (
                    lmax.exp(),
                    CalibrationStatus::OutOfReach(format!(
                        "at least {smax:.4}: households without income"
                    )),
                )
            } else {
                let (mut lo, mut hi) = (lmin, lmax); // share(lo) >= target >= share(hi)
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if share(mid.exp()) > t.share {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let (a, b) = (share(lo.exp()), share(hi.exp()));
                let s = if (a - t.share).abs() < (b - t.share).abs() {
                    lo.exp()
                } else {
                    hi.exp()
                };
                let achieved = share(s);
                (
                    s,
                    if self.tolerance_ok(achieved, t.share) {
                        CalibrationStatus::Reached
                    } else {
                        CalibrationStatus::OutOfReach("sample too small for this tolerance".into())
                    },
                )
            };
            self.income_scale[area.index()] = scale;
            self.calibration.push(CalibrationRow {
                quantity: format!("households below {} per capita ({area})", t.line),
                method: "bisection on income scale".into(),
                parameter: format!("income scale = {scale:.5}"),
                target: t.share,
                calibrated: share(scale),
                output: None,
                status,
            });
        }
    }

    fn dibao_probability(&self, area: Area, threshold: f64, d: &DibaoDraw) -> f64 {
        let p = self.spec.dibao.get(area);
        let x = threshold - d.ratio;
        let s = if p.softness > 0.0 {
            logistic(x / p.softness)
        } else if x > 0.0 {
            1.0
        } else {
            0.0
        };
        let tests = if d.tests_ok { 1.0 } else { p.asset_penalty };
        let able = if d.able { p.able_take_up_factor } else { 1.0 };
        (p.take_up * able * s * tests + p.error_rate).clamp(0.0, 1.0)
    }

    // 4. Dibao threshold per area.
    fn calibrate_dibao(&mut self) {
        let hh = self.spec.targets.dibao_households_share.clone();
        let pp = self.spec.targets.dibao_persons_share.clone();
        if hh.is_none() && pp.is_none() {
            return;
        }
        let sample = self.sample();
        for area in Area::ALL {
            let (target, by_persons) = match (
                hh.as_ref().and_then(|t| t.get(area)),
                pp.as_ref().and_then(|t| t.get(area)),
            ) {
                (Some(t), _) => (*t, false),
                (None, Some(t)) => (*t, true),
                (None, None) => continue,
            };
            let draws: Vec<(DibaoDraw, u64)> = sample
                .iter()
                .filter(|h| h.area == area)
                .map(|h| (h.dibao, h.members.len() as u64))
                .collect();
            let quantity = if by_persons {
                format!("persons on dibao ({area})")
            } else {
                format!("households on dibao ({area})")
            };
            let total: u64 = draws
                .iter()
                .map(|(_, n)| if by_persons { *n } else { 1 })
                .sum();
            if total == 0 {
                self.calibration.push(CalibrationRow {
                    quantity,
                    method: "bisection on dibao threshold".into(),
                    parameter: "-".into(),
                    target,
                    calibrated: 0.0,
                    output: None,
                    status: CalibrationStatus::OutOfReach(
                        "no household of this area in the sample".into(),
                    ),
                });
                continue;
            }
            let share = |th: f64| {
                let on: u64 = draws
                    .iter()
                    .filter(|(d, _)| d.u < self.dibao_probability(area, th, d))
                    .map(|(_, n)| if by_persons { *n } else { 1 })
                    .sum();
                on as f64 / total as f64
            };
            let (tmin, tmax) = (-20.0f64, 50.0f64);
            let (smin, smax) = (share(tmin), share(tmax));
            let (th, status) = if target < smin {
                (
                    tmin,
                    CalibrationStatus::OutOfReach(format!("at least {smin:.4} (error_rate)")),
                )
            } else if target > smax {
                (
                    tmax,
                    CalibrationStatus::OutOfReach(format!("at most {smax:.4} (take_up)")),
                )
            } else {
                let (mut lo, mut hi) = (tmin, tmax); // share(lo) <= target <= share(hi)
                for _ in 0..100 {
                    let mid = 0.5 * (lo + hi);
                    if share(mid) < target {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let (a, b) = (share(lo), share(hi));
                let th = if (a - target).abs() < (b - target).abs() {
                    lo
                } else {
                    hi
                };
                let achieved = share(th);
                (
                    th,
                    if self.tolerance_ok(achieved, target) {
                        CalibrationStatus::Reached
                    } else {
                        CalibrationStatus::OutOfReach("sample too small for this tolerance".into())
                    },
                )
            };
            let calibrated = share(th);
            self.dibao_threshold[area.index()] = th;
            self.calibration.push(CalibrationRow {
                quantity,
                method: "bisection on dibao threshold".into(),
                parameter: format!("threshold = {th:.5}"),
                target,
                calibrated,
                output: None,
                status,
            });
        }
    }

    fn age_bands(&self) -> Vec<(u32, u32)> {
        self.spec
            .targets
            .persons_by_age_band
            .as_ref()
            .map(|b| b.iter().map(|x| (x.min, x.max)).collect())
            .unwrap_or_default()
    }

    fn stats_of(&self, households: &[GeneratedHousehold]) -> Stats {
        let bands = self.age_bands();
        let lines = self.spec.targets.low_income_share.as_ref();
        let mut s = Stats::new(self.regions.len(), bands.len());
        for h in households {
            let a = h.area.index();
            let n = h.members.len() as u64;
            s.households[a] += 1;
            s.persons[a] += n;
            s.region_households[h.region] += 1;
            s.region_persons[h.region] += n;
            if h.area == Area::Urban {
                s.region_urban_persons[h.region] += n;
            }
            s.counted_persons[a] += h.counted() as u64;
            s.counted_income_cents[a] += h.counted_income() as i128;
            if h.on_dibao {
                s.dibao_households[a] += 1;
                s.dibao_persons[a] += n;
            }
            if let Some(t) = lines.and_then(|l| l.get(h.area)) {
                // Exact: counted income (cents) < line × 100 × counted.
                let line_cents = (t.line * 100.0).round() as i128;
                if (h.counted_income() as i128) < line_cents * h.counted() as i128
                    || h.counted() == 0
                {
                    s.below_line[a] += 1;
                }
            }
            for p in &h.members {
                if !p.alive {
                    s.dead += 1;
                }
                if p.imprisoned {
                    s.imprisoned += 1;
                }
                for (i, (lo, hi)) in bands.iter().enumerate() {
                    if *lo <= p.age && p.age <= *hi {
                        s.age_band_persons[i] += 1;
                    }
                }
            }
        }
        s
    }

    /// Figures reported (and, for calibrated ones, measured) on the sample with the final parameters.
    fn report_sample(&mut self) {
        let needs_sample = self.spec.targets.persons_by_age_band.is_some()
            || self.spec.targets.mean_household_size.is_some();
        if !needs_sample {
            return;
        }
        let sample = self.sample();
        let s = self.stats_of(&sample);
        if let Some(bands) = self.spec.targets.persons_by_age_band.clone() {
            for (i, b) in bands.iter().enumerate() {
                self.calibration.push(CalibrationRow {
                    quantity: format!("persons aged {}-{}", b.min, b.max),
                    method: "-".into(),
                    parameter: "-".into(),
                    target: b.share,
                    calibrated: ratio(s.age_band_persons[i], s.total_persons()),
                    output: None,
                    status: CalibrationStatus::Reported,
                });
            }
        }
    }

    fn fill_output(&self, rows: &mut [CalibrationRow], s: &Stats) {
        let mut band = 0;
        for r in rows.iter_mut() {
            let area = if r.quantity.ends_with("(urban)") {
                Area::Urban
            } else {
                Area::Rural
            };
            let a = area.index();
            r.output = Some(if r.quantity.starts_with("mean household size") {
                ratio(s.persons[a], s.households[a])
            } else if r.quantity == "urban share of persons" {
                ratio(s.persons[0], s.total_persons())
            } else if r.quantity.starts_with("mean income per counted person") {
                if s.counted_persons[a] == 0 {
                    0.0
                } else {
                    s.counted_income_cents[a] as f64 / 100.0 / s.counted_persons[a] as f64
                }
            } else if r.quantity.starts_with("households below") {
                ratio(s.below_line[a], s.households[a])
            } else if r.quantity.starts_with("persons on dibao") {
                ratio(s.dibao_persons[a], s.persons[a])
            } else if r.quantity.starts_with("households on dibao") {
                ratio(s.dibao_households[a], s.households[a])
            } else if r.quantity.starts_with("persons aged") {
                band += 1;
                ratio(s.age_band_persons[band - 1], s.total_persons())
            } else {
                continue;
            });
        }
    }

    // -----------------------------------------------------------------------------------------
    // One household

    /// Household `index` of the stream (0-based).
    pub fn household(&self, index: u64) -> GeneratedHousehold {
        self.households(index, index + 1)
            .pop()
            .expect("one household")
    }

    /// Households `start..end` of the stream, their `on_dibao` drawn with the policy's answers
    /// (asked once for them all).
    pub fn households(&self, start: u64, end: u64) -> Vec<GeneratedHousehold> {
        let mut hs: Vec<GeneratedHousehold> = (start..end)
            .map(|i| self.household_before_roll_draw(i))
            .collect();
        let mut wh = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(header_bytes(&HOUSEHOLD_COLUMNS));
        let mut wp = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(header_bytes(&PERSON_COLUMNS));
        let mut rec = Record::default();
        for h in &hs {
            self.write_rows(h, &mut wh, &mut wp, &mut rec);
        }
        let screened = self.screen.screen(
            wh.into_inner().expect("flush to memory"),
            wp.into_inner().expect("flush to memory"),
            hs.len(),
        );
        debug_assert_eq!(screened.len(), hs.len());
        for (h, s) in hs.iter_mut().zip(screened) {
            h.dibao.ratio = s.ratio;
            h.dibao.tests_ok = s.tests_ok;
            h.on_dibao = h.dibao.u
                < self.dibao_probability(h.area, self.dibao_threshold[h.area.index()], &h.dibao);
        }
        hs
    }

    /// Household `index` before its `on_dibao` draw: every field but `on_dibao` (false), without
    /// asking the policy (for what does not depend on the roll, such as oversampled strata).
    pub fn household_before_roll_draw(&self, index: u64) -> GeneratedHousehold {
        let spec = &self.spec;
        let mut rng = stream(&self.key_main, index);
        let cell = pick(&self.cell_cdf, unit(&mut rng));
        let (region, area) = self.cells[cell];
        let ai = area.index();
        let size = pick(&self.size_cdf[ai], unit(&mut rng)) + 1;
        let comp = spec.composition.get(area);

        // Composition: (age, male, role).
        let kind = match size {
            1 => 0,
            2 => 1,
            _ => 2,
        };
        let bands = match kind {
            0 => &comp.single_head_ages,
            1 => &comp.couple_head_ages,
            _ => &comp.family_head_ages,
        };
        let b = bands[pick(&self.head_cdf[ai][kind], unit(&mut rng))];
        let head_age = rng.gen_range(b.min..=b.max);
        let head_male = unit(&mut rng) < comp.head_male_share;
        let mut people: Vec<(u32, bool, Role)> = Vec::with_capacity(size);
        people.push((head_age, head_male, Role::Head));
        let mut remaining = size - 1;
        if remaining > 0 && unit(&mut rng) < comp.spouse_share {
            let shift = if head_male { -2.0 } else { 2.0 };
            let z: f64 = rng.sample(StandardNormal);
            let age = (head_age as f64 + shift + 3.0 * z)
                .round()
                .clamp(18.0, MAX_AGE as f64) as u32;
            people.push((age, !head_male, Role::Spouse));
            remaining -= 1;
        }
        let mut parents = 0;
        for _ in 0..remaining {
            let u = unit(&mut rng);
            let role = if (45..=64).contains(&head_age)
                && parents < 2
                && u < comp.parent_share
                && head_age + 20 <= MAX_AGE
            {
                Role::Parent
            } else if head_age >= 55
                && u >= comp.parent_share
                && u < comp.parent_share + comp.grandchild_share
            {
                Role::Grandchild
            } else {
                Role::Child
            };
            let age = match role {
                Role::Parent => {
                    parents += 1;
                    (head_age + rng.gen_range(20..=34)).min(MAX_AGE)
                }
                Role::Grandchild => {
                    let gap = rng.gen_range(42..=62);
                    if head_age >= gap {
                        head_age - gap
                    } else {
                        rng.gen_range(0..=head_age.saturating_sub(36))
                    }
                }
                _ => {
                    let gap = rng.gen_range(20..=36);
                    if head_age >= gap {
                        head_age - gap
                    } else {
                        rng.gen_range(0..=head_age.saturating_sub(18))
                    }
                }
            };
            let male_share = if role == Role::Parent {
                comp.parent_male_share
            } else {
                comp.child_male_share
            };
            let male = unit(&mut rng) < male_share;
            people.push((age, male, role));
        }

        // Persons.
        let income = spec.income.get(area);
        let scale = self.region_scale[region];
        let area_scale = self.income_scale[ai];
        let school = match area {
            Area::Urban => &spec.schooling.urban,
            Area::Rural => &spec.schooling.rural,
        };
        let tuition = &spec.schooling.tuition;
        let emp = &spec.employment;
        let mut members: Vec<GeneratedPerson> = Vec::with_capacity(size);
        for &(age, male, role) in &people {
            let alive = unit(&mut rng) >= band_rate(&spec.roll.dead, age);
            let imprisoned = alive && unit(&mut rng) < band_rate(&spec.roll.imprisoned, age);
            let counted = alive && !imprisoned;

            // Disability and self-care.
            let db = spec
                .disability
                .bands
                .iter()
                .find(|b| b.min <= age && age <= b.max);
            let mut grade = 0u8;
            if let Some(db) = db {
                if unit(&mut rng) < db.prevalence {
                    grade = pick(&self.grade_cdf, unit(&mut rng)) as u8 + 1;
                }
            }
            let (semi, fully) = if grade == 1 || grade == 2 {
                (
                    spec.disability.severe_semi_disabled,
                    spec.disability.severe_fully_disabled,
                )
            } else {
                db.map(|b| (b.semi_disabled, b.fully_disabled))
                    .unwrap_or((0.0, 0.0))
            };
            let u = unit(&mut rng);
            let self_care = if u < fully {
                SelfCare::FullyDisabled
            } else if u < fully + semi {
                SelfCare::SemiDisabled
            } else {
                SelfCare::Independent
            };

            // Illness and medical costs.
            let illness = match spec
                .illness
                .bands
                .iter()
                .find(|b| b.min <= age && age <= b.max)
            {
                Some(ib) => {
                    let u = unit(&mut rng);
                    let rates = [ib.uremia, ib.mental, ib.cancer, ib.other_major, ib.chronic];
                    let kinds = [
                        IllnessKind::Uremia,
                        IllnessKind::Mental,
                        IllnessKind::Cancer,
                        IllnessKind::OtherMajor,
                        IllnessKind::Chronic,
                    ];
                    let mut acc = 0.0;
                    let mut found = IllnessKind::None;
                    for (r, k) in rates.iter().zip(kinds) {
                        acc += r;
                        if u < acc {
                            found = k;
                            break;
                        }
                    }
                    found
                }
                None => IllnessKind::None,
            };
            let oop_parts = match illness {
                IllnessKind::None => &spec.illness.oop.none,
                IllnessKind::Uremia => &spec.illness.oop.uremia,
                IllnessKind::Mental => &spec.illness.oop.mental,
                IllnessKind::Cancer => &spec.illness.oop.cancer,
                IllnessKind::OtherMajor => &spec.illness.oop.other_major,
                IllnessKind::Chronic => &spec.illness.oop.chronic,
            };
            let oop = mixture(&mut rng, oop_parts, 1.0);
            let medical_oop_12m = if alive { to_cents(oop) } else { 0 };

            // Schooling (compulsory 6-14, upper secondary 15-17, tertiary 18-21).
            let u = unit(&mut rng);
            let u2 = unit(&mut rng);
            // Heads and spouses are not full-time students: a student belongs to the parents' household.
            let schooling = if !counted || matches!(role, Role::Head | Role::Spouse) {
                SchoolingKind::None
            } else if (6..15).contains(&age) {
                if u < school.compulsory {
                    SchoolingKind::Compulsory
                } else {
                    SchoolingKind::None
                }
            } else if (15..18).contains(&age) {
                if u < school.upper_secondary {
                    if u2 < school.vocational_share {
                        SchoolingKind::SecondaryVocational
                    } else {
                        SchoolingKind::HighSchool
                    }
                } else {
                    SchoolingKind::None
                }
            } else if (18..22).contains(&age) {
                if u < school.tertiary {
                    match pick(&self.tertiary_cdf[ai], u2) {
                        0 => SchoolingKind::HigherVocational,
                        1 => SchoolingKind::University,
                        _ => SchoolingKind::AbroadSelfFunded,
                    }
                } else {
                    SchoolingKind::None
                }
            } else {
                SchoolingKind::None
            };
            let tuition_parts: &[LognormalPart] = match schooling {
                SchoolingKind::None => &[],
                SchoolingKind::Compulsory => &tuition.compulsory,
                SchoolingKind::HighSchool => &tuition.high_school,
                SchoolingKind::SecondaryVocational => &tuition.secondary_vocational,
                SchoolingKind::HigherVocational => &tuition.higher_vocational,
                SchoolingKind::University => &tuition.university,
                SchoolingKind::AbroadSelfFunded => &tuition.abroad_self_funded,
            };
            let tuition_year = to_cents(mixture(&mut rng, tuition_parts, 1.0));
            let student = schooling != SchoolingKind::None;

            // Employment.
            let sex = if male { Sex::Male } else { Sex::Female };
            let mut p_emp = emp
                .bands(area)
                .iter()
                .find(|b| b.min <= age && age <= b.max)
                .map(|b| if male { b.male } else { b.female })
                .unwrap_or(0.0);
            if grade == 1 || grade == 2 || self_care == SelfCare::FullyDisabled {
                p_emp *= emp.severe_disability_factor;
            }
            let employed = counted && !student && unit(&mut rng) < p_emp;
            let u = unit(&mut rng);
            let employment_category = if employed {
                let applies = |r: &CategoryRule| {
                    r.min <= age && age <= r.max && !matches!(r.sex, Some(s) if s != sex)
                };
                let mut acc = 0.0;
                let mut cat = EmploymentCategory::None;
                for (r, c) in [
                    (&emp.fresh_graduate, EmploymentCategory::FreshGraduate),
                    (&emp.released_prisoner, EmploymentCategory::ReleasedPrisoner),
                    (
                        &emp.discharged_soldier,
                        EmploymentCategory::DischargedSoldier,
                    ),
                ] {
                    if applies(r) && u >= acc && u < acc + r.share {
                        cat = c;
                        break;
                    }
                    acc += r.share;
                }
                cat
            } else {
                EmploymentCategory::None
            };

            // Income (before the area scale, which is linear).
            let parts: &[LognormalPart] = if !counted || age < 16 {
                &[]
            } else if employed {
                &income.employed
            } else if student {
                &income.student
            } else if age >= income.elderly_age {
                &income.elderly
            } else {
                &income.nonemployed
            };
            let base_income = mixture(&mut rng, parts, scale);
            let monthly_income = to_cents(base_income * area_scale);

            // Rehabilitation.
            let rehab = mixture(&mut rng, &spec.disability.rehab, 1.0);
            let rehab_cost_year = if grade > 0 && alive {
                to_cents(rehab)
            } else {
                0
            };

            // Pension contributions.
            let pen = &spec.pension;
            let (u, u2, u3) = (unit(&mut rng), unit(&mut rng), unit(&mut rng));
            let pension_contrib_year =
                if counted && !student && pen.min_age <= age && age <= pen.max_age {
                    if employed && u < pen.employee_coverage.get(area) {
                        to_cents(pen.employee_rate * monthly_income as f64 / 100.0 * 12.0)
                    } else if u2 < pen.resident_coverage.get(area) {
                        to_cents(pen.resident_levels[pick(&self.level_cdf, u3)].amount)
                    } else {
                        0
                    }
                } else {
                    0
                };

            members.push(GeneratedPerson {
                age,
                male,
                role,
                monthly_income,
                employed,
                employment_category,
                disability_grade: grade,
                self_care,
                illness,
                medical_oop_12m,
                rehab_cost_year,
                schooling,
                tuition_year,
                pension_contrib_year,
                alive,
                imprisoned,
                has_supporter: false,
                base_income,
            });
        }

        self.ensure_breadwinner(&mut rng, area, &mut members, scale);

        // Support: another counted, able member aged 18-59.
        for i in 0..members.len() {
            let cohabiting = members.iter().enumerate().any(|(j, q)| {
                j != i
                    && q.counted()
                    && (18..=59).contains(&q.age)
                    && !(q.disability_grade == 1 || q.disability_grade == 2)
                    && q.self_care != SelfCare::FullyDisabled
            });
            let p = if cohabiting {
                spec.support.cohabiting_supported
            } else {
                spec.support.alone_supported
            };
            members[i].has_supporter = unit(&mut rng) < p;
        }

        // Household level.
        let n = members.iter().filter(|p| p.counted()).count();
        let income_cents: i64 = members
            .iter()
            .filter(|p| p.counted())
            .map(|p| p.monthly_income)
            .sum();
        let pc = if n > 0 {
            income_cents as f64 / 100.0 / n as f64
        } else {
            0.0
        };
        let pc_base = if n > 0 {
            members
                .iter()
                .filter(|p| p.counted())
                .map(|p| p.base_income)
                .sum::<f64>()
                / n as f64
        } else {
            0.0
        };

        let assets = spec.assets.get(area);
        let r = (pc / assets.reference_income).max(0.05);
        let financial_assets = to_cents(mixture(
            &mut rng,
            &assets.financial,
            r.powf(assets.financial_elasticity),
        ));
        let p_vehicle = (assets.vehicle_rate * r.powf(assets.vehicle_elasticity)).min(0.95);
        let (uv1, uv2) = (unit(&mut rng), unit(&mut rng));
        let vehicles = if uv1 < p_vehicle {
            1 + (uv2 < assets.second_vehicle_rate) as u32
        } else {
            0
        };
        let mut houses = pick(&self.house_cdf[ai], unit(&mut rng)) as u32;
        if unit(&mut rng) < (assets.extra_house_rate * (r - 1.0).max(0.0)).min(0.5) {
            houses += 1;
        }
        let credit = match pick(&self.credit_cdf, unit(&mut rng)) {
            0 => CreditTier::Good,
            1 => CreditTier::General,
            2 => CreditTier::Serious,
            _ => CreditTier::Severe,
        };
        let rp = &spec.registered_poor;
        let p_poor = match area {
            Area::Rural => {
                if pc < rp.line {
                    rp.rural_below_line
                } else {
                    rp.rural_above_line
                }
            }
            Area::Urban => rp.urban,
        };
        let registered_poor = unit(&mut rng) < p_poor;
        let children: Vec<&GeneratedPerson> =
            members.iter().filter(|p| p.role == Role::Child).collect();
        let u = unit(&mut rng);
        let pure_female = if !children.is_empty() {
            children.iter().all(|p| !p.male)
        } else {
            head_age >= spec.pure_female.min_head_age
                && u < spec.pure_female.no_children_listed_share
        };

        let mut drng = stream(&self.key_dibao, index);
        // The simulator's definition (`work::able_to_work`) with its default working ages.
        let able = members.iter().any(|p| {
            work::able_to_work(
                &p.work_circumstances(),
                work::DEFAULT_WORKING_AGE_MIN,
                work::DEFAULT_RETIREMENT_AGE,
            )
        });
        // The policy's answers come in `households`, which draws `on_dibao`.
        let draw = DibaoDraw {
            ratio: f64::INFINITY,
            tests_ok: false,
            able,
            u: unit(&mut drng),
        };
        let on_dibao = false;

        GeneratedHousehold {
            index,
            region,
            area,
            registered_poor,
            pure_female,
            financial_assets,
            vehicles,
            houses,
            credit,
            on_dibao,
            members,
            pc_base,
            dibao: draw,
        }
    }

    /// Households with a child under 18 and an able adult aged 18-59 but no earner after the
    /// independent draws: with the area's `employment.breadwinner` probability, the first able adult
    /// (the head before the spouse) works, with a wage from the employed mixture and, with the
    /// employee coverage, an employee pension contribution. Employment within a family is not
    /// independent (when one parent is out of work the other usually is not); without this, families with
    /// children and no earner made up half of the urban households below the line.
    fn ensure_breadwinner(
        &self,
        rng: &mut ChaCha8Rng,
        area: Area,
        members: &mut [GeneratedPerson],
        region_scale: f64,
    ) {
        let Some(rate) = self.spec.employment.breadwinner.map(|b| b.get(area)) else {
            return;
        };
        let has_child = members.iter().any(|p| p.counted() && p.age < 18);
        if !has_child || members.iter().any(|p| p.employed) {
            return;
        }
        let able = members.iter().position(|p| {
            p.counted()
                && (18..=59).contains(&p.age)
                && p.schooling == SchoolingKind::None
                && !(p.disability_grade == 1 || p.disability_grade == 2)
                && p.self_care == SelfCare::Independent
        });
        let Some(i) = able else { return };
        if unit(rng) >= rate {
            return;
        }
        let spec = &self.spec;
        let base_income = mixture(rng, &spec.income.get(area).employed, region_scale);
        let p = &mut members[i];
        p.employed = true;
        p.base_income = base_income;
        p.monthly_income = to_cents(base_income * self.income_scale[area.index()]);
        let pen = &spec.pension;
        if p.age >= pen.min_age
            && p.age <= pen.max_age
            && unit(rng) < pen.employee_coverage.get(area)
        {
            p.pension_contrib_year =
                to_cents(pen.employee_rate * p.monthly_income as f64 / 100.0 * 12.0);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Writing

    /// Write `households.csv` and `persons.csv` for households `0..households` into `out_dir`.
    pub fn write_csv(
        &self,
        households: usize,
        out_dir: &Path,
    ) -> Result<GenerateReport, GenerateError> {
        let started = Instant::now();
        std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
        // What a killed run left behind (its process gone, or older than six hours) goes first; this
        // run's directory carries its process id, so a later run can tell when it is stale.
        doudi_interpreter::tmpfiles::sweep(out_dir);
        let prefix = doudi_interpreter::tmpfiles::tagged(".doudi-generate-");
        let tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(out_dir)
            .map_err(io_err(out_dir))?;
        let tmp_h = tmp.path().join("households.csv");
        let tmp_p = tmp.path().join("persons.csv");
        let mut fh = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&tmp_h).map_err(io_err(&tmp_h))?,
        );
        let mut fp = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&tmp_p).map_err(io_err(&tmp_p))?,
        );
        fh.write_all(&header_bytes(&HOUSEHOLD_COLUMNS))
            .map_err(io_err(&tmp_h))?;
        fp.write_all(&header_bytes(&PERSON_COLUMNS))
            .map_err(io_err(&tmp_p))?;

        // Generate chunk k+1 in parallel while a writer thread writes chunk k.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Vec<u8>, Vec<u8>)>>(1);
        let writer = std::thread::spawn(move || -> Result<(std::io::BufWriter<std::fs::File>, std::io::BufWriter<std::fs::File>), (bool, std::io::Error)> {
            for chunk in rx {
                for (h, p) in chunk {
                    fh.write_all(&h).map_err(|e| (true, e))?;
                    fp.write_all(&p).map_err(|e| (false, e))?;
                }
            }
            Ok((fh, fp))
        });
        // A failed send means the writer stopped on an error, reported by `join` below.
        let (stats, send_failed) =
            match self.render_chunks(households, |_, bufs| tx.send(bufs).map_err(|_| ())) {
                Ok(stats) => (stats, false),
                Err(()) => (Stats::new(self.regions.len(), self.age_bands().len()), true),
            };
        drop(tx);
        let (fh, fp) = match writer.join().expect("writer thread panicked") {
            Ok(files) => files,
            Err((is_h, e)) => {
                return Err(GenerateError::Io {
                    path: if is_h { tmp_h } else { tmp_p },
                    source: e,
                })
            }
        };
        assert!(!send_failed, "writer stopped without an error");
        for (w, path) in [(fh, &tmp_h), (fp, &tmp_p)] {
            let f = w.into_inner().map_err(|e| GenerateError::Io {
                path: path.clone(),
                source: e.into_error(),
            })?;
            f.sync_all().map_err(io_err(path))?;
        }
        // Both files are complete: move them into place (persons first, so that a households.csv
        // never appears before its persons.csv).
        let final_h = out_dir.join("households.csv");
        let final_p = out_dir.join("persons.csv");
        match std::fs::remove_file(&final_h) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(GenerateError::Io {
                    path: final_h,
                    source: e,
                })
            }
            _ => {}
        }
        std::fs::rename(&tmp_p, &final_p).map_err(io_err(&final_p))?;
        std::fs::rename(&tmp_h, &final_h).map_err(io_err(&final_h))?;
        drop(tmp);

        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).map_err(io_err(p));
        let files = vec![
            (final_h.clone(), size(&final_h)?),
            (final_p.clone(), size(&final_p)?),
        ];
        Ok(self.report(households, &stats, out_dir, files, started))
    }

    /// Generates households `0..households` as CSV text held in memory, for reading straight back
    /// without files: `sink` receives, in order, parts of consecutive households, each as the first
    /// household's index and the two texts (`households.csv`, `persons.csv`), header rows included.
    /// The same households and report as [`Generator::write_csv`], without files.
    pub fn generate_in_memory<E>(
        &self,
        households: usize,
        mut sink: impl FnMut(usize, Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), E>,
    ) -> Result<GenerateReport, E> {
        let started = Instant::now();
        let (hh_header, p_header) = (
            header_bytes(&HOUSEHOLD_COLUMNS),
            header_bytes(&PERSON_COLUMNS),
        );
        let stats = self.render_chunks(households, |start, parts| {
            let with_headers = parts
                .into_iter()
                .map(|(h, p)| {
                    let mut hh = Vec::with_capacity(hh_header.len() + h.len());
                    hh.extend_from_slice(&hh_header);
                    hh.extend_from_slice(&h);
                    let mut ps = Vec::with_capacity(p_header.len() + p.len());
                    ps.extend_from_slice(&p_header);
                    ps.extend_from_slice(&p);
                    (hh, ps)
                })
                .collect();
            sink(start, with_headers)
        })?;
        Ok(self.report(households, &stats, Path::new(""), Vec::new(), started))
    }

    /// Renders households `0..households` a chunk at a time, its parts of [`SUB_CHUNK`] households
    /// in parallel, and hands each chunk's parts (rows without headers) in order to `sink` with the
    /// chunk's first household; returns the statistics of them all.
    fn render_chunks<E>(
        &self,
        households: usize,
        mut sink: impl FnMut(usize, Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), E>,
    ) -> Result<Stats, E> {
        let mut stats = Stats::new(self.regions.len(), self.age_bands().len());
        let mut start = 0usize;
        while start < households {
            let end = (start + CHUNK_HOUSEHOLDS).min(households);
            let subs: Vec<(usize, usize)> = (start..end)
                .step_by(SUB_CHUNK)
                .map(|s| (s, (s + SUB_CHUNK).min(end)))
                .collect();
            let parts: Vec<(Vec<u8>, Vec<u8>, Stats)> = subs
                .into_par_iter()
                .map(|(s, e)| self.render(s as u64, e as u64))
                .collect();
            let mut bufs = Vec::with_capacity(parts.len());
            for (h, p, st) in parts {
                stats.merge(&st);
                bufs.push((h, p));
            }
            sink(start, bufs)?;
            start = end;
        }
        Ok(stats)
    }

    fn report(
        &self,
        households: usize,
        stats: &Stats,
        out_dir: &Path,
        files: Vec<(PathBuf, u64)>,
        started: Instant,
    ) -> GenerateReport {
        let mut calibration = self.calibration.clone();
        self.fill_output(&mut calibration, stats);
        let mut regions = self.region_rows.clone();
        for (i, r) in regions.iter_mut().enumerate() {
            r.households = stats.region_households[i];
            r.persons = stats.region_persons[i];
            r.urban_persons = stats.region_urban_persons[i];
        }
        GenerateReport {
            spec_name: self.spec.meta.name.clone(),
            seed: self.seed,
            households: households as u64,
            persons: stats.total_persons(),
            out_dir: out_dir.to_path_buf(),
            files,
            calibration,
            regions,
            dead_persons: stats.dead,
            imprisoned_persons: stats.imprisoned,
            on_dibao_households: stats.dibao_households[0] + stats.dibao_households[1],
            elapsed_seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// CSV rows (no header) of households `start..end` and their stats.
    fn render(&self, start: u64, end: u64) -> (Vec<u8>, Vec<u8>, Stats) {
        let n = (end - start) as usize;
        let mut wh = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::with_capacity(n * 72));
        let mut wp = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::with_capacity(n * 300));
        let mut rec = Record::default();
        let list = self.households(start, end);
        for h in &list {
            self.write_rows(h, &mut wh, &mut wp, &mut rec);
        }
        let stats = self.stats_of(&list);
        (
            wh.into_inner().expect("flush to memory"),
            wp.into_inner().expect("flush to memory"),
            stats,
        )
    }

    /// The CSV text (headers included) of the households of `indices`, in that order.
    pub fn render_indices(&self, indices: &[u64]) -> (Vec<u8>, Vec<u8>) {
        let mut wh = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(header_bytes(&HOUSEHOLD_COLUMNS));
        let mut wp = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(header_bytes(&PERSON_COLUMNS));
        let mut rec = Record::default();
        for &i in indices {
            self.write_rows(&self.household(i), &mut wh, &mut wp, &mut rec);
        }
        (
            wh.into_inner().expect("flush to memory"),
            wp.into_inner().expect("flush to memory"),
        )
    }

    /// Writes a household's row and its members' rows.
    fn write_rows(
        &self,
        h: &GeneratedHousehold,
        wh: &mut csv::Writer<Vec<u8>>,
        wp: &mut csv::Writer<Vec<u8>>,
        rec: &mut Record,
    ) {
        {
            let i = h.index;
            let hid = household_id(i);
            rec.clear();
            rec.push(&hid);
            rec.push(&self.regions[h.region]);
            rec.push(h.area.as_str());
            rec.push(bool_str(h.registered_poor));
            rec.push(bool_str(h.pure_female));
            rec.push_cents(h.financial_assets);
            rec.push_int(h.vehicles as i64);
            rec.push_int(h.houses as i64);
            rec.push(h.credit.as_str());
            rec.push(bool_str(h.on_dibao));
            wh.write_record(rec.fields()).expect("writing to memory");
            for (k, p) in h.members.iter().enumerate() {
                rec.clear();
                rec.push_fmt(format_args!("{hid}-P{}", k + 1));
                rec.push(&hid);
                rec.push_int(p.age as i64);
                rec.push(if p.male { "male" } else { "female" });
                rec.push_cents(p.monthly_income);
                rec.push(bool_str(p.employed));
                rec.push(p.employment_category.as_str());
                rec.push_int(p.disability_grade as i64);
                rec.push(p.self_care.as_str());
                rec.push(p.illness.as_str());
                rec.push_cents(p.medical_oop_12m);
                rec.push_cents(p.rehab_cost_year);
                rec.push(p.schooling.as_str());
                rec.push_cents(p.tuition_year);
                rec.push_cents(p.pension_contrib_year);
                rec.push(bool_str(p.alive));
                rec.push(bool_str(p.imprisoned));
                rec.push(bool_str(p.has_supporter));
                wp.write_record(rec.fields()).expect("writing to memory");
            }
        }
    }
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn header_bytes(cols: &[&str]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cols).expect("writing to memory");
    w.into_inner().expect("flush to memory")
}

/// One CSV record assembled in a reused buffer.
#[derive(Default)]
struct Record {
    buf: String,
    ends: Vec<usize>,
}

impl Record {
    fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }
    fn push(&mut self, s: &str) {
        self.buf.push_str(s);
        self.ends.push(self.buf.len());
    }
    fn push_int(&mut self, v: i64) {
        use std::fmt::Write as _;
        let _ = write!(self.buf, "{v}");
        self.ends.push(self.buf.len());
    }
    fn push_cents(&mut self, c: i64) {
        push_cents(&mut self.buf, c);
        self.ends.push(self.buf.len());
    }
    fn push_fmt(&mut self, args: fmt::Arguments<'_>) {
        use std::fmt::Write as _;
        let _ = self.buf.write_fmt(args);
        self.ends.push(self.buf.len());
    }
    fn fields(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends.iter().map(move |&e| {
            let s = &self.buf[start..e];
            start = e;
            s
        })
    }
}

/// Calibrate the spec with `seed` and write `households` households (`households.csv`, `persons.csv`)
/// into `out_dir`. Output is identical for any thread count.
pub fn generate(
    spec: &PopulationSpec,
    households: usize,
    seed: u64,
    out_dir: &Path,
    screen: &dyn DibaoScreen,
) -> Result<GenerateReport, GenerateError> {
    let started = Instant::now();
    let g = Generator::new(spec, seed, screen);
    let mut report = g.write_csv(households, out_dir)?;
    report.elapsed_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
