//! Explanations: the derivation tree of a value (formula, inputs, parameters with their effective dates,
//! citations, the exception that applied) and, for a condition that is false, which parts failed.

use crate::eval::{cell_matches, EvalError, HouseholdEval, Scope};
use crate::policy::Policy;
use crate::programme::children;
use crate::value::Value;
use doudi_dsl::ast::{CmpOp, Span};
use doudi_dsl::ir::*;
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, Serialize)]
pub struct InputUse {
    pub name: String,
    pub label: Option<String>,
    /// `household H1` or `member P2`.
    pub of: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamUse {
    pub name: String,
    pub label: Option<String>,
    pub key: Option<String>,
    pub value: String,
    /// The date from which this value is in force (`None`: always).
    pub in_force_from: Option<String>,
    pub citations: Vec<Citation>,
    /// Where the value in force is written, when a later layer overrode the parameter
    /// (`override parameter`): the layer's file and line, not the base declaration's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden_at: Option<String>,
}

impl ParamUse {
    /// `[key]` for a value looked up by key, else empty.
    pub fn key_text(&self) -> String {
        self.key
            .as_deref()
            .map(|k| format!("[{k}]"))
            .unwrap_or_default()
    }
    /// `, in force from DATE` for a dated value, else empty.
    pub fn in_force_text(&self) -> String {
        self.in_force_from
            .as_deref()
            .map(|f| format!(", in force from {f}"))
            .unwrap_or_default()
    }
}

/// What decided a definition's value: the exception that applied, the branch of an `if` that was
/// taken, or the row of a decision table that matched.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub text: String,
    pub location: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExceptionUse {
    pub label: Option<String>,
    pub condition: String,
    pub location: String,
    pub citations: Vec<Citation>,
}

/// One node of a derivation tree.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub name: String,
    pub label: Option<String>,
    /// `household H1` or `member P2`.
    pub of: String,
    pub value: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub formula: String,
    /// Where the formula that gave the value is written: the definition, or the exception that
    /// applied (which may live in another layer).
    pub location: String,
    /// When an exception decided: where the definition itself is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defined_at: Option<String>,
    pub citations: Vec<Citation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionUse>,
    /// The exception, taken `if` branches or matching table rows that decided the value.
    #[serde(skip)]
    pub decided_by: Vec<Decision>,
    pub inputs: Vec<InputUse>,
    pub parameters: Vec<ParamUse>,
    /// For a condition that is false: what failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why_not: Vec<String>,
    /// For each `why_not` sentence: the input or definition it is about (e.g. `vehicles`).
    #[serde(skip)]
    pub why_not_subjects: Vec<String>,
    pub children: Vec<Node>,
    /// Already explained higher up in this tree (children omitted).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub see_above: bool,
}

