//! The `doudi` command line: parses arguments, calls the libraries, prints. Exit codes: 0 ok,
//! 1 a check or test failure, 2 a usage or input error.

use clap::{Args, Parser, Subcommand, ValueEnum};
use doudi::interpreter::{self, data, Month, Policy};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc: the readers and the simulator allocate many small vectors from several threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod commands;
mod diff;
mod eval_stream;
mod fmt;
mod parquet_io;
mod serve;
mod simulate;

#[derive(Parser)]
#[command(
    name = "doudi",
    version,
    about = "兜底 doudi: write, check, test and simulate social-assistance policy rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check policies; print every error and warning.
    Check {
        /// Policy directories or files (a directory of policies is searched).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Evaluate a policy for households; one row per household.
    Eval(EvalArgs),
    /// Explain how one output was derived for one household (formula, inputs, parameters, citations).
    Explain(ExplainArgs),
    /// Run the test cases beside policies (`tests/*.toml`); ends with `N passed, N failed`.
    /// A differing value is shown with the path through its derivation that led to it.
    Test {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Also print the whole derivation of each differing value, after its path.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Audit a dibao roll: paid but not eligible, eligible but not paid, dead or imprisoned members.
    Audit(commands::AuditArgs),
    /// List every programme a household and its members qualify for, and the nearest failing condition.
    Chain(commands::ChainArgs),
    /// Simulate a scenario month by month (Monte Carlo, reform, sweep) and write a report directory.
    Simulate(simulate::SimulateArgs),
    /// Run a rhai script that loads policies and populations, simulates and writes reports.
    Run(simulate::RunArgs),
    /// Generate a synthetic population (households.csv + persons.csv) from a population spec.
    Generate(simulate::GenerateArgs),
    /// Rewrite `.doudi` files in the canonical layout; `--check` only lists the files that are not.
    Fmt {
        /// Write nothing: list the files that are not formatted (exit 1 if any).
        #[arg(long)]
        check: bool,
        /// `.doudi` files or directories (searched recursively; symbolic links are not followed).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// The impact of a rule change: two policies on the same households (who changes, programme
    /// totals, gainers and losers, why), or `--tests`: the base policy's tests the change breaks.
    Diff(diff::DiffArgs),
    /// Serve policies over HTTP: evaluate, explain, chain, check, scenario runs, and the workbench page.
    Serve(serve::ServeArgs),
    /// Run the language server for editors (the Language Server Protocol on stdin and stdout).
    Lsp,
}

#[derive(Args)]
pub struct PolicyArgs {
    /// The policy: a directory of `.doudi` files or one file.
    #[arg(long)]
    pub policy: PathBuf,
    /// Override a parameter at every date: NAME=VALUE or NAME.KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Override parameters from a TOML file (`name = value`, `name = { key = value }`).
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
}

#[derive(Args)]
pub struct DataArgs {
    /// Households as JSON (one object or an array) or JSON Lines.
    #[arg(long, conflicts_with_all = ["households", "data"])]
    pub input: Option<PathBuf>,
    /// households.csv, or households.parquet (with --persons).
    #[arg(long, requires = "persons", conflicts_with = "data")]
    pub households: Option<PathBuf>,
    /// persons.csv, or persons.parquet (with --households).
    #[arg(long, requires = "households")]
    pub persons: Option<PathBuf>,
    /// A directory holding households.csv and persons.csv, or households.parquet and
    /// persons.parquet.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Csv,
    /// A Parquet file (needs --out): exact types, money as decimal128(38, 2); docs/DATA.md.
    Parquet,
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    data: DataArgs,
    /// The month, YYYY-MM (parameters in force on its first day).
    #[arg(long, default_value = "2024-01")]
    period: String,
    /// Household outputs, comma-separated, in this order (default: every household definition).
    #[arg(long, value_delimiter = ',')]
    outputs: Vec<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Also compute the programme-level definitions over all households.
    #[arg(long)]
    totals: bool,
    /// Write the rows to FILE (atomically: the file appears complete or not at all) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Evaluate every month from --period through this one (YYYY-MM), carrying each household's
    /// states (the policy's `state` definitions) from month to month; rows gain a `period` column.
    #[arg(long, value_name = "YYYY-MM")]
    through: Option<String>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum TextOrJson {
    Text,
    Json,
}

#[derive(Args)]
struct ExplainArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// The household, as JSON.
    #[arg(long)]
    input: PathBuf,
    /// Which household of the file (default: the only or first one).
    #[arg(long)]
    household: Option<String>,
    /// The output to explain (a household definition, or a person definition with --member).
    #[arg(long)]
    output: String,
    /// For a person definition: the member's id.
    #[arg(long)]
    member: Option<String>,
    #[arg(long, default_value = "2024-01")]
    period: String,
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
    /// Show the derivation only N levels deep (1: the output alone); each hidden part becomes one
    /// line saying how many lines it holds and the --depth that shows it.
    #[arg(long, value_name = "N", value_parser = parse_depth, conflicts_with = "short")]
    depth: Option<usize>,
    /// Only what decided the output: the exception, `if` branch or table row that decided each
    /// definition of its derivation, the parameters, and the citations, as a compact list.
    #[arg(long)]
    short: bool,
}

/// `--depth N`: a number of levels, from 1 (the output alone).
fn parse_depth(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "`{s}` is not a number of levels: 1 shows the output alone, 2 also the definitions it uses, and so on"
        )),
    }
}

