//! `report.html`: one self-contained page (UTF-8, charts inline as SVG with text as text, so the
//! browser draws Chinese with its own fonts), headline tables, the full tables in collapsible sections,
//! and notes on the method.

use super::assumptions;
use super::labels;
use super::tables::{Cell, Table};
use crate::montecarlo::{Band, Outcome, FEW_CASES};
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
    let (sign, rest) = if let Some(r) = s.strip_prefix('-') {
        ("-", r)
    } else {
        ("", s)
    };
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
    group(&super::tables::wan(n).format_fixed(2))
}

fn cnt(n: &Num) -> String {
    group(&n.format_fixed(0))
}

/// The marker of an estimate resting on few simulated cases.
const FEW: &str = "<sup class=few title=\"fewer than 30 simulated households\">†</sup>";

fn few_note() -> String {
    format!("<p class=note><span class=few>†</span> 模拟样本少于{FEW_CASES}户,仅供参考 · rests on fewer than {FEW_CASES} simulated households: indicative only.</p>")
}

/// Mean with its band in grey (the mean adds up; the band does not).
fn banded(b: &Band, money: bool, few: bool) -> String {
    let f = |n: &Num| if money { wan(n) } else { cnt(n) };
    let mark = if few { FEW } else { "" };
    if b.p5 == b.p95 {
        format!("{}{mark}", f(&b.mean))
    } else {
        format!(
            "{}{mark} <span class=band>({}–{})</span>",
            f(&b.mean),
            f(&b.p5),
            f(&b.p95)
        )
    }
}

