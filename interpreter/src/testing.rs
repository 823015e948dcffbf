//! Policy tests: TOML files of cases beside a policy (`tests/*.toml`), each a household (or a small
//! population), a month, optional parameter overrides and expected values compared exactly.

use crate::data::{read_json_household, Household};
use crate::eval::{HouseholdEval, Month, Scope};
use crate::explain::{explain, render_text};
use crate::explain_short::differing_path;
use crate::num::Num;
use crate::policy::Policy;
use crate::programme::Totals;
use crate::value::Value;
use doudi_dsl::ast::EntityKind;
use doudi_dsl::ir::{DefId, Ty};
use serde_json::{Map, Value as Json};
use std::path::{Path, PathBuf};

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    /// Empty when the case passed.
    pub failures: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub cases: Vec<CaseResult>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.failures.is_empty()).count()
    }
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
}

/// The test files of a policy directory, sorted.
pub fn test_files(policy_dir: &Path) -> Vec<PathBuf> {
    let dir = policy_dir.join("tests");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn merge(base: Option<&Json>, over: &Json) -> Json {
    match (base, over) {
        (Some(Json::Object(b)), Json::Object(o)) => {
            let mut m: Map<String, Json> = b.clone();
            for (k, v) in o {
                m.insert(k.clone(), v.clone());
            }
            Json::Object(m)
        }
        _ => over.clone(),
    }
}

/// Builds one household from a case's TOML (as JSON) with the file's defaults.
fn household_json(h: &Json, defaults: &Json) -> Json {
    let mut hh = merge(defaults.get("household"), h);
    let pdef = defaults.get("person");
    if let Some(Json::Array(ms)) = hh.get("members").cloned() {
        let ms: Vec<Json> = ms.iter().map(|m| merge(pdef, m)).collect();
        if let Json::Object(o) = &mut hh {
            o.insert("members".into(), Json::Array(ms));
        }
    }
    hh
}

/// Runs every case of one test file against `policy`. A differing value is reported with the path
/// through its derivation that led to it (see [`run_file_verbose`] for the whole derivation too).
pub fn run_file(policy: &Policy, path: &Path) -> Vec<CaseResult> {
    run_file_with(policy, path, false)
}

/// As [`run_file`], and a differing value's report ends with its whole derivation.
pub fn run_file_verbose(policy: &Policy, path: &Path) -> Vec<CaseResult> {
    run_file_with(policy, path, true)
}

fn run_file_with(policy: &Policy, path: &Path, verbose: bool) -> Vec<CaseResult> {
    let shown = path.display().to_string();
    let fail = |name: &str, msg: String| CaseResult {
        file: shown.clone(),
        name: name.to_string(),
        failures: vec![msg],
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![fail("(file)", format!("cannot read {shown}: {e}"))],
    };
    let doc: toml::Table = match text.parse() {
        Ok(d) => d,
        Err(e) => return vec![fail("(file)", format!("{shown}: not valid TOML: {e}"))],
    };
    let doc = match serde_json::to_value(&doc) {
        Ok(j) => j,
        Err(e) => return vec![fail("(file)", format!("{shown}: {e}"))],
    };
    for k in doc
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if k != "defaults" && k != "case" {
            return vec![fail(
                "(file)",
                format!("{shown}: unknown key `{k}` (a test file has `[defaults]` and `[[case]]`)"),
            )];
        }
    }
    let defaults = doc.get("defaults").cloned().unwrap_or(Json::Null);
    let Some(Json::Array(cases)) = doc.get("case") else {
        return vec![fail("(file)", format!("{shown}: no `[[case]]`"))];
    };
    cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = c
                .get("name")
                .and_then(Json::as_str)
                .map(String::from)
                .unwrap_or_else(|| format!("case {}", i + 1));
            let origin = format!("{shown}, case «{name}»");
            let failures = match run_case(policy, c, &defaults, &origin, verbose) {
                Ok(f) => f,
                Err(e) => vec![e],
            };
            CaseResult {
                file: shown.clone(),
                name,
                failures,
            }
        })
        .collect()
}

