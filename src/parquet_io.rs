//! Parquet in the CLI: the households/persons pair read through the interpreter's Arrow reader
//! (`interpreter::data::arrow`), evaluation rows written as a Parquet file (`eval --format
//! parquet --out FILE`), and a generated population written as `households.parquet` +
//! `persons.parquet` (`generate --format parquet`). Snappy compression (pandas' default).

use crate::{DataArgs, Fail, Res};
use arrow_array::{RecordBatch, RecordBatchReader};
use doudi::interpreter::data::arrow::{self as arrow_io, OutputColumns, Scales};
use doudi::interpreter::data::{self, DataError, Household, Schema};
use doudi::interpreter::tmpfiles::AtomicFile;
use doudi::interpreter::{Policy, Value};
use doudi::simulator::population;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Rows per record batch read, and per batch (row group slice) written.
const BATCH_ROWS: usize = 8192;

/// The files the data arguments name.
pub enum DataFiles {
    Csv(PathBuf, PathBuf),
    Parquet(PathBuf, PathBuf),
    /// JSON, or nothing usable (the readers say what is wrong).
    Other,
}

fn is_parquet(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Which pair the data arguments name: `--households`/`--persons` by their extension (both
/// `.parquet` or neither), `--data DIR` by what DIR holds (a CSV pair or a Parquet pair; both is an
/// error asking to choose).
pub fn data_files(d: &DataArgs) -> Res<DataFiles> {
    match (&d.input, &d.households, &d.persons, &d.data) {
        (None, Some(h), Some(p), _) => match (is_parquet(h), is_parquet(p)) {
            (true, true) => Ok(DataFiles::Parquet(h.clone(), p.clone())),
            (false, false) => Ok(DataFiles::Csv(h.clone(), p.clone())),
            _ => Err(Fail::usage(format!(
                "error: --households {} and --persons {} must both be CSV or both be Parquet (.parquet)",
                h.display(),
                p.display()
            ))),
        },
        (None, None, None, Some(dir)) => {
            let (hc, pc) = (dir.join("households.csv"), dir.join("persons.csv"));
            let (hp, pp) = (dir.join("households.parquet"), dir.join("persons.parquet"));
            let csv = hc.exists() || pc.exists();
            let parquet = hp.exists() || pp.exists();
            if csv && parquet {
                return Err(Fail::usage(format!(
                    "error: {} holds both a CSV pair (households.csv, persons.csv) and a Parquet pair (households.parquet, persons.parquet): move one pair away, or name the files with --households FILE --persons FILE",
                    dir.display()
                )));
            }
            Ok(if parquet {
                DataFiles::Parquet(hp, pp)
            } else {
                DataFiles::Csv(hc, pc)
            })
        }
        _ => Ok(DataFiles::Other),
    }
}

/// The CSV pair of the data arguments, when they name one (the streaming CSV readers take it).
pub fn csv_pair(d: &DataArgs) -> Res<Option<(PathBuf, PathBuf)>> {
    Ok(match data_files(d)? {
        DataFiles::Csv(h, p) => Some((h, p)),
        _ => None,
    })
}

fn error(location: impl Into<String>, message: impl Into<String>) -> DataError {
    DataError {
        location: location.into(),
        message: message.into(),
        field: None,
        expected: None,
    }
}

/// A decoding error, with what to do when it is a compression doudi is built without.
fn explain(e: impl std::fmt::Display) -> String {
    let e = e.to_string();
    match e.split("Disabled feature at compile time: ").nth(1) {
        Some(codec) => format!(
            "the file is compressed with {codec}, which doudi does not read; write it with snappy \
             (the default of pandas and pyarrow; in polars: compression=\"snappy\") or uncompressed"
        ),
        None => e,
    }
}

type Batches = parquet::arrow::arrow_reader::ParquetRecordBatchReader;

fn open(path: &Path) -> Result<Batches, DataError> {
    let name = path.display().to_string();
    let f = std::fs::File::open(path)
        .map_err(|e| error(&name, format!("cannot open the file: {e}")))?;
    ParquetRecordBatchReaderBuilder::try_new(f)
        .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
        .map_err(|e| {
            error(
                &name,
                format!("cannot read the Parquet file: {}", explain(e)),
            )
        })
}

/// Reads the Parquet pair whole (persons in any order), with the CSV reader's checks; a file the
/// parquet crate cannot decode is an error, even if decoding it panics.
pub fn read_parquet_pair(
    schema: &Schema,
    households: &Path,
    persons: &Path,
) -> Result<Vec<Household>, DataError> {
    // Each file's columns are checked even when it has no rows: an empty batch of its schema first.
    let batches = |r: Batches| {
        let empty = RecordBatch::new_empty(r.schema());
        std::iter::once(Ok(empty)).chain(r.map(|b| b.map_err(explain)))
    };
    let run = || {
        let (h, p) = (open(households)?, open(persons)?);
        arrow_io::read_batch_results(
            schema,
            (&households.display().to_string(), batches(h)),
            (&persons.display().to_string(), batches(p)),
        )
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
        Err(error(
            format!("{}, {}", households.display(), persons.display()),
            "cannot read the Parquet files: the parquet reader failed on their contents (a damaged file?)",
        ))
    })
}

/// Decodes both files of the Parquet pair into record batches (not yet read as households). A file
/// that does not open or decode is the whole reader's error ([`read_parquet_pair`]), so messages do
/// not depend on the route.
pub fn parquet_batches(
    schema: &Schema,
    households: &Path,
    persons: &Path,
) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>), DataError> {
    let decode = |path: &Path| -> Option<Vec<RecordBatch>> {
        let r = open(path).ok()?;
        let empty = RecordBatch::new_empty(r.schema());
        std::iter::once(Ok(empty))
            .chain(r)
            .collect::<Result<_, _>>()
            .ok()
    };
    let run = || Some((decode(households)?, decode(persons)?));
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Some(batches)) => Ok(batches),
        _ => Err(read_parquet_pair(schema, households, persons)
            .err()
            .unwrap_or_else(|| {
                error(
                    households.display().to_string(),
                    "cannot read the Parquet files",
                )
            })),
    }
}

