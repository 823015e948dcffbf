//! What a generation run reports: errors, and the calibration table with each target and the value reached.

use super::*;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GenerateError + '_ {
    move |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CalibrationStatus {
    /// Adjusted, and the calibrated value is within the tolerance.
    Reached,
    /// Adjusted as far as possible; the reason says why it stops short.
    OutOfReach(String),
    /// Not adjusted: shown against its target.
    Reported,
}

#[derive(Debug, Clone)]
pub struct CalibrationRow {
    pub quantity: String,
    pub method: String,
    /// The adjusted parameter and its value, e.g. `income scale = 1.083`.
    pub parameter: String,
    pub target: f64,
    /// Value the calibration achieved: exact for analytic methods (IPF, tilting), on the calibration
    /// sample otherwise.
    pub calibrated: f64,
    /// Value in the written population.
    pub output: Option<f64>,
    pub status: CalibrationStatus,
}

#[derive(Debug, Clone)]
pub struct RegionRow {
    pub code: String,
    pub name: String,
    /// Share of persons from the spec.
    pub target_share: f64,
    pub urban_share_spec: f64,
    /// Urban share after raking.
    pub urban_share_raked: f64,
    pub households: u64,
    pub persons: u64,
    pub urban_persons: u64,
}

#[derive(Debug, Clone)]
pub struct GenerateReport {
    pub spec_name: String,
    pub seed: u64,
    pub households: u64,
    pub persons: u64,
    pub out_dir: PathBuf,
    /// Written files and their sizes in bytes.
    pub files: Vec<(PathBuf, u64)>,
    pub calibration: Vec<CalibrationRow>,
    pub regions: Vec<RegionRow>,
    pub dead_persons: u64,
    pub imprisoned_persons: u64,
    pub on_dibao_households: u64,
    pub elapsed_seconds: f64,
}

pub(super) fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

impl fmt::Display for GenerateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "population `{}`, seed {}: {} households, {} persons ({:.2} s)",
            self.spec_name, self.seed, self.households, self.persons, self.elapsed_seconds
        )?;
        for (path, size) in &self.files {
            writeln!(f, "  {} ({} bytes)", path.display(), size)?;
        }
        writeln!(
            f,
            "  on dibao: {} households; listed but dead: {} persons; imprisoned: {} persons",
            self.on_dibao_households, self.dead_persons, self.imprisoned_persons
        )?;
        if !self.calibration.is_empty() {
            writeln!(f)?;
            let header = [
                "quantity",
                "target",
                "calibrated",
                "output",
                "method",
                "parameter",
                "status",
            ];
            let rows: Vec<[String; 7]> = self
                .calibration
                .iter()
                .map(|r| {
                    [
                        r.quantity.clone(),
                        fmt_num(r.target),
                        fmt_num(r.calibrated),
                        r.output.map(fmt_num).unwrap_or_else(|| "-".into()),
                        r.method.clone(),
                        r.parameter.clone(),
                        match &r.status {
                            CalibrationStatus::Reached => "reached".to_string(),
                            CalibrationStatus::OutOfReach(why) => format!("out of reach: {why}"),
                            CalibrationStatus::Reported => "reported".to_string(),
                        },
                    ]
                })
                .collect();
            write_table(f, &header, &rows)?;
        }
        if !self.regions.is_empty() {
            writeln!(f)?;
            let header = [
                "region",
                "name",
                "share (spec)",
                "share (output)",
                "urban (spec)",
                "urban (raked)",
                "urban (output)",
                "households",
                "persons",
            ];
            let total: u64 = self.regions.iter().map(|r| r.persons).sum::<u64>().max(1);
            let rows: Vec<[String; 9]> = self
                .regions
                .iter()
                .map(|r| {
                    [
                        r.code.clone(),
                        r.name.clone(),
                        format!("{:.4}", r.target_share),
                        format!("{:.4}", r.persons as f64 / total as f64),
                        format!("{:.4}", r.urban_share_spec),
                        format!("{:.4}", r.urban_share_raked),
                        format!("{:.4}", r.urban_persons as f64 / r.persons.max(1) as f64),
                        r.households.to_string(),
                        r.persons.to_string(),
                    ]
                })
                .collect();
            write_table(f, &header, &rows)?;
        }
        Ok(())
    }
}

pub(super) fn write_table<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    header: &[&str; N],
    rows: &[[String; N]],
) -> fmt::Result {
    let width = |s: &str| {
        s.chars()
            .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
            .sum::<usize>()
    };
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(width(c));
        }
    }
    let line = |f: &mut fmt::Formatter<'_>, cells: Vec<&str>| -> fmt::Result {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(c);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(widths[i] - width(c)));
            }
        }
        writeln!(f, "{}", out.trim_end())
    };
    line(f, header.to_vec())?;
    line(
        f,
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(|s| s.as_str())
            .collect(),
    )?;
    for r in rows {
        line(f, r.iter().map(|s| s.as_str()).collect())?;
    }
    Ok(())
}
