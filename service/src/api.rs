//! The handlers: policies, evaluate, explain, chain, check, health.

use crate::error::{ApiError, ApiResult};
use crate::state::{now_rfc3339, PolicyEntry};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use doudi_dsl::ast::EntityKind;
use doudi_dsl::diag::{Diagnostic, SourceMap};
use doudi_dsl::ir::{Citation, Const};
use doudi_interpreter::{data, explain as ex, Month, Policy, Value};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value as Json_};
use std::collections::BTreeMap;
use std::io::Write;
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
        Html(include_str!("workbench.html")),
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

fn summary(p: &PolicyEntry) -> Json_ {
    let prog = &p.policy.program;
    json!({
        "name": p.name,
        "version": p.version,
        "loaded_at": p.loaded_at,
        "layers": prog.layers,
        "definitions": prog.defs.len(),
        "parameters": prog.params.len(),
        "warnings": p.warnings,
    })
}

pub async fn list_policies(State(st): St) -> Json<Json_> {
    Json(json!({ "policies": st.policies.all().iter().map(|p| summary(p)).collect::<Vec<_>>() }))
}

pub async fn policy_info(State(st): St, Path(name): Path<String>) -> ApiResult<Json<Json_>> {
    let p = policy(&st, &name)?;
    let mut s = summary(&p);
    s["policy"] = json!(p.name);
    Ok(Json(s))
}

/// Reloads a policy from its configured directory and swaps it in; a policy that no longer loads
/// leaves the loaded one serving and answers 422 with the diagnostics.
pub async fn reload(State(st): St, Path(name): Path<String>) -> ApiResult<Json<Json_>> {
    let old = policy(&st, &name)?;
    let dir = old.dir.clone();
    let entry = tokio::task::spawn_blocking(move || PolicyEntry::load(&dir))
        .await
        .map_err(|e| ApiError::internal(format!("error: the reload stopped: {e}")))?;
    match entry {
        Ok(entry) => {
            let version = entry.version.clone();
            let prev = st.policies.swap(entry);
            let previous = prev.map(|p| p.version.clone()).unwrap_or_default();
            Ok(Json(json!({
                "policy": name,
                "version": version,
                "previous_version": previous,
                "changed": previous != version,
            })))
        }
        Err(f) => Err(ApiError::invalid(
            "policy_does_not_load",
            format!(
                "{}error: the policy does not load; still serving the loaded version",
                f.rendered
            ),
        )
        .with_policy(&old.name, &old.version)
        .with_detail(json!({
            "diagnostics": diagnostics_json(&f.error.diagnostics, &f.error.sources),
            "errors": f.error.errors,
        }))),
    }
}

fn citations(c: &[Citation]) -> Json_ {
    serde_json::to_value(c).unwrap_or(Json_::Null)
}

fn const_json(policy: &Policy, ty: doudi_dsl::ir::Ty, c: &Const) -> Json_ {
    let v = doudi_interpreter::eval::const_value(c);
    value_json(policy, ty, &v)
}

/// A value as the CLI's `--format json` writes it: booleans and integers as JSON, the rest as the
/// exact text the CLI displays.
pub fn value_json(policy: &Policy, ty: doudi_dsl::ir::Ty, v: &Value) -> Json_ {
    match v {
        Value::Bool(b) => Json_::Bool(*b),
        Value::Int(i) => Json_::from(*i),
        _ => Json_::String(policy.display(ty, v)),
    }
}

