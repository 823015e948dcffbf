//! A scenario run in household blocks (`doudi_simulator::blocks`): the plan, workers that each prepare
//! the scenario on their own as separate processes would, messages that cross as JSON, and an outcome
//! and reports equal to the single-machine run's.

use doudi_simulator::blocks::{
    self, messages, plan, through_json, BlockMonths, Driver, Measured, RunSpec, Worker,
};
use doudi_simulator::scenario::Scenario;
use doudi_simulator::{montecarlo, report, run::CHUNK, setup};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario() -> Scenario {
    Scenario::load(root().join("tests/data/simulate/blocks.toml")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn plan_cuts_whole_chunks_in_household_order() {
    for households in [0, 1, 255, 256, 257, 1624, 10_000] {
        for n in [1, 2, 3, 4, 7] {
            let p = plan(households, n).unwrap();
            assert_eq!(p.blocks.len(), n);
            assert_eq!(p.blocks[0].0, 0);
            assert_eq!(p.blocks[n - 1].1, households);
            for w in p.blocks.windows(2) {
                assert_eq!(w[0].1, w[1].0, "blocks follow one another");
            }
            for &(a, b) in &p.blocks {
                assert!(a <= b && a % CHUNK == 0, "{households} in {n}: {a}..{b}");
            }
        }
    }
    // 1,624 households are 7 chunks: 4 blocks of 1, 2, 2 and 2 chunks.
    assert_eq!(
        plan(1624, 4).unwrap().blocks,
        vec![(0, 256), (256, 768), (768, 1280), (1280, 1624)]
    );
    assert!(plan(10, 0).is_err());
    assert!(plan(10, blocks::MAX_BLOCKS + 1).is_err());
}

#[test]
fn exact_numbers_cross_as_text_with_their_representation() {
    use doudi_interpreter::Num;
    for s in [
        "750.00",
        "0",
        "0.00",
        "-12.5",
        "155999/300",
        "-1/3",
        "79228162514264337593543950335",
    ] {
        let n = messages::num_of_text(s).unwrap();
        assert_eq!(messages::num_text(&n), s);
    }
    let n = Num::parse("1559.99/3").unwrap();
    let back = messages::num_of_text(&messages::num_text(&n)).unwrap();
    assert_eq!(back, n);
    for bad in ["", "x", "1/1", "1/0", "1/-3", "1e3", "1/2/3"] {
        assert!(messages::num_of_text(bad).is_err(), "{bad}");
    }
}

/// Workers built separately (as other processes would: the scenario file and the driver's set-up
/// message), each holding only its block's households, the driver holding none, every message
/// through JSON: the outcome equals `montecarlo::simulate` on one preparation, and so do the
/// report's bytes.
#[test]
fn workers_prepared_apart_give_the_single_machine_outcome_and_report() {
    let whole = setup::prepare(scenario(), None).unwrap_or_else(|e| panic!("{e}"));
    let single = montecarlo::simulate(&whole, &|| {}).unwrap();
    assert!(!whole.sim.targets.is_empty() && whole.sim.runs > 1);
    assert!(whole.sim.certain.iter().any(|&c| c), "take-all households");
    let n = 3;
    let mut driver = Driver::open(scenario(), n).unwrap();
    assert_eq!(driver.plan().households, whole.sim.population.len());
    let setups: Vec<messages::BlockSetup> = (0..n)
        .map(|b| through_json(&driver.block_setup(b).unwrap()).unwrap())
        .collect();
    // The extra households of the oversampled strata are in the last block only (they follow the
    // main sample of 700 households).
    assert!(setups[0].extra.is_empty() && !setups[n - 1].extra.is_empty());
    let mut workers: Vec<Worker> = setups
        .iter()
        .map(|m| Worker::open(scenario(), m).unwrap())
        .collect();
    // Each worker holds its block's households, no more: memory is divided.
    for (w, &(a, b)) in workers.iter().zip(&driver.plan().blocks) {
        assert_eq!(w.households(), b - a);
        assert!(w.households() < whole.sim.population.len());
    }
    let census = workers
        .iter()
        .rev()
        .map(|w| through_json(w.census()).unwrap())
        .collect();
    assert!(driver.spec(0).is_err(), "the census comes first");
    let settle = through_json(&driver.census(census).unwrap()).unwrap();
    assert_eq!(settle.regions, whole.sim.regions);
    assert_eq!(settle.take_up, whole.sim.take_up.to_string());
    assert_eq!(
        driver.prepared().unwrap().sim.population.len(),
        0,
        "the driver holds no household"
    );
    for w in workers.iter_mut() {
        w.settle(&settle).unwrap();
        let p = w.prepared().unwrap();
        assert_eq!(
            p.sim.employed_share.to_bits(),
            whole.sim.employed_share.to_bits()
        );
        let held = p.sim.held();
        assert_eq!(
            &whole.sim.design_weights[held.clone()],
            &p.sim.design_weights[..]
        );
        assert_eq!(&whole.sim.certain[held.clone()], &p.sim.certain[..]);
        assert_eq!(&whole.sim.region_of[held.clone()], &p.sim.region_of[..]);
        assert_eq!(
            &whole.sim.initial_eligible[held],
            &p.sim.initial_eligible[..]
        );
    }
    assert!(workers[0].settle(&settle).is_err(), "settled twice");
    assert!(driver.spec(0).is_err(), "the fit comes first");
    let fit = driver
        .fit(&mut |_, _| panic!("this scenario fits nothing"))
        .unwrap();
    assert_eq!(fit, Default::default());
    // Runs in reverse order and blocks' messages in any order: the driver orders them.
    for run in (0..whole.sim.runs).rev() {
        let spec = through_json(&driver.spec(run).unwrap()).unwrap();
        let mut measured: Vec<Measured> = workers
            .iter_mut()
            .map(|w| through_json(&w.measure(&spec).unwrap()).unwrap())
            .collect();
        measured.reverse();
        let weights = driver.rake(measured).unwrap();
        assert_eq!(weights.len(), n);
        let parts: Vec<BlockMonths> = workers
            .iter_mut()
            .zip(&weights)
            .map(|(w, x)| {
                let x = through_json(x).unwrap();
                through_json(&w.months(Some(&x), &|| {}).unwrap()).unwrap()
            })
            .collect();
        if run == 0 {
            let households = whole.sim.population.len();
            let (m, w, b) = (
                json_len(&workers[1].measure(&spec).unwrap()),
                json_len(&weights[1]),
                json_len(&parts[1]),
            );
            let block = driver.plan().blocks[1];
            let per = |x: usize| x / (block.1 - block.0);
            eprintln!(
                "{households} households in {n} blocks; block 1 ({} households): measured {m} B ({} B a household), weights {w} B, months {b} B ({} B a household)",
                block.1 - block.0,
                per(m),
                per(b)
            );
            assert!(
                per(m) < 200 && per(w) < 30,
                "the messages grow with the households only"
            );
        }
        driver.merge(parts).unwrap();
    }
    let (outcome, prepared) = driver.finish().unwrap();
    assert!(outcome == single, "the outcomes differ");
    let dir = tempfile::tempdir().unwrap();
    let files = report::write(&whole, &single, &dir.path().join("a"))
        .unwrap()
        .files;
    report::write(&prepared, &outcome, &dir.path().join("b")).unwrap();
    assert!(files.len() > 10);
    for f in files {
        assert!(
            std::fs::read(dir.path().join("a").join(&f)).unwrap()
                == std::fs::read(dir.path().join("b").join(&f)).unwrap(),
            "{f} differs"
        );
    }
    // And in one process with more blocks than chunks (empty blocks).
    let (many, _) = blocks::simulate_in_blocks(scenario(), 9, &|| {}).unwrap();
    assert!(many == single, "9 blocks differ");
}

/// The take-up fitted to a caseload trend by the driver, its trial runs simulated in blocks: the
/// same take-up, note and outcome as the fit of one machine.
#[test]
fn the_take_up_fitted_in_blocks_is_the_single_machine_fit() {
    let text = std::fs::read_to_string(root().join("tests/data/simulate/blocks.toml"))
        .unwrap()
        .replace("months = 4\nruns = 3", "months = 24\nruns = 1")
        .replace(
            "[uncertainty]",
            "[[targets]]\nname = \"trend\"\nmeasure = \"caseload_trend\"\nvalue = -2.5\nassumption = \"test\"\n\n[uncertainty]",
        );
    let s = Scenario::from_toml_str(&text, "fit.toml", &root().join("tests/data/simulate"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.scenario.months, 24);
    let whole = setup::prepare(s.clone(), None).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        whole
            .sim
            .notes
            .iter()
            .any(|n| n.contains("fitted to the caseload trend")),
        "{:?}",
        whole.sim.notes
    );
    let single = montecarlo::simulate(&whole, &|| {}).unwrap();
    let (outcome, prepared) = blocks::simulate_in_blocks(s, 2, &|| {}).unwrap();
    assert_eq!(prepared.sim.take_up.to_bits(), whole.sim.take_up.to_bits());
    assert_eq!(prepared.sim.notes, whole.sim.notes);
    assert!(outcome == single, "the outcomes differ");
}

/// The single-machine outcome and population notes of a scenario given as text, and those of a run
/// in `n` blocks.
fn same_in_blocks(text: &str, n: usize) -> setup::Prepared {
    let s = Scenario::from_toml_str(text, "t.toml", &root().join("tests/data/simulate"))
        .unwrap_or_else(|e| panic!("{e}"));
    let whole = setup::prepare(s.clone(), None).unwrap_or_else(|e| panic!("{e}"));
    let single = montecarlo::simulate(&whole, &|| {}).unwrap();
    let (outcome, prepared) = blocks::simulate_in_blocks(s, n, &|| {}).unwrap();
    assert!(outcome == single, "the outcomes differ");
    let (a, b) = (&whole.population, &prepared.population);
    assert_eq!(
        (
            &a.source,
            a.households,
            a.persons,
            a.weight,
            a.reference_population,
            &a.notes
        ),
        (
            &b.source,
            b.households,
            b.persons,
            b.weight,
            b.reference_population,
            &b.notes
        )
    );
    assert_eq!(whole.warnings, prepared.warnings);
    assert_eq!(whole.sim.regions, prepared.sim.regions);
    whole
}

/// A weight from the spec's reference population (the main sample's persons, which the driver
/// sums from the households' sizes), a population kept as files for the report, and a population
/// read from files (each worker reads them and keeps its block): the single-machine outcome and
/// notes.
#[test]
fn other_populations_in_blocks_are_the_single_machine_runs() {
    let text = std::fs::read_to_string(root().join("tests/data/simulate/blocks.toml")).unwrap();
    let spec =
        std::fs::read_to_string(root().join("tests/data/simulate/blocks-population.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Without its strata (a take-all stratum at a weight of thousands would scan millions).
    let plain = dir.path().join("plain.toml");
    std::fs::write(&plain, &spec[..spec.find("[[oversample]]").unwrap()]).unwrap();
    let auto = text
        .replace("weight = 3\n", "")
        .replace("blocks-population.toml", &plain.display().to_string());
    let whole = same_in_blocks(&auto, 3);
    assert!(whole.population.weight > 100, "{}", whole.population.weight);

    let kept = format!("{text}\n[report]\nkeep_population = true\n");
    let whole = same_in_blocks(&kept, 2);
    assert!(whole.population_dir.is_some() && !whole.warnings.is_empty());

    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    for f in ["households.csv", "persons.csv"] {
        std::fs::copy(
            whole.population_dir.as_ref().unwrap().path().join(f),
            files.join(f),
        )
        .unwrap();
    }
    let population = format!("[population]\ndata = \"{}\"\nweight = 3\n", files.display());
    let start = text.find("[population]").unwrap();
    let end = text.find("[dynamics]").unwrap();
    let data = format!("{}{population}\n{}", &text[..start], &text[end..]);
    same_in_blocks(&data, 3);
}

/// A sweep (one variant per value, no region breakdown) in blocks: the single-machine outcome.
#[test]
fn a_sweep_in_blocks_is_the_single_machine_sweep() {
    let text = std::fs::read_to_string(root().join("tests/data/simulate/blocks.toml")).unwrap();
    let text = format!(
        "{}[sweep]\nparameter = \"dibao_standard.urban\"\nvalues = [\"700\", \"900\"]\n",
        &text[..text.find("[reform]").unwrap()]
    );
    let s = Scenario::from_toml_str(&text, "sweep.toml", &root().join("tests/data/simulate"))
        .unwrap_or_else(|e| panic!("{e}"));
    let whole = setup::prepare(s.clone(), None).unwrap_or_else(|e| panic!("{e}"));
    assert!(whole.sweep.is_some() && whole.sim.variants.len() == 2);
    let single = montecarlo::simulate(&whole, &|| {}).unwrap();
    let (outcome, _) = blocks::simulate_in_blocks(s, 4, &|| {}).unwrap();
    assert!(outcome.sweep.is_some());
    assert!(outcome == single, "the outcomes differ");
}

/// Messages of another run, a missing block, weights not given, a worker not settled: refused, not
/// merged.
#[test]
fn out_of_protocol_messages_are_refused() {
    let mut driver = Driver::open(scenario(), 2).unwrap();
    assert!(driver.block_setup(2).is_err());
    assert!(
        driver.fit(&mut |_, _| Err("no run".into())).is_err(),
        "fit before the census"
    );
    let setups: Vec<_> = (0..2).map(|b| driver.block_setup(b).unwrap()).collect();
    let open = |b: usize| Worker::open(scenario(), &setups[b]).unwrap();
    let mut w0 = open(0);
    let mut w1 = open(1);
    assert!(
        w0.measure(&RunSpec::new(0, 0.5, false)).is_err(),
        "not settled"
    );
    let mut wrong = setups[1].clone();
    wrong.extra.pop();
    assert!(
        Worker::open(scenario(), &wrong).is_err(),
        "a block's extra households missing"
    );
    let mut wrong = setups[1].clone();
    wrong.extra[0].1 = 99;
    assert!(
        Worker::open(scenario(), &wrong).is_err(),
        "a stratum that does not exist"
    );
    let mut wrong = setups[1].clone();
    wrong.plan.blocks[1].1 = wrong.plan.households + 1;
    assert!(
        Worker::open(scenario(), &wrong).is_err(),
        "households beyond the population"
    );
    assert!(
        driver.census(vec![w0.census().clone()]).is_err(),
        "a census missing"
    );
    let settle = driver
        .census(vec![w1.census().clone(), w0.census().clone()])
        .unwrap();
    assert!(driver.census(Vec::new()).is_err(), "the census twice");
    let bad = messages::Settle {
        take_up: "2".into(),
        ..settle.clone()
    };
    assert!(driver.block_setup(0).is_err(), "set up already");
    assert!(open(0).settle(&bad).is_err(), "a take-up beyond 1");
    w0.settle(&settle).unwrap();
    w1.settle(&settle).unwrap();
    driver.fit(&mut |_, _| Err("no run".into())).unwrap();
    assert!(
        driver.fit(&mut |_, _| Err("no run".into())).is_err(),
        "fitted twice"
    );
    let runs = driver.runs();
    assert!(w0.months(None, &|| {}).is_err(), "months before measure");
    let beyond = RunSpec::new(runs, 0.5, false);
    assert!(w0.measure(&beyond).is_err(), "a run beyond the scenario's");
    let bad = RunSpec {
        take_up: "2".into(),
        ..driver.spec(0).unwrap()
    };
    assert!(w0.measure(&bad).is_err(), "a take-up beyond 1");
    let m0 = w0.measure(&driver.spec(0).unwrap()).unwrap();
    let m1 = w1.measure(&driver.spec(1).unwrap()).unwrap();
    assert!(driver.rake(vec![m0.clone()]).is_err(), "a block missing");
    assert!(driver.rake(vec![m0.clone(), m1]).is_err(), "another run");
    let m1 = w1.measure(&driver.spec(0).unwrap()).unwrap();
    let weights = driver.rake(vec![m0, m1]).unwrap();
    assert!(w0.months(None, &|| {}).is_err(), "the weights are needed");
    w0.measure(&driver.spec(0).unwrap()).unwrap();
    assert!(
        w0.months(Some(&weights[1]), &|| {}).is_err(),
        "another block's weights"
    );
    assert!(driver.merge(Vec::new()).is_err());
    assert!(driver.finish().is_err(), "runs missing");
}

/// A message's size as JSON.
fn json_len<T: serde::Serialize>(m: &T) -> usize {
    serde_json::to_vec(m).unwrap().len()
}
