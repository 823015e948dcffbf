//! The direct route of a generated population (households straight into the data model) against the
//! CSV route (the CSV text of the data contract read back): the same households, the same packed
//! bytes, the same errors, and a scenario whose reports are the same byte for byte.

use doudi_interpreter::data::{Field, FieldType, Household, Schema};
use doudi_interpreter::packed::PackedPopulation;
use doudi_interpreter::{Month, Policy, Value};
use doudi_simulator::montecarlo;
use doudi_simulator::population::{DirectReader, GeneratedHousehold, Generator};
use doudi_simulator::report;
use doudi_simulator::scenario::Scenario;
use doudi_simulator::screen::PolicyScreen;
use doudi_simulator::setup::{self, Route};
use doudi_simulator::spec::PopulationSpec;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn policy() -> Policy {
    Policy::load(&root().join("policies/jian"))
        .expect("policies/jian loads")
        .policy
}

/// The shipped spec with a calibration sample of `sample` households (fast in debug builds).
fn spec(sample: usize) -> PopulationSpec {
    let text = std::fs::read_to_string(root().join("scenarios/populations/jian.toml")).unwrap();
    let (mut spec, _) = PopulationSpec::from_toml_str(&text, "jian.toml").unwrap();
    spec.calibration.sample_households = sample;
    spec
}

/// Households `0..n` of the stream, in parts as the simulator reads them.
fn generated(g: &Generator<'_>, n: u64) -> Vec<Vec<GeneratedHousehold>> {
    (0..n)
        .step_by(100)
        .map(|s| g.households(s, (s + 100).min(n)))
        .collect()
}

fn packed_equal(schema: &Schema, a: &[Household], b: &[Household]) {
    let (pa, pb) = (
        PackedPopulation::from_households(schema, a),
        PackedPopulation::from_households(schema, b),
    );
    assert_eq!(pa.len(), pb.len());
    assert_eq!(pa.persons(), pb.persons());
    for i in 0..pa.len() {
        assert_eq!(
            pa.packed(i),
            pb.packed(i),
            "household {i} packs differently"
        );
        assert_eq!(pa.ids(i), pb.ids(i));
    }
}

#[test]
fn direct_households_equal_the_csv_reader_s() {
    let policy = policy();
    let screen = PolicyScreen::new(&policy, Month::parse("2022-01").unwrap()).unwrap();
    for (sample, seed) in [(1500, 1), (1500, 7), (2500, 42)] {
        let g = Generator::new(&spec(sample), seed, &screen);
        let reader = DirectReader::new(&policy.schema, &g);
        let (mut all_direct, mut all_text) = (Vec::new(), Vec::new());
        for part in generated(&g, 600) {
            let direct = reader
                .direct(&g, &part)
                .expect("every generated value converts without text");
            let text = reader.read_text(&g, &part).unwrap();
            assert_eq!(direct, text, "seed {seed}");
            assert_eq!(reader.read(&g, &part).unwrap(), text);
            all_direct.extend(direct);
            all_text.extend(text);
        }
        assert_eq!(all_direct.len(), 600);
        // Region texts are shared by every household, as the reader's text cache shares them.
        let slot = policy.schema.household_index("region").unwrap();
        let (Value::Text(a), Value::Text(b)) = (
            &all_direct[0].fields[slot],
            &all_direct
                .iter()
                .rev()
                .find(|h| h.fields[slot] == all_direct[0].fields[slot])
                .unwrap()
                .fields[slot],
        ) else {
            panic!("region is text")
        };
        assert!(std::sync::Arc::ptr_eq(a, b));
        packed_equal(&policy.schema, &all_direct, &all_text);
    }
}

