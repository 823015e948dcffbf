//! Set-up of a run in household blocks (`crate::blocks`): a worker builds only the households of
//! its block, the driver none.
//!
//! What set-up needs from the whole population, and where it comes from:
//! - **the population's size** (for the plan), **the main sample's weight** (`weight = "auto"`: from
//!   the main sample's persons, the sum of the households' sizes, which are the first draws of each
//!   household's stream) and **the extra households of the oversampled strata** (a scan of the
//!   households beyond the main sample before their roll draw, without the policy): the driver's
//!   pass, which keeps no household ([`driver`]). A population read from files: the driver reads
//!   the files once and counts the households.
//! - **the regions present, the observed take-up, the employed share, the persons, the generator's
//!   tallies** (for its notes): sums over households, which each worker takes over its block as it
//!   builds it ([`block`] → `Census`); the driver adds them ([`census`]) and sends every worker
//!   what it needs of them (`Settle`: the regions in code order, the take-up, the employed share).
//! - everything else (the generator's calibration on its fixed sample, each household's design
//!   weight, region, first-month eligibility, take-up and bootstrap draws) is the household's own or
//!   the same in every process, and is computed where it is needed.

use super::population::*;
use super::*;
use crate::blocks::messages::{BlockSetup, Census, Settle};
use crate::population::{GenerateReport, Generator, Tally};

/// What the driver of a run in blocks prepares: the policies and the population's size, without
/// its households, until the workers' census.
pub(crate) struct DriverSetup {
    pub pol: Policies,
    /// The population's households.
    pub households: usize,
    /// The main sample's weight (or the fixed weight).
    pub weight: u64,
    /// Persons and notes are filled by the census.
    pub info: PopulationInfo,
    pub population_dir: Option<tempfile::TempDir>,
    pub generated: Option<Generated>,
}

/// A population generated straight into the workers' blocks, as the driver knows it.
pub(crate) struct Generated {
    /// The main sample's households.
    pub main: u64,
    /// The main sample's persons, when the weight came from them.
    pub main_persons: Option<u64>,
    /// Every extra household of the oversampled strata (generator index, stratum), in population
    /// order after the main sample.
    pub extra: Vec<(u64, usize)>,
    /// The spec, its strata at their effective rates.
    pub spec: crate::spec::PopulationSpec,
    /// The generator's report without its tallies (filled by the census).
    pub report: GenerateReport,
}

/// The driver's pass over the scenario's population: its size, weight and extra households.
pub(crate) fn driver(s: &Scenario) -> Result<DriverSetup, SetupError> {
    let file = &s.file;
    let mut pol = policies(s)?;
    let policy = &pol.variants[0].policy;
    let fixed = match &s.population.weight {
        Some(Weight::Fixed(w)) => *w,
        _ => 1,
    };
    if let Some(dir) = &s.population.data {
        let dir = s.resolve(dir);
        let err = |e| SetupError(format!("{file}: population.data: {e}"));
        let (_, households) = read_packed_range(policy, &dir, None, &err, 0..0)?;
        let info = info_of(format!("data {}", dir.display()), households, fixed, None);
        return Ok(DriverSetup {
            pol,
            households,
            weight: fixed,
            info,
            population_dir: None,
            generated: None,
        });
    }
    let mut warnings = Vec::new();
    let GenSpec {
        spec_path,
        mut spec,
        households,
        seed,
        screen,
    } = gen_spec(s, policy, &mut warnings)?;
    let reference = spec.meta.reference_population;
    let source = format!(
        "spec {}, {households} households, seed {seed}",
        spec_path.display()
    );
    let (setup, generated) = if s.report.keep_population {
        // The report keeps the files: the driver writes them (the workers generate their blocks).
        if !spec.oversample.is_empty() {
            warnings.push(format!("{file}: report.keep_population: the population spec's oversampled groups are left out (the kept files hold the main sample only)"));
        }
        let tmp = tempfile::Builder::new()
            .prefix("doudi-population-")
            .tempdir()
            .map_err(|e| {
                SetupError(format!(
                    "{file}: population: cannot create a temporary directory: {e}"
                ))
            })?;
        let report =
            crate::population::generate(&spec, households as usize, seed, tmp.path(), &screen)
                .map_err(|e| SetupError(format!("{file}: population.spec: {e}")))?;
        let weight = main_weight(s, reference, report.persons);
        let mut info = info_of(source, households as usize, weight, reference);
        info.notes = generation_notes(&report, &spec, &[], weight);
        ((households as usize, weight, info, Some(tmp)), None)
    } else {
        let g = Generator::new(&spec, seed, &screen);
        let main_persons = match &s.population.weight {
            Some(Weight::Fixed(_)) => None,
            _ => Some(
                (0..households)
                    .into_par_iter()
                    .map(|i| g.household_size(i) as u64)
                    .sum(),
            ),
        };
        let weight = main_weight(s, reference, main_persons.unwrap_or(0));
        spec.oversample = crate::oversample::effective(&spec.oversample, weight);
        let extra = crate::oversample::extra_households(&g, &spec.oversample, households);
        let total = households as usize + extra.len();
        let report = GenerateReport {
            spec_name: spec.meta.name.clone(),
            seed,
            households,
            persons: 0,
            out_dir: PathBuf::new(),
            files: Vec::new(),
            calibration: g.calibration().to_vec(),
            regions: Vec::new(),
            dead_persons: 0,
            imprisoned_persons: 0,
            on_dibao_households: 0,
            elapsed_seconds: 0.0,
        };
        let info = info_of(source, total, weight, reference);
        let generated = Generated {
            main: households,
            main_persons,
            extra,
            spec,
            report,
        };
        ((total, weight, info, None), Some(generated))
    };
    pol.warnings.extend(warnings);
    let (households, weight, info, population_dir) = setup;
    Ok(DriverSetup {
        pol,
        households,
        weight,
        info,
        population_dir,
        generated,
    })
}

