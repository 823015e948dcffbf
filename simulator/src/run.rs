//! The monthly loop: for every month, every household's circumstances move on (`dynamics`), then,
//! under each policy variant (baseline, reform, sweep values), the administration acts on what it knows
//! (applications, decisions, reviews, reported changes, credit, grace) and pays what the policy says.
//!
//! Households are processed in parallel in fixed chunks; each chunk adds into its own accumulators,
//! merged in chunk order. All money is exact ([`Num`]), so totals never depend on the thread count.
//!
//! # How it stays fast
//! Each household is kept packed between months ([`Packed`]); the dynamics change the packed fields in
//! place. Only the households a month must evaluate are unpacked, and they are evaluated in batches by
//! the compiled path, with three compiled policies per variant ([`Evals`]). A household off dibao that
//! does not apply, and that nothing happened to since last month, adds what it added then
//! ([`Replay`]). The results are the reference evaluator's, without replay: a test compares them.
//!
//! # What the administration knows
//! The simulator draws only what happens (behaviour): filings and decisions, reviews, reported changes,
//! investigations, deaths. The policy's roll ([`crate::admin`]) decides what follows: each household the
//! administration deals with has a case file with the policy's states of last month and its data as last
//! verified (the *snapshot*). In a month the office checks the household or decides its application, the
//! policy is evaluated on its actual data with the events set; otherwise on the snapshot. A household on
//! the roll is paid the policy's state `paid`; allowances are evaluated on the same data. A household not
//! on the roll is evaluated on its actual data; when the policy finds it dibao-eligible but it has not
//! been approved, `dibao_eligible` and the `not_applied_false` definitions (default `expenditure_poor`)
//! are forced false: it receives nothing that needs a means-tested application until it applies.
//! Allowances that do not depend on that (centralised care) are paid by their rule.

use crate::admin::{CaseFile, RollEvents, RollReader, Status};
use crate::dynamics::{
    monthly, unit, Actual, Dynamics, Events, PersonSim, Purpose, Rates, Slots, StreamKey,
};
use crate::scenario::OutputNames;
use doudi_dsl::ast::{AggKind, Date, Span};
use doudi_dsl::calendar::{self, Calendar};
use doudi_dsl::ir::{Coll, DefId, Expr, ExprKind, Ty};
use doudi_interpreter::data::Household;
use doudi_interpreter::fast::{CompiledPolicy, Lane, Session, BATCH};
use doudi_interpreter::packed::{MemberFields, Packed, PackedMut, PackedPopulation};
use doudi_interpreter::programme::{Contribution, Totals};
use doudi_interpreter::{EvalError, Month, Num, Policy, Value};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Mutex;

/// Households per parallel chunk.
pub const CHUNK: usize = 256;

/// The measures of the dibao programme, in column order.
pub const DIBAO_MEASURES: [&str; 15] = [
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
    "decided_late",
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
const D_LATE: usize = 14;

/// Whether a measure is a stock (averaged over a year) or a flow (summed over a year).
pub fn is_stock(measure: &str) -> bool {
    matches!(
        measure,
        "households" | "persons" | "in_grace" | "eligible_not_on_dibao" | "on_dibao_not_eligible"
    )
}

pub fn is_money(measure: &str) -> bool {
    measure == "spending"
}

/// One (programme, measure) column of the results.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub programme: String,
    pub label: String,
    pub measure: &'static str,
}

/// The metrics for a list of allowances: dibao's, each allowance's, then the total's.
pub fn metrics(allowances: &[(String, String)]) -> Vec<Metric> {
    let mut out: Vec<Metric> = DIBAO_MEASURES
        .iter()
        .map(|m| Metric {
            programme: "dibao".into(),
            label: "最低生活保障".into(),
            measure: m,
        })
        .collect();
    for (name, label) in allowances {
        out.extend(ALLOWANCE_MEASURES.iter().map(|m| Metric {
            programme: name.clone(),
            label: label.clone(),
            measure: m,
        }));
    }
    out.extend(TOTAL_MEASURES.iter().map(|m| Metric {
        programme: "total".into(),
        label: "合计".into(),
        measure: m,
    }));
    out
}

/// Definitions of one policy variant that the simulator reads.
#[derive(Debug, Clone)]
pub struct Ids {
    pub eligible: DefId,
    pub payment: DefId,
    pub members: DefId,
    pub gross_income: DefId,
    pub not_applied_false: Vec<DefId>,
    /// (household amount, person recipient flag)
    pub allowances: Vec<(DefId, DefId)>,
    /// The policy's roll: its states and event inputs.
    pub roll: RollReader,
}

