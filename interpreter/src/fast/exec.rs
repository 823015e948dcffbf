//! Execution: the executor of a batch and the numeric, logical and selection instructions.

use super::*;

/// Runs a program's instructions over the lanes of a batch.
pub(super) struct Executor<'a> {
    pub(super) params: &'a [ParamValue],
    pub(super) policy: &'a Policy,
    pub(super) hs: &'a [Household],
    /// The month evaluated (for `month_start()` and `month_end()`).
    pub(super) month: Month,
}

impl<'a> Executor<'a> {
    pub(super) fn lanes(&self, fr: &Frame, lv: Level) -> usize {
        match lv {
            Level::Household => fr.h,
            Level::Person => fr.p,
        }
    }

    pub(super) fn num_lanes<'f>(&'f self, fr: &'f Frame, o: &NumOperand) -> Lanes<'f, Q> {
        match o {
            NumOperand::Reg(r) => Lanes::Each(&fr.n[*r as usize]),
            NumOperand::Const(q) => Lanes::Same(*q),
            NumOperand::Param(off) => Lanes::Same(Q::of_param(&self.params[*off as usize])),
        }
    }
    pub(super) fn bool_lanes<'f>(&'f self, fr: &'f Frame, o: &BoolOperand) -> Lanes<'f, u8> {
        match o {
            BoolOperand::Reg(r) => Lanes::Each(&fr.b[*r as usize]),
            BoolOperand::Const(b) => Lanes::Same(*b),
            BoolOperand::Param(off) => Lanes::Same(u8::of_param(&self.params[*off as usize])),
        }
    }
    pub(super) fn enum_lanes<'f>(&'f self, fr: &'f Frame, o: &EnumOperand) -> Lanes<'f, u16> {
        match o {
            EnumOperand::Reg(r) => Lanes::Each(&fr.e[*r as usize]),
            EnumOperand::Const(e) => Lanes::Same(*e),
            EnumOperand::Param(off) => Lanes::Same(u16::of_param(&self.params[*off as usize])),
        }
    }

    /// An operand's lane as an owned value (`None`: poison).
    pub(super) fn owned_at(&self, fr: &Frame, o: &Operand, i: usize) -> Option<Owned> {
        match o {
            Operand::Num(o) => {
                let q = self.num_lanes(fr, o).at(i);
                (!q.is_poison()).then_some(Owned::Num(q))
            }
            Operand::Bool(o) => match self.bool_lanes(fr, o).at(i) {
                LANE_POISON => None,
                b => Some(Owned::Bool(b == LANE_TRUE)),
            },
            Operand::Enum(o) => match self.enum_lanes(fr, o).at(i) {
                ENUM_POISON => None,
                e => Some(Owned::Enum(e)),
            },
            Operand::Other(OtherOperand::Reg(r)) => fr.v[*r as usize][i].clone().map(Owned::Other),
            Operand::Other(OtherOperand::Const(v)) => Some(Owned::Other(v.clone())),
            Operand::Other(OtherOperand::Param(off)) => match &self.params[*off as usize] {
                ParamValue::Known(Owned::Other(v)) => Some(Owned::Other(v.clone())),
                _ => None,
            },
        }
    }

    /// Writes owned lane values into a register.
    pub(super) fn put(&self, fr: &mut Frame, c: Category, dst: u32, vals: Vec<Option<Owned>>) {
        let d = dst as usize;
        for (i, v) in vals.into_iter().enumerate() {
            match c {
                Category::Num => {
                    fr.n[d][i] = match v {
                        Some(Owned::Num(q)) => q,
                        _ => Q::POISON,
                    }
                }
                Category::Bool => {
                    fr.b[d][i] = match v {
                        Some(Owned::Bool(b)) => b as u8,
                        _ => LANE_POISON,
                    }
                }
                Category::Enum => {
                    fr.e[d][i] = match v {
                        Some(Owned::Enum(e)) if e != ENUM_POISON => e,
                        _ => ENUM_POISON,
                    }
                }
                Category::Other => {
                    fr.v[d][i] = match v {
                        Some(Owned::Other(x)) => Some(x),
                        _ => None,
                    }
                }
            }
        }
    }

