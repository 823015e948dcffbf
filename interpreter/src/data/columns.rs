//! A segment parsed into columns: each checked field handed to a [`FieldSink`] (the compiled
//! program's input columns) instead of a `Vec<Value>` per person; the records kept so that a
//! household can still be built, when it is needed ([`SegmentRecords::household`]).

use super::segments::{PersonIds, RawSegment, SegmentParser};
use super::*;

/// What a segment's parse does with each checked record.
pub(super) trait Build {
    /// Where a file's segment bytes are read from (a builder may keep them).
    fn keep(&mut self, bytes: Vec<u8>, person: bool) -> Box<dyn Read + Send>;
    /// The fields of the current household record of `f` (whose id, `id`, is checked).
    fn household(&mut self, f: &mut CsvFile, id: &str) -> Result<(), DataError>;
    /// The fields of the current person record of `f`, a member of the last household.
    fn person(&mut self, f: &mut CsvFile, id: &str) -> Result<(), DataError>;
    /// The last household's members are all read.
    fn end_household(&mut self);
}

/// Builds the households of a segment.
#[derive(Default)]
pub(super) struct HouseholdBuild {
    pub(super) households: Vec<Household>,
}

impl Build for HouseholdBuild {
    fn keep(&mut self, bytes: Vec<u8>, _person: bool) -> Box<dyn Read + Send> {
        Box::new(std::io::Cursor::new(bytes))
    }
    fn household(&mut self, f: &mut CsvFile, id: &str) -> Result<(), DataError> {
        let fields = f.values()?;
        self.households.push(Household {
            id: id.to_string(),
            fields,
            members: Vec::new(),
            previous: None,
        });
        Ok(())
    }
    fn person(&mut self, f: &mut CsvFile, id: &str) -> Result<(), DataError> {
        let fields = f.values()?;
        if let Some(h) = self.households.last_mut() {
            h.members.push(Person {
                id: id.to_string(),
                fields,
            });
        }
        Ok(())
    }
    fn end_household(&mut self) {}
}

/// Receives the checked fields of a segment's records, in file order: every declared field of a
/// household record (`person` false) or of a person record, by slot.
pub trait FieldSink {
    /// Whether the sink wants the field in `slot` (of persons when `person`); the others are
    /// checked only. All of them by default.
    fn wants(&self, _person: bool, _slot: usize) -> bool {
        true
    }
    fn field(&mut self, person: bool, slot: usize, v: Value);
}

/// Segment bytes shared between the parse and the records (no copy).
struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The records of a segment parsed into columns: the household ids, where each household's members
/// are, and the raw records (to build a household again when it is needed).
pub struct SegmentRecords {
    households: Arc<Vec<u8>>,
    persons: Arc<Vec<u8>>,
    /// Household ids, one after the other; `id_ends[i]` ends household `i`'s.
    ids: String,
    id_ends: Vec<usize>,
    /// Members of household `i`: persons `off[i]..off[i + 1]`.
    off: Vec<usize>,
    /// Start (byte in the segment) and line of each household record, each person record.
    h_recs: Vec<(u64, u64)>,
    p_recs: Vec<(u64, u64)>,
    layouts: Arc<SegmentParser>,
}

impl SegmentRecords {
    /// Households in the segment.
    pub fn len(&self) -> usize {
        self.id_ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.id_ends.is_empty()
    }
    /// Household `i`'s id.
    pub fn id(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.id_ends[i - 1] };
        &self.ids[start..self.id_ends[i]]
    }
    /// Persons before each household (and all of them at the end): `len() + 1` offsets.
    pub fn offsets(&self) -> &[usize] {
        &self.off
    }
    /// Household `i` built from its records, as the reader builds it (no history).
    pub fn household(&self, i: usize) -> Result<Household, DataError> {
        let end = |recs: &[(u64, u64)], k: usize, bytes: &[u8]| {
            recs.get(k).map_or(bytes.len(), |r| r.0 as usize)
        };
        let hb =
            &self.households[self.h_recs[i].0 as usize..end(&self.h_recs, i + 1, &self.households)];
        let (p0, p1) = (self.off[i], self.off[i + 1]);
        let pb = &self.persons[self.p_recs[p0].0 as usize..end(&self.p_recs, p1, &self.persons)];
        let lines = |recs: &[(u64, u64)]| RecordLines::Each(recs.iter().map(|r| r.1).collect());
        let mut hf = self
            .layouts
            .households
            .reader(hb.to_vec(), lines(&self.h_recs[i..i + 1]));
        let mut pf = self
            .layouts
            .persons
            .reader(pb.to_vec(), lines(&self.p_recs[p0..p1]));
        let mut build = HouseholdBuild::default();
        hf.next_record()?;
        let id = hf.own_id()?.to_string();
        build.household(&mut hf, &id)?;
        while pf.next_record()? {
            let id = pf.own_id()?.to_string();
            build.person(&mut pf, &id)?;
        }
        build.households.pop().ok_or_else(|| {
            DataError::new(
                self.layouts.households.file.clone(),
                "cannot read the household again",
            )
        })
    }
}

