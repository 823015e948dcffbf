//! The date functions, shared by the reference evaluator and the compiled path so that both give
//! the same value and the same error.

use crate::eval::Month;
use crate::value::Value;
use doudi_dsl::calendar::{self, Calendar};
use doudi_dsl::ir::Builtin;

/// Applies a date built-in (`Builtin::is_time`) to its evaluated arguments in `month`.
pub fn apply(b: Builtin, args: &[Value], cal: &Calendar, month: Month) -> Result<Value, String> {
    let date = |i: usize| match args.get(i) {
        Some(Value::Date(d)) => Ok(*d),
        _ => Err("expected a date".to_string()),
    };
    let int = |i: usize| match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        _ => Err("expected a whole number of days".to_string()),
    };
    let out_of_range = || "the date is outside the years 1 to 9999".to_string();
    Ok(match b {
        Builtin::AddDays => {
            Value::Date(calendar::add_days(date(0)?, int(1)?).ok_or_else(out_of_range)?)
        }
        Builtin::DaysBetween => Value::Int(calendar::days_between(date(0)?, date(1)?)),
        Builtin::AddWorkingDays => Value::Date(
            cal.add_working_days(date(0)?, int(1)?)
                .map_err(|e| e.to_string())?,
        ),
        Builtin::WorkingDaysBetween => Value::Int(
            cal.working_days_between(date(0)?, date(1)?)
                .map_err(|e| e.to_string())?,
        ),
        Builtin::MonthStart => Value::Date(month.first_day()),
        Builtin::MonthEnd => Value::Date(calendar::month_end(month.year, month.month)),
        _ => return Err(format!("`{b:?}` is not a date function")),
    })
}