    /// Runs one instruction over its lanes.
    pub(super) fn run(&self, ins: &Instruction, fr: &mut Frame) {
        match ins {
            Instruction::Broadcast { .. } => self.broadcast(ins, fr),
            Instruction::Arith { .. } => self.arith(ins, fr),
            Instruction::Neg { .. } | Instruction::Abs { .. } | Instruction::Coerce { .. } => {
                self.unary(ins, fr)
            }
            Instruction::Round { .. } => self.exec_round(ins, fr),
            Instruction::MinMaxNum { args, .. } if args.len() == 2 => self.min_max_of_two(ins, fr),
            Instruction::MinMaxNum { .. } => self.min_max(ins, fr),
            Instruction::CompareNum { .. } => self.compare_num(ins, fr),
            Instruction::CompareEnum { .. } => self.compare_enum(ins, fr),
            Instruction::CompareBool { .. } => self.compare_bool(ins, fr),
            Instruction::InEnumSet { .. } => self.in_enum_set(ins, fr),
            Instruction::InNumSet { .. } => self.in_num_set(ins, fr),
            Instruction::Not { .. } => self.exec_not(ins, fr),
            Instruction::And { .. } | Instruction::Or { .. } => self.and_or(ins, fr),
            Instruction::SelectNum { .. }
            | Instruction::SelectBool { .. }
            | Instruction::SelectEnum { .. } => self.select(ins, fr),
            Instruction::ParamAt { .. } => self.param_at(ins, fr),
            Instruction::Count { .. } => self.exec_count(ins, fr),
            Instruction::AnyAll { .. } => self.any_all(ins, fr),
            Instruction::Fold { .. } => self.exec_fold(ins, fr),
            Instruction::TableEnum {
                hit,
                cols,
                results,
                otherwise,
                ..
            } if *hit != HitPolicy::Sum
                && cols.len() == 1
                && results.iter().chain(otherwise.iter()).all(is_const) =>
            {
                self.table_one_enum_constant(ins, fr)
            }
            Instruction::TableEnum { .. } => self.table_enum(ins, fr),
            Instruction::TableOwned { .. } => self.table_owned(ins, fr),
            Instruction::ExceptionsBool { .. } => self.exceptions_bool(ins, fr),
            Instruction::Generic { .. } => self.generic_lanes(ins, fr),
        }
    }
}

