//! The monthly loop: for every month, every household's circumstances move on (`dynamics`), then,
//! under each policy variant (baseline, reform, sweep values), the administration acts on what it knows
//! (applications, decisions, reviews, reported changes, credit, grace) and pays what the policy says.
//!
//! Households are processed in parallel in fixed chunks; each chunk adds into its own accumulators,
//! merged in chunk order. All money is exact ([`Num`]), so totals never depend on the thread count.
//!
//! # What the administration knows
//! A household on dibao carries a *snapshot*: its data as last verified (at approval, review or a
//! reported change). It is paid `dibao_payment` evaluated on that snapshot in the current month (so a
//! new standard applies at once), with `dibao_eligible` forced true — an inclusion error is paid as if it
//! were eligible until a review finds it (a negative gap pays 0). Allowances are evaluated on the same
//! snapshot. A household not on dibao is evaluated on its actual data; when the policy finds it
//! dibao-eligible but it has not been approved, `dibao_eligible` and the `not_applied_false`
//! definitions (default `expenditure_poor`) are forced false: it receives nothing that needs a
//! means-tested application until it applies. Allowances that do not depend on that (centralised care)
//! are paid by their rule.

use crate::dynamics::{monthly, unit, Actual, Dynamics, Purpose, Rates, Slots, StreamKey};
use crate::scenario::OutputNames;
use doudi_dsl::ast::Span;
use doudi_dsl::ir::{DefId, ParamId, Ty};
use doudi_interpreter::data::Household;
use doudi_interpreter::eval::param_value;
use doudi_interpreter::programme::{Contribution, Totals};
use doudi_interpreter::{EvalError, HouseholdEval, Month, Num, Policy, Scope, Value};
use rayon::prelude::*;

/// Households per parallel chunk.
pub const CHUNK: usize = 256;

/// Why a household left dibao.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    Income,
    Death,
    Review,
    Credit,
    GraceEnd,
}

/// The measures of the dibao programme, in column order.
pub const DIBAO_MEASURES: [&str; 14] = [
    "households",
    "persons",
    "spending",
    "inflows",
    "applications",
    "rejections",
    "out_income",
    "out_death",
    "out_review",
    "out_credit",
    "out_grace_end",
    "in_grace",
    "eligible_not_on_dibao",
    "on_dibao_not_eligible",
];
/// The measures of an allowance.
pub const ALLOWANCE_MEASURES: [&str; 3] = ["households", "persons", "spending"];
/// The measures of the total over programmes.
pub const TOTAL_MEASURES: [&str; 2] = ["households", "spending"];

const D_HH: usize = 0;
const D_PERSONS: usize = 1;
const D_SPEND: usize = 2;
const D_IN: usize = 3;
const D_APPS: usize = 4;
const D_REJ: usize = 5;
const D_OUT_INCOME: usize = 6;
const D_OUT_DEATH: usize = 7;
const D_OUT_REVIEW: usize = 8;
const D_OUT_CREDIT: usize = 9;
const D_OUT_GRACE: usize = 10;
const D_IN_GRACE: usize = 11;
const D_ELIG_OFF: usize = 12;
const D_ON_INELIG: usize = 13;

/// Whether a measure is a stock (averaged over a year) or a flow (summed over a year).
pub fn is_stock(measure: &str) -> bool {
    matches!(measure, "households" | "persons" | "in_grace" | "eligible_not_on_dibao" | "on_dibao_not_eligible")
}

pub fn is_money(measure: &str) -> bool {
    measure == "spending"
}

/// One (programme, measure) column of the results.
#[derive(Debug, Clone)]
pub struct Metric {
    pub programme: String,
    pub label: String,
    pub measure: &'static str,
}

/// The metrics for a list of allowances: dibao's, each allowance's, then the total's.
pub fn metrics(allowances: &[(String, String)]) -> Vec<Metric> {
    let mut out: Vec<Metric> = DIBAO_MEASURES.iter().map(|m| Metric { programme: "dibao".into(), label: "最低生活保障".into(), measure: m }).collect();
    for (name, label) in allowances {
        out.extend(ALLOWANCE_MEASURES.iter().map(|m| Metric { programme: name.clone(), label: label.clone(), measure: m }));
    }
    out.extend(TOTAL_MEASURES.iter().map(|m| Metric { programme: "total".into(), label: "合计".into(), measure: m }));
    out
}

