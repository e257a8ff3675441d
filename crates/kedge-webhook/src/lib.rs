//! Webhook payloads for kedge, with no IO: check a delivery's authentication
//! the way its vendor documents it, then turn GitHub events and registry push
//! notifications into typed values a server can act on.
//!
//! Each source authenticates the way its vendor documents; configure the
//! receiver's [`ReceiverAuth`] to match:
//!
//! | source | what the vendor offers | `ReceiverAuth` |
//! |---|---|---|
//! | GitHub | `X-Hub-Signature-256` HMAC | [`ReceiverAuth::github`] |
//! | distribution, GitLab | endpoint `headers:` | [`ReceiverAuth::bearer`] or [`ReceiverAuth::Header`] |
//! | Harbor | the policy's "Auth Header", sent as `Authorization` | [`ReceiverAuth::Header`] |
//! | Azure ACR | custom headers | [`ReceiverAuth::Header`] |
//! | JFrog | secret token in `X-JFrog-Event-Auth` (or an HMAC of the payload with signing on) | [`ReceiverAuth::Header`] / [`ReceiverAuth::HmacSha256`] |
//! | Docker Hub | nothing but the URL | [`ReceiverAuth::UrlToken`] (`?token=` or a last path segment) |
//! | Quay | the URL, which may carry `user:password@` | [`ReceiverAuth::Basic`] or [`ReceiverAuth::UrlToken`] |
//! | generic | kedge's own `X-Kedge-Signature-256` HMAC | [`ReceiverAuth::generic_hmac`] |
//!
//! ```
//! use kedge_webhook::{RegistrySource, ImageEvent};
//!
//! let body = br#"{"events":[{"action":"push","target":{
//!     "mediaType":"application/vnd.oci.image.index.v1+json",
//!     "repository":"team/web","tag":"1.2.3",
//!     "digest":"sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"},
//!     "request":{"host":"127.0.0.1:5000"}}]}"#;
//! let events = RegistrySource::Distribution.parse(body, None)?;
//! assert_eq!(events, vec![ImageEvent {
//!     image: "127.0.0.1:5000/team/web".into(),
//!     tag: Some("1.2.3".into()),
//!     digest: Some("sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2".into()),
//! }]);
//! # Ok::<(), kedge_webhook::WebhookError>(())
//! ```

mod auth;
mod error;
mod github;
mod image;
mod registry;

pub use auth::{
    DeliveryAuth, GENERIC_SIGNATURE_HEADER, GITHUB_SIGNATURE_HEADER, ReceiverAuth, Secret,
    TOKEN_QUERY_PARAMETER, sign_hmac_sha256, verify_hmac_sha256,
};
pub use error::WebhookError;
pub use github::{
    DELIVERY_HEADER, EVENT_HEADER, GHCR, GitHubEvent, RepositoryRef, parse_github_event,
    repository_key,
};
pub use image::{
    DOCKER_HUB, ImageEvent, normalise_image, normalise_image_name, normalise_registry,
};
/// Name checks, owned by `kedge-image`.
pub use kedge_image::{validate_digest, validate_registry_host, validate_repository, validate_tag};
pub use registry::RegistrySource;
