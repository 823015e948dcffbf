//! Writers: the CSV pair (whole or streaming) and a household as JSON.

use super::*;

pub(super) fn write_value(out: &mut String, ty: &FieldType, v: &Value) -> Result<(), String> {
    out.clear();
    match (ty, v) {
        (FieldType::Bool, Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        (FieldType::Int, Value::Int(i)) => write!(out, "{i}").unwrap(),
        (FieldType::Decimal, Value::Num(n)) => {
            if matches!(n, Num::Rat(..)) {
                return Err(format!("{n} has no exact decimal form"));
            }
            write!(out, "{n}").unwrap()
        }
        (FieldType::Date, Value::Date(d)) => {
            write!(out, "{:04}-{:02}-{:02}", d.year, d.month, d.day).unwrap()
        }
        (FieldType::Text, Value::Text(t)) => out.push_str(t),
        (FieldType::Enum { variants, .. }, Value::Enum(i)) => match variants.get(*i as usize) {
            Some(name) => out.push_str(name),
            None => return Err(format!("variant #{i} does not exist")),
        },
        _ => {
            return Err(format!(
                "the value {v:?} does not have the declared type ({})",
                expected(ty)
            ))
        }
    }
    Ok(())
}

/// One value as JSON, in the form the JSON readers read (money as an exact decimal string).
pub fn value_to_json(ty: &FieldType, v: &Value) -> Result<serde_json::Value, String> {
    Ok(match (ty, v) {
        (FieldType::Bool, Value::Bool(b)) => serde_json::Value::Bool(*b),
        (FieldType::Int, Value::Int(i)) => serde_json::Value::from(*i),
        _ => {
            let mut s = String::new();
            write_value(&mut s, ty, v)?;
            serde_json::Value::String(s)
        }
    })
}

/// A household as JSON, in the form [`read_json_household`] reads (money as exact decimal strings).
///
/// # Panics
/// If a value does not have its declared type or a number has no exact decimal form (data read by
/// this module always has both).
pub fn household_to_json(schema: &Schema, h: &Household) -> serde_json::Value {
    let object = |id: &str, fields: &[Field], values: &[Value]| {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), id.into());
        for (f, v) in fields.iter().zip(values) {
            let j = value_to_json(&f.ty, v)
                .unwrap_or_else(|e| panic!("household {}, field {}: {e}", h.id, f.name));
            m.insert(f.name.clone(), j);
        }
        m
    };
    let mut m = object(&h.id, &schema.household, &h.fields);
    let members = h
        .members
        .iter()
        .map(|p| serde_json::Value::Object(object(&p.id, &schema.person, &p.fields)))
        .collect();
    m.insert("members".into(), serde_json::Value::Array(members));
    serde_json::Value::Object(m)
}

/// Writes the CSV pair as it goes, one household at a time (households.csv and persons.csv in `dir`,
/// persons grouped by household in household order, so [`CsvChunks`] can read them back).
pub struct CsvPairWriter {
    pub(super) schema: Schema,
    pub(super) dir: PathBuf,
    pub(super) households: csv::Writer<BufWriter<File>>,
    pub(super) persons: csv::Writer<BufWriter<File>>,
    pub(super) buf: String,
}

