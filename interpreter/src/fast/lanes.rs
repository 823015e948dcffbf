//! The registers of a batch (`Frame`), lane sources and the poison-aware lane operations.

use super::*;

/// The registers of a batch, reused from batch to batch.
#[derive(Default)]
pub(super) struct Frame {
    /// Number registers (`Q::POISON` in a poisoned lane).
    pub(super) n: Vec<Vec<Q>>,
    /// Condition registers (`LANE_FALSE`, `LANE_TRUE`, `LANE_POISON`).
    pub(super) b: Vec<Vec<u8>>,
    /// Enum registers (variant index, `ENUM_POISON`).
    pub(super) e: Vec<Vec<u16>>,
    /// Registers of other values (dates, texts; `None` in a poisoned lane).
    pub(super) v: Vec<Vec<Option<Value>>>,
    /// Households in the batch (household lanes).
    pub(super) h: usize,
    /// Members in the batch (member lanes).
    pub(super) p: usize,
    /// Members of household `i`: `off[i]..off[i + 1]`.
    pub(super) off: Vec<usize>,
    /// The household of each member lane.
    pub(super) hix: Vec<u32>,
    /// Where each member lane is: (household in batch, member index).
    pub(super) pos: Vec<(u32, u32)>,
}

/// A lane type with registers of its own in the frame: numbers, conditions, enum values.
pub(super) trait Slot: Copy {
    /// The poisoned lane.
    const POISON: Self;
    /// The frame's registers of this type.
    fn regs(fr: &Frame) -> &[Vec<Self>];
    fn regs_mut(fr: &mut Frame) -> &mut [Vec<Self>];
    /// A parameter's value as a lane (poisoned when it is missing or of another type).
    fn of_param(p: &ParamValue) -> Self;
}

impl Slot for Q {
    const POISON: Q = Q::POISON;
    #[inline(always)]
    fn regs(fr: &Frame) -> &[Vec<Q>] {
        &fr.n
    }
    #[inline(always)]
    fn regs_mut(fr: &mut Frame) -> &mut [Vec<Q>] {
        &mut fr.n
    }
    fn of_param(p: &ParamValue) -> Q {
        match p {
            ParamValue::Known(Owned::Num(q)) => *q,
            _ => Q::POISON,
        }
    }
}

impl Slot for u8 {
    const POISON: u8 = LANE_POISON;
    #[inline(always)]
    fn regs(fr: &Frame) -> &[Vec<u8>] {
        &fr.b
    }
    #[inline(always)]
    fn regs_mut(fr: &mut Frame) -> &mut [Vec<u8>] {
        &mut fr.b
    }
    fn of_param(p: &ParamValue) -> u8 {
        match p {
            ParamValue::Known(Owned::Bool(b)) => *b as u8,
            _ => LANE_POISON,
        }
    }
}

impl Slot for u16 {
    const POISON: u16 = ENUM_POISON;
    #[inline(always)]
    fn regs(fr: &Frame) -> &[Vec<u16>] {
        &fr.e
    }
    #[inline(always)]
    fn regs_mut(fr: &mut Frame) -> &mut [Vec<u16>] {
        &mut fr.e
    }
    fn of_param(p: &ParamValue) -> u16 {
        match p {
            ParamValue::Known(Owned::Enum(e)) => *e,
            _ => ENUM_POISON,
        }
    }
}

impl Frame {
    /// Fills the first `n` lanes of register `dst` with `fill`, which may read the other registers
    /// (`dst` is taken out of the frame meanwhile, as `take!` does).
    #[inline(always)]
    pub(super) fn write<T: Slot>(
        &mut self,
        n: usize,
        dst: u32,
        fill: impl FnOnce(&Frame, &mut [T]),
    ) {
        let mut d = std::mem::take(&mut T::regs_mut(self)[dst as usize]);
        fill(self, &mut d[..n]);
        T::regs_mut(self)[dst as usize] = d;
    }
}

