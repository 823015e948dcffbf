//! Data-driven parser tests.
//!
//! - `tests/syntax/*.doudi`: one broken policy per file; the rendered diagnostics are snapshotted
//!   (`tests/snapshots/parse__<file>.snap`). Review and accept changes with
//!   `INSTA_UPDATE=always cargo test -p doudi-dsl --test parse` or `cargo insta review`.
//! - `tests/valid/*.doudi`: must parse without any diagnostic; a compact outline of the items is
//!   snapshotted too.
//!
//! Every file of a corpus is checked even when one fails; the test then fails once, listing each
//! file whose snapshot or assertion failed.

mod common;

use std::path::{Path, PathBuf};

use doudi_dsl::ast::{Expr, ExprKind, Item, Literal};
use doudi_dsl::diag::{render_all, SourceMap};
use doudi_dsl::parse::{parse_expr, parse_file};

fn corpus(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "doudi"))
        .collect();
    files.sort();
    files
}

/// Parses every `.doudi` file of `tests/<dir>` and snapshots what `render` gives for it.
/// `expect_errors`: the corpus of broken policies (each must give at least one error) or the valid
/// corpus (no diagnostic at all).
fn check(dir: &str, expect_errors: bool, render: impl Fn(&doudi_dsl::ast::File, &str) -> String) {
    let files = corpus(dir);
    assert!(!files.is_empty(), "empty corpus {dir}");
    let mut failures = common::Failures::default();
    for path in files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name")
            .to_string();
        failures.check(&name, || {
            let text = std::fs::read_to_string(&path).expect("read corpus file");
            let mut sources = SourceMap::default();
            let id = sources.add(format!("tests/{dir}/{name}.doudi"), text.clone());
            let (file, diags) = parse_file(id, &text);
            let rendered = render_all(&diags, &sources);
            if expect_errors {
                assert!(
                    diags.iter().any(|d| d.is_error()),
                    "{name}: expected a syntax error, got none"
                );
                if name.starts_with("two_errors") {
                    assert!(
                        diags.len() >= 2,
                        "{name}: expected both errors, got:\n{rendered}"
                    );
                }
                insta::assert_snapshot!(format!("{dir}__{name}"), rendered);
            } else {
                assert!(
                    diags.is_empty(),
                    "{name}: expected no diagnostics, got:\n{rendered}"
                );
                insta::assert_snapshot!(format!("{dir}__{name}"), render(&file, &text));
            }
        });
    }
    failures.finish(dir);
}

#[test]
fn syntax_errors() {
    check("syntax", true, |_, _| String::new());
}

#[test]
fn valid_policies() {
    check("valid", false, |file, _| outline(file));
}

