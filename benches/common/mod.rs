//! Shared by the benchmarks: the Ji'an policy, the seeded population (`testgen`, the generator the
//! differential test uses), and the two baselines doudi is measured against (the same rules by hand
//! in Rust, and as a rhai script).

#![allow(dead_code)]

pub mod handwritten;

use doudi::dsl::ast::EntityKind;
use doudi::interpreter::data::Household;
use doudi::interpreter::testgen::{population_range, Profile};
use doudi::interpreter::Value;
use doudi::{Month, Policy};
use handwritten::{HwOutputs, HwParams};
use rhai::{Dynamic, Engine, Map, Scope, AST};
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

pub fn jian() -> Policy {
    Policy::load(&root().join("policies/jian"))
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .policy
}

pub fn month() -> Month {
    Month::parse("2024-01").unwrap()
}

/// Every household definition, in declaration order (what `doudi eval` prints by default).
/// The POLICY-SPEC one-month household outputs (what the hand-written code and the rhai script compute
/// too). The rules over time (states, dates, the working-day calendar) are measured separately.
pub const SPEC_OUTPUTS: &[&str] = &[
    "assets_ok",
    "care_allowance",
    "cash_benefit",
    "centralised_care_cost",
    "credit_ok",
    "dibao_eligible",
    "dibao_payment",
    "expenditure_poor",
    "grace_income_line",
    "grace_period",
    "gross_income",
    "member_count",
    "per_capita_income",
    "priority_group",
    "rigid_deductions",
    "standard",
    "total_benefit",
];

