//! The CSV pair cut at household boundaries into segments that are each parsed in one task.
//!
//! [`PairSegments`] reads both files as raw records on the calling thread and cuts them at the same
//! household: a segment holds [`SEGMENT_HOUSEHOLDS`] households of `households.csv` and exactly their
//! persons from `persons.csv`. It only looks at the id columns; a [`SegmentParser`] (shared by the
//! worker threads) parses a segment into households with the same checks and messages as the whole
//! reader. When `persons.csv` is not grouped in the order of `households.csv`, which the data contract
//! allows, the rest of the pair is regrouped through temporary files in bounded memory
//! (`regroup.rs`) and cut from there.

use super::columns::{Build, HouseholdBuild};
use super::regroup::Regroup;
use super::*;
use std::borrow::Cow;

/// Households per segment: the unit of parallel work (about 60 KB of households.csv and 350 KB of
/// persons.csv for the Ji'an contract, so a segment stays in a core's cache from parsing to output).
pub const SEGMENT_HOUSEHOLDS: usize = 1024;

/// Bytes read from a file at a time.
const READ_BLOCK: usize = 1 << 20;

/// A CSV file read as raw records (a record ends at a line break outside quotes), with line numbers.
pub(super) struct RecordScanner {
    pub(super) path: PathBuf,
    inner: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Start of the next record in `buf`.
    pos: usize,
    /// How far the next record has been scanned, the quote state there, and the line breaks inside
    /// quotes seen so far.
    scanned: usize,
    quoted: bool,
    inner_breaks: u64,
    /// End of the next record, once found.
    end: Option<usize>,
    eof: bool,
    /// Line of the next record.
    pub(super) line: u64,
}

impl RecordScanner {
    pub(super) fn new(path: &Path, inner: Box<dyn Read + Send>, line: u64) -> RecordScanner {
        RecordScanner {
            path: path.to_path_buf(),
            inner,
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            quoted: false,
            inner_breaks: 0,
            end: None,
            eof: false,
            line,
        }
    }

    /// The next record with its line ending, or `None` at the end of the file.
    pub(super) fn peek(&mut self) -> Result<Option<&[u8]>, DataError> {
        loop {
            if let Some(end) = self.end {
                return Ok(Some(&self.buf[self.pos..end]));
            }
            let mut i = self.scanned;
            while let Some(k) = memchr::memchr2(b'"', b'\n', &self.buf[i..]) {
                let at = i + k;
                i = at + 1;
                if self.buf[at] == b'"' {
                    self.quoted = !self.quoted;
                } else if self.quoted {
                    self.inner_breaks += 1;
                } else {
                    self.end = Some(i);
                    break;
                }
            }
            if self.end.is_some() {
                continue;
            }
            self.scanned = self.buf.len();
            if self.eof {
                if self.pos == self.buf.len() {
                    return Ok(None);
                }
                self.end = Some(self.buf.len());
                continue;
            }
            if (self.buf.len() - self.pos) as u64 > MAX_ROW_BYTES {
                return Err(DataError::new(
                    format!("{}:{}", self.path.display(), self.line),
                    format!("a row longer than {MAX_ROW_BYTES} bytes (1 MiB); no field of the data contract needs that much"),
                ));
            }
            self.refill()?;
        }
    }

    fn refill(&mut self) -> Result<(), DataError> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.scanned -= self.pos;
            self.pos = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + READ_BLOCK, 0);
        let n = loop {
            match self.inner.read(&mut self.buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(DataError::io(&self.path, "read the file", &e));
                }
            }
        };
        self.buf.truncate(len + n);
        self.eof = n == 0;
        Ok(())
    }

    /// Moves past the record [`peek`](Self::peek) found, appending its bytes to `out`.
    pub(super) fn consume(&mut self, out: &mut Vec<u8>) {
        if let Some(end) = self.end.take() {
            out.extend_from_slice(&self.buf[self.pos..end]);
            if end == self.buf.len() && self.buf.last() != Some(&b'\n') {
                out.push(b'\n'); // the last record had no line break
            }
            self.pos = end;
            self.scanned = end;
            self.quoted = false;
            self.line += 1 + std::mem::take(&mut self.inner_breaks);
        }
    }
}

