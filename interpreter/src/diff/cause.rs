//! Why an output changed for one household: the output is explained in both policies (the
//! reference evaluator's derivation trees, [`crate::explain`]), and the trees are walked from the
//! inputs up (children before the definitions that use them). The first definition whose value
//! differs between the two trees, for the same household or member, is the cause: everything it
//! uses has the same value in both policies, so its own rule (an exception, a branch, a table row)
//! or a parameter it reads is what the change touched. Each side shows where its deciding rule is
//! written, with citations, and the parameters whose value or source differs.

use super::DiffError;
use crate::data::Household;
use crate::eval::{HouseholdEval, Month, Scope};
use crate::explain::{explain, Decision, Node, ParamUse};
use crate::policy::Policy;
use doudi_dsl::ir::{Citation, DefId};
use std::collections::HashMap;

/// Where one policy decides the cause's value.
#[derive(Debug, Clone)]
pub struct RuleAt {
    pub value: String,
    /// The formula that gave the value.
    pub formula: String,
    /// Where that formula is written (the definition, or the exception that applied).
    pub location: String,
    /// When an exception decided: where the definition itself is written.
    pub defined_at: Option<String>,
    /// The exception that applied, the `if` branches taken or the table rows that matched.
    pub decided_by: Vec<Decision>,
    /// The definition's citations, then the applied exception's.
    pub citations: Vec<Citation>,
}

/// One parameter value the cause reads in either policy.
#[derive(Debug, Clone)]
pub struct ParamSide {
    pub value: String,
    pub in_force_from: Option<String>,
    /// Where the value in force is written (`file:line:col`).
    pub at: String,
    pub citations: Vec<Citation>,
}

/// A parameter whose value, date or source differs between the two policies.
#[derive(Debug, Clone)]
pub struct ParamChange {
    pub name: String,
    pub label: Option<String>,
    pub key: Option<String>,
    /// `None`: the policy's rule does not read it.
    pub base: Option<ParamSide>,
    pub new: Option<ParamSide>,
}

/// The first definition, from the inputs up, whose value differs.
#[derive(Debug, Clone)]
pub struct Cause {
    pub name: String,
    pub label: Option<String>,
    /// `household H1` or `member P2`.
    pub of: String,
    pub base: RuleAt,
    pub new: RuleAt,
    pub parameters: Vec<ParamChange>,
}

/// An explained example household.
#[derive(Debug, Clone)]
pub struct Example {
    pub household: String,
    pub output: String,
    pub label: Option<String>,
    pub base_value: String,
    pub new_value: String,
    /// `None` only if no definition common to both derivations differs (cannot happen for an
    /// output that changed, since the output itself is one).
    pub cause: Option<Cause>,
}

/// Explains why output `ob` (base) / `on` (new) changed for one household.
pub(super) fn example(
    bp: &Policy,
    np: &Policy,
    hb: &Household,
    hn: &Household,
    month: Month,
    ob: DefId,
    on: DefId,
) -> Result<Example, DiffError> {
    let tree = |p: &Policy, h: &Household, d: DefId, which: &str| {
        let mut ev = HouseholdEval::new(p, h, month);
        explain(&mut ev, d, Scope::Household).map_err(|e| {
            DiffError(format!(
                "{}\nnote: in the {which} policy, explaining household {}",
                e.render(p.sources()).trim_end(),
                h.id
            ))
        })
    };
    let (tb, tn) = (tree(bp, hb, ob, "base")?, tree(np, hn, on, "new")?);
    let date = month.first_day();
    let cause = find_cause(&tb, &tn).map(|(b, n)| Cause {
        name: b.name.clone(),
        label: n.label.clone().or_else(|| b.label.clone()),
        of: b.of.clone(),
        base: rule_at(b),
        new: rule_at(n),
        parameters: param_changes(bp, np, date, b, n),
    });
    Ok(Example {
        household: hb.id.clone(),
        output: tn.name.clone(),
        label: tn.label.clone(),
        base_value: tb.value.clone(),
        new_value: tn.value.clone(),
        cause,
    })
}

type Key<'a> = (&'a str, &'a str);

