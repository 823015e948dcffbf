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

    /// Reads a value written by [`Value::write_repr`] from the front of `bytes`, advancing it;
    /// `None` if the bytes are not a valid representation (a number's scale over 28, a fraction
    /// with a zero denominator, text that is not UTF-8, a truncated value).
    pub fn read_repr(bytes: &mut &[u8]) -> Option<Value> {
        let (&tag, rest) = bytes.split_first()?;
        *bytes = rest;
        Some(match tag {
            0 => Value::Bool(take::<1>(bytes)?[0] != 0),
            1 => Value::Int(i64::from_le_bytes(take::<8>(bytes)?)),
            2 => {
                let raw = take::<16>(bytes)?;
                if raw[2] > 28 || raw[0] != 0 || raw[1] != 0 || raw[3] & 0x7F != 0 {
                    return None;
                }
                Value::Num(Num::Dec(rust_decimal::Decimal::deserialize(raw)))
            }
            3 => {
                let n = i128::from_le_bytes(take::<16>(bytes)?);
                let d = i128::from_le_bytes(take::<16>(bytes)?);
                // Only the canonical form a fraction is kept in reads back.
                match Num::from_i128_ratio(n, d).ok()? {
                    Num::Rat(a, b) if (a, b) == (n, d) => Value::Num(Num::Rat(n, d)),
                    _ => return None,
                }
            }
            4 => {
                let year = i32::from_le_bytes(take::<4>(bytes)?);
                let [month, day] = take::<2>(bytes)?;
                Value::Date(Date { year, month, day })
            }
            5 => {
                let len = usize::try_from(u64::from_le_bytes(take::<8>(bytes)?)).ok()?;
                if len > bytes.len() {
                    return None;
                }
                let (text, rest) = bytes.split_at(len);
                *bytes = rest;
                Value::Text(Arc::from(std::str::from_utf8(text).ok()?))
            }
            6 => Value::Enum(u16::from_le_bytes(take::<2>(bytes)?)),
            _ => return None,
        })
    }
}

/// The first `N` bytes of `bytes`, advancing it.
fn take<const N: usize>(bytes: &mut &[u8]) -> Option<[u8; N]> {
    if bytes.len() < N {
        return None;
    }
    let (head, rest) = bytes.split_at(N);
    *bytes = rest;
    head.try_into().ok()
}
