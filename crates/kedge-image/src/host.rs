//! Registry hosts: one canonical spelling per registry, so credentials, settings
//! and webhook routes keyed by host find each other.

use std::fmt;
use std::str::FromStr;

use crate::ImageError;
use crate::grammar::validate_registry_host;

/// Docker Hub's canonical registry name, the one kedge prints and compares.
pub const DOCKER_HUB: &str = "docker.io";

/// The host kedge sends Docker Hub's registry API requests to.
pub const DOCKER_HUB_API: &str = "index.docker.io";

/// The other names Docker Hub's registry is written under; each means [`DOCKER_HUB`].
pub const DOCKER_HUB_ALIASES: [&str; 3] = [
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// A registry host with optional port, in canonical form: lower case, and
/// Docker Hub's aliases written [`DOCKER_HUB`].
///
/// ```
/// use kedge_image::RegistryHost;
/// let host = RegistryHost::parse("Registry-1.Docker.IO")?;
/// assert_eq!(host.as_str(), "docker.io");
/// assert!(host.is_docker_hub());
/// assert_eq!(host.api_host(), "index.docker.io");
/// assert_eq!(RegistryHost::parse("GHCR.IO")?.as_str(), "ghcr.io");
/// assert_eq!(RegistryHost::parse_server("https://index.docker.io/v1/")?.as_str(), "docker.io");
/// # Ok::<(), kedge_image::ImageError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryHost(String);

impl RegistryHost {
    /// Docker Hub.
    pub fn docker_hub() -> Self {
        Self(DOCKER_HUB.to_owned())
    }

    /// Parses a bare host (`ghcr.io`, `127.0.0.1:5000`, `[::1]:5000`, `localhost`),
    /// any case. A port is kept as written: `ghcr.io:443` is another registry key
    /// than `ghcr.io`, as it is for Docker.
    pub fn parse(host: &str) -> Result<Self, ImageError> {
        validate_registry_host(host)?;
        Ok(Self::canonical(host))
    }

    /// Parses a host as servers and payloads write it: surrounding white space,
    /// an `http://` or `https://` scheme and anything from the first `/` on are
    /// dropped (`https://index.docker.io/v1/`, `quay.io/`).
    pub fn parse_server(server: &str) -> Result<Self, ImageError> {
        Self::parse(host_of_server(server))
    }

    /// The host in canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for Docker Hub under any of its names.
    pub fn is_docker_hub(&self) -> bool {
        self.0 == DOCKER_HUB
    }

    /// The host kedge sends API requests to: [`DOCKER_HUB_API`] for Docker Hub, else the host.
    pub fn api_host(&self) -> &str {
        if self.is_docker_hub() {
            DOCKER_HUB_API
        } else {
            &self.0
        }
    }

    /// `host`, already checked, in canonical form.
    pub(crate) fn canonical(host: &str) -> Self {
        let lower = host.to_ascii_lowercase();
        if DOCKER_HUB_ALIASES.contains(&lower.as_str()) {
            Self::docker_hub()
        } else {
            Self(lower)
        }
    }
}

/// The host part of `server`: without white space, scheme or path.
pub(crate) fn host_of_server(server: &str) -> &str {
    let trimmed = server.trim();
    let without_scheme = strip_scheme(trimmed);
    without_scheme.split('/').next().unwrap_or(without_scheme)
}

/// `text` without a leading `http://` or `https://` (any case).
pub(crate) fn strip_scheme(text: &str) -> &str {
    for scheme in ["https://", "http://"] {
        if text
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        {
            return &text[scheme.len()..];
        }
    }
    text
}

impl fmt::Display for RegistryHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RegistryHost {
    type Err = ImageError;

    fn from_str(host: &str) -> Result<Self, Self::Err> {
        Self::parse(host)
    }
}

impl AsRef<str> for RegistryHost {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
