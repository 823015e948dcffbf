//! What crosses between a worker and the driver: plain serde types (JSON or any serde format), with
//! exact numbers as text that keeps their representation (a decimal's scale, `750.00` stays
//! `750.00`; a fraction as `n/d`), so that a message read back gives the same bytes in the reports.

use crate::run::{BlockResult, HouseholdTotals, MonthPart, RakeRow};
use doudi_dsl::ast::Date;
use doudi_interpreter::programme::TotalsPartial;
use doudi_interpreter::{Num, Value};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::sync::Arc;

/// A number as text: a decimal with its scale (`750.00`), or a fraction `n/d`.
pub fn num_text(n: &Num) -> String {
    match n {
        Num::Dec(d) => d.to_string(),
        Num::Rat(a, b) => format!("{a}/{b}"),
    }
}

/// Reads [`num_text`] back: the same representation.
pub fn num_of_text(s: &str) -> Result<Num, String> {
    let bad = || format!("not an exact number: {s:?}");
    match s.split_once('/') {
        Some((a, b)) => {
            let (a, b) = (
                i128::from_str(a).map_err(|_| bad())?,
                i128::from_str(b).map_err(|_| bad())?,
            );
            if b < 2 {
                return Err(bad());
            }
            Ok(Num::Rat(a, b))
        }
        None => rust_decimal::Decimal::from_str_exact(s)
            .map(Num::Dec)
            .map_err(|_| bad()),
    }
}

fn nums_text(v: &[Num]) -> Vec<String> {
    v.iter().map(num_text).collect()
}

fn nums_of_text(v: &[String]) -> Result<Vec<Num>, String> {
    v.iter().map(|s| num_of_text(s)).collect()
}

/// A value of the policy language (in programme totals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ValueMsg {
    Bool(bool),
    Int(i64),
    Num(String),
    Date(i32, u8, u8),
    Text(String),
    Enum(u16),
}

impl ValueMsg {
    fn of(v: &Value) -> ValueMsg {
        match v {
            Value::Bool(b) => ValueMsg::Bool(*b),
            Value::Int(i) => ValueMsg::Int(*i),
            Value::Num(n) => ValueMsg::Num(num_text(n)),
            Value::Date(d) => ValueMsg::Date(d.year, d.month, d.day),
            Value::Text(t) => ValueMsg::Text(t.to_string()),
            Value::Enum(e) => ValueMsg::Enum(*e),
        }
    }
    fn value(&self) -> Result<Value, String> {
        Ok(match self {
            ValueMsg::Bool(b) => Value::Bool(*b),
            ValueMsg::Int(i) => Value::Int(*i),
            ValueMsg::Num(n) => Value::Num(num_of_text(n)?),
            ValueMsg::Date(year, month, day) => Value::Date(Date {
                year: *year,
                month: *month,
                day: *day,
            }),
            ValueMsg::Text(t) => Value::Text(Arc::from(t.as_str())),
            ValueMsg::Enum(e) => Value::Enum(*e),
        })
    }
}

/// One aggregation of the programme totals: its value, count and flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggMsg {
    pub value: Option<ValueMsg>,
    pub count: i64,
    pub flag: Option<bool>,
}

/// A block's programme totals of one variant and month, not finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotalsMsg {
    pub households: u64,
    pub accs: Vec<AggMsg>,
}

impl TotalsMsg {
    fn of(t: &TotalsPartial) -> TotalsMsg {
        TotalsMsg {
            households: t.households,
            accs: t
                .accs
                .iter()
                .map(|(v, count, flag)| AggMsg {
                    value: v.as_ref().map(ValueMsg::of),
                    count: *count,
                    flag: *flag,
                })
                .collect(),
        }
    }
    fn partial(&self) -> Result<TotalsPartial, String> {
        Ok(TotalsPartial {
            households: self.households,
            accs: self
                .accs
                .iter()
                .map(|a| {
                    Ok((
                        a.value.as_ref().map(ValueMsg::value).transpose()?,
                        a.count,
                        a.flag,
                    ))
                })
                .collect::<Result<_, String>>()?,
        })
    }
}

/// One month of a block: per variant its cells (exact, as text), their simulated cases and its
/// programme totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthMsg {
    pub cells: Vec<Vec<String>>,
    pub samples: Vec<Vec<u64>>,
    pub totals: Vec<TotalsMsg>,
}

/// One household's totals over the horizon (winners and losers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdMsg {
    pub income: String,
    pub benefit: [String; 2],
    pub members: i64,
    pub weight: u64,
}

/// One household in the measured month (calibration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowMsg {
    pub index: u64,
    pub weight: u64,
    pub certain: bool,
    pub area: u16,
    pub region: u16,
    pub persons: u32,
    /// Dibao paid and persons, when on dibao.
    pub dibao: Option<(String, String)>,
}

