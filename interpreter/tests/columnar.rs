//! The columnar route of `doudi eval` (`CompiledPolicy::map_segment`: fields parsed straight into
//! the program's input columns) against the households route (`SegmentParser::parse` into
//! `Vec<Household>`, then the compiled path's sequential evaluation): on generated pairs, grouped
//! and shuffled, with households the compiled path defers to the reference, in segments of several
//! sizes on several threads, both give the same formatted rows byte for byte, the same programme
//! totals, and the same first error.

use doudi_interpreter::data::{write_csv_pair, DataError, Household, PairSegments};
use doudi_interpreter::fast::{CompiledPolicy, SegmentError};
use doudi_interpreter::programme::Totals;
use doudi_interpreter::stream::{for_each_raw_segment, for_each_segment};
use doudi_interpreter::testgen::{Gen, Profile, Rng};
use doudi_interpreter::{batch, Month, Policy, Value};
use std::path::Path;

#[derive(Debug)]
struct Fail(String);

impl From<DataError> for Fail {
    fn from(e: DataError) -> Fail {
        Fail(format!("data: {e}"))
    }
}

fn policy() -> Policy {
    Policy::load(Path::new("../policies/jian"))
        .map_err(|e| e.render())
        .unwrap()
        .policy
}

fn household_outputs(p: &Policy) -> Vec<u32> {
    (0..p.program.defs.len() as u32)
        .filter(|&d| p.program.defs[d as usize].entity == doudi_dsl::ast::EntityKind::Household)
        .collect()
}

/// A row as `doudi eval --format csv` writes it (without quoting, which the ids do not need).
fn line(p: &Policy, outputs: &[u32], id: &str, row: &[Value]) -> String {
    let mut s = id.to_string();
    for (d, v) in outputs.iter().zip(row) {
        s.push(',');
        s.push_str(&p.display(p.program.defs[*d as usize].ty, v));
    }
    s.push('\n');
    s
}

type Output = (String, Option<Vec<(u32, Value)>>);

/// The rows (and totals) of the pair in `dir`, by the columnar route or the households route.
fn run<'p>(
    p: &'p Policy,
    cp: &CompiledPolicy<'p>,
    dir: &Path,
    (per_segment, threads): (usize, usize),
    columns: bool,
    totals: bool,
) -> Result<Output, String> {
    let m = Month::parse("2024-01").unwrap();
    let outputs = household_outputs(p);
    let pair = PairSegments::open_with(
        &p.schema,
        &dir.join("households.csv"),
        &dir.join("persons.csv"),
        per_segment,
    )
    .map_err(|e| e.to_string())?;
    let template = totals.then(|| Totals::new(p, m));
    let fork = || template.as_ref().map(|t| t.fork());
    let render = |e: doudi_interpreter::EvalError| Fail(e.render(p.sources()));
    let mut text = String::new();
    let mut all = template.as_ref().map(|t| t.fork());
    let sink = |(rows, t): (Vec<String>, Option<Totals<'p>>)| {
        if let (Some(all), Some(t)) = (all.as_mut(), t) {
            all.merge(t).map_err(render)?;
        }
        rows.iter().for_each(|r| text.push_str(r));
        Ok(())
    };
    let fmt = |id: &str, row: &[Value]| line(p, &outputs, id, row);
    let done = if columns {
        let work = |parser: &_, seg| {
            let mut t = fork();
            match cp.map_segment(parser, seg, m, t.as_mut(), fmt) {
                Ok((ids, rows)) => Ok((ids, (rows, t))),
                Err(SegmentError::Data(e)) => Err(Fail::from(e)),
                Err(SegmentError::Eval(e)) => Err(render(e)),
            }
        };
        for_each_raw_segment(pair, threads, work, sink)
    } else {
        let work = |hs: Vec<Household>| {
            let mut t = fork();
            let rows = match t.as_mut() {
                Some(t) => batch::rows_with_totals_here(p, Some(cp), &hs, m, &outputs, t)
                    .map(|rows| hs.iter().zip(rows).map(|(h, r)| fmt(&h.id, &r)).collect()),
                None => batch::map_here(p, Some(cp), &hs, m, &outputs, |h, r| fmt(&h.id, r)),
            };
            Ok((rows.map_err(render)?, t))
        };
        for_each_segment(pair, threads, work, sink)
    };
    done.map_err(|e| e.0)?;
    let finished = all.map(|t| t.finish().map_err(|e| e.render(p.sources())));
    Ok((text, finished.transpose()?))
}