/// A failure that ends the command with an exit code.
pub struct Fail {
    pub code: u8,
    pub message: String,
}

impl Fail {
    pub fn usage(m: impl Into<String>) -> Fail {
        Fail {
            code: 2,
            message: m.into(),
        }
    }
    pub fn check(m: impl Into<String>) -> Fail {
        Fail {
            code: 1,
            message: m.into(),
        }
    }
}

pub type Res<T = ()> = Result<T, Fail>;

/// Restores SIGPIPE's default action (Rust ignores it, so printing to a closed pipe panics): when
/// the reader of `doudi … | head` goes away, the process ends quietly, as Unix tools do.
fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first in `main`, before any thread starts; `signal` with `SIG_DFL` installs no
    // handler code, it only resets the action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Not for the server: a client that closes its connection must not end it.
    if !matches!(cli.command, Command::Serve(_) | Command::Lsp) {
        end_quietly_on_closed_pipe();
    }
    let r = match cli.command {
        Command::Check { paths } => check(&paths),
        Command::Eval(a) => eval(a),
        Command::Explain(a) => explain(a),
        Command::Test { paths, verbose } => test(&paths, verbose),
        Command::Audit(a) => commands::audit(a),
        Command::Chain(a) => commands::chain(a),
        Command::Simulate(a) => simulate::simulate(a),
        Command::Run(a) => simulate::run(a),
        Command::Generate(a) => simulate::generate(a),
        Command::Fmt { check, paths } => fmt::fmt(&paths, check),
        Command::Serve(a) => serve::serve(a),
        Command::Diff(a) => diff::diff(a),
        Command::Lsp => {
            doudi_lsp::run_stdio().map_err(|e| Fail::usage(format!("error: language server: {e}")))
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                let _ = std::io::stdout().flush();
                eprintln!("{}", f.message.trim_end());
            }
            ExitCode::from(f.code)
        }
    }
}

/// Loads a policy with its overrides, printing warnings to stderr.
pub fn load_policy(a: &PolicyArgs) -> Res<Policy> {
    let loaded = Policy::load(&a.policy).map_err(|e| Fail::usage(e.render()))?;
    let mut policy = loaded.policy;
    if let Some(p) = &a.params {
        let text = std::fs::read_to_string(p)
            .map_err(|e| Fail::usage(format!("error: cannot read {}: {e}", p.display())))?;
        policy
            .set_params_toml(&text, &p.display().to_string())
            .map_err(|e| Fail::usage(format!("error: {e}")))?;
    }
    for s in &a.set {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| Fail::usage(format!("error: --set expects NAME=VALUE, found `{s}`")))?;
        policy
            .set_param(k, v)
            .map_err(|e| Fail::usage(format!("error: --set {e}")))?;
    }
    Ok(policy)
}

pub fn month(s: &str) -> Res<Month> {
    Month::parse(s).map_err(|e| Fail::usage(format!("error: --period: {e}")))
}

