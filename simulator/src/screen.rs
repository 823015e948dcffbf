//! The policy's answers for the generator's `on_dibao` draw, evaluated by the interpreter.
//!
//! The generator draws who is on the roll when the population starts from how far a household is
//! below the standard and whether it passes the asset and credit tests. Those are the policy's
//! own definitions (`per_capita_income`, `standard`, `assets_ok`, `credit_ok`), evaluated here with
//! the compiled path on the generated households in the month the population starts, so the
//! simulator never writes the income test a second time.

use crate::population::{DibaoScreen, DirectReader, GeneratedHousehold, Generator, Screened};
use doudi_interpreter::fast::CompiledPolicy;
use doudi_interpreter::{Month, Policy, Value};
use rust_decimal::prelude::ToPrimitive;

/// The definitions the `on_dibao` draw asks for, in this order.
pub const SCREEN_DEFINITIONS: [&str; 4] =
    ["per_capita_income", "standard", "assets_ok", "credit_ok"];

/// A [`DibaoScreen`] that asks a policy, in one month.
pub struct PolicyScreen<'p> {
    policy: &'p Policy,
    compiled: CompiledPolicy<'p>,
    month: Month,
}

impl std::fmt::Debug for PolicyScreen<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PolicyScreen({})", self.month)
    }
}

impl<'p> PolicyScreen<'p> {
    /// Fails when the policy lacks one of [`SCREEN_DEFINITIONS`] or they do not compile.
    pub fn new(policy: &'p Policy, month: Month) -> Result<PolicyScreen<'p>, String> {
        let ids = SCREEN_DEFINITIONS
            .iter()
            .map(|n| {
                policy.output(n).map_err(|e| {
                    format!("the population's on_dibao draw asks the policy for `{n}`: {e}")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let compiled = CompiledPolicy::new(policy, &ids).map_err(|e| e.to_string())?;
        Ok(PolicyScreen {
            policy,
            compiled,
            month,
        })
    }
}

/// Per-capita income over the standard, and both tests, from the four values.
fn screened(values: &[Value]) -> Screened {
    match values {
        [Value::Num(income), Value::Num(standard), Value::Bool(assets), Value::Bool(credit)] => {
            match income
                .checked_div(standard)
                .ok()
                .and_then(|r| r.to_decimal_lossy().to_f64())
            {
                Some(ratio) => Screened {
                    ratio,
                    tests_ok: *assets && *credit,
                },
                None => Screened::UNKNOWN,
            }
        }
        _ => Screened::UNKNOWN,
    }
}

impl DibaoScreen for PolicyScreen<'_> {
    fn screen(&self, g: &Generator<'_>, hs: &[GeneratedHousehold]) -> Vec<Screened> {
        let n = hs.len();
        // The generated households follow the data contract; a policy whose schema does not read
        // them is reported when the simulator reads the same households (so here it only draws
        // nobody).
        let hs = match DirectReader::new(&self.policy.schema, g).read(g, hs) {
            Ok(hs) if hs.len() == n => hs,
            _ => return vec![Screened::UNKNOWN; n],
        };
        let mut session = self.compiled.session(self.month);
        let mut out = Vec::new();
        let mut screened_all = Vec::with_capacity(n);
        for h in &hs {
            // `evaluate_into` appends.
            out.clear();
            screened_all.push(match session.evaluate_into(h, &mut out) {
                Ok(()) => screened(&out),
                Err(_) => Screened::UNKNOWN,
            });
        }
        screened_all
    }
}
