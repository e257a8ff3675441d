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

/// `GET /readyz`: configuration loaded, the queue running and accepting jobs,
/// and no worker wedged (blocking work still going past the job timeout).
pub(crate) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if !state.queue.is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready".to_owned());
    }
    match (state.busy_for)() {
        Some(busy) if busy > state.job_timeout => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: a worker has been busy for {} s, past the job timeout of {} s",
                busy.as_secs(),
                state.job_timeout.as_secs()
            ),
        ),
        _ => (StatusCode::OK, "ready".to_owned()),
    }
}

/// `GET /metrics`: Prometheus metrics.
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode(),
    )
}