fn info_of(
    source: String,
    households: usize,
    weight: u64,
    reference: Option<u64>,
) -> PopulationInfo {
    PopulationInfo {
        source,
        households: households as u64,
        persons: 0,
        weight,
        reference_population: reference,
        notes: Vec::new(),
    }
}

impl DriverSetup {
    /// The set-up message of block `block` of `plan`.
    pub(crate) fn block_setup(&self, plan: &crate::blocks::Plan, block: usize) -> BlockSetup {
        let (start, end) = plan.blocks.get(block).copied().unwrap_or((0, 0));
        let extra = match &self.generated {
            Some(g) => {
                let main = g.main as usize;
                let (a, b) = (start.max(main) - main, end.max(main) - main);
                g.extra.get(a..b).map(<[_]>::to_vec).unwrap_or_default()
            }
            None => Vec::new(),
        };
        BlockSetup {
            block,
            plan: plan.clone(),
            weight: self.weight,
            extra,
        }
    }
}

/// What a worker built: its households, surveyed, until the driver's `Settle`.
pub(crate) struct Built {
    pub pol: Policies,
    pub held: Held,
    pub info: PopulationInfo,
}

/// Builds the households of a block (generated or read), surveyed: the worker's set-up and its
/// census.
pub(crate) fn block(s: &Scenario, m: &BlockSetup) -> Result<(Built, Census), SetupError> {
    let file = &s.file;
    let Some(&(start, end)) = m.plan.blocks.get(m.block) else {
        return Err(SetupError(format!(
            "block {} of {} does not exist",
            m.block,
            m.plan.blocks.len()
        )));
    };
    if start > end || end > m.plan.households {
        return Err(SetupError(format!(
            "block {}: households {start}..{end} are not in a population of {}",
            m.block, m.plan.households
        )));
    }
    let mut pol = policies(s)?;
    let mut warnings = Vec::new();
    let policy = &pol.variants[0].policy;
    let mut survey = pol.survey(s);
    let (population, design, tally) = if let Some(dir) = &s.population.data {
        let dir = s.resolve(dir);
        let err = |e| SetupError(format!("{file}: population.data: {e}"));
        let (pop, n) = read_packed_range(policy, &dir, Some(&mut survey), &err, start..end)?;
        if n != m.plan.households {
            return Err(SetupError(format!("{file}: population.data: the files hold {n} households, the driver's plan {}: were they changed?", m.plan.households)));
        }
        (pop, None, None)
    } else {
        generate_block(s, policy, &mut survey, &mut warnings, m, start..end)?
    };
    let held = survey.held(population, start, design);
    pol.warnings.extend(warnings);
    let census = Census {
        block: m.block,
        households: held.population.len() as u64,
        persons: held.population.persons(),
        regions: held.names.clone(),
        counts: held.counts.clone(),
        tally,
    };
    let info = info_of(String::new(), m.plan.households, m.weight, None);
    Ok((Built { pol, held, info }, census))
}

/// Generates the households `range` (population indices) of a generated population: those of the
/// main sample, then the extra households of the oversampled strata the driver listed.
#[allow(clippy::type_complexity)]
fn generate_block(
    s: &Scenario,
    policy: &Policy,
    survey: &mut Survey<'_>,
    warnings: &mut Vec<String>,
    m: &BlockSetup,
    range: std::ops::Range<usize>,
) -> Result<
    (
        PackedPopulation,
        Option<(Vec<u64>, Vec<bool>)>,
        Option<Tally>,
    ),
    SetupError,
