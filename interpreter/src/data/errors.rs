//! Data errors: where (file and line) and what (household, member, field, what was expected).

use super::*;

/// A data error: where (`file:line`, or just the file) and what (household, member, field, expected
/// type, what was found). Displayed as `location: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct DataError {
    /// `persons.csv:17`, `households.jsonl:3`, `households.json:12:5`, or a file name.
    pub location: String,
    pub message: String,
    /// The field whose value was wrong or missing, when the error is about one field.
    pub field: Option<String>,
    /// What that field must hold (`an integer`, `one of urban, rural`, a declared range), when known.
    pub expected: Option<String>,
}

impl DataError {
    pub(super) fn new(location: impl Into<String>, message: impl Into<String>) -> DataError {
        DataError {
            location: location.into(),
            message: message.into(),
            field: None,
            expected: None,
        }
    }

    /// Names the field the error is about and what it must hold (for embedders; the message
    /// already says both).
    pub(super) fn at_field(mut self, field: &Field, expected: String) -> DataError {
        self.field = Some(field.name.clone());
        self.expected = Some(expected);
        self
    }

    /// What a value of `field` must be: its type, and its declared range when it has one.
    pub(super) fn expected_of(field: &Field) -> String {
        match &field.range {
            Some(r) => format!("{} in `{}`", expected(&field.ty), r.text),
            None => expected(&field.ty),
        }
    }

    pub(super) fn io(path: &Path, what: &str, e: &std::io::Error) -> DataError {
        DataError::new(path.display().to_string(), format!("cannot {what}: {e}"))
    }
}

/// What a field of this type must look like, for "expected ..." messages.
pub(super) fn expected(ty: &FieldType) -> String {
    match ty {
        FieldType::Bool => "true, false, 1 or 0".into(),
        FieldType::Int => "an integer".into(),
        FieldType::Decimal => "a decimal number such as 900 or 900.50".into(),
        FieldType::Date => "a date YYYY-MM-DD".into(),
        FieldType::Text => "text".into(),
        FieldType::Enum { variants, .. } => format!("one of {}", variants.join(", ")),
    }
}

/// Why a cell could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CellError {
    Invalid,
    Empty,
    /// An integer outside i64.
    IntRange,
    NotUtf8,
}

pub(super) const SHOW_MAX: usize = 60;

/// A cell's text for messages: quoted, escaped, shortened.
pub(super) fn show_text(s: &str) -> String {
    if s.chars().count() > SHOW_MAX {
        let short: String = s.chars().take(SHOW_MAX).collect();
        format!("{short:?}...")
    } else {
        format!("{s:?}")
    }
}

pub(super) fn cell_message(ty: &FieldType, raw: &[u8], e: CellError) -> String {
    let found = match e {
        CellError::Empty => "an empty cell (an empty cell is an error, not zero)".to_string(),
        CellError::NotUtf8 => "bytes that are not UTF-8 text".to_string(),
        _ => show_text(&String::from_utf8_lossy(raw)),
    };
    match e {
        CellError::IntRange => format!(
            "expected an integer between {} and {}, found {found}",
            i64::MIN,
            i64::MAX
        ),
        _ => format!("expected {}, found {found}", expected(ty)),
    }
}
