//! What each figure counts, in Chinese and English, with its unit; one colour per programme.
//!
//! Labels name what is counted, not what the policy intends: `households` of dibao are the households
//! *paid* dibao in the month (在保户数), not the households that meet the conditions; those that meet
//! them but are not paid are `eligible_not_on_dibao` (符合条件未在保户数).
//!
//! Units: every report table (HTML, Excel) and chart shows money in 万元 (10,000 yuan) with two
//! decimals and counts in 户 (households) or 人 (persons); the CSV files keep yuan with two decimals,
//! and their money columns end in `_yuan`.

use super::charts::Text;
use plotters::style::RGBColor;

/// The unit of a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Money: 万元 in tables and charts, yuan in CSV.
    Money,
    Households,
    Persons,
    /// A number without a unit (programme outputs that are not money).
    Number,
}

impl Unit {
    pub fn of(measure: &str) -> Unit {
        match measure {
            "spending" => Unit::Money,
            "persons" => Unit::Persons,
            _ => Unit::Households,
        }
    }
    /// The unit in a report table's header: `万元`, `户`, `人`.
    pub fn zh(self) -> &'static str {
        match self {
            Unit::Money => "万元",
            Unit::Households => "户",
            Unit::Persons => "人",
            Unit::Number => "",
        }
    }
    /// The unit as CSV files state it.
    pub fn csv(self) -> &'static str {
        match self {
            Unit::Money => "yuan",
            Unit::Households => "households",
            Unit::Persons => "persons",
            Unit::Number => "",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Unit::Money => "10k yuan",
            Unit::Households => "households",
            Unit::Persons => "persons",
            Unit::Number => "",
        }
    }
}

/// What a (programme, measure) cell counts: Chinese and English, without the unit.
pub fn measure_text(programme: &str, label: &str, measure: &str) -> Text {
    let prog = programme_text(programme, label);
    match (programme, measure) {
        ("dibao", "households") => Text::new("在保户数", "households paid dibao"),
        ("dibao", "persons") => Text::new("在保人数", "persons in households paid dibao"),
        ("dibao", "spending") => Text::new("低保金支出", "dibao paid"),
        ("dibao", "inflows") => Text::new("新增在保户数", "households newly paid dibao"),
        ("dibao", "applications") => Text::new("申请户数", "applications filed"),
        ("dibao", "rejections") => Text::new("申请未获批户数", "applications rejected"),
        ("dibao", "out_income") => Text::new(
            "因收入等变化退出户数",
            "exits: change of circumstances reported",
        ),
        ("dibao", "out_death") => Text::new("因死亡退出户数", "exits: death"),
        ("dibao", "out_review") => Text::new("复核退出户数", "exits: periodic review"),
        ("dibao", "out_credit") => Text::new("因失信停保户数", "exits: dishonesty finding"),
        ("dibao", "out_grace_end") => Text::new("渐退期满退出户数", "exits: end of grace period"),
        ("dibao", "in_grace") => Text::new("渐退期内户数", "households paid in the grace period"),
        ("dibao", "eligible_not_on_dibao") => {
            Text::new("符合条件未在保户数", "eligible households not paid dibao")
        }
        ("dibao", "decided_late") => Text::new(
            "逾期作出审批决定户数",
            "decisions after the policy's deadline",
        ),
        ("dibao", "on_dibao_not_eligible") => {
            Text::new("在保不符合条件户数", "households paid dibao not eligible")
        }
        ("total", "households") => Text::new("受助户数(任一项目)", "households paid any benefit"),
        ("total", "spending") => Text::new("支出合计", "total paid"),
        (_, "households") => Text::new(
            format!("{}受助户数", prog.zh),
            format!("households paid {}", prog.en.to_lowercase()),
        ),
        (_, "persons") => Text::new(
            format!("{}受助人数", prog.zh),
            format!("persons paid {}", prog.en.to_lowercase()),
        ),
        (_, "spending") => Text::new(
            format!("{}支出", prog.zh),
            format!("{} paid", prog.en.to_lowercase()),
        ),
        (_, other) => Text::new(
            format!("{}{}", prog.zh, other),
            format!("{} {}", prog.en.to_lowercase(), other),
        ),
    }
}

