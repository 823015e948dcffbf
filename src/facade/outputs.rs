//! What the facade hands back: named values that show themselves, and explanations that render
//! themselves (as the indented tree of `doudi explain`, its `--short` form, or JSON).

use doudi_interpreter::explain::{self, Node};
use doudi_interpreter::{explain_short, Month, Num, Value};
use serde::Serialize;
use std::fmt;

/// One evaluated output: its name, label and type as the policy declares them, the value shown
/// for people (money with two decimals, percents with `%`, enum values by name), and the value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The declared type (`money per month`, `bool`, `integer`, an enum's name, …).
    #[serde(rename = "type")]
    pub ty: String,
    /// The value as `doudi eval` and the service show it.
    pub text: String,
    /// The exact value (for computing further; `text` is for showing).
    #[serde(skip)]
    pub value: Value,
}

impl Output {
    /// The exact number of a money, decimal, percent or integer output.
    pub fn as_num(&self) -> Option<Num> {
        self.value.to_num()
    }
    /// The value as `doudi eval --format json` and the service write it: booleans and integers as
    /// JSON, everything else as `text`.
    pub fn json(&self) -> serde_json::Value {
        match &self.value {
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            _ => serde_json::Value::String(self.text.clone()),
        }
    }
    /// The truth of a `bool` output.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The outputs of one household for one month, in the order they were asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outputs {
    pub household: String,
    pub period: Month,
    pub values: Vec<Output>,
}

impl Outputs {
    /// The output called `name`, if it was asked for.
    pub fn get(&self, name: &str) -> Option<&Output> {
        self.values.iter().find(|o| o.name == name)
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Output> {
        self.values.iter()
    }
    /// `{"name": value, …}`: a row of the service's `evaluate` results (without its
    /// `household_id`), each value as [`Output::json`] gives it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.values
                .iter()
                .map(|o| (o.name.clone(), o.json()))
                .collect(),
        )
    }
}

impl<'a> IntoIterator for &'a Outputs {
    type Item = &'a Output;
    type IntoIter = std::slice::Iter<'a, Output>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.iter()
    }
}

/// One `name = text` line per output.
impl fmt::Display for Outputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.values {
            writeln!(f, "{} = {}", o.name, o.text)?;
        }
        Ok(())
    }
}

/// How one output was derived for one household and month: the derivation tree of
/// `doudi explain` (formula, inputs, parameters with their dates and citations, the exception,
/// branch or table row that decided, and for a false condition what failed). Serialises as
/// `{household, member?, period, output, tree}`, the tree as `doudi explain --format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub household: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    pub period: Month,
    pub output: String,
    pub tree: Node,
}

impl Explanation {
    /// The explained value, as people read it.
    pub fn value(&self) -> &str {
        &self.tree.value
    }
    /// The whole tree as indented text (`doudi explain`).
    pub fn text(&self) -> String {
        explain::render_text(&self.tree)
    }
    /// The first `levels` levels of the tree (`doudi explain --depth N`).
    pub fn text_depth(&self, levels: usize) -> String {
        explain::render_text_depth(&self.tree, levels)
    }
    /// What decided, the parameters and their dates, the citations (`doudi explain --short`).
    pub fn short(&self) -> String {
        explain_short::render_short(&self.tree)
    }
    /// For a false condition: the innermost conditions that failed, as sentences
    /// (`vehicles = 1 is above max_vehicles = 0`). Empty when the value is not a failed condition.
    pub fn why_not(&self) -> Vec<String> {
        explain::failing_conditions(&self.tree)
            .into_iter()
            .map(|f| f.reason)
            .collect()
    }
    /// The explanation as JSON (the shape `Serialize` gives).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The indented tree, as [`Explanation::text`].
impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}
