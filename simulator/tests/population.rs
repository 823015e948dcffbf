//! Population spec and generator: determinism, spec errors, calibration, DATA.md conformance.

use doudi_simulator::population::{
    generate, CalibrationStatus, Generator, HOUSEHOLD_COLUMNS, PERSON_COLUMNS,
};
use doudi_simulator::spec::{AreaOpt, LowIncomeTarget, PopulationSpec, SpecError};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

mod common;
use common::screen;

const JIAN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scenarios/populations/jian.toml"
);

fn jian_text() -> String {
    std::fs::read_to_string(JIAN).unwrap()
}

/// The shipped spec with a small calibration sample, so that tests stay fast in debug builds.
fn small_spec() -> PopulationSpec {
    let (mut spec, _) = PopulationSpec::from_toml_str(&jian_text(), "jian.toml").unwrap();
    spec.calibration.sample_households = 3000;
    spec
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn generate_in(spec: &PopulationSpec, n: usize, seed: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    generate(spec, n, seed, &out, screen()).unwrap();
    (dir, out)
}

/// Replace exactly one occurrence of `from` in the shipped spec text.
fn edited(from: &str, to: &str) -> String {
    let text = jian_text();
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` must occur once in jian.toml"
    );
    text.replacen(from, to, 1)
}

fn spec_error(text: &str) -> SpecError {
    match PopulationSpec::from_toml_str(text, "scenarios/populations/jian.toml") {
        Ok(_) => panic!("spec should be rejected"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// The shipped spec

#[test]
fn jian_spec_loads_without_warnings() {
    let (spec, warnings) = PopulationSpec::load(JIAN).unwrap();
    assert!(warnings.is_empty(), "unexpected warnings: {warnings:#?}");
    let codes = spec.region_codes();
    assert_eq!(codes.len(), 13);
    for code in [
        "jizhou",
        "qingyuan",
        "jinggangshan",
        "jian_county",
        "jishui",
        "xiajiang",
        "xingan",
        "yongfeng",
        "taihe",
        "suichuan",
        "wanan",
        "anfu",
        "yongxin",
    ] {
        assert!(codes.contains(&code), "missing region {code}");
    }
    let total: u64 = spec.regions.values().map(|r| r.population.unwrap()).sum();
    assert_eq!(total, 4_469_176, "regions add up to the 2020 census total");
    assert!(spec
        .provenance
        .iter()
        .any(|p| p.key == "regions.jinggangshan" && p.source.is_some()));
    assert!(spec
        .provenance
        .iter()
        .all(|p| p.source.is_some() || p.assumption.is_some()));
}

// ---------------------------------------------------------------------------------------------
// Determinism

#[test]
fn same_seed_gives_identical_files_and_other_seed_differs() {
    let spec = small_spec();
    let (_a, out_a) = generate_in(&spec, 2500, 42);
    let (_b, out_b) = generate_in(&spec, 2500, 42);
    let (_c, out_c) = generate_in(&spec, 2500, 43);
    for f in ["households.csv", "persons.csv"] {
        assert!(
            read(&out_a.join(f)) == read(&out_b.join(f)),
            "{f} differs between runs with the same seed"
        );
        assert!(
            read(&out_a.join(f)) != read(&out_c.join(f)),
            "{f} does not depend on the seed"
        );
    }
}

#[test]
fn thread_count_does_not_change_output() {
    let spec = small_spec();
    let mut outputs = Vec::new();
    let mut dirs = Vec::new();
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let (dir, out) = pool.install(|| generate_in(&spec, 3000, 7));
        outputs.push((
            read(&out.join("households.csv")),
            read(&out.join("persons.csv")),
        ));
        dirs.push(dir);
    }
    assert!(outputs[0] == outputs[1], "1 and 2 threads differ");
    assert!(outputs[0] == outputs[2], "1 and 3 threads differ");
}

#[test]
fn households_do_not_depend_on_population_size() {
    let spec = small_spec();
    let (_a, small) = generate_in(&spec, 100, 5);
    let (_b, large) = generate_in(&spec, 1500, 5);
    for f in ["households.csv", "persons.csv"] {
        let s = String::from_utf8(read(&small.join(f))).unwrap();
        let l = String::from_utf8(read(&large.join(f))).unwrap();
        assert!(
            l.starts_with(&s),
            "{f}: the first 100 households change with the population size"
        );
    }
    // And one household on its own is the same as inside the stream.
    let g = Generator::new(&spec, 5, screen());
    let h = g.household(57);
    assert_eq!(h.id(), "H00000058");
    let rows = String::from_utf8(read(&large.join("households.csv"))).unwrap();
    let row = rows.lines().find(|l| l.starts_with("H00000058,")).unwrap();
    assert!(row.starts_with(&format!(
        "H00000058,{},{},",
        g.region_codes()[h.region],
        h.area
    )));
}

// ---------------------------------------------------------------------------------------------
// Spec errors and warnings

#[test]
fn unknown_key_is_named_with_its_path() {
    let e = spec_error(&edited(
        "urban_share = 0.90\n",
        "urban_share = 0.90\nurban_shar = 0.3\n",
    ));
    let msg = e.to_string();
    assert!(msg.starts_with("scenarios/populations/jian.toml: regions.jizhou.urban_shar: unknown field `urban_shar`"), "{msg}");
    assert!(msg.contains("line "), "{msg}");

    let e = spec_error(&edited("[calibration]\n", "[calibraton]\n"));
    assert!(
        e.to_string()
            .contains(": calibraton: unknown field `calibraton`"),
        "{e}"
    );

    let e = spec_error(&edited(
        "rehab = [{ share = 0.25,",
        "rehab = [{ shares = 0.25,",
    ));
    assert!(
        e.to_string()
            .contains("disability.rehab[0].shares: unknown field `shares`"),
        "{e}"
    );
}

#[test]
fn wrong_type_and_missing_key_are_named() {
    let e = spec_error(&edited("urban_share = 0.90\n", "urban_share = \"high\"\n"));
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "scenarios/populations/jian.toml: regions.jizhou.urban_share: invalid type"
        ),
        "{msg}"
    );
    assert!(msg.contains("line "), "{msg}");

    let e = spec_error(&edited("head_male_share = 0.76\n", ""));
    assert!(
        e.to_string()
            .contains("composition.urban.head_male_share: missing field `head_male_share`"),
        "{e}"
    );
}

#[test]
fn rate_above_one_is_an_error_naming_the_key() {
    let e = spec_error(&edited("urban_share = 0.90\n", "urban_share = 1.2\n"));
    assert_eq!(e.to_string(), "scenarios/populations/jian.toml: regions.jizhou.urban_share: must be between 0 and 1, found 1.2");
    assert_eq!(e.keys(), vec!["regions.jizhou.urban_share"]);

    let e = spec_error(&edited("max_houses = 1\nable_take_up_factor = 0.15\n\n[dibao.rural]\nstandard = 504\nthreshold = 1.0\nsoftness = 0.15\ntake_up = 0.80", "max_houses = 1\nable_take_up_factor = 0.15\n\n[dibao.rural]\nstandard = 504\nthreshold = 1.0\nsoftness = 0.15\ntake_up = 1.5"));
    assert!(
        e.to_string()
            .contains("dibao.rural.take_up: must be between 0 and 1, found 1.5"),
        "{e}"
    );
}

#[test]
fn negative_values_are_errors_naming_the_key() {
    let e = spec_error(&edited(
        "employed = [{ share = 1.0, median = 4500, sigma = 0.55 }]",
        "employed = [{ share = 1.0, median = -4500, sigma = 0.55 }]",
    ));
    assert_eq!(e.to_string(), "scenarios/populations/jian.toml: income.urban.employed[0].median: must not be negative, found -4500");

    let e = spec_error(&edited("good = 0.985", "good = -0.985"));
    assert!(
        e.to_string()
            .contains("credit.good: must not be negative, found -0.985"),
        "{e}"
    );

    let e = spec_error(&edited(
        "weights = [0.22, 0.29, 0.24, 0.14, 0.07, 0.03, 0.01]",
        "weights = [0.22, -0.29, 0.24, 0.14, 0.07, 0.03, 0.01]",
    ));
    assert!(
        e.to_string()
            .contains("household_size.urban.weights[1]: must not be negative, found -0.29"),
        "{e}"
    );
}

#[test]
fn several_problems_are_all_reported() {
    let text = edited("urban_share = 0.90\n", "urban_share = 1.2\n").replacen(
        "severe_disability_factor = 0.1",
        "severe_disability_factor = -1",
        1,
    );
    let e = spec_error(&text);
    let keys = e.keys();
    assert!(
        keys.contains(&"regions.jizhou.urban_share")
            && keys.contains(&"employment.severe_disability_factor"),
        "{e}"
    );
    assert_eq!(e.to_string().lines().count(), 2, "{e}");
}

#[test]
fn figures_without_source_or_assumption_warn() {
    let text = edited(
        "assumption = \"confirmed dishonesty is rare: 1.5 % of households with any tier, mostly `general` (education only)\"\n",
        "",
    );
    let (_, warnings) = PopulationSpec::from_toml_str(&text, "x.toml").unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0].key, "credit");
    assert!(
        warnings[0]
            .to_string()
            .starts_with("x.toml: credit: warning: figures without `source` or `assumption`"),
        "{}",
        warnings[0]
    );
}

// ---------------------------------------------------------------------------------------------
// Calibration

#[test]
fn calibration_reaches_its_targets() {
    let mut spec = small_spec();
    spec.calibration.sample_households = 8000;
    // Urban: share of households below 1,500 yuan per capita (bisection on the income scale).
    spec.targets.mean_per_capita_income = Some(AreaOpt {
        urban: None,
        rural: Some(1415.0),
    });
    spec.targets.low_income_share = Some(AreaOpt {
        urban: Some(LowIncomeTarget {
            line: 1500.0,
            share: 0.20,
        }),
        rural: None,
    });
    // Dibao by households instead of persons.
    spec.targets.dibao_persons_share = None;
    spec.targets.dibao_households_share = Some(AreaOpt {
        urban: Some(0.02),
        rural: Some(0.06),
    });
    let dir = tempfile::tempdir().unwrap();
    let report = generate(&spec, 8000, 11, dir.path(), screen()).unwrap();
    println!("{report}");
    let row = |q: &str| {
        report
            .calibration
            .iter()
            .find(|r| r.quantity == q)
            .unwrap_or_else(|| panic!("no row {q}"))
            .clone()
    };

    for q in [
        "households below 1500 per capita (urban)",
        "households on dibao (urban)",
        "households on dibao (rural)",
        "mean income per counted person (rural)",
        "urban share of persons",
        "mean household size (urban)",
        "mean household size (rural)",
    ] {
        let r = row(q);
        assert_eq!(r.status, CalibrationStatus::Reached, "{q}: {r:?}");
        assert!(
            (r.calibrated - r.target).abs() <= 0.01 * r.target,
            "{q}: {r:?}"
        );
    }
    // The calibration sample is the first 8000 households: the written population reproduces it
    // (up to cent rounding of incomes).
    for q in [
        "households below 1500 per capita (urban)",
        "households on dibao (urban)",
        "households on dibao (rural)",
    ] {
        let r = row(q);
        assert!(
            (r.output.unwrap() - r.calibrated).abs() < 0.002,
            "{q}: {r:?}"
        );
    }
    let r = row("mean income per counted person (rural)");
    assert!((r.output.unwrap() - r.target).abs() < 0.5, "{r:?}");
    // Raked urban share: exact in the model, within sampling error in the output.
    let r = row("urban share of persons");
    assert!((r.calibrated - r.target).abs() < 1e-9, "{r:?}");
    assert!((r.output.unwrap() - r.target).abs() < 0.02, "{r:?}");
    // Region shares of persons follow the spec.
    for reg in &report.regions {
        let share = reg.persons as f64 / report.persons as f64;
        assert!((share - reg.target_share).abs() < 0.015, "{reg:?}");
    }
    // The report prints a table with every quantity.
    let text = report.to_string();
    assert!(
        text.contains("households on dibao (rural)") && text.contains("IPF (region × area)"),
        "{text}"
    );
}

#[test]
fn unreachable_target_is_reported_not_hidden() {
    let mut spec = small_spec();
    spec.targets.dibao_persons_share = Some(AreaOpt {
        urban: Some(0.95),
        rural: None,
    });
    let g = Generator::new(&spec, 1, screen());
    let r = g
        .calibration()
        .iter()
        .find(|r| r.quantity == "persons on dibao (urban)")
        .unwrap();
    assert!(
        matches!(r.status, CalibrationStatus::OutOfReach(_)),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// DATA.md conformance

fn is_money(s: &str) -> bool {
    let Some((int, frac)) = s.split_once('.') else {
        return false;
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() == 2
        && frac.bytes().all(|b| b.is_ascii_digit())
}

fn is_bool(s: &str) -> bool {
    s == "true" || s == "false"
}

#[test]
fn every_row_satisfies_data_md() {
    let spec = small_spec();
    let n = 6000;
    let (_d, out) = generate_in(&spec, n, 2024);
    // Only the two files are left in the output directory (the temporary directory is gone).
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["households.csv", "persons.csv"]);

    let regions: HashSet<&str> = spec.region_codes().into_iter().collect();
    let mut hr = csv::Reader::from_path(out.join("households.csv")).unwrap();
    assert_eq!(
        hr.headers().unwrap().iter().collect::<Vec<_>>(),
        HOUSEHOLD_COLUMNS.to_vec()
    );
    let mut order = Vec::new();
    let mut areas = HashMap::new();
    let mut on_dibao = 0;
    for rec in hr.records() {
        let r = rec.unwrap();
        assert_eq!(r.len(), 10);
        let id = r[0].to_string();
        assert_eq!(id, format!("H{:08}", order.len() + 1));
        assert!(regions.contains(&r[1]), "{r:?}");
        assert!(r[2] == *"urban" || r[2] == *"rural", "{r:?}");
        assert!(is_bool(&r[3]) && is_bool(&r[4]) && is_bool(&r[9]), "{r:?}");
        assert!(is_money(&r[5]), "{r:?}");
        r[6].parse::<u32>().unwrap();
        r[7].parse::<u32>().unwrap();
        assert!(
            ["good", "general", "serious", "severe"].contains(&&r[8]),
            "{r:?}"
        );
        if &r[2] == "urban" {
            assert_eq!(&r[3], "false", "registered_poor is rural only here: {r:?}");
        }
        on_dibao += (&r[9] == "true") as usize;
        areas.insert(id.clone(), r[2].to_string());
        order.push(id);
    }
    assert_eq!(order.len(), n);
    assert!(on_dibao > 0);

    let mut pr = csv::Reader::from_path(out.join("persons.csv")).unwrap();
    assert_eq!(
        pr.headers().unwrap().iter().collect::<Vec<_>>(),
        PERSON_COLUMNS.to_vec()
    );
    let mut seen_ids = HashSet::new();
    // (household id, [(age, counted)]) in file order
    let mut members: Vec<(String, Vec<(u32, bool)>)> = Vec::new();
    let (mut dead, mut imprisoned, mut persons) = (0, 0, 0);
    let mut students = 0;
    for rec in pr.records() {
        let r = rec.unwrap();
        assert_eq!(r.len(), 18);
        persons += 1;
        let hid = r[1].to_string();
        match members.last_mut() {
            Some((h, list)) if *h == hid => {
                assert_eq!(&r[0], format!("{hid}-P{}", list.len() + 1).as_str());
                list.push((0, false));
            }
            _ => {
                assert_eq!(&r[0], format!("{hid}-P1").as_str());
                members.push((hid.clone(), vec![(0, false)]));
            }
        }
        assert!(
            seen_ids.insert(r[0].to_string()),
            "duplicate person id {}",
            &r[0]
        );
        let age: u32 = r[2].parse().unwrap();
        assert!(age <= 105);
        assert!(r[3] == *"male" || r[3] == *"female");
        for i in [4, 10, 11, 13, 14] {
            assert!(
                is_money(&r[i]),
                "column {} not money: {r:?}",
                PERSON_COLUMNS[i]
            );
        }
        for i in [5, 15, 16, 17] {
            assert!(
                is_bool(&r[i]),
                "column {} not bool: {r:?}",
                PERSON_COLUMNS[i]
            );
        }
        assert!([
            "none",
            "fresh_graduate",
            "released_prisoner",
            "discharged_soldier"
        ]
        .contains(&&r[6]));
        let grade: u8 = r[7].parse().unwrap();
        assert!(grade <= 4);
        assert!(["independent", "semi_disabled", "fully_disabled"].contains(&&r[8]));
        assert!([
            "none",
            "uremia",
            "mental",
            "cancer",
            "other_major",
            "chronic"
        ]
        .contains(&&r[9]));
        let schooling = &r[12];
        assert!([
            "none",
            "compulsory",
            "high_school",
            "secondary_vocational",
            "higher_vocational",
            "university",
            "abroad_self_funded"
        ]
        .contains(&schooling));
        // Schooling by age; tuition only for students.
        match schooling {
            "compulsory" => assert!((6..15).contains(&age), "{r:?}"),
            "high_school" | "secondary_vocational" => assert!((15..18).contains(&age), "{r:?}"),
            "higher_vocational" | "university" | "abroad_self_funded" => {
                assert!((18..22).contains(&age), "{r:?}")
            }
            _ => assert_eq!(&r[13], "0.00", "{r:?}"),
        }
        students += (schooling != "none") as usize;
        let employed = &r[5] == "true";
        if !employed {
            assert_eq!(&r[6], "none", "{r:?}");
        }
        if employed {
            assert!(age >= 16 && schooling == "none", "{r:?}");
        }
        if grade == 0 {
            assert_eq!(&r[11], "0.00", "rehab without disability: {r:?}");
        }
        if age < 16 {
            assert_eq!(&r[4], "0.00", "{r:?}");
        }
        let alive = &r[15] == "true";
        let jailed = &r[16] == "true";
        dead += !alive as usize;
        imprisoned += jailed as usize;
        if !alive || jailed {
            assert_eq!(
                &r[4], "0.00",
                "income of a dead or imprisoned person: {r:?}"
            );
            assert!(!employed);
        }
        if !alive {
            assert!(!jailed);
        }
        let last = members.last_mut().unwrap().1.last_mut().unwrap();
        *last = (age, alive && !jailed);
    }
    // Persons are grouped by household, in the order of households.csv, and every household has one.
    let grouped: Vec<&String> = members.iter().map(|(h, _)| h).collect();
    assert_eq!(
        grouped.len(),
        order.len(),
        "every household has at least one person, grouped"
    );
    assert!(
        grouped.iter().zip(&order).all(|(a, b)| *a == b),
        "persons not in household order"
    );
    // At least one adult in every household of two or more.
    for (h, list) in &members {
        if list.len() > 1 {
            assert!(
                list.iter().any(|(age, _)| *age >= 18),
                "household {h} has no adult"
            );
        }
    }
    // Roll errors are present but rare.
    assert!(
        dead > 0 && imprisoned > 0,
        "dead {dead}, imprisoned {imprisoned}"
    );
    assert!((dead as f64) < 0.01 * persons as f64 && (imprisoned as f64) < 0.005 * persons as f64);
    assert!(students > 0);
    let _ = areas;
}

#[test]
fn output_replaces_previous_files_atomically() {
    let spec = small_spec();
    let (_d, out) = generate_in(&spec, 50, 1);
    let first = read(&out.join("persons.csv"));
    generate(&spec, 80, 2, &out, screen()).unwrap();
    let second = read(&out.join("persons.csv"));
    assert!(first != second);
    let entries: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert_eq!(entries.len(), 2, "no temporary files left behind");
    let hh = String::from_utf8(read(&out.join("households.csv"))).unwrap();
    assert_eq!(hh.lines().count(), 81);
}

#[test]
fn money_is_written_with_two_decimals() {
    assert_eq!(doudi_simulator::population::format_cents(0), "0.00");
    assert_eq!(doudi_simulator::population::format_cents(5), "0.05");
    assert_eq!(doudi_simulator::population::format_cents(123456), "1234.56");
}

/// Generating in memory gives the same CSV text as the files, part by part, and the same report.
#[test]
fn in_memory_generation_equals_the_files() {
    let spec = small_spec();
    let n = 70_000; // more than one chunk of 65,536 households
    let (_dir, out) = generate_in(&spec, n, 9);
    let g = Generator::new(&spec, 9, screen());
    let (mut hh, mut ps) = (Vec::new(), Vec::new());
    let mut starts = Vec::new();
    let report = g
        .generate_in_memory(n, |start, parts| -> Result<(), ()> {
            starts.push(start);
            for (h, p) in parts {
                // Each part has its header row: keep the first one only.
                let skip = |t: &[u8]| t.iter().position(|b| *b == b'\n').unwrap() + 1;
                hh.extend_from_slice(if hh.is_empty() {
                    &h[..]
                } else {
                    &h[skip(&h)..]
                });
                ps.extend_from_slice(if ps.is_empty() {
                    &p[..]
                } else {
                    &p[skip(&p)..]
                });
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(starts, vec![0, 65_536]);
    assert!(
        hh == read(&out.join("households.csv")),
        "households.csv differs"
    );
    assert!(ps == read(&out.join("persons.csv")), "persons.csv differs");
    let files = generate(&spec, n, 9, &out, screen()).unwrap();
    assert_eq!(
        (
            report.households,
            report.persons,
            report.on_dibao_households
        ),
        (files.households, files.persons, files.on_dibao_households)
    );
    assert_eq!(
        format!("{:?}", report.calibration),
        format!("{:?}", files.calibration)
    );
    assert!(report.files.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Who is poor: earners in families, and who takes dibao up

/// Whether a person could work: counted, 18–59, not in school, independent, not severely disabled.
fn able_adult(p: &doudi_simulator::population::GeneratedPerson) -> bool {
    use doudi_simulator::population::{SchoolingKind, SelfCare};
    p.counted()
        && (18..=59).contains(&p.age)
        && p.schooling == SchoolingKind::None
        && p.self_care == SelfCare::Independent
        && !(p.disability_grade == 1 || p.disability_grade == 2)
}

#[test]
fn with_a_certain_breadwinner_no_family_with_an_able_adult_lacks_an_earner() {
    let text = edited(
        "breadwinner = { urban = 0.95, rural = 0.97 }",
        "breadwinner = { urban = 1.0, rural = 1.0 }",
    );
    let (mut spec, _) = PopulationSpec::from_toml_str(&text, "jian.toml").unwrap();
    spec.calibration.sample_households = 3000;
    let g = Generator::new(&spec, 11, screen());
    let mut families = 0;
    for i in 0..5000 {
        let h = g.household(i);
        let child = h.members.iter().any(|p| p.counted() && p.age < 18);
        if child && h.members.iter().any(able_adult) {
            families += 1;
            assert!(
                h.members.iter().any(|p| p.employed),
                "household {i}: a child and an able adult but no earner: {h:?}"
            );
        }
    }
    assert!(families > 1000, "{families} families checked");

    // With the shipped shares, some families stay without an earner: the draw is a probability.
    let g = Generator::new(&small_spec(), 11, screen());
    let without = (0..5000)
        .map(|i| g.household(i))
        .filter(|h| {
            h.members.iter().any(|p| p.counted() && p.age < 18)
                && h.members.iter().any(able_adult)
                && !h.members.iter().any(|p| p.employed)
        })
        .count();
    assert!(
        without > 0,
        "5 % (urban) / 3 % (rural) of such families keep no earner"
    );
}

#[test]
fn households_able_to_work_take_dibao_up_at_the_given_share() {
    // No take-up for households able to work and no roll errors: then no household on dibao has a
    // member able to work (16–59, counted, not in school, independent, no severe disability, no
    // uremia, cancer or severe mental disorder).
    use doudi_simulator::population::{IllnessKind, SchoolingKind, SelfCare};
    let mut text = jian_text();
    assert_eq!(text.matches("able_take_up_factor = 0.15").count(), 2);
    assert_eq!(text.matches("error_rate = 0.004").count(), 2);
    text = text.replace("able_take_up_factor = 0.15", "able_take_up_factor = 0");
    text = text.replace("error_rate = 0.004", "error_rate = 0");
    let (mut spec, _) = PopulationSpec::from_toml_str(&text, "jian.toml").unwrap();
    spec.calibration.sample_households = 3000;
    let g = Generator::new(&spec, 5, screen());
    let able = |p: &doudi_simulator::population::GeneratedPerson| {
        p.counted()
            && (16..=59).contains(&p.age)
            && p.schooling == SchoolingKind::None
            && p.self_care == SelfCare::Independent
            && !(p.disability_grade == 1 || p.disability_grade == 2)
            && !matches!(
                p.illness,
                IllnessKind::Uremia | IllnessKind::Cancer | IllnessKind::Mental
            )
    };
    let on: Vec<_> = (0..20000)
        .map(|i| g.household(i))
        .filter(|h| h.on_dibao)
        .collect();
    assert!(on.len() > 100, "{} households on dibao", on.len());
    for h in &on {
        assert!(
            !h.members.iter().any(able),
            "household {} is on dibao with a member able to work",
            h.index
        );
    }

    // A factor out of [0, 1] is an error naming the key.
    let bad = jian_text().replacen("able_take_up_factor = 0.15", "able_take_up_factor = 1.5", 1);
    let e = spec_error(&bad);
    assert!(e.to_string().contains("able_take_up_factor"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Oversampling strata by region

#[test]
fn an_unknown_stratum_region_is_an_error_naming_the_field() {
    let e = spec_error(&edited("region = \"qingyuan\"\n", "region = \"qingyun\"\n"));
    let msg = e.to_string();
    assert!(
        msg.contains("oversample[3].region") && msg.contains("`qingyun` is not a region"),
        "{msg}"
    );
    assert!(
        msg.contains("qingyuan"),
        "the message lists the regions: {msg}"
    );
}

#[test]
fn a_stratum_with_a_region_keeps_only_that_regions_households() {
    use doudi_simulator::oversample::Stratum;
    let spec = small_spec();
    let g = Generator::new(&spec, 7, screen());
    let codes = g.region_codes().to_vec();
    let qingyuan = codes.iter().position(|c| c == "qingyuan").unwrap();
    let any_region = Stratum {
        name: "t".into(),
        area: Some("rural".into()),
        region: None,
        rate: 1,
        take_all: false,
        max_income_per_capita: None,
        pure_female: Some(true),
        registered_poor: None,
        any_member: Vec::new(),
        source: None,
        assumption: Some("test".into()),
    };
    let in_qingyuan = Stratum {
        region: Some("qingyuan".into()),
        ..any_region.clone()
    };
    let (mut all, mut here, mut elsewhere) = (0, 0, 0);
    for i in 0..20_000 {
        let h = g.household(i);
        let m = any_region.matches(&codes, &h);
        let r = in_qingyuan.matches(&codes, &h);
        all += m as u32;
        // With the region: the households of the stratum without it that are in Qingyuan, no others.
        assert_eq!(r, m && h.region == qingyuan, "household {i}");
        here += r as u32;
        elsewhere += (m && h.region != qingyuan) as u32;
    }
    assert!(
        here > 0 && elsewhere > 0,
        "{here} in Qingyuan, {elsewhere} elsewhere"
    );
    assert_eq!(all, here + elsewhere);
}
