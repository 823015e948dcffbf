//! `doudi simulate`, `doudi run` and `doudi generate`: thin wrappers over the simulator library.

use crate::{Fail, Res};
use clap::Args;
use doudi::simulator::{blocks, estimate, montecarlo, report, scenario::Scenario, script, setup};
use std::path::PathBuf;

#[derive(Args)]
pub struct SimulateArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// The report directory (default: reports/<scenario name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override the scenario's number of Monte Carlo runs.
    #[arg(long)]
    runs: Option<u32>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Run even when the size estimate says the scenario does not fit this machine's memory or
    /// would run for more than a day.
    #[arg(long)]
    force: bool,
    /// Run the households in N blocks, as workers of a distributed run would (one after another in
    /// this process, every message between a worker and the driver written as JSON and read back):
    /// the report is the same, byte for byte (docs/SIMULATOR.md, "Running in household blocks").
    #[arg(long, value_name = "N")]
    blocks: Option<usize>,
}

#[derive(Args)]
pub struct RunArgs {
    /// The rhai script.
    script: PathBuf,
    /// Stop the script after this many seconds (simulations included).
    #[arg(long, value_name = "SECONDS", default_value_t = script::DEFAULT_SCRIPT_TIME.as_secs())]
    timeout: u64,
    /// A directory the script may read and write besides its own directory and the working
    /// directory (repeatable).
    #[arg(long, value_name = "DIR")]
    allow: Vec<PathBuf>,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// The population spec (TOML).
    #[arg(long)]
    spec: PathBuf,
    /// How many households (at most --max-households).
    #[arg(long)]
    households: usize,
    /// The most households `generate` accepts (a guard against a typo that would fill the disk).
    #[arg(long, value_name = "N", default_value_t = MAX_GENERATE_HOUSEHOLDS)]
    max_households: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory for households.csv and persons.csv (households.parquet and persons.parquet with
    /// --format parquet).
    #[arg(long)]
    out: PathBuf,
    /// The files' format: the CSV pair, or the Parquet pair (exact types: money as
    /// decimal128(38, 2); docs/DATA.md).
    #[arg(long, value_enum, default_value = "csv")]
    format: PopulationFormat,
    /// The policy whose income test draws who is on the roll (`on_dibao`).
    #[command(flatten)]
    policy: crate::PolicyArgs,
    /// The month whose roll `on_dibao` describes (YYYY-MM).
    #[arg(long)]
    period: String,
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum PopulationFormat {
    Csv,
    Parquet,
}

/// The default cap on `generate --households`.
pub const MAX_GENERATE_HOUSEHOLDS: usize = 50_000_000;

fn progress_bar(total: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {msg} [{bar:40}] {pos}/{len} months ({eta} left)",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

/// The progress bar of a prepared simulation's runs.
fn bar(prepared: &setup::Prepared, quiet: bool) -> indicatif::ProgressBar {
    let sim = &prepared.sim;
    let pb = progress_bar(sim.runs as u64 * sim.months as u64, quiet);
    pb.set_message(format!(
        "{} ({} runs)",
        prepared.scenario.scenario.name, sim.runs
    ));
    pb
}

pub fn simulate(a: SimulateArgs) -> Res {
    let mut scenario =
        Scenario::load(&a.scenario).map_err(|e| Fail::usage(format!("error: {e}")))?;
    if let Some(r) = a.runs {
        if r == 0 || r > doudi::simulator::scenario::MAX_RUNS {
            return Err(Fail::usage(format!(
                "error: --runs must be between 1 and {}",
                doudi::simulator::scenario::MAX_RUNS
            )));
        }
        scenario.scenario.runs = r;
    }
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(&scenario.scenario.name));
    // The report directory is checked before any work, not after the simulation.
    report::check_out(&out).map_err(|e| Fail::usage(format!("error: {e}")))?;
    let size = estimate::estimate(&scenario, estimate::available_memory());
    if let Some(problem) = size.problem() {
        if !a.force {
            return Err(Fail::usage(format!(
                "error: {}: the scenario is too large for this machine: {problem}\n  estimate: {}\n  = help: fewer households, runs, months or sweep values; or --force to run it anyway",
                a.scenario.display(),
                size.describe()
            )));
        }
        eprintln!("warning: {problem}; running anyway (--force)");
    }
    if !a.quiet {
        eprintln!("estimate: {}", size.describe());
    }
    if let Some(n) = a.blocks {
        if n == 0 || n > blocks::MAX_BLOCKS {
            return Err(Fail::usage(format!(
                "error: --blocks must be between 1 and {}",
                blocks::MAX_BLOCKS
            )));
        }
    }
    let started = std::time::Instant::now();
    let (prepared, outcome, prepared_in) = match a.blocks {
        None => {
            let prepared =
                setup::prepare(scenario, None).map_err(|e| Fail::usage(format!("error: {e}")))?;
            for w in &prepared.warnings {
                eprintln!("warning: {w}");
            }
            let prepared_in = started.elapsed();
            let pb = bar(&prepared, a.quiet);
            let outcome = montecarlo::simulate(&prepared, &|| pb.inc(1));
            pb.finish_and_clear();
            (prepared, outcome.map_err(|e| e.0), prepared_in)
        }
        // Set-up, the take-up fit and the runs in blocks, through the blocks' messages.
        Some(n) => {
            let months = scenario.scenario.runs as u64 * scenario.scenario.months as u64;
            let pb = progress_bar(months, a.quiet);
            pb.set_message(format!("{} ({n} blocks)", scenario.scenario.name));
            let r = blocks::simulate_in_blocks(scenario, n, &|| pb.inc(1));
            pb.finish_and_clear();
            let (outcome, prepared) = r.map_err(|e| Fail::usage(format!("error: {e}")))?;
            for w in &prepared.warnings {
                eprintln!("warning: {w}");
            }
            (prepared, Ok(outcome), started.elapsed())
        }
    };
    let outcome =
        outcome.map_err(|e| Fail::usage(format!("error: the simulation stopped: {e}")))?;
    let sim = &prepared.sim;
    let simulated_in = started.elapsed() - prepared_in;
    let written =
        report::write(&prepared, &outcome, &out).map_err(|e| Fail::usage(format!("error: {e}")))?;
    if !a.quiet {
        eprintln!(
            "prepared {} households in {:.1} s, simulated {} run(s) × {} months in {:.1} s, wrote the report in {:.1} s",
            sim.population.len(),
            prepared_in.as_secs_f64(),
            sim.runs,
            sim.months,
            simulated_in.as_secs_f64(),
            (started.elapsed() - prepared_in - simulated_in).as_secs_f64()
        );
    }
    print!("{}", script::headline(&prepared, &outcome));
    println!("report: {}", written.dir.join("report.html").display());
    println!(
        "        ({} files in {}; open report.html in a browser)",
        written.files.len(),
        written.dir.display()
    );
    Ok(())
}

pub fn run(a: RunArgs) -> Res {
    if a.timeout == 0 {
        return Err(Fail::usage("error: --timeout must be at least 1 second"));
    }
    let limits = script::ScriptLimits {
        timeout: std::time::Duration::from_secs(a.timeout),
        allow: a.allow,
    };
    let out = script::run_file_with(&a.script, &limits)
        .map_err(|e| Fail::usage(format!("error: {e}")))?;
    print!("{out}");
    Ok(())
}

pub fn generate(a: GenerateArgs) -> Res {
    use doudi::simulator::{population, spec::PopulationSpec};
    let (spec, warnings) =
        PopulationSpec::load(&a.spec).map_err(|e| Fail::usage(format!("error: {e}")))?;
    for w in &warnings {
        eprintln!("{w}");
    }
    if a.households == 0 {
        return Err(Fail::usage("error: --households must be at least 1"));
    }
    if a.households > a.max_households {
        return Err(Fail::usage(format!(
            "error: --households {} is more than {}; raise the cap with --max-households if you mean it",
            a.households, a.max_households
        )));
    }
    let policy = crate::load_policy(&a.policy)?;
    let month = crate::month(&a.period)?;
    let screen = doudi::simulator::screen::PolicyScreen::new(&policy, month)
        .map_err(|e| Fail::usage(format!("error: {e}")))?;
    // Temporary directories a killed `generate` left here.
    doudi::interpreter::tmpfiles::sweep(&a.out);
    let report = match a.format {
        PopulationFormat::Csv => population::generate(&spec, a.households, a.seed, &a.out, &screen)
            .map_err(|e| Fail::usage(format!("error: {e}")))?,
        PopulationFormat::Parquet => {
            let started = std::time::Instant::now();
            let g = population::Generator::new(&spec, a.seed, &screen);
            let mut r = crate::parquet_io::write_population(&g, a.households, &policy, &a.out)?;
            r.elapsed_seconds = started.elapsed().as_secs_f64();
            r
        }
    };
    print!("{report}");
    Ok(())
}
