//! Sending one GitHub REST request through octocrab's raw API, politely.
//!
//! octocrab's typed API turns rate-limit answers into errors without their
//! headers, so every request goes through [`octocrab::Octocrab::execute`] and
//! kedge reads `retry-after`, `x-ratelimit-remaining` and `x-ratelimit-reset`
//! itself: it waits what GitHub asks (up to [`RateLimitPolicy::max_wait`]) and
//! retries a bounded number of times, as GitHub's rate-limit documentation asks.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, HeaderMap};
use http::{HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use serde::Deserialize;

use crate::{ForgeError, Operation};

/// How kedge reacts to GitHub's rate limits.
#[derive(Debug, Clone)]
pub struct RateLimitPolicy {
    /// Retries after the first attempt when GitHub answers with a rate limit,
    /// or, for `GET` and `PATCH`, with 502/503/504 or not at all.
    pub max_retries: u32,
    /// Longest single wait kedge accepts; a longer one fails at once with
    /// [`ForgeError::RateLimited`] instead of blocking the update flow.
    pub max_wait: Duration,
    /// Wait after a secondary rate limit that names no time; doubled each retry.
    /// GitHub's documentation asks for at least one minute.
    pub secondary_wait: Duration,
    /// Timeout to connect, and to read or write a response.
    pub request_timeout: Duration,
    /// Wait before resending after a connection error or 502/503/504; doubled
    /// each retry (a rate-limit wait counts as one), up to `max_wait`.
    pub retry_backoff: Duration,
}

impl RateLimitPolicy {
    /// The retries of one request, as [`kedge_http`] runs them: `max_retries`,
    /// `retry_backoff` doubling up to `max_wait` without jitter, and a rate
    /// limit asking for longer than `max_wait` ending the retries.
    pub(crate) fn retry_policy(&self) -> kedge_http::RetryPolicy {
        kedge_http::RetryPolicy::default()
            .max_retries(self.max_retries)
            .first_wait(self.retry_backoff)
            .max_wait(self.max_wait)
            .jitter(kedge_http::Jitter::Off)
            .long_server_wait(kedge_http::LongServerWait::GiveUp)
    }
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            max_wait: Duration::from_secs(300),
            secondary_wait: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_secs(1),
        }
    }
}

/// One request as kedge describes it, before authentication.
pub(crate) struct Call<'a> {
    pub(crate) operation: Operation,
    pub(crate) number: Option<u64>,
    pub(crate) method: Method,
    /// Path and query below the API base (`/repos/o/r/pulls?..`), or an absolute
    /// URL on the API's origin (a `Link` header's next page).
    pub(crate) target: String,
    pub(crate) body: Option<&'a serde_json::Value>,
}

/// A response, read whole.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// The body GitHub sends with errors.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// octocrab, the repository it works on, and the rate-limit policy.
pub(crate) struct Transport {
    octocrab: Octocrab,
    /// `owner/repo`, for error messages and log fields.
    pub(crate) repo: String,
    /// `scheme://authority` of the API, to refuse `Link` URLs elsewhere.
    origin: String,
    pub(crate) policy: RateLimitPolicy,
}

