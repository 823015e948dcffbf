//! The owned syntax tree of one `.doudi` file, every node with its byte span.

use rust_decimal::Decimal;

/// Byte offsets `[start, end)` into one source file, plus the file's index in the [`crate::SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: u32,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: u32, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// One parsed file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `policy "title"`
    Policy {
        title: String,
        span: Span,
    },
    /// `extends "path"`
    Extends {
        path: String,
        span: Span,
    },
    Enum(EnumDecl),
    Input(InputDecl),
    Parameter(ParamDecl),
    Definition(DefDecl),
    Exception(ExceptionDecl),
    Table(TableDecl),
    Extern(ExternDecl),
    Calendar(CalendarDecl),
    State(StateDecl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Policy { span, .. } | Item::Extends { span, .. } => *span,
            Item::Enum(d) => d.span,
            Item::Input(d) => d.span,
            Item::Parameter(d) => d.span,
            Item::Definition(d) => d.span,
            Item::Exception(d) => d.span,
            Item::Table(d) => d.span,
            Item::Extern(d) => d.span,
            Item::Calendar(d) => d.span,
            Item::State(d) => d.span,
        }
    }
}

/// `source "..." [quote "..."]` or `assumption "..."`.
#[derive(Debug, Clone, PartialEq)]
pub enum Meta {
    Source {
        citation: String,
        quote: Option<String>,
        span: Span,
    },
    Assumption {
        reason: String,
        span: Span,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    Person,
    Household,
    Programme,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Person => "person",
            EntityKind::Household => "household",
            EntityKind::Programme => "programme",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// A stock (`money`).
    Stock,
    Month,
    Year,
}

/// A type as written in the source.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeExpr {
    Bool(Span),
    Integer(Span),
    Decimal(Span),
    Percent(Span),
    Money(Period, Span),
    Months(Span),
    Date(Span),
    Text(Span),
    /// A declared enum, by name.
    Named(Ident),
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Bool(s)
            | TypeExpr::Integer(s)
            | TypeExpr::Decimal(s)
            | TypeExpr::Percent(s)
            | TypeExpr::Money(_, s)
            | TypeExpr::Months(s)
            | TypeExpr::Date(s)
            | TypeExpr::Text(s) => *s,
            TypeExpr::Named(i) => i.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumDecl {
    pub name: Ident,
    pub label: Option<String>,
    pub variants: Vec<Variant>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub name: Ident,
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputDecl {
    pub entity: EntityKind,
    pub entity_span: Span,
    pub name: Ident,
    pub ty: TypeExpr,
    /// `in 0..=4`, `>= 0`: the values the data may hold.
    pub range: Option<RangeDecl>,
    /// `default false`: the value when the data has no such column (CSV) or field (JSON).
    pub default: Option<Spanned<Literal>>,
    pub label: Option<String>,
    pub span: Span,
}

/// A declared range: inclusive bounds, either of which may be absent (`>= 0` has no upper bound).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeDecl {
    pub lo: Option<Spanned<Literal>>,
    pub hi: Option<Spanned<Literal>>,
    pub span: Span,
}

/// A calendar date (proleptic Gregorian), validated by the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A number as written (`684`, `0.30`, `-5`). `is_integer` when written without a decimal point.
    Number {
        value: Decimal,
        is_integer: bool,
    },
    /// `30%`, stored as the fraction (0.30).
    Percent(Decimal),
    Bool(bool),
    Date(Date),
    Text(String),
    /// A bare name in value position: an enum variant.
    Name(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Scalar(Spanned<Literal>),
    /// `{ key: literal, ... }` for parameters `by ENUM`.
    Table(Vec<(Ident, Spanned<Literal>)>, Span),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamClause {
    /// `None` for `= VALUE` (always in force).
    pub from: Option<Spanned<Date>>,
    pub value: ParamValue,
    pub meta: Vec<Meta>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    pub is_override: bool,
    pub name: Ident,
    pub label: Option<String>,
    /// Absent only on `override parameter`.
    pub ty: Option<TypeExpr>,
    /// `in 0%..=100%`, `>= 0`: the values the parameter may take (absent on `override parameter`).
    pub range: Option<RangeDecl>,
    pub by: Option<Ident>,
    pub meta: Vec<Meta>,
    pub clauses: Vec<ParamClause>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DefDecl {
    pub entity: EntityKind,
    pub entity_span: Span,
    pub name: Ident,
    pub label: Option<String>,
    pub ty: TypeExpr,
    pub meta: Vec<Meta>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionDecl {
    pub entity: EntityKind,
    pub entity_span: Span,
    pub name: Ident,
    pub label: Option<String>,
    pub meta: Vec<Meta>,
    pub when: Expr,
    pub body: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitPolicy {
    Unique,
    First,
    Sum,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CellTest {
    /// A value to compare for equality (a literal or an enum variant name).
    Equals(Expr),
    Compare(CmpOp, Expr),
    /// Inclusive range `lo..hi`.
    Range(Expr, Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Empty means `-` (anything). Several tests: any may match.
    pub tests: Vec<CellTest>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    pub cells: Vec<Cell>,
    pub result: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableDecl {
    pub entity: EntityKind,
    pub entity_span: Span,
    pub name: Ident,
    pub label: Option<String>,
    pub ty: TypeExpr,
    pub meta: Vec<Meta>,
    pub hit: Spanned<HitPolicy>,
    pub columns: Vec<Expr>,
    pub rows: Vec<TableRow>,
    pub otherwise: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExternDecl {
    pub name: Ident,
    pub label: Option<String>,
    pub params: Vec<(Ident, TypeExpr)>,
    pub ret: TypeExpr,
    pub file: Spanned<String>,
    pub span: Span,
}

/// `calendar 2024 "label" source ... holidays = { ... } working_weekends = { ... }`: one year of the
/// working-day calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarDecl {
    pub year: Spanned<i32>,
    pub label: Option<String>,
    pub meta: Vec<Meta>,
    pub holidays: Vec<Spanned<Date>>,
    pub working_weekends: Vec<Spanned<Date>>,
    pub span: Span,
}

/// `state household.NAME "label": TYPE initially = EXPR (= EXPR | transitions | ... |)`.
#[derive(Debug, Clone, PartialEq)]
pub struct StateDecl {
    pub entity: EntityKind,
    pub entity_span: Span,
    pub name: Ident,
    pub label: Option<String>,
    pub ty: TypeExpr,
    pub meta: Vec<Meta>,
    pub initially: Expr,
    pub body: StateBody,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StateBody {
    Expr(Expr),
    /// Rows in order; the first whose `from` holds last month's value and whose `when` holds gives
    /// this month's value; with none, the value stays.
    Transitions(Vec<TransitionRow>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TransitionRow {
    /// Enum variants; empty means `-` (from any value).
    pub from: Vec<Ident>,
    pub when: Expr,
    pub to: Ident,
    pub reason: Spanned<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    And,
    Or,
    Cmp(CmpOp),
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Cmp(c) => c.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggKind {
    Sum,
    Count,
    Any,
    All,
    Min,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    Members,
    Households,
    Persons,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Lit(Literal),
    /// A bare name: an input, definition, parameter or enum variant (resolved later).
    Name(String),
    /// `household.NAME` from inside a person definition.
    HouseholdField(Ident),
    /// `PARAM[KEY]`
    Index(Box<Expr>, Box<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x in {a, b}`
    In(Box<Expr>, Vec<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A call to a built-in (`min`, `max`, `round`, `monthly`, `yearly`, `abs`) or an extern.
    Call(Ident, Vec<Expr>),
    Agg {
        kind: AggKind,
        body: Option<Box<Expr>>,
        collection: Spanned<Collection>,
        filter: Option<Box<Expr>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    Not,
}
