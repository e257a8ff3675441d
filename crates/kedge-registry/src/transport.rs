//! Sending requests to one registry host politely: a concurrency cap, a request
//! rate, `Retry-After` on 429 and 503, jittered backoff on 5xx and connection
//! errors, and the Docker/OCI token challenge flow.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use serde::Deserialize;
use tokio::sync::{Mutex, Semaphore};

use crate::challenge::Challenge;
use crate::{Credentials, RegistryError};

/// How kedge talks to one registry.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// Use plain HTTP instead of HTTPS (local and in-cluster registries).
    pub insecure: bool,
    /// Extra CA certificate (PEM) trusted for this registry.
    pub ca_file: Option<PathBuf>,
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Requests started per second.
    pub requests_per_second: f64,
    /// Retries after the first attempt, for 429, 5xx and connection errors.
    pub max_retries: u32,
    /// First backoff delay; doubled each retry, each wait spread between half
    /// and all of it.
    pub initial_backoff: Duration,
    /// Longest wait before a retry: the backoff's cap, and a longer
    /// `Retry-After` is shortened to it.
    pub max_backoff: Duration,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Longest one discovery may take: the tag listing (every page and retry)
    /// and, in `kedge::discover`, the build-time lookups after it.
    pub discovery_deadline: Duration,
    /// Largest response body kedge reads (a tag-list page, a manifest, a config).
    pub max_body_bytes: u64,
    /// Most tags kedge accepts for one repository, over all pages.
    pub max_tags: usize,
    /// Follow redirects to another origin for tag lists and manifests by tag.
    /// Content fetched by digest is verified, so its redirects (to a CDN) are always followed.
    pub allow_cross_origin_redirects: bool,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            insecure: false,
            ca_file: None,
            max_concurrency: 8,
            requests_per_second: 200.0,
            max_retries: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            discovery_deadline: Duration::from_secs(300),
            max_body_bytes: 16 * 1024 * 1024,
            max_tags: 100_000,
            allow_cross_origin_redirects: false,
        }
    }
}

impl RegistrySettings {
    /// The retries of one request to this registry, as [`kedge_http`] runs
    /// them: `max_retries`, `initial_backoff` doubling up to `max_backoff`,
    /// jittered, and a longer `Retry-After` shortened to `max_backoff`.
    pub(crate) fn retry_policy(&self) -> kedge_http::RetryPolicy {
        kedge_http::RetryPolicy::default()
            .max_retries(self.max_retries)
            .first_wait(self.initial_backoff)
            .max_wait(self.max_backoff)
            .jitter(kedge_http::Jitter::HalfToWhole)
            .long_server_wait(kedge_http::LongServerWait::Shorten)
    }
}

/// Which redirects a request may follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Follow {
    /// Only to the same origin, unless the registry's settings allow others.
    SameOrigin,
    /// To any origin: the body is checked against the digest it was asked by.
    AnyOrigin,
}

/// Redirects followed for one request before kedge gives up.
const MAX_REDIRECTS: usize = 5;

/// A token from a registry's token service, valid for one scope.
#[derive(Clone)]
struct Token {
    value: String,
    expires: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// One registry host with its own limits, credentials and token cache.
pub(crate) struct Host {
    pub(crate) name: String,
    scheme: &'static str,
    /// For `http://` URLs; built on first use, with no trust roots.
    plain: OnceLock<reqwest::Client>,
    /// For `https://` URLs; built on first use, trusting the system roots (read once).
    tls: OnceLock<reqwest::Client>,
    pub(crate) settings: RegistrySettings,
    credentials: Credentials,
    permits: Semaphore,
    next_slot: Mutex<Instant>,
    tokens: Mutex<HashMap<String, Token>>,
    /// Set once the registry asked for basic auth instead of a token.
    uses_basic: std::sync::atomic::AtomicBool,
    /// When its credentials were looked up.
    created: std::time::Instant,
}

impl Host {
    /// A host; no client is built and no certificate read until the first request.
    pub(crate) fn new(name: &str, settings: RegistrySettings, credentials: Credentials) -> Self {
        Self {
            name: name.to_owned(),
            scheme: if settings.insecure { "http" } else { "https" },
            plain: OnceLock::new(),
            tls: OnceLock::new(),
            permits: Semaphore::new(settings.max_concurrency.max(1)),
            next_slot: Mutex::new(Instant::now()),
            settings,
            credentials,
            tokens: Mutex::new(HashMap::new()),
            uses_basic: std::sync::atomic::AtomicBool::new(false),
            created: std::time::Instant::now(),
        }
    }

