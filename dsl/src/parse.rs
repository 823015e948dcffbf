//! Text → AST. The grammar is `grammar.pest`; this module splits a file into item chunks so that every
//! syntax error of a file is reported (one per broken item), builds the owned [`ast`] with byte spans,
//! validates dates and numbers, enforces input limits, and turns pest's "expected rules" into words
//! for drafters.
//!
//! Nothing here may panic on user input: no `unwrap` on data derived from the text, no slicing at
//! positions that are not known char boundaries, and nesting is bounded before pest (which recurses)
//! ever sees the text.

// Diagnostics are large, and `parse_expr` returns one by value by design.
#![allow(clippy::result_large_err)]

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::Parser as _;
use rust_decimal::Decimal;

use crate::ast::{
    AggKind, BinOp, CalendarDecl, Cell, CellTest, CmpOp, Collection, Date, DefDecl, EntityKind,
    EnumDecl, ExceptionDecl, Expr, ExprKind, ExternDecl, File, HitPolicy, Ident, InputDecl, Item,
    Literal, Meta, ParamClause, ParamDecl, ParamValue, Period, RangeDecl, Span, Spanned, StateBody,
    StateDecl, TableDecl, TableRow, TransitionRow, TypeExpr, UnOp, Variant,
};
use crate::diag::Diagnostic;

mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar.pest"]
    pub struct DoudiParser;
}

use grammar::{DoudiParser, Rule};

/// Files larger than this are refused with a diagnostic.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Maximum nesting of an expression: brackets, `if`s, `not`s and unary minuses, and also the depth
/// of the built tree (a chain of 300 `+` is 300 levels deep).
pub const MAX_DEPTH: usize = 200;

type R<T> = Result<T, Diagnostic>;
type P<'i> = Pair<'i, Rule>;

// =================================================================================================
// Entry points

/// Parses one `.doudi` file. Returns the items that parsed and one diagnostic per broken item (so a
/// file with three mistakes in three items gets three errors).
pub fn parse_file(file: u32, text: &str) -> (File, Vec<Diagnostic>) {
    let mut out = File::default();
    let mut diags = Vec::new();
    if text.len() > MAX_FILE_BYTES {
        diags.push(
            Diagnostic::error(
                format!(
                    "this file is too large ({} bytes; the limit is {} bytes)",
                    text.len(),
                    MAX_FILE_BYTES
                ),
                Span::new(file, 0, 0),
                "file starts here",
            )
            .with_help("split the policy into several `.doudi` files in the same directory"),
        );
        return (out, diags);
    }
    for (start, end) in split_chunks(text) {
        let Some(chunk) = text.get(start..end) else {
            continue;
        };
        let cx = ChunkCx {
            file,
            base: start,
            chunk,
        };
        let depth = match nesting(chunk) {
            Ok(depth) => depth,
            Err(pos) => {
                diags.push(cx.too_deep(pos));
                continue;
            }
        };
        let (items, errors) = with_stack_for(depth, &cx, || parse_chunk(&cx));
        out.items.extend(items);
        diags.extend(errors);
    }
    (out, diags)
}

/// Parses a single expression (command-line `--set` values, tests).
pub fn parse_expr(file: u32, text: &str) -> Result<Expr, Diagnostic> {
    if text.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::error(
            "this expression is too large",
            Span::new(file, 0, 0),
            "expression starts here",
        ));
    }
    let cx = ChunkCx {
        file,
        base: 0,
        chunk: text,
    };
    let depth = nesting(text).map_err(|pos| cx.too_deep(pos))?;
    with_stack_for(depth, &cx, || parse_expr_inner(&cx))
}

fn parse_expr_inner(cx: &ChunkCx<'_>) -> Result<Expr, Diagnostic> {
    let text = cx.chunk;
    match DoudiParser::parse(Rule::expr_input, text) {
        Ok(mut pairs) => {
            let top = pairs.next().ok_or_else(|| cx.internal(0))?;
            let expr = top
                .into_inner()
                .find(|p| p.as_rule() == Rule::expr)
                .ok_or_else(|| cx.internal(0))?;
            let mut b = Builder {
                cx,
                warnings: Vec::new(),
            };
            Ok(b.expr(expr)?.0)
        }
        Err(e) => Err(cx.pest_error(e, true)),
    }
}

/// Parses one chunk: its items, and its errors (at most one syntax error, or one error per item
/// that parsed but is invalid).
fn parse_chunk(cx: &ChunkCx<'_>) -> (Vec<Item>, Vec<Diagnostic>) {
    let mut items = Vec::new();
    let mut diags = Vec::new();
    match DoudiParser::parse(Rule::file, cx.chunk) {
        Ok(pairs) => {
            let mut b = Builder {
                cx,
                warnings: Vec::new(),
            };
            for pair in pairs
                .flat_map(|f| f.into_inner())
                .filter(|p| p.as_rule() == Rule::item)
            {
                match b.item(pair) {
                    Ok(item) => items.push(item),
                    Err(d) => diags.push(d),
                }
            }
            diags.append(&mut b.warnings);
        }
        Err(e) => diags.push(cx.pest_error(e, false)),
    }
    (items, diags)
}

/// Chunks nested deeper than this are parsed on a thread with a large stack: pest and the tree
/// builder recurse once per level, and debug builds use tens of kilobytes of stack per level.
const INLINE_DEPTH: usize = 24;
const BIG_STACK: usize = 64 * 1024 * 1024;

trait TooDeep {
    fn too_deep(cx: &ChunkCx<'_>) -> Self;
}
impl TooDeep for (Vec<Item>, Vec<Diagnostic>) {
    fn too_deep(cx: &ChunkCx<'_>) -> Self {
        (Vec::new(), vec![cx.too_deep(0)])
    }
}
impl TooDeep for Result<Expr, Diagnostic> {
    fn too_deep(cx: &ChunkCx<'_>) -> Self {
        Err(cx.too_deep(0))
    }
}

fn with_stack_for<T: Send + TooDeep>(
    depth: usize,
    cx: &ChunkCx<'_>,
    f: impl FnOnce() -> T + Send,
) -> T {
    if depth <= INLINE_DEPTH {
        return f();
    }
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("doudi-parse".into())
            .stack_size(BIG_STACK)
            .spawn_scoped(s, f)
        {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => T::too_deep(cx),
        }
    })
}

// =================================================================================================
// Lexical helpers shared by the chunk splitter, the nesting pre-scan and the error reporter

fn is_id_start(c: char) -> bool {
    c == '_' || pest::unicode::XID_START(c)
}

pub(crate) fn is_id_char(c: char) -> bool {
    c == '_' || pest::unicode::XID_CONTINUE(c)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{3000}' | '\u{FEFF}')
}

/// The identifier-like word starting at byte `i` of `s` (empty if none).
fn word_at(s: &str, i: usize) -> &str {
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

/// English spelling → Chinese spelling of every keyword (docs/LANGUAGE.md, "Keywords").
const KEYWORDS: &[(&str, &str)] = &[
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

fn is_chinese_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|(en, zh)| *zh == word && *en != word)
}

/// Byte offsets of the lines of `text` that begin (after blanks) with an item keyword.
fn split_chunks(text: &str) -> Vec<(usize, usize)> {
    let mut starts = vec![0usize];
    let mut line_start = 0usize;
    loop {
        if line_start > 0 {
            if let Some(line) = text.get(line_start..) {
                let lead = line.len()
                    - line
                        .trim_start_matches([' ', '\t', '\u{3000}', '\u{FEFF}'])
                        .len();
                let w = word_at(line, lead);
                if keyword_en(w).is_some_and(|en| ITEM_KEYWORDS.contains(&en)) {
                    starts.push(line_start);
                }
            }
        }
        match text.get(line_start..).and_then(|rest| rest.find('\n')) {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    let mut chunks = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(text.len());
        chunks.push((s, e));
    }
    chunks
}

/// A cheap token scan of a chunk that skips comments and strings, used by the nesting pre-scan and
/// the error reporter. Strings never span lines (an unterminated string stops at the line end).
struct Scan<'a> {
    s: &'a str,
    i: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Word(&'a str),
    Number,
    Str,
    Punct(char),
    /// Two-character operators: `==`, `!=`, `<=`, `>=`, `..`.
    Op2,
}

impl<'a> Scan<'a> {
    fn new(s: &'a str) -> Self {
        Scan { s, i: 0 }
    }
    fn peek_char(&self) -> Option<char> {
        self.s.get(self.i..).and_then(|r| r.chars().next())
    }
    /// Next token with its byte range; blanks and comments are skipped.
    fn next(&mut self) -> Option<(Tok<'a>, usize, usize)> {
        loop {
            let c = self.peek_char()?;
            let start = self.i;
            if is_space(c) {
                self.i += c.len_utf8();
                continue;
            }
            if c == '#' {
                match self.s.get(self.i..).and_then(|r| r.find('\n')) {
                    Some(n) => self.i += n,
                    None => self.i = self.s.len(),
                }
                continue;
            }
            if c == '"' {
                self.i += 1;
                while let Some(d) = self.peek_char() {
                    if d == '\n' {
                        break;
                    }
                    self.i += d.len_utf8();
                    if d == '\\' {
                        if let Some(e) = self.peek_char() {
                            if e != '\n' {
                                self.i += e.len_utf8();
                            }
                        }
                    } else if d == '"' {
                        break;
                    }
                }
                return Some((Tok::Str, start, self.i));
            }
            if c.is_ascii_digit() {
                while let Some(d) = self.peek_char() {
                    let fraction = d == '.'
                        && self
                            .s
                            .as_bytes()
                            .get(self.i + 1)
                            .is_some_and(|b| b.is_ascii_digit());
                    if d.is_ascii_digit() || d == '%' || fraction {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                return Some((Tok::Number, start, self.i));
            }
            if is_id_char(c) {
                let w = word_at(self.s, self.i);
                self.i += w.len().max(c.len_utf8());
                return Some((Tok::Word(w), start, self.i));
            }
            self.i += c.len_utf8();
            let next = self.peek_char();
            let two = matches!(
                (c, next),
                ('=', Some('='))
                    | ('!', Some('='))
                    | ('<', Some('='))
                    | ('>', Some('='))
                    | ('.', Some('.'))
            );
            if two {
                self.i += 1;
                return Some((Tok::Op2, start, self.i));
            }
            return Some((Tok::Punct(c), start, self.i));
        }
    }
}

/// Bounds the recursion pest would need for this chunk. Counts, at each bracket level, the `if`s,
/// `not`s and unary minuses that may still be open, plus the open brackets; returns the byte offset
/// where the total first exceeds [`MAX_DEPTH`] (`Err`), or the largest total (`Ok`). Over-estimates,
/// never under-estimates.
fn nesting(chunk: &str) -> Result<usize, usize> {
    #[derive(Default)]
    struct Level {
        ifs: usize,
        nots: usize,
        negs: usize,
    }
    let mut stack: Vec<Level> = vec![Level::default()];
    let mut total = 0usize;
    let mut max = 0usize;
    let mut operand_end = false;
    let mut scan = Scan::new(chunk);
    while let Some((tok, start, _)) = scan.next() {
        if matches!(tok, Tok::Punct('(' | '[' | '{')) {
            stack.push(Level::default());
            total += 1;
            operand_end = false;
        } else if matches!(tok, Tok::Punct(')' | ']' | '}')) {
            if stack.len() > 1 {
                if let Some(l) = stack.pop() {
                    total = total.saturating_sub(1 + l.ifs + l.nots + l.negs);
                }
            }
            operand_end = true;
        } else if let Some(top) = stack.last_mut() {
            let clear = |top: &mut Level, ifs: bool, nots: bool, negs: bool, total: &mut usize| {
                if ifs {
                    *total = total.saturating_sub(top.ifs);
                    top.ifs = 0;
                }
                if nots {
                    *total = total.saturating_sub(top.nots);
                    top.nots = 0;
                }
                if negs {
                    *total = total.saturating_sub(top.negs);
                    top.negs = 0;
                }
            };
            match tok {
                Tok::Punct('-') => {
                    if operand_end {
                        clear(top, false, false, true, &mut total);
                    } else {
                        top.negs += 1;
                        total += 1;
                    }
                    operand_end = false;
                }
                Tok::Punct('=' | ',' | '|' | ':') => {
                    clear(top, true, true, true, &mut total);
                    operand_end = false;
                }
                Tok::Op2 | Tok::Punct(_) => {
                    clear(top, false, false, true, &mut total);
                    operand_end = false;
                }
                Tok::Number | Tok::Str => operand_end = true,
                Tok::Word(w) => match keyword_en(w) {
                    Some("if") => {
                        top.ifs += 1;
                        total += 1;
                        operand_end = false;
                    }
                    Some("not") => {
                        top.nots += 1;
                        total += 1;
                        operand_end = false;
                    }
                    Some("and" | "or" | "then" | "else" | "in") => {
                        clear(top, false, true, true, &mut total);
                        operand_end = false;
                    }
                    // Words that cannot appear inside a formula at this bracket level end
                    // whatever was open (pest stops there anyway, after the depth seen so far).
                    Some(
                        "when" | "for" | "where" | "otherwise" | "from" | "by" | "hit" | "result"
                        | "source" | "quote" | "assumption" | "policy" | "extends" | "enum"
                        | "input" | "parameter" | "override" | "definition" | "exception" | "table"
                        | "extern",
                    ) => {
                        clear(top, true, true, true, &mut total);
                        operand_end = false;
                    }
                    // Everything else (`true`, `household` in `household.x`, function names,
                    // collections...) may sit inside an open `if`: it closes nothing.
                    Some(_) => operand_end = true,
                    None => operand_end = true,
                },
            }
        }
        if total > MAX_DEPTH {
            return Err(start);
        }
        max = max.max(total);
    }
    Ok(max)
}

// =================================================================================================
// Building the AST

/// One chunk of a file being parsed: `chunk` starts at byte `base` of `whole`.
struct ChunkCx<'a> {
    file: u32,
    base: usize,
    chunk: &'a str,
}

impl ChunkCx<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.base + start, self.base + end)
    }
    fn internal(&self, pos: usize) -> Diagnostic {
        Diagnostic::error(
            "internal error: the parser produced an unexpected syntax tree",
            self.span(pos, pos),
            "while reading this",
        )
        .with_note("this is a bug in doudi; please report it with the policy file")
    }
    fn too_deep(&self, pos: usize) -> Diagnostic {
        let end = pos
            + self
                .chunk
                .get(pos..)
                .and_then(|r| r.chars().next())
                .map_or(0, char::len_utf8);
        Diagnostic::error(
            "this expression is nested too deeply",
            self.span(pos, end),
            format!("more than {MAX_DEPTH} levels of nesting here"),
        )
        .with_help(format!(
            "doudi reads at most {MAX_DEPTH} levels of brackets, `if`s and operators in one formula; \
             split the formula into several definitions"
        ))
    }
}

