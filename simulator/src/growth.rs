//! Growth of the standards after their last dated value: a source of forecast uncertainty.
//!
//! A policy gives its standards (`dibao_standard`) as dated values; after the last one nothing says
//! what the standard will be. With `[uncertainty] standard_growth_per_year = [low, high]`, each run
//! draws a yearly growth rate `g` uniformly in the range (the central runs that fit the take-up use the
//! midpoint), rounded to 0.01 percentage point so that it is an exact decimal, and every parameter of
//! `standard_parameters` (default `dibao_standard`) gets a new dated value on each anniversary of its
//! last dated value: `V × (1 + g)^k` for the `k`-th anniversary, `V` the last dated value (each key of
//! a keyed parameter alike), computed exactly with `rust_decimal` and rounded to the yuan half away
//! from zero, as the language's `round(x, 1)`. The values are a parameter version like any other: the
//! interpreter evaluates them, nothing is re-implemented. Baseline, reform and sweep variants grow at
//! the run's rate from their own last dated value (a reform that raises the standard keeps its raise,
//! in proportion).

use doudi_dsl::ast::Date;
use doudi_dsl::ir::{format_date, Citation, Const, ParamVersion, Program, Ty};
use doudi_interpreter::Policy;
use rust_decimal::{Decimal, RoundingStrategy};

/// The parameter grown when `standard_parameters` is not given.
pub const DEFAULT_PARAMETER: &str = "dibao_standard";

/// At most this many yearly versions are added (the longest horizon is far shorter).
const MAX_YEARS: i32 = 200;

/// The rate `g` as the exact decimal the run uses: rounded to 4 decimals (0.01 percentage point).
pub fn rate_decimal(g: f64) -> Decimal {
    let basis_points = (g * 10_000.0).round();
    if !basis_points.is_finite() || basis_points.abs() > 1e12 {
        return Decimal::ZERO;
    }
    Decimal::new(basis_points as i64, 4)
}

/// `g` rounded as [`rate_decimal`], as a float (what the run reports it drew).
pub fn rounded_rate(g: f64) -> f64 {
    (g * 10_000.0).round() / 10_000.0
}

/// The parameters a scenario grows (`standard_parameters`, default `dibao_standard`).
pub fn parameter_names(u: &crate::calibrate::Uncertainty) -> Vec<String> {
    match &u.standard_parameters {
        Some(v) => v.clone(),
        None => vec![DEFAULT_PARAMETER.to_string()],
    }
}

/// The date of the last dated value of a parameter.
fn anchor(versions: &[ParamVersion]) -> Option<(usize, Date)> {
    versions
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, v)| v.from.map(|d| (i, d)))
}

/// The `k`-th anniversary of `d` (29 February becomes 28 February in a common year).
fn anniversary(d: Date, k: i32) -> Date {
    let year = d.year + k;
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let day = if d.month == 2 && d.day == 29 && !leap {
        28
    } else {
        d.day
    };
    Date {
        year,
        month: d.month,
        day,
    }
}

fn before_or_on(a: Date, b: Date) -> bool {
    (a.year, a.month, a.day) <= (b.year, b.month, b.day)
}

/// Checks that each name is a money parameter with a dated value to grow from; the message says why
/// not (the caller adds the file and key).
pub fn check(program: &Program, names: &[String]) -> Result<(), String> {
    for name in names {
        let Some(id) = program.param_by_name(name) else {
            let mut all: Vec<&str> = program.params.iter().map(|p| p.name.as_str()).collect();
            all.sort();
            return Err(format!(
                "unknown parameter `{name}` (parameters: {})",
                all.join(", ")
            ));
        };
        let p = &program.params[id as usize];
        if !matches!(p.ty, Ty::Money(_)) {
            return Err(format!(
                "`{name}` is not an amount of money: only standards (money) grow"
            ));
        }
        if anchor(&p.versions).is_none() {
            return Err(format!(
                "`{name}` has no dated value (`from …`) after which it could grow"
            ));
        }
    }
    Ok(())
}

