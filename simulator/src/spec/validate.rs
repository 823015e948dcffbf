//! Validation of a parsed spec: every figure in range, shares that sum to one, known codes.

use super::*;

pub(super) struct Check {
    pub(super) problems: Vec<Problem>,
}

impl Check {
    pub(super) fn err(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }
    pub(super) fn finite(&mut self, key: &str, v: f64) -> bool {
        if v.is_finite() {
            true
        } else {
            self.err(key, format!("must be a finite number, found {v}"));
            false
        }
    }
    pub(super) fn rate(&mut self, key: &str, v: f64) {
        if self.finite(key, v) && !(0.0..=1.0).contains(&v) {
            self.err(key, format!("must be between 0 and 1, found {v}"));
        }
    }
    pub(super) fn nonneg(&mut self, key: &str, v: f64) {
        if self.finite(key, v) && v < 0.0 {
            self.err(key, format!("must not be negative, found {v}"));
        }
    }
    pub(super) fn positive(&mut self, key: &str, v: f64) {
        if self.finite(key, v) && v <= 0.0 {
            self.err(key, format!("must be greater than 0, found {v}"));
        }
    }
    pub(super) fn weights(&mut self, key: &str, ws: &[f64]) {
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
    pub(super) fn mixture(&mut self, key: &str, parts: &[LognormalPart]) {
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
    pub(super) fn age_range(&mut self, key: &str, min: u32, max: u32) {
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
    pub(super) fn no_overlap(&mut self, key: &str, ranges: &[(u32, u32)]) {
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

pub(super) fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl PopulationSpec {
    pub(super) fn validate_into(&self, c: &mut Check, warnings: &mut Vec<Warning>) {
        let region_codes = self.region_codes();
        for (i, st) in self.oversample.iter().enumerate() {
            for (k, m) in st.problems(i, &region_codes) {
                c.err(k, m);
            }
        }
        self.validate_regions(c, warnings);
        for area in Area::ALL {
            self.validate_household(c, area);
            self.validate_income_and_work(c, area);
            self.validate_assets_and_dibao(c, area);
        }
        self.validate_employment_categories(c);
        self.validate_disability(c);
        self.validate_illness_and_tuition(c);
        self.validate_pension_credit_and_support(c);
        self.validate_roll(c);
        self.validate_targets(c);
        if self.calibration.sample_households == 0 {
            c.err("calibration.sample_households", "must be at least 1");
        }
        c.positive("calibration.tolerance", self.calibration.tolerance);
    }

    /// The regions: codes, one kind of size for all, shares.
    fn validate_regions(&self, c: &mut Check, warnings: &mut Vec<Warning>) {
        let file = self.file.clone();
        let mut warn = |key: String, message: String| {
            warnings.push(Warning {
                file: file.clone(),
                key,
                message,
            })
        };

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
    }

    /// An area's household sizes and composition.
    fn validate_household(&self, c: &mut Check, area: Area) {
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
    }

    /// An area's income, employment bands, schooling and pension coverage.
    fn validate_income_and_work(&self, c: &mut Check, area: Area) {
        let a = area.as_str();
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
        if s.tertiary > 0.0 && s.higher_vocational + s.university + s.abroad_self_funded <= 0.0 {
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
    }

    /// An area's assets and dibao parameters.
    fn validate_assets_and_dibao(&self, c: &mut Check, area: Area) {
        let a = area.as_str();
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

    /// The employment categories and the breadwinner rule.
    fn validate_employment_categories(&self, c: &mut Check) {
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
    }

    /// Disability bands, grades, self-care and rehabilitation costs.
    fn validate_disability(&self, c: &mut Check) {
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
    }

    /// Illness bands and costs, and tuition.
    fn validate_illness_and_tuition(&self, c: &mut Check) {
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
    }

    /// Pension contributions, credit tiers, registered poor, pure female households and support.
    fn validate_pension_credit_and_support(&self, c: &mut Check) {
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
    }

    /// The shares dead or imprisoned on the roll, by age band.
    fn validate_roll(&self, c: &mut Check) {
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
    }

    /// The calibration targets.
    fn validate_targets(&self, c: &mut Check) {
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
    }
}

pub(super) fn weighted_bands(c: &mut Check, key: &str, bands: &[WeightedBand]) {
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
