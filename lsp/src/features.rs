//! Completion, document symbols and the rename's name check: what the server answers from one
//! loaded policy.

use crate::index::{is_declaration, DeclKind, Key};
use crate::keywords::{keywords, FUNCTIONS};
use crate::world::Policy;
use doudi_dsl::ast::{EntityKind, Item};
use lsp_types::{CompletionItem, CompletionItemKind, DocumentSymbol, SymbolKind};
use std::collections::BTreeMap;

/// Completion at byte `offset` of `file`: after `household.` (or `person.`, `programme.`, or their
/// Chinese spellings) the names of that entity; elsewhere every name of the policy, the keywords in
/// both spellings and the built-in functions.
pub fn completion(p: &Policy, file: u32, offset: u32) -> Vec<CompletionItem> {
    let text = p.text(file);
    let end = (offset as usize).min(text.len());
    let line_start = text[..floor(text, end)].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..floor(text, end)];
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(before.len(), |(i, _)| i);
    let entity = before[..word_start].strip_suffix('.').and_then(|b| {
        let word: String = b
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        match word.as_str() {
            "person" | "个人" => Some(EntityKind::Person),
            "household" | "家庭" => Some(EntityKind::Household),
            "programme" | "总体" => Some(EntityKind::Programme),
            _ => None,
        }
    });
    let mut names: BTreeMap<(String, String), CompletionItem> = BTreeMap::new();
    for d in p.index.decls.iter().filter(|d| is_declaration(d.kind)) {
        if let Some(e) = entity {
            if !matches!(&d.key, Key::Entity(k, _) if *k == e) {
                continue;
            }
        }
        let (kind, what) = describe(&d.key, d.kind);
        let label = d.key.name().to_string();
        let detail = match declared_label(p, d) {
            Some(l) => format!("{what} — {l}"),
            None => what,
        };
        names
            .entry((label.clone(), detail.clone()))
            .or_insert_with(|| CompletionItem {
                label,
                kind: Some(kind),
                detail: Some(detail),
                sort_text: None,
                ..Default::default()
            });
    }
    let mut items: Vec<CompletionItem> = names
        .into_values()
        .map(|mut c| {
            c.sort_text = Some(format!("0{}", c.label));
            c
        })
        .collect();
    if entity.is_some() {
        return items;
    }
    for (en, zh) in keywords() {
        for (word, other) in [(en, zh), (zh, en)] {
            if word.is_empty() {
                continue;
            }
            items.push(CompletionItem {
                label: word.to_string(),
                kind: Some(CompletionItemKind::KEYWORD),
                detail: (!other.is_empty()).then(|| format!("keyword ({other})")),
                sort_text: Some(format!("1{word}")),
                ..Default::default()
            });
        }
    }
    for (en, zh, usage) in FUNCTIONS {
        for (word, other) in [(en, zh), (zh, en)] {
            items.push(CompletionItem {
                label: word.to_string(),
                kind: Some(CompletionItemKind::FUNCTION),
                detail: Some(format!("{usage} ({other})")),
                sort_text: Some(format!("2{word}")),
                ..Default::default()
            });
        }
    }
    items
}

