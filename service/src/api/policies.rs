//! What a policy declares: the loaded policies, their parameters over time, definitions, inputs
//! and source files, and reloading one.

use super::{diagnostics_json, invalid, policy, reply, St};
use crate::error::{ApiError, ApiResult};
use crate::state::PolicyEntry;
use axum::extract::{Path, State};
use axum::Json;
use doudi_dsl::ast::EntityKind;
use doudi_dsl::ir::{Citation, Const};
use doudi_interpreter::{Policy, Value};
use serde_json::{json, Map, Value as Json_};

/// A loaded policy in the list.
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

/// The loaded policies.
pub async fn list_policies(State(st): St) -> Json<Json_> {
    Json(json!({ "policies": st.policies.all().iter().map(|p| summary(p)).collect::<Vec<_>>() }))
}

/// One loaded policy.
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
        Err(f) => Err(invalid(
            &old,
            "policy_does_not_load",
            format!(
                "{}error: the policy does not load; still serving the loaded version",
                f.rendered
            ),
        )
        .with_detail(json!({
            "diagnostics": diagnostics_json(&f.error.diagnostics, &f.error.sources),
            "errors": f.error.errors,
        }))),
    }
}

/// Citations as JSON.
fn citations(c: &[Citation]) -> Json_ {
    serde_json::to_value(c).unwrap_or(Json_::Null)
}

/// A constant of the policy as [`value_json`] writes it.
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
    Ok(reply(
        &p,
        json!({
            "parameters": params,
        }),
    ))
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
    Ok(reply(
        &p,
        json!({
            "definitions": defs,
            "inputs": all_inputs,
            "enums": enums,
        }),
    ))
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
    Ok(reply(
        &p,
        json!({
            "layers": p.policy.program.layers,
            "files": files,
        }),
    ))
}
