//! `report.xlsx` (rust_xlsxwriter): a README sheet listing the tables with their notes, then one sheet
//! per table. Excel stores numbers as binary floating point: the sheets are for reading and charting;
//! the exact amounts are in the CSV files. The creation date is the scenario's first month, so the file
//! is the same byte for byte on every run.

use super::tables::{Cell, Table};
use crate::setup::Prepared;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
use std::path::Path;

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

pub fn write(p: &Prepared, tables: &[Table], path: &Path) -> Result<(), String> {
    let mut wb = Workbook::new();
    let start = p.scenario.start_month();
    let date = ExcelDateTime::from_ymd(start.year.clamp(1900, 9999) as u16, start.month, 1).map_err(e)?;
    let title = p.scenario.scenario.title.clone().unwrap_or_else(|| p.scenario.scenario.name.clone());
    wb.set_properties(&DocProperties::new().set_title(&title).set_author("doudi").set_creation_datetime(&date));
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let whole = Format::new().set_num_format("#,##0");
    let frac = Format::new().set_num_format("#,##0.00");
    let share = Format::new().set_num_format("0.00%");

    let readme = wb.add_worksheet();
    readme.set_name("README").map_err(e)?;
    readme.write_string_with_format(0, 0, &title, &bold).map_err(e)?;
    readme.write_string(1, 0, format!("scenario {}: {}", p.scenario.scenario.name, p.scenario.scenario.description.clone().unwrap_or_default())).map_err(e)?;
    readme.write_string(2, 0, "Numbers are medians over the Monte Carlo runs with the 5th and 95th percentiles in the _p5 and _p95 columns; exact values are in the CSV files.").map_err(e)?;
    readme.write_string_with_format(4, 0, "sheet", &bold).map_err(e)?;
    readme.write_string_with_format(4, 1, "标题", &bold).map_err(e)?;
    readme.write_string_with_format(4, 2, "title", &bold).map_err(e)?;
    readme.write_string_with_format(4, 3, "note", &bold).map_err(e)?;
    for (i, t) in tables.iter().enumerate() {
        let r = 5 + i as u32;
        readme.write_string(r, 0, sheet_name(&t.name)).map_err(e)?;
        readme.write_string(r, 1, &t.title.zh).map_err(e)?;
        readme.write_string(r, 2, &t.title.en).map_err(e)?;
        readme.write_string(r, 3, &t.note).map_err(e)?;
    }
    readme.set_column_width(0, 18).map_err(e)?;
    readme.set_column_width(1, 30).map_err(e)?;
    readme.set_column_width(2, 40).map_err(e)?;
    readme.set_column_width(3, 100).map_err(e)?;

    for t in tables {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&t.name)).map_err(e)?;
        for (c, name) in t.columns.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, name, &bold).map_err(e)?;
            let width = (name.chars().count() as f64 + 2.0).clamp(10.0, 40.0);
            ws.set_column_width(c as u16, width).map_err(e)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c, s).map_err(e)?;
                    }
                    Cell::Money(_) => {
                        ws.write_number_with_format(r, c, cell.f64().unwrap_or(0.0), &money).map_err(e)?;
                    }
                    Cell::Count(n) => {
                        let f = if n.is_integer() { &whole } else { &frac };
                        ws.write_number_with_format(r, c, cell.f64().unwrap_or(0.0), f).map_err(e)?;
                    }
                    Cell::Share(_) => {
                        ws.write_number_with_format(r, c, cell.f64().unwrap_or(0.0), &share).map_err(e)?;
                    }
                }
            }
        }
        ws.set_freeze_panes(1, 0).map_err(e)?;
    }
    wb.save(path).map_err(e)?;
    Ok(())
}

fn sheet_name(name: &str) -> String {
    name.chars().take(31).collect()
}
