//! Writing a population as `households.csv` and `persons.csv`, chunk by chunk, moved into place when complete.

use super::*;

impl<'s> Generator<'s> {
    // -----------------------------------------------------------------------------------------
    // Writing

    /// Write `households.csv` and `persons.csv` for households `0..households` into `out_dir`.
    pub fn write_csv(
        &self,
        households: usize,
        out_dir: &Path,
    ) -> Result<GenerateReport, GenerateError> {
        let started = Instant::now();
        std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
        // What a killed run left behind (its process gone, or older than six hours) goes first; this
        // run's directory carries its process id, so a later run can tell when it is stale.
        doudi_interpreter::tmpfiles::sweep(out_dir);
        let prefix = doudi_interpreter::tmpfiles::tagged(".doudi-generate-");
        let tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(out_dir)
            .map_err(io_err(out_dir))?;
        let tmp_h = tmp.path().join("households.csv");
        let tmp_p = tmp.path().join("persons.csv");
        let mut fh = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&tmp_h).map_err(io_err(&tmp_h))?,
        );
        let mut fp = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&tmp_p).map_err(io_err(&tmp_p))?,
        );
        fh.write_all(&header_bytes(&HOUSEHOLD_COLUMNS))
            .map_err(io_err(&tmp_h))?;
        fp.write_all(&header_bytes(&PERSON_COLUMNS))
            .map_err(io_err(&tmp_p))?;

        // Generate chunk k+1 in parallel while a writer thread writes chunk k.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Vec<u8>, Vec<u8>)>>(1);
        let writer = std::thread::spawn(move || -> Result<(std::io::BufWriter<std::fs::File>, std::io::BufWriter<std::fs::File>), (bool, std::io::Error)> {
            for chunk in rx {
                for (h, p) in chunk {
                    fh.write_all(&h).map_err(|e| (true, e))?;
                    fp.write_all(&p).map_err(|e| (false, e))?;
                }
            }
            Ok((fh, fp))
        });
        // A failed send means the writer stopped on an error, reported by `join` below.
        let (stats, send_failed) =
            match self.render_chunks(households, |_, bufs| tx.send(bufs).map_err(|_| ())) {
                Ok(stats) => (stats, false),
                Err(()) => (Stats::new(self.regions.len(), self.age_bands().len()), true),
            };
        drop(tx);
        let (fh, fp) = match writer.join().expect("writer thread panicked") {
            Ok(files) => files,
            Err((is_h, e)) => {
                return Err(GenerateError::Io {
                    path: if is_h { tmp_h } else { tmp_p },
                    source: e,
                })
            }
        };
        assert!(!send_failed, "writer stopped without an error");
        for (w, path) in [(fh, &tmp_h), (fp, &tmp_p)] {
            let f = w.into_inner().map_err(|e| GenerateError::Io {
                path: path.clone(),
                source: e.into_error(),
            })?;
            f.sync_all().map_err(io_err(path))?;
        }
        // Both files are complete: move them into place (persons first, so that a households.csv
        // never appears before its persons.csv).
        let final_h = out_dir.join("households.csv");
        let final_p = out_dir.join("persons.csv");
        match std::fs::remove_file(&final_h) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(GenerateError::Io {
                    path: final_h,
                    source: e,
                })
            }
            _ => {}
        }
        std::fs::rename(&tmp_p, &final_p).map_err(io_err(&final_p))?;
        std::fs::rename(&tmp_h, &final_h).map_err(io_err(&final_h))?;
        drop(tmp);

        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).map_err(io_err(p));
        let files = vec![
            (final_h.clone(), size(&final_h)?),
            (final_p.clone(), size(&final_p)?),
        ];
        Ok(self.report(households, &stats, out_dir, files, started))
    }

    /// Generates households `0..households` as CSV text held in memory, for reading straight back
    /// without files: `sink` receives, in order, parts of consecutive households, each as the first
    /// household's index and the two texts (`households.csv`, `persons.csv`), header rows included.
    /// The same households and report as [`Generator::write_csv`], without files.
    pub fn generate_in_memory<E>(
        &self,
        households: usize,
        mut sink: impl FnMut(usize, Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), E>,
    ) -> Result<GenerateReport, E> {
        let started = Instant::now();
        let (hh_header, p_header) = (
            header_bytes(&HOUSEHOLD_COLUMNS),
            header_bytes(&PERSON_COLUMNS),
        );
        let stats = self.render_chunks(households, |start, parts| {
            let with_headers = parts
                .into_iter()
                .map(|(h, p)| {
                    let mut hh = Vec::with_capacity(hh_header.len() + h.len());
                    hh.extend_from_slice(&hh_header);
                    hh.extend_from_slice(&h);
                    let mut ps = Vec::with_capacity(p_header.len() + p.len());
                    ps.extend_from_slice(&p_header);
                    ps.extend_from_slice(&p);
                    (hh, ps)
                })
                .collect();
            sink(start, with_headers)
        })?;
        Ok(self.report(households, &stats, Path::new(""), Vec::new(), started))
    }

    /// Renders households `0..households` a chunk at a time, its parts of [`SUB_CHUNK`] households
    /// in parallel, and hands each chunk's parts (rows without headers) in order to `sink` with the
    /// chunk's first household; returns the statistics of them all.
    pub(super) fn render_chunks<E>(
        &self,
        households: usize,
        mut sink: impl FnMut(usize, Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), E>,
    ) -> Result<Stats, E> {
        self.part_chunks(
            0..households,
            |s, e| {
                let (h, p, stats) = self.render(s, e);
                ((h, p), stats)
            },
            &mut sink,
        )
    }

    /// Makes households `range` a chunk at a time, `part` on its parts of [`SUB_CHUNK`]
    /// households in parallel, and hands each chunk's parts in order to `sink` with the chunk's
    /// first household; returns the statistics of them all.
    pub(super) fn part_chunks<T: Send, E>(
        &self,
        range: std::ops::Range<usize>,
        part: impl Fn(u64, u64) -> (T, Stats) + Sync,
        sink: &mut impl FnMut(usize, Vec<T>) -> Result<(), E>,
    ) -> Result<Stats, E> {
        let mut stats = Stats::new(self.regions.len(), self.age_bands().len());
        let (mut start, households) = (range.start, range.end);
        while start < households {
            let end = (start + CHUNK_HOUSEHOLDS).min(households);
            let subs: Vec<(usize, usize)> = (start..end)
                .step_by(SUB_CHUNK)
                .map(|s| (s, (s + SUB_CHUNK).min(end)))
                .collect();
            let parts: Vec<(T, Stats)> = subs
                .into_par_iter()
                .map(|(s, e)| part(s as u64, e as u64))
                .collect();
            let mut out = Vec::with_capacity(parts.len());
            for (t, st) in parts {
                stats.merge(&st);
                out.push(t);
            }
            sink(start, out)?;
            start = end;
        }
        Ok(stats)
    }

    pub(super) fn report(
        &self,
        households: usize,
        stats: &Stats,
        out_dir: &Path,
        files: Vec<(PathBuf, u64)>,
        started: Instant,
    ) -> GenerateReport {
        let mut calibration = self.calibration.clone();
        fill_output(&mut calibration, stats);
        let mut regions = self.region_rows.clone();
        for (i, r) in regions.iter_mut().enumerate() {
            r.households = stats.region_households[i];
            r.persons = stats.region_persons[i];
            r.urban_persons = stats.region_urban_persons[i];
        }
        GenerateReport {
            spec_name: self.spec.meta.name.clone(),
            seed: self.seed,
            households: households as u64,
            persons: stats.total_persons(),
            out_dir: out_dir.to_path_buf(),
            files,
            calibration,
            regions,
            dead_persons: stats.dead,
            imprisoned_persons: stats.imprisoned,
            on_dibao_households: stats.dibao_households[0] + stats.dibao_households[1],
            elapsed_seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// CSV rows (no header) of households `start..end` and their stats.
    pub(super) fn render(&self, start: u64, end: u64) -> (Vec<u8>, Vec<u8>, Stats) {
        let n = (end - start) as usize;
        let mut wh = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::with_capacity(n * 72));
        let mut wp = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::with_capacity(n * 300));
        let mut rec = Record::default();
        let list = self.households(start, end);
        for h in &list {
            self.write_rows(h, &mut wh, &mut wp, &mut rec);
        }
        let stats = self.stats_of(&list);
        (
            wh.into_inner().expect("flush to memory"),
            wp.into_inner().expect("flush to memory"),
            stats,
        )
    }

    /// The CSV text (headers included) of the households of `indices`, in that order.
    pub fn render_indices(&self, indices: &[u64]) -> (Vec<u8>, Vec<u8>) {
        let list: Vec<GeneratedHousehold> = indices.iter().map(|&i| self.household(i)).collect();
        self.text_of(&list)
    }

    /// Writes a household's row and its members' rows.
    pub(super) fn write_rows(
        &self,
        h: &GeneratedHousehold,
        wh: &mut csv::Writer<Vec<u8>>,
        wp: &mut csv::Writer<Vec<u8>>,
        rec: &mut Record,
    ) {
        let hid = household_id(h.index);
        rec.clear();
        rec.push(&hid);
        for c in self.household_cells(h) {
            rec.push_cell(c);
        }
        wh.write_record(rec.fields()).expect("writing to memory");
        for (k, p) in h.members.iter().enumerate() {
            rec.clear();
            rec.push_fmt(format_args!("{hid}-P{}", k + 1));
            rec.push(&hid);
            for c in person_cells(p) {
                rec.push_cell(c);
            }
            wp.write_record(rec.fields()).expect("writing to memory");
        }
    }
}

