//! Builds decision tables: the hit policy, the header row, the rows and their cells.
//!
//! Also enforces the layout: a row on one line, between `|`s, with one cell per column.

use pest::iterators::Pairs;

use super::expr::cmp_op;
use super::items::DeclHead;
use super::{peek_is, take, tight_end, Builder, Rule, P, R};
use crate::ast::{Cell, CellTest, HitPolicy, Item, Span, Spanned, TableDecl, TableRow};
use crate::diag::Diagnostic;

impl Builder<'_, '_> {
    /// `table ENTITY.NAME "label": TYPE meta* hit POLICY` then the header row, the rows and an
    /// optional `otherwise = EXPR`.
    pub(super) fn table(&mut self, mut it: Pairs<'_, Rule>, span: Span, at: usize) -> R<Item> {
        let cx = self.cx;
        let DeclHead {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
        } = self.decl_head(&mut it, at)?;
        take(&mut it, cx, at)?; // hit
        let hp = take(&mut it, cx, at)?;
        let hit_span = self.sp(&hp);
        let hit = match hp.into_inner().next().map(|k| k.as_rule()) {
            Some(Rule::kw_unique) => HitPolicy::Unique,
            Some(Rule::kw_first) => HitPolicy::First,
            Some(Rule::kw_sum) => HitPolicy::Sum,
            _ => return Err(cx.internal(at)),
        };
        let hit = Spanned {
            node: hit,
            span: hit_span,
        };

        // Header: | col | col | result |
        let header = take(&mut it, cx, at)?;
        let header_span = self.cx.span(self.start(&header), tight_end(&header));
        let mut columns = Vec::new();
        let mut prev_end: Option<usize> = None;
        for p in header.into_inner() {
            match p.as_rule() {
                Rule::bar => self.bar(&mut prev_end, &p)?,
                Rule::expr => {
                    let e = self.expr(p)?.0;
                    prev_end = Some(e.span.end as usize - cx.base);
                    columns.push(e);
                }
                _ => prev_end = Some(p.as_span().end()),
            }
        }

        let mut rows = Vec::new();
        let mut otherwise = None;
        let mut last_row_end = Some(header_span.end as usize - cx.base);
        for p in it {
            match p.as_rule() {
                Rule::table_row => {
                    let row_start = self.start(&p);
                    if let Some(e) = last_row_end {
                        if !self
                            .cx
                            .chunk
                            .get(e..row_start)
                            .is_some_and(|g| g.contains('\n'))
                        {
                            return Err(Diagnostic::error(
                                "a table row must start on a new line",
                                cx.span(row_start, row_start + 1),
                                "this `|` starts a new row",
                            )
                            .with_help("write each row of the table on its own line"));
                        }
                    }
                    let row = self.row(p, columns.len(), header_span)?;
                    last_row_end = Some(row.span.end as usize - cx.base);
                    rows.push(row);
                }
                Rule::otherwise => {
                    let e = p
                        .into_inner()
                        .find(|q| q.as_rule() == Rule::expr)
                        .ok_or_else(|| cx.internal(at))?;
                    otherwise = Some(self.expr(e)?.0);
                }
                _ => {}
            }
        }
        Ok(Item::Table(TableDecl {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
            hit,
            columns,
            rows,
            otherwise,
            span,
        }))
    }

    /// A `|` of a row, `prev_end` being the end of what precedes it in the row (updated to the end of
    /// the `|`). The `|` must be on the same line: otherwise the row lacks its closing `|` and the
    /// next line's `|` was taken as a cell separator.
    pub(super) fn bar(&self, prev_end: &mut Option<usize>, bar: &P<'_>) -> R<()> {
        if let Some(e) = *prev_end {
            if self
                .cx
                .chunk
                .get(e..self.start(bar))
                .is_some_and(|g| g.contains('\n'))
            {
                return Err(Diagnostic::error(
                    "expected `|` to end the table row",
                    self.cx.span(e, e),
                    "expected `|` here",
                )
                .with_help(
                    "every row starts and ends with `|` on the same line, with `|` between the cells",
                ));
            }
        }
        *prev_end = Some(bar.as_span().end());
        Ok(())
    }

