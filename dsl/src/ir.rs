//! The checked, resolved policy: what the interpreter evaluates. Every name is an index, every
//! expression has its type, every definition keeps its citations and source location.

use crate::ast::{AggKind, CmpOp, Date, EntityKind, HitPolicy, Period, Span};
use crate::diag::SourceMap;
use rust_decimal::Decimal;
use serde::Serialize;

pub type EnumId = u32;
pub type ParamId = u32;
pub type DefId = u32;
pub type ExternId = u32;

/// A checked type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    Bool,
    Int,
    Decimal,
    Percent,
    Money(Period),
    Months,
    Date,
    Text,
    Enum(EnumId),
    /// A number literal whose type comes from its context; `true` when written without a decimal point.
    Lit(bool),
}

impl Ty {
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Ty::Int | Ty::Decimal | Ty::Percent | Ty::Money(_) | Ty::Months | Ty::Lit(_)
        )
    }
    /// Whether values of this type are integers at run time (`Value::Int`).
    pub fn is_integer(self) -> bool {
        matches!(self, Ty::Int | Ty::Months)
    }
    pub fn is_money(self) -> bool {
        matches!(self, Ty::Money(_))
    }
}

/// A constant in checked code.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Const {
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Date(#[serde(serialize_with = "ser_date")] Date),
    Text(String),
    Enum(u16),
}

fn ser_date<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_date(*d))
}

pub fn format_date(d: Date) -> String {
    if !(0..=9999).contains(&d.year) || d.month > 99 || d.day > 99 {
        return format!("{:04}-{:02}-{:02}", d.year, d.month, d.day);
    }
    // `YYYY-MM-DD` without the formatting machinery (eval writes one per date output and row).
    let (y, m, day) = (d.year as u32, d.month as u32, d.day as u32);
    let digit = |n: u32| char::from(b'0' + n as u8);
    let mut s = String::with_capacity(10);
    for n in [y / 1000, y / 100 % 10, y / 10 % 10, y % 10] {
        s.push(digit(n));
    }
    s.push('-');
    s.push(digit(m / 10));
    s.push(digit(m % 10));
    s.push('-');
    s.push(digit(day / 10));
    s.push(digit(day % 10));
    s
}

