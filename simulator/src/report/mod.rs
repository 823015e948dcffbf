//! The report directory of `doudi simulate`: CSV tables, `summary.json`, charts (SVG and PNG),
//! `report.html` and `report.xlsx`.
//!
//! Everything is written into a temporary directory beside the target and renamed into place at the
//! end, so a report directory is either the old one or the complete new one. An existing directory
//! is replaced only if doudi marked it as its own report (it holds [`MARKER`] with the line
//! [`SIGNATURE`]) or is empty; never the working directory, one of its ancestors or a mount point.
//! Temporary directories are removed on every error path, and stale ones a killed run left beside
//! the report are swept at the next write (`doudi_interpreter::tmpfiles`).
//!
//! The output is deterministic: no timestamps, no timings, no temporary paths; the Excel file's
//! creation date is the scenario's first month.

pub mod assumptions;
pub mod charts;
pub mod figures;
pub mod html;
pub mod labels;
pub mod png_text;
pub mod summary;
pub mod tables;
pub mod xlsx;

use crate::montecarlo::Outcome;
use crate::setup::Prepared;
use std::path::{Path, PathBuf};
use tables::Table;

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub dir: PathBuf,
    pub files: Vec<String>,
    /// The font PNG charts use.
    pub png_font: Option<String>,
}

/// The file that marks a directory as a doudi report, which doudi may replace.
pub const MARKER: &str = ".doudi-report";
/// The first line of [`MARKER`].
pub const SIGNATURE: &str =
    "doudi report directory (doudi replaces this directory when it writes a new report here)";

