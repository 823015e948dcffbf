//! `{ scale = "1.1" }` in a scenario's parameters multiplies a parameter's value at every date,
//! exactly, as `{ add = "50" }` adds to it: a "+10 % standard" needs no layer re-typing each value.

use doudi_dsl::ir::Const;
use doudi_interpreter::Policy;
use doudi_simulator::scenario::Scenario;
use doudi_simulator::setup::{add_to_param, scale_param};
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn jian() -> Policy {
    Policy::load(&root().join("policies/jian")).unwrap().policy
}

/// The values of `name` at every date, for the key `key` (an index of its enum).
fn values(p: &Policy, name: &str, key: usize) -> Vec<Const> {
    let id = p.program.param_by_name(name).unwrap() as usize;
    p.program.params[id]
        .versions
        .iter()
        .map(|v| v.values[key].clone())
        .collect()
}

fn dec(s: &str) -> Const {
    Const::Dec(s.parse::<Decimal>().unwrap())
}

#[test]
fn scaling_multiplies_every_dated_value_exactly() {
    let mut p = jian();
    let urban = p.program.enums[p.program.params
        [p.program.param_by_name("dibao_standard").unwrap() as usize]
        .by
        .unwrap() as usize]
        .variants
        .iter()
        .position(|v| v == "urban")
        .unwrap();
    let before = values(&p, "dibao_standard", urban);
    scale_param(&mut p, "dibao_standard.urban", "1.1").unwrap();
    let after = values(&p, "dibao_standard", urban);
    assert_eq!(before.len(), after.len());
    assert!(before.len() >= 3, "the standard has several dated values");
    for (b, a) in before.iter().zip(&after) {
        let (Const::Dec(b), Const::Dec(a)) = (b, a) else {
            panic!("money values")
        };
        assert_eq!(*a, *b * Decimal::new(11, 1), "{b} × 1.1");
    }
    // 734 × 1.1 is 807.4, kept exactly (not rounded).
    assert!(after.contains(&dec("807.4")), "{after:?}");
    // Scaling by 1 and adding 0 change nothing.
    let mut q = jian();
    scale_param(&mut q, "dibao_standard.urban", "1").unwrap();
    add_to_param(&mut q, "dibao_standard.urban", "0").unwrap();
    assert_eq!(
        values(&q, "dibao_standard", urban),
        values(&jian(), "dibao_standard", urban)
    );
}

#[test]
fn scaling_an_integer_must_give_a_whole_number() {
    let mut p = jian();
    let e = scale_param(&mut p, "grace_months", "1.1").unwrap_err();
    assert!(e.contains("not a whole number"), "{e}");
    scale_param(&mut p, "grace_months", "0.5").unwrap();
    assert_eq!(values(&p, "grace_months", 0)[0], Const::Int(3));
}

#[test]
fn a_scenario_takes_scale_and_rejects_a_bad_factor() {
    let text = |factor: &str| {
        format!(
            "[scenario]\nname = \"t\"\npolicy = \"../policies/jian\"\nstart = \"2024-01\"\nmonths = 1\n\
             [population]\ndata = \"../policies/jian/examples/population\"\n\
             [reform]\nname = \"+10%\"\nparameters = {{ \"dibao_standard.urban\" = {{ scale = {factor} }} }}\n"
        )
    };
    let ok = Scenario::from_toml_str(&text("\"1.1\""), "t.toml", &root().join("scenarios"));
    assert!(ok.is_ok(), "{:?}", ok.err());
    for bad in ["\"ten\"", "\"-1\""] {
        let e = Scenario::from_toml_str(&text(bad), "t.toml", &root().join("scenarios"))
            .err()
            .unwrap_or_else(|| panic!("{bad} accepted"));
        let e = e.to_string();
        assert!(
            e.contains("reform.parameters") && e.contains(".scale"),
            "{bad}: {e}"
        );
    }
}