/// A record without its line ending.
fn content(rec: &[u8]) -> &[u8] {
    let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
    rec.strip_suffix(b"\r").unwrap_or(rec)
}

/// Whether a record is an empty line (which the CSV reader skips).
pub(super) fn is_blank(rec: &[u8]) -> bool {
    content(rec).is_empty()
}

/// Cell `col` of a raw record, unquoted; `None` when the record has fewer cells.
pub(super) fn field_at(rec: &[u8], col: usize) -> Option<Cow<'_, [u8]>> {
    let rec = content(rec);
    let mut i = 0;
    let mut c = 0;
    loop {
        let (cell, next): (Cow<[u8]>, usize) = if rec.get(i) == Some(&b'"') {
            let mut out = Vec::new();
            let mut j = i + 1;
            loop {
                match memchr::memchr(b'"', &rec[j..]) {
                    None => {
                        out.extend_from_slice(&rec[j..]);
                        j = rec.len();
                        break;
                    }
                    Some(k) => {
                        out.extend_from_slice(&rec[j..j + k]);
                        j += k + 1;
                        if rec.get(j) == Some(&b'"') {
                            out.push(b'"');
                            j += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            let end = memchr::memchr(b',', &rec[j..]).map_or(rec.len(), |k| j + k);
            (Cow::Owned(out), end)
        } else {
            let end = memchr::memchr(b',', &rec[i..]).map_or(rec.len(), |k| i + k);
            (Cow::Borrowed(&rec[i..end]), end)
        };
        if c == col {
            return Some(cell);
        }
        if next >= rec.len() {
            return None;
        }
        i = next + 1;
        c += 1;
    }
}

/// What a worker needs to parse a segment of one file: the columns the header mapped.
#[derive(Clone)]
pub(super) struct SegmentLayout {
    pub(super) path: PathBuf,
    pub(super) file: String,
    pub(super) id_col: usize,
    pub(super) hh_col: usize,
    pub(super) cols: Vec<usize>,
    pub(super) fields: Vec<Field>,
    pub(super) kind: &'static str,
    pub(super) header_len: usize,
}

impl SegmentLayout {
    fn of(f: &CsvFile) -> SegmentLayout {
        SegmentLayout {
            path: f.path.clone(),
            file: f.file.clone(),
            id_col: f.id_col,
            hh_col: f.hh_col,
            cols: f.cols.clone(),
            fields: f.fields.clone(),
            kind: f.kind,
            header_len: f.header_len,
        }
    }

    /// A reader over a segment's records (no header).
    pub(super) fn reader(&self, bytes: Vec<u8>, lines: RecordLines) -> CsvFile {
        self.reader_over(Box::new(std::io::Cursor::new(bytes)), lines)
    }

    /// A reader over a segment's records read from `inner`.
    pub(super) fn reader_over(&self, inner: Box<dyn Read + Send>, lines: RecordLines) -> CsvFile {
        let since = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let bounded = RowBounded {
            inner,
            since: since.clone(),
            limit: u64::MAX,
        };
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bounded);
        CsvFile {
            path: self.path.clone(),
            file: self.file.clone(),
            reader,
            since,
            record: csv::ByteRecord::new(),
            line: 0,
            id_col: self.id_col,
            hh_col: self.hh_col,
            cols: self.cols.clone(),
            fields: self.fields.clone(),
            caches: self.fields.iter().map(|_| TextCache::default()).collect(),
            kind: self.kind,
            header_len: self.header_len,
            lines,
            records: 0,
        }
    }

    /// The error the parser gives for one record (for records the cutter cannot place).
    pub(super) fn record_error(&self, rec: &[u8], line: u64) -> DataError {
        let mut f = self.reader(rec.to_vec(), RecordLines::Each(vec![line]));
        let found = f.next_record().and_then(|_| {
            f.own_id()?;
            if self.kind == "person" {
                f.household_id()?;
            }
            f.values().map(|_| ())
        });
        match found {
            Err(e) => e,
            Ok(()) => DataError::new(
                format!("{}:{line}", self.file),
                "cannot read the id columns of this row",
            ),
        }
    }
}

/// A segment of the pair as raw bytes: some households and exactly their persons.
pub struct RawSegment {
    /// Position of the segment in the pair, from 0.
    pub index: u64,
    households: Vec<u8>,
    households_lines: RecordLines,
    persons: Vec<u8>,
    persons_lines: RecordLines,
    /// The last household id of the segment before (a repeated id across the cut is an error).
    previous: Vec<u8>,
}

/// Where households.csv can be read again from the start (only to word an error).
#[derive(Clone)]
pub(super) enum Reread {
    File(PathBuf),
    Bytes(Arc<[u8]>),
}

impl Reread {
    /// Whether household `id` is among the first `n` households of the file.
    pub(super) fn among_first(&self, id: &[u8], n: usize, id_col: usize) -> bool {
        let inner: Box<dyn Read + Send> = match self {
            Reread::File(p) => match File::open(p) {
                Ok(f) => Box::new(f),
                Err(_) => return false,
            },
            Reread::Bytes(b) => Box::new(std::io::Cursor::new(b.clone())),
        };
        let mut scan = RecordScanner::new(Path::new(""), inner, 1);
        let mut seen = 0usize;
        let mut header = true;
        while seen < n {
            let Ok(Some(rec)) = scan.peek() else {
                return false;
            };
            if !is_blank(rec) {
                if !header {
                    if field_at(rec, id_col).is_some_and(|h| *h == *id) {
                        return true;
                    }
                    seen += 1;
                }
                header = false;
            }
            scan.consume(&mut Vec::new());
        }
        false
    }
}

/// The CSV pair cut into [`RawSegment`]s, read on the calling thread.
pub struct PairSegments {
    households: RecordScanner,
    persons: RecordScanner,
    parser: Arc<SegmentParser>,
    index: u64,
    previous: Vec<u8>,
    regroup: Option<Regroup>,
    done: bool,
    /// Households per segment.
    per_segment: usize,
    /// Households handed out so far.
    handed: usize,
    reread: Reread,
}

impl PairSegments {
    /// Opens the pair and checks both headers (before either file is read further).
    pub fn open(
        schema: &Schema,
        households: &Path,
        persons: &Path,
    ) -> Result<PairSegments, DataError> {
        PairSegments::open_with(schema, households, persons, SEGMENT_HOUSEHOLDS)
    }

    /// [`open`](Self::open) with `per_segment` households a segment.
    pub fn open_with(
        schema: &Schema,
        households: &Path,
        persons: &Path,
        per_segment: usize,
    ) -> Result<PairSegments, DataError> {
        let open = |p: &Path| -> Result<Box<dyn Read + Send>, DataError> {
            let f = File::open(p).map_err(|e| DataError::io(p, "open the file", &e))?;
            Ok(Box::new(f))
        };
        // households.csv's header is checked before persons.csv is opened.
        let hh = household_header((households, open(households)?), schema)?;
        let ps = person_header((persons, open(persons)?), schema)?;
        let reread = Reread::File(households.to_path_buf());
        Ok(PairSegments::assemble(hh, ps, per_segment, reread))
    }

    /// [`open_with`](Self::open_with) on CSV text held in memory; the paths name the texts in
    /// messages.
    pub fn from_bytes(
        schema: &Schema,
        households: (&Path, Vec<u8>),
        persons: (&Path, Vec<u8>),
        per_segment: usize,
    ) -> Result<PairSegments, DataError> {
        let bytes: Arc<[u8]> = households.1.into();
        let reread = Reread::Bytes(bytes.clone());
        let hh = household_header(
            (households.0, Box::new(std::io::Cursor::new(bytes))),
            schema,
        )?;
        let ps = person_header(
            (persons.0, Box::new(std::io::Cursor::new(persons.1))),
            schema,
        )?;
        Ok(PairSegments::assemble(hh, ps, per_segment, reread))
    }

    fn assemble(
        (hh_scan, hh): (RecordScanner, CsvFile),
        (ps_scan, ps): (RecordScanner, CsvFile),
        per_segment: usize,
        reread: Reread,
    ) -> PairSegments {
        PairSegments {
            households: hh_scan,
            persons: ps_scan,
            parser: Arc::new(SegmentParser {
                households: SegmentLayout::of(&hh),
                persons: SegmentLayout::of(&ps),
            }),
            index: 0,
            previous: Vec::new(),
            regroup: None,
            done: false,
            per_segment: per_segment.max(1),
            handed: 0,
            reread,
        }
    }

    /// The parser the worker threads share.
    pub fn parser(&self) -> Arc<SegmentParser> {
        self.parser.clone()
    }

    /// The next segment, or the first error; `None` after the last segment or an error.
    pub fn next_segment(&mut self) -> Option<Result<RawSegment, DataError>> {
        if self.done {
            return None;
        }
        let next = match &mut self.regroup {
            Some(g) => g.next_segment(self.index, &self.parser),
            None => self.cut(),
        };
        match next {
            Ok(Some(s)) => {
                self.index += 1;
                Some(Ok(s))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    /// Cuts the next segment of a grouped pair; switches to regrouping at the first person out of
    /// order.
    fn cut(&mut self) -> Result<Option<RawSegment>, DataError> {
        let hh_start = self.households.line - 1;
        let per_segment = self.per_segment;
        let mut hh = Vec::with_capacity(64 * per_segment);
        let mut ids: Vec<u8> = Vec::new();
        let mut id_ends: Vec<usize> = Vec::with_capacity(per_segment);
        let id_col = self.parser.households.id_col;
        while id_ends.len() < per_segment {
            let Some(rec) = self.households.peek()? else {
                break;
            };
            if !is_blank(rec) {
                ids.extend_from_slice(&field_at(rec, id_col).unwrap_or_default());
                id_ends.push(ids.len());
            }
            self.households.consume(&mut hh);
        }
        let n = id_ends.len();
        if n == 0 {
            return self.no_more_households();
        }
        let id = |k: usize| &ids[if k == 0 { 0 } else { id_ends[k - 1] }..id_ends[k]];
        let ps_start = self.persons.line - 1;
        let mut ps = Vec::with_capacity(400 * per_segment);
        let hh_col = self.parser.persons.hh_col;
        let (mut j, mut seen) = (0usize, false);
        while let Some(rec) = self.persons.peek()? {
            if is_blank(rec) {
                self.persons.consume(&mut ps);
                continue;
            }
            let Some(h) = field_at(rec, hh_col) else {
                // Too few cells: the parser reports it, in this segment.
                self.persons.consume(&mut ps);
                continue;
            };
            if *h == *id(j) {
                seen = true;
            } else if seen && j + 1 < n && *h == *id(j + 1) {
                j += 1;
            } else if seen && j + 1 == n {
                break; // the next segment's first household
            } else {
                // Out of order: regroup the rest of the pair, this segment included.
                let g = Regroup::start(
                    &self.parser,
                    (hh, hh_start),
                    &mut self.households,
                    (ps, ps_start),
                    &mut self.persons,
                    (self.handed, per_segment, &self.reread),
                )?;
                self.regroup = Some(g);
                let g = self.regroup.as_mut().expect("just set");
                return g.next_segment(self.index, &self.parser);
            }
            self.persons.consume(&mut ps);
        }
        let previous = std::mem::replace(&mut self.previous, id(n - 1).to_vec());
        self.handed += n;
        Ok(Some(RawSegment {
            index: self.index,
            households: hh,
            households_lines: RecordLines::After(hh_start),
            persons: ps,
            persons_lines: RecordLines::After(ps_start),
            previous,
        }))
    }

    /// At the end of households.csv: a person row left over is an error.
    fn no_more_households(&mut self) -> Result<Option<RawSegment>, DataError> {
        loop {
            let line = self.persons.line;
            let Some(rec) = self.persons.peek()? else {
                break;
            };
            if is_blank(rec) {
                self.persons.consume(&mut Vec::new());
                continue;
            }
            let layout = &self.parser.persons;
            let Some(h) = field_at(rec, layout.hh_col) else {
                return Err(layout.record_error(rec, line));
            };
            let id_col = self.parser.households.id_col;
            let split = self.reread.among_first(&h, self.handed, id_col);
            return Err(super::regroup::unknown_household(
                &self.parser,
                rec,
                &h,
                line,
                split.then_some(self.handed),
            ));
        }
        Ok(None)
    }
}

type Source<'a> = (&'a Path, Box<dyn Read + Send>);

fn household_header(src: Source, schema: &Schema) -> Result<(RecordScanner, CsvFile), DataError> {
    header(src, &schema.household, &["household_id"], "household")
}

fn person_header(src: Source, schema: &Schema) -> Result<(RecordScanner, CsvFile), DataError> {
    header(
        src,
        &schema.person,
        &["person_id", "household_id"],
        "person",
    )
}

/// Reads a file's header row (after any blank lines) with the whole reader's checks and messages;
/// returns the scanner positioned after it and the column mapping.
fn header(
    (path, inner): (&Path, Box<dyn Read + Send>),
    fields: &[Field],
    builtins: &[&str],
    kind: &'static str,
) -> Result<(RecordScanner, CsvFile), DataError> {
    let mut scan = RecordScanner::new(path, inner, 1);
    let mut text = Vec::new();
    while let Some(rec) = scan.peek()? {
        let blank = is_blank(rec);
        scan.consume(&mut text);
        if !blank {
            break;
        }
    }
    let layout = CsvFile::from_reader(
        path,
        Box::new(std::io::Cursor::new(text)),
        fields,
        builtins,
        kind,
    )?;
    Ok((scan, layout))
}

impl RawSegment {
    pub(super) fn regrouped(
        index: u64,
        households: (Vec<u8>, Vec<u64>),
        persons: (Vec<u8>, Vec<u64>),
        previous: Vec<u8>,
    ) -> RawSegment {
        RawSegment {
            index,
            households: households.0,
            households_lines: RecordLines::Each(households.1),
            persons: persons.0,
            persons_lines: RecordLines::Each(persons.1),
            previous,
        }
    }
}

/// Parses segments into households (shared by the worker threads).
pub struct SegmentParser {
    pub(super) households: SegmentLayout,
    pub(super) persons: SegmentLayout,
}

/// A parsed segment: its households with their members, and the person ids for the file-wide
/// uniqueness check ([`PersonIdCheck`], in file order on one thread).
pub struct ParsedSegment {
    pub households: Vec<Household>,
    pub person_ids: PersonIds,
}

/// The person ids of a segment: a hash, the line and the texts (for the message) of each.
#[derive(Default)]
pub struct PersonIds {
    entries: Vec<(u64, u64, Range<u32>, u32)>,
    text: Vec<u8>,
}

impl SegmentParser {
    /// Parses a segment; the errors and messages are those of the whole reader for the same rows.
    pub fn parse(&self, seg: RawSegment) -> Result<ParsedSegment, DataError> {
        let mut build = HouseholdBuild::default();
        let person_ids = self.parse_with(seg, &mut build)?;
        Ok(ParsedSegment {
            households: build.households,
            person_ids,
        })
    }

    /// The records of a segment in order, checked as [`parse`](Self::parse) checks them, each
    /// record's fields handed to `build`.
    pub(super) fn parse_with(
        &self,
        seg: RawSegment,
        build: &mut impl Build,
    ) -> Result<PersonIds, DataError> {
        let hb = build.keep(seg.households, false);
        let pb = build.keep(seg.persons, true);
        let mut hf = self.households.reader_over(hb, seg.households_lines);
        let mut pf = self.persons.reader_over(pb, seg.persons_lines);
        let mut ids = PersonIds::default();
        let mut hashes: IdHashes = Default::default();
        let mut pending = pf.next_record()?;
        let mut previous = seg.previous;
        let (mut id, mut person) = (String::new(), String::new());
        while hf.next_record()? {
            id.clear();
            id.push_str(hf.own_id()?);
            build.household(&mut hf, &id)?;
            if id.as_bytes() == previous.as_slice() {
                return Err(DataError::new(
                    hf.at(),
                    format!(
                        "duplicate household id {} (also on the line before)",
                        quoted(&id)
                    ),
                ));
            }
            hashes.clear();
            let household_text = ids.text.len() as u32;
            ids.text.extend_from_slice(id.as_bytes());
            let first = ids.entries.len();
            while pending && pf.household_id()? == id {
                person.clear();
                person.push_str(pf.own_id()?);
                build.person(&mut pf, &person)?;
                let members = &ids.entries[first..];
                let text = &ids.text;
                let member = |i: usize| {
                    let r = &members[i].2;
                    &text[r.start as usize..r.end as usize]
                };
                if seen_before(members.len(), member, &mut hashes, person.as_bytes()) {
                    return Err(DataError::new(
                        pf.at(),
                        format!(
                            "duplicate person id {} in household {}",
                            quoted(&person),
                            quoted(&id)
                        ),
                    ));
                }
                let start = ids.text.len() as u32;
                ids.text.extend_from_slice(person.as_bytes());
                ids.entries.push((
                    person_id_hash(person.as_bytes()),
                    pf.line,
                    start..ids.text.len() as u32,
                    household_text,
                ));
                pending = pf.next_record()?;
            }
            if ids.entries.len() == first {
                return Err(no_person_row(
                    &self.households.path,
                    hf.line,
                    &id,
                    &self.persons.path,
                ));
            }
            build.end_household();
            previous.clear();
            previous.extend_from_slice(id.as_bytes());
        }
        if pending {
            // A person the cutter placed here whose household is not the next one.
            let person = pf.own_id()?.to_string();
            let household = pf.household_id()?.to_string();
            return Err(DataError::new(
                pf.at(),
                format!(
                    "person {} of household {} is out of order: persons of one household must be \
                     consecutive in {}",
                    quoted(&person),
                    quoted(&household),
                    self.persons.file
                ),
            ));
        }
        Ok(ids)
    }
}

/// The file-wide uniqueness of person ids, checked segment by segment in file order (8 bytes a
/// person: a 64-bit hash of each id).
#[derive(Default)]
pub struct PersonIdCheck {
    seen: std::collections::HashSet<u64, BuildHasherDefault<PreHashed>>,
    file: String,
}

impl PersonIdCheck {
    pub fn new(parser: &SegmentParser) -> PersonIdCheck {
        PersonIdCheck {
            seen: Default::default(),
            file: parser.persons.file.clone(),
        }
    }

    /// Adds a segment's person ids; an id already used by an earlier segment is an error.
    pub fn check(&mut self, ids: &PersonIds) -> Result<(), DataError> {
        for (hash, line, id, household) in &ids.entries {
            if !self.seen.insert(*hash) {
                let text = |r: Range<u32>| {
                    String::from_utf8_lossy(&ids.text[r.start as usize..r.end as usize])
                        .into_owned()
                };
                let h_end = ids
                    .entries
                    .iter()
                    .find(|e| e.3 == *household)
                    .map_or(*household, |e| e.2.start);
                return Err(DataError::new(
                    format!("{}:{line}", self.file),
                    format!(
                        "person id {} of household {} is already used by a person of another household; a person id is unique in the whole file",
                        quoted(&text(id.clone())),
                        quoted(&text(*household..h_end))
                    ),
                ));
            }
        }
        Ok(())
    }
}
