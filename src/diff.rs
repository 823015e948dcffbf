//! `doudi diff`: parses the arguments, reads the households (the CSV pair streamed in chunks) and
//! prints what `doudi_interpreter::diff` computes.

use crate::{load_policy, month, read_data, DataArgs, Fail, PolicyArgs, Res};
use clap::{Args, ValueEnum};
use doudi::interpreter::{data, diff, testing, Policy};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DiffFormat {
    Text,
    Json,
    Csv,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The policy as it is: a directory of `.doudi` files or one file.
    #[arg(long)]
    base: PathBuf,
    /// The changed policy (e.g. a layer that extends the base); default: the base with --set/--params.
    #[arg(long)]
    new: Option<PathBuf>,
    /// Override a parameter of the new policy at every date: NAME=VALUE or NAME.KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Override parameters of the new policy from a TOML file.
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    /// Run the base policy's tests (`tests/*.toml`) against the new policy and list the cases the
    /// change breaks (exit 1 if any), instead of comparing households.
    #[arg(long, conflicts_with_all = ["input", "households", "data"])]
    tests: bool,
    /// The month, YYYY-MM (parameters in force on its first day).
    #[arg(long, default_value = "2024-01")]
    period: String,
    /// Household outputs to compare, comma-separated (default: every household definition of both).
    #[arg(long, value_delimiter = ',')]
    outputs: Vec<String>,
    /// The household money output whose change makes a gainer or a loser (default: the first of
    /// total_benefit, paid, dibao_payment the policies define).
    #[arg(long, value_name = "OUTPUT")]
    measure: Option<String>,
    /// text (for drafters), json (everything, exact amounts), csv (one row per household and changed output).
    #[arg(long, value_enum, default_value = "text")]
    format: DiffFormat,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also compare every person definition, member by member (the reference evaluator: slower).
    #[arg(long)]
    person_outputs: bool,
    /// How many changed households to explain (why the output changed).
    #[arg(long, value_name = "N", default_value_t = 3)]
    examples: usize,
}

/// Loads both policies: the new one is `--new` (or the base again) with the overrides.
fn policies(a: &DiffArgs) -> Res<(Policy, Policy)> {
    let base = load_policy(&PolicyArgs {
        policy: a.base.clone(),
        set: Vec::new(),
        params: None,
    })?;
    if a.new.is_none() && a.set.is_empty() && a.params.is_none() {
        return Err(Fail::usage(
            "error: give the changed policy with --new POLICY (or change the base with --set / --params)",
        ));
    }
    let new = load_policy(&PolicyArgs {
        policy: a.new.clone().unwrap_or_else(|| a.base.clone()),
        set: a.set.clone(),
        params: a.params.clone(),
    })?;
    Ok((base, new))
}

fn new_name(a: &DiffArgs) -> String {
    let mut s = a.new.as_ref().unwrap_or(&a.base).display().to_string();
    for x in &a.set {
        s.push_str(&format!(" --set {x}"));
    }
    if let Some(p) = &a.params {
        s.push_str(&format!(" --params {}", p.display()));
    }
    s
}

pub fn diff(a: DiffArgs) -> Res {
    let (base, new) = policies(&a)?;
    let mut buf: Vec<u8> = Vec::new();
    let code = if a.tests {
        tests(&a, &base, &new, &mut buf)?
    } else {
        households(&a, &base, &new, &mut buf)?;
        0
    };
    write_out(a.out.as_deref(), &buf)?;
    if code == 0 {
        Ok(())
    } else {
        Err(Fail::check(""))
    }
}

fn write_out(path: Option<&Path>, buf: &[u8]) -> Res {
    let io = |e: std::io::Error| Fail::usage(format!("error: cannot write the output: {e}"));
    match path {
        Some(path) => {
            let mut file = doudi::interpreter::tmpfiles::AtomicFile::create(path)
                .map_err(|e| Fail::usage(format!("error: --out {e}")))?;
            file.write_all(buf).map_err(io)?;
            file.commit()
                .map_err(|e| Fail::usage(format!("error: --out {e}")))
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(buf).map_err(io)?;
            out.flush().map_err(io)
        }
    }
}

