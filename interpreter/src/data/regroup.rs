//! A persons.csv in any order regrouped by household in bounded memory, through temporary files.
//!
//! Pass 1 reads the rest of `households.csv` into a temporary file (records with their lines) and an
//! id set (an 8-byte hash and a 4-byte index a household), then deals each remaining person row into
//! one of at most [`MAX_BUCKETS`] bucket files (of at least 16 segments each) by its household's position. Pass 2 reads one bucket at
//! a time, orders its rows by household (stably, so members keep their file order) and hands out
//! segments of households with their persons and each row's original line.
//! Memory: the id set plus one bucket. The temporary directory is removed when the reader is dropped.

use super::segments::{field_at, is_blank, RawSegment, RecordScanner, Reread, SegmentParser};
use super::*;
use std::io::{BufReader, Write};

/// The most bucket files (open at once in pass 1).
const MAX_BUCKETS: usize = 256;

pub(super) struct Regroup {
    _dir: tempfile::TempDir,
    households: BufReader<File>,
    /// Households left to hand out, and households per bucket.
    total: usize,
    done: usize,
    per_segment: usize,
    per_bucket: usize,
    buckets: Vec<PathBuf>,
    /// The rows of the bucket being handed out, ordered by household: (household, line, bytes).
    rows: Vec<(u32, u64, Range<usize>)>,
    data: Vec<u8>,
    next_row: usize,
    previous: Vec<u8>,
}

fn io_error(dir: &Path, e: std::io::Error) -> DataError {
    DataError::io(dir, "use the temporary directory", &e)
}

fn write_record(out: &mut impl Write, head: &[u8], rec: &[u8]) -> std::io::Result<()> {
    out.write_all(head)?;
    out.write_all(&(rec.len() as u32).to_le_bytes())?;
    out.write_all(rec)
}

/// The households' ids in file order (their text end to end) and the set that finds one.
struct HouseholdIds {
    text: Vec<u8>,
    ends: Vec<u64>,
    set: IdSet<u32>,
}

impl HouseholdIds {
    fn new() -> HouseholdIds {
        HouseholdIds {
            text: Vec::new(),
            ends: Vec::new(),
            set: IdSet::with_capacity(1 << 16),
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Adds the next household's id; the line of its first appearance if it is there already.
    fn insert(&mut self, id: &[u8], line: u64) -> Result<(), u64> {
        let k = self.ends.len() as u32;
        self.text.extend_from_slice(id);
        self.ends.push(self.text.len() as u64);
        let (text, ends) = (&self.text, &self.ends);
        self.set.insert(id, k, line, |i| id_in(text, ends, i))
    }

    /// The position in file order of the household with this id.
    fn get(&self, id: &[u8]) -> Option<u32> {
        self.set.get(id, |i| id_in(&self.text, &self.ends, i))
    }
}

/// Household `i`'s id in the ids' text.
fn id_in<'a>(text: &'a [u8], ends: &[u64], i: u32) -> &'a [u8] {
    let s = if i == 0 {
        0
    } else {
        ends[i as usize - 1] as usize
    };
    &text[s..ends[i as usize] as usize]
}

impl Regroup {
    /// Regroups the rest of the pair: `households` and `persons` each start with the bytes already
    /// taken from their scanner (after line `.1`).
    pub(super) fn start(
        parser: &SegmentParser,
        households: (Vec<u8>, u64),
        hh_rest: &mut RecordScanner,
        persons: (Vec<u8>, u64),
        ps_rest: &mut RecordScanner,
        (written, per_segment, reread): (usize, usize, &Reread),
    ) -> Result<Regroup, DataError> {
        let dir = tempfile::Builder::new()
            .prefix(".doudi-regroup-")
            .tempdir()
            .map_err(|e| io_error(&std::env::temp_dir(), e))?;
        let d = dir.path().to_path_buf();
        let hh_path = d.join("households");
        let ids = spool_households(parser, households, hh_rest, &hh_path)?;
        let total = ids.len();
        let per_bucket = (16 * per_segment)
            .max(total.div_ceil(MAX_BUCKETS))
            .next_multiple_of(per_segment);
        let n_buckets = total.div_ceil(per_bucket).max(1);
        let buckets: Vec<PathBuf> = (0..n_buckets)
            .map(|b| d.join(format!("persons-{b}")))
            .collect();
        let dealer = Dealer {
            parser,
            ids: &ids,
            per_bucket,
            written,
            reread,
        };
        dealer.deal(persons, ps_rest, &buckets, &d)?;
        let households = BufReader::new(File::open(&hh_path).map_err(|e| io_error(&d, e))?);
        Ok(Regroup {
            _dir: dir,
            households,
            total,
            done: 0,
            per_segment,
            per_bucket,
            buckets,
            rows: Vec::new(),
            data: Vec::new(),
            next_row: 0,
            previous: Vec::new(),
        })
    }

