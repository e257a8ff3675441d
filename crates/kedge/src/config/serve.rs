//! `serve:` in `kedge.yaml`: where `kedge serve` listens, which webhooks it
//! accepts and how they authenticate, and how its work queue behaves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kedge_webhook::RegistrySource;
use serde::Deserialize;

use super::{ConfigError, ImageConfig};

/// Longest debounce window accepted: events wait this long before their job runs.
const MAX_DEBOUNCE: Duration = Duration::from_secs(3600);
/// Longest polling interval accepted.
const MAX_POLL: Duration = Duration::from_secs(30 * 24 * 3600);

/// `serve:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServeConfig {
    /// Listen address (default `0.0.0.0:8080`; `--listen` overrides).
    #[serde(default)]
    pub listen: Option<String>,
    /// Separate listener for `/metrics` (default: served on `listen`).
    #[serde(default)]
    pub metrics_listen: Option<String>,
    /// Events for one image within this window become one job (default `2s`).
    #[serde(default)]
    pub debounce: Option<String>,
    /// Git events (pushes, pull requests) for one repository and branch
    /// within this window become one job (default `200ms`).
    #[serde(default)]
    pub git_debounce: Option<String>,
    /// Safety-net polling interval per image (default `5m`; `0s` for never).
    #[serde(default)]
    pub poll_interval: Option<String>,
    /// Most distinct jobs waiting; beyond it deliveries get 503 (default 1024).
    #[serde(default)]
    pub queue_capacity: Option<usize>,
    /// Largest accepted body (default 5 MiB).
    #[serde(default)]
    pub body_limit_bytes: Option<usize>,
    /// `POST /webhooks/github`.
    #[serde(default)]
    pub github: Option<GitHubWebhookConfig>,
    /// `POST /webhooks/registry/{name}`.
    #[serde(default)]
    pub receivers: Vec<ReceiverConfig>,
}

/// `serve.github`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitHubWebhookConfig {
    /// The webhook secret.
    #[serde(default, flatten)]
    pub secret: SecretSource,
    /// Accept unsigned deliveries (tests and closed networks only).
    #[serde(default)]
    pub insecure: bool,
}

/// `serve.receivers[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReceiverConfig {
    /// URL segment: `/webhooks/registry/{name}`.
    pub name: String,
    /// `distribution`, `gitlab`, `dockerhub`, `harbor`, `quay`, `acr`, `jfrog`, `generic`.
    #[serde(deserialize_with = "parse_source")]
    pub source: RegistrySource,
    /// How deliveries authenticate.
    #[serde(default)]
    pub auth: Option<ReceiverAuthConfig>,
    /// Accept unauthenticated deliveries (only without `auth`).
    #[serde(default)]
    pub insecure: bool,
    /// Registry host for payloads that name none.
    #[serde(default)]
    pub registry: Option<String>,
}

/// `serve.receivers[].auth`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReceiverAuthConfig {
    /// `header` (a header equals the secret), `hmac` (HMAC-SHA256 of the body),
    /// `basic` (HTTP basic, password = secret) or `url-token` (`?token=` or last path segment).
    #[serde(rename = "type")]
    pub kind: AuthKind,
    /// Header name (`header`, `hmac`).
    #[serde(default)]
    pub header: Option<String>,
    /// What precedes the hex digest (`hmac`, e.g. `sha256=`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// User name (`basic`).
    #[serde(default)]
    pub username: Option<String>,
    /// Where the secret comes from.
    #[serde(flatten)]
    pub secret: SecretSource,
}

/// `serve.receivers[].auth.type`: how a delivery proves where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuthKind {
    /// A header equals the secret.
    Header,
    /// HMAC-SHA256 of the body, hex, in a header.
    Hmac,
    /// HTTP basic auth, the password being the secret.
    Basic,
    /// `?token=` or the last path segment.
    UrlToken,
}

