//! Explaining one household's output (a derivation tree) and its benefit chain.

use super::{
    evaluation_error, invalid, month, on_policy, pick, reply, with_overrides, SetValue, St,
};
use crate::error::{ApiError, ApiResult};
use crate::state::PolicyEntry;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use doudi_dsl::ast::EntityKind;
use doudi_interpreter::explain as ex;
use doudi_interpreter::{data, HouseholdEval, Policy, Scope};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value as Json_};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    #[serde(default = "super::default_period")]
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

pub async fn explain(
    State(st): St,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Json_>> {
    on_policy(st, &name, body, explain_blocking).await
}

fn explain_blocking(entry: &PolicyEntry, req: ExplainRequest) -> ApiResult<Json<Json_>> {
    let m = month(&req.period)?;
    let eff = with_overrides(entry, &req.set)?;
    let policy = eff.get();
    let output = req
        .output
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("error: give the `output` to explain"))?;
    let hh = pick(entry, policy, &req.household, req.household_id.as_deref())?;
    let id = policy
        .output(output)
        .map_err(|e| invalid(entry, "bad_output", format!("error: --output: {e}")))?;
    let scope = scope(entry, policy, id, output, &hh, req.member.as_deref())?;
    let mut ev = HouseholdEval::new(policy, &hh, m);
    let node = ex::explain(&mut ev, id, scope).map_err(|e| evaluation_error(entry, policy, e))?;
    Ok(reply(
        entry,
        json!({
            "period": m.to_string(),
            "household_id": hh.id,
            "output": output,
            "text": ex::render_text(&node),
            "explanation": node,
        }),
    ))
}

/// Whom the output is explained for: the household, or the `member` a person definition needs
/// (the CLI's rules for --member, with its messages).
fn scope(
    entry: &PolicyEntry,
    policy: &Policy,
    id: u32,
    output: &str,
    hh: &data::Household,
    member: Option<&str>,
) -> ApiResult<Scope> {
    let err = |m: String| invalid(entry, "bad_output", m);
    let def = &policy.program.defs[id as usize];
    match (def.entity, member) {
        (EntityKind::Household, None) => Ok(Scope::Household),
        (EntityKind::Person, Some(pid)) => {
            let i =
                hh.members.iter().position(|p| p.id == pid).ok_or_else(|| {
                    err(format!("error: no member `{pid}` in household {}", hh.id))
                })?;
            Ok(Scope::Person(i))
        }
        (EntityKind::Person, None) => {
            let ids: Vec<&str> = hh.members.iter().map(|p| p.id.as_str()).collect();
            Err(err(format!(
                "error: `{output}` is a person definition: add --member (one of {})",
                ids.join(", ")
            )))
        }
        (EntityKind::Household, Some(_)) => Err(err(format!(
            "error: `{output}` is a household definition: drop --member"
        ))),
        (EntityKind::Programme, _) => Err(err(format!(
            "error: `{output}` is a programme total: use `doudi eval --totals`"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainRequest {
    #[serde(default = "super::default_period")]
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
    on_policy(st, &name, body, chain_blocking).await
}

fn chain_blocking(entry: &PolicyEntry, req: ChainRequest) -> ApiResult<Json<Json_>> {
    let m = month(&req.period)?;
    let eff = with_overrides(entry, &req.set)?;
    let policy = eff.get();
    let programmes = entry
        .programmes
        .as_ref()
        .map_err(|e| invalid(entry, "bad_chain", format!("error: {e}")))?;
    let hh = pick(entry, policy, &req.household, req.household_id.as_deref())?;
    let c = doudi_interpreter::chain::chain(policy, programmes, &hh, m)
        .map_err(|e| evaluation_error(entry, policy, e))?;
    Ok(reply(
        entry,
        json!({
            "period": m.to_string(),
            "household_id": hh.id,
            "text": doudi_interpreter::chain::render_text(&c),
            "chain": c,
        }),
    ))
}
