//! Normalised image events and the name normalisation every parser shares.
//!
//! Registries and vendors name the same image in many ways (`https://quay.io/ns/app`,
//! `index.docker.io/library/nginx`, `MyOrg/MyApp`); kedge compares them as
//! `registry/repository` in lower case, with Docker Hub as `docker.io` and its
//! single-name images under `library/`.

use crate::validate::{is_valid_digest, is_valid_host, is_valid_repository, is_valid_tag, shown};

/// One image pushed to a registry, as a webhook reported it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageEvent {
    /// Normalised `registry/repository`: `127.0.0.1:5000/team/web`, `docker.io/library/nginx`.
    pub image: String,
    /// The tag pushed; `None` for a push by digest (for example an index child).
    pub tag: Option<String>,
    /// The manifest digest, when the payload gives one.
    pub digest: Option<String>,
}

impl ImageEvent {
    /// An event for `registry`/`repository`, normalising both; empty tag and digest become `None`.
    pub fn new(
        registry: &str,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Self, crate::WebhookError> {
        let tag = non_empty(tag);
        let digest = non_empty(digest);
        let invalid = |what, value: &str| crate::WebhookError::InvalidValue {
            what,
            input: shown(value),
        };
        if let Some(tag) = tag.as_deref().filter(|t| !is_valid_tag(t)) {
            return Err(invalid("tag", tag));
        }
        if let Some(digest) = digest.as_deref().filter(|d| !is_valid_digest(d)) {
            return Err(invalid("digest", digest));
        }
        Ok(Self {
            image: normalise_image(registry, repository)?,
            tag,
            digest,
        })
    }
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";

/// Normalises a registry host and a repository path into `registry/repository`.
///
/// The registry may carry a scheme or a path (`https://quay.io/`); Docker Hub's
/// aliases become `docker.io`, and a one-segment Docker Hub repository gets `library/`.
pub fn normalise_image(registry: &str, repository: &str) -> Result<String, crate::WebhookError> {
    let host = normalise_registry(registry).ok_or_else(|| crate::WebhookError::InvalidImage {
        input: shown(&format!("{registry}/{repository}")),
        reason: "empty registry host",
    })?;
    let repository = repository.trim().trim_matches('/').to_ascii_lowercase();
    let invalid = |reason| crate::WebhookError::InvalidImage {
        input: shown(&format!("{host}/{repository}")),
        reason,
    };
    if !is_valid_host(&host) {
        return Err(invalid("the registry host is not a host name or address"));
    }
    if repository.is_empty() {
        return Err(invalid("empty repository"));
    }
    if !is_valid_repository(&repository) {
        return Err(invalid(
            "repository must be '/'-separated components of letters and digits joined by '.', '_', '__' or '-', at most 255 characters",
        ));
    }
    if host == DOCKER_HUB && !repository.contains('/') {
        return Ok(format!("{host}/library/{repository}"));
    }
    Ok(format!("{host}/{repository}"))
}

/// The registry host of `registry` without scheme, path or case; Docker Hub aliases become `docker.io`.
pub fn normalise_registry(registry: &str) -> Option<String> {
    let trimmed = registry.trim();
    let without_scheme = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "" => None,
        "index.docker.io"
        | "registry-1.docker.io"
        | "registry.hub.docker.com"
        | "hub.docker.com" => Some(DOCKER_HUB.to_owned()),
        _ => Some(host),
    }
}

/// Normalises an image name as users write it (`nginx`, `ghcr.io/Org/App`,
/// `127.0.0.1:5000/team/web`): no host means Docker Hub. A tag or digest is ignored.
pub fn normalise_image_name(name: &str) -> Result<String, crate::WebhookError> {
    let reference = split_reference(name);
    normalise_image(reference.host.unwrap_or(DOCKER_HUB), reference.repository)
}

/// An image reference split into host (when it has one), repository, tag and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitReference<'a> {
    pub host: Option<&'a str>,
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

/// Splits `[scheme://][host/]repository[:tag][@digest]`.
///
/// The first segment is a host only when it looks like one (holds `.` or `:`,
/// or is `localhost`), as Docker's reference grammar decides.
pub(crate) fn split_reference(reference: &str) -> SplitReference<'_> {
    let reference = reference.trim();
    let reference = reference
        .strip_prefix("https://")
        .or_else(|| reference.strip_prefix("http://"))
        .unwrap_or(reference);
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    let (host, path) = match rest.split_once('/') {
        Some((first, path))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), path)
        }
        _ => (None, rest),
    };
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match path[last_slash..].find(':') {
        Some(colon) => (
            &path[..last_slash + colon],
            Some(&path[last_slash + colon + 1..]),
        ),
        None => (path, None),
    };
    SplitReference {
        host,
        repository,
        tag,
        digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_short_names_get_library() {
        assert_eq!(
            normalise_image("index.docker.io", "nginx").unwrap(),
            "docker.io/library/nginx"
        );
        assert_eq!(
            normalise_image("https://registry.hub.docker.com/", "Me/App").unwrap(),
            "docker.io/me/app"
        );
    }

    #[test]
    fn other_registries_keep_one_segment_names() {
        assert_eq!(
            normalise_image("127.0.0.1:5000", "web").unwrap(),
            "127.0.0.1:5000/web"
        );
    }

    #[test]
    fn bad_repository_names_are_refused() {
        assert!(normalise_image("ghcr.io", "a b").is_err());
        assert!(normalise_image("ghcr.io", "").is_err());
        assert!(normalise_image("", "x").is_err());
    }

    #[test]
    fn image_names_without_host_are_docker_hub() {
        assert_eq!(
            normalise_image_name("nginx").unwrap(),
            "docker.io/library/nginx"
        );
        assert_eq!(
            normalise_image_name("127.0.0.1:5000/team/web:1").unwrap(),
            "127.0.0.1:5000/team/web"
        );
    }

    #[test]
    fn references_split_into_parts() {
        let split = split_reference("https://harbor.example.com/library/app:v1.0.0");
        assert_eq!(split.host, Some("harbor.example.com"));
        assert_eq!(split.repository, "library/app");
        assert_eq!(split.tag, Some("v1.0.0"));
        let split = split_reference("localhost:5000/app@sha256:abc");
        assert_eq!(split.host, Some("localhost:5000"));
        assert_eq!(split.repository, "app");
        assert_eq!((split.tag, split.digest), (None, Some("sha256:abc")));
        let split = split_reference("team/app:1");
        assert_eq!((split.host, split.repository), (None, "team/app"));
    }
}
