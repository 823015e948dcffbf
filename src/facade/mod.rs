//! The embedding facade: [`Engine`] loads a policy once and answers "what does this household get
//! this month, and why", with one error type, [`Error`]. Built on the interpreter's lower-level API
//! (`Policy`, `HouseholdEval`, `explain`), which stays available for what the facade does not cover
//! (populations in batches, the compiled path, audits, benefit chains).

mod error;
mod outputs;

pub use error::Error;
pub use outputs::{Explanation, Output, Outputs};

use doudi_dsl::ast::EntityKind;
use doudi_dsl::diag::render_all;
use doudi_dsl::ir::DefId;
use doudi_dsl::Diagnostic;
use doudi_interpreter::data::{self, Household};
use doudi_interpreter::explain;
use doudi_interpreter::{HouseholdEval, Month, Policy, Scope};
use std::borrow::Cow;
use std::path::Path;

/// A loaded, checked policy, ready to evaluate and explain households. `Send + Sync`: load once,
/// share it (`Arc<Engine>`) and call it from many threads.
pub struct Engine {
    policy: Policy,
    warnings: Vec<Diagnostic>,
}

impl Engine {
    /// Loads, parses and checks the policy at `path` (a directory of `.doudi` files, with its
    /// `extends` layers and extern scripts, or one file). A policy with errors is
    /// [`Error::Load`], its diagnostics rendered rustc-style.
    pub fn load(path: impl AsRef<Path>) -> Result<Engine, Error> {
        let loaded = Policy::load(path.as_ref())?;
        Ok(Engine {
            policy: loaded.policy,
            warnings: loaded.warnings,
        })
    }

    /// Loads a one-file policy held in memory (no `extends`, no extern scripts); `name` is the
    /// file name its diagnostics show.
    pub fn from_source(name: &str, text: &str) -> Result<Engine, Error> {
        let loaded = Policy::from_source(name, text)?;
        Ok(Engine {
            policy: loaded.policy,
            warnings: loaded.warnings,
        })
    }

    /// Wraps a policy loaded (and perhaps overridden) with the lower-level API.
    pub fn from_policy(policy: Policy) -> Engine {
        Engine {
            policy,
            warnings: Vec::new(),
        }
    }

    /// The lower-level policy (program, data schema, `display`), for what the facade does not cover.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The checker's warnings, rendered rustc-style (empty when there are none).
    pub fn warnings(&self) -> String {
        if self.warnings.is_empty() {
            String::new()
        } else {
            render_all(&self.warnings, self.policy.sources())
        }
    }

    /// Replaces a parameter's value at every date, as `doudi eval --set` does: `target` is `name`
    /// or `name.key`, `value` a value as text (`750`, `30%`, `true`, an enum value).
    pub fn set_param(&mut self, target: &str, value: &str) -> Result<(), Error> {
        self.policy
            .set_param(target, value)
            .map_err(|message| Error::Parameter { message })
    }

    /// The names of the household outputs (every household definition), in declaration order.
    pub fn output_names(&self) -> Vec<&str> {
        self.policy
            .program
            .defs
            .iter()
            .filter(|d| d.entity == EntityKind::Household)
            .map(|d| d.name.as_str())
            .collect()
    }

    /// Reads one household from JSON (docs/DATA.md), checked against the policy's declared inputs.
    pub fn household(&self, json: &serde_json::Value) -> Result<Household, Error> {
        Ok(data::read_json_household(
            &self.policy.schema,
            json,
            "household",
        )?)
    }

    /// Reads the households of a file: JSON (one or an array), JSON Lines, or a CSV pair
    /// (`households.csv`, with `persons.csv` beside it, or their directory).
    pub fn households(&self, path: impl AsRef<Path>) -> Result<Vec<Household>, Error> {
        Ok(data::read_households(&self.policy.schema, path.as_ref())?)
    }

    /// Evaluates household outputs for one household and month. `household` is a [`Household`],
    /// JSON (`serde_json::Value`) or JSON text; `period` a [`Month`] or `"YYYY-MM"`; `outputs`
    /// names household definitions (empty: all of them, in declaration order).
    pub fn evaluate<H: HouseholdInput + ?Sized>(
        &self,
        household: &H,
        period: impl Period,
        outputs: &[&str],
    ) -> Result<Outputs, Error> {
        let hh = household.household(self)?;
        let month = period.month()?;
        let ids = self.output_ids(outputs)?;
        let values = self
            .policy
            .evaluate(&hh, month, &ids)
            .map_err(|e| Error::eval(e, &self.policy))?;
        let program = &self.policy.program;
        let values = ids
            .iter()
            .zip(values)
            .map(|(&id, value)| {
                let def = &program.defs[id as usize];
                Output {
                    name: def.name.clone(),
                    label: def.label.clone(),
                    ty: program.ty_name(def.ty),
                    text: self.policy.display(def.ty, &value),
                    value,
                }
            })
            .collect();
        Ok(Outputs {
            household: hh.id.clone(),
            period: month,
            values,
        })
    }

