//! Compilation of the definitions the outputs need into a columnar program.

use super::*;

pub(super) struct Compiler<'p> {
    pub(super) prog: &'p doudi_dsl::ir::Program,
    pub(super) params: &'p ParamTable,
    pub(super) ins: Vec<Instruction>,
    pub(super) levels: [Vec<Level>; 4],
    pub(super) loads: Vec<Load>,
    pub(super) inputs: HashMap<(Level, usize, bool), Operand>,
    /// Text inputs loaded as an enum's variants: (level, slot, enum) to the register.
    pub(super) variant_inputs: HashMap<(Level, usize, doudi_dsl::ir::EnumId), u32>,
    pub(super) bcasts: HashMap<(Category, u32), u32>,
    pub(super) defs: Vec<Option<Operand>>,
    pub(super) visiting: Vec<bool>,
    pub(super) depth: usize,
    /// Number registers that never hold an integer (`Value::Int`) at run time.
    pub(super) num_only: Vec<bool>,
}

/// How deep definitions may nest (the reference reports "definitions nest too deeply" beyond its
/// `MAX_DEPTH`; the compiled path refuses such policies).
pub(super) const MAX_CHAIN: usize = (crate::eval::MAX_DEPTH as usize) - 8;

/// Runs a recursive compilation step with room on the stack.
pub(super) fn grow<T>(f: impl FnOnce() -> T) -> T {
    use doudi_dsl::check::{STACK_GROWTH, STACK_RED_ZONE};
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, f)
}

impl<'p> Compiler<'p> {
    pub(super) fn reg(&mut self, c: Category, lv: Level) -> u32 {
        let v = &mut self.levels[category_index(c)];
        v.push(lv);
        if c == Category::Num {
            self.num_only.push(false);
        }
        (v.len() - 1) as u32
    }

    /// Whether an operand never holds an integer at run time (then `coerce_value` is a no-op).
    pub(super) fn never_int(&self, o: &NumOperand) -> bool {
        match o {
            NumOperand::Const(q) => !q.is_int(),
            NumOperand::Reg(r) => self.num_only[*r as usize],
            NumOperand::Param(off) => {
                self.params.values.iter().all(
                    |row| matches!(row.get(*off as usize), Some(ParamValue::Known(Owned::Num(q))) if !q.is_int()),
                )
            }
        }
    }

    /// Records that a new number register never holds an integer.
    pub(super) fn never_int_reg(&mut self, o: NumOperand) -> NumOperand {
        if let NumOperand::Reg(r) = o {
            self.num_only[r as usize] = true;
        }
        o
    }

    /// Pushes an instruction writing number register `dst`, recording whether it can hold an integer
    /// (mirroring `eval::arith`: integers stay integers under `+ - *`, division and rounding give
    /// numbers, a selection or a minimum is one of its operands).
    pub(super) fn push_n(&mut self, ins: Instruction) {
        let never = match &ins {
            Instruction::Arith { op: Arith::Div, .. }
            | Instruction::Round { .. }
            | Instruction::Coerce { .. } => true,
            Instruction::Arith { a, b, .. } => self.never_int(a) || self.never_int(b),
            Instruction::Neg { a, .. } | Instruction::Abs { a, .. } => self.never_int(a),
            Instruction::SelectNum { a, b, .. } => self.never_int(a) && self.never_int(b),
            Instruction::MinMaxNum { args, .. } => args.iter().all(|a| self.never_int(a)),
            Instruction::Fold { ty, .. } => matches!(ty, Ty::Decimal | Ty::Percent | Ty::Money(_)),
            Instruction::Broadcast {
                cat: Category::Num,
                src,
                ..
            } => self.num_only[*src as usize],
            _ => false,
        };
        let dst = match &ins {
            Instruction::Arith { dst, .. }
            | Instruction::Round { dst, .. }
            | Instruction::Coerce { dst, .. }
            | Instruction::Neg { dst, .. }
            | Instruction::Abs { dst, .. }
            | Instruction::SelectNum { dst, .. }
            | Instruction::MinMaxNum { dst, .. }
            | Instruction::Fold { dst, .. }
            | Instruction::Broadcast {
                cat: Category::Num,
                dst,
                ..
            } => Some(*dst),
            _ => None,
        };
        if let (Some(d), true) = (dst, never) {
            self.never_int_reg(NumOperand::Reg(d));
        }
        self.ins.push(ins);
    }