impl Ids {
    pub fn new(policy: &Policy, names: &OutputNames) -> Result<Ids, String> {
        use doudi_dsl::ast::EntityKind;
        let def = |key: &str, n: &str, entity: EntityKind| -> Result<DefId, String> {
            let id = policy
                .output(n)
                .map_err(|e| format!("outputs.{key}: {e}"))?;
            let d = &policy.program.defs[id as usize];
            if d.entity != entity {
                return Err(format!(
                    "outputs.{key}: `{n}` is a {} definition; the simulator needs a {} definition",
                    d.entity.as_str(),
                    entity.as_str()
                ));
            }
            Ok(id)
        };
        let typed =
            |key: &str, n: &str, want: fn(Ty) -> bool, what: &str| -> Result<DefId, String> {
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
            let amount = typed(
                &format!("allowances[{i}].amount"),
                &a.amount,
                is_money,
                "money",
            )?;
            let persons = def(
                &format!("allowances[{i}].persons"),
                &a.persons,
                EntityKind::Person,
            )?;
            if policy.program.defs[persons as usize].ty != Ty::Bool {
                return Err(format!(
                    "outputs.allowances[{i}].persons: `{}` must be a bool person definition",
                    a.persons
                ));
            }
            allowances.push((amount, persons));
        }
        let mut not_applied = Vec::new();
        for (i, n) in names.not_applied_false.iter().enumerate() {
            not_applied.push(typed(
                &format!("not_applied_false[{i}]"),
                n,
                is_bool,
                "a bool",
            )?);
        }
        Ok(Ids {
            eligible: typed("eligible", &names.eligible, is_bool, "a bool")?,
            payment: typed("payment", &names.payment, is_money, "money")?,
            members: typed("members", &names.members, is_int, "an integer")?,
            gross_income: typed("gross_income", &names.gross_income, is_money, "money")?,
            not_applied_false: not_applied,
            allowances,
            roll: RollReader::new(policy, names)?,
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
    /// The households at the start (packed: a few bytes per field).
    pub population: PackedPopulation,
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
    /// The nominal design weight (households each simulated one stands for), for display.
    pub weight: u64,
    /// Each household's design weight: `weight`, or the generator's stratum weight for the groups it
    /// oversampled. Each run multiplies it by a bootstrap draw and calibration rakes it.
    pub design_weights: Vec<u64>,
    /// Households of a take-all stratum (empty: none): neither resampled nor reweighted.
    pub certain: Vec<bool>,
    /// Months simulated before the first reported month (not reported): the roll reaches a steady state.
    pub burn_in: u32,
    /// Targets of the first reported month, met by raking the weights (empty: no calibration).
    pub targets: Vec<crate::calibrate::Target>,
    /// No raked weight differs from its design weight by more than this factor.
    pub max_weight_ratio: f64,
    /// What each run draws anew (bootstrap of households, parameter ranges).
    pub uncertainty: crate::calibrate::Uncertainty,
    /// The employed share of the persons able to work at the start (for the stationary job-finding
    /// rate).
    pub employed_share: f64,
    /// What setting the simulation up found (fitted take-up, …), for the report.
    pub notes: Vec<String>,
    pub metrics: Vec<Metric>,
    /// Keep per-household totals of variants 0 and 1 for winners and losers.
    pub compare_households: bool,
    /// Replay unchanged households instead of evaluating them again (same results, faster); off only
    /// to test that.
    pub cache: bool,
    /// Evaluate with the compiled path (same results, faster); off only to test that: every
    /// household is then evaluated by the reference evaluator.
    pub compiled: bool,
}

/// The results of one variant in one run (weighted: each household counts with its weight).
#[derive(Debug, Clone)]
pub struct VariantRun {
    /// `[month][(region × areas + area) × metrics + metric]` (one region and area when not kept).
    pub cells: Vec<Vec<Num>>,
    /// `[month][programme definition]`: numeric programme outputs (weighted), `None` when not numeric.
    pub programme: Vec<Vec<Option<Num>>>,
    /// Same shape as `cells`: how many simulated households added a non-zero value to the cell
    /// (unweighted), so that a figure resting on too few simulated cases can be flagged.
    pub samples: Vec<Vec<u64>>,
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
    /// The households it stands for in this run.
    pub weight: u64,
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub variants: Vec<VariantRun>,
    pub households: Option<Vec<HouseholdTotals>>,
    /// What calibration did in this run (when the scenario has targets).
    pub raking: Option<crate::calibrate::Raking>,
    /// The values this run drew for the uncertain parameters.
    pub draws: crate::calibrate::RunDraws,
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

/// What an unchanged household off dibao added last month, to add again without evaluating it.
#[derive(Debug, Clone)]
enum Replay {
    /// Nothing recorded: evaluate the household.
    None,
    /// It added nothing to the cells and this contribution (an index into the run's
    /// [`Contributions`]) to the programme totals: most households share a few of them.
    Shared(u32),
    Full(Box<Cache>),
}

impl Replay {
    /// What a household that added `pay` to the cells, `total` to its benefits, `gross` to its
    /// income and `c` to the programme totals will replay: shared when it added nothing else.
    fn recorded(
        table: &Mutex<Contributions>,
        c: Contribution,
        pay: &[(usize, Num)],
        total: Num,
        gross: Num,
    ) -> Replay {
        if pay.is_empty() && total.is_zero() && gross.is_zero() {
            Replay::Shared(Contributions::intern(table, c))
        } else {
            Replay::Full(Box::new(Cache {
                contribution: c,
                cells: pay.to_vec(),
                total,
                gross,
            }))
        }
    }
}

/// The distinct contributions to the programme totals of the households replayed as
/// [`Replay::Shared`], for one variant and run. Replaying `n` households that share a contribution
/// adds it once with `n` times the weight: the same exact totals (a count grows by the weight, a sum
/// by the weight times the value; `min`, `max`, `any` and `all` do not depend on repetitions).
#[derive(Default)]
struct Contributions {
    list: Vec<Contribution>,
    /// Keyed by the values' representation (`0` and `0.00` are equal numbers but print differently).
    index: HashMap<Vec<u8>, u32>,
}

impl Contributions {
    fn intern(table: &Mutex<Contributions>, c: Contribution) -> u32 {
        let mut key = Vec::new();
        c.key(&mut key);
        let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&i) = t.index.get(&key) {
            return i;
        }
        let i = t.list.len() as u32;
        t.list.push(c);
        t.index.insert(key, i);
        i
    }
}

#[derive(Debug, Clone)]
struct Cache {
    contribution: Contribution,
    /// (metric, value) added to its region and area.
    cells: Vec<(usize, Num)>,
    total: Num,
    gross: Num,
}

/// Per-household totals over the horizon (kept for winners and losers only).
#[derive(Debug, Clone)]
struct Sums {
    benefit: Num,
    income: Num,
    members0: i64,
}

#[derive(Debug, Clone)]
struct Admin {
    /// Applying, on the roll or in grace: its case file (`None`: off the roll, no history).
    file: Option<Box<CaseFile>>,
    /// An application waiting for its decision (behaviour): the month and the day of the month the
    /// office decides.
    pending: Option<(u32, u8)>,
    credit: u16,
    credit_since: u32,
    replay: Replay,
    sums: Option<Box<Sums>>,
}

/// A household between months: its actual data packed, the simulator's extra state, and the
/// administration's view under each variant.
#[derive(Clone)]
struct State {
    /// The actual data: the dynamics change it in place; unpacked only for evaluation.
    packed: Packed,
    actual: Actual,
    admin: Box<[Admin]>,
    /// Whether the household applies when eligible (drawn once per run).
    applicant: bool,
    /// The households it stands for in this run (0: not in this run's bootstrap sample).
    weight: u64,
    /// Dibao paid and persons, in the month calibration measures (baseline).
    measured: Option<(Num, Num)>,
}

/// The fixed administrative draws of a household and month (the same under every variant). Each
/// household and month has its own stream, so they are drawn only when a decision needs them
/// ([`Draws::get`]): the values do not depend on whether they were drawn before.
#[derive(Clone, Copy)]
struct Draws {
    apply: f64,
    day: f64,
    report: f64,
    credit: f64,
    tier: f64,
    repair: f64,
    /// The processing time of an application within its spread (drawn last: the others keep their
    /// values).
    lag: f64,
}

impl Draws {
    fn get<'d>(slot: &'d mut Option<Draws>, key: &StreamKey, index: u64, t: u32) -> &'d Draws {
        slot.get_or_insert_with(|| {
            let mut rng = key.stream(index, t);
            Draws {
                apply: unit(&mut rng),
                day: unit(&mut rng),
                report: unit(&mut rng),
                credit: unit(&mut rng),
                tier: unit(&mut rng),
                repair: unit(&mut rng),
                lag: unit(&mut rng),
            }
        })
    }
}

/// Accumulators of one chunk (or the whole population).
struct Acc<'p> {
    cells: Vec<Vec<Num>>,
    /// Per variant and cell: how many simulated households added to it.
    samples: Vec<Vec<u64>>,
    totals: Vec<Totals<'p>>,
}

