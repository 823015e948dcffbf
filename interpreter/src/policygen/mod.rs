//! Seeded generator of random well-typed policies, as text, for the differential test of the two evaluators.
//!
//! A generated policy declares enums, household and person inputs of every kind the data can hold
//! (bool, integer, decimal, percent, money per month, per year and stock, months, dates, enums, a
//! text code), parameters (scalars, dated values, tables `by` an enum), then person and household
//! definitions, decision tables (`unique`, `first`, `sum`, with and without `otherwise`),
//! exceptions (some of which conflict), states with `previous`, and programme totals. Every name
//! refers only to names declared before it, so there is no cycle, and every expression is built
//! for the type it must have (mirroring the checker's rules in `doudi_dsl::check`), so every
//! generated policy checks: one that does not is a bug of this generator or of the checker.
//!
//! The same seed gives the same text. [`compare`] runs both evaluators on it.

pub mod compare;
mod exprs;

use crate::testgen::Rng;
use exprs::{Ent, Name, T};

/// A generated policy: its items in order (one `.doudi` item each), joined by [`GenPolicy::text`].
#[derive(Debug, Clone)]
pub struct GenPolicy {
    pub seed: u64,
    pub items: Vec<String>,
}

impl GenPolicy {
    /// The policy's text.
    pub fn text(&self) -> String {
        let mut s = format!("policy \"generated {}\"\n\n", self.seed);
        for it in &self.items {
            s.push_str(it);
            s.push('\n');
        }
        s
    }
}

/// The generated policy of seed `seed`.
pub fn generate(seed: u64) -> GenPolicy {
    let mut g = exprs::Pg::new(Rng::stream(seed, 0x9e11));
    g.declare_enums();
    g.declare_inputs();
    g.declare_params();
    let n = g.r.range(3, 14) as usize;
    for i in 0..n {
        g.definition(i);
    }
    g.use_person_defs();
    g.exceptions();
    g.programme();
    GenPolicy {
        seed,
        items: std::mem::take(&mut g.items),
    }
}

impl exprs::Pg {
    fn declare_enums(&mut self) {
        let n = self.r.range(1, 3) as usize;
        for e in 0..n {
            let k = self.r.range(2, 4) as usize;
            // Enum 0's variants are codes a text input can name (`t0`, `t1`, ...).
            let vs: Vec<String> = (0..k)
                .map(|v| {
                    if e == 0 {
                        format!("t{v}")
                    } else {
                        format!("e{e}v{v}")
                    }
                })
                .collect();
            self.items
                .push(format!("enum e{e} {{ {} }}\n", vs.join(" ")));
            self.enums.push(vs);
        }
    }

    fn declare_inputs(&mut self) {
        let kinds = [
            T::Bool,
            T::Int,
            T::Dec,
            T::Pct,
            T::MoneyM,
            T::MoneyY,
            T::Stock,
            T::Months,
            T::Date,
        ];
        for ent in [Ent::Hh, Ent::Person] {
            for (i, &t) in kinds.iter().enumerate() {
                // Every type has a household input (a typed name for every expression).
                if ent == Ent::Person
                    && !matches!(t, T::MoneyM | T::Int | T::Bool)
                    && self.r.pct(30)
                {
                    continue;
                }
                let name = format!("{}_{}{i}", ent.prefix(), t.short());
                self.input(ent, name, t);
            }
            for e in 0..self.enums.len() {
                let name = format!("{}_en{e}", ent.prefix());
                self.input(ent, name, T::Enum(e as u8));
            }
        }
        if self.r.pct(50) {
            self.items
                .push("input household.code \"代码\": text\n".to_string());
            self.has_code = true;
        }
    }

    fn input(&mut self, ent: Ent, name: String, t: T) {
        let ty = self.type_text(t);
        self.items
            .push(format!("input {}.{name}: {ty}\n", ent.keyword()));
        self.push_name(name, t, ent, false, false);
    }

