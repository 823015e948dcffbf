//! What every output of a report says: thin cells flagged everywhere (CSV, HTML, Excel, JSON), labels
//! that name what is counted, units, bilingual Excel headers with formulas, the parameters in force
//! and the calibration table.
//!
//! `DOUDI_KEEP_REPORT=/some/dir cargo test -p doudi-simulator --test report_outputs` keeps the report
//! written (to look at it).

use doudi_interpreter::Num;
use doudi_simulator::calibrate::{Calibration, CalibrationRow};
use doudi_simulator::montecarlo::{self, FEW_CASES};
use doudi_simulator::report;
use doudi_simulator::scenario::Scenario;
use doudi_simulator::setup;
use std::io::Read;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read_zip(path: &Path, name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the xlsx"))
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[test]
fn thin_cells_labels_units_parameters_and_calibration_reach_every_output() {
    let text = format!(
        "[scenario]\nname = \"t\"\npolicy = \"{}\"\nstart = \"2024-01\"\nmonths = 13\nruns = 2\nseed = 11\n[population]\ndata = \"{}\"\n\
         [reform]\nname = \"+50\"\nparameters = {{ \"dibao_standard.urban\" = {{ add = \"50\" }} }}\n",
        root().join("policies/jian").display().to_string().replace('\\', "/"),
        root().join("policies/jian/examples/population").display().to_string().replace('\\', "/")
    );
    let s = Scenario::from_toml_str(&text, "test.toml", Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let p = setup::prepare(s, None).unwrap_or_else(|e| panic!("{e}"));
    // Case counts as the simulation will report them: here, dibao's households and persons rest on
    // many simulated households, everything else on one.
    let dibao_counts: Vec<usize> = p
        .sim
        .metrics
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            m.programme == "dibao" && (m.measure == "households" || m.measure == "persons")
        })
        .map(|(i, _)| i)
        .collect();
    let nm = p.sim.metrics.len();
    let mut results = Vec::new();
    for r in 0..p.sim.runs {
        let mut res = p.sim.run(r, &|| {}).unwrap();
        for v in res.variants.iter_mut() {
            v.samples = v
                .cells
                .iter()
                .map(|c| {
                    c.iter()
                        .enumerate()
                        .map(|(i, x)| {
                            if dibao_counts.contains(&(i % nm)) {
                                500
                            } else {
                                u64::from(!x.is_zero())
                            }
                        })
                        .collect()
                })
                .collect();
        }
        results.push(res);
    }
    let mut o = montecarlo::summarise(&p, &results, Vec::new()).unwrap();
    o.calibration = Calibration {
        rows: vec![CalibrationRow {
            target: "dibao_households_urban".into(),
            label: "城镇低保户数 · urban dibao households".into(),
            month: "2024-01".into(),
            unit: "households".into(),
            value: Num::from_i64(20),
            simulated: Num::from_i64(19),
            difference_pct: -5.0,
            source: "assumption: national urban rate × Ji'an urban residents / 1.6".into(),
            samples: 19,
        }],
        notes: vec!["Weights raked to the targets (test).".into()],
    };
    let keep = std::env::var("DOUDI_KEEP_REPORT").ok();
    let tmp = tempfile::tempdir().unwrap();
    let out = keep
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("r"));
    report::write(&p, &o, &out).unwrap();

    // CSV: case counts and flags; money in yuan.
    let monthly = std::fs::read_to_string(out.join("monthly.csv")).unwrap();
    let header: Vec<&str> = monthly.lines().next().unwrap().split(',').collect();
    for c in [
        "dibao_households",
        "dibao_households_cases",
        "dibao_spending_yuan",
        "dibao_spending_yuan_p5",
        "total_spending_yuan",
        "few_cases",
    ] {
        assert!(header.contains(&c), "monthly.csv has {c}: {header:?}");
    }
    assert!(
        !header
            .iter()
            .any(|h| h.contains("spending") && !h.contains("_yuan")),
        "money columns say yuan"
    );
    let few = header.iter().position(|h| *h == "few_cases").unwrap();
    let rows: Vec<Vec<&str>> = monthly
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(
        rows.iter().any(|r| r[few].contains("dibao_spending_yuan")),
        "dibao spending rests on few cases here"
    );
    assert!(
        rows.iter()
            .all(|r| !r[few].split(' ').any(|c| c == "dibao_households")),
        "dibao households do not"
    );
    let series = std::fs::read_to_string(out.join("series.csv")).unwrap();
    assert!(series.starts_with("variant,period,programme,region,area,measure,unit,mean,median,p5,p95,simulated_cases,few_cases\n"));
    assert!(
        series.lines().any(
            |l| l.contains(",dibao,all,all,households,households,") && l.ends_with("000,false")
        ),
        "dibao households: many cases, not flagged"
    );
    assert!(series
        .lines()
        .any(|l| l.contains(",dibao,all,all,spending,yuan,") && l.ends_with(",true")));

    // summary.json: few_cases in the headline, the calibration, the parameters.
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let dibao = &j["variants"][0]["yearly"][0]["programmes"]["dibao"];
    assert_eq!(dibao["households"]["few_cases"], false);
    assert_eq!(dibao["spending"]["few_cases"], true);
    assert!(dibao["spending"]["mean"].is_string());
    let cal = j["calibration"].as_array().unwrap();
    assert_eq!(cal.len(), 1);
    for k in [
        "target",
        "month",
        "value",
        "simulated",
        "difference_pct",
        "source",
    ] {
        assert!(cal[0].get(k).is_some(), "calibration has {k}");
    }
    assert_eq!(cal[0]["target"], "dibao_households_urban");
    assert_eq!(cal[0]["difference_pct"], -5.0);
    assert_eq!(j["few_cases_threshold"], FEW_CASES);
    let params = j["parameters"].as_array().unwrap();
    let standard: Vec<&serde_json::Value> = params
        .iter()
        .filter(|x| x["name"] == "dibao_standard")
        .collect();
    assert!(
        standard.len() >= 2,
        "the standard's versions over time: {standard:?}"
    );
    assert!(standard
        .iter()
        .all(|x| x["value"].as_str().unwrap().contains("urban")
            && !x["source"].as_str().unwrap().is_empty()));
    assert!(j["bands_include"].as_array().unwrap().len() >= 3);

    // report.html: markers, labels, units, the calibration and the parameters.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<sup class=few"), "thin cells are marked");
    assert!(
        html.contains("rests on fewer than 30 simulated households"),
        "with a footnote"
    );
    assert!(
        html.contains("在保户数") && !html.contains("符合低保条件的户数"),
        "dibao households are households paid"
    );
    assert!(html.contains("符合条件未在保户数"));
    assert!(html.contains("(万元/年)") && html.contains("支出(万元)"));
    assert!(
        html.contains("dibao_households_urban") && html.contains("national urban rate"),
        "the calibration table"
    );
    assert!(
        html.contains("dibao_standard") && html.contains("最低生活保障标准"),
        "the parameters in force"
    );
    assert!(html.contains("What the 5–95% bands include"));
    assert!(
        html.contains("Standard in force</b>最低生活保障标准"),
        "the standard in force is in the facts at the top"
    );

    // report.xlsx: Chinese-first headers with units, formulas for totals, flagged cells.
    let xlsx = out.join("report.xlsx");
    let strings = read_zip(&xlsx, "xl/sharedStrings.xml");
    assert!(
        strings.contains("在保户数(户) households paid dibao"),
        "bilingual header"
    );
    assert!(strings.contains("支出合计(万元) total paid"));
    assert!(
        !strings.contains(">dibao_spending_yuan<") && !strings.contains(">dibao_households_p5<"),
        "no snake_case data headers"
    );
    let monthly_sheet = read_zip(&xlsx, "xl/worksheets/sheet2.xml");
    let formulas = monthly_sheet.matches("<f>").count();
    assert!(
        formulas >= 13 * 2,
        "the total spending of every row is a formula ({formulas})"
    );
    let first = &monthly_sheet[monthly_sheet.find("<f>").unwrap() + 3..];
    let first = &first[..first.find("</f>").unwrap()];
    assert_eq!(
        first.matches('+').count(),
        2,
        "dibao + two allowances on row 2: {first}"
    );
    assert!(
        first
            .split('+')
            .all(|r| r.ends_with('2') && !r.ends_with("12")),
        "{first}"
    );
    let styles = read_zip(&xlsx, "xl/styles.xml");
    assert!(styles.contains("FFFCE4C4"), "the fill of thin cells");
}
