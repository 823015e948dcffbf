//! Runs the reference evaluator and the compiled path on a policy and households and reports the first difference.
//!
//! Every household output is compared exactly (the value, its kind and its printed form), every
//! error exactly (message, span, definition, household, member, help), through five routes of the
//! compiled path (parallel batches, one reused session, a loaded population's values and rows,
//! batches with programme totals), and the programme totals themselves.

use crate::data::{household_to_json, value_to_json, Household, Schema};
use crate::eval::{EvalError, HouseholdEval, Month, Scope};
use crate::fast::CompiledPolicy;
use crate::policy::Policy;
use crate::programme::Totals;
use crate::testgen::{Gen, Profile, Rng};
use crate::value::Value;
use doudi_dsl::ast::EntityKind;
use doudi_dsl::ir::DefId;

/// What a run compared.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Policies generated, checked and compared.
    pub policies: u64,
    /// Policies the compiled path refused (`CompileError`): only the reference ran.
    pub uncompiled: u64,
    /// Households generated (each evaluated in several months).
    pub households: u64,
    /// Household-months evaluated by both sides.
    pub evaluations: u64,
    /// Output values compared (an evaluation that fails counts one, its error).
    pub values: u64,
    /// Evaluations that ended in an error (compared as errors).
    pub errors: u64,
    /// Evaluations the compiled path computed by itself (not handed to the reference).
    pub fast: u64,
    /// Programme totals compared.
    pub totals: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.policies += o.policies;
        self.uncompiled += o.uncompiled;
        self.households += o.households;
        self.evaluations += o.evaluations;
        self.values += o.values;
        self.errors += o.errors;
        self.fast += o.fast;
        self.totals += o.totals;
    }
}

/// A difference between the two evaluators (or a generated policy that does not check).
#[derive(Debug, Clone)]
pub struct Disagreement {
    pub seed: u64,
    pub policy: String,
    /// The household as JSON (with its `previous`), `""` when the policy did not load.
    pub household: String,
    pub month: String,
    /// Which comparison: `batch`, `session`, `loaded`, `loaded rows`, `totals`, `totals rows`, or
    /// `check`.
    pub route: String,
    pub reference: String,
    pub compiled: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {} ({}), month {}:\nreference: {}\ncompiled:  {}\nhousehold: {}\npolicy:\n{}",
            self.seed,
            self.route,
            self.month,
            self.reference,
            self.compiled,
            self.household,
            self.policy
        )
    }
}

/// The months a run may evaluate: before, at and between the generated parameters' dates.
pub const MONTHS: [&str; 6] = [
    "2019-12", "2020-01", "2023-06", "2023-07", "2024-01", "2025-03",
];

/// Generates policy `seed`, its households (`n` per profile) and compares both evaluators.
pub fn check_seed(seed: u64, n: u64) -> Result<Stats, Box<Disagreement>> {
    let text = super::generate(seed).text();
    let policy = load(seed, &text)?;
    let mut r = Rng::stream(seed, 0x3071);
    // The month before every parameter's first date (an error for every household that needs a
    // dated parameter) now and then; the others at and between the dates.
    let months: Vec<Month> = (0..3)
        .map(|_| Month::parse(MONTHS[r.weighted(&[4, 20, 20, 20, 20, 20])]).unwrap())
        .collect();
    let mut hs = Gen::new(&policy.schema, seed, Profile::Realistic).households(0, n);
    hs.extend(Gen::new(&policy.schema, seed ^ 1, Profile::Adversarial).households(n, n));
    let mut st = compare(seed, &text, &policy, &hs, &months)?;
    st.households = hs.len() as u64;
    if !policy.program.states.is_empty() {
        // Realistic histories: the states after the month before, as the reference computes them.
        for &m in &months {
            let carried: Vec<Household> = hs[..n as usize]
                .iter()
                .map(|h| {
                    let mut h = h.clone();
                    h.previous = policy.states_after(&h, m.plus(-1)).ok();
                    h
                })
                .collect();
            st.add(&Stats {
                policies: 0,
                ..compare(seed, &text, &policy, &carried, &[m])?
            });
        }
    }
    Ok(st)
}

/// Parses and checks a policy's text; a failure is reported as a disagreement of route `check`.
pub fn load(seed: u64, text: &str) -> Result<Policy, Box<Disagreement>> {
    Policy::from_source("generated.doudi", text)
        .map(|l| l.policy)
        .map_err(|e| {
            Box::new(Disagreement {
                seed,
                policy: text.to_string(),
                household: String::new(),
                month: String::new(),
                route: "check".into(),
                reference: e.render(),
                compiled: String::new(),
            })
        })
}

/// Every household definition of the policy, in declaration order.
pub fn household_outputs(p: &Policy) -> Vec<DefId> {
    (0..p.program.defs.len() as DefId)
        .filter(|&d| p.program.defs[d as usize].entity == EntityKind::Household)
        .collect()
}

