//! The CSV pair processed segment by segment: each segment parsed, evaluated and formatted in one
//! task on a worker thread (its data stays in that core's cache and is freed there), the results
//! handed on in file order, so the output never depends on the number of threads.

use crate::data::{
    DataError, Household, PairSegments, PersonIdCheck, PersonIds, RawSegment, SegmentParser,
};
use std::collections::BTreeMap;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::sync::Mutex;

/// Runs `work` on the households of every segment of `pair` on `threads` worker threads (at most
/// two segments a thread ahead of the output) and hands each result to `sink` in file order.
///
/// The person ids are checked file-wide in file order, on the calling thread. The first error in
/// file order (of reading, of `work` or of `sink`) ends the run: the segments before it have been
/// handed to `sink`, none after it.
pub fn for_each_segment<T, E, W, S>(
    pair: PairSegments,
    threads: usize,
    work: W,
    sink: S,
) -> Result<(), E>
where
    T: Send,
    E: Send + From<DataError>,
    W: Fn(Vec<Household>) -> Result<T, E> + Sync,
    S: FnMut(T) -> Result<(), E>,
{
    let work = |parser: &Arc<SegmentParser>, seg: RawSegment| {
        let p = parser.parse(seg)?;
        work(p.households).map(|t| (p.person_ids, t))
    };
    for_each_raw_segment(pair, threads, work, sink)
}

/// [`for_each_segment`] with `work` given each raw segment and the parser (which it parses the
/// segment with, e.g. [`SegmentParser::parse_columns`]); `work` returns the segment's person ids
/// with its result, checked as [`for_each_segment`] checks them.
pub fn for_each_raw_segment<T, E, W, S>(
    mut pair: PairSegments,
    threads: usize,
    work: W,
    mut sink: S,
) -> Result<(), E>
where
    T: Send,
    E: Send + From<DataError>,
    W: Fn(&Arc<SegmentParser>, RawSegment) -> Result<(PersonIds, T), E> + Sync,
    S: FnMut(T) -> Result<(), E>,
{
    let threads = threads.max(1);
    let window = 2 * threads + 1;
    let parser = pair.parser();
    let mut ids = PersonIdCheck::new(&parser);
    let (raw_tx, raw_rx) = channel::<RawSegment>();
    let raw_rx = Mutex::new(raw_rx);
    let (done_tx, done_rx) = channel::<(u64, Result<(PersonIds, T), E>)>();
    std::thread::scope(|scope| {
        // Owned by this closure: dropped on any return, which lets the workers end.
        let raw_tx = raw_tx;
        for _ in 0..threads {
            let (raw_rx, done_tx, parser, work) = (&raw_rx, done_tx.clone(), &parser, &work);
            scope.spawn(move || {
                while let Some(seg) = next_job(raw_rx) {
                    let index = seg.index;
                    let result = work(parser, seg);
                    if done_tx.send((index, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut in_flight = 0usize;
        let mut next = 0u64;
        let mut read_error: Option<DataError> = None;
        let mut pending: BTreeMap<u64, Result<(PersonIds, T), E>> = BTreeMap::new();
        let mut reading = true;
        loop {
            while reading && in_flight < window {
                match pair.next_segment() {
                    Some(Ok(seg)) => {
                        // The workers outlive this loop, so the send cannot fail.
                        let _ = raw_tx.send(seg);
                        in_flight += 1;
                    }
                    Some(Err(e)) => {
                        read_error = Some(e);
                        reading = false;
                    }
                    None => reading = false,
                }
            }
            if in_flight == 0 {
                break;
            }
            let Ok((index, result)) = done_rx.recv() else {
                break;
            };
            in_flight -= 1;
            pending.insert(index, result);
            while let Some(result) = pending.remove(&next) {
                let (person_ids, t) = result?;
                ids.check(&person_ids)?;
                sink(t)?;
                next += 1;
            }
        }
        match read_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    })
}

/// The worker threads to use: rayon's (so `RAYON_NUM_THREADS` sets it, as for the rest of doudi).
pub fn default_threads() -> usize {
    rayon::current_num_threads()
}

fn next_job(rx: &Mutex<Receiver<RawSegment>>) -> Option<RawSegment> {
    rx.lock().ok()?.recv().ok()
}
