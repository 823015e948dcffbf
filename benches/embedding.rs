//! Embedding latency: one household from JSON text to all its outputs (the 16 household outputs of
//! the Ji'an set), on one thread, as a web service would answer a request: parse and read the JSON
//! against the policy's schema, evaluate, hand back the values. The policy is loaded, checked and
//! compiled once beforehand.
//!
//! - `doudi_fast`: the compiled path with a reused session (`CompiledPolicy::session`).
//! - `doudi_fast_fresh_session`: the compiled path, a new session per request.
//! - `doudi_reference`: `Policy::evaluate`.
//!
//! The household is the example with the most members of `policies/jian/examples/households.json`.
//!
//! `cargo bench --bench embedding`

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use doudi::interpreter::data::read_json_household;
use doudi::interpreter::fast::CompiledPolicy;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let policy = common::jian();
    let m = common::month();
    let outs = common::household_outputs(&policy);
    let examples: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("policies/jian/examples/households.json")).unwrap()).unwrap();
    let biggest = examples.as_array().unwrap().iter().max_by_key(|h| h["members"].as_array().map_or(0, |m| m.len())).unwrap();
    let text = serde_json::to_string(biggest).unwrap();
    let cp = CompiledPolicy::new(&policy, &outs).unwrap();
    let request = |text: &str| {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        read_json_household(&policy.schema, &v, "request").unwrap()
    };
    let h = request(&text);
    assert_eq!(cp.evaluate(&h, m).unwrap(), policy.evaluate(&h, m, &outs).unwrap());
    eprintln!("household {} with {} members, {} bytes of JSON", h.id, h.members.len(), text.len());

    let mut g = c.benchmark_group("embedding_one_household_json");
    g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    let mut session = cp.session(m);
    g.bench_function("doudi_fast", |b| {
        b.iter(|| {
            let h = request(&text);
            let mut out = Vec::with_capacity(outs.len());
            session.evaluate_into(&h, &mut out).unwrap();
            out
        })
    });
    g.bench_function("doudi_fast_fresh_session", |b| b.iter(|| cp.evaluate(&request(&text), m).unwrap()));
    g.bench_function("doudi_reference", |b| b.iter(|| policy.evaluate(&request(&text), m, &outs).unwrap()));
    g.bench_function("json_parse_only", |b| b.iter(|| request(&text)));
    g.finish();
}

criterion_group! {
    name = benches;
    // No plots: plotters needs system fonts, which CI machines may not have.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