/// Compares both evaluators on every household and month.
pub fn compare(
    seed: u64,
    text: &str,
    policy: &Policy,
    hs: &[Household],
    months: &[Month],
) -> Result<Stats, Box<Disagreement>> {
    let outputs = household_outputs(policy);
    let mut st = Stats {
        policies: 1,
        ..Stats::default()
    };
    let Ok(cp) = CompiledPolicy::new(policy, &outputs) else {
        st.uncompiled = 1;
        return Ok(st);
    };
    let differ = |h: Option<&Household>, m: Month, route: &str, a: String, b: String| {
        Box::new(Disagreement {
            seed,
            policy: text.to_string(),
            household: h.map(|h| to_json(&policy.schema, h)).unwrap_or_default(),
            month: m.to_string(),
            route: route.into(),
            reference: a,
            compiled: b,
        })
    };
    for &m in months {
        let refs: Vec<_> = hs.iter().map(|h| policy.evaluate(h, m, &outputs)).collect();
        let batch = cp.evaluate_chunk(hs, m);
        let mut session = cp.session(m);
        let mut out = Vec::new();
        for ((h, a), b) in hs.iter().zip(&refs).zip(&batch) {
            if !same(a, b) {
                return Err(differ(
                    Some(h),
                    m,
                    "batch",
                    show(policy, &outputs, a),
                    show(policy, &outputs, b),
                ));
            }
            out.clear();
            let c = session.evaluate_into(h, &mut out).map(|_| out.clone());
            if !same(a, &c) {
                return Err(differ(
                    Some(h),
                    m,
                    "session",
                    show(policy, &outputs, a),
                    show(policy, &outputs, &c),
                ));
            }
            st.evaluations += 1;
            match a {
                Ok(v) => st.values += v.len() as u64,
                Err(_) => {
                    st.values += 1;
                    st.errors += 1;
                }
            }
            if session.is_fast(h) {
                st.fast += 1;
            }
        }
        // A loaded population (households packed into columns), values and rows.
        for (route, got) in loaded_routes(&cp, hs, m) {
            for ((h, a), b) in hs.iter().zip(&refs).zip(&got) {
                if !same(a, b) {
                    let (x, y) = (show(policy, &outputs, a), show(policy, &outputs, b));
                    return Err(differ(Some(h), m, route, x, y));
                }
            }
        }
        if policy
            .program
            .defs
            .iter()
            .any(|d| d.entity == EntityKind::Programme)
        {
            st.totals += compare_totals(policy, &cp, &outputs, hs, m)
                .map_err(|(route, a, b)| differ(None, m, route, a, b))?;
        }
    }
    Ok(st)
}

type Results = Vec<Result<Vec<Value>, EvalError>>;
/// One slot per household, filled by the parallel visitors.
type Slots = Vec<std::sync::Mutex<Option<Result<Vec<Value>, EvalError>>>>;

