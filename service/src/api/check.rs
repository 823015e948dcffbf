//! Drafting: checking a drafter's text (alone or over a loaded policy's layers) and running the
//! policy's tests over the loaded policy or an edited file.

use super::{blocking, body_bytes, invalid, parse_body, policy, reply, St};
use crate::error::{ApiError, ApiResult};
use crate::state::PolicyEntry;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use doudi_dsl::diag::{Diagnostic, SourceMap};
use doudi_interpreter::Policy;
use serde::Deserialize;
use serde_json::{json, Value as Json_};

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

/// Checks a drafter's text, alone or as a file of a loaded policy.
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
    blocking(move || test_blocking(&entry, req)).await
}

/// The policy with the drafter's `file` of its top layer replaced by `text` (or added), checked;
/// a policy that does not check is a 422 with the diagnostics.
fn edited_policy(entry: &PolicyEntry, file: &str, text: &str) -> ApiResult<Policy> {
    if file.contains(['/', '\\']) || !file.ends_with(".doudi") {
        return Err(ApiError::invalid(
            "bad_file",
            format!("error: file `{file}`: a file name ending in .doudi, without a directory"),
        ));
    }
    let loaded = over_layers(entry, file, text);
    let (program, diags) = doudi_dsl::check::check(&loaded);
    let mut all = loaded.diagnostics.clone();
    all.extend(diags);
    let failed = |all: &[Diagnostic]| {
        invalid(
            entry,
            "policy_does_not_load",
            doudi_dsl::diag::render_all(all, &loaded.sources),
        )
        .with_detail(json!({"diagnostics": diagnostics_json(all, &loaded.sources)}))
    };
    match program {
        Some(p) if !all.iter().any(|d| d.is_error()) => Policy::new(p).map_err(|d| failed(&d)),
        _ => Err(failed(&all)),
    }
}

fn test_blocking(entry: &PolicyEntry, req: TestRequest) -> ApiResult<Json<Json_>> {
    let edited;
    let policy: &Policy = match (&req.file, &req.text) {
        (Some(file), Some(text)) => {
            edited = edited_policy(entry, file, text)?;
            &edited
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
    Ok(reply(
        entry,
        json!({
            "edited": req.text.is_some(),
            "passed": passed,
            "failed": failed,
            "cases": cases,
        }),
    ))
}
