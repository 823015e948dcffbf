//! The impact of a rule change (`doudi diff`): two policies, the base and the new one, evaluated on
//! the same households and month, compared household by household.
//!
//! - Which households and persons see an output change, output by output and by direction (up,
//!   down, became true, became false, changed).
//! - The change of every programme total (`programme.` definitions, accumulated exactly as
//!   `doudi eval --totals` does), with money totals also as monthly and yearly amounts.
//! - Gainers and losers, by the change of one household money output (the *measure*), by household
//!   size band and by region.
//! - For a few example households, why the output changed: the first definition, from the inputs
//!   up, whose value differs between the two policies ([`cause`]).
//! - [`tests_against`]: the policy tests of the base run against the new policy, the cases the change
//!   breaks.
//!
//! Households go through the compiled path ([`CompiledPolicy`]) chunk by chunk, in parallel and in
//! input order; households it cannot take go to the reference evaluator, as for `doudi eval`.

mod cause;
mod persons;
mod render;
mod tests_run;

pub use cause::{find_cause, Cause, Example, ParamChange, RuleAt};
pub use persons::{PersonOutputs, PersonStat};
pub use render::{csv_header, csv_rows, render_json, render_text};
pub use tests_run::{render_tests_json, render_tests_text, tests_against, TestChange, TestStatus};

use crate::batch;
use crate::data::{FieldType, Household};
use crate::eval::{EvalError, Month};
use crate::fast::CompiledPolicy;
use crate::num::Num;
use crate::policy::Policy;
use crate::programme::Totals;
use crate::value::Value;
use doudi_dsl::ast::{EntityKind, Period};
use doudi_dsl::ir::{DefId, Ty};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// How an output changed for one household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    BecameTrue,
    BecameFalse,
    /// Any other change (an enum, a date, a text).
    Changed,
}

impl Direction {
    /// How `base` became `new`, or `None` when they are equal (numbers compare by value: `684` and
    /// `684.00` are equal).
    pub fn of(base: &Value, new: &Value) -> Option<Direction> {
        if base == new {
            return None;
        }
        Some(match (base, new) {
            (Value::Bool(false), Value::Bool(true)) => Direction::BecameTrue,
            (Value::Bool(true), Value::Bool(false)) => Direction::BecameFalse,
            _ => match (base.to_num(), new.to_num()) {
                (Some(a), Some(b)) if b > a => Direction::Up,
                (Some(a), Some(b)) if b < a => Direction::Down,
                _ => Direction::Changed,
            },
        })
    }

