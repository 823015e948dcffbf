//! doudi: a toolkit for social-assistance policy rules (兜底).
//!
//! **Embedding.** [`Engine`] is the small API for a program that evaluates a policy: load a policy
//! once, then evaluate and explain households, with one error type, [`Error`]:
//!
//! ```no_run
//! let engine = doudi::Engine::load("policies/jian")?;
//! let household = serde_json::json!({ "id": "H1", "region": "jizhou", /* … docs/DATA.md … */ });
//! let outputs = engine.evaluate(&household, "2024-01", &["dibao_eligible", "dibao_payment"])?;
//! if let Some(payment) = outputs.get("dibao_payment") {
//!     println!("{payment}"); // shown as the policy declares it: money with two decimals, …
//! }
//! let why = engine.explain(&household, "2024-01", "dibao_eligible")?;
//! println!("{}", why.short()); // what decided, the parameters and their dates, the citations
//! # Ok::<(), doudi::Error>(())
//! ```
//!
//! With `default-features = false` the crate compiles only the language and the interpreter
//! (docs/EMBEDDING.md). The lower-level libraries are re-exported: [`dsl`] (the policy language),
//! [`interpreter`] (data, evaluation, the compiled path, explanations, tests), and, with their
//! features, [`simulator`] (`simulator`: populations, dynamics, reports) and `service` (`service`:
//! the HTTP decision service). The `doudi` binary (feature `cli`, on by default) is a thin layer
//! over them.

mod facade;

pub use doudi_dsl as dsl;
pub use doudi_interpreter as interpreter;
#[cfg(feature = "service")]
pub use doudi_service as service;
#[cfg(feature = "simulator")]
pub use doudi_simulator as simulator;

pub use doudi_interpreter::{EvalError, LoadError, Month, Num, Policy, Value};
pub use facade::{Engine, Error, Explanation, HouseholdInput, Output, Outputs, Period};
