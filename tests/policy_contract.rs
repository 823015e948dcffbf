//! The shipped policies honour their contract: every public name of POLICY-SPEC.md exists with the
//! right entity, every definition and parameter is cited (a source or an assumption), and every
//! computable rule of DOMAIN.md that POLICY-SPEC.md covers is cited to its seed section.

use doudi::dsl::ast::EntityKind;
use doudi::dsl::ir::Citation;
use doudi::Policy;
use std::path::Path;

fn load(p: &str) -> Policy {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Policy::load(&root.join(p))
        .unwrap_or_else(|e| panic!("{p} does not load:\n{}", e.render()))
        .policy
}

const PERSON: &[&str] = &[
    "counted",
    "medical_deduction",
    "rehab_deduction",
    "tuition_deduction",
    "pension_deduction",
    "employment_cost",
    "care_allowance_eligible",
    "centralised_care_eligible",
];
const HOUSEHOLD: &[&str] = &[
    "member_count",
    "gross_income",
    "rigid_deductions",
    "per_capita_income",
    "assets_ok",
    "credit_ok",
    "dibao_eligible",
    "dibao_payment",
    "expenditure_poor",
    "care_allowance",
    "centralised_care_cost",
    "priority_group",
    "cash_benefit",
    "total_benefit",
];
const PROGRAMME: &[&str] = &["services_from_fund", "services_from_local_finance"];
const PARAMS: &[&str] = &[
    "dibao_standard",
    "rehab_cap",
    "employment_cost_rate",
    "asset_months",
    "max_vehicles",
    "max_houses",
    "care_allowance_amount",
    "centralised_care_standard",
    "centralised_care_adopted",
    "elderly_age",
    "grace_income_multiple",
    "grace_months",
    "near_poor_multiple",
    "expenditure_share",
    "services_cap_share",
    "special_fund",
    "services_demand",
    "urban_relief_fund",
];

#[test]
fn jian_has_every_public_name_of_the_spec() {
    let p = load("policies/jian");
    for (names, e) in [
        (PERSON, EntityKind::Person),
        (HOUSEHOLD, EntityKind::Household),
        (PROGRAMME, EntityKind::Programme),
    ] {
        for n in names {
            assert!(
                p.program.def_by_name(e, n).is_some(),
                "missing {} definition `{n}`",
                e.as_str()
            );
        }
    }
    for n in PARAMS {
        assert!(
            p.program.param_by_name(n).is_some(),
            "missing parameter `{n}`"
        );
    }
}

#[test]
fn every_definition_and_parameter_is_cited() {
    for path in [
        "policies/jiangxi",
        "policies/jian",
        "policies/jian-yongfeng",
        "policies/jian-credit-tiers",
    ] {
        let p = load(path);
        for d in &p.program.defs {
            assert!(
                !d.citations.is_empty(),
                "{path}: definition `{}` has no source",
                d.name
            );
        }
        for prm in &p.program.params {
            let cited =
                !prm.citations.is_empty() || prm.versions.iter().all(|v| !v.citations.is_empty());
            assert!(
                cited,
                "{path}: parameter `{}` has no source or assumption",
                prm.name
            );
        }
    }
}

#[test]
fn computable_rules_are_cited_to_their_sections() {
    let p = load("policies/jian-yongfeng");
    let mut cites: Vec<String> = Vec::new();
    for d in &p.program.defs {
        cites.extend(
            d.citations
                .iter()
                .chain(d.exceptions.iter().flat_map(|x| x.citations.iter()))
                .filter_map(|c| match c {
                    Citation::Source { citation, .. } => Some(citation.clone()),
                    _ => None,
                }),
        );
    }
    let required = [
        ("001_1568085680c583bb.txt", "5(1)"),    // medical costs
        ("001_1568085680c583bb.txt", "5(2)"),    // rehabilitation, capped
        ("001_1568085680c583bb.txt", "5(3)"),    // tuition
        ("001_1568085680c583bb.txt", "5(4)"),    // pension contributions
        ("001_1568085680c583bb.txt", "5(5)"),    // employment cost, grace period
        ("001_1568085680c583bb.txt", "5(6)"),    // deductions add up
        ("001_1568085680c583bb.txt", "5(7)"),    // county deductions
        ("001_1568085680c583bb.txt", "二(一)1"), // the dibao test, priority groups
        ("001_1568085680c583bb.txt", "二(一)3"), // care allowance
        ("001_1568085680c583bb.txt", "二(三)9"), // 2% cap
        ("001_1568085680c583bb.txt", "五(二)"),  // honesty management: no stop of benefits
        ("004_6eb7e3b378c7e6ea.txt", ""),        // the roll: dead, imprisoned, assets
    ];
    for (file, section) in required {
        assert!(
            cites
                .iter()
                .any(|c| c.starts_with(file) && c.contains(section)),
            "no definition cites {file} {section}"
        );
    }
}

