//! Registry push notifications: one parser per vendor, each turning the vendor's
//! payload into normalised [`ImageEvent`]s.
//!
//! A parser returns an empty list for a well-formed notification that reports
//! no push (a pull, a delete, a blob upload), and an error for a payload it
//! cannot read. Pushes by digest alone (index children) come back with `tag: None`.

mod acr;
mod distribution;
mod dockerhub;
mod generic;
mod harbor;
mod jfrog;
mod quay;

use std::fmt;
use std::str::FromStr;

use crate::{ImageEvent, WebhookError};

/// Which vendor's payload format a receiver reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrySource {
    /// The CNCF distribution registry's notification envelope
    /// (`application/vnd.docker.distribution.events.v1+json`).
    Distribution,
    /// GitLab's container registry, which sends the distribution envelope.
    Gitlab,
    /// Docker Hub repository webhooks.
    DockerHub,
    /// Harbor webhooks, `PUSH_ARTIFACT` (v2) and `pushImage` (v1.x).
    Harbor,
    /// Quay repository push notifications.
    Quay,
    /// Azure Container Registry webhooks (one distribution-style event per request).
    Acr,
    /// JFrog Artifactory `docker` domain webhooks.
    Jfrog,
    /// kedge's own `{"image", "tag", "digest"}`, HMAC-signed.
    Generic,
}

impl RegistrySource {
    /// Every source, in documentation order.
    pub const ALL: [RegistrySource; 8] = [
        Self::Distribution,
        Self::Gitlab,
        Self::DockerHub,
        Self::Harbor,
        Self::Quay,
        Self::Acr,
        Self::Jfrog,
        Self::Generic,
    ];

    /// The name used in configuration and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Distribution => "distribution",
            Self::Gitlab => "gitlab",
            Self::DockerHub => "dockerhub",
            Self::Harbor => "harbor",
            Self::Quay => "quay",
            Self::Acr => "acr",
            Self::Jfrog => "jfrog",
            Self::Generic => "generic",
        }
    }

    /// Parses one notification `body`.
    ///
    /// `registry` is the receiver's configured registry host, used when the
    /// payload does not name one (Harbor without `resource_url`, ACR without
    /// `request.host`, JFrog behind a custom domain).
    pub fn parse(
        self,
        body: &[u8],
        registry: Option<&str>,
    ) -> Result<Vec<ImageEvent>, WebhookError> {
        match self {
            Self::Distribution => distribution::parse("distribution", body, registry),
            Self::Gitlab => distribution::parse("gitlab", body, registry),
            Self::DockerHub => dockerhub::parse(body),
            Self::Harbor => harbor::parse(body, registry),
            Self::Quay => quay::parse(body, registry),
            Self::Acr => acr::parse(body, registry),
            Self::Jfrog => jfrog::parse(body, registry),
            Self::Generic => generic::parse(body),
        }
    }
}

impl fmt::Display for RegistrySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RegistrySource {
    type Err = WebhookError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|source| source.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| WebhookError::UnknownSource(name.to_owned()))
    }
}

/// The registry host: the payload's when it names one, else the receiver's.
pub(crate) fn pick_registry<'a>(
    payload: &'static str,
    from_payload: Option<&'a str>,
    configured: Option<&'a str>,
    repository: &str,
) -> Result<&'a str, WebhookError> {
    from_payload
        .filter(|h| !h.trim().is_empty())
        .or(configured)
        .ok_or_else(|| WebhookError::UnknownRegistry {
            payload,
            repository: repository.to_owned(),
        })
}

/// `Some(value)` when it is present and not blank.
pub(crate) fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}
