//! `POST /webhooks/registry/{receiver}`: a registry's push notification.

use axum::extract::State;
use axum::response::Response;
use tracing::instrument;

use super::{Accepted, enqueue, image_jobs, respond};
use crate::extract::{RegistryDelivery, Rejection};
use crate::state::AppState;

/// Parses the notification with the receiver's format and queues an update per tracked image.
#[instrument(skip_all, fields(receiver = %delivery.receiver.name, source = delivery.receiver.source.name()))]
pub(crate) async fn registry_webhook(
    State(state): State<AppState>,
    delivery: RegistryDelivery,
) -> Response {
    let receiver = &delivery.receiver;
    let result = receiver
        .source
        .parse(&delivery.body, receiver.registry.as_deref())
        .map_err(|e| Rejection::BadRequest(e.to_string()))
        .and_then(|events| {
            if !events.iter().any(|e| e.tag.is_some()) {
                return Ok(Accepted::Ignored(format!(
                    "no tagged push among {} event(s)",
                    events.len()
                )));
            }
            let jobs = image_jobs(&state, &events);
            enqueue(&state, jobs, || {
                let images: Vec<&str> = events.iter().map(|e| e.image.as_str()).collect();
                format!("no tracked image among {}", images.join(", "))
            })
        });
    respond(&state, receiver.source.name(), delivery.started, result)
}
