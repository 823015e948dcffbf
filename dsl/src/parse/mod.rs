//! Text → AST: parses a `.doudi` file (or one expression) and reports all its syntax errors.
//!
//! The grammar is `grammar.pest`; this module splits a file into item chunks so that every syntax
//! error of a file is reported (one per broken item), builds the owned [`ast`](crate::ast) with byte
//! spans, validates dates and numbers, enforces input limits, and turns pest's "expected rules" into
//! words for drafters.
//!
//! The work is split by responsibility: `keywords` (both spellings of every keyword), `scan` (the
//! item-chunk splitter, a cheap token scan and the nesting pre-scan), the tree builder in `items`,
//! `tables`, `literals` and `expr`, and the syntax-error reporter in `errors` (where the
//! failure is and what pest expected) and `expected` (the words for each expectation).
//!
//! Nothing here may panic on user input: no `unwrap` on data derived from the text, no slicing at
//! positions that are not known char boundaries, and nesting is bounded before pest (which recurses)
//! ever sees the text.

// Diagnostics are large, and `parse_expr` returns one by value by design.
#![allow(clippy::result_large_err)]

use pest::iterators::{Pair, Pairs};
use pest::Parser as _;

use crate::ast::{Expr, File, Ident, Item, Span};
use crate::diag::Diagnostic;

mod errors;
mod expected;
mod expr;
mod items;
mod keywords;
mod literals;
mod scan;
mod tables;

pub use keywords::KEYWORDS;
pub(crate) use keywords::{is_id_char, keyword_en, ITEM_KEYWORDS};
use scan::{nesting, split_chunks};

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

/// Builds the AST of one chunk from pest's pairs; its methods are in `items`, `tables`, `literals`
/// and `expr`.
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

/// The end of the last token inside a pair (pest spans of rules ending in `x*` include trailing
/// blanks).
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
}
