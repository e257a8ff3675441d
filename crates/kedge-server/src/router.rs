//! Every route, one a line.

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderMap, Request};
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;
use tracing::{Span, info_span};

use crate::handlers::{github, health, registry};
use crate::state::AppState;

/// Headers that carry a delivery id, by vendor.
const DELIVERY_HEADERS: [&str; 4] = [
    "x-github-delivery",
    "x-gitlab-event-uuid",
    "x-request-id",
    "x-jfrog-event-id",
];

/// The webhook router; `/metrics` is on it unless a separate metrics listener serves it.
pub(crate) fn router(state: AppState, body_limit: usize, with_metrics: bool) -> Router {
    let mut router = Router::new()
        .route("/webhooks/github", post(github::github_webhook))
        .route(
            "/webhooks/registry/{receiver}",
            post(registry::registry_webhook),
        )
        .route(
            "/webhooks/registry/{receiver}/{token}",
            post(registry::registry_webhook),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    if with_metrics {
        router = router.route("/metrics", get(health::metrics));
    }
    router
        .layer(DefaultBodyLimit::max(body_limit))
        // A sender that trickles its body holds memory and delays shutdown: cut it off.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// Longest time one webhook delivery may take, body included.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The router of a separate metrics listener.
pub(crate) fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state)
}

/// One span per request, carrying the vendor's delivery id when there is one.
fn request_span<B>(request: &Request<B>) -> Span {
    let delivery = delivery_id(request.headers()).unwrap_or("-");
    // The route template, never the raw path: a receiver's token may be in it.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("-", MatchedPath::as_str);
    info_span!("request", method = %request.method(), route, delivery)
}

fn delivery_id(headers: &HeaderMap) -> Option<&str> {
    DELIVERY_HEADERS
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
}