/// Every fully explained node of a tree by (definition, of whom).
fn index<'a>(n: &'a Node, out: &mut HashMap<Key<'a>, &'a Node>) {
    if !n.see_above {
        out.entry((n.name.as_str(), n.of.as_str())).or_insert(n);
    }
    for c in &n.children {
        index(c, out);
    }
}

/// The first node of `tree`, children first, whose counterpart in `other` has another value.
fn first_differing<'a, 'b>(
    tree: &'a Node,
    other: &HashMap<Key<'b>, &'b Node>,
) -> Option<(&'a Node, &'b Node)> {
    if tree.see_above {
        return None;
    }
    for c in &tree.children {
        if let Some(found) = first_differing(c, other) {
            return Some(found);
        }
    }
    match other.get(&(tree.name.as_str(), tree.of.as_str())) {
        Some(o) if o.value != tree.value => Some((tree, o)),
        _ => None,
    }
}

/// The cause of a difference between the derivations `base` and `new` of one output: the first
/// definition, from the inputs up, with another value in the other tree (searched in the base
/// tree, then in the new one, for a definition only the new derivation reaches). Returns the base
/// and new nodes.
pub fn find_cause<'a>(base: &'a Node, new: &'a Node) -> Option<(&'a Node, &'a Node)> {
    let mut new_ix = HashMap::new();
    index(new, &mut new_ix);
    if let Some(found) = first_differing(base, &new_ix) {
        return Some(found);
    }
    let mut base_ix = HashMap::new();
    index(base, &mut base_ix);
    first_differing(new, &base_ix).map(|(n, b)| (b, n))
}

fn rule_at(n: &Node) -> RuleAt {
    let mut citations = n.citations.clone();
    if let Some(x) = &n.exception {
        citations.extend(x.citations.iter().cloned());
    }
    RuleAt {
        value: n.value.clone(),
        formula: n.formula.clone(),
        location: n.location.clone(),
        defined_at: n.defined_at.clone(),
        decided_by: n.decided_by.clone(),
        citations,
    }
}

/// Where the value of parameter `name` in force on `date` is written in `p`.
fn param_at(p: &Policy, name: &str, date: doudi_dsl::ast::Date) -> String {
    let program = &p.program;
    let Some(param) = program
        .param_by_name(name)
        .map(|i| &program.params[i as usize])
    else {
        return String::new();
    };
    let span = param.version_at(date).map(|v| v.span).unwrap_or(param.span);
    program.sources.location(span)
}

fn side(p: &Policy, date: doudi_dsl::ast::Date, u: &ParamUse) -> ParamSide {
    ParamSide {
        value: u.value.clone(),
        in_force_from: u.in_force_from.clone(),
        at: param_at(p, &u.name, date),
        citations: u.citations.clone(),
    }
}

/// The parameters read by either node whose value, date or source differs.
fn param_changes(
    bp: &Policy,
    np: &Policy,
    date: doudi_dsl::ast::Date,
    b: &Node,
    n: &Node,
) -> Vec<ParamChange> {
    let mut out: Vec<ParamChange> = Vec::new();
    let same = |x: &ParamUse, y: &ParamUse| x.name == y.name && x.key == y.key;
    for u in &b.parameters {
        let other = n.parameters.iter().find(|v| same(u, v));
        let (bs, ns) = (side(bp, date, u), other.map(|v| side(np, date, v)));
        let differs = match &ns {
            None => true,
            Some(ns) => {
                ns.value != bs.value || ns.in_force_from != bs.in_force_from || ns.at != bs.at
            }
        };
        if differs {
            out.push(ParamChange {
                name: u.name.clone(),
                label: u.label.clone(),
                key: u.key.clone(),
                base: Some(bs),
                new: ns,
            });
        }
    }
    for v in &n.parameters {
        if !b.parameters.iter().any(|u| same(u, v)) {
            out.push(ParamChange {
                name: v.name.clone(),
                label: v.label.clone(),
                key: v.key.clone(),
                base: None,
                new: Some(side(np, date, v)),
            });
        }
    }
    out
}
