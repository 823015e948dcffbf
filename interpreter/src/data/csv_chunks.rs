//! The CSV pair read in chunks of households, in memory that does not grow with the population.

use super::*;

/// The CSV pair read in chunks of at most `chunk_size` households, in memory that does not grow with
/// the population. `persons.csv` is parsed on a background thread, a bounded number of households
/// ahead.
///
/// It needs `persons.csv` grouped by household in the order of `households.csv` (as doudi's
/// generator and [`CsvPairWriter`] write it) and reports an error when a person row belongs to
/// neither the current nor the next household. Duplicate ids are detected between consecutive
/// households and among the members of a household (a global check would need memory growing with
/// the population; [`read_csv_pair`] does it). After an error the iterator ends.
pub struct CsvChunks {
    pub(super) households: CsvFile,
    pub(super) persons_path: PathBuf,
    /// Batches of parsed persons from the persons thread, and the way back for their buffers.
    pub(super) batches: Receiver<Result<PersonBatch, DataError>>,
    pub(super) recycle: Sender<PersonBatch>,
    pub(super) batch: PersonBatch,
    /// The next run of `batch`.
    pub(super) run: usize,
    pub(super) person_fields: usize,
    pub(super) persons_done: bool,
    pub(super) previous_id: String,
    pub(super) chunk_size: usize,
    pub(super) done: bool,
}

/// Complete runs (consecutive persons of one household) of persons.csv, parsed, in flat buffers that
/// go back to the persons thread for reuse (so that thread allocates nothing per person).
#[derive(Default)]
pub(super) struct PersonBatch {
    pub(super) runs: Vec<RunRecord>,
    /// Per person: its id in `text`.
    pub(super) persons: Vec<Range<usize>>,
    pub(super) text: Vec<u8>,
    /// `fields` values per person.
    pub(super) values: Vec<Value>,
}

pub(super) struct RunRecord {
    /// The household id, in `text`.
    pub(super) household: Range<usize>,
    /// Line of the first person.
    pub(super) line: u64,
    /// Indexes into `persons`.
    pub(super) persons: Range<usize>,
}

impl PersonBatch {
    pub(super) fn clear(&mut self) {
        self.runs.clear();
        self.persons.clear();
        self.text.clear();
        self.values.clear();
    }

    pub(super) fn str(&self, r: &Range<usize>) -> &str {
        std::str::from_utf8(&self.text[r.clone()]).expect("ids are checked UTF-8")
    }
}

/// Runs per batch from the persons thread, and batches in flight.
pub(super) const RUN_BATCH: usize = 1024;
pub(super) const BATCHES_IN_FLIGHT: usize = 4;

impl CsvChunks {
    pub fn open(
        schema: &Schema,
        households: &Path,
        persons: &Path,
        chunk_size: usize,
    ) -> Result<CsvChunks, DataError> {
        let households = open_households(schema, households)?;
        let persons_file = open_persons(schema, persons)?;
        CsvChunks::start(schema, households, persons_file, persons, chunk_size)
    }

    /// [`CsvChunks::open`] on CSV text held in memory (a header row, then the records); the paths
    /// name the two texts in messages.
    pub fn from_bytes(
        schema: &Schema,
        households: (&Path, Vec<u8>),
        persons: (&Path, Vec<u8>),
        chunk_size: usize,
    ) -> Result<CsvChunks, DataError> {
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
        CsvChunks::start(schema, households_file, persons_file, persons.0, chunk_size)
    }

    pub(super) fn start(
        schema: &Schema,
        households: CsvFile,
        persons_file: CsvFile,
        persons: &Path,
        chunk_size: usize,
    ) -> Result<CsvChunks, DataError> {
        let (tx, rx) = sync_channel(BATCHES_IN_FLIGHT);
        let (recycle, recycled) = channel();
        std::thread::Builder::new()
            .name("doudi-persons-csv".into())
            .spawn(move || persons_thread(persons_file, tx, recycled))
            .map_err(|e| {
                DataError::new(
                    persons.display().to_string(),
                    format!("cannot start a reader thread: {e}"),
                )
            })?;
        Ok(CsvChunks {
            households,
            persons_path: persons.to_path_buf(),
            batches: rx,
            recycle,
            batch: PersonBatch::default(),
            run: 0,
            person_fields: schema.person.len(),
            persons_done: false,
            previous_id: String::new(),
            chunk_size: chunk_size.max(1),
            done: false,
        })
    }

