//! What the figures rest on: every policy parameter in force with its values over time and its source
//! or assumption, every setting and dynamics rate with where it comes from, the calibration to
//! administrative totals, and what the 5–95% bands include.

use super::charts::Text;
use super::tables::{Cell, Column, Table};
use crate::dynamics::Dynamics;
use crate::montecarlo::{Outcome, FEW_CASES};
use crate::setup::Prepared;
use doudi_dsl::ir::{format_date, Citation, Const, Param};
use doudi_interpreter::Num;
use serde_json::Value as J;
use std::collections::BTreeSet;

/// One version of a parameter in force: from when, its value(s), its source.
#[derive(Debug, Clone)]
pub struct ParamRow {
    pub name: String,
    pub label: String,
    /// `2024-01-01`, or empty: since always.
    pub from: String,
    pub value: String,
    /// `source: …` / `assumption: …` (the version's citations, else the parameter's).
    pub source: String,
}

fn const_text(c: &Const) -> String {
    match c {
        Const::Bool(b) => b.to_string(),
        Const::Int(i) => i.to_string(),
        Const::Dec(d) => d.normalize().to_string(),
        Const::Date(d) => format_date(*d),
        Const::Text(t) => t.clone(),
        Const::Enum(e) => e.to_string(),
    }
}

