//! doudi-service: the HTTP decision service behind `doudi serve`.
//!
//! [`router`] builds the axum `Router` over an [`AppState`]: the policies loaded once from the
//! directories named at start (each with a content hash of its files as its version, swapped
//! atomically on reload), the limits, the optional decision log and the scenario-run queue. Handlers
//! call the same library functions as the CLI (`Policy::load`, `batch::map_chunk`, `explain`,
//! `chain`, `check`), so values and messages are the CLI's. The service never reads a path a client
//! chose: policies and scenarios are named, and resolved against what the operator configured.
//! This crate knows nothing of clap; the binary parses the command line.

// Large error values are deliberate: errors carry messages for people and are the cold path.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod error;
pub mod jobs;
pub mod openapi;
pub mod state;

use axum::routing::{get, post, MethodRouter};
use axum::Router;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use error::ApiError;
pub use state::{Policies, PolicyEntry};

/// Operational limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest request body, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// The most households one evaluate request may carry (413 above it).
    pub max_batch: usize,
    /// Every request is answered within this time (408 after it).
    pub timeout: Duration,
    /// Scenario runs queued or running at once (429 above it).
    pub max_runs: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 64 << 20,
            max_batch: 100_000,
            timeout: Duration::from_secs(60),
            max_runs: 4,
        }
    }
}

/// What the operator configured (the CLI's `doudi serve` flags).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Policy directories; each is served under its directory name.
    pub policies: Vec<PathBuf>,
    /// The directory of scenario files (`*.toml`) clients may run by name.
    pub scenarios: Option<PathBuf>,
    /// A JSON-lines file each decision is appended to.
    pub decision_log: Option<PathBuf>,
    pub limits: Limits,
}

/// Everything the handlers share.
pub struct AppState {
    pub policies: Policies,
    pub config: Config,
    pub log: Option<Mutex<std::io::BufWriter<std::fs::File>>>,
    pub jobs: jobs::Jobs,
}

impl AppState {
    /// Loads every configured policy; any that does not load is an error (the message `doudi check`
    /// prints), and two policies of the same name are refused.
    pub fn load(config: Config) -> Result<Arc<AppState>, String> {
        let policies = Policies::default();
        for dir in &config.policies {
            let entry = PolicyEntry::load(dir).map_err(|f| {
                format!(
                    "{}error: policy `{}` ({}) does not load",
                    f.rendered,
                    f.name,
                    dir.display()
                )
            })?;
            if policies.get(&entry.name).is_some() {
                return Err(format!(
                    "error: two policies are named `{}`; each --policy directory must have its own name",
                    entry.name
                ));
            }
            policies.swap(entry);
        }
        let log = match &config.decision_log {
            Some(p) => Some(Mutex::new(std::io::BufWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| {
                        format!("error: cannot open the decision log {}: {e}", p.display())
                    })?,
            ))),
            None => None,
        };
        if let Some(dir) = &config.scenarios {
            if !dir.is_dir() {
                return Err(format!(
                    "error: the scenarios directory {} does not exist",
                    dir.display()
                ));
            }
        }
        let jobs = jobs::Jobs::new(config.limits.max_runs);
        Ok(Arc::new(AppState {
            policies,
            config,
            log,
            jobs,
        }))
    }
}

type Routes = Vec<(&'static str, &'static str, MethodRouter<Arc<AppState>>)>;

/// Every route of the service: method, path and handler. The router is built from this list, and
/// the OpenAPI document is tested against it.
pub fn routes() -> Routes {
    vec![
        ("get", "/", get(api::workbench)),
        ("get", "/healthz", get(api::healthz)),
        ("get", "/readyz", get(api::readyz)),
        ("get", "/openapi.json", get(openapi::handler)),
        ("get", "/assets/echarts.min.js", get(api::echarts)),
        ("get", "/v1/policies", get(api::list_policies)),
        ("get", "/v1/policies/{name}", get(api::policy_info)),
        ("post", "/v1/policies/{name}/reload", post(api::reload)),
        (
            "get",
            "/v1/policies/{name}/parameters",
            get(api::parameters),
        ),
        (
            "get",
            "/v1/policies/{name}/definitions",
            get(api::definitions),
        ),
        ("post", "/v1/policies/{name}/evaluate", post(api::evaluate)),
        ("post", "/v1/policies/{name}/explain", post(api::explain)),
        ("post", "/v1/policies/{name}/chain", post(api::chain)),
        ("get", "/v1/policies/{name}/sources", get(api::sources)),
        ("post", "/v1/policies/{name}/test", post(api::test)),
        ("post", "/v1/check", post(api::check)),
        ("get", "/v1/scenarios", get(jobs::list_scenarios)),
        ("post", "/v1/runs", post(jobs::start)),
        ("get", "/v1/runs/{id}", get(jobs::status)),
        ("post", "/v1/runs/{id}/cancel", post(jobs::cancel)),
    ]
}

/// The service's router with its limits: the body limit (413), the timeout (408).
pub fn router(state: Arc<AppState>) -> Router {
    let limits = state.config.limits.clone();
    let mut r = Router::new();
    for (_, path, handler) in routes() {
        r = r.route(path, handler);
    }
    r.fallback(api::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            limits.timeout,
        ))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(state)
}

/// Errors produced outside the handlers (the timeout's 408, axum's 405 for a wrong method) come
/// without a body: they get the same JSON shape as the handlers' errors.
async fn json_errors(resp: axum::response::Response) -> axum::response::Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error())
        || resp
            .headers()
            .contains_key(axum::http::header::CONTENT_TYPE)
    {
        return resp;
    }
    let (code, message) = match status {
        axum::http::StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "error: the request was not answered within the server's time limit".to_string(),
        ),
        axum::http::StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "error: this endpoint does not take that method (see /openapi.json)".to_string(),
        ),
        s => ("error", format!("error: {s}")),
    };
    use axum::response::IntoResponse;
    ApiError::new(status, code, message).into_response()
}

/// Serves `router` on `listen` until Ctrl-C (or SIGTERM): requests in flight are finished.
pub async fn serve(state: Arc<AppState>, listen: std::net::SocketAddr) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("error: cannot listen on {listen}: {e}"))?;
    let app = router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("error: the server stopped: {e}"))
}
