//! Scripting (`doudi run <script.rhai>`): rhai scripts that load scenarios, policies and populations,
//! change parameters and rates, simulate, read results and write reports.
//!
//! Scripts run in the sandboxed engine of the policy externs
//! (`doudi_interpreter::rhai_bridge::sandboxed_engine`: no file or network access of their own, no
//! `eval`, no modules, no `sleep`, bounded operations); they reach files only through the functions
//! below, with relative paths taken from the script's directory, and only inside the script's
//! directory, the working directory and the directories given with `doudi run --allow DIR` (a path
//! elsewhere, `..` included, is an error that names it). A script stops after `--timeout` seconds
//! (default [`DEFAULT_SCRIPT_TIME`], simulations included). `write_report` replaces only a directory
//! doudi marked as its report. `print` writes to the command's output.
//!
//! | function | what it does |
//! | --- | --- |
//! | `load_scenario(path)` | a scenario (TOML) to change and simulate |
//! | `s.set_param(name, value)` / `s.add_param(name, delta)` | baseline parameter override (`"dibao_standard.urban"`, `"784"`) |
//! | `s.set_reform(name)`, `s.reform_param(name, value)`, `s.reform_add(name, delta)`, `s.clear_reform()` | the reform |
//! | `s.set_dynamics(name, value)` | a `[dynamics]` rate, e.g. `s.set_dynamics("take_up", "0.2")` |
//! | `s.set_runs(n)`, `s.set_months(n)`, `s.set_seed(n)`, `s.set_households(n)`, `s.set_start("2024-01")` | scenario settings |
//! | `s.use_population(pop)` | simulate on a population generated or loaded before |
//! | `load_policy(path)` | a policy: `p.param(name, "2024-01")` reads a parameter, `p.parameters()` lists them |
//! | `generate_population(spec, households, seed[, month])` / `load_population(dir)` | a population (`pop.households()`, `pop.persons()`); its roll (`on_dibao`) drawn from `policies/jian`'s income test in `month` (default 2022-01) |
//! | `simulate(s)` | runs the scenario: a result |
//! | `r.value(programme, measure, period)` | median of a cell (`"dibao"`, `"households"`, `"2024"` or `"2024-03"`) |
//! | `r.band(programme, measure, period)` | `#{median, p5, p95}` |
//! | `r.diff(programme, measure, period)` | reform − baseline median |
//! | `r.months()`, `r.years()`, `r.variants()` | the periods and variants |
//! | `r.summary()` | the headline text that `doudi simulate` prints |
//! | `write_report(r, dir)` | writes the report directory; returns the path of report.html |

use crate::montecarlo::{self, Band, Outcome};
use crate::scenario::{AddValue, ParamScalar, ParamValue, Reform, Scenario};
use crate::setup::{self, PopulationInfo, Prepared};
use doudi_interpreter::data::Household;
use doudi_interpreter::{Month, Num, Policy};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type R<T> = Result<T, Box<EvalAltResult>>;

fn fail<T>(m: impl Into<String>) -> R<T> {
    Err(m.into().into())
}

/// A population held by a script.
#[derive(Clone)]
pub struct ScriptPopulation(Arc<(Vec<Household>, PopulationInfo)>);

/// A policy held by a script.
#[derive(Clone)]
pub struct ScriptPolicy(Arc<Policy>);

/// A scenario held by a script (with an optional population to use).
#[derive(Clone)]
pub struct ScriptScenario {
    scenario: Scenario,
    population: Option<ScriptPopulation>,
}

/// A simulation result held by a script.
#[derive(Clone)]
pub struct ScriptResult(Arc<(Prepared, Outcome)>);

fn scalar(d: &Dynamic) -> R<String> {
    if let Ok(s) = d.clone().into_string() {
        return Ok(s);
    }
    if let Ok(i) = d.as_int() {
        return Ok(i.to_string());
    }
    if let Ok(x) = d.as_decimal() {
        return Ok(x.to_string());
    }
    if let Ok(b) = d.as_bool() {
        return Ok(b.to_string());
    }
    fail(format!(
        "expected a number or a string, found {}",
        d.type_name()
    ))
}

