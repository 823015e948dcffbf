//! The Ji'an set on a population (1,000,000 households by default; `DOUDI_BENCH_HOUSEHOLDS`), all
//! POLICY-SPEC household outputs, side by side in one run on the same generated households:
//!
//! - `doudi_fast_loaded`: the compiled path on a population loaded into its input columns (data
//!   already loaded, like arrays for a vectorised engine).
//! - `doudi_fast_loaded_rows`: the same, the outputs handed out as rows that make a `Value` only for
//!   the outputs read (all outputs are computed; the benchmark reads the payment, as the others do).
//! - `doudi_fast_households`: the compiled path straight from doudi's data model (`Vec<Household>`,
//!   what the readers produce), inputs read from the `Value`s as it goes.
//! - `doudi_reference`: the tree-walking reference evaluator (`Policy::evaluate`).
//! - `handwritten_rust_decimal`: the same rules by hand in plain Rust with rust_decimal, exact
//!   (benches/common/handwritten.rs): the speed limit for exact money.
//! - `rhai_script`: the same rules as a rhai script (benches/common/jian.rhai), on the first 20,000
//!   of the same households (it is too slow for a million in a benchmark run).
//!
//! Every variant computes every output of every household, in parallel with rayon (the global pool:
//! all cores unless `RAYON_NUM_THREADS` says otherwise), and folds a checksum so that nothing is
//! optimised away. Before measuring, the benchmark checks that all of them give the same answers.
//!
//! `cargo bench --bench population`

mod common;

use common::handwritten::{self, HwParams, Layout};
use common::RhaiJian;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use doudi::interpreter::fast::CompiledPolicy;
use doudi::interpreter::{Num, Value};
use rayon::prelude::*;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// Cents of a money value (a checksum).
fn cents(v: &Value) -> i64 {
    match v {
        Value::Num(n) => n
            .checked_mul(&Num::from_i64(100))
            .ok()
            .and_then(|c| c.to_i64())
            .unwrap_or(0),
        Value::Int(i) => *i,
        _ => 0,
    }
}