/// The cells and sample counts of one variant, seen by one household of weight `w`.
struct Cells<'a> {
    cells: &'a mut [Num],
    samples: &'a mut [u64],
    w: u64,
}

impl Cells<'_> {
    /// Adds `w × v` to cell `i` and counts the household in its samples (a zero adds nothing).
    fn add(&mut self, i: usize, v: &Num) -> Result<(), SimError> {
        if v.is_zero() {
            return Ok(());
        }
        let x = if self.w == 1 {
            v.clone()
        } else {
            v.checked_mul_i64(self.w as i64)
                .map_err(|_| overflow("a weighted amount"))?
        };
        add(self.cells, i, &x)?;
        self.samples[i] += 1;
        Ok(())
    }

    fn inc(&mut self, i: usize) -> Result<(), SimError> {
        self.add(i, &Num::from_i64(1))
    }
}

fn add(cells: &mut [Num], i: usize, v: &Num) -> Result<(), SimError> {
    cells[i] = cells[i]
        .checked_add(v)
        .map_err(|_| SimError("a total is too large to compute exactly (overflow)".into()))?;
    Ok(())
}

fn num_of(v: &Value) -> Num {
    v.to_num().unwrap_or(Num::ZERO)
}

fn overflow(what: &str) -> SimError {
    SimError(format!("{what} is too large to compute exactly (overflow)"))
}

/// Employment and work income of a household, for the grace-period test.
fn work(hh: &impl MemberFields, persons: &[PersonSim], s: &Slots) -> (Vec<bool>, i64) {
    (
        (0..hh.member_count())
            .map(|m| hh.member_field(m, s.employed).as_bool())
            .collect(),
        persons.iter().map(|p| p.work_cents).sum(),
    )
}

fn empty_household() -> Household {
    Household {
        id: String::new(),
        fields: Vec::new(),
        members: Vec::new(),
        previous: None,
    }
}

/// Runs `f` on the households `idx` of `unpacked`, moved (not copied) into `batch` for the time.
fn swapped<R>(
    unpacked: &mut [Household],
    batch: &mut [Household],
    idx: impl Iterator<Item = usize> + Clone,
    f: impl FnOnce(&[Household]) -> R,
) -> R {
    let mut n = 0;
    for (k, i) in idx.clone().enumerate() {
        std::mem::swap(&mut unpacked[i], &mut batch[k]);
        n += 1;
    }
    let r = f(&batch[..n]);
    for (k, i) in idx.enumerate() {
        std::mem::swap(&mut unpacked[i], &mut batch[k]);
    }
    r
}

