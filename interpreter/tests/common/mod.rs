//! Helpers shared by the interpreter's integration tests.

use doudi_interpreter::data::{DataError, Household, PairSegments, Schema};
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