    /// How long ago its credentials were looked up.
    pub(crate) fn age(&self) -> std::time::Duration {
        self.created.elapsed()
    }

    /// The client for `url`'s scheme, built the first time it is needed.
    fn client(&self, url: &str) -> Result<&reqwest::Client, RegistryError> {
        let (cell, tls) = if url.starts_with("http://") {
            (&self.plain, false)
        } else {
            (&self.tls, true)
        };
        if let Some(client) = cell.get() {
            return Ok(client);
        }
        let timeout = self.settings.request_timeout;
        let built = if tls {
            crate::trust::tls_client(&self.name, timeout, self.settings.ca_file.as_deref())?
        } else {
            crate::trust::plain_client(&self.name, timeout)?
        };
        Ok(cell.get_or_init(|| built))
    }

    /// `scheme://host` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.name, path)
    }

    /// Sends a request for `repository`, authenticating on a 401 challenge,
    /// retrying politely and following redirects as `follow` allows. Returns the
    /// final response, whatever its status, except for 401 (an error), retryable
    /// statuses once retries ran out (an error) and refused redirects (an error).
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        repository: &str,
        follow: Follow,
    ) -> Result<Response, RegistryError> {
        let response = self
            .send_authenticated(&method, url, headers, repository)
            .await?;
        self.follow_redirects(response, method, url, headers, repository, follow)
            .await
    }

    async fn send_authenticated(
        &self,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        repository: &str,
    ) -> Result<Response, RegistryError> {
        let scope = format!("repository:{repository}:pull");
        let mut authenticated_once = false;
        loop {
            let auth = self.authorization(&scope).await;
            let response = self
                .send_with_retries(method, url, headers, auth.as_deref(), repository)
                .await?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            let unauthorized = |reason: String| RegistryError::Unauthorized {
                registry: self.name.clone(),
                repository: repository.to_owned(),
                reason,
            };
            if authenticated_once {
                let body = response.text().await.unwrap_or_default();
                return Err(unauthorized(credentials_hint(&self.credentials, &body)));
            }
            authenticated_once = true;
            let challenge = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(Challenge::parse)
                .ok_or_else(|| unauthorized("HTTP 401 without WWW-Authenticate".into()))?;
            self.answer_challenge(challenge, &scope, repository).await?;
        }
    }

    /// Follows `Location` from redirect answers. Credentials go to the registry's
    /// own origin only; another origin is refused unless `follow` or the settings allow it.
    async fn follow_redirects(
        &self,
        mut response: Response,
        mut method: Method,
        url: &str,
        headers: &HeaderMap,
        repository: &str,
        follow: Follow,
    ) -> Result<Response, RegistryError> {
        let mut current = url.to_owned();
        for _ in 0..MAX_REDIRECTS {
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let Some(next) = location(&response, &current) else {
                return Ok(response);
            };
            let same_origin = same_origin(url, &next);
            let allowed = follow == Follow::AnyOrigin || self.settings.allow_cross_origin_redirects;
            if !same_origin && !allowed {
                return Err(RegistryError::CrossOriginRedirect {
                    registry: self.name.clone(),
                    repository: repository.to_owned(),
                    url: kedge_policy::redact_url(&current),
                    location: kedge_policy::redact_url(&next),
                });
            }
            if response.status() == StatusCode::SEE_OTHER {
                method = Method::GET;
            }
            tracing::debug!(registry = %self.name, repository, location = %kedge_policy::redact_url(&next), "following redirect");
            response = if same_origin {
                self.send_authenticated(&method, &next, headers, repository)
                    .await?
            } else {
                self.send_with_retries(&method, &next, headers, None, repository)
                    .await?
            };
            current = next;
        }
        Err(RegistryError::InvalidResponse {
            registry: self.name.clone(),
            repository: repository.to_owned(),
            url: kedge_policy::redact_url(url),
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    async fn authorization(&self, scope: &str) -> Option<String> {
        if let Credentials::Bearer(token) = &self.credentials {
            return Some(format!("Bearer {token}"));
        }
        if self.uses_basic.load(std::sync::atomic::Ordering::Relaxed) {
            return basic_header(&self.credentials);
        }
        let tokens = self.tokens.lock().await;
        tokens
            .get(scope)
            .filter(|t| t.expires > Instant::now())
            .map(|t| format!("Bearer {}", t.value))
    }

    async fn answer_challenge(
        &self,
        challenge: Challenge,
        scope: &str,
        repository: &str,
    ) -> Result<(), RegistryError> {
        let unauthorized = |reason: String| RegistryError::Unauthorized {
            registry: self.name.clone(),
            repository: repository.to_owned(),
            reason,
        };
        match challenge {
            Challenge::Basic => {
                if basic_header(&self.credentials).is_none() {
                    return Err(unauthorized(
                        "the registry wants a username and password, and none is configured".into(),
                    ));
                }
                self.uses_basic
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            Challenge::Bearer { realm, service } => {
                let token = self
                    .fetch_token(&realm, service.as_deref(), scope, repository)
                    .await?;
                self.tokens.lock().await.insert(scope.to_owned(), token);
                Ok(())
            }
            Challenge::Unknown(scheme) => Err(unauthorized(format!(
                "unsupported authentication scheme {scheme:?}"
            ))),
        }
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        repository: &str,
    ) -> Result<Token, RegistryError> {
        let mut query = vec![("scope", scope)];
        if let Some(service) = service {
            query.push(("service", service));
        }
        let mut url = reqwest::Url::parse(realm).map_err(|e| RegistryError::Unauthorized {
            registry: self.name.clone(),
            repository: repository.to_owned(),
            reason: format!(
                "token realm {:?} is not a URL: {e}",
                kedge_policy::redact_url(realm)
            ),
        })?;
        url.query_pairs_mut().extend_pairs(query);
        let mut headers = HeaderMap::new();
        if let Some(value) = basic_header(&self.credentials)
            && let Ok(value) = value.parse()
        {
            headers.insert(AUTHORIZATION, value);
        }
        let response = self
            .send_with_retries(&Method::GET, url.as_str(), &headers, None, repository)
            .await?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(RegistryError::Unauthorized {
                registry: self.name.clone(),
                repository: repository.to_owned(),
                reason: format!(
                    "token service {} answered HTTP {}: {}",
                    kedge_policy::redact_url(realm),
                    status.as_u16(),
                    credentials_hint(&self.credentials, &body)
                ),
            });
        }
        let answer: TokenAnswer =
            serde_json::from_str(&body).map_err(|e| RegistryError::InvalidResponse {
                registry: self.name.clone(),
                repository: repository.to_owned(),
                url: kedge_policy::redact_url(realm),
                reason: format!("token answer is not JSON: {e}"),
            })?;
        let value =
            answer
                .token
                .or(answer.access_token)
                .ok_or_else(|| RegistryError::InvalidResponse {
                    registry: self.name.clone(),
                    repository: repository.to_owned(),
                    url: kedge_policy::redact_url(realm),
                    reason: "token answer has neither token nor access_token".into(),
                })?;
        // Renew a little early so a token never expires in flight.
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(60).max(10));
        Ok(Token {
            value,
            expires: Instant::now() + lifetime - Duration::from_secs(5),
        })
    }

    /// Sends one request as [`RegistrySettings::retry_policy`] says: again after
    /// a retryable status or a transient connection error, waiting what
    /// `Retry-After` asks (and making every request to this host wait it) or
    /// the jittered backoff.
    async fn send_with_retries(
        &self,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        authorization: Option<&str>,
        repository: &str,
    ) -> Result<Response, RegistryError> {
        let mut retries = self.settings.retry_policy().start();
        loop {
            let result = self.send_once(method, url, headers, authorization).await?;
            let attempt = retries.attempt();
            let wait = match result {
                Ok(response) if !is_retryable(response.status()) => return Ok(response),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let asked = retry_after(response.headers());
                    let Ok(wait) = retries.next_wait(asked) else {
                        return Err(RegistryError::RetriesExhausted {
                            registry: self.name.clone(),
                            repository: repository.to_owned(),
                            attempts: attempt,
                            status,
                        });
                    };
                    tracing::debug!(
                        registry = %self.name, repository, status, retry_after = ?asked,
                        attempt, wait_ms = wait.as_millis() as u64, "registry asked kedge to retry"
                    );
                    if asked.is_some() {
                        // Everyone sharing this host waits, not only this request.
                        self.delay_all(wait).await;
                    }
                    wait
                }
                Err(source) => {
                    let wait = if is_transient(&source) {
                        retries.next_wait(None).ok()
                    } else {
                        None
                    };
                    let Some(wait) = wait else {
                        return Err(RegistryError::Connect {
                            registry: self.name.clone(),
                            repository: repository.to_owned(),
                            attempts: attempt,
                            source: without_credentials(source).into(),
                        });
                    };
                    tracing::debug!(
                        registry = %self.name, repository, error = %source, attempt,
                        wait_ms = wait.as_millis() as u64, "registry request failed, retrying"
                    );
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends one request in this host's next slot, holding one of its permits.
    /// `Err` when no client can be built; the inner result is the request's.
    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        authorization: Option<&str>,
    ) -> Result<Result<Response, reqwest::Error>, RegistryError> {
        let client = self.client(url)?;
        self.wait_for_slot().await;
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = self.permits.acquire().await;
        let mut request = client.request(method.clone(), url).headers(headers.clone());
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        Ok(request.send().await)
    }

    /// Waits for this host's next request slot, spacing requests by the configured rate.
    async fn wait_for_slot(&self) {
        let interval = Duration::from_secs_f64(1.0 / self.settings.requests_per_second.max(0.001));
        let slot = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }

    async fn delay_all(&self, wait: Duration) {
        let mut next = self.next_slot.lock().await;
        *next = (*next).max(Instant::now() + wait);
    }
}

/// The `Location` of a redirect, resolved against the URL that answered.
fn location(response: &Response, current: &str) -> Option<String> {
    let value = response.headers().get(LOCATION)?.to_str().ok()?;
    let base = reqwest::Url::parse(current).ok()?;
    base.join(value).ok().map(String::from)
}

/// Same scheme, host and port.
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// The error without its URL when that URL carries credentials (its message prints it).
pub(crate) fn without_credentials(error: reqwest::Error) -> reqwest::Error {
    let has_credentials = error
        .url()
        .is_some_and(|u| !u.username().is_empty() || u.password().is_some());
    if has_credentials {
        error.without_url()
    } else {
        error
    }
}

fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

fn is_transient(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout() || error.is_request()
}

/// Reads `Retry-After` as delay seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    kedge_http::retry_after(headers, jiff::Timestamp::now())
}

fn basic_header(credentials: &Credentials) -> Option<String> {
    use base64::Engine;
    match credentials {
        Credentials::Basic { username, password } => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        )),
        _ => None,
    }
}