fn parent_of(out: &Path) -> PathBuf {
    match out.parent() {
        Some(x) if !x.as_os_str().is_empty() => x.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether `dir` holds doudi's marker with its signature.
fn is_marked(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(MARKER)).is_ok_and(|t| t.lines().next() == Some(SIGNATURE))
}

/// Whether `dir` is a mount point (its device differs from its parent's, or it is its own parent).
#[cfg(unix)]
fn is_mount_point(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (dir.metadata(), dir.join("..").metadata()) {
        (Ok(a), Ok(b)) => a.dev() != b.dev() || a.ino() == b.ino(),
        _ => false,
    }
}
#[cfg(not(unix))]
fn is_mount_point(_: &Path) -> bool {
    false
}

/// Checks, before any work, that a report can be written to `out`: it does not exist, or it is an
/// empty directory or a report doudi wrote (marked with [`MARKER`]); it is not the working
/// directory, one of its ancestors or a mount point. Nothing is written.
pub fn check_out(out: &Path) -> Result<(), String> {
    let shown = out.display();
    if out.as_os_str().is_empty() {
        return Err("the report directory is empty; choose a --out directory".into());
    }
    if !out.exists() {
        if out.symlink_metadata().is_ok() {
            return Err(format!(
                "{shown}: is a broken symbolic link; choose another --out"
            ));
        }
        return Ok(());
    }
    let meta = out
        .symlink_metadata()
        .map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_dir() {
        return Err(format!(
            "{shown}: exists and is not a directory; choose another --out"
        ));
    }
    let canon = out.canonicalize().map_err(|e| format!("{shown}: {e}"))?;
    if let Ok(cwd) = std::env::current_dir().and_then(|c| c.canonicalize()) {
        if cwd.starts_with(&canon) {
            return Err(format!("{shown}: is the working directory or holds it; choose a new directory for the report"));
        }
    }
    if canon.parent().is_none() || is_mount_point(&canon) {
        return Err(format!(
            "{shown}: is a mount point; choose a directory inside it"
        ));
    }
    let empty = std::fs::read_dir(out)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if !empty && !is_marked(out) {
        return Err(format!("{shown}: exists and is not a doudi report (no `{MARKER}` marker); doudi replaces only the directories it wrote, choose another --out"));
    }
    Ok(())
}

/// Writes the report of a simulation into `out` (atomically).
pub fn write(p: &Prepared, o: &Outcome, out: &Path) -> Result<Written, String> {
    let parent = parent_of(out);
    check_out(out)?;
    std::fs::create_dir_all(&parent)
        .map_err(|e| format!("{}: cannot create: {e}", parent.display()))?;
    doudi_interpreter::tmpfiles::sweep(&parent);
    let tmp = tempfile::Builder::new()
        .prefix(&doudi_interpreter::tmpfiles::tagged(".doudi-report-"))
        .tempdir_in(&parent)
        .map_err(|e| {
            format!(
                "{}: cannot create a temporary directory: {e}",
                parent.display()
            )
        })?;
    let dir = tmp.path();
    std::fs::write(dir.join(MARKER), format!("{SIGNATURE}\n"))
        .map_err(|e| format!("{MARKER}: {e}"))?;
    let mut files = Vec::new();

    // Tables (CSV).
    let all = tables::build(p, o);
    for t in &all {
        let name = format!("{}.csv", t.name);
        t.write_csv(&dir.join(&name))
            .map_err(|e| format!("{name}: {e}"))?;
        files.push(name);
    }
    let series = dir.join("series.csv");
    tables::write_series(o, &series).map_err(|e| format!("series.csv: {e}"))?;
    files.push("series.csv".into());

    // Charts.
    std::fs::create_dir_all(dir.join("charts")).map_err(|e| format!("charts: {e}"))?;
    let png = p.scenario.report.png;
    let mut svgs = Vec::new();
    for (name, chart) in tables::charts(p, o) {
        let base = dir.join("charts").join(&name);
        let svg = charts::write(&chart, &base, png).map_err(|e| format!("charts/{name}: {e}"))?;
        files.push(format!("charts/{name}.svg"));
        if png {
            files.push(format!("charts/{name}.png"));
        }
        svgs.push((name, svg));
    }
    let png_font = if png {
        Some(charts::fonts().source.clone())
    } else {
        None
    };

    // summary.json
    let mut listed = files.clone();
    listed.push("summary.json".into());
    listed.push("report.html".into());
    if p.scenario.report.xlsx {
        listed.push("report.xlsx".into());
    }
    if p.scenario.report.keep_population && p.population_dir.is_some() {
        listed.push("population/households.csv".into());
        listed.push("population/persons.csv".into());
    }
    listed.sort();
    let summary = tables::summary_json(p, o, &listed);
    let text =
        serde_json::to_string_pretty(&summary).map_err(|e| format!("summary.json: {e}"))? + "\n";
    std::fs::write(dir.join("summary.json"), text).map_err(|e| format!("summary.json: {e}"))?;
    files.push("summary.json".into());

    // report.html
    let page = html::page(p, o, &all, &svgs);
    std::fs::write(dir.join("report.html"), page).map_err(|e| format!("report.html: {e}"))?;
    files.push("report.html".into());

    // report.xlsx
    if p.scenario.report.xlsx {
        xlsx::write(p, &all, &dir.join("report.xlsx")).map_err(|e| format!("report.xlsx: {e}"))?;
        files.push("report.xlsx".into());
    }

    // The population, when asked.
    if p.scenario.report.keep_population {
        if let Some(pd) = &p.population_dir {
            std::fs::create_dir_all(dir.join("population"))
                .map_err(|e| format!("population: {e}"))?;
            for f in ["households.csv", "persons.csv"] {
                std::fs::copy(pd.path().join(f), dir.join("population").join(f))
                    .map_err(|e| format!("population/{f}: {e}"))?;
                files.push(format!("population/{f}"));
            }
        }
    }

    // Into place (checked again: the directory may have changed while the report was written). Until
    // the rename, `tmp` removes the staged directory on every error path.
    check_out(out)?;
    if out.exists() {
        let old = parent.join(format!(
            "{}x",
            doudi_interpreter::tmpfiles::tagged(".doudi-old-")
        ));
        std::fs::rename(out, &old)
            .map_err(|e| format!("{}: cannot move the old report away: {e}", out.display()))?;
        if let Err(e) = std::fs::rename(tmp.path(), out) {
            let _ = std::fs::rename(&old, out);
            return Err(format!(
                "{}: cannot move the report into place: {e}",
                out.display()
            ));
        }
        let _ = tmp.keep();
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(tmp.path(), out)
            .map_err(|e| format!("{}: cannot move the report into place: {e}", out.display()))?;
        let _ = tmp.keep();
    }
    files.sort();
    Ok(Written {
        dir: out.to_path_buf(),
        files,
        png_font,
    })
}

/// Tables of a report, for callers that want them without writing files (scripts).
pub fn tables(p: &Prepared, o: &Outcome) -> Vec<Table> {
    tables::build(p, o)
}