/// Source text of a span, on one line.
pub fn snippet(policy: &Policy, span: Span) -> String {
    let Some(f) = policy.program.sources.files.get(span.file as usize) else {
        return String::new();
    };
    let (s, e) = (span.start as usize, (span.end as usize).min(f.text.len()));
    let raw = f.text.get(s..e).unwrap_or("");
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Builder<'e, 'a> {
    ev: &'e mut HouseholdEval<'a>,
    seen: HashSet<(u8, usize, DefId)>,
}

fn scope_key(s: Scope) -> (u8, usize) {
    match s {
        Scope::Household => (0, 0),
        Scope::Person(i) => (1, i),
        Scope::Programme => (2, 0),
    }
}

/// Explains definition `id` evaluated in `scope` of the evaluator's household.
pub fn explain(ev: &mut HouseholdEval<'_>, id: DefId, scope: Scope) -> Result<Node, EvalError> {
    let mut b = Builder {
        ev,
        seen: HashSet::new(),
    };
    b.node(id, scope)
}

impl<'e, 'a> Builder<'e, 'a> {
    fn who(&self, scope: Scope) -> String {
        match scope {
            Scope::Person(i) => format!("member {}", self.ev.hh.members[i].id),
            Scope::Household => format!("household {}", self.ev.hh.id),
            Scope::Programme => "programme".into(),
        }
    }

    fn node(&mut self, id: DefId, scope: Scope) -> Result<Node, EvalError> {
        let policy = self.ev.policy;
        let program = &policy.program;
        let def = &program.defs[id as usize];
        let value = self.ev.def(id, scope)?;
        let (k0, k1) = scope_key(scope);
        let see_above = !self.seen.insert((k0, k1, id));
        let mut node = Node {
            name: def.name.clone(),
            label: def.label.clone(),
            of: self.who(scope),
            value: policy.display_exact(def.ty, &value),
            ty: program.ty_name(def.ty),
            formula: String::new(),
            location: program.sources.location(def.span),
            defined_at: None,
            citations: def.citations.clone(),
            exception: None,
            decided_by: Vec::new(),
            inputs: Vec::new(),
            parameters: Vec::new(),
            why_not: Vec::new(),
            why_not_subjects: Vec::new(),
            children: Vec::new(),
            see_above,
        };
        if see_above {
            return Ok(node);
        }
        let mut used: Vec<&Expr> = Vec::new();
        match self.ev.applied_exception(id, scope) {
            Some(i) => {
                let x = &def.exceptions[i];
                node.exception = Some(ExceptionUse {
                    label: x.label.clone(),
                    condition: snippet(policy, x.cond.span),
                    location: program.sources.location(x.span),
                    citations: x.citations.clone(),
                });
                node.formula = snippet(policy, x.value.span);
                node.defined_at = Some(std::mem::replace(
                    &mut node.location,
                    program.sources.location(x.span),
                ));
                node.decided_by.push(Decision {
                    text: format!(
                        "exception{} applies: {}",
                        x.label
                            .as_deref()
                            .map(|l| format!(" «{l}»"))
                            .unwrap_or_default(),
                        snippet(policy, x.cond.span)
                    ),
                    location: program.sources.location(x.span),
                });
                used.push(&x.cond);
                used.push(&x.value);
                if value == Value::Bool(false) {
                    node.why_not_subjects.push(subject(program, &x.cond, scope));
                    node.why_not.push(format!(
                        "the exception {} applies: {}",
                        x.label
                            .as_deref()
                            .map(|l| format!("«{l}»"))
                            .unwrap_or_default(),
                        snippet(policy, x.cond.span)
                    ));
                }
            }
            None => match &def.body {
                DefBody::Expr(e) => {
                    node.formula = snippet(policy, e.span);
                    self.branches(e, scope, &mut node.decided_by)?;
                    used.push(e);
                    if value == Value::Bool(false) {
                        let mut w = Vec::new();
                        self.why_not(e, scope, &mut w)?;
                        for (subj, text) in w {
                            node.why_not_subjects.push(subj);
                            node.why_not.push(text);
                        }
                    }
                }
                DefBody::Table(t) => {
                    let cols: Vec<String> =
                        t.columns.iter().map(|c| snippet(policy, c.span)).collect();
                    node.formula = format!("decision table ({:?}) over {}", t.hit, cols.join(", "))
                        .to_lowercase();
                    self.rows(t, scope, &mut node.decided_by)?;
                    used.extend(t.columns.iter());
                }
            },
        }
        for e in used {
            self.refs(e, scope, &mut node)?;
        }
        Ok(node)
    }

    /// The conditions of the `if`s taken on the way to the value (`if A then … else if B …`).
    fn branches(
        &mut self,
        e: &Expr,
        scope: Scope,
        out: &mut Vec<Decision>,
    ) -> Result<(), EvalError> {
        let policy = self.ev.policy;
        let mut e = e;
        // A chain of `else if`s is as long as the source; it is walked, not recursed.
        while let ExprKind::If(c, a, b) = &e.kind {
            let holds = self.ev.eval(c, scope)?.as_bool();
            out.push(Decision {
                text: format!("`{}` is {holds}", snippet(policy, c.span)),
                location: policy.program.sources.location(c.span),
            });
            e = if holds { a } else { b };
        }
        Ok(())
    }

    /// The rows of a decision table that matched (or its `otherwise`).
    fn rows(&mut self, t: &Table, scope: Scope, out: &mut Vec<Decision>) -> Result<(), EvalError> {
        let policy = self.ev.policy;
        let cols: Vec<Value> = t
            .columns
            .iter()
            .map(|c| self.ev.eval(c, scope))
            .collect::<Result<_, _>>()?;
        let shown: Vec<String> = t
            .columns
            .iter()
            .zip(&cols)
            .map(|(c, v)| format!("{} = {}", snippet(policy, c.span), policy.display(c.ty, v)))
            .collect();
        for (ri, row) in t.rows.iter().enumerate() {
            let hit =
                row.cells.iter().zip(&cols).all(|(tests, v)| {
                    tests.is_empty() || tests.iter().any(|tst| cell_matches(tst, v))
                });
            if hit {
                out.push(Decision {
                    text: format!("row {} of the table matches {}", ri + 1, shown.join(", ")),
                    location: policy.program.sources.location(row.span),
                });
                if t.hit != doudi_dsl::ast::HitPolicy::Sum {
                    return Ok(());
                }
            }
        }
        if out.is_empty() && t.hit != doudi_dsl::ast::HitPolicy::Sum {
            if let Some(o) = &t.otherwise {
                out.push(Decision {
                    text: format!(
                        "no row of the table matches {}: otherwise",
                        shown.join(", ")
                    ),
                    location: policy.program.sources.location(o.span),
                });
            }
        }
        Ok(())
    }

    /// Collects the inputs, parameters and definitions an expression uses (the taken branch of an `if`).
    fn refs(&mut self, e: &Expr, scope: Scope, node: &mut Node) -> Result<(), EvalError> {
        use doudi_dsl::check::{STACK_GROWTH, STACK_RED_ZONE};
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || {
            self.refs_inner(e, scope, node)
        })
    }

    fn refs_inner(&mut self, e: &Expr, scope: Scope, node: &mut Node) -> Result<(), EvalError> {
        let policy = self.ev.policy;
        let program = &policy.program;
        match &e.kind {
            ExprKind::Input(slot) | ExprKind::HouseholdInput(slot) => {
                let (info, sc) = match (&e.kind, scope) {
                    (ExprKind::Input(_), Scope::Person(_)) => {
                        (&program.person_inputs[*slot as usize], scope)
                    }
                    _ => (&program.household_inputs[*slot as usize], Scope::Household),
                };
                let v = self.ev.input(*slot, sc).clone();
                let u = InputUse {
                    name: info.name.clone(),
                    label: info.label.clone(),
                    of: self.who(sc),
                    value: policy.display(info.ty, &v),
                };
                if !node.inputs.iter().any(|x| x.name == u.name && x.of == u.of) {
                    node.inputs.push(u);
                }
            }
            ExprKind::Param(p) | ExprKind::ParamAt(p, _) => {
                let param = &program.params[*p as usize];
                let key = match &e.kind {
                    ExprKind::ParamAt(_, k) => match self.ev.eval(k, scope)? {
                        Value::Enum(i) => Some(i),
                        _ => None,
                    },
                    _ => None,
                };
                let v = self.ev.param(*p, key, e.span)?;
                let version = param.version_at(self.ev.date);
                let u = ParamUse {
                    name: param.name.clone(),
                    label: param.label.clone(),
                    key: key.and_then(|k| {
                        param
                            .by
                            .map(|b| program.enums[b as usize].variants[k as usize].clone())
                    }),
                    value: policy.display(param.ty, &v),
                    in_force_from: version.and_then(|v| v.from).map(format_date),
                    citations: {
                        let mut c = param.citations.clone();
                        if let Some(v) = version {
                            c.extend(v.citations.iter().cloned());
                        }
                        c
                    },
                    overridden_at: param
                        .overridden_at
                        .and(version)
                        .map(|v| program.sources.location(v.span)),
                };
                if !node
                    .parameters
                    .iter()
                    .any(|x| x.name == u.name && x.key == u.key)
                {
                    node.parameters.push(u);
                }
                if let ExprKind::ParamAt(_, k) = &e.kind {
                    self.refs(k, scope, node)?;
                }
            }
            ExprKind::Def(id) => {
                let child = self.node(*id, scope)?;
                node.children.push(child);
            }
            ExprKind::HouseholdDef(id) => {
                let child = self.node(*id, Scope::Household)?;
                node.children.push(child);
            }
            ExprKind::If(c, a, b) => {
                self.refs(c, scope, node)?;
                if self.ev.eval(c, scope)?.as_bool() {
                    self.refs(a, scope, node)?;
                } else {
                    self.refs(b, scope, node)?;
                }
            }
            ExprKind::Agg {
                coll: Coll::Members,
                body,
                filter,
                ..
            } => {
                for i in 0..self.ev.hh.members.len() {
                    let s = Scope::Person(i);
                    if let Some(f) = filter {
                        self.refs(f, s, node)?;
                        if !self.ev.eval(f, s)?.as_bool() {
                            continue;
                        }
                    }
                    if let Some(b) = body {
                        self.refs(b, s, node)?;
                    }
                }
            }
            ExprKind::Agg { .. } => {}
            _ => {
                for c in children(e) {
                    self.refs(c, scope, node)?;
                }
            }
        }
        Ok(())
    }

    /// Why a condition is false, as sentences for drafters.
    fn why_not(
        &mut self,
        e: &Expr,
        scope: Scope,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), EvalError> {
        use doudi_dsl::check::{STACK_GROWTH, STACK_RED_ZONE};
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || {
            self.why_not_inner(e, scope, out)
        })
    }

    fn why_not_inner(
        &mut self,
        e: &Expr,
        scope: Scope,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), EvalError> {
        let policy = self.ev.policy;
        let program = &policy.program;
        if self.ev.eval(e, scope)?.as_bool() {
            return Ok(());
        }
        match &e.kind {
            ExprKind::And(a, b) => {
                self.why_not(a, scope, out)?;
                self.why_not(b, scope, out)?;
            }
            ExprKind::Or(a, b) => {
                let mut parts = Vec::new();
                self.why_not(a, scope, &mut parts)?;
                self.why_not(b, scope, &mut parts)?;
                let text: Vec<String> = parts.into_iter().map(|(_, t)| t).collect();
                out.push((
                    subject(program, e, scope),
                    format!("none of these holds: {}", text.join("; ")),
                ));
            }
            ExprKind::Def(id) | ExprKind::HouseholdDef(id) => {
                let d = &program.defs[*id as usize];
                let label = d
                    .label
                    .as_deref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default();
                out.push((
                    subject(program, e, scope),
                    format!("{}{label} is false", d.name),
                ));
            }
            ExprKind::Not(x) => out.push((
                subject(program, e, scope),
                format!(
                    "`{}` is false because `{}` is true",
                    snippet(policy, e.span),
                    snippet(policy, x.span)
                ),
            )),
            ExprKind::Cmp(op, a, b) => {
                let va = self.ev.eval(a, scope)?;
                let vb = self.ev.eval(b, scope)?;
                let (ta, tb) = (snippet(policy, a.span), snippet(policy, b.span));
                let (sa, sb) = (
                    policy.display_exact(a.ty, &va),
                    policy.display_exact(b.ty, &vb),
                );
                let verb = match op {
                    CmpOp::Lt => "is not below",
                    CmpOp::Le => "is above",
                    CmpOp::Gt => "is not above",
                    CmpOp::Ge => "is below",
                    CmpOp::Eq => "is not",
                    CmpOp::Ne => "is",
                };
                let lhs = if is_literal(a) {
                    sa.clone()
                } else {
                    format!("{ta} = {sa}")
                };
                let rhs = if is_literal(b) {
                    sb.clone()
                } else {
                    format!("{tb} = {sb}")
                };
                let gap = match (op, va.to_num(), vb.to_num()) {
                    (CmpOp::Lt | CmpOp::Le, Some(x), Some(y))
                    | (CmpOp::Gt | CmpOp::Ge, Some(y), Some(x)) => {
                        x.checked_sub(&y).ok().map(|d| {
                            if d.is_zero() {
                                return " (exactly equal)".to_string();
                            }
                            let ty = if a.ty.is_money() { a.ty } else { b.ty };
                            let dir = if matches!(op, CmpOp::Lt | CmpOp::Le) {
                                "above"
                            } else {
                                "below"
                            };
                            format!(" ({} {dir})", policy.display(ty, &Value::Num(d.abs())))
                        })
                    }
                    _ => None,
                };
                out.push((
                    subject(program, e, scope),
                    format!("{lhs} {verb} {rhs}{}", gap.unwrap_or_default()),
                ));
            }
            ExprKind::In(x, _) => {
                let v = self.ev.eval(x, scope)?;
                out.push((
                    subject(program, e, scope),
                    format!(
                        "`{}` is false: {} = {}",
                        snippet(policy, e.span),
                        snippet(policy, x.span),
                        policy.display(x.ty, &v)
                    ),
                ));
            }
            _ => out.push((
                subject(program, e, scope),
                format!("`{}` is false", snippet(policy, e.span)),
            )),
        }
        Ok(())
    }
}

