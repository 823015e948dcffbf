//! The report's tables, shared by the CSV files, `report.html` and `report.xlsx`.
//!
//! Tables meant to add up show the **mean over the runs** (exact), with the 5th–95th percentile band
//! beside it: regions add up to the city, urban and rural to `all`, the programmes to the total, the
//! months to the year, and the reform-difference tables are the reform tables minus the baseline
//! tables. Where a median is shown the note says that medians do not add up.
//!
//! Money is exact. CSV prints yuan with two decimals (half away from zero; money columns end in
//! `_yuan`); `report.html` and `report.xlsx` show 万元 with two decimals. Each printed figure is
//! rounded on its own, so printed components may differ from their printed total by a few cents.
//!
//! Every estimate that rests on fewer than [`FEW_CASES`] simulated households is flagged: a
//! `<column>_cases` column and a `few_cases` column (the flagged columns) in the CSV files, a marker
//! in `report.html`, a highlighted cell in `report.xlsx`.

use super::assumptions;
use super::charts::Text;
use super::labels::{self, Unit};
use crate::montecarlo::{Band, Cube, Outcome, VariantOutcome, FEW_CASES};
use crate::reform::{BANDS, BAND_LABELS, BAND_LABELS_EN};
use crate::setup::Prepared;
use doudi_interpreter::Num;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

pub use super::figures::charts;
pub use super::summary::{summary_json, write_series, write_series_to};

/// A table cell.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    /// Yuan (CSV) / 万元 (reports).
    Money(Num),
    Count(Num),
    Share(Num),
    /// Simulated households behind an estimate.
    Cases(u64),
    /// The unit of the row's figures (tables mixing money and counts).
    Unit(Unit),
}

impl Cell {
    /// The cell as CSV prints it (money in yuan).
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Money(n) => n.format_fixed(2),
            Cell::Count(n) => count(n),
            Cell::Share(n) => n.format_fixed(4),
            Cell::Cases(n) => n.to_string(),
            Cell::Unit(u) => u.csv().to_string(),
        }
    }
    /// The cell as the reports show it (money in 万元, two decimals; counts grouped later).
    pub fn report_text(&self) -> String {
        match self {
            Cell::Money(n) => wan(n).format_fixed(2),
            Cell::Unit(u) => u.zh().to_string(),
            other => other.text(),
        }
    }
    /// The number the reports show (money in 万元).
    pub fn report_f64(&self) -> Option<f64> {
        match self {
            Cell::Text(_) | Cell::Unit(_) => None,
            Cell::Money(n) => Some(f(&wan(n))),
            Cell::Count(n) | Cell::Share(n) => Some(f(n)),
            Cell::Cases(n) => Some(*n as f64),
        }
    }
}

/// Yuan to 万元 (exact).
pub fn wan(n: &Num) -> Num {
    n.checked_div(&Num::from_i64(10_000)).unwrap_or(Num::ZERO)
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

/// A column: its CSV header (`key`), its bilingual report header and unit, and whether the reports
/// show it (case counts are in the CSV files only).
#[derive(Debug, Clone)]
pub struct Column {
    pub key: String,
    pub text: Text,
    pub unit: Option<Unit>,
    pub report: bool,
}

impl Column {
    pub fn new(key: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> Column {
        Column {
            key: key.into(),
            text: Text::new(zh, en),
            unit: None,
            report: true,
        }
    }
    fn with_unit(mut self, unit: Unit) -> Column {
        self.unit = Some(unit);
        self
    }
    fn csv_only(mut self) -> Column {
        self.report = false;
        self
    }
    /// The report header, Chinese first, with its unit: `在保户数(户) households paid dibao`.
    pub fn header(&self) -> String {
        match self.unit {
            Some(u) if !u.zh().is_empty() => labels::header(&self.text, u),
            _ if self.text.zh.is_empty() => self.text.en.clone(),
            _ => format!("{} {}", self.text.zh, self.text.en),
        }
    }
}

/// A table: `name` is its file stem and sheet name.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub title: Text,
    pub note: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// `(row, column)` of the estimates resting on fewer than [`FEW_CASES`] simulated households.
    pub thin: BTreeSet<(usize, usize)>,
    /// `(column, parts)`: in every row the column is the sum of the parts (Excel writes a formula).
    pub sums: Vec<(usize, Vec<usize>)>,
}

impl Table {
    fn new(name: &str, title: Text, note: String, columns: Vec<Column>) -> Table {
        Table {
            name: name.into(),
            title,
            note,
            columns,
            rows: Vec::new(),
            thin: BTreeSet::new(),
            sums: Vec::new(),
        }
    }
    /// The index of a column by its CSV key.
    pub fn col(&self, key: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.key == key)
    }
    pub fn write_csv(&self, path: &Path) -> std::io::Result<()> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(
            w,
            "{}",
            self.columns
                .iter()
                .map(|c| csv_cell(&c.key))
                .collect::<Vec<_>>()
                .join(",")
        )?;
        for r in &self.rows {
            writeln!(
                w,
                "{}",
                r.iter()
                    .map(|c| csv_cell(&c.text()))
                    .collect::<Vec<_>>()
                    .join(",")
            )?;
        }
        w.flush()
    }
}

