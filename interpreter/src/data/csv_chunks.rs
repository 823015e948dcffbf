//! The CSV pair read in chunks of households, in memory that does not grow with the population:
//! [`PairSegments`] cut and parsed by worker threads in the background, handed out in file order.

use super::*;
use crate::stream;

/// The CSV pair read in chunks of at most `chunk_size` households, in memory that does not grow with
/// the population. `persons.csv` may come in any order (see [`PairSegments`]: a pair grouped by
/// household is read in one pass; otherwise the rest is regrouped through temporary files). The
/// chunks are parsed by worker threads in the background, a bounded number ahead, and come out in
/// file order. Person ids are checked unique across the file (by a 64-bit hash of each id). After an
/// error the iterator ends.
pub struct CsvChunks {
    chunks: Receiver<Result<Vec<Household>, DataError>>,
    done: bool,
}

/// Why the background reader stopped early.
enum Stop {
    Data(DataError),
    /// The iterator was dropped.
    Closed,
}

impl From<DataError> for Stop {
    fn from(e: DataError) -> Stop {
        Stop::Data(e)
    }
}

/// Chunks read ahead of the consumer.
const CHUNKS_AHEAD: usize = 2;

impl CsvChunks {
    pub fn open(
        schema: &Schema,
        households: &Path,
        persons: &Path,
        chunk_size: usize,
    ) -> Result<CsvChunks, DataError> {
        let pair = PairSegments::open_with(schema, households, persons, chunk_size)?;
        CsvChunks::start(pair, persons)
    }

    /// [`CsvChunks::open`] on CSV text held in memory (a header row, then the records); the paths
    /// name the two texts in messages.
    pub fn from_bytes(
        schema: &Schema,
        households: (&Path, Vec<u8>),
        persons: (&Path, Vec<u8>),
        chunk_size: usize,
    ) -> Result<CsvChunks, DataError> {
        let path = persons.0.to_path_buf();
        let pair = PairSegments::from_bytes(schema, households, persons, chunk_size)?;
        CsvChunks::start(pair, &path)
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

    fn start(pair: PairSegments, persons: &Path) -> Result<CsvChunks, DataError> {
        let (tx, rx) = sync_channel(CHUNKS_AHEAD);
        let threads = stream::default_threads();
        std::thread::Builder::new()
            .name("doudi-csv-pair".into())
            .spawn(move || {
                let read = stream::for_each_segment(
                    pair,
                    threads,
                    |hs: Vec<Household>| Ok::<_, Stop>(hs),
                    |hs| tx.send(Ok(hs)).map_err(|_| Stop::Closed),
                );
                if let Err(Stop::Data(e)) = read {
                    let _ = tx.send(Err(e));
                }
            })
            .map_err(|e| {
                DataError::new(
                    persons.display().to_string(),
                    format!("cannot start a reader thread: {e}"),
                )
            })?;
        Ok(CsvChunks {
            chunks: rx,
            done: false,
        })
    }
}

impl Iterator for CsvChunks {
    type Item = Result<Vec<Household>, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.chunks.recv() {
            Ok(Ok(chunk)) => Some(Ok(chunk)),
            Ok(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Err(_) => {
                self.done = true;
                None
            }
        }
    }
}
