//! Loading a batch's inputs into registers, and populations loaded as columns (`LoadedPopulation`).

use super::*;
use std::sync::Arc;

/// Decimal inputs with fewer places are read over the denominator `10^INPUT_SCALE` (cents), keeping
/// their own scale, so that the amounts of a column share a denominator.
pub(super) const INPUT_SCALE: u32 = 2;

#[inline]
pub(super) fn load_n(v: &Value) -> Q {
    match v {
        Value::Num(crate::num::Num::Dec(d)) => Q::or_poison(Q::from_decimal_scaled(d, INPUT_SCALE)),
        Value::Num(n) => Q::or_poison(Q::from_num(n)),
        Value::Int(i) => Q::or_poison(Q::int(*i)),
        _ => Q::POISON,
    }
}
#[inline]
pub(super) fn load_b(v: &Value) -> u8 {
    match v {
        Value::Bool(b) => *b as u8,
        _ => LANE_POISON,
    }
}
/// The variant named by a text code (poison when no variant has that name). Readers share one
/// allocation per distinct text of a column, so the last lookup is remembered by address.
#[inline]
fn load_variant<'v>(v: &'v Value, names: &[String], last: &mut Option<(&'v Arc<str>, u16)>) -> u16 {
    match v {
        Value::Text(t) => match *last {
            Some((l, k)) if Arc::ptr_eq(l, t) => k,
            _ => {
                let k = names
                    .iter()
                    .position(|x| x.as_str() == &**t)
                    .map_or(ENUM_POISON, |k| k as u16);
                *last = Some((t, k));
                k
            }
        },
        _ => ENUM_POISON,
    }
}

#[inline]
pub(super) fn load_e(v: &Value) -> u16 {
    match v {
        Value::Enum(e) if *e != ENUM_POISON => *e,
        _ => ENUM_POISON,
    }
}

impl ColumnarProgram {
    /// Lays out a batch (members side by side) and sizes the registers.
    pub(super) fn layout(&self, fr: &mut Frame, hs: &[Household]) {
        fr.h = hs.len();
        fr.off.clear();
        fr.hix.clear();
        fr.pos.clear();
        let mut p = 0;
        for (i, h) in hs.iter().enumerate() {
            fr.off.push(p);
            for m in 0..h.members.len() {
                fr.hix.push(i as u32);
                fr.pos.push((i as u32, m as u32));
            }
            p += h.members.len();
        }
        fr.off.push(p);
        fr.p = p;
        self.size(fr);
    }

    pub(super) fn size(&self, fr: &mut Frame) {
        let (h, p) = (fr.h, fr.p);
        let lanes = |lv: Level| match lv {
            Level::Household => h,
            Level::Person => p,
        };
        fn size<T: Clone>(
            regs: &mut Vec<Vec<T>>,
            levels: &[Level],
            lanes: &dyn Fn(Level) -> usize,
            fill: T,
        ) {
            if regs.len() < levels.len() {
                regs.resize_with(levels.len(), Vec::new);
            }
            for (r, lv) in regs.iter_mut().zip(levels) {
                let n = lanes(*lv);
                if r.len() < n {
                    r.resize(n, fill.clone());
                }
            }
        }
        size(&mut fr.n, &self.levels[0], &lanes, Q::POISON);
        size(&mut fr.b, &self.levels[1], &lanes, LANE_POISON);
        size(&mut fr.e, &self.levels[2], &lanes, ENUM_POISON);
        size(&mut fr.v, &self.levels[3], &lanes, None);
    }

    /// Lays out a batch and loads its inputs from the households' values.
    pub(super) fn prepare(&self, fr: &mut Frame, hs: &[Household]) {
        self.layout(fr, hs);
        // Household fields, then each member's fields in one pass over the member.
        for l in self.loads.iter().filter(|l| l.lv == Level::Household) {
            let d = l.dst as usize;
            let mut last = None;
            for (i, h) in hs.iter().enumerate() {
                let v = &h.fields[l.slot];
                match (l.cat, &l.variants) {
                    (Category::Num, _) => fr.n[d][i] = load_n(v),
                    (Category::Bool, _) => fr.b[d][i] = load_b(v),
                    (Category::Enum, None) => fr.e[d][i] = load_e(v),
                    (Category::Enum, Some(names)) => fr.e[d][i] = load_variant(v, names, &mut last),
                    (Category::Other, _) => {}
                }
            }
        }
        let person: Vec<&Load> = self
            .loads
            .iter()
            .filter(|l| l.lv == Level::Person)
            .collect();
        let mut last = vec![None; person.len()];
        let mut j = 0;
        for h in hs {
            for m in &h.members {
                for (l, last) in person.iter().zip(last.iter_mut()) {
                    let v = &m.fields[l.slot];
                    let d = l.dst as usize;
                    match (l.cat, &l.variants) {
                        (Category::Num, _) => fr.n[d][j] = load_n(v),
                        (Category::Bool, _) => fr.b[d][j] = load_b(v),
                        (Category::Enum, None) => fr.e[d][j] = load_e(v),
                        (Category::Enum, Some(names)) => fr.e[d][j] = load_variant(v, names, last),
                        (Category::Other, _) => {}
                    }
                }
                j += 1;
            }
        }
    }

