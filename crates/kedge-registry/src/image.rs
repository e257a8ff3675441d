//! Image names (a repository in a registry, without tag) and platforms.

use std::fmt;
use std::str::FromStr;

use oci_client::Reference;

use crate::RegistryError;

/// A repository in a registry, named without tag or digest:
/// `127.0.0.1:5000/team/app`, `ghcr.io/org/app`, or `nginx` (Docker Hub's `library/nginx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName {
    registry: String,
    api_host: String,
    repository: String,
}

impl ImageName {
    /// The registry as users write it (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host kedge sends API requests to (`index.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        &self.api_host
    }

    /// The repository path inside the registry (`library/nginx`).
    pub fn repository(&self) -> &str {
        &self.repository
    }
}

impl FromStr for ImageName {
    type Err = RegistryError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| RegistryError::InvalidImage {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        if input.contains('@') {
            return Err(invalid("expected an image name without digest"));
        }
        // A ':' after the last '/' is a tag; one before it belongs to a registry port.
        let last_segment = input.rsplit('/').next().unwrap_or(input);
        if last_segment.contains(':') {
            return Err(invalid(
                "expected an image name without tag (kedge finds the tag)",
            ));
        }
        let reference = Reference::from_str(input).map_err(|e| invalid(&e.to_string()))?;
        Ok(Self {
            registry: reference.registry().to_owned(),
            api_host: reference.resolve_registry().to_owned(),
            repository: reference.repository().to_owned(),
        })
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

/// A platform an image runs on, as written in `--platform linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// Operating system, `linux`.
    pub os: String,
    /// CPU architecture, `arm64`.
    pub architecture: String,
    /// Optional variant, `v8`; when unset any variant matches.
    pub variant: Option<String>,
}

impl Platform {
    /// True when an index entry or image config for `os`/`architecture`/`variant`
    /// satisfies this platform.
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        self.os == os
            && self.architecture == architecture
            && match &self.variant {
                None => true,
                Some(wanted) => variant == Some(wanted.as_str()),
            }
    }
}

impl FromStr for Platform {
    type Err = RegistryError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = input.split('/').collect();
        let invalid = || RegistryError::InvalidPlatform(input.to_owned());
        if parts.iter().any(|p| p.is_empty()) {
            return Err(invalid());
        }
        match parts.as_slice() {
            [os, arch] => Ok(Self {
                os: (*os).to_owned(),
                architecture: (*arch).to_owned(),
                variant: None,
            }),
            [os, arch, variant] => Ok(Self {
                os: (*os).to_owned(),
                architecture: (*arch).to_owned(),
                variant: Some((*variant).to_owned()),
            }),
            _ => Err(invalid()),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_short_names_expand_to_library() {
        let image: ImageName = "nginx".parse().unwrap();
        assert_eq!(image.registry(), "docker.io");
        assert_eq!(image.api_host(), "index.docker.io");
        assert_eq!(image.repository(), "library/nginx");
        assert_eq!(image.to_string(), "docker.io/library/nginx");
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        let image: ImageName = "127.0.0.1:5000/team/app".parse().unwrap();
        assert_eq!(image.registry(), "127.0.0.1:5000");
        assert_eq!(image.api_host(), "127.0.0.1:5000");
        assert_eq!(image.repository(), "team/app");
    }

    #[test]
    fn names_with_tag_or_digest_are_refused() {
        for input in [
            "nginx:1.25",
            "ghcr.io/org/app:v1",
            "ghcr.io/org/app@sha256:abc",
        ] {
            let err = input.parse::<ImageName>().unwrap_err();
            assert!(
                err.to_string().contains(input),
                "error should name the input: {err}"
            );
        }
    }

    #[test]
    fn platforms_parse_with_and_without_variant() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert!(p.matches("linux", "arm64", Some("v8")));
        assert!(!p.matches("linux", "arm64", Some("v7")));
        let p: Platform = "linux/amd64".parse().unwrap();
        assert!(p.matches("linux", "amd64", None));
        assert!(p.matches("linux", "amd64", Some("v3")));
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//".parse::<Platform>().is_err());
    }
}