/// Evaluates a batch and hands each household, in order, with its lane to `f`; stops at the
/// first error (an evaluation error rendered by `render`, or `f`'s).
fn each_lane(
    session: &mut Session<'_>,
    hs: &[Household],
    render: impl Fn(EvalError) -> SimError,
    mut f: impl FnMut(usize, &Household, Lane<'_, '_>) -> Result<(), SimError>,
) -> Result<(), SimError> {
    let mut err = None;
    session.run_batch(hs, |k, lane| {
        if err.is_none() {
            if let Err(e) = lane.map_err(&render).and_then(|lane| f(k, &hs[k], lane)) {
                err = Some(e);
            }
        }
    });
    err.map_or(Ok(()), Err)
}

/// `count(members where flag)`: the recipients of an allowance in a household.
fn count_expr(flag: DefId) -> Expr {
    let span = Span::default();
    let filter = Expr {
        kind: ExprKind::Def(flag),
        ty: Ty::Bool,
        span,
    };
    Expr {
        kind: ExprKind::Agg {
            kind: AggKind::Count,
            coll: Coll::Members,
            body: None,
            filter: Some(Box::new(filter)),
        },
        ty: Ty::Int,
        span,
    }
}

/// Where the values of one compiled evaluation are.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Index of the first allowance amount; the allowances' recipient counts follow the amounts.
    amounts: usize,
    /// Index of the gross income, when kept.
    gross: Option<usize>,
}

impl Layout {
    /// The layout of [`Evals::actual`] (with the gross income or not).
    fn actual(gross: bool) -> Layout {
        Layout {
            amounts: if gross { 3 } else { 2 },
            gross: gross.then_some(2),
        }
    }
}

/// Where the values of the case-file evaluation are: the policy's states, then members, then the allowance amounts and recipient counts.
#[derive(Debug, Clone, Copy)]
struct AdminLayout {
    members: usize,
    amounts: usize,
}

impl AdminLayout {
    fn of(ids: &Ids) -> AdminLayout {
        let n = ids.roll.states.len();
        AdminLayout {
            members: n,
            amounts: n + 1,
        }
    }

    fn outputs(ids: &Ids) -> Vec<DefId> {
        let mut o = ids.roll.states.clone();
        o.push(ids.members);
        o
    }
}

/// Why the office looks at a household on the roll this month (behaviour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Nothing: paid on its file.
    None,
    /// The household has no counted member left.
    Death,
    /// A confirmed dishonesty case, investigated like a review.
    Credit,
    /// Its grace has run out (the policy's `grace_left`).
    GraceEnd,
    /// A periodic review.
    Review,
    /// A change it reported.
    Report,
    /// A parameter of the policy changed (a new standard): its file is reassessed.
    Reassess,
}

/// A household whose case file the policy's roll moves this month.
#[derive(Debug, Clone)]
struct AdminItem {
    i: usize,
    /// Eligible on its actual data.
    eligible: bool,
    gross: Num,
    /// Evaluated on its actual data (a check, an application) or on its snapshot.
    actual: bool,
    events: RollEvents,
    check: Check,
}

/// The compiled evaluations of one variant.
struct Evals<'p> {
    /// On the actual data: eligible, members, [gross_income], the allowance amounts and recipient
    /// counts.
    actual: CompiledPolicy<'p>,
    /// On a case file (the snapshot or the actual data, with the month's events and last month's
    /// states): the policy's states, members, the allowances ([`AdminLayout`]).
    admin: CompiledPolicy<'p>,
    /// On the actual data of an eligible household not on dibao, eligibility and the
    /// `not_applied_false` definitions forced false: the allowances.
    off: CompiledPolicy<'p>,
}

