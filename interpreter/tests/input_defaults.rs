//! Optional inputs (`input person.tekun: bool default false`) in every data reader, and tables by an
//! enum indexed with a text code (`centralised_care_adopted[household.region]`) in the reference and
//! the compiled path.
//!
//! The rule: a column (CSV) or a field (JSON object) that the data does not have takes the declared
//! default; one that it has is read, type-checked and range-checked as usual.

#![allow(clippy::result_large_err)]

use doudi_dsl::ir::ValueRange;
use doudi_interpreter::data::{
    household_to_json, read_csv_dir, read_csv_pair_bytes, read_json_str, write_csv_pair, CsvChunks,
    Field, FieldType, Household, Schema,
};
use doudi_interpreter::fast::CompiledPolicy;
use doudi_interpreter::{Month, Policy, Value};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn load(rel: &str) -> Policy {
    Policy::load_within(&root().join(rel), &[root()])
        .unwrap_or_else(|e| panic!("{rel}: {}", e.render()))
        .policy
}

/// A small schema: a required household text, a required person integer, and two optional person
/// fields (a bool, and an integer with a range).
fn schema() -> Schema {
    Schema {
        household: vec![Field::new("region", FieldType::Text)],
        person: vec![
            Field::new("age", FieldType::Int),
            Field::new("tekun", FieldType::Bool).with_default(Value::Bool(false)),
            Field {
                range: Some(ValueRange {
                    lo: Some(0.into()),
                    hi: Some(4.into()),
                    text: "0..=4".into(),
                }),
                ..Field::new("grade", FieldType::Int).with_default(Value::Int(0))
            },
        ],
        states: Vec::new(),
    }
}

const HOUSEHOLDS: &str = "household_id,region\nH1,qingyuan\nH2,jizhou\n";

fn persons(header: &str, rows: &[&str]) -> String {
    let mut s = format!("{header}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn csv(p: &str) -> Result<Vec<Household>, String> {
    read_csv_pair_bytes(
        &schema(),
        (Path::new("households.csv"), HOUSEHOLDS.as_bytes().to_vec()),
        (Path::new("persons.csv"), p.as_bytes().to_vec()),
    )
    .map_err(|e| e.to_string())
}

/// The chunked reader of `eval`, on the same files written to a directory.
fn chunks(p: &str) -> Result<Vec<Household>, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("households.csv"), HOUSEHOLDS).unwrap();
    std::fs::write(dir.path().join("persons.csv"), p).unwrap();
    let mut out = Vec::new();
    for c in CsvChunks::open_dir(&schema(), dir.path(), 1).map_err(|e| e.to_string())? {
        out.extend(c.map_err(|e| e.to_string())?);
    }
    // The whole-file reader agrees.
    assert_eq!(
        read_csv_dir(&schema(), dir.path()).map_err(|e| e.to_string()),
        Ok(out.clone())
    );
    Ok(out)
}

fn members(hs: &[Household]) -> Vec<(String, Vec<Value>)> {
    hs.iter()
        .flat_map(|h| h.members.iter().map(|m| (m.id.clone(), m.fields.clone())))
        .collect()
}

#[test]
fn csv_without_the_columns_takes_the_defaults() {
    let p = persons(
        "person_id,household_id,age",
        &["P1,H1,70", "P2,H1,8", "P3,H2,40"],
    );
    for hs in [csv(&p).unwrap(), chunks(&p).unwrap()] {
        let ms = members(&hs);
        assert_eq!(ms.len(), 3);
        for (_, f) in &ms {
            assert_eq!(f[1], Value::Bool(false), "tekun defaults to false");
            assert_eq!(f[2], Value::Int(0), "grade defaults to 0");
        }
        assert_eq!(ms[0].1[0], Value::Int(70));
    }
}

#[test]
fn csv_with_the_columns_reads_them() {
    // Columns in any order; one optional column present, the other absent.
    let p = persons(
        "tekun,person_id,household_id,age",
        &["true,P1,H1,70", "0,P2,H1,8", "1,P3,H2,40"],
    );
    for hs in [csv(&p).unwrap(), chunks(&p).unwrap()] {
        let got: Vec<Value> = members(&hs)
            .into_iter()
            .map(|(_, f)| f[1].clone())
            .collect();
        assert_eq!(
            got,
            vec![Value::Bool(true), Value::Bool(false), Value::Bool(true)]
        );
        assert!(members(&hs).iter().all(|(_, f)| f[2] == Value::Int(0)));
    }
}

