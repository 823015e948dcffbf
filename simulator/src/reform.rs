//! Reforms: winners and losers.
//!
//! The baseline and the reform are simulated together on the same population with the same random
//! numbers (`run.rs`), so a reform that changes nothing gives exactly zero difference everywhere.
//!
//! # Winners and losers (our choice, documented)
//! For each household with at least one counted member in the first month:
//! - its *income* over the horizon = the gross income of its counted members (policy output
//!   `gross_income`, actual circumstances) plus every benefit it received under the baseline
//!   (dibao as paid, allowances), summed over the simulated months;
//! - its *change* = benefits received under the reform − under the baseline, summed over the months.
//!
//! The change relative to income puts it in one of five bands, as PolicyEngine reports them:
//! gain more than 5% (strictly above 5%, or any gain on zero income), gain less than 5% (above 0, up
//! to 5%), no change (exactly 0 — exact arithmetic, no tolerance), lose less than 5%, lose more than 5%.
//! Deciles are deciles of households ranked by baseline income per counted member (first month), ties
//! by household order; decile 1 is the poorest. Shares are shares of households, each simulated household
//! counting with its weight in the run (the households it stands for); a decile is the households
//! whose cumulative weight, in income order, falls in its tenth (a household straddling two tenths
//! goes to the one holding its midpoint).

use crate::montecarlo::{band, Band};
use crate::run::HouseholdTotals;
use doudi_interpreter::Num;

pub const BANDS: [&str; 5] = [
    "gain_more_than_5pct",
    "gain_less_than_5pct",
    "no_change",
    "lose_less_than_5pct",
    "lose_more_than_5pct",
];
pub const BAND_LABELS: [&str; 5] = [
    "增收超过5%",
    "增收不超过5%",
    "不变",
    "减收不超过5%",
    "减收超过5%",
];
pub const BAND_LABELS_EN: [&str; 5] = [
    "Gain more than 5%",
    "Gain less than 5%",
    "No change",
    "Lose less than 5%",
    "Lose more than 5%",
];

#[derive(Debug, Clone)]
pub struct DecileRun {
    pub households: i64,
    pub shares: [Num; 5],
    /// Mean change per household and month (yuan).
    pub mean_change: Num,
    /// Σ change / Σ income.
    pub relative: Num,
}