fn dec(n: &Num) -> Dynamic {
    Dynamic::from_decimal(n.to_decimal_lossy())
}

fn band_map(b: &Band) -> Map {
    let mut m = Map::new();
    m.insert("median".into(), dec(&b.median));
    m.insert("p5".into(), dec(&b.p5));
    m.insert("p95".into(), dec(&b.p95));
    m
}

fn cell(
    o: &Outcome,
    variant: usize,
    diff: bool,
    programme: &str,
    measure: &str,
    period: &str,
) -> R<Band> {
    let Some(m) = o
        .metrics
        .iter()
        .position(|x| x.programme == programme && x.measure == measure)
    else {
        let mut names: Vec<String> = o
            .metrics
            .iter()
            .map(|x| format!("{}/{}", x.programme, x.measure))
            .collect();
        names.dedup();
        return fail(format!(
            "no result `{programme}` / `{measure}` (results: {})",
            names.join(", ")
        ));
    };
    let v = if diff {
        match &o.diff {
            Some(d) => d,
            None => return fail("this result has no reform"),
        }
    } else {
        match o.variants.get(variant) {
            Some(v) => v,
            None => return fail(format!("no variant {variant}")),
        }
    };
    if let Ok(month) = Month::parse(period) {
        let Some(t) = o.months.iter().position(|x| *x == month) else {
            return fail(format!("{period} is not a simulated month"));
        };
        return Ok(v.monthly.get(t, 0, 0, m).clone());
    }
    let Some(y) = period
        .trim()
        .parse::<i32>()
        .ok()
        .and_then(|y| o.years.iter().position(|(yy, _)| *yy == y))
    else {
        return fail(format!(
            "`{period}` is neither a simulated month (YYYY-MM) nor a simulated year"
        ));
    };
    Ok(v.yearly.get(y, 0, 0, m).clone())
}

/// The headline numbers as text: per variant and year, the dibao caseload and the spending.
pub fn headline(p: &Prepared, o: &Outcome) -> String {
    use crate::report::html::group;
    let mut s = String::new();
    let idx = |pr: &str, me: &str| {
        o.metrics
            .iter()
            .position(|m| m.programme == pr && m.measure == me)
    };
    let (hh, persons, spend, dibao_spend) = (
        idx("dibao", "households"),
        idx("dibao", "persons"),
        idx("total", "spending"),
        idx("dibao", "spending"),
    );
    s.push_str(&format!(
        "{}: {} simulated households, design weight {} ({} runs; mean of the runs [5%–95%])\n",
        p.scenario.scenario.name, p.population.households, o.weight, o.runs
    ));
    let fmt_b = |b: &Band, _money: bool| {
        let f = |n: &Num| group(&n.format_fixed(0));
        if b.p5 == b.p95 {
            f(&b.mean)
        } else {
            format!("{} [{}–{}]", f(&b.mean), f(&b.p5), f(&b.p95))
        }
    };
    if o.sweep.is_none() {
        let mut vs: Vec<&montecarlo::VariantOutcome> = o.variants.iter().collect();
        if let Some(d) = &o.diff {
            vs.push(d);
        }
        for v in vs {
            for (yi, (y, n)) in o.years.iter().enumerate() {
                let mut line = format!(
                    "  {:<18} {y}{}:",
                    v.name,
                    if *n == 12 {
                        String::new()
                    } else {
                        format!(" ({n} mo)")
                    }
                );
                if let Some(i) = hh {
                    line.push_str(&format!(
                        " dibao households {}",
                        fmt_b(v.yearly.get(yi, 0, 0, i), false)
                    ));
                }
                if let Some(i) = persons {
                    line.push_str(&format!(
                        ", persons {}",
                        fmt_b(v.yearly.get(yi, 0, 0, i), false)
                    ));
                }
                if let Some(i) = dibao_spend {
                    line.push_str(&format!(
                        ", dibao yuan {}",
                        fmt_b(v.yearly.get(yi, 0, 0, i), true)
                    ));
                }
                if let Some(i) = spend {
                    line.push_str(&format!(
                        ", all programmes yuan {}",
                        fmt_b(v.yearly.get(yi, 0, 0, i), true)
                    ));
                }
                s.push_str(&line);
                s.push('\n');
            }
        }
    }
    if !o.calibration.rows.is_empty() {
        s.push_str("  calibration (target → simulated, mean of runs):\n");
        for r in &o.calibration.rows {
            let dp = if r.unit == "yuan" || r.unit == "households" || r.unit == "persons" {
                0
            } else {
                2
            };
            let diff = if r.unit == "% a year" {
                format!("{:+.2} pp", r.difference_pct)
            } else {
                format!("{:+.2}%", r.difference_pct)
            };
            s.push_str(&format!(
                "    {:<30} {:<17} {:>14} → {:>14} {:<22} {diff}\n",
                r.target,
                r.month,
                group(&r.value.format_fixed(dp)),
                group(&r.simulated.format_fixed(dp)),
                r.unit
            ));
        }
        for n in &o.calibration.notes {
            s.push_str(&format!("    note: {n}\n"));
        }
    }
    if let Some(w) = &o.winners {
        let pct = |n: &Num| {
            n.checked_mul_i64(100)
                .map(|x| x.format_fixed(1))
                .unwrap_or_default()
        };
        s.push_str("  winners/losers:");
        for (i, name) in crate::reform::BAND_LABELS_EN.iter().enumerate() {
            s.push_str(&format!(
                " {name} {}%{}",
                pct(&w.shares[i].median),
                if i < 4 { "," } else { "" }
            ));
        }
        s.push('\n');
    }
    if let Some(sw) = &o.sweep {
        for pt in &sw.points {
            s.push_str(&format!(
                "  {} = {:<8} annual cost yuan {}, dibao households (mean) {}\n",
                sw.parameter,
                pt.value.to_string(),
                fmt_b(&pt.annual_cost, true),
                fmt_b(&pt.households, false)
            ));
        }
    }
    s
}

