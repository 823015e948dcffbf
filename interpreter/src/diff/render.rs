//! The diff as text for a drafter, as JSON and as CSV rows (one per household and changed output).
//! Numbers in JSON are exact: amounts are strings of the exact value (`1559.99/3` for a fraction),
//! counts are JSON integers.

use super::cause::{Cause, Example, ParamSide, RuleAt};
use super::{
    num_change, Direction, GroupStat, HouseholdChange, PersonOutputs, Summary, SIZE_BANDS,
};
use crate::explain::cite;
use crate::num::Num;
use crate::policy::Policy;
use crate::value::Value;
use doudi_dsl::ast::Period;
use doudi_dsl::ir::Ty;
use serde_json::{json, Value as Json};
use std::fmt::Write;

const DIRECTIONS: [Direction; 5] = [
    Direction::Up,
    Direction::Down,
    Direction::BecameTrue,
    Direction::BecameFalse,
    Direction::Changed,
];

/// `1 household`, `2 households`.
fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("{n} {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn name_label(name: &str, label: &Option<String>) -> String {
    match label {
        Some(l) => format!("{name} {l}"),
        None => name.to_string(),
    }
}

/// A change with its sign (`+800.00`, `-3`, `0.00`).
fn signed(p: &Policy, ty: Ty, n: &Num) -> String {
    let shown = p.display_exact(ty, &Value::Num(n.clone()));
    if n.is_positive() {
        format!("+{shown}")
    } else {
        shown
    }
}

/// The type a monthly or yearly amount of a money total is shown with.
fn money(period: Period) -> Ty {
    Ty::Money(period)
}

/// The report for a drafter: who is affected, the programme totals, gainers and losers, and why
/// the output changed for the example households. `p` (the new policy) formats the values.
pub fn render_text(s: &Summary, p: &Policy, base_name: &str, new_name: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "doudi diff {} ({} households, {} persons)",
        s.month, s.households, s.persons
    );
    let _ = writeln!(o, "  base 原政策: {base_name} ({})", s.base_title);
    let _ = writeln!(o, "  new  新政策: {new_name} ({})", s.new_title);
    let _ = writeln!(
        o,
        "\n受影响 affected: {} of {} households, {} of {} persons (members of the households with a changed output)",
        s.changed_households, s.households, s.changed_persons, s.persons
    );
    text_outputs(&mut o, s);
    if let Some(po) = &s.person_outputs {
        text_persons(&mut o, po);
    }
    text_programmes(&mut o, s, p);
    text_gainers(&mut o, s, p);
    if !s.examples.is_empty() {
        let _ = writeln!(o, "\n示例 examples: why the output changed");
        for e in &s.examples {
            text_example(&mut o, e);
        }
    }
    o
}

fn text_outputs(o: &mut String, s: &Summary) {
    let changed: Vec<usize> = (0..s.outputs.len())
        .filter(|&i| s.output_stats[i].households() > 0)
        .collect();
    if changed.is_empty() {
        let _ = writeln!(
            o,
            "\n输出变化 outputs: no household output changes ({} compared)",
            s.outputs.len()
        );
        return;
    }
    let _ = writeln!(
        o,
        "\n输出变化 outputs that change ({} of {} compared; households, and by direction):",
        changed.len(),
        s.outputs.len()
    );
    for i in changed {
        let st = &s.output_stats[i];
        let dirs: Vec<String> = DIRECTIONS
            .iter()
            .filter(|d| st.count(**d) > 0)
            .map(|d| format!("{} {}", d.label(), st.count(*d)))
            .collect();
        let out = &s.outputs[i];
        let _ = writeln!(
            o,
            "  {}: {}, {} ({})",
            name_label(&out.name, &out.label),
            count(st.households(), "household"),
            count(st.persons, "person"),
            dirs.join(", ")
        );
    }
}

