//! `doudi serve` answers what `doudi eval` prints: every household output of the example
//! households, through the service's router and through the binary.

use axum::body::Body;
use axum::http::Request;
use doudi_service::{router, AppState, Config};
use std::process::Command;
use tower::ServiceExt;

#[tokio::test]
async fn evaluate_matches_doudi_eval() {
    let input = "policies/jian/examples/households.json";
    let app = router(
        AppState::load(Config {
            policies: vec!["policies/jian".into()],
            ..Config::default()
        })
        .unwrap(),
    );
    for period in ["2024-01", "2025-03"] {
        let out = Command::new(env!("CARGO_BIN_EXE_doudi"))
            .args(["eval", "--policy", "policies/jian", "--input", input])
            .args(["--period", period, "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let households: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(input).unwrap()).unwrap();
        let body = serde_json::json!({"period": period, "households": households});
        let req = Request::post("/v1/policies/jian/evaluate")
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let served: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let rows = cli.as_array().unwrap();
        assert!(rows.len() >= 5 && rows[0].as_object().unwrap().len() > 20);
        assert_eq!(&served["results"], &cli, "{period}");
    }
}
