//! The English and Chinese spelling of every keyword, and identifier characters.
//!
//! Shared by the chunk splitter, the nesting pre-scan, the error reporter and the formatter.

pub(super) fn is_id_start(c: char) -> bool {
    c == '_' || pest::unicode::XID_START(c)
}

pub(crate) fn is_id_char(c: char) -> bool {
    c == '_' || pest::unicode::XID_CONTINUE(c)
}

pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{3000}' | '\u{FEFF}')
}

/// The identifier-like word starting at byte `i` of `s` (empty if none).
pub(super) fn word_at(s: &str, i: usize) -> &str {
    let Some(rest) = s.get(i..) else { return "" };
    let mut chars = rest.char_indices();
    match chars.next() {
        Some((_, c)) if is_id_char(c) => {}
        _ => return "",
    }
    let end = rest
        .char_indices()
        .find(|(_, c)| !is_id_char(*c))
        .map(|(j, _)| j)
        .unwrap_or(rest.len());
    &rest[..end]
}

/// English spelling → Chinese spelling of every keyword (docs/LANGUAGE.md, "Keywords"). A keyword of
/// two English words (`per month`) has one Chinese word (`每月`); `per` alone is spelled once.
/// The language server completes from this list.
pub const KEYWORDS: &[(&str, &str)] = &[
    ("policy", "政策"),
    ("extends", "继承"),
    ("enum", "枚举"),
    ("input", "输入"),
    ("parameter", "参数"),
    ("override", "覆盖"),
    ("definition", "定义"),
    ("exception", "例外"),
    ("table", "决策表"),
    ("extern", "外部函数"),
    ("source", "依据"),
    ("quote", "原文"),
    ("assumption", "假设"),
    ("from", "自"),
    ("by", "按"),
    ("hit", "命中"),
    ("unique", "唯一"),
    ("first", "首个"),
    ("result", "结果"),
    ("otherwise", "其余"),
    ("when", "当"),
    ("if", "如果"),
    ("then", "那么"),
    ("else", "否则"),
    ("and", "且"),
    ("or", "或"),
    ("not", "非"),
    ("in", "属于"),
    ("for", "对"),
    ("where", "满足"),
    ("true", "真"),
    ("false", "假"),
    ("sum", "求和"),
    ("count", "计数"),
    ("any", "任一"),
    ("all", "全部"),
    ("min", "最小"),
    ("max", "最大"),
    ("round", "舍入"),
    ("monthly", "按月"),
    ("yearly", "按年"),
    ("abs", "绝对值"),
    ("person", "个人"),
    ("household", "家庭"),
    ("programme", "总体"),
    ("members", "成员"),
    ("households", "各户"),
    ("persons", "各人"),
    ("bool", "布尔"),
    ("integer", "整数"),
    ("decimal", "小数"),
    ("percent", "百分比"),
    ("money", "金额"),
    ("months", "月数"),
    ("date", "日期"),
    ("text", "文本"),
    ("per month", "每月"),
    ("per year", "每年"),
    ("per", "per"),
    ("default", "默认"),
    ("calendar", "工作日历"),
    ("holidays", "节假日"),
    ("working_weekends", "调休上班日"),
    ("state", "状态"),
    ("initially", "初始"),
    ("transitions", "转换"),
    ("to", "转为"),
    ("reason", "原因"),
];

pub(crate) const ITEM_KEYWORDS: &[&str] = &[
    "policy",
    "extends",
    "enum",
    "input",
    "parameter",
    "override",
    "definition",
    "exception",
    "table",
    "extern",
    "calendar",
    "state",
];

/// The English spelling of a keyword written in either language.
pub(crate) fn keyword_en(word: &str) -> Option<&'static str> {
    KEYWORDS
        .iter()
        .find(|(en, zh)| *en == word || *zh == word)
        .map(|(en, _)| *en)
}

pub(super) fn is_chinese_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|(en, zh)| *zh == word && *en != word)
}
