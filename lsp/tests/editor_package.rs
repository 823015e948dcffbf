//! The VS Code package (`editors/vscode/`) stays in step with the language: its TextMate grammar is
//! valid JSON and names every keyword of `dsl/src/grammar.pest` in both spellings, and the server's
//! completion list has the same keywords.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
}

/// Every spelling of every `kw_*` rule of the grammar.
fn grammar_keywords() -> BTreeSet<String> {
    let g = std::fs::read_to_string(repo().join("dsl/src/grammar.pest")).expect("grammar.pest");
    let mut words = BTreeSet::new();
    for line in g.lines().filter(|l| l.starts_with("kw_")) {
        let body = line.split_once("@{").expect("an atomic keyword rule").1;
        let body = body
            .split("~ !id_char")
            .next()
            .expect("the keyword's words");
        for (i, part) in body.split('"').enumerate() {
            if i % 2 == 1 {
                words.insert(part.to_string());
            }
        }
    }
    words
}

/// The words named in a TextMate grammar's `match` regexes (runs of letters, digits and `_`).
fn words_in_matches(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match (k.as_str(), x) {
                    ("match", Value::String(re)) => {
                        for w in re.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                            if !w.is_empty() {
                                out.insert(w.to_string());
                            }
                        }
                    }
                    _ => words_in_matches(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| words_in_matches(x, out)),
        _ => {}
    }
}

#[test]
fn textmate_grammar_is_json_and_has_every_keyword() {
    let path = repo().join("editors/vscode/syntaxes/doudi.tmLanguage.json");
    let text = std::fs::read_to_string(&path).expect("the TextMate grammar");
    let grammar: Value = serde_json::from_str(&text).expect("the TextMate grammar is JSON");
    assert_eq!(grammar["scopeName"], "source.doudi");
    let mut words = BTreeSet::new();
    words_in_matches(&grammar, &mut words);
    let keywords = grammar_keywords();
    assert!(
        keywords.len() > 100,
        "keywords found in grammar.pest: {keywords:?}"
    );
    let missing: Vec<&String> = keywords.iter().filter(|k| !words.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "keywords missing from {}: {missing:?}",
        path.display()
    );
}

#[test]
fn completion_keywords_are_the_grammars() {
    let listed: BTreeSet<String> = doudi_lsp::keywords::keywords()
        .into_iter()
        .flat_map(|(en, zh)| [en.to_string(), zh.to_string()])
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(listed, grammar_keywords());
}

#[test]
fn package_json_contributes_the_language_and_the_server_setting() {
    let dir = repo().join("editors/vscode");
    let pkg: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("package.json")).expect("package.json"),
    )
    .expect("package.json is JSON");
    let lang = &pkg["contributes"]["languages"][0];
    assert_eq!(lang["id"], "doudi");
    assert_eq!(lang["extensions"][0], ".doudi");
    assert!(pkg["contributes"]["configuration"]["properties"]["doudi.server.path"].is_object());
    for f in [
        lang["configuration"]
            .as_str()
            .expect("language configuration"),
        pkg["contributes"]["grammars"][0]["path"]
            .as_str()
            .expect("grammar path"),
        pkg["main"].as_str().expect("main"),
    ] {
        let p = dir.join(f);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if f.ends_with(".json") {
            serde_json::from_str::<Value>(&text).expect("JSON");
        }
    }
}