fn source_citations(cs: &[Citation]) -> Vec<String> {
    cs.iter()
        .filter_map(|c| match c {
            Citation::Source { citation, .. } => Some(citation.clone()),
            _ => None,
        })
        .collect()
}

fn has_assumption(cs: &[Citation]) -> bool {
    cs.iter().any(|c| matches!(c, Citation::Assumption { .. }))
}

/// Qinghe's credit tiers (seed 000) are not Jiangxi's or Ji'an's: only the illustrative layer cites
/// them, and there they stop every programme.
#[test]
fn credit_tiers_live_in_their_own_layer() {
    for path in [
        "policies/jiangxi",
        "policies/jian",
        "policies/jian-yongfeng",
    ] {
        let p = load(path);
        for d in &p.program.defs {
            let cites = source_citations(&d.citations).into_iter().chain(
                d.exceptions
                    .iter()
                    .flat_map(|x| source_citations(&x.citations)),
            );
            for c in cites {
                assert!(
                    !c.starts_with("000_b0ca5a3eb33bb766.txt"),
                    "{path}: `{}` cites seed 000 ({c})",
                    d.name
                );
            }
        }
    }
    let p = load("policies/jian-credit-tiers");
    for (entity, name) in [
        (EntityKind::Household, "credit_ok"),
        (EntityKind::Household, "dibao_eligible"),
        (EntityKind::Household, "expenditure_poor"),
        (EntityKind::Person, "care_allowance_eligible"),
        (EntityKind::Person, "centralised_care_eligible"),
    ] {
        let d = &p.program.defs[p.program.def_by_name(entity, name).unwrap() as usize];
        assert!(
            d.exceptions.iter().any(|x| source_citations(&x.citations)
                .iter()
                .any(|c| c.starts_with("000_b0ca5a3eb33bb766.txt"))),
            "jian-credit-tiers: `{name}` has no exception citing seed 000"
        );
    }
}

/// 5(7) lets a county define *other* deductions; it does not authorise changing the 5(2) cap, so the
/// county layer's raised cap must not cite it (and is marked as an assumption).
#[test]
fn yongfeng_rehab_cap_does_not_claim_5_7() {
    let p = load("policies/jian-yongfeng");
    let prm = &p.program.params[p.program.param_by_name("rehab_cap").unwrap() as usize];
    assert!(prm.overridden_at.is_some());
    let all: Vec<&Citation> = prm
        .citations
        .iter()
        .chain(prm.versions.iter().flat_map(|v| v.citations.iter()))
        .collect();
    for c in &all {
        if let Citation::Source { citation, .. } = c {
            assert!(!citation.contains("5(7)"), "rehab_cap cites {citation}");
        }
    }
    assert!(
        has_assumption(&prm.citations),
        "the raised cap is an assumption"
    );
}

/// Centralised care is a local option: Qingyuan (the pilot) has adopted it, the other regions are
/// false as an assumption.
#[test]
fn centralised_care_is_adopted_in_qingyuan_only() {
    use doudi::dsl::ir::Const;
    let p = load("policies/jian");
    let prm =
        &p.program.params[p.program.param_by_name("centralised_care_adopted").unwrap() as usize];
    let by = prm.by.expect("by region");
    let regions = &p.program.enums[by as usize].variants;
    assert_eq!(p.program.enums[by as usize].name, "region");
    assert_eq!(prm.versions.len(), 1);
    for (r, v) in regions.iter().zip(&prm.versions[0].values) {
        assert_eq!(v, &Const::Bool(r == "qingyuan"), "{r}");
    }
    let sources = source_citations(&prm.citations);
    assert!(sources.iter().any(|c| c.contains("五(三)")));
    assert!(has_assumption(&prm.citations));
}