impl<'p> Evals<'p> {
    fn new(policy: &'p Policy, ids: &Ids, gross: bool, compiled: bool) -> Evals<'p> {
        let counts: Vec<Expr> = ids
            .allowances
            .iter()
            .map(|&(_, flag)| count_expr(flag))
            .collect();
        let amounts = |mut defs: Vec<DefId>| {
            defs.extend(ids.allowances.iter().map(|&(a, _)| a));
            defs
        };
        // A policy the compiled path cannot take is evaluated by the reference (same results).
        let compile = |outputs: &[DefId], forced: &[(DefId, Value)]| match compiled {
            true => CompiledPolicy::with_exprs(policy, outputs, forced, &counts)
                .unwrap_or_else(|_| CompiledPolicy::reference(policy, outputs, forced, &counts)),
            false => CompiledPolicy::reference(policy, outputs, forced, &counts),
        };
        let mut a = vec![ids.eligible, ids.members];
        if gross {
            a.push(ids.gross_income);
        }
        debug_assert_eq!(a.len(), Layout::actual(gross).amounts);
        let mut off_forced = vec![(ids.eligible, Value::Bool(false))];
        off_forced.extend(
            ids.not_applied_false
                .iter()
                .map(|&d| (d, Value::Bool(false))),
        );
        Evals {
            actual: compile(&amounts(a), &[]),
            admin: compile(&amounts(AdminLayout::outputs(ids)), &[]),
            off: compile(&amounts(Vec::new()), &off_forced),
        }
    }
}

/// A worker's buffers and evaluation sessions for one month.
struct Work<'c> {
    sessions: Vec<[Session<'c>; 3]>,
    /// The chunk's households unpacked for evaluation (allocations reused from chunk to chunk).
    unpacked_hh: Vec<Household>,
    /// Households of one evaluation batch.
    batch: Vec<Household>,
    events: Vec<Events>,
    draws: Vec<Option<Draws>>,
    credit_event: Vec<bool>,
    need_actual: Vec<usize>,
    /// Households with a case file this month.
    need_admin: Vec<AdminItem>,
    /// Households not eligible that the policy's roll left off the roll this month, paid on their
    /// actual data.
    need_settle: Vec<usize>,
    /// (household, gross income when kept)
    need_off: Vec<(usize, Num)>,
    pay: Vec<(usize, Num)>,
    /// (contribution, households) replayed from the run's [`Contributions`].
    replayed: Vec<(u32, u64)>,
    /// Whether a household of the chunk is unpacked in `unpacked_hh` (only evaluated households are).
    unpacked: Vec<bool>,
}

impl<'c> Work<'c> {
    fn new(evals: &'c [Evals<'c>], month: Month) -> Work<'c> {
        Work {
            sessions: evals
                .iter()
                .map(|e| {
                    [
                        e.actual.session(month),
                        e.admin.session(month),
                        e.off.session(month),
                    ]
                })
                .collect(),
            unpacked_hh: (0..CHUNK).map(|_| empty_household()).collect(),
            batch: (0..BATCH).map(|_| empty_household()).collect(),
            events: Vec::with_capacity(CHUNK),
            draws: Vec::with_capacity(CHUNK),
            credit_event: Vec::with_capacity(CHUNK),
            need_actual: Vec::with_capacity(CHUNK),
            need_admin: Vec::with_capacity(CHUNK),
            need_settle: Vec::new(),
            need_off: Vec::with_capacity(CHUNK),
            pay: Vec::new(),
            replayed: Vec::new(),
            unpacked: Vec::with_capacity(CHUNK),
        }
    }
}

/// The dibao part of a household's payments.
struct DibaoPay {
    paid: Num,
    persons: Num,
    grace: bool,
    eligible: bool,
}

/// Month-wide settings of the chunks.
struct MonthCtx<'a> {
    t: u32,
    month: Month,
    epoch_changed: &'a [bool],
    dyn_key: &'a StreamKey,
    admin_key: &'a StreamKey,
    /// Per variant.
    contributions: &'a [Mutex<Contributions>],
    /// This run's dynamics and their monthly rates.
    dynamics: &'a Dynamics,
    rates: &'a Rates,
    /// Record the baseline's dibao payments per household (calibration).
    measure: bool,
    /// Each variant's policy in this run (with its grown standards, `crate::growth`).
    policies: &'a [&'a Policy],
}

