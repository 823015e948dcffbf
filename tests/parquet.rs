//! Parquet through the binary: a population generated as CSV and as Parquet from the same seed
//! evaluates to the same rows; `eval --format parquet` holds exactly the CSV output's values
//! (amounts with many decimal places and large amounts included), read back with the parquet
//! crate; bad Parquet inputs are refused with messages naming the file, the row, the field and
//! what was expected (snapshotted). Fixtures are built at run time with the Arrow writer.

use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use doudi::interpreter::data::arrow::{households_to_batches, Scales};
use doudi::interpreter::data::{read_csv_dir, write_csv_pair, Household};
use doudi::{Num, Policy, Value};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn doudi(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_doudi"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ok(args: &[&str]) -> String {
    let (ok, out, err) = doudi(args);
    assert!(ok, "{args:?}: {err}");
    out
}

fn eval_csv(data: &Path) -> String {
    ok(&[
        "eval",
        "--policy",
        "policies/jian",
        "--period",
        "2024-01",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "csv",
    ])
}

fn jian() -> Policy {
    Policy::load(Path::new("policies/jian")).unwrap().policy
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    let r = ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    r.map(Result::unwrap).collect()
}

/// A Parquet cell as the CSV output prints its value.
fn cell_text(a: &dyn Array, r: usize, csv: &str) -> String {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Decimal128Type};
    match a.data_type() {
        arrow_schema::DataType::Decimal128(_, s) => {
            let v = a.as_primitive::<Decimal128Type>().value(r);
            let d = rust_decimal::Decimal::from_i128_with_scale(v, *s as u32);
            if *s == 2 {
                format!("{d:.2}")
            } else if csv.ends_with('%') {
                format!("{}%", (d * rust_decimal::Decimal::from(100)).normalize())
            } else {
                d.normalize().to_string()
            }
        }
        arrow_schema::DataType::Boolean => a.as_boolean().value(r).to_string(),
        arrow_schema::DataType::Int64 => a
            .as_primitive::<arrow_array::types::Int64Type>()
            .value(r)
            .to_string(),
        arrow_schema::DataType::Utf8 => a.as_string::<i32>().value(r).to_string(),
        arrow_schema::DataType::Date32 => date_text(a.as_primitive::<Date32Type>().value(r) as i64),
        t => panic!("unexpected column type {t}"),
    }
}

/// Days since 1970-01-01 as YYYY-MM-DD (the civil-from-days algorithm).
fn date_text(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", yoe + era * 400 + (m <= 2) as i64)
}

/// Compares every cell of a Parquet output with the CSV output, as text.
fn assert_same_as_csv(parquet: &Path, csv: &str) -> usize {
    let batches = read_parquet(parquet);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, header);
    let mut cells = 0;
    for b in &batches {
        for r in 0..b.num_rows() {
            let line = lines.next().expect("as many CSV rows");
            // No cell of these outputs holds a comma or a quote.
            let want: Vec<&str> = line.split(',').collect();
            for (c, w) in want.iter().enumerate() {
                assert_eq!(
                    cell_text(b.column(c).as_ref(), r, w),
                    *w,
                    "{} row {r}",
                    header[c]
                );
                cells += 1;
            }
        }
    }
    assert!(lines.next().is_none(), "more CSV rows than Parquet rows");
    cells
}

