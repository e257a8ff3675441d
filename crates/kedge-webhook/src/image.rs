//! Normalised image events. Names are parsed, checked and normalised by
//! `kedge-image`, the one owner of image names in kedge, so an event's image
//! equals the name the registry client and the rewriter use for it.
//!
//! Registries and vendors name the same image in many ways (`https://quay.io/ns/app`,
//! `registry.hub.docker.com/library/nginx`, `GHCR.IO/org/app`); kedge compares
//! them as `registry/repository` with the host in lower case, Docker Hub as
//! `docker.io` and its single-name images under `library/`. Upper case in a
//! repository path is refused, as the distribution spec says.

use kedge_image::{ImageName, ImageRef, RegistryHost};

use crate::WebhookError;

/// Docker Hub's canonical registry name.
pub use kedge_image::DOCKER_HUB;

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
    ) -> Result<Self, WebhookError> {
        let name = ImageName::from_parts(registry, repository)?;
        Self::of(&name, tag, digest)
    }

    /// An event for `name`; empty tag and digest become `None`.
    pub fn of(
        name: &ImageName,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Self, WebhookError> {
        let tag = non_empty(tag);
        let digest = non_empty(digest);
        let invalid = |what, value: &str| WebhookError::InvalidValue {
            what,
            input: shown(value),
        };
        if let Some(tag) = tag
            .as_deref()
            .filter(|t| kedge_image::validate_tag(t).is_err())
        {
            return Err(invalid("tag", tag));
        }
        if let Some(digest) = digest
            .as_deref()
            .filter(|d| kedge_image::validate_digest(d).is_err())
        {
            return Err(invalid("digest", digest));
        }
        Ok(Self {
            image: name.to_string(),
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

/// Normalises a registry host and a repository path into `registry/repository`
/// ([`ImageName::from_parts`]).
///
/// The registry may carry a scheme or a path (`https://quay.io/`); Docker Hub's
/// aliases become `docker.io`, and a one-segment Docker Hub repository gets `library/`.
pub fn normalise_image(registry: &str, repository: &str) -> Result<String, WebhookError> {
    Ok(ImageName::from_parts(registry, repository)?.to_string())
}

/// The registry host of `registry` without scheme, path or case; Docker Hub
/// aliases become `docker.io`. `None` when it is not a host.
pub fn normalise_registry(registry: &str) -> Option<String> {
    RegistryHost::parse_server(registry)
        .ok()
        .map(|host| host.to_string())
}

/// Normalises an image name as users write it (`nginx`, `GHCR.IO/org/app`,
/// `127.0.0.1:5000/team/web`): no host means Docker Hub. A tag or digest is ignored.
pub fn normalise_image_name(name: &str) -> Result<String, WebhookError> {
    Ok(ImageRef::parse_payload(name)?.into_name().to_string())
}

/// The registry host a payload's URL or reference starts with, if it names one:
/// the authority of `https://registry.test:5000/v2/…`, or the first component
/// of `harbor.example.com/library/app:v1` when `kedge-image` reads it as a host.
pub(crate) fn payload_host(text: &str) -> Option<&str> {
    let text = text.trim();
    match text.split_once("://") {
        Some((_, rest)) => rest.split('/').next().filter(|host| !host.is_empty()),
        None => kedge_image::split_host(text).0,
    }
}

/// `value` as it may appear in an error or a log: control characters escaped,
/// cut after 64 characters.
pub(crate) fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(64)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().count() > 64 {
        out.push('…');
    }
    out
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
            normalise_image("https://registry.hub.docker.com/", "me/app").unwrap(),
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
        let upper = normalise_image("ghcr.io", "Org/App").unwrap_err();
        assert!(
            upper.to_string().contains("write \"ghcr.io/org/app\""),
            "{upper}"
        );
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
        assert_eq!(
            normalise_image_name("registry.hub.docker.com/library/nginx").unwrap(),
            "docker.io/library/nginx"
        );
    }

    #[test]
    fn payload_hosts_come_from_urls_and_references() {
        assert_eq!(
            payload_host("https://harbor.example.com/library/app:v1.0.0"),
            Some("harbor.example.com")
        );
        assert_eq!(
            payload_host("http://127.0.0.1:5000/v2/team/web/manifests/sha256:ab"),
            Some("127.0.0.1:5000")
        );
        assert_eq!(payload_host("localhost:5000/app"), Some("localhost:5000"));
        assert_eq!(payload_host("team/app:1"), None);
    }

    #[test]
    fn shown_values_carry_no_control_characters() {
        assert_eq!(shown("a\nb\u{1b}"), "a\\nb\\u{1b}");
        assert_eq!(shown(&"x".repeat(100)).chars().count(), 65);
    }
}
