//! [`RegistryClient`]: the production [`Registry`](crate::Registry), speaking the
//! OCI distribution API over HTTP(S).
//!
//! `oci-client` provides reference parsing and the manifest types. Requests are
//! sent by kedge itself because `oci-client` does not follow `Link` pagination on
//! tag lists, does not surface `Retry-After`, and has no per-registry rate limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use oci_client::manifest::{
    IMAGE_DOCKER_CONFIG_MEDIA_TYPE, IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciImageIndex, OciImageManifest,
};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::transport::{Follow, Host};
use crate::{CredentialStore, ImageInfo, ImageName, Platform, RegistryError, RegistrySettings};

/// OCI and Docker image manifests and indexes: the distribution registry answers
/// 404 to a manifest request that accepts none of them.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// Settings for a [`RegistryClient`].
#[derive(Debug, Clone, Default)]
pub struct ClientConfig {
    /// Settings for registries whose host starts with the prefix; the longest prefix wins.
    pub registries: Vec<(String, RegistrySettings)>,
    /// Settings for every other registry.
    pub default_settings: RegistrySettings,
    /// Where credentials come from.
    pub credentials: CredentialStore,
}

/// Talks to OCI registries, one polite connection pool per registry host.
///
/// Cheap to share: clone the `Arc` it lives in. Image build information is
/// cached by manifest digest (up to [`INFO_CACHE_ENTRIES`]), so no image is
/// fetched twice. Credentials are looked up again after
/// [`CREDENTIALS_TTL`], so a long-lived client (`kedge serve`) picks up a
/// credential helper's renewed token.
pub struct RegistryClient {
    config: ClientConfig,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    info_cache: Mutex<InfoCache>,
    credentials_ttl: Duration,
}

/// How long a host's credentials are used before they are looked up again:
/// credential helpers hand out tokens that expire (an hour for some clouds).
pub const CREDENTIALS_TTL: Duration = Duration::from_secs(5 * 60);

/// The most image build records kept; beyond it, an old one is dropped.
pub const INFO_CACHE_ENTRIES: usize = 10_000;

/// Build information by `host/repository@digest` and platform; digests never change meaning.
type InfoCache = HashMap<(String, Option<Platform>), Option<ImageInfo>>;

#[derive(Deserialize)]
struct ImageConfigBlob {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    variant: Option<String>,
}

/// A manifest as fetched: its digest and what it is.
enum Fetched {
    Index(OciImageIndex),
    Image(Box<OciImageManifest>),
}

impl RegistryClient {
    /// A client with the given settings. Nothing is contacted until a request is made.
    pub fn new(config: ClientConfig) -> Self {
        Self {
            config,
            hosts: Mutex::new(HashMap::new()),
            info_cache: Mutex::new(HashMap::new()),
            credentials_ttl: CREDENTIALS_TTL,
        }
    }

    /// Looks credentials up again after `ttl` instead of [`CREDENTIALS_TTL`].
    pub fn with_credentials_ttl(mut self, ttl: Duration) -> Self {
        self.credentials_ttl = ttl;
        self
    }