    /// A definition's value at its own level.
    pub(super) fn def(&mut self, id: DefId) -> CompileResult<Operand> {
        if let Some(v) = &self.defs[id as usize] {
            return Ok(v.clone());
        }
        if self.visiting[id as usize] {
            return unsupported("a cycle of definitions");
        }
        if self.depth >= MAX_CHAIN {
            return unsupported("definitions nest too deeply for the compiled path");
        }
        self.visiting[id as usize] = true;
        self.depth += 1;
        let r = grow(|| self.def_inner(id));
        self.depth -= 1;
        self.visiting[id as usize] = false;
        let v = r?;
        self.defs[id as usize] = Some(v.clone());
        Ok(v)
    }

    pub(super) fn def_inner(&mut self, id: DefId) -> CompileResult<Operand> {
        let prog = self.prog;
        let d = &prog.defs[id as usize];
        let lv = match d.entity {
            EntityKind::Person => Level::Person,
            EntityKind::Household => Level::Household,
            EntityKind::Programme => return unsupported("a programme definition"),
        };
        let ty = d.ty;
        let c = category_of(ty);
        let body = match &d.body {
            DefBody::Expr(e) => self.expr(e, lv)?,
            DefBody::Table(t) => self.table(t, d, lv)?,
        };
        if d.exceptions.is_empty() {
            return self.coerce(body, ty, lv);
        }
        let mut xs = Vec::new();
        for x in &d.exceptions {
            let cond = self.expr(&x.cond, lv)?.bool()?;
            let val = self.expr(&x.value, lv)?;
            xs.push((cond, val));
        }
        let dst = self.reg(c, lv);
        if let (Operand::Bool(body), true) =
            (&body, xs.iter().all(|(_, v)| matches!(v, Operand::Bool(_))))
        {
            let xs = xs
                .into_iter()
                .filter_map(|(c, v)| {
                    if let Operand::Bool(v) = v {
                        Some((c, v))
                    } else {
                        None
                    }
                })
                .collect();
            self.ins.push(Instruction::ExceptionsBool {
                lv,
                dst,
                xs,
                body: *body,
            });
        } else {
            self.ins.push(Instruction::Generic {
                lv,
                cat: c,
                dst,
                op: GenericOp::Except(xs, body, ty),
            });
        }
        Ok(reg_ao(c, dst))
    }

    /// `coerce_value` of a definition's value.
    pub(super) fn coerce(&mut self, v: Operand, ty: Ty, lv: Level) -> CompileResult<Operand> {
        if !matches!(ty, Ty::Decimal | Ty::Percent | Ty::Money(_)) {
            return Ok(v);
        }
        Ok(match v {
            Operand::Num(NumOperand::Const(q)) => Operand::Num(NumOperand::Const(coerce_q(q, ty))),
            Operand::Num(a) if self.never_int(&a) => Operand::Num(a),
            Operand::Num(a) => {
                let dst = self.reg(Category::Num, lv);
                self.push_n(Instruction::Coerce { lv, dst, a });
                Operand::Num(NumOperand::Reg(dst))
            }
            other => {
                let c = other.category();
                let dst = self.reg(c, lv);
                self.ins.push(Instruction::Generic {
                    lv,
                    cat: c,
                    dst,
                    op: GenericOp::Coerce(other, ty),
                });
                reg_ao(c, dst)
            }
        })
    }

    /// A household-level operand used in person scope.
    pub(super) fn down(&mut self, v: Operand) -> Operand {
        let (c, src) = match &v {
            Operand::Num(NumOperand::Reg(r)) => (Category::Num, *r),
            Operand::Bool(BoolOperand::Reg(r)) => (Category::Bool, *r),
            Operand::Enum(EnumOperand::Reg(r)) => (Category::Enum, *r),
            Operand::Other(OtherOperand::Reg(r)) => (Category::Other, *r),
            _ => return v, // constants and parameters are the same at every level
        };
        if let Some(&d) = self.bcasts.get(&(c, src)) {
            return reg_ao(c, d);
        }
        let dst = self.reg(c, Level::Person);
        self.push_n(Instruction::Broadcast { cat: c, dst, src });
        self.bcasts.insert((c, src), dst);
        reg_ao(c, dst)
    }