impl AuthKind {
    /// The name `kedge.yaml` spells it with.
    pub fn name(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Hmac => "hmac",
            Self::Basic => "basic",
            Self::UrlToken => "url-token",
        }
    }
}

/// Reads a receiver's `source:` by its name, listing the known ones when wrong.
fn parse_source<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<RegistrySource, D::Error> {
    let name = String::deserialize(deserializer)?;
    RegistrySource::ALL
        .into_iter()
        .find(|source| source.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = RegistrySource::ALL.iter().map(|s| s.name()).collect();
            serde::de::Error::custom(format!(
                "unknown source {name:?}; expected one of {}",
                names.join(", ")
            ))
        })
}

/// A secret from the environment or a file, never inline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretSource {
    /// Environment variable holding it.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// File holding it (trailing newline ignored).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

impl SecretSource {
    /// A source from a `*Env` and a `*File` key.
    pub fn new(env: Option<&str>, file: Option<&Path>) -> Self {
        Self {
            secret_env: env.map(str::to_owned),
            secret_file: file.map(Path::to_owned),
        }
    }

    /// Reads the secret: `Ok(None)` when neither source is set. A trailing newline
    /// is dropped; an empty secret is an error, since an empty header would match it.
    pub fn read(&self, key: &str) -> Result<Option<String>, ConfigError> {
        let fail = |message: String| ConfigError::key(key, message);
        let value = match (&self.secret_env, &self.secret_file) {
            (Some(_), Some(_)) => {
                return Err(fail(
                    "set an environment variable or a file, not both".into(),
                ));
            }
            (Some(name), None) => std::env::var(name)
                .map_err(|_| fail(format!("environment variable {name} is not set")))?,
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| fail(format!("{}: {e}", path.display())))?,
            (None, None) => return Ok(None),
        };
        let value = value.trim_end_matches(['\r', '\n']);
        if value.is_empty() {
            return Err(fail("the secret is empty".into()));
        }
        Ok(Some(value.to_owned()))
    }
}

impl ServeConfig {
    /// Checks what can be checked without reading secrets, so `kedge update` and
    /// `kedge serve` refuse the same typos.
    pub(super) fn validate(&self, path: &Path, images: &[ImageConfig]) -> Result<(), ConfigError> {
        let error = |line: u64, key: String, message: String| ConfigError {
            file: path.to_owned(),
            line,
            key,
            message,
        };
        let duration = |line: u64, key: String, value: &Option<String>, max: Duration| {
            let Some(text) = value else { return Ok(()) };
            match humantime::parse_duration(text) {
                Ok(d) if d <= max => Ok(()),
                Ok(_) => Err(error(
                    line,
                    key,
                    format!(
                        "{text:?} is longer than {}",
                        humantime::format_duration(max)
                    ),
                )),
                Err(e) => Err(error(line, key, format!("{text:?}: {e}"))),
            }
        };
        if self.body_limit_bytes == Some(0) {
            return Err(error(
                0,
                "serve.bodyLimitBytes".into(),
                "must be at least 1: a limit of 0 refuses every delivery".into(),
            ));
        }
        duration(0, "serve.debounce".into(), &self.debounce, MAX_DEBOUNCE)?;
        duration(
            0,
            "serve.gitDebounce".into(),
            &self.git_debounce,
            MAX_DEBOUNCE,
        )?;
        duration(
            0,
            "serve.pollInterval".into(),
            &self.poll_interval,
            MAX_POLL,
        )?;
        for (i, image) in images.iter().enumerate() {
            let key = format!("images[{i}].pollInterval");
            duration(image.line, key, &image.poll_interval, MAX_POLL)?;
        }
        for (i, receiver) in self.receivers.iter().enumerate() {
            if let Some(header) = receiver.auth.as_ref().and_then(|a| a.header.as_deref())
                && !is_header_name(header)
            {
                return Err(error(
                    0,
                    format!("serve.receivers[{i}].auth.header"),
                    format!(
                        "{:?} is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                        header.escape_debug().to_string()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// An HTTP header name: one or more RFC 9110 token characters.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