fn run_case(
    base: &Policy,
    c: &Json,
    defaults: &Json,
    origin: &str,
    verbose: bool,
) -> Result<Vec<String>, String> {
    let obj = c
        .as_object()
        .ok_or_else(|| format!("{origin}: a case is a table"))?;
    for k in obj.keys() {
        if ![
            "name",
            "period",
            "set",
            "household",
            "households",
            "expect",
            "note",
            "months",
        ]
        .contains(&k.as_str())
        {
            return Err(format!("{origin}: unknown key `{k}` (a case has name, period, set, household or households, expect, or months)"));
        }
    }
    if obj.contains_key("months") {
        let policy = with_overrides(base, obj, origin)?;
        return run_months(
            policy.as_ref().unwrap_or(base),
            obj,
            defaults,
            origin,
            verbose,
        );
    }
    let period = obj
        .get("period")
        .and_then(Json::as_str)
        .ok_or_else(|| format!("{origin}: missing `period = \"YYYY-MM\"`"))?;
    let month = Month::parse(period).map_err(|e| format!("{origin}: {e}"))?;
    // Parameter overrides make a private copy of the policy.
    let owned = with_overrides(base, obj, origin)?;
    let policy = owned.as_ref().unwrap_or(base);
    let households: Vec<Household> = match (obj.get("household"), obj.get("households")) {
        (Some(h), None) => {
            vec![
                read_json_household(&policy.schema, &household_json(h, defaults), origin)
                    .map_err(|e| e.to_string())?,
            ]
        }
        (None, Some(Json::Array(hs))) => hs
            .iter()
            .map(|h| {
                read_json_household(&policy.schema, &household_json(h, defaults), origin)
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(format!(
                "{origin}: give either `[case.household]` or `[[case.households]]`"
            ))
        }
    };
    let expect = obj
        .get("expect")
        .and_then(Json::as_object)
        .ok_or_else(|| format!("{origin}: missing `[case.expect]`"))?;
    let mut failures = Vec::new();
    let mut out = Sink {
        failures: &mut failures,
        verbose,
    };
    check_expect(policy, &households, month, expect, origin, &mut out)?;
    Ok(failures)
}

/// A private copy of the policy with the case's `set` overrides, if it has any.
fn with_overrides(
    base: &Policy,
    obj: &Map<String, Json>,
    origin: &str,
) -> Result<Option<Policy>, String> {
    match obj.get("set") {
        Some(Json::Object(set)) => {
            let mut p = Policy::new(base.program.clone())
                .map_err(|_| format!("{origin}: the policy's scripts do not compile"))?;
            for (k, v) in set {
                let s = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                p.set_param(k, &s)
                    .map_err(|e| format!("{origin}: set: {e}"))?;
            }
            Ok(Some(p))
        }
        Some(_) => Err(format!(
            "{origin}: `set` is a table such as {{ rehab_cap = \"3000\" }}"
        )),
        None => Ok(None),
    }
}

/// A case over several months (`[[case.months]]`): one household carried from month to month.
/// Each month may change the household's data (`[case.months.household]`, merged over the case's
/// household) and states its own expectations; the policy's states carry over from the month
/// before, starting from `initially` (or from the household's `previous`, when given).
fn run_months(
    policy: &Policy,
    obj: &Map<String, Json>,
    defaults: &Json,
    origin: &str,
    verbose: bool,
) -> Result<Vec<String>, String> {
    for k in ["period", "expect", "households"] {
        if obj.contains_key(k) {
            return Err(format!(
                "{origin}: a case with `[[case.months]]` gives `period` and `expect` in each month, and one `[case.household]`"
            ));
        }
    }
    let base = obj
        .get("household")
        .ok_or_else(|| format!("{origin}: missing `[case.household]`"))?;
    let Some(Json::Array(steps)) = obj.get("months") else {
        return Err(format!(
            "{origin}: `months` is an array of tables: `[[case.months]]`"
        ));
    };
    let mut failures = Vec::new();
    let mut previous: Option<Vec<Value>> = None;
    let mut last: Option<Month> = None;
    for (k, step) in steps.iter().enumerate() {
        let so = format!("{origin}, month #{}", k + 1);
        let sobj = step
            .as_object()
            .ok_or_else(|| format!("{so}: a month is a table"))?;
        for key in sobj.keys() {
            if !["period", "household", "expect", "note"].contains(&key.as_str()) {
                return Err(format!(
                    "{so}: unknown key `{key}` (a month has period, household, expect)"
                ));
            }
        }
        let period = sobj
            .get("period")
            .and_then(Json::as_str)
            .ok_or_else(|| format!("{so}: missing `period = \"YYYY-MM\"`"))?;
        let month = Month::parse(period).map_err(|e| format!("{so}: {e}"))?;
        if let Some(l) = last {
            if month != l.plus(1) {
                return Err(format!(
                    "{so}: months follow each other; expected {}, found {month}",
                    l.plus(1)
                ));
            }
        }
        last = Some(month);
        let hjson = match sobj.get("household") {
            Some(h) => merge(Some(base), h),
            None => base.clone(),
        };
        let mut hh = read_json_household(&policy.schema, &household_json(&hjson, defaults), &so)
            .map_err(|e| e.to_string())?;
        if k > 0 || hh.previous.is_none() {
            hh.previous = previous.take();
        }
        if let Some(expect) = sobj.get("expect") {
            let expect = expect
                .as_object()
                .ok_or_else(|| format!("{so}: `expect` is a table"))?;
            let mut here = Vec::new();
            check_expect(
                policy,
                std::slice::from_ref(&hh),
                month,
                expect,
                &so,
                &mut Sink {
                    failures: &mut here,
                    verbose,
                },
            )?;
            failures.extend(here.into_iter().map(|f| format!("{month}: {f}")));
        }
        previous = Some(
            policy
                .states_after(&hh, month)
                .map_err(|e| format!("{so}: {}", e.render(policy.sources())))?,
        );
    }
    Ok(failures)
}

/// Where differing values are reported, and how fully.
struct Sink<'f> {
    failures: &'f mut Vec<String>,
    /// Also print each differing value's whole derivation.
    verbose: bool,
}

