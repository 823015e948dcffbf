//! Execution of decision tables, exceptions and the instructions evaluated lane by lane on owned values.

use super::*;

impl Executor<'_> {
    /// A table with one enum column and constant results (the row per variant is known).
    #[allow(clippy::needless_range_loop)]
    pub(super) fn table_one_enum_constant(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::TableEnum {
            lv,
            cat,
            dst,
            hit,
            cols,
            masks,
            results,
            otherwise,
            ..
        } = ins
        else {
            unreachable!("dispatched by kind")
        };
        // One enum column, constant results: the chosen row per variant is known.
        let n = self.lanes(fr, *lv);
        let pick: Vec<Option<usize>> = (0..128)
            .map(|v| {
                let rows: Vec<usize> = masks
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m[0] >> v & 1 == 1)
                    .map(|(i, _)| i)
                    .collect();
                match (hit, rows.len()) {
                    (_, 0) => otherwise.as_ref().map(|_| usize::MAX),
                    (HitPolicy::Unique, 1) | (HitPolicy::First, _) => Some(rows[0]),
                    _ => None,
                }
            })
            .collect();
        let konst = |i: usize| -> Option<Owned> {
            let o = if i == usize::MAX {
                otherwise.as_ref()?
            } else {
                &results[i]
            };
            self.owned_at(fr, o, 0)
        };
        let table: Vec<Option<Owned>> = pick.iter().map(|p| p.and_then(konst)).collect();
        let keys = self.enum_lanes(fr, &cols[0]);
        let lane = |i: usize| -> Option<Owned> {
            let v = keys.at(i);
            if v == ENUM_POISON {
                return None;
            }
            match table.get(v as usize) {
                Some(k) => k.clone(),
                None => otherwise.as_ref().and_then(|_| konst(usize::MAX)),
            }
        };
        match cat {
            Category::Bool => {
                let lanes: Vec<u8> = (0..n)
                    .map(|i| match lane(i) {
                        Some(Owned::Bool(b)) => b as u8,
                        _ => LANE_POISON,
                    })
                    .collect();
                fr.b[*dst as usize][..n].copy_from_slice(&lanes);
            }
            Category::Enum => {
                let lanes: Vec<u16> = (0..n)
                    .map(|i| match lane(i) {
                        Some(Owned::Enum(e)) => e,
                        _ => ENUM_POISON,
                    })
                    .collect();
                fr.e[*dst as usize][..n].copy_from_slice(&lanes);
            }
            _ => {
                let vals: Vec<Option<Owned>> = (0..n).map(lane).collect();
                self.put(fr, *cat, *dst, vals);
            }
        }
    }

    /// A table whose columns are enums.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn table_enum(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::TableEnum {
            lv,
            cat,
            dst,
            hit,
            cols,
            masks,
            results,
            otherwise,
            zero,
        } = ins
        else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let cols: Vec<Lanes<u16>> = cols.iter().map(|c| self.enum_lanes(fr, c)).collect();
        let mut out: Vec<Option<Owned>> = Vec::with_capacity(n);
        for i in 0..n {
            if cols.iter().any(|c| c.at(i) == ENUM_POISON) {
                out.push(None);
                continue;
            }
            let rows = masks.iter().enumerate().filter(|(_, m)| {
                m.iter().zip(&cols).all(|(m, c)| {
                    let v = c.at(i);
                    *m == u128::MAX || (v < 128 && m >> v & 1 == 1)
                })
            });
            let hits = self.hits(fr, *hit, results, i, rows.map(|(ri, _)| ri));
            out.push(hits.and_then(|(row, sum)| {
                self.table_pick(fr, *hit, row, sum, results, otherwise, *zero, i)
            }));
        }
        self.put(fr, *cat, *dst, out);
    }

    /// Any other table, lane by lane on owned values.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn table_owned(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::TableOwned {
            lv,
            cat,
            dst,
            hit,
            cols,
            rows,
            results,
            otherwise,
            zero,
        } = ins
        else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut out: Vec<Option<Owned>> = Vec::with_capacity(n);
        'lane: for i in 0..n {
            let mut vals = Vec::with_capacity(cols.len());
            for c in cols {
                match self.owned_at(fr, c, i) {
                    Some(v) => vals.push(v),
                    None => {
                        out.push(None);
                        continue 'lane;
                    }
                }
            }
            let matching = rows.iter().enumerate().filter(|(_, cells)| {
                cells.iter().zip(&vals).all(|(tests, v)| {
                    tests.is_empty()
                        || tests.iter().any(|(range, op, a, b)| {
                            if *range {
                                compare_owned(CmpOp::Ge, v, a) && compare_owned(CmpOp::Le, v, b)
                            } else {
                                compare_owned(*op, v, a)
                            }
                        })
                })
            });
            let hits = self.hits(fr, *hit, results, i, matching.map(|(ri, _)| ri));
            out.push(hits.and_then(|(row, sum)| {
                self.table_pick(fr, *hit, row, sum, results, otherwise, *zero, i)
            }));
        }
        self.put(fr, *cat, *dst, out);
    }

    /// Exceptions of a condition.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn exceptions_bool(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::ExceptionsBool { lv, dst, xs, body } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let mut d = take!(fr, b, *dst);
        let xs: Vec<(Lanes<u8>, Lanes<u8>)> = xs
            .iter()
            .map(|(c, v)| (self.bool_lanes(fr, c), self.bool_lanes(fr, v)))
            .collect();
        let body = self.bool_lanes(fr, body);
        const NONE: u8 = 3;
        for (i, o) in d[..n].iter_mut().enumerate() {
            let mut hit = NONE;
            for (c, v) in &xs {
                match c.at(i) {
                    LANE_FALSE => continue,
                    LANE_TRUE => {}
                    _ => {
                        hit = LANE_POISON;
                        break;
                    }
                }
                let v = v.at(i);
                if v == LANE_POISON || (hit != NONE && hit != v) {
                    // An error, or a conflict: the reference reports it.
                    hit = LANE_POISON;
                    break;
                }
                hit = v;
            }
            *o = if hit == NONE { body.at(i) } else { hit };
        }
        give!(fr, b, *dst, d);
    }

    /// Everything else, lane by lane on owned values.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn generic_lanes(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Generic { lv, cat, dst, op } = ins else {
            unreachable!("dispatched by kind")
        };
        let n = self.lanes(fr, *lv);
        let out: Vec<Option<Owned>> = (0..n).map(|i| self.generic(fr, op, *lv, i)).collect();
        self.put(fr, *cat, *dst, out);
    }

    /// What the rows lane `i` hits (`rows`, in order) decide under the hit policy: the row (`first`,
    /// `unique`) or the sum of their results (`sum`); `None` when the lane is poisoned (a second hit
    /// of a `unique` table, a result that is poisoned or not a number, an overflow), which the
    /// reference then reports.
    #[inline(always)]
    fn hits(
        &self,
        fr: &Frame,
        hit: HitPolicy,
        results: &[Operand],
        i: usize,
        rows: impl Iterator<Item = usize>,
    ) -> Option<(Option<usize>, Option<Q>)> {
        let mut found: Option<usize> = None;
        let mut sum: Option<Q> = None;
        for ri in rows {
            match hit {
                HitPolicy::First => return Some((Some(ri), None)),
                HitPolicy::Unique => {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(ri);
                }
                HitPolicy::Sum => match self.owned_at(fr, &results[ri], i) {
                    Some(Owned::Num(v)) => sum = Some(sum.map_or(Ok(v), |s| s.add(v)).ok()?),
                    _ => return None,
                },
            }
        }
        Some((found, sum))
    }

    /// The result of a lane's table: the sum (`sum` tables, `zero` when no row hit), the hit row's
    /// result, or the `otherwise` result.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn table_pick(
        &self,
        fr: &Frame,
        hit: HitPolicy,
        row: Option<usize>,
        sum: Option<Q>,
        results: &[Operand],
        otherwise: &Option<Operand>,
        zero: Q,
        i: usize,
    ) -> Option<Owned> {
        if hit == HitPolicy::Sum {
            return Some(Owned::Num(sum.unwrap_or(zero)));
        }
        match (row, otherwise) {
            (Some(r), _) => self.owned_at(fr, &results[r], i),
            (None, Some(o)) => self.owned_at(fr, o, i),
            (None, None) => None,
        }
    }

    /// One lane of a generic instruction (`None`: poison).
    pub(super) fn generic(&self, fr: &Frame, op: &GenericOp, lv: Level, i: usize) -> Option<Owned> {
        match op {
            GenericOp::Cmp(op, a, b) => {
                let (x, y) = (self.owned_at(fr, a, i)?, self.owned_at(fr, b, i)?);
                Some(Owned::Bool(compare_owned(*op, &x, &y)))
            }
            GenericOp::In(a, set) => {
                let x = self.owned_at(fr, a, i)?;
                Some(Owned::Bool(
                    set.iter().any(|k| compare_owned(CmpOp::Eq, &x, k)),
                ))
            }
            GenericOp::Select(c, a, b) => match self.bool_lanes(fr, c).at(i) {
                LANE_TRUE => self.owned_at(fr, a, i),
                LANE_FALSE => self.owned_at(fr, b, i),
                _ => None,
            },
            GenericOp::MinMax(args, min) => {
                let op = if *min { CmpOp::Lt } else { CmpOp::Gt };
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.owned_at(fr, a, i)?);
                }
                let mut it = vals.into_iter();
                let mut best = it.next()?;
                for v in it {
                    if compare_owned(op, &v, &best) {
                        best = v;
                    }
                }
                Some(best)
            }
            GenericOp::Except(xs, body, ty) => {
                let mut hit: Option<Owned> = None;
                for (c, v) in xs {
                    match self.bool_lanes(fr, c).at(i) {
                        LANE_FALSE => continue,
                        LANE_TRUE => {}
                        _ => return None,
                    }
                    let v = match self.owned_at(fr, v, i)? {
                        Owned::Num(q) => Owned::Num(coerce_q(q, *ty)),
                        k => k,
                    };
                    match &hit {
                        // A conflict: the reference reports it.
                        Some(w) if !same_owned(w, &v) => return None,
                        Some(_) => {}
                        None => hit = Some(v),
                    }
                }
                match hit {
                    Some(v) => Some(v),
                    None => match self.owned_at(fr, body, i)? {
                        Owned::Num(q) => Some(Owned::Num(coerce_q(q, *ty))),
                        k => Some(k),
                    },
                }
            }
            GenericOp::Variant(a, en) => match self.owned_at(fr, a, i)? {
                Owned::Other(Value::Text(t)) => self.policy.program.enums[*en as usize]
                    .variants
                    .iter()
                    .position(|n| n.as_str() == &*t)
                    .map(|v| Owned::Enum(v as u16)),
                _ => None,
            },
            GenericOp::Coerce(a, ty) => match self.owned_at(fr, a, i)? {
                Owned::Num(q) => Some(Owned::Num(coerce_q(q, *ty))),
                k => Some(k),
            },
            GenericOp::Extern(id, span, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(match self.owned_at(fr, a, i)? {
                        Owned::Bool(b) => Value::Bool(b),
                        Owned::Enum(e) => Value::Enum(e),
                        Owned::Num(q) if q.is_int() => Value::Int(q.n),
                        // A script sees a decimal's written scale, which the compiled path does not
                        // follow: the reference calls it.
                        Owned::Num(_) => return None,
                        Owned::Other(v) => v,
                    });
                }
                let v = self.policy.call_extern(*id, &vals, *span).ok()?;
                owned_of_value(&v).ok()
            }
            GenericOp::Time(b, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(match self.owned_at(fr, a, i)? {
                        Owned::Num(q) if q.is_int() => Value::Int(q.n),
                        Owned::Other(v) => v,
                        _ => return None,
                    });
                }
                let cal = &self.policy.program.calendar;
                // An error (a year the calendar lacks) poisons the lane: the reference reports it.
                let v = crate::time::apply(*b, &vals, cal, self.month).ok()?;
                owned_of_value(&v).ok()
            }
            GenericOp::HasHistory => Some(Owned::Bool(self.hs[i].previous.is_some())),
            GenericOp::Previous(s) => {
                let v = self.hs[i].previous.as_ref()?.get(*s)?;
                owned_of_value(v).ok()
            }
            GenericOp::Id => {
                let id = match lv {
                    Level::Household => &self.hs[i].id,
                    Level::Person => {
                        let (h, m) = fr.pos[i];
                        &self.hs[h as usize].members[m as usize].id
                    }
                };
                Some(Owned::Other(Value::Text(id.as_str().into())))
            }
            GenericOp::Input(slot) => {
                let v = match lv {
                    Level::Household => &self.hs[i].fields[*slot],
                    Level::Person => {
                        let (h, m) = fr.pos[i];
                        &self.hs[h as usize].members[m as usize].fields[*slot]
                    }
                };
                owned_of_value(v).ok()
            }
        }
    }
}
