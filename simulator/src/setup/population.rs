//! The population of a scenario: generated from a spec (straight into the packed form, or through
//! files the report keeps) or read from a directory of CSV files, surveyed as it is read (each
//! household's region and first-month eligibility, the counts the observed take-up and the employed
//! share come from), with the design weights of oversampled strata.

use super::*;

/// Reads the population of `population.data` (the CSV pair in `dir`).
fn read_population_dir(
    s: &Scenario,
    dir: &Path,
    policy: &Policy,
    survey: &mut Survey<'_>,
) -> Result<(PackedPopulation, PopulationInfo), SetupError> {
    let (file, p) = (&s.file, &s.population);
    let hs = read_packed(policy, dir, survey, &|e| {
        SetupError(format!("{file}: population.data: {e}"))
    })?;
    let persons = hs.persons();
    let weight = match &p.weight {
        Some(Weight::Fixed(w)) => *w,
        _ => 1,
    };
    let info = PopulationInfo {
        source: format!("data {}", dir.display()),
        households: hs.len() as u64,
        persons,
        weight,
        reference_population: None,
        notes: Vec::new(),
    };
    Ok((hs, info))
}

/// A population spec to generate from, as the scenario gives it.
pub(crate) struct GenSpec<'p> {
    pub spec_path: PathBuf,
    /// Its oversampled strata cleared when the main sample stands for itself (weight 1).
    pub spec: crate::spec::PopulationSpec,
    /// The main sample's households and the generator's seed.
    pub households: u64,
    pub seed: u64,
    /// The policy's answers for the `on_dibao` draw.
    pub screen: crate::screen::PolicyScreen<'p>,
}

/// Loads the scenario's population spec (its warnings into `warnings`).
pub(crate) fn gen_spec<'p>(
    s: &Scenario,
    policy: &'p Policy,
    warnings: &mut Vec<String>,
) -> Result<GenSpec<'p>, SetupError> {
    let (file, p) = (&s.file, &s.population);
    let Some(spec_path) = &p.spec else {
        return Err(SetupError(format!(
            "{file}: population: give `spec` or `data`"
        )));
    };
    let spec_path = s.resolve(spec_path);
    let (mut spec, spec_warnings) = crate::spec::PopulationSpec::load(&spec_path)
        .map_err(|e| SetupError(format!("{file}: population.spec: {e}")))?;
    warnings.extend(spec_warnings.iter().map(|w| w.to_string()));
    // Who is on the roll when the population starts (the first simulated month, the burn-in's
    // start) is drawn from the policy's own income test in that month.
    let first_month = s.start_month().plus(-(s.calibration.burn_in_months as i32));
    let screen = crate::screen::PolicyScreen::new(policy, first_month)
        .map_err(|e| SetupError(format!("{file}: population.spec: {e}")))?;
    // A population simulated household for household (weight 1) has nothing to oversample.
    if matches!(p.weight, Some(Weight::Fixed(w)) if w <= 1) {
        spec.oversample.clear();
    }
    Ok(GenSpec {
        spec_path,
        spec,
        households: p.households.unwrap_or(1000),
        seed: p.seed.unwrap_or(s.scenario.seed),
        screen,
    })
}

/// The error of a generated household that does not fit the policy's inputs.
pub(crate) fn misfit(file: &str, e: data::DataError) -> SetupError {
    SetupError(format!(
        "{file}: population.spec: the generated population does not fit the policy's inputs: {e}"
    ))
}

/// The households each household of the main sample stands for, from the main sample's persons.
pub(crate) fn main_weight(s: &Scenario, reference: Option<u64>, main_persons: u64) -> u64 {
    match &s.population.weight {
        Some(Weight::Fixed(w)) => *w,
        Some(Weight::Named(_)) | None => match reference {
            Some(r) if main_persons > 0 => ((r as f64 / main_persons as f64).round() as u64).max(1),
            _ => 1,
        },
    }
}

/// Generates (from a spec) or reads (from a directory) the population of a scenario. Also returns
/// each household's design weight when the spec oversamples rare groups.
#[allow(clippy::type_complexity)]
pub(crate) fn load_population(
    s: &Scenario,
    policy: &Policy,
    survey: &mut Survey<'_>,
    warnings: &mut Vec<String>,
    route: Route,
) -> Result<
    (
        PackedPopulation,
        PopulationInfo,
        Option<tempfile::TempDir>,
        Option<(Vec<u64>, Vec<bool>)>,
    ),
    SetupError,
