//! Filing and decision dates on the policy's working-day calendar.

use super::*;

/// The filing date and the decision date of an application, on the policy's working-day calendar:
/// it is filed on a working day of `month` drawn by `u` (in [0, 1), behaviour) and decided `lag`
/// working days later (the offices' processing time, behaviour). `None` when the calendar does not
/// cover the dates.
pub fn filing_and_decision(cal: &Calendar, month: Month, u: f64, lag: u32) -> Option<(Date, Date)> {
    let first = month.first_day();
    let last = calendar::month_end(month.year, month.month);
    let mut working = Vec::with_capacity(23);
    for k in 0..=calendar::days_between(first, last) {
        let d = calendar::add_days(first, k)?;
        if cal.is_working_day(d).ok()? {
            working.push(d);
        }
    }
    let n = working.len();
    if n == 0 {
        return None;
    }
    let filed = working[((u * n as f64) as usize).min(n - 1)];
    let decided = cal.add_working_days(filed, lag as i64).ok()?;
    Some((filed, decided))
}

/// Months from `month` to the month of `date` (0 when it is in `month`).
pub fn months_between(month: Month, date: Date) -> u32 {
    let k = (date.year - month.year) * 12 + date.month as i32 - month.month as i32;
    k.max(0) as u32
}

/// Months from the filing month to the decision month ([`filing_and_decision`]).
pub fn decision_months(cal: &Calendar, month: Month, u: f64, lag: u32) -> Option<u32> {
    filing_and_decision(cal, month, u, lag).map(|(_, decided)| months_between(month, decided))
}
