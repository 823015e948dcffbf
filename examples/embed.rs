//! Embedding doudi in another system with the facade (`doudi::Engine`): load and check a policy
//! once, evaluate households from many threads (an `Engine` is `Send + Sync`) with JSON in and
//! JSON out, explain a value, and act on typed errors. It needs no cargo feature: an embedder
//! depends on `doudi = { …, default-features = false }` (docs/EMBEDDING.md). The HTTP service, the
//! other way in, is `examples/embed_http.rs`.
//!
//! Run from the repository root: `cargo run --example embed`

use doudi::{Engine, Error};
use std::sync::Arc;

const OUTPUTS: [&str; 3] = ["dibao_eligible", "dibao_payment", "total_benefit"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Load and check once (an `Error::Load` displays rustc-style diagnostics).
    let engine = Arc::new(Engine::load("policies/jian")?);

    // 2. A household as a web service would receive it (docs/DATA.md's JSON).
    let request = serde_json::json!({
        "id": "REQ-1", "region": "jizhou", "area": "urban", "registered_poor": false, "pure_female": false,
        "financial_assets": "3000", "vehicles": 0, "houses": 1, "credit": "good", "on_dibao": false,
        "members": [
            {"id": "A", "age": 58, "sex": "female", "monthly_income": "612.23", "employed": false,
             "employment_category": "none", "disability_grade": 0, "self_care": "independent",
             "illness": "cancer", "medical_oop_12m": "18319.88", "rehab_cost_year": "0",
             "schooling": "none", "tuition_year": "0", "pension_contrib_year": "200",
             "alive": true, "imprisoned": false, "has_supporter": true},
            {"id": "B", "age": 20, "sex": "male", "monthly_income": "0", "employed": false,
             "employment_category": "none", "disability_grade": 0, "self_care": "independent",
             "illness": "none", "medical_oop_12m": "0", "rehab_cost_year": "0",
             "schooling": "university", "tuition_year": "5400", "pension_contrib_year": "0",
             "alive": true, "imprisoned": false, "has_supporter": true}
        ]
    });
    // Read once against the policy's declared inputs (or pass the JSON straight to `evaluate`).
    let household = engine.household(&request)?;

    // 3. Evaluate from several threads at once; every thread gets the same exact answer.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (engine, household) = (Arc::clone(&engine), household.clone());
            std::thread::spawn(move || engine.evaluate(&household, "2024-01", &OUTPUTS))
        })
        .collect();
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.join().map_err(|_| "an evaluation thread panicked")??);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    let outputs = &answers[0];
    // Each value shows itself as the policy declares it (money with two decimals, enum names…).
    print!("{outputs}");
    println!("{}", serde_json::to_string_pretty(&outputs.to_json())?);
    let eligible = outputs.get("dibao_eligible").and_then(|o| o.as_bool());
    println!("eligible: {eligible:?}");

    // 4. Why: the explanation of a value, short (what decided, parameters, citations) and as the
    // first level of the derivation tree (`text()` is all of it); `why_not` lists the failed
    // conditions of a `false`.
    let why = engine.explain(&request, "2024-01", "dibao_eligible")?;
    println!("\n{}", why.short());
    println!("{}", why.text_depth(1));
    for reason in why.why_not() {
        println!("why not: {reason}");
    }
    let json = why.to_json();
    assert_eq!(json["tree"]["name"], "dibao_eligible");

    // 5. Typed errors: a program can act on them; people read their `Display`.
    match engine.evaluate(&household, "2024-01", &["dibao_paymnet"]) {
        Err(Error::UnknownOutput { suggestions, .. }) => {
            println!("\nunknown output; suggestions: {suggestions:?}")
        }
        other => return Err(format!("expected an unknown output, got {other:?}").into()),
    }
    let mut bad = request.clone();
    bad["members"][0]["age"] = serde_json::json!("fifty-eight");
    match engine.evaluate(&bad, "2024-01", &OUTPUTS) {
        Err(e @ Error::Data { .. }) => {
            if let Error::Data {
                field, expected, ..
            } = &e
            {
                println!("data error in field {field:?}, expected {expected:?}");
            }
            println!("{e}");
        }
        other => return Err(format!("expected a data error, got {other:?}").into()),
    }
    match engine.evaluate(&household, "2024-13", &OUTPUTS) {
        Err(e @ Error::Period { .. }) => println!("{e}"),
        other => return Err(format!("expected a period error, got {other:?}").into()),
    }
    Ok(())
}