    fn declare_params(&mut self) {
        let n = self.r.range(2, 6);
        for i in 0..n {
            let t = [
                T::MoneyM,
                T::MoneyY,
                T::Int,
                T::Pct,
                T::Dec,
                T::Bool,
                T::Months,
            ][self.r.weighted(&[30, 10, 15, 15, 10, 10, 10])];
            let by = (self.r.pct(40)).then(|| self.r.below(self.enums.len() as u64) as u8);
            let name = format!("k{i}_{}", t.short());
            let ty = self.type_text(t);
            let mut s = match by {
                Some(e) => format!("parameter {name}: {ty} by e{e}\n  assumption \"generated\"\n"),
                None => format!("parameter {name}: {ty}\n  assumption \"generated\"\n"),
            };
            let dated = self.r.pct(40);
            let dates = ["2020-01-01", "2023-07-01", "2024-01-01"];
            let versions = if dated {
                self.r.range(1, 3) as usize
            } else {
                1
            };
            for d in dates.iter().take(versions) {
                let value = match by {
                    Some(e) => {
                        let variants = self.enums[e as usize].clone();
                        let entries: Vec<String> = variants
                            .iter()
                            .map(|v| format!("{v}: {}", self.param_lit(t)))
                            .collect();
                        format!("{{ {} }}", entries.join(", "))
                    }
                    None => self.param_lit(t),
                };
                if dated {
                    s.push_str(&format!("  from {d} = {value}\n"));
                } else {
                    s.push_str(&format!("  = {value}\n"));
                }
            }
            self.items.push(s);
            self.params.push((name, t, by));
        }
    }

    /// Definition number `i`: a formula or a decision table, of a person or a household; or a state.
    fn definition(&mut self, i: usize) {
        let t = self.def_type();
        let ent = if self.r.pct(40) { Ent::Person } else { Ent::Hh };
        let name = format!("{}d{i}_{}", ent.prefix(), t.short());
        let ty = self.type_text(t);
        if ent == Ent::Hh && self.r.pct(15) && !matches!(t, T::Date) {
            return self.state(name, t);
        }
        if self.r.pct(25) {
            let table = self.table(&name, ent, t);
            self.items.push(table);
        } else {
            let e = self.expr(t, ent, 3);
            self.items.push(format!(
                "definition {}.{name}: {ty}\n  = {e}\n",
                ent.keyword()
            ));
        }
        self.push_name(name, t, ent, true, false);
    }

    fn def_type(&mut self) -> T {
        let ts = [
            T::MoneyM,
            T::MoneyY,
            T::Stock,
            T::Int,
            T::Dec,
            T::Pct,
            T::Bool,
            T::Months,
            T::Enum(0),
            T::Date,
        ];
        let t = ts[self.r.weighted(&[25, 6, 4, 12, 10, 5, 18, 4, 10, 3])];
        match t {
            T::Enum(_) => T::Enum(self.r.below(self.enums.len() as u64) as u8),
            t => t,
        }
    }

    /// A state: `initially` from this month's data, the formula from last month's value.
    fn state(&mut self, name: String, t: T) {
        let ty = self.type_text(t);
        self.no_previous = true;
        let init = self.expr(t, Ent::Hh, 1);
        self.no_previous = false;
        // The state's own `previous` is in scope in its formula (and in every later definition).
        self.states.push((name.clone(), t));
        self.current_state = Some(name.clone());
        let body = match t {
            T::Enum(e) if self.r.pct(60) => self.transitions(e),
            _ => format!("  = {}\n", self.expr(t, Ent::Hh, 3)),
        };
        self.current_state = None;
        self.items.push(format!(
            "state household.{name}: {ty}\n  initially = {init}\n{body}"
        ));
        self.push_name(name, t, Ent::Hh, true, true);
    }

