//! doudi: a toolkit for social-assistance policy rules (兜底). This facade re-exports the three
//! libraries: [`dsl`] (the policy language), [`interpreter`] (data, evaluation, explanations, tests)
//! and [`simulator`] (populations, dynamics, reports). The `doudi` binary is a thin layer over them.

pub use doudi_dsl as dsl;
pub use doudi_interpreter as interpreter;
pub use doudi_simulator as simulator;

pub use doudi_interpreter::{EvalError, LoadError, Month, Num, Policy, Value};