    /// The settings for `registry`: the longest matching prefix's, else the defaults.
    pub(crate) fn settings_for(&self, registry: &str) -> RegistrySettings {
        self.config
            .registries
            .iter()
            .filter(|(prefix, _)| host_matches(registry, prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| self.config.default_settings.clone())
    }

    pub(crate) async fn host(&self, image: &ImageName) -> Result<Arc<Host>, RegistryError> {
        if let Some(host) = self.lock_hosts().get(image.api_host())
            && host.age() < self.credentials_ttl
        {
            return Ok(host.clone());
        }
        // A credential helper is an external program: keep it off the async threads.
        let store = self.config.credentials.clone();
        let registry = image.registry().to_owned();
        let credentials = tokio::task::spawn_blocking(move || store.lookup(&registry))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        let host = Arc::new(Host::new(
            image.api_host(),
            self.settings_for(image.registry()),
            credentials,
        ));
        // A host whose credentials are due is replaced; requests in flight
        // finish on the old one.
        let mut hosts = self.lock_hosts();
        let entry = hosts
            .entry(image.api_host().to_owned())
            .or_insert(host.clone());
        if entry.age() >= self.credentials_ttl {
            *entry = host;
        }
        Ok(entry.clone())
    }

    fn lock_hosts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Host>>> {
        self.hosts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The digest `tag` points at now (a manifest or an index), from a HEAD request.
    pub async fn manifest_digest(
        &self,
        image: &ImageName,
        tag: &str,
    ) -> Result<String, RegistryError> {
        let host = self.host(image).await?;
        let repository = image.repository();
        let url = host.url(&format!("/v2/{repository}/manifests/{tag}"));
        let headers = accept(MANIFEST_ACCEPT);
        let response = host
            .send(Method::HEAD, &url, &headers, repository, Follow::SameOrigin)
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(not_found(image, tag));
        }
        if let Some(digest) = content_digest(&response) {
            success_body(response, &host, repository, &url).await?;
            return Ok(digest);
        }
        // Some registries omit Docker-Content-Digest on HEAD: hash the manifest itself.
        let (digest, _) = self.fetch_manifest(image, tag).await?;
        Ok(digest)
    }

    /// Build information for `tag`, for `platform` when given. `Ok(None)` when the
    /// tag is an index without that platform, or a single image of another platform.
    ///
    /// One manifest GET names the digest; when that digest was seen before, its
    /// cached answer is used, else the image config (and for an index, the
    /// platform's manifest first) is fetched.
    pub async fn image_info(
        &self,
        image: &ImageName,
        tag: &str,
        platform: Option<&Platform>,
    ) -> Result<Option<ImageInfo>, RegistryError> {
        let (digest, manifest) = self.fetch_manifest(image, tag).await?;
        let key = (
            format!("{}/{}@{digest}", image.api_host(), image.repository()),
            platform.cloned(),
        );
        if let Some(cached) = self.lock_cache().get(&key) {
            return Ok(cached.clone());
        }
        let info = self
            .fetch_image_info(image, &digest, manifest, platform)
            .await?;
        let mut cache = self.lock_cache();
        if cache.len() >= INFO_CACHE_ENTRIES
            && let Some(old) = cache.keys().next().cloned()
        {
            cache.remove(&old);
        }
        cache.insert(key, info.clone());
        Ok(info)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, InfoCache> {
        self.info_cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn fetch_image_info(
        &self,
        image: &ImageName,
        digest: &str,
        manifest: Fetched,
        platform: Option<&Platform>,
    ) -> Result<Option<ImageInfo>, RegistryError> {
        let (image_manifest, platform_digest) = match manifest {
            Fetched::Image(manifest) => (manifest, None),
            Fetched::Index(index) => {
                let Some(child) = pick_child(&index, platform) else {
                    return Ok(None);
                };
                match self.fetch_manifest(image, &child).await?.1 {
                    Fetched::Image(manifest) => (manifest, Some(child)),
                    Fetched::Index(_) => {
                        let host = self.host(image).await?;
                        return Err(RegistryError::InvalidResponse {
                            registry: host.name.clone(),
                            repository: image.repository().to_owned(),
                            url: host.url(&format!("/v2/{}/manifests/{child}", image.repository())),
                            reason: "an index nested in an index".into(),
                        });
                    }
                }
            }
        };
        let config = self
            .fetch_config(image, &image_manifest.config.digest)
            .await?;
        if let Some(wanted) = platform {
            let os = config.os.as_deref().unwrap_or_default();
            let arch = config.architecture.as_deref().unwrap_or_default();
            if !wanted.matches(os, arch, config.variant.as_deref()) {
                return Ok(None);
            }
        }
        let created = config
            .created
            .as_deref()
            .and_then(|c| c.parse::<jiff::Timestamp>().ok())
            .and_then(|t| SystemTime::try_from(t).ok());
        Ok(Some(ImageInfo {
            digest: digest.to_owned(),
            platform_digest,
            created,
        }))
    }

    /// GETs the manifest `reference` (a tag or a digest) and returns its digest
    /// with it. By digest, redirects go anywhere and the body must hash to it; by
    /// tag, the digest is the registry's `Docker-Content-Digest` when it matches the body.
    async fn fetch_manifest(
        &self,
        image: &ImageName,
        reference: &str,
    ) -> Result<(String, Fetched), RegistryError> {
        let host = self.host(image).await?;
        let repository = image.repository();
        let url = host.url(&format!("/v2/{repository}/manifests/{reference}"));
        let by_digest = reference.contains(':');
        let follow = if by_digest {
            Follow::AnyOrigin
        } else {
            Follow::SameOrigin
        };
        let response = host
            .send(
                Method::GET,
                &url,
                &accept(MANIFEST_ACCEPT),
                repository,
                follow,
            )
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(not_found(image, reference));
        }
        let media_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        let announced = content_digest(&response);
        let body = success_body(response, &host, repository, &url).await?;
        let computed = format!("sha256:{:x}", Sha256::digest(&body));
        let expected = if by_digest {
            Some(reference.to_owned())
        } else {
            announced
        };
        let digest = match expected {
            Some(digest) if digest.starts_with("sha256:") && digest != computed => {
                return Err(RegistryError::InvalidResponse {
                    registry: host.name.clone(),
                    repository: repository.to_owned(),
                    url,
                    reason: format!("manifest does not match its digest {digest}"),
                });
            }
            // Another algorithm (sha512) is taken as announced over a same-origin answer.
            Some(digest) if !by_digest => digest,
            _ => computed,
        };
        let fetched = parse_manifest(&body, media_type, &host, repository, &url)?;
        Ok((digest, fetched))
    }

    async fn fetch_config(
        &self,
        image: &ImageName,
        digest: &str,
    ) -> Result<ImageConfigBlob, RegistryError> {
        let host = self.host(image).await?;
        let repository = image.repository();
        let url = host.url(&format!("/v2/{repository}/blobs/{digest}"));
        let headers = accept(&format!(
            "{}, {IMAGE_DOCKER_CONFIG_MEDIA_TYPE}, application/json",
            oci_client::manifest::IMAGE_CONFIG_MEDIA_TYPE
        ));
        // Blobs live behind CDNs on other hosts: follow, then check the content.
        let response = host
            .send(Method::GET, &url, &headers, repository, Follow::AnyOrigin)
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(not_found(image, digest));
        }
        let body = success_body(response, &host, repository, &url).await?;
        let matches = match digest.split_once(':') {
            Some(("sha256", hex)) => format!("{:x}", Sha256::digest(&body)) == hex,
            Some(("sha512", hex)) => format!("{:x}", sha2::Sha512::digest(&body)) == hex,
            _ => false,
        };
        if !matches {
            return Err(RegistryError::InvalidResponse {
                registry: host.name.clone(),
                repository: repository.to_owned(),
                url,
                reason: format!("config blob does not match its digest {digest}"),
            });
        }
        serde_json::from_slice(&body).map_err(|e| invalid(&host, repository, &url, e))
    }
}

/// An index or an image manifest; the body's own `mediaType` wins, the
/// `Content-Type` header is the fallback for older manifests.
fn parse_manifest(
    body: &[u8],
    media_type: Option<String>,
    host: &Host,
    repository: &str,
    url: &str,
) -> Result<Fetched, RegistryError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
    }
    let probe: Probe =
        serde_json::from_slice(body).map_err(|e| invalid(host, repository, url, e))?;
    let kind = probe.media_type.or(media_type).unwrap_or_default();
    let is_index = kind == OCI_IMAGE_INDEX_MEDIA_TYPE
        || kind == IMAGE_MANIFEST_LIST_MEDIA_TYPE
        || (kind.is_empty() && probe.manifests.is_some());
    if is_index {
        let index = serde_json::from_slice(body).map_err(|e| invalid(host, repository, url, e))?;
        return Ok(Fetched::Index(index));
    }
    if !(kind == OCI_IMAGE_MEDIA_TYPE || kind == IMAGE_MANIFEST_MEDIA_TYPE || kind.is_empty()) {
        return Err(RegistryError::InvalidResponse {
            registry: host.name.clone(),
            repository: repository.to_owned(),
            url: url.to_owned(),
            reason: format!(
                "unsupported manifest media type {:?}",
                kedge_policy::escape_control(&kind)
            ),
        });
    }
    let manifest = serde_json::from_slice(body).map_err(|e| invalid(host, repository, url, e))?;
    Ok(Fetched::Image(Box::new(manifest)))
}

