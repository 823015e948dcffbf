//! Differential test of the compiled path (`fast::CompiledPolicy`) against the reference evaluator
//! (`HouseholdEval`): the same seeded random households, every household output compared exactly
//! (value and kind), every error compared exactly (message, span, definition, household, member,
//! help, secondary spans), on the shipped policies and on fixtures whose rules fail on some
//! households (division by zero, `min` over nobody, a `unique` table with no matching row,
//! conflicting exceptions, integer overflow, an extern that loops forever).
//!
//! Households come from `testgen` in two profiles: realistic, and adversarial (boundary values: zero,
//! a cent, negative amounts, 28 decimal places, amounts beyond exact arithmetic, i64 extremes, no
//! members, many members), plus households adjusted to sit exactly on the Ji'an boundaries
//! (per-capita income equal to the standard, assets equal to the limit, deductions equal to half the
//! income). Months before, at and between parameter changes.
//!
//! `DOUDI_DIFF_N` sets the households per profile (default 1500; the release-mode run recorded in
//! BENCHMARKS.md used 200000).

// A test compares many results side by side: its error types and indexed loops are the reference's.
#![allow(
    clippy::result_large_err,
    clippy::needless_range_loop,
    clippy::type_complexity
)]

use doudi_dsl::ast::EntityKind;
use doudi_interpreter::data::{FieldType, Household};
use doudi_interpreter::fast::CompiledPolicy;
use doudi_interpreter::num::Num;
use doudi_interpreter::programme::Totals;
use doudi_interpreter::testgen::{Gen, Profile};
use doudi_interpreter::{batch, EvalError, Month, Policy, Value};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn load(rel: &str) -> Policy {
    Policy::load_within(&root().join(rel), &[root()])
        .unwrap_or_else(|e| panic!("{rel}: {}", e.render()))
        .policy
}

fn n_households() -> u64 {
    std::env::var("DOUDI_DIFF_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500)
}

fn household_outputs(p: &Policy) -> Vec<u32> {
    p.program
        .defs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.entity == EntityKind::Household)
        .map(|(i, _)| i as u32)
        .collect()
}

const MONTHS: [&str; 6] = [
    "2020-12", "2021-01", "2022-06", "2022-07", "2024-01", "2025-03",
];

#[derive(Default, Debug)]
struct Stats {
    compared: u64,
    errors: u64,
    fast: u64,
}

/// Compares both evaluators on every household and month; returns what was seen.
fn compare_all(
    policy: &Policy,
    outputs: &[u32],
    households: &[Household],
    months: &[Month],
) -> Stats {
    let cp = CompiledPolicy::new(policy, outputs).expect("the policy compiles");
    let mut st = Stats::default();
    for &m in months {
        let mut session = cp.session(m);
        // Batches of many households (members side by side in the columns).
        let chunk = cp.evaluate_chunk(households, m);
        for (h, compiled) in households.iter().zip(&chunk) {
            let reference = policy.evaluate(h, m, outputs);
            if !same(&reference, compiled) {
                panic!(
                    "household {} in {m} differs (batch):\nreference: {}\ncompiled:  {}\nhousehold: {:?}",
                    h.id,
                    show(policy, outputs, &reference),
                    show(policy, outputs, compiled),
                    h
                );
            }
        }
        // A loaded population: values and lazily made rows.
        let loaded = cp.load(households);
        let slots: Vec<std::sync::Mutex<Option<Result<Vec<Value>, EvalError>>>> = households
            .iter()
            .map(|_| std::sync::Mutex::new(None))
            .collect();
        cp.for_each_loaded(&loaded, m, |i, r| {
            *slots[i].lock().unwrap() = Some(r.map(|v| v.to_vec()).map_err(|e| e.clone()))
        });
        for (h, slot) in households.iter().zip(&slots) {
            let got = slot
                .lock()
                .unwrap()
                .take()
                .expect("every household is visited");
            assert!(
                same(&policy.evaluate(h, m, outputs), &got),
                "loaded: household {} in {m} differs",
                h.id
            );
        }
        cp.for_each_row_loaded(&loaded, m, |i, r| {
            *slots[i].lock().unwrap() = Some(r.map(|row| row.values()).map_err(|e| e.clone()))
        });
        for (h, slot) in households.iter().zip(&slots) {
            let got = slot
                .lock()
                .unwrap()
                .take()
                .expect("every household is visited");
            assert!(
                same(&policy.evaluate(h, m, outputs), &got),
                "rows: household {} in {m} differs",
                h.id
            );
        }
        for h in households {
            let reference = policy.evaluate(h, m, outputs);
            let compiled = cp.evaluate(h, m);
            st.compared += 1;
            if reference.is_err() {
                st.errors += 1;
            }
            if session.is_fast(h) {
                st.fast += 1;
            }
            if !same(&reference, &compiled) {
                panic!(
                    "household {} in {m} differs:\nreference: {}\ncompiled:  {}\nhousehold: {:?}",
                    h.id,
                    show(policy, outputs, &reference),
                    show(policy, outputs, &compiled),
                    h
                );
            }
            // A session reused across households gives the same as a fresh one.
            let mut out = Vec::new();
            let r2 = session.evaluate_into(h, &mut out).map(|_| out);
            assert!(same(&reference, &r2), "session reuse differs on {}", h.id);
        }
    }
    st
}

