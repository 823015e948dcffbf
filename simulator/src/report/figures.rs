//! The charts of a report (what each shows; drawing is in `charts.rs`).
//!
//! Amounts are in 万元 (charts.rs picks the axis unit), counts in 户 or 人. Each programme has one
//! colour in every chart ([`labels::programme_color`]); allowances, whose amounts are small beside
//! dibao's, have their own spending chart so that they are visible.

use super::charts::{Chart, Line, LineChart, StackedBars, Text};
use super::labels;
use super::tables::{f, metric, month_labels, programmes};
use crate::montecarlo::{Band, Cube, Outcome};
use crate::reform::{BAND_LABELS, BAND_LABELS_EN};
use crate::setup::Prepared;
use plotters::style::RGBColor;

fn series_of(cube: &Cube, m: usize, periods: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut a = Vec::new();
    let mut lo = Vec::new();
    let mut hi = Vec::new();
    for t in 0..periods {
        let b = cube.get(t, 0, 0, m);
        a.push(f(&b.mean));
        lo.push(f(&b.p5));
        hi.push(f(&b.p95));
    }
    (a, lo, hi)
}

/// Colours of the variants of a sweep (values, not programmes): light to dark blue.
fn sweep_color(i: usize, n: usize) -> RGBColor {
    let t = if n <= 1 {
        1.0
    } else {
        i as f64 / (n - 1) as f64
    };
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    RGBColor(mix(120, 8), mix(180, 48), mix(230, 107))
}

fn lines_chart(
    title: Text,
    y_label: Text,
    x: &[f64],
    x_labels: &[String],
    x_label: &Text,
    lines: Vec<Line>,
    zero_line: bool,
) -> Chart {
    Chart::Lines(LineChart {
        title,
        y_label,
        x: x.to_vec(),
        x_labels: x_labels.to_vec(),
        x_label: x_label.clone(),
        lines,
        zero_line,
        from_zero: true,
    })
}

/// The variants a caseload chart shows (at most 6 of a sweep).
fn shown_variants(o: &Outcome) -> Vec<usize> {
    if o.variants.len() <= 6 {
        (0..o.variants.len()).collect()
    } else {
        let k = o.variants.len();
        let mut v: Vec<usize> = (0..6).map(|i| i * (k - 1) / 5).collect();
        v.dedup();
        v
    }
}

/// One line per variant of a dibao measure: dibao's colour, the reform dashed; a sweep's values in
/// shades of blue.
fn variant_lines(o: &Outcome, m: usize) -> Vec<Line> {
    let n = o.months.len();
    let shown = shown_variants(o);
    shown
        .iter()
        .enumerate()
        .map(|(ci, &vi)| {
            let v = &o.variants[vi];
            let (a, lo, hi) = series_of(&v.monthly, m, n);
            let (name, color) = if o.sweep.is_some() {
                (Text::new("", v.label.clone()), sweep_color(ci, shown.len()))
            } else {
                (
                    labels::variant_text(&v.name, &v.label),
                    labels::programme_color("dibao"),
                )
            };
            Line {
                name,
                color,
                values: a,
                band: Some((lo, hi)),
                dashed: o.sweep.is_none() && vi > 0,
            }
        })
        .collect()
}

/// The charts of a report: (file stem, chart).
pub fn charts(_p: &Prepared, o: &Outcome) -> Vec<(String, Chart)> {
    let mut out = Vec::new();
    let n = o.months.len();
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let xl = month_labels(o);
    let month_axis = Text::new("月份", "Month");
    let axis = MonthAxis {
        x: &x,
        xl: &xl,
        month_axis: &month_axis,
    };
    caseload_charts(o, &axis, &mut out);
    allowance_charts(o, &axis, &mut out);
    spending_chart(o, &axis, &mut out);
    flows_chart(o, &axis, &mut out);
    if let Some(d) = &o.diff {
        reform_charts(o, d, &x, &xl, &month_axis, &mut out);
    }
    if let Some(w) = &o.winners {
        out.push(("winners_losers".into(), winners_chart(w)));
    }
    if let Some(sw) = &o.sweep {
        sweep_charts(sw, &mut out);
    }
    out
}

