//! The OpenAPI document (placeholder).
use axum::Json;
pub async fn handler() -> Json<serde_json::Value> {
    Json(serde_json::json!({}))
}
