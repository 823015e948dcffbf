//! Typed random expressions and decision tables for the policy generator, built for the type they must have.

use crate::testgen::Rng;
use std::collections::HashSet;

/// The generator's types (the checker's `Ty` without literals and text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    Bool,
    Int,
    Dec,
    Pct,
    MoneyM,
    MoneyY,
    Stock,
    Months,
    Date,
    Enum(u8),
}

impl T {
    pub(crate) fn short(self) -> String {
        match self {
            T::Bool => "b".into(),
            T::Int => "i".into(),
            T::Dec => "d".into(),
            T::Pct => "p".into(),
            T::MoneyM => "m".into(),
            T::MoneyY => "y".into(),
            T::Stock => "s".into(),
            T::Months => "n".into(),
            T::Date => "t".into(),
            T::Enum(e) => format!("e{e}"),
        }
    }
    pub(crate) fn is_number(self) -> bool {
        !matches!(self, T::Bool | T::Date | T::Enum(_))
    }
    fn is_money(self) -> bool {
        matches!(self, T::MoneyM | T::MoneyY | T::Stock)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ent {
    Hh,
    Person,
}

impl Ent {
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Ent::Hh => "h",
            Ent::Person => "p",
        }
    }
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Ent::Hh => "household",
            Ent::Person => "person",
        }
    }
}

/// A declared input, definition or state.
#[derive(Debug, Clone)]
pub(crate) struct Name {
    pub name: String,
    pub ty: T,
    pub ent: Ent,
    pub is_def: bool,
    pub is_state: bool,
}

/// The generator's state: the random stream, the items written and the names in scope.
pub(crate) struct Pg {
    pub r: Rng,
    pub items: Vec<String>,
    /// Variant names of each enum.
    pub enums: Vec<Vec<String>>,
    /// Inputs, definitions and states, in declaration order.
    pub names: Vec<Name>,
    /// Parameters: name, type, the enum it is `by`.
    pub params: Vec<(String, T, Option<u8>)>,
    /// States whose `previous` may be used (name, type).
    pub states: Vec<(String, T)>,
    /// The state whose formula is being generated (its own `previous` is in scope).
    pub current_state: Option<String>,
    /// `previous` is not allowed here (a state's `initially`, a person definition).
    pub no_previous: bool,
    pub has_code: bool,
    pub used: HashSet<String>,
}

impl Pg {
    pub(crate) fn new(r: Rng) -> Pg {
        Pg {
            r,
            items: Vec::new(),
            enums: Vec::new(),
            names: Vec::new(),
            params: Vec::new(),
            states: Vec::new(),
            current_state: None,
            no_previous: false,
            has_code: false,
            used: HashSet::new(),
        }
    }

    pub(crate) fn push_name(
        &mut self,
        name: String,
        ty: T,
        ent: Ent,
        is_def: bool,
        is_state: bool,
    ) {
        self.names.push(Name {
            name,
            ty,
            ent,
            is_def,
            is_state,
        });
    }

    pub(crate) fn person_defs(&self) -> Vec<Name> {
        self.names
            .iter()
            .filter(|n| n.ent == Ent::Person && n.is_def)
            .cloned()
            .collect()
    }

    pub(crate) fn type_text(&self, t: T) -> String {
        match t {
            T::Bool => "bool".into(),
            T::Int => "integer".into(),
            T::Dec => "decimal".into(),
            T::Pct => "percent".into(),
            T::MoneyM => "money per month".into(),
            T::MoneyY => "money per year".into(),
            T::Stock => "money".into(),
            T::Months => "months".into(),
            T::Date => "date".into(),
            T::Enum(e) => format!("e{e}"),
        }
    }

