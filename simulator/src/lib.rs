//! doudi simulator: synthetic populations (and, later, monthly dynamics, aggregation, reports).

pub mod population;
pub mod spec;