/// Compares a case's `expect` table with the values computed for `households` in `month`.
fn check_expect(
    policy: &Policy,
    households: &[Household],
    month: Month,
    expect: &Map<String, Json>,
    origin: &str,
    failures: &mut Sink<'_>,
) -> Result<(), String> {
    let single = households.len() == 1;
    for (k, v) in expect {
        match k.as_str() {
            "members" => {
                let Some(first) = households.first() else {
                    continue;
                };
                let ms = v
                    .as_object()
                    .ok_or_else(|| format!("{origin}: `expect.members` is a table by member id"))?;
                for (pid, outs) in ms {
                    let Some(idx) = first.members.iter().position(|m| m.id == *pid) else {
                        return Err(format!(
                            "{origin}: expect.members: no member `{pid}` in the household"
                        ));
                    };
                    let outs = outs
                        .as_object()
                        .ok_or_else(|| format!("{origin}: expect.members.{pid} is a table"))?;
                    for (name, want) in outs {
                        let id = def_of(policy, name, EntityKind::Person, origin)?;
                        let mut ev = HouseholdEval::new(policy, first, month);
                        check_value(
                            policy,
                            &mut ev,
                            id,
                            Scope::Person(idx),
                            want,
                            &format!("{name} of member {pid}"),
                            failures,
                            origin,
                        )?;
                    }
                }
            }
            "programme" => {
                let outs = v
                    .as_object()
                    .ok_or_else(|| format!("{origin}: `expect.programme` is a table"))?;
                let mut t = Totals::new(policy, month);
                for h in households {
                    t.add_household(h).map_err(|e| e.render(policy.sources()))?;
                }
                let values = t.finish().map_err(|e| e.render(policy.sources()))?;
                for (name, want) in outs {
                    let id = def_of(policy, name, EntityKind::Programme, origin)?;
                    let got = values
                        .iter()
                        .find(|(d, _)| *d == id)
                        .map(|(_, v)| v.clone())
                        .unwrap_or(Value::Bool(false));
                    let ty = policy.program.defs[id as usize].ty;
                    let wantv = expected_value(policy, ty, want)
                        .map_err(|e| format!("{origin}: expect.programme.{name}: {e}"))?;
                    if wantv != got {
                        failures.failures.push(format!(
                            "{name}: expected {}, found {}",
                            policy.display_exact(ty, &wantv),
                            policy.display_exact(ty, &got)
                        ));
                    }
                }
            }
            name => {
                if !single {
                    return Err(format!(
                        "{origin}: household expectations need a single `[case.household]`"
                    ));
                }
                let id = def_of(policy, name, EntityKind::Household, origin)?;
                let mut ev = HouseholdEval::new(policy, &households[0], month);
                check_value(
                    policy,
                    &mut ev,
                    id,
                    Scope::Household,
                    v,
                    name,
                    failures,
                    origin,
                )?;
            }
        }
    }
    Ok(())
}

