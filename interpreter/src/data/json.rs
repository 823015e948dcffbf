//! The JSON readers: one household, an array, or JSON Lines, with strict numbers and duplicate keys rejected.

use super::*;

/// A JSON value for messages.
pub(super) fn show_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => show_text(s),
        serde_json::Value::Array(_) => "an array".into(),
        serde_json::Value::Object(_) => "an object".into(),
    }
}

pub(super) fn json_cell(ty: &FieldType, v: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    let bad = |e: CellError| match e {
        CellError::IntRange => format!(
            "expected an integer between {} and {}, found {}",
            i64::MIN,
            i64::MAX,
            show_json(v)
        ),
        _ => format!("expected {}, found {}", expected(ty), show_json(v)),
    };
    match (ty, v) {
        (FieldType::Text, J::String(s)) => Ok(Value::Text(Arc::from(s.as_str()))),
        (FieldType::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
        (FieldType::Bool | FieldType::Int | FieldType::Decimal, J::Number(n)) => {
            parse_scalar(ty, number_text(n).as_bytes()).map_err(bad)
        }
        (FieldType::Text, _) => Err(bad(CellError::Invalid)),
        (_, J::String(s)) => {
            let b = trim_ascii(s.as_bytes());
            if b.is_empty() && matches!(ty, FieldType::Decimal) {
                return Err(format!(
                    "expected {}, found \"\" (an empty string is an error, not zero)",
                    expected(ty)
                ));
            }
            parse_scalar(ty, b).map_err(bad)
        }
        _ => Err(bad(CellError::Invalid)),
    }
}

/// The original text of a JSON number (serde_json's `arbitrary_precision` keeps it).
pub(super) fn number_text(n: &serde_json::Number) -> &str {
    n.as_str()
}

pub(super) fn quoted(id: &str) -> String {
    show_text(id)
}

pub(super) fn json_id<'a>(
    obj: &'a serde_json::Map<String, serde_json::Value>,
    origin: &str,
    what: &str,
) -> Result<&'a str, DataError> {
    match obj.get("id") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s),
        Some(v) => Err(DataError::new(
            origin,
            format!(
                "{what}: field \"id\": expected a non-empty string, found {}",
                show_json(v)
            ),
        )),
        None => Err(DataError::new(
            origin,
            format!("{what}: missing field \"id\""),
        )),
    }
}

pub(super) fn field_names(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the declared fields of a JSON object (a household or a person) in slot order.
pub(super) fn json_fields(
    fields: &[Field],
    builtins: &[&str],
    obj: &serde_json::Map<String, serde_json::Value>,
    origin: &str,
    ctx: &str,
    kind: &str,
) -> Result<Vec<Value>, DataError> {
    for key in obj.keys() {
        if !builtins.contains(&key.as_str()) && !fields.iter().any(|f| &f.name == key) {
            return Err(DataError::new(
                origin,
                format!(
                    "{ctx}: unknown field {} (the policy declares these {kind} fields: {})",
                    quoted(key),
                    field_names(fields)
                ),
            ));
        }
    }
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        match obj.get(&f.name) {
            None if f.default.is_some() => out.push(f.default.clone().expect("checked")),
            None => {
                return Err(DataError::new(
                    origin,
                    format!(
                        "{ctx}: missing field \"{}\" (expected {})",
                        f.name,
                        expected(&f.ty)
                    ),
                )
                .at_field(f, DataError::expected_of(f)))
            }
            Some(v) => {
                let value = json_cell(&f.ty, v).map_err(|m| {
                    DataError::new(origin, format!("{ctx}, field \"{}\": {m}", f.name))
                        .at_field(f, DataError::expected_of(f))
                })?;
                if !f.in_range(&value) {
                    return Err(DataError::new(
                        origin,
                        format!("{ctx}, field \"{}\": {}", f.name, f.range_message(&value)),
                    )
                    .at_field(f, DataError::expected_of(f)));
                }
                out.push(value)
            }
        }
    }
    Ok(out)
}