fn credentials_hint(credentials: &Credentials, body: &str) -> String {
    let said: String = body.trim().chars().take(200).collect();
    let said = kedge_policy::escape_control(&said);
    let which = match credentials {
        Credentials::Anonymous => "no credentials configured",
        Credentials::Basic { .. } => "username and password rejected",
        Credentials::Bearer(_) => "token rejected",
    };
    if said.is_empty() {
        which.to_owned()
    } else {
        format!("{which}: {said}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_settings_give_a_jittered_policy_shortening_long_retry_afters() {
        let settings = RegistrySettings {
            max_retries: 2,
            initial_backoff: Duration::from_millis(400),
            max_backoff: Duration::from_millis(600),
            ..RegistrySettings::default()
        };
        let policy = settings.retry_policy();
        assert_eq!(policy.jitter, kedge_http::Jitter::HalfToWhole);
        let mut retries = policy.start();
        let first = retries.next_wait(None);
        assert!(
            first.is_ok_and(|w| w >= Duration::from_millis(200) && w <= Duration::from_millis(400)),
            "{first:?}"
        );
        let hour = Some(Duration::from_secs(3600));
        assert_eq!(retries.next_wait(hour), Ok(Duration::from_millis(600)));
        assert_eq!(
            retries.next_wait(None),
            Err(kedge_http::GiveUp::RetriesUsed)
        );
        assert_eq!(retries.attempt(), 3);
    }
}
