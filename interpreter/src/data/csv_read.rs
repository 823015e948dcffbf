//! The CSV pair read whole (`households.csv` + `persons.csv`), persons in any order.

use super::*;

pub(super) const CSV_BUFFER: usize = 1 << 18;
/// The most bytes one CSV row (a line, or several when a quoted cell holds line breaks) may take, so
/// that memory stays bounded whatever the file holds; a JSON string (a cell) is bounded likewise.
pub const MAX_ROW_BYTES: u64 = 1 << 20;

/// A reader that fails once more than `limit` bytes pass without `reset` (called after each record):
/// a row longer than the limit stops the reader before its bytes are all held in memory. The count
/// includes what the CSV reader buffers ahead, so the effective limit is `limit` plus one buffer.
pub(super) struct RowBounded {
    pub(super) inner: Box<dyn Read + Send>,
    pub(super) since: Arc<std::sync::atomic::AtomicU64>,
    pub(super) limit: u64,
}

impl Read for RowBounded {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.since.load(Ordering::Relaxed) > self.limit {
            return Err(std::io::Error::other(ROW_TOO_LONG));
        }
        let n = self.inner.read(buf)?;
        self.since.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub(super) const ROW_TOO_LONG: &str = "row too long";
/// Distinct texts remembered per text column (so that repeated region codes share one allocation).
pub(super) const TEXT_CACHE_MAX: usize = 4096;

/// A CSV error, or the row-size limit hit near `line`.
pub(super) fn row_error(path: &Path, line: u64, e: csv::Error) -> DataError {
    if let csv::ErrorKind::Io(io) = e.kind() {
        if io.to_string() == ROW_TOO_LONG {
            return DataError::new(
                format!("{}:{line}", path.display()),
                format!("a row longer than {} bytes (1 MiB); no field of the data contract needs that much", MAX_ROW_BYTES),
            );
        }
    }
    csv_error(path, e)
}

pub(super) fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let file = path.display().to_string();
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => DataError::new(
            match pos {
                Some(p) => format!("{file}:{}", p.line()),
                None => file,
            },
            format!("the row has {len} cells but the header has {expected_len}"),
        ),
        csv::ErrorKind::Io(io) => DataError::new(file, format!("cannot read the file: {io}")),
        _ => DataError::new(file, format!("cannot read the file: {e}")),
    }
}

/// A cache of the texts of one column: the last one and up to [`TEXT_CACHE_MAX`] distinct ones.
#[derive(Default)]
pub(super) struct TextCache {
    pub(super) last: Option<Arc<str>>,
    pub(super) map: HashMap<Box<[u8]>, Arc<str>, IdBuild>,
}

impl TextCache {
    pub(super) fn get(&mut self, b: &[u8]) -> Result<Arc<str>, CellError> {
        if let Some(last) = &self.last {
            if last.as_bytes() == b {
                return Ok(last.clone());
            }
        }
        let a = match self.map.get(b) {
            Some(a) => a.clone(),
            None => {
                let s = std::str::from_utf8(b).map_err(|_| CellError::NotUtf8)?;
                let a: Arc<str> = Arc::from(s);
                if self.map.len() < TEXT_CACHE_MAX {
                    self.map.insert(b.into(), a.clone());
                }
                a
            }
        };
        self.last = Some(a.clone());
        Ok(a)
    }
}

/// One CSV file of the pair, open, with its columns mapped to slots once from the header.
pub(super) struct CsvFile {
    pub(super) path: PathBuf,
    pub(super) file: String,
    pub(super) reader: csv::Reader<RowBounded>,
    /// Bytes read since the last complete record (see [`RowBounded`]).
    pub(super) since: Arc<std::sync::atomic::AtomicU64>,
    pub(super) record: csv::ByteRecord,
    /// Line of the current record.
    pub(super) line: u64,
    /// Column of the record's own id (`household_id` / `person_id`).
    pub(super) id_col: usize,
    /// Column of `household_id` in persons.csv.
    pub(super) hh_col: usize,
    /// Per schema slot: its column.
    pub(super) cols: Vec<usize>,
    pub(super) fields: Vec<Field>,
    pub(super) caches: Vec<TextCache>,
    /// `household` or `person`, for messages.
    pub(super) kind: &'static str,
    /// Cells in the header row.
    pub(super) header_len: usize,
    /// Where the records' line numbers come from (a segment of the file holds no header).
    pub(super) lines: RecordLines,
    /// Records read so far.
    pub(super) records: usize,
}