> {
    let file = &s.file;
    let p = &s.population;
    if let Some(dir) = &p.data {
        let (hs, info) = read_population_dir(s, &s.resolve(dir), policy, survey)?;
        return Ok((hs, info, None, None));
    }
    let GenSpec {
        spec_path,
        mut spec,
        households,
        seed,
        screen,
    } = gen_spec(s, policy, warnings)?;
    let misfit = |e: data::DataError| misfit(file, e);
    // The households each household of the main sample stands for.
    let reference = spec.meta.reference_population;
    let main_weight = |main_persons: u64| main_weight(s, reference, main_persons);
    let mut extra: Vec<(u64, usize)> = Vec::new();
    let (hs, report, tmp) = if s.report.keep_population {
        if !spec.oversample.is_empty() {
            warnings.push(format!("{file}: report.keep_population: the population spec's oversampled groups are left out (the kept files hold the main sample only)"));
        }
        // Through files, which the report keeps.
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
        (
            read_packed(policy, tmp.path(), survey, &misfit)?,
            report,
            Some(tmp),
        )
    } else {
        // Straight into the data model as it is generated, a part at a time in parallel (or, by
        // the CSV route, as the CSV text of the data contract read back from memory).
        let g = crate::population::Generator::new(&spec, seed, &screen);
        let (pop, report, oversampled) = generated_packed(
            &g,
            &mut spec,
            households,
            policy,
            survey,
            route,
            &main_weight,
            &misfit,
        )?;
        extra = oversampled;
        (pop, report, None)
    };
    let persons = hs.persons();
    let reference = spec.meta.reference_population;
    // The main sample's persons: the oversampled households stand for fewer households each.
    let weight = main_weight(report.persons);
    let design = design_weights(
        &spec,
        seed,
        households,
        weight,
        &extra,
        s.report.keep_population,
        &screen,
    );
    let notes = generation_notes(&report, &spec, &extra, weight);
    let info = PopulationInfo {
        source: format!(
            "spec {}, {households} households, seed {seed}",
            spec_path.display()
        ),
        households: hs.len() as u64,
        persons,
        weight,
        reference_population: reference,
        notes,
    };
    Ok((hs, info, tmp, design))
}

/// What the report says of a generated population: only deterministic facts (no timings, no
/// temporary paths), so that the report does not change between runs.
pub(crate) fn generation_notes(
    report: &crate::population::GenerateReport,
    spec: &crate::spec::PopulationSpec,
    extra: &[(u64, usize)],
    weight: u64,
) -> Vec<String> {
    let mut notes = vec![format!(
        "generated `{}` with seed {}: {} households, {} persons, {} on dibao at the start",
        report.spec_name,
        report.seed,
        report.households,
        report.persons,
        report.on_dibao_households
    )];
    for r in &report.calibration {
        let status = match &r.status {
            crate::population::CalibrationStatus::Reached => "reached".to_string(),
            crate::population::CalibrationStatus::OutOfReach(why) => format!("out of reach: {why}"),
            crate::population::CalibrationStatus::Reported => "reported".to_string(),
        };
        notes.push(format!(
            "calibration: {}: target {:.4}, calibrated {:.4}, output {} ({}; {})",
            r.quantity,
            r.target,
            r.calibrated,
            r.output
                .map(|o| format!("{o:.4}"))
                .unwrap_or_else(|| "-".into()),
            r.parameter,
            status
        ));
    }
    for (k, st) in spec.oversample.iter().enumerate() {
        let n = extra.iter().filter(|(_, j)| *j == k).count();
        notes.push(if st.take_all {
            format!(
                "oversampled `{}` completely (take-all: every such household of the city, {} × the rate of the other households): {n} households beyond the main sample, each standing for itself, neither resampled by the bootstrap nor reweighted by calibration",
                st.name, st.rate
            )
        } else {
            format!(
                "oversampled `{}` at {} × the rate of the other households: {n} households beyond the main sample, each standing for about {:.1} households",
                st.name,
                st.rate,
                weight as f64 / st.rate as f64
            )
        });
    }
    notes
}

/// A generated population read into the packed form by `route` as it is generated, surveyed a
/// chunk at a time, then the extra households of the spec's oversampled strata (whose effective
/// rates are set in `spec` once the main sample's weight is known): the population, the generator's
/// report and the extra households (index, stratum).
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn generated_packed(
    g: &crate::population::Generator<'_>,
    spec: &mut crate::spec::PopulationSpec,
    households: u64,
    policy: &Policy,
    survey: &mut Survey<'_>,
    route: Route,
    main_weight: &dyn Fn(u64) -> u64,
    misfit: &dyn Fn(data::DataError) -> SetupError,
) -> Result<
    (
        PackedPopulation,
        crate::population::GenerateReport,
        Vec<(u64, usize)>,
    ),
    SetupError,
