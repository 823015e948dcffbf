//! Hover text for a name: what it is, its label, type and period, where it is declared, its
//! citations with their quoted text, and for a parameter the values in force with their dates (the
//! top layer's values when a layer overrides them).

use crate::index::{Decl, DeclKind, Key};
use crate::world::Policy;
use doudi_dsl::ast::*;
use std::fmt::Write as _;

/// The Markdown shown when hovering over `key`.
pub fn hover(p: &Policy, key: &Key) -> Option<String> {
    let decl = p
        .index
        .declarations(key)
        .next()
        .or_else(|| p.index.all_decls(key).next())?;
    let item = item(p, decl)?;
    let mut out = String::new();
    match (decl.kind, item) {
        (DeclKind::Parameter | DeclKind::Override, Item::Parameter(_)) => param(p, key, &mut out),
        (DeclKind::Input, Item::Input(d)) => {
            head(
                &mut out,
                &format!("{} input", d.entity.as_str()),
                key,
                &d.label,
            );
            ty_line(&mut out, &d.ty);
            if let Some(r) = &d.range {
                let _ = writeln!(out, "range: `{}`  ", p.slice(r.span));
            }
            if let Some(v) = &d.default {
                let _ = writeln!(out, "default: `{}`  ", p.slice(v.span));
            }
            declared(p, decl, &mut out);
        }
        (DeclKind::Definition, Item::Definition(d)) => {
            head(
                &mut out,
                &format!("{} definition", d.entity.as_str()),
                key,
                &d.label,
            );
            ty_line(&mut out, &d.ty);
            declared(p, decl, &mut out);
            citations(&d.meta, &mut out);
            exceptions(p, key, &mut out);
        }
        (DeclKind::Table, Item::Table(d)) => {
            let hit = match d.hit.node {
                HitPolicy::Unique => "unique",
                HitPolicy::First => "first",
                HitPolicy::Sum => "sum",
            };
            let what = format!("{} decision table (hit {hit})", d.entity.as_str());
            head(&mut out, &what, key, &d.label);
            ty_line(&mut out, &d.ty);
            declared(p, decl, &mut out);
            citations(&d.meta, &mut out);
            exceptions(p, key, &mut out);
        }
        (DeclKind::State, Item::State(d)) => {
            head(
                &mut out,
                &format!("{} state", d.entity.as_str()),
                key,
                &d.label,
            );
            ty_line(&mut out, &d.ty);
            let _ = writeln!(out, "initially: `{}`  ", p.slice(d.initially.span));
            declared(p, decl, &mut out);
            citations(&d.meta, &mut out);
            exceptions(p, key, &mut out);
        }
        (DeclKind::StateReason, Item::State(d)) => {
            head(
                &mut out,
                &format!("{} definition", d.entity.as_str()),
                key,
                &None,
            );
            let _ = writeln!(
                out,
                "type: `text`  \nthe reason of this month's transition of the state `{}` (\"\" when no row changed it)",
                d.name.name
            );
            declared(p, decl, &mut out);
        }
        (DeclKind::Exception, Item::Exception(d)) => {
            head(
                &mut out,
                &format!("{} definition", d.entity.as_str()),
                key,
                &None,
            );
            let _ = writeln!(out, "(not declared in this policy's layers)");
            exceptions(p, key, &mut out);
        }
        (DeclKind::Enum, Item::Enum(d)) => {
            head(&mut out, "enum", key, &d.label);
            declared(p, decl, &mut out);
            let _ = writeln!(out, "\nvalues:");
            for v in &d.variants {
                let _ = write!(out, "- `{}`", v.name.name);
                if let Some(l) = &v.label {
                    let _ = write!(out, " — {l}");
                }
                out.push('\n');
            }
        }
        (DeclKind::Variant, Item::Enum(d)) => {
            let label = d
                .variants
                .iter()
                .find(|v| v.name.name == key.name())
                .and_then(|v| v.label.clone());
            head(
                &mut out,
                &format!("value of enum `{}`", d.name.name),
                key,
                &label,
            );
            declared(p, decl, &mut out);
        }
        (DeclKind::Extern, Item::Extern(d)) => {
            head(&mut out, "extern function", key, &d.label);
            let args: Vec<String> = d
                .params
                .iter()
                .map(|(n, t)| format!("{}: {}", n.name, ty_text(t)))
                .collect();
            let _ = writeln!(
                out,
                "`{}({}): {}`  \nscript: `{}`  ",
                d.name.name,
                args.join(", "),
                ty_text(&d.ret),
                d.file.node
            );
            declared(p, decl, &mut out);
        }
        _ => return None,
    }
    Some(out.trim_end().to_string())
}

fn item<'a>(p: &'a Policy, d: &Decl) -> Option<&'a Item> {
    p.loaded
        .layers
        .get(d.at.layer)?
        .files
        .get(d.at.file)?
        .1
        .items
        .get(d.at.item)
}

fn head(out: &mut String, what: &str, key: &Key, label: &Option<String>) {
    let _ = write!(out, "**{what}** `{}`", key.name());
    if let Some(l) = label {
        let _ = write!(out, " — {l}");
    }
    out.push_str("\n\n");
}

