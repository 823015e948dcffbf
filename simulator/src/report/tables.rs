//! The report's tables (shared by CSV, HTML and Excel), its charts and `summary.json`.
//!
//! Money is exact: CSV and JSON print it with two decimals (half away from zero); counts are whole
//! numbers except medians of an even number of runs and yearly averages, printed with two decimals.

use super::charts::{self, Chart, Line, LineChart, StackedBars, Text};
use crate::montecarlo::{Band, Cube, Outcome, VariantOutcome};
use crate::reform::{BANDS, BAND_LABELS, BAND_LABELS_EN};
use crate::run::is_money;
use crate::setup::Prepared;
use doudi_interpreter::Num;
use plotters::style::RGBColor;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{json, Map, Value as J};
use std::io::Write;
use std::path::Path;

/// A table cell.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Money(Num),
    Count(Num),
    Share(Num),
}

impl Cell {
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Money(n) => n.format_fixed(2),
            Cell::Count(n) => count(n),
            Cell::Share(n) => n.format_fixed(4),
        }
    }
    pub fn f64(&self) -> Option<f64> {
        match self {
            Cell::Text(_) => None,
            Cell::Money(n) | Cell::Count(n) | Cell::Share(n) => n.to_decimal_lossy().to_f64(),
        }
    }
}

pub fn count(n: &Num) -> String {
    if n.is_integer() {
        n.format_fixed(0)
    } else {
        n.format_fixed(2)
    }
}

pub fn f(n: &Num) -> f64 {
    n.to_decimal_lossy().to_f64().unwrap_or(0.0)
}

/// A table: `name` is its file stem and sheet name.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub title: Text,
    pub note: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Table {
    pub fn write_csv(&self, path: &Path) -> std::io::Result<()> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(w, "{}", self.columns.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","))?;
        for r in &self.rows {
            writeln!(w, "{}", r.iter().map(|c| csv_cell(&c.text())).collect::<Vec<_>>().join(","))?;
        }
        w.flush()
    }
}

fn cell(measure: &str, n: &Num) -> Cell {
    if is_money(measure) {
        Cell::Money(n.clone())
    } else {
        Cell::Count(n.clone())
    }
}

fn metric(o: &Outcome, programme: &str, measure: &str) -> Option<usize> {
    o.metrics.iter().position(|m| m.programme == programme && m.measure == measure)
}

/// Programmes in report order: dibao, the allowances, total.
fn programmes(o: &Outcome) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for m in &o.metrics {
        if !out.iter().any(|(p, _)| *p == m.programme) {
            out.push((m.programme.clone(), m.label.clone()));
        }
    }
    out
}

/// Columns with a band: (programme, measure).
fn banded(o: &Outcome) -> Vec<(String, &'static str)> {
    let mut v = vec![("dibao".to_string(), "households"), ("dibao".to_string(), "persons"), ("dibao".to_string(), "spending")];
    for (p, _) in programmes(o) {
        if p != "dibao" && p != "total" {
            v.push((p.clone(), "persons"));
            v.push((p, "spending"));
        }
    }
    v.push(("total".into(), "spending"));
    v
}

/// Columns without a band (medians).
fn plain(o: &Outcome) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = [
        "inflows",
        "applications",
        "rejections",
        "out_income",
        "out_death",
        "out_review",
        "out_credit",
        "out_grace_end",
        "in_grace",
        "eligible_not_on_dibao",
        "on_dibao_not_eligible",
    ]
    .iter()
    .map(|m| ("dibao".to_string(), *m))
    .collect();
    for (p, _) in programmes(o) {
        if p != "dibao" && p != "total" {
            v.push((p, "households"));
        }
    }
    v.push(("total".into(), "households"));
    v
}

fn wide_columns(o: &Outcome, period: &str) -> Vec<String> {
    let mut cols = vec!["variant".to_string(), period.to_string()];
    for (p, m) in banded(o) {
        cols.push(format!("{p}_{m}"));
        cols.push(format!("{p}_{m}_p5"));
        cols.push(format!("{p}_{m}_p95"));
    }
    for (p, m) in plain(o) {
        cols.push(format!("{p}_{m}"));
    }
    cols
}