/// Parameters with their values over time and their sources.
pub async fn parameters(State(st): St, Path(name): Path<String>) -> ApiResult<Json<Json_>> {
    let p = policy(&st, &name)?;
    let pol = &p.policy;
    let prog = &pol.program;
    let params: Vec<Json_> = prog
        .params
        .iter()
        .map(|par| {
            let keys: Option<&doudi_dsl::ir::EnumInfo> = par.by.map(|e| &prog.enums[e as usize]);
            let versions: Vec<Json_> = par
                .versions
                .iter()
                .map(|v| {
                    let value = match keys {
                        Some(info) => {
                            let mut m = Map::new();
                            for (k, c) in info.variants.iter().zip(&v.values) {
                                m.insert(k.clone(), const_json(pol, par.ty, c));
                            }
                            Json_::Object(m)
                        }
                        None => v
                            .values
                            .first()
                            .map(|c| const_json(pol, par.ty, c))
                            .unwrap_or(Json_::Null),
                    };
                    json!({
                        "from": v.from.map(doudi_dsl::ir::format_date),
                        "value": value,
                        "citations": citations(&v.citations),
                        "location": prog.sources.location(v.span),
                    })
                })
                .collect();
            json!({
                "name": par.name,
                "label": par.label,
                "type": prog.ty_name(par.ty),
                "by": keys.map(|k| json!({"enum": k.name, "keys": k.variants})),
                "range": par.range.as_ref().map(|r| r.text.clone()),
                "citations": citations(&par.citations),
                "location": prog.sources.location(par.span),
                "overridden_at": par.overridden_at.map(|s| prog.sources.location(s)),
                "versions": versions,
            })
        })
        .collect();
    Ok(Json(json!({
        "policy": p.name,
        "version": p.version,
        "parameters": params,
    })))
}