#[test]
fn a_present_optional_column_is_checked_as_usual() {
    let bad_bool = persons(
        "person_id,household_id,age,tekun",
        &["P1,H1,70,yes", "P3,H2,40,false"],
    );
    let empty = persons(
        "person_id,household_id,age,tekun",
        &["P1,H1,70,", "P3,H2,40,false"],
    );
    let out_of_range = persons(
        "person_id,household_id,age,grade",
        &["P1,H1,70,9", "P3,H2,40,1"],
    );
    for (p, want) in [
        (
            &bad_bool,
            "persons.csv:2: person \"P1\", field \"tekun\": expected true, false, 1 or 0, found \"yes\"",
        ),
        (&empty, "persons.csv:2: person \"P1\", field \"tekun\""),
        (
            &out_of_range,
            "persons.csv:2: person \"P1\", field \"grade\": 9 is outside the declared range `0..=4`",
        ),
    ] {
        let e = csv(p).unwrap_err();
        assert!(e.starts_with(want), "{e}");
        let e = chunks(p).unwrap_err();
        assert!(e.contains(&want["persons.csv".len()..]), "{e}");
    }
}

#[test]
fn a_required_column_is_still_required() {
    let p = persons(
        "person_id,household_id,tekun",
        &["P1,H1,true", "P3,H2,false"],
    );
    let e = csv(&p).unwrap_err();
    assert!(
        e.contains("missing column \"age\" (expected an integer)"),
        "{e}"
    );
    assert!(!e.contains("tekun") && !e.contains("grade"), "{e}");
    assert!(chunks(&p).unwrap_err().contains("missing column \"age\""));
}

#[test]
fn json_and_json_lines_take_the_default_for_a_missing_field() {
    let s = schema();
    let json = r#"[
      {"id": "H1", "region": "qingyuan", "members": [
        {"id": "P1", "age": 70},
        {"id": "P2", "age": 8, "tekun": true, "grade": 2}
      ]},
      {"id": "H2", "region": "jizhou", "members": [{"id": "P3", "age": 40, "tekun": false}]}
    ]"#;
    let hs = read_json_str(&s, json, "t.json").unwrap();
    let ms = members(&hs);
    assert_eq!(
        ms[0].1,
        vec![Value::Int(70), Value::Bool(false), Value::Int(0)]
    );
    assert_eq!(
        ms[1].1,
        vec![Value::Int(8), Value::Bool(true), Value::Int(2)]
    );
    assert_eq!(
        ms[2].1,
        vec![Value::Int(40), Value::Bool(false), Value::Int(0)]
    );
    let arr: serde_json::Value = serde_json::from_str(json).unwrap();
    let lines: String = arr
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.to_string() + "\n")
        .collect();
    assert_eq!(read_json_str(&s, &lines, "t.jsonl").unwrap(), hs);
    // Written back (every field present) and read again: the same households, so the defaults
    // are plain values once read.
    let again: String = hs
        .iter()
        .map(|h| household_to_json(&s, h).to_string() + "\n")
        .collect();
    assert!(again.contains("\"tekun\":false"));
    assert_eq!(read_json_str(&s, &again, "t.jsonl").unwrap(), hs);
}