    pub(super) fn input(&mut self, lv: Level, slot: usize, ty: Ty, id: bool) -> Operand {
        if let Some(v) = self.inputs.get(&(lv, slot, id)) {
            return v.clone();
        }
        let c = if id { Category::Other } else { category_of(ty) };
        let dst = self.reg(c, lv);
        if id {
            self.ins.push(Instruction::Generic {
                lv,
                cat: c,
                dst,
                op: GenericOp::Id,
            });
        } else if c == Category::Other {
            self.ins.push(Instruction::Generic {
                lv,
                cat: c,
                dst,
                op: GenericOp::Input(slot),
            });
        } else {
            self.loads.push(Load {
                lv,
                slot,
                cat: c,
                dst,
                variants: None,
            });
        }
        let v = reg_ao(c, dst);
        self.inputs.insert((lv, slot, id), v.clone());
        v
    }

    pub(super) fn expr(&mut self, e: &Expr, lv: Level) -> CompileResult<Operand> {
        grow(|| self.expr_inner(e, lv))
    }

    pub(super) fn expr_inner(&mut self, e: &Expr, lv: Level) -> CompileResult<Operand> {
        let c = category_of(e.ty);
        Ok(match &e.kind {
            ExprKind::Const(k) => match owned_of_const(k) {
                Ok(Owned::Bool(b)) => Operand::Bool(BoolOperand::Const(b as u8)),
                Ok(Owned::Num(q)) => Operand::Num(NumOperand::Const(q)),
                Ok(Owned::Enum(x)) => Operand::Enum(EnumOperand::Const(x)),
                Ok(Owned::Other(v)) => Operand::Other(OtherOperand::Const(v)),
                Err(_) => Operand::Num(NumOperand::Const(Q::POISON)),
            },
            ExprKind::Input(slot) => self.input(lv, *slot as usize, e.ty, false),
            ExprKind::HouseholdInput(slot) => {
                let v = self.input(Level::Household, *slot as usize, e.ty, false);
                if lv == Level::Person {
                    self.down(v)
                } else {
                    v
                }
            }
            ExprKind::Id => self.input(lv, usize::MAX, e.ty, true),
            ExprKind::HasHistory | ExprKind::Previous(_) => {
                if lv != Level::Household {
                    return unsupported("history outside a household definition");
                }
                let op = match &e.kind {
                    ExprKind::Previous(s) => GenericOp::Previous(*s as usize),
                    _ => GenericOp::HasHistory,
                };
                let dst = self.reg(c, lv);
                self.ins.push(Instruction::Generic {
                    lv,
                    cat: c,
                    dst,
                    op,
                });
                reg_ao(c, dst)
            }
            ExprKind::Def(id) | ExprKind::HouseholdDef(id) => {
                let d = &self.prog.defs[*id as usize];
                let v = self.def(*id)?;
                match (d.entity, lv) {
                    (EntityKind::Person, Level::Person)
                    | (EntityKind::Household, Level::Household) => v,
                    (EntityKind::Household, Level::Person) => self.down(v),
                    _ => return unsupported("a definition used outside its scope"),
                }
            }
            ExprKind::Param(p) => self.param(*p, None, lv)?,
            ExprKind::ParamAt(p, k) => {
                let key = self.expr(k, lv)?.en()?;
                self.param(*p, Some(key), lv)?
            }
            ExprKind::Variant(en, x) => self.variant(*en, x, lv)?,
            ExprKind::Neg(x) => {
                let a = self.expr(x, lv)?.num()?;
                let dst = self.reg(Category::Num, lv);
                self.push_n(Instruction::Neg { lv, dst, a });
                Operand::Num(NumOperand::Reg(dst))
            }
            ExprKind::Not(x) => {
                let a = self.expr(x, lv)?.bool()?;
                let dst = self.reg(Category::Bool, lv);
                self.ins.push(Instruction::Not { lv, dst, a });
                Operand::Bool(BoolOperand::Reg(dst))
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let and = matches!(e.kind, ExprKind::And(..));
                let a = self.expr(a, lv)?.bool()?;
                let b = self.expr(b, lv)?.bool()?;
                let dst = self.reg(Category::Bool, lv);
                self.ins.push(if and {
                    Instruction::And { lv, dst, a, b }
                } else {
                    Instruction::Or { lv, dst, a, b }
                });
                Operand::Bool(BoolOperand::Reg(dst))
            }
            ExprKind::Arith(op, a, b) => {
                let a = self.expr(a, lv)?.num()?;
                let b = self.expr(b, lv)?.num()?;
                let dst = self.reg(Category::Num, lv);
                self.push_n(Instruction::Arith {
                    op: *op,
                    lv,
                    dst,
                    a,
                    b,
                });
                Operand::Num(NumOperand::Reg(dst))
            }
            ExprKind::Cmp(op, a, b) => self.compare(*op, a, b, lv)?,
            ExprKind::In(x, items) => self.in_set(x, items, lv)?,
            ExprKind::If(cond, a, b) => self.select(cond, a, b, lv, c)?,
            ExprKind::Builtin(b, args) => self.builtin(*b, args, lv, c)?,
            ExprKind::Round(x, step) => {
                let a = self.expr(x, lv)?.num()?;
                let dst = self.reg(Category::Num, lv);
                self.push_n(Instruction::Round {
                    lv,
                    dst,
                    a,
                    e: step_exponent(*step),
                });
                Operand::Num(NumOperand::Reg(dst))
            }
            ExprKind::Extern(id, args) => {
                let args: Vec<Operand> = args
                    .iter()
                    .map(|a| self.expr(a, lv))
                    .collect::<CompileResult<_>>()?;
                let rc = category_of(self.prog.externs[*id as usize].ret);
                let dst = self.reg(rc, lv);
                self.ins.push(Instruction::Generic {
                    lv,
                    cat: rc,
                    dst,
                    op: GenericOp::Extern(*id, e.span, args),
                });
                reg_ao(rc, dst)
            }
            ExprKind::Agg {
                kind,
                coll,
                body,
                filter,
            } => self.aggregate(*kind, *coll, body.as_deref(), filter.as_deref(), lv, e.ty)?,
        })
    }

