//! The service over the shipped Ji'an policy, driven through the router with `oneshot` (no socket).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use doudi_service::{router, AppState, Config, Limits};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tower::ServiceExt;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn config() -> Config {
    Config {
        policies: vec![root().join("policies/jian")],
        scenarios: Some(root().join("scenarios")),
        decision_log: None,
        limits: Limits::default(),
    }
}

fn app_with(config: Config) -> Router {
    router(AppState::load(config).expect("the policy loads"))
}

fn app() -> Router {
    app_with(config())
}

fn households() -> Value {
    let text =
        std::fs::read_to_string(root().join("policies/jian/examples/households.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn send(app: &Router, method: &str, uri: &str, body: Option<String>) -> (StatusCode, Value) {
    let (status, bytes) = send_raw(app, method, uri, body).await;
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, v)
}

async fn send_raw(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<String>,
) -> (StatusCode, Vec<u8>) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

async fn post(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    send(app, "POST", uri, Some(body.to_string())).await
}

fn is_version(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 71 && s.starts_with("sha256:"))
}

#[tokio::test]
async fn evaluate_a_household_names_the_version_and_computes_the_payment() {
    let app = app();
    let h = households()[0].clone();
    let (status, v) = post(
        &app,
        "/v1/policies/jian/evaluate",
        json!({"period": "2024-01", "outputs": ["dibao_eligible", "dibao_payment"], "household": h}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["policy"], "jian");
    assert!(is_version(&v["version"]), "{v}");
    assert_eq!(v["outputs"], json!(["dibao_eligible", "dibao_payment"]));
    let row = &v["results"][0];
    assert_eq!(row["household_id"], h["id"]);
    assert_eq!(row["dibao_eligible"], true);
    // The same figure as `doudi eval` (tests/serve.rs compares every value with the binary).
    assert_eq!(row["dibao_payment"], "1752.00");
}

#[tokio::test]
async fn set_overrides_change_the_result_and_not_the_loaded_policy() {
    let app = app();
    let h = households()[0].clone();
    let body =
        |set: Value| json!({"outputs": ["standard", "dibao_payment"], "set": set, "household": h});
    let (s1, with) = post(
        &app,
        "/v1/policies/jian/evaluate",
        body(json!({"dibao_standard.urban": "900"})),
    )
    .await;
    assert_eq!(s1, StatusCode::OK, "{with}");
    assert_eq!(with["results"][0]["standard"], "900.00");
    assert_eq!(with["set"]["dibao_standard.urban"], "900");
    let (_, without) = post(&app, "/v1/policies/jian/evaluate", body(json!({}))).await;
    assert_ne!(without["results"][0]["standard"], "900.00", "{without}");
    let (s3, bad) = post(
        &app,
        "/v1/policies/jian/evaluate",
        body(json!({"no_such_parameter": 1})),
    )
    .await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["code"], "bad_set");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("error: --set "),
        "{bad}"
    );
}

