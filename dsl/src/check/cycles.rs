//! Whole-program checks on the dependency graph: cycles, and how deeply evaluation can nest.
//!
//! A definition that depends on itself is reported with the path around the circle.

use super::{Checker, MAX_EVAL_NESTING, STACK_GROWTH, STACK_RED_ZONE};
use crate::diag::Diagnostic;
use crate::ir::*;
use std::collections::HashSet;

impl Checker {
    pub(super) fn check_cycles(&mut self) {
        let n = self.defs.len();
        let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
        let mut reported: HashSet<Vec<DefId>> = HashSet::new();
        for start in 0..n {
            if state[start] != 0 {
                continue;
            }
            // Iterative DFS: (node, next edge index).
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(&mut (node, ref mut ei)) = stack.last_mut() {
                if *ei < self.deps[node].len() {
                    let (to, _) = self.deps[node][*ei];
                    *ei += 1;
                    let to = to as usize;
                    match state[to] {
                        0 => {
                            state[to] = 1;
                            stack.push((to, 0));
                        }
                        1 => {
                            let pos = stack.iter().position(|(x, _)| *x == to).unwrap_or(0);
                            let cycle: Vec<DefId> =
                                stack[pos..].iter().map(|(x, _)| *x as DefId).collect();
                            let mut key = cycle.clone();
                            key.sort();
                            if reported.insert(key) {
                                self.report_cycle(&cycle);
                            }
                        }
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    stack.pop();
                }
            }
        }
    }

    pub(super) fn report_cycle(&mut self, cycle: &[DefId]) {
        let names: Vec<String> = cycle
            .iter()
            .map(|&d| self.defs[d as usize].name.clone())
            .collect();
        let path = format!("{} → {}", names.join(" → "), names[0]);
        let first = cycle[0] as usize;
        let mut d = Diagnostic::error(
            format!("`{}` depends on itself: {path}", names[0]),
            self.defs[first].span,
            "defined in terms of itself",
        );
        for w in 0..cycle.len() {
            let from = cycle[w];
            let to = cycle[(w + 1) % cycle.len()];
            if let Some((_, span)) = self.deps[from as usize].iter().find(|(t, _)| *t == to) {
                d = d.with_secondary(
                    *span,
                    format!(
                        "`{}` uses `{}` here",
                        self.defs[from as usize].name, self.defs[to as usize].name
                    ),
                );
            }
        }
        self.err(d.with_help("break the circle: one of these definitions must be computed from inputs and parameters only"));
    }

    /// Bounds how deeply evaluation can nest (formulas inside definitions inside definitions), so
    /// that no policy can overflow the evaluator's stack. Runs on an acyclic dependency graph.
    pub(super) fn check_depth(&mut self) {
        let n = self.defs.len();
        let own: Vec<usize> = self.defs.iter().map(def_depth).collect();
        let mut total: Vec<Option<usize>> = vec![None; n];
        // Iterative post-order over the dependency graph.
        for start in 0..n {
            let mut stack = vec![(start, false)];
            while let Some((d, expanded)) = stack.pop() {
                if total[d].is_some() {
                    continue;
                }
                if expanded {
                    let deps = self.deps[d]
                        .iter()
                        .filter_map(|(t, _)| total[*t as usize])
                        .max()
                        .unwrap_or(0);
                    total[d] = Some(own[d] + deps);
                } else {
                    stack.push((d, true));
                    for (t, _) in &self.deps[d] {
                        if total[*t as usize].is_none() {
                            stack.push((*t as usize, false));
                        }
                    }
                }
            }
        }
        for (i, t) in total.iter().enumerate() {
            if t.unwrap_or(0) > MAX_EVAL_NESTING {
                let d = &self.defs[i];
                let msg = format!(
                    "`{}` nests formulas and definitions too deeply to evaluate safely",
                    d.name
                );
                let help = format!(
                    "the chain of definitions it depends on adds up to more than {MAX_EVAL_NESTING} levels; split long formulas or shorten the chain"
                );
                self.diags
                    .push(Diagnostic::error(msg, d.span, "too deep").with_help(help));
                return;
            }
        }
    }
}

fn expr_depth(e: &Expr) -> usize {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || expr_depth_inner(e))
}

fn expr_depth_inner(e: &Expr) -> usize {
    let kids: Vec<&Expr> = match &e.kind {
        ExprKind::ParamAt(_, k) => vec![k],
        ExprKind::Neg(x)
        | ExprKind::Not(x)
        | ExprKind::Round(x, _)
        | ExprKind::In(x, _)
        | ExprKind::Variant(_, x) => vec![x],
        ExprKind::Arith(_, a, b)
        | ExprKind::Cmp(_, a, b)
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b) => vec![a, b],
        ExprKind::If(c, a, b) => vec![c, a, b],
        ExprKind::Builtin(_, xs) | ExprKind::Extern(_, xs) => xs.iter().collect(),
        ExprKind::Agg { body, filter, .. } => {
            body.iter().chain(filter.iter()).map(|b| &**b).collect()
        }
        _ => vec![],
    };
    1 + kids.into_iter().map(expr_depth).max().unwrap_or(0)
}

fn def_depth(d: &Def) -> usize {
    let body = match &d.body {
        DefBody::Expr(e) => expr_depth(e),
        DefBody::Table(t) => t
            .columns
            .iter()
            .chain(t.rows.iter().map(|r| &r.result))
            .chain(t.otherwise.iter())
            .map(expr_depth)
            .max()
            .unwrap_or(0),
    };
    let exc = d
        .exceptions
        .iter()
        .map(|x| expr_depth(&x.cond).max(expr_depth(&x.value)))
        .max()
        .unwrap_or(0);
    1 + body.max(exc)
}
