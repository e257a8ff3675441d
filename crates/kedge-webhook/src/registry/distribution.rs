//! The CNCF distribution registry's notification envelope, also sent by GitLab's
//! registry: `{"events": [...]}` with one event per manifest or blob operation.
//!
//! Only `push` events for manifests count; blob (layer, config) pushes are
//! dropped. A manifest pushed by digest only (an index child) yields an event
//! with `tag: None`, so it is never mistaken for a new tag.

use serde::Deserialize;

use super::{pick_registry, present};
use crate::error::from_json;
use crate::image::payload_host;
use crate::{ImageEvent, WebhookError};

#[derive(Deserialize)]
struct Envelope {
    events: Vec<Event>,
}

/// One distribution event; ACR sends exactly this shape without the envelope.
#[derive(Deserialize)]
pub(super) struct Event {
    pub(super) action: Option<String>,
    pub(super) target: Option<Target>,
    pub(super) request: Option<Request>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Target {
    pub(super) media_type: Option<String>,
    pub(super) digest: Option<String>,
    pub(super) repository: Option<String>,
    pub(super) url: Option<String>,
    pub(super) tag: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Request {
    pub(super) host: Option<String>,
}

pub(super) fn parse(
    payload: &'static str,
    body: &[u8],
    registry: Option<&str>,
) -> Result<Vec<ImageEvent>, WebhookError> {
    let envelope: Envelope = from_json(payload, body)?;
    let mut events = Vec::new();
    // One unreadable event must not refuse the good ones beside it: the registry
    // would redeliver the whole envelope forever.
    let mut first_error = None;
    for event in envelope.events {
        if event.action.as_deref() != Some("push") {
            continue;
        }
        let Some(target) = &event.target else {
            continue;
        };
        if !is_manifest(target) {
            continue;
        }
        match to_image_event(payload, &event, registry) {
            Ok(image_event) => events.push(image_event),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if events.is_empty() => Err(e),
        _ => Ok(events),
    }
}

/// True when the target is a manifest or index, not a blob.
fn is_manifest(target: &Target) -> bool {
    match target.media_type.as_deref() {
        Some(media_type) if !media_type.is_empty() => {
            media_type.contains("manifest") || media_type.contains("image.index")
        }
        _ => target
            .url
            .as_deref()
            .is_some_and(|u| u.contains("/manifests/")),
    }
}

/// The event's image: registry from `request.host`, else the target URL, else the receiver's.
pub(super) fn to_image_event(
    payload: &'static str,
    event: &Event,
    registry: Option<&str>,
) -> Result<ImageEvent, WebhookError> {
    let missing = |field| WebhookError::MissingField { payload, field };
    let target = event.target.as_ref().ok_or(missing("target"))?;
    let repository = present(&target.repository).ok_or(missing("target.repository"))?;
    let url_host = target.url.as_deref().and_then(payload_host);
    let request_host = event.request.as_ref().and_then(|r| present(&r.host));
    let host = pick_registry(payload, request_host.or(url_host), registry, repository)?;
    ImageEvent::new(
        host,
        repository,
        target.tag.as_deref(),
        target.digest.as_deref(),
    )
}
