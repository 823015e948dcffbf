//! A segment of the CSV pair evaluated from columns: the reader hands each checked field straight
//! to the program's input columns (no `Household`, no `Vec<Value>` per person), the batches are
//! copied from them into the registers, and only a household the compiled path defers is built
//! from its records, for the reference evaluator.

use super::load::{load_b, load_e, load_n};
use super::*;
use crate::data::{DataError, FieldSink, PersonIds, RawSegment, SegmentParser};
use std::sync::Arc;

/// Why a segment was not evaluated: its data (the reader's error) or its evaluation.
#[derive(Debug)]
pub enum SegmentError {
    Data(DataError),
    Eval(EvalError),
}

impl From<EvalError> for SegmentError {
    fn from(e: EvalError) -> SegmentError {
        SegmentError::Eval(e)
    }
}

/// One input column of a segment (household or member lanes, in file order).
enum Column {
    Num(Vec<Q>),
    Bool(Vec<u8>),
    Enum(Vec<u16>),
    Unused,
}

/// Receives a segment's fields and keeps those the program loads, as lane values.
struct ColumnLoader<'a> {
    loads: &'a [Load],
    /// Per slot (household fields, person fields): the loads that read it.
    household: Vec<Vec<usize>>,
    person: Vec<Vec<usize>>,
    columns: Vec<Column>,
    /// Per load: the last text read as a variant, and its variant.
    last: Vec<Option<(Arc<str>, u16)>>,
}

impl<'a> ColumnLoader<'a> {
    fn new(prog: &'a ColumnarProgram, schema: &crate::data::Schema) -> ColumnLoader<'a> {
        let mut household = vec![Vec::new(); schema.household.len()];
        let mut person = vec![Vec::new(); schema.person.len()];
        let columns = prog
            .loads
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let slots = match l.lv {
                    Level::Household => &mut household,
                    Level::Person => &mut person,
                };
                if let Some(s) = slots.get_mut(l.slot) {
                    s.push(k);
                }
                // A segment's lanes (persons: about four a household), so that a column is
                // seldom grown.
                let n = match l.lv {
                    Level::Household => crate::data::SEGMENT_HOUSEHOLDS,
                    Level::Person => 4 * crate::data::SEGMENT_HOUSEHOLDS,
                };
                match l.cat {
                    Category::Num => Column::Num(Vec::with_capacity(n)),
                    Category::Bool => Column::Bool(Vec::with_capacity(n)),
                    Category::Enum => Column::Enum(Vec::with_capacity(n)),
                    Category::Other => Column::Unused,
                }
            })
            .collect();
        ColumnLoader {
            loads: &prog.loads,
            household,
            person,
            columns,
            last: vec![None; prog.loads.len()],
        }
    }
}

/// The variant a text names (poison when none), remembering the last text read.
fn variant(v: &Value, names: &[String], last: &mut Option<(Arc<str>, u16)>) -> u16 {
    let Value::Text(t) = v else {
        return ENUM_POISON;
    };
    if let Some((l, k)) = last {
        if Arc::ptr_eq(l, t) || **l == **t {
            return *k;
        }
    }
    let k = names
        .iter()
        .position(|x| x.as_str() == &**t)
        .map_or(ENUM_POISON, |k| k as u16);
    *last = Some((t.clone(), k));
    k
}

impl FieldSink for ColumnLoader<'_> {
    fn wants(&self, person: bool, slot: usize) -> bool {
        let targets = if person {
            &self.person
        } else {
            &self.household
        };
        targets.get(slot).is_some_and(|t| !t.is_empty())
    }
    #[inline]
    fn field(&mut self, person: bool, slot: usize, v: Value) {
        let targets = if person {
            &self.person[slot]
        } else {
            &self.household[slot]
        };
        for &k in targets {
            let l = &self.loads[k];
            match (&mut self.columns[k], &l.variants) {
                (Column::Num(c), _) => c.push(load_n(&v)),
                (Column::Bool(c), _) => c.push(load_b(&v)),
                (Column::Enum(c), None) => c.push(load_e(&v)),
                (Column::Enum(c), Some(names)) => c.push(variant(&v, names, &mut self.last[k])),
                (Column::Unused, _) => {}
            }
        }
    }
}

impl ColumnarProgram {
    /// Whether the program reads its inputs from the loaded registers only (no instruction reads a
    /// household's own values: ids, text or date fields). The history it may read is the
    /// households' of a CSV pair: none.
    pub(super) fn reads_columns_only(&self) -> bool {
        !self.ins.iter().any(|i| {
            matches!(
                i,
                Instruction::Generic {
                    op: GenericOp::Id | GenericOp::Input(_),
                    ..
                }
            )
        }) && self.loads.iter().all(|l| l.cat != Category::Other)
    }

