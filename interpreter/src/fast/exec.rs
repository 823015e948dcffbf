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
            NumOperand::Param(off) => Lanes::Same(match &self.params[*off as usize] {
                ParamValue::Known(Owned::Num(q)) => *q,
                _ => Q::POISON,
            }),
        }
    }
    pub(super) fn bool_lanes<'f>(&'f self, fr: &'f Frame, o: &BoolOperand) -> Lanes<'f, u8> {
        match o {
            BoolOperand::Reg(r) => Lanes::Each(&fr.b[*r as usize]),
            BoolOperand::Const(b) => Lanes::Same(*b),
            BoolOperand::Param(off) => Lanes::Same(match &self.params[*off as usize] {
                ParamValue::Known(Owned::Bool(b)) => *b as u8,
                _ => LANE_POISON,
            }),
        }
    }
    pub(super) fn enum_lanes<'f>(&'f self, fr: &'f Frame, o: &EnumOperand) -> Lanes<'f, u16> {
        match o {
            EnumOperand::Reg(r) => Lanes::Each(&fr.e[*r as usize]),
            EnumOperand::Const(e) => Lanes::Same(*e),
            EnumOperand::Param(off) => Lanes::Same(match &self.params[*off as usize] {
                ParamValue::Known(Owned::Enum(e)) => *e,
                _ => ENUM_POISON,
            }),
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
            Instruction::And { .. } => self.exec_and(ins, fr),
            Instruction::Or { .. } => self.exec_or(ins, fr),
            Instruction::SelectNum { .. } => self.select_num(ins, fr),
            Instruction::SelectBool { .. } => self.select_bool(ins, fr),
            Instruction::SelectEnum { .. } => self.select_enum(ins, fr),
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
    #[allow(clippy::needless_range_loop)]
    pub(super) fn broadcast(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Broadcast { cat, dst, src } = ins else {
            unreachable!("dispatched by kind")
        };
        let (dst, src) = (*dst as usize, *src);
        let p = fr.p;
        match cat {
            Category::Num => {
                let mut d = std::mem::take(&mut fr.n[dst]);
                let s = self.num_lanes(fr, &NumOperand::Reg(src));
                for (o, &h) in d[..p].iter_mut().zip(&fr.hix) {
                    *o = s.at(h as usize);
                }
                fr.n[dst] = d;
            }
            Category::Bool => {
                let mut d = std::mem::take(&mut fr.b[dst]);
                let s = self.bool_lanes(fr, &BoolOperand::Reg(src));
                for (o, &h) in d[..p].iter_mut().zip(&fr.hix) {
                    *o = s.at(h as usize);
                }
                fr.b[dst] = d;
            }
            Category::Enum => {
                let mut d = std::mem::take(&mut fr.e[dst]);
                let s = self.enum_lanes(fr, &EnumOperand::Reg(src));
                for (o, &h) in d[..p].iter_mut().zip(&fr.hix) {
                    *o = s.at(h as usize);
                }
                fr.e[dst] = d;
            }
            Category::Other => {
                let mut d = std::mem::take(&mut fr.v[dst]);
                let s = &fr.v[src as usize];
                for (o, &h) in d[..p].iter_mut().zip(&fr.hix) {
                    *o = s[h as usize].clone();
                }
                fr.v[dst] = d;
            }
        }
    }

    /// `a + b`, `a - b`, `a * b`, `a / b` (constant integer divisors and multipliers on their own path).
    #[allow(clippy::needless_range_loop)]
    pub(super) fn arith(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Arith { op, lv, dst, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, n, *dst);
        let (sa, sb) = (self.num_lanes(fr, a), self.num_lanes(fr, b));
        let out = &mut d[..n];
        match (op, sb) {
            // A positive integer constant divisor (`monthly`, `/ 12`) or multiplier.
            (Arith::Div, Lanes::Same(k)) if k.is_int() && k.n > 0 => {
                let k = IntDivisor::new(k.n).expect("a positive divisor");
                zip1(out, sa, |x| {
                    if x.is_poison() {
                        x
                    } else {
                        Q::or_poison(x.div_by(&k))
                    }
                })
            }
            (Arith::Mul, Lanes::Same(k)) if k.is_int() => {
                let k = k.n;
                zip1(out, sa, |x| {
                    if x.is_poison() {
                        x
                    } else {
                        Q::or_poison(x.mul_int(k))
                    }
                })
            }
            (Arith::Add, _) => zip2(out, sa, sb, |x, y| num_binary(Arith::Add, x, y)),
            (Arith::Sub, _) => zip2(out, sa, sb, |x, y| num_binary(Arith::Sub, x, y)),
            (Arith::Mul, _) => zip2(out, sa, sb, |x, y| num_binary(Arith::Mul, x, y)),
            (Arith::Div, _) => zip2(out, sa, sb, |x, y| num_binary(Arith::Div, x, y)),
        }
        give!(fr, n, *dst, d);
    }

    /// `-a`, `abs(a)`, and an integer made a number.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn unary(&self, ins: &Instruction, fr: &mut Frame) {
        let (Instruction::Neg { lv, dst, a }
        | Instruction::Abs { lv, dst, a }
        | Instruction::Coerce { lv, dst, a }) = ins
        else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, n, *dst);
        match ins {
            Instruction::Neg { .. } => zip1(&mut d[..n], self.num_lanes(fr, a), |x| {
                if x.is_poison() {
                    x
                } else {
                    x.neg()
                }
            }),
            Instruction::Abs { .. } => zip1(&mut d[..n], self.num_lanes(fr, a), |x| {
                if x.is_poison() {
                    x
                } else {
                    x.abs()
                }
            }),
            _ => zip1(&mut d[..n], self.num_lanes(fr, a), |x| {
                if x.is_poison() {
                    x
                } else {
                    x.as_num_kind()
                }
            }),
        }
        give!(fr, n, *dst, d);
    }

    /// `round(a, 10^e)`.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn exec_round(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Round { lv, dst, a, e } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, n, *dst);
        match e {
            Some(e) => {
                let e = *e;
                zip1(&mut d[..n], self.num_lanes(fr, a), |x| {
                    if x.is_poison() {
                        x
                    } else {
                        Q::or_poison(x.round(e))
                    }
                })
            }
            None => d[..n].fill(Q::POISON),
        }
        give!(fr, n, *dst, d);
    }

    /// `min`/`max` of two numbers.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn min_max_of_two(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::MinMaxNum { lv, dst, args, min } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, n, *dst);
        let want = if *min {
            Ordering::Less
        } else {
            Ordering::Greater
        };
        // Both evaluated; the second replaces the first only when strictly better.
        zip2(
            &mut d[..n],
            self.num_lanes(fr, &args[0]),
            self.num_lanes(fr, &args[1]),
            |x, y| {
                if x.is_poison() || y.is_poison() {
                    Q::POISON
                } else if y.cmp(x) == want {
                    y
                } else {
                    x
                }
            },
        );
        give!(fr, n, *dst, d);
    }

    /// `min`/`max` of any number of numbers.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn min_max(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::MinMaxNum { lv, dst, args, min } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, n, *dst);
        let srcs: Vec<Lanes<Q>> = args.iter().map(|a| self.num_lanes(fr, a)).collect();
        let want = if *min {
            Ordering::Less
        } else {
            Ordering::Greater
        };
        for (i, o) in d[..n].iter_mut().enumerate() {
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
        give!(fr, n, *dst, d);
    }

    /// A comparison of numbers.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn compare_num(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::CompareNum { lv, dst, op, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, b, *dst);
        let op = *op;
        zip2(
            &mut d[..n],
            self.num_lanes(fr, a),
            self.num_lanes(fr, b),
            |x, y| {
                if x.is_poison() || y.is_poison() {
                    LANE_POISON
                } else {
                    b_of(ord_ok(op, x.cmp(y)))
                }
            },
        );
        give!(fr, b, *dst, d);
    }

    /// A comparison of enum values.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn compare_enum(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::CompareEnum { lv, dst, op, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, b, *dst);
        let op = *op;
        match op {
            CmpOp::Eq => zip2(
                &mut d[..n],
                self.enum_lanes(fr, a),
                self.enum_lanes(fr, b),
                |x, y| cond3((x == ENUM_POISON) | (y == ENUM_POISON), x == y),
            ),
            CmpOp::Ne => zip2(
                &mut d[..n],
                self.enum_lanes(fr, a),
                self.enum_lanes(fr, b),
                |x, y| cond3((x == ENUM_POISON) | (y == ENUM_POISON), x != y),
            ),
            _ => zip2(
                &mut d[..n],
                self.enum_lanes(fr, a),
                self.enum_lanes(fr, b),
                |x, y| {
                    cond3(
                        (x == ENUM_POISON) | (y == ENUM_POISON),
                        ord_ok(op, x.cmp(&y)),
                    )
                },
            ),
        }
        give!(fr, b, *dst, d);
    }

    /// A comparison of conditions.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn compare_bool(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::CompareBool { lv, dst, op, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, b, *dst);
        let op = *op;
        zip2(
            &mut d[..n],
            self.bool_lanes(fr, a),
            self.bool_lanes(fr, b),
            |x, y| {
                if x == LANE_POISON || y == LANE_POISON {
                    LANE_POISON
                } else {
                    b_of(ord_ok(op, x.cmp(&y)))
                }
            },
        );
        give!(fr, b, *dst, d);
    }

    /// `a in {...}` on enum values.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn in_enum_set(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::InEnumSet { lv, dst, a, mask } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, b, *dst);
        let mask = *mask;
        // A byte table per variant (the poison value `ENUM_POISON` is beyond it).
        let mut table = [0u8; 130];
        for (v, t) in table.iter_mut().enumerate().take(128) {
            *t = (mask >> v & 1) as u8;
        }
        table[129] = LANE_POISON;
        zip1(&mut d[..n], self.enum_lanes(fr, a), |x| {
            table[(x as usize).min(128) + (x == ENUM_POISON) as usize]
        });
        give!(fr, b, *dst, d);
    }

    /// `a in {...}` on numbers.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn in_num_set(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::InNumSet { lv, dst, a, set } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, b, *dst);
        zip1(&mut d[..n], self.num_lanes(fr, a), |x| {
            if x.is_poison() {
                LANE_POISON
            } else {
                b_of(set.iter().any(|q| x.cmp(*q) == Ordering::Equal))
            }
        });
        give!(fr, b, *dst, d);
    }

    /// `not a`.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn exec_not(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Not { lv, dst, a } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, b, *dst);
        zip1(&mut d[..n], self.bool_lanes(fr, a), not3);
        give!(fr, b, *dst, d);
    }

    /// `a and b`.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn exec_and(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::And { lv, dst, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, b, *dst);
        zip2(
            &mut d[..n],
            self.bool_lanes(fr, a),
            self.bool_lanes(fr, b),
            and3,
        );
        give!(fr, b, *dst, d);
    }

    /// `a or b`.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn exec_or(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Or { lv, dst, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, b, *dst);
        zip2(
            &mut d[..n],
            self.bool_lanes(fr, a),
            self.bool_lanes(fr, b),
            or3,
        );
        give!(fr, b, *dst, d);
    }

    /// `if c then a else b` on numbers.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn select_num(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::SelectNum { lv, dst, c, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, n, *dst);
        zip3(
            &mut d[..n],
            self.bool_lanes(fr, c),
            self.num_lanes(fr, a),
            self.num_lanes(fr, b),
            |c, x, y| match c {
                LANE_TRUE => x,
                LANE_FALSE => y,
                _ => Q::POISON,
            },
        );
        give!(fr, n, *dst, d);
    }

    /// `if c then a else b` on conditions.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn select_bool(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::SelectBool { lv, dst, c, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, b, *dst);
        zip3(
            &mut d[..n],
            self.bool_lanes(fr, c),
            self.bool_lanes(fr, a),
            self.bool_lanes(fr, b),
            |c, x, y| match c {
                LANE_TRUE => x,
                LANE_FALSE => y,
                _ => LANE_POISON,
            },
        );
        give!(fr, b, *dst, d);
    }

    /// `if c then a else b` on enum values.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn select_enum(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::SelectEnum { lv, dst, c, a, b } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, e, *dst);
        zip3(
            &mut d[..n],
            self.bool_lanes(fr, c),
            self.enum_lanes(fr, a),
            self.enum_lanes(fr, b),
            |c, x, y| match c {
                LANE_TRUE => x,
                LANE_FALSE => y,
                _ => ENUM_POISON,
            },
        );
        give!(fr, e, *dst, d);
    }

    /// A parameter keyed by an enum value.
    #[allow(clippy::needless_range_loop)]
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
            Category::Num => {
                let mut d = take!(fr, n, *dst);
                let keys = self.enum_lanes(fr, key);
                let vals: Vec<Q> = table
                    .iter()
                    .map(|v| {
                        if let ParamValue::Known(Owned::Num(q)) = v {
                            *q
                        } else {
                            Q::POISON
                        }
                    })
                    .collect();
                zip1(&mut d[..n], keys, |k| {
                    vals.get(k as usize).copied().unwrap_or(Q::POISON)
                });
                give!(fr, n, *dst, d);
            }
            Category::Bool => {
                let mut d = take!(fr, b, *dst);
                let keys = self.enum_lanes(fr, key);
                let vals: Vec<u8> = table
                    .iter()
                    .map(|v| {
                        if let ParamValue::Known(Owned::Bool(b)) = v {
                            *b as u8
                        } else {
                            LANE_POISON
                        }
                    })
                    .collect();
                zip1(&mut d[..n], keys, |k| {
                    vals.get(k as usize).copied().unwrap_or(LANE_POISON)
                });
                give!(fr, b, *dst, d);
            }
            Category::Enum => {
                let mut d = take!(fr, e, *dst);
                let keys = self.enum_lanes(fr, key);
                let vals: Vec<u16> = table
                    .iter()
                    .map(|v| {
                        if let ParamValue::Known(Owned::Enum(e)) = v {
                            *e
                        } else {
                            ENUM_POISON
                        }
                    })
                    .collect();
                zip1(&mut d[..n], keys, |k| {
                    vals.get(k as usize).copied().unwrap_or(ENUM_POISON)
                });
                give!(fr, e, *dst, d);
            }
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
}
