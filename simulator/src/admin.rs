//! The administration as the policy writes it: the roll's states and event inputs the simulator
//! reads and sets, and a household's case file between months.
//!
//! The simulator decides only what happens (behaviour): an application is filed on some day, the
//! office decides on some later day, a review falls due, a change is reported, a member starts work.
//! It passes these to the policy as the roll's event inputs (`applied`, `applied_day`, `decided`,
//! `decided_day`, `reviewed`, `work_income_rose`, policies/jiangxi/roll.doudi) together with the
//! household's states of last month, and the policy's `state roll` says whether the household is off,
//! applying, on the roll or in grace (延退), and its `state paid` what it is paid.

use crate::scenario::OutputNames;
use doudi_dsl::ast::EntityKind;
use doudi_dsl::ir::{DefId, Ty};
use doudi_interpreter::data::{FieldType, Household, Schema};
use doudi_interpreter::packed::Packed;
use doudi_interpreter::{Policy, Value};

/// Where the roll's event inputs are in a household's fields.
#[derive(Debug, Clone)]
pub struct EventSlots {
    applied: usize,
    applied_day: usize,
    decided: usize,
    decided_day: usize,
    reviewed: usize,
    work_income_rose: usize,
}

impl EventSlots {
    /// Finds the event inputs in the policy's schema; the error names the missing one.
    pub fn new(schema: &Schema) -> Result<EventSlots, String> {
        let slot = |n: &str, bool_input: bool| {
            let i = schema.household_index(n).ok_or_else(|| {
                format!(
                    "the policy declares no household input `{n}`: the simulator passes the roll's \
                     events to the policy through it (see policies/jiangxi/roll.doudi)"
                )
            })?;
            let ok = match &schema.household[i].ty {
                FieldType::Bool => bool_input,
                FieldType::Int => !bool_input,
                _ => false,
            };
            if !ok {
                let want = if bool_input { "a bool" } else { "an integer" };
                return Err(format!("the input `{n}` must be {want} (a roll event)"));
            }
            Ok(i)
        };
        Ok(EventSlots {
            applied: slot("applied", true)?,
            applied_day: slot("applied_day", false)?,
            decided: slot("decided", true)?,
            decided_day: slot("decided_day", false)?,
            reviewed: slot("reviewed", true)?,
            work_income_rose: slot("work_income_rose", true)?,
        })
    }
}

/// What the administration did or learned about a household this month (behaviour), as the policy
/// reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollEvents {
    /// Filed an application, on this day of the month.
    pub applied: Option<u8>,
    /// The office decided the application, on this day of the month.
    pub decided: Option<u8>,
    /// A review, a reported change, an investigation or another check of the household's data.
    pub reviewed: bool,
    /// A member started work or work income rose since the household was last verified.
    pub work_income_rose: bool,
}

impl RollEvents {
    /// Writes the events into `hh`'s fields (every event input, so nothing of another month stays).
    pub fn write(&self, s: &EventSlots, hh: &mut Household) {
        let f = &mut hh.fields;
        f[s.applied] = Value::Bool(self.applied.is_some());
        f[s.applied_day] = Value::Int(self.applied.unwrap_or(1) as i64);
        f[s.decided] = Value::Bool(self.decided.is_some());
        f[s.decided_day] = Value::Int(self.decided.unwrap_or(1) as i64);
        f[s.reviewed] = Value::Bool(self.reviewed);
        f[s.work_income_rose] = Value::Bool(self.work_income_rose);
    }
}

/// A household's place on the roll, read from the policy's `state roll`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Off,
    Applying,
    /// On the roll and paid (the variant `on`, or any variant other than `off`, `applying` and
    /// `grace` that a layer adds).
    On,
    /// 延退: no longer eligible, still paid for the grace months.
    Grace,
}

impl Status {
    /// On the roll (paid as a recipient).
    pub fn on_roll(self) -> bool {
        matches!(self, Status::On | Status::Grace)
    }
}

