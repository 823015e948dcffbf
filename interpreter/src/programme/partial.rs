//! Partial population totals as bytes: what one worker of a distributed run (a Ray task, a Spark
//! partition) adds to the programme totals, sent to the driver, which merges the partials in a
//! fixed order and evaluates the programme definitions as one machine would.
//!
//! The format is exact: every accumulated value is written with [`Value::write_repr`] (a number's
//! scale included), so merging partials gives the same totals, to the last digit and scale, as
//! accumulating every household in one process. The bytes carry the month and the shape of the
//! policy's aggregations; reading them for another policy or month is an error, not a wrong total.

use super::Totals;
use crate::eval::{AggAcc, Month};
use crate::policy::Policy;
use crate::value::Value;
use doudi_dsl::ast::AggKind;

/// The first bytes of every partial (format version 1).
const MAGIC: &[u8] = b"doudi-totals\x01";

/// Why partial totals could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartialError {
    #[error("these are not doudi partial totals (or not of this version of doudi)")]
    NotPartial,
    #[error("the partial totals are for {found}, not {expected}")]
    OtherMonth { found: Month, expected: Month },
    #[error("the partial totals were made with another policy ({0})")]
    OtherPolicy(String),
    #[error("the partial totals are damaged (at total {index})")]
    Damaged { index: usize },
}

fn kind_code(k: AggKind) -> u8 {
    match k {
        AggKind::Sum => 0,
        AggKind::Count => 1,
        AggKind::Any => 2,
        AggKind::All => 3,
        AggKind::Min => 4,
        AggKind::Max => 5,
    }
}

impl<'p> Totals<'p> {
    /// The totals accumulated so far, as bytes that [`Totals::from_partial`] reads back.
    pub fn to_partial(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.month.year.to_le_bytes());
        out.push(self.month.month);
        out.extend_from_slice(&(self.accs.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.households.to_le_bytes());
        for acc in &self.accs {
            let (kind, count, flag, value) = acc.state();
            out.push(kind_code(kind));
            out.extend_from_slice(&count.to_le_bytes());
            out.push(match flag {
                None => 0,
                Some(false) => 1,
                Some(true) => 2,
            });
            match value {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    v.write_repr(&mut out);
                }
            }
        }
        out
    }

    /// Reads partial totals written by [`Totals::to_partial`] for the same policy and month, ready
    /// to be [merged](Totals::merge) into another accumulator.
    pub fn from_partial(
        policy: &'p Policy,
        month: Month,
        bytes: &[u8],
    ) -> Result<Totals<'p>, PartialError> {
        let mut t = Totals::new(policy, month);
        let mut b = bytes.strip_prefix(MAGIC).ok_or(PartialError::NotPartial)?;
        let damaged = |index| PartialError::Damaged { index };
        let year = i32::from_le_bytes(take(&mut b).ok_or(damaged(0))?);
        let [m] = take::<1>(&mut b).ok_or(damaged(0))?;
        let found = Month { year, month: m };
        if found != month {
            return Err(PartialError::OtherMonth {
                found,
                expected: month,
            });
        }
        let n = u32::from_le_bytes(take(&mut b).ok_or(damaged(0))?) as usize;
        if n != t.accs.len() {
            return Err(PartialError::OtherPolicy(format!(
                "{n} population totals where this policy has {}",
                t.accs.len()
            )));
        }
        t.households = u64::from_le_bytes(take(&mut b).ok_or(damaged(0))?);
        for (index, acc) in t.accs.iter_mut().enumerate() {
            let [kind] = take::<1>(&mut b).ok_or(damaged(index))?;
            let (own, _, _, _) = acc.state();
            if kind != kind_code(own) {
                return Err(PartialError::OtherPolicy(format!(
                    "population total {} is another aggregation",
                    index + 1
                )));
            }
            let count = i64::from_le_bytes(take(&mut b).ok_or(damaged(index))?);
            let flag = match take::<1>(&mut b).ok_or(damaged(index))? {
                [0] => None,
                [1] => Some(false),
                [2] => Some(true),
                _ => return Err(damaged(index)),
            };
            let value = match take::<1>(&mut b).ok_or(damaged(index))? {
                [0] => None,
                [1] => Some(Value::read_repr(&mut b).ok_or(damaged(index))?),
                _ => return Err(damaged(index)),
            };
            acc.set_state(count, flag, value);
        }
        if !b.is_empty() {
            return Err(damaged(t.accs.len()));
        }
        Ok(t)
    }
}

/// The first `N` bytes of `bytes`, advancing it.
fn take<const N: usize>(bytes: &mut &[u8]) -> Option<[u8; N]> {
    let head = bytes.get(..N)?;
    *bytes = &bytes[N..];
    head.try_into().ok()
}

impl AggAcc {
    /// (aggregation, count, flag, accumulated value): what a partial total carries.
    pub(crate) fn state(&self) -> (AggKind, i64, Option<bool>, Option<&Value>) {
        (self.kind, self.count, self.flag, self.acc.as_ref())
    }

    pub(crate) fn set_state(&mut self, count: i64, flag: Option<bool>, value: Option<Value>) {
        self.count = count;
        self.flag = flag;
        self.acc = value;
    }
}