/// What every month of a run shares.
struct RunCtx<'a> {
    dynamics: &'a Dynamics,
    rates: &'a Rates,
    /// The dynamics' and the administration's stream keys.
    keys: &'a (StreamKey, StreamKey),
    evals: &'a [Evals<'a>],
    /// Per variant: the run's policy (the variant's, or a copy whose standards grow after their last
    /// dated value, `crate::growth`).
    policies: &'a [&'a Policy],
    /// Per variant: the contributions replayed households share.
    contributions: Vec<Mutex<Contributions>>,
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

    /// The first cell of a household's region and area.
    fn base(&self, v: usize, a: &Actual) -> usize {
        let var = &self.variants[v];
        let (ri, ai) = if var.regions {
            (a.region as usize, a.area as usize)
        } else {
            (0, 0)
        };
        let na = if var.regions {
            self.areas.len().max(1)
        } else {
            1
        };
        (ri * na + ai.min(na - 1)) * self.metrics.len()
    }

    /// Runs replicate `run` (seeds derive from the scenario seed and `run`): its own bootstrap sample
    /// of the households and its own draws of the uncertain parameters. `progress` is called once
    /// per reported month.
    pub fn run(&self, run: u32, progress: &(dyn Fn() + Sync)) -> Result<RunResult, SimError> {
        self.run_with(run, self.take_up, false, progress)
    }

    /// Runs replicate `run` with the take-up `take_up` (before this run's draw); `central`: no
    /// bootstrap and every uncertain parameter at its central value (for fitting).
    pub fn run_with(
        &self,
        run: u32,
        take_up: f64,
        central: bool,
        progress: &(dyn Fn() + Sync),
    ) -> Result<RunResult, SimError> {
        let draws = crate::calibrate::RunDraws::draw(self, run, take_up, central);
        let dynamics = draws.dynamics(&self.dynamics, self.employed_share);
        let rates = Rates::new(&dynamics);
        let setup = StreamKey::new(self.seed, run as u64, Purpose::Setup);
        let keys = (
            StreamKey::new(self.seed, run as u64, Purpose::Dynamics),
            StreamKey::new(self.seed, run as u64, Purpose::Admin),
        );
        let nv = self.variants.len();
        let grown =
            crate::growth::run_policies(self, draws.standard_growth_per_year).map_err(SimError)?;
        let policies: Vec<&Policy> = self
            .variants
            .iter()
            .zip(&grown)
            .map(|(var, g)| g.as_ref().unwrap_or(&var.policy))
            .collect();
        let evals: Vec<Evals<'_>> = self
            .variants
            .iter()
            .enumerate()
            .map(|(v, var)| {
                Evals::new(
                    policies[v],
                    &var.ids,
                    v == 0 && self.compare_households,
                    self.compiled,
                )
            })
            .collect();
        let bootstrap = self.uncertainty.bootstrap && !central && self.runs > 1;
        let mut states = self.initial_states(&setup, &dynamics, draws.take_up, bootstrap);
        let run_ctx = RunCtx {
            dynamics: &dynamics,
            rates: &rates,
            keys: &keys,
            evals: &evals,
            policies: &policies,
            contributions: (0..nv).map(|_| Mutex::default()).collect(),
        };
        let mut last_epochs: Vec<Vec<usize>> = vec![Vec::new(); nv];
        for t in 0..self.burn_in {
            self.month(t, &mut states, &run_ctx, &mut last_epochs, false)?;
        }
        let raking = if self.targets.is_empty() {
            None
        } else {
            // Measure the first reported month on copies of the households (a chunk at a time), rake,
            // then simulate it from the unchanged states with the calibrated weights (the same random
            // numbers: the same events).
            let mut epochs = last_epochs.clone();
            for st in states.iter_mut() {
                st.measured = None;
            }
            self.month(self.burn_in, &mut states, &run_ctx, &mut epochs, true)?;
            let probes: Vec<crate::calibrate::Probe<'_>> = states
                .iter()
                .map(|st| crate::calibrate::Probe {
                    index: st.actual.index,
                    run: run as u64,
                    weight: st.weight,
                    certain: self
                        .certain
                        .get(st.actual.index as usize)
                        .copied()
                        .unwrap_or(false),
                    area: st.actual.area,
                    region: st.actual.region,
                    packed: &st.packed,
                    dibao: st.measured.clone(),
                })
                .collect();
            let (weights, info) =
                crate::calibrate::rake_households(self, &probes).map_err(SimError)?;
            drop(probes);
            for (st, w) in states.iter_mut().zip(weights) {
                st.weight = w;
            }
            Some(info)
        };
        let mut out: Vec<VariantRun> = (0..nv)
            .map(|_| VariantRun {
                cells: Vec::new(),
                programme: Vec::new(),
                samples: Vec::new(),
            })
            .collect();
        for t in self.burn_in..self.burn_in + self.months {
            let (cells, samples, programme) =
                self.month(t, &mut states, &run_ctx, &mut last_epochs, false)?;
            for (v, ((c, n), p)) in cells.into_iter().zip(samples).zip(programme).enumerate() {
                out[v].cells.push(c);
                out[v].samples.push(n);
                out[v].programme.push(p);
            }
            progress();
        }
        let households = if self.compare_households && nv >= 2 {
            Some(
                states
                    .iter()
                    .map(|st| {
                        let sum = |v: usize| st.admin[v].sums.as_deref();
                        HouseholdTotals {
                            income: sum(0).map_or(Num::ZERO, |x| x.income.clone()),
                            benefit: [
                                sum(0).map_or(Num::ZERO, |x| x.benefit.clone()),
                                sum(1).map_or(Num::ZERO, |x| x.benefit.clone()),
                            ],
                            members: sum(0).map_or(0, |x| x.members0),
                            weight: st.weight,
                        }
                    })
                    .collect(),
            )
        } else {
            None
        };
        Ok(RunResult {
            variants: out,
            households,
            raking,
            draws,
        })
    }

    /// Every household's state at the start of a run: the roll as the data has it, the take-up draw,
    /// the run's weight (the design weight times a Poisson(1) bootstrap draw, when `bootstrap`).
    fn initial_states(
        &self,
        setup: &StreamKey,
        dynamics: &Dynamics,
        take_up: f64,
        bootstrap: bool,
    ) -> Vec<State> {
        let s = &self.slots;
        let nv = self.variants.len();
        let pop = &self.population;
        (0..pop.len())
            .into_par_iter()
            .with_min_len(256)
            .map(|i| {
                let mut packed = pop.packed(i).clone();
                let h = PackedMut {
                    packer: pop.packer(),
                    packed: &mut packed,
                };
                let credit = match h.household_field(s.credit) {
                    Value::Enum(e) => e,
                    _ => s.credit_good,
                };
                let on = h.household_field(s.on_dibao).as_bool();
                let actual = Actual::new(&h, i as u64, self.region_of[i], s, dynamics, setup);
                let file = on.then(|| {
                    Box::new(CaseFile {
                        status: Status::On,
                        history: None,
                        snapshot: Some(h.packed.clone()),
                        work: work(&h, &actual.persons, s),
                    })
                });
                let admin = Admin {
                    file,
                    pending: None,
                    credit,
                    credit_since: 0,
                    replay: Replay::None,
                    sums: self.compare_households.then(|| {
                        Box::new(Sums {
                            benefit: Num::ZERO,
                            income: Num::ZERO,
                            members0: 0,
                        })
                    }),
                };
                let take_up = if dynamics.household_able_to_work(&h, s) {
                    take_up * dynamics.take_up_able_factor
                } else {
                    take_up
                };
                let applicant = if self.dynamics.take_up.is_auto() {
                    on || (!self.initial_eligible.get(i).copied().unwrap_or(false)
                        && actual.take_up_draw < take_up)
                } else {
                    actual.take_up_draw < take_up
                };
                let design = self.design_weights.get(i).copied().unwrap_or(self.weight);
                let certain = self.certain.get(i).copied().unwrap_or(false);
                let weight = if bootstrap && !certain {
                    design * crate::calibrate::poisson1(actual.bootstrap_draw)
                } else {
                    design
                };
                State {
                    packed,
                    actual,
                    admin: vec![admin; nv].into_boxed_slice(),
                    applicant,
                    weight,
                    measured: None,
                }
            })
            .collect()
    }

    /// Simulates month `t` (counted from the start of the burn-in) for every household: returns, per
    /// variant, the cells, their sample counts and the programme outputs. `measure`: simulate copies
    /// of the households and keep only the baseline's dibao payments per household
    /// (`State::measured`), for calibration; the states do not move.
    #[allow(clippy::type_complexity)]
    fn month(
        &self,
        t: u32,
        states: &mut [State],
        rc: &RunCtx<'_>,
        last_epochs: &mut Vec<Vec<usize>>,
        measure: bool,
    ) -> Result<(Vec<Vec<Num>>, Vec<Vec<u64>>, Vec<Vec<Option<Num>>>), SimError> {
        let nv = self.variants.len();
        let month = self.start.plus(t as i32 - self.burn_in as i32);
        let epochs: Vec<Vec<usize>> = rc.policies.iter().map(|p| epoch(p, month)).collect();
        let epoch_changed: Vec<bool> = epochs
            .iter()
            .zip(last_epochs.iter())
            .map(|(a, b)| t == 0 || a != b)
            .collect();
        *last_epochs = epochs;
        let ctx = MonthCtx {
            t,
            month,
            epoch_changed: &epoch_changed,
            dyn_key: &rc.keys.0,
            admin_key: &rc.keys.1,
            contributions: &rc.contributions,
            dynamics: rc.dynamics,
            rates: rc.rates,
            measure,
            policies: rc.policies,
        };
        let masters: Vec<Totals<'_>> = rc.policies.iter().map(|p| Totals::new(p, month)).collect();
        let parts: Vec<Result<Acc<'_>, SimError>> = states
            .par_chunks_mut(CHUNK)
            .map_init(
                || Work::new(rc.evals, month),
                |ws, chunk| {
                    let mut acc = Acc {
                        cells: (0..nv).map(|v| vec![Num::ZERO; self.cell_len(v)]).collect(),
                        samples: (0..nv).map(|v| vec![0; self.cell_len(v)]).collect(),
                        totals: masters.iter().map(|m| m.fork()).collect(),
                    };
                    if measure {
                        // On a copy: only what calibration measures is kept.
                        let mut copy = chunk.to_vec();
                        self.chunk(&mut copy, ws, &ctx, &mut acc)?;
                        for (st, c) in chunk.iter_mut().zip(copy) {
                            st.measured = c.measured;
                        }
                    } else {
                        self.chunk(chunk, ws, &ctx, &mut acc)?;
                    }
                    Ok(acc)
                },
            )
            .collect();
        let mut cells: Vec<Vec<Num>> = (0..nv).map(|v| vec![Num::ZERO; self.cell_len(v)]).collect();
        let mut samples: Vec<Vec<u64>> = (0..nv).map(|v| vec![0; self.cell_len(v)]).collect();
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
            for (v, n) in p.samples.into_iter().enumerate() {
                for (i, x) in n.into_iter().enumerate() {
                    samples[v][i] += x;
                }
            }
            for (v, tt) in p.totals.into_iter().enumerate() {
                totals[v].merge(tt).map_err(|e| self.render(v, &e))?;
            }
        }
        let mut programme = Vec::with_capacity(nv);
        for (v, tt) in totals.into_iter().enumerate() {
            let values = if tt.is_empty() {
                Vec::new()
            } else {
                tt.finish().map_err(|e| self.render(v, &e))?
            };
            programme.push(values.into_iter().map(|(_, val)| val.to_num()).collect());
        }
        Ok((cells, samples, programme))
    }

    /// One month of a chunk of households: their dynamics, then each variant's administration and
    /// payments.
    fn chunk<'p>(
        &'p self,
        chunk: &mut [State],
        ws: &mut Work<'_>,
        ctx: &MonthCtx<'_>,
        acc: &mut Acc<'p>,
    ) -> Result<(), SimError> {
        let d = ctx.dynamics;
        let s = &self.slots;
        let packer = self.population.packer();
        ws.events.clear();
        ws.draws.clear();
        ws.unpacked.clear();
        for st in chunk.iter_mut() {
            let events = if ctx.t > 0 && st.weight > 0 {
                let mut hh = PackedMut {
                    packer,
                    packed: &mut st.packed,
                };
                st.actual.step(
                    &mut hh,
                    d,
                    ctx.rates,
                    s,
                    ctx.dyn_key,
                    ctx.t,
                    ctx.month.month as u32,
                )
            } else {
                Default::default()
            };
            ws.events.push(events);
            ws.unpacked.push(false);
            ws.draws.push(None);
        }
        (0..self.variants.len()).try_for_each(|v| self.variant_chunk(v, chunk, ws, ctx, acc))
    }

    /// One variant's month for a chunk (after its dynamics).
    fn variant_chunk<'p>(
        &'p self,
        v: usize,
        chunk: &mut [State],
        ws: &mut Work<'_>,
        ctx: &MonthCtx<'_>,
        acc: &mut Acc<'p>,
    ) -> Result<(), SimError> {
        let d = ctx.dynamics;
        let s = &self.slots;
        let var = &self.variants[v];
        let policy = &var.policy;
        let render = |e: EvalError| SimError(e.render(policy.sources()));
        let t = ctx.t;
        let p_dishonesty = monthly(d.dishonesty_per_year);
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
            replayed,
            unpacked,
        } = ws;
        let [s_actual, s_admin, s_off] = &mut sessions[v];
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
                        let mut cells = Cells {
                            cells: &mut acc.cells[v],
                            samples: &mut acc.samples[v],
                            w,
                        };
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
                self.population.ids(st.actual.index as usize).write_into(hh);
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

        // The actual data: eligibility, then the administration's decisions; households paid on
        // these values are settled here.
        let lay = Layout::actual(v == 0 && self.compare_households);
        for part in need_actual.chunks(BATCH) {
            swapped(unpacked_hh, batch, part.iter().copied(), |hs| {
                each_lane(s_actual, hs, render, |k, hh, mut lane| {
                    let i = part[k];
                    let st = &mut chunk[i];
                    let w = st.weight;
                    let mut cells = Cells {
                        cells: &mut acc.cells[v],
                        samples: &mut acc.samples[v],
                        w,
                    };
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
                        &mut cells,
                    )? {
                        Next::Admin(item) => need_admin.push(AdminItem { i, ..item }),
                        Next::Off { gross } => need_off.push((i, gross)),
                        Next::Settle { eligible, gross } => {
                            let cacheable = self.cache && st.admin[v].pending.is_none();
                            pay.clear();
                            let total =
                                self.payments(v, lane.values(), lay.amounts, None, eligible, pay)?;
                            let contribution = lane
                                .add_totals(&mut acc.totals[v], w, cacheable)
                                .map_err(render)?;
                            self.settle(v, st, pay, &total, &mut cells)?;
                            if let Some(c) = contribution {
                                st.admin[v].replay =
                                    Replay::recorded(&ctx.contributions[v], c, pay, total, gross);
                            }
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
                    let w = st.weight;
                    pay.clear();
                    let total = self.payments(v, lane.values(), lay.amounts, None, false, pay)?;
                    lane.add_totals(&mut acc.totals[v], w, false)
                        .map_err(render)?;
                    let mut cells = Cells {
                        cells: &mut acc.cells[v],
                        samples: &mut acc.samples[v],
                        w,
                    };
                    self.settle(v, st, pay, &total, &mut cells)
                })
            })?;
        }

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
                    pay.clear();
                    let total = self.payments(v, lane.values(), 0, None, true, pay)?;
                    let w = st.weight;
                    let contribution = lane
                        .add_totals(&mut acc.totals[v], w, cacheable)
                        .map_err(render)?;
                    self.settle(
                        v,
                        st,
                        pay,
                        &total,
                        &mut Cells {
                            cells: &mut acc.cells[v],
                            samples: &mut acc.samples[v],
                            w,
                        },
                    )?;
                    if let Some(c) = contribution {
                        st.admin[v].replay =
                            Replay::recorded(&ctx.contributions[v], c, pay, total, gross.clone());
                    }
                    Ok(())
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
        let render = |e: EvalError| SimError(e.render(var.policy.sources()));
        let packer = self.population.packer();
        for (k, item) in part.iter().enumerate() {
            let st = &mut chunk[item.i];
            let adm = &mut st.admin[v];
            let hh = &mut batch[k];
            let file = adm.file.as_deref_mut();
            match file.as_ref().and_then(|f| f.snapshot.as_ref()) {
                Some(snapshot) if !item.actual => {
                    packer.unpack_into(snapshot, hh);
                    self.population.ids(st.actual.index as usize).write_into(hh);
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

/// The filing date and the decision date of an application, on the policy's working-day calendar:
/// it is filed on a working day of `month` drawn by `u` (in [0, 1), behaviour) and decided `lag`
/// working days later (the offices' processing time, behaviour). `None` when the calendar does not
/// cover the dates.
pub fn filing_and_decision(cal: &Calendar, month: Month, u: f64, lag: u32) -> Option<(Date, Date)> {
    let first = month.first_day();
    let last = calendar::month_end(month.year, month.month);
    let mut working = Vec::with_capacity(23);
    for k in 0..=calendar::days_between(first, last) {
        let d = calendar::add_days(first, k)?;
        if cal.is_working_day(d).ok()? {
            working.push(d);
        }
    }
    let n = working.len();
    if n == 0 {
        return None;
    }
    let filed = working[((u * n as f64) as usize).min(n - 1)];
    let decided = cal.add_working_days(filed, lag as i64).ok()?;
    Some((filed, decided))
}

/// Months from `month` to the month of `date` (0 when it is in `month`).
pub fn months_between(month: Month, date: Date) -> u32 {
    let k = (date.year - month.year) * 12 + date.month as i32 - month.month as i32;
    k.max(0) as u32
}

/// Months from the filing month to the decision month ([`filing_and_decision`]).
pub fn decision_months(cal: &Calendar, month: Month, u: f64, lag: u32) -> Option<u32> {
    filing_and_decision(cal, month, u, lag).map(|(_, decided)| months_between(month, decided))
}

/// Which version of each parameter is in force in a month: when it changes, every household must be
/// evaluated again.
fn epoch(policy: &Policy, month: Month) -> Vec<usize> {
    let date = month.first_day();
    policy
        .program
        .params
        .iter()
        .map(|p| {
            p.versions
                .iter()
                .rposition(|v| v.from.is_none_or(|f| f <= date))
                .unwrap_or(usize::MAX)
        })
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