fn citations_text(c: &[Citation]) -> String {
    c.iter()
        .map(|c| match c {
            Citation::Source { citation, .. } => format!("source: {citation}"),
            Citation::Assumption { reason } => format!("assumption: {reason}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The parameters in force in the baseline policy (with the scenario's overrides), one row per
/// version.
pub fn parameters(p: &Prepared) -> Vec<ParamRow> {
    let Some(v) = p.sim.variants.first() else {
        return Vec::new();
    };
    let program = &v.policy.program;
    let grown = grown_rows(p);
    let mut out = Vec::new();
    for param in &program.params {
        out.extend(param_rows(param, &program.enums));
        out.extend(grown.iter().filter(|r| r.name == param.name).cloned());
    }
    out
}

/// The values the standards take after their last dated value when `[uncertainty]
/// standard_growth_per_year` is given: at the range's midpoint (the central value), with the values
/// at its ends in brackets (each run draws its own rate in between).
fn grown_rows(p: &Prepared) -> Vec<ParamRow> {
    let u = &p.scenario.uncertainty;
    let (Some([lo, hi]), Some(v)) = (u.standard_growth_per_year, p.sim.variants.first()) else {
        return Vec::new();
    };
    let names = crate::growth::parameter_names(u);
    let last = p.sim.start.plus(p.sim.months as i32 - 1);
    let until = doudi_dsl::ast::Date {
        year: last.year,
        month: last.month,
        day: 31,
    };
    let grow = |g: f64| {
        let mut program = v.policy.program.clone();
        crate::growth::grow_program(&mut program, &names, crate::growth::rate_decimal(g), until)
            .ok()
            .map(|added| (program, added))
    };
    let (Some((low, added)), Some((mid, _)), Some((high, _))) =
        (grow(lo), grow((lo + hi) / 2.0), grow(hi))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, dates) in added {
        let Some(id) = mid.param_by_name(&name) else {
            continue;
        };
        let i = id as usize;
        let keys = mid.params[i]
            .by
            .and_then(|e| mid.enums.get(e as usize))
            .map(|e| e.variants.clone());
        for date in dates {
            let at = |prog: &doudi_dsl::ir::Program| {
                prog.params[i]
                    .versions
                    .iter()
                    .find(|x| x.from == Some(date))
                    .map(|x| x.values.clone())
                    .unwrap_or_default()
            };
            let (l, m, h) = (at(&low), at(&mid), at(&high));
            let value = m
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    let key = keys
                        .as_ref()
                        .and_then(|ks| ks.get(k))
                        .map(|n| format!("{n}: "))
                        .unwrap_or_default();
                    let end = |x: &[Const]| x.get(k).map(const_text).unwrap_or_default();
                    format!("{key}{} [{}–{}]", const_text(c), end(&l), end(&h))
                })
                .collect::<Vec<_>>()
                .join("; ");
            out.push(ParamRow {
                name: name.clone(),
                label: mid.params[i].label.clone().unwrap_or_default(),
                from: format_date(date),
                value,
                source: format!(
                    "assumption: not a dated value of the policy; the last dated value grown by a yearly rate each run draws in [{lo}, {hi}] ([uncertainty] standard_growth_per_year), rounded to the yuan: the value at the midpoint {}, in brackets the values at the range's ends{}",
                    crate::growth::rounded_rate((lo + hi) / 2.0),
                    u.assumption
                        .as_ref()
                        .map(|a| format!(" ({a})"))
                        .unwrap_or_default()
                ),
            });
        }
    }
    out
}

fn param_rows(param: &Param, enums: &[doudi_dsl::ir::EnumInfo]) -> Vec<ParamRow> {
    let variants = param
        .by
        .and_then(|e| enums.get(e as usize))
        .map(|e| e.variants.clone());
    param
        .versions
        .iter()
        .map(|ver| {
            let value = match &variants {
                Some(names) if ver.values.len() == names.len() => names
                    .iter()
                    .zip(&ver.values)
                    .map(|(n, c)| format!("{n}: {}", const_text(c)))
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => ver
                    .values
                    .iter()
                    .map(const_text)
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            let own = citations_text(&ver.citations);
            ParamRow {
                name: param.name.clone(),
                label: param.label.clone().unwrap_or_default(),
                from: ver.from.map(format_date).unwrap_or_default(),
                value,
                source: if own.is_empty() {
                    citations_text(&param.citations)
                } else {
                    own
                },
            }
        })
        .collect()
}

/// Where a dynamics rate comes from: the scenario, or doudi's default (with the default's basis).
fn rate_source(key: &str, given: bool, u: &crate::calibrate::Uncertainty) -> String {
    let drawn = match key {
        "job_loss_per_year" => u.job_loss_per_year,
        "wage_growth_per_year" => u.wage_growth_per_year,
        _ => None,
    };
    let base = if given {
        "scenario [dynamics]".to_string()
    } else {
        let basis = match key {
            "approval_lag_working_days" => {
                "seed 003: decision within 15 working days, counted on the policy's calendar"
            }
            "approval_lag_spread_working_days" => {
                "assumption: no published figure on late decisions"
            }
            "working_days_per_month" => "used only where the policy's calendar ends",
            "credit_repair_after_months" => "seed 000: repair applied for within half a year",
            "mortality" => "assumption: rounded from China's recent life tables",
            "change_report_rate" => "assumption (seed 002 data cross-checks)",
            "ageing_month"
            | "wage_growth_month"
            | "school_year_start_month"
            | "school_entry_age"
            | "compulsory_years" => "calendar / law",
            _ => "assumption",
        };
        format!("doudi default ({basis})")
    };
    match drawn {
        Some([a, b]) => format!("{base}; each run draws it in [{a}, {b}] ([uncertainty])"),
        None => base,
    }
}

fn settings(p: &Prepared, o: &Outcome) -> Table {
    let s = &p.scenario;
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut add = |k: &str, v: String, src: &str| {
        rows.push(vec![
            Cell::Text(k.to_string()),
            Cell::Text(v),
            Cell::Text(src.to_string()),
        ])
    };
    add("scenario", s.scenario.name.clone(), "scenario");
    add(
        "policy",
        s.resolve(&s.scenario.policy).display().to_string(),
        "scenario",
    );
    add("start", s.scenario.start.clone(), "scenario");
    add("months", s.scenario.months.to_string(), "scenario");
    add("runs", s.scenario.runs.to_string(), "scenario");
    add("seed", s.scenario.seed.to_string(), "scenario");
    add(
        "population",
        p.population.source.clone(),
        "scenario [population]",
    );
    add(
        "population.households",
        p.population.households.to_string(),
        "simulated households",
    );
    add(
        "population.persons",
        p.population.persons.to_string(),
        "simulated persons",
    );
    add(
        "population.design_weight",
        o.weight.to_string(),
        "households each simulated household stands for before calibration",
    );
    if let Some(r) = p.population.reference_population {
        add(
            "population.reference_population",
            r.to_string(),
            "population spec (meta.reference_population)",
        );
    }
    for (k, v) in &p.baseline_overrides {
        add(
            &format!("parameters.{k}"),
            v.clone(),
            "scenario [parameters] (replaces the policy's value)",
        );
    }
    if let Some(r) = &s.reform {
        add("reform.name", r.name.clone(), "scenario [reform]");
        if let Some(l) = &p.reform_layer {
            add("reform.layer", l.display().to_string(), "scenario [reform]");
        }
    }
    for (k, v) in &p.reform_overrides {
        add(
            &format!("reform.parameters.{k}"),
            v.clone(),
            "scenario [reform]",
        );
    }
    if let Some((param, values)) = &p.sweep {
        add("sweep.parameter", param.clone(), "scenario [sweep]");
        add(
            "sweep.values",
            values
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            "scenario [sweep]",
        );
    }
    let tu = match s.uncertainty.take_up_factor {
        Some([a, b]) => {
            format!("; each run multiplies it by a factor drawn in [{a}, {b}] ([uncertainty])")
        }
        None => String::new(),
    };
    add(
        "take_up in force",
        format!("{:.4}", p.sim.take_up),
        &format!(
            "{}{tu}",
            if s.dynamics.take_up.is_auto() {
                "auto: the share on dibao among the households eligible in the first month"
            } else {
                "scenario [dynamics]"
            }
        ),
    );
    let given = serde_json::to_value(&s.dynamics).unwrap_or(J::Null);
    let defaults = serde_json::to_value(Dynamics::default()).unwrap_or(J::Null);
    if let J::Object(map) = &given {
        for (k, v) in map {
            let is_given = defaults.get(k) != Some(v);
            let mut src = rate_source(k, is_given, &s.uncertainty);
            if k == "job_find_per_year" {
                if let Some([a, b]) = s.uncertainty.job_find_factor {
                    src.push_str(&format!(
                        "; each run multiplies it by a factor drawn in [{a}, {b}] ([uncertainty])"
                    ));
                }
            }
            add(&format!("dynamics.{k}"), v.to_string(), &src);
        }
    }
    Table {
        name: "settings".into(),
        title: Text::new("情景设置与动态假设", "Scenario settings and dynamics assumptions"),
        note: "Every setting, parameter override and dynamics rate in force (defaults included), with where it comes from: the scenario file, or doudi's default and the basis of that default (most are assumptions to be replaced with local figures; see docs/SIMULATOR.md). Yearly probabilities become monthly ones as 1 − (1 − p)^(1/12).".into(),
        columns: vec![Column::new("setting", "设置", "setting"), Column::new("value", "取值", "value"), Column::new("source", "来源或假设", "source or assumption")],
        rows,
        thin: BTreeSet::new(),
        sums: Vec::new(),
    }
}

fn parameters_table(p: &Prepared) -> Table {
    let rows = parameters(p)
        .into_iter()
        .map(|r| {
            vec![
                Cell::Text(r.name),
                Cell::Text(r.label),
                Cell::Text(if r.from.is_empty() {
                    "—".into()
                } else {
                    r.from
                }),
                Cell::Text(r.value),
                Cell::Text(r.source),
            ]
        })
        .collect();
    Table {
        name: "parameters".into(),
        title: Text::new("现行政策参数(标准等)", "Policy parameters in force (standards and others)"),
        note: "Every parameter of the baseline policy, with the scenario's overrides applied: one row per version (from = the date it takes effect; — = from the start), its value(s) and its source or the assumption it rests on. Standards marked as assumptions are proxies, not gazetted figures.".into(),
        columns: vec![
            Column::new("parameter", "参数", "parameter"),
            Column::new("label", "名称", "label"),
            Column::new("from", "起始日期", "from"),
            Column::new("value", "取值", "value"),
            Column::new("source", "来源或假设", "source or assumption"),
        ],
        rows,
        thin: BTreeSet::new(),
        sums: Vec::new(),
    }
}

fn calibration_table(o: &Outcome) -> Table {
    let mut thin = BTreeSet::new();
    let rows = o
        .calibration
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.samples < FEW_CASES {
                thin.insert((i, 5));
            }
            let num = |n: &Num| {
                if r.unit == "yuan" {
                    Cell::Money(n.clone())
                } else {
                    Cell::Count(n.clone())
                }
            };
            vec![
                Cell::Text(r.target.clone()),
                Cell::Text(r.label.clone()),
                Cell::Text(r.month.clone()),
                Cell::Text(r.unit.clone()),
                num(&r.value),
                num(&r.simulated),
                Cell::Text(format!("{:+.1}", r.difference_pct)),
                Cell::Cases(r.samples),
                Cell::Text(r.source.clone()),
            ]
        })
        .collect();
    let mut note = "Administrative totals the simulation is calibrated to: the target, the simulated value (mean over the runs), the difference in percent (in percentage points for a trend), where the target comes from, and how many simulated households the simulated value rests on. Amounts in yuan are shown in 万元 in the report.".to_string();
    if o.calibration.rows.is_empty() {
        note.push_str(" This scenario declares no target: the figures are not calibrated to administrative totals.");
    }
    for n in &o.calibration.notes {
        note.push(' ');
        note.push_str(n);
    }
    Table {
        name: "calibration".into(),
        title: Text::new(
            "校准目标与模拟值",
            "Calibration targets and simulated values",
        ),
        note,
        columns: vec![
            Column::new("target", "目标", "target"),
            Column::new("label", "名称", "label"),
            Column::new("month", "月份", "month"),
            Column::new("unit", "单位", "unit"),
            Column::new("value", "目标值", "target value"),
            Column::new("simulated", "模拟值", "simulated"),
            Column::new("difference_pct", "差异(%)", "difference, %"),
            Column::new("samples", "模拟样本户数", "simulated cases"),
            Column::new("source", "来源或假设", "source or assumption"),
        ],
        rows,
        thin,
        sums: Vec::new(),
    }
}