/// `--tests`: the base policy's cases on both policies; 1 if the change breaks one.
fn tests(a: &DiffArgs, base: &Policy, new: &Policy, buf: &mut Vec<u8>) -> Res<u8> {
    if a.format == DiffFormat::Csv {
        return Err(Fail::usage("error: --tests prints text or json"));
    }
    let files = testing::test_files(&a.base);
    if files.is_empty() {
        return Err(Fail::usage(format!(
            "error: no tests/*.toml beside the base policy {}",
            a.base.display()
        )));
    }
    let r = diff::tests_against(base, new, &files);
    match a.format {
        DiffFormat::Json => {
            let j = diff::render_tests_json(&r);
            buf.extend(serde_json::to_string_pretty(&j).unwrap_or_default().bytes());
            buf.push(b'\n');
        }
        _ => buf.extend(
            diff::render_tests_text(&r, &a.base.display().to_string(), &new_name(a)).bytes(),
        ),
    }
    let broken = r.iter().any(|t| t.status == diff::TestStatus::Broken);
    Ok(broken as u8)
}

fn households(a: &DiffArgs, base: &Policy, new: &Policy, buf: &mut Vec<u8>) -> Res {
    let m = month(&a.period)?;
    let opts = diff::Options {
        outputs: a.outputs.clone(),
        measure: a.measure.clone(),
        examples: a.examples,
        persons: a.person_outputs,
    };
    let mut d = diff::Diff::new(base, new, m, &opts).map_err(|e| Fail::usage(e.0))?;
    let outputs = d.outputs().to_vec();
    let (cb, cn) = d.compiled();
    for (compiled, which) in [(cb, "base"), (cn, "new")] {
        if !compiled {
            eprintln!("note: the {which} policy's outputs are evaluated by the reference evaluator (slower): the compiled path does not take them");
        }
    }
    let csv = a.format == DiffFormat::Csv;
    if csv {
        buf.extend(diff::csv_header().bytes());
    }
    let mut add = |b: &[data::Household], n: &[data::Household]| -> Res {
        let changed = d.add_chunk(b, n).map_err(|e| Fail::usage(e.0))?;
        if csv {
            for h in &changed {
                buf.extend(diff::csv_rows(h, &outputs, new).bytes());
            }
        }
        Ok(())
    };
    let data_err = |e: data::DataError| Fail::usage(format!("error: {e}"));
    // Read once when both policies read the same fields; else each with its own schema.
    let same = base.schema == new.schema;
    match crate::parquet_io::csv_pair(&a.data)? {
        Some((h, p)) => {
            let open = |s| data::CsvChunks::open(s, &h, &p, 1024).map_err(data_err);
            let chunks = open(&base.schema)?;
            let mut other = if same { None } else { Some(open(&new.schema)?) };
            for chunk in chunks {
                let chunk = chunk.map_err(data_err)?;
                match other.as_mut() {
                    None => add(&chunk, &chunk)?,
                    Some(o) => {
                        let n = o
                            .next()
                            .unwrap_or_else(|| Ok(Vec::new()))
                            .map_err(data_err)?;
                        add(&chunk, &n)?;
                    }
                }
            }
        }
        None => {
            let b = read_data(base, &a.data)?;
            let n = if same {
                None
            } else {
                Some(read_data(new, &a.data)?)
            };
            add(&b, n.as_deref().unwrap_or(&b))?;
        }
    }
    let summary = d.finish().map_err(|e| Fail::usage(e.0))?;
    match a.format {
        DiffFormat::Csv => {}
        DiffFormat::Json => {
            let j = diff::render_json(&summary, base, new);
            buf.extend(serde_json::to_string_pretty(&j).unwrap_or_default().bytes());
            buf.push(b'\n');
        }
        DiffFormat::Text => buf.extend(
            diff::render_text(&summary, new, &a.base.display().to_string(), &new_name(a)).bytes(),
        ),
    }
    Ok(())
}
