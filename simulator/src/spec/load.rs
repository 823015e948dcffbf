//! Reading a spec file: TOML parsing with errors at the line, and the provenance of each figure.

use super::*;

impl PopulationSpec {
    /// Read, parse and validate a spec file. Warnings (e.g. unsourced figures) are returned beside it.
    pub fn load(path: impl AsRef<Path>) -> Result<(PopulationSpec, Vec<Warning>), SpecError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            file: file.clone(),
            source,
        })?;
        Self::from_toml_str(&text, &file)
    }

    /// Parse and validate spec text; `file` is the name used in messages.
    pub fn from_toml_str(
        text: &str,
        file: &str,
    ) -> Result<(PopulationSpec, Vec<Warning>), SpecError> {
        let de = toml::Deserializer::new(text);
        let mut spec: PopulationSpec = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            parse_error(file, text, &path, &inner)
        })?;
        spec.file = file.to_string();
        // The typed parse succeeded, so the text is valid TOML.
        let raw: toml::Table =
            toml::from_str(text).map_err(|e| parse_error(file, text, ".", &e))?;
        let mut warnings = Vec::new();
        let mut notes = Vec::new();
        walk_provenance(&raw, "", false, file, &mut warnings, &mut notes);
        spec.provenance = notes;
        let mut check = Check {
            problems: Vec::new(),
        };
        spec.validate_into(&mut check, &mut warnings);
        if !check.problems.is_empty() {
            return Err(SpecError::Invalid {
                file: file.to_string(),
                problems: check.problems,
            });
        }
        Ok((spec, warnings))
    }

    /// Check the values of a spec built or changed in code (loading already does this). Returns the
    /// warnings that do not depend on the file's provenance notes.
    pub fn validate(&self) -> Result<Vec<Warning>, SpecError> {
        let mut check = Check {
            problems: Vec::new(),
        };
        let mut warnings = Vec::new();
        self.validate_into(&mut check, &mut warnings);
        if check.problems.is_empty() {
            Ok(warnings)
        } else {
            Err(SpecError::Invalid {
                file: self.file.clone(),
                problems: check.problems,
            })
        }
    }

    /// Region codes in output order (sorted).
    pub fn region_codes(&self) -> Vec<&str> {
        self.regions.keys().map(|k| k.as_str()).collect()
    }
}

pub(super) fn parse_error(file: &str, text: &str, path: &str, e: &toml::de::Error) -> SpecError {
    let message = e.message().trim().to_string();
    let mut key = if path.is_empty() || path == "." {
        String::new()
    } else {
        path.to_string()
    };
    // serde reports unknown and missing fields at the enclosing table: name the field itself.
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some(end) = rest.find('`') {
                let field = &rest[..end];
                if !key.ends_with(field) {
                    key = if key.is_empty() {
                        field.to_string()
                    } else {
                        format!("{key}.{field}")
                    };
                }
            }
        }
    }
    // `duplicate key `year` in table `meta``
    if let Some(rest) = message.strip_prefix("duplicate key `") {
        let parts: Vec<&str> = rest.split('`').collect();
        if parts.len() >= 3 && parts[1].trim() == "in table" {
            key = join_key(parts[2], parts[0]);
        } else if !parts.is_empty() {
            key = join_key(&key, parts[0]);
        }
    }
    if key.is_empty() {
        key = "(top level)".to_string();
    }
    let location = e.span().map(|span| {
        let upto = &text[..span.start.min(text.len())];
        let line = upto.matches('\n').count() + 1;
        let col = upto
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        format!(" (line {line}, column {col})")
    });
    SpecError::Parse {
        file: file.to_string(),
        key,
        message: format!("{message}{}", location.unwrap_or_default()),
    }
}

pub(super) fn note_text(t: &toml::Table, name: &str) -> Option<String> {
    match t.get(name) {
        Some(toml::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

pub(super) fn is_figure(v: &toml::Value) -> bool {
    match v {
        toml::Value::Integer(_) | toml::Value::Float(_) => true,
        toml::Value::Array(items) => items.iter().any(is_figure),
        toml::Value::Table(t) => t.values().any(is_figure),
        _ => false,
    }
}

pub(super) fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Warn for every table holding figures that neither it nor an enclosing table covers with a
/// `source` or `assumption`; collect the notes.
pub(super) fn walk_provenance(
    table: &toml::Table,
    path: &str,
    covered: bool,
    file: &str,
    warnings: &mut Vec<Warning>,
    notes: &mut Vec<Provenance>,
) {
    let source = note_text(table, "source");
    let assumption = note_text(table, "assumption");
    for name in ["source", "assumption"] {
        if let Some(v) = table.get(name) {
            if !matches!(v, toml::Value::String(s) if !s.trim().is_empty()) {
                warnings.push(Warning {
                    file: file.to_string(),
                    key: join_key(path, name),
                    message: "should be a non-empty text".to_string(),
                });
            }
        }
    }
    if source.is_some() || assumption.is_some() {
        notes.push(Provenance {
            key: if path.is_empty() {
                "(top level)".into()
            } else {
                path.to_string()
            },
            source: source.clone(),
            assumption: assumption.clone(),
        });
    }
    let covered = covered || source.is_some() || assumption.is_some();
    let mut uncovered_figures: Vec<&str> = Vec::new();
    for (k, v) in table {
        if path.is_empty() && k == "calibration" {
            continue; // settings, not figures
        }
        match v {
            toml::Value::Table(sub) => {
                walk_provenance(sub, &join_key(path, k), covered, file, warnings, notes)
            }
            toml::Value::Array(items)
                if items.iter().all(|i| matches!(i, toml::Value::Table(_)))
                    && !items.is_empty() =>
            {
                // Arrays of tables: each element may carry its own note; otherwise this table must.
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::Table(sub) = item {
                        let has_note = note_text(sub, "source").is_some()
                            || note_text(sub, "assumption").is_some();
                        if has_note {
                            walk_provenance(
                                sub,
                                &format!("{}[{i}]", join_key(path, k)),
                                covered,
                                file,
                                warnings,
                                notes,
                            );
                        } else if !covered
                            && is_figure(item)
                            && !uncovered_figures.contains(&k.as_str())
                        {
                            uncovered_figures.push(k);
                        }
                    }
                }
            }
            other => {
                if !covered && is_figure(other) {
                    uncovered_figures.push(k);
                }
            }
        }
    }
    if !uncovered_figures.is_empty() {
        warnings.push(Warning {
            file: file.to_string(),
            key: if path.is_empty() { uncovered_figures.join(", ") } else { path.to_string() },
            message: format!(
                "figures without `source` or `assumption` ({}): add one to this table or an enclosing one",
                uncovered_figures.join(", ")
            ),
        });
    }
}
