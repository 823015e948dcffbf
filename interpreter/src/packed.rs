//! Compact households: each input field in a few bytes laid out by the schema, for large populations held in memory.
//!
//! A [`Household`] keeps a 48-byte [`Value`] per field (plus its vectors and strings). A [`Packed`]
//! household keeps all its fields, its members' included, in one byte string laid out by the
//! [`Schema`]: one byte per `bool`, two per enum, four per text (an index into the [`Packer`]'s table
//! of texts), eight per integer, date or number (a decimal whose mantissa fits in 56 bits, with its
//! scale). A value that does not fit (a larger number, a fraction, a text the table does not hold, a
//! value of another type than the field's) is kept aside as a `Value`, so unpacking always gives back
//! exactly the fields that were packed. Identifiers are kept apart ([`Ids`]): they never change.

use crate::data::{FieldType, Household, Person, Schema};
use crate::num::Num;
use crate::value::Value;
use doudi_dsl::ast::Date;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Enum,
    Int,
    Dec,
    Date,
    Text,
}

impl Kind {
    fn of(t: &FieldType) -> Kind {
        match t {
            FieldType::Bool => Kind::Bool,
            FieldType::Int => Kind::Int,
            FieldType::Decimal => Kind::Dec,
            FieldType::Date => Kind::Date,
            FieldType::Text => Kind::Text,
            FieldType::Enum { .. } => Kind::Enum,
        }
    }
    fn width(self) -> usize {
        match self {
            Kind::Bool => 1,
            Kind::Enum => 2,
            Kind::Text => 4,
            Kind::Int | Kind::Dec | Kind::Date => 8,
        }
    }
}

/// The byte value that marks a field kept aside.
const ASIDE_BOOL: u8 = 0xFF;
const ASIDE_ENUM: u16 = u16::MAX;
const ASIDE_TEXT: u32 = u32::MAX;
const ASIDE_WORD: u64 = u64::MAX;
/// Largest magnitude of a decimal mantissa packed in a word (56 bits, signed).
const MANTISSA_LIMIT: i128 = 1 << 55;

/// One household in a few bytes (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    bytes: Box<[u8]>,
    /// Values that do not fit their field's bytes, by field position (household fields first, then
    /// each member's fields in turn). Boxed on purpose: 8 bytes in every household, which almost
    /// never has anything aside, instead of 24.
    #[allow(clippy::box_collection)]
    aside: Option<Box<Vec<(u32, Value)>>>,
}

/// A household's identifiers, apart from its fields. Member identifiers numbered in the usual way,
/// `<household>-<n>` or `<household>-P<n>` (n from 1), are not stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Ids {
    household: Box<str>,
    members: MemberIds,
}

#[derive(Debug, Clone, PartialEq)]
enum MemberIds {
    /// `<household>-<prefix><n>`, n from 1.
    Numbered(&'static str),
    Listed(Box<[Box<str>]>),
}

impl Ids {
    pub fn of(hh: &Household) -> Ids {
        let numbered = |prefix: &str| {
            hh.members.iter().enumerate().all(|(k, p)| {
                let rest =
                    p.id.strip_prefix(hh.id.as_str())
                        .and_then(|r| r.strip_prefix('-'))
                        .and_then(|r| r.strip_prefix(prefix));
                rest.is_some_and(|r| !r.starts_with(['0', '+']) && r.parse::<usize>() == Ok(k + 1))
            })
        };
        let members = match ["", "P"].into_iter().find(|p| numbered(p)) {
            Some(prefix) => MemberIds::Numbered(prefix),
            None => MemberIds::Listed(hh.members.iter().map(|p| p.id.as_str().into()).collect()),
        };
        Ids {
            household: hh.id.as_str().into(),
            members,
        }
    }

