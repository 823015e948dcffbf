//! Tables meant to add up do add up: regions to the city, urban + rural to `all`, dibao + allowances
//! to the total spending, the reform-difference table to the reform table minus the baseline table,
//! the months to the year. Exactly in the summarised outcome (means over runs are exact), and to the
//! cent (each printed figure is rounded on its own) in the CSV files written.

use doudi_interpreter::Num;
use doudi_simulator::montecarlo::{self, Cube, Outcome};
use doudi_simulator::report;
use doudi_simulator::run::is_stock;
use doudi_simulator::scenario::Scenario;
use doudi_simulator::setup::{self, Prepared};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// 14 months (a full year and two months of the next), 3 runs (means that do not terminate as
/// decimals), a reform, on a small generated population.
fn prepared() -> Prepared {
    let text = format!(
        "[scenario]\nname = \"t\"\npolicy = \"{}\"\nstart = \"2024-01\"\nmonths = 14\nruns = 3\nseed = 3\n\
         [population]\nspec = \"{}\"\nhouseholds = 800\nseed = 5\n\
         [dynamics]\njob_loss_per_year = 0.3\n\
         [reform]\nname = \"+50\"\nparameters = {{ \"dibao_standard.rural\" = {{ add = \"50\" }}, \"dibao_standard.urban\" = {{ add = \"50\" }} }}\n",
        root().join("policies/jian").display().to_string().replace('\\', "/"),
        root().join("scenarios/populations/jian.toml").display().to_string().replace('\\', "/")
    );
    let s = Scenario::from_toml_str(&text, "test.toml", Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    setup::prepare(s, None).unwrap_or_else(|e| panic!("{e}"))
}

fn sum(v: impl IntoIterator<Item = Num>) -> Num {
    v.into_iter()
        .fold(Num::ZERO, |a, b| a.checked_add(&b).unwrap())
}

fn metric(o: &Outcome, programme: &str, measure: &str) -> usize {
    o.metrics
        .iter()
        .position(|m| m.programme == programme && m.measure == measure)
        .unwrap()
}

fn check_cube(o: &Outcome, c: &Cube, what: &str) {
    let total = metric(o, "total", "spending");
    let parts: Vec<usize> = o
        .metrics
        .iter()
        .enumerate()
        .filter(|(_, m)| m.measure == "spending" && m.programme != "total")
        .map(|(i, _)| i)
        .collect();
    assert!(parts.len() >= 2, "dibao and at least one allowance");
    for p in 0..c.periods {
        for m in 0..c.metrics {
            for r in 0..c.regions {
                let areas = sum((1..c.areas).map(|a| c.get(p, r, a, m).mean.clone()));
                assert_eq!(
                    areas,
                    c.get(p, r, 0, m).mean,
                    "{what}: urban + rural = all, period {p}, region {r}, metric {m}"
                );
            }
            for a in 0..c.areas {
                let regions = sum((1..c.regions).map(|r| c.get(p, r, a, m).mean.clone()));
                assert_eq!(
                    regions,
                    c.get(p, 0, a, m).mean,
                    "{what}: regions = city, period {p}, area {a}, metric {m}"
                );
            }
        }
        for r in 0..c.regions {
            for a in 0..c.areas {
                let s = sum(parts.iter().map(|&m| c.get(p, r, a, m).mean.clone()));
                assert_eq!(
                    s,
                    c.get(p, r, a, total).mean,
                    "{what}: programmes = total spending, period {p}"
                );
            }
        }
    }
}

fn check_years(o: &Outcome, monthly: &Cube, yearly: &Cube, what: &str) {
    let mut t0 = 0;
    for (yi, (_, n)) in o.years.iter().enumerate() {
        for (m, metric) in o.metrics.iter().enumerate() {
            for r in 0..monthly.regions {
                for a in 0..monthly.areas {
                    let mut s =
                        sum((t0..t0 + *n as usize).map(|t| monthly.get(t, r, a, m).mean.clone()));
                    if is_stock(metric.measure) {
                        s = s.checked_div(&Num::from_i64(*n as i64)).unwrap();
                    }
                    assert_eq!(
                        s,
                        yearly.get(yi, r, a, m).mean,
                        "{what}: year {yi} of the months, {} {}",
                        metric.programme,
                        metric.measure
                    );
                }
            }
        }
        t0 += *n as usize;
    }
}

/// Reads a CSV written by the report: header → column, rows as strings.
fn csv(path: &Path) -> (HashMap<String, usize>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h: HashMap<String, usize> = r
        .headers()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.to_string(), i))
        .collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (h, rows)
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s}"))
}

/// Each printed figure is rounded to the cent on its own: `k` figures may differ by k × 0.005.
fn close(a: f64, b: f64, k: usize, what: &str) {
    assert!(
        (a - b).abs() <= 0.005 * k as f64 + 1e-6,
        "{what}: {a} vs {b}"
    );
}

