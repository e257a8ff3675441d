//! Harbor webhooks in both generations: `PUSH_ARTIFACT` (Harbor 2.x) and
//! `pushImage` (1.x), sharing `event_data.resources[]` and `event_data.repository`.
//!
//! The registry host comes from a resource's `resource_url`; the repository
//! from `repo_full_name` (else `namespace/name`, else `name`); the tag from the
//! resource's `tag`.

use serde::Deserialize;

use super::{pick_registry, present};
use crate::error::from_json;
use crate::image::payload_host;
use crate::{ImageEvent, WebhookError};

const PAYLOAD: &str = "harbor";

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    event_type: Option<String>,
    event_data: Option<EventData>,
}

#[derive(Deserialize)]
struct EventData {
    #[serde(default)]
    resources: Vec<Resource>,
    repository: Option<Repository>,
}

#[derive(Deserialize)]
struct Resource {
    digest: Option<String>,
    tag: Option<String>,
    resource_url: Option<String>,
}

#[derive(Deserialize)]
struct Repository {
    repo_full_name: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
}

pub(super) fn parse(body: &[u8], registry: Option<&str>) -> Result<Vec<ImageEvent>, WebhookError> {
    let payload: Payload = from_json(PAYLOAD, body)?;
    let missing = |field| WebhookError::MissingField {
        payload: PAYLOAD,
        field,
    };
    let event_type = payload.event_type.ok_or(missing("type"))?;
    if event_type != "PUSH_ARTIFACT" && event_type != "pushImage" {
        return Ok(Vec::new());
    }
    let data = payload.event_data.ok_or(missing("event_data"))?;
    let repository = data
        .repository
        .as_ref()
        .ok_or(missing("event_data.repository"))?;
    let name =
        repository_name(repository).ok_or(missing("event_data.repository.repo_full_name"))?;
    if data.resources.is_empty() {
        return Err(missing("event_data.resources"));
    }
    data.resources
        .iter()
        .map(|resource| {
            let url_host = resource.resource_url.as_deref().and_then(payload_host);
            let host = pick_registry(PAYLOAD, url_host, registry, &name)?;
            ImageEvent::new(
                host,
                &name,
                resource.tag.as_deref(),
                resource.digest.as_deref(),
            )
        })
        .collect()
}

fn repository_name(repository: &Repository) -> Option<String> {
    match (
        present(&repository.repo_full_name),
        present(&repository.namespace),
        present(&repository.name),
    ) {
        (Some(full), _, _) => Some(full.to_owned()),
        (None, Some(namespace), Some(name)) => Some(format!("{namespace}/{name}")),
        (None, None, Some(name)) => Some(name.to_owned()),
        _ => None,
    }
}
