//! The Arrow reader and writers (`--features arrow`): households read from record batches equal
//! the CSV pair's, Arrow's own types (decimal128, integers, booleans, date32, dictionary strings)
//! read exactly, every bad input refused with a message naming the table, the row, the field and
//! what was expected (snapshotted), and evaluation outputs written exactly.

use arrow_array::types::Int8Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, DictionaryArray, Float64Array, Int32Array,
    Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use doudi_interpreter::data::arrow::{
    households_to_batches, map_chunks, outputs_to_batch, read_batches, ChunkError, OutputColumns,
    Scales,
};
use doudi_interpreter::data::{read_csv_dir, Household};
use doudi_interpreter::num::Num;
use doudi_interpreter::testgen::{Gen, Profile};
use doudi_interpreter::{batch, Month, Policy, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn jian() -> Policy {
    Policy::load_within(&root().join("policies/jian"), &[root()])
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .policy
}

/// Seeded realistic households of the policy's schema (amounts in cents).
fn good(policy: &Policy) -> Vec<Household> {
    Gen::new(&policy.schema, 7, Profile::Realistic).households(0, 40)
}

fn all_good(policy: &Policy) -> Vec<Household> {
    let dir = root().join("interpreter/tests/data/good/csv");
    read_csv_dir(&policy.schema, &dir).unwrap()
}

#[test]
fn writer_refuses_what_it_cannot_hold_exactly() {
    let policy = jian();
    let all = all_good(&policy);
    let e = households_to_batches(&policy.schema, &Scales::of_inputs(&policy.program), &all)
        .unwrap_err();
    insta::assert_snapshot!(e.to_string(), @r#"household "H0003": field "financial_assets": 0.1000000000000000000000000001 has more than 2 decimal places (written exactly, never rounded)"#);
}

/// The good pair as Arrow batches, written by the writer with money in cents.
fn good_batches(policy: &Policy) -> (RecordBatch, RecordBatch) {
    let scales = Scales::of_inputs(&policy.program);
    households_to_batches(&policy.schema, &scales, &good(policy)).unwrap()
}

/// `batch` with column `name` replaced by `array` (or removed, or added at the end).
fn with(batch: &RecordBatch, name: &str, array: Option<ArrayRef>) -> RecordBatch {
    let schema = batch.schema();
    let mut fields: Vec<Field> = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    let mut found = false;
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        if f.name() == name {
            found = true;
            if let Some(a) = &array {
                fields.push(Field::new(name, a.data_type().clone(), true));
                cols.push(a.clone());
            }
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    if !found {
        let a = array.expect("a new column");
        fields.push(Field::new(name, a.data_type().clone(), true));
        cols.push(a);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<String> {
    let a = batch.column_by_name(name).unwrap();
    let s = a.as_any().downcast_ref::<StringArray>().unwrap();
    (0..s.len()).map(|i| s.value(i).to_string()).collect()
}

#[test]
fn batches_read_back_to_the_csv_pairs_households() {
    let policy = jian();
    let want = good(&policy);
    for scales in [Scales::of_inputs(&policy.program), Scales::uniform()] {
        let (h, p) = households_to_batches(&policy.schema, &scales, &want).unwrap();
        assert_eq!(h.num_rows(), want.len());
        let got = read_batches(
            &policy.schema,
            [h],
            [p.slice(0, 3), p.slice(3, p.num_rows() - 3)],
        )
        .unwrap();
        assert_eq!(got, want);
    }
}

#[test]
fn persons_in_any_order_and_arrow_types() {
    let policy = jian();
    let want = good(&policy);
    let (h, p) = good_batches(&policy);
    // Persons reversed, one batch per row.
    let persons: Vec<RecordBatch> = (0..p.num_rows()).rev().map(|i| p.slice(i, 1)).collect();
    let got = read_batches(&policy.schema, [h.clone()], persons).unwrap();
    let members = |hs: &[Household]| -> Vec<Vec<String>> {
        hs.iter()
            .map(|h| {
                let mut ids: Vec<String> = h.members.iter().map(|m| m.id.clone()).collect();
                ids.sort();
                ids
            })
            .collect()
    };
    assert_eq!(members(&got), members(&want));

    // Native types: vehicles as int32, money as strings and as integers, the area as a
    // dictionary (a pandas categorical), registered_poor as 0/1 integers.
    let n = h.num_rows();
    let vehicles: Vec<i32> = want
        .iter()
        .map(|h| int(&h.fields[slot(&policy, "vehicles")]) as i32)
        .collect();
    let assets: Vec<String> = want
        .iter()
        .map(|h| match &h.fields[slot(&policy, "financial_assets")] {
            Value::Num(n) => n.to_string(),
            v => panic!("{v:?}"),
        })
        .collect();
    let areas = strings(&h, "area");
    let dict: DictionaryArray<Int8Type> = areas.iter().map(String::as_str).collect();
    let poor: Vec<i64> = want
        .iter()
        .map(|h| (h.fields[slot(&policy, "registered_poor")] == Value::Bool(true)) as i64)
        .collect();
    let h2 = with(&h, "vehicles", Some(Arc::new(Int32Array::from(vehicles))));
    let h2 = with(
        &h2,
        "financial_assets",
        Some(Arc::new(StringArray::from(assets))),
    );
    let h2 = with(&h2, "area", Some(Arc::new(dict)));
    let h2 = with(
        &h2,
        "registered_poor",
        Some(Arc::new(Int64Array::from(poor))),
    );
    assert_eq!(h2.num_rows(), n);
    let got = read_batches(&policy.schema, [h2], [p.clone()]).unwrap();
    assert_eq!(got, want);
}

fn slot(policy: &Policy, name: &str) -> usize {
    policy.schema.household_index(name).unwrap()
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        v => panic!("{v:?}"),
    }
}

#[test]
fn decimal128_is_exact() {
    let policy = jian();
    let (h, p) = good_batches(&policy);
    let n = h.num_rows();
    // 12345678901234567890.123456789 at scale 9.
    let values: Vec<i128> = (0..n)
        .map(|i| {
            if i == 0 {
                12345678901234567890123456789
            } else {
                500_000_000
            }
        })
        .collect();
    let a = Decimal128Array::from(values)
        .with_precision_and_scale(38, 9)
        .unwrap();
    let got = read_batches(
        &policy.schema,
        [with(&h, "financial_assets", Some(Arc::new(a)))],
        [p.clone()],
    )
    .unwrap();
    let k = slot(&policy, "financial_assets");
    assert_eq!(
        got[0].fields[k],
        Value::Num(Num::parse("12345678901234567890.123456789").unwrap())
    );
    assert_eq!(got[1].fields[k], Value::Num(Num::parse("0.5").unwrap()));
    // At scale 30: 0.5 (zeros beyond 28 places are not digits) reads; 10^-30 cannot.
    let values: Vec<i128> = (0..n)
        .map(|i| if i == 0 { 1 } else { 5 * 10i128.pow(29) })
        .collect();
    let a = Decimal128Array::from(values)
        .with_precision_and_scale(38, 30)
        .unwrap();
    let err = read_batches(
        &policy.schema,
        [with(&h, "financial_assets", Some(Arc::new(a)))],
        [p],
    )
    .unwrap_err();
    insta::assert_snapshot!(err.to_string(), @r#"households row 1: household "H0", field "financial_assets": expected a decimal number such as 900 or 900.50, found 0.000000000000000000000000000001 (more than 28 decimal places cannot be held exactly)"#);
}

/// Every bad input, one per line: the message as the user sees it.
#[test]
fn bad_inputs() {
    let policy = jian();
    let s = &policy.schema;
    let (h, p) = good_batches(&policy);
    let n = h.num_rows();
    let np = p.num_rows();
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![900.5; n]));
    let mut ages: Vec<i64> = vec![30; np];
    ages[2] = 200;
    let mut ids = strings(&p, "person_id");
    ids[3] = ids[1].clone();
    let mut hh = strings(&p, "household_id");
    hh[4] = "H9999".into();
    let mut vehicles: Vec<Option<&str>> = vec![Some("1"); n];
    vehicles[1] = Some("two");
    let mut nulls: Vec<Option<i64>> = vec![Some(1); n];
    nulls[2] = None;
    let mut areas: Vec<&str> = vec!["urban"; n];
    areas[1] = "suburban";
    let cases: Vec<(&str, RecordBatch, RecordBatch)> = vec![
        (
            "float money",
            with(&h, "financial_assets", Some(floats)),
            p.clone(),
        ),
        ("missing column", with(&h, "houses", None), p.clone()),
        (
            "unknown column",
            with(&h, "pets", Some(Arc::new(Int64Array::from(vec![1; n])))),
            p.clone(),
        ),
        (
            "wrong type (boolean for an integer)",
            with(
                &h,
                "houses",
                Some(Arc::new(BooleanArray::from(vec![true; n]))),
            ),
            p.clone(),
        ),
        (
            "wrong value (text for an integer)",
            with(&h, "vehicles", Some(Arc::new(StringArray::from(vehicles)))),
            p.clone(),
        ),
        (
            "unknown enum variant",
            with(&h, "area", Some(Arc::new(StringArray::from(areas)))),
            p.clone(),
        ),
        (
            "null",
            with(&h, "houses", Some(Arc::new(Int64Array::from(nulls)))),
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
            "person of an unknown household",
            h.clone(),
            with(&p, "household_id", Some(Arc::new(StringArray::from(hh)))),
        ),
        ("household without persons", h.clone(), p.slice(0, 2)),
        ("duplicate household id", arrow_select_concat(&h), p.clone()),
    ];
    let mut out = String::new();
    for (what, h, p) in cases {
        let e = read_batches(s, [h.clone()], [p.clone()]).expect_err(what);
        // Read in chunks, the same error (the whole reader's).
        for chunk in [1, 3, 1000] {
            match map_chunks(
                s,
                ("households", std::slice::from_ref(&h)),
                ("persons", std::slice::from_ref(&p)),
                chunk,
                ok,
            ) {
                Err(ChunkError::Data(c)) => assert_eq!(c, e, "{what}, chunks of {chunk}"),
                other => panic!("{what}, chunks of {chunk}: {other:?}"),
            }
        }
        out.push_str(&format!(
            "{what}:\n  {e}\n  field: {:?}, expected: {:?}\n",
            e.field, e.expected
        ));
    }
    insta::assert_snapshot!(out);
}

/// `h` twice over (its ids then repeat).
fn arrow_select_concat(h: &RecordBatch) -> RecordBatch {
    let cols = h
        .columns()
        .iter()
        .map(|c| {
            let data = c.to_data();
            let a = arrow_array::make_array(data);
            concat2(&a)
        })
        .collect();
    RecordBatch::try_new(h.schema(), cols).unwrap()
}

/// An array followed by itself (built through its values as strings or by type).
fn concat2(a: &ArrayRef) -> ArrayRef {
    let idx: Vec<usize> = (0..a.len()).chain(0..a.len()).collect();
    macro_rules! take {
        ($t:ty) => {
            if let Some(x) = a.as_any().downcast_ref::<$t>() {
                return Arc::new(
                    idx.iter()
                        .map(|&i| x.is_valid(i).then(|| x.value(i)))
                        .collect::<$t>(),
                );
            }
        };
    }
    take!(StringArray);
    take!(BooleanArray);
    take!(Int64Array);
    if let Some(x) = a.as_any().downcast_ref::<Decimal128Array>() {
        let DataType::Decimal128(p, s) = x.data_type() else {
            unreachable!()
        };
        let v: Decimal128Array = idx.iter().map(|&i| Some(x.value(i))).collect();
        return Arc::new(v.with_precision_and_scale(*p, *s).unwrap());
    }
    panic!("{:?}", a.data_type())
}

#[test]
fn outputs_are_the_csv_cells_exactly() {
    let policy = jian();
    let hs = good(&policy);
    let m = Month::parse("2024-01").unwrap();
    let outputs: Vec<u32> = policy
        .program
        .defs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.entity == doudi_dsl::ast::EntityKind::Household)
        .map(|(i, _)| i as u32)
        .collect();
    // The households the policy evaluates (the good pair has a region Ji'an does not know).
    let (hs, rows): (Vec<Household>, Vec<Vec<Value>>) = hs
        .iter()
        .cloned()
        .zip(batch::evaluate_chunk(&policy, &hs, m, &outputs))
        .filter_map(|(h, r)| Some((h, r.ok()?)))
        .unzip();
    assert!(hs.len() >= 2, "{}", hs.len());
    let b = outputs_to_batch(
        &policy,
        &outputs,
        hs.iter().map(|h| h.id.as_str()).zip(&rows),
    )
    .unwrap();
    assert_eq!(b.num_rows(), hs.len());
    let mut checked = 0;
    for (k, &d) in outputs.iter().enumerate() {
        let ty = policy.program.defs[d as usize].ty;
        let col = b.column(k + 1);
        for (r, row) in rows.iter().enumerate() {
            let csv = policy.display(ty, &row[k]);
            assert_eq!(
                cell_text(col.as_ref(), r, ty),
                csv,
                "{} row {r}",
                policy.program.defs[d as usize].name
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
}

/// A cell shown as the CSV output shows its value.
fn cell_text(a: &dyn Array, r: usize, ty: doudi_dsl::ir::Ty) -> String {
    use doudi_dsl::ir::Ty;
    if let Some(x) = a.as_any().downcast_ref::<Decimal128Array>() {
        let DataType::Decimal128(_, s) = x.data_type() else {
            unreachable!()
        };
        let d = rust_decimal::Decimal::from_i128_with_scale(x.value(r), *s as u32);
        return match ty {
            Ty::Money(_) => format!("{d:.2}"),
            Ty::Percent => format!("{}%", (d * rust_decimal::Decimal::from(100)).normalize()),
            _ => d.normalize().to_string(),
        };
    }
    if let Some(x) = a.as_any().downcast_ref::<arrow_array::Date32Array>() {
        // Days since 1970-01-01, shown as the CSV shows a date.
        let d = x.value(r) as i64;
        let (y, m, day) = civil(d);
        return format!("{y:04}-{m:02}-{day:02}");
    }
    if let Some(x) = a.as_any().downcast_ref::<BooleanArray>() {
        return x.value(r).to_string();
    }
    if let Some(x) = a.as_any().downcast_ref::<Int64Array>() {
        return x.value(r).to_string();
    }
    if let Some(x) = a.as_any().downcast_ref::<StringArray>() {
        return x.value(r).to_string();
    }
    panic!("{:?}", a.data_type())
}

#[test]
fn outputs_that_have_no_exact_form_are_errors() {
    let policy = jian();
    let decimal = policy
        .program
        .defs
        .iter()
        .position(|d| matches!(d.ty, doudi_dsl::ir::Ty::Decimal))
        .map(|i| i as u32);
    let money = policy
        .program
        .defs
        .iter()
        .position(|d| d.ty.is_money())
        .unwrap() as u32;
    let cols = OutputColumns::new(&policy, &[money]);
    // Money shows cents as every eval output does: 1/3 yuan is 0.33, 2/3 is 0.67.
    let b = cols
        .batch([
            ("H1", vec![Value::Num(Num::Rat(1, 3))]),
            ("H2", vec![Value::Num(Num::Rat(2, 3))]),
        ])
        .unwrap();
    let m = b
        .column(1)
        .as_any()
        .downcast_ref::<Decimal128Array>()
        .unwrap();
    assert_eq!((m.value(0), m.value(1)), (33, 67));
    if let Some(d) = decimal {
        let cols = OutputColumns::new(&policy, &[d]);
        let e = cols
            .batch([("H1", vec![Value::Num(Num::Rat(1, 3))])])
            .unwrap_err();
        assert!(
            e.to_string().contains("1/3 has no exact decimal form"),
            "{e}"
        );
        let long = Num::parse("0.1234567890123456789").unwrap();
        let e = cols.batch([("H1", vec![Value::Num(long)])]).unwrap_err();
        assert!(e.to_string().contains("more than 18 decimal places"), "{e}");
    }
}

/// Days since 1970-01-01 as (year, month, day): an independent copy of the well-known algorithm.
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

/// A batch larger than one conversion task (rows are converted in parallel, 8,192 to a task):
/// read back whole and in order, and of two bad rows in different tasks the earlier is reported,
/// whichever kind of error each is.
#[test]
fn large_batches_read_in_order_and_report_the_first_bad_row() {
    let policy = jian();
    let s = &policy.schema;
    let want = Gen::new(s, 11, Profile::Realistic).households(0, 20_000);
    let scales = Scales::of_inputs(&policy.program);
    let (h, p) = households_to_batches(s, &scales, &want).unwrap();
    assert_eq!(read_batches(s, [h.clone()], [p.clone()]).unwrap(), want);
    let n = h.num_rows();
    let first_error = |dup_at: usize, bad_at: usize| {
        let mut ids = strings(&h, "household_id");
        ids[dup_at] = ids[0].clone();
        let mut vehicles: Vec<String> = vec!["1".into(); n];
        vehicles[bad_at] = "two".into();
        let h = with(&h, "household_id", Some(Arc::new(StringArray::from(ids))));
        let h = with(&h, "vehicles", Some(Arc::new(StringArray::from(vehicles))));
        read_batches(s, [h], [p.clone()]).unwrap_err().to_string()
    };
    let dup_first = first_error(100, 15_000);
    assert!(dup_first.starts_with("households row 101:"), "{dup_first}");
    assert!(dup_first.contains("duplicate household id"), "{dup_first}");
    let bad_first = first_error(15_000, 9_000);
    assert!(bad_first.starts_with("households row 9001:"), "{bad_first}");
    assert!(bad_first.contains("field \"vehicles\""), "{bad_first}");
}

/// A chunk's households, unchanged (the work of the chunked readers' tests).
fn ok(hs: Vec<Household>) -> Result<Vec<Household>, ()> {
    Ok(hs)
}

/// Read in chunks of households on several threads, the pair gives the whole reader's households,
/// persons in any order and spread over several batches; the caller's first error in household
/// order is returned when the data is valid.
#[test]
fn chunks_equal_the_whole_reader() {
    let policy = jian();
    let s = &policy.schema;
    let want = Gen::new(s, 5, Profile::Realistic).households(0, 3_000);
    let scales = Scales::of_inputs(&policy.program);
    let (h, p) = households_to_batches(s, &scales, &want).unwrap();
    let hb = [h.slice(0, 1_000), h.slice(1_000, 2_000)];
    let n = p.num_rows();
    let in_order = vec![p.slice(0, 7), p.slice(7, n - 7)];
    // Persons out of order: runs of 37 rows, last run first.
    let backwards: Vec<RecordBatch> = (0..n)
        .step_by(37)
        .rev()
        .map(|r| p.slice(r, 37.min(n - r)))
        .collect();
    for (pb, order) in [(in_order, "in order"), (backwards, "backwards")] {
        // Members in file order, as the whole reader gives them.
        let whole = read_batches(s, hb.clone(), pb.clone()).unwrap();
        assert!(order == "backwards" || whole == want);
        for chunk in [1, 64, 1_000, 5_000] {
            let got = map_chunks(s, ("households", &hb), ("persons", &pb), chunk, ok).unwrap();
            assert_eq!(got.len(), 3_000usize.div_ceil(chunk));
            assert!(got.concat() == whole, "persons {order}, chunks of {chunk}");
        }
    }
    let failing = map_chunks(
        s,
        ("households", &hb),
        ("persons", &[p]),
        100,
        |hs| match hs
            .iter()
            .position(|h| h.id == want[1_234].id || h.id == want[2_345].id)
        {
            Some(_) => Err(hs[0].id.clone()),
            None => Ok(()),
        },
    );
    match failing {
        Err(ChunkError::Work(first)) => assert_eq!(first, want[1_200].id),
        other => panic!("{other:?}"),
    }
}
