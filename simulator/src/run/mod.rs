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

mod dates;
mod household;
mod months;
mod phases;

pub use dates::{decision_months, filing_and_decision, months_between};
pub use phases::{BlockResult, BlockState, MonthPart, RakeRow};

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
    /// The households at the start (packed: a few bytes per field): every household of the
    /// population, or only a block's (`first..first + population.len()`, a worker of a run in
    /// household blocks, `crate::blocks`), or none (the driver of such a run). The per-household
    /// vectors below (`region_of`, `initial_eligible`, `design_weights`, `certain`) hold the same
    /// households.
    pub population: PackedPopulation,
    /// The population index of `population`'s first household (0 unless a block).
    pub first: usize,
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

impl Acc<'_> {
    /// Variant `v`'s cells, seen by a household of weight `w`.
    fn cells(&mut self, v: usize, w: u64) -> Cells<'_> {
        Cells {
            cells: &mut self.cells[v],
            samples: &mut self.samples[v],
            w,
        }
    }
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
    contributions: &'a [Mutex<Contributions>],
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