/// One line per item: kind, name, and the shape of its formula.
fn outline(file: &doudi_dsl::ast::File) -> String {
    let mut out = String::new();
    for item in &file.items {
        let line = match item {
            Item::Policy { title, .. } => format!("policy {title:?}"),
            Item::Extends { path, .. } => format!("extends {path:?}"),
            Item::Enum(e) => format!(
                "enum {} [{}]",
                e.name.name,
                e.variants
                    .iter()
                    .map(|v| v.name.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Item::Input(i) => format!(
                "input {}.{}: {}{}",
                i.entity.as_str(),
                i.name.name,
                ty(&i.ty),
                i.default
                    .as_ref()
                    .map(|d| format!(" default {:?}", d.node))
                    .unwrap_or_default()
            ),
            Item::Parameter(p) => format!(
                "{}parameter {}{}{} ({} meta){}",
                if p.is_override { "override " } else { "" },
                p.name.name,
                p.ty.as_ref()
                    .map(|t| format!(": {}", ty(t)))
                    .unwrap_or_default(),
                p.by.as_ref()
                    .map(|b| format!(" by {}", b.name))
                    .unwrap_or_default(),
                p.meta.len(),
                p.clauses.iter().map(clause).collect::<String>()
            ),
            Item::Definition(d) => {
                format!(
                    "definition {}.{}: {} = {}",
                    d.entity.as_str(),
                    d.name.name,
                    ty(&d.ty),
                    sexpr(&d.body)
                )
            }
            Item::Exception(x) => format!(
                "exception {}.{} when {} = {}",
                x.entity.as_str(),
                x.name.name,
                sexpr(&x.when),
                sexpr(&x.body)
            ),
            Item::Table(t) => format!(
                "table {}.{}: {} hit {:?} | {} |{} otherwise {}",
                t.entity.as_str(),
                t.name.name,
                ty(&t.ty),
                t.hit.node,
                t.columns.iter().map(sexpr).collect::<Vec<_>>().join(" | "),
                t.rows
                    .iter()
                    .map(|r| format!(
                        "\n    | {} | -> {}",
                        r.cells.iter().map(cell).collect::<Vec<_>>().join(" | "),
                        sexpr(&r.result)
                    ))
                    .collect::<String>(),
                t.otherwise
                    .as_ref()
                    .map(sexpr)
                    .unwrap_or_else(|| "-".into())
            ),
            Item::Extern(x) => format!(
                "extern {}({}) = {:?}",
                x.name.name,
                x.params.len(),
                x.file.node
            ),
            Item::Calendar(c) => format!(
                "calendar {} ({} meta) holidays {} working_weekends {}",
                c.year.node,
                c.meta.len(),
                c.holidays.len(),
                c.working_weekends.len()
            ),
            Item::State(s) => format!(
                "state {}.{}: {} initially {} = {}",
                s.entity.as_str(),
                s.name.name,
                ty(&s.ty),
                sexpr(&s.initially),
                match &s.body {
                    doudi_dsl::ast::StateBody::Expr(e) => sexpr(e),
                    doudi_dsl::ast::StateBody::Transitions(rows) => rows
                        .iter()
                        .map(|r| format!(
                            "\n    | {} | {} | {} | {:?} |",
                            if r.from.is_empty() {
                                "-".to_string()
                            } else {
                                r.from
                                    .iter()
                                    .map(|f| f.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            },
                            sexpr(&r.when),
                            r.to.name,
                            r.reason.node
                        ))
                        .collect::<String>(),
                }
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn lit(l: &Literal) -> String {
    match l {
        Literal::Number { value, is_integer } => {
            format!("{value}{}", if *is_integer { "" } else { "d" })
        }
        Literal::Percent(p) => format!("{p}pct"),
        Literal::Bool(b) => b.to_string(),
        Literal::Date(d) => format!("{}-{:02}-{:02}", d.year, d.month, d.day),
        Literal::Text(s) => format!("{s:?}"),
        Literal::Name(n) => n.clone(),
    }
}

fn clause(c: &doudi_dsl::ast::ParamClause) -> String {
    use doudi_dsl::ast::ParamValue;
    let from = c
        .from
        .as_ref()
        .map(|d| format!(" from {}", lit(&Literal::Date(d.node))))
        .unwrap_or_default();
    let value = match &c.value {
        ParamValue::Scalar(l) => lit(&l.node),
        ParamValue::Table(entries, _) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", k.name, lit(&v.node)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!("\n   {from} = {value} ({} meta)", c.meta.len())
}

fn cell(c: &doudi_dsl::ast::Cell) -> String {
    use doudi_dsl::ast::CellTest;
    if c.tests.is_empty() {
        return "-".into();
    }
    c.tests
        .iter()
        .map(|t| match t {
            CellTest::Equals(e) => sexpr(e),
            CellTest::Compare(op, e) => format!("{} {}", op.as_str(), sexpr(e)),
            CellTest::Range(a, b) => format!("{}..{}", sexpr(a), sexpr(b)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn ty(t: &doudi_dsl::ast::TypeExpr) -> String {
    use doudi_dsl::ast::TypeExpr::*;
    match t {
        Bool(_) => "bool".into(),
        Integer(_) => "integer".into(),
        Decimal(_) => "decimal".into(),
        Percent(_) => "percent".into(),
        Money(p, _) => format!("money/{p:?}"),
        Months(_) => "months".into(),
        Date(_) => "date".into(),
        Text(_) => "text".into(),
        Named(i) => i.name.clone(),
    }
}

/// A compact s-expression of an expression.
fn sexpr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Lit(Literal::Number { value, .. }) => value.to_string(),
        ExprKind::Lit(l) => lit(l),
        ExprKind::Name(n) => n.clone(),
        ExprKind::HouseholdField(i) => format!("household.{}", i.name),
        ExprKind::Index(a, b) => format!("{}[{}]", sexpr(a), sexpr(b)),
        ExprKind::Unary(op, a) => format!("({op:?} {})", sexpr(a)),
        ExprKind::Binary(op, a, b) => format!("({} {} {})", op.as_str(), sexpr(a), sexpr(b)),
        ExprKind::In(a, set) => {
            format!(
                "(in {} {{{}}})",
                sexpr(a),
                set.iter().map(sexpr).collect::<Vec<_>>().join(" ")
            )
        }
        ExprKind::If(c, a, b) => format!("(if {} {} {})", sexpr(c), sexpr(a), sexpr(b)),
        ExprKind::Call(f, args) => format!(
            "{}({})",
            f.name,
            args.iter().map(sexpr).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Agg {
            kind,
            body,
            collection,
            filter,
        } => format!(
            "{kind:?}({}{:?}{})",
            body.as_ref()
                .map(|b| format!("{} for ", sexpr(b)))
                .unwrap_or_default(),
            collection.node,
            filter
                .as_ref()
                .map(|f| format!(" where {}", sexpr(f)))
                .unwrap_or_default()
        ),
    }
}

#[test]
fn expressions() {
    let cases = [
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("a - b - c", "(- (- a b) c)"),
        ("not a and b or c", "(or (and (Not a) b) c)"),
        ("-x * 2", "(* (Neg x) 2)"),
        ("x in {a, b}", "(in x {a b})"),
        ("if a then b else if c then d else e", "(if a b (if c d e))"),
        ("min(a, b)", "min(a, b)"),
        ("min(x for members)", "Min(x for Members)"),
        ("count(members where c)", "Count(Members where c)"),
        ("any(members where c)", "Any(Members where c)"),
        ("all(c for members)", "All(c for Members)"),
        ("p[household.area] >= 30%", "(>= p[household.area] 0.30pct)"),
        ("ifx + 如果收入", "(+ ifx 如果收入)"),
        ("d < 2024-02-29", "(< d 2024-02-29)"),
        ("最小(a, b)", "min(a, b)"),
        ("f()", "f()"),
    ];
    for (src, want) in cases {
        let e = parse_expr(0, src).unwrap_or_else(|d| panic!("{src}: {}", d.message));
        assert_eq!(sexpr(&e), want, "{src}");
    }
    for bad in [
        "",
        "if a then b",
        "a +",
        "(a",
        "2024-02-30",
        "sum(a, b)",
        "count(x for members)",
        "x.y",
    ] {
        assert!(parse_expr(0, bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn spans_are_tight() {
    let text = "definition person.x: bool = (a and b)   # comment\n\n";
    let (file, diags) = parse_file(0, text);
    assert!(diags.is_empty());
    let Item::Definition(d) = &file.items[0] else {
        panic!()
    };
    assert_eq!(
        &text[d.body.span.start as usize..d.body.span.end as usize],
        "(a and b)"
    );
    assert_eq!(
        &text[d.span.start as usize..d.span.end as usize],
        "definition person.x: bool = (a and b)"
    );
    assert_eq!(
        &text[d.name.span.start as usize..d.name.span.end as usize],
        "x"
    );
}

#[test]
fn hostile_nesting_does_not_overflow() {
    // Run on a normal test thread (2 MiB stack).
    for text in [
        format!(
            "definition person.x: bool = {}a{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
        format!("definition person.x: bool = {}a", "not ".repeat(100_000)),
        format!("definition person.x: integer = {}1", "- ".repeat(100_000)),
        format!(
            "definition person.x: integer = {}1",
            "if a then 1 else ".repeat(10_000)
        ),
        format!(
            "definition person.x: integer = {}1",
            "if household.a then true else ".repeat(10_000)
        ),
        format!(
            "definition person.x: integer = {}1",
            "if min(a, b) > 0 then sum(x for members) else ".repeat(10_000)
        ),
        format!(
            "definition person.x: integer = {}1",
            "- household.a - - ".repeat(10_000)
        ),
        format!("definition person.x: integer = 1{}", " + 1".repeat(100_000)),
        format!("definition person.x: integer = {}", "[".repeat(100_000)),
        format!("definition person.x: integer = f({}", "min(".repeat(50_000)),
    ] {
        let (_, diags) = parse_file(0, &text);
        assert!(!diags.is_empty());
        assert!(
            diags[0].message.contains("nested too deeply"),
            "{}",
            diags[0].message
        );
    }
    // Just under the limit parses, whatever the kind of nesting.
    let n = doudi_dsl::parse::MAX_DEPTH - 1;
    for ok in [
        format!(
            "definition person.x: bool = {}a{}",
            "(".repeat(n),
            ")".repeat(n)
        ),
        format!(
            "definition person.x: bool = {}a{}",
            "min(".repeat(n),
            ")".repeat(n)
        ),
        format!(
            "definition person.x: bool = {}a{}",
            "sum(".repeat(n),
            " for members)".repeat(n)
        ),
        format!(
            "definition person.x: bool = a{}",
            "[a".repeat(n / 2) + &"]".repeat(n / 2)
        ),
        format!(
            "definition person.x: bool = a{}",
            " in {a".repeat(n / 2) + &"}".repeat(n / 2)
        ),
        format!("definition person.x: bool = {}a", "not ".repeat(n)),
        format!("definition person.x: bool = {}a", "-".repeat(n)),
        format!(
            "definition person.x: bool = {}a{}",
            "if a then b else ".repeat(n),
            ""
        ),
        format!(
            "definition person.x: bool = {}a{}",
            "if ".repeat(n),
            " then b else c".repeat(n)
        ),
        format!(
            "definition person.x: bool = {}a{}",
            "-(not ".repeat(n / 3),
            ")".repeat(n / 3)
        ),
    ] {
        let (_, diags) = parse_file(0, &ok);
        assert!(
            diags.is_empty(),
            "{}...: {:?}",
            &ok[..60],
            diags.first().map(|d| &d.message)
        );
    }
}

#[test]
fn file_size_limit() {
    let text = "#".repeat(doudi_dsl::parse::MAX_FILE_BYTES + 1);
    let (file, diags) = parse_file(0, &text);
    assert!(file.items.is_empty());
    assert_eq!(diags.len(), 1);
}

#[test]
fn crlf_and_bom() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/valid/all_constructs.doudi");
    let text = std::fs::read_to_string(path).expect("read");
    let crlf = format!("\u{FEFF}{}", text.replace('\n', "\r\n"));
    let (file, diags) = parse_file(0, &crlf);
    assert!(diags.is_empty(), "{:?}", diags.first().map(|d| &d.message));
    let (plain, _) = parse_file(0, &text);
    assert_eq!(file.items.len(), plain.items.len());
}

mod render {
    use doudi_dsl::diag::{render, render_all, SourceMap};
    use doudi_dsl::{Diagnostic, Span};

    #[test]
    fn secondary_label_in_another_file_and_notes() {
        let mut sm = SourceMap::default();
        let a = sm.add("base/a.doudi", "definition person.x: bool = a\n");
        let b = sm.add(
            "layer/b.doudi",
            "\n\n\n\n\n\n\n\n\nexception person.x\n\twhen 如果收入 > 0\n  = true\n",
        );
        let d = Diagnostic::error("two definitions of `x`", Span::new(b, 40, 46), "收入 here")
            .with_secondary(Span::new(a, 18, 19), "first defined here")
            .with_note("exceptions must not conflict")
            .with_help("rename one of them");
        let out = render(&d, &sm);
        insta::assert_snapshot!("render_secondary_other_file", out);
    }

    #[test]
    fn zero_width_and_end_of_file() {
        let mut sm = SourceMap::default();
        let text = "definition person.x: bool =";
        let id = sm.add("p.doudi", text);
        let d = Diagnostic::error(
            "expected an expression",
            Span::new(id, text.len(), text.len()),
            "here",
        );
        let out = render(&d, &sm);
        assert!(
            out.contains("  |                            ^ here"),
            "{out}"
        );
        // Out-of-range spans and unknown files do not panic.
        let bad = Diagnostic::error("x", Span::new(id, 1000, 2000), "far")
            .with_secondary(Span::new(7, 0, 1), "nowhere");
        let _ = render(&bad, &sm);
    }

    #[test]
    fn summary_line() {
        let mut sm = SourceMap::default();
        let id = sm.add("p.doudi", "a\n");
        let e = Diagnostic::error("bad", Span::new(id, 0, 1), "");
        let w = Diagnostic::warning("meh", Span::new(id, 0, 1), "");
        assert!(render_all(&[e.clone(), e.clone(), w.clone()], &sm)
            .ends_with("error: could not load the policy: 2 errors, 1 warning\n"));
        let only_warnings = render_all(&[w.clone(), w], &sm);
        assert!(!only_warnings.contains("error"), "{only_warnings}");
        assert!(only_warnings.ends_with("warning: 2 warnings emitted\n"));
        assert_eq!(render_all(&[], &sm), "");
    }
}