/// Reads every household named by the data arguments.
pub fn read_data(policy: &Policy, d: &DataArgs) -> Res<Vec<data::Household>> {
    if let Some(hs) = parquet_io::read_parquet_data(&policy.schema, d)? {
        return Ok(hs);
    }
    let r = match (&d.input, &d.households, &d.persons, &d.data) {
        (Some(p), _, _, _) => data::read_json_path(&policy.schema, p),
        (None, Some(h), Some(p), _) => data::read_csv_pair(&policy.schema, h, p),
        (None, None, None, Some(dir)) => data::read_csv_dir(&policy.schema, dir),
        _ => return Err(Fail::usage("error: give the households with --input FILE, --households FILE --persons FILE, or --data DIR")),
    };
    r.map_err(|e| Fail::usage(format!("error: {e}")))
}

fn check(paths: &[PathBuf]) -> Res {
    let mut errors = 0usize;
    let mut warnings = 0usize;
    let mut count = 0usize;
    for root in paths {
        let found = interpreter::testing::find_policies(root);
        if found.is_empty() {
            return Err(Fail::usage(format!(
                "error: no policy found at {}",
                root.display()
            )));
        }
        for p in found {
            count += 1;
            match Policy::load(&p) {
                Ok(l) => {
                    if !l.warnings.is_empty() {
                        print!(
                            "{}",
                            doudi::dsl::diag::render_all(&l.warnings, l.policy.sources())
                        );
                    }
                    warnings += l.warnings.len();
                    let prog = &l.policy.program;
                    println!(
                        "ok: {} ({} definitions, {} parameters, {} layer{})",
                        p.display(),
                        prog.defs.len(),
                        prog.params.len(),
                        prog.layers.len(),
                        if prog.layers.len() == 1 { "" } else { "s" }
                    );
                }
                Err(e) => {
                    errors +=
                        e.diagnostics.iter().filter(|d| d.is_error()).count() + e.errors.len();
                    warnings += e.diagnostics.iter().filter(|d| !d.is_error()).count();
                    print!("{}", e.render());
                    println!("failed: {}", p.display());
                }
            }
        }
    }
    println!(
        "checked {count} polic{}: {errors} error{}, {warnings} warning{}",
        if count == 1 { "y" } else { "ies" },
        s(errors),
        s(warnings)
    );
    if errors > 0 {
        Err(Fail::check(""))
    } else {
        Ok(())
    }
}

fn s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn output_ids(policy: &Policy, names: &[String]) -> Res<Vec<u32>> {
    use doudi::dsl::ast::EntityKind;
    if names.is_empty() {
        return Ok(policy
            .program
            .defs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.entity == EntityKind::Household)
            .map(|(i, _)| i as u32)
            .collect());
    }
    names
        .iter()
        .map(|n| {
            let id = policy.output(n.trim()).map_err(|e| Fail::usage(format!("error: --outputs: {e}")))?;
            if policy.program.defs[id as usize].entity != EntityKind::Household {
                return Err(Fail::usage(format!(
                    "error: --outputs: `{n}` is a {} definition; `eval` prints one row per household (use `explain --member` for a person)",
                    policy.program.defs[id as usize].entity.as_str()
                )));
            }
            Ok(id)
        })
        .collect()
}

