//! `doudi audit` (the roll audit of seed 004) and `doudi chain` (seed 000's one benefit chain per household).

use crate::{load_policy, month, pick_household, DataArgs, Fail, PolicyArgs, Res};
use clap::Args;
use doudi::dsl::ast::EntityKind;
use doudi::interpreter::audit::{self, AuditConfig, Finding};
use doudi::interpreter::chain;
use doudi::interpreter::data;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, default_value = "2024-01")]
    period: String,
    /// Directory for `findings.csv` and `summary.csv` (default: print the summary only).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The household input that says the roll pays it.
    #[arg(long, default_value = "on_dibao")]
    paid: String,
    /// The household definition that decides eligibility.
    #[arg(long, default_value = "dibao_eligible")]
    eligible: String,
    /// The household definition of the monthly payment.
    #[arg(long, default_value = "dibao_payment")]
    payment: String,
    /// The person definition that says a member counts (alive, not imprisoned).
    #[arg(long, default_value = "counted")]
    counted: String,
}

pub fn audit(a: AuditArgs) -> Res {
    let policy = load_policy(&a.policy)?;
    let m = month(&a.period)?;
    let cfg = AuditConfig::new(&policy, &a.paid, &a.eligible, &a.payment, &a.counted)
        .map_err(|e| Fail::usage(format!("error: {e}")))?;
    let mut report = audit::Summary::default();
    let mut writer = match &a.out {
        Some(dir) => Some(
            audit::FindingsWriter::create(dir).map_err(|e| Fail::usage(format!("error: {e}")))?,
        ),
        None => None,
    };
    let mut visit = |hs: &[data::Household]| -> Res {
        let found: Vec<Vec<Finding>> = audit::audit_chunk(&policy, &cfg, hs, m)
            .map_err(|e| Fail::usage(e.render(policy.sources())))?;
        for f in found.into_iter().flatten() {
            report.add(&f);
            if let Some(w) = writer.as_mut() {
                w.write(&f)
                    .map_err(|e| Fail::usage(format!("error: {e}")))?;
            }
        }
        Ok(())
    };
    match crate::parquet_io::csv_pair(&a.data)? {
        Some((h, p)) => stream(&policy, &h, &p, &mut visit)?,
        None => {
            let hs = crate::read_data(&policy, &a.data)?;
            visit(&hs)?;
        }
    }
    let text = report.render(m);
    print!("{text}");
    if let (Some(w), Some(dir)) = (writer, &a.out) {
        w.finish(&report, m)
            .map_err(|e| Fail::usage(format!("error: {e}")))?;
        println!("findings written to {}", dir.join("findings.csv").display());
    }
    let _ = std::io::stdout().flush();
    Ok(())
}

fn stream(
    policy: &doudi::Policy,
    h: &std::path::Path,
    p: &std::path::Path,
    visit: &mut dyn FnMut(&[data::Household]) -> Res,
) -> Res {
    let chunks = data::CsvChunks::open(&policy.schema, h, p, 16_384)
        .map_err(|e| Fail::usage(format!("error: {e}")))?;
    for c in chunks {
        let c = c.map_err(|e| Fail::usage(format!("error: {e}")))?;
        visit(&c)?;
    }
    Ok(())
}

#[derive(Args)]
pub struct ChainArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// The household, as JSON.
    #[arg(long)]
    input: PathBuf,
    /// Which household of the file (default: the first).
    #[arg(long)]
    household: Option<String>,
    #[arg(long, default_value = "2024-01")]
    period: String,
    #[arg(long, value_enum, default_value = "text")]
    format: super::TextOrJson,
}

pub fn chain(a: ChainArgs) -> Res {
    let policy = load_policy(&a.policy)?;
    let m = month(&a.period)?;
    let programmes = chain::programmes(&policy, &a.policy.policy)
        .map_err(|e| Fail::usage(format!("error: {e}")))?;
    let hs = data::read_json_path(&policy.schema, &a.input)
        .map_err(|e| Fail::usage(format!("error: {e}")))?;
    let hh = pick_household(hs, a.household.as_deref(), &a.input)?;
    let c = chain::chain(&policy, &programmes, &hh, m)
        .map_err(|e| Fail::usage(e.render(policy.sources())))?;
    match a.format {
        super::TextOrJson::Text => print!("{}", chain::render_text(&c)),
        super::TextOrJson::Json => {
            println!("{}", serde_json::to_string_pretty(&c).unwrap_or_default())
        }
    }
    let _ = EntityKind::Household;
    Ok(())
}