fn wide_rows(o: &Outcome, v: &VariantOutcome, cube: &Cube, periods: &[String], rows: &mut Vec<Vec<Cell>>) {
    for (t, label) in periods.iter().enumerate() {
        let mut r = vec![Cell::Text(v.name.clone()), Cell::Text(label.clone())];
        for (p, m) in banded(o) {
            let Some(i) = metric(o, &p, m) else { continue };
            let b = cube.get(t, 0, 0, i);
            r.push(cell(m, &b.median));
            r.push(cell(m, &b.p5));
            r.push(cell(m, &b.p95));
        }
        for (p, m) in plain(o) {
            let Some(i) = metric(o, &p, m) else { continue };
            r.push(cell(m, &cube.get(t, 0, 0, i).median));
        }
        rows.push(r);
    }
}

fn month_labels(o: &Outcome) -> Vec<String> {
    o.months.iter().map(|m| m.to_string()).collect()
}

fn year_labels(o: &Outcome) -> Vec<String> {
    o.years.iter().map(|(y, n)| if *n == 12 { y.to_string() } else { format!("{y} ({n} months)") }).collect()
}

/// All tables of the report.
pub fn build(p: &Prepared, o: &Outcome) -> Vec<Table> {
    let mut out = Vec::new();
    let months = month_labels(o);
    let years = year_labels(o);
    let sweep = o.sweep.is_some();
    let weight_note = format!(
        "Median over {} runs with the 5th–95th percentile band (_p5, _p95). Each simulated household stands for {} households.",
        o.runs, o.weight
    );

    // Monthly caseload and spending.
    let mut rows = Vec::new();
    for v in &o.variants {
        wide_rows(o, v, &v.monthly, &months, &mut rows);
    }
    out.push(Table {
        name: "monthly".into(),
        title: Text::new("逐月在保规模与支出", "Caseload and spending by month"),
        note: format!("{weight_note} Households and persons are counted in the month; spending is the month's payments (yuan). Flows (inflows, applications, exits by reason) are the month's events."),
        columns: wide_columns(o, "month"),
        rows,
    });
    let mut rows = Vec::new();
    for v in &o.variants {
        wide_rows(o, v, &v.yearly, &years, &mut rows);
    }
    out.push(Table {
        name: "yearly".into(),
        title: Text::new("年度汇总", "Yearly totals"),
        note: format!("{weight_note} Caseloads are the mean over the year's months; spending and flows are summed over them."),
        columns: wide_columns(o, "year"),
        rows,
    });

    // Regions.
    if !sweep {
        let mut rows = Vec::new();
        let cols_m: Vec<(String, &str)> = vec![
            ("dibao".into(), "households"),
            ("dibao".into(), "persons"),
            ("dibao".into(), "spending"),
            ("total".into(), "households"),
            ("total".into(), "spending"),
        ];
        for v in o.variants.iter().filter(|v| v.regions) {
            for (yi, y) in years.iter().enumerate() {
                for r in 0..o.regions.len() {
                    for a in 0..o.areas.len() {
                        let mut row = vec![Cell::Text(v.name.clone()), Cell::Text(y.clone()), Cell::Text(o.regions[r].clone()), Cell::Text(o.areas[a].clone())];
                        for (pname, m) in &cols_m {
                            let Some(i) = metric(o, pname, m) else { continue };
                            let b = v.yearly.get(yi, r, a, i);
                            row.push(cell(m, &b.median));
                            if *m == "spending" {
                                row.push(cell(m, &b.p5));
                                row.push(cell(m, &b.p95));
                            }
                        }
                        rows.push(row);
                    }
                }
            }
        }
        let mut columns: Vec<String> = ["variant", "year", "region", "area"].iter().map(|s| s.to_string()).collect();
        for (pname, m) in &cols_m {
            columns.push(format!("{pname}_{m}"));
            if *m == "spending" {
                columns.push(format!("{pname}_{m}_p5"));
                columns.push(format!("{pname}_{m}_p95"));
            }
        }
        out.push(Table {
            name: "regions".into(),
            title: Text::new("分县(市、区)与城乡", "By region and area"),
            note: format!("{weight_note} Region `all` and area `all` are totals."),
            columns,
            rows,
        });
    }

    // Programme-level outputs of the policy.
    for (name, yearly) in [("programme", false), ("programme_yearly", true)] {
        let mut rows = Vec::new();
        let periods = if yearly { &years } else { &months };
        for v in &o.variants {
            for s in &v.programme {
                let bands = if yearly { &s.yearly } else { &s.monthly };
                for (t, b) in bands.iter().enumerate() {
                    let c = |n: &Num| if s.money { Cell::Money(n.clone()) } else { Cell::Count(n.clone()) };
                    rows.push(vec![
                        Cell::Text(v.name.clone()),
                        Cell::Text(periods[t].clone()),
                        Cell::Text(s.name.clone()),
                        Cell::Text(s.label.clone()),
                        c(&b.median),
                        c(&b.p5),
                        c(&b.p95),
                    ]);
                }
            }
        }
        out.push(Table {
            name: name.into(),
            title: if yearly {
                Text::new("总体层面规则(年度平均)", "Programme-level rules (yearly mean)")
            } else {
                Text::new("总体层面规则(逐月)", "Programme-level rules by month")
            },
            note: "The policy's programme definitions (the 2% cap on purchased services with fund and local-finance shares, the care-allowance funding split, ...) evaluated by the interpreter on each month's weighted totals of the households as paid. Yearly amounts in these definitions are as the policy defines them (e.g. 12 × the month's allowance total); the yearly table is the mean over the year's months.".into(),
            columns: ["variant", if yearly { "year" } else { "month" }, "output", "label", "median", "p5", "p95"].iter().map(|s| s.to_string()).collect(),
            rows,
        });
    }

    // Reform differences.
    if let Some(d) = &o.diff {
        for (name, cube, periods) in [("reform_monthly", &d.monthly, &months), ("reform_yearly", &d.yearly, &years)] {
            let mut rows = Vec::new();
            wide_rows(o, d, cube, periods, &mut rows);
            out.push(Table {
                name: name.into(),
                title: if name == "reform_yearly" {
                    Text::new("改革与基线之差(年度)", "Reform minus baseline, yearly")
                } else {
                    Text::new("改革与基线之差(逐月)", "Reform minus baseline, by month")
                },
                note: format!("{weight_note} Differences are taken run by run (same population, same random numbers), then summarised."),
                columns: wide_columns(o, if name == "reform_yearly" { "year" } else { "month" }),
                rows,
            });
        }
        let mut rows = Vec::new();
        for s in &d.programme {
            for (t, b) in s.yearly.iter().enumerate() {
                let c = |n: &Num| if s.money { Cell::Money(n.clone()) } else { Cell::Count(n.clone()) };
                rows.push(vec![Cell::Text(years[t].clone()), Cell::Text(s.name.clone()), Cell::Text(s.label.clone()), c(&b.median), c(&b.p5), c(&b.p95)]);
            }
        }
        out.push(Table {
            name: "reform_programme".into(),
            title: Text::new("改革对总体层面规则的影响(年度平均)", "Reform effect on programme-level rules (yearly mean)"),
            note: "Reform minus baseline of each programme output present in both policies.".into(),
            columns: ["year", "output", "label", "median", "p5", "p95"].iter().map(|s| s.to_string()).collect(),
            rows,
        });
    }

    // Winners and losers.
    if let Some(wl) = &o.winners {
        let rows = (0..5)
            .map(|b| {
                let x = &wl.shares[b];
                vec![Cell::Text(BANDS[b].into()), Cell::Text(format!("{} {}", BAND_LABELS[b], BAND_LABELS_EN[b])), Cell::Share(x.median.clone()), Cell::Share(x.p5.clone()), Cell::Share(x.p95.clone())]
            })
            .collect();
        out.push(Table {
            name: "winners_losers".into(),
            title: Text::new("受益与受损家庭", "Winners and losers"),
            note: format!(
                "Share of households (median over runs, {} households compared) whose benefits over the horizon change under the reform, relative to their income over the horizon (gross income + baseline benefits). `more than 5%` is strictly above 5%; `no change` is exactly zero.",
                count(&wl.households.median)
            ),
            columns: ["band", "label", "share", "share_p5", "share_p95"].iter().map(|s| s.to_string()).collect(),
            rows,
        });
        let mut columns: Vec<String> = ["decile", "mean_change_per_household_month", "mean_change_p5", "mean_change_p95", "relative_change", "relative_change_p5", "relative_change_p95"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        columns.extend(BANDS.iter().map(|b| b.to_string()));
        let rows = wl
            .deciles
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut r = vec![
                    Cell::Text((i + 1).to_string()),
                    Cell::Money(d.mean_change.median.clone()),
                    Cell::Money(d.mean_change.p5.clone()),
                    Cell::Money(d.mean_change.p95.clone()),
                    Cell::Share(d.relative.median.clone()),
                    Cell::Share(d.relative.p5.clone()),
                    Cell::Share(d.relative.p95.clone()),
                ];
                r.extend(d.shares.iter().map(|s| Cell::Share(s.median.clone())));
                r
            })
            .collect();
        out.push(Table {
            name: "deciles".into(),
            title: Text::new("按收入十分位", "By income decile"),
            note: "Deciles of households by baseline income per counted member (1 = poorest). Mean change: yuan per household per month. Relative change: total change / total income of the decile. Band shares are medians over runs.".into(),
            columns,
            rows,
        });
    }

    // Sweep.
    if let Some(sw) = &o.sweep {
        let rows = sw
            .points
            .iter()
            .map(|pt| {
                let mut r = vec![Cell::Text(pt.value.to_string())];
                for (b, money) in [(&pt.annual_cost, true), (&pt.annual_dibao_cost, true), (&pt.households, false), (&pt.persons, false), (&pt.households_end, false)] {
                    for n in [&b.median, &b.p5, &b.p95] {
                        r.push(if money { Cell::Money(n.clone()) } else { Cell::Count(n.clone()) });
                    }
                }
                r
            })
            .collect();
        let mut columns = vec![sw.parameter.clone()];
        for c in ["annual_cost", "annual_dibao_cost", "dibao_households_mean", "dibao_persons_mean", "dibao_households_end"] {
            columns.push(c.to_string());
            columns.push(format!("{c}_p5"));
            columns.push(format!("{c}_p95"));
        }
        out.push(Table {
            name: "sweep".into(),
            title: Text::new(format!("参数扫描:{}", sw.parameter), format!("Sweep of {}", sw.parameter)),
            note: format!("{weight_note} Annual cost = total spending over the horizon × 12 / its months; caseloads are the mean over the months and the last month."),
            columns,
            rows,
        });
    }

    // Settings.
    out.push(settings(p, o));
    out
}