fn eval(a: EvalArgs) -> Res {
    if a.format == Format::Parquet && a.out.is_none() {
        return Err(Fail::usage(
            "error: --format parquet writes a binary file: give it with --out FILE (Parquet is not written to a terminal or standard output)",
        ));
    }
    let policy = load_policy(&a.policy)?;
    let m = month(&a.period)?;
    if let Some(last) = &a.through {
        return eval_months(&a, &policy, m, month(last)?);
    }
    let outputs = output_ids(&policy, &a.outputs)?;
    let names: Vec<String> = outputs
        .iter()
        .map(|&d| policy.program.defs[d as usize].name.clone())
        .collect();
    let mut totals = interpreter::programme::Totals::new(&policy, m);
    let mut writer = RowWriter::new(a.format, &names);
    let io = |e: std::io::Error| Fail::usage(format!("error: cannot write the output: {e}"));
    match &a.out {
        Some(path) => {
            // Into a temporary file beside FILE, renamed into place only when every row is written.
            let mut file = interpreter::tmpfiles::AtomicFile::create(path)
                .map_err(|e| Fail::usage(format!("error: --out {e}")))?;
            eval_rows(
                &a,
                &policy,
                m,
                &outputs,
                &mut totals,
                &mut file,
                &mut writer,
            )?;
            file.commit()
                .map_err(|e| Fail::usage(format!("error: --out {e}")))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            if let Err(mut f) =
                eval_rows(&a, &policy, m, &outputs, &mut totals, &mut out, &mut writer)
            {
                // Rows may already be on stdout: close what is open and say so on the last line.
                let _ = writer.abort(&mut out);
                let _ = out.flush();
                if writer.rows > 0 {
                    f.message = format!(
                        "{}\nerror: evaluation stopped; the output above is incomplete ({} row{} written before the error)",
                        f.message.trim_end(),
                        writer.rows,
                        s(writer.rows)
                    );
                }
                return Err(f);
            }
            out.flush().map_err(io)?;
        }
    }
    if a.totals && !totals.is_empty() {
        let n = totals.households;
        let values = totals
            .finish()
            .map_err(|e| Fail::usage(e.render(policy.sources())))?;
        let mut err = std::io::stderr();
        let _ = writeln!(err, "programme totals over {n} households ({m}):");
        for (d, v) in values {
            let def = &policy.program.defs[d as usize];
            let label = def
                .label
                .as_deref()
                .map(|l| format!(" {l}"))
                .unwrap_or_default();
            let _ = writeln!(
                err,
                "  {}{label} = {}",
                def.name,
                policy.display(def.ty, &v)
            );
        }
    }
    Ok(())
}

/// `eval --through`: every month from `first` to `last`, the households carried from month to month
/// (the policy's states); one row per household and month, with a `period` column first.
fn eval_months(a: &EvalArgs, policy: &Policy, first: Month, last: Month) -> Res {
    if last < first {
        return Err(Fail::usage(format!(
            "error: --through {last} is before --period {first}"
        )));
    }
    let months = (last.year - first.year) * 12 + last.month as i32 - first.month as i32 + 1;
    if months > 600 {
        return Err(Fail::usage(format!(
            "error: --period {first} --through {last} spans {months} months; at most 600 (50 years) are evaluated at once"
        )));
    }
    if a.totals {
        return Err(Fail::usage(
            "error: --totals is for one month; run `doudi eval` once per month for programme totals",
        ));
    }
    let outputs = output_ids(policy, &a.outputs)?;
    let mut names = vec!["period".to_string()];
    names.extend(
        outputs
            .iter()
            .map(|&d| policy.program.defs[d as usize].name.clone()),
    );
    let mut tys = vec![doudi::dsl::ir::Ty::Text];
    tys.extend(outputs.iter().map(|&d| policy.program.defs[d as usize].ty));
    let mut hs = read_data(policy, &a.data)?;
    let fmt = RowFormat {
        format: a.format,
        names: &names,
        tys: &tys,
        policy,
    };
    let mut writer = RowWriter::new(a.format, &names);
    if a.format == Format::Parquet {
        writer.parquet = Some(parquet_io::ParquetRows::new(parquet_io::output_columns(
            policy, &names, &tys,
        )));
    }
    let render_err = |e: interpreter::EvalError| Fail::usage(e.render(policy.sources()));
    let io = |e: std::io::Error| Fail::usage(format!("error: cannot write the output: {e}"));
    let mut buf: Vec<u8> = Vec::new();
    for k in 0..months {
        let m = first.plus(k);
        let period = interpreter::Value::Text(m.to_string().into());
        let rows = interpreter::batch::map_chunk(policy, &hs, m, &outputs, |h, row| {
            let mut r = Vec::with_capacity(row.len() + 1);
            r.push(period.clone());
            r.extend_from_slice(row);
            fmt.row(&h.id, &r)
        })
        .map_err(render_err)?;
        for row in rows {
            writer.emit(&mut buf, row).map_err(io)?;
        }
        interpreter::batch::advance(policy, &mut hs, m).map_err(render_err)?;
    }
    writer.finish(&mut buf).map_err(io)?;
    match &a.out {
        Some(path) => {
            let mut file = interpreter::tmpfiles::AtomicFile::create(path)
                .map_err(|e| Fail::usage(format!("error: --out {e}")))?;
            file.write_all(&buf).map_err(io)?;
            file.commit()
                .map_err(|e| Fail::usage(format!("error: --out {e}")))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&buf).map_err(io)?;
            out.flush().map_err(io)?;
        }
    }
    Ok(())
}

