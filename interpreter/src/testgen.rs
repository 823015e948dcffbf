//! Seeded synthetic households for tests and benchmarks (not a population model: the simulator's
//! generator is). Driven by a policy's [`Schema`]: the fields of the Ji'an data contract (DATA.md) get
//! plausible distributions by name, any other field a distribution by type.
//!
//! Each household is generated from its own stream (seed, index), so a population is the same
//! whatever the order or the number of threads that generate it.
//!
//! Two profiles:
//! - [`Profile::Realistic`]: varied but plausible households (every enum value appears, deaths,
//!   imprisonment, illness and disability, schooling, pension contributions, assets, credit).
//! - [`Profile::Adversarial`]: the same, with about one field in five replaced by a boundary value:
//!   zero, a cent, negative amounts, many decimal places, amounts too large to compute exactly,
//!   `i64` extremes, no members or many members. For differential tests.

use crate::data::{Field, FieldType, Household, Person, Schema};
use crate::num::Num;
use crate::value::Value;
use doudi_dsl::ast::Date;
use rust_decimal::Decimal;
use std::sync::Arc;

/// SplitMix64: a small, fast, seedable generator (statistical quality is enough for test data).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The stream of item `index` of a run seeded with `seed`.
    pub fn stream(seed: u64, index: u64) -> Rng {
        let mut r = Rng(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next_u64();
        Rng(r.next_u64() ^ index)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    /// True with probability `p` percent.
    pub fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    /// One index by weights.
    pub fn weighted(&mut self, w: &[u64]) -> usize {
        let total: u64 = w.iter().sum();
        let mut x = self.below(total.max(1));
        for (i, &wi) in w.iter().enumerate() {
            if x < wi {
                return i;
            }
            x -= wi;
        }
        w.len() - 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Realistic,
    Adversarial,
}

/// Generates households for a schema.
#[derive(Debug, Clone)]
pub struct Gen {
    schema: Schema,
    seed: u64,
    profile: Profile,
    regions: Vec<Arc<str>>,
}

/// Ji'an's counties and districts (the `region` field).
pub const REGIONS: [&str; 13] = [
    "jizhou",
    "qingyuan",
    "jinggangshan",
    "jian_county",
    "jishui",
    "xiajiang",
    "xingan",
    "yongfeng",
    "taihe",
    "suichuan",
    "wanan",
    "anfu",
    "yongxin",
];

fn money(cents: i64) -> Value {
    Value::Num(Num::from_decimal(Decimal::new(cents, 2)))
}

/// An amount in yuan with cents, roughly log-uniform between `lo` and `hi` yuan: a decade at random,
/// then uniform inside it.
fn amount(r: &mut Rng, lo: i64, hi: i64) -> Value {
    let lo = lo.max(1);
    let mut edges = vec![lo];
    while edges[edges.len() - 1] * 10 < hi {
        let next = edges[edges.len() - 1] * 10;
        edges.push(next);
    }
    edges.push(hi.max(lo));
    let i = r.below((edges.len() - 1) as u64) as usize;
    let yuan = r.range(edges[i], edges[i + 1]);
    let cents = match r.below(4) {
        0 => 0,
        1 => r.range(0, 9) * 10,
        _ => r.range(0, 99),
    };
    money(yuan * 100 + cents)
}

impl Gen {
    pub fn new(schema: &Schema, seed: u64, profile: Profile) -> Gen {
        Gen {
            schema: schema.clone(),
            seed,
            profile,
            regions: REGIONS.iter().map(|s| Arc::from(*s)).collect(),
        }
    }

    /// Household number `index` (ids `H{index}` and `H{index}-{k}`).
    pub fn household(&self, index: u64) -> Household {
        let mut r = Rng::stream(self.seed, index);
        let adversarial = self.profile == Profile::Adversarial;
        let members = if adversarial && r.pct(2) {
            if r.pct(50) {
                0
            } else {
                r.range(7, 14) as usize
            }
        } else {
            [1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 7][r.below(16) as usize]
        };
        let id = format!("H{index}");
        let fields = self
            .schema
            .household
            .iter()
            .map(|f| self.in_range(f, self.field(&mut r, &f.name, &f.ty, None)))
            .collect();
        let mut hh = Household {
            id: id.clone(),
            fields,
            members: Vec::with_capacity(members),
            previous: None,
        };
        for k in 0..members {
            // The first member is an adult (the applicant); the others of any age.
            let age = if k == 0 {
                r.range(18, 90)
            } else {
                [r.range(0, 17), r.range(18, 59), r.range(60, 100)][r.weighted(&[30, 50, 20])]
            };
            let fields = self
                .schema
                .person
                .iter()
                .map(|f| self.in_range(f, self.field(&mut r, &f.name, &f.ty, Some(age))))
                .collect();
            hh.members.push(Person {
                id: format!("{id}-{k}"),
                fields,
            });
        }
        if adversarial && r.pct(5) && !hh.members.is_empty() {
            // Duplicate one member's fields onto another (ties inside aggregations).
            let a = r.below(hh.members.len() as u64) as usize;
            let b = r.below(hh.members.len() as u64) as usize;
            hh.members[b].fields = hh.members[a].fields.clone();
        }
        // Half the adversarial households of a policy with states come with an arbitrary history
        // (last month's states, of any value), so both evaluators read `previous` and fail alike.
        // Realistic histories come from evaluating an earlier month (see the differential test).
        if adversarial && !self.schema.states.is_empty() && r.pct(50) {
            let states = &self.schema.states;
            hh.previous = Some(
                states
                    .iter()
                    .map(|f| self.in_range(f, self.field(&mut r, &f.name, &f.ty, None)))
                    .collect(),
            );
        }
        hh
    }

    /// Households `start..start + n`.
    pub fn households(&self, start: u64, n: u64) -> Vec<Household> {
        (start..start + n).map(|i| self.household(i)).collect()
    }

    /// A realistic value moved into the field's declared range (`applied_day in 1..=31` and the
    /// like, which the generic values ignore); adversarial values are left as they are.
    fn in_range(&self, f: &Field, v: Value) -> Value {
        if self.profile == Profile::Adversarial || f.in_range(&v) {
            return v;
        }
        match (&v, &f.range) {
            (Value::Int(i), Some(range)) => {
                let d = Decimal::from(*i);
                let to_int = |b: Decimal| b.ceil().to_string().parse().unwrap_or(*i);
                match (range.lo, range.hi) {
                    (Some(lo), _) if d < lo => Value::Int(to_int(lo)),
                    (_, Some(hi)) if d > hi => Value::Int(to_int(hi.floor())),
                    _ => v,
                }
            }
            _ => v,
        }
    }

    fn field(&self, r: &mut Rng, name: &str, ty: &FieldType, age: Option<i64>) -> Value {
        if self.profile == Profile::Adversarial && r.pct(20) {
            if let Some(v) = self.boundary(r, ty) {
                return v;
            }
        }
        let enum_idx = |r: &mut Rng, w: &[u64], variants: &[String]| -> Value {
            // Weights for the known variants; an enum with other variants gets uniform weights.
            if w.len() == variants.len() {
                Value::Enum(r.weighted(w) as u16)
            } else {
                Value::Enum(r.below(variants.len().max(1) as u64) as u16)
            }
        };
        let adult = age.is_none_or(|a| a >= 18);
        match (name, ty, age.is_some()) {
            ("region", FieldType::Text, false) => {
                Value::Text(self.regions[r.below(self.regions.len() as u64) as usize].clone())
            }
            ("area", FieldType::Enum { variants, .. }, false) => enum_idx(r, &[45, 55], variants),
            ("registered_poor", FieldType::Bool, false) => Value::Bool(r.pct(15)),
            ("pure_female", FieldType::Bool, false) => Value::Bool(r.pct(8)),
            ("financial_assets", FieldType::Decimal, false) => match r.weighted(&[30, 55, 15]) {
                0 => money(0),
                1 => amount(r, 100, 60_000),
                _ => amount(r, 60_000, 2_000_000),
            },
            ("vehicles", FieldType::Int, false) => {
                Value::Int([0, 0, 0, 0, 0, 0, 0, 1, 1, 2][r.below(10) as usize])
            }
            ("houses", FieldType::Int, false) => {
                Value::Int([0, 1, 1, 1, 1, 1, 1, 2, 2, 3][r.below(10) as usize])
            }
            ("credit", FieldType::Enum { variants, .. }, false) => {
                enum_idx(r, &[88, 7, 3, 2], variants)
            }
            ("on_dibao", FieldType::Bool, false) => Value::Bool(r.pct(12)),
            ("age", FieldType::Int, true) => Value::Int(age.unwrap_or(40)),
            ("sex", FieldType::Enum { variants, .. }, true) => enum_idx(r, &[50, 50], variants),
            ("monthly_income", FieldType::Decimal, true) => {
                if !adult || r.pct(35) {
                    money(0)
                } else {
                    amount(r, 50, 9_000)
                }
            }
            ("employed", FieldType::Bool, true) => {
                Value::Bool(adult && age.unwrap_or(40) < 65 && r.pct(55))
            }
            ("employment_category", FieldType::Enum { variants, .. }, true) => {
                enum_idx(r, &[82, 7, 5, 6], variants)
            }
            ("disability_grade", FieldType::Int, true) => {
                Value::Int([0, 1, 2, 3, 4][r.weighted(&[86, 3, 4, 4, 3])])
            }
            ("self_care", FieldType::Enum { variants, .. }, true) => {
                let old = age.unwrap_or(40) >= 60;
                enum_idx(r, if old { &[75, 15, 10] } else { &[94, 4, 2] }, variants)
            }
            ("illness", FieldType::Enum { variants, .. }, true) => {
                enum_idx(r, &[84, 2, 3, 3, 3, 5], variants)
            }
            ("medical_oop_12m", FieldType::Decimal, true) => match r.weighted(&[60, 30, 10]) {
                0 => money(0),
                1 => amount(r, 100, 20_000),
                _ => amount(r, 20_000, 200_000),
            },
            ("rehab_cost_year", FieldType::Decimal, true) => {
                if r.pct(85) {
                    money(0)
                } else {
                    amount(r, 200, 9_000)
                }
            }
            ("schooling", FieldType::Enum { variants, .. }, true) => {
                let a = age.unwrap_or(40);
                let w: &[u64] = if a < 6 {
                    &[100, 0, 0, 0, 0, 0, 0]
                } else if a < 15 {
                    &[5, 95, 0, 0, 0, 0, 0]
                } else if a < 18 {
                    &[10, 10, 45, 35, 0, 0, 0]
                } else if a < 25 {
                    &[50, 0, 2, 8, 15, 22, 3]
                } else {
                    &[97, 0, 0, 1, 1, 1, 0]
                };
                enum_idx(r, w, variants)
            }
            ("tuition_year", FieldType::Decimal, true) => {
                if r.pct(70) {
                    money(0)
                } else {
                    amount(r, 1_000, 15_000)
                }
            }
            ("pension_contrib_year", FieldType::Decimal, true) => match r.weighted(&[50, 30, 20]) {
                0 => money(0),
                1 => money([100, 200, 300, 500, 800, 1000, 1500, 2000][r.below(8) as usize] * 100),
                _ => amount(r, 100, 3_000),
            },
            ("alive", FieldType::Bool, true) => Value::Bool(!r.pct(2)),
            ("imprisoned", FieldType::Bool, true) => Value::Bool(adult && r.pct(1)),
            ("has_supporter", FieldType::Bool, true) => Value::Bool(r.pct(80)),
            // 特困供养: rare (about one person in a hundred is supported destitute).
            ("tekun", FieldType::Bool, true) => Value::Bool(r.pct(1)),
            _ => self.generic(r, ty),
        }
    }

    fn generic(&self, r: &mut Rng, ty: &FieldType) -> Value {
        match ty {
            FieldType::Bool => Value::Bool(r.pct(50)),
            FieldType::Int => Value::Int(r.range(0, 10)),
            FieldType::Decimal => amount(r, 1, 10_000),
            FieldType::Date => Value::Date(Date {
                year: r.range(1990, 2030) as i32,
                month: r.range(1, 12) as u8,
                day: r.range(1, 28) as u8,
            }),
            FieldType::Text => Value::Text(format!("t{}", r.below(20)).into()),
            FieldType::Enum { variants, .. } => {
                Value::Enum(r.below(variants.len().max(1) as u64) as u16)
            }
        }
    }

    /// A boundary value of a type (`None`: keep the ordinary value).
    fn boundary(&self, r: &mut Rng, ty: &FieldType) -> Option<Value> {
        Some(match ty {
            FieldType::Decimal => {
                let d = match r.below(16) {
                    0 => Decimal::ZERO,
                    1 => Decimal::new(1, 2),
                    2 => Decimal::new(-1, 2),
                    3 => Decimal::new(-r.range(1, 10_000_000), 2),
                    4 => Decimal::new(r.range(1, 1_000_000) * 12, 2), // divides by 12 exactly
                    5 => Decimal::new(r.range(0, i64::MAX / 2), r.range(0, 6) as u32),
                    6 => Decimal::from_i128_with_scale(
                        r.range(1, 1 << 40) as i128,
                        r.range(5, 28) as u32,
                    ),
                    7 => Decimal::from_i128_with_scale(
                        (1i128 << 96) - 1 - r.range(0, 1000) as i128,
                        r.range(0, 4) as u32,
                    ),
                    8 => Decimal::from_i128_with_scale(1i128 << 62, 2),
                    9 => Decimal::from_i128_with_scale((1i128 << 62) - 1, 2),
                    10 => Decimal::new(r.range(1, 100_000_000_000), 0),
                    11 => Decimal::new(300_000, 2),
                    12 => Decimal::new(r.range(0, 99_999), 4),
                    13 => Decimal::new(r.range(1, 1000) * 1000, 2), // trailing zeros
                    14 => Decimal::new(1, 28),
                    _ => Decimal::new(r.range(0, 100_000_000), 3),
                };
                Value::Num(Num::from_decimal(d))
            }
            FieldType::Int => Value::Int(match r.below(10) {
                0 => 0,
                1 => 1,
                2 => 2,
                3 => -1,
                4 => i64::MAX,
                5 => i64::MIN,
                6 => 1 << 62,
                7 => (1 << 62) - 1,
                8 => r.range(-1000, 1000),
                _ => r.range(0, 1 << 40),
            }),
            FieldType::Bool => Value::Bool(r.pct(50)),
            FieldType::Enum { variants, .. } => {
                Value::Enum(r.below(variants.len().max(1) as u64) as u16)
            }
            // A code no table knows (a region outside the policy's list), now and then.
            FieldType::Text if r.pct(10) => Value::Text(Arc::from("unknown_code")),
            _ => return None,
        })
    }
}

/// `n` households in parallel (the same as generating them one by one).
pub fn population(schema: &Schema, seed: u64, n: u64, profile: Profile) -> Vec<Household> {
    population_range(schema, seed, 0, n, profile)
}

/// Households `start..start + n` of a population, in parallel.
pub fn population_range(
    schema: &Schema,
    seed: u64,
    start: u64,
    n: u64,
    profile: Profile,
) -> Vec<Household> {
    use rayon::prelude::*;
    let g = Gen::new(schema, seed, profile);
    (start..start + n)
        .into_par_iter()
        .map(|i| g.household(i))
        .collect()
}