fn settings(p: &Prepared, o: &Outcome) -> Table {
    let s = &p.scenario;
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut add = |k: &str, v: String| rows.push(vec![Cell::Text(k.to_string()), Cell::Text(v)]);
    add("scenario", s.scenario.name.clone());
    add("policy", s.resolve(&s.scenario.policy).display().to_string());
    add("start", s.scenario.start.clone());
    add("months", s.scenario.months.to_string());
    add("runs", s.scenario.runs.to_string());
    add("seed", s.scenario.seed.to_string());
    add("population", p.population.source.clone());
    add("population.households", p.population.households.to_string());
    add("population.persons", p.population.persons.to_string());
    add("population.weight", o.weight.to_string());
    if let Some(r) = p.population.reference_population {
        add("population.reference_population", r.to_string());
    }
    for (k, v) in &p.baseline_overrides {
        add(&format!("parameters.{k}"), v.clone());
    }
    if let Some(r) = &s.reform {
        add("reform.name", r.name.clone());
        if let Some(l) = &p.reform_layer {
            add("reform.layer", l.display().to_string());
        }
    }
    for (k, v) in &p.reform_overrides {
        add(&format!("reform.parameters.{k}"), v.clone());
    }
    if let Some((param, values)) = &p.sweep {
        add("sweep.parameter", param.clone());
        add("sweep.values", values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "));
    }
    add(
        "take_up in force",
        format!("{:.4}{}", p.sim.take_up, if s.dynamics.take_up.is_auto() { " (auto: share on dibao among the households eligible in the first month)" } else { "" }),
    );
    if let Ok(J::Object(map)) = serde_json::to_value(dynamics_json(&s.dynamics)) {
        for (k, v) in map {
            add(&format!("dynamics.{k}"), v.to_string());
        }
    }
    Table {
        name: "settings".into(),
        title: Text::new("情景设置", "Scenario settings"),
        note: "The scenario's settings, parameter overrides and every dynamics rate in force (defaults included).".into(),
        columns: vec!["setting".into(), "value".into()],
        rows,
    }
}

fn dynamics_json(d: &crate::dynamics::Dynamics) -> J {
    serde_json::to_value(d).unwrap_or(J::Null)
}

/// `series.csv`: every cell of every variant, monthly and yearly, long format.
pub fn write_series(o: &Outcome, path: &Path) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "variant,period,programme,region,area,measure,median,p5,p95")?;
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
                            let fmt = |n: &Num| if is_money(m.measure) { n.format_fixed(2) } else { count(n) };
                            writeln!(
                                w,
                                "{},{},{},{},{},{},{},{},{}",
                                csv_cell(&v.name),
                                csv_cell(period),
                                m.programme,
                                csv_cell(&o.regions[r]),
                                csv_cell(&o.areas[a]),
                                m.measure,
                                fmt(&b.median),
                                fmt(&b.p5),
                                fmt(&b.p95)
                            )?;
                        }
                    }
                }
            }
        }
    }
    w.flush()
}

