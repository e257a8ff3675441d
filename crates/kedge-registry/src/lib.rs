//! kedge's OCI registry client: list every tag of a repository (following `Link`
//! pagination), resolve tags to digests, and read image build times, per platform.
//!
//! Requests to each registry host share a concurrency cap and a request rate;
//! `429` and `503` answers are retried after their `Retry-After`, other `5xx` and
//! connection errors after a jittered backoff, a bounded number of times.
//! Credentials come from Docker's `config.json`, credential helpers, Kubernetes
//! `dockerconfigjson` secrets, or are given directly.
//!
//! ```no_run
//! use kedge_registry::{ClientConfig, ImageName, Registry, RegistryClient};
//!
//! # async fn run() -> Result<(), kedge_registry::RegistryError> {
//! let client = RegistryClient::new(ClientConfig::default());
//! let image: ImageName = "ghcr.io/org/app".parse()?;
//! let tags = client.list_tags(&image).await?;
//! println!("{} tags", tags.len());
//! # Ok(())
//! # }
//! ```

mod challenge;
mod client;
mod credentials;
mod error;
mod image;
mod listing;
mod transport;
mod trust;

use std::future::Future;
use std::time::{Duration, SystemTime};

pub use client::{CREDENTIALS_TTL, ClientConfig, INFO_CACHE_ENTRIES, RegistryClient};
pub use credentials::{CredentialStore, Credentials};
pub use error::RegistryError;
pub use image::{ImageName, Platform};
/// Name checks, owned by `kedge-image` and re-exported here beside the client.
pub use kedge_image::{
    NameKind, validate_digest, validate_registry_host, validate_repository, validate_tag,
};
/// Printing rules, owned by `kedge-policy` and re-exported here beside the client.
pub use kedge_policy::{escape_control, redact_url, redact_urls_in};
pub use transport::RegistrySettings;

/// What kedge knows about one tagged image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Digest the tag points at: an index for multi-arch images, else the manifest.
    pub digest: String,
    /// Digest of the platform's manifest inside the index, for multi-arch images.
    pub platform_digest: Option<String>,
    /// The image config's `created` time, when the image records one.
    pub created: Option<SystemTime>,
}

/// The registry operations tag discovery needs.
///
/// [`RegistryClient`] implements it over HTTP; embedders may put a cache or a
/// mirror in front.
pub trait Registry: Send + Sync {
    /// Every tag of `image`, in registry order.
    fn list_tags(
        &self,
        image: &ImageName,
    ) -> impl Future<Output = Result<Vec<String>, RegistryError>> + Send;

    /// The digest `tag` points at now.
    fn manifest_digest(
        &self,
        image: &ImageName,
        tag: &str,
    ) -> impl Future<Output = Result<String, RegistryError>> + Send;

    /// Build information for `tag` on `platform`; `None` when the image lacks that platform.
    fn image_info(
        &self,
        image: &ImageName,
        tag: &str,
        platform: Option<&Platform>,
    ) -> impl Future<Output = Result<Option<ImageInfo>, RegistryError>> + Send;

    /// The longest one discovery of `image` may take (listing and lookups); `None` for no limit.
    fn discovery_deadline(&self, image: &ImageName) -> Option<Duration> {
        let _ = image;
        None
    }
}

impl Registry for RegistryClient {
    async fn list_tags(&self, image: &ImageName) -> Result<Vec<String>, RegistryError> {
        RegistryClient::list_tags(self, image).await
    }

    async fn manifest_digest(&self, image: &ImageName, tag: &str) -> Result<String, RegistryError> {
        RegistryClient::manifest_digest(self, image, tag).await
    }

    async fn image_info(
        &self,
        image: &ImageName,
        tag: &str,
        platform: Option<&Platform>,
    ) -> Result<Option<ImageInfo>, RegistryError> {
        RegistryClient::image_info(self, image, tag, platform).await
    }

    fn discovery_deadline(&self, image: &ImageName) -> Option<Duration> {
        Some(self.settings_for(image.registry()).discovery_deadline)
    }
}
