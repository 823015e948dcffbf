//! The rhai bridge: extern functions of a policy, compiled once and run sandboxed (no I/O, no `eval`,
//! no modules, no `sleep`, bounded operations, wall-clock time, call depth, expression depth and sizes).

use crate::eval::EvalError;
use crate::num::Num;
use crate::value::Value;
use doudi_dsl::ast::Span;
use doudi_dsl::diag::Diagnostic;
use doudi_dsl::ir::{format_date, ExternId, Program, Ty};
use rhai::{Dynamic, Engine, EvalAltResult, Scope, AST};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Operations one extern call may perform.
pub const MAX_OPERATIONS: u64 = 200_000;
/// Function-call nesting in a script.
pub const MAX_CALL_LEVELS: usize = 32;

/// Wall-clock time one extern call may take.
pub const MAX_EXTERN_TIME: Duration = Duration::from_secs(2);
/// How many operations run between two looks at the clock.
const CLOCK_EVERY: u64 = 256; // a power of two

thread_local! {
    /// When the script running on this thread must stop (none: no deadline).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` with a wall-clock deadline for the rhai scripts it runs on this thread (restoring the
/// previous deadline afterwards, so calls may nest).
pub fn with_deadline<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let before = DEADLINE.with(|d| d.replace(Some(Instant::now() + limit)));
    let out = f();
    DEADLINE.with(|d| d.set(before));
    out
}

/// Whether the deadline of this thread has passed (checked every few operations).
fn past_deadline(ops: u64) -> bool {
    ops & (CLOCK_EVERY - 1) == 0
        && DEADLINE
            .with(|d| d.get())
            .is_some_and(|t| Instant::now() >= t)
}

/// A sandboxed rhai engine with the limits doudi applies to every user script.
///
/// Nothing in it blocks: `sleep` is disabled (calling it is a compile error, and reaching it through
/// a function pointer is a run-time error), and scripts stop at the deadline set by [`with_deadline`]
/// as well as at the operation limit.
pub fn sandboxed_engine() -> Engine {
    let mut engine = Engine::new();
    engine.disable_symbol("sleep");
    engine.register_fn("sleep", |_: rhai::INT| -> Result<(), Box<EvalAltResult>> {
        Err("`sleep` is not available in doudi scripts".into())
    });
    engine.register_fn(
        "sleep",
        |_: rust_decimal::Decimal| -> Result<(), Box<EvalAltResult>> {
            Err("`sleep` is not available in doudi scripts".into())
        },
    );
    engine.on_progress(|ops| {
        if past_deadline(ops) {
            Some(Dynamic::from("the script ran out of time".to_string()))
        } else {
            None
        }
    });
    engine.set_max_operations(MAX_OPERATIONS);
    engine.set_max_call_levels(MAX_CALL_LEVELS);
    engine.set_max_expr_depths(64, 32);
    engine.set_max_string_size(64 * 1024);
    engine.set_max_array_size(100_000);
    engine.set_max_map_size(10_000);
    engine.disable_symbol("eval");
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine
}

pub(crate) struct Externs {
    engine: Engine,
    asts: Vec<AST>,
}

impl Externs {
    pub fn compile(program: &Program) -> Result<Externs, Vec<Diagnostic>> {
        let engine = sandboxed_engine();
        let mut asts = Vec::new();
        let mut errs = Vec::new();
        for ext in &program.externs {
            match engine.compile(&ext.script) {
                Ok(ast) => asts.push(ast),
                Err(e) => {
                    let pos = e.position();
                    let at = match (pos.line(), pos.position()) {
                        (Some(l), Some(c)) => format!("{}:{l}:{c}", ext.path),
                        (Some(l), None) => format!("{}:{l}", ext.path),
                        _ => ext.path.clone(),
                    };
                    errs.push(
                        Diagnostic::error(
                            format!(
                                "the script of `{}` does not compile: {} at {at}",
                                ext.name,
                                e.err_type()
                            ),
                            ext.span,
                            "declared here",
                        )
                        .with_help(
                            "fix the rhai script; its last expression is the function's result",
                        ),
                    );
                }
            }
        }
        if errs.is_empty() {
            Ok(Externs { engine, asts })
        } else {
            Err(errs)
        }
    }

