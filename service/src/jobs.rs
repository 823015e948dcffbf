//! Scenario runs in the background: start (a scenario of the configured directory, by name, with
//! optional overrides of its size and its reform), progress, result, cancel; a bounded queue, one
//! run at a time. The simulation is the simulator library's, as `doudi simulate` runs it, with a
//! cancellation check between Monte Carlo runs.

use crate::api::parse_body;
use crate::error::{ApiError, ApiResult};
use crate::state::now_rfc3339;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use doudi_interpreter::Num;
use doudi_simulator::montecarlo::{self, Band, Outcome, VariantOutcome};
use doudi_simulator::scenario::{ParamValue, Reform, Scenario};
use doudi_simulator::{estimate, reform, script, setup};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

type St = State<Arc<AppState>>;

/// The most households a run started over HTTP may simulate, and the most runs and months.
pub const MAX_HOUSEHOLDS: u64 = 200_000;
pub const MAX_RUNS: u32 = 100;
/// Finished runs kept for their results (the oldest are dropped).
pub const KEEP_FINISHED: usize = 32;

#[derive(Debug, Clone)]
enum Phase {
    Queued,
    Running,
    Done(Arc<Value>),
    Failed(String),
    Cancelled,
}

impl Phase {
    fn name(&self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Running => "running",
            Phase::Done(_) => "done",
            Phase::Failed(_) => "failed",
            Phase::Cancelled => "cancelled",
        }
    }
    fn finished(&self) -> bool {
        matches!(self, Phase::Done(_) | Phase::Failed(_) | Phase::Cancelled)
    }
}

pub struct Job {
    pub id: u64,
    pub scenario: String,
    pub created: String,
    phase: Mutex<Phase>,
    cancel: AtomicBool,
    done_months: AtomicU64,
    total_months: AtomicU64,
}

impl Job {
    fn phase(&self) -> Phase {
        self.phase.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn set(&self, p: Phase) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = p;
    }
    fn json(&self, with_result: bool) -> Value {
        let phase = self.phase();
        let mut v = json!({
            "id": self.id.to_string(),
            "scenario": self.scenario,
            "created": self.created,
            "state": phase.name(),
            "progress": {
                "months_done": self.done_months.load(Ordering::Relaxed),
                "months_total": self.total_months.load(Ordering::Relaxed),
            },
        });
        match phase {
            Phase::Done(r) if with_result => v["result"] = (*r).clone(),
            Phase::Failed(m) => v["error"] = json!({"code": "run_failed", "message": m}),
            _ => {}
        }
        v
    }
}

/// The runs the service knows: at most `max` queued or running; one runs at a time.
pub struct Jobs {
    max: usize,
    next: AtomicU64,
    jobs: Mutex<BTreeMap<u64, Arc<Job>>>,
    one_at_a_time: Arc<tokio::sync::Semaphore>,
}

impl Jobs {
    pub fn new(max: usize) -> Jobs {
        Jobs {
            max,
            next: AtomicU64::new(1),
            jobs: Mutex::new(BTreeMap::new()),
            one_at_a_time: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }
    fn get(&self, id: &str) -> ApiResult<Arc<Job>> {
        id.parse::<u64>()
            .ok()
            .and_then(|n| {
                self.jobs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&n)
                    .cloned()
            })
            .ok_or_else(|| ApiError::not_found("unknown_run", format!("error: no run `{id}`")))
    }
    /// Adds a queued job, or refuses when the queue is full.
    fn add(&self, scenario: &str) -> ApiResult<Arc<Job>> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let active = jobs.values().filter(|j| !j.phase().finished()).count();
        if active >= self.max {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "queue_full",
                format!("error: {active} scenario runs are queued or running, the most this server takes; try again later"),
            ));
        }
        // Forget the oldest finished runs.
        let finished: Vec<u64> = jobs
            .values()
            .filter(|j| j.phase().finished())
            .map(|j| j.id)
            .collect();
        if finished.len() >= KEEP_FINISHED {
            for id in &finished[..finished.len() + 1 - KEEP_FINISHED] {
                jobs.remove(id);
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let job = Arc::new(Job {
            id,
            scenario: scenario.to_string(),
            created: now_rfc3339(),
            phase: Mutex::new(Phase::Queued),
            cancel: AtomicBool::new(false),
            done_months: AtomicU64::new(0),
            total_months: AtomicU64::new(0),
        });
        jobs.insert(id, job.clone());
        Ok(job)
    }
}