/// Exact equality of representation: `Value`'s `==` (kind and exact value) and the same exact
/// representation ([`Value::write_repr`]: a decimal's scale included, so `125` and `125.00`
/// differ), which is what the printed forms (`{:?}`, JSON, CSV) are made from.
fn same(a: &Result<Vec<Value>, EvalError>, b: &Result<Vec<Value>, EvalError>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y && x.iter().zip(y).all(|(u, v)| repr(u) == repr(v)),
        (Err(x), Err(y)) => x == y,
        _ => false,
    }
}

/// [`same`] for every household of a chunk.
fn assert_same_all(a: &[Result<Vec<Value>, EvalError>], b: &[Result<Vec<Value>, EvalError>]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(same(x, y), "household #{i} differs:\n{x:?}\n{y:?}");
    }
}

fn repr(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    v.write_repr(&mut out);
    out
}

fn printed(v: &Value) -> String {
    match v {
        Value::Num(n) => format!("{n} {} {v:?}", n.format_fixed(2)),
        v => format!("{v:?}"),
    }
}

fn show(policy: &Policy, outputs: &[u32], r: &Result<Vec<Value>, EvalError>) -> String {
    match r {
        Ok(vs) => outputs
            .iter()
            .zip(vs)
            .map(|(&d, v)| format!("{}={}", policy.program.defs[d as usize].name, printed(v)))
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => format!("error {e:?}"),
    }
}

fn months() -> Vec<Month> {
    MONTHS.iter().map(|m| Month::parse(m).unwrap()).collect()
}

fn population(policy: &Policy, seed: u64, profile: Profile) -> Vec<Household> {
    Gen::new(&policy.schema, seed, profile).households(0, n_households())
}

/// Every variant of every enum field appears in the generated households.
fn assert_enum_coverage(policy: &Policy, hs: &[Household]) {
    for (slot, f) in policy.schema.household.iter().enumerate() {
        if let FieldType::Enum { variants, .. } = &f.ty {
            for v in 0..variants.len() {
                assert!(
                    hs.iter().any(|h| h.fields[slot] == Value::Enum(v as u16)),
                    "household {} = {} never generated",
                    f.name,
                    variants[v]
                );
            }
        }
    }
    for (slot, f) in policy.schema.person.iter().enumerate() {
        if let FieldType::Enum { variants, .. } = &f.ty {
            for v in 0..variants.len() {
                assert!(
                    hs.iter()
                        .flat_map(|h| &h.members)
                        .any(|p| p.fields[slot] == Value::Enum(v as u16)),
                    "person {} = {} never generated",
                    f.name,
                    variants[v]
                );
            }
        }
    }
}