    /// `variant(E, x)`: a text made an enum value (an input field's looked up when it is loaded).
    fn variant(&mut self, en: u32, x: &Expr, lv: Level) -> CompileResult<Operand> {
        // A household's code (`household.region` in a person definition) is looked up once
        // per household, then broadcast to the members.
        let at = match x.kind {
            ExprKind::HouseholdInput(_) | ExprKind::HouseholdDef(_) => Level::Household,
            _ => lv,
        };
        let slot = match x.kind {
            ExprKind::HouseholdInput(slot) => Some(slot),
            ExprKind::Input(slot) if at == lv => Some(slot),
            _ => None,
        };
        let v = match slot {
            // An input field: looked up when the input is loaded, without a text register.
            Some(slot) => match self.variant_inputs.get(&(at, slot as usize, en)) {
                Some(&dst) => dst,
                None => {
                    let dst = self.reg(Category::Enum, at);
                    let names = &self.prog.enums[en as usize].variants;
                    self.loads.push(Load {
                        lv: at,
                        slot: slot as usize,
                        cat: Category::Enum,
                        dst,
                        variants: Some(names.clone()),
                    });
                    self.variant_inputs.insert((at, slot as usize, en), dst);
                    dst
                }
            },
            None => {
                let a = self.expr(x, at)?;
                let dst = self.reg(Category::Enum, at);
                self.ins.push(Instruction::Generic {
                    lv: at,
                    cat: Category::Enum,
                    dst,
                    op: GenericOp::Variant(a, en),
                });
                dst
            }
        };
        let v = Operand::Enum(EnumOperand::Reg(v));
        Ok(if at == lv { v } else { self.down(v) })
    }

    /// A comparison, on its own instruction for numbers, enum values and conditions.
    fn compare(&mut self, op: CmpOp, a: &Expr, b: &Expr, lv: Level) -> CompileResult<Operand> {
        let (a, b) = (self.expr(a, lv)?, self.expr(b, lv)?);
        let dst = self.reg(Category::Bool, lv);
        self.ins.push(match (a, b) {
            (Operand::Num(a), Operand::Num(b)) => Instruction::CompareNum { lv, dst, op, a, b },
            (Operand::Enum(a), Operand::Enum(b)) => Instruction::CompareEnum { lv, dst, op, a, b },
            (Operand::Bool(a), Operand::Bool(b)) => Instruction::CompareBool { lv, dst, op, a, b },
            (a, b) => Instruction::Generic {
                lv,
                cat: Category::Bool,
                dst,
                op: GenericOp::Cmp(op, a, b),
            },
        });
        Ok(Operand::Bool(BoolOperand::Reg(dst)))
    }