/// Adds to `program` the grown versions of each parameter of `names`: one on each anniversary of its
/// last dated value, up to `until` (inclusive), at the yearly rate `rate`. Returns, per parameter,
/// the dates added.
pub fn grow_program(
    program: &mut Program,
    names: &[String],
    rate: Decimal,
    until: Date,
) -> Result<Vec<(String, Vec<Date>)>, String> {
    check(program, names)?;
    let factor = Decimal::ONE
        .checked_add(rate)
        .ok_or_else(|| "standard growth: overflow".to_string())?;
    let mut added = Vec::new();
    for name in names {
        let Some(id) = program.param_by_name(name) else {
            continue;
        };
        let param = &mut program.params[id as usize];
        let Some((i, from)) = anchor(&param.versions) else {
            continue;
        };
        let base = param.versions[i].clone();
        let mut dates = Vec::new();
        let mut compound = Decimal::ONE;
        for k in 1..=MAX_YEARS {
            let date = anniversary(from, k);
            if !before_or_on(date, until) {
                break;
            }
            compound = compound
                .checked_mul(factor)
                .ok_or_else(|| format!("`{name}`: standard growth overflows"))?;
            let mut values = Vec::with_capacity(base.values.len());
            for c in &base.values {
                let v = match c {
                    Const::Dec(d) => *d,
                    Const::Int(n) => Decimal::from(*n),
                    _ => return Err(format!("`{name}`: only numbers can grow")),
                };
                let grown = v
                    .checked_mul(compound)
                    .ok_or_else(|| format!("`{name}`: standard growth overflows"))?
                    .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
                let grown = Const::Dec(grown);
                if let Some(r) = &param.range {
                    if !r.contains_const(&grown) {
                        return Err(format!(
                            "`{name}`: growth by {rate} a year gives a value outside the declared range `{}` from {}",
                            r.text,
                            format_date(date)
                        ));
                    }
                }
                values.push(grown);
            }
            param.versions.push(ParamVersion {
                from: Some(date),
                values,
                citations: vec![Citation::Assumption {
                    reason: format!(
                        "{name} after its last dated value ({}) grown by {}% a year ([uncertainty] standard_growth_per_year, drawn per run), rounded to the yuan",
                        format_date(from),
                        (rate * Decimal::ONE_HUNDRED).normalize()
                    ),
                }],
                span: base.span,
            });
            dates.push(date);
        }
        // Versions stay sorted by date (a `None` date first).
        param
            .versions
            .sort_by_key(|v| v.from.map(|d| (d.year, d.month, d.day)));
        added.push((name.clone(), dates));
    }
    Ok(added)
}

/// A policy from a program with grown standards (overrides made before, `--set` or `[parameters]`,
/// are in the program already).
fn compile(program: Program) -> Result<Policy, String> {
    Policy::new(program).map_err(|d| {
        format!(
            "standard growth: the policy does not compile again ({} diagnostics)",
            d.len()
        )
    })
}

/// The policies of one run, per variant: `None` where the variant's own policy is used (no
/// `standard_growth_per_year` range), else a copy whose standards grow at `rate` a year up to the
/// last simulated month.
pub fn run_policies(sim: &crate::run::Sim, rate: f64) -> Result<Vec<Option<Policy>>, String> {
    if sim.uncertainty.standard_growth_per_year.is_none() {
        return Ok(sim.variants.iter().map(|_| None).collect());
    }
    let names = parameter_names(&sim.uncertainty);
    let last = sim.start.plus(sim.months as i32 - 1);
    let until = Date {
        year: last.year,
        month: last.month,
        day: 31,
    };
    let rate = rate_decimal(rate);
    sim.variants
        .iter()
        .map(|v| {
            let mut program = v.policy.program.clone();
            let added = grow_program(&mut program, &names, rate, until)?;
            if added.iter().all(|(_, dates)| dates.is_empty()) {
                // No anniversary within the horizon: the variant's own policy.
                return Ok(None);
            }
            compile(program).map(Some)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_exact_decimals_of_four_places() {
        assert_eq!(rate_decimal(0.035), Decimal::new(350, 4));
        assert_eq!(rate_decimal(0.0234567), Decimal::new(235, 4));
        assert_eq!(rate_decimal(f64::NAN), Decimal::ZERO);
        assert_eq!(rounded_rate(0.0234567), 0.0235);
    }

    #[test]
    fn anniversaries_keep_the_day_except_29_february() {
        let d = Date {
            year: 2024,
            month: 2,
            day: 29,
        };
        assert_eq!(anniversary(d, 1).day, 28);
        assert_eq!(anniversary(d, 4).day, 29);
        assert_eq!(anniversary(d, 4).year, 2028);
    }
}