/// The months along a chart's x axis.
struct MonthAxis<'a> {
    x: &'a [f64],
    xl: &'a [String],
    month_axis: &'a Text,
}

impl MonthAxis<'_> {
    /// A chart of `lines` over the months.
    fn lines(&self, title: Text, y: Text, lines: Vec<Line>) -> Chart {
        lines_chart(title, y, self.x, self.xl, self.month_axis, lines, false)
    }
}

/// The note on the titles of the charts with bands.
const BAND_NOTE: (&str, &str) = ("(均值与5%–95%区间)", "(mean, 5–95% band)");

/// Households and persons paid dibao, by variant.
fn caseload_charts(o: &Outcome, axis: &MonthAxis<'_>, out: &mut Vec<(String, Chart)>) {
    let band_note = BAND_NOTE;
    if let Some(hh) = metric(o, "dibao", "households") {
        let title = Text::new(
            format!("低保在保户数{}", band_note.0),
            format!("Households paid dibao {}", band_note.1),
        );
        out.push((
            "caseload".into(),
            axis.lines(
                title,
                Text::new("在保户数(户)", "households"),
                variant_lines(o, hh),
            ),
        ));
    }
    if let Some(pm) = metric(o, "dibao", "persons") {
        let title = Text::new(
            format!("低保在保人数{}", band_note.0),
            format!("Persons in households paid dibao {}", band_note.1),
        );
        out.push((
            "persons".into(),
            axis.lines(
                title,
                Text::new("在保人数(人)", "persons"),
                variant_lines(o, pm),
            ),
        ));
    }
}

/// Persons paid each allowance and its spending (beside dibao they would be invisible).
fn allowance_charts(o: &Outcome, axis: &MonthAxis<'_>, out: &mut Vec<(String, Chart)>) {
    let (band_note, n) = (BAND_NOTE, o.months.len());
    let allowances: Vec<(String, String)> = programmes(o)
        .into_iter()
        .filter(|(p, _)| p != "dibao" && p != "total")
        .collect();
    let compared = if o.sweep.is_some() {
        1
    } else {
        o.variants.len().min(2)
    };
    // Allowances: persons and spending (their own charts: beside dibao they would be invisible).
    for (measure, stem, title, y) in [
        (
            "persons",
            "allowances",
            Text::new(
                format!("各项补贴受助人数{}", band_note.0),
                format!("Persons paid each allowance {}", band_note.1),
            ),
            Text::new("受助人数(人)", "persons"),
        ),
        (
            "spending",
            "allowance_spending",
            Text::new(
                format!("各项补贴月度支出{}", band_note.0),
                format!("Monthly spending on each allowance {}", band_note.1),
            ),
            Text::new("支出(万元)", "spending, 10k yuan"),
        ),
    ] {
        let mut lines = Vec::new();
        for (pname, label) in &allowances {
            let Some(m) = metric(o, pname, measure) else {
                continue;
            };
            for (k, v) in o.variants.iter().enumerate().take(compared) {
                let (a, lo, hi) = series_of(&v.monthly, m, n);
                let mut name = labels::programme_text(pname, label);
                if compared > 1 {
                    name = Text::new(
                        format!("{}({})", name.zh, if k == 0 { "基线" } else { "改革" }),
                        format!(
                            "{} ({})",
                            name.en,
                            if k == 0 { "baseline" } else { "reform" }
                        ),
                    );
                }
                lines.push(Line {
                    name,
                    color: labels::programme_color(pname),
                    values: a,
                    band: if k == 0 { Some((lo, hi)) } else { None },
                    dashed: k > 0,
                });
            }
        }
        if !lines.is_empty() {
            out.push((stem.into(), axis.lines(title, y, lines)));
        }
    }
}