#[derive(Debug, Clone)]
pub struct WinnersRun {
    pub households: i64,
    pub shares: [Num; 5],
    pub deciles: Vec<DecileRun>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecileOutcome {
    pub shares: Vec<Band>,
    /// Mean share over runs (the five add up to 1; for stacked charts).
    pub shares_mean: Vec<Num>,
    pub mean_change: Band,
    pub relative: Band,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WinnersOutcome {
    /// Households compared (per run; the median).
    pub households: Band,
    pub shares: Vec<Band>,
    /// Mean share over runs (the five add up to 1; for stacked charts).
    pub shares_mean: Vec<Num>,
    pub deciles: Vec<DecileOutcome>,
}

fn mean(v: impl Iterator<Item = Num>) -> Num {
    let mut n = 0i64;
    let mut s = Num::ZERO;
    for x in v {
        s = s.checked_add(&x).unwrap_or(s);
        n += 1;
    }
    if n == 0 {
        Num::ZERO
    } else {
        s.checked_div(&Num::from_i64(n)).unwrap_or(Num::ZERO)
    }
}

fn band_of(change: &Num, income: &Num) -> Result<usize, String> {
    let over = |x: &Num| -> Result<bool, String> {
        Ok(income.is_zero() || x.checked_mul_i64(20).map_err(|e| e.to_string())? > *income)
    };
    Ok(if change.is_zero() {
        2
    } else if change.is_positive() {
        if over(change)? {
            0
        } else {
            1
        }
    } else if over(&change.neg())? {
        4
    } else {
        3
    })
}

fn share(count: i64, total: i64) -> Num {
    if total == 0 {
        Num::ZERO
    } else {
        Num::from_i64(count)
            .checked_div(&Num::from_i64(total))
            .unwrap_or(Num::ZERO)
    }
}

/// Winners and losers of one run.
pub fn winners_run(hh: &[HouseholdTotals], months: u32) -> Result<WinnersRun, String> {
    struct Row {
        key: Num,
        change: Num,
        income: Num,
        band: usize,
        weight: i64,
    }
    let mut rows: Vec<Row> = Vec::new();
    for h in hh.iter().filter(|h| h.members > 0 && h.weight > 0) {
        let income = h
            .income
            .checked_add(&h.benefit[0])
            .map_err(|e| e.to_string())?;
        let change = h.benefit[1]
            .checked_sub(&h.benefit[0])
            .map_err(|e| e.to_string())?;
        let key = income
            .checked_div(&Num::from_i64(h.members))
            .map_err(|e| e.to_string())?;
        let band = band_of(&change, &income)?;
        rows.push(Row {
            key,
            change,
            income,
            band,
            weight: i64::try_from(h.weight)
                .map_err(|_| "a household weight is too large".to_string())?,
        });
    }
    let n: i64 = rows.iter().map(|r| r.weight).sum();
    let mut counts = [0i64; 5];
    for r in &rows {
        counts[r.band] += r.weight;
    }
    // Stable sort keeps household order among equal incomes.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| rows[a].key.cmp(&rows[b].key));
    // Each household's decile: where the midpoint of its weight falls in the cumulative weight.
    let mut decile_of = vec![0usize; rows.len()];
    let mut before = 0i128;
    for &i in &order {
        let w = rows[i].weight as i128;
        let mid2 = 2 * before + w; // twice the midpoint
        decile_of[i] = if n == 0 {
            0
        } else {
            ((mid2 * 10) / (2 * n as i128)).clamp(0, 9) as usize
        };
        before += w;
    }
    let mut deciles = Vec::new();
    for d in 0..10usize {
        let mut c = [0i64; 5];
        let mut change = Num::ZERO;
        let mut income = Num::ZERO;
        let mut k = 0i64;
        for &i in order.iter().filter(|&&i| decile_of[i] == d) {
            let r = &rows[i];
            c[r.band] += r.weight;
            k += r.weight;
            change = change
                .checked_add(
                    &r.change
                        .checked_mul_i64(r.weight)
                        .map_err(|e| e.to_string())?,
                )
                .map_err(|e| e.to_string())?;
            income = income
                .checked_add(
                    &r.income
                        .checked_mul_i64(r.weight)
                        .map_err(|e| e.to_string())?,
                )
                .map_err(|e| e.to_string())?;
        }
        let mean_change = if k == 0 || months == 0 {
            Num::ZERO
        } else {
            change
                .checked_div(&Num::from_i64(k * months as i64))
                .map_err(|e| e.to_string())?
        };
        let relative = if income.is_zero() {
            Num::ZERO
        } else {
            change.checked_div(&income).map_err(|e| e.to_string())?
        };
        deciles.push(DecileRun {
            households: k,
            shares: c.map(|x| share(x, k)),
            mean_change,
            relative,
        });
    }
    Ok(WinnersRun {
        households: n,
        shares: counts.map(|x| share(x, n)),
        deciles,
    })
}

/// Summarises winners and losers over runs.
pub fn summarise_winners(runs: Vec<WinnersRun>) -> WinnersOutcome {
    let col = |f: &dyn Fn(&WinnersRun) -> Num| -> Band {
        band(&mut runs.iter().map(f).collect::<Vec<_>>())
    };
    let households = col(&|r| Num::from_i64(r.households));
    let shares = (0..5).map(|b| col(&|r| r.shares[b].clone())).collect();
    let shares_mean = (0..5)
        .map(|b| mean(runs.iter().map(|r| r.shares[b].clone())))
        .collect();
    let deciles = (0..10)
        .map(|d| DecileOutcome {
            shares: (0..5)
                .map(|b| col(&|r| r.deciles[d].shares[b].clone()))
                .collect(),
            shares_mean: (0..5)
                .map(|b| mean(runs.iter().map(|r| r.deciles[d].shares[b].clone())))
                .collect(),
            mean_change: col(&|r| r.deciles[d].mean_change.clone()),
            relative: col(&|r| r.deciles[d].relative.clone()),
        })
        .collect();
    WinnersOutcome {
        households,
        shares,
        shares_mean,
        deciles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Num {
        Num::parse(s).unwrap()
    }

    #[test]
    fn bands() {
        assert_eq!(band_of(&n("0"), &n("1000")).unwrap(), 2);
        assert_eq!(band_of(&n("50"), &n("1000")).unwrap(), 1); // exactly 5%
        assert_eq!(band_of(&n("50.01"), &n("1000")).unwrap(), 0);
        assert_eq!(band_of(&n("-50"), &n("1000")).unwrap(), 3);
        assert_eq!(band_of(&n("-50.01"), &n("1000")).unwrap(), 4);
        assert_eq!(band_of(&n("1"), &n("0")).unwrap(), 0);
    }

    #[test]
    fn equal_benefits_are_no_change() {
        let hh: Vec<HouseholdTotals> = (0..25)
            .map(|i| HouseholdTotals {
                income: Num::from_i64(i * 100),
                benefit: [Num::from_i64(i), Num::from_i64(i)],
                members: 1 + i % 3,
                weight: 1 + (i % 2) as u64,
            })
            .collect();
        let w = winners_run(&hh, 12).unwrap();
        assert_eq!(w.shares[2], Num::from_i64(1));
        assert!(w.deciles.iter().all(|d| d.mean_change.is_zero()));
        // Deciles hold the weighted households: 13 of weight 1 and 12 of weight 2.
        assert_eq!(w.deciles.iter().map(|d| d.households).sum::<i64>(), 37);
        assert_eq!(w.households, 37);
    }

    #[test]
    fn weights_count_as_households() {
        // One loser standing for 3 households, one unchanged standing for 1.
        let h = |benefit: [i64; 2], weight| HouseholdTotals {
            income: Num::from_i64(1000),
            benefit: benefit.map(Num::from_i64),
            members: 1,
            weight,
        };
        let w = winners_run(&[h([100, 0], 3), h([100, 100], 1)], 12).unwrap();
        assert_eq!(w.shares[4], Num::parse("0.75").unwrap());
        assert_eq!(w.shares[2], Num::parse("0.25").unwrap());
    }
}
