//! The Ji'an rules (POLICY-SPEC.md) written by hand in plain Rust with rust_decimal: the speed limit
//! for exact money. Exact like doudi: no division is ever rounded. Divisions by 12 and by `n` are
//! avoided by scaling: `y < S` is decided as `max(0, 12·G − D12) < 12·S·n` where `D12 = 12·D` is a sum
//! of yearly amounts, and the payment `(S − y)·n = (12·S·n − max(0, 12·G − D12)) / 12` is rounded to
//! cents with exact integer arithmetic.

use doudi::interpreter::data::{Household, Schema};
use doudi::interpreter::{Num, Value};
use rust_decimal::Decimal;

/// A member, in the form a hand-written program would hold it.
#[derive(Clone, Debug)]
pub struct HwPerson {
    pub age: i64,
    pub monthly_income: Decimal,
    pub employed: bool,
    pub employment_category: u8,
    pub disability_grade: i64,
    pub self_care: u8,
    pub illness: u8,
    pub medical_oop_12m: Decimal,
    pub rehab_cost_year: Decimal,
    pub schooling: u8,
    pub tuition_year: Decimal,
    pub pension_contrib_year: Decimal,
    pub alive: bool,
    pub imprisoned: bool,
    pub has_supporter: bool,
    /// 特困供养人员 (optional in the data: false when absent)
    pub tekun: bool,
}

#[derive(Clone, Debug)]
pub struct HwHousehold {
    /// Index of the region code in `HwParams::regions`.
    pub region: u8,
    pub area: u8,
    pub registered_poor: bool,
    pub pure_female: bool,
    pub financial_assets: Decimal,
    pub vehicles: i64,
    pub houses: i64,
    pub credit: u8,
    pub members: Vec<HwPerson>,
}

/// The Ji'an parameters in force in the evaluated month.
#[derive(Clone, Debug)]
pub struct HwParams {
    /// dibao_standard by area (urban, rural)
    pub standard: [Decimal; 2],
    pub rehab_cap: Decimal,
    pub employment_cost_rate: Decimal,
    pub asset_months: i64,
    pub max_vehicles: i64,
    pub max_houses: i64,
    pub care_allowance_amount: Decimal,
    /// centralised_care_standard by self_care (independent, semi, fully)
    pub centralised: [Decimal; 3],
    /// The region codes and, for each, whether centralised care is adopted (a local option).
    pub regions: Vec<(&'static str, bool)>,
    pub elderly_age: i64,
    pub grace_income_multiple: Decimal,
    pub grace_months: i64,
    pub near_poor_multiple: Decimal,
    pub expenditure_share: Decimal,
}

impl HwParams {
    /// The values of POLICY-SPEC.md for 2024 (urban 734, rural 554).
    pub fn ji_an_2024() -> HwParams {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        HwParams {
            standard: [d("734"), d("554")],
            rehab_cap: d("3000"),
            employment_cost_rate: d("0.30"),
            asset_months: 24,
            max_vehicles: 0,
            max_houses: 1,
            care_allowance_amount: d("300"),
            centralised: [d("0"), d("319"), d("478")],
            regions: [
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
            ]
            .into_iter()
            .map(|r| (r, r == "qingyuan"))
            .collect(),
            elderly_age: 60,
            grace_income_multiple: d("1.5"),
            grace_months: 6,
            near_poor_multiple: d("2"),
            expenditure_share: d("0.50"),
        }
    }
}

/// The household outputs of POLICY-SPEC.md. Amounts that may not terminate are exact fractions
/// `(numerator, denominator)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HwOutputs {
    pub assets_ok: bool,
    pub credit_ok: bool,
    pub standard: Decimal,
    pub member_count: i64,
    pub gross_income: Decimal,
    /// rigid_deductions = d12 / 12
    pub rigid_deductions_12: Decimal,
    /// per_capita_income = num / den
    pub per_capita_num: Decimal,
    pub per_capita_den: i64,
    pub dibao_eligible: bool,
    pub dibao_payment: Decimal,
    pub grace_income_line: Decimal,
    pub grace_period: i64,
    pub expenditure_poor: bool,
    pub cash_benefit: Decimal,
    pub total_benefit: Decimal,
    pub care_allowance: Decimal,
    pub centralised_care_cost: Decimal,
    pub priority_group: bool,
}

// Enum variant indices of the Ji'an schema (policies/jiangxi/inputs.doudi).
const URBAN: u8 = 0;
const RURAL: u8 = 1;
const EMP_NONE: u8 = 0;
const FULLY_DISABLED: u8 = 2;
const SEMI_DISABLED: u8 = 1;
const ILL_NONE: u8 = 0;
const UREMIA: u8 = 1;
const MENTAL: u8 = 2;
const CANCER: u8 = 3;
const OTHER_MAJOR: u8 = 4;
const SECONDARY_VOCATIONAL: u8 = 3;
const HIGHER_VOCATIONAL: u8 = 4;
const UNIVERSITY: u8 = 5;

