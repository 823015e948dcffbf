//! Scenario runs (placeholder; filled in below).
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, State};
use std::sync::Arc;

pub struct Jobs;
impl Jobs {
    pub fn new(_max: usize) -> Jobs {
        Jobs
    }
}
pub async fn list_scenarios(State(_st): State<Arc<AppState>>) -> ApiError {
    ApiError::not_found("todo", "todo")
}
pub async fn start(State(_st): State<Arc<AppState>>) -> ApiError {
    ApiError::not_found("todo", "todo")
}
pub async fn status(State(_st): State<Arc<AppState>>, Path(_id): Path<String>) -> ApiError {
    ApiError::not_found("todo", "todo")
}
pub async fn cancel(State(_st): State<Arc<AppState>>, Path(_id): Path<String>) -> ApiError {
    ApiError::not_found("todo", "todo")
}
