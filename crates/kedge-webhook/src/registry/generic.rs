//! kedge's generic receiver: `{"image": "registry/repository", "tag": "...",
//! "digest": "..."}`, for CI jobs and registries without a webhook format of
//! their own. It is always HMAC-signed ([`crate::ReceiverAuth::generic_hmac`]).

use serde::Deserialize;

use super::present;
use crate::error::from_json;
use crate::{ImageEvent, WebhookError};
use kedge_image::ImageRef;

const PAYLOAD: &str = "generic";

#[derive(Deserialize)]
struct Payload {
    image: Option<String>,
    tag: Option<String>,
    digest: Option<String>,
}

pub(super) fn parse(body: &[u8]) -> Result<Vec<ImageEvent>, WebhookError> {
    let payload: Payload = from_json(PAYLOAD, body)?;
    let missing = |field| WebhookError::MissingField {
        payload: PAYLOAD,
        field,
    };
    let image = present(&payload.image).ok_or(missing("image"))?;
    let reference = ImageRef::parse_payload(image)?;
    let tag = present(&payload.tag).or(reference.tag());
    let digest = present(&payload.digest).or(reference.digest());
    if tag.is_none() && digest.is_none() {
        return Err(missing("tag"));
    }
    Ok(vec![ImageEvent::of(reference.name(), tag, digest)?])
}