/// Definitions of one policy variant that the simulator reads.
#[derive(Debug, Clone)]
pub struct Ids {
    pub eligible: DefId,
    pub payment: DefId,
    pub members: DefId,
    pub per_capita_income: DefId,
    pub grace_line: DefId,
    pub gross_income: DefId,
    pub not_applied_false: Vec<DefId>,
    /// (household amount, person recipient flag)
    pub allowances: Vec<(DefId, DefId)>,
    pub grace_months: ParamId,
}

impl Ids {
    pub fn new(policy: &Policy, names: &OutputNames) -> Result<Ids, String> {
        use doudi_dsl::ast::EntityKind;
        let def = |key: &str, n: &str, entity: EntityKind| -> Result<DefId, String> {
            let id = policy.output(n).map_err(|e| format!("outputs.{key}: {e}"))?;
            let d = &policy.program.defs[id as usize];
            if d.entity != entity {
                return Err(format!("outputs.{key}: `{n}` is a {} definition; the simulator needs a {} definition", d.entity.as_str(), entity.as_str()));
            }
            Ok(id)
        };
        let typed = |key: &str, n: &str, want: fn(Ty) -> bool, what: &str| -> Result<DefId, String> {
            let id = def(key, n, EntityKind::Household)?;
            if !want(policy.program.defs[id as usize].ty) {
                return Err(format!("outputs.{key}: `{n}` must be {what}"));
            }
            Ok(id)
        };
        let is_bool = |t: Ty| t == Ty::Bool;
        let is_money = |t: Ty| t.is_money();
        let is_int = |t: Ty| t.is_integer();
        let mut allowances = Vec::new();
        for (i, a) in names.allowances.iter().enumerate() {
            let amount = typed(&format!("allowances[{i}].amount"), &a.amount, is_money, "money")?;
            let persons = def(&format!("allowances[{i}].persons"), &a.persons, EntityKind::Person)?;
            if policy.program.defs[persons as usize].ty != Ty::Bool {
                return Err(format!("outputs.allowances[{i}].persons: `{}` must be a bool person definition", a.persons));
            }
            allowances.push((amount, persons));
        }
        let mut not_applied = Vec::new();
        for (i, n) in names.not_applied_false.iter().enumerate() {
            not_applied.push(typed(&format!("not_applied_false[{i}]"), n, is_bool, "a bool")?);
        }
        let grace_months = policy
            .program
            .param_by_name(&names.grace_months)
            .ok_or_else(|| format!("outputs.grace_months: the policy has no parameter `{}`", names.grace_months))?;
        if !policy.program.params[grace_months as usize].ty.is_integer() {
            return Err(format!("outputs.grace_months: the parameter `{}` must be an integer", names.grace_months));
        }
        Ok(Ids {
            eligible: typed("eligible", &names.eligible, is_bool, "a bool")?,
            payment: typed("payment", &names.payment, is_money, "money")?,
            members: typed("members", &names.members, is_int, "an integer")?,
            per_capita_income: typed("per_capita_income", &names.per_capita_income, is_money, "money")?,
            grace_line: typed("grace_line", &names.grace_line, is_money, "money")?,
            gross_income: typed("gross_income", &names.gross_income, is_money, "money")?,
            not_applied_false: not_applied,
            allowances,
            grace_months,
        })
    }
}

/// A policy variant to simulate.
pub struct Variant {
    pub name: String,
    pub label: String,
    pub policy: Policy,
    pub ids: Ids,
    /// Keep the breakdown by region and area (off for sweep values).
    pub regions: bool,
}