    /// The name used in JSON and CSV.
    pub fn key(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::BecameTrue => "became_true",
            Direction::BecameFalse => "became_false",
            Direction::Changed => "changed",
        }
    }

    /// The words of the text report.
    pub fn label(self) -> &'static str {
        match self {
            Direction::Up => "上升 up",
            Direction::Down => "下降 down",
            Direction::BecameTrue => "变为是 became true",
            Direction::BecameFalse => "变为否 became false",
            Direction::Changed => "改变 changed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Household size bands (members listed in the data): 1, 2, 3, 4, 5 or more persons.
pub const SIZE_BANDS: [&str; 5] = ["1人", "2人", "3人", "4人", "5人及以上"];

/// The size band (index into [`SIZE_BANDS`]) of a household of `members` persons; a household
/// without members counts with the one-person households.
pub fn size_band(members: usize) -> usize {
    members.clamp(1, SIZE_BANDS.len()) - 1
}

/// The household input whose value groups gainers and losers by region.
pub const REGION_FIELD: &str = "region";

/// The household money outputs tried, in this order, as the measure of gainers and losers when none
/// is named.
pub const DEFAULT_MEASURES: [&str; 3] = ["total_benefit", "paid", "dibao_payment"];

/// A household definition of both policies that the diff compares.
#[derive(Debug, Clone)]
pub struct OutputPair {
    pub name: String,
    pub label: Option<String>,
    pub ty: Ty,
    base: DefId,
    new: DefId,
}

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Household definitions to compare (empty: every household definition both policies define
    /// with the same type).
    pub outputs: Vec<String>,
    /// The household money output whose change makes a household a gainer or a loser (`None`: the
    /// first of [`DEFAULT_MEASURES`] both policies define).
    pub measure: Option<String>,
    /// How many changed households to explain.
    pub examples: usize,
    /// Also compare every person definition of both policies, member by member (the reference
    /// evaluator: slower).
    pub persons: bool,
}

/// An error of the diff: a message for people, already rendered (an evaluation error shows the
/// rule of the policy where it happened).
#[derive(Debug, Clone)]
pub struct DiffError(pub String);

impl std::fmt::Display for DiffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for DiffError {}

/// One output that changed for one household.
#[derive(Debug, Clone)]
pub struct ValueChange {
    /// Index into [`Diff::outputs`].
    pub output: usize,
    pub base: Value,
    pub new: Value,
    pub direction: Direction,
}

/// A household with at least one changed output.
#[derive(Debug, Clone)]
pub struct HouseholdChange {
    pub id: String,
    pub persons: usize,
    pub region: Option<String>,
    pub changes: Vec<ValueChange>,
}

/// Households per direction of one output.
#[derive(Debug, Clone, Default)]
pub struct OutputStat {
    /// Households whose value changed, per [`Direction`] (in its declaration order).
    pub by_direction: [u64; 5],
    /// Persons in those households.
    pub persons: u64,
}

impl OutputStat {
    pub fn households(&self) -> u64 {
        self.by_direction.iter().sum()
    }
    pub fn count(&self, d: Direction) -> u64 {
        self.by_direction[d.index()]
    }
}

/// Gainers and losers of one group of households.
#[derive(Debug, Clone)]
pub struct GroupStat {
    pub key: String,
    pub households: u64,
    pub persons: u64,
    pub gainers: u64,
    pub losers: u64,
    /// The sum of the measure's change over the group (exact).
    pub change: Num,
}

impl GroupStat {
    fn new(key: String) -> GroupStat {
        GroupStat {
            key,
            households: 0,
            persons: 0,
            gainers: 0,
            losers: 0,
            change: Num::ZERO,
        }
    }
    pub fn unchanged(&self) -> u64 {
        self.households - self.gainers - self.losers
    }
    fn add(&mut self, persons: usize, change: &Num) -> Result<(), DiffError> {
        self.households += 1;
        self.persons += persons as u64;
        if change.is_positive() {
            self.gainers += 1;
        } else if change.is_negative() {
            self.losers += 1;
        }
        self.change = self.change.checked_add(change).map_err(|_| {
            DiffError("error: the sum of the changes is too large (overflow)".into())
        })?;
        Ok(())
    }
}

/// The change of one programme total.
#[derive(Debug, Clone)]
pub struct ProgrammeChange {
    pub name: String,
    pub label: Option<String>,
    pub ty: Ty,
    pub base: Option<Value>,
    pub new: Option<Value>,
    /// `new − base`, exactly (numbers of both policies only).
    pub change: Option<Num>,
    /// For money: the change as a monthly amount (a yearly one ÷ 12).
    pub monthly: Option<Num>,
    /// For money: the change as a yearly amount (a monthly one × 12).
    pub yearly: Option<Num>,
}

/// Gainers and losers by the measure.
#[derive(Debug, Clone)]
pub struct Gainers {
    /// Index into [`Diff::outputs`].
    pub measure: usize,
    pub all: GroupStat,
    /// One per [`SIZE_BANDS`] entry.
    pub by_size: Vec<GroupStat>,
    /// By the household's `region` input, sorted by region; empty when the policy has none.
    pub by_region: Vec<GroupStat>,
}

/// Everything `doudi diff` reports.
#[derive(Debug, Clone)]
pub struct Summary {
    pub month: Month,
    pub base_title: String,
    pub new_title: String,
    pub outputs: Vec<OutputPair>,
    pub households: u64,
    pub persons: u64,
    pub changed_households: u64,
    pub changed_persons: u64,
    /// One per output.
    pub output_stats: Vec<OutputStat>,
    pub programmes: Vec<ProgrammeChange>,
    pub gainers: Option<Gainers>,
    pub examples: Vec<Example>,
    /// The person definitions compared member by member ([`Options::persons`]).
    pub person_outputs: Option<PersonOutputs>,
}

/// One policy of the comparison.
struct Side<'p> {
    policy: &'p Policy,
    compiled: Option<CompiledPolicy<'p>>,
    outputs: Vec<DefId>,
    totals: Totals<'p>,
    name: &'static str,
}