    /// `x in {...}`: a mask of enum values, a set of numbers, or lane by lane.
    fn in_set(&mut self, x: &Expr, items: &[Const], lv: Level) -> CompileResult<Operand> {
        let a = self.expr(x, lv)?;
        let ks: Vec<Owned> = items
            .iter()
            .map(owned_of_const)
            .collect::<R<_>>()
            .map_err(|_| CompileError("an `in` list beyond the compiled path".into()))?;
        let dst = self.reg(Category::Bool, lv);
        self.ins.push(match a {
            Operand::Enum(a) if ks.iter().all(|k| matches!(k, Owned::Enum(v) if *v < 128)) => {
                let mask = ks.iter().fold(0u128, |m, k| {
                    if let Owned::Enum(v) = k {
                        m | 1 << v
                    } else {
                        m
                    }
                });
                Instruction::InEnumSet { lv, dst, a, mask }
            }
            Operand::Num(a) if ks.iter().all(|k| matches!(k, Owned::Num(_))) => {
                let set = ks
                    .iter()
                    .filter_map(|k| {
                        if let Owned::Num(q) = k {
                            Some(*q)
                        } else {
                            None
                        }
                    })
                    .collect();
                Instruction::InNumSet { lv, dst, a, set }
            }
            a => Instruction::Generic {
                lv,
                cat: Category::Bool,
                dst,
                op: GenericOp::In(a, ks),
            },
        });
        Ok(Operand::Bool(BoolOperand::Reg(dst)))
    }

    /// `if cond then a else b`.
    fn select(
        &mut self,
        cond: &Expr,
        a: &Expr,
        b: &Expr,
        lv: Level,
        c: Category,
    ) -> CompileResult<Operand> {
        let cond = self.expr(cond, lv)?.bool()?;
        let (a, b) = (self.expr(a, lv)?, self.expr(b, lv)?);
        let dst = self.reg(c, lv);
        self.push_n(match (a, b) {
            (Operand::Num(a), Operand::Num(b)) if c == Category::Num => Instruction::SelectNum {
                lv,
                dst,
                c: cond,
                a,
                b,
            },
            (Operand::Bool(a), Operand::Bool(b)) if c == Category::Bool => {
                Instruction::SelectBool {
                    lv,
                    dst,
                    c: cond,
                    a,
                    b,
                }
            }
            (Operand::Enum(a), Operand::Enum(b)) if c == Category::Enum => {
                Instruction::SelectEnum {
                    lv,
                    dst,
                    c: cond,
                    a,
                    b,
                }
            }
            (a, b) if a.category() == c && b.category() == c => Instruction::Generic {
                lv,
                cat: c,
                dst,
                op: GenericOp::Select(cond, a, b),
            },
            _ => return unsupported("`if` branches of different kinds"),
        });
        Ok(reg_ao(c, dst))
    }

    /// An aggregation over the household's members.
    fn aggregate(
        &mut self,
        kind: AggKind,
        coll: Coll,
        body: Option<&Expr>,
        filter: Option<&Expr>,
        lv: Level,
        ty: Ty,
    ) -> CompileResult<Operand> {
        if coll != Coll::Members || lv != Level::Household {
            return unsupported("a population aggregation inside a household definition");
        }
        let filter = match filter {
            Some(f) => self.expr(f, Level::Person)?.bool()?,
            None => BoolOperand::Const(LANE_TRUE),
        };
        Ok(match kind {
            AggKind::Count => {
                let dst = self.reg(Category::Num, Level::Household);
                self.ins.push(Instruction::Count { dst, filter });
                Operand::Num(NumOperand::Reg(dst))
            }
            AggKind::Any | AggKind::All => {
                let body = match body {
                    Some(b) => self.expr(b, Level::Person)?.bool()?,
                    None => BoolOperand::Const(LANE_TRUE),
                };
                let dst = self.reg(Category::Bool, Level::Household);
                self.ins.push(Instruction::AnyAll {
                    any: kind == AggKind::Any,
                    dst,
                    filter,
                    body,
                });
                Operand::Bool(BoolOperand::Reg(dst))
            }
            AggKind::Sum | AggKind::Min | AggKind::Max => {
                let body = match body {
                    Some(b) => self.expr(b, Level::Person)?.num()?,
                    None => NumOperand::Const(Q::ZERO_INT),
                };
                let dst = self.reg(Category::Num, Level::Household);
                self.push_n(Instruction::Fold {
                    kind,
                    dst,
                    filter,
                    body,
                    ty,
                });
                Operand::Num(NumOperand::Reg(dst))
            }
        })
    }