fn band_json(b: &Band, money: bool) -> J {
    let s = |n: &Num| if money { n.format_fixed(2) } else { count(n) };
    json!({"median": s(&b.median), "p5": s(&b.p5), "p95": s(&b.p95)})
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
            for (i, met) in o.metrics.iter().enumerate().filter(|(_, x)| x.programme == pname) {
                pm.insert(met.measure.to_string(), band_json(cube.get(period, 0, 0, i), is_money(met.measure)));
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
        let yearly: Vec<J> = years.iter().enumerate().map(|(yi, y)| json!({"year": y, "programmes": headline(d, &d.yearly, yi)})).collect();
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
        "parameters": p.baseline_overrides.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        "reform": s.reform.as_ref().map(|r| json!({
            "name": r.name,
            "description": r.description,
            "layer": p.reform_layer.as_ref().map(|l| l.display().to_string()),
            "parameters": p.reform_overrides.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        })),
        "dynamics": dynamics_json(&s.dynamics),
        "take_up_in_force": format!("{:.4}", p.sim.take_up),
        "quantiles": "median; 5th and 95th percentiles by nearest rank over the runs",
        "variants": variants,
        "reform_difference": diff,
        "winners_losers": winners,
        "sweep": sweep,
        "files": files,
    })
}

// ---------------------------------------------------------------------------------------------
// Charts

