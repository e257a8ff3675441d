//! Docker Hub repository webhooks: `push_data.tag` and `repository.repo_name`
//! (or `namespace` + `name`); the registry is always `docker.io`.

use serde::Deserialize;

use super::present;
use crate::error::from_json;
use crate::image::DOCKER_HUB;
use crate::{ImageEvent, WebhookError};

const PAYLOAD: &str = "dockerhub";

#[derive(Deserialize)]
struct Payload {
    push_data: Option<PushData>,
    repository: Option<Repository>,
}

#[derive(Deserialize)]
struct PushData {
    tag: Option<String>,
}

#[derive(Deserialize)]
struct Repository {
    repo_name: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
}

pub(super) fn parse(body: &[u8]) -> Result<Vec<ImageEvent>, WebhookError> {
    let payload: Payload = from_json(PAYLOAD, body)?;
    let missing = |field| WebhookError::MissingField {
        payload: PAYLOAD,
        field,
    };
    let repository = payload.repository.ok_or(missing("repository"))?;
    let name = match (
        present(&repository.repo_name),
        present(&repository.namespace),
        present(&repository.name),
    ) {
        (Some(full), _, _) => full.to_owned(),
        (None, Some(namespace), Some(name)) => format!("{namespace}/{name}"),
        (None, None, Some(name)) => name.to_owned(),
        _ => return Err(missing("repository.repo_name")),
    };
    let tag = payload
        .push_data
        .as_ref()
        .and_then(|p| present(&p.tag))
        .ok_or(missing("push_data.tag"))?;
    Ok(vec![ImageEvent::new(DOCKER_HUB, &name, Some(tag), None)?])
}