/// The ids of [`SPEC_OUTPUTS`], in the policy's declaration order.
pub fn household_outputs(p: &Policy) -> Vec<u32> {
    let mut ids: Vec<u32> = SPEC_OUTPUTS
        .iter()
        .map(|n| {
            p.program
                .def_by_name(EntityKind::Household, n)
                .unwrap_or_else(|| panic!("the policy has no household definition `{n}`"))
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Every household definition, the rules over time included.
pub fn all_household_outputs(p: &Policy) -> Vec<u32> {
    p.program
        .defs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.entity == EntityKind::Household)
        .map(|(i, _)| i as u32)
        .collect()
}

/// The seeded realistic population every benchmark uses (households `0..n` of seed 1).
pub fn population(p: &Policy, n: u64) -> Vec<Household> {
    population_range(&p.schema, 1, 0, n, Profile::Realistic)
}

/// The households count for the population benchmarks (`DOUDI_BENCH_HOUSEHOLDS`, default 1,000,000).
pub fn households() -> u64 {
    std::env::var("DOUDI_BENCH_HOUSEHOLDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

// ---------------------------------------------------------------------------------------------
// rhai baseline
// ---------------------------------------------------------------------------------------------

/// The Ji'an rules as a rhai script (`benches/common/jian.rhai`), households as rhai maps.
pub struct RhaiJian {
    engine: Engine,
    ast: AST,
    params: Dynamic,
}

impl RhaiJian {
    pub fn new() -> RhaiJian {
        let mut engine = Engine::new();
        engine.set_max_expr_depths(0, 0);
        let ast = engine
            .compile(include_str!("jian.rhai"))
            .expect("the script compiles");
        let p = HwParams::ji_an_2024();
        let mut m = Map::new();
        let d = |x: Decimal| Dynamic::from_decimal(x);
        m.insert("standard_urban".into(), d(p.standard[0]));
        m.insert("standard_rural".into(), d(p.standard[1]));
        m.insert("twelve".into(), d(Decimal::from(12)));
        m.insert("zero".into(), d(Decimal::ZERO));
        m.insert("rehab_cap".into(), d(p.rehab_cap));
        m.insert("employment_cost_rate".into(), d(p.employment_cost_rate));
        m.insert("asset_months".into(), d(Decimal::from(p.asset_months)));
        m.insert("max_vehicles".into(), Dynamic::from_int(p.max_vehicles));
        m.insert("max_houses".into(), Dynamic::from_int(p.max_houses));
        m.insert("care_allowance_amount".into(), d(p.care_allowance_amount));
        m.insert("centralised_semi".into(), d(p.centralised[1]));
        m.insert("centralised_fully".into(), d(p.centralised[2]));
        let mut adopted = Map::new();
        for (r, a) in &p.regions {
            adopted.insert((*r).into(), Dynamic::from_bool(*a));
        }
        m.insert("centralised_adopted".into(), Dynamic::from_map(adopted));
        m.insert("elderly_age".into(), Dynamic::from_int(p.elderly_age));
        m.insert("grace_income_multiple".into(), d(p.grace_income_multiple));
        m.insert("grace_months".into(), Dynamic::from_int(p.grace_months));
        m.insert("near_poor_multiple".into(), d(p.near_poor_multiple));
        m.insert("expenditure_share".into(), d(p.expenditure_share));
        let strs = |xs: &[&str]| {
            Dynamic::from_array(xs.iter().map(|s| Dynamic::from(s.to_string())).collect())
        };
        m.insert(
            "deductible_schooling".into(),
            strs(&["secondary_vocational", "higher_vocational", "university"]),
        );
        m.insert(
            "priority_illness".into(),
            strs(&["uremia", "mental", "cancer"]),
        );
        m.insert(
            "care_illness".into(),
            strs(&["uremia", "mental", "cancer", "other_major"]),
        );
        RhaiJian {
            engine,
            ast,
            params: Dynamic::from_map(m).into_shared(),
        }
    }

    /// A household as an embedder would hand it to a script: a map, enums by name (shared, so that
    /// passing it to the script does not copy it).
    pub fn household(p: &Policy, h: &Household) -> Dynamic {
        let value = |ty: &doudi::interpreter::data::FieldType, v: &Value| -> Dynamic {
            match v {
                Value::Bool(b) => Dynamic::from_bool(*b),
                Value::Int(i) => Dynamic::from_int(*i),
                Value::Num(n) => Dynamic::from_decimal(n.to_decimal().expect("decimal input")),
                Value::Text(t) => Dynamic::from(t.to_string()),
                Value::Enum(e) => match ty {
                    doudi::interpreter::data::FieldType::Enum { variants, .. } => {
                        Dynamic::from(variants[*e as usize].clone())
                    }
                    _ => Dynamic::UNIT,
                },
                Value::Date(_) => Dynamic::UNIT,
            }
        };
        let mut m = Map::new();
        for (f, v) in p.schema.household.iter().zip(&h.fields) {
            m.insert(f.name.as_str().into(), value(&f.ty, v));
        }
        let members: Vec<Dynamic> = h
            .members
            .iter()
            .map(|pm| {
                let mut x = Map::new();
                for (f, v) in p.schema.person.iter().zip(&pm.fields) {
                    x.insert(f.name.as_str().into(), value(&f.ty, v));
                }
                Dynamic::from_map(x)
            })
            .collect();
        m.insert("members".into(), Dynamic::from_array(members));
        Dynamic::from_map(m).into_shared()
    }

    pub fn evaluate(&self, h: &Dynamic) -> Map {
        let mut scope = Scope::new();
        self.engine
            .call_fn::<Map>(
                &mut scope,
                &self.ast,
                "evaluate",
                (h.clone(), self.params.clone()),
            )
            .expect("the script runs")
    }

    /// The script's outputs in the hand-written form (to check that both agree).
    pub fn as_hw(m: &Map) -> HwOutputs {
        let dec = |k: &str| m[k].as_decimal().unwrap_or_else(|_| panic!("{k}"));
        let int = |k: &str| m[k].as_int().unwrap_or_else(|_| panic!("{k}"));
        let bo = |k: &str| m[k].as_bool().unwrap_or_else(|_| panic!("{k}"));
        HwOutputs {
            assets_ok: bo("assets_ok"),
            credit_ok: bo("credit_ok"),
            standard: dec("standard"),
            member_count: int("member_count"),
            gross_income: dec("gross_income"),
            rigid_deductions_12: dec("rigid_deductions_12"),
            per_capita_num: dec("per_capita_num"),
            per_capita_den: int("per_capita_den"),
            dibao_eligible: bo("dibao_eligible"),
            dibao_payment: dec("dibao_payment"),
            grace_income_line: dec("grace_income_line"),
            grace_period: int("grace_period"),
            expenditure_poor: bo("expenditure_poor"),
            cash_benefit: dec("cash_benefit"),
            total_benefit: dec("total_benefit"),
            care_allowance: dec("care_allowance"),
            centralised_care_cost: dec("centralised_care_cost"),
            priority_group: bo("priority_group"),
        }
    }
}