#[test]
fn every_additive_table_adds_up() {
    let p = prepared();
    let o = montecarlo::simulate(&p, &|| {}).unwrap();
    assert_eq!(o.years, vec![(2024, 12), (2025, 2)]);
    let spend = metric(&o, "dibao", "spending");
    assert!(
        o.variants[0].yearly.get(0, 0, 0, spend).mean.is_positive(),
        "the scenario pays something"
    );
    assert!(o.regions.len() > 2, "several regions");
    let d = o.diff.as_ref().expect("a reform");
    for (v, name) in [
        (&o.variants[0], "baseline"),
        (&o.variants[1], "reform"),
        (d, "difference"),
    ] {
        check_cube(&o, &v.monthly, &format!("{name} monthly"));
        check_cube(&o, &v.yearly, &format!("{name} yearly"));
        check_years(&o, &v.monthly, &v.yearly, name);
    }
    // The difference table is the reform table minus the baseline table, cell by cell.
    for (dc, bc, rc) in [
        (&d.monthly, &o.variants[0].monthly, &o.variants[1].monthly),
        (&d.yearly, &o.variants[0].yearly, &o.variants[1].yearly),
    ] {
        for i in 0..dc.data.len() {
            assert_eq!(
                dc.data[i].mean,
                rc.data[i].mean.checked_sub(&bc.data[i].mean).unwrap(),
                "cell {i}"
            );
        }
    }
    assert!(
        d.yearly.get(0, 0, 0, spend).mean.is_positive(),
        "the reform costs more"
    );
    // Programme outputs: the means of a difference are the differences of the means.
    for s in &d.programme {
        let b = o.variants[0]
            .programme
            .iter()
            .find(|x| x.name == s.name)
            .unwrap();
        let r = o.variants[1]
            .programme
            .iter()
            .find(|x| x.name == s.name)
            .unwrap();
        for (t, x) in s.yearly.iter().enumerate() {
            assert_eq!(
                x.mean,
                r.yearly[t].mean.checked_sub(&b.yearly[t].mean).unwrap(),
                "{} year {t}",
                s.name
            );
        }
    }

    // The CSV files, to the cent.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    report::write(&p, &o, &out).unwrap();
    let (h, rows) = csv(&out.join("monthly.csv"));
    let allowance_cols: Vec<&String> = h
        .keys()
        .filter(|k| {
            k.ends_with("_spending_yuan") && !k.starts_with("total") && !k.starts_with("dibao")
        })
        .collect();
    assert!(!allowance_cols.is_empty());
    for r in &rows {
        let parts = num(&r[h["dibao_spending_yuan"]])
            + allowance_cols.iter().map(|c| num(&r[h[*c]])).sum::<f64>();
        close(
            parts,
            num(&r[h["total_spending_yuan"]]),
            allowance_cols.len() + 2,
            "monthly.csv: dibao + allowances = total",
        );
    }
    // Yearly = sum of the months (flows) in the CSV.
    let (yh, yrows) = csv(&out.join("yearly.csv"));
    for (variant, year, months) in [
        ("baseline", "2024", 0..12),
        ("reform", "2025 (2 months)", 12..14),
    ] {
        let y = yrows
            .iter()
            .find(|r| r[0] == variant && r[1] == year)
            .unwrap();
        for col in [
            "dibao_spending_yuan",
            "total_spending_yuan",
            "dibao_inflows",
            "dibao_out_review",
        ] {
            let m: f64 = rows
                .iter()
                .filter(|r| r[0] == variant)
                .skip(months.start)
                .take(months.len())
                .map(|r| num(&r[h[col]]))
                .sum();
            close(
                m,
                num(&y[yh[col]]),
                months.len() + 1,
                &format!("yearly.csv {col} {variant} {year}"),
            );
        }
    }
    // Regions sum to the city; urban + rural = all.
    let (rh, rrows) = csv(&out.join("regions.csv"));
    for r in rrows.iter().filter(|r| r[rh["region"]] == "all") {
        for col in [
            "dibao_households",
            "dibao_spending_yuan",
            "total_spending_yuan",
        ] {
            let parts: Vec<f64> = rrows
                .iter()
                .filter(|x| {
                    x[0] == r[0]
                        && x[1] == r[1]
                        && x[rh["area"]] == r[rh["area"]]
                        && x[rh["region"]] != "all"
                })
                .map(|x| num(&x[rh[col]]))
                .collect();
            close(
                parts.iter().sum(),
                num(&r[rh[col]]),
                parts.len() + 1,
                &format!("regions.csv {col} {} {}", r[0], r[1]),
            );
        }
    }
    for r in rrows.iter().filter(|r| r[rh["area"]] == "all") {
        let parts: Vec<f64> = rrows
            .iter()
            .filter(|x| {
                x[0] == r[0]
                    && x[1] == r[1]
                    && x[rh["region"]] == r[rh["region"]]
                    && x[rh["area"]] != "all"
            })
            .map(|x| num(&x[rh["dibao_spending_yuan"]]))
            .collect();
        assert_eq!(parts.len(), 2);
        close(
            parts.iter().sum(),
            num(&r[rh["dibao_spending_yuan"]]),
            3,
            "regions.csv: urban + rural",
        );
    }
    // reform_yearly.csv = reform − baseline rows of yearly.csv.
    let (dh, drows) = csv(&out.join("reform_yearly.csv"));
    for dr in &drows {
        let b = yrows
            .iter()
            .find(|r| r[0] == "baseline" && r[1] == dr[1])
            .unwrap();
        let r = yrows
            .iter()
            .find(|r| r[0] == "reform" && r[1] == dr[1])
            .unwrap();
        for col in [
            "dibao_households",
            "dibao_spending_yuan",
            "total_spending_yuan",
        ] {
            close(
                num(&r[yh[col]]) - num(&b[yh[col]]),
                num(&dr[dh[col]]),
                3,
                &format!("reform_yearly.csv {col}"),
            );
        }
    }
    // series.csv carries the mean.
    let (sh, _) = csv(&out.join("series.csv"));
    for c in [
        "mean",
        "median",
        "p5",
        "p95",
        "simulated_cases",
        "few_cases",
        "unit",
    ] {
        assert!(sh.contains_key(c), "series.csv has {c}");
    }
}