/// Evaluates every household of the data arguments and writes the rows to `out`.
fn eval_rows<'p>(
    a: &EvalArgs,
    policy: &'p Policy,
    m: Month,
    outputs: &[u32],
    totals: &mut interpreter::programme::Totals<'p>,
    out: &mut dyn Write,
    writer: &mut RowWriter,
) -> Res {
    let names = writer.names.clone();
    let tys: Vec<_> = outputs
        .iter()
        .map(|&d| policy.program.defs[d as usize].ty)
        .collect();
    let want_totals = a.totals;
    let render_err = |e: interpreter::EvalError| Fail::usage(e.render(policy.sources()));
    let io = |e: std::io::Error| Fail::usage(format!("error: cannot write the output: {e}"));
    let fmt = RowFormat {
        format: a.format,
        names: &names,
        tys: &tys,
        policy,
    };
    if a.format == Format::Parquet {
        let columns = parquet_io::output_columns(policy, &names, &tys);
        writer.parquet = Some(parquet_io::ParquetRows::new(columns));
    }
    // CSV pairs stream segment by segment: memory does not grow with the number of households.
    // A Parquet pair is decoded whole and evaluated in chunks; JSON is read whole.
    let files = parquet_io::data_files(&a.data)?;
    let totals = want_totals.then_some(totals);
    match files {
        parquet_io::DataFiles::Csv(h, p) => {
            eval_stream::eval_pair(policy, (&h, &p), m, outputs, &fmt, totals, out, writer)?;
        }
        parquet_io::DataFiles::Parquet(h, p) => {
            eval_stream::eval_parquet(policy, (&h, &p), m, outputs, &fmt, totals, out, writer)?;
        }
        parquet_io::DataFiles::Other => {
            let hs = read_data(policy, &a.data)?;
            let rows = match totals {
                Some(totals) => {
                    interpreter::batch::evaluate_chunk_with_totals(policy, &hs, m, outputs, totals)
                        .map_err(render_err)?
                        .iter()
                        .zip(&hs)
                        .map(|(row, h)| fmt.row(&h.id, row))
                        .collect()
                }
                // Evaluated and formatted in parallel, written in input order.
                None => interpreter::batch::map_chunk(policy, &hs, m, outputs, |h, row| {
                    fmt.row(&h.id, row)
                })
                .map_err(render_err)?,
            };
            for row in rows {
                writer.emit(out, row).map_err(io)?;
            }
        }
    }
    writer.finish(out).map_err(io)
}

/// Formats one evaluation row (in any thread).
struct RowFormat<'a> {
    format: Format,
    names: &'a [String],
    tys: &'a [doudi::dsl::ir::Ty],
    policy: &'a Policy,
}

/// A formatted row: a CSV line or a JSON object (without separators), or table cells.
enum Formatted {
    Text(String),
    Cells(Vec<String>),
    /// A row for the Parquet writer: the household id and its values.
    Values(String, Vec<interpreter::Value>),
}

