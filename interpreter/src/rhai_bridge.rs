//! The rhai bridge: extern functions of a policy, compiled once and run sandboxed (no I/O, no `eval`,
//! no modules, bounded operations, call depth, expression depth and sizes).

use crate::eval::EvalError;
use crate::num::Num;
use crate::value::Value;
use doudi_dsl::ast::Span;
use doudi_dsl::diag::Diagnostic;
use doudi_dsl::ir::{format_date, ExternId, Program, Ty};
use rhai::{Dynamic, Engine, Scope, AST};

/// Operations one extern call may perform.
pub const MAX_OPERATIONS: u64 = 200_000;
/// Function-call nesting in a script.
pub const MAX_CALL_LEVELS: usize = 32;

/// A sandboxed rhai engine with the limits doudi applies to every user script.
pub fn sandboxed_engine() -> Engine {
    let mut engine = Engine::new();
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
        let out = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut scope, &self.asts[id as usize])
            .map_err(|e| {
                EvalError::new(
                    format!("the script `{}` of `{}` failed: {}", ext.path, ext.name, e),
                    span,
                )
                .with_help("scripts run with an operation limit, a call-depth limit and no I/O")
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
