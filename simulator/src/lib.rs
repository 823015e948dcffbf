//! doudi simulator: synthetic populations, monthly dynamics, Monte Carlo runs, reforms and sweeps,
//! reports (CSV, JSON, charts, HTML, Excel) and rhai scripting.
//!
//! # The pipeline
//!
//! scenario → setup → runs → report:
//!
//! 1. [`scenario`] reads and validates a scenario file (the policy, the population, the months, the
//!    behaviour in `[dynamics]`, the uncertainty, a reform or a sweep); [`estimate`] refuses one that
//!    cannot fit in memory or time before anything starts.
//! 2. [`setup`] loads the policy and its variants (a reform layer, overrides, sweep values), and the
//!    population: generated from a spec ([`spec`], [`population`], [`oversample`]) or read from a CSV
//!    pair, packed a few bytes per field; [`calibrate`] and [`rake`] hold the targets and weights.
//! 3. [`montecarlo`] runs the replicates; each [`run`] moves every household month by month
//!    ([`dynamics`]: behaviour only) and lets the policy's roll decide what the administration does
//!    ([`admin`]: event inputs, case files), summing exact money into cells in a fixed order.
//!    [`growth`] grows the standards past their last dated value.
//! 4. [`report`] turns the runs into tables, bands, charts, an HTML page and a workbook whose figures
//!    agree with one another; [`reform`] computes differences and winners and losers.
//!
//! [`script`] drives all of this from rhai (`doudi run`).

// Large error values are deliberate: the interpreter's `EvalError` travels through the simulator; errors are the cold path.
#![allow(clippy::result_large_err)]

pub mod population;
pub mod spec;

pub mod admin;
pub mod blocks;
pub mod calibrate;
pub mod dynamics;
pub mod estimate;
pub mod growth;
pub mod montecarlo;
pub mod oversample;
pub mod rake;
pub mod reform;
pub mod report;
pub mod run;
pub mod scenario;
pub mod screen;
pub mod script;
pub mod setup;
pub mod work;
