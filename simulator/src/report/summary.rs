//! `series.csv` (every cell, long format) and `summary.json`.
//!
//! Both carry the exact mean over the runs (additive) beside the median and the 5–95% band, and flag
//! every cell resting on fewer than [`FEW_CASES`] simulated households.

use super::assumptions;
use super::tables::{count, csv_cell, month_labels, programmes, year_labels};
use crate::montecarlo::{Band, Cube, Outcome, VariantOutcome, FEW_CASES};
use crate::reform::BANDS;
use crate::run::is_money;
use crate::setup::Prepared;
use doudi_interpreter::Num;
use serde_json::{json, Map, Value as J};
use std::io::Write;
use std::path::Path;

/// `series.csv`: every cell of every variant, monthly and yearly, long format.
pub fn write_series(o: &Outcome, path: &Path) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    write_series_to(o, &mut w)?;
    w.flush()
}

/// The text of `series.csv` written to `w` (the Python package reads it without a file).
pub fn write_series_to(o: &Outcome, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, "variant,period,programme,region,area,measure,unit,mean,median,p5,p95,simulated_cases,few_cases")?;
    let months = month_labels(o);
    let years = year_labels(o);
    let mut variants: Vec<&VariantOutcome> = o.variants.iter().collect();
    if let Some(d) = &o.diff {
        variants.push(d);
    }
    for v in variants {
        for (cube, periods) in [(&v.monthly, &months), (&v.yearly, &years)] {
            for (t, period) in periods.iter().enumerate() {
                for r in 0..cube.regions {
                    for a in 0..cube.areas {
                        for (i, m) in o.metrics.iter().enumerate() {
                            let b = cube.get(t, r, a, i);
                            let fmt = |n: &Num| {
                                if is_money(m.measure) {
                                    n.format_fixed(2)
                                } else {
                                    count(n)
                                }
                            };
                            writeln!(
                                w,
                                "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                                csv_cell(&v.name),
                                csv_cell(period),
                                m.programme,
                                csv_cell(&o.regions[r]),
                                csv_cell(&o.areas[a]),
                                m.measure,
                                super::labels::Unit::of(m.measure).csv(),
                                fmt(&b.mean),
                                fmt(&b.median),
                                fmt(&b.p5),
                                fmt(&b.p95),
                                cube.cases(t, r, a, i),
                                cube.few(t, r, a, i)
                            )?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn band_json(b: &Band, money: bool) -> J {
    let s = |n: &Num| if money { n.format_fixed(2) } else { count(n) };
    json!({"mean": s(&b.mean), "median": s(&b.median), "p5": s(&b.p5), "p95": s(&b.p95)})
}

/// A headline cell: its band, the simulated households it rests on and whether they are few.
fn cell_json(cube: &Cube, period: usize, i: usize, money: bool) -> J {
    let mut j = band_json(cube.get(period, 0, 0, i), money);
    if let J::Object(m) = &mut j {
        m.insert("simulated_cases".into(), json!(cube.cases(period, 0, 0, i)));
        m.insert("few_cases".into(), json!(cube.few(period, 0, 0, i)));
    }
    j
}

/// `summary.json`: the scenario, the population, headline numbers per variant and year, the reform's
/// differences, winners and losers, the sweep, and the list of files. Amounts are strings (exact).
pub fn summary_json(p: &Prepared, o: &Outcome, files: &[String]) -> J {
    let s = &p.scenario;
    let years = year_labels(o);
    let headline = |v: &VariantOutcome, cube: &Cube, period: usize| -> J {
        let mut m = Map::new();
        for (pname, _) in programmes(o) {
            let mut pm = Map::new();
            for (i, met) in o
                .metrics
                .iter()
                .enumerate()
                .filter(|(_, x)| x.programme == pname)
            {
                pm.insert(
                    met.measure.to_string(),
                    cell_json(cube, period, i, is_money(met.measure)),
                );
            }
            m.insert(pname, J::Object(pm));
        }
        let _ = v;
        J::Object(m)
    };
    let variants: Vec<J> = o
        .variants
        .iter()
        .map(|v| {
            let yearly: Vec<J> = years.iter().enumerate().map(|(yi, y)| json!({"year": y, "programmes": headline(v, &v.yearly, yi)})).collect();
            let last = o.months.len().saturating_sub(1);
            json!({
                "name": v.name,
                "label": v.label,
                "yearly": yearly,
                "last_month": {"month": o.months.last().map(|m| m.to_string()), "programmes": headline(v, &v.monthly, last)},
            })
        })
        .collect();
    let diff = o.diff.as_ref().map(|d| {
        let yearly: Vec<J> = years
            .iter()
            .enumerate()
            .map(|(yi, y)| json!({"year": y, "programmes": headline(d, &d.yearly, yi)}))
            .collect();
        json!({"yearly": yearly})
    });
    let winners = o.winners.as_ref().map(|w| {
        let mut m = Map::new();
        for (i, b) in BANDS.iter().enumerate() {
            m.insert(b.to_string(), json!({"median": w.shares[i].median.format_fixed(4), "p5": w.shares[i].p5.format_fixed(4), "p95": w.shares[i].p95.format_fixed(4)}));
        }
        json!({"households": count(&w.households.median), "shares": J::Object(m)})
    });
    let sweep = o.sweep.as_ref().map(|sw| {
        json!({
            "parameter": sw.parameter,
            "points": sw.points.iter().map(|pt| json!({
                "value": pt.value.to_string(),
                "annual_cost": band_json(&pt.annual_cost, true),
                "annual_dibao_cost": band_json(&pt.annual_dibao_cost, true),
                "dibao_households_mean": band_json(&pt.households, false),
                "dibao_persons_mean": band_json(&pt.persons, false),
                "dibao_households_end": band_json(&pt.households_end, false),
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "scenario": {
            "name": s.scenario.name,
            "title": s.scenario.title,
            "description": s.scenario.description,
            "policy": s.resolve(&s.scenario.policy).display().to_string(),
            "start": s.scenario.start,
            "months": s.scenario.months,
            "runs": s.scenario.runs,
            "seed": s.scenario.seed,
        },
        "population": {
            "source": p.population.source,
            "households": p.population.households,
            "persons": p.population.persons,
            "weight": o.weight,
            "reference_population": p.population.reference_population,
        },
        "overrides": p.baseline_overrides.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        "parameters": assumptions::parameters(p).iter().map(|r| json!({"name": r.name, "label": r.label, "from": r.from, "value": r.value, "source": r.source})).collect::<Vec<_>>(),
        "calibration": o.calibration.rows.iter().map(|r| json!({
            "target": r.target,
            "label": r.label,
            "month": r.month,
            "unit": r.unit,
            "value": if r.unit == "yuan" { r.value.format_fixed(2) } else { count(&r.value) },
            "simulated": if r.unit == "yuan" { r.simulated.format_fixed(2) } else { count(&r.simulated) },
            "difference_pct": (r.difference_pct * 100.0).round() / 100.0,
            "source": r.source,
            "samples": r.samples,
            "few_cases": r.samples < FEW_CASES,
        })).collect::<Vec<_>>(),
        "calibration_notes": o.calibration.notes,
        "bands_include": assumptions::bands_include(p, o),
        "few_cases_threshold": FEW_CASES,
        "reform": s.reform.as_ref().map(|r| json!({
            "name": r.name,
            "description": r.description,
            "layer": p.reform_layer.as_ref().map(|l| l.display().to_string()),
            "parameters": p.reform_overrides.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        })),
        "dynamics": serde_json::to_value(&s.dynamics).unwrap_or(J::Null),
        "take_up_in_force": format!("{:.4}", p.sim.take_up),
        "quantiles": "mean (exact, additive), median; 5th and 95th percentiles by nearest rank over the runs",
        "variants": variants,
        "reform_difference": diff,
        "winners_losers": winners,
        "sweep": sweep,
        "files": files,
    })
}

// ---------------------------------------------------------------------------------------------
// Charts
