//! Person definitions compared member by member (`doudi diff --persons`). The compiled path hands
//! out household outputs only, so each household is evaluated by the reference evaluator in both
//! policies (in parallel), every person definition both policies define with the same type, for
//! every member. A value either policy fails to compute for a member (a rule evaluated where the
//! policy itself would not evaluate it, e.g. behind an `if`) is not compared; such values are
//! counted.

use super::{common_outputs, Direction, OutputPair};
use crate::data::Household;
use crate::eval::{HouseholdEval, Month, Scope};
use crate::policy::Policy;
use doudi_dsl::ast::EntityKind;
use rayon::prelude::*;

/// Members per direction of one person definition.
#[derive(Debug, Clone, Default)]
pub struct PersonStat {
    /// Members whose value changed, per [`Direction`] (in its declaration order).
    pub by_direction: [u64; 5],
    /// Households with at least one such member.
    pub households: u64,
}

impl PersonStat {
    pub fn members(&self) -> u64 {
        self.by_direction.iter().sum()
    }
    pub fn count(&self, d: Direction) -> u64 {
        self.by_direction[d.index()]
    }
}

/// The comparison of the person definitions.
#[derive(Debug, Clone)]
pub struct PersonOutputs {
    pub outputs: Vec<OutputPair>,
    /// One per output.
    pub stats: Vec<PersonStat>,
    /// Members with at least one changed person definition.
    pub changed_members: u64,
    /// Values not compared because a policy could not compute them for the member.
    pub not_computed: u64,
}

/// What one household adds: per output, the directions of its changed members; the members with a
/// change; the values not computed.
type HouseholdPart = (Vec<Vec<Direction>>, u64, u64);

impl PersonOutputs {
    pub(super) fn new(base: &Policy, new: &Policy) -> PersonOutputs {
        let outputs = common_outputs(base, new, EntityKind::Person);
        PersonOutputs {
            stats: vec![PersonStat::default(); outputs.len()],
            outputs,
            changed_members: 0,
            not_computed: 0,
        }
    }

    fn household(
        &self,
        bp: &Policy,
        np: &Policy,
        hb: &Household,
        hn: &Household,
        month: Month,
    ) -> HouseholdPart {
        let mut eb = HouseholdEval::new(bp, hb, month);
        let mut en = HouseholdEval::new(np, hn, month);
        let mut dirs = vec![Vec::new(); self.outputs.len()];
        let (mut changed, mut not_computed) = (0u64, 0u64);
        for i in 0..hb.members.len().min(hn.members.len()) {
            let mut any = false;
            for (k, o) in self.outputs.iter().enumerate() {
                let b = eb.def(o.base, Scope::Person(i));
                let n = en.def(o.new, Scope::Person(i));
                match (b, n) {
                    (Ok(b), Ok(n)) => {
                        if let Some(d) = Direction::of(&b, &n) {
                            dirs[k].push(d);
                            any = true;
                        }
                    }
                    _ => not_computed += 1,
                }
            }
            changed += any as u64;
        }
        (dirs, changed, not_computed)
    }

    /// Compares the members of one chunk (the same households read for each policy).
    pub(super) fn add_chunk(
        &mut self,
        bp: &Policy,
        np: &Policy,
        base_hs: &[Household],
        new_hs: &[Household],
        month: Month,
    ) {
        if self.outputs.is_empty() {
            return;
        }
        let this = &*self;
        let parts: Vec<HouseholdPart> = base_hs
            .par_iter()
            .zip(new_hs.par_iter())
            .with_min_len(16)
            .map(|(hb, hn)| this.household(bp, np, hb, hn, month))
            .collect();
        for (dirs, changed, not_computed) in parts {
            self.changed_members += changed;
            self.not_computed += not_computed;
            for (stat, ds) in self.stats.iter_mut().zip(dirs) {
                if !ds.is_empty() {
                    stat.households += 1;
                }
                for d in ds {
                    stat.by_direction[d.index()] += 1;
                }
            }
        }
    }
}
