//! Runtime values of the interpreter.

use crate::num::Num;
use doudi_dsl::ast::Date;
use std::sync::Arc;

/// A value. Money, decimals and percents are all exact [`Num`]s; the checked policy knows which is which.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Bool(bool),
    /// `integer` and `months`.
    Int(i64),
    Num(Num),
    Date(Date),
    Text(Arc<str>),
    /// An enum variant, by index in its declaration.
    Enum(u16),
}