    pub fn call(
        &self,
        program: &Program,
        id: ExternId,
        args: &[Value],
        span: Span,
    ) -> Result<Value, EvalError> {
        let ext = &program.externs[id as usize];
        let mut scope = Scope::new();
        for ((name, ty), v) in ext.params.iter().zip(args) {
            scope.push_dynamic(name.as_str(), to_dynamic(program, *ty, v));
        }
        let ast = &self.asts[id as usize];
        let out = with_deadline(MAX_EXTERN_TIME, || {
            self.engine.eval_ast_with_scope::<Dynamic>(&mut scope, ast)
        })
        .map_err(|e| {
            let what = match &*e {
                EvalAltResult::ErrorTerminated(..) => {
                    format!("it ran longer than {} s", MAX_EXTERN_TIME.as_secs())
                }
                _ => e.to_string(),
            };
            EvalError::new(
                format!("the script `{}` of `{}` failed: {what}", ext.path, ext.name),
                span,
            )
            .with_help(
                "scripts run with a time limit, an operation limit, a call-depth limit and no I/O",
            )
        })?;
        from_dynamic(program, ext.ret, out).map_err(|m| {
            EvalError::new(
                format!(
                    "the script of `{}` returned {m}, but it is declared to return {}",
                    ext.name,
                    program.ty_name(ext.ret)
                ),
                span,
            )
        })
    }
}

pub fn to_dynamic(program: &Program, ty: Ty, v: &Value) -> Dynamic {
    match v {
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Int(i) => match ty {
            Ty::Decimal | Ty::Percent | Ty::Money(_) => {
                Dynamic::from_decimal(rust_decimal::Decimal::from(*i))
            }
            _ => Dynamic::from_int(*i),
        },
        Value::Num(n) => Dynamic::from_decimal(n.to_decimal_lossy()),
        Value::Date(d) => Dynamic::from(format_date(*d)),
        Value::Text(t) => Dynamic::from(t.to_string()),
        Value::Enum(i) => match ty {
            Ty::Enum(e) => Dynamic::from(program.enums[e as usize].variants[*i as usize].clone()),
            _ => Dynamic::from_int(*i as i64),
        },
    }
}

pub fn from_dynamic(program: &Program, ty: Ty, d: Dynamic) -> Result<Value, String> {
    let tn = d.type_name().to_string();
    match ty {
        Ty::Bool => d.as_bool().map(Value::Bool).map_err(|_| format!("a {tn}")),
        Ty::Int | Ty::Months => d.as_int().map(Value::Int).map_err(|_| format!("a {tn}")),
        Ty::Decimal | Ty::Percent | Ty::Money(_) | Ty::Lit(_) => {
            if let Ok(i) = d.as_int() {
                return Ok(Value::Num(Num::from_i64(i)));
            }
            d.as_decimal()
                .map(|x| Value::Num(Num::from_decimal(x)))
                .map_err(|_| format!("a {tn}"))
        }
        Ty::Text => d
            .into_string()
            .map(|s| Value::Text(s.into()))
            .map_err(|_| format!("a {tn}")),
        Ty::Enum(e) => {
            let s = d.into_string().map_err(|_| format!("a {tn}"))?;
            let en = &program.enums[e as usize];
            en.variants
                .iter()
                .position(|v| *v == s)
                .map(|i| Value::Enum(i as u16))
                .ok_or_else(|| format!("\"{s}\""))
        }
        Ty::Date => Err(format!("a {tn} (dates cannot be returned by scripts)")),
    }
}