/// `x / k` rounded half away from zero to cents, exactly (integer arithmetic on the mantissa).
fn div_round_cents(x: Decimal, k: i64) -> Decimal {
    let (m, s) = (x.mantissa(), x.scale());
    // x * 100 / k = m * 100 / (10^s * k)
    let num = m * 100;
    let den = 10i128.pow(s) * k as i128;
    let (q, r) = (num / den, num % den);
    let q = if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    };
    Decimal::from_i128_with_scale(q, 2)
}

pub fn evaluate(h: &HwHousehold, p: &HwParams) -> HwOutputs {
    let s = p.standard[h.area as usize];
    let twelve = Decimal::from(12);
    let mut n = 0i64;
    let mut g = Decimal::ZERO;
    let mut d12 = Decimal::ZERO;
    let mut priority = false;
    let employment_cost12 = p.employment_cost_rate * s * twelve;
    for m in &h.members {
        if !m.alive || m.imprisoned {
            continue;
        }
        n += 1;
        g += m.monthly_income;
        if m.illness != ILL_NONE {
            d12 += m.medical_oop_12m;
        }
        if m.disability_grade >= 1 {
            d12 += m.rehab_cost_year.min(p.rehab_cap);
        }
        if matches!(
            m.schooling,
            SECONDARY_VOCATIONAL | HIGHER_VOCATIONAL | UNIVERSITY
        ) {
            d12 += m.tuition_year;
        }
        d12 += m.pension_contrib_year;
        if m.employed && m.employment_category != EMP_NONE {
            d12 += employment_cost12;
        }
        if matches!(m.disability_grade, 1 | 2) || matches!(m.illness, UREMIA | MENTAL | CANCER) {
            priority = true;
        }
    }
    // per_capita_income = max(0, G - D) / n = max(0, 12G - D12) / (12 n)
    let surplus12 = (g * twelve - d12).max(Decimal::ZERO);
    let (pc_num, pc_den) = if n == 0 {
        (Decimal::ZERO, 1)
    } else {
        (surplus12, 12 * n)
    };
    let nd = Decimal::from(n);
    let assets_ok = h.financial_assets <= s * Decimal::from(p.asset_months) * nd
        && h.vehicles <= p.max_vehicles
        && h.houses <= p.max_houses;
    // Ji'an does not stop benefits for dishonesty (001 五(二)).
    let credit_ok = true;
    // y < S  <=>  surplus12 < 12 S n
    let s12n = s * twelve * nd;
    let eligible =
        n >= 1 && (if n == 0 { Decimal::ZERO } else { surplus12 }) < s12n && assets_ok && credit_ok;
    let payment = if eligible {
        div_round_cents(s12n - surplus12, 12)
    } else {
        Decimal::ZERO
    };
    // y < 2 S and D >= 50% G
    let expenditure_poor = n >= 1
        && !eligible
        && assets_ok
        && credit_ok
        && surplus12 < p.near_poor_multiple * s12n
        && d12 >= p.expenditure_share * g * twelve;
    let mut care_count = 0i64;
    let mut centralised = Decimal::ZERO;
    for m in &h.members {
        if !m.alive || m.imprisoned {
            continue;
        }
        if h.area == URBAN
            && !m.tekun
            && (eligible || expenditure_poor)
            && (matches!(m.illness, UREMIA | MENTAL | CANCER | OTHER_MAJOR)
                || matches!(m.disability_grade, 1 | 2))
            && m.self_care == FULLY_DISABLED
        {
            care_count += 1;
        }
        if p.regions[h.region as usize].1
            && h.area == RURAL
            && h.registered_poor
            && h.pure_female
            && m.age >= p.elderly_age
            && matches!(m.self_care, SEMI_DISABLED | FULLY_DISABLED)
            && !m.has_supporter
        {
            centralised += p.centralised[m.self_care as usize];
        }
    }
    let care = p.care_allowance_amount * Decimal::from(care_count);
    let round = |x: Decimal| {
        x.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    let cash = round(payment + care);
    let total = round(payment + care + centralised);
    HwOutputs {
        assets_ok,
        credit_ok,
        standard: s,
        member_count: n,
        gross_income: g,
        rigid_deductions_12: d12,
        per_capita_num: pc_num,
        per_capita_den: pc_den,
        dibao_eligible: eligible,
        dibao_payment: payment,
        grace_income_line: p.grace_income_multiple * s,
        grace_period: p.grace_months,
        expenditure_poor,
        cash_benefit: cash,
        total_benefit: total,
        care_allowance: care,
        centralised_care_cost: centralised,
        priority_group: priority,
    }
}

fn dec(v: &Value) -> Decimal {
    match v {
        Value::Num(n) => n.to_decimal().expect("a decimal input"),
        Value::Int(i) => Decimal::from(*i),
        _ => panic!("not a number: {v:?}"),
    }
}
fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => panic!("not an integer: {v:?}"),
    }
}
fn en(v: &Value) -> u8 {
    match v {
        Value::Enum(e) => *e as u8,
        _ => panic!("not an enum: {v:?}"),
    }
}
fn bo(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        _ => panic!("not a bool: {v:?}"),
    }
}

