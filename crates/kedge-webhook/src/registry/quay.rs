//! Quay repository push notifications: `repository`, `docker_url` (which names
//! the registry host) and `updated_tags`, one event per tag.

use serde::Deserialize;

use super::present;
use crate::error::from_json;
use crate::image::payload_host;
use crate::{ImageEvent, WebhookError};

const PAYLOAD: &str = "quay";
/// Quay's public registry, used when `docker_url` names none.
const QUAY_IO: &str = "quay.io";

#[derive(Deserialize)]
struct Payload {
    repository: Option<String>,
    docker_url: Option<String>,
    #[serde(default)]
    updated_tags: Vec<String>,
}

pub(super) fn parse(body: &[u8], registry: Option<&str>) -> Result<Vec<ImageEvent>, WebhookError> {
    let payload: Payload = from_json(PAYLOAD, body)?;
    let missing = |field| WebhookError::MissingField {
        payload: PAYLOAD,
        field,
    };
    let repository = present(&payload.repository).ok_or(missing("repository"))?;
    let url_host = present(&payload.docker_url).and_then(payload_host);
    let host = url_host.or(registry).unwrap_or(QUAY_IO);
    if payload.updated_tags.iter().all(|t| t.trim().is_empty()) {
        return Err(missing("updated_tags"));
    }
    payload
        .updated_tags
        .iter()
        .filter(|t| !t.trim().is_empty())
        .map(|tag| ImageEvent::new(host, repository, Some(tag), None))
        .collect()
}
