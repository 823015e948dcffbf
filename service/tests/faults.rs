//! Faults on loopback, through a real socket (bounded in count and time): concurrent evaluations
//! during policy reloads, a slow client, oversized and malformed bodies. Every request gets a
//! correct answer or a clear error, the server keeps serving, and no decision-log line is lost.

use doudi_service::{router, AppState, Config, Limits};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn start(config: Config) -> SocketAddr {
    let state = AppState::load(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router(state)).await.unwrap();
    });
    addr
}

/// One HTTP/1.1 request on its own connection; the status and the body.
async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn households() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("policies/jian/examples/households.json")).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_evaluations_during_reloads_lose_no_decision() {
    let dir = tempfile_dir();
    let log = dir.join("decisions.jsonl");
    let addr = start(Config {
        policies: vec![root().join("policies/jian")],
        decision_log: Some(log.clone()),
        ..Config::default()
    })
    .await;
    let h = households()[0].clone();
    let body = json!({"household": h, "outputs": ["dibao_payment"]}).to_string();
    let clients = 8;
    let per_client = 40;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_client {
                let (status, b) = request(addr, "POST", "/v1/policies/jian/evaluate", &body).await;
                assert_eq!(status, 200, "{b}");
                let v: Value = serde_json::from_str(&b).unwrap();
                assert_eq!(v["results"][0]["dibao_payment"], "1752.00");
                assert!(v["version"].as_str().unwrap().starts_with("sha256:"));
            }
        }));
    }
    // Reloads while the clients run.
    for _ in 0..10 {
        let (status, b) = request(addr, "POST", "/v1/policies/jian/reload", "").await;
        assert_eq!(status, 200, "{b}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), clients * per_client);
    for l in lines {
        let v: Value = serde_json::from_str(l).expect("a whole JSON line");
        assert_eq!(v["outputs"]["dibao_payment"], "1752.00");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_times_out_and_others_are_served() {
    let addr = start(Config {
        policies: vec![root().join("policies/jian")],
        limits: Limits {
            timeout: Duration::from_secs(1),
            max_body_bytes: 4096,
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    // Announces 1000 bytes, sends 10, then stalls.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /v1/policies/jian/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"househol")
        .await
        .unwrap();
    // Others are served meanwhile.
    let h = households()[0].clone();
    let body = json!({"household": h, "outputs": ["dibao_eligible"]}).to_string();
    for _ in 0..5 {
        let (status, b) = request(addr, "POST", "/v1/policies/jian/evaluate", &body).await;
        assert_eq!(status, 200, "{b}");
    }
    // The slow one gets 408 within the timeout (and some slack).
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the slow client was not answered");
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"timeout\""), "{text}");
    // Oversized and malformed bodies over the socket: clear JSON errors, and the server goes on.
    let (status, b) = request(
        addr,
        "POST",
        "/v1/policies/jian/evaluate",
        &"x".repeat(10_000),
    )
    .await;
    assert_eq!(status, 413, "{b}");
    assert!(b.contains("\"too_large\""), "{b}");
    let (status, b) = request(
        addr,
        "POST",
        "/v1/policies/jian/evaluate",
        "{\"household\": [}",
    )
    .await;
    assert_eq!(status, 400, "{b}");
    assert!(b.contains("\"bad_request\""), "{b}");
    let (status, _) = request(addr, "GET", "/healthz", "").await;
    assert_eq!(status, 200);
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "doudi-service-faults-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
