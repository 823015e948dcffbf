//! doudi's errors as Python exceptions. The classes are defined in Python (`doudi/errors.py`, so
//! that they can be typed, documented and subclass the right built-ins); this module builds them
//! with the CLI's message text and the attributes a program acts on.

use doudi::dsl::Severity;
use doudi::interpreter::data::DataError;
use doudi::simulator::scenario::ScenarioError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// A Python exception of class `doudi.errors.<class>` with `message` and keyword attributes.
pub(crate) fn raise(
    py: Python<'_>,
    class: &str,
    message: &str,
    attrs: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.import("doudi.errors")?.getattr(class)?;
        let kwargs = PyDict::new(py);
        attrs(&kwargs)?;
        let exc = cls.call((message.trim_end(),), Some(&kwargs))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// The facade's error as the matching exception.
pub(crate) fn from_doudi(py: Python<'_>, e: doudi::Error) -> PyErr {
    use doudi::Error as E;
    let message = e.to_string();
    match e {
        E::Load { source, .. } => policy_error(py, &message, &source),
        E::UnknownOutput {
            name,
            suggestions,
            household_outputs,
        } => raise(py, "OutputError", &message, |k| {
            k.set_item("name", name)?;
            k.set_item("suggestions", suggestions)?;
            k.set_item("household_outputs", household_outputs)
        }),
        E::WrongOutput { name, .. } => {
            raise(py, "OutputError", &message, |k| k.set_item("name", name))
        }
        E::UnknownMember {
            household,
            member,
            members,
        } => raise(py, "OutputError", &message, |k| {
            k.set_item("name", member)?;
            k.set_item("household", household)?;
            k.set_item("members", members)
        }),
        E::Data {
            file,
            row,
            field,
            expected,
            ..
        } => raise(py, "DataError", &message, |k| {
            k.set_item("file", file)?;
            k.set_item("row", row)?;
            k.set_item("field", field)?;
            k.set_item("expected", expected)
        }),
        E::Eval {
            rule,
            location,
            source,
            ..
        } => raise(py, "EvalError", &message, |k| {
            k.set_item("rule", rule)?;
            k.set_item("location", location)?;
            k.set_item("household", source.household.clone())?;
            k.set_item("member", source.person.clone())
        }),
        E::Period { text, .. } => raise(py, "PeriodError", &message, |k| k.set_item("text", text)),
        E::Parameter { .. } => raise(py, "ParameterError", &message, |_| Ok(())),
        // `doudi::Error` is non-exhaustive: a variant added later is still a DoudiError.
        _ => raise(py, "DoudiError", &message, |_| Ok(())),
    }
}

/// A data error of the readers: the table or file, the row (`households row 3` from the Arrow
/// reader, `persons.csv:17` from the others), the field and what was expected.
pub(crate) fn from_data(py: Python<'_>, e: DataError) -> PyErr {
    let message = e.to_string();
    let (file, row) = match e.location.rsplit_once(" row ") {
        Some((table, n)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
            (table.to_string(), n.parse::<u64>().ok())
        }
        _ => match doudi::Error::from(e.clone()) {
            doudi::Error::Data { file, row, .. } => (file, row),
            _ => (e.location.clone(), None),
        },
    };
    raise(py, "DataError", &message, |k| {
        k.set_item("file", file)?;
        k.set_item("row", row)?;
        k.set_item("field", &e.field)?;
        k.set_item("expected", &e.expected)
    })
}

/// A policy that does not load or check: the rendered diagnostics as the message, and each
/// diagnostic as a dict (`severity`, `message`, `location`, `help`).
fn policy_error(py: Python<'_>, message: &str, e: &doudi::LoadError) -> PyErr {
    raise(py, "PolicyError", message, |k| {
        let list = PyList::empty(py);
        for err in &e.errors {
            let d = PyDict::new(py);
            d.set_item("severity", "error")?;
            d.set_item("message", err)?;
            d.set_item("location", py.None())?;
            d.set_item("help", py.None())?;
            list.append(d)?;
        }
        for diag in &e.diagnostics {
            let d = PyDict::new(py);
            let severity = match diag.severity {
                Severity::Error => "error",
                _ => "warning",
            };
            d.set_item("severity", severity)?;
            d.set_item("message", &diag.message)?;
            let span = diag.primary.span;
            let location =
                ((span.file as usize) < e.sources.files.len()).then(|| e.sources.location(span));
            d.set_item("location", location)?;
            d.set_item("help", diag.help.clone())?;
            list.append(d)?;
        }
        k.set_item("diagnostics", list)
    })
}

/// An evaluation error of the interpreter, rendered against the policy's sources as the CLI
/// prints it.
pub(crate) fn from_eval(
    py: Python<'_>,
    e: doudi::EvalError,
    policy: &doudi::interpreter::Policy,
) -> PyErr {
    let sources = policy.sources();
    let location = e
        .span
        .filter(|s| (s.file as usize) < sources.files.len())
        .map(|s| sources.location(s));
    raise(py, "EvalError", &e.render(sources), |k| {
        k.set_item("rule", e.def.clone())?;
        k.set_item("location", location)?;
        k.set_item("household", e.household.clone())?;
        k.set_item("member", e.person.clone())
    })
}

/// A scenario that does not read or validate: the file, and each problem's key and message.
pub(crate) fn from_scenario(py: Python<'_>, e: ScenarioError) -> PyErr {
    let message = e.to_string();
    match e {
        ScenarioError::Io { file, .. } => {
            raise(py, "ScenarioError", &message, |k| k.set_item("file", file))
        }
        ScenarioError::Invalid { file, problems } => raise(py, "ScenarioError", &message, |k| {
            k.set_item("file", file)?;
            let list = PyList::empty(py);
            for p in problems {
                list.append((p.key, p.message))?;
            }
            k.set_item("problems", list)
        }),
    }
}

/// A scenario error without structure (setting up: the policy, the population, the variants).
pub(crate) fn scenario(py: Python<'_>, message: &str) -> PyErr {
    raise(py, "ScenarioError", message, |_| Ok(()))
}
