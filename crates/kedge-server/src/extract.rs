//! Authenticated deliveries as axum extractors. A handler that takes a
//! [`GitHubDelivery`] or [`RegistryDelivery`] only ever sees bodies whose
//! signature or credentials matched; everything else is a typed [`Rejection`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use kedge_webhook::{DeliveryAuth, EVENT_HEADER, ReceiverAuth, WebhookError};
use serde_json::json;
use tracing::{debug, warn};

use crate::config::Receiver;
use crate::metrics::EventOutcome;
use crate::state::AppState;

/// Why a delivery was refused; each variant maps to one status code.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// No receiver (or no GitHub receiver) under that name: 404.
    UnknownReceiver(String),
    /// Missing or wrong credentials: 401.
    Unauthorized(WebhookError),
    /// The body is over the configured limit: 413.
    TooLarge,
    /// Headers or body are malformed: 400.
    BadRequest(String),
    /// The queue is full (or shutting down): 503 with `Retry-After`.
    Busy {
        /// Seconds to wait before retrying.
        retry_after: Duration,
        /// `full` or `shutting down`.
        why: &'static str,
    },
}

impl Rejection {
    /// The metric outcome for this rejection.
    pub(crate) fn outcome(&self) -> EventOutcome {
        match self {
            Self::UnknownReceiver(_) | Self::BadRequest(_) => EventOutcome::Invalid,
            Self::Unauthorized(_) => EventOutcome::Unauthorized,
            Self::TooLarge => EventOutcome::TooLarge,
            Self::Busy { .. } => EventOutcome::Rejected,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            Self::UnknownReceiver(name) => {
                (StatusCode::NOT_FOUND, format!("no receiver named {name:?}"))
            }
            Self::Unauthorized(e) => (StatusCode::UNAUTHORIZED, e.to_string()),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body too large".to_owned()),
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone()),
            Self::Busy { why, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("queue {why}; retry later"),
            ),
        };
        let mut response = (status, axum::Json(json!({ "error": message }))).into_response();
        if let Self::Busy { retry_after, .. } = self {
            let seconds = retry_after.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A GitHub delivery whose `X-Hub-Signature-256` matched.
pub(crate) struct GitHubDelivery {
    /// The `X-GitHub-Event` type.
    pub event: String,
    /// The exact body.
    pub body: Bytes,
    /// When the request arrived, for the duration metric.
    pub started: Instant,
}

/// A registry delivery whose receiver's authentication passed.
pub(crate) struct RegistryDelivery {
    /// The receiver it was addressed to.
    pub receiver: Arc<Receiver>,
    /// The exact body.
    pub body: Bytes,
    /// When the request arrived, for the duration metric.
    pub started: Instant,
}

/// Reads the body within the limit, holding its share of the in-flight body
/// budget while it does. A declared `Content-Length` over the limit is refused
/// at once, before any of the body is read.
async fn read_body(request: Request, state: &AppState) -> Result<Bytes, Rejection> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.body_limit as u64) {
        return Err(Rejection::TooLarge);
    }
    let reserve = declared.map_or(state.body_limit, |n| n as usize).max(1);
    let reserve = u32::try_from(reserve).unwrap_or(u32::MAX);
    let _permit = Arc::clone(&state.body_budget)
        .try_acquire_many_owned(reserve)
        .map_err(|_| Rejection::Busy {
            retry_after: state.retry_after,
            why: "receiving too many bodies at once",
        })?;
    Bytes::from_request(request, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Rejection::TooLarge
        } else {
            Rejection::BadRequest(e.body_text())
        }
    })
}

/// The checks of [`verify`] that need no body; see [`ReceiverAuth::verify_before_body`].
fn verify_before_body(
    auth: Option<&ReceiverAuth>,
    headers: &HeaderMap,
    query: Option<&str>,
    path_token: Option<&str>,
) -> Result<(), Rejection> {
    let Some(auth) = auth else {
        return Ok(());
    };
    let request = DeliveryAuth {
        headers,
        query,
        path_token,
        body: &[],
    };
    auth.verify_before_body(&request)
        .map_err(Rejection::Unauthorized)
}

fn verify(
    auth: Option<&ReceiverAuth>,
    headers: &HeaderMap,
    query: Option<&str>,
    path_token: Option<&str>,
    body: &[u8],
) -> Result<(), Rejection> {
    let Some(auth) = auth else {
        return Ok(()); // an insecure receiver, allowed explicitly at startup
    };
    let request = DeliveryAuth {
        headers,
        query,
        path_token,
        body,
    };
    auth.verify(&request).map_err(Rejection::Unauthorized)
}

/// Counts a refused delivery and logs why, without any credential.
fn refuse(
    state: &AppState,
    source: &'static str,
    started: Instant,
    rejection: Rejection,
) -> Rejection {
    state
        .metrics
        .record_event(source, rejection.outcome(), started.elapsed());
    match &rejection {
        Rejection::Unauthorized(e) => warn!(source, error = %e, "delivery refused"),
        // Counted in the metrics; at info, a flood of bad requests would flood the log too.
        other => debug!(source, rejection = ?other, "delivery refused"),
    }
    rejection
}

impl FromRequest<AppState> for GitHubDelivery {
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Rejection> {
        let started = Instant::now();
        let refuse = |r| refuse(state, "github", started, r);
        let Some(auth) = &state.routing.github else {
            return Err(refuse(Rejection::UnknownReceiver("github".to_owned())));
        };
        let headers = request.headers().clone();
        verify_before_body(auth.as_ref(), &headers, None, None).map_err(refuse)?;
        let body = read_body(request, state).await.map_err(refuse)?;
        verify(auth.as_ref(), &headers, None, None, &body).map_err(refuse)?;
        let event = headers
            .get(EVENT_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                refuse(Rejection::BadRequest(
                    "missing X-GitHub-Event header".to_owned(),
                ))
            })?
            .to_owned();
        Ok(Self {
            event,
            body,
            started,
        })
    }
}

impl FromRequest<AppState> for RegistryDelivery {
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Rejection> {
        let started = Instant::now();
        let (mut parts, body) = request.into_parts();
        let params = Path::<HashMap<String, String>>::from_request_parts(&mut parts, state)
            .await
            .map_err(|e| Rejection::BadRequest(e.body_text()))?;
        let name = params.get("receiver").cloned().unwrap_or_default();
        let Some(receiver) = state.routing.receivers.get(&name).cloned() else {
            return Err(refuse(
                state,
                "unknown",
                started,
                Rejection::UnknownReceiver(name),
            ));
        };
        let source = receiver.source.name();
        let refuse = |r| refuse(state, source, started, r);
        let RawQuery(query) = RawQuery::from_request_parts(&mut parts, state)
            .await
            .unwrap_or(RawQuery(None));
        let headers = parts.headers.clone();
        let token = params.get("token").map(String::as_str);
        verify_before_body(receiver.auth.as_ref(), &headers, query.as_deref(), token)
            .map_err(refuse)?;
        let body = read_body(Request::from_parts(parts, body), state)
            .await
            .map_err(refuse)?;
        verify(
            receiver.auth.as_ref(),
            &headers,
            query.as_deref(),
            token,
            &body,
        )
        .map_err(refuse)?;
        Ok(Self {
            receiver,
            body,
            started,
        })
    }
}