pub fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn cell(measure: &str, n: &Num) -> Cell {
    if Unit::of(measure) == Unit::Money {
        Cell::Money(n.clone())
    } else {
        Cell::Count(n.clone())
    }
}

pub fn metric(o: &Outcome, programme: &str, measure: &str) -> Option<usize> {
    o.metrics
        .iter()
        .position(|m| m.programme == programme && m.measure == measure)
}

/// Programmes in report order: dibao, the allowances, total.
pub fn programmes(o: &Outcome) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for m in &o.metrics {
        if !out.iter().any(|(p, _)| *p == m.programme) {
            out.push((m.programme.clone(), m.label.clone()));
        }
    }
    out
}

/// The CSV key of a (programme, measure) column: money ends in `_yuan`.
pub fn key(programme: &str, measure: &str) -> String {
    if Unit::of(measure) == Unit::Money {
        format!("{programme}_{measure}_yuan")
    } else {
        format!("{programme}_{measure}")
    }
}

/// Columns with a band: (metric index).
fn banded(o: &Outcome) -> Vec<usize> {
    let mut v: Vec<(String, &str)> = vec![
        ("dibao".into(), "households"),
        ("dibao".into(), "persons"),
        ("dibao".into(), "spending"),
    ];
    for (p, _) in programmes(o) {
        if p != "dibao" && p != "total" {
            v.push((p.clone(), "persons"));
            v.push((p, "spending"));
        }
    }
    v.push(("total".into(), "spending"));
    v.iter().filter_map(|(p, m)| metric(o, p, m)).collect()
}