/// Reads one household from a JSON value. `origin` is where it came from (`households.jsonl:3`) and
/// starts every error message.
pub fn read_json_household(
    schema: &Schema,
    value: &serde_json::Value,
    origin: &str,
) -> Result<Household, DataError> {
    let obj = value.as_object().ok_or_else(|| {
        DataError::new(
            origin,
            format!(
                "expected a household (a JSON object), found {}",
                show_json(value)
            ),
        )
    })?;
    let id = json_id(obj, origin, "household")?;
    let ctx = format!("household {}", quoted(id));
    let fields = json_fields(
        &schema.household,
        &["id", "members", "previous"],
        obj,
        origin,
        &ctx,
        "household",
    )?;
    let members = match obj.get("members") {
        Some(serde_json::Value::Array(a)) => a,
        Some(v) => {
            return Err(DataError::new(
                origin,
                format!(
                    "{ctx}, field \"members\": expected an array of persons, found {}",
                    show_json(v)
                ),
            ))
        }
        None => {
            return Err(DataError::new(
                origin,
                format!("{ctx}: missing field \"members\" (an array of persons)"),
            ))
        }
    };
    if members.is_empty() {
        return Err(DataError::new(
            origin,
            format!("{ctx}: no members (every household has at least one person)"),
        ));
    }
    let mut persons: Vec<Person> = Vec::with_capacity(members.len());
    let mut hashes = IdHashes::default();
    for (i, m) in members.iter().enumerate() {
        let mobj = m.as_object().ok_or_else(|| {
            DataError::new(
                origin,
                format!(
                    "{ctx}, member #{}: expected a person (a JSON object), found {}",
                    i + 1,
                    show_json(m)
                ),
            )
        })?;
        let pid = json_id(mobj, origin, &format!("{ctx}, member #{}", i + 1))?;
        let pctx = format!("{ctx}, member {}", quoted(pid));
        if seen_before(
            persons.len(),
            |i| persons[i].id.as_bytes(),
            &mut hashes,
            pid.as_bytes(),
        ) {
            return Err(DataError::new(
                origin,
                format!("{ctx}: duplicate member id {}", quoted(pid)),
            ));
        }
        let fields = json_fields(&schema.person, &["id"], mobj, origin, &pctx, "person")?;
        persons.push(Person {
            id: pid.to_string(),
            fields,
        });
    }
    let previous = match obj.get("previous") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Object(p)) if !schema.states.is_empty() => Some(json_fields(
            &schema.states,
            &[],
            p,
            origin,
            &format!("{ctx}, \"previous\""),
            "state",
        )?),
        Some(serde_json::Value::Object(_)) => {
            return Err(DataError::new(
                origin,
                format!("{ctx}: field \"previous\" gives last month's states, and the policy declares no `state`"),
            ))
        }
        Some(v) => {
            return Err(DataError::new(
                origin,
                format!(
                    "{ctx}, field \"previous\": expected an object of last month's states, found {}",
                    show_json(v)
                ),
            ))
        }
    };
    Ok(Household {
        id: id.to_string(),
        fields,
        members: persons,
        previous,
    })
}

/// Checks the nesting depth of JSON text and, when the top level is an array, returns the line on
/// which each element starts (for messages). A byte scan that ignores string contents.
pub(super) fn scan_json(b: &[u8]) -> Result<Vec<usize>, usize> {
    let mut lines = Vec::new();
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut top_array = None;
    let mut expecting = false;
    for (off, &c) in b.iter().enumerate() {
        if c == b'\n' {
            line += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if top_array.is_none() {
            top_array = Some(c == b'[');
        }
        if expecting && depth == 1 && c != b']' {
            lines.push(line);
            expecting = false;
        }
        match c {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(off);
                }
                if depth == 1 && top_array == Some(true) {
                    expecting = true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 && top_array == Some(true) => expecting = true,
            _ => {}
        }
    }
    Ok(lines)
}

pub(super) fn line_col(text: &str, off: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..off];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let col = text[start..off].chars().count() + 1;
    (line, col)
}