/// The child manifest for `platform`; without one, `linux/amd64` or else the first image.
fn pick_child(index: &OciImageIndex, platform: Option<&Platform>) -> Option<String> {
    let matches = |entry: &&oci_client::manifest::ImageIndexEntry, wanted: &Platform| {
        entry.platform.as_ref().is_some_and(|p| {
            wanted.matches(
                &p.os.to_string(),
                &p.architecture.to_string(),
                p.variant.as_deref(),
            )
        })
    };
    let wanted = match platform {
        Some(wanted) => wanted.clone(),
        None => Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        },
    };
    let found = index.manifests.iter().find(|e| matches(e, &wanted));
    match (found, platform) {
        (Some(entry), _) => Some(entry.digest.clone()),
        (None, Some(_)) => None,
        // Skip attestation manifests (platform unknown/unknown) when falling back.
        (None, None) => index
            .manifests
            .iter()
            .find(|e| {
                e.platform
                    .as_ref()
                    .is_none_or(|p| p.os.to_string() != "unknown")
            })
            .map(|e| e.digest.clone()),
    }
}

fn accept(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(ACCEPT, value);
    }
    headers
}

/// `Docker-Content-Digest`, when it is a well-formed digest.
fn content_digest(response: &Response) -> Option<String> {
    response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .filter(|v| kedge_image::validate_digest(v).is_ok())
        .map(str::to_owned)
}

