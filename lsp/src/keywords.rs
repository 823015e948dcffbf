//! The words of the language for completion: keywords in both spellings (the parser's list; a test
//! checks it against `grammar.pest`) and the built-in functions.

/// Keywords for completion: (English, 中文), taken from the parser's own list
/// ([`doudi_dsl::parse::KEYWORDS`]). A keyword written as two English words (`per month`, `每月`)
/// is completed word by word, each with "" as its other spelling; so is `per`, spelled once.
pub fn keywords() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    let mut push = |pair: (&'static str, &'static str)| {
        if !out.contains(&pair) {
            out.push(pair);
        }
    };
    for &(en, zh) in doudi_dsl::parse::KEYWORDS {
        if en.contains(' ') || en == zh {
            for word in en.split(' ') {
                push((word, ""));
            }
            if zh != en {
                push((zh, ""));
            }
        } else {
            push((en, zh));
        }
    }
    out
}

/// Built-in functions: (English, 中文, usage). Aggregations, `min`, `max`, `round`, `monthly`,
/// `yearly` and `abs` are keywords; the date functions and `previous` are names.
pub const FUNCTIONS: &[(&str, &str, &str)] = &[
    ("add_days", "加天数", "add_days(date, days)"),
    ("days_between", "相隔天数", "days_between(from, to)"),
    (
        "add_working_days",
        "加工作日",
        "add_working_days(date, days)",
    ),
    (
        "working_days_between",
        "相隔工作日",
        "working_days_between(from, to)",
    ),
    ("month_start", "本月首日", "month_start()"),
    ("month_end", "本月末日", "month_end()"),
    ("previous", "上月", "previous(STATE)"),
];