    /// The next segment of the regrouped pair.
    pub(super) fn next_segment(
        &mut self,
        index: u64,
        parser: &SegmentParser,
    ) -> Result<Option<RawSegment>, DataError> {
        if self.done >= self.total {
            return Ok(None);
        }
        let n = self.per_segment.min(self.total - self.done);
        if self.done.is_multiple_of(self.per_bucket) {
            self.load_bucket(self.done / self.per_bucket)?;
        }
        let mut hh = Vec::with_capacity(64 * n);
        let mut hh_lines = Vec::with_capacity(n);
        let mut last_id = Vec::new();
        for _ in 0..n {
            let (line, rec) = read_record::<8>(&mut self.households)
                .map_err(|e| io_error(Path::new("households"), e))?;
            let line = u64::from_le_bytes(line);
            if hh_lines.len() == n - 1 {
                last_id = field_at(&rec, parser.households.id_col)
                    .unwrap_or_default()
                    .into_owned();
            }
            hh.extend_from_slice(&rec);
            hh_lines.push(line);
        }
        let end = (self.done + n) as u32;
        let mut ps = Vec::new();
        let mut ps_lines = Vec::new();
        while let Some((k, line, r)) = self.rows.get(self.next_row) {
            if *k >= end {
                break;
            }
            ps.extend_from_slice(&self.data[r.clone()]);
            ps_lines.push(*line);
            self.next_row += 1;
        }
        self.done += n;
        let previous = std::mem::replace(&mut self.previous, last_id);
        Ok(Some(RawSegment::regrouped(
            index,
            (hh, hh_lines),
            (ps, ps_lines),
            previous,
        )))
    }

    /// Reads bucket `b` and orders its rows by household (stably).
    fn load_bucket(&mut self, b: usize) -> Result<(), DataError> {
        let path = &self.buckets[b];
        self.data = std::fs::read(path).map_err(|e| io_error(path, e))?;
        self.rows.clear();
        self.next_row = 0;
        let mut at = 0;
        while at + 16 <= self.data.len() {
            let k = u32::from_le_bytes(self.data[at..at + 4].try_into().expect("4 bytes"));
            let line = u64::from_le_bytes(self.data[at + 4..at + 12].try_into().expect("8 bytes"));
            let len = u32::from_le_bytes(self.data[at + 12..at + 16].try_into().expect("4 bytes"))
                as usize;
            self.rows.push((k, line, at + 16..at + 16 + len));
            at += 16 + len;
        }
        self.rows.sort_by_key(|r| r.0);
        Ok(())
    }
}

/// Calls `f` with every non-blank record and its line: first those of `taken` (the bytes already
/// taken from the scanner, after line `taken.1`), then the rest of `rest`.
fn for_each_record(
    taken: (Vec<u8>, u64),
    rest: &mut RecordScanner,
    mut f: impl FnMut(&[u8], u64) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let mut prefix = RecordScanner::new(
        &rest.path,
        Box::new(std::io::Cursor::new(taken.0)),
        taken.1 + 1,
    );
    for scanner in [&mut prefix, rest] {
        loop {
            let line = scanner.line;
            let Some(rec) = scanner.peek()? else {
                break;
            };
            if !is_blank(rec) {
                f(rec, line)?;
            }
            scanner.consume(&mut Vec::new());
        }
    }
    Ok(())
}