/// Builds a segment's columns (through the sink) and its [`SegmentRecords`].
struct ColumnBuild<'s, S: FieldSink> {
    sink: &'s mut S,
    /// Per slot of households.csv, of persons.csv: whether the sink wants it.
    wanted: [Vec<bool>; 2],
    households: Option<Arc<Vec<u8>>>,
    persons: Option<Arc<Vec<u8>>>,
    ids: String,
    id_ends: Vec<usize>,
    off: Vec<usize>,
    h_recs: Vec<(u64, u64)>,
    p_recs: Vec<(u64, u64)>,
}

fn record_start(f: &CsvFile) -> u64 {
    f.record.position().map_or(0, |p| p.byte())
}

impl<S: FieldSink> Build for ColumnBuild<'_, S> {
    fn keep(&mut self, bytes: Vec<u8>, person: bool) -> Box<dyn Read + Send> {
        let bytes = Arc::new(bytes);
        let keep = if person {
            &mut self.persons
        } else {
            &mut self.households
        };
        *keep = Some(bytes.clone());
        Box::new(std::io::Cursor::new(Shared(bytes)))
    }
    fn household(&mut self, f: &mut CsvFile, id: &str) -> Result<(), DataError> {
        let (sink, wanted) = (&mut *self.sink, &self.wanted[0]);
        f.each_value(|slot, v| {
            if wanted[slot] {
                sink.field(false, slot, v)
            }
        })?;
        self.ids.push_str(id);
        self.id_ends.push(self.ids.len());
        self.h_recs.push((record_start(f), f.line));
        Ok(())
    }
    fn person(&mut self, f: &mut CsvFile, _id: &str) -> Result<(), DataError> {
        let (sink, wanted) = (&mut *self.sink, &self.wanted[1]);
        f.each_value(|slot, v| {
            if wanted[slot] {
                sink.field(true, slot, v)
            }
        })?;
        self.p_recs.push((record_start(f), f.line));
        Ok(())
    }
    fn end_household(&mut self) {
        self.off.push(self.p_recs.len());
    }
}

impl SegmentParser {
    /// Parses a segment with the checks and messages of [`parse`](Self::parse), handing the fields
    /// of its records to `sink` in file order (a household's record, then its members') instead of
    /// building households; `this` is the parser itself, kept by the records.
    pub fn parse_columns(
        this: &Arc<SegmentParser>,
        seg: RawSegment,
        sink: &mut impl FieldSink,
    ) -> Result<(SegmentRecords, PersonIds), DataError> {
        let wanted = |person: bool, n: usize| (0..n).map(|k| sink.wants(person, k)).collect();
        let wanted = [
            wanted(false, this.households.fields.len()),
            wanted(true, this.persons.fields.len()),
        ];
        let mut build = ColumnBuild {
            sink,
            wanted,
            households: None,
            persons: None,
            ids: String::new(),
            id_ends: Vec::with_capacity(SEGMENT_HOUSEHOLDS),
            off: vec![0],
            h_recs: Vec::with_capacity(SEGMENT_HOUSEHOLDS),
            p_recs: Vec::with_capacity(4 * SEGMENT_HOUSEHOLDS),
        };
        let ids = this.parse_with(seg, &mut build)?;
        let records = SegmentRecords {
            households: build.households.unwrap_or_default(),
            persons: build.persons.unwrap_or_default(),
            ids: build.ids,
            id_ends: build.id_ends,
            off: build.off,
            h_recs: build.h_recs,
            p_recs: build.p_recs,
            layouts: this.clone(),
        };
        Ok((records, ids))
    }
}