/// Where the Ji'an fields are in doudi's data model.
pub struct Layout {
    h: [usize; 8],
    p: [usize; 16],
    /// The region codes, in the order of `HwParams::regions`.
    regions: Vec<&'static str>,
}

impl Layout {
    pub fn new(schema: &Schema) -> Layout {
        Layout::with_regions(
            schema,
            HwParams::ji_an_2024().regions.iter().map(|r| r.0).collect(),
        )
    }

    fn with_regions(schema: &Schema, regions: Vec<&'static str>) -> Layout {
        let h = |n: &str| {
            schema
                .household_index(n)
                .unwrap_or_else(|| panic!("no household field {n}"))
        };
        let p = |n: &str| {
            schema
                .person_index(n)
                .unwrap_or_else(|| panic!("no person field {n}"))
        };
        Layout {
            h: [
                "area",
                "registered_poor",
                "pure_female",
                "financial_assets",
                "vehicles",
                "houses",
                "credit",
                "region",
            ]
            .map(h),
            p: [
                "age",
                "monthly_income",
                "employed",
                "employment_category",
                "disability_grade",
                "self_care",
                "illness",
                "medical_oop_12m",
                "rehab_cost_year",
                "schooling",
                "tuition_year",
                "pension_contrib_year",
                "alive",
                "imprisoned",
                "has_supporter",
                "tekun",
            ]
            .map(p),
            regions,
        }
    }

    /// A doudi household in the hand-written form.
    pub fn load(&self, h: &Household) -> HwHousehold {
        let f = &h.fields;
        let x = &self.h;
        HwHousehold {
            area: en(&f[x[0]]),
            registered_poor: bo(&f[x[1]]),
            pure_female: bo(&f[x[2]]),
            financial_assets: dec(&f[x[3]]),
            vehicles: int(&f[x[4]]),
            houses: int(&f[x[5]]),
            credit: en(&f[x[6]]),
            region: match &f[x[7]] {
                Value::Text(t) => {
                    self.regions
                        .iter()
                        .position(|r| **r == **t)
                        .unwrap_or_else(|| panic!("unknown region {t}")) as u8
                }
                v => panic!("not a text: {v:?}"),
            },
            members: h
                .members
                .iter()
                .map(|p| {
                    let f = &p.fields;
                    let x = &self.p;
                    HwPerson {
                        age: int(&f[x[0]]),
                        monthly_income: dec(&f[x[1]]),
                        employed: bo(&f[x[2]]),
                        employment_category: en(&f[x[3]]),
                        disability_grade: int(&f[x[4]]),
                        self_care: en(&f[x[5]]),
                        illness: en(&f[x[6]]),
                        medical_oop_12m: dec(&f[x[7]]),
                        rehab_cost_year: dec(&f[x[8]]),
                        schooling: en(&f[x[9]]),
                        tuition_year: dec(&f[x[10]]),
                        pension_contrib_year: dec(&f[x[11]]),
                        alive: bo(&f[x[12]]),
                        imprisoned: bo(&f[x[13]]),
                        has_supporter: bo(&f[x[14]]),
                        tekun: bo(&f[x[15]]),
                    }
                })
                .collect(),
        }
    }
}

/// The hand-written outputs as doudi values, in the order of `names` (doudi's household outputs), for
/// checking that both give the same answers.
pub fn as_values(o: &HwOutputs, names: &[String]) -> Vec<Value> {
    let num = |d: Decimal| Value::Num(Num::from_decimal(d));
    let frac = |n: Decimal, d: i64| {
        let q = Num::from_decimal(n)
            .checked_div(&Num::from_i64(d))
            .expect("exact");
        Value::Num(q)
    };
    names
        .iter()
        .map(|name| match name.as_str() {
            "assets_ok" => Value::Bool(o.assets_ok),
            "credit_ok" => Value::Bool(o.credit_ok),
            "standard" => num(o.standard),
            "member_count" => Value::Int(o.member_count),
            "gross_income" => num(o.gross_income),
            "rigid_deductions" => frac(o.rigid_deductions_12, 12),
            "per_capita_income" => frac(o.per_capita_num, o.per_capita_den),
            "dibao_eligible" => Value::Bool(o.dibao_eligible),
            "dibao_payment" => num(o.dibao_payment),
            "grace_income_line" => num(o.grace_income_line),
            "grace_period" => Value::Int(o.grace_period),
            "expenditure_poor" => Value::Bool(o.expenditure_poor),
            "cash_benefit" => num(o.cash_benefit),
            "total_benefit" => num(o.total_benefit),
            "care_allowance" => num(o.care_allowance),
            "centralised_care_cost" => num(o.centralised_care_cost),
            "priority_group" => Value::Bool(o.priority_group),
            other => panic!("no hand-written output {other}"),
        })
        .collect()
}
