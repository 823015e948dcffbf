//! Writes a seeded synthetic population (the test and benchmark generator, `testgen`, realistic
//! profile) as a CSV pair `households.csv` + `persons.csv`, for measuring `doudi eval` end to end:
//!
//! `cargo run --release --example gen_households -- /tmp/pop1m 1000000 [SEED]`

use doudi::interpreter::data::CsvPairWriter;
use doudi::interpreter::testgen::{population_range, Profile};
use doudi::Policy;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(n)) = (args.get(1), args.get(2)) else {
        return Err("usage: gen_households DIR HOUSEHOLDS [SEED]".into());
    };
    let n: u64 = n.parse()?;
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let policy = Policy::load("policies/jian".as_ref()).map_err(|e| e.render())?.policy;
    let dir = PathBuf::from(dir);
    let mut w = CsvPairWriter::create(&policy.schema, &dir)?;
    let mut start = 0;
    while start < n {
        let k = (n - start).min(1 << 16);
        for h in population_range(&policy.schema, seed, start, k, Profile::Realistic) {
            w.write(&h)?;
        }
        start += k;
    }
    w.finish()?;
    println!("wrote {n} households to {}", dir.display());
    Ok(())
}