impl RowFormat<'_> {
    fn row(&self, id: &str, row: &[interpreter::Value]) -> Formatted {
        let cells = row
            .iter()
            .zip(self.tys)
            .map(|(v, t)| self.policy.display(*t, v));
        match self.format {
            Format::Csv => {
                let mut line = String::with_capacity(16 * (row.len() + 1));
                push_csv_cell(&mut line, id);
                for c in cells {
                    line.push(',');
                    push_csv_cell(&mut line, &c);
                }
                line.push('\n');
                Formatted::Text(line)
            }
            Format::Json => {
                let mut m = serde_json::Map::new();
                m.insert("household_id".into(), id.into());
                for ((n, c), v) in self.names.iter().zip(cells).zip(row) {
                    let j = match v {
                        interpreter::Value::Bool(b) => serde_json::Value::Bool(*b),
                        interpreter::Value::Int(i) => serde_json::Value::from(*i),
                        _ => serde_json::Value::String(c),
                    };
                    m.insert(n.clone(), j);
                }
                Formatted::Text(serde_json::Value::Object(m).to_string())
            }
            Format::Table => {
                let mut r = vec![id.to_string()];
                r.extend(cells);
                Formatted::Cells(r)
            }
            Format::Parquet => Formatted::Values(id.to_string(), row.to_vec()),
        }
    }
}

/// Writes evaluation rows as a table, CSV or JSON.
struct RowWriter {
    format: Format,
    names: Vec<String>,
    started: bool,
    table: Vec<Vec<String>>,
    /// Rows written so far.
    rows: usize,
    /// `--format parquet`: the Parquet encoder (set by the caller, who knows the columns' types).
    parquet: Option<parquet_io::ParquetRows>,
}