impl CsvPairWriter {
    /// Creates `dir` if needed and writes the header rows.
    pub fn create(schema: &Schema, dir: &Path) -> Result<CsvPairWriter, DataError> {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, "create the directory", &e))?;
        let open = |name: &str| -> Result<csv::Writer<BufWriter<File>>, DataError> {
            let p = dir.join(name);
            let f = File::create(&p).map_err(|e| DataError::io(&p, "create the file", &e))?;
            Ok(csv::WriterBuilder::new().from_writer(BufWriter::with_capacity(CSV_BUFFER, f)))
        };
        let mut w = CsvPairWriter {
            schema: schema.clone(),
            dir: dir.to_path_buf(),
            households: open("households.csv")?,
            persons: open("persons.csv")?,
            buf: String::new(),
        };
        let hh_header: Vec<&str> = std::iter::once("household_id")
            .chain(schema.household.iter().map(|f| f.name.as_str()))
            .collect();
        let p_header: Vec<&str> = ["person_id", "household_id"]
            .into_iter()
            .chain(schema.person.iter().map(|f| f.name.as_str()))
            .collect();
        w.households
            .write_record(&hh_header)
            .map_err(|e| w.err("households.csv", e))?;
        w.persons
            .write_record(&p_header)
            .map_err(|e| w.err("persons.csv", e))?;
        Ok(w)
    }

    pub(super) fn err(&self, name: &str, e: csv::Error) -> DataError {
        DataError::new(
            self.dir.join(name).display().to_string(),
            format!("cannot write: {e}"),
        )
    }

    pub(super) fn bad_value(&self, name: &str, ctx: String, m: String) -> DataError {
        DataError::new(
            self.dir.join(name).display().to_string(),
            format!("{ctx}: {m}"),
        )
    }

    /// Appends one household and its members.
    pub fn write(&mut self, h: &Household) -> Result<(), DataError> {
        if h.fields.len() != self.schema.household.len() {
            return Err(self.bad_value(
                "households.csv",
                format!("household {}", quoted(&h.id)),
                "wrong number of fields".into(),
            ));
        }
        self.households
            .write_field(&h.id)
            .map_err(|e| self.err("households.csv", e))?;
        for (f, v) in self.schema.household.iter().zip(&h.fields) {
            if let Err(m) = write_value(&mut self.buf, &f.ty, v) {
                let ctx = format!("household {}, field \"{}\"", quoted(&h.id), f.name);
                return Err(self.bad_value("households.csv", ctx, m));
            }
            self.households
                .write_field(&self.buf)
                .map_err(|e| self.err("households.csv", e))?;
        }
        self.households
            .write_record(None::<&[u8]>)
            .map_err(|e| self.err("households.csv", e))?;
        for p in &h.members {
            if p.fields.len() != self.schema.person.len() {
                let ctx = format!("household {}, member {}", quoted(&h.id), quoted(&p.id));
                return Err(self.bad_value("persons.csv", ctx, "wrong number of fields".into()));
            }
            self.persons
                .write_field(&p.id)
                .map_err(|e| self.err("persons.csv", e))?;
            self.persons
                .write_field(&h.id)
                .map_err(|e| self.err("persons.csv", e))?;
            for (f, v) in self.schema.person.iter().zip(&p.fields) {
                if let Err(m) = write_value(&mut self.buf, &f.ty, v) {
                    let ctx = format!(
                        "household {}, member {}, field \"{}\"",
                        quoted(&h.id),
                        quoted(&p.id),
                        f.name
                    );
                    return Err(self.bad_value("persons.csv", ctx, m));
                }
                self.persons
                    .write_field(&self.buf)
                    .map_err(|e| self.err("persons.csv", e))?;
            }
            self.persons
                .write_record(None::<&[u8]>)
                .map_err(|e| self.err("persons.csv", e))?;
        }
        Ok(())
    }

    /// Flushes both files.
    pub fn finish(mut self) -> Result<(), DataError> {
        self.households
            .flush()
            .map_err(|e| DataError::io(&self.dir.join("households.csv"), "write", &e))?;
        self.persons
            .flush()
            .map_err(|e| DataError::io(&self.dir.join("persons.csv"), "write", &e))?;
        Ok(())
    }
}

/// Writes `households` as the CSV pair in `dir` (created if needed).
pub fn write_csv_pair(
    schema: &Schema,
    households: &[Household],
    dir: &Path,
) -> Result<(), DataError> {
    let mut w = CsvPairWriter::create(schema, dir)?;
    for h in households {
        w.write(h)?;
    }
    w.finish()
}
