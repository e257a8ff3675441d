//! HTTP handlers, one file per concern; routes are in [`crate::router`].

pub(crate) mod github;
pub(crate) mod health;
pub(crate) mod registry;

use std::time::Instant;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kedge_webhook::ImageEvent;
use serde_json::json;
use tracing::{debug, info};

use crate::extract::Rejection;
use crate::metrics::EventOutcome;
use crate::queue::{JobHint, JobKey, QueueRejection};
use crate::state::AppState;

/// What a delivery led to, answered with 202.
#[derive(Debug)]
pub(crate) enum Accepted {
    /// Jobs were queued (or merged into waiting ones).
    Queued(Vec<JobKey>),
    /// Nothing to do; the reason is logged and returned.
    Ignored(String),
    /// Well-formed, but for nothing kedge tracks.
    Untracked(String),
}

impl Accepted {
    fn outcome(&self) -> EventOutcome {
        match self {
            Self::Queued(_) => EventOutcome::Queued,
            Self::Ignored(_) => EventOutcome::Ignored,
            Self::Untracked(_) => EventOutcome::Untracked,
        }
    }
}

impl IntoResponse for Accepted {
    fn into_response(self) -> Response {
        let body = match self {
            Self::Queued(jobs) => {
                let jobs: Vec<String> = jobs.iter().map(ToString::to_string).collect();
                json!({ "status": "queued", "jobs": jobs })
            }
            Self::Ignored(reason) => json!({ "status": "ignored", "reason": reason }),
            Self::Untracked(reason) => json!({ "status": "ignored", "reason": reason }),
        };
        (StatusCode::ACCEPTED, Json(body)).into_response()
    }
}

/// Queues `jobs` all or nothing; an empty list is `untracked`.
pub(crate) fn enqueue(
    state: &AppState,
    jobs: Vec<(JobKey, JobHint)>,
    untracked: impl FnOnce() -> String,
) -> Result<Accepted, Rejection> {
    if jobs.is_empty() {
        return Ok(Accepted::Untracked(untracked()));
    }
    let keys: Vec<JobKey> = jobs.iter().map(|(key, _)| key.clone()).collect();
    match state.queue.enqueue_all(jobs) {
        Ok(_) => Ok(Accepted::Queued(dedup(keys))),
        Err(QueueRejection::Full) => Err(Rejection::Busy {
            retry_after: state.retry_after,
            why: "full",
        }),
        Err(QueueRejection::Closed) => Err(Rejection::Busy {
            retry_after: state.retry_after,
            why: "shutting down",
        }),
    }
}

fn dedup(mut keys: Vec<JobKey>) -> Vec<JobKey> {
    let mut seen = Vec::with_capacity(keys.len());
    keys.retain(|k| {
        let new = !seen.contains(k);
        if new {
            seen.push(k.clone());
        }
        new
    });
    keys
}

/// Counts and logs the delivery's outcome and turns it into the response.
pub(crate) fn respond(
    state: &AppState,
    source: &'static str,
    started: Instant,
    result: Result<Accepted, Rejection>,
) -> Response {
    let outcome = match &result {
        Ok(accepted) => accepted.outcome(),
        Err(rejection) => rejection.outcome(),
    };
    state
        .metrics
        .record_event(source, outcome, started.elapsed());
    match &result {
        Ok(Accepted::Queued(jobs)) => info!(source, jobs = jobs.len(), "delivery queued"),
        Ok(Accepted::Ignored(reason) | Accepted::Untracked(reason)) => {
            debug!(source, reason = %reason, "delivery ignored");
        }
        Err(rejection) => debug!(source, rejection = ?rejection, "delivery refused"),
    }
    match result {
        Ok(accepted) => accepted.into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// Update jobs for the tracked images among `events`; pushes by digest only are not new tags.
pub(crate) fn image_jobs(state: &AppState, events: &[ImageEvent]) -> Vec<(JobKey, JobHint)> {
    events
        .iter()
        .filter(|event| event.tag.is_some())
        .flat_map(|event| {
            let aliases = state.routing.images.get(&event.image);
            let any = state.routing.any_image.then(|| {
                (
                    JobKey::ImagePushed(event.image.clone()),
                    JobHint::Image(event.clone()),
                )
            });
            aliases
                .into_iter()
                .flatten()
                .map(move |alias| (JobKey::Update(alias.clone()), JobHint::Image(event.clone())))
                .chain(any)
        })
        .collect()
}