impl<'p> Side<'p> {
    fn new(policy: &'p Policy, outputs: Vec<DefId>, month: Month, name: &'static str) -> Side<'p> {
        Side {
            policy,
            compiled: CompiledPolicy::new(policy, &outputs).ok(),
            outputs,
            totals: Totals::new(policy, month),
            name,
        }
    }

    /// The outputs of every household, added to the programme totals (as `doudi eval --totals`).
    fn rows(&mut self, hs: &[Household], month: Month) -> Result<Vec<Vec<Value>>, DiffError> {
        let r = match &self.compiled {
            Some(cp) => cp.evaluate_chunk_with_totals(hs, month, &mut self.totals),
            None => batch::evaluate_chunk_with_totals(
                self.policy,
                hs,
                month,
                &self.outputs,
                &mut self.totals,
            ),
        };
        r.map_err(|e| self.error(e))
    }

    fn error(&self, e: EvalError) -> DiffError {
        DiffError(format!(
            "{}\nnote: in the {} policy",
            e.render(self.policy.sources()).trim_end(),
            self.name
        ))
    }
}

/// A comparison in progress: add the population chunk by chunk, then [`Diff::finish`].
pub struct Diff<'p> {
    base: Side<'p>,
    new: Side<'p>,
    month: Month,
    outputs: Vec<OutputPair>,
    measure: Option<usize>,
    region: Option<(usize, FieldType)>,
    examples: usize,
    stats: Vec<OutputStat>,
    households: u64,
    persons: u64,
    changed_households: u64,
    changed_persons: u64,
    gain_all: GroupStat,
    gain_size: Vec<GroupStat>,
    gain_region: BTreeMap<String, GroupStat>,
    /// The first changed households (base and new readings) and the output to explain.
    picked: Vec<(Household, Household, usize)>,
    persons_diff: Option<PersonOutputs>,
}

/// The definitions of `entity` both policies define with the same type, in the new policy's order.
fn common_outputs(base: &Policy, new: &Policy, entity: EntityKind) -> Vec<OutputPair> {
    new.program
        .defs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.entity == entity)
        .filter_map(|(i, d)| {
            let b = base.program.def_by_name(entity, &d.name)?;
            (base.program.defs[b as usize].ty == d.ty).then(|| OutputPair {
                name: d.name.clone(),
                label: d.label.clone(),
                ty: d.ty,
                base: b,
                new: i as DefId,
            })
        })
        .collect()
}

/// The named household definitions, each defined by both policies with the same type.
fn named_outputs(base: &Policy, new: &Policy, names: &[String]) -> Result<Vec<OutputPair>, String> {
    let mut out: Vec<OutputPair> = Vec::new();
    for n in names.iter().map(|n| n.trim()) {
        let find = |p: &Policy, which: &str| {
            p.program
                .def_by_name(EntityKind::Household, n)
                .ok_or_else(|| match p.output(n) {
                    Err(e) => format!("{e} (in the {which} policy)"),
                    Ok(_) => format!(
                        "`{n}` is not a household definition of the {which} policy; `diff` compares household definitions"
                    ),
                })
        };
        let (b, w) = (find(base, "base")?, find(new, "new")?);
        let (bd, nd) = (
            &base.program.defs[b as usize],
            &new.program.defs[w as usize],
        );
        if bd.ty != nd.ty {
            return Err(format!(
                "`{n}` is a {} in the base policy and a {} in the new one: they cannot be compared",
                base.program.ty_name(bd.ty),
                new.program.ty_name(nd.ty)
            ));
        }
        if !out.iter().any(|o| o.name == n) {
            out.push(OutputPair {
                name: n.to_string(),
                label: nd.label.clone(),
                ty: nd.ty,
                base: b,
                new: w,
            });
        }
    }
    Ok(out)
}