/// How the simulator reads one variant's roll: its states (carried from month to month), and where
/// `roll`, `paid` and `grace_left` are among them.
#[derive(Debug, Clone)]
pub struct RollReader {
    /// The policy's states, in the program's order (a household's history).
    pub states: Vec<DefId>,
    /// Index of `roll` in `states`.
    pub roll: usize,
    /// Index of `paid` in `states`.
    pub paid: usize,
    /// Index of the grace months left (this month included) in `states`, when the policy has it: a
    /// household whose grace runs out is checked by the office (behaviour).
    pub grace_left: Option<usize>,
    /// `decided_in_time` (bool), when the policy has it: decisions it finds late are counted.
    pub decided_in_time: Option<DefId>,
    /// Where the event inputs are.
    pub events: EventSlots,
    /// The roll enum's variant indices of `off`, `applying` and `grace`.
    off: u16,
    applying: Option<u16>,
    grace: Option<u16>,
}

impl RollReader {
    pub fn new(policy: &Policy, names: &OutputNames) -> Result<RollReader, String> {
        let p = &policy.program;
        let states: Vec<DefId> = p.states.iter().map(|s| s.def).collect();
        let state = |key: &str, n: &str| -> Result<usize, String> {
            let def = p.def_by_name(EntityKind::Household, n);
            def.and_then(|d| states.iter().position(|&s| s == d))
                .ok_or_else(|| {
                    format!(
                        "outputs.{key}: the policy has no household state `{n}`: the simulator runs \
                         the policy's roll (see policies/jiangxi/roll.doudi)"
                    )
                })
        };
        let roll = state("roll", &names.roll)?;
        let paid = state("paid", &names.paid)?;
        let Ty::Enum(e) = p.defs[states[roll] as usize].ty else {
            return Err(format!(
                "outputs.roll: `{}` must be an enum state",
                names.roll
            ));
        };
        if !p.defs[states[paid] as usize].ty.is_money() {
            return Err(format!(
                "outputs.paid: `{}` must be a money state",
                names.paid
            ));
        }
        let variants = &p.enums[e as usize].variants;
        let var = |n: &str| variants.iter().position(|v| v == n).map(|i| i as u16);
        let off = var("off").ok_or_else(|| {
            format!(
                "outputs.roll: the enum of `{}` has no variant `off` (not on the roll)",
                names.roll
            )
        })?;
        let grace_left = p
            .def_by_name(EntityKind::Household, &names.grace_left)
            .and_then(|d| states.iter().position(|&s| s == d))
            .filter(|&i| p.defs[states[i] as usize].ty.is_integer());
        let decided_in_time = p
            .def_by_name(EntityKind::Household, &names.decided_in_time)
            .filter(|&d| p.defs[d as usize].ty == Ty::Bool);
        Ok(RollReader {
            events: EventSlots::new(&policy.schema)?,
            roll,
            paid,
            grace_left,
            decided_in_time,
            off,
            applying: var("applying"),
            grace: var("grace"),
            states,
        })
    }

    /// The status a value of the roll state stands for.
    pub fn status(&self, v: &Value) -> Status {
        match v {
            Value::Enum(x) if *x == self.off => Status::Off,
            Value::Enum(x) if Some(*x) == self.applying => Status::Applying,
            Value::Enum(x) if Some(*x) == self.grace => Status::Grace,
            Value::Enum(_) => Status::On,
            _ => Status::Off,
        }
    }

    /// Whether a household in grace has no grace month left after last month (its states
    /// `history`): the office checks it this month.
    pub fn grace_runs_out(&self, history: Option<&[Value]>) -> bool {
        match (self.grace_left, history) {
            (Some(i), Some(h)) => matches!(h.get(i), Some(Value::Int(n)) if *n <= 1),
            _ => false,
        }
    }
}

/// A household the administration deals with (applying, on the roll or in grace), between months.
#[derive(Debug, Clone)]
pub struct CaseFile {
    pub status: Status,
    /// The policy's states after last month (`None`: none yet; the policy's `initially` applies).
    pub history: Option<Vec<Value>>,
    /// Its data as last verified (approval, review, reported change): what the office pays on
    /// between checks. `None` while it only applies.
    pub snapshot: Option<Packed>,
    /// Employment of each member and the household's work income when last verified: what the
    /// simulator compares to see whether work began or work income rose.
    pub work: (Vec<bool>, i64),
}