fn bench(c: &mut Criterion) {
    let policy = common::jian();
    let m = common::month();
    let n = common::households();
    let t = Instant::now();
    let hs = common::population(&policy, n);
    eprintln!(
        "generated {n} households ({} persons) in {:.2?}",
        hs.iter().map(|h| h.members.len()).sum::<usize>(),
        t.elapsed()
    );
    let outs = common::household_outputs(&policy);
    let names: Vec<String> = outs
        .iter()
        .map(|&d| policy.program.defs[d as usize].name.clone())
        .collect();
    let payment = names.iter().position(|n| n == "dibao_payment").unwrap();
    let t = Instant::now();
    let cp = CompiledPolicy::new(&policy, &outs).unwrap();
    eprintln!(
        "compiled {} instructions in {:.2?}",
        cp.instructions(),
        t.elapsed()
    );
    let t = Instant::now();
    let loaded = cp.load(&hs);
    eprintln!(
        "loaded the compiled path's input columns in {:.2?} ({} MB)",
        t.elapsed(),
        loaded.column_bytes() >> 20
    );
    let layout = Layout::new(&policy.schema);
    let t = Instant::now();
    let hw: Vec<_> = hs.par_iter().map(|h| layout.load(h)).collect();
    eprintln!("loaded the hand-written structs in {:.2?}", t.elapsed());
    let params = HwParams::ji_an_2024();
    let rhai = RhaiJian::new();
    let rn = (n as usize).min(20_000);
    let t = Instant::now();
    let rh: Vec<_> = hs[..rn]
        .iter()
        .map(|h| RhaiJian::household(&policy, h))
        .collect();
    eprintln!("loaded {rn} households as rhai maps in {:.2?}", t.elapsed());

    // Same answers: the reference, the compiled path, the hand-written code and the script.
    let check = (n as usize).min(20_000);
    for (i, h) in hs[..check].iter().enumerate() {
        let reference = policy
            .evaluate(h, m, &outs)
            .expect("no error in the generated population");
        let hand = handwritten::evaluate(&hw[i], &params);
        assert_eq!(
            handwritten::as_values(&hand, &names),
            reference,
            "hand-written, household {}",
            h.id
        );
        if i < rn {
            assert_eq!(
                RhaiJian::as_hw(&rhai.evaluate(&rh[i])),
                hand,
                "rhai, household {}",
                h.id
            );
        }
    }
    let fast: Vec<_> = cp.evaluate_chunk(&hs[..check], m);
    for (h, f) in hs[..check].iter().zip(fast) {
        assert_eq!(
            f.unwrap(),
            policy.evaluate(h, m, &outs).unwrap(),
            "compiled path, household {}",
            h.id
        );
    }
    eprintln!("all four agree on the first {check} households (the script on the first {rn})");

    let mut g = c.benchmark_group("jian_population");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(n));
    g.bench_function(BenchmarkId::new("doudi_fast_loaded", n), |b| {
        b.iter(|| {
            let sum = AtomicI64::new(0);
            cp.for_each_loaded(&loaded, m, |_, r| {
                sum.fetch_add(cents(&r.expect("no error")[payment]), Ordering::Relaxed);
            });
            sum.into_inner()
        })
    });
    g.bench_function(BenchmarkId::new("doudi_fast_loaded_rows", n), |b| {
        b.iter(|| {
            let sum = AtomicI64::new(0);
            cp.for_each_row_loaded(&loaded, m, |_, r| {
                sum.fetch_add(cents(&r.expect("no error").get(payment)), Ordering::Relaxed);
            });
            sum.into_inner()
        })
    });
    // The same households with every household definition, the rules over time included (the
    // roll's states from `initially`, the 55732 deadline on the working-day calendar, monitoring,
    // fraud): what a case system evaluating the whole policy pays.
    let all = common::all_household_outputs(&policy);
    let cp_all = CompiledPolicy::new(&policy, &all).unwrap();
    let loaded_all = cp_all.load(&hs);
    g.bench_function(
        BenchmarkId::new("doudi_fast_loaded_rows_all_outputs", n),
        |b| {
            b.iter(|| {
                let sum = AtomicI64::new(0);
                cp_all.for_each_row_loaded(&loaded_all, m, |_, r| {
                    sum.fetch_add(r.expect("no error").len() as i64, Ordering::Relaxed);
                });
                sum.into_inner()
            })
        },
    );
    g.bench_function(BenchmarkId::new("doudi_fast_households", n), |b| {
        b.iter(|| {
            let sum = AtomicI64::new(0);
            cp.for_each(&hs, m, |_, r| {
                sum.fetch_add(cents(&r.expect("no error")[payment]), Ordering::Relaxed);
            });
            sum.into_inner()
        })
    });
    g.bench_function(BenchmarkId::new("handwritten_rust_decimal", n), |b| {
        b.iter(|| {
            hw.par_iter()
                .with_min_len(1024)
                .map(|h| {
                    let o = handwritten::evaluate(h, &params);
                    o.dibao_payment.mantissa() as i64
                })
                .sum::<i64>()
        })
    });
    g.bench_function(BenchmarkId::new("doudi_reference", n), |b| {
        b.iter(|| {
            hs.par_iter()
                .with_min_len(64)
                .map(|h| cents(&policy.evaluate(h, m, &outs).expect("no error")[payment]))
                .sum::<i64>()
        })
    });
    g.throughput(Throughput::Elements(rn as u64));
    g.bench_function(BenchmarkId::new("rhai_script", rn), |b| {
        b.iter(|| {
            rh.par_iter()
                .map(|h| {
                    rhai.evaluate(h)["dibao_payment"]
                        .as_decimal()
                        .map(|d| d.mantissa() as i64)
                        .unwrap_or(0)
                })
                .sum::<i64>()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // No plots: plotters needs system fonts, which CI machines may not have.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
