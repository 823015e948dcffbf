//! The readers match the data contract in docs/DATA.md: every column of its two tables is a declared
//! input of the shipped Ji'an policy, with the contract's type and values; every other input of the
//! policy is optional; the contract's JSON example reads; and the same household written as the
//! contract's two CSV files reads to the same values.

use doudi::interpreter::data::{read_csv_pair_bytes, read_json_str, Field, FieldType, Schema};
use doudi::interpreter::Value;
use doudi::Policy;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn contract() -> String {
    std::fs::read_to_string(root().join("docs/DATA.md")).expect("docs/DATA.md")
}

fn schema() -> Schema {
    let p = Policy::load(&root().join("policies/jian"))
        .unwrap_or_else(|e| panic!("policies/jian does not load:\n{}", e.render()));
    p.policy.schema.clone()
}

/// One row of a contract table: column, type, meaning.
#[derive(Debug)]
struct Column {
    name: String,
    ty: String,
}

/// The rows of the table that follows the line starting with `` `file` `` in the contract.
fn table(text: &str, file: &str) -> Vec<Column> {
    let start = text
        .lines()
        .position(|l| l.starts_with(&format!("`{file}`")))
        .unwrap_or_else(|| panic!("docs/DATA.md has no table for {file}"));
    let mut rows = Vec::new();
    for line in text.lines().skip(start + 1) {
        let line = line.trim();
        if line.is_empty() && rows.is_empty() {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        // Split on `|` that is not escaped as `\|` (the enum alternatives).
        let cells: Vec<String> = line
            .replace("\\|", "\u{1}")
            .split('|')
            .map(|c| c.trim().replace('\u{1}', "|"))
            .collect();
        let (name, ty) = (cells[1].trim_matches('`'), cells[2].as_str());
        if name == "column" || name.starts_with("---") {
            continue;
        }
        rows.push(Column {
            name: name.to_string(),
            ty: ty.to_string(),
        });
    }
    assert!(
        !rows.is_empty(),
        "the {file} table of docs/DATA.md is empty"
    );
    rows
}

/// Whether the policy's field has the contract's type (`money`, `bool`, `int 0–4`, `` `a` | `b` ``,
/// `text`, `bool, **optional**`); a message saying what differs otherwise.
fn same_type(col: &Column, f: &Field) -> Result<(), String> {
    let optional = col.ty.contains("optional");
    if optional != f.default.is_some() {
        return Err(format!(
            "optional in the contract: {optional}; has a default in the policy: {}",
            f.default.is_some()
        ));
    }
    let base = col.ty.split(',').next().unwrap_or_default().trim();
    let ok = match (&f.ty, base) {
        (FieldType::Decimal, "money") | (FieldType::Bool, "bool") | (FieldType::Text, "text") => {
            true
        }
        (FieldType::Int, t) if t.starts_with("int") => match t.strip_prefix("int").map(str::trim) {
            Some("") | None => true,
            // `int 0–4`: the policy declares the same range.
            Some(range) => f
                .range
                .as_ref()
                .is_some_and(|r| r.text.replace("..=", "–").ends_with(range)),
        },
        (FieldType::Enum { variants, .. }, t) if t.starts_with('`') => {
            let listed: Vec<&str> = t.split('|').map(|v| v.trim().trim_matches('`')).collect();
            listed == variants.iter().map(String::as_str).collect::<Vec<_>>()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "contract type `{}`, policy type {:?} (range {:?})",
            col.ty,
            f.ty,
            f.range.as_ref().map(|r| &r.text)
        ))
    }
}

fn check_table(cols: &[Column], fields: &[Field], id_columns: &[&str], file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for col in cols
        .iter()
        .filter(|c| !id_columns.contains(&c.name.as_str()))
    {
        match fields.iter().find(|f| f.name == col.name) {
            None => problems.push(format!(
                "{file}: `{}` is not an input of the policy",
                col.name
            )),
            Some(f) => {
                if let Err(e) = same_type(col, f) {
                    problems.push(format!("{file}: `{}`: {e}", col.name));
                }
            }
        }
    }
    for f in fields {
        if f.default.is_none() && !cols.iter().any(|c| c.name == f.name) {
            problems.push(format!(
                "{file}: the policy requires `{}`, which the contract does not have",
                f.name
            ));
        }
    }
    problems
}

#[test]
fn every_contract_column_is_an_input_of_the_policy_with_its_type() {
    let text = contract();
    let schema = schema();
    let mut problems = check_table(
        &table(&text, "households.csv"),
        &schema.household,
        &["household_id"],
        "households.csv",
    );
    problems.extend(check_table(
        &table(&text, "persons.csv"),
        &schema.person,
        &["person_id", "household_id"],
        "persons.csv",
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The contract's JSON example, and the same household as the contract's two CSV files (columns in
/// the contract's order), read to the same values.
#[test]
fn the_contract_example_reads_the_same_as_json_and_as_csv() {
    let text = contract();
    let schema = schema();
    let json = text
        .split("```json")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```json block in docs/DATA.md");
    let from_json = read_json_str(&schema, json, "docs/DATA.md").expect("the example reads");
    assert_eq!(from_json.len(), 1);
    let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
    let cell = |obj: &serde_json::Value, col: &str| match &obj[col] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    };
    let csv = |cols: &[Column], rows: Vec<Vec<String>>| {
        let mut out = cols
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join(",");
        for r in rows {
            out.push('\n');
            out.push_str(&r.join(","));
        }
        out.push('\n');
        out.into_bytes()
    };
    // `tekun` is optional: the example has no such field, so the CSV leaves the column out too.
    let hcols: Vec<Column> = table(&text, "households.csv");
    let pcols: Vec<Column> = table(&text, "persons.csv")
        .into_iter()
        .filter(|c| parsed["members"][0].get(&c.name).is_some() || c.name.ends_with("_id"))
        .collect();
    let hrow: Vec<String> = hcols
        .iter()
        .map(|c| {
            cell(
                &parsed,
                if c.name == "household_id" {
                    "id"
                } else {
                    &c.name
                },
            )
        })
        .collect();
    let prows: Vec<Vec<String>> = parsed["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            pcols
                .iter()
                .map(|c| match c.name.as_str() {
                    "person_id" => cell(m, "id"),
                    "household_id" => cell(&parsed, "id"),
                    n => cell(m, n),
                })
                .collect()
        })
        .collect();
    let from_csv = read_csv_pair_bytes(
        &schema,
        (Path::new("households.csv"), csv(&hcols, vec![hrow])),
        (Path::new("persons.csv"), csv(&pcols, prows)),
    )
    .expect("the example as CSV reads");
    assert_eq!(from_csv, from_json);
    // The optional column took its default.
    let tekun = schema
        .person
        .iter()
        .position(|f| f.name == "tekun")
        .unwrap();
    assert_eq!(from_csv[0].members[0].fields[tekun], Value::Bool(false));
}