/// The scenario names of the configured directory (`NAME.toml`).
fn scenario_names(st: &AppState) -> Vec<String> {
    let Some(dir) = &st.config.scenarios else {
        return Vec::new();
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn load_scenario(st: &AppState, name: &str) -> ApiResult<Scenario> {
    // Only a name the directory listing holds: never a path from the client.
    if !scenario_names(st).iter().any(|n| n == name) {
        return Err(ApiError::not_found(
            "unknown_scenario",
            format!(
                "error: no scenario `{name}` (scenarios: {})",
                scenario_names(st).join(", ")
            ),
        ));
    }
    let dir = st.config.scenarios.as_ref().expect("listed");
    Scenario::load(dir.join(format!("{name}.toml")))
        .map_err(|e| ApiError::invalid("bad_scenario", format!("error: {e}")))
}

pub async fn list_scenarios(State(st): St) -> ApiResult<Json<Value>> {
    let list = tokio::task::spawn_blocking(move || {
        scenario_names(&st)
            .into_iter()
            .filter_map(|n| {
                let s = load_scenario(&st, &n).ok()?;
                Some(json!({
                    "name": n,
                    "title": s.scenario.title,
                    "description": s.scenario.description,
                    "start": s.scenario.start,
                    "months": s.scenario.months,
                    "runs": s.scenario.runs,
                    "households": s.population.households,
                    "reform": s.reform.as_ref().map(|r| json!({
                        "name": r.name,
                        "parameters": r.parameters.iter().map(|(k, v)| (k.clone(), v.describe())).collect::<BTreeMap<_, _>>(),
                    })),
                    "sweep": s.sweep.is_some(),
                }))
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ApiError::internal(format!("error: {e}")))?;
    Ok(Json(json!({ "scenarios": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// A scenario of the server's scenarios directory, by name.
    pub scenario: String,
    pub runs: Option<u32>,
    pub months: Option<u32>,
    /// Households of a generated population.
    pub households: Option<u64>,
    /// Baseline parameter overrides (as the scenario's `[parameters]`).
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamValue>,
    /// A reform in place of the scenario's: a name and parameter overrides (no layer path).
    pub reform: Option<ReformRequest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReformRequest {
    pub name: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamValue>,
}

pub async fn start(
    State(st): St,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: StartRequest = parse_body(body)?;
    let st2 = st.clone();
    let scenario = tokio::task::spawn_blocking(move || prepare_scenario(&st2, req))
        .await
        .map_err(|e| ApiError::internal(format!("error: {e}")))??;
    let job = st.jobs.add(&scenario.scenario.name)?;
    job.total_months.store(
        scenario.scenario.runs as u64 * scenario.scenario.months as u64,
        Ordering::Relaxed,
    );
    let sem = st.jobs.one_at_a_time.clone();
    let j = job.clone();
    tokio::spawn(async move {
        let Ok(_permit) = sem.acquire_owned().await else {
            return;
        };
        if j.cancel.load(Ordering::Relaxed) {
            j.set(Phase::Cancelled);
            return;
        }
        j.set(Phase::Running);
        let j2 = j.clone();
        let r = tokio::task::spawn_blocking(move || run(&j2, scenario)).await;
        j.set(match r {
            Ok(Ok(v)) => Phase::Done(Arc::new(v)),
            Ok(Err(m)) if m.is_empty() => Phase::Cancelled,
            Ok(Err(m)) => Phase::Failed(m),
            Err(e) => Phase::Failed(format!("error: the run stopped: {e}")),
        });
    });
    Ok((StatusCode::ACCEPTED, Json(job.json(false))))
}

fn prepare_scenario(st: &AppState, req: StartRequest) -> ApiResult<Scenario> {
    let mut s = load_scenario(st, &req.scenario)?;
    let bad = |m: String| ApiError::invalid("bad_scenario", m);
    if let Some(r) = req.runs {
        if r == 0 || r > MAX_RUNS {
            return Err(bad(format!("error: runs must be between 1 and {MAX_RUNS}")));
        }
        s.scenario.runs = r;
    }
    if let Some(m) = req.months {
        s.scenario.months = m;
    }
    if let Some(h) = req.households {
        if s.population.spec.is_none() {
            return Err(bad(
                "error: households: the scenario reads its population from data; its size is the data's".into(),
            ));
        }
        s.population.households = Some(h);
    }
    if s.population.households.unwrap_or(0) > MAX_HOUSEHOLDS {
        return Err(bad(format!(
            "error: households: at most {MAX_HOUSEHOLDS} in a run started over HTTP"
        )));
    }
    if s.scenario.runs > MAX_RUNS {
        s.scenario.runs = MAX_RUNS;
    }
    s.parameters.extend(req.parameters);
    if let Some(r) = req.reform {
        s.reform = Some(Reform {
            name: r.name,
            description: None,
            layer: None,
            parameters: r.parameters,
        });
        // A reform and a sweep do not go together: the request's reform replaces the sweep.
        s.sweep = None;
    }
    let problems = s.validate();
    if !problems.is_empty() {
        let msg: Vec<String> = problems
            .iter()
            .map(|p| format!("error: {}: {}: {}", s.file, p.key, p.message))
            .collect();
        return Err(bad(msg.join("\n")));
    }
    // As `doudi simulate` without --force: a run that cannot fit is refused before it starts.
    let size = estimate::estimate(&s, estimate::available_memory());
    if let Some(problem) = size.problem() {
        return Err(bad(format!(
            "error: {}: the scenario is too large for this machine: {problem}\n  estimate: {}",
            s.file,
            size.describe()
        )));
    }
    Ok(s)
}

/// Runs the scenario as `doudi simulate` does (without writing a report), checking `cancel`
/// between runs. `Err("")` means cancelled.
fn run(job: &Job, scenario: Scenario) -> Result<Value, String> {
    let prepared = setup::prepare(scenario, None).map_err(|e| format!("error: {e}"))?;
    let sim = &prepared.sim;
    job.total_months
        .store(sim.runs as u64 * sim.months as u64, Ordering::Relaxed);
    let progress = || {
        job.done_months.fetch_add(1, Ordering::Relaxed);
    };
    let mut results = Vec::with_capacity(sim.runs as usize);
    let mut winners = Vec::new();
    for r in 0..sim.runs {
        if job.cancel.load(Ordering::Relaxed) {
            return Err(String::new());
        }
        let mut res = sim
            .run(r, &progress)
            .map_err(|e| format!("error: the simulation stopped: {e}"))?;
        if let Some(h) = res.households.take() {
            winners.push(reform::winners_run(&h, sim.months)?);
        }
        results.push(res);
    }
    let outcome = montecarlo::summarise(&prepared, &results, winners)
        .map_err(|e| format!("error: the simulation stopped: {e}"))?;
    Ok(result_json(&prepared, &outcome))
}

fn num(n: &Num) -> Value {
    Value::String(n.format_fixed(2))
}

fn band(b: &Band) -> Value {
    json!({"mean": num(&b.mean), "median": num(&b.median), "p5": num(&b.p5), "p95": num(&b.p95)})
}

/// What the workbench shows: the headline, and per variant (and reform − baseline) the monthly and
/// yearly caseload and spending with their 5–95 % bands, spending by region, and winners and losers.
fn result_json(p: &setup::Prepared, o: &Outcome) -> Value {
    let idx = |pr: &str, me: &str| {
        o.metrics
            .iter()
            .position(|m| m.programme == pr && m.measure == me)
    };
    let measures = [
        ("dibao_households", idx("dibao", "households")),
        ("dibao_persons", idx("dibao", "persons")),
        ("dibao_spending", idx("dibao", "spending")),
        ("total_spending", idx("total", "spending")),
    ];
    let variant = |v: &VariantOutcome| -> Value {
        let mut monthly = serde_json::Map::new();
        let mut yearly = serde_json::Map::new();
        for (name, i) in measures {
            let Some(i) = i else { continue };
            monthly.insert(
                name.into(),
                (0..o.months.len())
                    .map(|t| band(v.monthly.get(t, 0, 0, i)))
                    .collect(),
            );
            yearly.insert(
                name.into(),
                (0..o.years.len())
                    .map(|y| band(v.yearly.get(y, 0, 0, i)))
                    .collect(),
            );
        }
        // Spending by region in the last year (mean of its months).
        let by_region: Value = match (idx("total", "spending"), v.regions) {
            (Some(i), true) => o
                .regions
                .iter()
                .enumerate()
                .skip(1)
                .map(|(r, name)| (name.clone(), band(v.yearly.get(o.years.len() - 1, r, 0, i))))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            _ => Value::Null,
        };
        json!({
            "name": v.name,
            "label": v.label,
            "monthly": monthly,
            "yearly": yearly,
            "spending_by_region_last_year": by_region,
        })
    };
    let winners = o.winners.as_ref().map(|w| {
        json!({
            "households": band(&w.households),
            "shares_mean": w.shares_mean.iter().map(num).collect::<Vec<_>>(),
            "deciles": w.deciles.iter().map(|d| json!({
                "shares_mean": d.shares_mean.iter().map(num).collect::<Vec<_>>(),
                "mean_change": band(&d.mean_change),
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "scenario": p.scenario.scenario.name,
        "title": p.scenario.scenario.title,
        "runs": o.runs,
        "weight": o.weight,
        "households_simulated": p.population.households,
        "months": o.months.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
        "years": o.years.iter().map(|(y, n)| json!({"year": y, "months": n})).collect::<Vec<_>>(),
        "baseline_overrides": p.baseline_overrides,
        "reform_overrides": p.reform_overrides,
        "variants": o.variants.iter().map(variant).collect::<Vec<_>>(),
        "difference": o.diff.as_ref().map(variant),
        "winners": winners,
        "headline": script::headline(p, o),
        "warnings": p.warnings,
    })
}

#[derive(Deserialize)]
pub struct StatusQuery {
    /// Long poll: answer when the run has finished, or after this many milliseconds (at most 30000).
    pub wait_ms: Option<u64>,
}

/// Progress, and the result once done.
pub async fn status(
    State(st): St,
    Path(id): Path<String>,
    Query(q): Query<StatusQuery>,
) -> ApiResult<Json<Value>> {
    let job = st.jobs.get(&id)?;
    let until = std::time::Instant::now()
        + std::time::Duration::from_millis(q.wait_ms.unwrap_or(0).min(30_000));
    while !job.phase().finished() && std::time::Instant::now() < until {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(Json(job.json(true)))
}

/// Asks a run to stop: a queued run never starts, a running one stops before its next Monte Carlo
/// run.
pub async fn cancel(State(st): St, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let job = st.jobs.get(&id)?;
    job.cancel.store(true, Ordering::Relaxed);
    if matches!(job.phase(), Phase::Queued) {
        job.set(Phase::Cancelled);
    }
    Ok(Json(job.json(false)))
}