fn text_persons(o: &mut String, po: &PersonOutputs) {
    let _ = writeln!(
        o,
        "\n个人输出变化 person outputs: {} with a changed person definition ({} compared, member by member)",
        count(po.changed_members, "person"),
        po.outputs.len()
    );
    for (out, st) in po.outputs.iter().zip(&po.stats) {
        if st.members() == 0 {
            continue;
        }
        let dirs: Vec<String> = DIRECTIONS
            .iter()
            .filter(|d| st.count(**d) > 0)
            .map(|d| format!("{} {}", d.label(), st.count(*d)))
            .collect();
        let _ = writeln!(
            o,
            "  {}: {} in {} ({})",
            name_label(&out.name, &out.label),
            count(st.members(), "person"),
            count(st.households, "household"),
            dirs.join(", ")
        );
    }
    if po.not_computed > 0 {
        let _ = writeln!(
            o,
            "  ({} values not compared: a policy cannot compute them for the member)",
            po.not_computed
        );
    }
}

fn text_programmes(o: &mut String, s: &Summary, p: &Policy) {
    if s.programmes.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n总体层面 programme totals (base → new, change):");
    for pc in &s.programmes {
        let show = |v: &Option<Value>| match v {
            Some(v) => p.display_exact(pc.ty, v),
            None => "(not defined)".to_string(),
        };
        let mut line = format!(
            "  {}: {} → {}",
            name_label(&pc.name, &pc.label),
            show(&pc.base),
            show(&pc.new)
        );
        match (&pc.change, &pc.monthly, &pc.yearly) {
            (Some(c), _, _) if c.is_zero() => line.push_str(" (unchanged 不变)"),
            (Some(_), Some(m), Some(y)) => {
                let _ = write!(
                    line,
                    " ({} per month, {} per year)",
                    signed(p, money(Period::Month), m),
                    signed(p, money(Period::Year), y)
                );
            }
            (Some(c), _, _) => {
                let _ = write!(line, " ({})", signed(p, pc.ty, c));
            }
            _ => {}
        }
        let _ = writeln!(o, "{line}");
    }
}

fn group_text(g: &GroupStat, p: &Policy, ty: Ty) -> String {
    format!(
        "{} ({}): {} gain, {} lose, {} unchanged; change {}",
        count(g.households, "household"),
        count(g.persons, "person"),
        g.gainers,
        g.losers,
        g.unchanged(),
        signed(p, ty, &g.change)
    )
}

fn text_gainers(o: &mut String, s: &Summary, p: &Policy) {
    let Some(g) = &s.gainers else {
        let _ = writeln!(
            o,
            "\n增收与减收 gainers and losers: no measure (name a household money output with --measure)"
        );
        return;
    };
    let m = &s.outputs[g.measure];
    let _ = writeln!(
        o,
        "\n增收与减收 gainers and losers, by the change of {}:",
        name_label(&m.name, &m.label)
    );
    let _ = writeln!(o, "  all 全部: {}", group_text(&g.all, p, m.ty));
    let _ = writeln!(o, "  by household size 按家庭人口:");
    for b in g.by_size.iter().filter(|b| b.households > 0) {
        let _ = writeln!(o, "    {}: {}", b.key, group_text(b, p, m.ty));
    }
    if !g.by_region.is_empty() {
        let _ = writeln!(o, "  by region 按县(市、区) (`region`):");
        for r in &g.by_region {
            let _ = writeln!(o, "    {}: {}", r.key, group_text(r, p, m.ty));
        }
    }
}

fn text_rule(o: &mut String, which: &str, r: &RuleAt) {
    let _ = writeln!(
        o,
        "      {which}: {} = {}   at {}",
        r.value, r.formula, r.location
    );
    text_decisions(o, r);
}

/// Where the definition is written when an exception decided, and what decided.
fn text_decisions(o: &mut String, r: &RuleAt) {
    if let Some(d) = &r.defined_at {
        let _ = writeln!(o, "           (defined at {d})");
    }
    for d in &r.decided_by {
        let _ = writeln!(o, "           {}   at {}", d.text, d.location);
    }
}