> {
    let reader = crate::population::DirectReader::new(&policy.schema, g);
    let mut pop = PackedPopulation::new(&policy.schema);
    let mut add = |parts: Vec<Result<Vec<Household>, data::DataError>>| {
        let mut chunk = Vec::new();
        for r in parts {
            chunk.extend(r.map_err(misfit)?);
        }
        survey.add(&chunk)?;
        pop.extend(&chunk);
        Ok::<(), SetupError>(())
    };
    let report = match route {
        Route::Direct => g.generate_direct(households as usize, &reader, |_, parts| add(parts))?,
        Route::Csv => g.generate_in_memory(households as usize, |_, parts| {
            let (h_name, p_name) = (
                Path::new(crate::population::GENERATED_HOUSEHOLDS),
                Path::new(crate::population::GENERATED_PERSONS),
            );
            add(parts
                .into_par_iter()
                .map(|(h, p)| data::read_csv_pair_bytes(&policy.schema, (h_name, h), (p_name, p)))
                .collect())
        })?,
    };
    // Rare groups: the extra households of each stratum, read the same way (a take-all stratum's
    // rate is the main sample's weight, known now).
    spec.oversample = crate::oversample::effective(&spec.oversample, main_weight(report.persons));
    let extra = crate::oversample::extra_households(g, &spec.oversample, households);
    let indices: Vec<u64> = extra.iter().map(|(i, _)| *i).collect();
    for part in indices.chunks(16_384) {
        let list: Vec<_> = part.par_iter().map(|&i| g.household(i)).collect();
        add(vec![match route {
            Route::Direct => reader.read(g, &list),
            Route::Csv => reader.read_text(g, &list),
        }])?;
    }
    Ok((pop, report, extra))
}

/// Each household's design weight when the spec oversamples rare groups: `weight` for the main
/// sample's households outside the strata, `weight / rate` (rounded without bias) inside them, 1 in
/// a take-all stratum; and whether the household is certain (in a take-all stratum).
fn design_weights(
    spec: &crate::spec::PopulationSpec,
    seed: u64,
    households: u64,
    weight: u64,
    extra: &[(u64, usize)],
    kept: bool,
    screen: &dyn crate::population::DibaoScreen,
) -> Option<(Vec<u64>, Vec<bool>)> {
    if spec.oversample.is_empty() || kept {
        return None;
    }
    let g = crate::population::Generator::new(spec, seed, screen);
    Some(design_weights_of(
        &g,
        &spec.oversample,
        0..households,
        weight,
        extra,
    ))
}

/// [`design_weights`] of the main sample's households `main` (generator indices) and then of the
/// extra households `extra`.
pub(crate) fn design_weights_of(
    g: &crate::population::Generator<'_>,
    strata: &[crate::oversample::Stratum],
    main: std::ops::Range<u64>,
    weight: u64,
    extra: &[(u64, usize)],
) -> (Vec<u64>, Vec<bool>) {
    use crate::oversample::{stratum_of, weight_of};
    let of = |k: usize, i: u64| {
        if strata[k].take_all {
            (1, true)
        } else {
            (weight_of(weight, strata[k].rate, i), false)
        }
    };
    let mut w: Vec<(u64, bool)> = main
        .into_par_iter()
        .map(
            |i| match stratum_of(strata, g.region_codes(), &g.household_before_roll_draw(i)) {
                Some(k) => of(k, i),
                None => (weight, false),
            },
        )
        .collect();
    w.extend(extra.iter().map(|&(i, k)| of(k, i)));
    w.into_iter().unzip()
}

/// Reads a CSV pair into packed households, a chunk at a time (memory does not hold the unpacked
/// population), surveying each chunk.
fn read_packed(
    policy: &Policy,
    dir: &Path,
    survey: &mut Survey<'_>,
    data_err: &dyn Fn(data::DataError) -> SetupError,
) -> Result<PackedPopulation, SetupError> {
    read_packed_range(policy, dir, Some(survey), data_err, 0..usize::MAX).map(|(p, _)| p)
}

