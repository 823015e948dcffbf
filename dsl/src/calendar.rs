//! Day arithmetic on dates and the working-day calendar (public holidays and 调休 working weekends).
//!
//! Dates are proleptic Gregorian. A working day is a Monday to Friday that is not a public holiday,
//! or a weekend day declared a working day (调休上班). The calendar knows only the years a policy
//! declares with `calendar YEAR`; asking about any other year is an error, never a guess.

use crate::ast::{Date, Span};
use crate::ir::Citation;
use std::collections::{BTreeMap, BTreeSet};

/// One declared year of the calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarYear {
    pub label: Option<String>,
    pub holidays: BTreeSet<Date>,
    pub working_weekends: BTreeSet<Date>,
    pub citations: Vec<Citation>,
    pub span: Span,
}

/// The working-day calendar of a policy: the years it declares.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calendar {
    pub years: BTreeMap<i32, CalendarYear>,
}

/// A question the calendar cannot answer: a date in a year it does not declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCovered {
    pub year: i32,
}

impl std::fmt::Display for NotCovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the working-day calendar has no year {}: add `calendar {}` with that year's public holidays and working weekends",
            self.year, self.year
        )
    }
}

/// The number of days since 1970-01-01 (negative before).
pub fn day_number(d: Date) -> i64 {
    // Howard Hinnant's days_from_civil.
    let y = d.year as i64 - if d.month <= 2 { 1 } else { 0 };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = d.month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d.day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number, if its year is between 1 and 9999.
pub fn from_day_number(n: i64) -> Option<Date> {
    let z = n.checked_add(719_468)?;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    if !(1..=9999).contains(&year) {
        return None;
    }
    Some(Date {
        year: year as i32,
        month,
        day,
    })
}

/// 1 = Monday … 7 = Sunday.
pub fn weekday(d: Date) -> u8 {
    // 1970-01-01 was a Thursday (4).
    ((day_number(d) + 3).rem_euclid(7) + 1) as u8
}

pub fn is_weekend(d: Date) -> bool {
    weekday(d) >= 6
}

/// `d` plus `n` days (`None` outside years 1 to 9999).
pub fn add_days(d: Date, n: i64) -> Option<Date> {
    from_day_number(day_number(d).checked_add(n)?)
}

/// Days from `a` to `b` (negative when `b` is earlier).
pub fn days_between(a: Date, b: Date) -> i64 {
    day_number(b) - day_number(a)
}

/// The number of days of a month (0 for a month that is not 1 to 12).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// The last day of a month.
pub fn month_end(year: i32, month: u8) -> Date {
    let next = if month == 12 {
        Date {
            year: year + 1,
            month: 1,
            day: 1,
        }
    } else {
        Date {
            year,
            month: month + 1,
            day: 1,
        }
    };
    from_day_number(day_number(next) - 1).unwrap_or(Date {
        year,
        month,
        day: 28,
    })
}

impl Calendar {
    pub fn is_empty(&self) -> bool {
        self.years.is_empty()
    }

    pub fn is_working_day(&self, d: Date) -> Result<bool, NotCovered> {
        let y = self.years.get(&d.year).ok_or(NotCovered { year: d.year })?;
        if y.working_weekends.contains(&d) {
            return Ok(true);
        }
        Ok(!is_weekend(d) && !y.holidays.contains(&d))
    }

    /// The `n`-th working day after `d` (before it when `n` is negative); `d` itself when `n` is 0.
    pub fn add_working_days(&self, d: Date, n: i64) -> Result<Date, NotCovered> {
        let forward = n >= 0;
        let mut left = n.unsigned_abs();
        let mut walk = DayWalk::new(self, d);
        while left > 0 {
            let date = if forward {
                walk.next()
            } else {
                walk.previous()
            }
            .ok_or(NotCovered {
                year: if forward { 10_000 } else { 0 },
            })?;
            if walk.is_working(date)? {
                left -= 1;
            }
        }
        Ok(walk.date)
    }

    /// The working days `w` with `a < w <= b` (negated when `b` is before `a`), so that
    /// `add_working_days(a, working_days_between(a, b))` is `b` whenever `b` is a working day.
    pub fn working_days_between(&self, a: Date, b: Date) -> Result<i64, NotCovered> {
        let (lo, hi, sign) = if b >= a { (a, b, 1) } else { (b, a, -1) };
        let mut count = 0i64;
        let mut walk = DayWalk::new(self, lo);
        while walk.date < hi {
            let date = walk.next().ok_or(NotCovered { year: hi.year })?;
            if walk.is_working(date)? {
                count += 1;
            }
        }
        Ok(sign * count)
    }
}

/// A walk over the calendar one day at a time: the date, its weekday and its year's entry carried
/// along (instead of a day-number conversion and a year lookup per day).
struct DayWalk<'c> {
    calendar: &'c Calendar,
    date: Date,
    /// 1 = Monday ... 7 = Sunday.
    weekday: u8,
    year: Option<&'c CalendarYear>,
}