#[tokio::test]
async fn a_batch_as_json_and_as_csv_gives_one_row_per_household() {
    let app = app();
    let hs = households();
    let n = hs.as_array().unwrap().len();
    let (status, v) = post(
        &app,
        "/v1/policies/jian/evaluate",
        json!({"outputs": ["dibao_payment"], "households": hs, "totals": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["results"].as_array().unwrap().len(), n);
    assert!(v["totals"].is_object(), "{v}");
    // The CSV pair of the example population, sent as text.
    let dir = root().join("policies/jian/examples/population");
    let csv = json!({
        "households": std::fs::read_to_string(dir.join("households.csv")).unwrap(),
        "persons": std::fs::read_to_string(dir.join("persons.csv")).unwrap(),
    });
    let (status, bytes) = send_raw(
        &app,
        "POST",
        "/v1/policies/jian/evaluate",
        Some(json!({"outputs": ["dibao_eligible"], "csv": csv, "format": "csv"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("household_id,dibao_eligible"));
    let rows: Vec<&str> = lines.collect();
    let expected = std::fs::read_to_string(dir.join("households.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(rows.len(), expected);
    assert!(
        rows.iter()
            .all(|r| r.ends_with(",true") || r.ends_with(",false")),
        "{text}"
    );
}

#[tokio::test]
async fn bad_input_is_a_structured_4xx() {
    let app = app();
    // Malformed JSON: 400 with serde's line and column.
    let (status, v) = send(
        &app,
        "POST",
        "/v1/policies/jian/evaluate",
        Some("{\"household\": ".into()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["code"], "bad_request");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("line 1"),
        "{v}"
    );
    // An unknown field of the request.
    let (status, v) = post(&app, "/v1/policies/jian/evaluate", json!({"housholds": []})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("housholds"),
        "{v}"
    );
    // A household the schema rejects: the data reader's message.
    let (status, v) = post(
        &app,
        "/v1/policies/jian/evaluate",
        json!({"household": {"id": "X"}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "bad_data");
    assert!(is_version(&v["version"]));
    // An unknown output: the CLI's message.
    let h = households()[0].clone();
    let (status, v) = post(
        &app,
        "/v1/policies/jian/evaluate",
        json!({"household": h, "outputs": ["nope"]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("error: --outputs: unknown output `nope`"),
        "{v}"
    );
    // A bad month.
    let (status, v) = post(
        &app,
        "/v1/policies/jian/evaluate",
        json!({"household": h, "period": "2024-13"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // An unknown policy and an unknown path.
    let (status, v) = post(
        &app,
        "/v1/policies/nowhere/evaluate",
        json!({"household": h}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "unknown_policy");
    let (status, _) = send(&app, "GET", "/v1/nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A wrong method: 405 as JSON.
    let (status, v) = send(&app, "GET", "/v1/policies/jian/evaluate", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(v["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn an_oversized_body_is_413_and_a_large_batch_too() {
    let mut c = config();
    c.limits.max_body_bytes = 1024;
    c.limits.max_batch = 2;
    let app = app_with(c);
    let big = json!({"households": households(), "pad": "x".repeat(4096)}).to_string();
    let (status, v) = send(&app, "POST", "/v1/policies/jian/evaluate", Some(big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["error"]["code"], "too_large");
    let mut c = config();
    c.limits.max_batch = 2;
    let app = app_with(c);
    let (status, v) = post(
        &app,
        "/v1/policies/jian/evaluate",
        json!({"households": households()}),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 2 households"),
        "{v}"
    );
}

#[tokio::test]
async fn explain_gives_the_tree_with_citations() {
    let app = app();
    let h = households();
    let (status, v) = post(
        &app,
        "/v1/policies/jian/explain",
        json!({"household": h, "household_id": "H030", "output": "dibao_eligible"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(is_version(&v["version"]));
    assert_eq!(v["household_id"], "H030");
    let node = &v["explanation"];
    assert_eq!(node["name"], "dibao_eligible");
    assert_eq!(node["value"], "false");
    assert!(!node["why_not"].as_array().unwrap().is_empty(), "{node}");
    assert!(!node["children"].as_array().unwrap().is_empty());
    let text = v["text"].as_str().unwrap();
    assert!(text.contains("dibao_eligible"), "{text}");
    // Some node of the tree cites a source document.
    let s = node.to_string();
    assert!(s.contains("\"kind\":\"source\""), "{s}");
    // A person definition without a member: the CLI's message.
    let (status, v) = post(
        &app,
        "/v1/policies/jian/explain",
        json!({"household": h[0], "output": "counted"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is a person definition: add --member"),
        "{v}"
    );
}

#[tokio::test]
async fn chain_lists_the_programmes() {
    let app = app();
    let (status, v) = post(
        &app,
        "/v1/policies/jian/chain",
        json!({"household": households()[0]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let links = v["chain"]["links"].as_array().unwrap();
    assert!(links.len() >= 2, "{v}");
    assert_eq!(links[0]["qualifies"], true);
    assert!(v["text"].as_str().unwrap().contains("最低生活保障"));
}

#[tokio::test]
async fn check_returns_diagnostics_with_spans() {
    let app = app();
    let text = "definition household.x: money per month = 1 + true\n";
    let (status, v) = post(&app, "/v1/check", json!({"text": text})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["message"], "cannot compute number + bool");
    assert_eq!(d["span"]["file"], "rules.doudi");
    assert_eq!(d["span"]["line"], 1);
    assert_eq!(d["span"]["column"], 43);
    assert_eq!(
        &text[d["span"]["start"].as_u64().unwrap() as usize
            ..d["span"]["end"].as_u64().unwrap() as usize],
        "1 + true"
    );
    assert!(v["rendered"]
        .as_str()
        .unwrap()
        .contains("--> rules.doudi:1:43"));
    // Alone, a text cannot extend a layer on disk.
    let (_, v) = post(&app, "/v1/check", json!({"text": "extends \"/etc\"\n"})).await;
    assert_eq!(v["ok"], false);
    assert!(
        v["rendered"]
            .as_str()
            .unwrap()
            .contains("cannot extend another layer"),
        "{v}"
    );
}

#[tokio::test]
async fn check_over_a_loaded_policy_replaces_one_file() {
    let app = app();
    let original = std::fs::read_to_string(root().join("policies/jian/benefit.doudi")).unwrap();
    let (_, v) = post(
        &app,
        "/v1/check",
        json!({"policy": "jian", "file": "benefit.doudi", "text": original}),
    )
    .await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(is_version(&v["version"]));
    let broken =
        format!("{original}\ndefinition household.zz: money per month = standard + true\n");
    let (_, v) = post(
        &app,
        "/v1/check",
        json!({"policy": "jian", "file": "benefit.doudi", "text": broken}),
    )
    .await;
    assert_eq!(v["ok"], false);
    let span = &v["diagnostics"][0]["span"];
    assert!(
        span["file"].as_str().unwrap().ends_with("benefit.doudi"),
        "{v}"
    );
    assert_eq!(span["line"], original.lines().count() + 2);
    // A file name with a directory is refused (nothing is read in any case).
    let (status, _) = post(
        &app,
        "/v1/check",
        json!({"policy": "jian", "file": "../x.doudi", "text": ""}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn parameters_and_definitions_carry_labels_types_and_sources() {
    let app = app();
    let (status, v) = send(&app, "GET", "/v1/policies/jian/parameters", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(is_version(&v["version"]));
    let params = v["parameters"].as_array().unwrap();
    let std_ = params
        .iter()
        .find(|p| p["name"] == "dibao_standard")
        .expect("dibao_standard");
    assert_eq!(std_["type"], "money per month");
    assert_eq!(std_["by"]["enum"], "area");
    let versions = std_["versions"].as_array().unwrap();
    assert!(versions.len() >= 2, "{std_}");
    assert!(
        versions.iter().all(|x| x["value"]["urban"].is_string()),
        "{std_}"
    );
    let (status, v) = send(&app, "GET", "/v1/policies/jian/definitions", None).await;
    assert_eq!(status, StatusCode::OK);
    let defs = v["definitions"].as_array().unwrap();
    let pay = defs.iter().find(|d| d["name"] == "dibao_payment").unwrap();
    assert_eq!(pay["entity"], "household");
    assert_eq!(pay["type"], "money per month");
    assert!(pay["label"].is_string());
    assert!(v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["name"] == "monthly_income" && i["entity"] == "person"));
}

#[tokio::test]
async fn reload_swaps_the_policy_and_a_broken_one_keeps_the_old() {
    // A copy of the Ji'an tree in a temporary directory, so the test can change it.
    let tmp = tempdir();
    for layer in ["jiangxi", "jian"] {
        let to = tmp.join(layer);
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(root().join("policies").join(layer)).unwrap() {
            let f = f.unwrap().path();
            if f.is_file() {
                std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
            }
        }
    }
    let mut c = config();
    c.policies = vec![tmp.join("jian")];
    let app = app_with(c);
    let (_, before) = send(&app, "GET", "/v1/policies/jian", None).await;
    let v0 = before["version"].as_str().unwrap().to_string();
    // Unchanged: same version.
    let (status, r) = post(&app, "/v1/policies/jian/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["changed"], false);
    // A new parameter value: a new version, and evaluations use it.
    let path = tmp.join("jian/standards.doudi");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n# a comment changes the version\n")).unwrap();
    let (status, r) = post(&app, "/v1/policies/jian/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["changed"], true);
    assert_eq!(r["previous_version"], v0.as_str());
    let v1 = r["version"].as_str().unwrap().to_string();
    assert_ne!(v1, v0);
    let (_, e) = post(
        &app,
        "/v1/policies/jian/evaluate",
        json!({"household": households()[0], "outputs": ["dibao_payment"]}),
    )
    .await;
    assert_eq!(e["version"], v1.as_str());
    // Broken: 422 with diagnostics, and the loaded version keeps serving.
    std::fs::write(
        &path,
        format!("{text}\ndefinition household.zz: money = 1 +\n"),
    )
    .unwrap();
    let (status, r) = post(&app, "/v1/policies/jian/reload", json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(r["version"], v1.as_str());
    assert!(
        !r["error"]["detail"]["diagnostics"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{r}"
    );
    let (status, e) = post(
        &app,
        "/v1/policies/jian/evaluate",
        json!({"household": households()[0], "outputs": ["dibao_payment"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e["version"], v1.as_str());
    let _ = std::fs::remove_dir_all(&tmp);
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "doudi-service-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn health_readiness_and_the_decision_log() {
    let log = tempdir().join("decisions.jsonl");
    let mut c = config();
    c.decision_log = Some(log.clone());
    let app = app_with(c);
    let (status, v) = send(&app, "GET", "/healthz", None).await;
    assert_eq!((status, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, v) = send(&app, "GET", "/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["ready"], true);
    assert!(is_version(&v["policies"][0]["version"]));
    let (_, e) = post(&app, "/v1/policies/jian/evaluate", json!({"households": households(), "outputs": ["dibao_payment"], "set": {"dibao_standard.urban": 800}})).await;
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), households().as_array().unwrap().len());
    for (l, r) in lines.iter().zip(e["results"].as_array().unwrap()) {
        assert_eq!(l["version"], e["version"]);
        assert_eq!(l["policy"], "jian");
        assert_eq!(l["period"], "2024-01");
        assert_eq!(l["set"]["dibao_standard.urban"], "800");
        assert_eq!(&l["outputs"], r);
        assert_eq!(l["input"]["id"], r["household_id"]);
        assert!(l["time"].as_str().unwrap().ends_with('Z'));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_runs_in_the_background_and_can_be_cancelled() {
    let app = app();
    let (status, v) = send(&app, "GET", "/v1/scenarios", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        v["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "jian-raise-standard"),
        "{v}"
    );
    // A path is not a scenario name.
    let (status, _) = post(
        &app,
        "/v1/runs",
        json!({"scenario": "../scenarios/jian-baseline"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let start = json!({
        "scenario": "jian-raise-standard", "runs": 1, "months": 2, "households": 200,
        "reform": {"name": "标准+100", "parameters": {"dibao_standard.urban": {"add": "100"}, "dibao_standard.rural": {"add": "100"}}},
    });
    let (status, v) = post(&app, "/v1/runs", start.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let mut last = Value::Null;
    // Liveness, not speed: up to 10 minutes, for a debug build on a loaded machine.
    for _ in 0..3000 {
        let (_, s) = send(&app, "GET", &format!("/v1/runs/{id}"), None).await;
        if s["state"] == "done" || s["state"] == "failed" {
            last = s;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(last["state"], "done", "{last}");
    assert_eq!(
        last["progress"]["months_done"],
        last["progress"]["months_total"]
    );
    let r = &last["result"];
    assert_eq!(r["months"].as_array().unwrap().len(), 2);
    assert_eq!(r["variants"].as_array().unwrap().len(), 2);
    let diff: f64 = r["difference"]["monthly"]["total_spending"][1]["mean"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(diff > 0.0, "a higher standard costs more: {r}");
    assert!(r["headline"]
        .as_str()
        .unwrap()
        .contains("jian-raise-standard"));
    // Cancel: a run asked to stop ends cancelled (or done, had it already finished).
    let (_, v) = post(&app, "/v1/runs", start).await;
    let id = v["id"].as_str().unwrap().to_string();
    let (status, _) = post(&app, &format!("/v1/runs/{id}/cancel"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..6000 {
        let (_, s) = send(&app, "GET", &format!("/v1/runs/{id}"), None).await;
        if s["state"] == "cancelled" {
            return;
        }
        assert_ne!(s["state"], "failed", "{s}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the run was not cancelled");
}

#[tokio::test]
async fn the_queue_is_bounded() {
    let mut c = config();
    c.limits.max_runs = 1;
    let app = app_with(c);
    let start =
        json!({"scenario": "jian-raise-standard", "runs": 1, "months": 2, "households": 200});
    let (status, first) = post(&app, "/v1/runs", start.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let (status, v) = post(&app, "/v1/runs", start).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"]["code"], "queue_full");
    // Cancelled, the first run stops before its first Monte Carlo run and frees the queue.
    let id = first["id"].as_str().unwrap();
    let (status, _) = post(&app, &format!("/v1/runs/{id}/cancel"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn every_route_answers_and_the_openapi_document_is_served() {
    let app = app();
    let (status, doc) = send(&app, "GET", "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.0.3");
    // No documented route falls through to the "no such endpoint" fallback.
    for (method, path, _) in doudi_service::routes() {
        let uri = path.replace("{name}", "jian").replace("{id}", "999");
        let body = (method == "post").then(|| "{}".to_string());
        let (status, bytes) = send_raw(&app, &method.to_uppercase(), &uri, body).await;
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("no such endpoint"),
            "{method} {uri}: {status} {text}"
        );
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
    }
}

#[tokio::test]
async fn the_policy_tests_run_over_the_loaded_or_an_edited_policy() {
    let app = app();
    let (status, v) = send(&app, "POST", "/v1/policies/jian/test", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let passed = v["passed"].as_u64().unwrap();
    assert!(passed > 10, "{v}");
    assert_eq!(v["failed"], 0, "{v}");
    // The drafter's editor gets the top layer's files.
    let (_, s) = send(&app, "GET", "/v1/policies/jian/sources", None).await;
    let files = s["files"].as_array().unwrap();
    let standards = files
        .iter()
        .find(|f| f["file"] == "standards.doudi" && f["top_layer"] == true)
        .expect("standards.doudi");
    let text = standards["text"].as_str().unwrap().to_string();
    // The same text: the same verdicts.
    let (_, same) = post(
        &app,
        "/v1/policies/jian/test",
        json!({"file": "standards.doudi", "text": text}),
    )
    .await;
    assert_eq!(
        (
            same["passed"].as_u64(),
            same["failed"].as_u64(),
            same["edited"].as_bool()
        ),
        (Some(passed), Some(0), Some(true)),
        "{same}"
    );
    // A broken text: 422 with the diagnostics.
    let (status, bad) = post(&app, "/v1/policies/jian/test", json!({"file": "standards.doudi", "text": format!("{text}\ndefinition household.zz: money = 1 +\n")})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(!bad["error"]["detail"]["diagnostics"]
        .as_array()
        .unwrap()
        .is_empty());
}
