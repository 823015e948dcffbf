//! The facade's one error type: what went wrong, in fields a program can act on, and a `Display`
//! for people (the policy's diagnostics rendered rustc-style, data errors with file and line).

use doudi_interpreter::data::DataError;
use doudi_interpreter::{EvalError, LoadError, Policy, UnknownOutput};
use std::fmt;

/// Everything [`Engine`](crate::Engine) can fail with. `Display` gives the message a person should
/// read (multi-line for a policy's diagnostics, with file, line, caret and help).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The policy did not load or check. `rendered` is every problem, rustc-style; `source` keeps
    /// the diagnostics themselves.
    Load {
        rendered: String,
        source: Box<LoadError>,
    },
    /// An output name the policy does not define.
    UnknownOutput {
        name: String,
        /// Definitions with close names, closest first (may be empty).
        suggestions: Vec<String>,
        /// Every household definition of the policy, sorted.
        household_outputs: Vec<String>,
    },
    /// The output exists but is not what was asked for: a person definition evaluated as a
    /// household output, a programme total explained for one household, and the like.
    WrongOutput { name: String, message: String },
    /// `explain_member` named a member the household does not have.
    UnknownMember {
        household: String,
        member: String,
        members: Vec<String>,
    },
    /// A household (or a file of households) does not match the policy's declared inputs.
    Data {
        /// The file, or the origin given for JSON held in memory (`household`).
        file: String,
        /// The line in that file, when known (a CSV row's line, a JSON Lines record, a JSON line).
        row: Option<u64>,
        /// The field that was wrong or missing, when the error is about one field.
        field: Option<String>,
        /// What the field must hold, when known (`an integer`, `one of urban, rural`, a range).
        expected: Option<String>,
        /// The whole message (household, member, field, what was found).
        message: String,
    },
    /// Evaluation failed (division by zero, overflow, a table no row of which matches, …).
    Eval {
        /// The definition being computed.
        rule: Option<String>,
        /// `file:line:col` of the rule in the policy, when known.
        location: Option<String>,
        message: String,
        /// The error rendered like the checker's diagnostics (location, caret, help).
        rendered: String,
        /// The evaluator's error: the household and member it was computed for, the help, the spans.
        source: Box<EvalError>,
    },
    /// A period that is not a month `YYYY-MM`.
    Period { text: String, message: String },
    /// A parameter override (`set_param`) that names no parameter or gives a value it cannot take.
    Parameter { message: String },
}

impl Error {
    /// An evaluation error, located and rendered against the policy's sources.
    pub(crate) fn eval(e: EvalError, policy: &Policy) -> Error {
        let sources = policy.sources();
        Error::Eval {
            rule: e.def.clone(),
            location: e
                .span
                .filter(|s| (s.file as usize) < sources.files.len())
                .map(|s| sources.location(s)),
            rendered: e.render(sources),
            message: e.message.clone(),
            source: Box::new(e),
        }
    }
}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Error {
        Error::Load {
            rendered: e.render(),
            source: Box::new(e),
        }
    }
}

impl From<UnknownOutput> for Error {
    fn from(e: UnknownOutput) -> Error {
        Error::UnknownOutput {
            name: e.name,
            suggestions: e.suggestions,
            household_outputs: e.household_outputs,
        }
    }
}

impl From<DataError> for Error {
    fn from(e: DataError) -> Error {
        let (file, row) = split_location(&e.location);
        Error::Data {
            file,
            row,
            field: e.field,
            expected: e.expected,
            message: e.message,
        }
    }
}

/// `households.json:12:5` → (`households.json`, 12); `persons.csv:17` → (`persons.csv`, 17); a bare
/// file name → (it, none).
fn split_location(location: &str) -> (String, Option<u64>) {
    let mut rest = location;
    let mut numbers = Vec::new();
    while numbers.len() < 2 {
        match rest.rsplit_once(':') {
            Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                numbers.push(n.parse::<u64>().ok());
                rest = head;
            }
            _ => break,
        }
    }
    (rest.to_string(), numbers.last().copied().flatten())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Load { rendered, .. } => f.write_str(rendered.trim_end()),
            Error::UnknownOutput {
                name,
                suggestions,
                household_outputs,
            } => {
                write!(f, "unknown output `{name}`")?;
                if let Some(s) = suggestions.first() {
                    write!(f, "; did you mean `{s}`?")?;
                }
                write!(f, " (household outputs: {})", household_outputs.join(", "))
            }
            Error::WrongOutput { message, .. } => f.write_str(message),
            Error::UnknownMember {
                household,
                member,
                members,
            } => write!(
                f,
                "no member `{member}` in household {household} (members: {})",
                members.join(", ")
            ),
            Error::Data {
                file, row, message, ..
            } => match row {
                Some(r) => write!(f, "{file}:{r}: {message}"),
                None => write!(f, "{file}: {message}"),
            },
            Error::Eval { rendered, .. } => f.write_str(rendered.trim_end()),
            Error::Period { message, .. } => f.write_str(message),
            Error::Parameter { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Load { source, .. } => Some(source.as_ref()),
            Error::Eval { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_location;

    #[test]
    fn locations_split_into_file_and_line() {
        assert_eq!(
            split_location("persons.csv:17"),
            ("persons.csv".into(), Some(17))
        );
        assert_eq!(
            split_location("households.json:12:5"),
            ("households.json".into(), Some(12))
        );
        assert_eq!(split_location("household"), ("household".into(), None));
        assert_eq!(
            split_location("C:/data/x.csv"),
            ("C:/data/x.csv".into(), None)
        );
    }
}