/// Pass 1a: the rest of `households.csv`, in order, into the file `path` (records with their
/// lines); their ids into a set (a duplicate is an error at its line).
fn spool_households(
    parser: &SegmentParser,
    households: (Vec<u8>, u64),
    rest: &mut RecordScanner,
    path: &Path,
) -> Result<HouseholdIds, DataError> {
    let d = path.parent().unwrap_or(path);
    let mut out = BufWriter::new(File::create(path).map_err(|e| io_error(d, e))?);
    let mut ids = HouseholdIds::new();
    let id_col = parser.households.id_col;
    for_each_record(households, rest, |rec, line| {
        let Some(id) = field_at(rec, id_col).filter(|id| !id.is_empty()) else {
            return Err(parser.households.record_error(rec, line));
        };
        if let Err(first) = ids.insert(&id, line) {
            return Err(DataError::new(
                format!("{}:{line}", parser.households.file),
                format!(
                    "duplicate household id {} (first at line {first})",
                    quoted(&String::from_utf8_lossy(&id))
                ),
            ));
        }
        write_record(&mut out, &line.to_le_bytes(), rec).map_err(|e| io_error(d, e))
    })?;
    out.flush().map_err(|e| io_error(d, e))?;
    Ok(ids)
}

/// Pass 1b: deals every remaining person row into its household's bucket file.
struct Dealer<'a> {
    parser: &'a SegmentParser,
    ids: &'a HouseholdIds,
    per_bucket: usize,
    /// Households already handed on, and how to reread them (for the message of a person whose
    /// household was handed on before it).
    written: usize,
    reread: &'a Reread,
}

impl Dealer<'_> {
    fn deal(
        &self,
        persons: (Vec<u8>, u64),
        rest: &mut RecordScanner,
        buckets: &[PathBuf],
        d: &Path,
    ) -> Result<(), DataError> {
        let mut outs = buckets
            .iter()
            .map(|p| File::create(p).map(|f| BufWriter::with_capacity(1 << 16, f)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| io_error(d, e))?;
        let layout = &self.parser.persons;
        for_each_record(persons, rest, |rec, line| {
            let Some(h) = field_at(rec, layout.hh_col).filter(|h| !h.is_empty()) else {
                return Err(layout.record_error(rec, line));
            };
            let Some(k) = self.ids.get(&h) else {
                return Err(self.unknown(rec, &h, line));
            };
            let mut head = [0u8; 12];
            head[..4].copy_from_slice(&k.to_le_bytes());
            head[4..].copy_from_slice(&line.to_le_bytes());
            write_record(&mut outs[k as usize / self.per_bucket], &head, rec)
                .map_err(|e| io_error(d, e))
        })?;
        for mut o in outs {
            o.flush().map_err(|e| io_error(d, e))?;
        }
        Ok(())
    }

    /// The error of a person row whose household is not among the households left.
    fn unknown(&self, rec: &[u8], h: &[u8], line: u64) -> DataError {
        let id_col = self.parser.households.id_col;
        let split = self.reread.among_first(h, self.written, id_col);
        unknown_household(self.parser, rec, h, line, split.then_some(self.written))
    }
}

/// Reads one record written by [`write_record`] with an `N`-byte head.
fn read_record<const N: usize>(r: &mut impl Read) -> std::io::Result<([u8; N], Vec<u8>)> {
    let mut head = [0u8; N];
    r.read_exact(&mut head)?;
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let mut rec = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut rec)?;
    Ok((head, rec))
}

/// A person whose household is not among the households left to read: not in the file at all, or
/// (`Some(n)`) among the first `n`, which were already handed on.
pub(super) fn unknown_household(
    parser: &SegmentParser,
    rec: &[u8],
    household: &[u8],
    line: u64,
    written: Option<usize>,
) -> DataError {
    let person = field_at(rec, parser.persons.id_col).unwrap_or_default();
    let (person, household) = (
        quoted(&String::from_utf8_lossy(&person)),
        quoted(&String::from_utf8_lossy(household)),
    );
    let file = &parser.households.file;
    let message = match written {
        None => format!("person {person}: household {household} is not in {file}"),
        Some(written) => format!(
            "person {person} of household {household} comes after that household was read and \
             handed on (it is among the first {written} households of {file}). Persons may come in \
             any order, but the streaming reader cannot add a person to a household whose rows were \
             already written: group persons.csv by household"
        ),
    };
    DataError::new(format!("{}:{line}", parser.persons.file), message)
}