    /// Writes the identifiers into `hh` (whose members are already there), reusing its strings.
    pub fn write_into(&self, hh: &mut Household) {
        use std::fmt::Write;
        hh.id.clear();
        hh.id.push_str(&self.household);
        for (k, p) in hh.members.iter_mut().enumerate() {
            p.id.clear();
            match &self.members {
                MemberIds::Listed(m) => p.id.push_str(m.get(k).map_or("", |s| s)),
                MemberIds::Numbered(prefix) => {
                    p.id.push_str(&self.household);
                    p.id.push('-');
                    p.id.push_str(prefix);
                    match u8::try_from(k + 1) {
                        Ok(n @ 1..=9) => p.id.push((b'0' + n) as char),
                        _ => {
                            let _ = write!(p.id, "{}", k + 1);
                        }
                    }
                }
            }
        }
    }
}

/// Packs and unpacks the households of one schema; holds the table of texts.
#[derive(Debug, Clone)]
pub struct Packer {
    household: Vec<(Kind, usize)>,
    person: Vec<(Kind, usize)>,
    household_bytes: usize,
    person_bytes: usize,
    texts: Vec<Arc<str>>,
    text_index: HashMap<Arc<str>, u32>,
}

fn layout(fields: &[crate::data::Field]) -> (Vec<(Kind, usize)>, usize) {
    let mut off = 0;
    let slots = fields
        .iter()
        .map(|f| {
            let k = Kind::of(&f.ty);
            let s = (k, off);
            off += k.width();
            s
        })
        .collect();
    (slots, off)
}

impl Packer {
    pub fn new(schema: &Schema) -> Packer {
        let (household, household_bytes) = layout(&schema.household);
        let (person, person_bytes) = layout(&schema.person);
        Packer {
            household,
            person,
            household_bytes,
            person_bytes,
            texts: Vec::new(),
            text_index: HashMap::new(),
        }
    }

    /// Adds the texts of `hh` to the table, so that packing keeps them in four bytes.
    pub fn intern(&mut self, hh: &Household) {
        let texts = hh
            .fields
            .iter()
            .zip(&self.household)
            .chain(
                hh.members
                    .iter()
                    .flat_map(|p| p.fields.iter().zip(&self.person)),
            )
            .filter_map(|(v, (k, _))| match (k, v) {
                (Kind::Text, Value::Text(t)) => Some(t.clone()),
                _ => None,
            })
            .collect::<Vec<_>>();
        for t in texts {
            if self.texts.len() < ASIDE_TEXT as usize && !self.text_index.contains_key(&t) {
                self.text_index.insert(t.clone(), self.texts.len() as u32);
                self.texts.push(t);
            }
        }
    }

    /// Members of a packed household.
    pub fn members(&self, p: &Packed) -> usize {
        if self.person_bytes == 0 {
            return 0;
        }
        (p.bytes.len() - self.household_bytes) / self.person_bytes
    }

    /// Packs a household's data (its fields and members). Its history, `previous`, is not packed:
    /// [`Packer::unpack`] gives `None`.
    pub fn pack(&self, hh: &Household) -> Packed {
        let mut p = Packed {
            bytes: Box::new([]),
            aside: None,
        };
        self.repack(hh, &mut p);
        p
    }

    /// Packs `hh` into `p`, reusing its bytes when the number of members is the same.
    pub fn repack(&self, hh: &Household, p: &mut Packed) {
        let len = self.household_bytes + hh.members.len() * self.person_bytes;
        if p.bytes.len() != len {
            p.bytes = vec![0u8; len].into_boxed_slice();
        }
        if let Some(a) = p.aside.as_mut() {
            a.clear();
        }
        let mut pos = 0u32;
        for (v, &(k, off)) in hh.fields.iter().zip(&self.household) {
            self.put(&mut p.bytes[off..], &mut p.aside, pos, k, v);
            pos += 1;
        }
        pos = self.household.len() as u32;
        for (m, person) in hh.members.iter().enumerate() {
            let base = self.household_bytes + m * self.person_bytes;
            for (v, &(k, off)) in person.fields.iter().zip(&self.person) {
                self.put(&mut p.bytes[base + off..], &mut p.aside, pos, k, v);
                pos += 1;
            }
            // Fields missing from the household (none for data read by `data`): kept as positions.
            pos = (self.household.len() + (m + 1) * self.person.len()) as u32;
        }
        if p.aside.as_ref().is_some_and(|a| a.is_empty()) {
            p.aside = None;
        }
    }

