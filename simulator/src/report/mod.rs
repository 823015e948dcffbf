//! The report directory of `doudi simulate`: CSV tables, `summary.json`, charts (SVG and PNG),
//! `report.html` and `report.xlsx`.
//!
//! Everything is written into a temporary directory beside the target and renamed into place at the
//! end, so a report directory is either the old one or the complete new one. An existing directory
//! is replaced only if it is a doudi report (it holds `summary.json`) or is empty.
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

/// Writes the report of a simulation into `out` (atomically).
pub fn write(p: &Prepared, o: &Outcome, out: &Path) -> Result<Written, String> {
    let parent = match out.parent() {
        Some(x) if !x.as_os_str().is_empty() => x.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if out.exists() {
        let is_report = out.is_dir()
            && (out.join("summary.json").is_file()
                || std::fs::read_dir(out)
                    .map(|mut d| d.next().is_none())
                    .unwrap_or(false));
        if !is_report {
            return Err(format!(
                "{}: exists and is not a doudi report (no summary.json); choose another --out",
                out.display()
            ));
        }
    }
    std::fs::create_dir_all(&parent)
        .map_err(|e| format!("{}: cannot create: {e}", parent.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".doudi-report-")
        .tempdir_in(&parent)
        .map_err(|e| {
            format!(
                "{}: cannot create a temporary directory: {e}",
                parent.display()
            )
        })?;
    let dir = tmp.path();
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

    // Into place.
    let staged = tmp.keep();
    if out.exists() {
        let old = tempfile::Builder::new()
            .prefix(".doudi-old-")
            .tempdir_in(&parent)
            .map_err(|e| format!("{}: {e}", parent.display()))?
            .keep();
        let _ = std::fs::remove_dir(&old);
        std::fs::rename(out, &old)
            .map_err(|e| format!("{}: cannot move the old report away: {e}", out.display()))?;
        if let Err(e) = std::fs::rename(&staged, out) {
            let _ = std::fs::rename(&old, out);
            let _ = std::fs::remove_dir_all(&staged);
            return Err(format!(
                "{}: cannot move the report into place: {e}",
                out.display()
            ));
        }
        let _ = std::fs::remove_dir_all(&old);
    } else if let Err(e) = std::fs::rename(&staged, out) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(format!(
            "{}: cannot move the report into place: {e}",
            out.display()
        ));
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
