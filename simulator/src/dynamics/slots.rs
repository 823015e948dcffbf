//! Where the dynamics read and write the data: the slots of the DATA.md fields and the enum
//! variants they use, and conversions between values and cents.

use doudi_interpreter::data::{FieldType, Schema};
use doudi_interpreter::{Num, Value};
use rust_decimal::Decimal;

/// Slots of the DATA.md fields the dynamics change, and the enum variants they use.
#[derive(Debug, Clone)]
pub struct Slots {
    pub region: usize,
    pub area: usize,
    pub credit: usize,
    pub on_dibao: usize,
    pub age: usize,
    pub monthly_income: usize,
    pub employed: usize,
    pub employment_category: usize,
    pub disability_grade: usize,
    pub self_care: usize,
    pub illness: usize,
    pub medical_oop_12m: usize,
    pub rehab_cost_year: usize,
    pub schooling: usize,
    pub tuition_year: usize,
    pub alive: usize,
    pub imprisoned: usize,
    pub area_variants: Vec<String>,
    pub urban: u16,
    pub credit_good: u16,
    pub credit_general: u16,
    pub credit_serious: u16,
    pub credit_severe: u16,
    pub cat_none: u16,
    pub cat_fresh_graduate: u16,
    pub sc_independent: u16,
    pub sc_semi: u16,
    pub sc_fully: u16,
    pub ill_none: u16,
    pub ill_uremia: u16,
    pub ill_mental: u16,
    pub ill_cancer: u16,
    pub ill_other_major: u16,
    pub ill_chronic: u16,
    pub sch_none: u16,
    pub sch_compulsory: u16,
    pub sch_high_school: u16,
    pub sch_secondary_vocational: u16,
    pub sch_higher_vocational: u16,
    pub sch_university: u16,
}

impl Slots {
    /// Uremia, cancer or a mental illness: an illness that keeps a person from looking for work.
    pub fn serious_illness(&self, illness: u16) -> bool {
        illness == self.ill_uremia || illness == self.ill_cancer || illness == self.ill_mental
    }

    /// Finds the fields in a policy's schema; the error names the missing field or variant.
    pub fn new(schema: &Schema) -> Result<Slots, String> {
        let h = |n: &str| {
            schema.household_index(n).ok_or_else(|| format!("the policy declares no household input `{n}`, which the simulator needs (DATA.md)"))
        };
        let p = |n: &str| {
            schema.person_index(n).ok_or_else(|| format!("the policy declares no person input `{n}`, which the simulator needs (DATA.md)"))
        };
        let variants = |ty: &FieldType, field: &str| -> Result<Vec<String>, String> {
            match ty {
                FieldType::Enum { variants, .. } => Ok(variants.clone()),
                _ => Err(format!("the input `{field}` must be an enum (DATA.md)")),
            }
        };
        let var = |vs: &[String], field: &str, v: &str| -> Result<u16, String> {
            vs.iter()
                .position(|x| x == v)
                .map(|i| i as u16)
                .ok_or_else(|| format!("the input `{field}` has no value `{v}` (DATA.md)"))
        };
        let (region, area, credit, on_dibao) =
            (h("region")?, h("area")?, h("credit")?, h("on_dibao")?);
        let area_v = variants(&schema.household[area].ty, "area")?;
        let credit_v = variants(&schema.household[credit].ty, "credit")?;
        let (age, monthly_income, employed, employment_category) = (
            p("age")?,
            p("monthly_income")?,
            p("employed")?,
            p("employment_category")?,
        );
        let (disability_grade, self_care, illness, medical_oop_12m) = (
            p("disability_grade")?,
            p("self_care")?,
            p("illness")?,
            p("medical_oop_12m")?,
        );
        let (rehab_cost_year, schooling, tuition_year, alive, imprisoned) = (
            p("rehab_cost_year")?,
            p("schooling")?,
            p("tuition_year")?,
            p("alive")?,
            p("imprisoned")?,
        );
        let cat_v = variants(
            &schema.person[employment_category].ty,
            "employment_category",
        )?;
        let sc_v = variants(&schema.person[self_care].ty, "self_care")?;
        let ill_v = variants(&schema.person[illness].ty, "illness")?;
        let sch_v = variants(&schema.person[schooling].ty, "schooling")?;
        Ok(Slots {
            region,
            area,
            credit,
            on_dibao,
            age,
            monthly_income,
            employed,
            employment_category,
            disability_grade,
            self_care,
            illness,
            medical_oop_12m,
            rehab_cost_year,
            schooling,
            tuition_year,
            alive,
            imprisoned,
            urban: var(&area_v, "area", "urban")?,
            area_variants: area_v.clone(),
            credit_good: var(&credit_v, "credit", "good")?,
            credit_general: var(&credit_v, "credit", "general")?,
            credit_serious: var(&credit_v, "credit", "serious")?,
            credit_severe: var(&credit_v, "credit", "severe")?,
            cat_none: var(&cat_v, "employment_category", "none")?,
            cat_fresh_graduate: var(&cat_v, "employment_category", "fresh_graduate")?,
            sc_independent: var(&sc_v, "self_care", "independent")?,
            sc_semi: var(&sc_v, "self_care", "semi_disabled")?,
            sc_fully: var(&sc_v, "self_care", "fully_disabled")?,
            ill_none: var(&ill_v, "illness", "none")?,
            ill_uremia: var(&ill_v, "illness", "uremia")?,
            ill_mental: var(&ill_v, "illness", "mental")?,
            ill_cancer: var(&ill_v, "illness", "cancer")?,
            ill_other_major: var(&ill_v, "illness", "other_major")?,
            ill_chronic: var(&ill_v, "illness", "chronic")?,
            sch_none: var(&sch_v, "schooling", "none")?,
            sch_compulsory: var(&sch_v, "schooling", "compulsory")?,
            sch_high_school: var(&sch_v, "schooling", "high_school")?,
            sch_secondary_vocational: var(&sch_v, "schooling", "secondary_vocational")?,
            sch_higher_vocational: var(&sch_v, "schooling", "higher_vocational")?,
            sch_university: var(&sch_v, "schooling", "university")?,
        })
    }
}

/// Money in cents from a value (rounded half away from zero to the cent).
pub fn cents_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) => i.saturating_mul(100),
        Value::Num(n) => n
            .checked_mul_i64(100)
            .ok()
            .and_then(|x| x.round_to(Decimal::ONE).ok())
            .and_then(|x| x.to_i64())
            .unwrap_or(0),
        _ => 0,
    }
}

pub fn money(cents: i64) -> Value {
    Value::Num(Num::from_decimal(Decimal::new(cents, 2)))
}

pub(super) fn yuan_cents(yuan: f64) -> i64 {
    if yuan.is_finite() {
        (yuan.clamp(0.0, 1e12) * 100.0).round() as i64
    } else {
        0
    }
}

pub(super) fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Num(n) => n.to_i64().unwrap_or(0),
        _ => 0,
    }
}

pub(super) fn enum_of(v: &Value) -> u16 {
    match v {
        Value::Enum(e) => *e,
        _ => u16::MAX,
    }
}
