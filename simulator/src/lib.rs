//! doudi simulator: synthetic populations, monthly dynamics, Monte Carlo runs, reforms and sweeps,
//! reports (CSV, JSON, charts, HTML, Excel) and rhai scripting.

// Large error values are deliberate: the interpreter's `EvalError` travels through the simulator; errors are the cold path.
#![allow(clippy::result_large_err)]

pub mod population;
pub mod spec;

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