fn series_of(cube: &Cube, m: usize, periods: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut a = Vec::new();
    let mut lo = Vec::new();
    let mut hi = Vec::new();
    for t in 0..periods {
        let b = cube.get(t, 0, 0, m);
        a.push(f(&b.median));
        lo.push(f(&b.p5));
        hi.push(f(&b.p95));
    }
    (a, lo, hi)
}

fn prog_text(name: &str, label: &str) -> Text {
    match name {
        "dibao" => Text::new("低保", "Dibao"),
        "total" => Text::new("合计", "Total"),
        "care_allowance" => Text::new(label, "Care allowance"),
        "centralised_care" => Text::new(label, "Centralised care"),
        other => Text::new(label, other),
    }
}

/// The charts of a report: (file stem, chart).
pub fn charts(_p: &Prepared, o: &Outcome) -> Vec<(String, Chart)> {
    let mut out = Vec::new();
    let n = o.months.len();
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let x_labels = month_labels(o);
    let month_axis = Text::new("月份", "Month");
    let hh = metric(o, "dibao", "households").unwrap_or(0);
    let palette = charts::COLORS;

    // Caseload with its band, per variant (at most 6 for a sweep).
    let shown: Vec<usize> = if o.variants.len() <= 6 {
        (0..o.variants.len()).collect()
    } else {
        let k = o.variants.len();
        let mut v: Vec<usize> = (0..6).map(|i| i * (k - 1) / 5).collect();
        v.dedup();
        v
    };
    let lines: Vec<Line> = shown
        .iter()
        .enumerate()
        .map(|(ci, &vi)| {
            let v = &o.variants[vi];
            let (a, lo, hi) = series_of(&v.monthly, hh, n);
            let name = if o.sweep.is_some() {
                Text::new("", v.label.clone())
            } else if v.name == "baseline" {
                Text::new("基线", "Baseline")
            } else {
                Text::new("改革", format!("Reform: {}", v.label))
            };
            Line { name, color: palette[ci % palette.len()], values: a, band: Some((lo, hi)), dashed: false }
        })
        .collect();
    out.push((
        "caseload".into(),
        Chart::Lines(LineChart {
            title: Text::new("低保在保户数(中位数与5%–95%区间)", "Households on dibao (median, 5–95% band)"),
            y_label: Text::new("户", "households"),
            x: x.clone(),
            x_labels: x_labels.clone(),
            x_label: month_axis.clone(),
            lines,
            zero_line: false,
            from_zero: true,
        }),
    ));

    // Persons on dibao, per variant.
    let persons_m = metric(o, "dibao", "persons").unwrap_or(0);
    let lines: Vec<Line> = shown
        .iter()
        .enumerate()
        .map(|(ci, &vi)| {
            let v = &o.variants[vi];
            let (a, lo, hi) = series_of(&v.monthly, persons_m, n);
            let name = if o.sweep.is_some() {
                Text::new("", v.label.clone())
            } else if v.name == "baseline" {
                Text::new("基线", "Baseline")
            } else {
                Text::new("改革", format!("Reform: {}", v.label))
            };
            Line { name, color: palette[ci % palette.len()], values: a, band: Some((lo, hi)), dashed: false }
        })
        .collect();
    out.push((
        "persons".into(),
        Chart::Lines(LineChart {
            title: Text::new("低保在保人数(中位数与5%–95%区间)", "Persons on dibao (median, 5–95% band)"),
            y_label: Text::new("人", "persons"),
            x: x.clone(),
            x_labels: x_labels.clone(),
            x_label: month_axis.clone(),
            lines,
            zero_line: false,
            from_zero: true,
        }),
    ));

    let base = &o.variants[0];
    // Persons on each allowance (baseline solid, reform dashed).
    let mut lines = Vec::new();
    let allowance_progs: Vec<(String, String)> = programmes(o).into_iter().filter(|(p, _)| p != "dibao" && p != "total").collect();
    for (ci, (pname, label)) in allowance_progs.iter().enumerate() {
        if let Some(m) = metric(o, pname, "persons") {
            for (k, v) in o.variants.iter().enumerate().take(if o.sweep.is_some() { 1 } else { 2 }) {
                let (a, lo, hi) = series_of(&v.monthly, m, n);
                let mut name = prog_text(pname, label);
                if o.variants.len() > 1 && o.sweep.is_none() {
                    name = Text::new(format!("{}({})", name.zh, if k == 0 { "基线" } else { "改革" }), format!("{} ({})", name.en, if k == 0 { "baseline" } else { "reform" }));
                }
                lines.push(Line { name, color: palette[(ci + 2) % palette.len()], values: a, band: if k == 0 { Some((lo, hi)) } else { None }, dashed: k > 0 });
            }
        }
    }
    if !lines.is_empty() {
        out.push((
            "allowances".into(),
            Chart::Lines(LineChart {
                title: Text::new("照护补贴与集中供养受助人数", "Persons receiving each allowance"),
                y_label: Text::new("人", "persons"),
                x: x.clone(),
                x_labels: x_labels.clone(),
                x_label: month_axis.clone(),
                lines,
                zero_line: false,
                from_zero: true,
            }),
        ));
    }

    // Spending by programme (baseline).
    let mut lines = Vec::new();
    for (ci, (pname, label)) in programmes(o).iter().enumerate() {
        if let Some(m) = metric(o, pname, "spending") {
            let (a, lo, hi) = series_of(&base.monthly, m, n);
            let total = pname == "total";
            lines.push(Line { name: prog_text(pname, label), color: palette[ci % palette.len()], values: a, band: if total { Some((lo, hi)) } else { None }, dashed: total });
        }
    }
    out.push((
        "spending".into(),
        Chart::Lines(LineChart {
            title: Text::new(format!("各项目月度支出({})", base.label), format!("Monthly spending by programme ({})", base.name)),
            y_label: Text::new("支出", "spending, yuan"),
            x: x.clone(),
            x_labels: x_labels.clone(),
            x_label: month_axis.clone(),
            lines,
            zero_line: false,
            from_zero: true,
        }),
    ));

    // Flows (baseline).
    let flows: [(&str, Text); 6] = [
        ("inflows", Text::new("新进入", "Inflows")),
        ("out_income", Text::new("收入等变化退出", "Exit: change of income")),
        ("out_review", Text::new("复核退出", "Exit: review")),
        ("out_death", Text::new("死亡退出", "Exit: death")),
        ("out_credit", Text::new("失信停保", "Exit: dishonesty")),
        ("out_grace_end", Text::new("渐退期满", "Exit: end of grace")),
    ];
    let lines = flows
        .iter()
        .enumerate()
        .filter_map(|(ci, (m, name))| {
            let i = metric(o, "dibao", m)?;
            let (a, _, _) = series_of(&base.monthly, i, n);
            Some(Line { name: name.clone(), color: palette[ci % palette.len()], values: a, band: None, dashed: ci > 0 })
        })
        .collect();
    out.push((
        "flows".into(),
        Chart::Lines(LineChart {
            title: Text::new(format!("低保进入与退出(按原因,{})", base.label), format!("Dibao inflows and exits by reason ({})", base.name)),
            y_label: Text::new("户/月", "households per month"),
            x: x.clone(),
            x_labels: x_labels.clone(),
            x_label: month_axis.clone(),
            lines,
            zero_line: false,
            from_zero: true,
        }),
    ));

    // Reform differences.
    if let Some(d) = &o.diff {
        let mut lines = Vec::new();
        for (ci, (pname, label)) in programmes(o).iter().enumerate() {
            if let Some(m) = metric(o, pname, "spending") {
                let (a, lo, hi) = series_of(&d.monthly, m, n);
                let total = pname == "total";
                lines.push(Line { name: prog_text(pname, label), color: palette[ci % palette.len()], values: a, band: if total { Some((lo, hi)) } else { None }, dashed: total });
            }
        }
        out.push((
            "reform_spending".into(),
            Chart::Lines(LineChart {
                title: Text::new("改革带来的月度支出变化(改革 − 基线)", "Change in monthly spending (reform − baseline)"),
                y_label: Text::new("支出差", "difference, yuan"),
                x: x.clone(),
                x_labels: x_labels.clone(),
                x_label: month_axis.clone(),
                lines,
                zero_line: true,
                from_zero: true,
            }),
        ));
        let mut lines = Vec::new();
        for (ci, (pname, label)) in programmes(o).iter().filter(|(p, _)| p != "total").enumerate() {
            if let Some(m) = metric(o, pname, "persons") {
                let (a, lo, hi) = series_of(&d.monthly, m, n);
                lines.push(Line { name: prog_text(pname, label), color: palette[ci % palette.len()], values: a, band: Some((lo, hi)), dashed: false });
            }
        }
        out.push((
            "reform_caseload".into(),
            Chart::Lines(LineChart {
                title: Text::new("改革带来的受助人数变化(改革 − 基线)", "Change in persons assisted (reform − baseline)"),
                y_label: Text::new("人数差", "persons"),
                x: x.clone(),
                x_labels: x_labels.clone(),
                x_label: month_axis.clone(),
                lines,
                zero_line: true,
                from_zero: true,
            }),
        ));
    }

    // Winners and losers.
    if let Some(w) = &o.winners {
        let colors = [RGBColor(26, 120, 60), RGBColor(120, 200, 130), RGBColor(200, 200, 200), RGBColor(240, 150, 120), RGBColor(190, 40, 40)];
        let segments: Vec<(Text, RGBColor)> = (0..5).map(|b| (Text::new(BAND_LABELS[b], BAND_LABELS_EN[b]), colors[b])).collect();
        let mut rows = vec![Text::new("全部", "All")];
        let mut values = vec![w.shares_mean.iter().map(f).collect::<Vec<_>>()];
        for (i, d) in w.deciles.iter().enumerate() {
            rows.push(Text::new(format!("第{}组", i + 1), format!("Decile {}", i + 1)));
            values.push(d.shares_mean.iter().map(f).collect());
        }
        out.push((
            "winners_losers".into(),
            Chart::Stacked(StackedBars { title: Text::new("受益与受损家庭(按收入十分位,各次模拟平均)", "Winners and losers by income decile (mean over runs)"), rows, segments, values }),
        ));
    }

    // Sweep curves.
    if let Some(sw) = &o.sweep {
        let xs: Vec<f64> = sw.points.iter().map(|p| f(&p.value)).collect();
        let xl: Vec<String> = sw.points.iter().map(|p| p.value.to_string()).collect();
        let col = |g: &dyn Fn(&crate::montecarlo::SweepPoint) -> &Band| -> (Vec<f64>, Vec<f64>, Vec<f64>) {
            (sw.points.iter().map(|p| f(&g(p).median)).collect(), sw.points.iter().map(|p| f(&g(p).p5)).collect(), sw.points.iter().map(|p| f(&g(p).p95)).collect())
        };
        let (a, lo, hi) = col(&|p| &p.annual_cost);
        let (b, blo, bhi) = col(&|p| &p.annual_dibao_cost);
        out.push((
            "sweep_cost".into(),
            Chart::Lines(LineChart {
                title: Text::new(format!("年度支出随 {} 变化", sw.parameter), format!("Annual cost by {}", sw.parameter)),
                y_label: Text::new("年度支出", "annual cost, yuan"),
                x: xs.clone(),
                x_labels: xl.clone(),
                x_label: Text::new("", sw.parameter.clone()),
                lines: vec![
                    Line { name: Text::new("合计", "Total"), color: palette[0], values: a, band: Some((lo, hi)), dashed: false },
                    Line { name: Text::new("低保", "Dibao"), color: palette[1], values: b, band: Some((blo, bhi)), dashed: true },
                ],
                zero_line: false,
                from_zero: false,
            }),
        ));
        let (a, lo, hi) = col(&|p| &p.households);
        out.push((
            "sweep_caseload".into(),
            Chart::Lines(LineChart {
                title: Text::new(format!("低保在保户数随 {} 变化(月均)", sw.parameter), format!("Households on dibao by {} (monthly mean)", sw.parameter)),
                y_label: Text::new("户", "households"),
                x: xs,
                x_labels: xl,
                x_label: Text::new("", sw.parameter.clone()),
                lines: vec![Line { name: Text::new("在保户数", "Households"), color: palette[0], values: a, band: Some((lo, hi)), dashed: false }],
                zero_line: false,
                from_zero: false,
            }),
        ));
    }
    out
}
