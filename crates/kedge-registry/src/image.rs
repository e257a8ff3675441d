//! Image names (a repository in a registry, without tag) and platforms.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use crate::RegistryError;

/// A repository in a registry, named without tag or digest:
/// `127.0.0.1:5000/team/app`, `ghcr.io/org/app`, or `nginx` (Docker Hub's
/// `library/nginx`).
///
/// [`kedge_image::ImageName`] (which owns parsing and normalisation) with the
/// registry client's error type; it derefs to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName(kedge_image::ImageName);

impl ImageName {
    /// The registry in canonical form (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        self.0.registry()
    }

    /// The host kedge sends API requests to (`index.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        self.0.api_host()
    }

    /// The repository path inside the registry (`library/nginx`).
    pub fn repository(&self) -> &str {
        self.0.repository()
    }

    /// The name as `kedge-image` types it.
    pub fn as_image_name(&self) -> &kedge_image::ImageName {
        &self.0
    }
}

impl Deref for ImageName {
    type Target = kedge_image::ImageName;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<kedge_image::ImageName> for ImageName {
    fn from(name: kedge_image::ImageName) -> Self {
        Self(name)
    }
}

impl From<ImageName> for kedge_image::ImageName {
    fn from(name: ImageName) -> Self {
        name.0
    }
}

impl FromStr for ImageName {
    type Err = RegistryError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Ok(Self(kedge_image::ImageName::parse(input)?))
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
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
    fn docker_hub_aliases_and_host_case_name_one_registry() {
        // Regression (issue 9): `registry.hub.docker.com` and `GHCR.IO` were registries
        // of their own here, with no credentials or settings of docker.io and ghcr.io.
        let image: ImageName = "registry.hub.docker.com/library/nginx".parse().unwrap();
        assert_eq!(image, "nginx".parse().unwrap());
        assert_eq!(image.api_host(), "index.docker.io");
        let image: ImageName = "GHCR.IO/org/app".parse().unwrap();
        assert_eq!((image.registry(), image.api_host()), ("ghcr.io", "ghcr.io"));
        let err = "ghcr.io/Org/App".parse::<ImageName>().unwrap_err();
        assert!(
            err.to_string().contains("write \"ghcr.io/org/app\""),
            "{err}"
        );
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        let image: ImageName = "127.0.0.1:5000/team/app".parse().unwrap();
        assert_eq!(image.registry(), "127.0.0.1:5000");
        assert_eq!(image.api_host(), "127.0.0.1:5000");
        assert_eq!(image.repository(), "team/app");
    }

    #[test]
    fn names_normalise_like_docker_and_break_no_oci_rule() {
        let image: ImageName = "index.docker.io/bitnami/redis".parse().unwrap();
        assert_eq!(
            (image.registry(), image.repository()),
            ("docker.io", "bitnami/redis")
        );
        let image: ImageName = "localhost/app".parse().unwrap();
        assert_eq!(
            (image.registry(), image.api_host()),
            ("localhost", "localhost")
        );
        let image: ImageName = "team/app".parse().unwrap();
        assert_eq!(image.to_string(), "docker.io/team/app");
        for bad in [
            "",
            "Team/App",
            "ghcr.io/org//app",
            "ghcr.io/../etc",
            "bad host.io/app",
            "a\nb.io/x",
        ] {
            assert!(bad.parse::<ImageName>().is_err(), "{bad:?}");
        }
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