    pub(super) fn row(&mut self, p: P<'_>, ncols: usize, header_span: Span) -> R<TableRow> {
        let cx = self.cx;
        let row_start = self.start(&p);
        let span = cx.span(row_start, tight_end(&p));
        let mut cells: Vec<(Cell, bool /*single value*/)> = Vec::new();
        let mut prev_end: Option<usize> = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::bar => self.bar(&mut prev_end, &q)?,
                Rule::cell => {
                    let (cell, single) = self.cell(q)?;
                    prev_end = Some(cell.span.end as usize - cx.base);
                    cells.push((cell, single));
                }
                _ => {}
            }
        }
        let Some((result_cell, single)) = cells.pop() else {
            return Err(cx.internal(row_start));
        };
        if !single {
            return Err(Diagnostic::error(
                "the last cell of a row is its result and must be a single value or formula",
                result_cell.span,
                "expected one expression here",
            )
            .with_help("write tests such as `-`, `>= 60` or `1..2` in the input cells, and the row's value in the last cell"));
        }
        let result = match result_cell.tests.into_iter().next() {
            Some(CellTest::Equals(e)) => e,
            _ => return Err(cx.internal(row_start)),
        };
        if cells.len() != ncols {
            let row_cells = match (cells.first(), cells.last()) {
                (Some(first), Some(last)) => first.0.span.to(last.0.span),
                _ => cx.span(row_start, row_start + 1),
            };
            return Err(Diagnostic::error(
                format!(
                    "this row has {} input cell{} but the header has {} column{}",
                    cells.len(),
                    if cells.len() == 1 { "" } else { "s" },
                    ncols,
                    if ncols == 1 { "" } else { "s" }
                ),
                row_cells,
                format!("{} input cell{}", cells.len(), if cells.len() == 1 { "" } else { "s" }),
            )
            .with_secondary(header_span, format!("{ncols} column{} before `result`", if ncols == 1 { "" } else { "s" }))
            .with_help("each row has one cell per header column, then the result; use `-` for \"any value\""));
        }
        Ok(TableRow {
            cells: cells.into_iter().map(|(c, _)| c).collect(),
            result,
            span,
        })
    }

    /// A cell, and whether it is a single plain value (as a result cell must be).
    pub(super) fn cell(&mut self, p: P<'_>) -> R<(Cell, bool)> {
        let cx = self.cx;
        let start = self.start(&p);
        let mut tests = Vec::new();
        let mut single = true;
        let mut end = start;
        let mut count = 0;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::cell_any => {
                    single = false;
                    end = start + 1;
                }
                Rule::cell_test => {
                    count += 1;
                    let t = q
                        .clone()
                        .into_inner()
                        .next()
                        .ok_or_else(|| self.internal(&q))?;
                    let mut ti = t.clone().into_inner();
                    match t.as_rule() {
                        Rule::cell_cmp => {
                            single = false;
                            let op = take(&mut ti, cx, start)?;
                            let op = cmp_op(op.as_str()).ok_or_else(|| cx.internal(start))?;
                            let (e, _) = self.expr(take(&mut ti, cx, start)?)?;
                            end = e.span.end as usize - cx.base;
                            tests.push(CellTest::Compare(op, e));
                        }
                        Rule::cell_value => {
                            let (lo, _) = self.expr(take(&mut ti, cx, start)?)?;
                            if peek_is(&ti, Rule::dotdot) {
                                single = false;
                                take(&mut ti, cx, start)?;
                                let (hi, _) = self.expr(take(&mut ti, cx, start)?)?;
                                end = hi.span.end as usize - cx.base;
                                tests.push(CellTest::Range(lo, hi));
                            } else {
                                end = lo.span.end as usize - cx.base;
                                tests.push(CellTest::Equals(lo));
                            }
                        }
                        _ => return Err(cx.internal(start)),
                    }
                }
                _ => {}
            }
        }
        if count > 1 {
            single = false;
        }
        Ok((
            Cell {
                tests,
                span: cx.span(start, end),
            },
            single,
        ))
    }
}