/// The reform's parameters take effect on the plan's effective date, and the dibao standard covers
/// every month from then on.
#[test]
fn the_reform_takes_effect_on_the_plans_date() {
    use doudi::dsl::ast::Date;
    let effective = Date {
        year: 2020,
        month: 5,
        day: 9,
    };
    let p = load("policies/jian");
    for name in [
        "care_allowance_amount",
        "employment_cost_rate",
        "rehab_cap",
        "grace_income_multiple",
        "services_cap_share",
        "dibao_standard",
    ] {
        let prm = &p.program.params[p.program.param_by_name(name).unwrap() as usize];
        assert_eq!(
            prm.versions[0].from,
            Some(effective),
            "`{name}` takes effect on 2020-05-09"
        );
        // In force (no gap) on the first day of every month from June 2020 to December 2026.
        for y in 2020..=2026 {
            for m in 1..=12u8 {
                if (y, m) < (2020, 6) {
                    continue;
                }
                let d = Date {
                    year: y,
                    month: m,
                    day: 1,
                };
                assert!(
                    prm.version_at(d).is_some(),
                    "`{name}` has no value on {y}-{m:02}-01"
                );
            }
        }
        let before = Date {
            year: 2020,
            month: 5,
            day: 1,
        };
        assert!(
            prm.version_at(before).is_none(),
            "`{name}` is not in force before the plan"
        );
    }
}

/// Every `quote` of a shipped policy that cites a seed (`NNN_hash.txt ...`) is copied verbatim from
/// that seed (blanks aside), in the seed's own characters. The seeds are `../shared/seeds` beside the
/// clone, as CI places them.
#[test]
fn quotes_are_verbatim_from_the_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = root.join("../shared/seeds");
    assert!(
        seeds.is_dir(),
        "the seeds are expected at {} (../shared beside the clone, as in CI)",
        seeds.display()
    );
    let squeeze = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
    let mut checked = std::collections::HashSet::new();
    let mut wrong = Vec::new();
    for p in ["policies/jian-credit-tiers", "policies/jian-yongfeng"] {
        let policy = load(p);
        let prog = &policy.program;
        let mut citations: Vec<(&str, &Citation)> = Vec::new();
        for d in &prog.defs {
            citations.extend(d.citations.iter().map(|c| (d.name.as_str(), c)));
            for x in &d.exceptions {
                citations.extend(x.citations.iter().map(|c| (d.name.as_str(), c)));
            }
        }
        for par in &prog.params {
            citations.extend(par.citations.iter().map(|c| (par.name.as_str(), c)));
            for v in &par.versions {
                citations.extend(v.citations.iter().map(|c| (par.name.as_str(), c)));
            }
        }
        for (name, c) in citations {
            let Citation::Source {
                citation,
                quote: Some(quote),
            } = c
            else {
                continue;
            };
            let file = citation.split_whitespace().next().unwrap_or("");
            let is_seed = file.ends_with(".txt") && file.as_bytes().get(3) == Some(&b'_');
            if !is_seed {
                continue;
            }
            let text = std::fs::read_to_string(seeds.join(file))
                .unwrap_or_else(|e| panic!("`{name}` cites {file}, which cannot be read: {e}"));
            if !checked.insert((file.to_string(), quote.clone())) {
                continue;
            }
            if !squeeze(&text).contains(&squeeze(quote)) {
                wrong.push(format!("{p}: `{name}` quotes {file}: «{quote}»"));
            }
        }
    }
    assert!(
        checked.len() >= 59,
        "only {} distinct seed quotes were found",
        checked.len()
    );
    assert!(
        wrong.is_empty(),
        "quotes not found verbatim in their seed:\n{}",
        wrong.join("\n")
    );
}