/// Declared defaults of inputs the generator has no column for, enum variants the policy does not
/// declare, values outside a declared range, and columns the policy does not declare: the direct
/// route gives what the reader gives, word for word.
#[test]
fn defaults_and_errors_are_the_reader_s() {
    let policy = policy();
    let screen = PolicyScreen::new(&policy, Month::parse("2022-01").unwrap()).unwrap();
    let g = Generator::new(&spec(1500), 3, &screen);
    let part = g.households(0, 400);
    let check = |schema: &Schema, converts: bool| {
        let reader = DirectReader::new(schema, &g);
        assert_eq!(reader.direct(&g, &part).is_some(), converts);
        let (direct, text) = (reader.read(&g, &part), reader.read_text(&g, &part));
        assert_eq!(direct, text);
        direct
    };

    let mut with_default = policy.schema.clone();
    with_default
        .household
        .push(Field::new("extra_count", FieldType::Int).with_default(Value::Int(7)));
    let hs = check(&with_default, true).unwrap();
    let slot = with_default.household_index("extra_count").unwrap();
    assert!(hs.iter().all(|h| h.fields[slot] == Value::Int(7)));

    let mut fewer_variants = policy.schema.clone();
    let i = fewer_variants.person_index("illness").unwrap();
    let FieldType::Enum { variants, .. } = &mut fewer_variants.person[i].ty else {
        panic!("illness is an enum")
    };
    variants.retain(|v| v != "chronic");
    let e = check(&fewer_variants, false).unwrap_err().to_string();
    assert!(e.contains("generated persons.csv:"), "{e}");

    let mut narrow = policy.schema.clone();
    let i = narrow.person_index("age").unwrap();
    narrow.person[i].range = Some(doudi_dsl::ir::ValueRange {
        lo: Some(0.into()),
        hi: Some(60.into()),
        text: "0..=60".into(),
    });
    let e = check(&narrow, false).unwrap_err().to_string();
    assert!(e.contains("outside the declared range `0..=60`"), "{e}");

    let mut missing = policy.schema.clone();
    missing.household.retain(|f| f.name != "vehicles");
    let e = check(&missing, false).unwrap_err().to_string();
    assert!(e.contains("generated households.csv:1"), "{e}");
}

/// A scenario on a generated population (with an oversampled stratum and a reform), prepared by
/// both routes: the same population and reports identical byte for byte.
#[test]
fn a_scenario_reports_the_same_by_both_routes() {
    let text = format!(
        "[scenario]\nname = \"t\"\npolicy = \"{}\"\nstart = \"2024-01\"\nmonths = 6\nruns = 2\nseed = 3\n\
         [population]\nspec = \"{}\"\nhouseholds = 700\nseed = 5\n\
         [calibration]\nburn_in_months = 2\n\
         [reform]\nname = \"+50\"\nparameters = {{ \"dibao_standard.rural\" = {{ add = \"50\" }} }}\n",
        root().join("policies/jian").display().to_string().replace('\\', "/"),
        root()
            .join("scenarios/populations/jian.toml")
            .display()
            .to_string()
            .replace('\\', "/")
    );
    let s = Scenario::from_toml_str(&text, "test.toml", Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let direct =
        setup::prepare_via(s.clone(), None, Route::Direct).unwrap_or_else(|e| panic!("{e}"));
    let csv = setup::prepare_via(s, None, Route::Csv).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (&direct.sim.population, &csv.sim.population);
    assert_eq!(a.len(), b.len());
    for i in 0..a.len() {
        assert_eq!(a.packed(i), b.packed(i));
        assert_eq!(a.ids(i), b.ids(i));
    }
    assert_eq!(direct.population.notes, csv.population.notes);
    let dir = tempfile::tempdir().unwrap();
    let (da, db) = (dir.path().join("direct"), dir.path().join("csv"));
    let oa = montecarlo::simulate(&direct, &|| {}).unwrap();
    let ob = montecarlo::simulate(&csv, &|| {}).unwrap();
    let files = report::write(&direct, &oa, &da).unwrap().files;
    report::write(&csv, &ob, &db).unwrap();
    assert!(files.len() > 10);
    for f in files {
        assert!(
            std::fs::read(da.join(&f)).unwrap() == std::fs::read(db.join(&f)).unwrap(),
            "{f} differs"
        );
    }
}