#[test]
fn a_present_optional_json_field_is_checked_as_usual() {
    let s = schema();
    for (member, want) in [
        (
            r#"{"id": "P1", "age": 70, "tekun": "yes"}"#,
            "field \"tekun\": expected true, false, 1 or 0, found \"yes\"",
        ),
        (
            r#"{"id": "P1", "age": 70, "tekun": null}"#,
            "field \"tekun\"",
        ),
        (
            r#"{"id": "P1", "age": 70, "grade": 7}"#,
            "field \"grade\": 7 is outside the declared range `0..=4`",
        ),
    ] {
        let json = format!(r#"{{"id": "H1", "region": "x", "members": [{member}]}}"#);
        let e = read_json_str(&s, &json, "t.json").unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
    // A required field is still required.
    let e = read_json_str(
        &s,
        r#"{"id": "H1", "region": "x", "members": [{"id": "P1", "tekun": true}]}"#,
        "t.json",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("missing field \"age\""), "{e}");
}

#[test]
fn the_csv_writer_writes_the_optional_column() {
    let s = schema();
    let p = persons("person_id,household_id,age", &["P1,H1,70", "P3,H2,40"]);
    let hs = csv(&p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_csv_pair(&s, &hs, dir.path()).unwrap();
    let written = std::fs::read_to_string(dir.path().join("persons.csv")).unwrap();
    assert!(
        written.starts_with("person_id,household_id,age,tekun,grade"),
        "{written}"
    );
    assert_eq!(read_csv_dir(&s, dir.path()).unwrap(), hs);
}

/// The shipped policy declares `tekun` optional: the example data, which has no such column, reads
/// and evaluates as before, and a data set that has the column is read.
#[test]
fn the_shipped_policy_reads_data_without_tekun() {
    let policy = load("policies/jian");
    let slot = policy
        .schema
        .person_index("tekun")
        .expect("tekun is declared");
    assert_eq!(policy.schema.person[slot].default, Some(Value::Bool(false)));
    let dir = root().join("policies/jian/examples/population");
    let hs = read_csv_dir(&policy.schema, &dir).unwrap();
    assert_eq!(hs.len(), 40);
    assert!(hs
        .iter()
        .flat_map(|h| &h.members)
        .all(|m| m.fields[slot] == Value::Bool(false)));
    let mut chunked = Vec::new();
    for c in CsvChunks::open_dir(&policy.schema, &dir, 7).unwrap() {
        chunked.extend(c.unwrap());
    }
    assert_eq!(chunked, hs);
}

/// `centralised_care_adopted[household.region]`: a region code of the data selects the table's
/// value; a code the enum does not list is an evaluation error naming it, the same in the compiled
/// path (which hands the household to the reference).
#[test]
fn text_keys_in_the_reference_and_the_compiled_path() {
    let policy = load("policies/jian");
    let m = Month::parse("2024-01").unwrap();
    let cost = policy.output("centralised_care_cost").unwrap();
    let outputs = [cost];
    let json = |region: &str| {
        format!(
            r#"{{"id": "H-{region}", "region": "{region}", "area": "rural", "registered_poor": true,
              "pure_female": true, "financial_assets": "0", "vehicles": 0, "houses": 1,
              "credit": "good", "on_dibao": false, "members": [{{"id": "P-{region}", "age": 70,
              "sex": "female", "monthly_income": "0", "employed": false, "employment_category": "none",
              "disability_grade": 0, "self_care": "semi_disabled", "illness": "none",
              "medical_oop_12m": "0", "rehab_cost_year": "0", "schooling": "none", "tuition_year": "0",
              "pension_contrib_year": "0", "alive": true, "imprisoned": false, "has_supporter": false}}]}}"#
        )
    };
    let hs: Vec<Household> = ["qingyuan", "jizhou", "yongfeng", "qingyuan_typo"]
        .iter()
        .map(|r| {
            read_json_str(&policy.schema, &json(r), "t.json")
                .unwrap()
                .remove(0)
        })
        .collect();
    let reference: Vec<_> = hs.iter().map(|h| policy.evaluate(h, m, &outputs)).collect();
    let ty = policy.program.defs[cost as usize].ty;
    let shown = |i: usize| policy.display(ty, &reference[i].as_ref().unwrap()[0]);
    assert_eq!(shown(0), "319.00", "qingyuan has adopted centralised care");
    assert_eq!(shown(1), "0.00");
    assert_eq!(shown(2), "0.00");
    let e = reference[3].as_ref().unwrap_err();
    assert!(
        e.message
            .contains("\"qingyuan_typo\" is not a value of `region`, which keys this table"),
        "{}",
        e.message
    );
    let help = e.help.clone().unwrap_or_default();
    assert!(help.contains("jizhou, qingyuan, jinggangshan"), "{help}");
    let cp = CompiledPolicy::new(&policy, &outputs).unwrap();
    let fast = cp.evaluate_chunk(&hs, m);
    assert_eq!(fast, reference);
    let mut s = cp.session(m);
    assert!(s.is_fast(&hs[0]) && s.is_fast(&hs[1]));
    assert!(!s.is_fast(&hs[3]), "an unknown code goes to the reference");
}
