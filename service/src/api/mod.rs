//! The handlers: the shared request plumbing here; one module per group of endpoints.

mod check;
mod evaluate;
mod explain;
mod policies;

pub use check::{check, diagnostics_json, test, CheckRequest, TestRequest};
pub use evaluate::{evaluate, CsvPair, EvaluateRequest};
pub use explain::{chain, explain, ChainRequest, ExplainRequest};
pub use policies::{
    definitions, list_policies, parameters, policy_info, reload, sources, value_json,
};

use crate::error::{ApiError, ApiResult};
use crate::state::PolicyEntry;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use doudi_interpreter::{data, EvalError, Month, Policy};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value as Json_};
use std::collections::BTreeMap;
use std::sync::Arc;

type St = State<Arc<AppState>>;

/// The body as bytes: over the limit is a 413, anything else a 400, both as JSON.
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!(
                "error: the request body is larger than the limit ({})",
                r.body_text()
            ))
        } else {
            ApiError::bad_request(format!("error: {}", r.body_text()))
        }
    })
}

/// Parses a JSON request body; a syntax or shape error is a 400 naming line and column.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<T> {
    let bytes = body_bytes(body)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("error: the request body: {e}")))
}

fn policy(st: &AppState, name: &str) -> ApiResult<Arc<PolicyEntry>> {
    st.policies.get(name).ok_or_else(|| {
        let names: Vec<String> = st.policies.all().iter().map(|p| p.name.clone()).collect();
        ApiError::not_found(
            "unknown_policy",
            format!(
                "error: no policy `{name}` is loaded (loaded: {})",
                names.join(", ")
            ),
        )
    })
}

fn month(s: &str) -> ApiResult<Month> {
    Month::parse(s).map_err(|e| ApiError::invalid("bad_period", format!("error: period: {e}")))
}

/// A 422 with `code` and `message`, naming the policy and its version.
fn invalid(entry: &PolicyEntry, code: &'static str, message: String) -> ApiError {
    ApiError::invalid(code, message).with_policy(&entry.name, &entry.version)
}

/// An evaluation error as a 422, rendered against the policy's sources.
fn evaluation_error(entry: &PolicyEntry, policy: &Policy, e: EvalError) -> ApiError {
    invalid(entry, "evaluation_error", e.render(policy.sources()))
}

/// An answer about a policy: its name and version, then `fields` (a JSON object) in their order.
fn reply(entry: &PolicyEntry, fields: Json_) -> Json<Json_> {
    let mut o = Map::new();
    o.insert("policy".into(), json!(entry.name));
    o.insert("version".into(), json!(entry.version));
    if let Json_::Object(fields) = fields {
        o.extend(fields);
    }
    Json(Json_::Object(o))
}

/// A handler's common part: the named policy, the parsed request body, then `work` on a blocking
/// thread.
async fn on_policy<R, T>(
    st: Arc<AppState>,
    name: &str,
    body: Result<Bytes, BytesRejection>,
    work: fn(&PolicyEntry, R) -> ApiResult<T>,
) -> ApiResult<T>
where
    R: serde::de::DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    let entry = policy(&st, name)?;
    let req: R = parse_body(body)?;
    blocking(move || work(&entry, req)).await
}

/// Runs CPU-bound work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("error: the evaluation stopped: {e}")))?
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("not_found", "error: no such endpoint (see /openapi.json)")
}

pub async fn workbench() -> Response {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(include_str!("../workbench.html")),
    )
        .into_response()
}

pub async fn healthz() -> Json<Json_> {
    Json(json!({ "status": "ok" }))
}

/// Ready when every configured policy is loaded.
pub async fn readyz(State(st): St) -> Response {
    let loaded = st.policies.all();
    let ready = loaded.len() == st.config.policies.len() && !loaded.is_empty();
    let body = json!({
        "ready": ready,
        "policies": loaded.iter().map(|p| json!({"name": p.name, "version": p.version})).collect::<Vec<_>>(),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// The policy to evaluate: the loaded one, or a copy with the request's `set` overrides.
enum Effective<'a> {
    Loaded(&'a Policy),
    Overridden(Box<Policy>),
}

impl Effective<'_> {
    fn get(&self) -> &Policy {
        match self {
            Effective::Loaded(p) => p,
            Effective::Overridden(p) => p,
        }
    }
}

fn with_overrides<'a>(
    entry: &'a PolicyEntry,
    set: &BTreeMap<String, SetValue>,
) -> ApiResult<Effective<'a>> {
    if set.is_empty() {
        return Ok(Effective::Loaded(&entry.policy));
    }
    let err = |m: String| invalid(entry, "bad_set", m);
    let mut p = Policy::new(entry.policy.program.clone())
        .map_err(|d| err(doudi_dsl::diag::render_all(&d, entry.policy.sources())))?;
    for (k, v) in set {
        // The CLI's `--set NAME=VALUE`, with the same messages.
        p.set_param(k, &v.text())
            .map_err(|e| err(format!("error: --set {e}")))?;
    }
    Ok(Effective::Overridden(Box::new(p)))
}

/// A `set` value: text as on the command line (`"750"`, `"30%"`), or a JSON number or boolean.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum SetValue {
    Text(String),
    Bool(bool),
    Number(serde_json::Number),
}

impl SetValue {
    fn text(&self) -> String {
        match self {
            SetValue::Text(s) => s.clone(),
            SetValue::Bool(b) => b.to_string(),
            SetValue::Number(n) => n.to_string(),
        }
    }
}

fn default_period() -> String {
    "2024-01".into()
}

/// The one household a request names: the first of `household` (an object or an array), or the
/// one with `household_id`.
fn pick(
    entry: &PolicyEntry,
    policy: &Policy,
    raw: &RawValue,
    id: Option<&str>,
) -> ApiResult<data::Household> {
    let err = |m: String| invalid(entry, "bad_data", m);
    let hs = data::read_json_str(&policy.schema, raw.get(), "household")
        .map_err(|e| err(format!("error: {e}")))?;
    match id {
        Some(id) => hs
            .into_iter()
            .find(|h| h.id == id)
            .ok_or_else(|| err(format!("error: no household `{id}` in household"))),
        None => hs
            .into_iter()
            .next()
            .ok_or_else(|| err("error: no household in household".into())),
    }
}

/// Apache ECharts, vendored (service/assets/echarts, Apache-2.0), for the workbench's charts.
pub async fn echarts() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../assets/echarts/echarts.common.min.js"),
    )
        .into_response()
}