/// A lane source: a register's lanes, or one value for all.
#[derive(Clone, Copy)]
pub(super) enum Lanes<'a, T: Copy> {
    /// One value per lane.
    Each(&'a [T]),
    /// The same value in every lane.
    Same(T),
}

impl<'a, T: Copy> Lanes<'a, T> {
    #[inline(always)]
    pub(super) fn at(&self, i: usize) -> T {
        match self {
            Lanes::Each(s) => s[i],
            Lanes::Same(k) => *k,
        }
    }
}

#[inline(always)]
pub(super) fn zip1<A: Copy, T>(out: &mut [T], a: Lanes<A>, f: impl Fn(A) -> T) {
    match a {
        Lanes::Each(x) => {
            for (o, &x) in out.iter_mut().zip(x) {
                *o = f(x);
            }
        }
        Lanes::Same(k) => {
            for o in out.iter_mut() {
                *o = f(k);
            }
        }
    }
}

#[inline(always)]
pub(super) fn zip2<A: Copy, B: Copy, T>(
    out: &mut [T],
    a: Lanes<A>,
    b: Lanes<B>,
    f: impl Fn(A, B) -> T,
) {
    match (a, b) {
        (Lanes::Each(x), Lanes::Each(y)) => {
            for ((o, &x), &y) in out.iter_mut().zip(x).zip(y) {
                *o = f(x, y);
            }
        }
        (Lanes::Each(x), Lanes::Same(k)) => {
            for (o, &x) in out.iter_mut().zip(x) {
                *o = f(x, k);
            }
        }
        (Lanes::Same(k), Lanes::Each(y)) => {
            for (o, &y) in out.iter_mut().zip(y) {
                *o = f(k, y);
            }
        }
        (Lanes::Same(k), Lanes::Same(l)) => {
            for o in out.iter_mut() {
                *o = f(k, l);
            }
        }
    }
}

#[inline(always)]
pub(super) fn zip3<C: Copy, A: Copy, T>(
    out: &mut [T],
    c: Lanes<C>,
    a: Lanes<A>,
    b: Lanes<A>,
    f: impl Fn(C, A, A) -> T,
) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = f(c.at(i), a.at(i), b.at(i));
    }
}

// Poison-aware lane operations.

#[inline(always)]
pub(super) fn num_binary(op: Arith, a: Q, b: Q) -> Q {
    if a.is_poison() || b.is_poison() {
        return Q::POISON;
    }
    Q::or_poison(match op {
        Arith::Add => a.add(b),
        Arith::Sub => a.sub(b),
        Arith::Mul => a.mul(b),
        Arith::Div => a.div(b),
    })
}

#[inline(always)]
pub(super) fn b_of(x: bool) -> u8 {
    x as u8
}

// Three-valued lanes as bits (value `v` = bit 0, poison `p` = bit 1), branch-free so that the lane
// loops vectorise. `a and b`: poisoned if `a` is, or if `a` holds and `b` is; `a or b`: poisoned if
// `a` is, or if `a` does not hold and `b` is.

#[inline(always)]
pub(super) fn and3(a: u8, b: u8) -> u8 {
    let (va, pa, vb, pb) = (a & 1, a >> 1, b & 1, b >> 1);
    let p = pa | (va & pb);
    (va & vb & (p ^ 1)) | p << 1
}

#[inline(always)]
pub(super) fn or3(a: u8, b: u8) -> u8 {
    let (va, pa, vb, pb) = (a & 1, a >> 1, b & 1, b >> 1);
    let p = pa | ((va ^ 1) & pb);
    ((va | vb) & (p ^ 1)) | p << 1
}

#[inline(always)]
pub(super) fn not3(a: u8) -> u8 {
    let (va, pa) = (a & 1, a >> 1);
    ((va ^ 1) & (pa ^ 1)) | pa << 1
}

/// A condition's lane from a comparison that may meet poison.
#[inline(always)]
pub(super) fn cond3(poison: bool, v: bool) -> u8 {
    let p = poison as u8;
    ((v as u8) & (p ^ 1)) | p << 1
}
