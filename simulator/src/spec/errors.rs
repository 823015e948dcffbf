//! What is wrong with a spec: problems (invalid values, by key) and warnings (unsourced figures).

use super::*;

/// One invalid value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Syntax, type, unknown or missing key (from the TOML parser).
    #[error("{file}: {key}: {message}")]
    Parse {
        file: String,
        key: String,
        message: String,
    },
    /// Values out of range; one line per problem.
    #[error("{}", problems.iter().map(|p| format!("{file}: {}: {}", p.key, p.message)).collect::<Vec<_>>().join("\n"))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

impl SpecError {
    /// The key paths named by the error (empty for I/O errors).
    pub fn keys(&self) -> Vec<&str> {
        match self {
            SpecError::Io { .. } => vec![],
            SpecError::Parse { key, .. } => vec![key.as_str()],
            SpecError::Invalid { problems, .. } => {
                problems.iter().map(|p| p.key.as_str()).collect()
            }
        }
    }
}

/// A non-fatal remark (e.g. a figure without `source` or `assumption`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: warning: {}", self.file, self.key, self.message)
    }
}