/// What a script may touch and for how long.
#[derive(Debug, Clone)]
pub struct ScriptLimits {
    /// Wall-clock time for the whole script (simulations included).
    pub timeout: Duration,
    /// Directories besides the working directory and the script's own directory that the script
    /// may read and write.
    pub allow: Vec<PathBuf>,
}

/// The default wall-clock limit of a script.
pub const DEFAULT_SCRIPT_TIME: Duration = Duration::from_secs(3600);

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            timeout: DEFAULT_SCRIPT_TIME,
            allow: Vec::new(),
        }
    }
}

/// Where a script's paths start and the directories they must stay in (canonical, none of them a
/// file-system root).
struct Sandbox {
    base: PathBuf,
    roots: Vec<PathBuf>,
}

impl Sandbox {
    fn new(base: &Path, allow: &[PathBuf]) -> Sandbox {
        let mut dirs = vec![base.to_path_buf()];
        dirs.extend(std::env::current_dir().ok());
        dirs.extend(allow.iter().cloned());
        let roots = dirs
            .iter()
            .filter_map(|d| d.canonicalize().ok())
            .filter(|c| c.parent().is_some())
            .collect();
        Sandbox {
            base: base.to_path_buf(),
            roots,
        }
    }

    /// `p` (relative to the script's directory) if it stays inside the sandbox; a path that does not
    /// exist yet (a report directory) is judged by its nearest existing ancestor.
    fn resolve(&self, p: &str) -> R<PathBuf> {
        let path = Path::new(p);
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        };
        let mut existing = full.as_path();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
                }
                _ => return fail(format!("`{p}`: a path such as this cannot be used (`..` in a part that does not exist)")),
            }
        }
        let mut canon = existing.canonicalize().map_err(|e| format!("`{p}`: {e}"))?;
        if !self.roots.iter().any(|r| canon.starts_with(r)) {
            return fail(format!(
                "`{p}` is outside the directories a script may use (its own directory, the working directory and those given with --allow)"
            ));
        }
        for name in rest.iter().rev() {
            canon.push(name);
        }
        Ok(canon)
    }
}