/// The compiled path's results on the households loaded as a population: through
/// `for_each_loaded` and through `for_each_row_loaded`.
fn loaded_routes(cp: &CompiledPolicy, hs: &[Household], m: Month) -> [(&'static str, Results); 2] {
    let loaded = cp.load(hs);
    let slots = || -> Slots { hs.iter().map(|_| std::sync::Mutex::new(None)).collect() };
    let take = |s: Slots| -> Results {
        s.into_iter()
            .map(|x| x.into_inner().unwrap().expect("every household is visited"))
            .collect()
    };
    let a = slots();
    cp.for_each_loaded(&loaded, m, |i, r| {
        *a[i].lock().unwrap() = Some(r.map(|v| v.to_vec()).map_err(|e| e.clone()))
    });
    let b = slots();
    cp.for_each_row_loaded(&loaded, m, |i, r| {
        *b[i].lock().unwrap() = Some(r.map(|row| row.values()).map_err(|e| e.clone()))
    });
    [("loaded", take(a)), ("loaded rows", take(b))]
}

/// The reference's rows and totals against the compiled path's, in input order; the number of
/// totals compared.
fn compare_totals(
    policy: &Policy,
    cp: &CompiledPolicy,
    outputs: &[DefId],
    hs: &[Household],
    m: Month,
) -> Result<u64, (&'static str, String, String)> {
    let mut t_ref = Totals::new(policy, m);
    let reference = (|| -> Result<Vec<Vec<Value>>, EvalError> {
        let mut rows = Vec::new();
        for h in hs {
            let mut ev = HouseholdEval::new(policy, h, m);
            rows.push(
                outputs
                    .iter()
                    .map(|&d| ev.def(d, Scope::Household))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            t_ref.add(&mut ev)?;
        }
        Ok(rows)
    })();
    let mut t_cp = Totals::new(policy, m);
    let compiled = cp.evaluate_chunk_with_totals(hs, m, &mut t_cp);
    if reference != compiled {
        return Err((
            "totals rows",
            format!("{reference:?}"),
            format!("{compiled:?}"),
        ));
    }
    if reference.is_err() {
        return Ok(0);
    }
    let (a, b) = (t_ref.finish(), t_cp.finish());
    let n = a.as_ref().map(|v| v.len() as u64).unwrap_or(1);
    // As for outputs: the exact value and its printed form (a decimal's scale is not compared).
    let printed_all = |r: &Result<Vec<(DefId, Value)>, EvalError>| {
        r.as_ref()
            .map(|v| v.iter().map(|(d, x)| (*d, printed(x))).collect::<Vec<_>>())
            .ok()
    };
    if a != b || printed_all(&a) != printed_all(&b) {
        return Err(("totals", format!("{a:?}"), format!("{b:?}")));
    }
    Ok(n)
}

/// Exact equality: kind and exact value, and the same printed form (to the cent and in full).
pub fn same(a: &Result<Vec<Value>, EvalError>, b: &Result<Vec<Value>, EvalError>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y && x.iter().zip(y).all(|(u, v)| printed(u) == printed(v)),
        (Err(x), Err(y)) => x == y,
        _ => false,
    }
}

fn printed(v: &Value) -> String {
    match v {
        Value::Num(n) => format!("{n} {}", n.format_fixed(2)),
        v => format!("{v:?}"),
    }
}

/// Values by output name, or the error.
pub fn show(policy: &Policy, outputs: &[DefId], r: &Result<Vec<Value>, EvalError>) -> String {
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

/// A household as the JSON the readers take, with its `previous` when it has one.
pub fn to_json(schema: &Schema, h: &Household) -> String {
    let mut j = household_to_json(schema, h);
    if let (Some(prev), serde_json::Value::Object(m)) = (&h.previous, &mut j) {
        let mut p = serde_json::Map::new();
        for (f, v) in schema.states.iter().zip(prev) {
            let x = value_to_json(&f.ty, v).unwrap_or_else(|e| e.into());
            p.insert(f.name.clone(), x);
        }
        m.insert("previous".into(), serde_json::Value::Object(p));
    }
    j.to_string()
}

/// A smaller case that still disagrees: the policy's items and the households (and their members)
/// removed one by one while the disagreement remains (the policy must still check). Returns the
/// policy's text and the households.
pub fn minimise(
    seed: u64,
    n: u64,
    month: Month,
) -> Option<(String, Vec<Household>, Box<Disagreement>)> {
    let mut gp = super::generate(seed);
    let policy = load(seed, &gp.text()).ok()?;
    let mut hs = Gen::new(&policy.schema, seed, Profile::Realistic).households(0, n);
    hs.extend(Gen::new(&policy.schema, seed ^ 1, Profile::Adversarial).households(n, n));
    let fails = |text: &str, hs: &[Household]| -> Option<Box<Disagreement>> {
        let p = load(seed, text).ok()?;
        // Households are re-read against the smaller schema: keep only fields it still has.
        let hs: Vec<Household> = hs
            .iter()
            .map(|h| project(&policy.schema, &p.schema, h))
            .collect();
        compare(seed, text, &p, &hs, &[month]).err()
    };
    fails(&gp.text(), &hs)?;
    let mut i = 0;
    while i < hs.len() {
        let mut t = hs.clone();
        t.remove(i);
        if fails(&gp.text(), &t).is_some() {
            hs = t;
        } else {
            i += 1;
        }
    }
    for k in 0..hs.len() {
        let mut j = 0;
        while j < hs[k].members.len() {
            let mut t = hs.clone();
            t[k].members.remove(j);
            if fails(&gp.text(), &t).is_some() {
                hs = t;
            } else {
                j += 1;
            }
        }
    }
    let mut i = 0;
    while i < gp.items.len() {
        let mut t = gp.clone();
        t.items.remove(i);
        if fails(&t.text(), &hs).is_some() {
            gp = t;
        } else {
            i += 1;
        }
    }
    let d = fails(&gp.text(), &hs)?;
    let p = load(seed, &gp.text()).ok()?;
    let hs = hs
        .iter()
        .map(|h| project(&policy.schema, &p.schema, h))
        .collect();
    Some((gp.text(), hs, d))
}

/// A household of schema `from` with only the fields (and states) of schema `to`, by name.
fn project(from: &Schema, to: &Schema, h: &Household) -> Household {
    let pick = |fs: &[crate::data::Field], ts: &[crate::data::Field], vs: &[Value]| -> Vec<Value> {
        ts.iter()
            .map(|t| {
                fs.iter()
                    .position(|f| f.name == t.name)
                    .map(|i| vs[i].clone())
                    .unwrap_or(Value::Bool(false))
            })
            .collect()
    };
    Household {
        id: h.id.clone(),
        fields: pick(&from.household, &to.household, &h.fields),
        members: h
            .members
            .iter()
            .map(|m| crate::data::Person {
                id: m.id.clone(),
                fields: pick(&from.person, &to.person, &m.fields),
            })
            .collect(),
        previous: h
            .previous
            .as_ref()
            .map(|p| pick(&from.states, &to.states, p)),
    }
}
