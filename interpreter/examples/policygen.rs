//! Generates random well-typed policies and compares the reference evaluator with the compiled path on each.
//!
//! `cargo run --release -p doudi-interpreter --example policygen -- --policies 10000 [--households 40] [--seed 0]`
//! prints what it compared and every disagreement (policy, household, both results) and exits 1 if
//! there is any; `--show SEED` prints the policy of one seed; `--minimise SEED MONTH` the smallest
//! policy and households of that seed that still disagree in that month.

use doudi_interpreter::policygen::{self, compare};
use rayon::prelude::*;
use std::time::Instant;

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--show") {
        print!("{}", policygen::generate(arg(&args, "--show", 0)).text());
        return;
    }
    let n = arg(&args, "--policies", 1000);
    let households = arg(&args, "--households", 40);
    if let Some(i) = args.iter().position(|a| a == "--minimise") {
        // --minimise SEED MONTH: the smallest policy and households that still disagree.
        let month = doudi_interpreter::Month::parse(&args[i + 2]).expect("a month");
        match compare::minimise(arg(&args, "--minimise", 0), households, month) {
            Some((text, hs, d)) => {
                println!("{text}");
                let p = doudi_interpreter::Policy::from_source("min.doudi", &text)
                    .unwrap()
                    .policy;
                let json: Vec<String> = hs.iter().map(|h| compare::to_json(&p.schema, h)).collect();
                println!(
                    "[\n{}\n]\n{}\n{}",
                    json.join(",\n"),
                    d.reference,
                    d.compiled
                );
            }
            None => println!("no disagreement"),
        }
        return;
    }
    let first = arg(&args, "--seed", 0);
    let t = Instant::now();
    let results: Vec<_> = (first..first + n)
        .into_par_iter()
        .map(|seed| compare::check_seed(seed, households))
        .collect();
    let mut total = compare::Stats::default();
    let mut bad = Vec::new();
    for r in results {
        match r {
            Ok(s) => total.add(&s),
            Err(d) => bad.push(d),
        }
    }
    let secs = t.elapsed().as_secs_f64();
    for d in &bad {
        println!("DISAGREEMENT {d}\n");
    }
    println!(
        "policies {n} (seeds {first}..{}): compared {}, not compiled {}, households {}, \
         household-months {}, values {}, errors {}, computed by the compiled path {}, totals {}, \
         disagreements {}, {secs:.1} s",
        first + n,
        total.policies,
        total.uncompiled,
        total.households,
        total.evaluations,
        total.values,
        total.errors,
        total.fast,
        total.totals,
        bad.len()
    );
    if !bad.is_empty() {
        std::process::exit(1);
    }
}