struct Builder<'c, 'a> {
    cx: &'c ChunkCx<'a>,
    /// Warnings of items that parsed (a deprecated form).
    warnings: Vec<Diagnostic>,
}

/// Pops the next child or reports an internal error (the grammar guarantees the shape, but nothing
/// here may panic).
fn take<'i>(it: &mut Pairs<'i, Rule>, cx: &ChunkCx<'_>, at: usize) -> R<P<'i>> {
    it.next().ok_or_else(|| cx.internal(at))
}

fn peek_is(it: &Pairs<'_, Rule>, rule: Rule) -> bool {
    it.peek().is_some_and(|p| p.as_rule() == rule)
}

fn month_name(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    .get((m as usize).wrapping_sub(1))
    .copied()
    .unwrap_or("?")
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// The end of the last token inside a pair (pest spans of rules ending in `x*` include trailing blanks).
/// The head of a definition, table or state.
struct DeclHead {
    entity: EntityKind,
    entity_span: Span,
    name: Ident,
    label: Option<String>,
    ty: TypeExpr,
    meta: Vec<Meta>,
}

fn tight_end(p: &P<'_>) -> usize {
    p.clone()
        .into_inner()
        .flatten()
        .last()
        .map_or(p.as_span().end(), |q| q.as_span().end())
}

impl Builder<'_, '_> {
    fn sp(&self, p: &P<'_>) -> Span {
        let s = p.as_span();
        self.cx.span(s.start(), s.end())
    }
    fn start(&self, p: &P<'_>) -> usize {
        p.as_span().start()
    }
    fn ident(&self, p: &P<'_>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.sp(p),
        }
    }
    fn internal(&self, p: &P<'_>) -> Diagnostic {
        self.cx.internal(self.start(p))
    }

    // ---- items -------------------------------------------------------------------------------

    fn item(&mut self, pair: P<'_>) -> R<Item> {
        let at = self.start(&pair);
        let inner = pair
            .into_inner()
            .next()
            .ok_or_else(|| self.cx.internal(at))?;
        let span = self.cx.span(self.start(&inner), tight_end(&inner));
        let rule = inner.as_rule();
        let mut it = inner.into_inner();
        let cx = self.cx;
        match rule {
            Rule::policy_item => {
                take(&mut it, cx, at)?;
                let title = self.string(take(&mut it, cx, at)?)?;
                Ok(Item::Policy { title, span })
            }
            Rule::extends_item => {
                take(&mut it, cx, at)?;
                let path = self.string(take(&mut it, cx, at)?)?;
                Ok(Item::Extends { path, span })
            }
            Rule::enum_item => {
                take(&mut it, cx, at)?;
                let name = self.ident(&take(&mut it, cx, at)?);
                let label = self.opt_string(&mut it)?;
                let mut variants = Vec::new();
                for p in it {
                    if p.as_rule() == Rule::variant {
                        let mut vi = p.into_inner();
                        let vname = self.ident(&take(&mut vi, cx, at)?);
                        let vlabel = self.opt_string(&mut vi)?;
                        variants.push(Variant {
                            name: vname,
                            label: vlabel,
                        });
                    }
                }
                Ok(Item::Enum(EnumDecl {
                    name,
                    label,
                    variants,
                    span,
                }))
            }
            Rule::input_item => {
                take(&mut it, cx, at)?;
                let (entity, entity_span) = self.entity(take(&mut it, cx, at)?)?;
                take(&mut it, cx, at)?; // .
                let name = self.ident(&take(&mut it, cx, at)?);
                let label_before = self.opt_string(&mut it)?;
                take(&mut it, cx, at)?; // :
                let ty_pair = take(&mut it, cx, at)?;
                let mut after_colon = vec![ty_pair.as_str().to_string()];
                let ty = self.ty(ty_pair)?;
                let range = if peek_is(&it, Rule::range_decl) {
                    let p = take(&mut it, cx, at)?;
                    after_colon.push(p.as_str().to_string());
                    Some(self.range_decl(p)?)
                } else {
                    None
                };
                let default = if peek_is(&it, Rule::input_default) {
                    let p = take(&mut it, cx, at)?;
                    after_colon.push(p.as_str().to_string());
                    let mut di = p.into_inner();
                    take(&mut di, cx, at)?; // default
                    Some(self.param_literal(take(&mut di, cx, at)?)?)
                } else {
                    None
                };
                let label_after = it.peek().filter(|p| p.as_rule() == Rule::string);
                let label_span = label_after
                    .as_ref()
                    .map(|p| cx.span(p.as_span().start(), p.as_span().end()));
                let label_text = label_after.as_ref().map(|p| p.as_str().to_string());
                let label = match (label_before, self.opt_string(&mut it)?) {
                    (Some(_), Some(_)) => {
                        return Err(Diagnostic::error(
                            "this input has two labels",
                            label_span.unwrap_or(span),
                            "a second label",
                        )
                        .with_help("an input takes one label, after its name: `input household.NAME \"label\": TYPE`"))
                    }
                    (Some(l), None) => Some(l),
                    (None, Some(l)) => {
                        self.warnings.push(
                            Diagnostic::warning(
                                "the label of an input goes after its name, as for parameters and definitions",
                                label_span.unwrap_or(span),
                                "label after the type (the old order)",
                            )
                            .with_help(format!(
                                "write it as: `input {}.{} {}: {}`",
                                entity.as_str(),
                                name.name,
                                label_text.unwrap_or_default(),
                                after_colon.join(" ")
                            )),
                        );
                        Some(l)
                    }
                    (None, None) => None,
                };
                if entity == EntityKind::Programme {
                    return Err(Diagnostic::error(
                        "an input belongs to `person` or `household`",
                        entity_span,
                        "`programme` has no inputs",
                    )
                    .with_help("programme totals are definitions: `definition programme.NAME: TYPE = sum(... for households)`"));
                }
                Ok(Item::Input(InputDecl {
                    entity,
                    entity_span,
                    name,
                    ty,
                    range,
                    default,
                    label,
                    span,
                }))
            }
            Rule::parameter_item | Rule::override_item => {
                let is_override = rule == Rule::override_item;
                take(&mut it, cx, at)?; // parameter / override
                if is_override {
                    take(&mut it, cx, at)?; // parameter
                }
                let name = self.ident(&take(&mut it, cx, at)?);
                let label = self.opt_string(&mut it)?;
                let mut ty = None;
                let mut by = None;
                let mut range = None;
                if peek_is(&it, Rule::colon) {
                    take(&mut it, cx, at)?;
                    ty = Some(self.ty(take(&mut it, cx, at)?)?);
                    if peek_is(&it, Rule::range_decl) {
                        range = Some(self.range_decl(take(&mut it, cx, at)?)?);
                    }
                    if peek_is(&it, Rule::by_clause) {
                        let mut bi = take(&mut it, cx, at)?.into_inner();
                        take(&mut bi, cx, at)?;
                        by = Some(self.ident(&take(&mut bi, cx, at)?));
                    }
                }
                let meta = self.metas(&mut it)?;
                let values = take(&mut it, cx, at)?;
                let mut clauses = Vec::new();
                for clause in values.into_inner() {
                    // Metadata written after a value (`= 3000 source "..."`) stays with that value.
                    clauses.push(self.param_clause(clause)?);
                }
                Ok(Item::Parameter(ParamDecl {
                    is_override,
                    name,
                    label,
                    ty,
                    range,
                    by,
                    meta,
                    clauses,
                    span,
                }))
            }
            Rule::definition_item => {
                let DeclHead {
                    entity,
                    entity_span,
                    name,
                    label,
                    ty,
                    meta,
                } = self.decl_head(&mut it, at)?;
                take(&mut it, cx, at)?; // =
                let body = self.expr(take(&mut it, cx, at)?)?.0;
                Ok(Item::Definition(DefDecl {
                    entity,
                    entity_span,
                    name,
                    label,
                    ty,
                    meta,
                    body,
                    span,
                }))
            }
            Rule::exception_item => {
                take(&mut it, cx, at)?;
                let (entity, entity_span) = self.entity(take(&mut it, cx, at)?)?;
                take(&mut it, cx, at)?; // .
                let name = self.ident(&take(&mut it, cx, at)?);
                let label = self.opt_string(&mut it)?;
                let meta = self.metas(&mut it)?;
                take(&mut it, cx, at)?; // when
                let when = self.expr(take(&mut it, cx, at)?)?.0;
                take(&mut it, cx, at)?; // =
                let body = self.expr(take(&mut it, cx, at)?)?.0;
                Ok(Item::Exception(ExceptionDecl {
                    entity,
                    entity_span,
                    name,
                    label,
                    meta,
                    when,
                    body,
                    span,
                }))
            }
            Rule::table_item => self.table(it, span, at),
            Rule::calendar_item => self.calendar(it, span, at),
            Rule::state_item => self.state(it, span, at),
            Rule::extern_item => {
                take(&mut it, cx, at)?;
                let name = self.ident(&take(&mut it, cx, at)?);
                let label = self.opt_string(&mut it)?;
                take(&mut it, cx, at)?; // (
                let mut params = Vec::new();
                while peek_is(&it, Rule::extern_param) || peek_is(&it, Rule::comma) {
                    let p = take(&mut it, cx, at)?;
                    if p.as_rule() == Rule::extern_param {
                        let mut pi = p.into_inner();
                        let pname = self.ident(&take(&mut pi, cx, at)?);
                        take(&mut pi, cx, at)?; // :
                        let pty = self.ty(take(&mut pi, cx, at)?)?;
                        params.push((pname, pty));
                    }
                }
                take(&mut it, cx, at)?; // )
                take(&mut it, cx, at)?; // :
                let ret = self.ty(take(&mut it, cx, at)?)?;
                take(&mut it, cx, at)?; // =
                let fp = take(&mut it, cx, at)?;
                let fspan = self.sp(&fp);
                let file = Spanned {
                    node: self.string(fp)?,
                    span: fspan,
                };
                Ok(Item::Extern(ExternDecl {
                    name,
                    label,
                    params,
                    ret,
                    file,
                    span,
                }))
            }
            _ => Err(self.cx.internal(at)),
        }
    }

    /// `calendar YEAR "label" meta* holidays = { dates } working_weekends = { dates }`.
    fn calendar(&mut self, mut it: Pairs<'_, Rule>, span: Span, at: usize) -> R<Item> {
        let cx = self.cx;
        take(&mut it, cx, at)?; // calendar
        let yp = take(&mut it, cx, at)?;
        let year = Spanned {
            node: yp.as_str().parse::<i32>().map_err(|_| self.internal(&yp))?,
            span: self.sp(&yp),
        };
        let label = self.opt_string(&mut it)?;
        let meta = self.metas(&mut it)?;
        let mut sets = Vec::new();
        for p in it {
            if p.as_rule() == Rule::date_set {
                let mut dates = Vec::new();
                for d in p.into_inner() {
                    if d.as_rule() == Rule::date {
                        dates.push(self.date(&d)?);
                    }
                }
                sets.push(dates);
            }
        }
        let [holidays, working_weekends]: [Vec<Spanned<Date>>; 2] =
            sets.try_into().map_err(|_| cx.internal(at))?;
        Ok(Item::Calendar(CalendarDecl {
            year,
            label,
            meta,
            holidays,
            working_weekends,
            span,
        }))
    }

    /// `state ENTITY.NAME "label": TYPE meta* initially = EXPR (= EXPR | transitions ROWS)`.
    fn state(&mut self, mut it: Pairs<'_, Rule>, span: Span, at: usize) -> R<Item> {
        let cx = self.cx;
        let DeclHead {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
        } = self.decl_head(&mut it, at)?;
        take(&mut it, cx, at)?; // initially
        take(&mut it, cx, at)?; // =
        let initially = self.expr(take(&mut it, cx, at)?)?.0;
        let next = take(&mut it, cx, at)?;
        let body = if next.as_rule() == Rule::state_transitions {
            let mut rows = Vec::new();
            for r in next.into_inner() {
                if r.as_rule() == Rule::transition_row {
                    rows.push(self.transition_row(r)?);
                }
            }
            StateBody::Transitions(rows)
        } else {
            StateBody::Expr(self.expr(take(&mut it, cx, at)?)?.0)
        };
        Ok(Item::State(StateDecl {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
            initially,
            body,
            span,
        }))
    }

    fn transition_row(&mut self, p: P<'_>) -> R<TransitionRow> {
        let cx = self.cx;
        let at = self.start(&p);
        let span = cx.span(at, tight_end(&p));
        let mut from = Vec::new();
        let mut when = None;
        let mut to = None;
        let mut reason = None;
        let mut prev_end: Option<usize> = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::bar => {
                    if let Some(e) = prev_end {
                        self.same_line(e, self.start(&q))?;
                    }
                    prev_end = Some(q.as_span().end());
                }
                Rule::transition_from => {
                    prev_end = Some(q.as_span().end());
                    for v in q.into_inner() {
                        if v.as_rule() == Rule::ident {
                            from.push(self.ident(&v));
                        }
                    }
                }
                Rule::expr => {
                    prev_end = Some(q.as_span().end());
                    when = Some(self.expr(q)?.0);
                }
                Rule::ident => {
                    prev_end = Some(q.as_span().end());
                    to = Some(self.ident(&q));
                }
                Rule::string => {
                    prev_end = Some(q.as_span().end());
                    let rs = self.sp(&q);
                    reason = Some(Spanned {
                        node: self.string(q)?,
                        span: rs,
                    });
                }
                _ => {}
            }
        }
        match (when, to, reason) {
            (Some(when), Some(to), Some(reason)) => Ok(TransitionRow {
                from,
                when,
                to,
                reason,
                span,
            }),
            _ => Err(cx.internal(at)),
        }
    }

    /// The head shared by definitions, tables and states: `KEYWORD ENTITY.NAME ["label"]: TYPE meta*`.
    fn decl_head(&mut self, it: &mut Pairs<'_, Rule>, at: usize) -> R<DeclHead> {
        let cx = self.cx;
        take(it, cx, at)?; // definition / table / state
        let (entity, entity_span) = self.entity(take(it, cx, at)?)?;
        take(it, cx, at)?; // .
        let name = self.ident(&take(it, cx, at)?);
        let label = self.opt_string(it)?;
        take(it, cx, at)?; // :
        let ty = self.ty(take(it, cx, at)?)?;
        let meta = self.metas(it)?;
        Ok(DeclHead {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
        })
    }

    fn opt_string(&mut self, it: &mut Pairs<'_, Rule>) -> R<Option<String>> {
        if peek_is(it, Rule::string) {
            let p = take(it, self.cx, 0)?;
            Ok(Some(self.string(p)?))
        } else {
            Ok(None)
        }
    }

    fn metas(&mut self, it: &mut Pairs<'_, Rule>) -> R<Vec<Meta>> {
        let mut out = Vec::new();
        while peek_is(it, Rule::meta) {
            let m = take(it, self.cx, 0)?;
            out.push(self.meta(m)?);
        }
        Ok(out)
    }

    fn meta(&mut self, p: P<'_>) -> R<Meta> {
        let at = self.start(&p);
        let inner = p.into_inner().next().ok_or_else(|| self.cx.internal(at))?;
        let span = self.cx.span(self.start(&inner), tight_end(&inner));
        let rule = inner.as_rule();
        let mut it = inner.into_inner();
        take(&mut it, self.cx, at)?; // source / assumption
        let text = self.string(take(&mut it, self.cx, at)?)?;
        if rule == Rule::source_meta {
            let quote = if peek_is(&it, Rule::kw_quote) {
                take(&mut it, self.cx, at)?;
                Some(self.string(take(&mut it, self.cx, at)?)?)
            } else {
                None
            };
            Ok(Meta::Source {
                citation: text,
                quote,
                span,
            })
        } else {
            Ok(Meta::Assumption { reason: text, span })
        }
    }

    fn entity(&self, p: P<'_>) -> R<(EntityKind, Span)> {
        let span = self.sp(&p);
        let kind = match p.into_inner().next().map(|k| k.as_rule()) {
            Some(Rule::kw_person) => EntityKind::Person,
            Some(Rule::kw_household) => EntityKind::Household,
            Some(Rule::kw_programme) => EntityKind::Programme,
            _ => {
                return Err(self
                    .cx
                    .internal((span.start as usize).saturating_sub(self.cx.base)))
            }
        };
        Ok((kind, span))
    }

    fn ty(&self, p: P<'_>) -> R<TypeExpr> {
        let inner = p
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&p))?;
        let span = self.cx.span(self.start(&inner), tight_end(&inner));
        Ok(match inner.as_rule() {
            Rule::ty_bool => TypeExpr::Bool(span),
            Rule::ty_integer => TypeExpr::Integer(span),
            Rule::ty_decimal => TypeExpr::Decimal(span),
            Rule::ty_percent => TypeExpr::Percent(span),
            Rule::ty_months => TypeExpr::Months(span),
            Rule::ty_date => TypeExpr::Date(span),
            Rule::ty_text => TypeExpr::Text(span),
            Rule::ty_money => {
                let period = match inner
                    .into_inner()
                    .find(|q| q.as_rule() == Rule::money_period)
                {
                    None => Period::Stock,
                    Some(mp) => {
                        let words: Vec<Rule> = mp.into_inner().map(|q| q.as_rule()).collect();
                        if words.contains(&Rule::kw_month) || words.contains(&Rule::kw_per_month) {
                            Period::Month
                        } else {
                            Period::Year
                        }
                    }
                };
                TypeExpr::Money(period, span)
            }
            Rule::ty_named => {
                let id = inner.into_inner().next().ok_or_else(|| self.internal(&p))?;
                TypeExpr::Named(self.ident(&id))
            }
            _ => return Err(self.internal(&p)),
        })
    }

    fn param_clause(&mut self, p: P<'_>) -> R<ParamClause> {
        let at = self.start(&p);
        let span = self.cx.span(at, tight_end(&p));
        let rule = p.as_rule();
        let mut it = p.into_inner();
        let mut from = None;
        if rule == Rule::param_from {
            take(&mut it, self.cx, at)?; // from
            let d = take(&mut it, self.cx, at)?;
            from = Some(self.date(&d)?);
        }
        take(&mut it, self.cx, at)?; // =
        let vp = take(&mut it, self.cx, at)?;
        let value_pair = vp
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&vp))?;
        let value = if value_pair.as_rule() == Rule::param_table {
            let tspan = self
                .cx
                .span(self.start(&value_pair), tight_end(&value_pair));
            let mut entries = Vec::new();
            for e in value_pair.into_inner() {
                if e.as_rule() == Rule::param_entry {
                    let mut ei = e.into_inner();
                    let key = self.ident(&take(&mut ei, self.cx, at)?);
                    take(&mut ei, self.cx, at)?; // :
                    let lit = self.param_literal(take(&mut ei, self.cx, at)?)?;
                    entries.push((key, lit));
                }
            }
            ParamValue::Table(entries, tspan)
        } else {
            ParamValue::Scalar(self.param_literal(value_pair)?)
        };
        let meta = self.metas(&mut it)?;
        Ok(ParamClause {
            from,
            value,
            meta,
            span,
        })
    }

    /// `in LO..=HI`, `>= LO` or `<= HI`.
    fn range_decl(&mut self, p: P<'_>) -> R<RangeDecl> {
        let span = self.sp(&p);
        let inner = p
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&p))?;
        let rule = inner.as_rule();
        let parts: Vec<P<'_>> = inner.into_inner().collect();
        let mut bounds = Vec::new();
        let mut op = "";
        for part in parts {
            match part.as_rule() {
                Rule::range_bound => bounds.push(self.param_literal(part)?),
                Rule::range_op => op = if part.as_str() == ">=" { ">=" } else { "<=" },
                Rule::range_to if part.as_str() == ".." => {
                    return Err(Diagnostic::error(
                        "a declared range includes both bounds: write `..=`",
                        self.sp(&part),
                        "`..` here",
                    )
                    .with_help("for example `integer in 0..=4`"));
                }
                _ => {}
            }
        }
        let mut bounds = bounds.into_iter();
        let (lo, hi) = match (rule, op) {
            (Rule::range_in, _) => (bounds.next(), bounds.next()),
            (_, ">=") => (bounds.next(), None),
            _ => (None, bounds.next()),
        };
        Ok(RangeDecl { lo, hi, span })
    }

    fn param_literal(&mut self, p: P<'_>) -> R<Spanned<Literal>> {
        let inner = p
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(&p))?;
        let span = self.sp(&inner);
        let node = match inner.as_rule() {
            Rule::date => Literal::Date(self.date(&inner)?.node),
            Rule::signed_percent => Literal::Percent(self.percent(&inner)?),
            Rule::signed_number => self.number(&inner)?,
            Rule::boolean => Literal::Bool(self.boolean(&inner)),
            Rule::string => Literal::Text(self.string(inner)?),
            Rule::ident => Literal::Name(inner.as_str().to_string()),
            _ => return Err(self.internal(&p)),
        };
        Ok(Spanned { node, span })
    }

    fn table(&mut self, mut it: Pairs<'_, Rule>, span: Span, at: usize) -> R<Item> {
        let cx = self.cx;
        let DeclHead {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
        } = self.decl_head(&mut it, at)?;
        take(&mut it, cx, at)?; // hit
        let hp = take(&mut it, cx, at)?;
        let hit_span = self.sp(&hp);
        let hit = match hp.into_inner().next().map(|k| k.as_rule()) {
            Some(Rule::kw_unique) => HitPolicy::Unique,
            Some(Rule::kw_first) => HitPolicy::First,
            Some(Rule::kw_sum) => HitPolicy::Sum,
            _ => return Err(cx.internal(at)),
        };
        let hit = Spanned {
            node: hit,
            span: hit_span,
        };

        // Header: | col | col | result |
        let header = take(&mut it, cx, at)?;
        let header_span = self.cx.span(self.start(&header), tight_end(&header));
        let mut columns = Vec::new();
        let mut prev_end: Option<usize> = None;
        for p in header.into_inner() {
            match p.as_rule() {
                Rule::bar => {
                    if let Some(e) = prev_end {
                        self.same_line(e, self.start(&p))?;
                    }
                    prev_end = Some(p.as_span().end());
                }
                Rule::expr => {
                    let e = self.expr(p)?.0;
                    prev_end = Some(e.span.end as usize - cx.base);
                    columns.push(e);
                }
                _ => prev_end = Some(p.as_span().end()),
            }
        }

        let mut rows = Vec::new();
        let mut otherwise = None;
        let mut last_row_end = Some(header_span.end as usize - cx.base);
        for p in it {
            match p.as_rule() {
                Rule::table_row => {
                    let row_start = self.start(&p);
                    if let Some(e) = last_row_end {
                        if !self
                            .cx
                            .chunk
                            .get(e..row_start)
                            .is_some_and(|g| g.contains('\n'))
                        {
                            return Err(Diagnostic::error(
                                "a table row must start on a new line",
                                cx.span(row_start, row_start + 1),
                                "this `|` starts a new row",
                            )
                            .with_help("write each row of the table on its own line"));
                        }
                    }
                    let row = self.row(p, columns.len(), header_span)?;
                    last_row_end = Some(row.span.end as usize - cx.base);
                    rows.push(row);
                }
                Rule::otherwise => {
                    let e = p
                        .into_inner()
                        .find(|q| q.as_rule() == Rule::expr)
                        .ok_or_else(|| cx.internal(at))?;
                    otherwise = Some(self.expr(e)?.0);
                }
                _ => {}
            }
        }
        Ok(Item::Table(TableDecl {
            entity,
            entity_span,
            name,
            label,
            ty,
            meta,
            hit,
            columns,
            rows,
            otherwise,
            span,
        }))
    }

    /// A `|` must be on the same line as what precedes it in a row: otherwise the row lacks its
    /// closing `|` and the next line's `|` was taken as a cell separator.
    fn same_line(&self, prev_end: usize, bar_start: usize) -> R<()> {
        if self
            .cx
            .chunk
            .get(prev_end..bar_start)
            .is_some_and(|g| g.contains('\n'))
        {
            return Err(Diagnostic::error(
                "expected `|` to end the table row",
                self.cx.span(prev_end, prev_end),
                "expected `|` here",
            )
            .with_help(
                "every row starts and ends with `|` on the same line, with `|` between the cells",
            ));
        }
        Ok(())
    }

    fn row(&mut self, p: P<'_>, ncols: usize, header_span: Span) -> R<TableRow> {
        let cx = self.cx;
        let row_start = self.start(&p);
        let span = cx.span(row_start, tight_end(&p));
        let mut cells: Vec<(Cell, bool /*single value*/)> = Vec::new();
        let mut prev_end: Option<usize> = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::bar => {
                    if let Some(e) = prev_end {
                        self.same_line(e, self.start(&q))?;
                    }
                    prev_end = Some(q.as_span().end());
                }
                Rule::cell => {
                    let (cell, single) = self.cell(q)?;
                    prev_end = Some(cell.span.end as usize - cx.base);
                    cells.push((cell, single));
                }
                _ => {}
            }
        }
        let Some((result_cell, single)) = cells.pop() else {
            return Err(cx.internal(row_start));
        };
        if !single {
            return Err(Diagnostic::error(
                "the last cell of a row is its result and must be a single value or formula",
                result_cell.span,
                "expected one expression here",
            )
            .with_help("write tests such as `-`, `>= 60` or `1..2` in the input cells, and the row's value in the last cell"));
        }
        let result = match result_cell.tests.into_iter().next() {
            Some(CellTest::Equals(e)) => e,
            _ => return Err(cx.internal(row_start)),
        };
        if cells.len() != ncols {
            let row_cells = match (cells.first(), cells.last()) {
                (Some(first), Some(last)) => first.0.span.to(last.0.span),
                _ => cx.span(row_start, row_start + 1),
            };
            return Err(Diagnostic::error(
                format!(
                    "this row has {} input cell{} but the header has {} column{}",
                    cells.len(),
                    if cells.len() == 1 { "" } else { "s" },
                    ncols,
                    if ncols == 1 { "" } else { "s" }
                ),
                row_cells,
                format!("{} input cell{}", cells.len(), if cells.len() == 1 { "" } else { "s" }),
            )
            .with_secondary(header_span, format!("{ncols} column{} before `result`", if ncols == 1 { "" } else { "s" }))
            .with_help("each row has one cell per header column, then the result; use `-` for \"any value\""));
        }
        Ok(TableRow {
            cells: cells.into_iter().map(|(c, _)| c).collect(),
            result,
            span,
        })
    }

    /// A cell, and whether it is a single plain value (as a result cell must be).
    fn cell(&mut self, p: P<'_>) -> R<(Cell, bool)> {
        let cx = self.cx;
        let start = self.start(&p);
        let mut tests = Vec::new();
        let mut single = true;
        let mut end = start;
        let mut count = 0;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::cell_any => {
                    single = false;
                    end = start + 1;
                }
                Rule::cell_test => {
                    count += 1;
                    let t = q
                        .clone()
                        .into_inner()
                        .next()
                        .ok_or_else(|| self.internal(&q))?;
                    let mut ti = t.clone().into_inner();
                    match t.as_rule() {
                        Rule::cell_cmp => {
                            single = false;
                            let op = take(&mut ti, cx, start)?;
                            let op = cmp_op(op.as_str()).ok_or_else(|| cx.internal(start))?;
                            let (e, _) = self.expr(take(&mut ti, cx, start)?)?;
                            end = e.span.end as usize - cx.base;
                            tests.push(CellTest::Compare(op, e));
                        }
                        Rule::cell_value => {
                            let (lo, _) = self.expr(take(&mut ti, cx, start)?)?;
                            if peek_is(&ti, Rule::dotdot) {
                                single = false;
                                take(&mut ti, cx, start)?;
                                let (hi, _) = self.expr(take(&mut ti, cx, start)?)?;
                                end = hi.span.end as usize - cx.base;
                                tests.push(CellTest::Range(lo, hi));
                            } else {
                                end = lo.span.end as usize - cx.base;
                                tests.push(CellTest::Equals(lo));
                            }
                        }
                        _ => return Err(cx.internal(start)),
                    }
                }
                _ => {}
            }
        }
        if count > 1 {
            single = false;
        }
        Ok((
            Cell {
                tests,
                span: cx.span(start, end),
            },
            single,
        ))
    }

    // ---- literals ----------------------------------------------------------------------------

    fn string(&self, p: P<'_>) -> R<String> {
        let raw = p.as_str();
        let start = self.start(&p);
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'u')) => {
                    let mut hex = String::new();
                    let mut end = i + 2;
                    for (j, d) in chars.by_ref() {
                        end = j + d.len_utf8();
                        if d == '}' {
                            break;
                        }
                        if d != '{' {
                            hex.push(d);
                        }
                    }
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) => out.push(ch),
                        None => {
                            let s = start + 1 + i;
                            return Err(Diagnostic::error(
                                format!("`\\u{{{hex}}}` is not a Unicode character"),
                                self.cx.span(s, start + 1 + end),
                                "invalid escape",
                            )
                            .with_help("write the character itself, or a valid code point such as `\\u{4E2D}`"));
                        }
                    }
                }
                _ => return Err(self.cx.internal(start + 1 + i)),
            }
        }
        Ok(out)
    }

    fn boolean(&self, p: &P<'_>) -> bool {
        p.clone()
            .into_inner()
            .next()
            .is_some_and(|k| k.as_rule() == Rule::kw_true)
    }

    fn number(&self, p: &P<'_>) -> R<Literal> {
        let s = p.as_str();
        let value = self.decimal(p, s)?;
        Ok(Literal::Number {
            value,
            is_integer: !s.contains('.'),
        })
    }

    fn decimal(&self, p: &P<'_>, s: &str) -> R<Decimal> {
        Decimal::from_str_exact(s).map_err(|_| {
            Diagnostic::error(
                format!("the number `{}` is too large or too precise", p.as_str()),
                self.sp(p),
                "does not fit in 28 significant digits",
            )
            .with_help("doudi numbers are exact decimals of at most 28 significant digits")
        })
    }

    fn percent(&self, p: &P<'_>) -> R<Decimal> {
        let s = p.as_str();
        let digits = s.strip_suffix('%').unwrap_or(s);
        let mut d = self.decimal(p, digits)?;
        let scale = d.scale() + 2;
        if d.set_scale(scale).is_err() {
            return Err(Diagnostic::error(
                format!("the percent `{s}` is too precise"),
                self.sp(p),
                "too many decimal places",
            )
            .with_help("doudi numbers are exact decimals of at most 28 significant digits"));
        }
        Ok(d)
    }

    fn date(&self, p: &P<'_>) -> R<Spanned<Date>> {
        let s = p.as_str();
        let span = self.sp(p);
        let num = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<u32>().ok());
        let (Some(y), Some(m), Some(d)) = (num(0, 4), num(5, 7), num(8, 10)) else {
            return Err(self.internal(p));
        };
        let y = y as i32;
        let bad = |label: String| {
            Diagnostic::error(format!("`{s}` is not a date"), span, label)
                .with_help("dates are written YYYY-MM-DD, for example `2024-01-01`")
        };
        if !(1..=12).contains(&m) {
            return Err(bad(format!("there is no month {m}")));
        }
        let days = days_in_month(y, m);
        if d == 0 || d > days {
            return Err(bad(format!("{} {y} has {days} days", month_name(m))));
        }
        Ok(Spanned {
            node: Date {
                year: y,
                month: m as u8,
                day: d as u8,
            },
            span,
        })
    }

    // ---- expressions -------------------------------------------------------------------------

    fn deeper(&self, d: usize, span: Span) -> R<usize> {
        if d + 1 > MAX_DEPTH {
            let at = (span.start as usize).saturating_sub(self.cx.base);
            return Err(self.cx.too_deep(at));
        }
        Ok(d + 1)
    }

    /// Builds an expression and returns it with its depth. Single-child wrapper rules are walked in a
    /// loop, so the recursion depth follows the nesting of the source, which the pre-scan bounded.
    fn expr(&mut self, p: P<'_>) -> R<(Expr, usize)> {
        let cx = self.cx;
        let mut p = p;
        loop {
            let at = self.start(&p);
            let rule = p.as_rule();
            match rule {
                Rule::expr | Rule::primary | Rule::cell_value | Rule::name => {
                    if rule == Rule::name {
                        let span = self.sp(&p);
                        return Ok((
                            Expr {
                                kind: ExprKind::Name(p.as_str().to_string()),
                                span,
                            },
                            1,
                        ));
                    }
                    p = p.into_inner().next().ok_or_else(|| cx.internal(at))?;
                }
                Rule::or_expr | Rule::and_expr | Rule::sum_expr | Rule::prod_expr => {
                    let mut it = p.into_inner();
                    let first = take(&mut it, cx, at)?;
                    if it.peek().is_none() {
                        p = first;
                        continue;
                    }
                    let (mut acc, mut depth) = self.expr(first)?;
                    while let Some(op) = it.next() {
                        let bop = match (op.as_rule(), op.as_str()) {
                            (Rule::kw_or, _) => BinOp::Or,
                            (Rule::kw_and, _) => BinOp::And,
                            (_, "+") => BinOp::Add,
                            (_, "-") => BinOp::Sub,
                            (_, "*") => BinOp::Mul,
                            (_, "/") => BinOp::Div,
                            _ => return Err(cx.internal(self.start(&op))),
                        };
                        let (rhs, rd) = self.expr(take(&mut it, cx, at)?)?;
                        let span = acc.span.to(rhs.span);
                        depth = self.deeper(depth.max(rd), span)?;
                        acc = Expr {
                            kind: ExprKind::Binary(bop, Box::new(acc), Box::new(rhs)),
                            span,
                        };
                    }
                    return Ok((acc, depth));
                }
                Rule::not_expr | Rule::unary_expr => {
                    let mut it = p.into_inner();
                    let first = take(&mut it, cx, at)?;
                    match first.as_rule() {
                        Rule::kw_not | Rule::neg_op => {
                            let op = if first.as_rule() == Rule::kw_not {
                                UnOp::Not
                            } else {
                                UnOp::Neg
                            };
                            let (e, d) = self.expr(take(&mut it, cx, at)?)?;
                            let span = self.sp(&first).to(e.span);
                            let d = self.deeper(d, span)?;
                            return Ok((
                                Expr {
                                    kind: ExprKind::Unary(op, Box::new(e)),
                                    span,
                                },
                                d,
                            ));
                        }
                        _ => p = first,
                    }
                }
                Rule::cmp_expr => {
                    let mut it = p.into_inner();
                    let first = take(&mut it, cx, at)?;
                    let Some(op) = it.next() else {
                        p = first;
                        continue;
                    };
                    let (lhs, ld) = self.expr(first)?;
                    if op.as_rule() == Rule::kw_in {
                        let set = take(&mut it, cx, at)?;
                        let set_end = tight_end(&set);
                        let mut items = Vec::new();
                        let mut depth = ld;
                        for q in set.into_inner() {
                            if q.as_rule() == Rule::expr {
                                let (e, d) = self.expr(q)?;
                                depth = depth.max(d);
                                items.push(e);
                            }
                        }
                        let span = Span {
                            end: (set_end + cx.base) as u32,
                            ..lhs.span
                        };
                        let depth = self.deeper(depth, span)?;
                        return Ok((
                            Expr {
                                kind: ExprKind::In(Box::new(lhs), items),
                                span,
                            },
                            depth,
                        ));
                    }
                    let cop = cmp_op(op.as_str()).ok_or_else(|| cx.internal(self.start(&op)))?;
                    let (rhs, rd) = self.expr(take(&mut it, cx, at)?)?;
                    let span = lhs.span.to(rhs.span);
                    let depth = self.deeper(ld.max(rd), span)?;
                    return Ok((
                        Expr {
                            kind: ExprKind::Binary(BinOp::Cmp(cop), Box::new(lhs), Box::new(rhs)),
                            span,
                        },
                        depth,
                    ));
                }
                Rule::if_expr => {
                    let mut it = p.into_inner();
                    let kw = take(&mut it, cx, at)?;
                    let (c, cd) = self.expr(take(&mut it, cx, at)?)?;
                    take(&mut it, cx, at)?;
                    let (a, ad) = self.expr(take(&mut it, cx, at)?)?;
                    take(&mut it, cx, at)?;
                    let (b, bd) = self.expr(take(&mut it, cx, at)?)?;
                    let span = self.sp(&kw).to(b.span);
                    let depth = self.deeper(cd.max(ad).max(bd), span)?;
                    return Ok((
                        Expr {
                            kind: ExprKind::If(Box::new(c), Box::new(a), Box::new(b)),
                            span,
                        },
                        depth,
                    ));
                }
                Rule::postfix_expr => {
                    let mut it = p.into_inner();
                    let first = take(&mut it, cx, at)?;
                    if it.peek().is_none() {
                        p = first;
                        continue;
                    }
                    let (mut acc, mut depth) = self.expr(first)?;
                    for suffix in it {
                        let end = tight_end(&suffix);
                        let key = suffix
                            .into_inner()
                            .find(|q| q.as_rule() == Rule::expr)
                            .ok_or_else(|| cx.internal(at))?;
                        let (k, kd) = self.expr(key)?;
                        let span = Span {
                            end: (end + cx.base) as u32,
                            ..acc.span
                        };
                        depth = self.deeper(depth.max(kd), span)?;
                        acc = Expr {
                            kind: ExprKind::Index(Box::new(acc), Box::new(k)),
                            span,
                        };
                    }
                    return Ok((acc, depth));
                }
                Rule::paren_expr => {
                    let span = self.cx.span(at, tight_end(&p));
                    let inner = p
                        .into_inner()
                        .find(|q| q.as_rule() == Rule::expr)
                        .ok_or_else(|| cx.internal(at))?;
                    let (mut e, d) = self.expr(inner)?;
                    e.span = span;
                    return Ok((e, d));
                }
                Rule::household_field => {
                    let span = self.cx.span(at, tight_end(&p));
                    let id = p
                        .into_inner()
                        .find(|q| q.as_rule() == Rule::ident)
                        .ok_or_else(|| cx.internal(at))?;
                    return Ok((
                        Expr {
                            kind: ExprKind::HouseholdField(self.ident(&id)),
                            span,
                        },
                        1,
                    ));
                }
                Rule::call_expr => return self.call(p),
                Rule::number => {
                    let lit = self.number(&p)?;
                    return Ok((
                        Expr {
                            kind: ExprKind::Lit(lit),
                            span: self.sp(&p),
                        },
                        1,
                    ));
                }
                Rule::percent => {
                    let v = self.percent(&p)?;
                    return Ok((
                        Expr {
                            kind: ExprKind::Lit(Literal::Percent(v)),
                            span: self.sp(&p),
                        },
                        1,
                    ));
                }
                Rule::date => {
                    let d = self.date(&p)?;
                    return Ok((
                        Expr {
                            kind: ExprKind::Lit(Literal::Date(d.node)),
                            span: d.span,
                        },
                        1,
                    ));
                }
                Rule::boolean => {
                    let b = self.boolean(&p);
                    return Ok((
                        Expr {
                            kind: ExprKind::Lit(Literal::Bool(b)),
                            span: self.sp(&p),
                        },
                        1,
                    ));
                }
                Rule::string => {
                    let span = self.sp(&p);
                    let s = self.string(p)?;
                    return Ok((
                        Expr {
                            kind: ExprKind::Lit(Literal::Text(s)),
                            span,
                        },
                        1,
                    ));
                }
                _ => return Err(cx.internal(at)),
            }
        }
    }

    fn call(&mut self, p: P<'_>) -> R<(Expr, usize)> {
        let cx = self.cx;
        let at = self.start(&p);
        let span = cx.span(at, tight_end(&p));
        let mut it = p.into_inner();
        let fname = take(&mut it, cx, at)?;
        let fspan = self.sp(&fname);
        let fkw = fname
            .clone()
            .into_inner()
            .next()
            .ok_or_else(|| cx.internal(at))?;
        let written = fname.as_str().to_string();
        // (canonical name, aggregation kind, plain function?)
        let (canon, agg, plain): (String, Option<AggKind>, bool) = match fkw.as_rule() {
            Rule::kw_sum => ("sum".into(), Some(AggKind::Sum), false),
            Rule::kw_count => ("count".into(), Some(AggKind::Count), false),
            Rule::kw_any => ("any".into(), Some(AggKind::Any), false),
            Rule::kw_all => ("all".into(), Some(AggKind::All), false),
            Rule::kw_min => ("min".into(), Some(AggKind::Min), true),
            Rule::kw_max => ("max".into(), Some(AggKind::Max), true),
            Rule::kw_round => ("round".into(), None, true),
            Rule::kw_monthly => ("monthly".into(), None, true),
            Rule::kw_yearly => ("yearly".into(), None, true),
            Rule::kw_abs => ("abs".into(), None, true),
            _ => (written.clone(), None, true),
        };
        take(&mut it, cx, at)?; // (
        let args = take(&mut it, cx, at)?;
        let mut ai = args.into_inner().peekable();

        // Aggregation forms.
        let agg_form = match ai.peek().map(|q| q.as_rule()) {
            Some(Rule::agg_over) => {
                let over = ai.next().ok_or_else(|| cx.internal(at))?;
                Some((None, over))
            }
            Some(Rule::expr) => {
                let body = ai.next().ok_or_else(|| cx.internal(at))?;
                if ai.peek().is_some_and(|q| q.as_rule() == Rule::agg_for) {
                    let tail = ai.next().ok_or_else(|| cx.internal(at))?;
                    Some((Some(body), tail))
                } else {
                    // Plain call: put the first argument back in front.
                    let mut exprs = vec![body];
                    exprs.extend(ai.filter(|q| q.as_rule() == Rule::expr));
                    if !plain {
                        let example = match canon.as_str() {
                            "count" => format!("`{written}(members where CONDITION)`"),
                            "any" | "all" => format!("`{written}(CONDITION for members)`"),
                            _ => format!("`{written}(VALUE for members)`"),
                        };
                        return Err(Diagnostic::error(
                            format!("`{written}` is an aggregation over a collection"),
                            fspan,
                            "not a function of several values",
                        )
                        .with_help(format!(
                            "write {example}; to combine two values use an operator such as `+`"
                        )));
                    }
                    let mut args_out = Vec::with_capacity(exprs.len());
                    let mut depth = 0;
                    for e in exprs {
                        let (e, d) = self.expr(e)?;
                        depth = depth.max(d);
                        args_out.push(e);
                    }
                    let depth = self.deeper(depth, span)?;
                    let name = Ident {
                        name: canon,
                        span: fspan,
                    };
                    return Ok((
                        Expr {
                            kind: ExprKind::Call(name, args_out),
                            span,
                        },
                        depth,
                    ));
                }
            }
            None => {
                if !plain {
                    return Err(Diagnostic::error(
                        format!("`{written}` needs a collection to aggregate over"),
                        span,
                        "nothing between the brackets",
                    )
                    .with_help(format!("for example `{written}(members where counted)`")));
                }
                let name = Ident {
                    name: canon,
                    span: fspan,
                };
                return Ok((
                    Expr {
                        kind: ExprKind::Call(name, Vec::new()),
                        span,
                    },
                    1,
                ));
            }
            _ => return Err(cx.internal(at)),
        };
        let Some((body, tail)) = agg_form else {
            return Err(cx.internal(at));
        };
        let Some(kind) = agg else {
            return Err(Diagnostic::error(
                format!("`{written}` is not an aggregation"),
                fspan,
                "cannot take `for` or a collection",
            )
            .with_help("the aggregations are `sum`, `count`, `any`, `all`, `min` and `max`"));
        };
        let mut ti = tail.into_inner();
        if peek_is(&ti, Rule::kw_for) {
            ti.next();
        }
        let coll = take(&mut ti, cx, at)?;
        let coll_span = self.sp(&coll);
        let collection = match coll.into_inner().next().map(|k| k.as_rule()) {
            Some(Rule::kw_members) => Collection::Members,
            Some(Rule::kw_households) => Collection::Households,
            Some(Rule::kw_persons) => Collection::Persons,
            _ => return Err(cx.internal(at)),
        };
        let filter_pair = match ti.next() {
            Some(w) => Some(
                w.into_inner()
                    .find(|q| q.as_rule() == Rule::expr)
                    .ok_or_else(|| cx.internal(at))?,
            ),
            None => None,
        };
        let needs_body = matches!(kind, AggKind::Sum | AggKind::Min | AggKind::Max);
        if needs_body && body.is_none() {
            return Err(Diagnostic::error(
                format!("`{written}` needs a value to aggregate"),
                coll_span,
                "expected `VALUE for` before the collection",
            )
            .with_help(format!(
                "for example `{written}(monthly_income for members)`"
            )));
        }
        if kind == AggKind::Count {
            if let Some(b) = &body {
                return Err(Diagnostic::error(
                    "`count` counts the members of a collection and takes no value",
                    self.sp(b),
                    "remove this and `for`",
                )
                .with_help(format!("write `{written}(members where CONDITION)`")));
            }
        }
        if matches!(kind, AggKind::Any | AggKind::All) && body.is_none() && filter_pair.is_none() {
            return Err(Diagnostic::error(
                format!("`{written}` needs a condition"),
                coll_span,
                "expected `where CONDITION` after the collection",
            )
            .with_help(format!(
                "for example `{written}(members where disability_grade in {{1, 2}})`"
            )));
        }
        let mut depth = 0;
        let body = match body {
            Some(b) => {
                let (e, d) = self.expr(b)?;
                depth = depth.max(d);
                Some(Box::new(e))
            }
            None => None,
        };
        let filter = match filter_pair {
            Some(f) => {
                let (e, d) = self.expr(f)?;
                depth = depth.max(d);
                Some(Box::new(e))
            }
            None => None,
        };
        let depth = self.deeper(depth, span)?;
        Ok((
            Expr {
                kind: ExprKind::Agg {
                    kind,
                    body,
                    collection: Spanned {
                        node: collection,
                        span: coll_span,
                    },
                    filter,
                },
                span,
            },
            depth,
        ))
    }
}