/// Everything a simulation needs.
pub struct Sim {
    pub variants: Vec<Variant>,
    pub population: Vec<Household>,
    /// Region codes (sorted) and each household's region index.
    pub regions: Vec<String>,
    pub region_of: Vec<u16>,
    pub areas: Vec<String>,
    pub slots: Slots,
    pub dynamics: Dynamics,
    /// Monthly probabilities of `dynamics`.
    pub rates: Rates,
    /// The take-up probability in force (`dynamics.take_up`, or the observed one for `"auto"`).
    pub take_up: f64,
    /// Whether the baseline finds each household eligible in the first month (for `"auto"` take-up).
    pub initial_eligible: Vec<bool>,
    pub start: Month,
    pub months: u32,
    pub runs: u32,
    pub seed: u64,
    pub weight: u64,
    pub metrics: Vec<Metric>,
    /// Keep per-household totals of variants 0 and 1 for winners and losers.
    pub compare_households: bool,
    /// Replay unchanged households instead of evaluating them again (same results, faster); off only
    /// to test that.
    pub cache: bool,
}

/// The results of one variant in one run (unweighted, except the programme totals).
#[derive(Debug, Clone)]
pub struct VariantRun {
    /// `[month][(region × areas + area) × metrics + metric]` (one region and area when not kept).
    pub cells: Vec<Vec<Num>>,
    /// `[month][programme definition]`: numeric programme outputs (weighted), `None` when not numeric.
    pub programme: Vec<Vec<Option<Num>>>,
}

/// Per-household totals over the horizon (for winners and losers).
#[derive(Debug, Clone)]
pub struct HouseholdTotals {
    /// Gross income of the counted members, summed over the months (baseline data).
    pub income: Num,
    /// Benefits received, summed over the months, per compared variant.
    pub benefit: [Num; 2],
    /// Counted members in the first month.
    pub members: i64,
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub variants: Vec<VariantRun>,
    pub households: Option<Vec<HouseholdTotals>>,
}

/// A simulation error (a policy evaluation error, rendered).
#[derive(Debug, Clone)]
pub struct SimError(pub String);

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SimError {}

// ---------------------------------------------------------------------------------------------
// Administrative state

#[derive(Debug, Clone)]
struct Grace {
    frozen: Num,
    last_month: u32,
}

#[derive(Debug, Clone)]
struct Roll {
    snapshot: Household,
    work: (Vec<bool>, i64),
    grace: Option<Grace>,
}

#[derive(Debug, Clone)]
struct Admin {
    roll: Option<Box<Roll>>,
    pending: Option<u32>,
    credit: u16,
    credit_since: i64,
    last_paid: Num,
    benefit_sum: Num,
    income_sum: Num,
    members0: i64,
    /// What the household added last month, when it may be replayed.
    cache: Option<Box<Cache>>,
}

/// What an unchanged household off dibao adds each month.
#[derive(Debug, Clone)]
struct Cache {
    contribution: Contribution,
    /// (metric, value) added to its region and area.
    cells: Vec<(usize, Num)>,
    total: Num,
    gross: Num,
}

struct State {
    actual: Actual,
    admin: Vec<Admin>,
    /// Whether the household applies when eligible (drawn once per run).
    applicant: bool,
}

/// The fixed administrative draws of a household and month (the same under every variant).
struct Draws {
    apply: f64,
    day: f64,
    report: f64,
    credit: f64,
    tier: f64,
    repair: f64,
}

/// Accumulators of one chunk (or the whole population).
struct Acc<'p> {
    cells: Vec<Vec<Num>>,
    totals: Vec<Totals<'p>>,
}

fn add(cells: &mut [Num], i: usize, v: &Num) -> Result<(), SimError> {
    cells[i] = cells[i].checked_add(v).map_err(|_| SimError("a total is too large to compute exactly (overflow)".into()))?;
    Ok(())
}

fn inc(cells: &mut [Num], i: usize) -> Result<(), SimError> {
    add(cells, i, &Num::from_i64(1))
}

fn num_of(v: &Value) -> Num {
    v.to_num().unwrap_or(Num::ZERO)
}

impl Sim {
    fn cell_len(&self, v: usize) -> usize {
        if self.variants[v].regions {
            self.regions.len().max(1) * self.areas.len().max(1) * self.metrics.len()
        } else {
            self.metrics.len()
        }
    }

    fn render(&self, v: usize, e: &EvalError) -> SimError {
        SimError(e.render(self.variants[v].policy.sources()))
    }