/// Ji'an boundary households: per-capita income exactly the standard, assets exactly the limit,
/// deductions exactly half the income (built from realistic households with the reference's values).
fn ji_an_boundaries(policy: &Policy, hs: &[Household], m: Month) -> Vec<Household> {
    let p = &policy.program;
    let out = |n: &str| p.def_by_name(EntityKind::Household, n).unwrap();
    let ids = [
        out("per_capita_income"),
        out("standard"),
        out("member_count"),
        out("rigid_deductions"),
        out("gross_income"),
    ];
    let income = policy.schema.person_index("monthly_income").unwrap();
    let counted = p.def_by_name(EntityKind::Person, "counted").unwrap();
    let assets = policy.schema.household_index("financial_assets").unwrap();
    let mut res = Vec::new();
    for (i, h) in hs.iter().enumerate() {
        let Ok(v) = policy.evaluate(h, m, &ids) else {
            continue;
        };
        let num = |x: &Value| match x {
            Value::Num(n) => n.clone(),
            Value::Int(i) => Num::from_i64(*i),
            _ => Num::ZERO,
        };
        let (y, s, n, d, g) = (num(&v[0]), num(&v[1]), num(&v[2]), num(&v[3]), num(&v[4]));
        if n == Num::ZERO {
            continue;
        }
        let first_counted = (0..h.members.len()).find(|&k| {
            let mut ev = doudi_interpreter::HouseholdEval::new(policy, h, m);
            ev.def(counted, doudi_interpreter::Scope::Person(k))
                .map(|v| v.as_bool())
                .unwrap_or(false)
        });
        let Some(k) = first_counted else { continue };
        let mut t = h.clone();
        match i % 3 {
            0 => {
                // y == S: raise the first counted member's income by (S - y) * n.
                let Ok(delta) = s.checked_sub(&y).and_then(|x| x.checked_mul(&n)) else {
                    continue;
                };
                let Value::Num(cur) = &t.members[k].fields[income] else {
                    continue;
                };
                let Ok(new) = cur.checked_add(&delta) else {
                    continue;
                };
                if !matches!(new, Num::Dec(_)) {
                    continue;
                }
                t.members[k].fields[income] = Value::Num(new);
            }
            1 => {
                // assets == S * 24 * n
                let Ok(limit) = s
                    .checked_mul(&Num::from_i64(24))
                    .and_then(|x| x.checked_mul(&n))
                else {
                    continue;
                };
                t.fields[assets] = Value::Num(limit);
            }
            _ => {
                // D == 50% of G: set the first counted member's income so that G = 2 D.
                let Value::Num(cur) = &t.members[k].fields[income] else {
                    continue;
                };
                let Ok(new) = d
                    .checked_mul(&Num::from_i64(2))
                    .and_then(|x| x.checked_sub(&g))
                    .and_then(|x| x.checked_add(cur))
                else {
                    continue;
                };
                if !matches!(new, Num::Dec(_)) {
                    continue;
                }
                t.members[k].fields[income] = Value::Num(new);
            }
        }
        t.id = format!("{}-tie", h.id);
        res.push(t);
    }
    res
}

/// The households with `previous` set to their states after `month` (households whose states
/// cannot be computed keep no history).
fn with_history(policy: &Policy, hs: &[Household], month: Month) -> Vec<Household> {
    hs.iter()
        .map(|h| {
            let mut h = h.clone();
            h.previous = policy.states_after(&h, month).ok();
            h
        })
        .collect()
}

fn run_policy(rel: &str, expect_errors: bool) {
    let policy = load(rel);
    let outputs = household_outputs(&policy);
    let realistic = population(&policy, 11, Profile::Realistic);
    let adversarial = population(&policy, 12, Profile::Adversarial);
    assert_enum_coverage(&policy, &realistic);
    assert_enum_coverage(&policy, &adversarial);
    let ms = months();
    let r = compare_all(&policy, &outputs, &realistic, &ms);
    let a = compare_all(&policy, &outputs, &adversarial, &ms);
    eprintln!("{rel}: realistic {r:?}, adversarial {a:?}");
    if !policy.program.states.is_empty() {
        // Realistic histories: each household's states after the month before each compared
        // month, computed by the reference, then both evaluators on the month itself.
        for &m in &ms {
            let carried = with_history(&policy, &realistic, m.plus(-1));
            let h = compare_all(&policy, &outputs, &carried, &[m]);
            assert!(
                expect_errors || h.fast * 10 >= h.compared * 8,
                "{rel}: only {} of {} households with a history were compiled in {m}",
                h.fast,
                h.compared
            );
        }
    }
    // The comparison means something: most realistic households take the compiled path, and the
    // adversarial ones include errors.
    if !expect_errors {
        assert!(
            r.fast * 10 >= r.compared * 8,
            "{rel}: only {} of {} realistic evaluations were compiled",
            r.fast,
            r.compared
        );
    }
    // Both sides of the comparison are exercised: households the compiled path takes by itself, and
    // households it hands to the reference.
    assert!(
        r.fast + a.fast > 0,
        "{rel}: the compiled path took no household"
    );
    assert!(
        a.errors > 0,
        "{rel}: the adversarial households produced no error"
    );
}

#[test]
fn fast_matches_reference_jian() {
    run_policy("policies/jian", false);
}