    #[allow(clippy::box_collection)] // the field's type (see `Packed::aside`)
    fn put(
        &self,
        b: &mut [u8],
        aside: &mut Option<Box<Vec<(u32, Value)>>>,
        pos: u32,
        k: Kind,
        v: &Value,
    ) {
        let fits = match (k, v) {
            (Kind::Bool, Value::Bool(x)) => {
                b[0] = *x as u8;
                true
            }
            (Kind::Enum, Value::Enum(e)) if *e != ASIDE_ENUM => {
                b[..2].copy_from_slice(&e.to_le_bytes());
                true
            }
            (Kind::Int, Value::Int(i)) if *i as u64 != ASIDE_WORD => {
                b[..8].copy_from_slice(&i.to_le_bytes());
                true
            }
            (Kind::Dec, Value::Num(Num::Dec(d))) => match pack_decimal(d) {
                Some(w) => {
                    b[..8].copy_from_slice(&w.to_le_bytes());
                    true
                }
                None => false,
            },
            (Kind::Date, Value::Date(d)) => {
                let w = ((d.year as u32 as u64) << 16) | ((d.month as u64) << 8) | d.day as u64;
                b[..8].copy_from_slice(&w.to_le_bytes());
                true
            }
            (Kind::Text, Value::Text(t)) => match self.text_index.get(t) {
                Some(i) => {
                    b[..4].copy_from_slice(&i.to_le_bytes());
                    true
                }
                None => false,
            },
            _ => false,
        };
        if !fits {
            match k {
                Kind::Bool => b[0] = ASIDE_BOOL,
                Kind::Enum => b[..2].copy_from_slice(&ASIDE_ENUM.to_le_bytes()),
                Kind::Text => b[..4].copy_from_slice(&ASIDE_TEXT.to_le_bytes()),
                Kind::Int | Kind::Dec | Kind::Date => {
                    b[..8].copy_from_slice(&ASIDE_WORD.to_le_bytes())
                }
            }
            aside
                .get_or_insert_with(Default::default)
                .push((pos, v.clone()));
        }
    }

    /// The value of a field at the start of `b`; `pos` is its position for values kept aside
    /// (`aside`: whether the household has any).
    #[inline]
    fn get(&self, b: &[u8], p: &Packed, pos: u32, k: Kind, aside: bool) -> Value {
        let fetch = || {
            p.aside
                .as_ref()
                .and_then(|a| a.iter().find(|(q, _)| *q == pos))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Bool(false))
        };
        match k {
            Kind::Bool => match b[0] {
                ASIDE_BOOL if aside => fetch(),
                x => Value::Bool(x != 0),
            },
            Kind::Enum => match u16::from_le_bytes([b[0], b[1]]) {
                ASIDE_ENUM if aside => fetch(),
                e => Value::Enum(e),
            },
            Kind::Text => match u32::from_le_bytes([b[0], b[1], b[2], b[3]]) {
                ASIDE_TEXT if aside => fetch(),
                i => self
                    .texts
                    .get(i as usize)
                    .map_or(Value::Bool(false), |t| Value::Text(t.clone())),
            },
            Kind::Int | Kind::Dec | Kind::Date => {
                let w = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                if aside && w == ASIDE_WORD {
                    return fetch();
                }
                match k {
                    Kind::Int => Value::Int(w as i64),
                    Kind::Dec => {
                        let m = (w as i64) >> 8;
                        let a = m.unsigned_abs();
                        Value::Num(Num::Dec(Decimal::from_parts(
                            a as u32,
                            (a >> 32) as u32,
                            0,
                            m < 0,
                            (w & 0xFF) as u32,
                        )))
                    }
                    _ => Value::Date(Date {
                        year: (w >> 16) as u32 as i32,
                        month: (w >> 8) as u8,
                        day: w as u8,
                    }),
                }
            }
        }
    }