/// The measure of gainers and losers: the named household money output, or the first of
/// [`DEFAULT_MEASURES`] both policies define; added to the outputs if they lack it.
fn pick_measure(
    base: &Policy,
    new: &Policy,
    named: Option<&str>,
    outputs: &mut Vec<OutputPair>,
) -> Result<Option<usize>, String> {
    let candidates: Vec<&str> = match named {
        Some(n) => vec![n],
        None => DEFAULT_MEASURES.to_vec(),
    };
    for c in candidates {
        let pair = match named_outputs(base, new, &[c.to_string()]) {
            Ok(mut p) => p.remove(0),
            Err(e) if named.is_some() => return Err(format!("--measure: {e}")),
            Err(_) => continue,
        };
        if !pair.ty.is_money() {
            if named.is_some() {
                return Err(format!(
                    "--measure: `{c}` is a {}; the measure of gainers and losers is a household money definition",
                    new.program.ty_name(pair.ty)
                ));
            }
            continue;
        }
        if let Some(i) = outputs.iter().position(|o| o.name == pair.name) {
            return Ok(Some(i));
        }
        outputs.push(pair);
        return Ok(Some(outputs.len() - 1));
    }
    Ok(None)
}

impl<'p> Diff<'p> {
    /// Prepares the comparison of `base` and `new` in `month`. Errors name an output or measure
    /// the two policies do not both define.
    pub fn new(
        base: &'p Policy,
        new: &'p Policy,
        month: Month,
        opts: &Options,
    ) -> Result<Diff<'p>, DiffError> {
        let mut outputs = if opts.outputs.is_empty() {
            common_outputs(base, new, EntityKind::Household)
        } else {
            named_outputs(base, new, &opts.outputs)
                .map_err(|e| DiffError(format!("error: --outputs: {e}")))?
        };
        let measure = pick_measure(base, new, opts.measure.as_deref(), &mut outputs)
            .map_err(|e| DiffError(format!("error: {e}")))?;
        let region = base
            .schema
            .household_index(REGION_FIELD)
            .map(|i| (i, base.schema.household[i].ty.clone()));
        let ids = |side: fn(&OutputPair) -> DefId| outputs.iter().map(side).collect::<Vec<_>>();
        Ok(Diff {
            base: Side::new(base, ids(|o| o.base), month, "base"),
            new: Side::new(new, ids(|o| o.new), month, "new"),
            month,
            stats: vec![OutputStat::default(); outputs.len()],
            outputs,
            measure,
            region,
            examples: opts.examples,
            households: 0,
            persons: 0,
            changed_households: 0,
            changed_persons: 0,
            gain_all: GroupStat::new("all".into()),
            gain_size: SIZE_BANDS
                .iter()
                .map(|b| GroupStat::new(b.to_string()))
                .collect(),
            gain_region: BTreeMap::new(),
            picked: Vec::new(),
            persons_diff: opts.persons.then(|| PersonOutputs::new(base, new)),
        })
    }

    /// The outputs compared, in order.
    pub fn outputs(&self) -> &[OutputPair] {
        &self.outputs
    }

    /// Whether the two policies are evaluated by the compiled path (else by the reference).
    pub fn compiled(&self) -> (bool, bool) {
        (self.base.compiled.is_some(), self.new.compiled.is_some())
    }

    /// Compares one chunk of the population: `base_hs` read with the base policy's schema,
    /// `new_hs` the same households read with the new policy's (the same slice when the schemas
    /// agree). Returns the households whose outputs changed, in input order.
    pub fn add_chunk(
        &mut self,
        base_hs: &[Household],
        new_hs: &[Household],
    ) -> Result<Vec<HouseholdChange>, DiffError> {
        if base_hs.len() != new_hs.len() || base_hs.iter().zip(new_hs).any(|(a, b)| a.id != b.id) {
            return Err(DiffError(
                "error: the households read for the two policies differ (the data must hold the same households for both)".into(),
            ));
        }
        if let Some(p) = self.persons_diff.as_mut() {
            p.add_chunk(
                self.base.policy,
                self.new.policy,
                base_hs,
                new_hs,
                self.month,
            );
        }
        let base_rows = self.base.rows(base_hs, self.month)?;
        let new_rows = self.new.rows(new_hs, self.month)?;
        let region = |h: &Household| self.region_of(h);
        let compared: Vec<(Option<String>, Vec<ValueChange>)> = base_hs
            .par_iter()
            .zip(base_rows.par_iter().zip(new_rows.par_iter()))
            .with_min_len(64)
            .map(|(h, (b, n))| (region(h), compare_rows(b, n)))
            .collect();
        let mut changed = Vec::new();
        for (i, (region, changes)) in compared.into_iter().enumerate() {
            let h = &base_hs[i];
            self.count(h, region.as_deref(), &changes)?;
            if changes.is_empty() {
                continue;
            }
            if self.picked.len() < self.examples {
                let out = self
                    .measure
                    .filter(|m| changes.iter().any(|c| c.output == *m))
                    .unwrap_or(changes[0].output);
                self.picked.push((h.clone(), new_hs[i].clone(), out));
            }
            changed.push(HouseholdChange {
                id: h.id.clone(),
                persons: h.members.len(),
                region,
                changes,
            });
        }
        Ok(changed)
    }

    fn region_of(&self, h: &Household) -> Option<String> {
        let (i, ty) = self.region.as_ref()?;
        Some(match (h.fields.get(*i)?, ty) {
            (Value::Text(t), _) => t.to_string(),
            (Value::Enum(e), FieldType::Enum { variants, .. }) => {
                variants.get(*e as usize).cloned().unwrap_or_default()
            }
            (v, _) => format!("{v:?}"),
        })
    }

    /// Adds one household to the counts.
    fn count(
        &mut self,
        h: &Household,
        region: Option<&str>,
        changes: &[ValueChange],
    ) -> Result<(), DiffError> {
        let persons = h.members.len();
        self.households += 1;
        self.persons += persons as u64;
        if !changes.is_empty() {
            self.changed_households += 1;
            self.changed_persons += persons as u64;
        }
        for c in changes {
            let s = &mut self.stats[c.output];
            s.by_direction[c.direction.index()] += 1;
            s.persons += persons as u64;
        }
        let Some(m) = self.measure else {
            return Ok(());
        };
        let change = match changes.iter().find(|c| c.output == m) {
            Some(c) => match (c.base.to_num(), c.new.to_num()) {
                (Some(a), Some(b)) => b
                    .checked_sub(&a)
                    .map_err(|_| DiffError("error: a change is too large (overflow)".into()))?,
                _ => Num::ZERO,
            },
            None => Num::ZERO,
        };
        self.gain_all.add(persons, &change)?;
        self.gain_size[size_band(persons)].add(persons, &change)?;
        if let Some(r) = region {
            self.gain_region
                .entry(r.to_string())
                .or_insert_with(|| GroupStat::new(r.to_string()))
                .add(persons, &change)?;
        }
        Ok(())
    }

    /// The programme totals of both policies, the counts and the explained examples.
    pub fn finish(self) -> Result<Summary, DiffError> {
        let (bp, np) = (self.base.policy, self.new.policy);
        let base_totals = self.base.totals.finish().map_err(|e| {
            DiffError(format!(
                "{}\nnote: in the base policy",
                e.render(bp.sources()).trim_end()
            ))
        })?;
        let new_totals = self.new.totals.finish().map_err(|e| {
            DiffError(format!(
                "{}\nnote: in the new policy",
                e.render(np.sources()).trim_end()
            ))
        })?;
        let programmes = programme_changes(bp, np, &base_totals, &new_totals)?;
        let mut examples = Vec::new();
        for (hb, hn, o) in &self.picked {
            let pair = &self.outputs[*o];
            examples.push(cause::example(
                bp, np, hb, hn, self.month, pair.base, pair.new,
            )?);
        }
        let gainers = self.measure.map(|measure| Gainers {
            measure,
            all: self.gain_all,
            by_size: self.gain_size,
            by_region: self.gain_region.into_values().collect(),
        });
        Ok(Summary {
            month: self.month,
            base_title: bp.program.layers.last().cloned().unwrap_or_default(),
            new_title: np.program.layers.last().cloned().unwrap_or_default(),
            outputs: self.outputs,
            households: self.households,
            persons: self.persons,
            changed_households: self.changed_households,
            changed_persons: self.changed_persons,
            output_stats: self.stats,
            programmes,
            gainers,
            examples,
            person_outputs: self.persons_diff,
        })
    }
}

