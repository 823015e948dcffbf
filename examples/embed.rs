//! Embedding doudi in another system: load and check a policy once, then evaluate households from
//! many threads (a `Policy` is `Send + Sync`), with JSON in and JSON out. Then the other way: the
//! HTTP service (`doudi serve`, the doudi-service crate), here its router driven in-process as a
//! Rust web application would mount it; a Java or web system would POST the same JSON to a running
//! `doudi serve` (see docs/SERVICE.md).
//!
//! Run from the repository root: `cargo run --example embed`

use doudi::interpreter::data::read_json_household;
use doudi::{Month, Policy};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Load and check once (a LoadError renders rustc-style diagnostics).
    let loaded = Policy::load("policies/jian".as_ref()).map_err(|e| e.render())?;
    let policy = Arc::new(loaded.policy);
    let outputs: Vec<u32> = ["dibao_eligible", "dibao_payment", "total_benefit"]
        .iter()
        .map(|n| policy.output(n))
        .collect::<Result<_, _>>()?;
    let month = Month::parse("2024-01")?;

    // 2. A household as a web service would receive it (DATA.md's JSON).
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
    let household = read_json_household(&policy.schema, &request, "request")?;

    // 3. Evaluate from several threads at once; every thread gets the same exact answer.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (policy, household, outputs) =
                (Arc::clone(&policy), household.clone(), outputs.clone());
            std::thread::spawn(move || {
                let values = policy
                    .evaluate(&household, month, &outputs)
                    .map_err(|e| e.to_string())?;
                let mut out = serde_json::Map::new();
                for (id, v) in outputs.iter().zip(values) {
                    let def = &policy.program.defs[*id as usize];
                    out.insert(
                        def.name.clone(),
                        serde_json::Value::String(policy.display(def.ty, &v)),
                    );
                }
                Ok::<_, String>(serde_json::Value::Object(out))
            })
        })
        .collect();
    let answers: Vec<serde_json::Value> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect::<Result<_, _>>()?;
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    println!("{}", serde_json::to_string_pretty(&answers[0])?);

    // 4. The same household through the HTTP service: POST /v1/policies/jian/evaluate.
    use tower::ServiceExt;
    let state = doudi_service::AppState::load(doudi_service::Config {
        policies: vec!["policies/jian".into()],
        ..Default::default()
    })?;
    let app = doudi_service::router(state);
    let body = serde_json::json!({"period": "2024-01", "household": request,
        "outputs": ["dibao_eligible", "dibao_payment", "total_benefit"]});
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer: serde_json::Value = runtime.block_on(async {
        let req = axum::http::Request::post("/v1/policies/jian/evaluate")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))?;
        let resp = app.oneshot(req).await?;
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await?;
        Ok::<_, Box<dyn std::error::Error>>(serde_json::from_slice(&bytes)?)
    })?;
    let row = &answer["results"][0];
    assert_eq!(row["dibao_payment"], answers[0]["dibao_payment"]);
    assert_eq!(row["total_benefit"], answers[0]["total_benefit"]);
    println!(
        "HTTP: {} (policy {} version {})",
        row, answer["policy"], answer["version"]
    );
    Ok(())
}