impl Executor<'_> {
    /// A household register copied to each member's lane.
    pub(super) fn broadcast(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Broadcast { cat, dst, src } = ins else {
            unreachable!("dispatched by kind")
        };
        match cat {
            Category::Num => broadcast_regs::<Q>(fr, *dst, *src),
            Category::Bool => broadcast_regs::<u8>(fr, *dst, *src),
            Category::Enum => broadcast_regs::<u16>(fr, *dst, *src),
            Category::Other => {
                let (dst, p) = (*dst as usize, fr.p);
                let mut d = std::mem::take(&mut fr.v[dst]);
                let s = &fr.v[*src as usize];
                for (o, &h) in d[..p].iter_mut().zip(&fr.hix) {
                    *o = s[h as usize].clone();
                }
                fr.v[dst] = d;
            }
        }
    }

    /// `a + b`, `a - b`, `a * b`, `a / b` (constant integer divisors and multipliers on their own path).
    pub(super) fn arith(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Arith { op, lv, dst, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        fr.write(n, *dst, |fr, out| {
            let (sa, sb) = (self.num_lanes(fr, a), self.num_lanes(fr, b));
            match (op, sb) {
                // A positive integer constant divisor (`monthly`, `/ 12`) or multiplier.
                (Arith::Div, Lanes::Same(k)) if k.is_int() && k.n > 0 => {
                    let k = IntDivisor::new(k.n).expect("a positive divisor");
                    zip1(out, sa, live(|x| Q::or_poison(x.div_by(&k))))
                }
                (Arith::Mul, Lanes::Same(k)) if k.is_int() => {
                    let k = k.n;
                    zip1(out, sa, live(|x| Q::or_poison(x.mul_int(k))))
                }
                (Arith::Add, _) => zip2(out, sa, sb, |x, y| num_binary(Arith::Add, x, y)),
                (Arith::Sub, _) => zip2(out, sa, sb, |x, y| num_binary(Arith::Sub, x, y)),
                (Arith::Mul, _) => zip2(out, sa, sb, |x, y| num_binary(Arith::Mul, x, y)),
                (Arith::Div, _) => zip2(out, sa, sb, |x, y| num_binary(Arith::Div, x, y)),
            }
        });
    }

    /// `-a`, `abs(a)`, and an integer made a number.
    pub(super) fn unary(&self, ins: &Instruction, fr: &mut Frame) {
        let (Instruction::Neg { lv, dst, a }
        | Instruction::Abs { lv, dst, a }
        | Instruction::Coerce { lv, dst, a }) = ins
        else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        fr.write(n, *dst, |fr, out| {
            let a = self.num_lanes(fr, a);
            match ins {
                Instruction::Neg { .. } => zip1(out, a, live(|x| x.neg())),
                Instruction::Abs { .. } => zip1(out, a, live(|x| x.abs())),
                _ => zip1(out, a, live(|x| x.as_num_kind())),
            }
        });
    }

    /// `round(a, 10^e)`.
    pub(super) fn exec_round(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Round { lv, dst, a, e } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        fr.write(n, *dst, |fr, out| match *e {
            Some(e) => zip1(
                out,
                self.num_lanes(fr, a),
                live(|x| Q::or_poison(x.round(e))),
            ),
            None => out.fill(Q::POISON),
        });
    }

    /// `min`/`max` of two numbers.
    pub(super) fn min_max_of_two(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::MinMaxNum { lv, dst, args, min } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let want = if *min {
            Ordering::Less
        } else {
            Ordering::Greater
        };
        // Both evaluated; the second replaces the first only when strictly better.
        fr.write(n, *dst, |fr, out| {
            let (a, b) = (self.num_lanes(fr, &args[0]), self.num_lanes(fr, &args[1]));
            zip2(out, a, b, |x, y| {
                if x.is_poison() || y.is_poison() {
                    Q::POISON
                } else if y.cmp(x) == want {
                    y
                } else {
                    x
                }
            })
        });
    }

    /// `min`/`max` of any number of numbers.
    pub(super) fn min_max(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::MinMaxNum { lv, dst, args, min } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let want = if *min {
            Ordering::Less
        } else {
            Ordering::Greater
        };
        fr.write(n, *dst, |fr, out: &mut [Q]| {
            let srcs: Vec<Lanes<Q>> = args.iter().map(|a| self.num_lanes(fr, a)).collect();
            for (i, o) in out.iter_mut().enumerate() {
                // Every argument is evaluated; the first best one is kept.
                let mut best = srcs[0].at(i);
                let mut poison = best.is_poison();
                for s in &srcs[1..] {
                    let v = s.at(i);
                    if v.is_poison() {
                        poison = true;
                    } else if !poison && v.cmp(best) == want {
                        best = v;
                    }
                }
                *o = if poison { Q::POISON } else { best };
            }
        });
    }

    /// A comparison of numbers.
    pub(super) fn compare_num(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::CompareNum { lv, dst, op, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let (n, op) = (self.lanes(fr, *lv), *op);
        fr.write(n, *dst, |fr, out| {
            let (a, b) = (self.num_lanes(fr, a), self.num_lanes(fr, b));
            zip2(out, a, b, |x, y| {
                if x.is_poison() || y.is_poison() {
                    LANE_POISON
                } else {
                    b_of(ord_ok(op, x.cmp(y)))
                }
            })
        });
    }

    /// A comparison of enum values.
    pub(super) fn compare_enum(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::CompareEnum { lv, dst, op, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let (n, op) = (self.lanes(fr, *lv), *op);
        fr.write(n, *dst, |fr, out| {
            let (a, b) = (self.enum_lanes(fr, a), self.enum_lanes(fr, b));
            let poison = |x, y| (x == ENUM_POISON) | (y == ENUM_POISON);
            // Equality on its own loops, which vectorise.
            match op {
                CmpOp::Eq => zip2(out, a, b, |x, y| cond3(poison(x, y), x == y)),
                CmpOp::Ne => zip2(out, a, b, |x, y| cond3(poison(x, y), x != y)),
                _ => zip2(out, a, b, |x, y| cond3(poison(x, y), ord_ok(op, x.cmp(&y)))),
            }
        });
    }

    /// A comparison of conditions.
    pub(super) fn compare_bool(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::CompareBool { lv, dst, op, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let (n, op) = (self.lanes(fr, *lv), *op);
        fr.write(n, *dst, |fr, out| {
            let (a, b) = (self.bool_lanes(fr, a), self.bool_lanes(fr, b));
            zip2(out, a, b, |x, y| {
                if x == LANE_POISON || y == LANE_POISON {
                    LANE_POISON
                } else {
                    b_of(ord_ok(op, x.cmp(&y)))
                }
            })
        });
    }

    /// `a in {...}` on enum values.
    pub(super) fn in_enum_set(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::InEnumSet { lv, dst, a, mask } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mask = *mask;
        // A byte table per variant (the poison value `ENUM_POISON` is beyond it).
        let mut table = [0u8; 130];
        for (v, t) in table.iter_mut().enumerate().take(128) {
            *t = (mask >> v & 1) as u8;
        }
        table[129] = LANE_POISON;
        fr.write(n, *dst, |fr, out| {
            zip1(out, self.enum_lanes(fr, a), |x| {
                table[(x as usize).min(128) + (x == ENUM_POISON) as usize]
            })
        });
    }

    /// `a in {...}` on numbers.
    pub(super) fn in_num_set(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::InNumSet { lv, dst, a, set } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        fr.write(n, *dst, |fr, out| {
            zip1(out, self.num_lanes(fr, a), |x| {
                if x.is_poison() {
                    LANE_POISON
                } else {
                    b_of(set.iter().any(|q| x.cmp(*q) == Ordering::Equal))
                }
            })
        });
    }

    /// `not a`.
    pub(super) fn exec_not(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Not { lv, dst, a } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        fr.write(n, *dst, |fr, out| zip1(out, self.bool_lanes(fr, a), not3));
    }

    /// `a and b`, `a or b`.
    pub(super) fn and_or(&self, ins: &Instruction, fr: &mut Frame) {
        let (Instruction::And { lv, dst, a, b } | Instruction::Or { lv, dst, a, b }) = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        fr.write(n, *dst, |fr, out| {
            let (a, b) = (self.bool_lanes(fr, a), self.bool_lanes(fr, b));
            match ins {
                Instruction::And { .. } => zip2(out, a, b, and3),
                _ => zip2(out, a, b, or3),
            }
        });
    }

    /// `if c then a else b` on numbers, conditions or enum values.
    pub(super) fn select(&self, ins: &Instruction, fr: &mut Frame) {
        match ins {
            Instruction::SelectNum { lv, dst, c, a, b } => {
                let n = self.lanes(fr, *lv);
                fr.write(n, *dst, |fr, out| {
                    let (a, b) = (self.num_lanes(fr, a), self.num_lanes(fr, b));
                    select_lanes(out, self.bool_lanes(fr, c), a, b)
                });
            }
            Instruction::SelectBool { lv, dst, c, a, b } => {
                let n = self.lanes(fr, *lv);
                fr.write(n, *dst, |fr, out| {
                    let (a, b) = (self.bool_lanes(fr, a), self.bool_lanes(fr, b));
                    select_lanes(out, self.bool_lanes(fr, c), a, b)
                });
            }
            Instruction::SelectEnum { lv, dst, c, a, b } => {
                let n = self.lanes(fr, *lv);
                fr.write(n, *dst, |fr, out| {
                    let (a, b) = (self.enum_lanes(fr, a), self.enum_lanes(fr, b));
                    select_lanes(out, self.bool_lanes(fr, c), a, b)
                });
            }
            _ => unreachable!("dispatched by kind"),
        }
    }

    /// A parameter keyed by an enum value.
    pub(super) fn param_at(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::ParamAt {
            lv,
            cat,
            dst,
            key,
            off,
            count,
        } = ins
        else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let table = &self.params[*off as usize..(*off + *count) as usize];
        match cat {
            Category::Num => self.param_lanes::<Q>(fr, n, *dst, key, table),
            Category::Bool => self.param_lanes::<u8>(fr, n, *dst, key, table),
            Category::Enum => self.param_lanes::<u16>(fr, n, *dst, key, table),
            Category::Other => {
                let keys = self.enum_lanes(fr, key);
                let vals: Vec<Option<Owned>> = (0..n)
                    .map(|i| match table.get(keys.at(i) as usize) {
                        Some(ParamValue::Known(Owned::Other(v))) => Some(Owned::Other(v.clone())),
                        _ => None,
                    })
                    .collect();
                self.put(fr, Category::Other, *dst, vals);
            }
        }
    }

    /// Register `dst`'s first `n` lanes: the value of the parameter `table` at each lane's `key`.
    fn param_lanes<T: Slot>(
        &self,
        fr: &mut Frame,
        n: usize,
        dst: u32,
        key: &EnumOperand,
        table: &[ParamValue],
    ) {
        let vals: Vec<T> = table.iter().map(T::of_param).collect();
        fr.write(n, dst, |fr, out| {
            zip1(out, self.enum_lanes(fr, key), |k| {
                vals.get(k as usize).copied().unwrap_or(T::POISON)
            })
        });
    }
}

/// A household register of type `T` copied to each member's lane of register `dst`.
#[inline(always)]
fn broadcast_regs<T: Slot>(fr: &mut Frame, dst: u32, src: u32) {
    let p = fr.p;
    fr.write(p, dst, |fr, out: &mut [T]| {
        let s = &T::regs(fr)[src as usize];
        for (o, &h) in out.iter_mut().zip(&fr.hix) {
            *o = s[h as usize];
        }
    });
}

/// `f` on the lanes that are not poisoned; a poisoned lane stays poisoned.
#[inline(always)]
fn live(f: impl Fn(Q) -> Q) -> impl Fn(Q) -> Q {
    move |x| if x.is_poison() { x } else { f(x) }
}

/// `if c then a else b` lane by lane (poisoned where `c` is).
#[inline(always)]
fn select_lanes<T: Slot>(out: &mut [T], c: Lanes<u8>, a: Lanes<T>, b: Lanes<T>) {
    zip3(out, c, a, b, |c, x, y| match c {
        LANE_TRUE => x,
        LANE_FALSE => y,
        _ => T::POISON,
    })
}
