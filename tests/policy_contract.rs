//! The shipped policies honour their contract: every public name of POLICY-SPEC.md exists with the
//! right entity, every definition and parameter is cited (a source or an assumption), and every
//! computable rule of DOMAIN.md that POLICY-SPEC.md covers is cited to its seed section.

use doudi::dsl::ast::EntityKind;
use doudi::dsl::ir::Citation;
use doudi::Policy;
use std::path::Path;

fn load(p: &str) -> Policy {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Policy::load(&root.join(p)).unwrap_or_else(|e| panic!("{p} does not load:\n{}", e.render())).policy
}

const PERSON: &[&str] = &[
    "counted", "medical_deduction", "rehab_deduction", "tuition_deduction", "pension_deduction", "employment_cost",
    "care_allowance_eligible", "centralised_care_eligible",
];
const HOUSEHOLD: &[&str] = &[
    "member_count", "gross_income", "rigid_deductions", "per_capita_income", "assets_ok", "credit_ok", "dibao_eligible",
    "dibao_payment", "expenditure_poor", "care_allowance", "centralised_care_cost", "priority_group", "total_benefit",
];
const PROGRAMME: &[&str] = &["services_from_fund", "services_from_local_finance"];
const PARAMS: &[&str] = &[
    "dibao_standard", "rehab_cap", "employment_cost_rate", "asset_months", "max_vehicles", "max_houses",
    "care_allowance_amount", "centralised_care_standard", "elderly_age", "grace_income_multiple", "grace_months",
    "near_poor_multiple", "expenditure_share", "services_cap_share", "special_fund", "services_demand", "urban_relief_fund",
];

#[test]
fn jian_has_every_public_name_of_the_spec() {
    let p = load("policies/jian");
    for (names, e) in [(PERSON, EntityKind::Person), (HOUSEHOLD, EntityKind::Household), (PROGRAMME, EntityKind::Programme)] {
        for n in names {
            assert!(p.program.def_by_name(e, n).is_some(), "missing {} definition `{n}`", e.as_str());
        }
    }
    for n in PARAMS {
        assert!(p.program.param_by_name(n).is_some(), "missing parameter `{n}`");
    }
}

#[test]
fn every_definition_and_parameter_is_cited() {
    for path in ["policies/jiangxi", "policies/jian", "policies/jian-yongfeng"] {
        let p = load(path);
        for d in &p.program.defs {
            assert!(!d.citations.is_empty(), "{path}: definition `{}` has no source", d.name);
        }
        for prm in &p.program.params {
            let cited = !prm.citations.is_empty() || prm.versions.iter().all(|v| !v.citations.is_empty());
            assert!(cited, "{path}: parameter `{}` has no source or assumption", prm.name);
        }
    }
}

#[test]
fn computable_rules_are_cited_to_their_sections() {
    let p = load("policies/jian-yongfeng");
    let mut cites: Vec<String> = Vec::new();
    for d in &p.program.defs {
        cites.extend(d.citations.iter().chain(d.exceptions.iter().flat_map(|x| x.citations.iter())).filter_map(|c| match c {
            Citation::Source { citation, .. } => Some(citation.clone()),
            _ => None,
        }));
    }
    let required = [
        ("001_1568085680c583bb.txt", "5(1)"), // medical costs
        ("001_1568085680c583bb.txt", "5(2)"), // rehabilitation, capped
        ("001_1568085680c583bb.txt", "5(3)"), // tuition
        ("001_1568085680c583bb.txt", "5(4)"), // pension contributions
        ("001_1568085680c583bb.txt", "5(5)"), // employment cost, grace period
        ("001_1568085680c583bb.txt", "5(6)"), // deductions add up
        ("001_1568085680c583bb.txt", "5(7)"), // county deductions
        ("001_1568085680c583bb.txt", "二(一)1"), // the dibao test, priority groups
        ("001_1568085680c583bb.txt", "二(一)3"), // care allowance
        ("001_1568085680c583bb.txt", "二(三)9"), // 2% cap
        ("000_b0ca5a3eb33bb766.txt", ""),     // credit tiers
        ("004_6eb7e3b378c7e6ea.txt", ""),     // the roll: dead, imprisoned, assets
    ];
    for (file, section) in required {
        assert!(
            cites.iter().any(|c| c.starts_with(file) && c.contains(section)),
            "no definition cites {file} {section}"
        );
    }
}