/// [`read_packed`] keeping (and surveying) only the households `range` (population indices): the
/// whole files are read, a block's households kept. Also returns how many households the files
/// hold.
pub(crate) fn read_packed_range(
    policy: &Policy,
    dir: &Path,
    mut survey: Option<&mut Survey<'_>>,
    data_err: &dyn Fn(data::DataError) -> SetupError,
    range: std::ops::Range<usize>,
) -> Result<(PackedPopulation, usize), SetupError> {
    let mut pop = PackedPopulation::new(&policy.schema);
    let mut at = 0usize;
    for chunk in data::CsvChunks::open_dir(&policy.schema, dir, 16_384).map_err(data_err)? {
        let chunk = chunk.map_err(data_err)?;
        let (a, b) = (at, at + chunk.len());
        at = b;
        let (lo, hi) = (range.start.clamp(a, b) - a, range.end.clamp(a, b) - a);
        if lo < hi {
            if let Some(s) = survey.as_deref_mut() {
                s.add(&chunk[lo..hi])?;
            }
            pop.extend(&chunk[lo..hi]);
        }
    }
    Ok((pop, at))
}

/// Each household's region, and whether the baseline finds it eligible in the first month.
pub(crate) struct Survey<'p> {
    policy: &'p Policy,
    eligible_id: doudi_dsl::ir::DefId,
    start: doudi_interpreter::Month,
    region_slot: usize,
    on_dibao_slot: usize,
    file: &'p str,
    /// Region names in order of appearance, and each household's index into them.
    names: Vec<String>,
    index: std::collections::HashMap<String, u32>,
    region_ids: Vec<u32>,
    eligible: Vec<bool>,
    eligible_n: u64,
    /// Households eligible and on dibao.
    taken: usize,
    dynamics: &'p crate::dynamics::Dynamics,
    slots: Slots,
    /// Persons able to work, and of them employed.
    able: u64,
    employed: u64,
}

impl<'p> Survey<'p> {
    pub(crate) fn new(
        policy: &'p Policy,
        eligible_id: doudi_dsl::ir::DefId,
        start: doudi_interpreter::Month,
        slots: &Slots,
        dynamics: &'p crate::dynamics::Dynamics,
        file: &'p str,
    ) -> Survey<'p> {
        Survey {
            policy,
            eligible_id,
            start,
            region_slot: slots.region,
            on_dibao_slot: slots.on_dibao,
            file,
            names: Vec::new(),
            index: Default::default(),
            region_ids: Vec::new(),
            eligible: Vec::new(),
            eligible_n: 0,
            taken: 0,
            dynamics,
            slots: slots.clone(),
            able: 0,
            employed: 0,
        }
    }

    /// The households surveyed, packed in `population` (the first's population index `first`).
    pub(crate) fn held(
        self,
        population: PackedPopulation,
        first: usize,
        design: Option<(Vec<u64>, Vec<bool>)>,
    ) -> Held {
        Held {
            population,
            first,
            names: self.names,
            region_ids: self.region_ids,
            initial_eligible: self.eligible,
            counts: Counts {
                eligible: self.eligible_n,
                taken: self.taken as u64,
                able: self.able,
                employed: self.employed,
            },
            design,
        }
    }

    pub(crate) fn add(&mut self, hs: &[Household]) -> Result<(), SetupError> {
        use doudi_interpreter::packed::MemberFields;
        for h in hs {
            for m in 0..h.member_count() {
                if self.dynamics.able_to_work(h, m, &self.slots) {
                    self.able += 1;
                    self.employed += h.member_bool(m, self.slots.employed) as u64;
                }
            }
            let code = match &h.fields[self.region_slot] {
                Value::Text(t) => t.to_string(),
                other => format!("{other:?}"),
            };
            let next = self.names.len() as u32;
            let id = *self.index.entry(code).or_insert_with_key(|k| {
                self.names.push(k.clone());
                next
            });
            self.region_ids.push(id);
        }
        let (policy, start) = (self.policy, self.start);
        for (h, r) in hs.iter().zip(doudi_interpreter::batch::evaluate_chunk(
            policy,
            hs,
            start,
            &[self.eligible_id],
        )) {
            let v = r.map_err(|e| {
                SetupError(format!(
                    "{}: the policy fails on the population in {start}:\n{}",
                    self.file,
                    e.render(policy.sources()).trim_end()
                ))
            })?;
            let eligible = v.first().is_some_and(|x| x.as_bool());
            self.taken += (eligible && h.fields[self.on_dibao_slot].as_bool()) as usize;
            self.eligible_n += eligible as u64;
            self.eligible.push(eligible);
        }
        Ok(())
    }
}