> {
    let file = &s.file;
    let GenSpec {
        mut spec,
        households,
        seed,
        screen,
        ..
    } = gen_spec(s, policy, warnings)?;
    if s.report.keep_population {
        spec.oversample.clear();
    }
    spec.oversample = crate::oversample::effective(&spec.oversample, m.weight);
    let main = households as usize;
    let in_main = range.start.min(main)..range.end.min(main);
    let extras = range.end.saturating_sub(main.max(range.start));
    let strata = spec.oversample.len();
    if m.extra.len() != extras || m.extra.iter().any(|&(_, k)| k >= strata) {
        return Err(SetupError(format!(
            "{file}: block {}: {} extra households sent for {extras} places",
            m.block,
            m.extra.len()
        )));
    }
    let g = Generator::new(&spec, seed, &screen);
    let reader = crate::population::DirectReader::new(&policy.schema, &g);
    let mut pop = PackedPopulation::new(&policy.schema);
    let misfit = |e| misfit(file, e);
    let mut add = |parts: Vec<Result<Vec<Household>, data::DataError>>| {
        let mut chunk = Vec::new();
        for r in parts {
            chunk.extend(r.map_err(misfit)?);
        }
        survey.add(&chunk)?;
        pop.extend(&chunk);
        Ok::<(), SetupError>(())
    };
    let tally = g.generate_direct_range(in_main.clone(), &reader, |_, parts| add(parts))?;
    let indices: Vec<u64> = m.extra.iter().map(|(i, _)| *i).collect();
    for part in indices.chunks(16_384) {
        let list: Vec<_> = part.par_iter().map(|&i| g.household(i)).collect();
        add(vec![reader.read(&g, &list)])?;
    }
    let design = (!spec.oversample.is_empty()).then(|| {
        let main = in_main.start as u64..in_main.end as u64;
        design_weights_of(&g, &spec.oversample, main, m.weight, &m.extra)
    });
    Ok((pop, design, Some(tally)))
}

impl Built {
    /// The worker's simulation, with what the driver's census found.
    pub(crate) fn settle(self, scenario: Scenario, m: &Settle) -> Result<Prepared, SetupError> {
        let whole = Whole {
            regions: m.regions.clone(),
            take_up: parse_f64(&m.take_up, "take-up")?,
            employed_share: parse_f64(&m.employed_share, "employed share")?,
        };
        if !m.regions.windows(2).all(|w| w[0] < w[1]) {
            return Err(SetupError(
                "the census's regions are not in code order".into(),
            ));
        }
        assemble(scenario, self.pol, self.held, &whole, self.info, None)
    }
}

fn parse_f64(t: &str, what: &str) -> Result<f64, SetupError> {
    t.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && (0.0..=1.0).contains(x))
        .ok_or_else(|| SetupError(format!("not a {what}: {t:?}")))
}

/// The driver's preparation from every block's census (one per block, in block order), and what
/// every worker needs of it.
pub(crate) fn census(
    scenario: Scenario,
    d: DriverSetup,
    plan: &crate::blocks::Plan,
    census: &[Census],
) -> Result<(Prepared, Settle), SetupError> {
    let s = &scenario;
    let file = s.file.clone();
    if d.households == 0 {
        return Err(SetupError(format!(
            "{file}: population: the population has no household"
        )));
    }
    let mut regions = std::collections::BTreeSet::new();
    let mut counts = Counts::default();
    let mut persons = 0u64;
    let mut tally: Option<Tally> = None;
    for (c, &(start, end)) in census.iter().zip(&plan.blocks) {
        if c.households != (end - start) as u64 {
            return Err(SetupError(format!(
                "block {} built {} households, not {}",
                c.block,
                c.households,
                end - start
            )));
        }
        regions.extend(c.regions.iter().cloned());
        counts.add(&c.counts);
        persons += c.persons;
        match (&mut tally, &c.tally) {
            (Some(t), Some(o)) => t.merge(o).map_err(SetupError)?,
            (None, Some(o)) => tally = Some(o.clone()),
            _ => {}
        }
    }
    let DriverSetup {
        pol,
        weight,
        mut info,
        population_dir,
        generated,
        ..
    } = d;
    info.persons = persons;
    if let Some(mut g) = generated {
        let t = tally.ok_or("the workers sent no generator tallies")?;
        if g.main_persons.is_some_and(|p| p != t.persons()) {
            return Err(SetupError(format!(
                "the main sample's persons differ: {} from the households' sizes, {} generated",
                g.main_persons.unwrap_or(0),
                t.persons()
            )));
        }
        g.report.persons = t.persons();
        g.report.on_dibao_households = t.on_dibao();
        crate::population::fill_tally_output(&mut g.report.calibration, &t);
        info.notes = generation_notes(&g.report, &g.spec, &g.extra, weight);
    }
    let whole = Whole::of(s, regions.into_iter().collect(), &counts);
    let settle = Settle {
        regions: whole.regions.clone(),
        take_up: whole.take_up.to_string(),
        employed_share: whole.employed_share.to_string(),
    };
    let held = Held {
        population: PackedPopulation::new(&pol.variants[0].policy.schema),
        first: 0,
        names: Vec::new(),
        region_ids: Vec::new(),
        initial_eligible: Vec::new(),
        counts,
        design: None,
    };
    let prepared = assemble(scenario, pol, held, &whole, info, population_dir)?;
    Ok((prepared, settle))
}

impl From<&str> for SetupError {
    fn from(m: &str) -> SetupError {
        SetupError(m.to_string())
    }
}