/// What the 5–95% bands include, one sentence each.
pub fn bands_include(p: &Prepared, o: &Outcome) -> Vec<String> {
    let u = &p.scenario.uncertainty;
    let mut v = vec![format!(
        "Monte Carlo of the dynamics: each of the {} runs draws its own deaths, illnesses, jobs, applications, decisions and reviews.",
        o.runs
    )];
    if u.bootstrap {
        v.push("Bootstrap of the households: each run simulates a resample of the simulated households (sampling error of the population).".into());
    } else {
        v.push("Not the sampling error of the population: every run simulates the same households (no bootstrap).".into());
    }
    let ranges: Vec<String> = [
        ("take-up factor", u.take_up_factor),
        ("job loss per year", u.job_loss_per_year),
        ("job finding factor", u.job_find_factor),
        ("wage growth per year", u.wage_growth_per_year),
        (
            "growth of the standards per year after their last dated value",
            u.standard_growth_per_year,
        ),
    ]
    .iter()
    .filter_map(|(n, r)| r.map(|[a, b]| format!("{n} in [{a}, {b}]")))
    .collect();
    if ranges.is_empty() {
        v.push("No parameter ranges: the rates and the policy parameters are fixed at their values in force.".into());
    } else {
        v.push(format!(
            "Parameter ranges, drawn uniformly per run: {}{}.",
            ranges.join(", "),
            u.assumption
                .as_ref()
                .map(|a| format!(" (assumption: {a})"))
                .unwrap_or_default()
        ));
    }
    if u.standard_growth_per_year.is_some() {
        v.push(format!(
            "Growth of the standards: each run's rate applies to {} from each anniversary of its last dated value, rounded to the yuan (the parameters table shows the values).",
            crate::growth::parameter_names(u).join(", ")
        ));
    } else {
        v.push(
            "Not the growth of the standards: after their last dated value they stay flat.".into(),
        );
    }
    v.push("Not included: error in the policy parameters themselves (standards are proxies where marked as assumptions), changes of policy, and model error (the dynamics are simplified: see the limits in docs/SIMULATOR.md).".into());
    v
}

fn bands_table(p: &Prepared, o: &Outcome) -> Table {
    Table {
        name: "uncertainty".into(),
        title: Text::new("区间包含的不确定性", "What the 5–95% bands include"),
        note: "The 5th–95th percentile band over the runs covers these sources of variation and no others.".into(),
        columns: vec![Column::new("item", "说明", "item")],
        rows: bands_include(p, o).into_iter().map(|s| vec![Cell::Text(s)]).collect(),
        thin: BTreeSet::new(),
        sums: Vec::new(),
    }
}

/// The tables of assumptions: settings, parameters, calibration, uncertainty.
pub fn tables(p: &Prepared, o: &Outcome) -> Vec<Table> {
    vec![
        settings(p, o),
        parameters_table(p),
        calibration_table(o),
        bands_table(p, o),
    ]
}