    /// Lays out households `hs` of a segment (members `off[i]..off[i + 1]`) and copies their
    /// input columns into the registers.
    fn prepare_columns(
        &self,
        fr: &mut Frame,
        columns: &[Column],
        off: &[usize],
        hs: std::ops::Range<usize>,
    ) {
        let (p0, p1) = (off[hs.start], off[hs.end]);
        fr.h = hs.len();
        fr.p = p1 - p0;
        fr.off.clear();
        fr.off.extend(off[hs.start..=hs.end].iter().map(|o| o - p0));
        fr.hix.clear();
        fr.pos.clear();
        for i in 0..fr.h {
            for m in 0..fr.off[i + 1] - fr.off[i] {
                fr.hix.push(i as u32);
                fr.pos.push((i as u32, m as u32));
            }
        }
        self.size(fr);
        for (l, c) in self.loads.iter().zip(columns) {
            let d = l.dst as usize;
            let r = match l.lv {
                Level::Household => hs.clone(),
                Level::Person => p0..p1,
            };
            let n = r.len();
            match c {
                Column::Num(c) => fr.n[d][..n].copy_from_slice(&c[r]),
                Column::Bool(c) => fr.b[d][..n].copy_from_slice(&c[r]),
                Column::Enum(c) => fr.e[d][..n].copy_from_slice(&c[r]),
                Column::Unused => {}
            }
        }
    }
}

impl<'p> CompiledPolicy<'p> {
    /// Whether [`map_segment`](Self::map_segment) can evaluate this policy from columns (its
    /// program reads no text, date or id input itself).
    pub fn reads_columns(&self) -> bool {
        self.prog.reads_columns_only()
    }

    /// Parses segment `seg` of a CSV pair into the program's input columns (every field checked as
    /// [`SegmentParser::parse`] checks it, with the same errors), evaluates its households on this
    /// thread batch by batch and maps each household's outputs with `f` (its id and values);
    /// with `totals`, adds every household to them. A household the compiled path defers is built
    /// from its records and evaluated by the reference. The results in file order, with the
    /// segment's person ids; the data error, or else the first evaluation error in file order.
    ///
    /// Only for a policy that [`reads_columns`](Self::reads_columns) (it panics otherwise).
    pub fn map_segment<T>(
        &self,
        parser: &Arc<SegmentParser>,
        seg: RawSegment,
        month: Month,
        mut totals: Option<&mut Totals<'p>>,
        mut f: impl FnMut(&str, &[Value]) -> T,
    ) -> Result<(PersonIds, Vec<T>), SegmentError> {
        assert!(
            self.reads_columns(),
            "map_segment: the program reads households"
        );
        let mut loader = ColumnLoader::new(&self.prog, &self.policy.schema);
        let (recs, ids) =
            SegmentParser::parse_columns(parser, seg, &mut loader).map_err(SegmentError::Data)?;
        let columns = loader.columns;
        // What the program reads of the households themselves: their history, none in a CSV pair.
        let no_history = vec![
            Household {
                id: String::new(),
                fields: Vec::new(),
                members: Vec::new(),
                previous: None,
            };
            BATCH
        ];
        let mut s = self.session(month);
        let off = recs.offsets();
        let n = recs.len();
        let mut out = Vec::with_capacity(self.outputs.len());
        let mut vals: Vec<(u32, Option<Value>)> = Vec::new();
        let mut res = Vec::with_capacity(n);
        let mut b0 = 0;
        while b0 < n {
            let b1 = (b0 + BATCH).min(n);
            self.prog
                .prepare_columns(&mut s.frame, &columns, off, b0..b1);
            let hs = &no_history[..b1 - b0];
            s.run(hs, totals.is_some());
            let ex = s.exec(hs);
            let srcs = s.output_sources(&ex);
            for i in 0..b1 - b0 {
                out.clear();
                vals.clear();
                let fast = push_outputs(&ex, &s.frame, &srcs, i, &mut out)
                    && (totals.is_none() || s.total_values(i, &mut vals));
                if fast {
                    if let Some(t) = totals.as_deref_mut() {
                        t.add_values(&vals)?;
                    }
                } else {
                    let h = recs.household(b0 + i).map_err(SegmentError::Data)?;
                    let mut ev = self.reference_eval(&h, month);
                    out.clear();
                    self.reference_outputs(&mut ev, &mut out)?;
                    if let Some(t) = totals.as_deref_mut() {
                        t.add(&mut ev)?;
                    }
                }
                res.push(f(recs.id(b0 + i), &out));
            }
            b0 = b1;
        }
        Ok((ids, res))
    }
}
