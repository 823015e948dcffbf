//! The benefit chain (seed 000: 一户一条救助链): every programme a household and each member
//! qualifies for, with the monthly amount, and for the others the nearest failing condition.

use crate::data::Household;
use crate::eval::{EvalError, HouseholdEval, Month, Scope};
use crate::explain::{explain, failing_conditions};
use crate::policy::Policy;
use doudi_dsl::ast::EntityKind;
use doudi_dsl::ir::{DefId, Ty};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A programme of the chain: a condition and (optionally) its monthly amount, both definitions of
/// the same entity.
#[derive(Debug, Clone)]
pub struct Programme {
    pub name: String,
    pub eligible: DefId,
    pub amount: Option<DefId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainFile {
    programme: Vec<ProgrammeEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgrammeEntry {
    name: String,
    eligible: String,
    amount: Option<String>,
}

/// The programmes of a policy: from `chain.toml` in the policy directory (`[[programme]]` with `name`,
/// `eligible`, `amount`), else every boolean definition named `*_eligible` with `*_payment` as amount.
pub fn programmes(policy: &Policy, policy_path: &Path) -> Result<Vec<Programme>, String> {
    let p = &policy.program;
    let file = policy_path.join("chain.toml");
    if file.is_file() {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let cf: ChainFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        return cf
            .programme
            .into_iter()
            .map(|e| {
                let eligible = p.find_def(&e.eligible).ok_or_else(|| format!("{}: unknown definition `{}`", file.display(), e.eligible))?;
                if p.defs[eligible as usize].ty != Ty::Bool {
                    return Err(format!("{}: `{}` is not a condition", file.display(), e.eligible));
                }
                let entity = p.defs[eligible as usize].entity;
                let amount = match e.amount {
                    Some(a) => Some(p.def_by_name(entity, &a).ok_or_else(|| {
                        format!("{}: `{a}` is not a {} definition (the amount is of the same entity as `{}`)", file.display(), entity.as_str(), e.eligible)
                    })?),
                    None => None,
                };
                Ok(Programme { name: e.name, eligible, amount })
            })
            .collect();
    }
    Ok(p.defs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.ty == Ty::Bool && d.name.ends_with("_eligible") && d.entity != EntityKind::Programme)
        .map(|(i, d)| {
            let stem = d.name.trim_end_matches("_eligible");
            let amount = p.def_by_name(d.entity, &format!("{stem}_payment"));
            Programme { name: d.label.clone().unwrap_or_else(|| stem.to_string()), eligible: i as DefId, amount }
        })
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub programme: String,
    /// `household H1` or `member P2`.
    pub of: String,
    pub qualifies: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_amount: Option<String>,
    /// For a programme not qualified for: the first failing condition, then the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub household: String,
    pub month: String,
    pub links: Vec<Link>,
}

pub fn chain(policy: &Policy, programmes: &[Programme], hh: &Household, month: Month) -> Result<Chain, EvalError> {
    let mut ev = HouseholdEval::new(policy, hh, month);
    let mut links = Vec::new();
    for prog in programmes {
        let def = &policy.program.defs[prog.eligible as usize];
        let scopes: Vec<(Scope, String)> = match def.entity {
            EntityKind::Person => hh.members.iter().enumerate().map(|(i, m)| (Scope::Person(i), format!("member {}", m.id))).collect(),
            _ => vec![(Scope::Household, format!("household {}", hh.id))],
        };
        for (scope, of) in scopes {
            let ok = ev.def(prog.eligible, scope)?.as_bool();
            let monthly_amount = match (ok, prog.amount) {
                (true, Some(a)) => {
                    let v = ev.def(a, scope)?;
                    Some(policy.display(policy.program.defs[a as usize].ty, &v))
                }
                _ => None,
            };
            let failing = if ok {
                Vec::new()
            } else {
                let node = explain(&mut ev, prog.eligible, scope)?;
                failing_conditions(&node).into_iter().map(|f| f.reason).collect()
            };
            links.push(Link { programme: prog.name.clone(), of, qualifies: ok, monthly_amount, failing });
        }
    }
    Ok(Chain { household: hh.id.clone(), month: month.to_string(), links })
}

pub fn render_text(c: &Chain) -> String {
    let mut out = format!("benefit chain of household {} for {}\n", c.household, c.month);
    for l in c.links.iter().filter(|l| l.qualifies) {
        let amt = l.monthly_amount.as_deref().map(|a| format!(": {a} a month")).unwrap_or_default();
        out.push_str(&format!("  ✔ {} [{}]{amt}\n", l.programme, l.of));
    }
    for l in c.links.iter().filter(|l| !l.qualifies) {
        let first = l.failing.first().cloned().unwrap_or_else(|| "not eligible".into());
        out.push_str(&format!("  ✘ {} [{}]: {first}\n", l.programme, l.of));
        for more in l.failing.iter().skip(1) {
            out.push_str(&format!("      also: {more}\n"));
        }
    }
    out
}