fn floor(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn describe(key: &Key, kind: DeclKind) -> (CompletionItemKind, String) {
    let entity = |k: &Key| match k {
        Key::Entity(e, _) => e.as_str(),
        _ => "",
    };
    match kind {
        DeclKind::Input => (CompletionItemKind::FIELD, format!("{} input", entity(key))),
        DeclKind::Definition | DeclKind::StateReason => (
            CompletionItemKind::VARIABLE,
            format!("{} definition", entity(key)),
        ),
        DeclKind::Table => (
            CompletionItemKind::VARIABLE,
            format!("{} decision table", entity(key)),
        ),
        DeclKind::State => (
            CompletionItemKind::VARIABLE,
            format!("{} state", entity(key)),
        ),
        DeclKind::Parameter | DeclKind::Override => {
            (CompletionItemKind::CONSTANT, "parameter".into())
        }
        DeclKind::Enum => (CompletionItemKind::ENUM, "enum".into()),
        DeclKind::Variant => match key {
            Key::Variant(e, _) => (CompletionItemKind::ENUM_MEMBER, format!("value of {e}")),
            _ => (CompletionItemKind::ENUM_MEMBER, "enum value".into()),
        },
        DeclKind::Extern => (CompletionItemKind::FUNCTION, "extern function".into()),
        DeclKind::Exception => (CompletionItemKind::EVENT, "exception".into()),
    }
}

/// The drafter's label of a declaration (`"低保标准"`), if it has one.
fn declared_label(p: &Policy, d: &crate::index::Decl) -> Option<String> {
    let item = p
        .loaded
        .layers
        .get(d.at.layer)?
        .files
        .get(d.at.file)?
        .1
        .items
        .get(d.at.item)?;
    match (item, &d.key) {
        (Item::Enum(e), Key::Variant(_, v)) => e
            .variants
            .iter()
            .find(|x| &x.name.name == v)
            .and_then(|x| x.label.clone()),
        (Item::Enum(e), _) => e.label.clone(),
        (Item::Input(x), _) => x.label.clone(),
        (Item::Parameter(x), _) => x.label.clone(),
        (Item::Definition(x), _) => x.label.clone(),
        (Item::Table(x), _) => x.label.clone(),
        (Item::State(x), _) if d.kind == DeclKind::State => x.label.clone(),
        (Item::Extern(x), _) => x.label.clone(),
        _ => None,
    }
}

/// The outline of one file: its items, an enum with its values.
#[allow(deprecated)] // `DocumentSymbol::deprecated` must still be given.
pub fn symbols(p: &Policy, file: u32) -> Vec<DocumentSymbol> {
    let Some(ast) = p
        .loaded
        .layers
        .iter()
        .flat_map(|l| &l.files)
        .find(|(id, _)| *id == file)
        .map(|(_, f)| f)
    else {
        return Vec::new();
    };
    let sym = |name: String,
               detail: Option<String>,
               kind: SymbolKind,
               span: doudi_dsl::Span,
               sel: doudi_dsl::Span,
               children: Option<Vec<DocumentSymbol>>| DocumentSymbol {
        name,
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: p.range(span),
        selection_range: p.range(sel),
        children,
    };
    let named = |name: &doudi_dsl::ast::Ident, detail, kind, span| {
        sym(name.name.clone(), detail, kind, span, name.span, None)
    };
    let with = |what: String, label: &Option<String>| match label {
        Some(l) => Some(format!("{what} — {l}")),
        None => Some(what),
    };
    let mut out = Vec::new();
    for item in &ast.items {
        let s = match item {
            Item::Policy { title, span } => sym(
                title.clone(),
                Some("policy".into()),
                SymbolKind::MODULE,
                *span,
                *span,
                None,
            ),
            Item::Extends { path, span } => sym(
                path.clone(),
                Some("extends".into()),
                SymbolKind::PACKAGE,
                *span,
                *span,
                None,
            ),
            Item::Enum(e) => {
                let kids = e
                    .variants
                    .iter()
                    .map(|v| {
                        let d = v.label.clone();
                        sym(
                            v.name.name.clone(),
                            d,
                            SymbolKind::ENUM_MEMBER,
                            v.name.span,
                            v.name.span,
                            None,
                        )
                    })
                    .collect();
                let d = with("enum".into(), &e.label);
                sym(
                    e.name.name.clone(),
                    d,
                    SymbolKind::ENUM,
                    e.span,
                    e.name.span,
                    Some(kids),
                )
            }
            Item::Input(x) => {
                let d = with(format!("{} input", x.entity.as_str()), &x.label);
                named(&x.name, d, SymbolKind::FIELD, x.span)
            }
            Item::Parameter(x) => {
                let what = if x.is_override {
                    "override parameter"
                } else {
                    "parameter"
                };
                let d = with(what.into(), &x.label);
                named(&x.name, d, SymbolKind::CONSTANT, x.span)
            }
            Item::Definition(x) => {
                let d = with(format!("{} definition", x.entity.as_str()), &x.label);
                named(&x.name, d, SymbolKind::FUNCTION, x.span)
            }
            Item::Exception(x) => {
                let d = with(format!("{} exception", x.entity.as_str()), &x.label);
                named(&x.name, d, SymbolKind::EVENT, x.span)
            }
            Item::Table(x) => {
                let d = with(format!("{} decision table", x.entity.as_str()), &x.label);
                named(&x.name, d, SymbolKind::FUNCTION, x.span)
            }
            Item::Extern(x) => {
                let d = with("extern function".into(), &x.label);
                named(&x.name, d, SymbolKind::FUNCTION, x.span)
            }
            Item::Calendar(c) => {
                let d = with("calendar".into(), &c.label);
                sym(
                    c.year.node.to_string(),
                    d,
                    SymbolKind::NAMESPACE,
                    c.span,
                    c.year.span,
                    None,
                )
            }
            Item::State(x) => {
                let d = with(format!("{} state", x.entity.as_str()), &x.label);
                named(&x.name, d, SymbolKind::VARIABLE, x.span)
            }
        };
        out.push(s);
    }
    out
}

/// Whether `name` is a name the language accepts (not a keyword, an identifier): asked of the
/// parser itself, so the rule is the grammar's.
pub fn valid_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 200 || name.contains(['\n', '#']) {
        return false;
    }
    let (file, diags) =
        doudi_dsl::parse::parse_file(0, &format!("parameter {name}: integer = 0\n"));
    diags.is_empty() && matches!(file.items.as_slice(), [Item::Parameter(p)] if p.name.name == name)
}
