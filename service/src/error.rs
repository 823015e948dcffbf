//! Errors as structured JSON: `{"error": {"code", "message"}, "policy", "version"}` with the
//! message the CLI prints for the same mistake.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// A stable machine-readable code (`bad_request`, `unknown_policy`, ...).
    pub code: &'static str,
    /// For people: the CLI's message.
    pub message: String,
    /// The policy and its version, when the request named one.
    pub policy: Option<(String, String)>,
    /// Extra structured detail (diagnostics of a failed reload).
    pub detail: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            policy: None,
            detail: None,
        }
    }
    /// 400: the request is malformed (JSON syntax, missing fields).
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    /// 422: the request is well formed but its content is wrong (an unknown output, a data error,
    /// an evaluation error that the policy reports).
    pub fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
    pub fn with_policy(mut self, name: &str, version: &str) -> ApiError {
        self.policy = Some((name.to_string(), version.to_string()));
        self
    }
    pub fn with_detail(mut self, detail: Value) -> ApiError {
        self.detail = Some(detail);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": { "code": self.code, "message": self.message.trim_end() },
        });
        if let Some((name, version)) = self.policy {
            body["policy"] = Value::String(name);
            body["version"] = Value::String(version);
        }
        if let Some(d) = self.detail {
            body["error"]["detail"] = d;
        }
        (self.status, axum::Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
