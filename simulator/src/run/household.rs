//! One variant's month for a chunk of households: what happens to each (behaviour), what the policy's
//! roll makes of it, and what each is paid.

use super::*;

impl Sim {
    /// One variant's month for a chunk (after its dynamics).
    pub(super) fn variant_chunk<'p>(
        &'p self,
        v: usize,
        chunk: &mut [State],
        ws: &mut Work<'_>,
        ctx: &MonthCtx<'_>,
        acc: &mut Acc<'p>,
    ) -> Result<(), SimError> {
        let render = self.renderer(v);
        self.credit_and_replay(v, chunk, ws, ctx, acc)?;
        let Work {
            sessions,
            unpacked_hh,
            batch,
            events,
            draws,
            credit_event,
            need_actual,
            need_admin,
            need_settle,
            need_off,
            pay,
            ..
        } = ws;
        let [s_actual, s_admin, _] = &mut sessions[v];

        // The actual data: eligibility, then the administration's decisions; households paid on
        // these values are settled here.
        let lay = Layout::actual(v == 0 && self.compare_households);
        for part in need_actual.chunks(BATCH) {
            swapped(unpacked_hh, batch, part.iter().copied(), |hs| {
                each_lane(s_actual, hs, render, |k, hh, mut lane| {
                    let i = part[k];
                    let st = &mut chunk[i];
                    match self.decide(
                        v,
                        st,
                        hh,
                        lane.values(),
                        lay,
                        events[i],
                        &mut draws[i],
                        credit_event[i],
                        ctx,
                        &mut acc.cells(v, st.weight),
                    )? {
                        Next::Admin(item) => need_admin.push(AdminItem { i, ..item }),
                        Next::Off { gross } => need_off.push((i, gross)),
                        Next::Settle { eligible, gross } => {
                            let cacheable = self.cache && st.admin[v].pending.is_none();
                            let replay = cacheable.then_some((&ctx.contributions[v], gross));
                            let paid = (lay.amounts, eligible);
                            self.pay_lane(v, st, &mut lane, paid, replay, pay, acc, render)?;
                        }
                    }
                    Ok(())
                })
            })?;
        }

        // Households with a case file: the policy's roll moves them with this month's events and
        // last month's states. Those it leaves off the roll are paid below like any household off it.
        for part in need_admin.chunks(BATCH) {
            self.admin_batch(v, part, chunk, unpacked_hh, batch, s_admin, ctx, acc, pay)?
                .into_iter()
                .for_each(|(i, eligible, gross)| match eligible {
                    true => need_off.push((i, gross)),
                    false => need_settle.push(i),
                });
        }
        for part in need_settle.chunks(BATCH) {
            swapped(unpacked_hh, batch, part.iter().copied(), |hs| {
                each_lane(s_actual, hs, render, |k, _, mut lane| {
                    let st = &mut chunk[part[k]];
                    let paid = (lay.amounts, false);
                    self.pay_lane(v, st, &mut lane, paid, None, pay, acc, render)
                })
            })?;
        }

        self.pay_off_roll(v, chunk, ws, ctx, acc)
    }

    /// Credit (repair, then a new confirmed case for households on the roll), and the households
    /// that nothing changed since last month: they add what they added then. The others are unpacked
    /// into `ws.unpacked_hh` and listed in `ws.need_actual`.
    fn credit_and_replay<'p>(
        &'p self,
        v: usize,
        chunk: &mut [State],
        ws: &mut Work<'_>,
        ctx: &MonthCtx<'_>,
        acc: &mut Acc<'p>,
    ) -> Result<(), SimError> {
        let d = ctx.dynamics;
        let s = &self.slots;
        let render = self.renderer(v);
        let t = ctx.t;
        let p_dishonesty = monthly(d.dishonesty_per_year);
        let Work {
            unpacked_hh,
            events,
            draws,
            credit_event,
            need_actual,
            need_admin,
            need_settle,
            need_off,
            replayed,
            unpacked,
            ..
        } = ws;
        replayed.clear();
        need_actual.clear();
        need_admin.clear();
        need_settle.clear();
        need_off.clear();
        credit_event.clear();
        // Credit (repair, then a new confirmed case for households on dibao), and households that
        // nothing changed since last month: they add what they added then.
        for (i, st) in chunk.iter_mut().enumerate() {
            if st.weight == 0 {
                // Not in this run's sample.
                credit_event.push(false);
                continue;
            }
            let w = st.weight;
            let adm = &mut st.admin[v];
            let index = st.actual.index;
            let dr = |draws: &mut Vec<Option<Draws>>| {
                *Draws::get(&mut draws[i], ctx.admin_key, index, t)
            };
            let credit_before = adm.credit;
            let bad = |c: u16| c == s.credit_serious || c == s.credit_severe;
            if bad(adm.credit)
                && t.saturating_sub(adm.credit_since) >= d.credit_repair_after_months
                && dr(draws).repair < d.credit_repair_per_month
            {
                adm.credit = s.credit_general;
            }
            let mut event = false;
            let on_roll = adm.file.as_ref().is_some_and(|f| f.status.on_roll());
            if on_roll && dr(draws).credit < p_dishonesty {
                adm.credit = if dr(draws).tier < d.severe_share {
                    s.credit_severe
                } else {
                    s.credit_serious
                };
                adm.credit_since = t;
                event = true;
            }
            credit_event.push(event);
            if self.cache
                && !events[i].touched
                && !ctx.epoch_changed[v]
                && adm.credit == credit_before
                && adm.file.is_none()
                && adm.pending.is_none()
            {
                match &adm.replay {
                    Replay::Shared(k) => {
                        match replayed.iter_mut().find(|(c, _)| c == k) {
                            Some((_, n)) => {
                                *n = n
                                    .checked_add(w)
                                    .ok_or_else(|| overflow("the weight of unchanged households"))?
                            }
                            None => replayed.push((*k, w)),
                        }
                        continue;
                    }
                    Replay::Full(c) => {
                        let base = self.base(v, &st.actual);
                        let mut cells = acc.cells(v, w);
                        for (k, x) in &c.cells {
                            cells.add(base + *k, x)?;
                        }
                        acc.totals[v]
                            .add_contribution(&c.contribution, w)
                            .map_err(render)?;
                        if let Some(sums) = adm.sums.as_deref_mut() {
                            sums.benefit = sums
                                .benefit
                                .checked_add(&c.total)
                                .map_err(|_| overflow("a household's benefit total"))?;
                            if v == 0 {
                                sums.income = sums
                                    .income
                                    .checked_add(&c.gross)
                                    .map_err(|_| overflow("a household's income total"))?;
                            }
                        }
                        continue;
                    }
                    Replay::None => {}
                }
            }
            adm.replay = Replay::None;
            let hh = &mut unpacked_hh[i];
            if !unpacked[i] {
                self.population.packer().unpack_into(&st.packed, hh);
                self.population
                    .ids(st.actual.index as usize - self.first)
                    .write_into(hh);
                unpacked[i] = true;
            }
            hh.fields[s.credit] = Value::Enum(adm.credit);
            hh.fields[s.on_dibao] = Value::Bool(on_roll);
            need_actual.push(i);
        }
        if !replayed.is_empty() {
            let table = ctx.contributions[v]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for &(k, w) in replayed.iter() {
                acc.totals[v]
                    .add_contribution(&table.list[k as usize], w)
                    .map_err(render)?;
            }
        }

        Ok(())
    }

    /// Pays the eligible households off the roll: nothing that needs a means-tested application.
    fn pay_off_roll<'p>(
        &'p self,
        v: usize,
        chunk: &mut [State],
        ws: &mut Work<'_>,
        ctx: &MonthCtx<'_>,
        acc: &mut Acc<'p>,
    ) -> Result<(), SimError> {
        let render = self.renderer(v);
        let Work {
            sessions,
            unpacked_hh,
            batch,
            need_off,
            pay,
            ..
        } = ws;
        let [_, _, s_off] = &mut sessions[v];
        // Eligible households not on dibao: nothing that needs a means-tested application.
        for part in need_off.chunks(BATCH) {
            swapped(unpacked_hh, batch, part.iter().map(|(i, _)| *i), |hs| {
                each_lane(s_off, hs, render, |k, _, mut lane| {
                    let (i, gross) = &part[k];
                    let st = &mut chunk[*i];
                    // A household that never applies stays as it is until something changes.
                    let adm = &st.admin[v];
                    let cacheable =
                        self.cache && !st.applicant && adm.pending.is_none() && adm.file.is_none();
                    let replay = cacheable.then(|| (&ctx.contributions[v], gross.clone()));
                    self.pay_lane(v, st, &mut lane, (0, true), replay, pay, acc, render)
                })
            })?;
        }
        Ok(())
    }

    /// The administration's month for a household, on its actual values `vals` (see [`Evals`]): what
    /// happens to it (behaviour: checks, applications, decisions). Returns whether the policy's roll
    /// moves it this month ([`Next::Admin`]) or how it is paid off the roll.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        v: usize,
        st: &mut State,
        hh: &Household,
        vals: &[Value],
        lay: Layout,
        events: Events,
        draws: &mut Option<Draws>,
        credit_event: bool,
        ctx: &MonthCtx<'_>,
        cells: &mut Cells<'_>,
    ) -> Result<Next, SimError> {
        let d = ctx.dynamics;
        let s = &self.slots;
        let t = ctx.t;
        let base = self.base(v, &st.actual);
        let review_due =
            (t + st.actual.review_phase).is_multiple_of(d.review_interval_months.max(1));
        let index = st.actual.index;
        let adm = &mut st.admin[v];
        let eligible = vals[0].as_bool();
        let members_a = match &vals[1] {
            Value::Int(n) => *n,
            _ => 0,
        };
        let mut gross = Num::ZERO;
        if let (Some(g), Some(sums)) = (lay.gross, adm.sums.as_deref_mut()) {
            gross = num_of(&vals[g]);
            sums.income = sums
                .income
                .checked_add(&gross)
                .map_err(|_| overflow("a household's income total"))?;
            if t == 0 {
                sums.members0 = members_a;
            }
        }
        let item = |actual: bool, events: RollEvents, check: Check| {
            Next::Admin(AdminItem {
                i: 0,
                eligible,
                gross: gross.clone(),
                actual,
                events,
                check,
            })
        };
        // On the roll: what the office checks this month.
        if let Some(file) = adm.file.as_deref().filter(|f| f.status.on_roll()) {
            let roll = &self.variants[v].ids.roll;
            let grace = file.status == Status::Grace;
            let check = if members_a == 0 {
                Check::Death
            } else if credit_event {
                Check::Credit
            } else if grace {
                match roll.grace_runs_out(file.history.as_deref()) {
                    true => Check::GraceEnd,
                    false => Check::None,
                }
            } else if review_due {
                Check::Review
            } else if events.member_died
                || (events.changed
                    && Draws::get(draws, ctx.admin_key, index, t).report < d.change_report_rate)
            {
                Check::Report
            } else if ctx.epoch_changed[v] {
                Check::Reassess
            } else {
                Check::None
            };
            let actual = !matches!(check, Check::None | Check::Reassess);
            // What the office sees at a check: whether a member started work or work income rose
            // since the household was last verified.
            let rose = actual && {
                let now = work(hh, &st.actual.persons, s);
                let began = now
                    .0
                    .iter()
                    .zip(file.work.0.iter().chain(std::iter::repeat(&false)))
                    .any(|(n, o)| *n && !*o);
                began || now.1 > file.work.1
            };
            let events = RollEvents {
                reviewed: check != Check::None,
                work_income_rose: rose,
                ..RollEvents::default()
            };
            return Ok(item(actual, events, check));
        }
        // Off the roll: applications and decisions.
        let mut ev = RollEvents::default();
        if let Some((dm, day)) = adm.pending {
            if dm <= t {
                ev.decided = Some(day);
                adm.pending = None;
            }
        } else if eligible
            && st.applicant
            && Draws::get(draws, ctx.admin_key, index, t).apply < d.apply_per_month
        {
            cells.inc(base + D_APPS)?;
            let dr = *Draws::get(draws, ctx.admin_key, index, t);
            let (filed, months, decided) = self.filing(ctx, v, dr);
            ev.applied = Some(filed);
            if months == 0 {
                ev.decided = Some(decided);
            } else {
                adm.pending = Some((t + months, decided));
            }
        }
        if ev != RollEvents::default() || adm.file.is_some() {
            return Ok(item(true, ev, Check::None));
        }
        Ok(if eligible {
            Next::Off { gross }
        } else {
            Next::Settle { eligible, gross }
        })
    }

    /// When an application is filed and decided (behaviour): the day of the month it is filed, how
    /// many months later it is decided, and on which day of that month. On the policy's working-day
    /// calendar; where the calendar ends, `working_days_per_month` working days spread over 28 days.
    fn filing(&self, ctx: &MonthCtx<'_>, v: usize, dr: Draws) -> (u8, u32, u8) {
        let d = ctx.dynamics;
        let cal = &ctx.policies[v].program.calendar;
        let spread = d
            .approval_lag_spread_working_days
            .min(d.approval_lag_working_days);
        let lag = d.approval_lag_working_days - spread
            + ((dr.lag * (2 * spread + 1) as f64) as u32).min(2 * spread);
        match filing_and_decision(cal, ctx.month, dr.day, lag) {
            Some((filed, decided)) => (filed.day, months_between(ctx.month, decided), decided.day),
            None => {
                let wd = d.working_days_per_month.max(1);
                let day = ((dr.day * wd as f64) as u32).min(wd - 1);
                let to_day = |k: u32| (1 + k * 28 / wd) as u8;
                let end = day + lag;
                (to_day(day), end / wd, to_day(end % wd))
            }
        }
    }

    /// One batch of households with a case file: the policy's roll moves each with this month's
    /// events and last month's states; those it keeps on the roll are paid here on what it
    /// computes. Returns the others (household, eligible on its actual data, gross income), to be
    /// paid like any household off the roll.
    #[allow(clippy::too_many_arguments)]
    fn admin_batch<'p>(
        &'p self,
        v: usize,
        part: &[AdminItem],
        chunk: &mut [State],
        unpacked: &mut [Household],
        batch: &mut [Household],
        session: &mut Session<'_>,
        ctx: &MonthCtx<'_>,
        acc: &mut Acc<'p>,
        pay: &mut Vec<(usize, Num)>,
    ) -> Result<Vec<(usize, bool, Num)>, SimError> {
        let s = &self.slots;
        let var = &self.variants[v];
        let roll = &var.ids.roll;
        let layout = AdminLayout::of(&var.ids);
        let render = self.renderer(v);
        let packer = self.population.packer();
        for (k, item) in part.iter().enumerate() {
            let st = &mut chunk[item.i];
            let adm = &mut st.admin[v];
            let hh = &mut batch[k];
            let file = adm.file.as_deref_mut();
            match file.as_ref().and_then(|f| f.snapshot.as_ref()) {
                Some(snapshot) if !item.actual => {
                    packer.unpack_into(snapshot, hh);
                    self.population
                        .ids(st.actual.index as usize - self.first)
                        .write_into(hh);
                }
                _ => hh.clone_from(&unpacked[item.i]),
            }
            hh.fields[s.credit] = Value::Enum(adm.credit);
            let on_roll = file.as_ref().is_some_and(|f| f.status.on_roll());
            hh.fields[s.on_dibao] = Value::Bool(on_roll);
            item.events.write(&roll.events, hh);
            hh.previous = file.and_then(|f| f.history.take());
        }
        let mut rest = Vec::new();
        each_lane(session, &batch[..part.len()], render, |k, hh, mut lane| {
            let item = &part[k];
            let st = &mut chunk[item.i];
            let w = st.weight;
            let base = self.base(v, &st.actual);
            // Not `acc.cells`: the totals are added below while the cells are held.
            let mut cells = Cells {
                cells: &mut acc.cells[v],
                samples: &mut acc.samples[v],
                w,
            };
            let vals = lane.values();
            let before = st.admin[v].file.as_ref().map_or(Status::Off, |f| f.status);
            let after = roll.status(&vals[roll.roll]);
            if item.events.decided.is_some() {
                if !after.on_roll() {
                    cells.inc(base + D_REJ)?;
                }
                if roll
                    .decided_in_time
                    .is_some_and(|def| !in_time(ctx.policies[v], hh, ctx.month, def))
                {
                    cells.inc(base + D_LATE)?;
                }
            }
            if after.on_roll() && !before.on_roll() {
                cells.inc(base + D_IN)?;
            }
            if before.on_roll() && !after.on_roll() {
                cells.inc(base + exit_cell(item.check, before))?;
            }
            let adm = &mut st.admin[v];
            if after == Status::Off {
                adm.file = None;
                adm.pending = None;
                unpacked[item.i].fields[s.on_dibao] = Value::Bool(false);
                rest.push((item.i, item.eligible, item.gross.clone()));
                return Ok(());
            }
            let file = adm.file.get_or_insert_with(|| {
                Box::new(CaseFile {
                    status: after,
                    history: None,
                    snapshot: None,
                    work: (Vec::new(), 0),
                })
            });
            file.history = Some(vals[..layout.members].to_vec());
            file.status = after;
            // Verified now: what the office pays on until the next check.
            if after.on_roll() && (item.actual && after == Status::On || file.snapshot.is_none()) {
                let a = &unpacked[item.i];
                match &mut file.snapshot {
                    Some(p) => packer.repack(a, p),
                    None => file.snapshot = Some(packer.pack(a)),
                }
                file.work = work(a, &st.actual.persons, s);
            }
            if !after.on_roll() {
                unpacked[item.i].fields[s.on_dibao] = Value::Bool(false);
                rest.push((item.i, item.eligible, item.gross.clone()));
                return Ok(());
            }
            let (paid, persons) = (num_of(&vals[roll.paid]), num_of(&vals[layout.members]));
            if ctx.measure && v == 0 {
                st.measured = Some((paid.clone(), persons.clone()));
            }
            let dibao = DibaoPay {
                paid,
                persons,
                grace: after == Status::Grace,
                eligible: item.eligible,
            };
            pay.clear();
            let total = self.payments(v, vals, layout.amounts, Some(dibao), false, pay)?;
            lane.add_totals(&mut acc.totals[v], w, false)
                .map_err(render)?;
            self.settle(v, st, pay, &total, &mut cells)
        })?;
        Ok(rest)
    }

    /// The cells of a household's payments (`vals[amounts..]`: the allowance amounts, then their
    /// recipient counts) and its total benefit.
    fn payments(
        &self,
        v: usize,
        vals: &[Value],
        amounts: usize,
        dibao: Option<DibaoPay>,
        eligible_off: bool,
        pay: &mut Vec<(usize, Num)>,
    ) -> Result<Num, SimError> {
        let ids = &self.variants[v].ids;
        let one = Num::from_i64(1);
        let on_roll = dibao.is_some();
        let mut total = Num::ZERO;
        if let Some(dp) = dibao {
            pay.push((D_HH, one.clone()));
            pay.push((D_PERSONS, dp.persons));
            pay.push((D_SPEND, dp.paid.clone()));
            if dp.grace {
                pay.push((D_IN_GRACE, one.clone()));
            } else if !dp.eligible {
                pay.push((D_ON_INELIG, one.clone()));
            }
            total = dp.paid;
        } else if eligible_off {
            pay.push((D_ELIG_OFF, one.clone()));
        }
        let na = ids.allowances.len();
        for k in 0..na {
            let a = num_of(&vals[amounts + k]);
            if a.is_zero() {
                continue;
            }
            let col = DIBAO_MEASURES.len() + k * ALLOWANCE_MEASURES.len();
            pay.push((col, one.clone()));
            pay.push((col + 1, num_of(&vals[amounts + na + k])));
            pay.push((col + 2, a.clone()));
            total = total
                .checked_add(&a)
                .map_err(|_| overflow("a household's benefits"))?;
        }
        let tcol = DIBAO_MEASURES.len() + na * ALLOWANCE_MEASURES.len();
        if on_roll || !total.is_zero() {
            pay.push((tcol, one.clone()));
        }
        if !total.is_zero() {
            pay.push((tcol + 1, total.clone()));
        }
        Ok(total)
    }

    /// How variant `v`'s evaluation errors are shown: rendered against its policy's sources.
    pub(super) fn renderer(&self, v: usize) -> impl Fn(EvalError) -> SimError + Copy + '_ {
        let policy = &self.variants[v].policy;
        move |e: EvalError| SimError(e.render(policy.sources()))
    }

    /// Pays a household on its evaluated `lane` (`paid`: where its allowance amounts start, and
    /// whether it is eligible off the roll), adds it to the variant's programme totals and settles
    /// it; with `replay` (the run's contributions and the household's gross income), records what
    /// it added for the months nothing changes.
    #[allow(clippy::too_many_arguments)]
    fn pay_lane<'p>(
        &'p self,
        v: usize,
        st: &mut State,
        lane: &mut Lane<'_, '_>,
        (amounts, eligible): (usize, bool),
        replay: Option<(&Mutex<Contributions>, Num)>,
        pay: &mut Vec<(usize, Num)>,
        acc: &mut Acc<'p>,
        render: impl Fn(EvalError) -> SimError,
    ) -> Result<(), SimError> {
        pay.clear();
        let total = self.payments(v, lane.values(), amounts, None, eligible, pay)?;
        let w = st.weight;
        let contribution = lane
            .add_totals(&mut acc.totals[v], w, replay.is_some())
            .map_err(render)?;
        self.settle(v, st, pay, &total, &mut acc.cells(v, w))?;
        if let (Some(c), Some((table, gross))) = (contribution, replay) {
            st.admin[v].replay = Replay::recorded(table, c, pay, total, gross);
        }
        Ok(())
    }

    /// Adds a household's payments to the cells and its benefit total.
    fn settle(
        &self,
        v: usize,
        st: &mut State,
        pay: &[(usize, Num)],
        total: &Num,
        cells: &mut Cells<'_>,
    ) -> Result<(), SimError> {
        let base = self.base(v, &st.actual);
        for (i, x) in pay {
            cells.add(base + *i, x)?;
        }
        if let Some(sums) = st.admin[v].sums.as_deref_mut() {
            sums.benefit = sums
                .benefit
                .checked_add(total)
                .map_err(|_| overflow("a household's benefit total"))?;
        }
        Ok(())
    }
}

/// How a household is paid this month, after the administration's decisions.
enum Next {
    /// The policy's roll moves it: it applies, is decided, or is on the roll.
    Admin(AdminItem),
    /// Eligible, not on dibao.
    Off { gross: Num },
    /// Paid on its actual values (not eligible, not on dibao).
    Settle { eligible: bool, gross: Num },
}

/// The cell that counts an exit from the roll, by what the office checked (or the end of grace).
fn exit_cell(check: Check, before: Status) -> usize {
    match check {
        Check::Death => D_OUT_DEATH,
        Check::Credit => D_OUT_CREDIT,
        _ if before == Status::Grace => D_OUT_GRACE,
        Check::Report => D_OUT_INCOME,
        _ => D_OUT_REVIEW,
    }
}

/// Whether the policy finds a decision on `hh` (with its events and states) made in time; a
/// decision it cannot date (the calendar ends) is not counted late.
fn in_time(policy: &Policy, hh: &Household, month: Month, def: DefId) -> bool {
    !matches!(
        doudi_interpreter::HouseholdEval::new(policy, hh, month)
            .def(def, doudi_interpreter::Scope::Household),
        Ok(Value::Bool(false))
    )
}