    /// Runs replicate `run` (seeds derive from the scenario seed and `run`). `progress` is called once
    /// per simulated month.
    pub fn run(&self, run: u32, progress: &(dyn Fn() + Sync)) -> Result<RunResult, SimError> {
        let setup = StreamKey::new(self.seed, run as u64, Purpose::Setup);
        let dyn_key = StreamKey::new(self.seed, run as u64, Purpose::Dynamics);
        let admin_key = StreamKey::new(self.seed, run as u64, Purpose::Admin);
        let s = &self.slots;
        let nv = self.variants.len();
        let mut states: Vec<State> = self
            .population
            .par_iter()
            .enumerate()
            .map(|(i, h)| {
                let actual = Actual::new(h.clone(), i as u64, self.region_of[i], s, &self.dynamics, &setup);
                let credit = match &h.fields[s.credit] {
                    Value::Enum(e) => *e,
                    _ => s.credit_good,
                };
                let on = h.fields[s.on_dibao].as_bool();
                let admin = Admin {
                    roll: if on { Some(Box::new(Roll { snapshot: h.clone(), work: actual.work(s), grace: None })) } else { None },
                    pending: None,
                    credit,
                    credit_since: 0,
                    last_paid: Num::ZERO,
                    benefit_sum: Num::ZERO,
                    income_sum: Num::ZERO,
                    members0: 0,
                    cache: None,
                };
                let applicant = if self.dynamics.take_up.is_auto() {
                    on || (!self.initial_eligible.get(i).copied().unwrap_or(false) && actual.take_up_draw < self.take_up)
                } else {
                    actual.take_up_draw < self.take_up
                };
                State { actual, admin: vec![admin; nv], applicant }
            })
            .collect();
        let mut out: Vec<VariantRun> = (0..nv).map(|_| VariantRun { cells: Vec::new(), programme: Vec::new() }).collect();
        let mut last_epochs: Vec<Vec<usize>> = vec![Vec::new(); nv];
        for t in 0..self.months {
            let month = self.start.plus(t as i32);
            let grace: Vec<i64> = self
                .variants
                .iter()
                .enumerate()
                .map(|(v, var)| match param_value(&var.policy.program, var.ids.grace_months, None, month.first_day(), Span::default()) {
                    Ok(Value::Int(n)) => Ok(n.max(0)),
                    Ok(_) => Ok(0),
                    Err(e) => Err(self.render(v, &e)),
                })
                .collect::<Result<_, _>>()?;
            let epochs: Vec<Vec<usize>> = self.variants.iter().map(|v| epoch(&v.policy, month)).collect();
            let epoch_changed: Vec<bool> = epochs.iter().zip(&last_epochs).map(|(a, b)| t == 0 || a != b).collect();
            last_epochs = epochs;
            let masters: Vec<Totals<'_>> = self.variants.iter().map(|v| Totals::new(&v.policy, month)).collect();
            let parts: Vec<Result<Acc<'_>, SimError>> = states
                .par_chunks_mut(CHUNK)
                .map(|chunk| {
                    let mut acc = Acc { cells: (0..nv).map(|v| vec![Num::ZERO; self.cell_len(v)]).collect(), totals: masters.iter().map(|m| m.fork()).collect() };
                    for st in chunk {
                        self.household(st, t, month, &grace, &epoch_changed, &dyn_key, &admin_key, &mut acc)?;
                    }
                    Ok(acc)
                })
                .collect();
            let mut cells: Vec<Vec<Num>> = (0..nv).map(|v| vec![Num::ZERO; self.cell_len(v)]).collect();
            let mut totals = masters;
            for p in parts {
                let p = p?;
                for (v, c) in p.cells.into_iter().enumerate() {
                    for (i, x) in c.iter().enumerate() {
                        if !x.is_zero() {
                            add(&mut cells[v], i, x)?;
                        }
                    }
                }
                for (v, tt) in p.totals.into_iter().enumerate() {
                    totals[v].merge(tt).map_err(|e| self.render(v, &e))?;
                }
            }
            for (v, tt) in totals.into_iter().enumerate() {
                let values = if tt.is_empty() { Vec::new() } else { tt.finish().map_err(|e| self.render(v, &e))? };
                out[v].programme.push(values.into_iter().map(|(_, val)| val.to_num()).collect());
            }
            for (v, c) in cells.into_iter().enumerate() {
                out[v].cells.push(c);
            }
            progress();
        }
        let households = if self.compare_households && nv >= 2 {
            Some(
                states
                    .iter()
                    .map(|st| HouseholdTotals {
                        income: st.admin[0].income_sum.clone(),
                        benefit: [st.admin[0].benefit_sum.clone(), st.admin[1].benefit_sum.clone()],
                        members: st.admin[0].members0,
                    })
                    .collect(),
            )
        } else {
            None
        };
        Ok(RunResult { variants: out, households })
    }

