//! `report.html`: one self-contained page (UTF-8, charts inline as SVG with text as text, so the
//! browser draws Chinese with its own fonts), headline tables, the full tables in collapsible sections,
//! and notes on the method.

use super::tables::{Cell, Table};
use crate::montecarlo::{Band, Outcome};
use crate::setup::Prepared;
use doudi_interpreter::Num;

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Groups the digits of a formatted number (`1234567.89` → `1,234,567.89`).
pub fn group(s: &str) -> String {
    let (sign, rest) = if let Some(r) = s.strip_prefix('-') { ("-", r) } else { ("", s) };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

fn wan(n: &Num) -> String {
    let v = n.checked_div(&Num::from_i64(10_000)).unwrap_or(Num::ZERO);
    group(&v.format_fixed(1))
}

fn cnt(n: &Num) -> String {
    group(&n.format_fixed(0))
}

fn banded(b: &Band, money: bool) -> String {
    let f = |n: &Num| if money { wan(n) } else { cnt(n) };
    if b.p5 == b.p95 {
        f(&b.median)
    } else {
        format!("{} <span class=band>({}–{})</span>", f(&b.median), f(&b.p5), f(&b.p95))
    }
}

fn table_html(t: &Table, max_rows: usize) -> String {
    let mut s = String::new();
    s.push_str("<div class=scroll><table><thead><tr>");
    for c in &t.columns {
        s.push_str(&format!("<th>{}</th>", esc(c)));
    }
    s.push_str("</tr></thead><tbody>");
    for r in t.rows.iter().take(max_rows) {
        s.push_str("<tr>");
        for c in r {
            match c {
                Cell::Text(x) => s.push_str(&format!("<td>{}</td>", esc(x))),
                other => s.push_str(&format!("<td class=num>{}</td>", esc(&group(&other.text())))),
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
    if t.rows.len() > max_rows {
        s.push_str(&format!("<p class=note>First {max_rows} of {} rows; all rows in <a href=\"{}.csv\">{}.csv</a>.</p>", t.rows.len(), t.name, t.name));
    }
    s
}

const STYLE: &str = r#"
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei","PingFang SC",system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:26px;margin:0 0 6px}h2{font-size:20px;margin-top:36px;border-bottom:2px solid #1f77b4;padding-bottom:4px}h3{font-size:16px;margin-top:24px}
.sub{color:#555;margin:0 0 16px}.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:8px 16px;background:#f3f6fa;padding:12px 16px;border-radius:6px;font-size:14px}
.facts b{display:block;color:#666;font-weight:normal;font-size:12px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;white-space:nowrap}th{background:#f0f3f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}.band{color:#888;font-size:11px}
.scroll{overflow-x:auto;max-width:100%}.chart{margin:12px 0}.chart svg{max-width:100%;height:auto}
.note{color:#666;font-size:13px}details{margin:10px 0}summary{cursor:pointer;font-weight:bold}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}ul{padding-left:20px}li{margin:4px 0}
"#;

/// The whole page.
pub fn page(p: &Prepared, o: &Outcome, tables: &[Table], svgs: &[(String, String)]) -> String {
    let s = &p.scenario;
    let title = s.scenario.title.clone().unwrap_or_else(|| s.scenario.name.clone());
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.push_str(&format!("<title>{}</title><style>{STYLE}</style></head><body><main>", esc(&title)));
    h.push_str(&format!("<h1>{}</h1>", esc(&title)));
    if let Some(d) = &s.scenario.description {
        h.push_str(&format!("<p class=sub>{}</p>", esc(d)));
    }
    let first = o.months.first().map(|m| m.to_string()).unwrap_or_default();
    let last = o.months.last().map(|m| m.to_string()).unwrap_or_default();
    let mut facts = vec![
        ("情景 Scenario", s.scenario.name.clone()),
        ("政策 Policy", s.resolve(&s.scenario.policy).display().to_string()),
        ("时间 Months", format!("{first} – {last} ({} months)", o.months.len())),
        ("模拟次数 Runs", format!("{} (seed {})", o.runs, s.scenario.seed)),
        ("样本 Sample", format!("{} households, {} persons", group(&p.population.households.to_string()), group(&p.population.persons.to_string()))),
        ("权重 Weight", format!("each simulated household = {} households", group(&o.weight.to_string()))),
    ];
    if let Some(r) = &s.reform {
        facts.push(("改革 Reform", r.name.clone()));
    }
    if let Some((param, values)) = &p.sweep {
        facts.push(("扫描 Sweep", format!("{param}: {} values", values.len())));
    }
    h.push_str("<div class=facts>");
    for (k, v) in facts {
        h.push_str(&format!("<div><b>{}</b>{}</div>", esc(k), esc(&v)));
    }
    h.push_str("</div>");
    h.push_str(
        "<p class=note>Figures are for the whole population the sample stands for (× weight). Each cell shows the median over the runs and, in grey, the 5th–95th percentile band. Amounts in 万元 (10,000 yuan) in this page; exact amounts in yuan in the CSV files and <a href=\"report.xlsx\">report.xlsx</a>.</p>",
    );

    // Headline: yearly, per variant.
    h.push_str("<h2>年度概览 Yearly overview</h2>");
    let programmes: Vec<(String, String)> = {
        let mut v: Vec<(String, String)> = Vec::new();
        for m in &o.metrics {
            if !v.iter().any(|(x, _)| *x == m.programme) {
                v.push((m.programme.clone(), m.label.clone()));
            }
        }
        v
    };
    let idx = |pr: &str, me: &str| o.metrics.iter().position(|m| m.programme == pr && m.measure == me);
    let mut cols: Vec<(String, usize, bool)> = Vec::new();
    if let Some(i) = idx("dibao", "households") {
        cols.push(("低保户数(月均) Dibao households".into(), i, false));
    }
    if let Some(i) = idx("dibao", "persons") {
        cols.push(("低保人数(月均) Dibao persons".into(), i, false));
    }
    for (pr, label) in &programmes {
        if pr != "dibao" && pr != "total" {
            if let Some(i) = idx(pr, "persons") {
                cols.push((format!("{label}人数 {pr} persons"), i, false));
            }
        }
    }
    for (pr, label) in &programmes {
        if let Some(i) = idx(pr, "spending") {
            let name = if pr == "dibao" { "低保金 Dibao".to_string() } else if pr == "total" { "合计 Total".to_string() } else { format!("{label} {pr}") };
            cols.push((format!("{name}(万元/年)"), i, true));
        }
    }
    let mut variants: Vec<&crate::montecarlo::VariantOutcome> = o.variants.iter().collect();
    if let Some(d) = &o.diff {
        variants.push(d);
    }
    if o.sweep.is_none() {
        for v in &variants {
            h.push_str(&format!("<h3>{}</h3>", esc(&if v.name == "baseline" { "基线 Baseline".to_string() } else if v.name == "reform" { format!("改革 Reform: {}", v.label) } else { format!("{} {}", v.label, v.name) })));
            h.push_str("<div class=scroll><table><thead><tr><th></th>");
            for (y, n) in &o.years {
                h.push_str(&format!("<th>{}</th>", esc(&if *n == 12 { y.to_string() } else { format!("{y} ({n} 个月 months)") })));
            }
            h.push_str("</tr></thead><tbody>");
            for (c, i, money) in &cols {
                h.push_str(&format!("<tr><td>{}</td>", esc(c)));
                for yi in 0..o.years.len() {
                    h.push_str(&format!("<td class=num>{}</td>", banded(v.yearly.get(yi, 0, 0, *i), *money)));
                }
                h.push_str("</tr>");
            }
            h.push_str("</tbody></table></div>");
        }
    }

    // Charts.
    h.push_str("<h2>图表 Charts</h2>");
    for (name, svg) in svgs {
        h.push_str(&format!("<div class=chart id=\"chart-{}\">{}<p class=note>charts/{}.svg", esc(name), strip_xml_decl(svg), esc(name)));
        if p.scenario.report.png {
            h.push_str(&format!(", <a href=\"charts/{0}.png\">charts/{0}.png</a>", esc(name)));
        }
        h.push_str("</p></div>");
    }

    // Tables.
    let get = |n: &str| tables.iter().find(|t| t.name == n);
    h.push_str("<h2>表格 Tables</h2>");
    for (name, rows, open) in [
        ("sweep", 300, true),
        ("winners_losers", 10, true),
        ("deciles", 10, true),
        ("reform_yearly", 50, false),
        ("reform_programme", 100, false),
        ("programme_yearly", 200, true),
        ("yearly", 50, false),
        ("monthly", 400, false),
        ("regions", 400, false),
        ("programme", 300, false),
        ("settings", 300, false),
    ] {
        let Some(t) = get(name) else { continue };
        h.push_str(&format!(
            "<details{}><summary>{} {} <span class=note>({}.csv)</span></summary><p class=note>{}</p>{}</details>",
            if open { " open" } else { "" },
            esc(&t.title.zh),
            esc(&t.title.en),
            esc(&t.name),
            esc(&t.note),
            table_html(t, rows)
        ));
    }

    // Population notes.
    if !p.population.notes.is_empty() {
        h.push_str("<h3>人口 Population</h3><ul>");
        for n in &p.population.notes {
            h.push_str(&format!("<li>{}</li>", esc(n)));
        }
        h.push_str("</ul>");
    }

    h.push_str(METHOD);
    h.push_str("</main></body></html>\n");
    h
}

fn strip_xml_decl(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

const METHOD: &str = r#"<h2>方法 Method</h2><ul>
<li><b>Dynamics.</b> Every month each person may die (mortality by age), become disabled, lose self-care, fall ill or recover (rates by age), lose or find a job (wages drawn per area), get the yearly wage rise, and move through school (September); everybody ages by a year in January (<code>ageing_month</code>). All rates are scenario parameters (<code>[dynamics]</code>, listed in the settings table).</li>
<li><b>Administration.</b> Eligible households not on dibao apply with the monthly take-up probability; the decision comes after the approval lag (working days) and checks eligibility then. Households on dibao are paid what the policy computes on their circumstances <i>as last verified</i> (approval, review, reported change) in the current month, so inclusion errors persist until a review or a reported change; reviews come every <code>review_interval_months</code>. Deaths are always found. A serious or severe dishonesty finding stops dibao that month.</li>
<li><b>Grace period (延退).</b> A household whose per-capita income reaches <code>grace_income_multiple × S</code> while a member started work or work income rose keeps its last dibao payment for <code>grace_months</code> months, then exits unless it is eligible again.</li>
<li><b>Programme rules.</b> The 2% cap on purchased services and the care-allowance funding split are the policy's own programme definitions, evaluated by the interpreter on each month's weighted totals; the simulator does not re-implement them.</li>
<li><b>Monte Carlo.</b> Each run uses its own random streams (per household and month, independent of threads). The median and the 5th–95th percentile (nearest rank) are shown. Baseline and reform share the population and the random numbers: a reform that changes nothing shows exactly zero difference.</li>
<li><b>Winners and losers.</b> Benefits received over the horizon under the reform minus the baseline, relative to the household's income over the horizon (gross income + baseline benefits); bands as PolicyEngine reports them, with "no change" meaning exactly zero.</li>
</ul>"#;
