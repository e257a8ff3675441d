//! [`RegistryClient`]: the production [`Registry`](crate::Registry), speaking the
//! OCI distribution API over HTTP(S).
//!
//! `oci-client` provides reference parsing and the manifest types. Requests are
//! sent by kedge itself because `oci-client` does not follow `Link` pagination on
//! tag lists, does not surface `Retry-After`, and has no per-registry rate limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use oci_client::manifest::{
    IMAGE_DOCKER_CONFIG_MEDIA_TYPE, IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciImageIndex, OciImageManifest,
};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, LINK};
use reqwest::{Method, Response, StatusCode};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::transport::Host;
use crate::{CredentialStore, ImageInfo, ImageName, Platform, RegistryError, RegistrySettings};

/// Page size asked of registries; they may answer with fewer.
const PAGE_SIZE: usize = 1000;
/// A registry that keeps sending `Link` headers past this many pages is looping.
const MAX_PAGES: usize = 10_000;

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
/// cached by manifest digest for the life of the client, so no image is fetched twice.
pub struct RegistryClient {
    config: ClientConfig,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    info_cache: Mutex<InfoCache>,
}

/// Build information by `host/repository@digest` and platform; digests never change meaning.
type InfoCache = HashMap<(String, Option<Platform>), Option<ImageInfo>>;

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

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
        }
    }

    fn settings_for(&self, registry: &str) -> RegistrySettings {
        self.config
            .registries
            .iter()
            .filter(|(prefix, _)| host_matches(registry, prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| self.config.default_settings.clone())
    }

    async fn host(&self, image: &ImageName) -> Result<Arc<Host>, RegistryError> {
        if let Some(host) = self.lock_hosts().get(image.api_host()) {
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
        )?);
        Ok(self
            .lock_hosts()
            .entry(image.api_host().to_owned())
            .or_insert(host)
            .clone())
    }

    fn lock_hosts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Host>>> {
        self.hosts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every tag of `image`, in the order the registry gave them, following `Link` pagination.
    pub async fn list_tags(&self, image: &ImageName) -> Result<Vec<String>, RegistryError> {
        let host = self.host(image).await?;
        let repository = image.repository();
        let mut url = host.url(&format!("/v2/{repository}/tags/list?n={PAGE_SIZE}"));
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let response = host
                .send(Method::GET, &url, &HeaderMap::new(), repository)
                .await?;
            if response.status() == StatusCode::NOT_FOUND {
                return Err(RegistryError::NotFound {
                    registry: image.registry().to_owned(),
                    what: format!("repository {repository}"),
                });
            }
            let next = next_link(response.headers(), &url);
            let body = success_body(response, &host, repository, &url).await?;
            let page: TagList =
                serde_json::from_slice(&body).map_err(|e| invalid(&host, repository, &url, e))?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) if next != url => {
                    // The registry's credentials go with every page: never to another origin.
                    if !same_origin(&url, &next) {
                        return Err(RegistryError::InvalidResponse {
                            registry: host.name.clone(),
                            repository: repository.to_owned(),
                            url: next,
                            reason: "pagination link to another origin".into(),
                        });
                    }
                    url = next;
                }
                _ => return Ok(tags),
            }
        }
        Err(RegistryError::InvalidResponse {
            registry: host.name.clone(),
            repository: repository.to_owned(),
            url,
            reason: format!("tag list still paginating after {MAX_PAGES} pages"),
        })
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
        let response = host.send(Method::HEAD, &url, &headers, repository).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(not_found(image, tag));
        }
        if let Some(digest) = content_digest(&response) {
            success_body(response, &host, repository, &url).await?;
            return Ok(digest);
        }
        // Some registries omit Docker-Content-Digest on HEAD: hash the manifest itself.
        let response = host.send(Method::GET, &url, &headers, repository).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(not_found(image, tag));
        }
        let body = success_body(response, &host, repository, &url).await?;
        Ok(format!("sha256:{:x}", Sha256::digest(&body)))
    }

    /// Build information for `tag`, for `platform` when given. `Ok(None)` when the
    /// tag is an index without that platform, or a single image of another platform.
    pub async fn image_info(
        &self,
        image: &ImageName,
        tag: &str,
        platform: Option<&Platform>,
    ) -> Result<Option<ImageInfo>, RegistryError> {
        let digest = self.manifest_digest(image, tag).await?;
        let key = (
            format!("{}/{}@{digest}", image.api_host(), image.repository()),
            platform.cloned(),
        );
        if let Some(cached) = self.lock_cache().get(&key) {
            return Ok(cached.clone());
        }
        let info = self.fetch_image_info(image, &digest, platform).await?;
        self.lock_cache().insert(key, info.clone());
        Ok(info)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, InfoCache> {
        self.info_cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn fetch_image_info(
        &self,
        image: &ImageName,
        digest: &str,
        platform: Option<&Platform>,
    ) -> Result<Option<ImageInfo>, RegistryError> {
        let (image_manifest, platform_digest) = match self.fetch_manifest(image, digest).await? {
            Fetched::Image(manifest) => (manifest, None),
            Fetched::Index(index) => {
                let Some(child) = pick_child(&index, platform) else {
                    return Ok(None);
                };
                match self.fetch_manifest(image, &child).await? {
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

    async fn fetch_manifest(
        &self,
        image: &ImageName,
        reference: &str,
    ) -> Result<Fetched, RegistryError> {
        let host = self.host(image).await?;
        let repository = image.repository();
        let url = host.url(&format!("/v2/{repository}/manifests/{reference}"));
        let response = host
            .send(Method::GET, &url, &accept(MANIFEST_ACCEPT), repository)
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(not_found(image, reference));
        }
        let media_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        let body = success_body(response, &host, repository, &url).await?;
        // The body's own mediaType wins; the header is the fallback for older manifests.
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            media_type: Option<String>,
            manifests: Option<serde_json::Value>,
        }
        let probe: Probe =
            serde_json::from_slice(&body).map_err(|e| invalid(&host, repository, &url, e))?;
        let kind = probe.media_type.or(media_type).unwrap_or_default();
        let is_index = kind == OCI_IMAGE_INDEX_MEDIA_TYPE
            || kind == IMAGE_MANIFEST_LIST_MEDIA_TYPE
            || (kind.is_empty() && probe.manifests.is_some());
        if is_index {
            let index =
                serde_json::from_slice(&body).map_err(|e| invalid(&host, repository, &url, e))?;
            return Ok(Fetched::Index(index));
        }
        if !(kind == OCI_IMAGE_MEDIA_TYPE || kind == IMAGE_MANIFEST_MEDIA_TYPE || kind.is_empty()) {
            return Err(RegistryError::InvalidResponse {
                registry: host.name.clone(),
                repository: repository.to_owned(),
                url,
                reason: format!("unsupported manifest media type {kind:?}"),
            });
        }
        let manifest =
            serde_json::from_slice(&body).map_err(|e| invalid(&host, repository, &url, e))?;
        Ok(Fetched::Image(Box::new(manifest)))
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
        let response = host.send(Method::GET, &url, &headers, repository).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(not_found(image, digest));
        }
        let body = success_body(response, &host, repository, &url).await?;
        serde_json::from_slice(&body).map_err(|e| invalid(&host, repository, &url, e))
    }
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

fn content_digest(response: &Response) -> Option<String> {
    response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The `rel="next"` target of a `Link` header, resolved against the current URL.
fn next_link(headers: &HeaderMap, current: &str) -> Option<String> {
    for value in headers.get_all(LINK) {
        let value = value.to_str().ok()?;
        for link in value.split(',') {
            let (target, params) = link.split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                let base = reqwest::Url::parse(current).ok()?;
                return base.join(target).ok().map(String::from);
            }
        }
    }
    None
}

/// `prefix` names `registry` itself, or a host it extends at a boundary:
/// `127.0.0.1` covers `127.0.0.1:5000`, `127.0.0.1:5000` does not cover `127.0.0.1:50001`.
fn host_matches(registry: &str, prefix: &str) -> bool {
    match registry.strip_prefix(prefix) {
        Some("") => true,
        Some(rest) => rest.starts_with([':', '/']) || prefix.ends_with(['.', ':', '/']),
        None => false,
    }
}

fn same_origin(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

async fn success_body(
    response: Response,
    host: &Host,
    repository: &str,
    url: &str,
) -> Result<bytes::Bytes, RegistryError> {
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|source| RegistryError::Connect {
            registry: host.name.clone(),
            repository: repository.to_owned(),
            attempts: 1,
            source,
        })?;
    if !status.is_success() {
        return Err(RegistryError::Status {
            registry: host.name.clone(),
            repository: repository.to_owned(),
            url: url.to_owned(),
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body).chars().take(300).collect(),
        });
    }
    Ok(body)
}

fn invalid(host: &Host, repository: &str, url: &str, e: serde_json::Error) -> RegistryError {
    RegistryError::InvalidResponse {
        registry: host.name.clone(),
        repository: repository.to_owned(),
        url: url.to_owned(),
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

    #[test]
    fn registry_settings_match_at_host_boundaries() {
        assert!(host_matches("127.0.0.1:5000", "127.0.0.1:5000"));
        assert!(host_matches("127.0.0.1:5000", "127.0.0.1"));
        assert!(!host_matches("127.0.0.1:50001", "127.0.0.1:5000"));
        assert!(!host_matches("ghcr.io.evil.example", "ghcr.io"));
        assert!(host_matches("eu.gcr.io", "eu."));
    }

    #[test]
    fn link_header_relative_and_absolute() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            r#"</v2/team/app/tags/list?last=b&n=2>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers, "http://127.0.0.1:5000/v2/team/app/tags/list?n=2").as_deref(),
            Some("http://127.0.0.1:5000/v2/team/app/tags/list?last=b&n=2")
        );
        headers.insert(
            LINK,
            r#"<https://other.example/page2>; rel=next, <https://x/prev>; rel="prev""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers, "https://ghcr.io/v2/a/tags/list").as_deref(),
            Some("https://other.example/page2")
        );
        assert_eq!(next_link(&HeaderMap::new(), "https://x/"), None);
    }
}