    /// Writes the fields laid out by `slots` from `b` into `fields`, in place when it has the
    /// right length.
    #[inline]
    fn unpack_fields(
        &self,
        b: &[u8],
        p: &Packed,
        pos0: usize,
        slots: &[(Kind, usize)],
        fields: &mut Vec<Value>,
    ) {
        let aside = p.aside.is_some();
        if fields.len() == slots.len() {
            for (j, (f, &(k, off))) in fields.iter_mut().zip(slots).enumerate() {
                *f = self.get(&b[off..], p, (pos0 + j) as u32, k, aside);
            }
        } else {
            fields.clear();
            for (j, &(k, off)) in slots.iter().enumerate() {
                fields.push(self.get(&b[off..], p, (pos0 + j) as u32, k, aside));
            }
        }
    }

    /// Household field `slot` of `p`.
    pub fn household_field(&self, p: &Packed, slot: usize) -> Value {
        let (k, off) = self.household[slot];
        self.get(&p.bytes[off..], p, slot as u32, k, p.aside.is_some())
    }

    /// Unpacks the fields of `p` into `hh`, reusing its vectors; identifiers are left as they are
    /// (see [`Ids::write_into`]).
    pub fn unpack_into(&self, p: &Packed, hh: &mut Household) {
        self.unpack_fields(&p.bytes, p, 0, &self.household, &mut hh.fields);
        let n = self.members(p);
        hh.members.truncate(n);
        while hh.members.len() < n {
            hh.members.push(Person {
                id: String::new(),
                fields: Vec::with_capacity(self.person.len()),
            });
        }
        for (m, person) in hh.members.iter_mut().enumerate() {
            let base = self.household_bytes + m * self.person_bytes;
            let pos0 = self.household.len() + m * self.person.len();
            self.unpack_fields(
                &p.bytes[base..base + self.person_bytes],
                p,
                pos0,
                &self.person,
                &mut person.fields,
            );
        }
    }

    /// The household packed in `p` with identifiers `ids`.
    pub fn unpack(&self, p: &Packed, ids: &Ids) -> Household {
        let mut hh = Household {
            id: String::new(),
            fields: Vec::new(),
            members: Vec::new(),
            previous: None,
        };
        self.unpack_into(p, &mut hh);
        ids.write_into(&mut hh);
        hh
    }
}

/// A population of packed households in input order.
#[derive(Debug, Clone)]
pub struct PackedPopulation {
    packer: Packer,
    ids: Vec<Ids>,
    households: Vec<Packed>,
    persons: u64,
}

impl PackedPopulation {
    pub fn new(schema: &Schema) -> PackedPopulation {
        PackedPopulation {
            packer: Packer::new(schema),
            ids: Vec::new(),
            households: Vec::new(),
            persons: 0,
        }
    }

    pub fn from_households(schema: &Schema, hs: &[Household]) -> PackedPopulation {
        let mut p = PackedPopulation::new(schema);
        p.extend(hs);
        p
    }

    /// Appends households (packed in parallel).
    pub fn extend(&mut self, hs: &[Household]) {
        use rayon::prelude::*;
        for h in hs {
            self.packer.intern(h);
        }
        let packer = &self.packer;
        let packed: Vec<(Ids, Packed)> = hs
            .par_iter()
            .with_min_len(256)
            .map(|h| (Ids::of(h), packer.pack(h)))
            .collect();
        self.persons += hs.iter().map(|h| h.members.len() as u64).sum::<u64>();
        for (i, p) in packed {
            self.ids.push(i);
            self.households.push(p);
        }
    }

    pub fn len(&self) -> usize {
        self.households.len()
    }
    pub fn is_empty(&self) -> bool {
        self.households.is_empty()
    }
    /// Members of all households.
    pub fn persons(&self) -> u64 {
        self.persons
    }
    pub fn packer(&self) -> &Packer {
        &self.packer
    }
    pub fn packed(&self, i: usize) -> &Packed {
        &self.households[i]
    }
    pub fn ids(&self, i: usize) -> &Ids {
        &self.ids[i]
    }
    /// Household `i` as a [`Household`].
    pub fn household(&self, i: usize) -> Household {
        self.packer.unpack(&self.households[i], &self.ids[i])
    }
}