pub(super) fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

pub(super) fn header_bytes(cols: &[&str]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cols).expect("writing to memory");
    w.into_inner().expect("flush to memory")
}

/// One CSV record assembled in a reused buffer.
#[derive(Default)]
pub(super) struct Record {
    pub(super) buf: String,
    pub(super) ends: Vec<usize>,
}

impl Record {
    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }
    pub(super) fn push(&mut self, s: &str) {
        self.buf.push_str(s);
        self.ends.push(self.buf.len());
    }
    pub(super) fn push_int(&mut self, v: i64) {
        use std::fmt::Write as _;
        let _ = write!(self.buf, "{v}");
        self.ends.push(self.buf.len());
    }
    pub(super) fn push_cents(&mut self, c: i64) {
        push_cents(&mut self.buf, c);
        self.ends.push(self.buf.len());
    }
    pub(super) fn push_fmt(&mut self, args: fmt::Arguments<'_>) {
        use std::fmt::Write as _;
        let _ = self.buf.write_fmt(args);
        self.ends.push(self.buf.len());
    }
    pub(super) fn fields(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends.iter().map(move |&e| {
            let s = &self.buf[start..e];
            start = e;
            s
        })
    }
}

/// Calibrate the spec with `seed` and write `households` households (`households.csv`, `persons.csv`)
/// into `out_dir`. Output is identical for any thread count.
pub fn generate(
    spec: &PopulationSpec,
    households: usize,
    seed: u64,
    out_dir: &Path,
    screen: &dyn DibaoScreen,
) -> Result<GenerateReport, GenerateError> {
    let started = Instant::now();
    let g = Generator::new(spec, seed, screen);
    let mut report = g.write_csv(households, out_dir)?;
    report.elapsed_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
