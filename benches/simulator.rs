//! The simulator on the Ji'an baseline scenario (`scenarios/jian-baseline.toml`: policies/jian, the
//! synthetic Ji'an population of `scenarios/populations/jian.toml`, default dynamics):
//!
//! - `one_month_1m_households`: one simulated month (dynamics, applications, reviews, payments,
//!   programme totals) of one Monte Carlo run on 1,000,000 generated households
//!   (`DOUDI_BENCH_SIM_HOUSEHOLDS`); the population is generated once, before measuring.
//! - `jian_baseline_one_run`: one Monte Carlo run of the scenario as written (10,000 households
//!   and the oversampled groups, a 24-month burn-in, raking, 36 months; the take-up fit is part of
//!   the set-up, not measured). The scenario's 20 runs take 20 times that, spread over the cores; BENCHMARKS.md
//!   also records `doudi simulate scenarios/jian-baseline.toml` end to end.
//! - `city_scale/threads=1` and `city_scale/threads=2`: one run of `scenarios/jian-city-scale.toml`
//!   (1,520,000 households, 24 months) in a rayon pool of one and of two threads (the population is
//!   generated once, before measuring). Ten samples of half a minute each: select with
//!   `cargo bench --bench simulator -- city`.
//!
//! `cargo bench --bench simulator`

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use doudi::simulator::scenario::Scenario;
use doudi::simulator::setup::prepare;
use std::time::{Duration, Instant};

fn bench(c: &mut Criterion) {
    let path = common::root().join("scenarios/jian-baseline.toml");
    let n: u64 = std::env::var("DOUDI_BENCH_SIM_HOUSEHOLDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);

    let mut one_month = Scenario::load(&path).expect("the scenario loads");
    one_month.scenario.months = 1;
    one_month.scenario.runs = 1;
    one_month.population.households = Some(n);
    // One month as such: no burn-in before it, no calibration (measured separately below).
    one_month.calibration.burn_in_months = 0;
    one_month.targets.clear();
    let t = Instant::now();
    let big = prepare(one_month, None).expect("the scenario prepares");
    eprintln!(
        "prepared a population of {} households in {:.2?}",
        big.sim.population.len(),
        t.elapsed()
    );

    let mut baseline = Scenario::load(&path).expect("the scenario loads");
    baseline.scenario.runs = 1;
    let t = Instant::now();
    let small = prepare(baseline, None).expect("the scenario prepares");
    eprintln!(
        "prepared the baseline ({} households, {} months) in {:.2?}",
        small.sim.population.len(),
        small.scenario.scenario.months,
        t.elapsed()
    );

    let t = Instant::now();
    let city = prepare(
        Scenario::load(common::root().join("scenarios/jian-city-scale.toml"))
            .expect("the scenario loads"),
        None,
    )
    .expect("the scenario prepares");
    eprintln!(
        "prepared the city ({} households, {} months) in {:.2?}",
        city.sim.population.len(),
        city.scenario.scenario.months,
        t.elapsed()
    );

    let mut g = c.benchmark_group("simulator");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("one_month_1m_households", |b| {
        b.iter(|| big.sim.run(0, &|| {}).expect("the run succeeds"))
    });
    g.bench_function("jian_baseline_one_run", |b| {
        b.iter(|| small.sim.run(0, &|| {}).expect("the run succeeds"))
    });
    g.finish();

    let mut g = c.benchmark_group("city_scale");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(60));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        g.bench_function(format!("threads={threads}"), |b| {
            b.iter(|| pool.install(|| city.sim.run(0, &|| {}).expect("the run succeeds")))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // No plots: plotters needs system fonts, which CI machines may not have.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
