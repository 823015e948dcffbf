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
    /// The generated households `hs` of `g` (`on_dibao` false), in order; one answer each.
    fn screen(&self, g: &Generator<'_>, hs: &[GeneratedHousehold]) -> Vec<Screened>;
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

mod calibrate;
mod direct;
mod draws;
mod household;
mod report;
mod types;
mod write;

use calibrate::*;
pub use calibrate::{fill_tally_output, Tally};
use direct::*;
pub use direct::{DirectReader, GENERATED_HOUSEHOLDS, GENERATED_PERSONS};
use draws::*;
pub use report::*;
pub use types::*;
pub use write::generate;
use write::*;

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
        let screened = self.screen.screen(self, &hs);
        debug_assert_eq!(screened.len(), hs.len());
        for (h, s) in hs.iter_mut().zip(screened) {
            h.dibao.ratio = s.ratio;
            h.dibao.tests_ok = s.tests_ok;
            h.on_dibao = h.dibao.u
                < self.dibao_probability(h.area, self.dibao_threshold[h.area.index()], &h.dibao);
        }
        hs
    }
}