/// serde_json's message without its " at line L column C" suffix.
pub(super) fn json_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

pub(super) fn malformed(origin: &str, line: usize, col: usize, e: &serde_json::Error) -> DataError {
    DataError::new(
        format!("{origin}:{line}:{col}"),
        format!("malformed JSON: {}", json_message(e)),
    )
}

/// Reads households from JSON text: one object, an array of objects, or JSON Lines (one object per
/// line; blank lines are skipped). `origin` (a file name) starts every error message.
pub fn read_json_str(
    schema: &Schema,
    text: &str,
    origin: &str,
) -> Result<Vec<Household>, DataError> {
    read_json_str_limited(schema, text, origin, MAX_JSON_BYTES)
}

pub(super) fn read_json_str_limited(
    schema: &Schema,
    text: &str,
    origin: &str,
    max_bytes: usize,
) -> Result<Vec<Household>, DataError> {
    if text.len() > max_bytes {
        return Err(DataError::new(
            origin,
            format!("the input is {} bytes, more than the limit of {max_bytes}; use the CSV pair for large populations", text.len()),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let element_lines = scan_json(text.as_bytes()).map_err(|off| {
        let (line, col) = line_col(text, off);
        DataError::new(
            format!("{origin}:{line}:{col}"),
            format!("JSON nested more than {MAX_JSON_DEPTH} levels deep"),
        )
    })?;
    let Some(first) = text.bytes().position(|c| !c.is_ascii_whitespace()) else {
        return Err(DataError::new(
            origin,
            "empty input: expected a household object, an array of households, or JSON Lines",
        ));
    };
    if text.as_bytes()[first] == b'[' {
        let value: serde_json::Value = serde_json::from_str::<StrictJson>(text)
            .map_err(|e| malformed(origin, e.line(), e.column(), &e))?
            .0;
        let serde_json::Value::Array(items) = value else {
            unreachable!("starts with [")
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let o = match element_lines.get(i) {
                Some(line) if element_lines.len() == items.len() => format!("{origin}:{line}"),
                _ => format!("{origin}: household #{}", i + 1),
            };
            out.push(read_json_household(schema, item, &o)?);
        }
        return check_unique(out, |i| {
            element_lines
                .get(i)
                .map(|l| format!("{origin}:{l}"))
                .unwrap_or_else(|| origin.to_string())
        });
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<StrictJson>();
    let first_value = match stream.next() {
        Some(Ok(v)) => v.0,
        Some(Err(e)) => return Err(malformed(origin, e.line(), e.column(), &e)),
        None => unreachable!("non-blank input"),
    };
    let end = stream.byte_offset();
    if !text[end..].trim().is_empty() && text[first..end].contains('\n') {
        // A multi-line value followed by more: not JSON Lines.
        let extra = end + text[end..].len() - text[end..].trim_start().len();
        let (line, col) = line_col(text, extra);
        return Err(DataError::new(
            format!("{origin}:{line}:{col}"),
            "unexpected content after the first household; several households go in a JSON array or \
             in JSON Lines (one household per line)",
        ));
    }
    if text[end..].trim().is_empty() {
        if !first_value.is_object() {
            return Err(DataError::new(
                origin,
                format!(
                    "expected a household object, an array of households, or JSON Lines, found {}",
                    show_json(&first_value)
                ),
            ));
        }
        return Ok(vec![read_json_household(schema, &first_value, origin)?]);
    }
    // JSON Lines.
    let mut out = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let v: serde_json::Value = serde_json::from_str::<StrictJson>(line)
            .map_err(|e| malformed(origin, n, e.column(), &e))?
            .0;
        out.push(read_json_household(schema, &v, &format!("{origin}:{n}"))?);
        lines.push(n);
    }
    check_unique(out, |i| format!("{origin}:{}", lines[i]))
}

/// A JSON value read strictly: an object that repeats a key is an error (serde_json would keep the
/// last one silently).
pub(super) struct StrictJson(serde_json::Value);

/// The key under which serde_json (with `arbitrary_precision`) hands a number's text to a visitor.
pub(super) const JSON_NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> serde::Deserialize<'de> for StrictJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictJson)
    }
}

pub(super) struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_string(v.to_string())
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        if v.len() as u64 > MAX_ROW_BYTES {
            return Err(E::custom(format!(
                "a string longer than {MAX_ROW_BYTES} bytes (1 MiB)"
            )));
        }
        Ok(serde_json::Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictJson(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == JSON_NUMBER_TOKEN && out.is_empty() {
                let text: String = map.next_value()?;
                let n: serde_json::Number = text.parse().map_err(A::Error::custom)?;
                return Ok(serde_json::Value::Number(n));
            }
            let StrictJson(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(A::Error::custom(format!(
                    "duplicate key {} in an object (each field may appear once)",
                    quoted(&key)
                )));
            }
            out.insert(key, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// Rejects duplicate household ids among JSON households, and a person id used twice anywhere in the
/// file (a person belongs to one household).
pub(super) fn check_unique(
    households: Vec<Household>,
    location: impl Fn(usize) -> String,
) -> Result<Vec<Household>, DataError> {
    let mut set: IdSet<usize> = IdSet::with_capacity(households.len());
    for (i, h) in households.iter().enumerate() {
        if let Err(first) = set.insert(h.id.as_bytes(), i, i as u64, |j| {
            households[j].id.as_bytes()
        }) {
            return Err(DataError::new(
                location(i),
                format!(
                    "duplicate household id {} (first at {})",
                    quoted(&h.id),
                    location(first as usize)
                ),
            ));
        }
    }
    let mut persons: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, h) in households.iter().enumerate() {
        for p in &h.members {
            if let Some(first) = persons.insert(p.id.as_str(), i) {
                if first != i {
                    return Err(DataError::new(
                        location(i),
                        format!(
                            "household {}: person id {} is already a member of household {} (at {}); a person id is unique in the whole file",
                            quoted(&h.id),
                            quoted(&p.id),
                            quoted(&households[first].id),
                            location(first)
                        ),
                    ));
                }
            }
        }
    }
    Ok(households)
}

/// Reads households from a JSON or JSON Lines file (at most [`MAX_JSON_BYTES`]).
pub fn read_json_path(schema: &Schema, path: &Path) -> Result<Vec<Household>, DataError> {
    read_json_path_limited(schema, path, MAX_JSON_BYTES)
}

/// [`read_json_path`] with another size limit.
pub fn read_json_path_limited(
    schema: &Schema,
    path: &Path,
    max_bytes: usize,
) -> Result<Vec<Household>, DataError> {
    let origin = path.display().to_string();
    let file = File::open(path).map_err(|e| DataError::io(path, "open the file", &e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > max_bytes as u64 {
        return Err(DataError::new(
            origin,
            format!("the file is {len} bytes, more than the limit of {max_bytes}; use the CSV pair for large populations"),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, "read the file", &e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, col) = line_col(
            // SAFETY-free: the prefix before the first invalid byte is valid UTF-8.
            std::str::from_utf8(&e.as_bytes()[..e.utf8_error().valid_up_to()]).unwrap(),
            e.utf8_error().valid_up_to(),
        );
        DataError::new(
            format!("{origin}:{line}:{col}"),
            "the file is not UTF-8 text",
        )
    })?;
    read_json_str_limited(schema, &text, &origin, max_bytes)
}

/// Reads households from a path: a directory holding `households.csv` and `persons.csv`, or a JSON /
/// JSON Lines file.
pub fn read_households(schema: &Schema, path: &Path) -> Result<Vec<Household>, DataError> {
    if path.is_dir() {
        read_csv_dir(schema, path)
    } else {
        read_json_path(schema, path)
    }
}
