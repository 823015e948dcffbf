//! The segmented CSV reader (`doudi eval`'s): on generated populations of several segments, it reads
//! the same households as the whole reader, with `persons.csv` grouped, shuffled, or shuffled only
//! after the first segments (regrouped through temporary files), on any number of threads; and it
//! says why when a person comes after its household's row was already handed on.

use doudi_interpreter::data::{read_csv_dir, write_csv_pair, Schema, SEGMENT_HOUSEHOLDS};
use doudi_interpreter::testgen::{Gen, Profile, Rng};
use doudi_interpreter::Policy;
use std::path::Path;

mod common;
use common::read_segments;

fn schema() -> Schema {
    Policy::load(Path::new("../policies/jian"))
        .map_err(|e| e.render())
        .unwrap()
        .policy
        .schema
}

/// A generated population of `n` households written as a CSV pair; returns the person rows.
fn population(schema: &Schema, n: u64, dir: &Path) -> (String, Vec<String>) {
    let hs = Gen::new(schema, 11, Profile::Realistic).households(0, n);
    write_csv_pair(schema, &hs, dir).unwrap();
    let text = std::fs::read_to_string(dir.join("persons.csv")).unwrap();
    let mut lines = text.lines().map(str::to_string);
    let header = lines.next().unwrap();
    (header, lines.collect())
}

fn write_persons(dir: &Path, header: &str, rows: &[String]) {
    let mut text = format!("{header}\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(dir.join("persons.csv"), text).unwrap();
}

fn shuffle(rows: &mut [String], seed: u64) {
    let mut r = Rng::new(seed);
    for i in (1..rows.len()).rev() {
        let j = r.below(i as u64 + 1) as usize;
        rows.swap(i, j);
    }
}

/// Every way of reading agrees with the whole reader, which accepts persons in any order.
fn assert_agree(schema: &Schema, dir: &Path, what: &str) {
    let whole = read_csv_dir(schema, dir).unwrap();
    for (per_segment, threads) in [(SEGMENT_HOUSEHOLDS, 1), (SEGMENT_HOUSEHOLDS, 3), (7, 2)] {
        let seg = read_segments(schema, dir, per_segment, threads)
            .unwrap_or_else(|e| panic!("{what}, {per_segment}/{threads}: {e}"));
        assert_eq!(seg.len(), whole.len(), "{what}");
        assert!(
            seg == whole,
            "{what}: segments of {per_segment} on {threads} threads differ"
        );
    }
}

#[test]
fn grouped_shuffled_and_partly_shuffled_pairs_read_as_the_whole_reader_does() {
    let s = schema();
    let dir = tempfile::tempdir().unwrap();
    let (header, rows) = population(&s, 2 * SEGMENT_HOUSEHOLDS as u64 + 600, dir.path());
    assert!(rows.len() > 3 * SEGMENT_HOUSEHOLDS);
    assert_agree(&s, dir.path(), "grouped");

    let mut all = rows.clone();
    shuffle(&mut all, 1);
    write_persons(dir.path(), &header, &all);
    assert_agree(&s, dir.path(), "shuffled");

    // Grouped for the first households, shuffled from the middle of the second segment on: the
    // reader streams the first segment, then regroups the rest.
    let (hh_col, split) = (1, rows.len() / 2);
    let mut partly = rows.clone();
    let first_moved = partly[split].split(',').nth(hh_col).unwrap().to_string();
    let start = partly
        .iter()
        .position(|r| r.split(',').nth(hh_col).unwrap() == first_moved)
        .unwrap();
    shuffle(&mut partly[start..], 2);
    write_persons(dir.path(), &header, &partly);
    assert_agree(&s, dir.path(), "partly shuffled");

    // Reversed: every household's persons still together, households in the opposite order.
    let mut reversed = rows.clone();
    reversed.reverse();
    write_persons(dir.path(), &header, &reversed);
    assert_agree(&s, dir.path(), "reversed");
}

#[test]
fn a_person_after_its_household_was_handed_on_is_explained() {
    let s = schema();
    let dir = tempfile::tempdir().unwrap();
    let (header, mut rows) = population(&s, SEGMENT_HOUSEHOLDS as u64 + 300, dir.path());
    // The first person (household 0) moved to the end of the file: valid for the whole reader, but
    // household 0 was in the first segment, already handed on when the row is found (here, after
    // the last household).
    let first = rows.remove(0);
    rows.push(first);
    write_persons(dir.path(), &header, &rows);
    assert!(read_csv_dir(&s, dir.path()).is_ok());
    let err = read_segments(&s, dir.path(), SEGMENT_HOUSEHOLDS, 2).unwrap_err();
    assert!(
        err.contains("person \"H0-0\" of household \"H0\" comes after that household was read")
            && err.contains("among the first 1324 households")
            && err.contains("group persons.csv by household"),
        "{err}"
    );
}