/// The label of a policy programme output in the report. The simulator evaluates programme outputs on
/// the households *as paid*, so the counts of dibao households and persons are counts of households
/// paid dibao, whatever the policy's label says (the Ji'an policy labels them 符合低保条件的户数).
pub fn programme_output_label(name: &str, policy_label: &str) -> String {
    match name {
        "dibao_households" => "在保户数(按实际发放) households paid dibao".into(),
        "dibao_persons" => "在保人数(按实际发放) persons in households paid dibao".into(),
        _ => policy_label.to_string(),
    }
}

/// A header for report tables: `在保户数(户) households paid dibao`.
pub fn header(t: &Text, unit: Unit) -> String {
    format!("{}({}) {}", t.zh, unit.zh(), t.en)
}

/// A programme's name.
pub fn programme_text(name: &str, label: &str) -> Text {
    match name {
        "dibao" => Text::new("低保", "Dibao"),
        "total" => Text::new("合计", "Total"),
        "care_allowance" => Text::new(
            if label.is_empty() {
                "失能照护补贴"
            } else {
                label
            },
            "Care allowance",
        ),
        "centralised_care" => Text::new(
            if label.is_empty() {
                "集中供养照护"
            } else {
                label
            },
            "Centralised care",
        ),
        other => Text::new(label, other.replace('_', " ")),
    }
}

/// A variant's name in headings: baseline, reform, difference, sweep point.
pub fn variant_text(name: &str, label: &str) -> Text {
    match name {
        "baseline" => Text::new("基线", "Baseline"),
        "reform" => Text::new("改革", format!("Reform: {label}")),
        "reform - baseline" => Text::new("改革 − 基线", "Reform − baseline"),
        _ => Text::new(label, name),
    }
}

/// One colour per programme, the same in every chart and legend.
pub fn programme_color(name: &str) -> RGBColor {
    match name {
        "dibao" => RGBColor(31, 119, 180),
        "care_allowance" => RGBColor(44, 160, 44),
        "centralised_care" => RGBColor(255, 127, 14),
        "total" => RGBColor(60, 60, 60),
        other => {
            // Other allowances: a colour fixed by the name (not by its position in a chart).
            const MORE: [RGBColor; 4] = [
                RGBColor(148, 103, 189),
                RGBColor(140, 86, 75),
                RGBColor(23, 190, 207),
                RGBColor(188, 189, 34),
            ];
            let h = other
                .bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
            MORE[h as usize % MORE.len()]
        }
    }
}

/// The colour as CSS (`#1f77b4`).
pub fn css(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Colours of the flows chart (events, not programmes).
pub fn flow_color(measure: &str) -> RGBColor {
    match measure {
        "inflows" => RGBColor(31, 119, 180),
        "out_income" => RGBColor(214, 39, 40),
        "out_review" => RGBColor(148, 103, 189),
        "out_death" => RGBColor(90, 90, 90),
        "out_credit" => RGBColor(140, 86, 75),
        _ => RGBColor(23, 190, 207),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dibao_households_are_households_paid() {
        let t = measure_text("dibao", "最低生活保障", "households");
        assert_eq!(t.zh, "在保户数");
        assert!(!t.zh.contains("符合"));
        assert_eq!(
            measure_text("dibao", "", "eligible_not_on_dibao").zh,
            "符合条件未在保户数"
        );
        assert_eq!(
            header(&measure_text("dibao", "", "spending"), Unit::Money),
            "低保金支出(万元) dibao paid"
        );
    }

    #[test]
    fn colours_do_not_depend_on_position() {
        assert_eq!(
            programme_color("care_allowance"),
            programme_color("care_allowance")
        );
        assert_ne!(programme_color("dibao"), programme_color("care_allowance"));
        assert_eq!(css(programme_color("dibao")), "#1f77b4");
    }
}
