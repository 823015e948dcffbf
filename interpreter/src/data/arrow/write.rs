//! Households as record batches (a generated population, or any data read by the readers), with
//! exact types: `household_id`/`person_id` as `utf8`, bool as `boolean`, integer and months as
//! `int64`, money/decimal/percent as `decimal128(38, scale)`, dates as `date32`, text and enum
//! variants as `utf8`.
//!
//! **Scales.** A column has one scale. Money inputs are written at [`MONEY_SCALE`] (cents: what the
//! data contract's amounts carry); other decimals at [`DECIMAL_SCALE`]. A value with more decimal
//! places than its column's scale, a fraction without a finite decimal form, or more than 38 digits
//! at that scale is an error naming the household, the field and the value: never rounded.

use super::cells::days_of_date;
use crate::data::{DataError, Field, FieldType, Household, Schema};
use crate::num::Num;
use crate::value::Value;
use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema, SchemaRef};
use doudi_dsl::ir::{Program, Ty};
use std::collections::HashSet;
use std::sync::Arc;

/// The scale of money columns: cents.
pub const MONEY_SCALE: i8 = 2;
/// The scale of decimal and percent columns: 18 places, leaving 20 digits before the point.
pub const DECIMAL_SCALE: i8 = 18;
/// The precision of every `decimal128` column written.
pub const PRECISION: u8 = 38;

/// Which decimal input fields are money (written at [`MONEY_SCALE`]; the others at
/// [`DECIMAL_SCALE`]).
#[derive(Debug, Clone, Default)]
pub struct Scales {
    money: HashSet<String>,
}

impl Scales {
    /// The money inputs of a policy, by name (a household input and a person input of the same
    /// name are both money or both not in the shipped policies).
    pub fn of_inputs(program: &Program) -> Scales {
        let money = program
            .household_inputs
            .iter()
            .chain(&program.person_inputs)
            .filter(|i| i.ty.is_money())
            .map(|i| i.name.clone())
            .collect();
        Scales { money }
    }

    /// Every decimal field at [`DECIMAL_SCALE`].
    pub fn uniform() -> Scales {
        Scales::default()
    }

    fn scale(&self, f: &Field) -> i8 {
        if self.money.contains(&f.name) {
            MONEY_SCALE
        } else {
            DECIMAL_SCALE
        }
    }
}

/// A number at a fixed scale, exactly: the `decimal128` integer, or why it has none.
pub fn decimal128_of(n: &Num, scale: i8) -> Result<i128, String> {
    let Num::Dec(d) = n else {
        return Err(format!("{n} has no exact decimal form"));
    };
    let d = if d.scale() > scale as u32 {
        d.normalize()
    } else {
        *d
    };
    if d.scale() > scale as u32 {
        return Err(format!(
            "{d} has more than {scale} decimal places (written exactly, never rounded)"
        ));
    }
    let limit = 10i128.pow(PRECISION as u32);
    10i128
        .checked_pow(scale as u32 - d.scale())
        .and_then(|f| d.mantissa().checked_mul(f))
        .filter(|v| v.abs() < limit)
        .ok_or_else(|| format!("{d} has more than {PRECISION} digits at {scale} decimal places"))
}

/// A column being built, of one Arrow type.
pub(super) enum ColBuilder {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Dec(Decimal128Builder, i8),
    Date(Date32Builder),
    Str(StringBuilder),
}

impl ColBuilder {
    pub(super) fn decimal(scale: i8) -> ColBuilder {
        let b = Decimal128Builder::new()
            .with_precision_and_scale(PRECISION, scale)
            .expect("precision 38 with a scale of at most 18 is valid");
        ColBuilder::Dec(b, scale)
    }

    pub(super) fn string() -> ColBuilder {
        ColBuilder::Str(StringBuilder::new())
    }

    pub(super) fn data_type(&self) -> DataType {
        match self {
            ColBuilder::Bool(_) => DataType::Boolean,
            ColBuilder::Int(_) => DataType::Int64,
            ColBuilder::Dec(_, s) => DataType::Decimal128(PRECISION, *s),
            ColBuilder::Date(_) => DataType::Date32,
            ColBuilder::Str(_) => DataType::Utf8,
        }
    }

    /// A builder for an input field.
    fn for_field(f: &Field, scales: &Scales) -> ColBuilder {
        match f.ty {
            FieldType::Bool => ColBuilder::Bool(BooleanBuilder::new()),
            FieldType::Int => ColBuilder::Int(Int64Builder::new()),
            FieldType::Decimal => ColBuilder::decimal(scales.scale(f)),
            FieldType::Date => ColBuilder::Date(Date32Builder::new()),
            FieldType::Text | FieldType::Enum { .. } => ColBuilder::string(),
        }
    }