/// The compiled path handles every realistic Ji'an household by itself: poison in untaken branches
/// (the division by a member count of zero under `if member_count == 0`), in filtered-out members
/// and after an `any` has found its member does not make it defer to the reference.
#[test]
fn realistic_households_never_defer() {
    let policy = load("policies/jian");
    let outputs = household_outputs(&policy);
    let cp = CompiledPolicy::new(&policy, &outputs).unwrap();
    let m = Month::parse("2024-01").unwrap();
    let hs = population(&policy, 41, Profile::Realistic);
    let mut s = cp.session(m);
    let counted = policy
        .program
        .def_by_name(EntityKind::Household, "member_count")
        .unwrap();
    let nobody = hs
        .iter()
        .filter(|h| policy.evaluate(h, m, &[counted]).unwrap()[0] == Value::Int(0))
        .count();
    assert!(nobody > 0, "some households have no counted member");
    for h in &hs {
        assert!(s.is_fast(h), "household {} deferred to the reference", h.id);
    }
}

#[test]
fn fast_matches_reference_jiangxi_and_yongfeng() {
    run_policy("policies/jiangxi", false);
    run_policy("policies/jian-yongfeng", false);
}

/// Exceptions on person definitions (the credit tiers stop the care allowance and centralised care).
#[test]
fn fast_matches_reference_credit_tiers() {
    run_policy("policies/jian-credit-tiers", false);
}

#[test]
fn fast_matches_reference_coverage_fixture() {
    // Errors on realistic households too (nobody employed, conflicts, no table row).
    run_policy("interpreter/tests/data/fast", true);
}

#[test]
fn fast_matches_reference_fixtures() {
    for rel in ["tests/fixtures/tables", "tests/fixtures/conflict"] {
        run_policy(rel, false);
    }
}

#[test]
fn fast_matches_reference_extern() {
    // `gap_index` calls a script with decimals (deferred to the reference); `spin_result` is stopped
    // by the sandbox: an error both ways.
    let policy = load("tests/fixtures/extern");
    let outputs = household_outputs(&policy);
    let hs = Gen::new(&policy.schema, 5, Profile::Realistic).households(0, 50);
    let st = compare_all(&policy, &outputs, &hs, &[Month::parse("2024-01").unwrap()]);
    assert_eq!(
        st.errors, st.compared,
        "every household reaches the looping script"
    );
    let gap = policy.output("gap_index").unwrap();
    let st = compare_all(&policy, &[gap], &hs, &[Month::parse("2024-01").unwrap()]);
    assert_eq!(st.errors, 0);
}

#[test]
fn fast_matches_reference_on_boundaries() {
    let policy = load("policies/jian");
    let outputs = household_outputs(&policy);
    let m = Month::parse("2024-01").unwrap();
    let base = population(&policy, 13, Profile::Realistic);
    let ties = ji_an_boundaries(&policy, &base, m);
    assert!(
        ties.len() > base.len() / 2,
        "enough boundary households: {}",
        ties.len()
    );
    // Some of them really sit on the line.
    let y = policy.output("per_capita_income").unwrap();
    let s = policy.output("standard").unwrap();
    let on_line = ties
        .iter()
        .filter(|h| matches!(policy.evaluate(h, m, &[y, s]), Ok(v) if v[0] == v[1]))
        .count();
    assert!(
        on_line > 50,
        "households with per-capita income exactly the standard: {on_line}"
    );
    let st = compare_all(&policy, &outputs, &ties, &[m]);
    eprintln!("boundaries: {st:?}");
}