#[test]
fn generated_csv_and_parquet_pairs_evaluate_the_same_and_parquet_output_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, pq) = (dir.path().join("csv"), dir.path().join("pq"));
    for (out, format) in [(&csv, "csv"), (&pq, "parquet")] {
        ok(&[
            "generate",
            "--spec",
            "scenarios/populations/jian.toml",
            "--households",
            "4500",
            "--seed",
            "11",
            "--policy",
            "policies/jian",
            "--period",
            "2024-01",
            "--out",
            out.to_str().unwrap(),
            "--format",
            format,
        ]);
    }
    assert!(pq.join("households.parquet").exists() && !pq.join("households.csv").exists());
    // More households than one chunk of the Parquet route (4,096).
    let rows = eval_csv(&csv);
    assert_eq!(rows.lines().count(), 4501);
    assert_eq!(eval_csv(&pq), rows);
    let totals = |data: &Path| {
        let args = [
            "eval",
            "--policy",
            "policies/jian",
            "--period",
            "2024-01",
            "--totals",
        ];
        let (ok, out, err) = doudi(&[&args[..], &["--data", data.to_str().unwrap()]].concat());
        assert!(ok, "{err}");
        (out, err)
    };
    let (csv_totals, pq_totals) = (totals(&csv), totals(&pq));
    assert!(
        csv_totals.1.contains("dibao_payment_total"),
        "{}",
        csv_totals.1
    );
    assert_eq!(pq_totals, csv_totals);
    let out = dir.path().join("out.parquet");
    ok(&[
        "eval",
        "--policy",
        "policies/jian",
        "--period",
        "2024-01",
        "--data",
        pq.to_str().unwrap(),
        "--format",
        "parquet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let cells = assert_same_as_csv(&out, &rows);
    assert!(cells > 4500 * 10, "{cells}");
}

/// The example population with amounts that stress exactness: many decimal places, and large.
fn stressed(policy: &Policy) -> Vec<Household> {
    let mut hs = read_csv_dir(
        &policy.schema,
        Path::new("policies/jian/examples/population"),
    )
    .unwrap();
    let income = policy.schema.person_index("monthly_income").unwrap();
    let assets = policy.schema.household_index("financial_assets").unwrap();
    let amounts = [
        "1234.567890123456789",
        "0.000000000000000001",
        "98765432109876543.21",
        "333.335",
        "2.005",
    ];
    for (i, h) in hs.iter_mut().enumerate() {
        let a = Num::parse(amounts[i % amounts.len()]).unwrap();
        h.members[0].fields[income] = Value::Num(a);
        if i % 3 == 0 {
            h.fields[assets] = Value::Num(Num::parse("1234567890123456.123456789012").unwrap());
        }
    }
    hs
}

#[test]
fn exact_amounts_read_and_written() {
    let policy = jian();
    let hs = stressed(&policy);
    let dir = tempfile::tempdir().unwrap();
    let (csv, pq) = (dir.path().join("csv"), dir.path().join("pq"));
    write_csv_pair(&policy.schema, &hs, &csv).unwrap();
    std::fs::create_dir_all(&pq).unwrap();
    let (h, p) = households_to_batches(&policy.schema, &Scales::uniform(), &hs).unwrap();
    write_parquet(&pq.join("households.parquet"), &h);
    write_parquet(&pq.join("persons.parquet"), &p);
    let rows = eval_csv(&csv);
    assert_eq!(eval_csv(&pq), rows);
    // Large amounts show in the outputs (per-capita income, gross income).
    assert!(rows.contains("98765432109876543"), "{rows}");
    let out = dir.path().join("out.parquet");
    ok(&[
        "eval",
        "--policy",
        "policies/jian",
        "--period",
        "2024-01",
        "--data",
        pq.to_str().unwrap(),
        "--format",
        "parquet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_same_as_csv(&out, &rows);
    // audit and diff read the Parquet pair through the same reader.
    for cmd in [
        &["audit", "--policy", "policies/jian"][..],
        &[
            "diff",
            "--base",
            "policies/jian",
            "--new",
            "policies/jian-yongfeng",
        ][..],
    ] {
        let run = |data: &Path| {
            let mut args = cmd.to_vec();
            args.extend(["--period", "2024-01", "--data", data.to_str().unwrap()]);
            ok(&args)
        };
        let from_csv = run(&csv);
        assert!(from_csv.lines().count() > 2, "{from_csv}");
        assert_eq!(run(&pq), from_csv, "{cmd:?}");
    }
}

/// `batch` with column `name` replaced by `array` (or removed, or added at the end).
fn with(batch: &RecordBatch, name: &str, array: Option<ArrayRef>) -> RecordBatch {
    let schema = batch.schema();
    let mut fields = Vec::new();
    let mut cols = Vec::new();
    let mut found = false;
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        if f.name() == name {
            found = true;
            if let Some(a) = &array {
                fields.push(arrow_schema::Field::new(name, a.data_type().clone(), true));
                cols.push(a.clone());
            }
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    if !found {
        let a = array.unwrap();
        fields.push(arrow_schema::Field::new(name, a.data_type().clone(), true));
        cols.push(a);
    }
    RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap()
}

fn strings(b: &RecordBatch, name: &str) -> Vec<String> {
    use arrow_array::cast::AsArray;
    let s = b.column_by_name(name).unwrap().as_string::<i32>();
    (0..s.len()).map(|i| s.value(i).to_string()).collect()
}

#[test]
fn bad_parquet_inputs() {
    let policy = jian();
    let hs = read_csv_dir(
        &policy.schema,
        Path::new("policies/jian/examples/population"),
    )
    .unwrap();
    let (h, p) =
        households_to_batches(&policy.schema, &Scales::of_inputs(&policy.program), &hs).unwrap();
    let (n, np) = (h.num_rows(), p.num_rows());
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![900.5; np]));
    let mut ages = vec![30i64; np];
    ages[6] = 131;
    let mut ids = strings(&p, "person_id");
    ids[9] = ids[2].clone();
    let mut hh = strings(&p, "household_id");
    hh[12] = "H999".into();
    let mut houses: Vec<Option<&str>> = vec![Some("1"); n];
    houses[4] = Some("1.5");
    let cases: Vec<(&str, RecordBatch, RecordBatch)> = vec![
        (
            "float money",
            h.clone(),
            with(&p, "monthly_income", Some(floats)),
        ),
        ("missing column", with(&h, "credit", None), p.clone()),
        (
            "unknown column",
            h.clone(),
            with(
                &p,
                "shoe_size",
                Some(Arc::new(Int64Array::from(vec![42; np]))),
            ),
        ),
        (
            "wrong type",
            with(&h, "houses", Some(Arc::new(StringArray::from(houses)))),
            p.clone(),
        ),
        (
            "out of range",
            h.clone(),
            with(&p, "age", Some(Arc::new(Int64Array::from(ages)))),
        ),
        (
            "duplicate person id",
            h.clone(),
            with(&p, "person_id", Some(Arc::new(StringArray::from(ids)))),
        ),
        (
            "no rows, and a missing column",
            with(&h, "credit", None).slice(0, 0),
            p.slice(0, 0),
        ),
        (
            "person of an unknown household",
            h.clone(),
            with(&p, "household_id", Some(Arc::new(StringArray::from(hh)))),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut out = String::new();
    let mut run = |what: &str, d: &Path, extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--policy",
            "policies/jian",
            "--data",
            d.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let (ok, _, err) = doudi(&args);
        assert!(!ok, "{what}");
        let err = err.replace(dir.path().to_str().unwrap(), "DIR");
        out.push_str(&format!("{what}:\n{err}\n"));
    };
    for (i, (what, h, p)) in cases.iter().enumerate() {
        let d = dir.path().join(format!("case{i}"));
        std::fs::create_dir_all(&d).unwrap();
        write_parquet(&d.join("households.parquet"), h);
        write_parquet(&d.join("persons.parquet"), p);
        run(what, &d, &[]);
    }
    // Not a Parquet file; a directory with both pairs; Parquet to standard output.
    let d = dir.path().join("garbage");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("households.parquet"), b"household_id\nH1\n").unwrap();
    write_parquet(&d.join("persons.parquet"), &p);
    run("not a Parquet file", &d, &[]);
    let d = dir.path().join("both");
    std::fs::create_dir_all(&d).unwrap();
    write_parquet(&d.join("households.parquet"), &h);
    write_parquet(&d.join("persons.parquet"), &p);
    write_csv_pair(&policy.schema, &hs, &d).unwrap();
    run("both pairs", &d, &[]);
    run("parquet to stdout", &d, &["--format", "parquet"]);
    insta::assert_snapshot!(out);
}
