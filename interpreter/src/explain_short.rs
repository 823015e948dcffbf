//! Short views of a derivation tree: `doudi explain --short` (the deciding conditions and the
//! citations, as a compact list) and the differing path a failing policy test leads with (the chain
//! of definitions from the output down to the first one whose value explains the difference).

use crate::explain::{cite, Node, ParamUse};
use std::collections::HashMap;

fn header(n: &Node) -> String {
    let label = n
        .label
        .as_deref()
        .map(|l| format!(" {l}"))
        .unwrap_or_default();
    format!("{}{label} = {}   [{}]", n.name, n.value, n.of)
}

/// Every node of the tree that is explained in full (not "explained above"), in reading order.
fn full_nodes<'n>(n: &'n Node, out: &mut Vec<&'n Node>) {
    if n.see_above {
        return;
    }
    out.push(n);
    for c in &n.children {
        full_nodes(c, out);
    }
}

/// Keeps the first occurrence of each key, in order, gathering who it belongs to.
fn add_once(list: &mut Vec<(String, Vec<String>)>, key: String, who: &str) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, whos)) => {
            if !whos.iter().any(|w| w == who) {
                whos.push(who.to_string());
            }
        }
        None => list.push((key, vec![who.to_string()])),
    }
}

/// `doudi explain --short`: the output, what decided each definition on its derivation (the
/// exception that applied, the `if` branch taken, the table row that matched), the parameters with
/// the dates and layers their values come from, and the citations of what decided.
pub fn render_short(root: &Node) -> String {
    let mut nodes = Vec::new();
    full_nodes(root, &mut nodes);
    let mut out = format!("{}\n", header(root));
    // (definition, value, what decided, where) → who: one line for the members it is the same for.
    let mut decided: Vec<(String, Vec<String>)> = Vec::new();
    let mut params: Vec<(String, Vec<String>)> = Vec::new();
    let mut cites: Vec<(String, Vec<String>)> = Vec::new();
    for (k, n) in nodes.iter().enumerate() {
        let reasons = deciding(n);
        for (text, location) in &reasons {
            // The head holds no line break (names and one-line values), so it splits back off.
            let key = format!("{} = {}\n{text}   ({location})", n.name, n.value);
            add_once(&mut decided, key, &n.of);
        }
        if k == 0 || !reasons.is_empty() {
            let own = match &n.exception {
                Some(x) => &x.citations,
                None => &n.citations,
            };
            for c in own {
                add_once(&mut cites, cite(c), &n.name);
            }
        }
        for p in &n.parameters {
            add_once(&mut params, param_line(p), &n.name);
        }
    }
    if decided.is_empty() {
        out.push_str("decided by: its formula alone (no exception, branch or table row)\n");
    } else {
        out.push_str("decided by:\n");
        for (line, whos) in &decided {
            let (head, tail) = line.split_once('\n').unwrap_or((line.as_str(), ""));
            out.push_str(&format!("  {head}   [{}]: {tail}\n", whos.join(", ")));
        }
    }
    if !params.is_empty() {
        out.push_str("parameters:\n");
        for (p, _) in &params {
            out.push_str(&format!("  {p}\n"));
        }
    }
    if !cites.is_empty() {
        out.push_str("citations:\n");
        for (c, whos) in &cites {
            out.push_str(&format!("  {c}   (for {})\n", whos.join(", ")));
        }
    }
    out
}

/// What decided one definition: the exception, `if` branches or table rows; for a condition
/// written as a formula, the formula (or, when it is false, the parts that failed).
fn deciding(n: &Node) -> Vec<(String, String)> {
    if !n.decided_by.is_empty() {
        return n
            .decided_by
            .iter()
            .map(|d| (d.text.clone(), d.location.clone()))
            .collect();
    }
    if n.formula == "true" || n.formula == "false" {
        return Vec::new();
    }
    match (n.ty.as_str(), n.value.as_str()) {
        ("bool", "true") => vec![(format!("`{}` holds", n.formula), n.location.clone())],
        ("bool", "false") if !n.why_not.is_empty() => vec![(
            format!("why not: {}", n.why_not.join("; ")),
            n.location.clone(),
        )],
        ("bool", "false") => vec![(format!("`{}` is false", n.formula), n.location.clone())],
        _ => Vec::new(),
    }
}