    pub(super) fn param(
        &mut self,
        id: ParamId,
        key: Option<EnumOperand>,
        lv: Level,
    ) -> CompileResult<Operand> {
        let prm = &self.prog.params[id as usize];
        let off = self.params.offsets[id as usize] as u32;
        let count = self.params.counts[id as usize] as u32;
        let c = category_of(prm.ty);
        if count == 0 {
            return Ok(match c {
                Category::Num => Operand::Num(NumOperand::Const(Q::POISON)),
                Category::Bool => Operand::Bool(BoolOperand::Const(LANE_POISON)),
                Category::Enum => Operand::Enum(EnumOperand::Const(ENUM_POISON)),
                Category::Other => return unsupported("a text parameter with no value"),
            });
        }
        match key {
            None => Ok(match c {
                Category::Num => Operand::Num(NumOperand::Param(off)),
                Category::Bool => Operand::Bool(BoolOperand::Param(off)),
                Category::Enum => Operand::Enum(EnumOperand::Param(off)),
                Category::Other => Operand::Other(OtherOperand::Param(off)),
            }),
            Some(key) => {
                let dst = self.reg(c, lv);
                self.ins.push(Instruction::ParamAt {
                    lv,
                    cat: c,
                    dst,
                    key,
                    off,
                    count,
                });
                if c == Category::Num
                    && (off..off + count).all(|o| self.never_int(&NumOperand::Param(o)))
                {
                    self.never_int_reg(NumOperand::Reg(dst));
                }
                Ok(reg_ao(c, dst))
            }
        }
    }

    pub(super) fn builtin(
        &mut self,
        b: Builtin,
        args: &[Expr],
        lv: Level,
        c: Category,
    ) -> CompileResult<Operand> {
        let twelve = Q::or_poison(Q::int(12));
        if b.is_time() {
            let args: Vec<Operand> = args
                .iter()
                .map(|a| self.expr(a, lv))
                .collect::<CompileResult<_>>()?;
            let dst = self.reg(c, lv);
            self.ins.push(Instruction::Generic {
                lv,
                cat: c,
                dst,
                op: GenericOp::Time(b, args),
            });
            return Ok(reg_ao(c, dst));
        }
        match b {
            Builtin::Monthly | Builtin::Yearly | Builtin::Abs => {
                let [x] = args else {
                    return unsupported("a builtin's arguments");
                };
                let a = self.expr(x, lv)?.num()?;
                let dst = self.reg(Category::Num, lv);
                self.push_n(match b {
                    Builtin::Monthly => Instruction::Arith {
                        op: Arith::Div,
                        lv,
                        dst,
                        a,
                        b: NumOperand::Const(twelve),
                    },
                    Builtin::Yearly => Instruction::Arith {
                        op: Arith::Mul,
                        lv,
                        dst,
                        a,
                        b: NumOperand::Const(twelve),
                    },
                    _ => Instruction::Abs { lv, dst, a },
                });
                Ok(Operand::Num(NumOperand::Reg(dst)))
            }
            Builtin::Min | Builtin::Max => {
                let min = b == Builtin::Min;
                let args: Vec<Operand> = args
                    .iter()
                    .map(|a| self.expr(a, lv))
                    .collect::<CompileResult<_>>()?;
                if args.is_empty() {
                    return Ok(Operand::Num(NumOperand::Const(Q::POISON)));
                }
                if args.iter().all(|a| a.category() == Category::Num) {
                    let args: Vec<NumOperand> = args
                        .into_iter()
                        .map(|a| a.num())
                        .collect::<CompileResult<_>>()?;
                    let dst = self.reg(Category::Num, lv);
                    self.push_n(Instruction::MinMaxNum { lv, dst, args, min });
                    return Ok(Operand::Num(NumOperand::Reg(dst)));
                }
                if args.iter().any(|a| a.category() != c) {
                    return unsupported("`min`/`max` of values of different kinds");
                }
                let dst = self.reg(c, lv);
                self.ins.push(Instruction::Generic {
                    lv,
                    cat: c,
                    dst,
                    op: GenericOp::MinMax(args, min),
                });
                Ok(reg_ao(c, dst))
            }
            _ => unsupported("a date function"),
        }
    }

