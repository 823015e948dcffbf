//! The runtime conflict of a `unique` decision table (two rows match one household) speaks the
//! policy's language: `唯一` in a policy written with Chinese keywords, `unique` otherwise. The checker
//! refuses tables whose rows can overlap, so these tests widen a row of the checked program (as a
//! tool building or editing the IR could) to reach the evaluator's own check.

use doudi_dsl::ir::DefBody;
use doudi_interpreter::data::read_json_household;
use doudi_interpreter::{Month, Policy};
use serde_json::json;

const ENGLISH: &str = "input household.financial_assets: money

table household.asset_band: integer
  hit unique
  | financial_assets | result |
  | < 10000          | 1      |
  | 10000..20000     | 2      |
  | > 20000          | 3      |
";

const CHINESE: &str = "输入 家庭.金融资产: 金额

决策表 家庭.资产档次: 整数
  命中 唯一
  | 金融资产     | 结果 |
  | < 10000      | 1    |
  | 10000..20000 | 2    |
  | > 20000      | 3    |
";

/// Loads `text`, makes the second row of table `name` match every household, and evaluates it for
/// a household with `field` = 3000 (which the first row matches too): the rendered error.
fn conflict(text: &str, name: &str, field: &str) -> String {
    let mut policy = match Policy::from_source("table.doudi", text) {
        Ok(l) => l.policy,
        Err(e) => panic!("policy does not load:\n{}", e.render()),
    };
    let id = policy.output(name).expect("the table is a definition");
    match &mut policy.program.defs[id as usize].body {
        DefBody::Table(t) => t.rows[1].cells.iter_mut().for_each(|c| c.clear()),
        DefBody::Expr(_) => panic!("`{name}` is not a table"),
    }
    let hh = read_json_household(
        &policy.schema,
        &json!({"id": "H1", field: "3000", "members": [{"id": "P1"}]}),
        "test",
    )
    .expect("household reads");
    let month = Month::parse("2024-01").expect("month");
    match policy.evaluate(&hh, month, &[id]) {
        Ok(v) => panic!("two rows match, yet the table gave {v:?}"),
        Err(e) => e.render(policy.sources()),
    }
}

#[test]
fn an_english_unique_table_conflict_says_unique() {
    let text = conflict(ENGLISH, "asset_band", "financial_assets");
    assert!(text.contains("`unique` table"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_chinese_unique_table_conflict_says_weiyi() {
    let text = conflict(CHINESE, "资产档次", "金融资产");
    assert!(text.contains("`唯一` table"), "{text}");
    insta::assert_snapshot!(text);
}