    #[allow(clippy::too_many_arguments)]
    fn household<'p>(
        &'p self,
        st: &mut State,
        t: u32,
        month: Month,
        grace_months: &[i64],
        epoch_changed: &[bool],
        dyn_key: &StreamKey,
        admin_key: &StreamKey,
        acc: &mut Acc<'p>,
    ) -> Result<(), SimError> {
        let d = &self.dynamics;
        let s = &self.slots;
        let events = if t > 0 { st.actual.step(d, &self.rates, s, dyn_key, t, month.month as u32) } else { Default::default() };
        let mut rng = admin_key.stream(st.actual.index, t);
        let draws = Draws { apply: unit(&mut rng), day: unit(&mut rng), report: unit(&mut rng), credit: unit(&mut rng), tier: unit(&mut rng), repair: unit(&mut rng) };
        let review_due = (t + st.actual.review_phase) % d.review_interval_months.max(1) == 0;
        let p_dishonesty = monthly(d.dishonesty_per_year);
        for v in 0..self.variants.len() {
            let var = &self.variants[v];
            let ids = &var.ids;
            let policy = &var.policy;
            let adm = &mut st.admin[v];
            let render = |e: EvalError| SimError(e.render(policy.sources()));
            // Credit: repair, then a new confirmed case for households on dibao.
            let credit_before = adm.credit;
            let bad = |c: u16| c == s.credit_serious || c == s.credit_severe;
            if bad(adm.credit) && t as i64 - adm.credit_since >= d.credit_repair_after_months as i64 && draws.repair < d.credit_repair_per_month {
                adm.credit = s.credit_general;
            }
            let mut credit_event = false;
            if adm.roll.is_some() && draws.credit < p_dishonesty {
                adm.credit = if draws.tier < d.severe_share { s.credit_severe } else { s.credit_serious };
                adm.credit_since = t as i64;
                credit_event = true;
            }
            let (ri, ai) = if var.regions { (st.actual.region as usize, st.actual.area as usize) } else { (0, 0) };
            let na = if var.regions { self.areas.len().max(1) } else { 1 };
            let base = (ri * na + ai.min(na - 1)) * self.metrics.len();
            // Nothing changed since last month: add what the household added then.
            if self.cache && !events.touched && !epoch_changed[v] && adm.credit == credit_before && adm.roll.is_none() && adm.pending.is_none() {
                if let Some(c) = &adm.cache {
                    let cells = &mut acc.cells[v];
                    for (i, x) in &c.cells {
                        add(cells, base + *i, x)?;
                    }
                    acc.totals[v].add_contribution(&c.contribution, self.weight).map_err(render)?;
                    adm.benefit_sum = adm.benefit_sum.checked_add(&c.total).map_err(|_| SimError("benefit total overflow".into()))?;
                    if v == 0 && self.compare_households {
                        adm.income_sum = adm.income_sum.checked_add(&c.gross).map_err(|_| SimError("income total overflow".into()))?;
                    }
                    adm.last_paid = Num::ZERO;
                    continue;
                }
            }
            adm.cache = None;
            st.actual.hh.fields[s.credit] = Value::Enum(adm.credit);
            st.actual.hh.fields[s.on_dibao] = Value::Bool(adm.roll.is_some());
            let actual = &st.actual.hh;
            let mut ev_a = HouseholdEval::new(policy, actual, month);
            let eligible = ev_a.def(ids.eligible, Scope::Household).map_err(render)?.as_bool();
            let members_a = match ev_a.def(ids.members, Scope::Household).map_err(render)? {
                Value::Int(n) => n,
                _ => 0,
            };
            let mut gross = Num::ZERO;
            if v == 0 && self.compare_households {
                gross = num_of(&ev_a.def(ids.gross_income, Scope::Household).map_err(render)?);
                adm.income_sum = adm.income_sum.checked_add(&gross).map_err(|_| SimError("income total overflow".into()))?;
                if t == 0 {
                    adm.members0 = members_a;
                }
            }
            let cells = &mut acc.cells[v];
            let m = |i: usize| base + i;

            // The roll: exits and reassessments.
            let mut exit: Option<ExitReason> = None;
            let mut joined = false;
            if let Some(roll) = adm.roll.as_mut() {
                if credit_event {
                    exit = Some(ExitReason::Credit);
                } else if members_a == 0 {
                    exit = Some(ExitReason::Death);
                } else if let Some(g) = &roll.grace {
                    if t > g.last_month {
                        if eligible {
                            roll.grace = None;
                            roll.snapshot = actual.clone();
                            roll.work = st.actual.work(s);
                        } else {
                            exit = Some(ExitReason::GraceEnd);
                        }
                    }
                } else {
                    let reason = if review_due {
                        Some(ExitReason::Review)
                    } else if events.member_died || (events.changed && draws.report < d.change_report_rate) {
                        Some(ExitReason::Income)
                    } else {
                        None
                    };
                    if let Some(reason) = reason {
                        if eligible {
                            roll.snapshot = actual.clone();
                            roll.work = st.actual.work(s);
                        } else {
                            let gm = grace_months[v];
                            let y = ev_a.def(ids.per_capita_income, Scope::Household).map_err(render)?;
                            let line = ev_a.def(ids.grace_line, Scope::Household).map_err(render)?;
                            let now = st.actual.work(s);
                            let began = now.0.iter().zip(roll.work.0.iter().chain(std::iter::repeat(&false))).any(|(n, o)| *n && !*o);
                            let rose = now.1 > roll.work.1;
                            if gm > 0 && num_of(&y) >= num_of(&line) && (began || rose) {
                                roll.grace = Some(Grace { frozen: adm.last_paid.clone(), last_month: t + gm as u32 - 1 });
                            } else {
                                exit = Some(reason);
                            }
                        }
                    }
                }
            } else {
                // Applications and decisions.
                let mut decide = false;
                if let Some(dm) = adm.pending {
                    decide = dm <= t;
                } else if eligible && st.applicant && draws.apply < d.apply_per_month {
                    inc(cells, m(D_APPS))?;
                    let wd = d.working_days_per_month.max(1);
                    let day = ((draws.day * wd as f64) as u32).min(wd - 1);
                    let dm = t + (day + d.approval_lag_working_days) / wd;
                    adm.pending = Some(dm);
                    decide = dm <= t;
                }
                if decide {
                    adm.pending = None;
                    if eligible {
                        adm.roll = Some(Box::new(Roll { snapshot: actual.clone(), work: st.actual.work(s), grace: None }));
                        joined = true;
                        inc(cells, m(D_IN))?;
                    } else {
                        inc(cells, m(D_REJ))?;
                    }
                }
            }
            if let Some(reason) = exit {
                adm.roll = None;
                let i = match reason {
                    ExitReason::Income => D_OUT_INCOME,
                    ExitReason::Death => D_OUT_DEATH,
                    ExitReason::Review => D_OUT_REVIEW,
                    ExitReason::Credit => D_OUT_CREDIT,
                    ExitReason::GraceEnd => D_OUT_GRACE,
                };
                inc(cells, m(i))?;
            }
            let _ = joined;

            // Payments.
            let mut total = Num::ZERO;
            let weight = self.weight;
            let on_roll = adm.roll.is_some();
            let mut paid_dibao = Num::ZERO;
            // A household off dibao, not applying and not eligible can be replayed next month if
            // nothing changes: record what it adds.
            let cacheable = !on_roll && adm.pending.is_none() && !eligible;
            let mut pay: Vec<(usize, Num)> = Vec::new();
            let contribution;
            {
                let mut ev_roll;
                let mut ev_off;
                if let Some(roll) = adm.roll.as_mut() {
                    roll.snapshot.fields[s.credit] = Value::Enum(adm.credit);
                    roll.snapshot.fields[s.on_dibao] = Value::Bool(true);
                }
                let roll_ref = adm.roll.as_deref();
                let ev_b: &mut HouseholdEval<'_> = if let Some(roll) = roll_ref {
                    ev_roll = HouseholdEval::new(policy, &roll.snapshot, month);
                    ev_roll.force(ids.eligible, Scope::Household, Value::Bool(true));
                    &mut ev_roll
                } else if eligible {
                    ev_off = HouseholdEval::new(policy, actual, month);
                    ev_off.force(ids.eligible, Scope::Household, Value::Bool(false));
                    for &id in &ids.not_applied_false {
                        ev_off.force(id, Scope::Household, Value::Bool(false));
                    }
                    &mut ev_off
                } else {
                    &mut ev_a
                };
                let one = Num::from_i64(1);
                if let Some(roll) = roll_ref {
                    paid_dibao = match &roll.grace {
                        Some(g) => g.frozen.clone(),
                        None => {
                            let p = num_of(&ev_b.def(ids.payment, Scope::Household).map_err(render)?);
                            if p.is_negative() {
                                Num::ZERO
                            } else {
                                p
                            }
                        }
                    };
                    let persons = ev_b.def(ids.members, Scope::Household).map_err(render)?;
                    pay.push((D_HH, one.clone()));
                    pay.push((D_PERSONS, num_of(&persons)));
                    pay.push((D_SPEND, paid_dibao.clone()));
                    if roll.grace.is_some() {
                        pay.push((D_IN_GRACE, one.clone()));
                    } else if !eligible {
                        pay.push((D_ON_INELIG, one.clone()));
                    }
                    total = paid_dibao.clone();
                } else if eligible {
                    pay.push((D_ELIG_OFF, one.clone()));
                }
                for (k, &(amount, persons)) in ids.allowances.iter().enumerate() {
                    let a = num_of(&ev_b.def(amount, Scope::Household).map_err(render)?);
                    if a.is_zero() {
                        continue;
                    }
                    let col = DIBAO_MEASURES.len() + k * ALLOWANCE_MEASURES.len();
                    let mut n = 0i64;
                    for i in 0..ev_b.hh.members.len() {
                        if ev_b.def(persons, Scope::Person(i)).map_err(render)?.as_bool() {
                            n += 1;
                        }
                    }
                    pay.push((col, one.clone()));
                    pay.push((col + 1, Num::from_i64(n)));
                    pay.push((col + 2, a.clone()));
                    total = total.checked_add(&a).map_err(|_| SimError("overflow".into()))?;
                }
                let tcol = DIBAO_MEASURES.len() + ids.allowances.len() * ALLOWANCE_MEASURES.len();
                if on_roll || !total.is_zero() {
                    pay.push((tcol, one.clone()));
                }
                if !total.is_zero() {
                    pay.push((tcol + 1, total.clone()));
                }
                contribution = if cacheable {
                    Some(acc.totals[v].add_recorded(ev_b, weight).map_err(render)?)
                } else {
                    acc.totals[v].add_weighted(ev_b, weight).map_err(render)?;
                    None
                };
            }
            for (i, x) in &pay {
                add(cells, m(*i), x)?;
            }
            adm.cache = contribution.map(|contribution| Box::new(Cache { contribution, cells: pay, total: total.clone(), gross: gross.clone() }));
            adm.last_paid = paid_dibao;
            adm.benefit_sum = adm.benefit_sum.checked_add(&total).map_err(|_| SimError("benefit total overflow".into()))?;
        }
        Ok(())
    }
}

/// Which version of each parameter is in force in a month: when it changes, every household must be
/// evaluated again.
fn epoch(policy: &Policy, month: Month) -> Vec<usize> {
    let date = month.first_day();
    policy
        .program
        .params
        .iter()
        .map(|p| p.versions.iter().rposition(|v| v.from.map_or(true, |f| f <= date)).unwrap_or(usize::MAX))
        .collect()
}

/// The names, labels and types of a variant's numeric programme definitions, in the order of
/// [`VariantRun::programme`].
pub fn programme_defs(policy: &Policy) -> Vec<(String, String, Ty)> {
    use doudi_dsl::ast::EntityKind;
    policy
        .program
        .defs
        .iter()
        .filter(|d| d.entity == EntityKind::Programme)
        .map(|d| (d.name.clone(), d.label.clone().unwrap_or_default(), d.ty))
        .collect()
}