/// Spending: dibao and the total (allowances have their own chart).
fn spending_chart(o: &Outcome, axis: &MonthAxis<'_>, out: &mut Vec<(String, Chart)>) {
    let (band_note, n, base) = (BAND_NOTE, o.months.len(), &o.variants[0]);
    let mut lines = Vec::new();
    for (pname, label) in programmes(o)
        .iter()
        .filter(|(p, _)| p == "dibao" || p == "total")
    {
        if let Some(m) = metric(o, pname, "spending") {
            let (a, lo, hi) = series_of(&base.monthly, m, n);
            let total = pname == "total";
            let name = if total {
                Text::new("合计(含各项补贴)", "Total (with allowances)")
            } else {
                labels::programme_text(pname, label)
            };
            lines.push(Line {
                name,
                color: labels::programme_color(pname),
                values: a,
                band: Some((lo, hi)),
                dashed: total,
            });
        }
    }
    let bt = labels::variant_text(&base.name, &base.label);
    out.push((
        "spending".into(),
        axis.lines(
            Text::new(
                format!("月度支出:低保与合计({}){}", bt.zh, band_note.0),
                format!(
                    "Monthly spending: dibao and total ({}) {}",
                    bt.en, band_note.1
                ),
            ),
            Text::new("支出(万元)", "spending, 10k yuan"),
            lines,
        ),
    ));
}

/// Dibao inflows and exits by reason.
fn flows_chart(o: &Outcome, axis: &MonthAxis<'_>, out: &mut Vec<(String, Chart)>) {
    let (n, base) = (o.months.len(), &o.variants[0]);
    let bt = labels::variant_text(&base.name, &base.label);
    let lines = [
        "inflows",
        "out_income",
        "out_review",
        "out_death",
        "out_credit",
        "out_grace_end",
    ]
    .iter()
    .enumerate()
    .filter_map(|(ci, m)| {
        let i = metric(o, "dibao", m)?;
        let (a, _, _) = series_of(&base.monthly, i, n);
        Some(Line {
            name: labels::measure_text("dibao", "", m),
            color: labels::flow_color(m),
            values: a,
            band: None,
            dashed: ci > 0,
        })
    })
    .collect();
    out.push((
        "flows".into(),
        axis.lines(
            Text::new(
                format!("低保进入与退出(按原因,{},均值)", bt.zh),
                format!("Dibao inflows and exits by reason ({}, mean)", bt.en),
            ),
            Text::new("户/月", "households per month"),
            lines,
        ),
    ));
}

/// Winners and losers by income decile.
fn winners_chart(w: &crate::reform::WinnersOutcome) -> Chart {
    let colors = [
        RGBColor(26, 120, 60),
        RGBColor(120, 200, 130),
        RGBColor(200, 200, 200),
        RGBColor(240, 150, 120),
        RGBColor(190, 40, 40),
    ];
    let segments: Vec<(Text, RGBColor)> = (0..5)
        .map(|b| (Text::new(BAND_LABELS[b], BAND_LABELS_EN[b]), colors[b]))
        .collect();
    let mut rows = vec![Text::new("全部", "All")];
    let mut values = vec![w.shares_mean.iter().map(f).collect::<Vec<_>>()];
    for (i, d) in w.deciles.iter().enumerate() {
        rows.push(Text::new(
            format!("第{}组", i + 1),
            format!("Decile {}", i + 1),
        ));
        values.push(d.shares_mean.iter().map(f).collect());
    }
    Chart::Stacked(StackedBars {
        title: Text::new(
            "受益与受损家庭(按收入十分位,各次模拟平均)",
            "Winners and losers by income decile (mean over runs)",
        ),
        rows,
        segments,
        values,
    })
}

