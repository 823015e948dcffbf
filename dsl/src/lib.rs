//! doudi-dsl: the policy language. Pipeline: [`parse`] (text → AST + diagnostics) → [`load`] (files and
//! layers from disk) → [`check`] (names, types, money periods, tables, cycles → typed [`ir::Program`]).
//! The interpreter evaluates the [`ir`]; only this crate knows the grammar.

// Large error values are deliberate: diagnostics carry spans and messages for people; errors are the cold path.
#![allow(clippy::result_large_err)]

pub mod ast;
pub mod calendar;
pub mod check;
pub mod diag;
pub mod format;
pub mod ir;
pub mod load;
pub mod parse;

pub use ast::Span;
pub use diag::{Diagnostic, Severity, SourceMap};