/// The first input or definition an expression mentions: what a failing condition is about.
fn subject(program: &Program, e: &Expr, scope: Scope) -> String {
    match &e.kind {
        ExprKind::Input(slot) => match scope {
            Scope::Person(_) => program.person_inputs[*slot as usize].name.clone(),
            _ => program.household_inputs[*slot as usize].name.clone(),
        },
        ExprKind::HouseholdInput(slot) => program.household_inputs[*slot as usize].name.clone(),
        ExprKind::Def(d) | ExprKind::HouseholdDef(d) => program.defs[*d as usize].name.clone(),
        ExprKind::Param(p) | ExprKind::ParamAt(p, _) => program.params[*p as usize].name.clone(),
        _ => children(e)
            .into_iter()
            .map(|c| subject(program, c, scope))
            .find(|s| !s.is_empty())
            .unwrap_or_default(),
    }
}

fn is_literal(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Const(_))
}

/// Renders a derivation tree as indented text for people.
pub fn render_text(node: &Node) -> String {
    let mut out = String::new();
    render_node(node, 0, usize::MAX, &mut HashSet::new(), &mut out);
    out
}

/// Renders the first `levels` levels of a derivation tree (1: the output alone, with its inputs and
/// parameters); each elided subtree becomes one line saying how much was hidden and how to see it.
pub fn render_text_depth(node: &Node, levels: usize) -> String {
    let mut out = String::new();
    render_node(node, 0, levels.max(1), &mut HashSet::new(), &mut out);
    out
}

