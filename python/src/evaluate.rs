//! `Policy.evaluate`: Arrow tables of households and persons in, an Arrow table of outputs out.
//! (Waiting for the interpreter's Arrow reader and writer: branch `arrow`.)

use doudi::interpreter::Policy;
use doudi::Month;
use pyo3::prelude::*;

pub(crate) fn evaluate(
    py: Python<'_>,
    _policy: &Policy,
    _households: &Bound<'_, PyAny>,
    _persons: &Bound<'_, PyAny>,
    _month: Month,
    _outputs: Option<Vec<String>>,
) -> PyResult<Py<PyAny>> {
    Err(crate::errors::raise(py, "DoudiError", "evaluate is not built yet", |_| Ok(())))
}