    /// Explains how a household output was derived for one household and month (`doudi explain`).
    pub fn explain<H: HouseholdInput + ?Sized>(
        &self,
        household: &H,
        period: impl Period,
        output: &str,
    ) -> Result<Explanation, Error> {
        self.explain_in(
            household.household(self)?.as_ref(),
            period.month()?,
            output,
            None,
        )
    }

    /// Explains a person definition for one member of the household (`doudi explain --member`).
    pub fn explain_member<H: HouseholdInput + ?Sized>(
        &self,
        household: &H,
        period: impl Period,
        output: &str,
        member: &str,
    ) -> Result<Explanation, Error> {
        let hh = household.household(self)?;
        self.explain_in(hh.as_ref(), period.month()?, output, Some(member))
    }

    fn explain_in(
        &self,
        hh: &Household,
        month: Month,
        output: &str,
        member: Option<&str>,
    ) -> Result<Explanation, Error> {
        let id = self.policy.output(output)?;
        let def = &self.policy.program.defs[id as usize];
        let wrong = |message: String| Error::WrongOutput {
            name: output.to_string(),
            message,
        };
        let scope = match (def.entity, member) {
            (EntityKind::Household, None) => Scope::Household,
            (EntityKind::Person, Some(pid)) => {
                let i = hh.members.iter().position(|p| p.id == pid).ok_or_else(|| {
                    Error::UnknownMember {
                        household: hh.id.clone(),
                        member: pid.to_string(),
                        members: hh.members.iter().map(|p| p.id.clone()).collect(),
                    }
                })?;
                Scope::Person(i)
            }
            (EntityKind::Person, None) => {
                return Err(wrong(format!(
                    "`{output}` is a person definition: explain it for a member (explain_member)"
                )))
            }
            (EntityKind::Household, Some(_)) => {
                return Err(wrong(format!(
                    "`{output}` is a household definition: explain it without a member (explain)"
                )))
            }
            (EntityKind::Programme, _) => {
                return Err(wrong(format!(
                    "`{output}` is a programme total, not a value of one household"
                )))
            }
        };
        let mut ev = HouseholdEval::new(&self.policy, hh, month);
        let tree =
            explain::explain(&mut ev, id, scope).map_err(|e| Error::eval(e, &self.policy))?;
        Ok(Explanation {
            household: hh.id.clone(),
            member: member.map(str::to_string),
            period: month,
            output: output.to_string(),
            tree,
        })
    }

    fn output_ids(&self, names: &[&str]) -> Result<Vec<DefId>, Error> {
        let program = &self.policy.program;
        if names.is_empty() {
            return Ok((0..program.defs.len() as DefId)
                .filter(|&i| program.defs[i as usize].entity == EntityKind::Household)
                .collect());
        }
        names
            .iter()
            .map(|&n| {
                let id = self.policy.output(n)?;
                let entity = program.defs[id as usize].entity;
                if entity != EntityKind::Household {
                    return Err(Error::WrongOutput {
                        name: n.to_string(),
                        message: format!(
                            "`{n}` is a {} definition, not a household output (explain_member explains a person definition)",
                            entity.as_str()
                        ),
                    });
                }
                Ok(id)
            })
            .collect()
    }
}

/// What [`Engine::evaluate`] and [`Engine::explain`] take as a household: a [`Household`] read
/// before, JSON (`serde_json::Value`), or JSON text (`str`; exactly one household).
pub trait HouseholdInput {
    /// The household, read against the engine's policy when it is not read yet.
    fn household<'a>(&'a self, engine: &Engine) -> Result<Cow<'a, Household>, Error>;
}

impl HouseholdInput for Household {
    fn household<'a>(&'a self, _: &Engine) -> Result<Cow<'a, Household>, Error> {
        Ok(Cow::Borrowed(self))
    }
}

impl HouseholdInput for serde_json::Value {
    fn household<'a>(&'a self, engine: &Engine) -> Result<Cow<'a, Household>, Error> {
        engine.household(self).map(Cow::Owned)
    }
}

impl HouseholdInput for str {
    fn household<'a>(&'a self, engine: &Engine) -> Result<Cow<'a, Household>, Error> {
        let mut hs = data::read_json_str(&engine.policy.schema, self, "household")?;
        match hs.len() {
            1 => Ok(Cow::Owned(hs.remove(0))),
            n => Err(Error::Data {
                file: "household".into(),
                row: None,
                field: None,
                expected: None,
                message: format!("expected one household, found {n}"),
            }),
        }
    }
}

/// A month to evaluate: a [`Month`], or its text `YYYY-MM`.
pub trait Period {
    fn month(self) -> Result<Month, Error>;
}

impl Period for Month {
    fn month(self) -> Result<Month, Error> {
        Ok(self)
    }
}

impl Period for &str {
    fn month(self) -> Result<Month, Error> {
        Month::parse(self).map_err(|message| Error::Period {
            text: self.to_string(),
            message,
        })
    }
}

impl Period for &String {
    fn month(self) -> Result<Month, Error> {
        self.as_str().month()
    }
}

// An engine is shared between threads like the policy it wraps.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};
