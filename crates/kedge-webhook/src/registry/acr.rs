//! Azure Container Registry webhooks: one distribution-style event per request,
//! `action: push`, the registry in `request.host`.

use super::distribution::{Event, to_image_event};
use crate::error::from_json;
use crate::{ImageEvent, WebhookError};

const PAYLOAD: &str = "acr";

pub(super) fn parse(body: &[u8], registry: Option<&str>) -> Result<Vec<ImageEvent>, WebhookError> {
    let event: Event = from_json(PAYLOAD, body)?;
    // ACR also sends `delete`, `quarantine`, `chart_push`...: nothing for kedge.
    if event.action.as_deref() != Some("push") {
        return Ok(Vec::new());
    }
    Ok(vec![to_image_event(PAYLOAD, &event, registry)?])
}
