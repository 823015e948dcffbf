//! Execution of aggregations over a household's members (`count`, `any`, `all`, `sum`, `min`, `max`).

use super::*;

impl Executor<'_> {
    /// `count(members where f)`.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn exec_count(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Count { dst, filter } = ins else {
            unreachable!("dispatched by kind")
        };
        let mut d = take!(fr, n, *dst);
        let f = self.bool_lanes(fr, filter);
        for h in 0..fr.h {
            let mut c = 0i64;
            let mut poison = false;
            for j in fr.off[h]..fr.off[h + 1] {
                match f.at(j) {
                    LANE_TRUE => c += 1,
                    LANE_FALSE => {}
                    _ => {
                        poison = true;
                        break;
                    }
                }
            }
            d[h] = if poison {
                Q::POISON
            } else {
                Q::or_poison(Q::int(c))
            };
        }
        give!(fr, n, *dst, d);
    }

    /// `any`/`all` over members.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn any_all(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::AnyAll {
            any,
            dst,
            filter,
            body,
        } = ins
        else {
            unreachable!("dispatched by kind")
        };
        let mut d = take!(fr, b, *dst);
        let (f, bd) = (self.bool_lanes(fr, filter), self.bool_lanes(fr, body));
        let any = *any;
        for h in 0..fr.h {
            let mut r = if any { LANE_FALSE } else { LANE_TRUE };
            for j in fr.off[h]..fr.off[h + 1] {
                match f.at(j) {
                    LANE_FALSE => continue,
                    LANE_TRUE => {}
                    _ => {
                        r = LANE_POISON;
                        break;
                    }
                }
                match bd.at(j) {
                    LANE_POISON => {
                        r = LANE_POISON;
                        break;
                    }
                    v => {
                        if any && v == LANE_TRUE {
                            r = LANE_TRUE;
                            break;
                        }
                        if !any && v == LANE_FALSE {
                            r = LANE_FALSE;
                            break;
                        }
                    }
                }
            }
            d[h] = r;
        }
        give!(fr, b, *dst, d);
    }

    /// `sum`, `min`, `max` over members.
    #[allow(clippy::needless_range_loop)]
    pub(super) fn exec_fold(&self, ins: &Instruction, fr: &mut Frame) {
        let Instruction::Fold {
            kind,
            dst,
            filter,
            body,
            ty,
        } = ins
        else {
            unreachable!("dispatched by kind")
        };
        let mut d = take!(fr, n, *dst);
        let (f, bd) = (self.bool_lanes(fr, filter), self.num_lanes(fr, body));
        let zero = zero_q(*ty);
        for h in 0..fr.h {
            let mut acc: Option<Q> = None;
            let mut poison = false;
            for j in fr.off[h]..fr.off[h + 1] {
                match f.at(j) {
                    LANE_FALSE => continue,
                    LANE_TRUE => {}
                    _ => {
                        poison = true;
                        break;
                    }
                }
                let v = bd.at(j);
                if v.is_poison() {
                    poison = true;
                    break;
                }
                acc = Some(match acc {
                    None => v,
                    Some(a) => match kind {
                        AggKind::Sum => match a.add(v) {
                            Ok(s) => s,
                            Err(_) => {
                                poison = true;
                                break;
                            }
                        },
                        AggKind::Min => {
                            if v.cmp(a) == Ordering::Less {
                                v
                            } else {
                                a
                            }
                        }
                        _ => {
                            if v.cmp(a) == Ordering::Greater {
                                v
                            } else {
                                a
                            }
                        }
                    },
                });
            }
            d[h] = match (poison, acc) {
                (true, _) => Q::POISON,
                (false, Some(a)) => coerce_q(a, *ty),
                (false, None) if *kind == AggKind::Sum => coerce_q(zero, *ty),
                (false, None) => Q::POISON,
            };
        }
        give!(fr, n, *dst, d);
    }
}