impl<'c> DayWalk<'c> {
    fn new(calendar: &'c Calendar, date: Date) -> DayWalk<'c> {
        DayWalk {
            calendar,
            date,
            weekday: weekday(date),
            year: calendar.years.get(&date.year),
        }
    }

    fn next(&mut self) -> Option<Date> {
        let Date { year, month, day } = self.date;
        self.date = if u32::from(day) < days_in_month(year, u32::from(month)) {
            Date {
                year,
                month,
                day: day + 1,
            }
        } else if month < 12 {
            Date {
                year,
                month: month + 1,
                day: 1,
            }
        } else if year < 9999 {
            Date {
                year: year + 1,
                month: 1,
                day: 1,
            }
        } else {
            return None;
        };
        self.weekday = self.weekday % 7 + 1;
        self.moved(year);
        Some(self.date)
    }

    fn previous(&mut self) -> Option<Date> {
        let Date { year, month, day } = self.date;
        self.date = if day > 1 {
            Date {
                year,
                month,
                day: day - 1,
            }
        } else if month > 1 {
            let day = days_in_month(year, u32::from(month) - 1) as u8;
            Date {
                year,
                month: month - 1,
                day,
            }
        } else if year > 1 {
            Date {
                year: year - 1,
                month: 12,
                day: 31,
            }
        } else {
            return None;
        };
        self.weekday = (self.weekday + 5) % 7 + 1;
        self.moved(year);
        Some(self.date)
    }

    fn moved(&mut self, from_year: i32) {
        if self.date.year != from_year {
            self.year = self.calendar.years.get(&self.date.year);
        }
    }

    /// [`Calendar::is_working_day`] of the walk's date.
    fn is_working(&self, date: Date) -> Result<bool, NotCovered> {
        let y = self.year.ok_or(NotCovered { year: date.year })?;
        if y.working_weekends.contains(&date) {
            return Ok(true);
        }
        Ok(self.weekday < 6 && !y.holidays.contains(&date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walks agree with stepping by day numbers and `is_working_day`, across year ends, in
    /// both directions, and at the edges of the covered years.
    #[test]
    fn day_walks_agree_with_day_numbers() {
        let mut cal = Calendar::default();
        for year in [2023, 2024, 2025] {
            let mut holidays = BTreeSet::new();
            holidays.insert(d(year, 1, 1));
            holidays.insert(d(year, 10, 3));
            holidays.insert(d(year, 12, 31));
            let mut working_weekends = BTreeSet::new();
            working_weekends.insert(d(year, 10, 12));
            working_weekends.insert(d(year, 9, 29));
            cal.years.insert(
                year,
                CalendarYear {
                    label: None,
                    holidays,
                    working_weekends,
                    citations: Vec::new(),
                    span: Span::default(),
                },
            );
        }
        let slow_add = |start: Date, n: i64| -> Result<Date, NotCovered> {
            let step = if n < 0 { -1 } else { 1 };
            let (mut left, mut day) = (n.unsigned_abs(), day_number(start));
            while left > 0 {
                day += step;
                if cal.is_working_day(from_day_number(day).unwrap())? {
                    left -= 1;
                }
            }
            Ok(from_day_number(day).unwrap())
        };
        let mut start = d(2023, 1, 1);
        while start <= d(2025, 12, 31) {
            for n in [-40, -15, -1, 0, 1, 7, 15, 40, 400] {
                assert_eq!(
                    cal.add_working_days(start, n),
                    slow_add(start, n),
                    "{start:?} {n}"
                );
            }
            for other in [d(2023, 1, 1), d(2024, 2, 29), d(2025, 12, 31)] {
                let slow = (day_number(start.min(other)) + 1..=day_number(start.max(other)))
                    .filter(|&k| cal.is_working_day(from_day_number(k).unwrap()).unwrap())
                    .count() as i64;
                let sign = if other >= start { 1 } else { -1 };
                assert_eq!(cal.working_days_between(start, other), Ok(sign * slow));
            }
            start = add_days(start, 5).unwrap();
        }
    }

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date {
            year: y,
            month: m,
            day,
        }
    }

    #[test]
    fn month_lengths_agree_with_day_numbers() {
        for year in [1900, 2000, 2023, 2024] {
            for month in 1..=12u8 {
                let next = month_end(year, month);
                assert_eq!(
                    u32::from(next.day),
                    days_in_month(year, u32::from(month)),
                    "{year}-{month}"
                );
            }
        }
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2024, 13), 0);
        assert_eq!(days_in_month(2024, 0), 0);
    }

    #[test]
    fn day_numbers_round_trip_and_weekdays_are_right() {
        assert_eq!(day_number(d(1970, 1, 1)), 0);
        assert_eq!(day_number(d(2000, 3, 1)), 11_017);
        for n in [-719_162, -1, 0, 1, 11_016, 19_723, 2_932_896] {
            assert_eq!(day_number(from_day_number(n).unwrap()), n);
        }
        assert_eq!(from_day_number(-719_163), None); // the year 0
        assert_eq!(weekday(d(2024, 10, 1)), 2); // a Tuesday
        assert_eq!(weekday(d(2024, 9, 29)), 7); // a Sunday
        assert_eq!(month_end(2024, 2), d(2024, 2, 29));
        assert_eq!(month_end(2023, 12), d(2023, 12, 31));
        assert_eq!(add_days(d(2024, 2, 28), 2), Some(d(2024, 3, 1)));
        assert_eq!(days_between(d(2024, 3, 1), d(2024, 2, 28)), -2);
    }

    fn national_day_2024() -> Calendar {
        let mut c = Calendar::default();
        c.years.insert(
            2024,
            CalendarYear {
                label: None,
                holidays: (1..=7).map(|day| d(2024, 10, day)).collect(),
                working_weekends: [d(2024, 9, 29), d(2024, 10, 12)].into_iter().collect(),
                citations: Vec::new(),
                span: Span::default(),
            },
        );
        c
    }

    #[test]
    fn working_days_skip_holidays_and_count_working_weekends() {
        let c = national_day_2024();
        // Friday 2024-09-27: Sunday 09-29 is worked, 09-30 is Monday, then the holiday to 10-07.
        assert_eq!(c.add_working_days(d(2024, 9, 27), 1), Ok(d(2024, 9, 29)));
        assert_eq!(c.add_working_days(d(2024, 9, 27), 2), Ok(d(2024, 9, 30)));
        assert_eq!(c.add_working_days(d(2024, 9, 27), 3), Ok(d(2024, 10, 8)));
        assert_eq!(c.add_working_days(d(2024, 10, 8), -3), Ok(d(2024, 9, 27)));
        assert_eq!(
            c.working_days_between(d(2024, 9, 27), d(2024, 10, 8)),
            Ok(3)
        );
        assert_eq!(
            c.working_days_between(d(2024, 10, 8), d(2024, 9, 27)),
            Ok(-3)
        );
        assert_eq!(
            c.add_working_days(d(2024, 12, 30), 5),
            Err(NotCovered { year: 2025 })
        );
    }
}
