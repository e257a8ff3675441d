//! JFrog Artifactory webhooks of the `docker` domain, event `pushed`.
//!
//! Artifactory names the image inside a repository key (`repo_key`); with the
//! default "repository path" access method the image is
//! `<platform host>/<repo_key>/<image_name>`. A receiver with a configured
//! registry (subdomain or port access) uses `<registry>/<image_name>` instead.

use serde::Deserialize;

use super::present;
use crate::error::from_json;
use crate::image::payload_host;
use crate::{ImageEvent, WebhookError};

const PAYLOAD: &str = "jfrog";

#[derive(Deserialize)]
struct Payload {
    domain: Option<String>,
    event_type: Option<String>,
    data: Option<Data>,
    jpd_origin: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    repo_key: Option<String>,
    image_name: Option<String>,
    tag: Option<String>,
    sha256: Option<String>,
}

pub(super) fn parse(body: &[u8], registry: Option<&str>) -> Result<Vec<ImageEvent>, WebhookError> {
    let payload: Payload = from_json(PAYLOAD, body)?;
    let missing = |field| WebhookError::MissingField {
        payload: PAYLOAD,
        field,
    };
    if payload.domain.as_deref() != Some("docker")
        || payload.event_type.as_deref() != Some("pushed")
    {
        return Ok(Vec::new());
    }
    let data = payload.data.ok_or(missing("data"))?;
    let image_name = present(&data.image_name).ok_or(missing("data.image_name"))?;
    let tag = present(&data.tag).ok_or(missing("data.tag"))?;
    let digest = present(&data.sha256).map(|hex| format!("sha256:{hex}"));
    let (host, repository) = match registry {
        Some(registry) => (registry.to_owned(), image_name.to_owned()),
        None => {
            let origin = present(&payload.jpd_origin).ok_or(WebhookError::UnknownRegistry {
                payload: PAYLOAD,
                repository: image_name.to_owned(),
            })?;
            let host = payload_host(&format!("{origin}/x"))
                .unwrap_or(origin)
                .to_owned();
            let repo_key = present(&data.repo_key).ok_or(missing("data.repo_key"))?;
            (host, format!("{repo_key}/{image_name}"))
        }
    };
    Ok(vec![ImageEvent::new(
        &host,
        &repository,
        Some(tag),
        digest.as_deref(),
    )?])
}