/// The number of levels of a tree (1 for a node without children).
pub fn levels(n: &Node) -> usize {
    1 + n.children.iter().map(levels).max().unwrap_or(0)
}

fn count_nodes(n: &Node) -> usize {
    1 + n.children.iter().map(count_nodes).sum::<usize>()
}

pub fn cite(c: &Citation) -> String {
    match c {
        Citation::Source {
            citation,
            quote: Some(q),
        } => format!("source: {citation} «{q}»"),
        Citation::Source {
            citation,
            quote: None,
        } => format!("source: {citation}"),
        Citation::Assumption { reason } => format!("assumption: {reason}"),
    }
}

/// `shown`: the (definition, of whom) explained in full so far, so that "explained above" can say
/// when the explanation above is in a part `--depth` hid.
fn render_node(
    n: &Node,
    depth: usize,
    max: usize,
    shown: &mut HashSet<(String, String)>,
    out: &mut String,
) {
    let pad = "  ".repeat(depth);
    let label = n
        .label
        .as_deref()
        .map(|l| format!(" {l}"))
        .unwrap_or_default();
    out.push_str(&format!(
        "{pad}{}{label} = {}   [{}]\n",
        n.name, n.value, n.of
    ));
    if n.see_above {
        if shown.contains(&(n.name.clone(), n.of.clone())) {
            out.push_str(&format!("{pad}  (explained above)\n"));
        } else {
            out.push_str(&format!(
                "{pad}  (explained above, in a part --depth hides)\n"
            ));
        }
        return;
    }
    shown.insert((n.name.clone(), n.of.clone()));
    if let Some(x) = &n.exception {
        let l = x
            .label
            .as_deref()
            .map(|l| format!(" «{l}»"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{pad}  exception{l} applies: {}   ({})\n",
            x.condition, x.location
        ));
        for c in &x.citations {
            out.push_str(&format!("{pad}    {}\n", cite(c)));
        }
    }
    out.push_str(&format!("{pad}  = {}\n", n.formula));
    match &n.defined_at {
        Some(d) => out.push_str(&format!(
            "{pad}  at {}   (the exception; {} itself is defined at {d})\n",
            n.location, n.name
        )),
        None => out.push_str(&format!("{pad}  at {}\n", n.location)),
    }
    for c in &n.citations {
        out.push_str(&format!("{pad}  {}\n", cite(c)));
    }
    for w in &n.why_not {
        out.push_str(&format!("{pad}  why not: {w}\n"));
    }
    for i in &n.inputs {
        let l = i
            .label
            .as_deref()
            .map(|l| format!(" {l}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{pad}  input {}{l} = {}   [{}]\n",
            i.name, i.value, i.of
        ));
    }
    for p in &n.parameters {
        let l = p
            .label
            .as_deref()
            .map(|l| format!(" {l}"))
            .unwrap_or_default();
        let (key, from) = (p.key_text(), p.in_force_text());
        let over = p
            .overridden_at
            .as_deref()
            .map(|o| format!("   (overridden at {o})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{pad}  parameter {}{key}{l} = {}{from}{over}\n",
            p.name, p.value
        ));
        for c in &p.citations {
            out.push_str(&format!("{pad}    {}\n", cite(c)));
        }
    }
    if depth + 1 >= max && !n.children.is_empty() {
        let mut hidden = String::new();
        for c in &n.children {
            render_node(c, depth + 1, usize::MAX, &mut HashSet::new(), &mut hidden);
        }
        let defs: usize = n.children.iter().map(count_nodes).sum();
        let need = depth + 1 + n.children.iter().map(levels).max().unwrap_or(0);
        out.push_str(&format!(
            "{pad}  … {} more lines ({defs} {} below {}): --depth {need} or omit --depth\n",
            hidden.lines().count(),
            if defs == 1 {
                "definition"
            } else {
                "definitions"
            },
            n.name
        ));
        return;
    }
    for c in &n.children {
        render_node(c, depth + 1, max, shown, out);
    }
}

/// One reason a condition failed: the definition it belongs to and a sentence for people.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub definition: String,
    /// The input or definition the failing condition is about (`vehicles`, `per_capita_income`).
    pub subject: String,
    pub reason: String,
}

/// The innermost failing conditions of a false definition, descending through the false definitions
/// it uses (e.g. `dibao_eligible` → `assets_ok` → "vehicles = 1 is above max_vehicles = 0").
pub fn failing_conditions(node: &Node) -> Vec<Failure> {
    let mut out = Vec::new();
    collect_failures(node, &mut out);
    out
}

fn collect_failures(n: &Node, out: &mut Vec<Failure>) {
    for (k, w) in n.why_not.iter().enumerate() {
        let child = n.children.iter().find(|c| {
            c.value == "false"
                && (w == &format!("{} is false", c.name) || w.starts_with(&format!("{} (", c.name)))
        });
        match child {
            Some(c) if !c.why_not.is_empty() => collect_failures(c, out),
            _ => out.push(Failure {
                definition: n.name.clone(),
                subject: n.why_not_subjects.get(k).cloned().unwrap_or_default(),
                reason: w.clone(),
            }),
        }
    }
}
