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

impl Value {
    /// Appends the value's exact representation (a number's scale included) to `out`: equal
    /// bytes, identical values.
    pub fn write_repr(&self, out: &mut Vec<u8>) {
        match self {
            Value::Bool(b) => out.extend_from_slice(&[0, *b as u8]),
            Value::Int(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Num(Num::Dec(d)) => {
                out.push(2);
                out.extend_from_slice(&d.serialize());
            }
            Value::Num(Num::Rat(n, d)) => {
                out.push(3);
                out.extend_from_slice(&n.to_le_bytes());
                out.extend_from_slice(&d.to_le_bytes());
            }
            Value::Date(d) => {
                out.push(4);
                out.extend_from_slice(&d.year.to_le_bytes());
                out.extend_from_slice(&[d.month, d.day]);
            }
            Value::Text(t) => {
                out.push(5);
                out.extend_from_slice(&(t.len() as u64).to_le_bytes());
                out.extend_from_slice(t.as_bytes());
            }
            Value::Enum(e) => {
                out.push(6);
                out.extend_from_slice(&e.to_le_bytes());
            }
        }
    }
}
