//! Parse and check every policy under `policies/` (load: read the files and extern scripts, parse,
//! resolve, type-check, lower to the IR, compile the scripts), as `doudi check policies` does.
//!
//! `cargo bench --bench check`

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use doudi::interpreter::testing::find_policies;
use doudi::Policy;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let found = find_policies(&common::root().join("policies"));
    assert!(!found.is_empty());
    for p in &found {
        Policy::load(p).unwrap_or_else(|e| panic!("{}", e.render()));
    }
    eprintln!("{} policies: {}", found.len(), found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    let mut g = c.benchmark_group("check");
    g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    g.bench_function("parse_and_check_policies", |b| {
        b.iter(|| {
            for p in &found {
                let _ = Policy::load(p).is_ok();
            }
        })
    });
    let jian = common::root().join("policies/jian");
    g.bench_function("parse_and_check_jian", |b| b.iter(|| Policy::load(&jian).is_ok()));
    g.finish();
}

criterion_group! {
    name = benches;
    // No plots: plotters needs system fonts, which CI machines may not have.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
