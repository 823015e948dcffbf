//! The columnar program: registers by level and category, operands and instructions.

use super::*;

/// The level of a register: one lane per household, or one per member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Level {
    Household,
    Person,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Category {
    Bool,
    Num,
    Enum,
    /// Dates and texts (lanes of owned values).
    Other,
}

pub(super) fn category_of(ty: Ty) -> Category {
    match ty {
        Ty::Bool => Category::Bool,
        Ty::Enum(_) => Category::Enum,
        Ty::Text | Ty::Date => Category::Other,
        _ => Category::Num,
    }
}

/// Bool lanes: false, true, poison.
pub(super) const LANE_FALSE: u8 = 0;
pub(super) const LANE_TRUE: u8 = 1;
pub(super) const LANE_POISON: u8 = 2;
/// Enum lanes: poison.
pub(super) const ENUM_POISON: u16 = u16::MAX;

/// Operands: a register, a constant, or a parameter (constant over a batch).
#[derive(Debug, Clone, Copy)]
pub(super) enum NumOperand {
    Reg(u32),
    Const(Q),
    Param(u32),
}
#[derive(Debug, Clone, Copy)]
pub(super) enum BoolOperand {
    Reg(u32),
    Const(u8),
    Param(u32),
}
#[derive(Debug, Clone, Copy)]
pub(super) enum EnumOperand {
    Reg(u32),
    Const(u16),
    Param(u32),
}
#[derive(Debug, Clone)]
pub(super) enum OtherOperand {
    Reg(u32),
    Const(Value),
    Param(u32),
}
#[derive(Debug, Clone)]
pub(super) enum Operand {
    Num(NumOperand),
    Bool(BoolOperand),
    Enum(EnumOperand),
    Other(OtherOperand),
}

impl Operand {
    pub(super) fn category(&self) -> Category {
        match self {
            Operand::Num(_) => Category::Num,
            Operand::Bool(_) => Category::Bool,
            Operand::Enum(_) => Category::Enum,
            Operand::Other(_) => Category::Other,
        }
    }
    pub(super) fn num(self) -> CompileResult<NumOperand> {
        match self {
            Operand::Num(o) => Ok(o),
            _ => unsupported("expected a number"),
        }
    }
    pub(super) fn bool(self) -> CompileResult<BoolOperand> {
        match self {
            Operand::Bool(o) => Ok(o),
            _ => unsupported("expected a condition"),
        }
    }
    pub(super) fn en(self) -> CompileResult<EnumOperand> {
        match self {
            Operand::Enum(o) => Ok(o),
            _ => unsupported("expected an enum value"),
        }
    }
}

/// A cell test of a table: `(range?, op, a, b)`.
pub(super) type Test = (bool, CmpOp, Owned, Owned);