/// Where a rule or value comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Citation {
    Source {
        citation: String,
        quote: Option<String>,
    },
    Assumption {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct EnumInfo {
    pub name: String,
    pub label: Option<String>,
    pub variants: Vec<String>,
    pub variant_labels: Vec<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct InputInfo {
    pub name: String,
    pub label: Option<String>,
    pub ty: Ty,
    pub span: Span,
    /// The declared range of a number input (`in 0..=4`, `>= 0`).
    pub range: Option<ValueRange>,
    /// `default VALUE`: what the data readers use when the data has no such column (CSV) or field
    /// (JSON object). Without it, a missing field is an error.
    pub default: Option<Const>,
}

/// A declared range: inclusive bounds (a percent as its fraction), either of which may be absent,
/// and the text as the drafter wrote it, for messages.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueRange {
    pub lo: Option<Decimal>,
    pub hi: Option<Decimal>,
    /// `0..=4`, `>= 0`, `0%..=100%`.
    pub text: String,
}

impl ValueRange {
    pub fn contains(&self, d: Decimal) -> bool {
        !matches!(self.lo, Some(l) if l > d) && !matches!(self.hi, Some(h) if d > h)
    }

    /// Whether a constant lies in the range (constants that are not numbers always do).
    pub fn contains_const(&self, c: &Const) -> bool {
        match c {
            Const::Int(i) => self.contains(Decimal::from(*i)),
            Const::Dec(d) => self.contains(*d),
            _ => true,
        }
    }
}

/// One value of a parameter and the date from which it is in force (`None`: always).
#[derive(Debug, Clone)]
pub struct ParamVersion {
    pub from: Option<Date>,
    /// One value, or one per enum variant (in variant order) for a parameter `by` an enum.
    pub values: Vec<Const>,
    pub citations: Vec<Citation>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub label: Option<String>,
    pub ty: Ty,
    pub by: Option<EnumId>,
    pub citations: Vec<Citation>,
    /// Sorted by date; a `None` date comes first.
    pub versions: Vec<ParamVersion>,
    pub span: Span,
    /// The declared range (`in 0%..=100%`, `>= 0`): every value, overrides included, lies in it.
    pub range: Option<ValueRange>,
    /// Set when a later layer (or `--set`) replaced the values.
    pub overridden_at: Option<Span>,
}

impl Param {
    /// The version in force on `date`, if any.
    pub fn version_at(&self, date: Date) -> Option<&ParamVersion> {
        self.versions
            .iter()
            .rev()
            .find(|v| !matches!(v.from, Some(f) if f > date))
    }
}

#[derive(Debug, Clone)]
pub struct Exception {
    pub label: Option<String>,
    pub cond: Expr,
    pub value: Expr,
    pub citations: Vec<Citation>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CellTest {
    Eq(Const),
    Cmp(CmpOp, Const),
    /// Inclusive.
    Range(Const, Const),
}

#[derive(Debug, Clone)]
pub struct TableRow {
    /// Per column: the tests (any may match); empty = `-`.
    pub cells: Vec<Vec<CellTest>>,
    pub result: Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub hit: HitPolicy,
    /// The hit policy as the drafter spelled it (`unique` or `唯一`, `first` or `首个`, `sum` or
    /// `求和`), so that runtime messages speak the policy's language.
    pub hit_word: &'static str,
    pub columns: Vec<Expr>,
    pub rows: Vec<TableRow>,
    pub otherwise: Option<Expr>,
}

#[derive(Debug, Clone)]
pub enum DefBody {
    Expr(Expr),
    Table(Table),
}

#[derive(Debug, Clone)]
pub struct Def {
    pub name: String,
    pub label: Option<String>,
    pub entity: EntityKind,
    pub ty: Ty,
    pub body: DefBody,
    pub exceptions: Vec<Exception>,
    pub citations: Vec<Citation>,
    pub span: Span,
    /// Index of this definition among the definitions of its entity (its memo slot).
    pub slot: u32,
}

/// A `state`: a household definition whose value is remembered for the next month.
#[derive(Debug, Clone)]
pub struct State {
    pub def: DefId,
    /// The value `previous(x)` has when no history is given (the month before the first).
    pub initially: Expr,
    /// For a state written as a transition table: the text definition `NAME_reason` giving the
    /// reason of this month's transition ("" when the state did not change by a row).
    pub reason: Option<DefId>,
}

impl Program {
    /// The index in `states` of a definition that is a state.
    pub fn state_of(&self, def: DefId) -> Option<usize> {
        self.states.iter().position(|s| s.def == def)
    }
}

#[derive(Debug, Clone)]
pub struct Extern {
    pub name: String,
    pub label: Option<String>,
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
    /// The rhai script's path (as shown to users) and text.
    pub path: String,
    pub script: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Min,
    Max,
    Abs,
    /// Exact division by 12.
    Monthly,
    /// Multiplication by 12.
    Yearly,
    /// `add_days(date, integer)`.
    AddDays,
    /// `days_between(a, b)`: days from `a` to `b`.
    DaysBetween,
    /// `add_working_days(date, integer)` on the policy's calendar.
    AddWorkingDays,
    /// `working_days_between(a, b)` on the policy's calendar.
    WorkingDaysBetween,
    /// `month_start()`: the first day of the month evaluated.
    MonthStart,
    /// `month_end()`: the last day of the month evaluated.
    MonthEnd,
}

impl Builtin {
    /// Whether the built-in works on dates (the reference and the compiled path share its code).
    pub fn is_time(self) -> bool {
        matches!(
            self,
            Builtin::AddDays
                | Builtin::DaysBetween
                | Builtin::AddWorkingDays
                | Builtin::WorkingDaysBetween
                | Builtin::MonthStart
                | Builtin::MonthEnd
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

/// Where an aggregation iterates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coll {
    /// The members of the current household (body in person scope).
    Members,
    /// All households of the population (body in household scope).
    Households,
    /// All persons of the population (body in person scope).
    Persons,
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Const(Const),
    /// An input field of the current person (person scope) or household (household scope).
    Input(u32),
    /// An input field of the current person's household.
    HouseholdInput(u32),
    /// The current entity's own `id`.
    Id,
    /// A definition of the current entity.
    Def(DefId),
    /// A household definition from person scope.
    HouseholdDef(DefId),
    Param(ParamId),
    ParamAt(ParamId, Box<Expr>),
    /// The variant of an enum named by a text (the key of a table `by` that enum, written with a
    /// `text` value such as the data's `region` code); a text that names no variant is an
    /// evaluation error.
    Variant(EnumId, Box<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Arith(Arith, Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Const>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Builtin(Builtin, Vec<Expr>),
    /// Rounds half away from zero to a multiple of the step (a power of ten).
    Round(Box<Expr>, Decimal),
    Extern(ExternId, Vec<Expr>),
    /// Whether the household's history (last month's states) was given.
    HasHistory,
    /// Last month's value of a state (index into `Program::states`), read from the history.
    /// Checked code only uses it under `HasHistory`: `previous(x)` is lowered to
    /// `if HasHistory then Previous(x) else <x's initially>`.
    Previous(u32),
    Agg {
        kind: AggKind,
        coll: Coll,
        body: Option<Box<Expr>>,
        filter: Option<Box<Expr>>,
    },
}

/// A checked policy with all its layers merged.
#[derive(Debug, Clone)]
pub struct Program {
    /// Titles of the layers, base first.
    pub layers: Vec<String>,
    pub enums: Vec<EnumInfo>,
    pub household_inputs: Vec<InputInfo>,
    pub person_inputs: Vec<InputInfo>,
    pub params: Vec<Param>,
    pub defs: Vec<Def>,
    pub externs: Vec<Extern>,
    /// Number of definitions per entity (person, household, programme): memo sizes.
    pub def_counts: [u32; 3],
    /// The household definitions carried from month to month (`state`), in declaration order: the
    /// order of a household's history.
    pub states: Vec<State>,
    /// The working-day calendar (`calendar YEAR` items).
    pub calendar: crate::calendar::Calendar,
    pub sources: SourceMap,
}

impl Program {
    pub fn def_by_name(&self, entity: EntityKind, name: &str) -> Option<DefId> {
        self.defs
            .iter()
            .position(|d| d.entity == entity && d.name == name)
            .map(|i| i as DefId)
    }
    /// Finds a definition by name in any entity (person first, then household, then programme).
    pub fn find_def(&self, name: &str) -> Option<DefId> {
        [
            EntityKind::Person,
            EntityKind::Household,
            EntityKind::Programme,
        ]
        .into_iter()
        .find_map(|e| self.def_by_name(e, name))
    }
    pub fn param_by_name(&self, name: &str) -> Option<ParamId> {
        self.params
            .iter()
            .position(|p| p.name == name)
            .map(|i| i as ParamId)
    }
    /// A human name of a type, as diagnostics and documentation write it.
    pub fn ty_name(&self, ty: Ty) -> String {
        ty_name(ty, &self.enums)
    }
}

pub fn ty_name(ty: Ty, enums: &[EnumInfo]) -> String {
    match ty {
        Ty::Bool => "bool".into(),
        Ty::Int => "integer".into(),
        Ty::Decimal => "decimal".into(),
        Ty::Percent => "percent".into(),
        Ty::Money(Period::Stock) => "money".into(),
        Ty::Money(Period::Month) => "money per month".into(),
        Ty::Money(Period::Year) => "money per year".into(),
        Ty::Months => "months".into(),
        Ty::Date => "date".into(),
        Ty::Text => "text".into(),
        Ty::Enum(e) => enums
            .get(e as usize)
            .map(|e| e.name.clone())
            .unwrap_or_else(|| "enum".into()),
        Ty::Lit(_) => "number".into(),
    }
}

#[cfg(test)]
mod format_date_tests {
    use super::*;

    #[test]
    fn dates_are_written_as_the_formatter_writes_them() {
        for year in [-12, 0, 7, 99, 1999, 2024, 9999, 10000, 123456] {
            for (month, day) in [(1, 1), (2, 29), (12, 31), (10, 9)] {
                let d = Date { year, month, day };
                let want = format!("{:04}-{:02}-{:02}", d.year, d.month, d.day);
                assert_eq!(format_date(d), want);
            }
        }
    }
}