impl Transport {
    pub(crate) fn new(
        api_url: &str,
        repo: String,
        policy: RateLimitPolicy,
    ) -> Result<Self, ForgeError> {
        let invalid = |reason: String| ForgeError::InvalidConfig {
            repo: repo.clone(),
            reason,
        };
        let uri: http::Uri = api_url
            .trim_end_matches('/')
            .parse()
            .map_err(|e| invalid(format!("api_url {api_url:?}: {e}")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(invalid(format!(
                "api_url {api_url:?} must be an absolute http(s) URL"
            )));
        };
        if scheme != "https" && scheme != "http" {
            return Err(invalid(format!("api_url {api_url:?} must use https")));
        }
        let origin = format!("{scheme}://{authority}");
        let timeout = Some(policy.request_timeout);
        let octocrab = Octocrab::builder()
            .base_uri(uri)
            .map_err(|source| ForgeError::Client {
                repo: repo.clone(),
                source: Box::new(source),
            })?
            .set_connect_timeout(timeout)
            .set_read_timeout(timeout)
            .set_write_timeout(timeout)
            .build()
            .map_err(|source| ForgeError::Client {
                repo: repo.clone(),
                source: Box::new(source),
            })?;
        Ok(Self {
            octocrab,
            repo,
            origin,
            policy,
        })
    }

    /// True when `url` (from a `Link` header) points at the configured API.
    pub(crate) fn is_same_origin(&self, url: &str) -> bool {
        url.strip_prefix(&self.origin)
            .is_some_and(|rest| rest.starts_with('/'))
    }

    /// Sends `call`, waiting out rate limits, and retrying `GET` and `PATCH`
    /// after connection errors and 502/503/504; `authorization` is asked for a
    /// header before every attempt (an App JWT is signed fresh each time).
    /// Returns the first answer that is not a rate limit, whatever its status.
    pub(crate) async fn send_limited(
        &self,
        call: &Call<'_>,
        authorization: &(dyn Fn() -> Result<HeaderValue, ForgeError> + Sync),
    ) -> Result<Answer, ForgeError> {
        // Creating a pull request or a comment twice is worse than failing once.
        let resendable = call.method == Method::GET || call.method == Method::PATCH;
        let mut retries = self.policy.retry_policy().start();
        loop {
            let attempt = retries.attempt();
            let sent = self.send_once(call, authorization()?).await;
            let failure = match &sent {
                Ok(answer) => is_transient(answer.status).then(|| answer.status.to_string()),
                Err(error) => Some(error.to_string()),
            };
            if resendable
                && let Some(reason) = failure
                && let Ok(wait) = retries.next_wait(None)
            {
                self.back_off(call, attempt, wait, &reason).await;
                continue;
            }
            let answer = sent?;
            let Some(wait) = self.rate_limit_wait(&answer, attempt) else {
                return Ok(answer);
            };
            let Ok(wait) = retries.next_wait(Some(wait)) else {
                return Err(ForgeError::RateLimited {
                    repo: self.repo.clone(),
                    operation: call.operation,
                    number: call.number,
                    attempts: attempt,
                    wait,
                    max_wait: self.policy.max_wait,
                    message: error_message(&answer.body),
                });
            };
            tracing::warn!(
                repo = %self.repo,
                operation = %call.operation,
                number = call.number,
                status = answer.status.as_u16(),
                attempt,
                wait_ms = wait.as_millis() as u64,
                "GitHub rate limit, waiting before retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Waits `wait` (the policy's backoff) before resending `call` after `attempt` failed.
    async fn back_off(&self, call: &Call<'_>, attempt: u32, wait: Duration, reason: &str) {
        tracing::warn!(
            repo = %self.repo,
            operation = %call.operation,
            number = call.number,
            attempt,
            wait_ms = wait.as_millis() as u64,
            reason,
            "GitHub request failed, sending it again"
        );
        tokio::time::sleep(wait).await;
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
        authorization: HeaderValue,
    ) -> Result<Answer, ForgeError> {
        let connect = |source: octocrab::Error| ForgeError::Connect {
            repo: self.repo.clone(),
            operation: call.operation,
            number: call.number,
            source: Box::new(source),
        };
        let builder = http::Request::builder()
            .method(call.method.clone())
            .uri(call.target.as_str())
            .header(ACCEPT, "application/vnd.github+json")
            .header(AUTHORIZATION, authorization);
        let request = self
            .octocrab
            .build_request(builder, call.body)
            .map_err(connect)?;
        let response = self.octocrab.execute(request).await.map_err(connect)?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(connect)?.to_bytes();
        tracing::debug!(
            repo = %self.repo,
            operation = %call.operation,
            method = %call.method,
            status = parts.status.as_u16(),
            "GitHub answered"
        );
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// How long to wait before retrying, when `answer` is a rate limit.
    ///
    /// Primary limit: 403/429 with `x-ratelimit-remaining: 0`, wait until
    /// `x-ratelimit-reset`. Secondary limit: 403/429 with `retry-after`, wait that
    /// long; without it (but saying "rate limit"), wait
    /// [`RateLimitPolicy::secondary_wait`], doubled each attempt.
    fn rate_limit_wait(&self, answer: &Answer, attempt: u32) -> Option<Duration> {
        if answer.status != StatusCode::FORBIDDEN && answer.status != StatusCode::TOO_MANY_REQUESTS
        {
            return None;
        }
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let Some(wait) = kedge_http::retry_after(&answer.headers, jiff::Timestamp::now()) {
            return Some(wait);
        }
        if header("x-ratelimit-remaining") == Some(0) {
            let reset = header("x-ratelimit-reset").unwrap_or(0);
            let now = jiff::Timestamp::now().as_second().max(0) as u64;
            // One second of slack: the reset time is rounded to whole seconds.
            return Some(Duration::from_secs(reset.saturating_sub(now) + 1));
        }
        let message = error_message(&answer.body).to_ascii_lowercase();
        if message.contains("rate limit") {
            let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
            return Some(self.policy.secondary_wait.saturating_mul(factor));
        }
        None
    }

    /// Turns a non-2xx answer into the error a user should see.
    pub(crate) fn status_error(&self, call: &Call<'_>, answer: &Answer) -> ForgeError {
        let (repo, operation, number) = (self.repo.clone(), call.operation, call.number);
        let message = error_message(&answer.body);
        match answer.status {
            StatusCode::UNAUTHORIZED => ForgeError::Unauthorized {
                repo,
                operation,
                number,
                message,
            },
            StatusCode::FORBIDDEN => ForgeError::Forbidden {
                repo,
                operation,
                number,
                message,
            },
            StatusCode::NOT_FOUND => ForgeError::NotFound {
                repo,
                operation,
                number,
            },
            StatusCode::UNPROCESSABLE_ENTITY => ForgeError::Validation {
                repo,
                operation,
                number,
                message,
            },
            status => ForgeError::Status {
                repo,
                operation,
                number,
                status: status.as_u16(),
                message,
            },
        }
    }

    /// Parses a successful answer's JSON body.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        &self,
        call: &Call<'_>,
        answer: &Answer,
    ) -> Result<T, ForgeError> {
        serde_json::from_slice(&answer.body).map_err(|e| ForgeError::InvalidResponse {
            repo: self.repo.clone(),
            operation: call.operation,
            number: call.number,
            reason: e.to_string(),
        })
    }
}

/// Answers of a proxy or GitHub itself that a resend may not get.
fn is_transient(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

/// GitHub's `message` and the messages of its `errors` entries, or the start of
/// a body that is not GitHub's error JSON.
fn error_message(body: &[u8]) -> String {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        let text = String::from_utf8_lossy(body);
        return text.chars().take(200).collect();
    };
    let mut message = parsed.message;
    for detail in parsed.errors {
        let text = detail.message.unwrap_or_else(|| {
            let resource = detail.resource.unwrap_or_default();
            let field = detail.field.unwrap_or_default();
            let code = detail.code.unwrap_or_default();
            format!("{resource}.{field} {code}")
        });
        message = format!("{message}: {text}");
    }
    message
}

pub(crate) use kedge_http::next_link;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_joins_github_errors() {
        let body = br#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:kedge/x."}]}"#;
        assert_eq!(
            error_message(body),
            "Validation Failed: A pull request already exists for acme:kedge/x."
        );
        let body = br#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"base","code":"invalid"}]}"#;
        assert_eq!(
            error_message(body),
            "Validation Failed: PullRequest.base invalid"
        );
        assert_eq!(error_message(b"<html>oops"), "<html>oops");
    }

    #[tokio::test]
    async fn link_urls_must_stay_on_the_api_origin() {
        let transport = Transport::new(
            "https://ghe.example.com/api/v3",
            "o/r".into(),
            RateLimitPolicy::default(),
        )
        .unwrap();
        assert!(transport.is_same_origin("https://ghe.example.com/api/v3/repos/o/r/pulls?page=2"));
        assert!(!transport.is_same_origin("https://ghe.example.com.evil.io/x"));
        assert!(!transport.is_same_origin("https://evil.io/api/v3/x"));
    }

    #[test]
    fn the_default_policy_doubles_from_a_second_and_refuses_long_rate_limits() {
        let policy = RateLimitPolicy::default().retry_policy();
        let mut retries = policy.start();
        assert_eq!(retries.next_wait(None), Ok(Duration::from_secs(1)));
        assert_eq!(
            retries.next_wait(Some(Duration::from_secs(301))),
            Err(kedge_http::GiveUp::WaitTooLong {
                asked: Duration::from_secs(301)
            })
        );
        assert_eq!(
            retries.next_wait(Some(Duration::from_secs(300))),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(retries.next_wait(None), Ok(Duration::from_secs(4)));
        assert_eq!(
            retries.next_wait(None),
            Err(kedge_http::GiveUp::RetriesUsed)
        );
        assert_eq!(retries.attempt(), 4);
    }

    fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[tokio::test]
    async fn a_403_without_rate_limit_signs_is_forbidden() {
        let transport = Transport::new(
            "https://api.github.com",
            "o/r".into(),
            RateLimitPolicy::default(),
        )
        .unwrap();
        let refused = answer(
            403,
            &[("x-ratelimit-remaining", "4999")],
            r#"{"message":"Resource not accessible by integration"}"#,
        );
        assert_eq!(transport.rate_limit_wait(&refused, 1), None);
        let call = Call {
            operation: Operation::CreatePullRequest,
            number: None,
            method: Method::POST,
            target: "/repos/o/r/pulls".into(),
            body: None,
        };
        let err = transport.status_error(&call, &refused);
        assert!(matches!(err, ForgeError::Forbidden { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("permission denied (HTTP 403: Resource not accessible by integration)"),
            "{err}"
        );

        let limited = answer(403, &[("retry-after", "7")], "{}");
        assert_eq!(
            transport.rate_limit_wait(&limited, 1),
            Some(Duration::from_secs(7))
        );
        let secondary = answer(
            403,
            &[],
            r#"{"message":"You have exceeded a secondary rate limit."}"#,
        );
        assert_eq!(
            transport.rate_limit_wait(&secondary, 3),
            Some(Duration::from_secs(240))
        );
        assert_eq!(
            transport.rate_limit_wait(&answer(500, &[("retry-after", "1")], ""), 1),
            None
        );
    }
}
