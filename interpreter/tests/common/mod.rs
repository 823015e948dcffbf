//! Helpers shared by the interpreter's integration tests.

use doudi_interpreter::data::{
    DataError, FieldSink, Household, PairSegments, Schema, SegmentParser,
};
use doudi_interpreter::value::Value;
use std::path::Path;

/// The CSV pair through the segmented reader (`per_segment` households a segment) on `threads`
/// worker threads, as `doudi eval` reads it.
pub fn read_segments(
    schema: &Schema,
    dir: &Path,
    per_segment: usize,
    threads: usize,
) -> Result<Vec<Household>, String> {
    let pair = PairSegments::open_with(
        schema,
        &dir.join("households.csv"),
        &dir.join("persons.csv"),
        per_segment,
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    doudi_interpreter::stream::for_each_segment(
        pair,
        threads,
        |hs: Vec<Household>| Ok::<_, DataError>(hs),
        |hs| {
            out.extend(hs);
            Ok(())
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Counts the fields handed to it.
#[derive(Default)]
struct Count(usize);

impl FieldSink for Count {
    fn field(&mut self, _person: bool, _slot: usize, _v: Value) {
        self.0 += 1;
    }
}

/// The CSV pair through the segmented reader's columnar parse (`SegmentParser::parse_columns`, the
/// parse of `doudi eval` for a compiled policy): the number of households, or the first error.
#[allow(dead_code)] // not every test crate uses it
pub fn read_segment_columns(
    schema: &Schema,
    dir: &Path,
    per_segment: usize,
    threads: usize,
) -> Result<usize, String> {
    let pair = PairSegments::open_with(
        schema,
        &dir.join("households.csv"),
        &dir.join("persons.csv"),
        per_segment,
    )
    .map_err(|e| e.to_string())?;
    let mut n = 0;
    doudi_interpreter::stream::for_each_raw_segment(
        pair,
        threads,
        |parser, seg| {
            let (records, ids) = SegmentParser::parse_columns(parser, seg, &mut Count::default())?;
            Ok::<_, DataError>((ids, records.len()))
        },
        |k| {
            n += k;
            Ok(())
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(n)
}