    pub(super) fn table(&mut self, t: &Table, d: &Def, lv: Level) -> CompileResult<Operand> {
        let c = category_of(d.ty);
        let zero = zero_q(d.ty);
        let hit = t.hit;
        let otherwise = match &t.otherwise {
            Some(o) => Some(self.expr(o, lv)?),
            None => None,
        };
        let results: Vec<Operand> = t
            .rows
            .iter()
            .map(|r| self.expr(&r.result, lv))
            .collect::<CompileResult<_>>()?;
        if results
            .iter()
            .chain(otherwise.iter())
            .any(|r| r.category() != c)
        {
            return unsupported("a table result of another kind");
        }
        let dst = self.reg(c, lv);
        let enum_cells = c != Category::Other
            && t.columns
                .iter()
                .all(|col| category_of(col.ty) == Category::Enum)
            && t.rows.iter().all(|r| {
                r.cells.iter().all(|ts| {
                    ts.iter()
                        .all(|x| matches!(x, CellTest::Eq(Const::Enum(v)) if *v < 128))
                })
            });
        if enum_cells {
            let cols: Vec<EnumOperand> = t
                .columns
                .iter()
                .map(|col| self.expr(col, lv)?.en())
                .collect::<CompileResult<_>>()?;
            let masks = t
                .rows
                .iter()
                .map(|r| {
                    r.cells
                        .iter()
                        .map(|ts| {
                            if ts.is_empty() {
                                u128::MAX
                            } else {
                                ts.iter().fold(0u128, |m, x| {
                                    if let CellTest::Eq(Const::Enum(v)) = x {
                                        m | 1 << v
                                    } else {
                                        m
                                    }
                                })
                            }
                        })
                        .collect()
                })
                .collect();
            self.ins.push(Instruction::TableEnum {
                lv,
                cat: c,
                dst,
                hit,
                cols,
                masks,
                results,
                otherwise,
                zero,
            });
            return Ok(reg_ao(c, dst));
        }
        let cols: Vec<Operand> = t
            .columns
            .iter()
            .map(|col| self.expr(col, lv))
            .collect::<CompileResult<_>>()?;
        let mut rows = Vec::new();
        for r in &t.rows {
            let mut cells = Vec::new();
            for tests in &r.cells {
                let mut ts = Vec::new();
                for tst in tests {
                    let kc = |c: &Const| {
                        owned_of_const(c).map_err(|_| {
                            CompileError("a table cell beyond the compiled path".into())
                        })
                    };
                    ts.push(match tst {
                        CellTest::Eq(x) => (false, CmpOp::Eq, kc(x)?, Owned::Bool(false)),
                        CellTest::Cmp(op, x) => (false, *op, kc(x)?, Owned::Bool(false)),
                        CellTest::Range(a, b) => (true, CmpOp::Ge, kc(a)?, kc(b)?),
                    });
                }
                cells.push(ts);
            }
            rows.push(cells);
        }
        self.ins.push(Instruction::TableOwned {
            lv,
            cat: c,
            dst,
            hit,
            cols,
            rows,
            results,
            otherwise,
            zero,
        });
        Ok(reg_ao(c, dst))
    }
}

/// A constant operand (not a register, not a parameter).
pub(super) fn is_const(o: &Operand) -> bool {
    matches!(
        o,
        Operand::Num(NumOperand::Const(_))
            | Operand::Bool(BoolOperand::Const(_))
            | Operand::Enum(EnumOperand::Const(_))
            | Operand::Other(OtherOperand::Const(_))
    )
}

pub(super) fn reg_ao(c: Category, r: u32) -> Operand {
    match c {
        Category::Num => Operand::Num(NumOperand::Reg(r)),
        Category::Bool => Operand::Bool(BoolOperand::Reg(r)),
        Category::Enum => Operand::Enum(EnumOperand::Reg(r)),
        Category::Other => Operand::Other(OtherOperand::Reg(r)),
    }
}

// ---------------------------------------------------------------------------------------------