    /// A transition table for a state of enum `e` (rows in order, the first that holds wins).
    fn transitions(&mut self, e: u8) -> String {
        let mut s = "  transitions\n  | from | when | to | reason |\n".to_string();
        for k in 0..self.r.range(1, 4) {
            let from = if self.r.pct(30) {
                "-".to_string()
            } else {
                let (a, b) = (self.variant(e), self.variant(e));
                if a == b {
                    a
                } else {
                    format!("{a}, {b}")
                }
            };
            let when = self.expr(T::Bool, Ent::Hh, 2);
            let to = self.variant(e);
            s.push_str(&format!("  | {from} | {when} | {to} | \"r{k}\" |\n"));
        }
        s
    }

    /// Every person definition is used by a household definition (otherwise no output needs it).
    fn use_person_defs(&mut self) {
        let defs: Vec<Name> = self
            .person_defs()
            .into_iter()
            .filter(|n| !self.used.contains(&n.name))
            .collect();
        for (k, n) in defs.into_iter().enumerate() {
            let (t, body) = match n.ty {
                T::Bool => (T::Int, format!("count(members where {})", n.name)),
                T::Enum(e) => {
                    let v = self.variant(e);
                    (T::Int, format!("count(members where {} == {v})", n.name))
                }
                T::Date => (
                    T::Int,
                    format!("count(members where {} < 2024-01-01)", n.name),
                ),
                t => {
                    let agg = ["sum", "min", "max"][self.r.weighted(&[70, 15, 15])];
                    let filt = if agg == "sum" {
                        self.maybe_filter()
                    } else {
                        String::new()
                    };
                    (t, format!("{agg}({} for members{filt})", n.name))
                }
            };
            let name = format!("hu{k}_{}", t.short());
            let ty = self.type_text(t);
            self.items
                .push(format!("definition household.{name}: {ty}\n  = {body}\n"));
            self.push_name(name, t, Ent::Hh, true, false);
        }
    }

    /// Exceptions on some definitions; a few pairs on one definition, which may conflict.
    fn exceptions(&mut self) {
        let targets: Vec<(usize, Name)> = self
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_def && !n.is_state && !n.name.starts_with("hu"))
            .map(|(i, n)| (i, n.clone()))
            .collect();
        for (pos, n) in targets {
            if !self.r.pct(30) {
                continue;
            }
            let k = if self.r.pct(25) { 2 } else { 1 };
            // Only names declared before the target: no cycle.
            let saved = self.names.split_off(pos);
            let mut value = String::new();
            for _ in 0..k {
                let cond = self.expr(T::Bool, n.ent, 2);
                if value.is_empty() || self.r.pct(50) {
                    value = self.expr(n.ty, n.ent, 2);
                }
                self.items.push(format!(
                    "exception {}.{}\n  assumption \"generated\"\n  when {cond}\n  = {value}\n",
                    n.ent.keyword(),
                    n.name
                ));
            }
            self.names.extend(saved);
        }
    }

    /// Programme totals over households and persons (compared through the totals accumulators).
    fn programme(&mut self) {
        let hh: Vec<Name> = self
            .names
            .iter()
            .filter(|n| n.ent == Ent::Hh && n.is_def && n.ty.is_number())
            .cloned()
            .collect();
        for (k, n) in hh.iter().take(3).enumerate() {
            let ty = self.type_text(n.ty);
            let filt = self.bool_leaf(Ent::Hh).map(|b| format!(" where {b}"));
            self.items.push(format!(
                "definition programme.total{k}: {ty}\n  = sum({} for households{})\n",
                n.name,
                filt.unwrap_or_default()
            ));
        }
        if let Some(b) = self.bool_leaf(Ent::Hh) {
            self.items.push(format!(
                "definition programme.caseload: integer\n  = count(households where {b})\n"
            ));
        }
        if let Some(b) = self.bool_leaf(Ent::Person) {
            self.items.push(format!(
                "definition programme.people: integer\n  = count(persons where {b})\n"
            ));
        }
    }
}