#[derive(Debug)]
pub(super) enum Instruction {
    /// A household register copied to each member's lane.
    Broadcast {
        cat: Category,
        dst: u32,
        src: u32,
    },
    Arith {
        op: Arith,
        lv: Level,
        dst: u32,
        a: NumOperand,
        b: NumOperand,
    },
    Neg {
        lv: Level,
        dst: u32,
        a: NumOperand,
    },
    Abs {
        lv: Level,
        dst: u32,
        a: NumOperand,
    },
    /// `round(a, 10^e)`; `None`: an invalid step (every lane is poisoned).
    Round {
        lv: Level,
        dst: u32,
        a: NumOperand,
        e: Option<i32>,
    },
    /// An integer becomes a number (definitions of decimal, percent and money types).
    Coerce {
        lv: Level,
        dst: u32,
        a: NumOperand,
    },
    MinMaxNum {
        lv: Level,
        dst: u32,
        args: Vec<NumOperand>,
        min: bool,
    },
    CompareNum {
        lv: Level,
        dst: u32,
        op: CmpOp,
        a: NumOperand,
        b: NumOperand,
    },
    CompareEnum {
        lv: Level,
        dst: u32,
        op: CmpOp,
        a: EnumOperand,
        b: EnumOperand,
    },
    CompareBool {
        lv: Level,
        dst: u32,
        op: CmpOp,
        a: BoolOperand,
        b: BoolOperand,
    },
    InEnumSet {
        lv: Level,
        dst: u32,
        a: EnumOperand,
        mask: u128,
    },
    InNumSet {
        lv: Level,
        dst: u32,
        a: NumOperand,
        set: Vec<Q>,
    },
    Not {
        lv: Level,
        dst: u32,
        a: BoolOperand,
    },
    And {
        lv: Level,
        dst: u32,
        a: BoolOperand,
        b: BoolOperand,
    },
    Or {
        lv: Level,
        dst: u32,
        a: BoolOperand,
        b: BoolOperand,
    },
    SelectNum {
        lv: Level,
        dst: u32,
        c: BoolOperand,
        a: NumOperand,
        b: NumOperand,
    },
    SelectBool {
        lv: Level,
        dst: u32,
        c: BoolOperand,
        a: BoolOperand,
        b: BoolOperand,
    },
    SelectEnum {
        lv: Level,
        dst: u32,
        c: BoolOperand,
        a: EnumOperand,
        b: EnumOperand,
    },
    ParamAt {
        lv: Level,
        cat: Category,
        dst: u32,
        key: EnumOperand,
        off: u32,
        count: u32,
    },
    Count {
        dst: u32,
        filter: BoolOperand,
    },
    /// sum, min, max over members (`kind`), coerced to `ty`.
    Fold {
        kind: AggKind,
        dst: u32,
        filter: BoolOperand,
        body: NumOperand,
        ty: Ty,
    },
    AnyAll {
        any: bool,
        dst: u32,
        filter: BoolOperand,
        body: BoolOperand,
    },
    /// A table whose columns are enums and whose cells list variants (bit masks per row and column).
    TableEnum {
        lv: Level,
        cat: Category,
        dst: u32,
        hit: HitPolicy,
        cols: Vec<EnumOperand>,
        masks: Vec<Vec<u128>>,
        results: Vec<Operand>,
        otherwise: Option<Operand>,
        zero: Q,
    },
    /// Any other table, lane by lane on owned values.
    TableOwned {
        lv: Level,
        cat: Category,
        dst: u32,
        hit: HitPolicy,
        cols: Vec<Operand>,
        rows: Vec<Vec<Vec<Test>>>,
        results: Vec<Operand>,
        otherwise: Option<Operand>,
        zero: Q,
    },
    /// Exceptions of a condition: `(condition, value)` in order, then the body.
    ExceptionsBool {
        lv: Level,
        dst: u32,
        xs: Vec<(BoolOperand, BoolOperand)>,
        body: BoolOperand,
    },
    /// Everything else, lane by lane on owned values.
    Generic {
        lv: Level,
        cat: Category,
        dst: u32,
        op: GenericOp,
    },
}

#[derive(Debug)]
pub(super) enum GenericOp {
    Cmp(CmpOp, Operand, Operand),
    In(Operand, Vec<Owned>),
    Select(BoolOperand, Operand, Operand),
    MinMax(Vec<Operand>, bool),
    /// Exceptions `(condition, value)` in order, then the body; coerced to `Ty`.
    Except(Vec<(BoolOperand, Operand)>, Operand, Ty),
    Extern(ExternId, Span, Vec<Operand>),
    Id,
    Input(usize),
    /// A date function (`Builtin::is_time`), computed by `crate::time::apply` as in the reference.
    Time(Builtin, Vec<Operand>),
    /// Whether the household's history was given (household lanes only).
    HasHistory,
    /// Last month's value of a state, from the household's history (household lanes only).
    Previous(usize),
    Coerce(Operand, Ty),
    /// The variant of an enum a text names (poison when it names none: the reference reports it).
    Variant(Operand, EnumId),
}

/// An input field loaded into a register at the start of a batch.
#[derive(Debug)]
pub(super) struct Load {
    pub(super) lv: Level,
    pub(super) slot: usize,
    pub(super) cat: Category,
    pub(super) dst: u32,
    /// A text code read as the variant of an enum (these names, in order): looked up once, when
    /// the input is loaded, not each time the program runs over a loaded population.
    pub(super) variants: Option<Vec<String>>,
}

pub(super) struct TotalPlan {
    pub(super) lv: Level,
    pub(super) filter: BoolOperand,
    pub(super) body: Option<Operand>,
}

pub(super) struct ColumnarProgram {
    pub(super) loads: Vec<Load>,
    /// Instructions for the outputs, then those only the totals need.
    pub(super) ins: Vec<Instruction>,
    pub(super) outputs_end: usize,
    /// Level of each register, per category (N, B, E, V).
    pub(super) levels: [Vec<Level>; 4],
    pub(super) outputs: Vec<Operand>,
    pub(super) totals: Vec<TotalPlan>,
}

pub(super) fn category_index(c: Category) -> usize {
    match c {
        Category::Num => 0,
        Category::Bool => 1,
        Category::Enum => 2,
        Category::Other => 3,
    }
}

// ---------------------------------------------------------------------------------------------