fn cmp_op(s: &str) -> Option<CmpOp> {
    Some(match s {
        "==" => CmpOp::Eq,
        "!=" => CmpOp::Ne,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Le,
        ">" => CmpOp::Gt,
        ">=" => CmpOp::Ge,
        _ => return None,
    })
}

// =================================================================================================
// Syntax errors in words

/// What the parser was looking for, in drafters' terms. Declaration order is priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Want {
    Then,
    Else,
    When,
    Initially,
    Assign,
    Colon,
    Dot,
    Entity,
    OverrideParam,
    Type,
    PerPeriod,
    ParamValues,
    Date,
    Value,
    Collection,
    Hit,
    HitPolicy,
    Result,
    Header,
    Bar,
    Variant,
    Close(char),
    Expr,
    Name,
    // Weak: only used when nothing stronger was expected (an optional label, a call's `(` after a
    // name, an operator after a complete value...).
    Str,
    LParen,
    Comma,
    Item,
    End,
    Operator,
    Other,
}

impl Want {
    fn is_weak(self) -> bool {
        self >= Want::Str
    }
}

fn want_of(rule: Rule) -> Want {
    use Rule::*;
    match rule {
        kw_then => Want::Then,
        kw_else => Want::Else,
        kw_when => Want::When,
        kw_initially => Want::Initially,
        assign => Want::Assign,
        colon => Want::Colon,
        dot => Want::Dot,
        entity | kw_person | kw_household | kw_programme => Want::Entity,
        kw_parameter => Want::OverrideParam,
        type_expr | ty_money | ty_bool | ty_integer | ty_decimal | ty_percent | ty_months
        | ty_date | ty_text | ty_named => Want::Type,
        kw_month | kw_year => Want::PerPeriod,
        param_values | param_always | param_from | kw_from => Want::ParamValues,
        date => Want::Date,
        param_value | param_literal | param_table | signed_number | signed_percent
        | range_bound => Want::Value,
        input_default | kw_default => Want::Other,
        collection | kw_members | kw_households | kw_persons | agg_over => Want::Collection,
        kw_hit => Want::Hit,
        hit_policy | kw_unique | kw_first => Want::HitPolicy,
        kw_result => Want::Result,
        table_header => Want::Header,
        bar => Want::Bar,
        variant => Want::Variant,
        rparen => Want::Close(')'),
        rbrack => Want::Close(']'),
        rbrace => Want::Close('}'),
        expr | if_expr | or_expr | and_expr | not_expr | cmp_expr | sum_expr | prod_expr
        | unary_expr | postfix_expr | primary | paren_expr | call_expr | household_field | name
        | number | percent | boolean | call_args | cell | cell_test | cell_cmp | cell_value
        | cell_any | set_expr | expr_input => Want::Expr,
        ident | param_entry | extern_param | func_name => Want::Name,
        string => Want::Str,
        lparen => Want::LParen,
        comma => Want::Comma,
        item | policy_item | extends_item | enum_item | input_item | parameter_item
        | override_item | definition_item | exception_item | table_item | extern_item | file
        | kw_policy | kw_extends | kw_enum | kw_input | kw_override | kw_definition
        | kw_exception | kw_table | kw_extern => Want::Item,
        EOI => Want::End,
        cmp_op | add_op | mul_op | kw_in | kw_and | kw_or | lbrack | index_suffix | dotdot
        | agg_for | agg_where | kw_for | kw_where | kw_otherwise | otherwise | table_row => {
            Want::Operator
        }
        _ => Want::Other,
    }
}