fn param_side(s: &Option<ParamSide>) -> String {
    match s {
        None => "(not used)".into(),
        Some(s) => format!(
            "{}{} at {}",
            s.value,
            s.in_force_from
                .as_deref()
                .map(|f| format!(" (from {f})"))
                .unwrap_or_default(),
            s.at
        ),
    }
}

fn text_cause(o: &mut String, c: &Cause) {
    let _ = writeln!(
        o,
        "    first difference, from the inputs up 最先不同的定义: {} ({}): {} → {}",
        name_label(&c.name, &c.label),
        c.of,
        c.base.value,
        c.new.value
    );
    let (b, n) = (&c.base, &c.new);
    let same_decisions = b.decided_by.len() == n.decided_by.len()
        && b.decided_by
            .iter()
            .zip(&n.decided_by)
            .all(|(x, y)| x.text == y.text && x.location == y.location);
    if b.formula == n.formula
        && b.location == n.location
        && b.defined_at == n.defined_at
        && same_decisions
    {
        // The same rule in both policies: what differs is a parameter it reads.
        let _ = writeln!(
            o,
            "      rule 规则 (the same in both policies): {}   at {}",
            b.formula, b.location
        );
        text_decisions(o, b);
    } else {
        text_rule(o, "base", b);
        text_rule(o, "new ", n);
    }
    for pc in &c.parameters {
        let key = pc
            .key
            .as_deref()
            .map(|k| format!("[{k}]"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "      parameter {}{key}: {} → {}",
            name_label(&pc.name, &pc.label),
            param_side(&pc.base),
            param_side(&pc.new)
        );
    }
    let mut cites: Vec<String> = Vec::new();
    let sides = [&c.base.citations, &c.new.citations];
    let params = c
        .parameters
        .iter()
        .flat_map(|p| [&p.base, &p.new])
        .flatten();
    for cit in sides
        .into_iter()
        .flatten()
        .chain(params.flat_map(|s| &s.citations))
    {
        let t = cite(cit);
        if !cites.contains(&t) {
            cites.push(t);
        }
    }
    for t in cites {
        let _ = writeln!(o, "      {t}");
    }
}

fn text_example(o: &mut String, e: &Example) {
    let _ = writeln!(
        o,
        "  household {}: {}: {} → {}",
        e.household,
        name_label(&e.output, &e.label),
        e.base_value,
        e.new_value
    );
    if let Some(c) = &e.cause {
        text_cause(o, c);
    }
}

/// A value exactly: JSON booleans and integers as themselves, numbers as exact strings, the rest
/// as the policy shows it.
fn exact(p: &Policy, ty: Ty, v: &Value) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Num(n) => Json::String(n.to_string()),
        _ => Json::String(p.display(ty, v)),
    }
}

fn exact_num(n: &Option<Num>) -> Json {
    n.as_ref()
        .map_or(Json::Null, |n| Json::String(n.to_string()))
}

fn group_json(g: &GroupStat) -> Json {
    json!({
        "group": g.key, "households": g.households, "persons": g.persons, "gainers": g.gainers,
        "losers": g.losers, "unchanged": g.unchanged(), "change": g.change.to_string(),
    })
}

fn rule_json(r: &RuleAt) -> Json {
    json!({
        "value": r.value, "formula": r.formula, "location": r.location, "defined_at": r.defined_at,
        "decided_by": r.decided_by.iter().map(|d| json!({"text": d.text, "location": d.location})).collect::<Vec<_>>(),
        "citations": r.citations,
    })
}

fn param_side_json(s: &Option<ParamSide>) -> Json {
    s.as_ref().map_or(Json::Null, |s| {
        json!({"value": s.value, "in_force_from": s.in_force_from, "at": s.at, "citations": s.citations})
    })
}