/// `prefix` names `registry` itself, or a host it extends at a boundary:
/// `127.0.0.1` covers `127.0.0.1:5000`, `127.0.0.1:5000` does not cover `127.0.0.1:50001`.
/// Whether `registry` (canonical) is `prefix` or starts with it at a boundary.
/// A prefix that is a whole host is compared in canonical form too
/// (`GHCR.IO`, `registry-1.docker.io`); any other prefix case-insensitively.
fn host_matches(registry: &str, prefix: &str) -> bool {
    let prefix = match kedge_image::RegistryHost::parse(prefix) {
        Ok(host) => host.to_string(),
        Err(_) => prefix.to_ascii_lowercase(),
    };
    match registry.strip_prefix(prefix.as_str()) {
        Some("") => true,
        Some(rest) => rest.starts_with([':', '/']) || prefix.ends_with(['.', ':', '/']),
        None => false,
    }
}

/// The body of a successful answer, read chunk by chunk up to the host's
/// `max_body_bytes`; an error status becomes [`RegistryError::Status`].
pub(crate) async fn success_body(
    mut response: Response,
    host: &Host,
    repository: &str,
    url: &str,
) -> Result<bytes::Bytes, RegistryError> {
    let status = response.status();
    // An error answer is only quoted: its first kilobyte is enough.
    let limit = if status.is_success() {
        host.settings.max_body_bytes
    } else {
        1024
    };
    let too_large = || RegistryError::BodyTooLarge {
        registry: host.name.clone(),
        repository: repository.to_owned(),
        url: kedge_policy::redact_url(url),
        limit,
    };
    if status.is_success() && response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = bytes::BytesMut::new();
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|source| RegistryError::Connect {
                registry: host.name.clone(),
                repository: repository.to_owned(),
                attempts: 1,
                source: crate::transport::without_credentials(source).into(),
            })?;
        let Some(chunk) = chunk else { break };
        if body.len() as u64 + chunk.len() as u64 > limit {
            if status.is_success() {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk[..(limit as usize).saturating_sub(body.len())]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let quoted: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        return Err(RegistryError::Status {
            registry: host.name.clone(),
            repository: repository.to_owned(),
            url: kedge_policy::redact_url(url),
            status: status.as_u16(),
            body: kedge_policy::escape_control(&quoted).into_owned(),
        });
    }
    Ok(body.freeze())
}

