//! `report.xlsx` (rust_xlsxwriter): a README sheet listing the tables with their notes, then one sheet
//! per table.
//!
//! Headers are bilingual, Chinese first, with the unit (`在保户数(户) households paid dibao`). Money
//! is in 万元 with two decimals, counts with thousands separators, shares as percentages. Totals that
//! are sums (the total spending of a row = dibao + the allowances) are Excel formulas whose cached
//! result is the computed total. Estimates resting on fewer than 30 simulated households are orange.
//! Excel stores numbers as binary floating point: the sheets are for reading and charting; the exact
//! amounts (yuan) are in the CSV files. The creation date is the scenario's first month, so the file
//! is the same byte for byte on every run.

use super::tables::{Cell, Table};
use crate::montecarlo::FEW_CASES;
use crate::setup::Prepared;
use rust_xlsxwriter::{
    utility::row_col_to_cell, DocProperties, ExcelDateTime, Format, Formula, Workbook, Worksheet,
};
use std::path::Path;

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

/// The colour of estimates resting on few simulated cases.
const FEW_FILL: u32 = 0xFCE4C4;

/// The number formats, plain and flagged.
struct Formats {
    bold: Format,
    header: Format,
    money: [Format; 2],
    whole: [Format; 2],
    frac: [Format; 2],
    share: [Format; 2],
}

impl Formats {
    fn new() -> Formats {
        let pair = |num: &str| {
            [
                Format::new().set_num_format(num),
                Format::new()
                    .set_num_format(num)
                    .set_background_color(FEW_FILL),
            ]
        };
        Formats {
            bold: Format::new().set_bold(),
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_background_color(0xF0F3F7),
            money: pair("#,##0.00"),
            whole: pair("#,##0"),
            frac: pair("#,##0.00"),
            share: pair("0.00%"),
        }
    }
}

pub fn write(p: &Prepared, tables: &[Table], path: &Path) -> Result<(), String> {
    let mut wb = Workbook::new();
    let start = p.scenario.start_month();
    let date =
        ExcelDateTime::from_ymd(start.year.clamp(1900, 9999) as u16, start.month, 1).map_err(e)?;
    let title = p
        .scenario
        .scenario
        .title
        .clone()
        .unwrap_or_else(|| p.scenario.scenario.name.clone());
    wb.set_properties(
        &DocProperties::new()
            .set_title(&title)
            .set_author("doudi")
            .set_creation_datetime(&date),
    );
    let fm = Formats::new();

    let readme = wb.add_worksheet();
    readme.set_name("README").map_err(e)?;
    readme
        .write_string_with_format(0, 0, &title, &fm.bold)
        .map_err(e)?;
    readme
        .write_string(
            1,
            0,
            format!(
                "情景 scenario {}: {}",
                p.scenario.scenario.name,
                p.scenario.scenario.description.clone().unwrap_or_default()
            ),
        )
        .map_err(e)?;
    readme
        .write_string(2, 0, "金额单位:万元(两位小数);户数、人数为整数。数字为各次模拟的均值(可相加),5%、95%分位列为区间(不可相加)。Amounts in 万元 (10,000 yuan); figures are means over the runs (they add up), with the 5th and 95th percentiles (which do not). Exact amounts in yuan are in the CSV files.")
        .map_err(e)?;
    readme.write_string(3, 0, format!("橙色单元格:模拟样本少于{FEW_CASES}户,仅供参考。Orange cells rest on fewer than {FEW_CASES} simulated households: too few to be more than indicative.")).map_err(e)?;
    readme
        .write_string_with_format(3, 1, "", &fm.whole[1])
        .map_err(e)?;
    for (c, h) in ["工作表 sheet", "标题", "title", "说明 note"]
        .iter()
        .enumerate()
    {
        readme
            .write_string_with_format(5, c as u16, *h, &fm.bold)
            .map_err(e)?;
    }
    for (i, t) in tables.iter().enumerate() {
        let r = 6 + i as u32;
        readme.write_string(r, 0, sheet_name(&t.name)).map_err(e)?;
        readme.write_string(r, 1, &t.title.zh).map_err(e)?;
        readme.write_string(r, 2, &t.title.en).map_err(e)?;
        readme.write_string(r, 3, &t.note).map_err(e)?;
    }
    for (c, w) in [18.0, 30.0, 40.0, 100.0].iter().enumerate() {
        readme.set_column_width(c as u16, *w).map_err(e)?;
    }

    for t in tables {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&t.name)).map_err(e)?;
        sheet(ws, t, &fm)?;
    }
    wb.save(path).map_err(e)?;
    Ok(())
}

/// One table on its sheet: the report columns only (case counts are in the CSV files).
fn sheet(ws: &mut Worksheet, t: &Table, fm: &Formats) -> Result<(), String> {
    // Table column → sheet column.
    let mut at: Vec<Option<u16>> = Vec::with_capacity(t.columns.len());
    let mut next = 0u16;
    for c in &t.columns {
        if c.report {
            at.push(Some(next));
            next += 1;
        } else {
            at.push(None);
        }
    }
    ws.set_row_height(0, 45).map_err(e)?;
    for (c, col) in t.columns.iter().enumerate() {
        let Some(x) = at[c] else { continue };
        let header = col.header();
        ws.write_string_with_format(0, x, &header, &fm.header)
            .map_err(e)?;
        let width = (header.chars().count() as f64 * 0.6 + 2.0).clamp(10.0, 28.0);
        ws.set_column_width(x, width).map_err(e)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let xr = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let Some(x) = at.get(c).copied().flatten() else {
                continue;
            };
            let few = usize::from(t.thin.contains(&(r, c)));
            let v = cell.report_f64().unwrap_or(0.0);
            match cell {
                Cell::Text(s) => ws.write_string(xr, x, s).map(|_| ()).map_err(e)?,
                Cell::Unit(_) => ws
                    .write_string(xr, x, cell.report_text())
                    .map(|_| ())
                    .map_err(e)?,
                Cell::Money(_) => ws
                    .write_number_with_format(xr, x, v, &fm.money[few])
                    .map(|_| ())
                    .map_err(e)?,
                Cell::Count(n) => ws
                    .write_number_with_format(
                        xr,
                        x,
                        v,
                        if n.is_integer() {
                            &fm.whole[few]
                        } else {
                            &fm.frac[few]
                        },
                    )
                    .map(|_| ())
                    .map_err(e)?,
                Cell::Cases(_) => ws
                    .write_number_with_format(xr, x, v, &fm.whole[few])
                    .map(|_| ())
                    .map_err(e)?,
                Cell::Share(_) => ws
                    .write_number_with_format(xr, x, v, &fm.share[few])
                    .map(|_| ())
                    .map_err(e)?,
            }
        }
        // Sums as formulas, with the computed total as the cached result.
        for (total, parts) in &t.sums {
            let (Some(x), Some(cell)) = (at[*total], row.get(*total)) else {
                continue;
            };
            let refs: Vec<String> = parts
                .iter()
                .filter_map(|p| at[*p])
                .map(|px| row_col_to_cell(xr, px))
                .collect();
            if refs.is_empty() {
                continue;
            }
            let result = cell.report_f64().unwrap_or(0.0);
            let formula =
                Formula::new(format!("={}", refs.join("+"))).set_result(format!("{result}"));
            let few = usize::from(t.thin.contains(&(r, *total)));
            ws.write_formula_with_format(xr, x, formula, &fm.money[few])
                .map_err(e)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(e)?;
    Ok(())
}

fn sheet_name(name: &str) -> String {
    name.chars().take(31).collect()
}