    /// [`CsvChunks::open`] on `dir/households.csv` and `dir/persons.csv`.
    pub fn open_dir(
        schema: &Schema,
        dir: &Path,
        chunk_size: usize,
    ) -> Result<CsvChunks, DataError> {
        CsvChunks::open(
            schema,
            &dir.join("households.csv"),
            &dir.join("persons.csv"),
            chunk_size,
        )
    }

    /// Whether another run is available (at `self.run`); `false` at the end of persons.csv.
    pub(super) fn have_run(&mut self) -> Result<bool, DataError> {
        while self.run >= self.batch.runs.len() {
            if self.persons_done {
                return Ok(false);
            }
            match self.batches.recv() {
                Ok(Ok(b)) => {
                    let used = std::mem::replace(&mut self.batch, b);
                    self.run = 0;
                    let _ = self.recycle.send(used);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => self.persons_done = true,
            }
        }
        Ok(true)
    }

    /// Location, first person id and household id of the next run.
    pub(super) fn run_summary(&self) -> (String, String, String) {
        let r = &self.batch.runs[self.run];
        (
            format!("{}:{}", self.persons_path.display(), r.line),
            self.batch
                .str(&self.batch.persons[r.persons.start])
                .to_string(),
            self.batch.str(&r.household).to_string(),
        )
    }

    /// Takes the persons of the next run (which belongs to the household being read).
    pub(super) fn take_members(&mut self) -> Vec<Person> {
        let n = self.person_fields;
        let b = &mut self.batch;
        let r = &b.runs[self.run];
        let mut members = Vec::with_capacity(r.persons.len());
        for p in r.persons.clone() {
            let id =
                std::str::from_utf8(&b.text[b.persons[p].clone()]).expect("ids are checked UTF-8");
            let fields: Vec<Value> = b.values[p * n..(p + 1) * n]
                .iter_mut()
                .map(|v| std::mem::replace(v, Value::Bool(false)))
                .collect();
            members.push(Person {
                id: id.to_string(),
                fields,
            });
        }
        self.run += 1;
        members
    }

    pub(super) fn next_chunk(&mut self) -> Result<Vec<Household>, DataError> {
        let mut out: Vec<Household> = Vec::with_capacity(self.chunk_size.min(1 << 16));
        while out.len() < self.chunk_size {
            if !self.households.next_record()? {
                self.done = true;
                if self.have_run()? {
                    let (at, person, household) = self.run_summary();
                    return Err(DataError::new(
                        at,
                        format!(
                            "person {}: household {} is not in {} (or persons.csv is not grouped by \
                             household in the order of households.csv, which the chunked reader needs)",
                            quoted(&person),
                            quoted(&household),
                            self.households.file
                        ),
                    ));
                }
                break;
            }
            let mut h = self.households.household()?;
            if h.id == self.previous_id {
                return Err(DataError::new(
                    self.households.at(),
                    format!(
                        "duplicate household id {} (also on the line before)",
                        quoted(&h.id)
                    ),
                ));
            }
            if !self.have_run()? {
                return Err(no_person_row(
                    &self.households.path,
                    self.households.line,
                    &h.id,
                    &self.persons_path,
                ));
            }
            let r = &self.batch.runs[self.run];
            if self.batch.text[r.household.clone()] != *h.id.as_bytes() {
                let (at, person, household) = self.run_summary();
                return Err(DataError::new(
                    at,
                    format!(
                        "person {} of household {} is out of order: a person of household {} ({}:{}) \
                         was expected next. The chunked reader needs persons.csv grouped by household \
                         in the order of households.csv, and every household to have a person row \
                         (read_csv_pair accepts any order)",
                        quoted(&person),
                        quoted(&household),
                        quoted(&h.id),
                        self.households.file,
                        self.households.line
                    ),
                ));
            }
            h.members = self.take_members();
            self.previous_id.clear();
            self.previous_id.push_str(&h.id);
            out.push(h);
        }
        Ok(out)
    }
}

/// A 64-bit hash of a person id, for the file-wide uniqueness check of the chunked reader (8 bytes a
/// person instead of the id itself).
pub(super) fn person_id_hash(id: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// Parses persons.csv into batches of complete runs, checking that member ids are unique within a
/// run and across the file (by a 64-bit hash of each id). Ends at the end of the file, at an error
/// (sent after the complete runs before it), or when the reader is dropped.
pub(super) fn persons_thread(
    mut f: CsvFile,
    tx: SyncSender<Result<PersonBatch, DataError>>,
    recycled: Receiver<PersonBatch>,
) {
    let mut batch = PersonBatch::default();
    let mut hashes: IdHashes = Default::default();
    let mut all_ids: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let result = (|| -> Result<(), DataError> {
        while f.next_record()? {
            let hh = f.household_id()?.as_bytes();
            let same = batch
                .runs
                .last()
                .is_some_and(|r| batch.text[r.household.clone()] == *hh);
            if !same {
                if batch.runs.len() >= RUN_BATCH {
                    let mut next = recycled.try_recv().unwrap_or_default();
                    next.clear();
                    let full = std::mem::replace(&mut batch, next);
                    if tx.send(Ok(full)).is_err() {
                        return Ok(()); // the reader was dropped
                    }
                }
                let start = batch.text.len();
                batch.text.extend_from_slice(hh);
                let p = batch.persons.len();
                batch.runs.push(RunRecord {
                    household: start..batch.text.len(),
                    line: f.line,
                    persons: p..p,
                });
                hashes.clear();
            }
            let id = f.own_id()?.as_bytes();
            let run = batch.runs.last().expect("a run was started");
            let members = &batch.persons[run.persons.clone()];
            if seen_before(
                members.len(),
                |i| &batch.text[members[i].clone()],
                &mut hashes,
                id,
            ) {
                let household = String::from_utf8_lossy(&batch.text[run.household.clone()]);
                return Err(DataError::new(
                    f.at(),
                    format!(
                        "duplicate person id {} in household {}",
                        quoted(&String::from_utf8_lossy(id)),
                        quoted(&household)
                    ),
                ));
            }
            if !all_ids.insert(person_id_hash(id)) {
                let household = String::from_utf8_lossy(&batch.text[run.household.clone()]);
                return Err(DataError::new(
                    f.at(),
                    format!(
                        "person id {} of household {} is already used by a person of another household; a person id is unique in the whole file",
                        quoted(&String::from_utf8_lossy(id)),
                        quoted(&household)
                    ),
                ));
            }
            let start = batch.text.len();
            batch.text.extend_from_slice(id);
            batch.persons.push(start..batch.text.len());
            f.values_into(&mut batch.values)?;
            batch
                .runs
                .last_mut()
                .expect("a run was started")
                .persons
                .end += 1;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            if !batch.runs.is_empty() {
                let _ = tx.send(Ok(batch));
            }
        }
        Err(e) => {
            // The last run is incomplete: send the runs before it, then the error.
            if let Some(last) = batch.runs.pop() {
                batch.persons.truncate(last.persons.start);
                batch.values.truncate(last.persons.start * f.fields.len());
            }
            if !batch.runs.is_empty() && tx.send(Ok(batch)).is_err() {
                return;
            }
            let _ = tx.send(Err(e));
        }
    }
}

pub(super) type IdHashes = std::collections::HashSet<u64, BuildHasherDefault<PreHashed>>;

/// Members above which [`seen_before`] keeps hashes instead of comparing pairwise.
pub(super) const PAIRWISE_MEMBERS: usize = 16;

/// Whether `id` is among the `n` member ids read so far (`id_at(i)`); `hashes` holds their hashes
/// once there are more than [`PAIRWISE_MEMBERS`] (clear it for each new household).
pub(super) fn seen_before<'a>(
    n: usize,
    id_at: impl Fn(usize) -> &'a [u8],
    hashes: &mut IdHashes,
    id: &[u8],
) -> bool {
    if n < PAIRWISE_MEMBERS {
        return (0..n).any(|i| id_at(i) == id);
    }
    if hashes.is_empty() {
        hashes.extend((0..n).map(|i| hash_id(id_at(i))));
    }
    !hashes.insert(hash_id(id)) && (0..n).any(|i| id_at(i) == id)
}

impl Iterator for CsvChunks {
    type Item = Result<Vec<Household>, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_chunk() {
            Ok(chunk) if chunk.is_empty() => None,
            Ok(chunk) => Some(Ok(chunk)),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
