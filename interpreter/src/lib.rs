//! doudi-interpreter: the data model, exact evaluation of checked policies, explanations, policy tests
//! and the rhai bridge.
//!
//! This is the lower-level API. A program that evaluates and explains households one at a time
//! will find the facade `doudi::Engine` (the root package, docs/EMBEDDING.md) shorter: named
//! outputs that show themselves, explanations, one typed error.
//!
//! ```no_run
//! use doudi_interpreter::{Policy, Month};
//! let loaded = Policy::load(std::path::Path::new("policies/jian")).expect("policy loads");
//! let policy = loaded.policy;
//! let payment = policy.output("dibao_payment").unwrap();
//! let households = doudi_interpreter::data::read_json_path(&policy.schema, "households.json".as_ref()).unwrap();
//! let month = Month::parse("2024-01").unwrap();
//! for h in &households {
//!     let v = policy.evaluate(h, month, &[payment]).unwrap();
//!     println!("{} {}", h.id, policy.display(policy.program.defs[payment as usize].ty, &v[0]));
//! }
//! ```

// Large error values are deliberate: `EvalError` carries the rule, its span and a message for people; errors are the cold path, and
// boxing every one would only add an allocation where it happens.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod batch;
pub mod chain;
pub mod data;
pub mod diff;
pub mod eval;
pub mod explain;
pub mod explain_short;
pub mod fast;
pub mod num;
pub mod packed;
pub mod policy;
pub mod policygen;
pub mod programme;
pub mod rhai_bridge;
pub mod stream;
pub mod testgen;
pub mod testing;
pub mod time;
pub mod tmpfiles;
pub mod value;

pub use eval::{EvalError, HouseholdEval, Month, Scope};
pub use fast::CompiledPolicy;
pub use num::Num;
pub use policy::{LoadError, Policy, UnknownOutput};
pub use value::Value;
