use doudi_dsl::diag::{render_all, SourceMap};
use doudi_dsl::parse::{parse_file, parse_expr};
#[test]
fn scratch() {
    let cases = [
        "policy",
        "policy \"x\" \"y\"",
        "enum area { urban \"城镇\" 3 }",
        "enum area { urban, rural",
        "input programme.x: bool",
        "input person.x: bool\n  source \"a\"",
        "parameter p: money = ",
        "parameter p: money by",
        "parameter p money = 3",
        "parameter p: money\n  from 2024-1-1 = 3",
        "parameter p: money\n  from 2024-01-01 3",
        "parameter p: money by area = { urban: 684, rural: }",
        "override parameter p: money = 3",
        "override p = 3",
        "definition person.x: bool = a +",
        "definition person.x: bool =\ndefinition person.y: bool = b",
        "definition person.x: bool = sum + 1",
        "definition person.x: bool = a < b < c",
        "definition person.x: bool = count(x for members)",
        "definition person.x: bool = round(x for members)",
        "definition person.x: bool = sum(members)",
        "definition person.x: bool = any(members)",
        "definition person.x: bool = x in {a, b",
        "definition person.x: bool = p[a",
        "definition person.x: bool = f(a b)",
        "definition person.x: bool = household.",
        "definition person.x: bool = \"bad \\q escape\"",
        "definition person.x: bool = \"\\u{D800}\"",
        "definition person.x: bool = 1.5.3",
        "definition person.x: bool = 30.123456789012345678901234567%",
        "definition person.x bool = a",
        "definition person.x: = a",
        "definition person.x: bool source = a",
        "definition person.x：布尔 = a",
        "exception household.x when a",
        "exception household.x when a = ",
        "table household.x: bool\n  hit unique\n  | a | b |\n  | 1 | 2 |",
        "table household.x: bool\n  hit unique\n  | a | result |\n  | 1 | 2 | 3\n",
        "table household.x: bool\n  hit unique\n  | a | result |\n  | 1 | >= 2 |",
        "table household.x: bool\n  hit unique\n  | a | result |\n  | 1 | 2 |\n  otherwise 3",
        "table household.x: bool\n  hit unique\n  | a | result\n  | 1 | 2 |",
        "table household.x: bool\n  hit unique\n  | a | result | | 1 | 2 |",
        "extern f(a: integer): decimal",
        "extern f(a integer): decimal = \"x\"",
        "extern f: decimal = \"x\"",
        "garbage here\ndefinition person.x: bool = a",
        "定义 个人.x: 布尔 = 如果 a 那么 b",
        "定义 个人.x 布尔 = a",
        "决策表 家庭.x: 布尔\n  | a | 结果 |",
        "definition person.x: bool = if a then b else c\n  source \"late\"",
        "definition person.x: bool = a\n| b",
    ];
    for c in cases {
        let mut sm = SourceMap::default();
        sm.add("t.doudi", c);
        let (_, d) = parse_file(0, c);
        println!("----- {c:?}\n{}", render_all(&d, &sm));
    }
    for c in ["a +", "1 2", "(a", "sum(a, b)"] {
        let mut sm = SourceMap::default();
        sm.add("--set", c);
        let d = parse_expr(0, c).unwrap_err();
        println!("----- {c:?}\n{}", render_all(&[d], &sm));
    }
}