fn reform_charts(
    o: &Outcome,
    d: &crate::montecarlo::VariantOutcome,
    x: &[f64],
    xl: &[String],
    month_axis: &Text,
    out: &mut Vec<(String, Chart)>,
) {
    let n = o.months.len();
    let diff_lines = |measure: &str, keep: &dyn Fn(&str) -> bool| -> Vec<Line> {
        programmes(o)
            .iter()
            .filter(|(p, _)| keep(p))
            .filter_map(|(pname, label)| {
                let m = metric(o, pname, measure)?;
                let (a, lo, hi) = series_of(&d.monthly, m, n);
                Some(Line {
                    name: labels::programme_text(pname, label),
                    color: labels::programme_color(pname),
                    values: a,
                    band: Some((lo, hi)),
                    dashed: pname == "total",
                })
            })
            .collect()
    };
    out.push((
        "reform_spending".into(),
        lines_chart(
            Text::new(
                "改革带来的月度支出变化(改革 − 基线,均值与5%–95%区间)",
                "Change in monthly spending (reform − baseline, mean, 5–95% band)",
            ),
            Text::new("支出差(万元)", "difference, 10k yuan"),
            x,
            xl,
            month_axis,
            diff_lines("spending", &|p| p == "dibao" || p == "total"),
            true,
        ),
    ));
    let allowance = diff_lines("spending", &|p| p != "dibao" && p != "total");
    if !allowance.is_empty() {
        out.push((
            "reform_allowance_spending".into(),
            lines_chart(
                Text::new(
                    "改革带来的各项补贴月度支出变化(改革 − 基线)",
                    "Change in monthly allowance spending (reform − baseline)",
                ),
                Text::new("支出差(万元)", "difference, 10k yuan"),
                x,
                xl,
                month_axis,
                allowance,
                true,
            ),
        ));
    }
    out.push((
        "reform_caseload".into(),
        lines_chart(
            Text::new(
                "改革带来的受助人数变化(改革 − 基线,均值与5%–95%区间)",
                "Change in persons assisted (reform − baseline, mean, 5–95% band)",
            ),
            Text::new("人数差(人)", "persons"),
            x,
            xl,
            month_axis,
            diff_lines("persons", &|p| p != "total"),
            true,
        ),
    ));
}

fn sweep_charts(sw: &crate::montecarlo::SweepOutcome, out: &mut Vec<(String, Chart)>) {
    let xs: Vec<f64> = sw.points.iter().map(|p| f(&p.value)).collect();
    let xl: Vec<String> = sw.points.iter().map(|p| p.value.to_string()).collect();
    let col =
        |g: &dyn Fn(&crate::montecarlo::SweepPoint) -> &Band| -> (Vec<f64>, Vec<f64>, Vec<f64>) {
            (
                sw.points.iter().map(|p| f(&g(p).mean)).collect(),
                sw.points.iter().map(|p| f(&g(p).p5)).collect(),
                sw.points.iter().map(|p| f(&g(p).p95)).collect(),
            )
        };
    let (a, lo, hi) = col(&|p| &p.annual_cost);
    let (b, blo, bhi) = col(&|p| &p.annual_dibao_cost);
    let axis = Text::new("", sw.parameter.clone());
    let mut cost = lines_chart(
        Text::new(
            format!("年度支出随 {} 变化(均值与5%–95%区间)", sw.parameter),
            format!("Annual cost by {} (mean, 5–95% band)", sw.parameter),
        ),
        Text::new("年度支出(万元)", "annual cost, 10k yuan"),
        &xs,
        &xl,
        &axis,
        vec![
            Line {
                name: Text::new("合计", "Total"),
                color: labels::programme_color("total"),
                values: a,
                band: Some((lo, hi)),
                dashed: true,
            },
            Line {
                name: Text::new("低保", "Dibao"),
                color: labels::programme_color("dibao"),
                values: b,
                band: Some((blo, bhi)),
                dashed: false,
            },
        ],
        false,
    );
    let (a, lo, hi) = col(&|p| &p.households);
    let mut caseload = lines_chart(
        Text::new(
            format!("低保在保户数随 {} 变化(月均)", sw.parameter),
            format!("Households paid dibao by {} (monthly mean)", sw.parameter),
        ),
        Text::new("在保户数(户)", "households"),
        &xs,
        &xl,
        &axis,
        vec![Line {
            name: Text::new("在保户数", "Households paid dibao"),
            color: labels::programme_color("dibao"),
            values: a,
            band: Some((lo, hi)),
            dashed: false,
        }],
        false,
    );
    for c in [&mut cost, &mut caseload] {
        if let Chart::Lines(l) = c {
            l.from_zero = false;
        }
    }
    out.push(("sweep_cost".into(), cost));
    out.push(("sweep_caseload".into(), caseload));
}