    pub(crate) fn variant(&mut self, e: u8) -> String {
        let vs = &self.enums[e as usize];
        vs[self.r.below(vs.len() as u64) as usize].clone()
    }

    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.r.below(xs.len() as u64) as usize]
    }

    /// A parameter's value (no negative money: the checker would refuse it).
    pub(crate) fn param_lit(&mut self, t: T) -> String {
        match t {
            T::MoneyM => self.pick(&["0", "500", "734.5", "1200", "333.33", "0.01"]),
            T::MoneyY => self.pick(&["0", "6000", "12000.12", "3000"]),
            T::Stock => self.pick(&["0", "20000", "58000.5"]),
            T::Int => self.pick(&["0", "1", "3", "12", "-2"]),
            T::Pct => self.pick(&["30%", "0%", "12.5%", "100%"]),
            T::Dec => self.pick(&["0.5", "1.25", "3", "0.333", "-1", "0"]),
            T::Bool => self.pick(&["true", "false"]),
            T::Months => self.pick(&["0", "6", "24"]),
            T::Date => self.pick(&["2024-01-01", "2020-06-30"]),
            T::Enum(_) => "?",
        }
        .to_string()
    }

    /// A literal in an expression of type `t`.
    fn lit(&mut self, t: T) -> String {
        match t {
            T::MoneyM | T::MoneyY | T::Stock => {
                self.pick(&["0", "500", "100.5", "0.01", "12", "3", "1000000", "-20"])
            }
            T::Int | T::Months => self.pick(&["0", "1", "2", "3", "12", "-1", "100"]),
            T::Pct => self.pick(&["30%", "0%", "12.5%", "100%", "-5%"]),
            T::Dec => self.pick(&["0.5", "1.25", "3", "0.333", "-1", "0", "7"]),
            T::Bool => self.pick(&["true", "false"]),
            T::Date => self.pick(&["2024-01-01", "2023-12-31", "2020-02-29"]),
            T::Enum(e) => return self.variant(e),
        }
        .to_string()
    }

    /// Names, parameters and histories of type `t` usable in scope `ent`.
    fn leaves(&mut self, t: T, ent: Ent) -> Vec<String> {
        let mut out = Vec::new();
        for n in &self.names {
            if n.ty != t {
                continue;
            }
            if n.ent == ent {
                out.push(n.name.clone());
            } else if ent == Ent::Person {
                out.push(format!("household.{}", n.name));
            }
        }
        let params: Vec<(String, Option<u8>)> = self
            .params
            .iter()
            .filter(|p| p.1 == t)
            .map(|p| (p.0.clone(), p.2))
            .collect();
        for (name, by) in params {
            match by {
                None => out.push(name),
                Some(e) => {
                    let key = self.key(e, ent);
                    if key.ends_with("code") && self.r.pct(60) {
                        // A text code looked up only when it names a variant (lazily).
                        let v0 = self.enums[e as usize][0].clone();
                        let codes = format!("\"{v0}\", \"t{}\"", self.r.below(5));
                        out.push(format!(
                            "(if {key} in {{{codes}}} then {name}[{key}] else {name}[{v0}])"
                        ));
                    } else {
                        out.push(format!("{name}[{key}]"));
                    }
                }
            }
        }
        if ent == Ent::Hh && !self.no_previous {
            for (s, st) in &self.states {
                let in_scope = self.names.iter().any(|n| &n.name == s)
                    || self.current_state.as_ref() == Some(s);
                if *st == t && in_scope {
                    out.push(format!("previous({s})"));
                }
            }
        }
        out
    }

    /// The key of a table `by` enum `e`: a value of the enum, or the text code for enum 0.
    fn key(&mut self, e: u8, ent: Ent) -> String {
        if e == 0 && self.has_code && self.r.pct(25) {
            return match ent {
                Ent::Hh => "code".into(),
                Ent::Person => "household.code".into(),
            };
        }
        let names: Vec<String> = self
            .names
            .iter()
            .filter(|n| n.ty == T::Enum(e))
            .map(|n| match (n.ent, ent) {
                (a, b) if a == b => n.name.clone(),
                (_, Ent::Person) => format!("household.{}", n.name),
                _ => String::new(),
            })
            .filter(|s| !s.is_empty())
            .collect();
        if names.is_empty() || self.r.pct(15) {
            self.variant(e)
        } else {
            names[self.r.below(names.len() as u64) as usize].clone()
        }
    }

    /// A name of type `t`; a literal only where its type cannot be lost (a number literal takes
    /// its type from a partner, so numbers always come from a typed name here).
    fn leaf(&mut self, t: T, ent: Ent) -> String {
        let ls = self.leaves(t, ent);
        if ls.is_empty() || !t.is_number() && self.r.pct(15) {
            return self.lit(t);
        }
        let s = ls[self.r.below(ls.len() as u64) as usize].clone();
        let base = s.trim_start_matches("household.").to_string();
        self.used.insert(base);
        s
    }

    /// A household bool name (for filters of programme totals).
    pub(crate) fn bool_leaf(&mut self, ent: Ent) -> Option<String> {
        let ls: Vec<String> = self
            .names
            .iter()
            .filter(|n| n.ty == T::Bool && n.ent == ent)
            .map(|n| n.name.clone())
            .collect();
        (!ls.is_empty()).then(|| ls[self.r.below(ls.len() as u64) as usize].clone())
    }

    /// An expression of type `t` in scope `ent`, nested at most `d` levels.
    pub(crate) fn expr(&mut self, t: T, ent: Ent, d: u32) -> String {
        if d == 0 || self.r.pct(30) {
            return self.leaf(t, ent);
        }
        let e = match t {
            T::Bool => self.bool_expr(ent, d),
            T::Enum(_) | T::Date => self.other_expr(t, ent, d),
            _ => self.num_expr(t, ent, d),
        };
        e.unwrap_or_else(|| self.leaf(t, ent))
    }

    /// `where FILTER` of an aggregation over members, sometimes.
    pub(crate) fn maybe_filter(&mut self) -> String {
        if self.r.pct(50) {
            format!(" where {}", self.expr(T::Bool, Ent::Person, 1))
        } else {
            String::new()
        }
    }

    fn if_expr(&mut self, t: T, ent: Ent, d: u32) -> String {
        let c = self.expr(T::Bool, ent, d - 1);
        let a = self.expr(t, ent, d - 1);
        let b = self.expr(t, ent, d - 1);
        format!("(if {c} then {a} else {b})")
    }

    fn scalar(&mut self) -> T {
        [T::Int, T::Dec, T::Pct][self.r.weighted(&[40, 40, 20])]
    }

    fn num_expr(&mut self, t: T, ent: Ent, d: u32) -> Option<String> {
        let k = self.r.below(12);
        let sub = |g: &mut Pg, t| g.expr(t, ent, d - 1);
        Some(match k {
            0 | 1 => {
                let op = self.pick(&["+", "-"]);
                format!("({} {op} {})", sub(self, t), sub(self, t))
            }
            2 => format!("({} + {})", sub(self, t), self.lit(t)),
            3 => self.if_expr(t, ent, d),
            4 => {
                let f = self.pick(&["min", "max"]);
                let n = self.r.range(2, 3);
                let args: Vec<String> = (0..n).map(|_| sub(self, t)).collect();
                format!("{f}({})", args.join(", "))
            }
            5 if t != T::Pct => format!("abs({})", sub(self, t)),
            6 if t != T::Pct => format!("(-({}))", sub(self, t)),
            7 | 8 if ent == Ent::Hh => self.aggregate(t, d),
            9 => format!("round({}, {})", sub(self, t), self.step(t)?),
            _ => self.typed_num(t, ent, d)?,
        })
    }

    /// A rounding step the type allows (whole steps for integers).
    fn step(&mut self, t: T) -> Option<String> {
        match t {
            T::Int | T::Months => Some(self.pick(&["1", "10"]).into()),
            T::Pct => None,
            _ => Some(self.pick(&["0.01", "1", "10", "0.1"]).into()),
        }
    }

    /// Operations particular to a type: products, quotients, conversions, date differences.
    fn typed_num(&mut self, t: T, ent: Ent, d: u32) -> Option<String> {
        let sub = |g: &mut Pg, t| g.expr(t, ent, d - 1);
        let k = self.r.below(4);
        Some(match (t, k) {
            (m, 0) if m.is_money() => {
                let s = self.scalar();
                format!("({} * {})", sub(self, m), sub(self, s))
            }
            (m, 1) if m.is_money() => {
                let s = self.scalar();
                let (x, y) = (sub(self, m), sub(self, s));
                let otherwise = x.clone();
                self.div(x, y, &otherwise)
            }
            (m, 2) if m.is_money() && self.r.pct(50) => {
                let k = self.pick(&["3", "12", "0.3", "7", "0"]);
                let op = self.pick(&["*", "/"]);
                format!("({} {op} {k})", sub(self, m))
            }
            (T::MoneyM, 2) => format!("monthly({})", sub(self, T::MoneyY)),
            (T::MoneyM, _) => format!("({} / {})", sub(self, T::Stock), sub(self, T::Months)),
            (T::MoneyY, _) => format!("yearly({})", sub(self, T::MoneyM)),
            (T::Stock, _) => format!("({} * {})", sub(self, T::MoneyM), sub(self, T::Months)),
            (T::Int, 0) => format!("({} * {})", sub(self, T::Int), sub(self, T::Int)),
            (T::Int, 1) => format!(
                "days_between({}, {})",
                sub(self, T::Date),
                sub(self, T::Date)
            ),
            (T::Int, _) if ent == Ent::Hh => format!("count(members{})", self.maybe_filter()),
            (T::Dec, 0) => {
                let (x, y) = (sub(self, T::Int), sub(self, T::Int));
                self.div(x, y, "0")
            }
            (T::Dec, 1) => {
                let m = [T::MoneyM, T::MoneyY, T::Stock, T::Months][self.r.below(4) as usize];
                let (x, y) = (sub(self, m), sub(self, m));
                self.div(x, y, "0")
            }
            (T::Dec, 2) => {
                let (a, b) = (self.scalar(), self.scalar());
                // integer × integer is an integer: divide those.
                let op = if a == T::Int && b == T::Int {
                    "/"
                } else {
                    self.pick(&["*", "/"])
                };
                format!("({} {op} {})", sub(self, a), sub(self, b))
            }
            (T::Dec, _) => format!("({} * {})", sub(self, T::Pct), sub(self, T::Pct)),
            (T::Months, _) => {
                let op = self.pick(&["+", "-", "*"]);
                format!("({} {op} {})", sub(self, T::Months), sub(self, T::Int))
            }
            _ => return None,
        })
    }

    /// An aggregation over the members (household scope), numeric.
    fn aggregate(&mut self, t: T, d: u32) -> String {
        let agg = ["sum", "min", "max"][self.r.weighted(&[60, 20, 20])];
        let body = self.expr(t, Ent::Person, d - 1);
        if agg != "sum" && self.r.pct(80) {
            // `min`/`max` of nobody is an error: asked only when somebody is there.
            let f = self.expr(T::Bool, Ent::Person, 1);
            let other = self.leaf(t, Ent::Hh);
            return format!(
                "(if any(members where {f}) then {agg}({body} for members where {f}) else {other})"
            );
        }
        let filt = if agg == "sum" {
            self.maybe_filter()
        } else {
            String::new()
        };
        format!("{agg}({body} for members{filt})")
    }

    /// `x / y`, more often than not guarded against a zero `y` (which the reference then never divides by).
    fn div(&mut self, x: String, y: String, otherwise: &str) -> String {
        if self.r.pct(60) {
            format!("(if {y} != 0 then {x} / {y} else {otherwise})")
        } else {
            format!("({x} / {y})")
        }
    }

    fn bool_expr(&mut self, ent: Ent, d: u32) -> Option<String> {
        let sub = |g: &mut Pg, t| g.expr(t, ent, d - 1);
        Some(match self.r.below(10) {
            0..=2 => {
                let t = [
                    T::MoneyM,
                    T::Int,
                    T::Dec,
                    T::Pct,
                    T::MoneyY,
                    T::Months,
                    T::Date,
                ][self.r.weighted(&[30, 25, 15, 8, 8, 6, 8])];
                let op = self.pick(&["<", "<=", ">", ">=", "==", "!="]);
                format!("({} {op} {})", sub(self, t), sub(self, t))
            }
            3 => {
                let e = self.r.below(self.enums.len() as u64) as u8;
                let x = sub(self, T::Enum(e));
                let n = self.r.range(1, self.enums[e as usize].len() as i64);
                let vs: Vec<String> = (0..n).map(|_| self.variant(e)).collect();
                if n == 1 {
                    format!("({x} == {})", vs[0])
                } else {
                    format!("({x} in {{{}}})", vs.join(", "))
                }
            }
            4 => format!("({} and {})", sub(self, T::Bool), sub(self, T::Bool)),
            5 => format!("({} or {})", sub(self, T::Bool), sub(self, T::Bool)),
            6 => format!("(not {})", sub(self, T::Bool)),
            7 if ent == Ent::Hh => {
                let f = self.pick(&["any", "all"]);
                if self.r.pct(50) {
                    let filt = self.expr(T::Bool, Ent::Person, d - 1);
                    format!("{f}(members where {filt})")
                } else {
                    let body = self.expr(T::Bool, Ent::Person, d - 1);
                    format!("{f}({body} for members{})", self.maybe_filter())
                }
            }
            8 => match self.r.below(3) {
                0 => format!("({} in {{0, 1, 3}})", sub(self, T::Int)),
                // An integer against a decimal (compared as decimals).
                1 => format!("({} < {})", sub(self, T::Int), sub(self, T::Dec)),
                _ if self.has_code => {
                    let code = if ent == Ent::Hh {
                        "code"
                    } else {
                        "household.code"
                    };
                    format!("({code} == \"t{}\")", self.r.below(3))
                }
                _ => format!("({} == {})", sub(self, T::Bool), sub(self, T::Bool)),
            },
            _ => self.if_expr(T::Bool, ent, d),
        })
    }

    fn other_expr(&mut self, t: T, ent: Ent, d: u32) -> Option<String> {
        Some(match (t, self.r.below(3)) {
            (T::Date, 0) => format!(
                "add_days({}, {})",
                self.expr(T::Date, ent, d - 1),
                self.expr(T::Int, ent, d - 1)
            ),
            (T::Date, 1) => self.pick(&["month_start()", "month_end()"]).into(),
            _ => self.if_expr(t, ent, d),
        })
    }

    /// A decision table defining `name`.
    pub(crate) fn table(&mut self, name: &str, ent: Ent, t: T) -> String {
        let numeric = t.is_number() && t != T::Pct;
        let hit = match self.r.below(3) {
            0 if numeric => "sum",
            1 => "first",
            _ => "unique",
        };
        let ncols = self.r.range(1, 2) as usize;
        let kinds: Vec<T> = (0..ncols)
            .map(|_| {
                let e = T::Enum(self.r.below(self.enums.len() as u64) as u8);
                [e, T::Bool, T::Int, T::MoneyM][self.r.below(4) as usize]
            })
            .collect();
        let cols: Vec<String> = kinds.iter().map(|&k| self.expr(k, ent, 1)).collect();
        let mut s = format!(
            "table {}.{name}: {}\n  assumption \"generated\"\n  hit {hit}\n  | {} | result |\n",
            ent.keyword(),
            self.type_text(t),
            cols.join(" | ")
        );
        // `unique`: the first column's cells are disjoint, so no two rows can both match.
        let first = self.partition(kinds[0]);
        let nrows = if hit == "unique" {
            first.len()
        } else {
            self.r.range(1, 4) as usize
        };
        for row in 0..nrows {
            let mut cells = Vec::new();
            for (c, &k) in kinds.iter().enumerate() {
                cells.push(match first.get(row) {
                    Some(cell) if c == 0 && hit == "unique" => cell.clone(),
                    _ => self.cell(k),
                });
            }
            let res = self.expr(t, ent, 2);
            s.push_str(&format!("  | {} | {res} |\n", cells.join(" | ")));
        }
        if hit != "sum" && self.r.pct(70) {
            s.push_str(&format!("  otherwise = {}\n", self.expr(t, ent, 1)));
        }
        s
    }

    /// Disjoint cells for a column of kind `k` (in order; some values may fall in none).
    fn partition(&mut self, k: T) -> Vec<String> {
        let all: Vec<String> = match k {
            T::Enum(e) => self.enums[e as usize].clone(),
            T::Bool => vec!["true".into(), "false".into()],
            T::Int => ["< 0", "0..2", "3", "4..10", ">= 11"]
                .map(String::from)
                .to_vec(),
            _ => ["< 0", "0..299.99", "300..800", "> 800"]
                .map(String::from)
                .to_vec(),
        };
        // Half the tables cover every value of the column; the others leave some out.
        let keep = if self.r.pct(50) { 100 } else { 70 };
        let mut out: Vec<String> = all.iter().filter(|_| self.r.pct(keep)).cloned().collect();
        if out.is_empty() {
            out.push(all[all.len() - 1].clone());
        }
        out
    }

    /// Any cell for a column of kind `k`.
    fn cell(&mut self, k: T) -> String {
        if self.r.pct(25) {
            return "-".into();
        }
        match k {
            T::Enum(e) => {
                let a = self.variant(e);
                let b = self.variant(e);
                if a == b {
                    a
                } else {
                    format!("{a}, {b}")
                }
            }
            T::Bool => self.pick(&["true", "false"]).into(),
            T::Int => self.pick(&["< 3", "3..5", ">= 6", "2", "0, 1"]).into(),
            _ => self
                .pick(&["< 300", "300..800", "> 800", "500", "<= 0"])
                .into(),
        }
    }
}