    /// Lays out a batch from its loaded columns, copied into the registers (one sequential copy
    /// of contiguous memory; the program then reads its inputs from the processor's cache, which is
    /// faster than reading the loaded columns in place each time an instruction uses them).
    pub(super) fn prepare_loaded(&self, fr: &mut Frame, b: &LoadedBatch) {
        fr.h = b.h;
        fr.p = b.p;
        fr.off.clear();
        fr.off.extend_from_slice(&b.off);
        fr.hix.clear();
        fr.hix.extend_from_slice(&b.hix);
        fr.pos.clear();
        fr.pos.extend_from_slice(&b.pos);
        self.size(fr);
        let (mut n, mut bo, mut e) = (0, 0, 0);
        for l in &self.loads {
            let d = l.dst as usize;
            let lanes = if l.lv == Level::Household { b.h } else { b.p };
            match l.cat {
                Category::Num => {
                    fr.n[d][..lanes].copy_from_slice(&b.n[n]);
                    n += 1;
                }
                Category::Bool => {
                    fr.b[d][..lanes].copy_from_slice(&b.b[bo]);
                    bo += 1;
                }
                Category::Enum => {
                    fr.e[d][..lanes].copy_from_slice(&b.e[e]);
                    e += 1;
                }
                Category::Other => {}
            }
        }
    }

    /// The input columns of a batch, for [`LoadedPopulation`].
    pub(super) fn load_batch(&self, hs: &[Household], start: usize) -> LoadedBatch {
        let mut fr = Frame::default();
        self.prepare(&mut fr, hs);
        let mut b = LoadedBatch {
            start,
            h: fr.h,
            p: fr.p,
            off: fr.off.clone(),
            hix: fr.hix.clone(),
            pos: fr.pos.clone(),
            n: Vec::new(),
            b: Vec::new(),
            e: Vec::new(),
        };
        for l in &self.loads {
            let d = l.dst as usize;
            let lanes = if l.lv == Level::Household { fr.h } else { fr.p };
            match l.cat {
                Category::Num => b.n.push(fr.n[d][..lanes].to_vec()),
                Category::Bool => b.b.push(fr.b[d][..lanes].to_vec()),
                Category::Enum => b.e.push(fr.e[d][..lanes].to_vec()),
                Category::Other => {}
            }
        }
        b
    }
}

/// The inputs of one batch as columns.
pub(super) struct LoadedBatch {
    pub(super) start: usize,
    pub(super) h: usize,
    pub(super) p: usize,
    pub(super) off: Vec<usize>,
    pub(super) hix: Vec<u32>,
    pub(super) pos: Vec<(u32, u32)>,
    pub(super) n: Vec<Vec<Q>>,
    pub(super) b: Vec<Vec<u8>>,
    pub(super) e: Vec<Vec<u16>>,
}

/// A population loaded for a [`CompiledPolicy`]: the input fields its program reads, as compact
/// columns (exact numbers of 16 bytes, booleans and enum values of one and two), batch by batch.
/// What "data already loaded" means for the compiled path, like arrays for a vectorised engine;
/// the households stay borrowed for the households the reference must take over.
pub struct LoadedPopulation<'h> {
    pub(super) hs: &'h [Household],
    pub(super) batches: Vec<LoadedBatch>,
}

impl<'h> LoadedPopulation<'h> {
    pub fn len(&self) -> usize {
        self.hs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.hs.is_empty()
    }
    /// Bytes held by the columns.
    pub fn column_bytes(&self) -> usize {
        self.batches
            .iter()
            .map(|b| {
                b.n.iter().map(|c| c.len() * 16).sum::<usize>()
                    + b.b.iter().map(|c| c.len()).sum::<usize>()
                    + b.e.iter().map(|c| c.len() * 2).sum::<usize>()
                    + b.off.len() * 8
                    + b.hix.len() * 4
                    + b.pos.len() * 8
            })
            .sum()
    }
}

// ---------------------------------------------------------------------------------------------
