//! `doudi serve`: the HTTP decision service (doudi-service) on a tokio runtime.

use crate::{Fail, Res};
use clap::Args;
use doudi_service::{AppState, Config, Limits};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args)]
pub struct ServeArgs {
    /// A policy directory to serve, under its directory name (repeatable).
    #[arg(long, required = true)]
    policy: Vec<PathBuf>,
    /// The address to listen on (localhost by default; another address exposes the service).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Append every decision (input, outputs, policy version, time) to FILE as JSON lines.
    #[arg(long, value_name = "FILE")]
    decision_log: Option<PathBuf>,
    /// The directory of scenario files clients may run by name (default: ./scenarios if present).
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// The largest request body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    max_body: usize,
    /// The most households in one evaluate request.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_batch)]
    max_batch: usize,
    /// Answer every request within this many seconds (408 after).
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().timeout.as_secs())]
    timeout: u64,
    /// Scenario runs queued or running at once.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_runs)]
    max_runs: usize,
}

pub fn serve(a: ServeArgs) -> Res {
    if a.timeout == 0 || a.max_batch == 0 || a.max_body == 0 || a.max_runs == 0 {
        return Err(Fail::usage(
            "error: --timeout, --max-batch, --max-body and --max-runs must be at least 1",
        ));
    }
    let scenarios = a.scenarios.or_else(|| {
        let d = PathBuf::from("scenarios");
        d.is_dir().then_some(d)
    });
    let config = Config {
        policies: a.policy,
        scenarios,
        decision_log: a.decision_log,
        limits: Limits {
            max_body_bytes: a.max_body,
            max_batch: a.max_batch,
            timeout: std::time::Duration::from_secs(a.timeout),
            max_runs: a.max_runs,
        },
    };
    let state = AppState::load(config).map_err(Fail::usage)?;
    for p in state.policies.all() {
        eprintln!(
            "serving policy {} ({}) version {}",
            p.name,
            p.dir.display(),
            p.version
        );
    }
    eprintln!(
        "listening on http://{} (workbench: http://{}/)",
        a.listen, a.listen
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Fail::usage(format!("error: cannot start the runtime: {e}")))?;
    rt.block_on(doudi_service::serve(state, a.listen))
        .map_err(Fail::usage)
}
