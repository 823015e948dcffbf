//! Evaluating households: the request, reading its households (JSON or the CSV pair, in chunks),
//! the answer as JSON or CSV, and the decision log.

use super::{
    blocking, evaluation_error, invalid, month, parse_body, policy, reply, value_json,
    with_overrides, SetValue, St,
};
use crate::error::{ApiError, ApiResult};
use crate::state::{now_rfc3339, PolicyEntry};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use doudi_dsl::ast::EntityKind;
use doudi_dsl::ir::Ty;
use doudi_interpreter::programme::Totals;
use doudi_interpreter::{data, Month, Policy, Value};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value as Json_};
use std::collections::BTreeMap;
use std::io::Write;

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
    let err = |m: String| invalid(entry, "bad_output", m);
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
    #[serde(default = "super::default_period")]
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
    let err = |m: String| invalid(entry, "bad_data", m);
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

/// Evaluates the request's households (one, a batch, or the CSV pair) as `doudi eval` does.
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

/// Whether the answer is CSV (`format = "csv"`) rather than JSON.
fn wants_csv(format: Option<&str>) -> ApiResult<bool> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(f) => Err(ApiError::invalid(
            "bad_format",
            format!("error: format `{f}`: expected json or csv"),
        )),
    }
}

/// One evaluation request under way: what it computes and what it has gathered so far.
struct Evaluation<'a> {
    st: &'a AppState,
    entry: &'a PolicyEntry,
    policy: &'a Policy,
    month: Month,
    outputs: Vec<u32>,
    names: Vec<String>,
    tys: Vec<Ty>,
    csv: bool,
    totals: Option<Totals<'a>>,
    json_rows: Vec<Json_>,
    lines: Vec<String>,
    log: Vec<u8>,
    count: usize,
}

impl Evaluation<'_> {
    /// A household's row as the answer needs it: the JSON object when the answer or the decision
    /// log needs it, the CSV line when the answer is CSV.
    fn format(&self, h: &data::Household, row: &[Value]) -> (Option<Json_>, Option<String>) {
        let want_json = !self.csv || self.st.log.is_some();
        let policy = self.policy;
        let json = want_json.then(|| {
            let mut o = Map::new();
            o.insert("household_id".into(), h.id.clone().into());
            for ((n, t), v) in self.names.iter().zip(&self.tys).zip(row) {
                o.insert(n.clone(), value_json(policy, *t, v));
            }
            Json_::Object(o)
        });
        let line = self.csv.then(|| {
            let mut line = csv_cell(&h.id);
            for (t, v) in self.tys.iter().zip(row) {
                line.push(',');
                line.push_str(&csv_cell(&policy.display(*t, v)));
            }
            line.push('\n');
            line
        });
        (json, line)
    }

    /// Evaluates a chunk of households (each row formatted as it is computed, in parallel on large
    /// batches) and gathers its rows, totals and decision-log lines.
    fn chunk(&mut self, hs: &[data::Household], req: &EvaluateRequest) -> ApiResult<()> {
        self.count += hs.len();
        check_batch(self.entry, self.count, self.st.config.limits.max_batch)?;
        let (policy, m, entry) = (self.policy, self.month, self.entry);
        let eval_err = |e| evaluation_error(entry, policy, e);
        let rows: Vec<(Option<Json_>, Option<String>)> = if let Some(mut t) = self.totals.take() {
            let rows = doudi_interpreter::batch::evaluate_chunk_with_totals(
                policy,
                hs,
                m,
                &self.outputs,
                &mut t,
            );
            self.totals = Some(t);
            let rows = rows.map_err(eval_err)?;
            hs.iter()
                .zip(&rows)
                .map(|(h, r)| self.format(h, r))
                .collect()
        } else if hs.len() < SMALL_BATCH {
            // A few households: the reference evaluator, without compiling the outputs (the
            // compiled path gives the same values; it pays off on larger batches).
            hs.iter()
                .map(|h| {
                    policy
                        .evaluate(h, m, &self.outputs)
                        .map(|r| self.format(h, &r))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(eval_err)?
        } else {
            let this = &*self;
            doudi_interpreter::batch::map_chunk(policy, hs, m, &self.outputs, |h, r| {
                this.format(h, r)
            })
            .map_err(eval_err)?
        };
        let first = self.json_rows.len();
        for (j, l) in rows {
            self.json_rows.extend(j);
            self.lines.extend(l);
        }
        if self.st.log.is_some() {
            decision_lines(
                &mut self.log,
                entry,
                &req.period,
                &req.set,
                hs,
                policy,
                &self.json_rows[first..],
            );
        }
        Ok(())
    }

    /// The programme totals as JSON (`null` when the request did not ask for them).
    fn totals_json(&mut self) -> ApiResult<Json_> {
        let Some(t) = self.totals.take() else {
            return Ok(Json_::Null);
        };
        let mut o = Map::new();
        if !t.is_empty() {
            let values = t
                .finish()
                .map_err(|e| evaluation_error(self.entry, self.policy, e))?;
            for (d, v) in values {
                let def = &self.policy.program.defs[d as usize];
                o.insert(def.name.clone(), value_json(self.policy, def.ty, &v));
            }
        }
        Ok(Json_::Object(o))
    }

    /// The CSV answer: a header line, then the rows.
    fn csv_response(self) -> Response {
        let mut out = String::with_capacity(self.lines.len() * 32 + 64);
        out.push_str("household_id");
        for n in &self.names {
            out.push(',');
            out.push_str(&csv_cell(n));
        }
        out.push('\n');
        for l in self.lines {
            out.push_str(&l);
        }
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::HeaderName::from_static("x-doudi-policy-version"),
                    self.entry.version.clone(),
                ),
            ],
            out,
        )
            .into_response()
    }
}

fn evaluate_blocking(
    st: &AppState,
    entry: &PolicyEntry,
    mut req: EvaluateRequest,
) -> ApiResult<Response> {
    let m = month(&req.period)?;
    let csv = wants_csv(req.format.as_deref())?;
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
    let defs = &policy.program.defs;
    let mut ev = Evaluation {
        st,
        entry,
        policy,
        month: m,
        names: outputs
            .iter()
            .map(|&d| defs[d as usize].name.clone())
            .collect(),
        tys: outputs.iter().map(|&d| defs[d as usize].ty).collect(),
        outputs,
        csv,
        totals: req.totals.then(|| Totals::new(policy, m)),
        json_rows: Vec::new(),
        lines: Vec::new(),
        log: Vec::new(),
        count: 0,
    };
    match source {
        Source::All(hs) => ev.chunk(&hs, &req)?,
        Source::Chunks(chunks) => {
            for chunk in *chunks {
                let chunk = chunk.map_err(|e| invalid(entry, "bad_data", format!("error: {e}")))?;
                ev.chunk(&chunk, &req)?;
            }
        }
    }
    let totals_json = ev.totals_json()?;
    write_log(st, &ev.log);
    if csv {
        return Ok(ev.csv_response());
    }
    let mut body = reply(
        entry,
        json!({
            "period": m.to_string(),
            "outputs": ev.names,
            "results": ev.json_rows,
        }),
    )
    .0;
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