fn set_dynamics(s: &mut ScriptScenario, name: &str, value: &Dynamic) -> R<()> {
    let mut j = serde_json::to_value(&s.scenario.dynamics).map_err(|e| e.to_string())?;
    let text = scalar(value)?;
    let parsed: serde_json::Value =
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text.clone()));
    let serde_json::Value::Object(map) = &mut j else {
        return fail("internal: dynamics are not a table");
    };
    if !map.contains_key(name) {
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        return fail(format!(
            "unknown dynamics rate `{name}` (rates: {})",
            keys.iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    map.insert(name.to_string(), parsed);
    let d: crate::dynamics::Dynamics =
        serde_json::from_value(j).map_err(|e| format!("dynamics.{name}: {e}"))?;
    let mut problems = Vec::new();
    d.validate_into(&mut problems);
    if let Some(p) = problems.first() {
        return fail(format!("{}: {}", p.key, p.message));
    }
    s.scenario.dynamics = d;
    Ok(())
}

fn reform_mut(s: &mut ScriptScenario) -> &mut Reform {
    if s.scenario.sweep.is_some() {
        s.scenario.sweep = None;
    }
    s.scenario.reform.get_or_insert_with(|| Reform {
        name: "reform".into(),
        description: None,
        layer: None,
        parameters: Default::default(),
    })
}

fn check(s: &ScriptScenario) -> R<()> {
    let problems = s.scenario.validate();
    match problems.first() {
        Some(p) => fail(format!("{}: {}: {}", s.scenario.file, p.key, p.message)),
        None => Ok(()),
    }
}

/// Runs a script file with the default limits; returns what it printed.
pub fn run_file(path: &Path) -> Result<String, String> {
    run_file_with(path, &ScriptLimits::default())
}

/// Runs a script file; returns what it printed.
pub fn run_file_with(path: &Path, limits: &ScriptLimits) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    run_script_with(&text, &path.display().to_string(), &base, limits)
}

/// Runs script text with the default limits (`origin` names it in messages; relative paths start at `base`).
pub fn run_script(text: &str, origin: &str, base: &Path) -> Result<String, String> {
    run_script_with(text, origin, base, &ScriptLimits::default())
}

/// Runs script text: paths stay inside `base`, the working directory and `limits.allow`; the script
/// stops after `limits.timeout`.
pub fn run_script_with(
    text: &str,
    origin: &str,
    base: &Path,
    limits: &ScriptLimits,
) -> Result<String, String> {
    let mut engine = doudi_interpreter::rhai_bridge::sandboxed_engine();
    // A script drives whole simulations: allow more operations than one extern call.
    engine.set_max_operations(10_000_000);
    let output = Arc::new(Mutex::new(String::new()));
    {
        let out = output.clone();
        engine.on_print(move |s| {
            if let Ok(mut o) = out.lock() {
                o.push_str(s);
                o.push('\n');
            }
        });
    }
    let base = Arc::new(Sandbox::new(base, &limits.allow));

    register_scenario(&mut engine, &base);
    register_policy(&mut engine, &base);
    register_population(&mut engine, &base);
    register_result(&mut engine, &base);

    let secs = limits.timeout.as_secs();
    doudi_interpreter::rhai_bridge::with_deadline(limits.timeout, || engine.run(text)).map_err(|e| match *e {
        EvalAltResult::ErrorTerminated(..) => format!("{origin}: the script ran longer than {secs} s and was stopped (raise the limit with --timeout)"),
        e => format!("{origin}: {e}"),
    })?;
    let out = output.lock().map(|o| o.clone()).unwrap_or_default();
    Ok(out)
}

/// The script's types, and loading and editing scenarios.
fn register_scenario(engine: &mut Engine, base: &Arc<Sandbox>) {
    engine.register_type_with_name::<ScriptScenario>("Scenario");
    engine.register_type_with_name::<ScriptPolicy>("Policy");
    engine.register_type_with_name::<ScriptPopulation>("Population");
    engine.register_type_with_name::<ScriptResult>("Result");

    let b = base.clone();
    engine.register_fn("load_scenario", move |p: &str| -> R<ScriptScenario> {
        let s = Scenario::load(b.resolve(p)?).map_err(|e| e.to_string())?;
        Ok(ScriptScenario {
            scenario: s,
            population: None,
        })
    });
    engine.register_fn(
        "set_param",
        |s: &mut ScriptScenario, name: &str, value: Dynamic| -> R<()> {
            s.scenario
                .parameters
                .insert(name.to_string(), ParamValue::Text(scalar(&value)?));
            Ok(())
        },
    );
    engine.register_fn(
        "add_param",
        |s: &mut ScriptScenario, name: &str, value: Dynamic| -> R<()> {
            s.scenario.parameters.insert(
                name.to_string(),
                ParamValue::Add(AddValue {
                    add: ParamScalar::Text(scalar(&value)?),
                }),
            );
            check(s)
        },
    );
    engine.register_fn(
        "set_reform",
        |s: &mut ScriptScenario, name: &str| -> R<()> {
            reform_mut(s).name = name.to_string();
            Ok(())
        },
    );
    engine.register_fn(
        "reform_param",
        |s: &mut ScriptScenario, name: &str, value: Dynamic| -> R<()> {
            let v = ParamValue::Text(scalar(&value)?);
            reform_mut(s).parameters.insert(name.to_string(), v);
            Ok(())
        },
    );
    engine.register_fn(
        "reform_add",
        |s: &mut ScriptScenario, name: &str, value: Dynamic| -> R<()> {
            let v = ParamValue::Add(AddValue {
                add: ParamScalar::Text(scalar(&value)?),
            });
            reform_mut(s).parameters.insert(name.to_string(), v);
            check(s)
        },
    );
    engine.register_fn("clear_reform", |s: &mut ScriptScenario| {
        s.scenario.reform = None;
    });
    engine.register_fn(
        "set_dynamics",
        |s: &mut ScriptScenario, name: &str, value: Dynamic| -> R<()> {
            set_dynamics(s, name, &value)
        },
    );
    engine.register_fn("set_runs", |s: &mut ScriptScenario, n: i64| -> R<()> {
        s.scenario.scenario.runs =
            u32::try_from(n).map_err(|_| format!("runs: {n} is out of range"))?;
        check(s)
    });
    engine.register_fn("set_months", |s: &mut ScriptScenario, n: i64| -> R<()> {
        s.scenario.scenario.months =
            u32::try_from(n).map_err(|_| format!("months: {n} is out of range"))?;
        check(s)
    });
    engine.register_fn("set_seed", |s: &mut ScriptScenario, n: i64| -> R<()> {
        s.scenario.scenario.seed =
            u64::try_from(n).map_err(|_| format!("seed: {n} is out of range"))?;
        Ok(())
    });
    engine.register_fn("set_start", |s: &mut ScriptScenario, m: &str| -> R<()> {
        s.scenario.scenario.start = m.to_string();
        check(s)
    });
    engine.register_fn(
        "set_households",
        |s: &mut ScriptScenario, n: i64| -> R<()> {
            if s.scenario.population.spec.is_none() {
                return fail(
                    "set_households: the scenario's population is read from `data`, not generated",
                );
            }
            s.scenario.population.households =
                Some(u64::try_from(n).map_err(|_| format!("households: {n} is out of range"))?);
            check(s)
        },
    );
    engine.register_fn(
        "use_population",
        |s: &mut ScriptScenario, p: ScriptPopulation| {
            s.population = Some(p);
        },
    );
}

/// Loading policies and reading their parameters.
fn register_policy(engine: &mut Engine, base: &Arc<Sandbox>) {
    let b = base.clone();
    engine.register_fn("load_policy", move |p: &str| -> R<ScriptPolicy> {
        let path = b.resolve(p)?;
        let pol = Policy::load(&path).map_err(|e| {
            format!(
                "{}: the policy does not load:\n{}",
                path.display(),
                e.render()
            )
        })?;
        Ok(ScriptPolicy(Arc::new(pol.policy)))
    });
    engine.register_fn("parameters", |p: &mut ScriptPolicy| -> Array {
        p.0.program
            .params
            .iter()
            .map(|x| Dynamic::from(x.name.clone()))
            .collect()
    });
    engine.register_fn(
        "param",
        |p: &mut ScriptPolicy, name: &str, month: &str| -> R<String> {
            let m = Month::parse(month)?;
            let (n, key) = match name.split_once('.') {
                Some((n, k)) => (n, Some(k)),
                None => (name, None),
            };
            let program = &p.0.program;
            let Some(id) = program.param_by_name(n) else {
                return fail(format!("unknown parameter `{n}`"));
            };
            let par = &program.params[id as usize];
            let k = match (par.by, key) {
                (Some(e), Some(k)) => Some(
                    program.enums[e as usize]
                        .variants
                        .iter()
                        .position(|v| v == k)
                        .ok_or_else(|| format!("`{n}` has no key `{k}`"))?
                        as u16,
                ),
                (None, None) => None,
                _ => {
                    return fail(format!(
                        "`{n}`: give `name.key` for a keyed parameter, `name` otherwise"
                    ))
                }
            };
            let v = doudi_interpreter::eval::param_value(
                program,
                id,
                k,
                m.first_day(),
                Default::default(),
            )
            .map_err(|e| e.message)?;
            Ok(p.0.display(par.ty, &v))
        },
    );
}

/// Generating and loading populations.
fn register_population(engine: &mut Engine, base: &Arc<Sandbox>) {
    for with_month in [false, true] {
        let b = base.clone();
        let generate =
            move |spec: &str, households: i64, seed: i64, month: &str| -> R<ScriptPopulation> {
                let path = b.resolve(spec)?;
                let (sp, _) =
                    crate::spec::PopulationSpec::load(&path).map_err(|e| e.to_string())?;
                let n = usize::try_from(households)
                    .map_err(|_| "households out of range".to_string())?;
                if n == 0 || n > 10_000_000 {
                    return fail("generate_population: households must be between 1 and 10000000");
                }
                let month = doudi_interpreter::Month::parse(month)
                    .map_err(|e| format!("generate_population: {e}"))?;
                // The policy of the DATA.md contract reads the population and draws its roll.
                let policy = population_policy(&b.base)?;
                let screen = crate::screen::PolicyScreen::new(&policy, month)?;
                let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
                let report = crate::population::generate(&sp, n, seed as u64, tmp.path(), &screen)
                    .map_err(|e| e.to_string())?;
                let hs = doudi_interpreter::data::read_csv_dir(&policy.schema, tmp.path())
                    .map_err(|e| e.to_string())?;
                let persons = hs.iter().map(|h| h.members.len() as u64).sum::<u64>();
                let weight = match sp.meta.reference_population {
                    Some(r) if persons > 0 => ((r as f64 / persons as f64).round() as u64).max(1),
                    _ => 1,
                };
                let info = PopulationInfo {
                    source: format!("spec {}, {n} households, seed {seed}", path.display()),
                    households: report.households,
                    persons,
                    weight,
                    reference_population: sp.meta.reference_population,
                    notes: Vec::new(),
                };
                Ok(ScriptPopulation(Arc::new((hs, info))))
            };
        if with_month {
            engine.register_fn(
                "generate_population",
                move |spec: &str, households: i64, seed: i64, month: &str| {
                    generate(spec, households, seed, month)
                },
            );
        } else {
            engine.register_fn(
                "generate_population",
                move |spec: &str, households: i64, seed: i64| {
                    generate(spec, households, seed, DEFAULT_ROLL_MONTH)
                },
            );
        }
    }
    let b = base.clone();
    engine.register_fn("load_population", move |dir: &str| -> R<ScriptPopulation> {
        let path = b.resolve(dir)?;
        let schema = population_schema(&b.base)?;
        let hs =
            doudi_interpreter::data::read_csv_dir(&schema, &path).map_err(|e| e.to_string())?;
        let persons = hs.iter().map(|h| h.members.len() as u64).sum::<u64>();
        let info = PopulationInfo {
            source: format!("data {}", path.display()),
            households: hs.len() as u64,
            persons,
            weight: 1,
            reference_population: None,
            notes: Vec::new(),
        };
        Ok(ScriptPopulation(Arc::new((hs, info))))
    });
    engine.register_fn("households", |p: &mut ScriptPopulation| {
        p.0 .1.households as i64
    });
    engine.register_fn("persons", |p: &mut ScriptPopulation| p.0 .1.persons as i64);
}

/// Simulating, reading results and writing reports.
fn register_result(engine: &mut Engine, base: &Arc<Sandbox>) {
    engine.register_fn("simulate", |s: ScriptScenario| -> R<ScriptResult> {
        check(&s)?;
        let given = s.population.as_ref().map(|p| {
            let mut info = p.0 .1.clone();
            if let Some(crate::scenario::Weight::Fixed(w)) = &s.scenario.population.weight {
                info.weight = *w;
            }
            (p.0 .0.clone(), info)
        });
        let prepared = setup::prepare(s.scenario.clone(), given).map_err(|e| e.to_string())?;
        let outcome = montecarlo::simulate(&prepared, &|| {}).map_err(|e| e.to_string())?;
        Ok(ScriptResult(Arc::new((prepared, outcome))))
    });
    engine.register_fn(
        "value",
        |r: &mut ScriptResult, programme: &str, measure: &str, period: &str| -> R<Dynamic> {
            Ok(dec(
                &cell(&r.0 .1, 0, false, programme, measure, period)?.median
            ))
        },
    );
    engine.register_fn(
        "value",
        |r: &mut ScriptResult,
         variant: i64,
         programme: &str,
         measure: &str,
         period: &str|
         -> R<Dynamic> {
            Ok(dec(&cell(
                &r.0 .1,
                variant.max(0) as usize,
                false,
                programme,
                measure,
                period,
            )?
            .median))
        },
    );
    engine.register_fn(
        "band",
        |r: &mut ScriptResult, programme: &str, measure: &str, period: &str| -> R<Map> {
            Ok(band_map(&cell(
                &r.0 .1, 0, false, programme, measure, period,
            )?))
        },
    );
    engine.register_fn(
        "diff",
        |r: &mut ScriptResult, programme: &str, measure: &str, period: &str| -> R<Dynamic> {
            Ok(dec(
                &cell(&r.0 .1, 0, true, programme, measure, period)?.median
            ))
        },
    );
    engine.register_fn("months", |r: &mut ScriptResult| -> Array {
        r.0 .1
            .months
            .iter()
            .map(|m| Dynamic::from(m.to_string()))
            .collect()
    });
    engine.register_fn("years", |r: &mut ScriptResult| -> Array {
        r.0 .1
            .years
            .iter()
            .map(|(y, _)| Dynamic::from(y.to_string()))
            .collect()
    });
    engine.register_fn("variants", |r: &mut ScriptResult| -> Array {
        r.0 .1
            .variants
            .iter()
            .map(|v| Dynamic::from(v.name.clone()))
            .collect()
    });
    engine.register_fn("summary", |r: &mut ScriptResult| -> String {
        headline(&r.0 .0, &r.0 .1)
    });
    let b = base.clone();
    engine.register_fn(
        "write_report",
        move |r: ScriptResult, dir: &str| -> R<String> {
            let out = b.resolve(dir)?;
            let w = crate::report::write(&r.0 .0, &r.0 .1, &out)?;
            Ok(w.dir.join("report.html").display().to_string())
        },
    );
}

/// The data schema scripts read populations with: that of the shipped city policy when it is found
/// beside the script (`../policies/jian`), else of `policies/jian` from the current directory.
/// The month whose roll `generate_population(spec, households, seed)` draws (`on_dibao`): the
/// first simulated month of the shipped scenarios (2024-01 after a 24-month burn-in).
const DEFAULT_ROLL_MONTH: &str = "2022-01";

fn population_policy(base: &Path) -> R<Policy> {
    for p in [
        base.join("../policies/jian"),
        PathBuf::from("policies/jian"),
    ] {
        if p.is_dir() {
            if let Ok(l) = Policy::load(&p) {
                return Ok(l.policy);
            }
        }
    }
    fail("cannot find policies/jian to read the population's fields (DATA.md)")
}

fn population_schema(base: &Path) -> R<doudi_interpreter::data::Schema> {
    population_policy(base).map(|p| p.schema)
}
