//! Liveness, readiness and the metrics endpoint.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::metrics::CONTENT_TYPE;
use crate::state::AppState;

/// `GET /healthz`: the process serves HTTP.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: configuration loaded and the queue running and accepting jobs.
pub(crate) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.queue.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// `GET /metrics`: Prometheus metrics.
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode(),
    )
}