fn def_of(policy: &Policy, name: &str, entity: EntityKind, origin: &str) -> Result<DefId, String> {
    policy.program.def_by_name(entity, name).ok_or_else(|| {
        format!(
            "{origin}: `{name}` is not a {} definition of this policy",
            entity.as_str()
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn check_value(
    policy: &Policy,
    ev: &mut HouseholdEval<'_>,
    id: DefId,
    scope: Scope,
    want: &Json,
    what: &str,
    report: &mut Sink<'_>,
    origin: &str,
) -> Result<(), String> {
    let failures = &mut *report.failures;
    let ty = policy.program.defs[id as usize].ty;
    let wantv = expected_value(policy, ty, want)
        .map_err(|e| format!("{origin}: expected value of `{what}`: {e}"))?;
    match ev.def(id, scope) {
        Ok(got) if got == wantv => {}
        Ok(got) => {
            let mut msg = format!(
                "{what}: expected {}, found {}\n",
                policy.display_exact(ty, &wantv),
                policy.display_exact(ty, &got),
            );
            match explain(ev, id, scope) {
                Ok(n) if report.verbose => {
                    msg.push_str("  the path to the difference:\n");
                    msg.push_str(&indent(&differing_path(&n)));
                    msg.push_str("  the whole derivation:\n");
                    msg.push_str(&indent(&render_text(&n)));
                }
                Ok(n) => {
                    msg.push_str("  the path to the difference (`doudi test --verbose` shows the whole derivation):\n");
                    msg.push_str(&indent(&differing_path(&n)));
                }
                Err(e) => msg.push_str(&indent(&e.render(policy.sources()))),
            }
            failures.push(msg.trim_end().to_string());
        }
        Err(e) => failures.push(format!(
            "{what}: evaluation failed:\n{}",
            indent(&e.render(policy.sources()))
        )),
    }
    Ok(())
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

/// Reads an expected value: money and decimals as strings (`"250"`, `"1559.99/3"`), booleans and integers
/// as TOML values, enums as strings.
pub fn expected_value(policy: &Policy, ty: Ty, want: &Json) -> Result<Value, String> {
    let program = &policy.program;
    match (ty, want) {
        (Ty::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (Ty::Int | Ty::Months, Json::Number(n)) => n
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| format!("expected an integer, found {n}")),
        (Ty::Decimal | Ty::Percent | Ty::Money(_), Json::String(s)) => {
            let t = s.trim();
            if ty == Ty::Percent && t.ends_with('%') {
                let n = Num::parse(t.trim_end_matches('%'))
                    .ok_or_else(|| format!("not a percentage: {s}"))?;
                return n
                    .checked_div(&Num::from_i64(100))
                    .map(Value::Num)
                    .map_err(|_| "overflow".to_string());
            }
            Num::parse(t).map(Value::Num).ok_or_else(|| {
                format!(
                    "expected an exact amount such as \"250.00\" or \"1559.99/3\", found \"{s}\""
                )
            })
        }
        (Ty::Decimal | Ty::Percent | Ty::Money(_), Json::Number(n)) if n.is_i64() => {
            Ok(Value::Num(Num::from_i64(n.as_i64().unwrap_or(0))))
        }
        (Ty::Enum(e), Json::String(s)) => {
            let en = &program.enums[e as usize];
            en.variants
                .iter()
                .position(|v| v == s)
                .map(|i| Value::Enum(i as u16))
                .ok_or_else(|| format!("`{s}` is not a value of `{}`", en.name))
        }
        (Ty::Text, Json::String(s)) => Ok(Value::Text(s.as_str().into())),
        (Ty::Date, Json::String(s)) => {
            match doudi_dsl::check::parse_value_text(s, Ty::Date, &program.enums) {
                Ok(doudi_dsl::ir::Const::Date(d)) => Ok(Value::Date(d)),
                _ => Err(format!(
                    "expected a date such as \"2024-10-23\", found \"{s}\""
                )),
            }
        }
        (ty, v) => Err(format!(
            "expected {} (money as a string like \"250.00\"), found {v}",
            program.ty_name(ty)
        )),
    }
}

/// Every policy directory under `root` (a directory with `.doudi` files), depth-first and sorted;
/// `tests` and `examples` directories are skipped.
pub fn find_policies(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(root, &mut out, 0);
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 8 {
        return;
    }
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    if entries
        .iter()
        .any(|p| p.is_file() && p.extension().is_some_and(|x| x == "doudi"))
    {
        out.push(dir.to_path_buf());
    }
    for e in entries {
        let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if e.is_dir() && name != "tests" && name != "examples" && !name.starts_with('.') {
            walk(&e, out, depth + 1);
        }
    }
}