/// The type as the checker names it, in English.
pub fn ty_text(t: &TypeExpr) -> String {
    match t {
        TypeExpr::Bool(_) => "bool".into(),
        TypeExpr::Integer(_) => "integer".into(),
        TypeExpr::Decimal(_) => "decimal".into(),
        TypeExpr::Percent(_) => "percent".into(),
        TypeExpr::Money(Period::Stock, _) => "money".into(),
        TypeExpr::Money(Period::Month, _) => "money per month".into(),
        TypeExpr::Money(Period::Year, _) => "money per year".into(),
        TypeExpr::Months(_) => "months".into(),
        TypeExpr::Date(_) => "date".into(),
        TypeExpr::Text(_) => "text".into(),
        TypeExpr::Named(i) => i.name.clone(),
    }
}

fn ty_line(out: &mut String, t: &TypeExpr) {
    let _ = writeln!(out, "type: `{}`  ", ty_text(t));
    if let TypeExpr::Money(period, _) = t {
        let period = match period {
            Period::Stock => "none (a stock: an amount held, not a flow)",
            Period::Month => "monthly (an amount per month)",
            Period::Year => "yearly (an amount per year)",
        };
        let _ = writeln!(out, "period: {period}  ");
    }
}

fn declared(p: &Policy, d: &Decl, out: &mut String) {
    // The layer by its directory's name (`base`), as the drafter knows it.
    let layer = p.loaded.layers.get(d.at.layer).map_or(String::new(), |l| {
        l.dir
            .canonicalize()
            .unwrap_or_else(|_| l.dir.clone())
            .file_name()
            .map_or_else(|| l.name.clone(), |n| n.to_string_lossy().into_owned())
    });
    let _ = writeln!(out, "declared in `{}` (layer `{layer}`)", p.place(d.span));
}

fn citations(meta: &[Meta], out: &mut String) {
    if meta.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nsources:");
    for m in meta {
        out.push_str("- ");
        citation(m, out);
        out.push('\n');
    }
}

fn citation(m: &Meta, out: &mut String) {
    match m {
        Meta::Source {
            citation, quote, ..
        } => {
            let _ = write!(out, "source: {citation}");
            if let Some(q) = quote {
                let _ = write!(out, " — “{q}”");
            }
        }
        Meta::Assumption { reason, .. } => {
            let _ = write!(out, "assumption: {reason}");
        }
    }
}

/// The exceptions attached to a definition, in every layer.
fn exceptions(p: &Policy, key: &Key, out: &mut String) {
    let found: Vec<(&Decl, &ExceptionDecl)> = p
        .index
        .all_decls(key)
        .filter(|d| d.kind == DeclKind::Exception)
        .filter_map(|d| match item(p, d) {
            Some(Item::Exception(e)) => Some((d, e)),
            _ => None,
        })
        .collect();
    if found.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nexceptions:");
    for (d, e) in found {
        let _ = write!(out, "- ");
        match &e.label {
            Some(l) => {
                let _ = write!(out, "{l}");
            }
            None => out.push_str("(no label)"),
        }
        let _ = writeln!(out, " (`{}`)", p.place(d.span));
        for m in &e.meta {
            out.push_str("  - ");
            citation(m, out);
            out.push('\n');
        }
    }
}

fn param(p: &Policy, key: &Key, out: &mut String) {
    // The declaration gives the label, type and range; the last layer that gives values decides them.
    let decls: Vec<(&Decl, &ParamDecl)> = p
        .index
        .all_decls(key)
        .filter_map(|d| match item(p, d) {
            Some(Item::Parameter(x)) => Some((d, x)),
            _ => None,
        })
        .collect();
    let Some((base_decl, base)) = decls
        .iter()
        .find(|(_, x)| !x.is_override)
        .or(decls.first())
        .copied()
    else {
        return;
    };
    head(out, "parameter", key, &base.label);
    if let Some(t) = &base.ty {
        ty_line(out, t);
    }
    if let Some(by) = &base.by {
        let _ = writeln!(out, "by: `{}`  ", by.name);
    }
    if let Some(r) = &base.range {
        let _ = writeln!(out, "range: `{}`  ", p.slice(r.span));
    }
    declared(p, base_decl, out);
    citations(&base.meta, out);
    let Some((in_force_decl, in_force)) = decls
        .iter()
        .rev()
        .find(|(_, x)| !x.clauses.is_empty())
        .copied()
    else {
        return;
    };
    if in_force.is_override {
        let _ = writeln!(out, "\noverridden in `{}`", p.place(in_force_decl.span));
        citations(&in_force.meta, out);
    }
    let _ = writeln!(out, "\nvalues in force:");
    for c in &in_force.clauses {
        let value_span = match &c.value {
            ParamValue::Scalar(l) => l.span,
            ParamValue::Table(_, s) => *s,
        };
        let value = p.slice(value_span).split_whitespace().collect::<Vec<_>>();
        match &c.from {
            Some(d) => {
                let _ = write!(
                    out,
                    "- from {}: `{}`",
                    doudi_dsl::ir::format_date(d.node),
                    value.join(" ")
                );
            }
            None => {
                let _ = write!(out, "- always: `{}`", value.join(" "));
            }
        }
        out.push('\n');
        for m in &c.meta {
            out.push_str("  - ");
            citation(m, out);
            out.push('\n');
        }
    }
}
