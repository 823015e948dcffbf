//! The embedding facade (`doudi::Engine`) against the lower-level API it wraps: the same values,
//! shown the same way, the same explanations; and each kind of `doudi::Error` with the fields a
//! program acts on. Needs no cargo feature (the facade is what `default-features = false` keeps).

use doudi::interpreter::explain::{explain, render_text};
use doudi::interpreter::{data, HouseholdEval, Scope};
use doudi::{Engine, Error, Month, Policy};

const HOUSEHOLDS: &str = "policies/jian/examples/households.json";

fn root(p: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn engine() -> Engine {
    Engine::load(root("policies/jian")).expect("the Ji'an policy loads")
}

#[test]
fn evaluate_gives_what_the_policy_gives_shown_as_declared() {
    let engine = engine();
    let policy = Policy::load(&root("policies/jian")).expect("loads").policy;
    let month = Month::parse("2024-01").unwrap();
    let households = engine
        .households(root(HOUSEHOLDS))
        .expect("households read");
    assert!(households.len() > 3);
    let names = engine.output_names();
    for hh in &households {
        let outputs = engine.evaluate(hh, month, &[]).expect("evaluates");
        assert_eq!(outputs.household, hh.id);
        assert_eq!(outputs.values.len(), names.len());
        for (o, name) in outputs.iter().zip(&names) {
            assert_eq!(&o.name, name);
            let id = policy.output(name).unwrap();
            let v = policy.evaluate(hh, month, &[id]).unwrap().remove(0);
            let ty = policy.program.defs[id as usize].ty;
            assert_eq!(o.value, v, "{} of {}", o.name, hh.id);
            assert_eq!(o.text, policy.display(ty, &v));
            assert_eq!(o.ty, policy.program.ty_name(ty));
        }
    }
}

#[test]
fn a_household_may_be_json_or_json_text() {
    let engine = engine();
    let text = std::fs::read_to_string(root(HOUSEHOLDS)).unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = &all[0];
    let outputs = ["dibao_eligible", "dibao_payment"];
    let from_json = engine.evaluate(first, "2024-01", &outputs).unwrap();
    let from_text = engine
        .evaluate(first.to_string().as_str(), "2024-01", &outputs)
        .unwrap();
    let read = engine.household(first).unwrap();
    let from_household = engine.evaluate(&read, "2024-01", &outputs).unwrap();
    assert_eq!(from_json, from_text);
    assert_eq!(from_json, from_household);
    assert_eq!(
        from_json.get("dibao_eligible").and_then(|o| o.as_bool()),
        Some(from_json.to_json()["dibao_eligible"] == true)
    );
    // JSON text holding two households is not one household.
    let two = serde_json::json!([first, first]).to_string();
    let err = engine
        .evaluate(two.as_str(), "2024-01", &outputs)
        .unwrap_err();
    assert!(matches!(err, Error::Data { .. }), "{err:?}");
}

#[test]
fn explain_is_the_cli_tree_with_its_text_short_and_json_forms() {
    let engine = engine();
    let households = engine.households(root(HOUSEHOLDS)).unwrap();
    let hh = households.iter().find(|h| h.id == "H030").expect("H030");
    let why = engine.explain(hh, "2024-01", "dibao_eligible").unwrap();
    let policy = engine.policy();
    let id = policy.output("dibao_eligible").unwrap();
    let month = Month::parse("2024-01").unwrap();
    let mut ev = HouseholdEval::new(policy, hh, month);
    let node = explain(&mut ev, id, Scope::Household).unwrap();
    assert_eq!(why.text(), render_text(&node));
    assert_eq!(why.to_string(), why.text());
    assert_eq!(why.value(), node.value);
    assert!(why.short().starts_with("dibao_eligible"));
    let json = why.to_json();
    assert_eq!(json["household"], "H030");
    assert_eq!(json["period"], "2024-01");
    assert_eq!(json["tree"], serde_json::to_value(&node).unwrap());
    if why.value() == "false" {
        assert!(!why.why_not().is_empty());
    }
    // A person definition, for a member.
    let member = &hh.members[0].id;
    let m = engine
        .explain_member(hh, "2024-01", "counted", member)
        .unwrap();
    assert_eq!(m.member.as_deref(), Some(member.as_str()));
}

#[test]
fn errors_carry_what_a_program_acts_on() {
    let engine = engine();
    let households = engine.households(root(HOUSEHOLDS)).unwrap();
    let hh = &households[0];
    match engine.evaluate(hh, "2024-01", &["dibao_paymnet"]) {
        Err(Error::UnknownOutput {
            name, suggestions, ..
        }) => {
            assert_eq!(name, "dibao_paymnet");
            assert_eq!(
                suggestions.first().map(String::as_str),
                Some("dibao_payment")
            );
        }
        other => panic!("{other:?}"),
    }
    match engine.evaluate(hh, "2024-1", &[]) {
        Err(Error::Period { text, .. }) => assert_eq!(text, "2024-1"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        engine.evaluate(hh, "2024-01", &["counted"]),
        Err(Error::WrongOutput { .. })
    ));
    assert!(matches!(
        engine.explain(hh, "2024-01", "counted"),
        Err(Error::WrongOutput { .. })
    ));
    match engine.explain_member(hh, "2024-01", "counted", "nobody") {
        Err(Error::UnknownMember {
            member, members, ..
        }) => {
            assert_eq!(member, "nobody");
            assert_eq!(members.len(), hh.members.len());
        }
        other => panic!("{other:?}"),
    }
    let mut engine = engine;
    assert!(matches!(
        engine.set_param("no_such_parameter", "1"),
        Err(Error::Parameter { .. })
    ));
}

#[test]
fn a_data_error_names_file_line_field_and_what_was_expected() {
    let engine = engine();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("households.jsonl");
    let text = std::fs::read_to_string(root(HOUSEHOLDS)).unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut bad = all[1].clone();
    bad["vehicles"] = serde_json::json!("two");
    std::fs::write(&path, format!("{}\n{}\n", all[0], bad)).unwrap();
    let err = engine.households(&path).unwrap_err();
    match &err {
        Error::Data {
            file,
            row,
            field,
            expected,
            ..
        } => {
            assert!(file.ends_with("households.jsonl"), "{file}");
            assert_eq!(*row, Some(2));
            assert_eq!(field.as_deref(), Some("vehicles"));
            assert!(
                expected.as_deref().unwrap_or("").contains("integer"),
                "{expected:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Displayed as the CLI shows a data error.
    let direct = data::read_households(&engine.policy().schema, &path).unwrap_err();
    assert_eq!(err.to_string(), direct.to_string());
}

#[test]
fn load_and_evaluation_errors_are_rendered_for_people() {
    let err = Engine::from_source(
        "bad.doudi",
        "definition household.x: money per month = 1 + true\n",
    )
    .err()
    .expect("does not check");
    assert!(matches!(err, Error::Load { .. }));
    insta::assert_snapshot!("load_error", err.to_string());

    let engine = Engine::from_source(
        "div.doudi",
        "input household.n: integer\ndefinition household.share: decimal = 10 / n\n",
    )
    .expect("checks");
    let hh = serde_json::json!({"id": "H1", "n": 0, "members": [{"id": "P1"}]});
    let err = engine.evaluate(&hh, "2024-01", &["share"]).unwrap_err();
    match &err {
        Error::Eval {
            rule,
            location,
            source,
            ..
        } => {
            assert_eq!(rule.as_deref(), Some("share"));
            assert_eq!(location.as_deref(), Some("div.doudi:2:39"));
            assert_eq!(source.household.as_deref(), Some("H1"));
        }
        other => panic!("{other:?}"),
    }
    insta::assert_snapshot!("eval_error", err.to_string());
}