/// Columns without a band (means only).
fn plain(o: &Outcome) -> Vec<usize> {
    let mut v: Vec<(String, &str)> = [
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
        "decided_late",
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
    v.iter().filter_map(|(p, m)| metric(o, p, m)).collect()
}

/// The columns of one metric: its mean, optionally its band, and its case count (CSV only).
fn metric_columns(o: &Outcome, i: usize, band: bool) -> Vec<Column> {
    let m = &o.metrics[i];
    let k = key(&m.programme, m.measure);
    let t = labels::measure_text(&m.programme, &m.label, m.measure);
    let u = Unit::of(m.measure);
    let mut cols = vec![Column {
        key: k.clone(),
        text: t.clone(),
        unit: Some(u),
        report: true,
    }];
    if band {
        cols.push(Column::new(format!("{k}_p5"), format!("{} 5%分位", t.zh), "p5").with_unit(u));
        cols.push(Column::new(format!("{k}_p95"), format!("{} 95%分位", t.zh), "p95").with_unit(u));
    }
    cols.push(Column::new(format!("{k}_cases"), "模拟样本户数", "simulated cases").csv_only());
    cols
}

/// Pushes one metric's cells; marks the mean as thin when it rests on few cases.
fn metric_cells(
    t: &mut Table,
    row: &mut Vec<Cell>,
    cube: &Cube,
    at: (usize, usize, usize),
    i: usize,
    measure: &str,
    band: bool,
) {
    let (p, r, a) = at;
    let b = cube.get(p, r, a, i);
    if cube.few(p, r, a, i) {
        t.thin.insert((t.rows.len(), row.len()));
    }
    row.push(cell(measure, &b.mean));
    if band {
        row.push(cell(measure, &b.p5));
        row.push(cell(measure, &b.p95));
    }
    row.push(Cell::Cases(cube.cases(p, r, a, i)));
}

/// The `few_cases` cell of the row being built (the next row of `t`): the CSV keys of its thin
/// columns, space-separated.
fn few_cell(t: &Table) -> Cell {
    let r = t.rows.len();
    let keys: Vec<&str> = t
        .thin
        .range((r, 0)..(r + 1, 0))
        .map(|(_, c)| t.columns[*c].key.as_str())
        .collect();
    Cell::Text(keys.join(" "))
}

fn few_column() -> Column {
    Column::new(
        "few_cases",
        "样本过少的列",
        "columns resting on fewer than 30 simulated cases",
    )
    .csv_only()
}

/// The sums a wide table's total spending column is (dibao + allowances).
fn spending_sum(o: &Outcome, t: &Table) -> Option<(usize, Vec<usize>)> {
    let total = t.col(&key("total", "spending"))?;
    let parts: Vec<usize> = programmes(o)
        .iter()
        .filter(|(p, _)| p != "total")
        .filter_map(|(p, _)| t.col(&key(p, "spending")))
        .collect();
    (!parts.is_empty()).then_some((total, parts))
}

#[allow(clippy::too_many_arguments)]
fn wide_table(
    o: &Outcome,
    name: &str,
    title: Text,
    note: String,
    period: &str,
    variants: &[&VariantOutcome],
    cube_of: &dyn Fn(&VariantOutcome) -> &Cube,
    periods: &[String],
) -> Table {
    let mut columns = vec![
        Column::new("variant", "方案", "variant"),
        Column::new(
            period,
            if period == "month" {
                "月份"
            } else {
                "年度"
            },
            period,
        ),
    ];
    for i in banded(o) {
        columns.extend(metric_columns(o, i, true));
    }
    for i in plain(o) {
        columns.extend(metric_columns(o, i, false));
    }
    columns.push(few_column());
    let mut t = Table::new(name, title, note, columns);
    for v in variants {
        let cube = cube_of(v);
        for (p, label) in periods.iter().enumerate() {
            let mut row = vec![Cell::Text(v.name.clone()), Cell::Text(label.clone())];
            for i in banded(o) {
                metric_cells(
                    &mut t,
                    &mut row,
                    cube,
                    (p, 0, 0),
                    i,
                    o.metrics[i].measure,
                    true,
                );
            }
            for i in plain(o) {
                metric_cells(
                    &mut t,
                    &mut row,
                    cube,
                    (p, 0, 0),
                    i,
                    o.metrics[i].measure,
                    false,
                );
            }
            row.push(few_cell(&t));
            t.rows.push(row);
        }
    }
    if let Some(s) = spending_sum(o, &t) {
        t.sums.push(s);
    }
    t
}

pub fn month_labels(o: &Outcome) -> Vec<String> {
    o.months.iter().map(|m| m.to_string()).collect()
}

pub fn year_labels(o: &Outcome) -> Vec<String> {
    o.years
        .iter()
        .map(|(y, n)| {
            if *n == 12 {
                y.to_string()
            } else {
                format!("{y} ({n} months)")
            }
        })
        .collect()
}

/// The note every table of means carries.
fn mean_note(o: &Outcome) -> String {
    format!(
        "Mean over {} runs (it adds up: regions to the city, urban + rural to all, programmes to the total, months to the year) with the 5th–95th percentile band (_p5, _p95, which do not add up). Money in yuan in CSV, 万元 in the report and Excel. An estimate resting on fewer than {FEW_CASES} simulated households is flagged (CSV: <column>_cases and few_cases; report: †; Excel: orange). Design weight: each simulated household stands for {} households.",
        o.runs, o.weight
    )
}

/// All tables of the report.
pub fn build(p: &Prepared, o: &Outcome) -> Vec<Table> {
    let mut out = Vec::new();
    let months = month_labels(o);
    let years = year_labels(o);
    let note = mean_note(o);
    let variants: Vec<&VariantOutcome> = o.variants.iter().collect();
    out.push(wide_table(
        o,
        "monthly",
        Text::new("逐月在保规模与支出", "Caseload and spending by month"),
        format!("{note} Households and persons are counted in the month (paid that month); spending is the month's payments. Flows (new cases, applications, exits by reason) are the month's events."),
        "month",
        &variants,
        &|v| &v.monthly,
        &months,
    ));
    out.push(wide_table(
        o,
        "yearly",
        Text::new("年度汇总", "Yearly totals"),
        format!("{note} Caseloads are the mean over the year's months; spending and flows are summed over them."),
        "year",
        &variants,
        &|v| &v.yearly,
        &years,
    ));
    if o.sweep.is_none() {
        out.push(regions(o, &years, &note));
    }
    for yearly in [false, true] {
        out.push(programme_table(o, yearly, &months, &years));
    }
    if let Some(d) = &o.diff {
        for (name, yearly) in [("reform_monthly", false), ("reform_yearly", true)] {
            out.push(wide_table(
                o,
                name,
                if yearly { Text::new("改革与基线之差(年度)", "Reform minus baseline, yearly") } else { Text::new("改革与基线之差(逐月)", "Reform minus baseline, by month") },
                format!("{note} Differences are taken run by run (same population, same random numbers): the mean difference is exactly the reform table minus the baseline table. Case counts: the smaller of the two variants'."),
                if yearly { "year" } else { "month" },
                &[d],
                &|v| if yearly { &v.yearly } else { &v.monthly },
                if yearly { &years } else { &months },
            ));
        }
        out.push(reform_programme(d, &years));
    }
    if let Some(wl) = &o.winners {
        out.extend(winners(wl));
    }
    if let Some(sw) = &o.sweep {
        out.push(sweep(sw, &note));
    }
    out.extend(assumptions::tables(p, o));
    out
}

fn regions(o: &Outcome, years: &[String], note: &str) -> Table {
    let ms: Vec<(usize, bool)> = [
        ("dibao", "households", false),
        ("dibao", "persons", false),
        ("dibao", "spending", true),
        ("total", "households", false),
        ("total", "spending", true),
    ]
    .iter()
    .filter_map(|(p, m, b)| metric(o, p, m).map(|i| (i, *b)))
    .collect();
    let mut columns = vec![
        Column::new("variant", "方案", "variant"),
        Column::new("year", "年度", "year"),
        Column::new("region", "县(市、区)", "region"),
        Column::new("area", "城乡", "area"),
    ];
    for (i, b) in &ms {
        columns.extend(metric_columns(o, *i, *b));
    }
    columns.push(few_column());
    let mut t = Table::new(
        "regions",
        Text::new("分县(市、区)与城乡", "By region and area"),
        format!("{note} Region `all` and area `all` are totals: the regions add up to `all` and urban + rural to `all`, exactly (means)."),
        columns,
    );
    for v in o.variants.iter().filter(|v| v.regions) {
        for (yi, y) in years.iter().enumerate() {
            for r in 0..o.regions.len() {
                for a in 0..o.areas.len() {
                    let mut row = vec![
                        Cell::Text(v.name.clone()),
                        Cell::Text(y.clone()),
                        Cell::Text(o.regions[r].clone()),
                        Cell::Text(o.areas[a].clone()),
                    ];
                    for (i, b) in &ms {
                        metric_cells(
                            &mut t,
                            &mut row,
                            &v.yearly,
                            (yi, r, a),
                            *i,
                            o.metrics[*i].measure,
                            *b,
                        );
                    }
                    row.push(few_cell(&t));
                    t.rows.push(row);
                }
            }
        }
    }
    t
}

fn band_columns(unit_col: bool) -> Vec<Column> {
    let mut v = vec![
        Column::new("mean", "均值", "mean"),
        Column::new("median", "中位数", "median"),
        Column::new("p5", "5%分位", "p5"),
        Column::new("p95", "95%分位", "p95"),
    ];
    if unit_col {
        v.push(Column::new("unit", "单位", "unit"));
    }
    v
}

fn band_cells(b: &Band, money: bool) -> Vec<Cell> {
    let c = |n: &Num| {
        if money {
            Cell::Money(n.clone())
        } else {
            Cell::Count(n.clone())
        }
    };
    vec![
        c(&b.mean),
        c(&b.median),
        c(&b.p5),
        c(&b.p95),
        Cell::Unit(if money { Unit::Money } else { Unit::Number }),
    ]
}

fn programme_table(o: &Outcome, yearly: bool, months: &[String], years: &[String]) -> Table {
    let periods = if yearly { years } else { months };
    let mut columns = vec![
        Column::new("variant", "方案", "variant"),
        if yearly {
            Column::new("year", "年度", "year")
        } else {
            Column::new("month", "月份", "month")
        },
        Column::new("output", "输出", "output"),
        Column::new("label", "名称", "label"),
    ];
    columns.extend(band_columns(true));
    let mut t = Table::new(
        if yearly { "programme_yearly" } else { "programme" },
        if yearly { Text::new("总体层面规则(年度平均)", "Programme-level rules (yearly mean)") } else { Text::new("总体层面规则(逐月)", "Programme-level rules by month") },
        "The policy's programme definitions (the 2% cap on purchased services with fund and local-finance shares, the care-allowance funding split, ...) evaluated by the interpreter on each month's weighted totals of the households as paid. Yearly amounts in these definitions are as the policy defines them (e.g. 12 × the month's allowance total); the yearly table is the mean over the year's months. The mean over runs adds up (a fund share + the local share = the whole); medians do not.".into(),
        columns,
    );
    for v in &o.variants {
        for s in &v.programme {
            let bands = if yearly { &s.yearly } else { &s.monthly };
            for (p, b) in bands.iter().enumerate() {
                let mut row = vec![
                    Cell::Text(v.name.clone()),
                    Cell::Text(periods[p].clone()),
                    Cell::Text(s.name.clone()),
                    Cell::Text(labels::programme_output_label(&s.name, &s.label)),
                ];
                row.extend(band_cells(b, s.money));
                t.rows.push(row);
            }
        }
    }
    t
}

fn reform_programme(d: &VariantOutcome, years: &[String]) -> Table {
    let mut columns = vec![
        Column::new("year", "年度", "year"),
        Column::new("output", "输出", "output"),
        Column::new("label", "名称", "label"),
    ];
    columns.extend(band_columns(true));
    let mut t = Table::new(
        "reform_programme",
        Text::new("改革对总体层面规则的影响(年度平均)", "Reform effect on programme-level rules (yearly mean)"),
        "Reform minus baseline of each programme output present in both policies, run by run; the mean is the reform's mean minus the baseline's.".into(),
        columns,
    );
    for s in &d.programme {
        for (p, b) in s.yearly.iter().enumerate() {
            let mut row = vec![
                Cell::Text(years[p].clone()),
                Cell::Text(s.name.clone()),
                Cell::Text(labels::programme_output_label(&s.name, &s.label)),
            ];
            row.extend(band_cells(b, s.money));
            t.rows.push(row);
        }
    }
    t
}

fn winners(wl: &crate::reform::WinnersOutcome) -> Vec<Table> {
    let mut t = Table::new(
        "winners_losers",
        Text::new("受益与受损家庭", "Winners and losers"),
        format!(
            "Share of households ({} households compared, median over runs) whose benefits over the horizon change under the reform, relative to their income over the horizon (gross income + baseline benefits). `more than 5%` is strictly above 5%; `no change` is exactly zero. The means add up to 1; the medians need not.",
            count(&wl.households.median)
        ),
        vec![
            Column::new("band", "档", "band"),
            Column::new("label", "名称", "label"),
            Column::new("share", "户数占比(均值)", "share, mean"),
            Column::new("share_median", "户数占比(中位数)", "share, median"),
            Column::new("share_p5", "5%分位", "p5"),
            Column::new("share_p95", "95%分位", "p95"),
        ],
    );
    for b in 0..5 {
        let x = &wl.shares[b];
        t.rows.push(vec![
            Cell::Text(BANDS[b].into()),
            Cell::Text(format!("{} {}", BAND_LABELS[b], BAND_LABELS_EN[b])),
            Cell::Share(wl.shares_mean[b].clone()),
            Cell::Share(x.median.clone()),
            Cell::Share(x.p5.clone()),
            Cell::Share(x.p95.clone()),
        ]);
    }
    let mut columns = vec![
        Column::new("decile", "收入十分位", "decile"),
        Column::new(
            "mean_change_per_household_month_yuan",
            "户均月变化(元,均值)",
            "mean change per household and month, yuan",
        ),
        Column::new("mean_change_p5_yuan", "5%分位(元)", "p5, yuan"),
        Column::new("mean_change_p95_yuan", "95%分位(元)", "p95, yuan"),
        Column::new("relative_change", "相对变化(均值)", "relative change, mean"),
        Column::new("relative_change_p5", "5%分位", "p5"),
        Column::new("relative_change_p95", "95%分位", "p95"),
    ];
    columns.extend((0..5).map(|b| {
        Column::new(
            BANDS[b],
            format!("{}(均值)", BAND_LABELS[b]),
            format!("{}, mean", BAND_LABELS_EN[b]),
        )
    }));
    let mut d = Table::new(
        "deciles",
        Text::new("按收入十分位", "By income decile"),
        "Deciles of households by baseline income per counted member (1 = poorest). Mean change: yuan per household per month (not 万元: it is a household's amount). Relative change: total change / total income of the decile. All figures are means over runs.".into(),
        columns,
    );
    for (i, x) in wl.deciles.iter().enumerate() {
        // Yuan per household: kept as a count with two decimals (not 万元).
        let mut r = vec![
            Cell::Text((i + 1).to_string()),
            Cell::Count(round2(&x.mean_change.mean)),
            Cell::Count(round2(&x.mean_change.p5)),
            Cell::Count(round2(&x.mean_change.p95)),
            Cell::Share(x.relative.mean.clone()),
            Cell::Share(x.relative.p5.clone()),
            Cell::Share(x.relative.p95.clone()),
        ];
        r.extend(x.shares_mean.iter().map(|s| Cell::Share(s.clone())));
        d.rows.push(r);
    }
    vec![t, d]
}

fn round2(n: &Num) -> Num {
    Num::parse(&n.format_fixed(2)).unwrap_or_else(|| n.clone())
}

fn sweep(sw: &crate::montecarlo::SweepOutcome, note: &str) -> Table {
    let mut columns = vec![Column::new(
        sw.parameter.clone(),
        "参数值",
        sw.parameter.clone(),
    )];
    for (c, zh, en, money) in [
        ("annual_cost_yuan", "年度支出合计", "annual cost", true),
        (
            "annual_dibao_cost_yuan",
            "年度低保金支出",
            "annual dibao cost",
            true,
        ),
        (
            "dibao_households_mean",
            "月均在保户数",
            "households paid dibao, monthly mean",
            false,
        ),
        (
            "dibao_persons_mean",
            "月均在保人数",
            "persons paid dibao, monthly mean",
            false,
        ),
        (
            "dibao_households_end",
            "期末在保户数",
            "households paid dibao, last month",
            false,
        ),
    ] {
        let u = if money {
            Unit::Money
        } else if c.contains("persons") {
            Unit::Persons
        } else {
            Unit::Households
        };
        columns.push(Column::new(c, format!("{zh}(均值)"), format!("{en}, mean")).with_unit(u));
        columns.push(Column::new(format!("{c}_p5"), format!("{zh} 5%分位"), "p5").with_unit(u));
        columns.push(Column::new(format!("{c}_p95"), format!("{zh} 95%分位"), "p95").with_unit(u));
    }
    let mut t = Table::new(
        "sweep",
        Text::new(format!("参数扫描:{}", sw.parameter), format!("Sweep of {}", sw.parameter)),
        format!("{note} Annual cost = total spending over the horizon × 12 / its months; caseloads are the mean over the months and the last month."),
        columns,
    );
    for pt in &sw.points {
        let mut r = vec![Cell::Text(pt.value.to_string())];
        for (b, money) in [
            (&pt.annual_cost, true),
            (&pt.annual_dibao_cost, true),
            (&pt.households, false),
            (&pt.persons, false),
            (&pt.households_end, false),
        ] {
            for n in [&b.mean, &b.p5, &b.p95] {
                r.push(if money {
                    Cell::Money(n.clone())
                } else {
                    Cell::Count(n.clone())
                });
            }
        }
        t.rows.push(r);
    }
    t
}