/// Set-up, driver → worker: which households the worker builds (block `block` of `plan`), the main
/// sample's weight, and the extra households of the oversampled strata that fall in the block
/// (generator index, stratum; in population order). Counts and indices are integers (exact in
/// JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockSetup {
    pub block: usize,
    pub plan: super::Plan,
    pub weight: u64,
    pub extra: Vec<(u64, usize)>,
}

/// Set-up, worker → driver: what the block's households add to what set-up takes from the whole
/// population: their number and persons, the region codes among them (in order of appearance), the
/// survey's counts (eligible, on dibao, able to work, employed) and, for a generated population, the
/// generator's tallies of the block's main-sample households (for its notes in the report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Census {
    pub block: usize,
    pub households: u64,
    pub persons: u64,
    pub regions: Vec<String>,
    pub counts: crate::setup::Counts,
    pub tally: Option<crate::population::Tally>,
}

/// Set-up, driver → every worker: what set-up takes from the whole population: the region codes in
/// code order, the observed take-up and the employed share at the start (as text, Rust's shortest
/// representation that reads back to the same `f64`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settle {
    pub regions: Vec<String>,
    pub take_up: String,
    pub employed_share: String,
}

/// Driver → every worker: a run to simulate. `take_up` is the take-up in force before the run's
/// draw, as text (Rust's shortest representation that reads back to the same `f64`); `central`: no
/// bootstrap and the uncertain parameters at their central values (the take-up fit's runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub run: u32,
    pub take_up: String,
    pub central: bool,
}

impl RunSpec {
    pub fn new(run: u32, take_up: f64, central: bool) -> RunSpec {
        RunSpec {
            run,
            take_up: take_up.to_string(),
            central,
        }
    }
    /// The take-up, read back.
    pub fn take_up(&self) -> Result<f64, String> {
        self.take_up
            .parse::<f64>()
            .ok()
            .filter(|x| (0.0..=1.0).contains(x))
            .ok_or_else(|| format!("not a take-up: {:?}", self.take_up))
    }
}

/// Phase 1, worker → driver: the block's households in the first reported month of the run
/// (`rows` is `None` when the scenario has no target to rake to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub spec: RunSpec,
    pub block: usize,
    pub rows: Option<Vec<RowMsg>>,
}

/// Phase 2, driver → worker: the block's raked weights (in household order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    pub run: u32,
    pub block: usize,
    pub weights: Vec<u64>,
}

/// Phase 3, worker → driver: the block's reported months of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockMonths {
    pub spec: RunSpec,
    pub block: usize,
    pub months: Vec<MonthMsg>,
    pub households: Option<Vec<HouseholdMsg>>,
}

impl RowMsg {
    pub(super) fn of(r: &RakeRow) -> RowMsg {
        RowMsg {
            index: r.index,
            weight: r.weight,
            certain: r.certain,
            area: r.area,
            region: r.region,
            persons: r.persons,
            dibao: r.dibao.as_ref().map(|(p, m)| (num_text(p), num_text(m))),
        }
    }
    pub(super) fn row(&self) -> Result<RakeRow, String> {
        Ok(RakeRow {
            index: self.index,
            weight: self.weight,
            certain: self.certain,
            area: self.area,
            region: self.region,
            persons: self.persons,
            dibao: match &self.dibao {
                Some((p, m)) => Some((num_of_text(p)?, num_of_text(m)?)),
                None => None,
            },
        })
    }
}

impl BlockMonths {
    pub(super) fn of(spec: RunSpec, block: usize, r: &BlockResult) -> BlockMonths {
        BlockMonths {
            spec,
            block,
            months: r
                .months
                .iter()
                .map(|m| MonthMsg {
                    cells: m.cells.iter().map(|c| nums_text(c)).collect(),
                    samples: m.samples.clone(),
                    totals: m.totals.iter().map(TotalsMsg::of).collect(),
                })
                .collect(),
            households: r.households.as_ref().map(|h| {
                h.iter()
                    .map(|h| HouseholdMsg {
                        income: num_text(&h.income),
                        benefit: [num_text(&h.benefit[0]), num_text(&h.benefit[1])],
                        members: h.members,
                        weight: h.weight,
                    })
                    .collect()
            }),
        }
    }
    pub(super) fn result(&self) -> Result<BlockResult, String> {
        let months = self
            .months
            .iter()
            .map(|m| {
                Ok(MonthPart {
                    cells: m
                        .cells
                        .iter()
                        .map(|c| nums_of_text(c))
                        .collect::<Result<_, String>>()?,
                    samples: m.samples.clone(),
                    totals: m
                        .totals
                        .iter()
                        .map(TotalsMsg::partial)
                        .collect::<Result<_, String>>()?,
                })
            })
            .collect::<Result<_, String>>()?;
        let households = match &self.households {
            None => None,
            Some(h) => Some(
                h.iter()
                    .map(|h| {
                        Ok(HouseholdTotals {
                            income: num_of_text(&h.income)?,
                            benefit: [num_of_text(&h.benefit[0])?, num_of_text(&h.benefit[1])?],
                            members: h.members,
                            weight: h.weight,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
        };
        Ok(BlockResult { months, households })
    }
}