/// Everything the error reporter knows about the failure point.
struct ErrCx<'a> {
    /// Byte offset of the failure in the chunk.
    pos: usize,
    /// The item keyword the chunk starts with, in English.
    item: &'static str,
    chinese: bool,
    /// The token found at `pos` (empty at the end).
    found: &'a str,
    /// End of the previous token, and whether a line break separates it from `pos`.
    prev_end: usize,
    broken_line: bool,
}

impl ErrCx<'_> {
    /// A keyword as the drafter writes it (Chinese spelling in a Chinese-keyword file).
    fn k(&self, en: &str) -> String {
        if self.chinese {
            if let Some((_, zh)) = KEYWORDS.iter().find(|(e, _)| *e == en) {
                return format!("`{zh}`");
            }
        }
        format!("`{en}`")
    }
    /// Replaces `{kw}` in a template with the drafter's spelling of the keyword `kw`.
    fn tr(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            match after.find('}') {
                Some(j) if keyword_en(&after[..j]).is_some() => {
                    let en = &after[..j];
                    let word = if self.chinese {
                        KEYWORDS
                            .iter()
                            .find(|(e, _)| *e == en)
                            .map_or(en, |(_, zh)| *zh)
                    } else {
                        en
                    };
                    out.push_str(word);
                    rest = &after[j + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
    fn found_desc(&self) -> String {
        if self.found.is_empty() {
            "the end of the item".to_string()
        } else {
            format!("`{}`", self.found)
        }
    }
}

fn found_token(chunk: &str, pos: usize) -> &str {
    let Some(rest) = chunk.get(pos..) else {
        return "";
    };
    let Some(c) = rest.chars().next() else {
        return "";
    };
    let len = if c == '"' {
        let line_end = rest.find('\n').unwrap_or(rest.len());
        let mut end = line_end;
        let mut esc = false;
        for (i, d) in rest[..line_end].char_indices().skip(1) {
            if esc {
                esc = false;
            } else if d == '\\' {
                esc = true;
            } else if d == '"' {
                end = i + 1;
                break;
            }
        }
        end
    } else if is_id_char(c) {
        word_at(rest, 0).len().max(c.len_utf8())
    } else {
        let two = rest
            .get(..2)
            .is_some_and(|t| matches!(t, "==" | "!=" | "<=" | ">=" | ".."));
        if two {
            2
        } else {
            c.len_utf8()
        }
    };
    let len = len.min(rest.len());
    rest.get(..len).unwrap_or("").trim_end_matches(['\r'])
}

fn full_width_hint(found: &str) -> Option<String> {
    let c = found.chars().next()?;
    let ascii = match c {
        '，' => ",",
        '：' => ":",
        '（' => "(",
        '）' => ")",
        '｜' => "|",
        '＝' => "=",
        '［' => "[",
        '］' => "]",
        '｛' => "{",
        '｝' => "}",
        '“' | '”' => "\"",
        '．' | '。' => ".",
        '－' => "-",
        '＋' => "+",
        '＜' => "<",
        '＞' => ">",
        _ => return None,
    };
    Some(format!(
        "`{c}` is a full-width character; write the ASCII `{ascii}` instead"
    ))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl ChunkCx<'_> {
    fn pest_error(&self, e: pest::error::Error<Rule>, expr_only: bool) -> Diagnostic {
        let pos = match e.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
        let pos = crate::diag::floor_char_boundary(self.chunk, pos.min(self.chunk.len()));
        let positives = match e.variant {
            ErrorVariant::ParsingError { positives, .. } => positives,
            ErrorVariant::CustomError { message } => {
                // pest's own guards ("stack limit reached", "call limit reached").
                return self
                    .too_deep(pos)
                    .with_note(format!("the parser stopped: {message}"));
            }
        };
        // Item keyword of the chunk and whether it is written in Chinese.
        let mut scan = Scan::new(self.chunk);
        let mut item = if expr_only { "expression" } else { "" };
        let mut chinese = false;
        if let Some((Tok::Word(w), _, _)) = scan.next() {
            if let Some(en) = keyword_en(w) {
                if ITEM_KEYWORDS.contains(&en) && !expr_only {
                    item = en;
                }
                chinese = is_chinese_keyword(w);
            }
        }
        // Previous token end.
        let mut scan = Scan::new(self.chunk);
        let mut prev_end = 0;
        while let Some((_, s, e)) = scan.next() {
            if s >= pos {
                break;
            }
            prev_end = e;
        }
        let prev_end = prev_end.min(pos);
        let broken_line = self
            .chunk
            .get(prev_end..pos)
            .is_some_and(|g| g.contains('\n'))
            || pos >= self.chunk.len();
        let found = found_token(self.chunk, pos);
        let ecx = ErrCx {
            pos,
            item,
            chinese,
            found,
            prev_end,
            broken_line,
        };

        let mut wants: Vec<Want> = positives.iter().map(|r| want_of(*r)).collect();
        wants.sort();
        wants.dedup();
        self.describe(&ecx, &wants, &positives)
    }

    fn describe(&self, e: &ErrCx<'_>, wants: &[Want], positives: &[Rule]) -> Diagnostic {
        let has = |w: Want| wants.contains(&w);
        let found_span = self.span(e.pos, e.pos + e.found.len());
        // Where the caret goes for "something is missing": on the offending token when it is on the
        // same line, else right after the previous token.
        let missing_span = if e.broken_line {
            self.span(e.prev_end, e.prev_end)
        } else {
            found_span
        };
        // For a missing keyword before something written on the next line (`= formula` without `=`,
        // a condition without `when`), point at that something.
        let before_next = e.broken_line && !e.found.is_empty();
        let lead_span = if before_next {
            found_span
        } else {
            missing_span
        };
        let lead_label = |what: String| {
            if before_next {
                format!("expected {what} before this")
            } else {
                format!("expected {what} here")
            }
        };
        let mut extra_help: Option<String> = full_width_hint(e.found);

        // An unterminated string or a bad escape is reported as such, whatever was expected.
        if e.found.starts_with('"') {
            let closed = e.found.len() >= 2 && e.found.ends_with('"');
            if !closed {
                return Diagnostic::error("unterminated string", found_span, "this string is never closed")
                    .with_help("a string ends with `\"` on the same line; write `\\n` for a line break and `\\\"` for a quote");
            }
            if let Some(i) = e.found.find('\\') {
                let bad = e.found[i..]
                    .chars()
                    .nth(1)
                    .map_or(String::new(), String::from);
                let s = e.pos + i;
                return Diagnostic::error(
                    format!("unknown escape `\\{bad}` in a string"),
                    self.span(s, s + 1 + bad.len()),
                    "unknown escape",
                )
                .with_help("the escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\r` and `\\u{...}`");
            }
        }
        // `=` where a comparison could go.
        if e.found == "=" && has(Want::Operator) && !has(Want::Assign) {
            return Diagnostic::error("use `==` to compare two values", found_span, "`=` is not a comparison")
                .with_help("`=` only introduces a formula or a value; comparisons are `==`, `!=`, `<`, `<=`, `>` and `>=`");
        }

        // `a < b < c`: after a complete comparison no comparison operator is expected.
        if matches!(e.found, "==" | "!=" | "<" | "<=" | ">" | ">=")
            && has(Want::Operator)
            && !positives.contains(&Rule::cmp_op)
        {
            return Diagnostic::error(
                "comparisons cannot be chained",
                found_span,
                "a second comparison",
            )
            .with_help(
                e.tr("write `a < b {and} b < c`, or put brackets around the first comparison"),
            );
        }
        let found_en = keyword_en(e.found);
        if matches!(found_en, Some("source" | "quote" | "assumption")) && has(Want::Operator) {
            return Diagnostic::error(
                format!("unexpected {} after the formula", e.found_desc()),
                found_span,
                "metadata goes before the formula",
            )
            .with_help(e.tr("write `{source}`, `{quote}` and `{assumption}` after the item's header and before `=`, `{when}` or `{hit}`"));
        }
        let strong = wants.iter().copied().find(|w| !w.is_weak());
        let (message, label, mut help, span): (String, String, Option<String>, Span) = match strong {
            Some(Want::Then) => (
                format!("expected {} after the condition", e.k("then")),
                lead_label(e.k("then")),
                Some(e.tr("write `{if} <condition> {then} <value> {else} <value>`")),
                lead_span,
            ),
            Some(Want::Else) => (
                format!("expected {} and the value when the condition is false", e.k("else")),
                lead_label(e.k("else")),
                Some(e.tr("every `{if}` has an `{else}`: `{if} <condition> {then} <value> {else} <value>`")),
                lead_span,
            ),
            Some(Want::When) => (
                format!("expected {} and the exception's condition", e.k("when")),
                lead_label(e.k("when")),
                Some(e.tr("an exception is written `{when} <condition> = <value>` after its sources")),
                lead_span,
            ),
            Some(Want::Initially) => (
                format!("expected {} and the state's value before the first month", e.k("initially")),
                lead_label(e.k("initially")),
                Some(e.tr("a state is written `{state} household.NAME: TYPE {initially} = <value> = <formula>`, or with `{transitions}` and a table instead of `= <formula>`")),
                lead_span,
            ),
            Some(Want::Assign) => {
                let (m, h) = match e.item {
                    "definition" => (
                        "expected `=` and the definition's formula".to_string(),
                        Some(if e.chinese {
                            "a definition ends with `= <formula>`, for example `= 在世 且 非 服刑`".to_string()
                        } else {
                            "a definition ends with `= <formula>`, for example `= alive and not imprisoned`".to_string()
                        }),
                    ),
                    "exception" => (
                        "expected `=` and the exception's value".to_string(),
                        Some(e.tr("an exception is written `{when} <condition> = <value>`")),
                    ),
                    "extern" => (
                        "expected `=` and the script file".to_string(),
                        Some("an extern ends with the rhai file that implements it, e.g. `= \"risk.rhai\"`".to_string()),
                    ),
                    "table" => (
                        format!("expected `=` after {}", e.k("otherwise")),
                        Some(e.tr("write `{otherwise} = <value>`")),
                    ),
                    "parameter" | "override" if has(Want::ParamValues) => (
                        "expected the parameter's value: `= VALUE` or `from DATE = VALUE`".to_string(),
                        Some(e.tr("for example `= 3000`, or one line per change: `{from} 2024-01-01 = 3000`")),
                    ),
                    "parameter" | "override" => (
                        "expected `=` and the value in force from this date".to_string(),
                        Some(e.tr("write `{from} 2024-01-01 = <value>`")),
                    ),
                    _ => ("expected `=`".to_string(), None),
                };
                let h = if e.found == "per" || e.found == "每月" || e.found == "每年" {
                    Some(e.tr("`{per month}` and `{per year}` only follow `{money}`: write `{money} {per month}`"))
                } else {
                    h
                };
                (m, lead_label("`=`".to_string()), h, lead_span)
            }
            Some(Want::ParamValues) => (
                "expected the parameter's value: `= VALUE` or `from DATE = VALUE`".to_string(),
                "expected `=` or `from` here".to_string(),
                Some(e.tr("for example `= 3000`, or one line per change: `{from} 2024-01-01 = 3000`")),
                missing_span,
            ),
            Some(Want::Colon) => {
                if self.innermost_open(e.pos).is_some_and(|(c, _)| c == '{') {
                    (
                        "expected `:` between the key and its value".to_string(),
                        "expected `:` here".to_string(),
                        Some("write `{ key: value, ... }`, for example `{ urban: 684, rural: 504 }`".to_string()),
                        missing_span,
                    )
                } else {
                    let example = match e.item {
                        "definition" => Some(e.tr("for example `{definition} {person}.counted \"计入家庭人口\": {bool}`")),
                        "input" => Some(e.tr("for example `{input} {person}.monthly_income: {money} {per month}`")),
                        "parameter" => Some(e.tr("for example `{parameter} rehab_cap: {money} {per year} = 3000`")),
                        "table" => Some(e.tr("for example `{table} {household}.credit_ok: {bool}`")),
                        "extern" => Some("each argument and the result have a type: `(income: money per month): decimal`".to_string()),
                        _ => None,
                    };
                    ("expected `:` and a type".to_string(), "expected `:` here".to_string(), example, missing_span)
                }
            }
            Some(Want::Dot) => (
                "expected `.` and a name after the entity".to_string(),
                "expected `.` here".to_string(),
                Some(e.tr("names are written `{person}.NAME`, `{household}.NAME` or `{programme}.NAME`")),
                missing_span,
            ),
            Some(Want::Entity) => {
                let m = if e.item == "input" {
                    format!("expected {} or {}", e.k("person"), e.k("household"))
                } else {
                    format!("expected {}, {} or {}", e.k("person"), e.k("household"), e.k("programme"))
                };
                let h = if !e.found.is_empty() && e.found.chars().next().is_some_and(is_id_start) {
                    Some(e.tr(&format!("say whose value this is, for example `{{person}}.{}`", e.found)))
                } else {
                    None
                };
                (m, "expected an entity here".to_string(), h, missing_span)
            }
            Some(Want::OverrideParam) => (
                format!("expected {} after {}", e.k("parameter"), e.k("override")),
                format!("expected {} here", e.k("parameter")),
                Some(e.tr("write `{override} {parameter} NAME = VALUE`")),
                missing_span,
            ),
            Some(Want::Type) => (
                "expected a type such as `money per month`, `bool` or an enum name".to_string(),
                "expected a type here".to_string(),
                Some(e.tr("the types are `{bool}`, `{integer}`, `{decimal}`, `{percent}`, `{money}`, `{money} {per month}`, `{money} {per year}`, `{months}`, `{date}`, `{text}` and declared enums")),
                missing_span,
            ),
            Some(Want::PerPeriod) => (
                "expected `month` or `year` after `per`".to_string(),
                "expected `month` or `year` here".to_string(),
                Some("money amounts are `money` (a stock), `money per month` or `money per year`".to_string()),
                missing_span,
            ),
            Some(Want::Date) => (
                "expected a date such as `2024-01-01`".to_string(),
                "expected a date here".to_string(),
                Some("dates are written YYYY-MM-DD, with a two-digit month and day".to_string()),
                missing_span,
            ),
            Some(Want::Value) => (
                "expected a value".to_string(),
                "expected a value here".to_string(),
                Some(e.tr("a value is a number (`684`, `-5`), a percent (`30%`), `{true}`/`{false}`, a date, a string, an enum variant, or `{ key: value, ... }` for a parameter `{by}` an enum")),
                missing_span,
            ),
            Some(Want::Collection) => {
                let lower = e.found.to_lowercase();
                let close = ["members", "households", "persons"]
                    .into_iter()
                    .filter(|k| lower.len() >= 4 && edit_distance(&lower, k) <= 2)
                    .min_by_key(|k| edit_distance(&lower, k));
                let h = match close {
                    Some(k) => format!("did you mean {}?", e.k(k)),
                    None => e.tr("aggregations run over `{members}` (in a household definition) or `{households}` / `{persons}` (in a programme definition)"),
                };
                (
                    format!("expected {}, {} or {}", e.k("members"), e.k("households"), e.k("persons")),
                    "expected a collection here".to_string(),
                    Some(h),
                    missing_span,
                )
            }
            Some(Want::Hit) => (
                format!("expected {} and the table's hit policy", e.k("hit")),
                lead_label(e.k("hit")),
                Some(e.tr("after the sources, write `{hit} {unique}`, `{hit} {first}` or `{hit} {sum}`, then the header row")),
                lead_span,
            ),
            Some(Want::HitPolicy) => (
                format!("expected a hit policy: {}, {} or {}", e.k("unique"), e.k("first"), e.k("sum")),
                "expected a hit policy here".to_string(),
                None,
                missing_span,
            ),
            Some(Want::Result) => (
                format!("expected {} as the last column of the header row", e.k("result")),
                format!("expected {} here", e.k("result")),
                Some(e.tr("the header row lists the inputs, then `{result}`: `| credit | {result} |`")),
                missing_span,
            ),
            Some(Want::Header) => (
                "expected the table's header row".to_string(),
                "expected `|` here".to_string(),
                Some(e.tr("the header row lists the inputs, then `{result}`: `| credit | {result} |`")),
                missing_span,
            ),
            Some(Want::Bar) => {
                let m = if e.broken_line || e.found.is_empty() {
                    "expected `|` to end the table row"
                } else {
                    "expected `|` between the cells"
                };
                (
                    m.to_string(),
                    "expected `|` here".to_string(),
                    Some("every row starts and ends with `|` on the same line, with `|` between the cells".to_string()),
                    missing_span,
                )
            }
            Some(Want::Variant) => (
                "expected a variant name or `}`".to_string(),
                "expected a variant here".to_string(),
                Some(e.tr("an enum lists its variants, each with an optional label: `{enum} area { urban \"城镇\" rural \"农村\" }`")),
                missing_span,
            ),
            Some(Want::Close(c)) => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match self.innermost_open(e.pos) {
                    Some((oc, opos)) if oc == open && !self.closed_later(opos) => {
                        let d = Diagnostic::error(
                            format!("unclosed `{open}`"),
                            missing_span,
                            format!("expected `{c}` here"),
                        )
                        .with_secondary(self.span(opos, opos + 1), format!("this `{open}` is never closed"));
                        return match extra_help {
                            Some(h) => d.with_help(h),
                            None => d,
                        };
                    }
                    _ if e.item == "enum" && c == '}' => (
                        "expected a variant name or `}`".to_string(),
                        "expected a variant here".to_string(),
                        Some(e.tr("an enum lists its variants, each with an optional label: `{enum} area { urban \"城镇\" rural \"农村\" }`")),
                        missing_span,
                    ),
                    _ => {
                        let m = if has(Want::Comma) {
                            format!("expected `,` or `{c}`")
                        } else {
                            format!("expected `{c}`")
                        };
                        (m, format!("expected `{c}` here"), None, missing_span)
                    }
                }
            }
            Some(Want::Expr) => {
                let label = match keyword_en(e.found) {
                    Some(_) => format!("expected an expression, found the keyword `{}`", e.found),
                    None => "expected an expression here".to_string(),
                };
                (
                    "expected an expression".to_string(),
                    label,
                    Some("for example a number, a name, `household.NAME`, a call such as `min(a, b)`, or `( ... )`".to_string()),
                    if e.broken_line { missing_span } else { found_span },
                )
            }
            Some(Want::Name) => {
                let h = match keyword_en(e.found) {
                    Some(_) => Some(format!("`{}` is a keyword and cannot be used as a name; choose another name", e.found)),
                    None => Some("names are made of letters (including Chinese characters), digits and `_`, and start with a letter or `_`".to_string()),
                };
                ("expected a name".to_string(), "expected a name here".to_string(), h, missing_span)
            }
            _ => {
                // Only weak expectations: a value is complete and something unexpected follows.
                if has(Want::Operator) && (has(Want::End) || has(Want::Item)) {
                    (
                        format!("unexpected {} after a complete formula", e.found_desc()),
                        "expected an operator or a new item here".to_string(),
                        Some(e.tr("join values with an operator such as `+`, `{and}` or `==`; a new item starts on its own line with a keyword such as `{definition}`")),
                        found_span,
                    )
                } else if has(Want::Item) || has(Want::End) {
                    let mut h = e.tr("items start with `{policy}`, `{extends}`, `{enum}`, `{input}`, `{parameter}`, `{override}`, `{definition}`, `{exception}`, `{table}` or `{extern}`");
                    if found_en.is_some() {
                        h = format!(
                            "{} cannot start an item; {}",
                            e.found_desc(),
                            h
                        );
                    } else if !e.found.is_empty() {
                        let lower = e.found.to_lowercase();
                        if let Some(best) = ITEM_KEYWORDS
                            .iter()
                            .chain(["source", "assumption", "quote", "from", "when", "hit", "otherwise", "default"].iter())
                            .filter(|k| lower.len() >= 3 && edit_distance(&lower, k) <= 2)
                            .min_by_key(|k| edit_distance(&lower, k))
                        {
                            h = format!("did you mean `{best}`?");
                        }
                    }
                    (
                        format!("expected an item, found {}", e.found_desc()),
                        "expected an item here".to_string(),
                        Some(h),
                        found_span,
                    )
                } else if has(Want::LParen) {
                    let m = if e.item == "extern" {
                        "expected `(` and the extern's arguments".to_string()
                    } else {
                        "expected `(` after the function name".to_string()
                    };
                    (m, "expected `(` here".to_string(), None, missing_span)
                } else if has(Want::Str) {
                    (
                        "expected a string in double quotes".to_string(),
                        "expected a string here".to_string(),
                        None,
                        missing_span,
                    )
                } else if has(Want::Comma) {
                    ("expected `,`".to_string(), "expected `,` here".to_string(), None, missing_span)
                } else if has(Want::Operator) {
                    (
                        format!("unexpected {}", e.found_desc()),
                        "expected an operator here".to_string(),
                        None,
                        found_span,
                    )
                } else {
                    (format!("unexpected {}", e.found_desc()), "not expected here".to_string(), None, found_span)
                }
            }
        };
        if extra_help.is_some() {
            help = extra_help.take();
        }
        let d = Diagnostic::error(message, span, label);
        match help {
            Some(h) => d.with_help(h),
            None => d,
        }
    }

    /// The innermost bracket still open at `pos` (ignoring strings and comments).
    fn innermost_open(&self, pos: usize) -> Option<(char, usize)> {
        let mut stack: Vec<(char, usize)> = Vec::new();
        let mut scan = Scan::new(self.chunk);
        while let Some((tok, s, _)) = scan.next() {
            if s >= pos {
                break;
            }
            match tok {
                Tok::Punct(c @ ('(' | '[' | '{')) => stack.push((c, s)),
                Tok::Punct(')' | ']' | '}') => {
                    stack.pop();
                }
                _ => {}
            }
        }
        stack.pop()
    }

    /// Whether the bracket opened at `open` is closed somewhere in the chunk.
    fn closed_later(&self, open: usize) -> bool {
        let mut depth = 0usize;
        let mut scan = Scan::new(self.chunk);
        while let Some((tok, s, _)) = scan.next() {
            if s < open {
                continue;
            }
            match tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_at_item_keywords_only() {
        let text = "policy \"x\"\ninput person.a: bool\n  # definition in a comment\ndefinitions\n定义 person.b: bool = a\n";
        let chunks = split_chunks(text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(&text[chunks[1].0..chunks[1].0 + 5], "input");
    }

    #[test]
    fn nesting_prescan() {
        assert!(nesting(&"(".repeat(MAX_DEPTH + 1)).is_err());
        assert!(nesting(&"not ".repeat(MAX_DEPTH + 1)).is_err());
        assert!(nesting(&"- ".repeat(MAX_DEPTH + 1)).is_err());
        assert!(nesting(&"a - ".repeat(1000)) == Ok(0));
        assert!(nesting(&"not a and ".repeat(1000)) == Ok(1));
        assert!(nesting("= if a then (b) else - c") == Ok(2));
    }
}