impl RowWriter {
    fn new(format: Format, names: &[String]) -> RowWriter {
        RowWriter {
            format,
            names: names.to_vec(),
            started: false,
            table: Vec::new(),
            rows: 0,
            parquet: None,
        }
    }
    fn emit(&mut self, out: &mut dyn Write, row: Formatted) -> std::io::Result<()> {
        self.rows += 1;
        match (self.format, row) {
            (Format::Csv, Formatted::Text(line)) => {
                if !self.started {
                    writeln!(out, "household_id,{}", self.names.join(","))?;
                    self.started = true;
                }
                out.write_all(line.as_bytes())
            }
            (Format::Json, Formatted::Text(object)) => {
                write!(out, "{}", if self.started { ",\n  " } else { "[\n  " })?;
                self.started = true;
                out.write_all(object.as_bytes())
            }
            (_, Formatted::Cells(r)) => {
                self.table.push(r);
                Ok(())
            }
            (_, Formatted::Values(id, row)) => match &mut self.parquet {
                Some(p) => p.push(out, id, row),
                None => Ok(()),
            },
            (_, Formatted::Text(_)) => Ok(()),
        }
    }
    /// After an error: closes a JSON array already opened (nothing else is written; a table is never
    /// printed in part, since it is written at the end).
    fn abort(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.format == Format::Json && self.started {
            writeln!(out, "\n]")?;
        }
        if self.format == Format::Table {
            self.table.clear();
            self.rows = 0;
        }
        Ok(())
    }
    fn finish(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        match self.format {
            Format::Csv => {
                if !self.started {
                    writeln!(out, "household_id,{}", self.names.join(","))?;
                }
                Ok(())
            }
            Format::Json => writeln!(out, "{}", if self.started { "\n]" } else { "[]" }),
            Format::Parquet => match &mut self.parquet {
                Some(p) => p.finish(out),
                None => Ok(()),
            },
            Format::Table => {
                let mut header = vec!["household_id".to_string()];
                header.extend(self.names.iter().cloned());
                let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
                for r in &self.table {
                    for (w, c) in widths.iter_mut().zip(r) {
                        *w = (*w).max(c.chars().count());
                    }
                }
                let line = |r: &[String]| -> String {
                    r.iter()
                        .zip(&widths)
                        .enumerate()
                        .map(|(i, (c, w))| {
                            if i == 0 {
                                format!("{c:<w$}")
                            } else {
                                format!("{c:>w$}")
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("  ")
                };
                writeln!(out, "{}", line(&header))?;
                for r in &self.table {
                    writeln!(out, "{}", line(r))?;
                }
                Ok(())
            }
        }
    }
}

fn push_csv_cell(line: &mut String, s: &str) {
    if s.contains([',', '"', '\n']) {
        line.push_str(&csv_cell(s));
    } else {
        line.push_str(s);
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Picks one household of a file by id (or the first).
pub fn pick_household(
    hs: Vec<data::Household>,
    id: Option<&str>,
    path: &Path,
) -> Res<data::Household> {
    match id {
        Some(id) => hs.into_iter().find(|h| h.id == id).ok_or_else(|| {
            Fail::usage(format!("error: no household `{id}` in {}", path.display()))
        }),
        None => hs
            .into_iter()
            .next()
            .ok_or_else(|| Fail::usage(format!("error: no household in {}", path.display()))),
    }
}

fn explain(a: ExplainArgs) -> Res {
    use doudi::dsl::ast::EntityKind;
    use interpreter::{explain as ex, HouseholdEval, Scope};
    let policy = load_policy(&a.policy)?;
    let m = month(&a.period)?;
    let hs = data::read_json_path(&policy.schema, &a.input)
        .map_err(|e| Fail::usage(format!("error: {e}")))?;
    let hh = pick_household(hs, a.household.as_deref(), &a.input)?;
    let id = policy
        .output(&a.output)
        .map_err(|e| Fail::usage(format!("error: --output: {e}")))?;
    let def = &policy.program.defs[id as usize];
    let scope = match (def.entity, &a.member) {
        (EntityKind::Household, None) => Scope::Household,
        (EntityKind::Person, Some(pid)) => {
            let i = hh
                .members
                .iter()
                .position(|p| &p.id == pid)
                .ok_or_else(|| {
                    Fail::usage(format!("error: no member `{pid}` in household {}", hh.id))
                })?;
            Scope::Person(i)
        }
        (EntityKind::Person, None) => {
            let ids: Vec<&str> = hh.members.iter().map(|p| p.id.as_str()).collect();
            return Err(Fail::usage(format!(
                "error: `{}` is a person definition: add --member (one of {})",
                a.output,
                ids.join(", ")
            )));
        }
        (EntityKind::Household, Some(_)) => {
            return Err(Fail::usage(format!(
                "error: `{}` is a household definition: drop --member",
                a.output
            )))
        }
        (EntityKind::Programme, _) => {
            return Err(Fail::usage(format!(
                "error: `{}` is a programme total: use `doudi eval --totals`",
                a.output
            )))
        }
    };
    if a.format == TextOrJson::Json && (a.short || a.depth.is_some()) {
        return Err(Fail::usage(
            "error: --short and --depth shape the text output: drop --format json (JSON always holds the whole tree)",
        ));
    }
    let mut ev = HouseholdEval::new(&policy, &hh, m);
    let node =
        ex::explain(&mut ev, id, scope).map_err(|e| Fail::usage(e.render(policy.sources())))?;
    match a.format {
        TextOrJson::Text if a.short => {
            print!("{}", interpreter::explain_short::render_short(&node))
        }
        TextOrJson::Text => match a.depth {
            Some(d) => print!("{}", ex::render_text_depth(&node, d)),
            None => print!("{}", ex::render_text(&node)),
        },
        TextOrJson::Json => println!(
            "{}",
            serde_json::to_string_pretty(&node).unwrap_or_default()
        ),
    }
    Ok(())
}

fn test(paths: &[PathBuf], verbose: bool) -> Res {
    let mut passed = 0usize;
    let mut failed = 0usize;
    for root in paths {
        let found = interpreter::testing::find_policies(root);
        if found.is_empty() {
            return Err(Fail::usage(format!(
                "error: no policy found at {}",
                root.display()
            )));
        }
        for p in found {
            let files = interpreter::testing::test_files(&p);
            match Policy::load(&p) {
                Err(e) => {
                    print!("{}", e.render());
                    println!("FAIL {}: the policy does not load", p.display());
                    failed += 1;
                }
                Ok(l) => {
                    for f in files {
                        let cases = if verbose {
                            interpreter::testing::run_file_verbose(&l.policy, &f)
                        } else {
                            interpreter::testing::run_file(&l.policy, &f)
                        };
                        for c in cases {
                            if c.failures.is_empty() {
                                passed += 1;
                                println!("ok   {} :: {}", c.file, c.name);
                            } else {
                                failed += 1;
                                println!("FAIL {} :: {}", c.file, c.name);
                                for msg in &c.failures {
                                    for line in msg.lines() {
                                        println!("     {line}");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        Err(Fail::check(""))
    } else {
        Ok(())
    }
}