/// Definitions and inputs with their labels, types and citations.
pub async fn definitions(State(st): St, Path(name): Path<String>) -> ApiResult<Json<Json_>> {
    let p = policy(&st, &name)?;
    let prog = &p.policy.program;
    let defs: Vec<Json_> = prog
        .defs
        .iter()
        .map(|d| {
            json!({
                "name": d.name,
                "label": d.label,
                "entity": d.entity.as_str(),
                "type": prog.ty_name(d.ty),
                "state": prog.states.iter().any(|s| prog.defs[s.def as usize].name == d.name && d.entity == EntityKind::Household),
                "citations": citations(&d.citations),
                "exceptions": d.exceptions.iter().map(|e| json!({"label": e.label, "citations": citations(&e.citations)})).collect::<Vec<_>>(),
                "location": prog.sources.location(d.span),
            })
        })
        .collect();
    let inputs = |entity: &str, list: &[doudi_dsl::ir::InputInfo]| -> Vec<Json_> {
        list.iter()
            .map(|i| {
                json!({
                    "name": i.name,
                    "label": i.label,
                    "entity": entity,
                    "type": prog.ty_name(i.ty),
                    "range": i.range.as_ref().map(|r| r.text.clone()),
                    "default": i.default.as_ref().map(|c| const_json(&p.policy, i.ty, c)),
                    "location": prog.sources.location(i.span),
                })
            })
            .collect()
    };
    let mut all_inputs = inputs("household", &prog.household_inputs);
    all_inputs.extend(inputs("person", &prog.person_inputs));
    let enums: Vec<Json_> = prog
        .enums
        .iter()
        .map(|e| json!({"name": e.name, "label": e.label, "variants": e.variants, "variant_labels": e.variant_labels}))
        .collect();
    Ok(Json(json!({
        "policy": p.name,
        "version": p.version,
        "definitions": defs,
        "inputs": all_inputs,
        "enums": enums,
    })))
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
    let err = |m: String| ApiError::invalid("bad_set", m).with_policy(&entry.name, &entry.version);
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

/// The household outputs: named ones (household definitions only, as `doudi eval`) or all.
fn output_ids(entry: &PolicyEntry, policy: &Policy, names: &[String]) -> ApiResult<Vec<u32>> {
    if names.is_empty() {
        return Ok(policy
            .program
            .defs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.entity == EntityKind::Household)
            .map(|(i, _)| i as u32)
            .collect());
    }
    let err =
        |m: String| ApiError::invalid("bad_output", m).with_policy(&entry.name, &entry.version);
    names
        .iter()
        .map(|n| {
            let id = policy
                .output(n.trim())
                .map_err(|e| err(format!("error: --outputs: {e}")))?;
            let d = &policy.program.defs[id as usize];
            if d.entity != EntityKind::Household {
                return Err(err(format!(
                    "error: --outputs: `{n}` is a {} definition; `eval` prints one row per household (use `explain --member` for a person)",
                    d.entity.as_str()
                )));
            }
            Ok(id)
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvPair {
    /// households.csv as text.
    pub households: String,
    /// persons.csv as text.
    pub persons: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    #[serde(default = "default_period")]
    pub period: String,
    #[serde(default)]
    pub outputs: Vec<String>,
    #[serde(default)]
    pub set: BTreeMap<String, SetValue>,
    /// One household (an object) ...
    pub household: Option<Box<RawValue>>,
    /// ... or a batch (an array, as `doudi eval --input`) ...
    pub households: Option<Box<RawValue>>,
    /// ... or the CSV pair as text.
    pub csv: Option<CsvPair>,
    /// `json` (default) or `csv` (the CLI's `--format csv` text).
    #[serde(default)]
    pub format: Option<String>,
    /// Also compute the programme totals over the households.
    #[serde(default)]
    pub totals: bool,
}

fn default_period() -> String {
    "2024-01".into()
}

/// The request's households: read whole (JSON), or the CSV pair in chunks as `doudi eval --data`
/// streams it.
enum Source {
    All(Vec<data::Household>),
    Chunks(Box<data::CsvChunks>),
}

/// Households per chunk of a CSV pair.
const CSV_CHUNK: usize = 4096;

/// Reads the request's households with the CLI's readers (the same messages).
fn read_households(
    entry: &PolicyEntry,
    policy: &Policy,
    household: Option<&RawValue>,
    households: Option<&RawValue>,
    csv: Option<CsvPair>,
    max: usize,
) -> ApiResult<Source> {
    let err = |m: String| ApiError::invalid("bad_data", m).with_policy(&entry.name, &entry.version);
    let hs = match (household, households, csv) {
        (Some(h), None, None) => {
            let text = h.get();
            if !text.trim_start().starts_with('{') {
                return Err(err(
                    "error: `household` is one household (a JSON object); a batch goes in `households`".into(),
                ));
            }
            data::read_json_str(&policy.schema, text, "household")
        }
        (None, Some(h), None) => data::read_json_str(&policy.schema, h.get(), "households"),
        (None, None, Some(c)) => {
            return data::CsvChunks::from_bytes(
                &policy.schema,
                (
                    std::path::Path::new("households.csv"),
                    c.households.into_bytes(),
                ),
                (std::path::Path::new("persons.csv"), c.persons.into_bytes()),
                CSV_CHUNK,
            )
            .map(|c| Source::Chunks(Box::new(c)))
            .map_err(|e| err(format!("error: {e}")))
        }
        _ => {
            return Err(ApiError::bad_request(
                "error: give the households as one of `household` (an object), `households` (an array) or `csv` ({\"households\": ..., \"persons\": ...})",
            ))
        }
    }
    .map_err(|e| err(format!("error: {e}")))?;
    check_batch(entry, hs.len(), max)?;
    Ok(Source::All(hs))
}

fn check_batch(entry: &PolicyEntry, n: usize, max: usize) -> ApiResult<()> {
    if n > max {
        return Err(ApiError::too_large(format!(
            "error: more than {max} households in one request (split the batch)"
        ))
        .with_policy(&entry.name, &entry.version));
    }
    Ok(())
}

pub async fn evaluate(
    State(st): St,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let entry = policy(&st, &name)?;
    let req: EvaluateRequest = parse_body(body)?;
    if req.household.is_some() && req.set.is_empty() && !req.totals {
        // One household on the loaded policy takes microseconds: evaluated here, without handing
        // it to a blocking thread.
        return evaluate_blocking(&st, &entry, req);
    }
    let st2 = st.clone();
    blocking(move || evaluate_blocking(&st2, &entry, req)).await
}

/// Batches smaller than this are evaluated household by household with the reference evaluator.
const SMALL_BATCH: usize = 64;

fn evaluate_blocking(
    st: &AppState,
    entry: &PolicyEntry,
    mut req: EvaluateRequest,
) -> ApiResult<Response> {
    let m = month(&req.period)?;
    let csv = match req.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(f) => {
            return Err(ApiError::invalid(
                "bad_format",
                format!("error: format `{f}`: expected json or csv"),
            ))
        }
    };
    let eff = with_overrides(entry, &req.set)?;
    let policy = eff.get();
    let outputs = output_ids(entry, policy, &req.outputs)?;
    let source = read_households(
        entry,
        policy,
        req.household.as_deref(),
        req.households.as_deref(),
        req.csv.take(),
        st.config.limits.max_batch,
    )?;
    let names: Vec<String> = outputs
        .iter()
        .map(|&d| policy.program.defs[d as usize].name.clone())
        .collect();
    let tys: Vec<_> = outputs
        .iter()
        .map(|&d| policy.program.defs[d as usize].ty)
        .collect();
    let eval_err = |e: doudi_interpreter::EvalError| {
        ApiError::invalid("evaluation_error", e.render(policy.sources()))
            .with_policy(&entry.name, &entry.version)
    };
    // Each row formatted as it is computed (in parallel on large batches): the JSON object when the
    // answer or the decision log needs it, the CSV line when the answer is CSV.
    let want_json = !csv || st.log.is_some();
    let format = |h: &data::Household, row: &[Value]| -> (Option<Json_>, Option<String>) {
        let json = want_json.then(|| {
            let mut o = Map::new();
            o.insert("household_id".into(), h.id.clone().into());
            for ((n, t), v) in names.iter().zip(&tys).zip(row) {
                o.insert(n.clone(), value_json(policy, *t, v));
            }
            Json_::Object(o)
        });
        let line = csv.then(|| {
            let mut line = csv_cell(&h.id);
            for (t, v) in tys.iter().zip(row) {
                line.push(',');
                line.push_str(&csv_cell(&policy.display(*t, v)));
            }
            line.push('\n');
            line
        });
        (json, line)
    };
    let mut totals = req
        .totals
        .then(|| doudi_interpreter::programme::Totals::new(policy, m));
    let mut json_rows: Vec<Json_> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut log = Vec::new();
    let mut count = 0usize;
    let mut process = |hs: &[data::Household]| -> ApiResult<()> {
        count += hs.len();
        check_batch(entry, count, st.config.limits.max_batch)?;
        let rows: Vec<(Option<Json_>, Option<String>)> = if let Some(t) = totals.as_mut() {
            let rows =
                doudi_interpreter::batch::evaluate_chunk_with_totals(policy, hs, m, &outputs, t)
                    .map_err(eval_err)?;
            hs.iter().zip(&rows).map(|(h, r)| format(h, r)).collect()
        } else if hs.len() < SMALL_BATCH {
            // A few households: the reference evaluator, without compiling the outputs (the
            // compiled path gives the same values; it pays off on larger batches).
            hs.iter()
                .map(|h| policy.evaluate(h, m, &outputs).map(|r| format(h, &r)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(eval_err)?
        } else {
            doudi_interpreter::batch::map_chunk(policy, hs, m, &outputs, format)
                .map_err(eval_err)?
        };
        let first = json_rows.len();
        for (j, l) in rows {
            json_rows.extend(j);
            lines.extend(l);
        }
        if st.log.is_some() {
            decision_lines(
                &mut log,
                entry,
                &req.period,
                &req.set,
                hs,
                policy,
                &json_rows[first..],
            );
        }
        Ok(())
    };
    match source {
        Source::All(hs) => process(&hs)?,
        Source::Chunks(chunks) => {
            for chunk in *chunks {
                let chunk = chunk.map_err(|e| {
                    ApiError::invalid("bad_data", format!("error: {e}"))
                        .with_policy(&entry.name, &entry.version)
                })?;
                process(&chunk)?;
            }
        }
    }
    let mut totals_json = Json_::Null;
    if let Some(t) = totals {
        let mut o = Map::new();
        if !t.is_empty() {
            for (d, v) in t.finish().map_err(eval_err)? {
                let def = &policy.program.defs[d as usize];
                o.insert(def.name.clone(), value_json(policy, def.ty, &v));
            }
        }
        totals_json = Json_::Object(o);
    }
    write_log(st, &log);
    if csv {
        let mut out = String::with_capacity(lines.len() * 32 + 64);
        out.push_str("household_id");
        for n in &names {
            out.push(',');
            out.push_str(&csv_cell(n));
        }
        out.push('\n');
        for l in lines {
            out.push_str(&l);
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::HeaderName::from_static("x-doudi-policy-version"),
                    entry.version.clone(),
                ),
            ],
            out,
        )
            .into_response());
    }
    let mut body = json!({
        "policy": entry.name,
        "version": entry.version,
        "period": m.to_string(),
        "outputs": names,
        "results": json_rows,
    });
    if req.totals {
        body["totals"] = totals_json;
    }
    if !req.set.is_empty() {
        body["set"] = json!(req
            .set
            .iter()
            .map(|(k, v)| (k.clone(), v.text()))
            .collect::<BTreeMap<_, _>>());
    }
    Ok(Json(body).into_response())
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One decision-log line per household: time, policy, version, period, overrides, the input
/// household and its outputs.
fn decision_lines(
    buf: &mut Vec<u8>,
    entry: &PolicyEntry,
    period: &str,
    set: &BTreeMap<String, SetValue>,
    hs: &[data::Household],
    policy: &Policy,
    rows: &[Json_],
) {
    let time = now_rfc3339();
    let set: BTreeMap<String, String> = set.iter().map(|(k, v)| (k.clone(), v.text())).collect();
    for (h, row) in hs.iter().zip(rows) {
        let line = json!({
            "time": time,
            "policy": entry.name,
            "version": entry.version,
            "period": period,
            "set": set,
            "input": data::household_to_json(&policy.schema, h),
            "outputs": row,
        });
        let _ = serde_json::to_writer(&mut *buf, &line);
        buf.push(b'\n');
    }
}

/// Appends a request's lines to the decision log at once, flushed before the response is sent.
fn write_log(st: &AppState, buf: &[u8]) {
    let Some(log) = &st.log else { return };
    if buf.is_empty() {
        return;
    }
    let mut w = log.lock().unwrap_or_else(|e| e.into_inner());
    if w.write_all(buf).and_then(|()| w.flush()).is_err() {
        eprintln!("warning: cannot write the decision log");
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    #[serde(default = "default_period")]
    pub period: String,
    #[serde(default)]
    pub set: BTreeMap<String, SetValue>,
    /// One household, or an array of them (with `household_id` to pick one).
    pub household: Box<RawValue>,
    pub household_id: Option<String>,
    /// The output to explain (a household definition, or a person definition with `member`).
    pub output: Option<String>,
    pub member: Option<String>,
}

fn pick(
    entry: &PolicyEntry,
    policy: &Policy,
    raw: &RawValue,
    id: Option<&str>,
) -> ApiResult<data::Household> {
    let err = |m: String| ApiError::invalid("bad_data", m).with_policy(&entry.name, &entry.version);
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

pub async fn explain(
    State(st): St,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Json_>> {
    let entry = policy(&st, &name)?;
    let req: ExplainRequest = parse_body(body)?;
    blocking(move || explain_blocking(&entry, req)).await
}

fn explain_blocking(entry: &PolicyEntry, req: ExplainRequest) -> ApiResult<Json<Json_>> {
    use doudi_interpreter::{HouseholdEval, Scope};
    let m = month(&req.period)?;
    let eff = with_overrides(entry, &req.set)?;
    let policy = eff.get();
    let err =
        |m: String| ApiError::invalid("bad_output", m).with_policy(&entry.name, &entry.version);
    let output = req
        .output
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("error: give the `output` to explain"))?;
    let hh = pick(entry, policy, &req.household, req.household_id.as_deref())?;
    let id = policy
        .output(output)
        .map_err(|e| err(format!("error: --output: {e}")))?;
    let def = &policy.program.defs[id as usize];
    // The CLI's rules for --member, with its messages.
    let scope = match (def.entity, &req.member) {
        (EntityKind::Household, None) => Scope::Household,
        (EntityKind::Person, Some(pid)) => {
            let i = hh
                .members
                .iter()
                .position(|p| &p.id == pid)
                .ok_or_else(|| err(format!("error: no member `{pid}` in household {}", hh.id)))?;
            Scope::Person(i)
        }
        (EntityKind::Person, None) => {
            let ids: Vec<&str> = hh.members.iter().map(|p| p.id.as_str()).collect();
            return Err(err(format!(
                "error: `{output}` is a person definition: add --member (one of {})",
                ids.join(", ")
            )));
        }
        (EntityKind::Household, Some(_)) => {
            return Err(err(format!(
                "error: `{output}` is a household definition: drop --member"
            )))
        }
        (EntityKind::Programme, _) => {
            return Err(err(format!(
                "error: `{output}` is a programme total: use `doudi eval --totals`"
            )))
        }
    };
    let mut ev = HouseholdEval::new(policy, &hh, m);
    let node = ex::explain(&mut ev, id, scope).map_err(|e| {
        ApiError::invalid("evaluation_error", e.render(policy.sources()))
            .with_policy(&entry.name, &entry.version)
    })?;
    Ok(Json(json!({
        "policy": entry.name,
        "version": entry.version,
        "period": m.to_string(),
        "household_id": hh.id,
        "output": output,
        "text": ex::render_text(&node),
        "explanation": node,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainRequest {
    #[serde(default = "default_period")]
    pub period: String,
    #[serde(default)]
    pub set: BTreeMap<String, SetValue>,
    pub household: Box<RawValue>,
    pub household_id: Option<String>,
}

pub async fn chain(
    State(st): St,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Json_>> {
    let entry = policy(&st, &name)?;
    let req: ChainRequest = parse_body(body)?;
    blocking(move || {
        let m = month(&req.period)?;
        let eff = with_overrides(&entry, &req.set)?;
        let policy = eff.get();
        let programmes = entry.programmes.as_ref().map_err(|e| {
            ApiError::invalid("bad_chain", format!("error: {e}"))
                .with_policy(&entry.name, &entry.version)
        })?;
        let hh = pick(&entry, policy, &req.household, req.household_id.as_deref())?;
        let c = doudi_interpreter::chain::chain(policy, programmes, &hh, m).map_err(|e| {
            ApiError::invalid("evaluation_error", e.render(policy.sources()))
                .with_policy(&entry.name, &entry.version)
        })?;
        Ok(Json(json!({
            "policy": entry.name,
            "version": entry.version,
            "period": m.to_string(),
            "household_id": hh.id,
            "text": doudi_interpreter::chain::render_text(&c),
            "chain": c,
        })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The text of one `.doudi` file.
    pub text: String,
    /// Its file name (a label only; nothing is read): `rules.doudi` by default.
    pub file: Option<String>,
    /// Check the text as a file of this loaded policy's top layer (replacing the file of the same
    /// name, or added to it), over its layers as loaded. Without it, the text is checked alone
    /// (no `extends`, no extern scripts).
    pub policy: Option<String>,
}

/// Diagnostics as JSON with their spans (file, byte offsets, 1-based line and column).
pub fn diagnostics_json(diags: &[Diagnostic], sources: &SourceMap) -> Vec<Json_> {
    let span = |s: doudi_dsl::ast::Span| -> Json_ {
        if (s.file as usize) >= sources.files.len() {
            return Json_::Null;
        }
        let (line, column) = sources.line_col(s.file, s.start);
        let (end_line, end_column) = sources.line_col(s.file, s.end);
        json!({
            "file": sources.file(s.file).path,
            "start": s.start, "end": s.end,
            "line": line, "column": column,
            "end_line": end_line, "end_column": end_column,
        })
    };
    diags
        .iter()
        .map(|d| {
            json!({
                "severity": if d.is_error() { "error" } else { "warning" },
                "message": d.message,
                "span": span(d.primary.span),
                "label": d.primary.message,
                "secondary": d.secondary.iter().map(|l| json!({"span": span(l.span), "label": l.message})).collect::<Vec<_>>(),
                "help": d.help,
                "notes": d.notes,
                "rendered": doudi_dsl::diag::render(d, sources),
            })
        })
        .collect()
}

pub async fn check(State(st): St, body: Result<Bytes, BytesRejection>) -> ApiResult<Json<Json_>> {
    let req: CheckRequest = parse_body(body)?;
    let entry = match &req.policy {
        Some(n) => Some(policy(&st, n)?),
        None => None,
    };
    blocking(move || check_blocking(entry.as_deref(), req)).await
}

fn check_blocking(entry: Option<&PolicyEntry>, req: CheckRequest) -> ApiResult<Json<Json_>> {
    let file = req.file.unwrap_or_else(|| "rules.doudi".into());
    if file.contains(['/', '\\']) || !file.ends_with(".doudi") || file.len() > 255 {
        return Err(ApiError::invalid(
            "bad_file",
            format!("error: file `{file}`: a file name ending in .doudi, without a directory"),
        ));
    }
    if req.text.len() > doudi_dsl::parse::MAX_FILE_BYTES {
        return Err(ApiError::too_large(format!(
            "error: `{file}` is larger than {} bytes",
            doudi_dsl::parse::MAX_FILE_BYTES
        )));
    }
    let loaded = match entry {
        None => doudi_dsl::load::load_str(&file, &req.text),
        Some(e) => over_layers(e, &file, &req.text),
    };
    let (program, mut diags) = doudi_dsl::check::check(&loaded);
    let mut all = loaded.diagnostics.clone();
    all.append(&mut diags);
    if let Some(program) = program {
        if !all.iter().any(|d| d.is_error()) {
            if let Err(d) = Policy::new(program) {
                all.extend(d);
            }
        }
    }
    all.sort_by_key(|d| (d.severity, d.primary.span.file, d.primary.span.start));
    let errors = all.iter().filter(|d| d.is_error()).count() + loaded.errors.len();
    let warnings = all.len() - all.iter().filter(|d| d.is_error()).count();
    let mut rendered = String::new();
    for e in &loaded.errors {
        rendered.push_str(&format!("error: {e}\n"));
    }
    rendered.push_str(&doudi_dsl::diag::render_all(&all, &loaded.sources));
    let mut body = json!({
        "ok": errors == 0,
        "errors": errors,
        "warnings": warnings,
        "diagnostics": diagnostics_json(&all, &loaded.sources),
        "load_errors": loaded.errors,
        "rendered": rendered,
    });
    if let Some(e) = entry {
        body["policy"] = json!(e.name);
        body["version"] = json!(e.version);
    }
    Ok(Json(body))
}

/// The loaded policy's layers with `text` as the file `file` of its top layer. Nothing is read
/// from disk: an `extends` or extern script in `text` is not followed.
fn over_layers(entry: &PolicyEntry, file: &str, text: &str) -> doudi_dsl::load::LoadedSources {
    let mut loaded = entry.sources.clone();
    let Some(top) = loaded.layers.len().checked_sub(1) else {
        return doudi_dsl::load::load_str(file, text);
    };
    let existing = loaded.layers[top].files.iter().position(|(id, _)| {
        let p = &loaded.sources.file(*id).path;
        std::path::Path::new(p).file_name().and_then(|n| n.to_str()) == Some(file)
    });
    let id = match existing {
        Some(i) => {
            let id = loaded.layers[top].files[i].0;
            loaded.sources.files[id as usize].text = text.to_string();
            loaded.diagnostics.retain(|d| d.primary.span.file != id);
            id
        }
        None => {
            let shown = std::path::Path::new(&entry.name).join(file);
            loaded.sources.add(shown.display().to_string(), text)
        }
    };
    let (ast, diags) = doudi_dsl::parse::parse_file(id, text);
    loaded.diagnostics.extend(diags);
    match existing {
        Some(i) => loaded.layers[top].files[i].1 = ast,
        None => loaded.layers[top].files.push((id, ast)),
    }
    loaded
}

/// The policy's source files as loaded (every layer, base first), for the drafter's editor.
pub async fn sources(State(st): St, Path(name): Path<String>) -> ApiResult<Json<Json_>> {
    let p = policy(&st, &name)?;
    let layers = &p.sources.layers;
    let files: Vec<Json_> = layers
        .iter()
        .enumerate()
        .flat_map(|(li, l)| {
            let top = li + 1 == layers.len();
            l.files.iter().map(move |(id, _)| (li, top, *id))
        })
        .map(|(li, top, id)| {
            let f = p.sources.sources.file(id);
            json!({
                "layer": li,
                "top_layer": top,
                "path": f.path,
                "file": std::path::Path::new(&f.path).file_name().map(|n| n.to_string_lossy().into_owned()),
                "text": f.text,
            })
        })
        .collect();
    Ok(Json(json!({
        "policy": p.name,
        "version": p.version,
        "layers": p.policy.program.layers,
        "files": files,
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// With `text`: run the tests over the policy with this file of its top layer replaced (or
    /// added), as `/v1/check` checks it.
    pub file: Option<String>,
    pub text: Option<String>,
}

/// Runs the policy's test cases (`tests/*.toml` of its configured directory, as `doudi test`),
/// over the loaded policy or over a drafter's edited file.
pub async fn test(
    State(st): St,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Json_>> {
    let entry = policy(&st, &name)?;
    let bytes = body_bytes(body)?;
    let req: TestRequest = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        TestRequest::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("error: the request body: {e}")))?
    };
    blocking(move || {
        let edited;
        let policy: &Policy = match (&req.file, &req.text) {
            (Some(file), Some(text)) => {
                if file.contains(['/', '\\']) || !file.ends_with(".doudi") {
                    return Err(ApiError::invalid(
                        "bad_file",
                        format!("error: file `{file}`: a file name ending in .doudi, without a directory"),
                    ));
                }
                let loaded = over_layers(&entry, file, text);
                let (program, diags) = doudi_dsl::check::check(&loaded);
                let mut all = loaded.diagnostics.clone();
                all.extend(diags);
                let failed = |all: &[Diagnostic]| {
                    ApiError::invalid(
                        "policy_does_not_load",
                        doudi_dsl::diag::render_all(all, &loaded.sources),
                    )
                    .with_policy(&entry.name, &entry.version)
                    .with_detail(json!({"diagnostics": diagnostics_json(all, &loaded.sources)}))
                };
                match program {
                    Some(p) if !all.iter().any(|d| d.is_error()) => {
                        edited = Policy::new(p).map_err(|d| failed(&d))?;
                        &edited
                    }
                    _ => return Err(failed(&all)),
                }
            }
            (None, None) => &entry.policy,
            _ => {
                return Err(ApiError::bad_request(
                    "error: give both `file` and `text`, or neither",
                ))
            }
        };
        let mut cases = Vec::new();
        let (mut passed, mut failed) = (0usize, 0usize);
        for f in doudi_interpreter::testing::test_files(&entry.dir) {
            for c in doudi_interpreter::testing::run_file(policy, &f) {
                if c.failures.is_empty() {
                    passed += 1;
                } else {
                    failed += 1;
                }
                let shown = std::path::Path::new(&c.file)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                cases.push(json!({"file": shown, "name": c.name, "passed": c.failures.is_empty(), "failures": c.failures}));
            }
        }
        Ok(Json(json!({
            "policy": entry.name,
            "version": entry.version,
            "edited": req.text.is_some(),
            "passed": passed,
            "failed": failed,
            "cases": cases,
        })))
    })
    .await
}

/// Apache ECharts, vendored (service/assets/echarts, Apache-2.0), for the workbench's charts.
pub async fn echarts() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../assets/echarts/echarts.common.min.js"),
    )
        .into_response()
}