    /// Appends a value; `variants` names an enum's values. `Err` says what is wrong with it.
    pub(super) fn push(&mut self, v: &Value, variants: Option<&[String]>) -> Result<(), String> {
        match (self, v) {
            (ColBuilder::Bool(b), Value::Bool(x)) => b.append_value(*x),
            (ColBuilder::Int(b), Value::Int(x)) => b.append_value(*x),
            (ColBuilder::Dec(b, s), Value::Num(n)) => b.append_value(decimal128_of(n, *s)?),
            (ColBuilder::Dec(b, s), Value::Int(i)) => {
                b.append_value(decimal128_of(&Num::from_i64(*i), *s)?)
            }
            (ColBuilder::Date(b), Value::Date(d)) => b.append_value(days_of_date(*d)),
            (ColBuilder::Str(b), Value::Text(t)) => b.append_value(t),
            (ColBuilder::Str(b), Value::Enum(i)) => match variants.and_then(|v| v.get(*i as usize))
            {
                Some(name) => b.append_value(name),
                None => return Err(format!("enum variant #{i} does not exist")),
            },
            (c, v) => {
                return Err(format!(
                    "the value {v:?} does not fit a {} column",
                    c.data_type()
                ))
            }
        }
        Ok(())
    }

    pub(super) fn finish(&mut self) -> ArrayRef {
        match self {
            ColBuilder::Bool(b) => Arc::new(b.finish()),
            ColBuilder::Int(b) => Arc::new(b.finish()),
            ColBuilder::Dec(b, _) => Arc::new(b.finish()),
            ColBuilder::Date(b) => Arc::new(b.finish()),
            ColBuilder::Str(b) => Arc::new(b.finish()),
        }
    }
}

fn variants(f: &Field) -> Option<&[String]> {
    match &f.ty {
        FieldType::Enum { variants, .. } => Some(variants),
        _ => None,
    }
}

/// The Arrow schema [`households_to_batches`] writes for a table: the id columns, then the fields.
fn table_schema(ids: &[&str], fields: &[Field], scales: &Scales) -> SchemaRef {
    let cols = ids
        .iter()
        .map(|n| ArrowField::new(*n, DataType::Utf8, false))
        .chain(fields.iter().map(|f| {
            ArrowField::new(&f.name, ColBuilder::for_field(f, scales).data_type(), false)
        }));
    Arc::new(ArrowSchema::new(cols.collect::<Vec<_>>()))
}

/// The Arrow schemas of the households and persons batches written for `schema`.
pub fn pair_schemas(schema: &Schema, scales: &Scales) -> (SchemaRef, SchemaRef) {
    (
        table_schema(&["household_id"], &schema.household, scales),
        table_schema(&["person_id", "household_id"], &schema.person, scales),
    )
}

/// Households as two record batches, `households` and `persons` (persons grouped by household, in
/// household order), in the columns the readers read back: the same values, exactly.
pub fn households_to_batches(
    schema: &Schema,
    scales: &Scales,
    households: &[Household],
) -> Result<(RecordBatch, RecordBatch), DataError> {
    let (hs, ps) = pair_schemas(schema, scales);
    let mut hh_id = StringBuilder::new();
    let mut hh: Vec<ColBuilder> = schema
        .household
        .iter()
        .map(|f| ColBuilder::for_field(f, scales))
        .collect();
    let (mut p_id, mut p_hh) = (StringBuilder::new(), StringBuilder::new());
    let mut p: Vec<ColBuilder> = schema
        .person
        .iter()
        .map(|f| ColBuilder::for_field(f, scales))
        .collect();
    let bad = |kind: &str, id: &str, f: &Field, e: String| {
        DataError::new(
            format!("{kind} {}", crate::data::quoted(id)),
            format!("field \"{}\": {e}", f.name),
        )
    };
    for h in households {
        hh_id.append_value(&h.id);
        for ((b, f), v) in hh.iter_mut().zip(&schema.household).zip(&h.fields) {
            b.push(v, variants(f))
                .map_err(|e| bad("household", &h.id, f, e))?;
        }
        for m in &h.members {
            p_id.append_value(&m.id);
            p_hh.append_value(&h.id);
            for ((b, f), v) in p.iter_mut().zip(&schema.person).zip(&m.fields) {
                b.push(v, variants(f))
                    .map_err(|e| bad("person", &m.id, f, e))?;
            }
        }
    }
    let hh_cols: Vec<ArrayRef> = std::iter::once(Arc::new(hh_id.finish()) as ArrayRef)
        .chain(hh.iter_mut().map(ColBuilder::finish))
        .collect();
    let p_cols: Vec<ArrayRef> = [
        Arc::new(p_id.finish()) as ArrayRef,
        Arc::new(p_hh.finish()) as ArrayRef,
    ]
    .into_iter()
    .chain(p.iter_mut().map(ColBuilder::finish))
    .collect();
    let batch = |s: SchemaRef, c: Vec<ArrayRef>| {
        RecordBatch::try_new(s, c).map_err(|e| DataError::new("households", e.to_string()))
    };
    Ok((batch(hs, hh_cols)?, batch(ps, p_cols)?))
}

/// The Arrow type an output of type `ty` is written as (see [`super::OutputColumns`]).
pub fn output_type(ty: Ty) -> DataType {
    match ty {
        Ty::Bool => DataType::Boolean,
        Ty::Int | Ty::Months => DataType::Int64,
        Ty::Money(_) => DataType::Decimal128(PRECISION, MONEY_SCALE),
        Ty::Decimal | Ty::Percent | Ty::Lit(_) => DataType::Decimal128(PRECISION, DECIMAL_SCALE),
        Ty::Date => DataType::Date32,
        Ty::Text | Ty::Enum(_) => DataType::Utf8,
    }
}