/// Read and write access to the fields of a household's members, packed or not.
pub trait MemberFields {
    /// Household field `slot`.
    fn household_field(&self, slot: usize) -> Value;
    fn member_count(&self) -> usize;
    /// Field `slot` of member `m`.
    fn member_field(&self, m: usize, slot: usize) -> Value;
    fn set_member_field(&mut self, m: usize, slot: usize, v: Value);
    /// Whether field `slot` of member `m` is `true`.
    fn member_bool(&self, m: usize, slot: usize) -> bool {
        self.member_field(m, slot).as_bool()
    }
    /// Field `slot` of member `m` when it holds an integer.
    fn member_int(&self, m: usize, slot: usize) -> Option<i64> {
        match self.member_field(m, slot) {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
    /// Field `slot` of member `m` when it holds an enum value.
    fn member_enum(&self, m: usize, slot: usize) -> Option<u16> {
        match self.member_field(m, slot) {
            Value::Enum(e) => Some(e),
            _ => None,
        }
    }
}

impl MemberFields for Household {
    fn household_field(&self, slot: usize) -> Value {
        self.fields[slot].clone()
    }
    fn member_count(&self) -> usize {
        self.members.len()
    }
    fn member_field(&self, m: usize, slot: usize) -> Value {
        self.members[m].fields[slot].clone()
    }
    fn set_member_field(&mut self, m: usize, slot: usize, v: Value) {
        self.members[m].fields[slot] = v;
    }
}

/// A packed household, for reading and writing its members' fields in place (reading only needs
/// a `&mut` because the trait writes too: clone the `Packed` to read one you cannot borrow mutably).
pub struct PackedMut<'a> {
    pub packer: &'a Packer,
    pub packed: &'a mut Packed,
}

impl PackedMut<'_> {
    /// The kind and bytes of field `slot` of member `m`.
    #[inline]
    fn member_bytes(&self, m: usize, slot: usize) -> (Kind, &[u8]) {
        let pk = self.packer;
        let (k, off) = pk.person[slot];
        (
            k,
            &self.packed.bytes[pk.household_bytes + m * pk.person_bytes + off..],
        )
    }
}

impl MemberFields for PackedMut<'_> {
    fn member_bool(&self, m: usize, slot: usize) -> bool {
        match self.member_bytes(m, slot) {
            (Kind::Bool, b) if b[0] != ASIDE_BOOL => b[0] != 0,
            _ => self.member_field(m, slot).as_bool(),
        }
    }
    fn member_int(&self, m: usize, slot: usize) -> Option<i64> {
        match self.member_bytes(m, slot) {
            (Kind::Int, b) => {
                match u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) {
                    ASIDE_WORD => match self.member_field(m, slot) {
                        Value::Int(i) => Some(i),
                        _ => None,
                    },
                    w => Some(w as i64),
                }
            }
            _ => None,
        }
    }
    fn member_enum(&self, m: usize, slot: usize) -> Option<u16> {
        match self.member_bytes(m, slot) {
            (Kind::Enum, b) => match u16::from_le_bytes([b[0], b[1]]) {
                ASIDE_ENUM => match self.member_field(m, slot) {
                    Value::Enum(e) => Some(e),
                    _ => None,
                },
                e => Some(e),
            },
            _ => None,
        }
    }
    fn household_field(&self, slot: usize) -> Value {
        self.packer.household_field(self.packed, slot)
    }
    fn member_count(&self) -> usize {
        self.packer.members(self.packed)
    }
    fn member_field(&self, m: usize, slot: usize) -> Value {
        let pk = self.packer;
        let (k, off) = pk.person[slot];
        let base = pk.household_bytes + m * pk.person_bytes;
        let pos = (pk.household.len() + m * pk.person.len() + slot) as u32;
        pk.get(
            &self.packed.bytes[base + off..],
            self.packed,
            pos,
            k,
            self.packed.aside.is_some(),
        )
    }
    fn set_member_field(&mut self, m: usize, slot: usize, v: Value) {
        let pk = self.packer;
        let (k, off) = pk.person[slot];
        let base = pk.household_bytes + m * pk.person_bytes;
        let pos = (pk.household.len() + m * pk.person.len() + slot) as u32;
        let p = &mut *self.packed;
        if let Some(a) = p.aside.as_mut() {
            a.retain(|(q, _)| *q != pos);
        }
        pk.put(&mut p.bytes[base + off..], &mut p.aside, pos, k, &v);
        if p.aside.as_ref().is_some_and(|a| a.is_empty()) {
            p.aside = None;
        }
    }
}