pub(crate) fn invalid(
    host: &Host,
    repository: &str,
    url: &str,
    e: serde_json::Error,
) -> RegistryError {
    RegistryError::InvalidResponse {
        registry: host.name.clone(),
        repository: repository.to_owned(),
        url: kedge_policy::redact_url(url),
        reason: e.to_string(),
    }
}

fn not_found(image: &ImageName, reference: &str) -> RegistryError {
    let separator = if reference.contains(':') { "@" } else { ":" };
    RegistryError::NotFound {
        registry: image.registry().to_owned(),
        what: format!("{}{separator}{reference}", image.repository()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 9): a credential helper's token was read once per
    /// client, so `kedge serve` failed once it expired.
    #[tokio::test]
    async fn credentials_are_looked_up_again_once_due() {
        let image: ImageName = "registry.example/team/app".parse().unwrap();
        let client = RegistryClient::new(ClientConfig::default());
        let first = client.host(&image).await.unwrap();
        assert!(Arc::ptr_eq(&first, &client.host(&image).await.unwrap()));

        let client =
            RegistryClient::new(ClientConfig::default()).with_credentials_ttl(Duration::ZERO);
        let first = client.host(&image).await.unwrap();
        let again = client.host(&image).await.unwrap();
        assert!(!Arc::ptr_eq(&first, &again), "looked up again");
        assert!(Arc::ptr_eq(&again, &client.lock_hosts()[image.api_host()]));
    }

    #[test]
    fn registry_settings_match_at_host_boundaries() {
        assert!(host_matches("127.0.0.1:5000", "127.0.0.1:5000"));
        assert!(host_matches("127.0.0.1:5000", "127.0.0.1"));
        assert!(!host_matches("127.0.0.1:50001", "127.0.0.1:5000"));
        assert!(!host_matches("ghcr.io.evil.example", "ghcr.io"));
        assert!(host_matches("eu.gcr.io", "eu."));
        assert!(host_matches("eu.gcr.io", "EU."));
    }

    #[test]
    fn registry_settings_are_found_for_any_spelling_of_the_host() {
        // Regression (issue 9): `GHCR.IO/org/app` missed the settings of a `ghcr.io` prefix.
        let insecure = RegistrySettings {
            insecure: true,
            ..RegistrySettings::default()
        };
        let client = RegistryClient::new(ClientConfig {
            registries: vec![
                ("ghcr.io".to_owned(), insecure.clone()),
                ("Registry-1.Docker.IO".to_owned(), insecure),
            ],
            ..ClientConfig::default()
        });
        for image in [
            "GHCR.IO/org/app",
            "ghcr.io/org/app",
            "nginx",
            "registry.hub.docker.com/library/nginx",
        ] {
            let image: ImageName = image.parse().unwrap();
            assert!(client.settings_for(image.registry()).insecure, "{image}");
        }
        let other: ImageName = "quay.io/org/app".parse().unwrap();
        assert!(!client.settings_for(other.registry()).insecure);
    }
}