fn table_html(t: &Table, max_rows: usize) -> String {
    let mut s = String::new();
    // Tables of sources and assumptions wrap their long text.
    let wrap = matches!(
        t.name.as_str(),
        "parameters" | "settings" | "calibration" | "uncertainty"
    );
    s.push_str(if wrap {
        "<div class=scroll><table class=wrap><thead><tr>"
    } else {
        "<div class=scroll><table><thead><tr>"
    });
    for c in t.columns.iter().filter(|c| c.report) {
        s.push_str(&format!("<th>{}</th>", esc(&c.header())));
    }
    s.push_str("</tr></thead><tbody>");
    let mut any_few = false;
    for (ri, r) in t.rows.iter().enumerate().take(max_rows) {
        s.push_str("<tr>");
        for (ci, c) in r.iter().enumerate() {
            if !t.columns.get(ci).is_some_and(|c| c.report) {
                continue;
            }
            let few = t.thin.contains(&(ri, ci));
            any_few |= few;
            let mark = if few { FEW } else { "" };
            match c {
                Cell::Text(x) => s.push_str(&format!("<td>{}</td>", esc(x))),
                Cell::Unit(_) => s.push_str(&format!("<td>{}</td>", esc(&c.report_text()))),
                other => s.push_str(&format!(
                    "<td class=num>{}{mark}</td>",
                    esc(&group(&other.report_text()))
                )),
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
    if any_few {
        s.push_str(&few_note());
    }
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
td.num{text-align:right;font-variant-numeric:tabular-nums}.band{color:#888;font-size:11px}.few{color:#c05800;font-weight:bold}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
.scroll{overflow-x:auto;max-width:100%}table.wrap td{white-space:normal;max-width:420px;vertical-align:top}.chart{margin:12px 0}.chart svg{max-width:100%;height:auto}
.note{color:#666;font-size:13px}details{margin:10px 0}summary{cursor:pointer;font-weight:bold}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}ul{padding-left:20px}li{margin:4px 0}
"#;

/// The whole page.
pub fn page(p: &Prepared, o: &Outcome, tables: &[Table], svgs: &[(String, String)]) -> String {
    let s = &p.scenario;
    let title = s
        .scenario
        .title
        .clone()
        .unwrap_or_else(|| s.scenario.name.clone());
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.push_str(&format!(
        "<title>{}</title><style>{STYLE}</style></head><body><main>",
        esc(&title)
    ));
    h.push_str(&format!("<h1>{}</h1>", esc(&title)));
    if let Some(d) = &s.scenario.description {
        h.push_str(&format!("<p class=sub>{}</p>", esc(d)));
    }
    facts(p, o, &mut h);
    h.push_str(&format!(
        "<p class=note>Figures are for the whole population the sample stands for. Each cell shows the <b>mean over the {} runs</b>, which adds up (regions to the city, urban + rural to the whole, programmes to the total, months to the year, reform − baseline to the difference), and in grey the 5th–95th percentile band, which does not add up; medians are not shown in these tables because they do not add up. Amounts in 万元 (10,000 yuan, two decimals); households in 户, persons in 人. Exact amounts in yuan in the CSV files; <a href=\"report.xlsx\">report.xlsx</a> has the same tables. What the bands include: see <a href=\"#assumptions\">Assumptions</a>.</p>",
        o.runs
    ));
    headline(o, &mut h);

    // Charts.
    h.push_str("<h2>图表 Charts</h2>");
    for (name, svg) in svgs {
        h.push_str(&format!(
            "<div class=chart id=\"chart-{}\">{}<p class=note>charts/{}.svg",
            esc(name),
            strip_xml_decl(svg),
            esc(name)
        ));
        if p.scenario.report.png {
            h.push_str(&format!(
                ", <a href=\"charts/{0}.png\">charts/{0}.png</a>",
                esc(name)
            ));
        }
        h.push_str("</p></div>");
    }

    // Assumptions: parameters, calibration, bands, settings.
    let get = |n: &str| tables.iter().find(|t| t.name == n);
    h.push_str("<h2 id=assumptions>假设与来源 Assumptions and sources</h2>");
    h.push_str("<h3>区间包含的不确定性 What the 5–95% bands include</h3><ul>");
    for line in assumptions::bands_include(p, o) {
        h.push_str(&format!("<li>{}</li>", esc(&line)));
    }
    h.push_str("</ul>");
    for (name, rows, open) in [
        ("calibration", 100, true),
        ("parameters", 500, true),
        ("settings", 300, false),
    ] {
        if let Some(t) = get(name) {
            h.push_str(&section(t, rows, open));
        }
    }

    // Tables.
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
    ] {
        if let Some(t) = get(name) {
            h.push_str(&section(t, rows, open));
        }
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

fn section(t: &Table, rows: usize, open: bool) -> String {
    format!(
        "<details{}><summary>{} {} <span class=note>({}.csv)</span></summary><p class=note>{}</p>{}</details>",
        if open { " open" } else { "" },
        esc(&t.title.zh),
        esc(&t.title.en),
        esc(&t.name),
        esc(&t.note),
        table_html(t, rows)
    )
}

fn facts(p: &Prepared, o: &Outcome, h: &mut String) {
    let s = &p.scenario;
    let first = o.months.first().map(|m| m.to_string()).unwrap_or_default();
    let last = o.months.last().map(|m| m.to_string()).unwrap_or_default();
    let mut facts = vec![
        ("情景 Scenario", s.scenario.name.clone()),
        (
            "政策 Policy",
            s.resolve(&s.scenario.policy).display().to_string(),
        ),
        (
            "时间 Months",
            format!("{first} – {last} ({} months)", o.months.len()),
        ),
        (
            "模拟次数 Runs",
            format!("{} (seed {})", o.runs, s.scenario.seed),
        ),
        (
            "样本 Sample",
            format!(
                "{} households, {} persons",
                group(&p.population.households.to_string()),
                group(&p.population.persons.to_string())
            ),
        ),
        (
            "设计权重 Design weight",
            format!(
                "each simulated household ≈ {} households before calibration",
                group(&o.weight.to_string())
            ),
        ),
        (
            "校准 Calibration",
            if o.calibration.rows.is_empty() {
                "none: no administrative target declared".to_string()
            } else {
                format!("{} target(s), see Assumptions", o.calibration.rows.len())
            },
        ),
    ];
    // The standards in force at the end of the horizon, with their basis.
    let end = o
        .months
        .last()
        .map(|m| format!("{m}-01"))
        .unwrap_or_default();
    let params = assumptions::parameters(p);
    for r in params.iter().filter(|r| r.name.ends_with("standard")) {
        let later = params
            .iter()
            .any(|x| x.name == r.name && x.from > r.from && x.from.as_str() <= end.as_str());
        if !later && r.from.as_str() <= end.as_str() {
            let basis = if r.source.starts_with("assumption") {
                "assumption / 假设"
            } else {
                "source / 有出处"
            };
            facts.push((
                "标准 Standard in force",
                format!(
                    "{} {}: {} ({basis}; see Assumptions)",
                    r.label, r.name, r.value
                ),
            ));
        }
    }
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
}

/// Yearly overview per variant: means with their bands, one colour per programme.
fn headline(o: &Outcome, h: &mut String) {
    h.push_str("<h2>年度概览 Yearly overview</h2>");
    let programmes = super::tables::programmes(o);
    let idx = |pr: &str, me: &str| {
        o.metrics
            .iter()
            .position(|m| m.programme == pr && m.measure == me)
    };
    // (programme, header, metric, money)
    let mut cols: Vec<(String, String, usize, bool)> = Vec::new();
    for (pr, me, suffix) in [
        ("dibao", "households", "(户,月均) monthly mean"),
        ("dibao", "persons", "(人,月均) monthly mean"),
    ] {
        if let Some(i) = idx(pr, me) {
            let t = labels::measure_text(pr, "", me);
            cols.push((pr.into(), format!("{}{suffix} · {}", t.zh, t.en), i, false));
        }
    }
    for (pr, label) in programmes
        .iter()
        .filter(|(p, _)| p != "dibao" && p != "total")
    {
        if let Some(i) = idx(pr, "persons") {
            let t = labels::measure_text(pr, label, "persons");
            cols.push((
                pr.clone(),
                format!("{}(人,月均) · {}", t.zh, t.en),
                i,
                false,
            ));
        }
    }
    for (pr, label) in &programmes {
        if let Some(i) = idx(pr, "spending") {
            let t = labels::measure_text(pr, label, "spending");
            cols.push((pr.clone(), format!("{}(万元/年) · {}", t.zh, t.en), i, true));
        }
    }
    let mut variants: Vec<&crate::montecarlo::VariantOutcome> = o.variants.iter().collect();
    if let Some(d) = &o.diff {
        variants.push(d);
    }
    if o.sweep.is_some() {
        return;
    }
    let mut any_few = false;
    for v in &variants {
        let vt = labels::variant_text(&v.name, &v.label);
        h.push_str(&format!("<h3>{} {}</h3>", esc(&vt.zh), esc(&vt.en)));
        h.push_str("<div class=scroll><table><thead><tr><th></th>");
        for (y, n) in &o.years {
            h.push_str(&format!(
                "<th>{}</th>",
                esc(&if *n == 12 {
                    y.to_string()
                } else {
                    format!("{y} ({n} 个月 months)")
                })
            ));
        }
        h.push_str("</tr></thead><tbody>");
        for (pr, c, i, money) in &cols {
            h.push_str(&format!(
                "<tr><td><span class=sw style=\"background:{}\"></span>{}</td>",
                labels::css(labels::programme_color(pr)),
                esc(c)
            ));
            for yi in 0..o.years.len() {
                let few = v.yearly.few(yi, 0, 0, *i);
                any_few |= few;
                h.push_str(&format!(
                    "<td class=num>{}</td>",
                    banded(v.yearly.get(yi, 0, 0, *i), *money, few)
                ));
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table></div>");
    }
    if any_few {
        h.push_str(&few_note());
    }
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
<li><b>Grace period (延退).</b> A household whose per-capita income reaches <code>grace_income_multiple × S</code> while a member started work or work income rose keeps its last dibao payment for <code>grace_period</code> months (the policy's household definition, evaluated when the household leaves), then exits unless it is eligible again.</li>
<li><b>Programme rules.</b> The 2% cap on purchased services and the care-allowance funding split are the policy's own programme definitions, evaluated by the interpreter on each month's weighted totals; the simulator does not re-implement them.</li>
<li><b>Monte Carlo.</b> Each run uses its own random streams (per household and month, independent of threads). Tables show the exact mean over the runs (it adds up) with the 5th–95th percentile band (nearest rank); a figure resting on fewer than 30 simulated households is marked †. Baseline and reform share the population and the random numbers: a reform that changes nothing shows exactly zero difference.</li>
<li><b>Winners and losers.</b> Benefits received over the horizon under the reform minus the baseline, relative to the household's income over the horizon (gross income + baseline benefits); bands as PolicyEngine reports them, with "no change" meaning exactly zero.</li>
</ul>"#;