fn pack_decimal(d: &Decimal) -> Option<u64> {
    let m = d.mantissa();
    if !(-MANTISSA_LIMIT..MANTISSA_LIMIT).contains(&m) || (m == 0 && d.is_sign_negative()) {
        return None;
    }
    let w = ((m as i64 as u64) << 8) | d.scale() as u64;
    (w != ASIDE_WORD).then_some(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Field;

    fn schema() -> Schema {
        let f = |name: &str, ty: FieldType| Field::new(name, ty);
        let e = FieldType::Enum {
            name: "e".into(),
            variants: vec!["a".into(), "b".into()],
        };
        Schema {
            household: vec![
                f("region", FieldType::Text),
                f("assets", FieldType::Decimal),
                f("cars", FieldType::Int),
                f("flag", FieldType::Bool),
            ],
            person: vec![
                f("age", FieldType::Int),
                f("income", FieldType::Decimal),
                f("kind", e),
                f("born", FieldType::Date),
                f("alive", FieldType::Bool),
            ],
            states: Vec::new(),
        }
    }

    fn dec(s: &str) -> Value {
        Value::Num(Num::Dec(s.parse().unwrap()))
    }

    #[test]
    fn round_trips_every_kind_and_what_does_not_fit() {
        let s = schema();
        let person = |id: &str, age: i64, income: Value, kind: Value, alive: Value| Person {
            id: id.into(),
            fields: vec![
                Value::Int(age),
                income,
                kind,
                Value::Date(Date {
                    year: -3,
                    month: 12,
                    day: 31,
                }),
                alive,
            ],
        };
        let hh = Household {
            id: "H1".into(),
            fields: vec![
                Value::Text("jian".into()),
                dec("-0.00"),
                Value::Int(i64::MAX),
                Value::Bool(true),
            ],
            members: vec![
                person(
                    "H1-1",
                    40,
                    dec("1234.50"),
                    Value::Enum(1),
                    Value::Bool(true),
                ),
                person(
                    "H1-2",
                    -1,
                    dec("79228162514264337593543950335"),
                    Value::Enum(u16::MAX),
                    Value::Int(3),
                ),
                person(
                    "H1-3",
                    i64::MIN,
                    Value::Num(Num::from_i128_ratio(1, 3).unwrap()),
                    Value::Text("x".into()),
                    Value::Bool(false),
                ),
            ],
            previous: None,
        };
        let mut packer = Packer::new(&s);
        let p0 = packer.pack(&hh);
        packer.intern(&hh);
        for p in [p0, packer.pack(&hh)] {
            let back = packer.unpack(&p, &Ids::of(&hh));
            assert_eq!(back, hh);
            for (a, b) in back
                .fields
                .iter()
                .chain(back.members.iter().flat_map(|m| &m.fields))
                .zip(
                    hh.fields
                        .iter()
                        .chain(hh.members.iter().flat_map(|m| &m.fields)),
                )
            {
                assert_eq!(
                    format!("{a:?}"),
                    format!("{b:?}"),
                    "same representation, not only equal"
                );
            }
        }
        assert_eq!(Ids::of(&hh).members, MemberIds::Numbered(""));
        let mut p_form = hh.clone();
        for (k, m) in p_form.members.iter_mut().enumerate() {
            m.id = format!("H1-P{}", k + 1);
        }
        assert_eq!(Ids::of(&p_form).members, MemberIds::Numbered("P"));
        assert_eq!(
            packer.unpack(&packer.pack(&p_form), &Ids::of(&p_form)),
            p_form
        );
    }

    /// Household `A` of one member.
    fn one_member(person_id: &str, income: Value) -> Household {
        Household {
            id: "A".into(),
            fields: vec![
                Value::Text("t".into()),
                dec("1"),
                Value::Int(2),
                Value::Bool(false),
            ],
            members: vec![Person {
                id: person_id.into(),
                fields: vec![
                    Value::Int(1),
                    income,
                    Value::Enum(0),
                    Value::Date(Date {
                        year: 2024,
                        month: 1,
                        day: 2,
                    }),
                    Value::Bool(true),
                ],
            }],
            previous: None,
        }
    }

    #[test]
    fn member_fields_read_and_write_in_place() {
        let s = schema();
        let packer = Packer::new(&s);
        let mut hh = one_member("A-1", dec("2.50"));
        let mut p = packer.pack(&hh);
        let mut view = PackedMut {
            packer: &packer,
            packed: &mut p,
        };
        for (slot, v) in [
            (1, dec("123456789012345678901234.5")),
            (0, Value::Int(-1)),
            (1, dec("-7.25")),
            (4, Value::Bool(false)),
            (2, Value::Enum(1)),
        ] {
            view.set_member_field(0, slot, v.clone());
            hh.set_member_field(0, slot, v.clone());
            assert_eq!(
                format!("{:?}", view.member_field(0, slot)),
                format!("{v:?}")
            );
        }
        assert_eq!(view.member_count(), 1);
        assert_eq!(packer.unpack(&p, &Ids::of(&hh)).members, hh.members);
        // Aside: the text (never interned) and -1 (whose bytes are the marker); the large number was replaced.
        assert_eq!(p.aside.as_ref().map(|a| a.len()), Some(2), "{:?}", p.aside);
    }

    /// Every household of the seeded generator (every enum value, boundary and adversarial amounts)
    /// comes back exactly, through `unpack` and through `PackedMut`'s field readers.
    #[test]
    fn generated_households_round_trip() {
        use crate::testgen::{Gen, Profile};
        let policy = crate::Policy::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../policies/jian"
        )))
        .expect("policy")
        .policy;
        for profile in [Profile::Realistic, Profile::Adversarial] {
            let hs = Gen::new(&policy.schema, 3, profile).households(0, 3000);
            let pop = PackedPopulation::from_households(&policy.schema, &hs);
            assert_eq!(
                pop.persons(),
                hs.iter().map(|h| h.members.len() as u64).sum::<u64>()
            );
            for (i, h) in hs.iter().enumerate() {
                let back = pop.household(i);
                // A packed household is its data: its history (`previous`) is not packed.
                let data = Household {
                    previous: None,
                    ..h.clone()
                };
                assert_eq!(format!("{back:?}"), format!("{data:?}"), "household {i}");
                let mut p = pop.packed(i).clone();
                let view = PackedMut {
                    packer: pop.packer(),
                    packed: &mut p,
                };
                for (m, person) in h.members.iter().enumerate() {
                    for (slot, v) in person.fields.iter().enumerate() {
                        assert_eq!(
                            format!("{:?}", view.member_field(m, slot)),
                            format!("{v:?}")
                        );
                        assert_eq!(view.member_bool(m, slot), v.as_bool());
                        assert_eq!(
                            view.member_int(m, slot),
                            if let Value::Int(i) = v {
                                Some(*i)
                            } else {
                                None
                            }
                        );
                        assert_eq!(
                            view.member_enum(m, slot),
                            if let Value::Enum(e) = v {
                                Some(*e)
                            } else {
                                None
                            }
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn repack_reuses_bytes_and_clears_what_was_aside() {
        let s = schema();
        let packer = Packer::new(&s);
        let mut hh = one_member("p", dec("123456789012345678901234.5"));
        let mut p = packer.pack(&hh);
        assert!(p.aside.is_some());
        hh.members[0].fields[1] = dec("3.25");
        packer.repack(&hh, &mut p);
        let ids = Ids::of(&hh);
        assert!(
            matches!(&ids.members, MemberIds::Listed(m) if m.len() == 1),
            "an identifier of another form is kept"
        );
        let back = packer.unpack(&p, &ids);
        assert_eq!(back, hh);
        // Only the text stays aside (the packer never interned it).
        assert_eq!(p.aside.as_ref().map(|a| a.len()), Some(1));
    }
}