/// Reads every household of the data arguments when they name a Parquet pair.
pub fn read_parquet_data(schema: &Schema, d: &DataArgs) -> Res<Option<Vec<Household>>> {
    match data_files(d)? {
        DataFiles::Parquet(h, p) => Ok(Some(read_parquet_pair(schema, &h, &p)?)),
        _ => Ok(None),
    }
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build()
}

/// Evaluation rows written as Parquet into any writer: rows are gathered into batches, each batch
/// encoded and its bytes handed on, so memory holds one batch.
pub struct ParquetRows {
    columns: OutputColumns,
    pending: Vec<(String, Vec<Value>)>,
    writer: Option<ArrowWriter<Vec<u8>>>,
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl ParquetRows {
    pub fn new(columns: OutputColumns) -> ParquetRows {
        ParquetRows {
            columns,
            pending: Vec::new(),
            writer: None,
        }
    }

    /// Adds one row; writes a batch to `out` when enough are gathered.
    pub fn push(
        &mut self,
        out: &mut dyn Write,
        id: String,
        row: Vec<Value>,
    ) -> std::io::Result<()> {
        self.pending.push((id, row));
        if self.pending.len() >= BATCH_ROWS {
            self.write_pending(out)?;
        }
        Ok(())
    }

    fn write_pending(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        let batch = self
            .columns
            .batch(self.pending.iter().map(|(id, r)| (id.as_str(), r)))
            .map_err(io_err)?;
        self.pending.clear();
        let w = match &mut self.writer {
            Some(w) => w,
            None => self.writer.insert(
                ArrowWriter::try_new(Vec::new(), self.columns.schema(), Some(properties()))
                    .map_err(io_err)?,
            ),
        };
        w.write(&batch).map_err(io_err)?;
        w.flush().map_err(io_err)?;
        out.write_all(w.inner_mut())?;
        w.inner_mut().clear();
        Ok(())
    }

    /// Writes what is left and the file's footer.
    pub fn finish(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        if !self.pending.is_empty() || self.writer.is_none() {
            self.write_pending(out)?;
        }
        if let Some(mut w) = self.writer.take() {
            w.finish().map_err(io_err)?;
            out.write_all(w.inner_mut())?;
        }
        Ok(())
    }
}

/// The columns of `eval`'s Parquet output: `household_id`, then the outputs (named `names`, of
/// types `tys`).
pub fn output_columns(
    policy: &Policy,
    names: &[String],
    tys: &[doudi::dsl::ir::Ty],
) -> OutputColumns {
    OutputColumns::of_types(policy, names.to_vec(), tys.to_vec())
}

/// `generate --format parquet`: the same households as the CSV pair (generated as CSV text in
/// memory and read back with the policy's types, so the values are the ones the CSV pair holds),
/// written as `households.parquet` + `persons.parquet` in `out_dir`, each moved into place when
/// complete (persons first).
pub fn write_population(
    g: &population::Generator,
    households: usize,
    policy: &Policy,
    out_dir: &Path,
) -> Res<population::GenerateReport> {
    let fail = |e: String| Fail::usage(format!("error: generate --format parquet: {e}"));
    std::fs::create_dir_all(out_dir).map_err(|e| {
        fail(format!(
            "{}: cannot create the directory: {e}",
            out_dir.display()
        ))
    })?;
    let (hp, pp) = (
        out_dir.join("households.parquet"),
        out_dir.join("persons.parquet"),
    );
    let create = |p: &Path| AtomicFile::create(p).map_err(fail);
    let (mut hf, mut pf) = (create(&hp)?, create(&pp)?);
    let scales = Scales::of_inputs(&policy.program);
    let schema = generated_schema(&policy.schema).map_err(fail)?;
    let (hs, ps) = arrow_io::pair_schemas(&schema, &scales);
    let pq = |e: parquet::errors::ParquetError| fail(e.to_string());
    let mut hw = ArrowWriter::try_new(&mut hf, hs, Some(properties())).map_err(pq)?;
    let mut pw = ArrowWriter::try_new(&mut pf, ps, Some(properties())).map_err(pq)?;
    let names = (
        Path::new(population::GENERATED_HOUSEHOLDS),
        Path::new(population::GENERATED_PERSONS),
    );
    let mut report = g.generate_in_memory(households, |_, parts| -> Res {
        for (h, p) in parts {
            let hs = data::read_csv_pair_bytes(&schema, (names.0, h), (names.1, p))?;
            let (hb, pb) = arrow_io::households_to_batches(&schema, &scales, &hs)?;
            hw.write(&hb).map_err(pq)?;
            pw.write(&pb).map_err(pq)?;
        }
        Ok(())
    })?;
    hw.close().map_err(pq)?;
    pw.close().map_err(pq)?;
    pf.commit().map_err(fail)?;
    hf.commit().map_err(fail)?;
    report.out_dir = out_dir.to_path_buf();
    for p in [hp, pp] {
        let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        report.files.push((p, size));
    }
    Ok(report)
}

/// The policy's fields restricted to the columns the generator writes, in its order, so the
/// Parquet pair has the CSV pair's columns; a generated column the policy does not declare is an
/// error, as reading the CSV pair would be.
fn generated_schema(schema: &Schema) -> Result<Schema, String> {
    let pick = |fields: &[data::Field], cols: &[&str]| -> Result<Vec<data::Field>, String> {
        cols.iter()
            .filter(|c| !matches!(**c, "household_id" | "person_id"))
            .map(|c| {
                fields
                    .iter()
                    .find(|f| f.name == *c)
                    .cloned()
                    .ok_or_else(|| {
                        format!("the generated column \"{c}\" is not an input of the policy")
                    })
            })
            .collect()
    };
    Ok(Schema {
        household: pick(&schema.household, &population::HOUSEHOLD_COLUMNS)?,
        person: pick(&schema.person, &population::PERSON_COLUMNS)?,
        states: schema.states.clone(),
    })
}