/// Where a [`CsvFile`]'s line numbers come from.
#[derive(Clone)]
pub(super) enum RecordLines {
    /// The whole file, header included: the CSV reader's own line numbers.
    Whole,
    /// A segment of the file that starts after line `n`: the reader's line plus `n`.
    After(u64),
    /// Records taken out of file order: the line of each record.
    Each(Vec<u64>),
}

impl CsvFile {
    /// Opens `path` and maps its header: `builtins` are the id columns (the first is the record's own
    /// id), the rest must be exactly the declared `fields`.
    pub(super) fn open(
        path: &Path,
        fields: &[Field],
        builtins: &[&str],
        kind: &'static str,
    ) -> Result<CsvFile, DataError> {
        let f = File::open(path).map_err(|e| DataError::io(path, "open the file", &e))?;
        CsvFile::from_reader(path, Box::new(f), fields, builtins, kind)
    }

    /// Like [`CsvFile::open`], on any reader; `path` names it in messages.
    pub(super) fn from_reader(
        path: &Path,
        f: Box<dyn Read + Send>,
        fields: &[Field],
        builtins: &[&str],
        kind: &'static str,
    ) -> Result<CsvFile, DataError> {
        let since = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let bounded = RowBounded {
            inner: f,
            since: since.clone(),
            limit: MAX_ROW_BYTES + CSV_BUFFER as u64,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .buffer_capacity(CSV_BUFFER)
            .from_reader(bounded);
        let file = path.display().to_string();
        let mut header = csv::ByteRecord::new();
        if !reader
            .read_byte_record(&mut header)
            .map_err(|e| row_error(path, 1, e))?
        {
            return Err(DataError::new(
                file,
                "the file is empty: expected a header row",
            ));
        }
        let at1 = format!("{file}:{}", header.position().map_or(1, |p| p.line()));
        let mut builtin_cols = vec![usize::MAX; builtins.len()];
        let mut cols = vec![usize::MAX; fields.len()];
        for (c, raw) in header.iter().enumerate() {
            let raw = if c == 0 {
                raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
            } else {
                raw
            };
            let name = std::str::from_utf8(trim_ascii(raw)).map_err(|_| {
                DataError::new(
                    &at1,
                    format!("column {} of the header is not UTF-8 text", c + 1),
                )
            })?;
            let slot = if let Some(b) = builtins.iter().position(|b| *b == name) {
                &mut builtin_cols[b]
            } else if let Some(i) = fields.iter().position(|f| f.name == name) {
                &mut cols[i]
            } else {
                let known: Vec<&str> = builtins
                    .iter()
                    .copied()
                    .chain(fields.iter().map(|f| f.name.as_str()))
                    .collect();
                return Err(DataError::new(
                    &at1,
                    format!(
                        "unknown column {} (the columns are: {})",
                        quoted(name),
                        known.join(", ")
                    ),
                ));
            };
            if *slot != usize::MAX {
                return Err(DataError::new(
                    &at1,
                    format!("duplicate column {}", quoted(name)),
                ));
            }
            *slot = c;
        }
        let missing: Vec<String> = builtins
            .iter()
            .zip(&builtin_cols)
            .filter(|(_, &c)| c == usize::MAX)
            .map(|(b, _)| format!("\"{b}\""))
            .chain(
                fields
                    .iter()
                    .zip(&cols)
                    .filter(|(f, &c)| c == usize::MAX && f.default.is_none())
                    .map(|(f, _)| format!("\"{}\" (expected {})", f.name, expected(&f.ty))),
            )
            .collect();
        if !missing.is_empty() {
            let s = if missing.len() == 1 { "" } else { "s" };
            return Err(DataError::new(
                &at1,
                format!("missing column{s} {}", missing.join(", ")),
            ));
        }
        Ok(CsvFile {
            since,
            path: path.to_path_buf(),
            file,
            reader,
            record: csv::ByteRecord::new(),
            line: 1,
            id_col: builtin_cols[0],
            hh_col: builtin_cols.get(1).copied().unwrap_or(usize::MAX),
            cols,
            fields: fields.to_vec(),
            caches: fields.iter().map(|_| TextCache::default()).collect(),
            kind,
            header_len: header.len(),
            lines: RecordLines::Whole,
            records: 0,
        })
    }

    /// Reads the next record; `false` at the end.
    pub(super) fn next_record(&mut self) -> Result<bool, DataError> {
        let more = self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(|e| row_error(&self.path, self.line + 1, e))?;
        self.since.store(0, Ordering::Relaxed);
        if more {
            let line = self.record.position().map_or(0, |p| p.line());
            self.line = match &self.lines {
                RecordLines::Whole => line,
                RecordLines::After(n) => n + line,
                RecordLines::Each(lines) => lines.get(self.records).copied().unwrap_or(0),
            };
            self.records += 1;
            // A segment's reader has no header to compare with (it is `flexible`): compare here.
            if self.record.len() != self.header_len && !matches!(self.lines, RecordLines::Whole) {
                return Err(DataError::new(
                    self.at(),
                    format!(
                        "the row has {} cells but the header has {}",
                        self.record.len(),
                        self.header_len
                    ),
                ));
            }
        }
        Ok(more)
    }

    pub(super) fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// A non-empty id from column `col`.
    pub(super) fn id_cell(&self, col: usize, name: &str) -> Result<&str, DataError> {
        let raw = &self.record[col];
        match std::str::from_utf8(raw) {
            Ok(s) if !s.is_empty() => Ok(s),
            Ok(_) => Err(DataError::new(
                self.at(),
                format!("column \"{name}\": expected an id, found an empty cell"),
            )),
            Err(_) => Err(DataError::new(
                self.at(),
                format!("column \"{name}\": the id is not UTF-8 text"),
            )),
        }
    }

    pub(super) fn own_id(&self) -> Result<&str, DataError> {
        let name = if self.kind == "household" {
            "household_id"
        } else {
            "person_id"
        };
        self.id_cell(self.id_col, name)
    }

    pub(super) fn household_id(&self) -> Result<&str, DataError> {
        self.id_cell(self.hh_col, "household_id")
    }

    /// The declared fields of the current record, in slot order.
    pub(super) fn values(&mut self) -> Result<Vec<Value>, DataError> {
        let mut out = Vec::with_capacity(self.fields.len());
        self.values_into(&mut out)?;
        Ok(out)
    }

    /// Appends the declared fields of the current record to `out`, in slot order (on error, `out` may
    /// hold some of them).
    pub(super) fn values_into(&mut self, out: &mut Vec<Value>) -> Result<(), DataError> {
        self.each_value(|_, v| out.push(v))
    }

    /// Checks the declared fields of the current record in slot order and hands each value to `f`
    /// with its slot (the checks, their order and their messages are those of every reader).
    #[inline]
    pub(super) fn each_value(&mut self, mut f: impl FnMut(usize, Value)) -> Result<(), DataError> {
        for slot in 0..self.fields.len() {
            let Some(raw) = self.record.get(self.cols[slot]) else {
                // A column the file does not have: only an optional field (with a default) has none.
                f(
                    slot,
                    self.fields[slot]
                        .default
                        .clone()
                        .unwrap_or(Value::Bool(false)),
                );
                continue;
            };
            let ty = &self.fields[slot].ty;
            let v = match ty {
                FieldType::Text => self.caches[slot].get(raw).map(Value::Text),
                _ => {
                    let b = trim_ascii(raw);
                    if b.is_empty() {
                        Err(CellError::Empty)
                    } else {
                        parse_scalar(ty, b)
                    }
                }
            };
            match v {
                Ok(v) if self.fields[slot].in_range(&v) => f(slot, v),
                Ok(v) => return Err(self.range_error(slot, &v)),
                Err(e) => return Err(self.cell_error(slot, e)),
            }
        }
        Ok(())
    }

    #[cold]
    pub(super) fn range_error(&self, slot: usize, v: &Value) -> DataError {
        let f = &self.fields[slot];
        let id = String::from_utf8_lossy(&self.record[self.id_col]);
        DataError::new(
            self.at(),
            format!(
                "{} {}, field \"{}\": {}",
                self.kind,
                quoted(&id),
                f.name,
                f.range_message(v)
            ),
        )
        .at_field(f, DataError::expected_of(f))
    }

    #[cold]
    pub(super) fn cell_error(&self, slot: usize, e: CellError) -> DataError {
        let raw = &self.record[self.cols[slot]];
        let f = &self.fields[slot];
        let id = String::from_utf8_lossy(&self.record[self.id_col]);
        DataError::new(
            self.at(),
            format!(
                "{} {}, field \"{}\": {}",
                self.kind,
                quoted(&id),
                f.name,
                cell_message(&f.ty, trim_ascii(raw), e)
            ),
        )
        .at_field(f, DataError::expected_of(f))
    }

    pub(super) fn household(&mut self) -> Result<Household, DataError> {
        let id = self.own_id()?.to_string();
        let fields = self.values()?;
        Ok(Household {
            id,
            fields,
            members: Vec::new(),
            previous: None,
        })
    }

    pub(super) fn person(&mut self) -> Result<Person, DataError> {
        let id = self.own_id()?.to_string();
        let fields = self.values()?;
        Ok(Person { id, fields })
    }
}

pub(super) fn open_households(schema: &Schema, path: &Path) -> Result<CsvFile, DataError> {
    CsvFile::open(path, &schema.household, &["household_id"], "household")
}

pub(super) fn open_persons(schema: &Schema, path: &Path) -> Result<CsvFile, DataError> {
    CsvFile::open(
        path,
        &schema.person,
        &["person_id", "household_id"],
        "person",
    )
}

/// households.csv, whole: the households (without members), their lines, and an id set over them.
pub(super) struct HouseholdsRead {
    pub(super) households: Vec<Household>,
    pub(super) lines: Vec<u64>,
    pub(super) ids: IdSet<u32>,
}

pub(super) fn read_households_csv(mut f: CsvFile) -> Result<HouseholdsRead, DataError> {
    let mut households: Vec<Household> = Vec::new();
    let mut lines = Vec::new();
    let mut ids: IdSet<u32> = IdSet::with_capacity(1024);
    while f.next_record()? {
        let h = f.household()?;
        let idx = households.len() as u32;
        if let Err(first) = ids.insert(h.id.as_bytes(), idx, f.line, |i| {
            households[i as usize].id.as_bytes()
        }) {
            return Err(DataError::new(
                f.at(),
                format!(
                    "duplicate household id {} (first at line {first})",
                    quoted(&h.id)
                ),
            ));
        }
        households.push(h);
        lines.push(f.line);
    }
    Ok(HouseholdsRead {
        households,
        lines,
        ids,
    })
}

/// Consecutive persons of one household, as they appear in persons.csv.
pub(super) struct Run {
    pub(super) household_id: String,
    /// Line of the first person of the run.
    pub(super) line: u64,
    pub(super) persons: Vec<Person>,
}

/// Stops early (with what it has) when `stop` is set.
pub(super) fn read_persons_csv(mut f: CsvFile, stop: &AtomicBool) -> Result<Vec<Run>, DataError> {
    let mut runs: Vec<Run> = Vec::new();
    let mut ids: IdSet<(u32, u32)> = IdSet::with_capacity(1024);
    while f.next_record()? {
        if runs.len() & 4095 == 0 && stop.load(Ordering::Relaxed) {
            break;
        }
        let hh = f.household_id()?;
        let same = runs.last().is_some_and(|r| r.household_id == hh);
        if !same {
            runs.push(Run {
                household_id: hh.to_string(),
                line: f.line,
                persons: Vec::with_capacity(4),
            });
        }
        let p = f.person()?;
        let r = (runs.len() - 1) as u32;
        let pos = runs[r as usize].persons.len() as u32;
        if let Err(first) = ids.insert(p.id.as_bytes(), (r, pos), f.line, |(r, i)| {
            runs[r as usize].persons[i as usize].id.as_bytes()
        }) {
            return Err(DataError::new(
                f.at(),
                format!(
                    "duplicate person id {} (first at line {first})",
                    quoted(&p.id)
                ),
            ));
        }
        runs[r as usize].persons.push(p);
    }
    Ok(runs)
}

/// Reads the CSV pair whole. Households come in the order of `households.csv`, members in the order of
/// `persons.csv`, which may list persons in any order. The two files are parsed in parallel.
pub fn read_csv_pair(
    schema: &Schema,
    households: &Path,
    persons: &Path,
) -> Result<Vec<Household>, DataError> {
    // Both headers are checked before either file is read.
    let households_file = open_households(schema, households)?;
    let persons_file = open_persons(schema, persons)?;
    read_pair(households_file, persons_file, households, persons)
}

/// [`read_csv_pair`] on CSV text held in memory (a header row, then the records); the paths name
/// the two texts in messages.
pub fn read_csv_pair_bytes(
    schema: &Schema,
    households: (&Path, Vec<u8>),
    persons: (&Path, Vec<u8>),
) -> Result<Vec<Household>, DataError> {
    let households_file = CsvFile::from_reader(
        households.0,
        Box::new(std::io::Cursor::new(households.1)),
        &schema.household,
        &["household_id"],
        "household",
    )?;
    let persons_file = CsvFile::from_reader(
        persons.0,
        Box::new(std::io::Cursor::new(persons.1)),
        &schema.person,
        &["person_id", "household_id"],
        "person",
    )?;
    read_pair(households_file, persons_file, households.0, persons.0)
}

pub(super) fn read_pair(
    households_file: CsvFile,
    persons_file: CsvFile,
    households_path: &Path,
    persons: &Path,
) -> Result<Vec<Household>, DataError> {
    let stop = AtomicBool::new(false);
    let (hh, runs) = std::thread::scope(|s| {
        // households.csv errors are reported first, so only they stop the other reader (keeping the
        // reported error the same from run to run).
        let p = s.spawn(|| read_persons_csv(persons_file, &stop));
        let h = read_households_csv(households_file);
        if h.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        (h, p.join().expect("persons.csv reader panicked"))
    });
    let HouseholdsRead {
        mut households,
        lines,
        ids,
    } = hh?;
    let runs = runs?;
    let n = households.len();
    let mut members: Vec<Vec<Person>> = Vec::new();
    members.resize_with(n, Vec::new);
    let mut next = 0usize;
    let pfile = persons.display().to_string();
    for run in runs {
        let idx = if next < n && households[next].id == run.household_id {
            next
        } else {
            match ids.get(run.household_id.as_bytes(), |i| {
                households[i as usize].id.as_bytes()
            }) {
                Some(i) => i as usize,
                None => {
                    return Err(DataError::new(
                        format!("{pfile}:{}", run.line),
                        format!(
                            "person {}: household {} is not in {}",
                            quoted(&run.persons[0].id),
                            quoted(&run.household_id),
                            households_path.display()
                        ),
                    ))
                }
            }
        };
        if members[idx].is_empty() {
            members[idx] = run.persons;
        } else {
            members[idx].extend(run.persons);
        }
        next = idx + 1;
    }
    for (i, (h, m)) in households.iter_mut().zip(members).enumerate() {
        if m.is_empty() {
            return Err(no_person_row(households_path, lines[i], &h.id, persons));
        }
        h.members = m;
    }
    Ok(households)
}

pub(super) fn no_person_row(households: &Path, line: u64, id: &str, persons: &Path) -> DataError {
    DataError::new(
        format!("{}:{line}", households.display()),
        format!(
            "household {} has no person row in {} (every household has at least one person)",
            quoted(id),
            persons.display()
        ),
    )
}

/// Reads `households.csv` and `persons.csv` from a directory (see [`read_csv_pair`]).
pub fn read_csv_dir(schema: &Schema, dir: &Path) -> Result<Vec<Household>, DataError> {
    read_csv_pair(
        schema,
        &dir.join("households.csv"),
        &dir.join("persons.csv"),
    )
}
