//! The other way into doudi: the HTTP decision service (`doudi serve`, the doudi-service crate),
//! here its router driven in-process as a Rust web application would mount it; a Java or web system
//! would POST the same JSON to a running `doudi serve` (see docs/SERVICE.md). The answer is checked
//! against the embedding facade's (`examples/embed.rs`). Needs the `service` feature (on by default).
//!
//! Run from the repository root: `cargo run --example embed_http`

use doudi::Engine;

const OUTPUTS: [&str; 3] = ["dibao_eligible", "dibao_payment", "total_benefit"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The facade's answer, to compare the service's with.
    let engine = Engine::load("policies/jian")?;

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
    let direct = engine.evaluate(&request, "2024-01", &OUTPUTS)?.to_json();

    // 3. The same household through the HTTP service: POST /v1/policies/jian/evaluate.
    use tower::ServiceExt;
    let state = doudi::service::AppState::load(doudi::service::Config {
        policies: vec!["policies/jian".into()],
        ..Default::default()
    })?;
    let app = doudi::service::router(state);
    let body = serde_json::json!({"period": "2024-01", "household": request, "outputs": OUTPUTS});
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
    for name in OUTPUTS {
        assert_eq!(row[name], direct[name], "{name}");
    }
    println!(
        "HTTP: {} (policy {} version {})",
        row, answer["policy"], answer["version"]
    );
    Ok(())
}