/// The outputs of one household that differ between the two rows.
fn compare_rows(base: &[Value], new: &[Value]) -> Vec<ValueChange> {
    base.iter()
        .zip(new)
        .enumerate()
        .filter_map(|(i, (b, n))| {
            Direction::of(b, n).map(|direction| ValueChange {
                output: i,
                base: b.clone(),
                new: n.clone(),
                direction,
            })
        })
        .collect()
}

/// `new − base` of two numeric values, exactly.
pub fn num_change(base: &Value, new: &Value) -> Option<Num> {
    new.to_num()?.checked_sub(&base.to_num()?).ok()
}

/// The programme totals of both policies paired by name (the new policy's order, then those only
/// the base policy has).
fn programme_changes(
    bp: &Policy,
    np: &Policy,
    base: &[(DefId, Value)],
    new: &[(DefId, Value)],
) -> Result<Vec<ProgrammeChange>, DiffError> {
    let overflow = || DiffError("error: a programme total's change is too large (overflow)".into());
    let name = |p: &Policy, d: DefId| p.program.defs[d as usize].name.clone();
    let mut out = Vec::new();
    for (d, v) in new {
        let def = &np.program.defs[*d as usize];
        let b = base
            .iter()
            .find(|(bd, _)| name(bp, *bd) == def.name)
            .map(|(_, v)| v.clone());
        let change = match &b {
            Some(b) => match (b.to_num(), v.to_num()) {
                (Some(x), Some(y)) => Some(y.checked_sub(&x).map_err(|_| overflow())?),
                _ => None,
            },
            None => None,
        };
        let (monthly, yearly) = match (&change, def.ty) {
            (Some(c), Ty::Money(Period::Month)) => (
                Some(c.clone()),
                Some(c.checked_mul_i64(12).map_err(|_| overflow())?),
            ),
            (Some(c), Ty::Money(Period::Year)) => (
                Some(c.checked_div(&Num::from_i64(12)).map_err(|_| overflow())?),
                Some(c.clone()),
            ),
            _ => (None, None),
        };
        out.push(ProgrammeChange {
            name: def.name.clone(),
            label: def.label.clone(),
            ty: def.ty,
            base: b,
            new: Some(v.clone()),
            change,
            monthly,
            yearly,
        });
    }
    for (d, v) in base {
        let def = &bp.program.defs[*d as usize];
        if !out.iter().any(|p| p.name == def.name) {
            out.push(ProgrammeChange {
                name: def.name.clone(),
                label: def.label.clone(),
                ty: def.ty,
                base: Some(v.clone()),
                new: None,
                change: None,
                monthly: None,
                yearly: None,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