fn param_line(p: &ParamUse) -> String {
    let (key, from) = (p.key_text(), p.in_force_text());
    let over = p
        .overridden_at
        .as_deref()
        .map(|o| format!(", overridden at {o}"))
        .unwrap_or_default();
    let mut line = format!("{}{key} = {}{from}{over}", p.name, p.value);
    for c in &p.citations {
        line.push_str(&format!("\n      {}", cite(c)));
    }
    line
}

/// The chain of definitions from the output down to the first one whose value explains the
/// difference: a false condition is followed to the part that failed; a value computed from a single
/// definition is followed into it; the walk stops where a value combines several definitions, inputs
/// or parameters, and lists them (one of them differs from what the test's author expected).
pub fn differing_path(root: &Node) -> String {
    let mut full: HashMap<(&str, &str), &Node> = HashMap::new();
    let mut all = Vec::new();
    full_nodes(root, &mut all);
    for n in all {
        full.entry((n.name.as_str(), n.of.as_str())).or_insert(n);
    }
    let mut out = String::new();
    let mut n = root;
    // A tree has no cycles; the bound only keeps a malformed one from running away.
    for depth in 0..256 {
        let pad = "  ".repeat(depth);
        out.push_str(&format!("{pad}{}\n", header(n)));
        out.push_str(&format!("{pad}  = {}\n", n.formula));
        match &n.defined_at {
            Some(d) => out.push_str(&format!(
                "{pad}  at {}   (the exception; {} itself is defined at {d})\n",
                n.location, n.name
            )),
            None => out.push_str(&format!("{pad}  at {}\n", n.location)),
        }
        for d in &n.decided_by {
            out.push_str(&format!(
                "{pad}  decided by: {}   ({})\n",
                d.text, d.location
            ));
        }
        for w in &n.why_not {
            out.push_str(&format!("{pad}  why not: {w}\n"));
        }
        let next = next_on_path(n).and_then(|c| {
            if c.see_above {
                full.get(&(c.name.as_str(), c.of.as_str())).copied()
            } else {
                Some(c)
            }
        });
        match next {
            Some(c) => n = c,
            None => {
                // A failed condition is explained by its "why not" lines; a value by what it combines.
                if n.why_not.is_empty() {
                    out.push_str(&combines(n, &pad));
                }
                break;
            }
        }
    }
    out
}

/// The one child that explains a node's value, if there is one.
fn next_on_path(n: &Node) -> Option<&Node> {
    if !n.why_not.is_empty() {
        return n.why_not.iter().find_map(|w| {
            n.children.iter().find(|c| {
                c.value == "false"
                    && (w == &format!("{} is false", c.name)
                        || w.starts_with(&format!("{} (", c.name)))
            })
        });
    }
    let mut distinct: Vec<&Node> = Vec::new();
    for c in &n.children {
        if !distinct.iter().any(|d| d.name == c.name && d.of == c.of) {
            distinct.push(c);
        }
    }
    match distinct.as_slice() {
        [only] if n.inputs.is_empty() && n.parameters.is_empty() => Some(only),
        _ => None,
    }
}

/// The values a node's formula combines, one a line.
fn combines(n: &Node, pad: &str) -> String {
    let mut lines = Vec::new();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for c in &n.children {
        if !seen.contains(&(c.name.as_str(), c.of.as_str())) {
            seen.push((c.name.as_str(), c.of.as_str()));
            lines.push(header(c));
        }
    }
    for i in &n.inputs {
        lines.push(format!("input {} = {}   [{}]", i.name, i.value, i.of));
    }
    for p in &n.parameters {
        let key = p
            .key
            .as_deref()
            .map(|k| format!("[{k}]"))
            .unwrap_or_default();
        lines.push(format!("parameter {}{key} = {}", p.name, p.value));
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut out = format!("{pad}  from:\n");
    for l in lines {
        out.push_str(&format!("{pad}    {l}\n"));
    }
    out
}