fn example_json(e: &Example) -> Json {
    let cause = e.cause.as_ref().map_or(Json::Null, |c| {
        json!({
            "definition": c.name, "label": c.label, "of": c.of,
            "base": rule_json(&c.base), "new": rule_json(&c.new),
            "parameters": c.parameters.iter().map(|p| json!({
                "name": p.name, "label": p.label, "key": p.key,
                "base": param_side_json(&p.base), "new": param_side_json(&p.new),
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "household": e.household, "output": e.output, "label": e.label,
        "base": e.base_value, "new": e.new_value, "cause": cause,
    })
}

/// The whole summary as JSON (see docs/DIFF.md for the fields).
pub fn render_json(s: &Summary, bp: &Policy, np: &Policy) -> Json {
    let outputs: Vec<Json> = s
        .outputs
        .iter()
        .zip(&s.output_stats)
        .map(|(o, st)| {
            let mut m = json!({
                "name": o.name, "label": o.label, "type": np.program.ty_name(o.ty),
                "households": st.households(), "persons": st.persons,
            });
            for d in DIRECTIONS {
                m[d.key()] = Json::from(st.count(d));
            }
            m
        })
        .collect();
    let programmes: Vec<Json> = s
        .programmes
        .iter()
        .map(|pc| {
            json!({
                "name": pc.name, "label": pc.label, "type": np.program.ty_name(pc.ty),
                "base": pc.base.as_ref().map_or(Json::Null, |v| exact(bp, pc.ty, v)),
                "new": pc.new.as_ref().map_or(Json::Null, |v| exact(np, pc.ty, v)),
                "change": exact_num(&pc.change),
                "monthly_change": exact_num(&pc.monthly),
                "yearly_change": exact_num(&pc.yearly),
            })
        })
        .collect();
    let gainers = s.gainers.as_ref().map_or(Json::Null, |g| {
        json!({
            "measure": s.outputs[g.measure].name,
            "all": group_json(&g.all),
            "by_size": g.by_size.iter().map(group_json).collect::<Vec<_>>(),
            "by_region": g.by_region.iter().map(group_json).collect::<Vec<_>>(),
        })
    });
    let persons = s.person_outputs.as_ref().map_or(Json::Null, |po| {
        let outputs: Vec<Json> = po
            .outputs
            .iter()
            .zip(&po.stats)
            .map(|(o, st)| {
                let mut m = json!({
                    "name": o.name, "label": o.label, "type": np.program.ty_name(o.ty),
                    "persons": st.members(), "households": st.households,
                });
                for d in DIRECTIONS {
                    m[d.key()] = Json::from(st.count(d));
                }
                m
            })
            .collect();
        json!({"changed_persons": po.changed_members, "not_computed": po.not_computed, "outputs": outputs})
    });
    json!({
        "period": s.month.to_string(),
        "person_outputs": persons,
        "base": s.base_title, "new": s.new_title,
        "households": s.households, "persons": s.persons,
        "changed_households": s.changed_households, "changed_persons": s.changed_persons,
        "outputs": outputs, "programmes": programmes, "gainers": gainers,
        "size_bands": SIZE_BANDS,
        "examples": s.examples.iter().map(example_json).collect::<Vec<_>>(),
    })
}

/// The CSV header of [`csv_rows`].
pub fn csv_header() -> &'static str {
    "household_id,persons,region,output,base,new,change,direction\n"
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One CSV line per changed output of a household (values as the new policy shows them; the
/// change of a number exactly).
pub fn csv_rows(h: &HouseholdChange, outputs: &[super::OutputPair], p: &Policy) -> String {
    let mut s = String::new();
    for c in &h.changes {
        let o = &outputs[c.output];
        let change = num_change(&c.base, &c.new)
            .map(|n| p.display_exact(o.ty, &Value::Num(n)))
            .unwrap_or_default();
        let cells = [
            h.id.clone(),
            h.persons.to_string(),
            h.region.clone().unwrap_or_default(),
            o.name.clone(),
            p.display(o.ty, &c.base),
            p.display(o.ty, &c.new),
            change,
            c.direction.key().to_string(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        s.push_str(&line.join(","));
        s.push('\n');
    }
    s
}