fn write_persons(dir: &Path, header: &str, rows: &[&str]) {
    let mut text = format!("{header}\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(dir.join("persons.csv"), text).unwrap();
}

/// Both routes agree on the pair in `dir` in every segment size and thread count.
fn assert_agree(p: &Policy, cp: &CompiledPolicy<'_>, dir: &Path, what: &str) -> usize {
    let mut rows = 0;
    for split in [(1024, 1), (100, 2), (7, 3)] {
        for totals in [false, true] {
            let want = run(p, cp, dir, split, false, totals);
            let got = run(p, cp, dir, split, true, totals);
            assert!(
                want == got,
                "{what}, segments {split:?}, totals {totals}: the routes differ\n{want:?}\n{got:?}"
            );
            if let Ok((text, t)) = &got {
                rows = text.lines().count();
                assert_eq!(t.is_some(), totals);
            }
        }
    }
    rows
}

/// Realistic households, and adversarial ones (numbers beyond the compiled path's bounds, errors)
/// within the data contract's ranges, with other ids: some of them the compiled path defers to the
/// reference.
fn population(p: &Policy) -> Vec<Household> {
    let mut hs = Gen::new(&p.schema, 11, Profile::Realistic).households(0, 1300);
    let valid = |h: &Household| {
        let fields = |fs: &[doudi_interpreter::data::Field], vs: &[Value]| {
            fs.iter().zip(vs).all(|(f, v)| f.in_range(v))
        };
        !h.members.is_empty()
            && fields(&p.schema.household, &h.fields)
            && h.members
                .iter()
                .all(|m| fields(&p.schema.person, &m.fields))
    };
    let adversarial = Gen::new(&p.schema, 12, Profile::Adversarial).households(100_000, 1500);
    hs.extend(adversarial.into_iter().filter(valid));
    hs
}

#[test]
fn the_columnar_route_gives_the_households_route_rows_and_totals() {
    let p = policy();
    let outputs = household_outputs(&p);
    let cp = CompiledPolicy::new(&p, &outputs).unwrap();
    assert!(
        cp.reads_columns(),
        "Ji'an's program reads its inputs from columns"
    );
    let m = Month::parse("2024-01").unwrap();
    let all = population(&p);
    // Households the compiled path defers (evaluated by the reference from their records) that
    // evaluate without error.
    let mut s = cp.session(m);
    let deferred: Vec<Household> = all
        .iter()
        .filter(|h| !s.is_fast(h) && p.evaluate(h, m, &outputs).is_ok())
        .cloned()
        .collect();
    assert!(deferred.len() > 5, "{} deferred households", deferred.len());
    let ok: Vec<Household> = all
        .iter()
        .filter(|h| p.evaluate(h, m, &outputs).is_ok())
        .cloned()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    write_csv_pair(&p.schema, &ok, dir.path()).unwrap();
    let rows = assert_agree(&p, &cp, dir.path(), "grouped");
    assert_eq!(rows, ok.len());

    let text = std::fs::read_to_string(dir.path().join("persons.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    let mut r = Rng::new(5);
    for i in (1..lines.len()).rev() {
        lines.swap(i, r.below(i as u64 + 1) as usize);
    }
    write_persons(dir.path(), header, &lines);
    assert_eq!(assert_agree(&p, &cp, dir.path(), "shuffled"), ok.len());

    // With the households whose evaluation fails: the same first error.
    assert!(ok.len() < all.len());
    write_csv_pair(&p.schema, &all, dir.path()).unwrap();
    assert_agree(&p, &cp, dir.path(), "with errors");
    let err = run(&p, &cp, dir.path(), (100, 2), true, true).unwrap_err();
    assert!(err.contains("error"), "{err}");
}

#[test]
fn the_columnar_route_reports_the_households_route_data_errors() {
    let p = policy();
    let outputs = household_outputs(&p);
    let cp = CompiledPolicy::new(&p, &outputs).unwrap();
    let hs = Gen::new(&p.schema, 21, Profile::Realistic).households(0, 300);
    let dir = tempfile::tempdir().unwrap();
    write_csv_pair(&p.schema, &hs, dir.path()).unwrap();
    let pristine = std::fs::read_to_string(dir.path().join("persons.csv")).unwrap();
    let header: Vec<&str> = pristine.lines().next().unwrap().split(',').collect();
    // Every column of a person row in the middle of the file, made invalid in turn: a field the
    // program reads or not, an id.
    let mut errors = 0;
    for col in 0..header.len() {
        let mut lines: Vec<String> = pristine.lines().map(str::to_string).collect();
        let mut cells: Vec<String> = lines[200].split(',').map(str::to_string).collect();
        cells[col] = if col < 2 { String::new() } else { "x?".into() };
        lines[200] = cells.join(",");
        let text = lines.join("\n") + "\n";
        std::fs::write(dir.path().join("persons.csv"), text).unwrap();
        for split in [(1024, 1), (16, 2)] {
            let want = run(&p, &cp, dir.path(), split, false, false);
            let got = run(&p, &cp, dir.path(), split, true, false);
            errors += want.is_err() as usize;
            assert_eq!(want, got, "column {}", header[col]);
        }
    }
    assert!(errors > header.len(), "{errors} errors");
}
