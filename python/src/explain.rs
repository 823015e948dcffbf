//! An explanation (the facade's `Explanation`): its JSON form for the Python dict, and its texts.

use pyo3::prelude::*;

/// How one output was derived for one household and month (`doudi explain`).
#[pyclass(frozen, module = "doudi._native", name = "Explanation")]
pub(crate) struct NativeExplanation {
    inner: doudi::Explanation,
}

impl NativeExplanation {
    pub(crate) fn new(inner: doudi::Explanation) -> NativeExplanation {
        NativeExplanation { inner }
    }
}

#[pymethods]
impl NativeExplanation {
    /// `{household, member?, period, output, tree}` as JSON text (`doudi explain --format json`
    /// prints the tree).
    fn json(&self) -> String {
        self.inner.to_json().to_string()
    }

    /// The derivation as indented text (`doudi explain`), or its first `depth` levels
    /// (`--depth N`).
    #[pyo3(signature = (depth=None))]
    fn text(&self, depth: Option<usize>) -> String {
        match depth {
            Some(d) => self.inner.text_depth(d.max(1)),
            None => self.inner.text(),
        }
    }

    /// What decided it, the parameters with their dates, the citations (`--short`).
    fn short(&self) -> String {
        self.inner.short()
    }

    /// For a false condition: the innermost conditions that failed, as sentences.
    fn why_not(&self) -> Vec<String> {
        self.inner.why_not()
    }

    /// The explained value as the CLI shows it.
    #[getter]
    fn value(&self) -> String {
        self.inner.value().to_string()
    }
}