#[test]
fn chunks_totals_and_thread_counts_agree() {
    let policy = load("policies/jian");
    let outputs = household_outputs(&policy);
    let m = Month::parse("2024-01").unwrap();
    let mut hs = population(&policy, 21, Profile::Realistic);
    hs.extend(
        Gen::new(&policy.schema, 22, Profile::Adversarial)
            .households(0, 300)
            .into_iter()
            .filter(|h| policy.evaluate(h, m, &outputs).is_ok()),
    );
    let cp = CompiledPolicy::new(&policy, &outputs).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let three = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let seq: Vec<_> = hs.iter().map(|h| policy.evaluate(h, m, &outputs)).collect();
    let par1 = one.install(|| cp.evaluate_chunk(&hs, m));
    let par3 = three.install(|| cp.evaluate_chunk(&hs, m));
    assert_same_all(&seq, &par1);
    assert_same_all(&seq, &par3);
    // batch::evaluate_chunk (what `doudi eval` calls) is the compiled path.
    assert_same_all(&seq, &batch::evaluate_chunk(&policy, &hs, m, &outputs));
    // Totals: the reference's accumulation against the compiled one, in 1 and 3 threads.
    let mut t_ref = Totals::new(&policy, m);
    let mut rows_ref = Vec::new();
    for h in &hs {
        let mut ev = doudi_interpreter::HouseholdEval::new(&policy, h, m);
        rows_ref.push(
            outputs
                .iter()
                .map(|&d| ev.def(d, doudi_interpreter::Scope::Household))
                .collect::<Result<Vec<_>, _>>()
                .unwrap(),
        );
        t_ref.add(&mut ev).unwrap();
    }
    let totals_ref = t_ref.finish().unwrap();
    for pool in [&one, &three] {
        let mut t = Totals::new(&policy, m);
        let rows = pool.install(|| {
            let mut rows = Vec::new();
            for chunk in hs.chunks(700) {
                rows.extend(cp.evaluate_chunk_with_totals(chunk, m, &mut t).unwrap());
            }
            rows
        });
        let rows: Vec<_> = rows.into_iter().map(Ok).collect();
        let rows_ref: Vec<_> = rows_ref.iter().cloned().map(Ok).collect();
        assert_same_all(&rows_ref, &rows);
        let totals: Vec<(u32, Value)> = t.finish().unwrap();
        assert_eq!(totals.len(), totals_ref.len());
        for ((d, v), (d_ref, v_ref)) in totals.iter().zip(&totals_ref) {
            assert_eq!(d, d_ref);
            assert_eq!(repr(v), repr(v_ref), "total {d}: {v:?} against {v_ref:?}");
        }
    }
}

#[test]
fn totals_errors_agree() {
    // A policy whose households fail: the first error in input order, both ways.
    let policy = load("interpreter/tests/data/fast");
    let outputs = household_outputs(&policy);
    let m = Month::parse("2024-01").unwrap();
    let hs = population(&policy, 31, Profile::Adversarial);
    let cp = CompiledPolicy::new(&policy, &outputs).unwrap();
    let reference = || -> Result<Vec<Vec<Value>>, EvalError> {
        let mut t = Totals::new(&policy, m);
        let mut rows = Vec::new();
        for h in &hs {
            let mut ev = doudi_interpreter::HouseholdEval::new(&policy, h, m);
            rows.push(
                outputs
                    .iter()
                    .map(|&d| ev.def(d, doudi_interpreter::Scope::Household))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            t.add(&mut ev)?;
        }
        Ok(rows)
    };
    let a = reference();
    let mut t2 = Totals::new(&policy, m);
    let b = cp.evaluate_chunk_with_totals(&hs, m, &mut t2);
    assert!(a.is_err());
    assert_eq!(a, b);
    let mut t3 = Totals::new(&policy, m);
    assert_eq!(
        a,
        batch::evaluate_chunk_with_totals(&policy, &hs, m, &outputs, &mut t3)
    );
}

/// What-if evaluation with forced household definitions (the simulator's "the payment if this
/// household were eligible"), against `HouseholdEval::force`.
#[test]
fn forced_definitions_agree() {
    let policy = load("policies/jian");
    let outputs = household_outputs(&policy);
    let m = Month::parse("2024-01").unwrap();
    let eligible = policy.output("dibao_eligible").unwrap();
    let expenditure = policy.output("expenditure_poor").unwrap();
    let members = policy.output("member_count").unwrap();
    let mut hs = population(&policy, 51, Profile::Realistic);
    hs.truncate(600);
    hs.extend(Gen::new(&policy.schema, 52, Profile::Adversarial).households(0, 600));
    let cases: Vec<Vec<(u32, Value)>> = vec![
        vec![(eligible, Value::Bool(true))],
        vec![
            (eligible, Value::Bool(false)),
            (expenditure, Value::Bool(false)),
        ],
        vec![(members, Value::Int(3))],
    ];
    for forced in cases {
        let cp = CompiledPolicy::with_forced(&policy, &outputs, &forced).unwrap();
        let chunk = cp.evaluate_chunk(&hs, m);
        for (h, got) in hs.iter().zip(&chunk) {
            let mut ev = doudi_interpreter::HouseholdEval::new(&policy, h, m);
            for (d, v) in &forced {
                ev.force(*d, doudi_interpreter::Scope::Household, v.clone());
            }
            let reference: Result<Vec<Value>, EvalError> = outputs
                .iter()
                .map(|&d| ev.def(d, doudi_interpreter::Scope::Household))
                .collect();
            assert!(
                same(&reference, got),
                "forced {forced:?}: household {} differs:\n{}\n{}",
                h.id,
                show(&policy, &outputs, &reference),
                show(&policy, &outputs, got)
            );
        }
    }
}
