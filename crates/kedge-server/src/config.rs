//! What `kedge serve` is configured with, and its validation into the lookup
//! tables the handlers use.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kedge_webhook::{ReceiverAuth, RegistrySource, Secret, repository_key};

use crate::ServerError;
use crate::queue::JobKey;

/// Default largest accepted body: 5 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 5 * 1024 * 1024;
/// Default poll interval of a tracked image: 5 minutes.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(300);

/// Everything the server needs besides its listeners and the runner.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The GitHub receiver at `POST /webhooks/github`; `None` disables the route.
    pub github: Option<GitHubReceiver>,
    /// Registry receivers at `POST /webhooks/registry/{name}`.
    pub receivers: Vec<RegistryReceiver>,
    /// Images kedge keeps up to date.
    pub images: Vec<TrackedImage>,
    /// Git repositories whose pushes and merges trigger a refresh.
    pub repositories: Vec<TrackedRepository>,
    /// Debounce, capacity and concurrency of the work queue.
    pub queue: QueueSettings,
    /// Largest accepted request body in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Connections, header time, bodies in flight and shutdown drain.
    pub limits: ConnectionLimits,
}

/// What one `kedge serve` holds for its clients at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// Open connections on the webhook listener; beyond it, a 503 and close.
    pub max_connections: usize,
    /// Open connections from one address; beyond it, a 503 and close.
    pub max_connections_per_ip: usize,
    /// Longest time a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// Request bodies being read at once, in bytes, over all connections;
    /// beyond it, a 503 with `Retry-After`.
    pub max_in_flight_body_bytes: usize,
    /// Longest wait on shutdown for requests still arriving.
    pub drain_timeout: Duration,
}

impl Default for ConnectionLimits {
    /// 1,024 connections, 64 per address, 10 s for headers, 64 MiB of bodies, 10 s drain.
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_ip: 64,
            header_timeout: Duration::from_secs(10),
            max_in_flight_body_bytes: 64 * 1024 * 1024,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            github: None,
            receivers: Vec::new(),
            images: Vec::new(),
            repositories: Vec::new(),
            queue: QueueSettings::default(),
            body_limit: DEFAULT_BODY_LIMIT,
            limits: ConnectionLimits::default(),
        }
    }
}

/// The GitHub webhook receiver.
#[derive(Debug, Clone)]
pub struct GitHubReceiver {
    /// The webhook secret GitHub signs `X-Hub-Signature-256` with.
    pub secret: Option<Secret>,
    /// Accept unsigned deliveries when there is no secret. Only for tests and closed networks.
    pub insecure: bool,
}

/// One registry receiver: a name in the URL, a payload format and its authentication.
#[derive(Debug, Clone)]
pub struct RegistryReceiver {
    /// The URL segment: `/webhooks/registry/{name}`.
    pub name: String,
    /// Which vendor format the receiver reads.
    pub source: RegistrySource,
    /// How deliveries prove where they come from; `None` needs `insecure`.
    pub auth: Option<ReceiverAuth>,
    /// Accept unauthenticated deliveries when `auth` is `None`.
    pub insecure: bool,
    /// Registry host used when a payload names none (Harbor without
    /// `resource_url`, JFrog behind a custom domain).
    pub registry: Option<String>,
}

/// An image kedge keeps up to date.
#[derive(Debug, Clone)]
pub struct TrackedImage {
    /// The name jobs are keyed by and the runner is called with.
    pub alias: String,
    /// The image, `127.0.0.1:5000/team/web` or `nginx`; normalised on validation.
    pub image: String,
    /// How often to poll as a safety net (jittered); `None` for the 5 minute
    /// default, `Some(Duration::ZERO)` for never.
    pub poll_interval: Option<Duration>,
}

/// The [`TrackedImage::image`] that tracks every image: a push of any image
/// queues an image-pushed job naming it (the controller's ImageUpdates name
/// theirs at run time).
pub const ANY_IMAGE: &str = "*";

/// The [`TrackedRepository::repo`] that tracks every repository: a push to
/// any of them queues a refresh job naming it as GitHub does (`owner/name`).
pub const ANY_REPOSITORY: &str = "*";

/// A git repository whose pushes and merged pull requests trigger a refresh.
#[derive(Debug, Clone)]
pub struct TrackedRepository {
    /// `owner/name` as GitHub names it, or a clone URL of it (HTTPS or SSH, any host);
    /// matched case-insensitively and passed back to the runner as written here.
    /// [`ANY_REPOSITORY`] matches every repository.
    pub repo: String,
    /// Branches that matter; empty for every branch.
    pub branches: Vec<String>,
}

/// Work queue settings.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// Image events (registry pushes, polls) for the same key within this
    /// window from the first become one job: one push of a multi-platform
    /// image sends a notification per manifest.
    pub debounce: Duration,
    /// The same for Git events (pushes, pull requests): GitHub sends one
    /// delivery per push, and a merge's `push` and `pull_request` deliveries
    /// arrive together, so a short window coalesces them without delaying
    /// the refresh they ask for.
    pub git_debounce: Duration,
    /// Most distinct keys waiting at once; beyond it deliveries get 503.
    pub capacity: usize,
    /// Most jobs running at once (never two for the same key).
    pub max_concurrent_jobs: usize,
    /// How long shutdown waits for queued and running jobs.
    pub shutdown_timeout: Duration,
    /// The `Retry-After` given with a 503.
    pub retry_after: Duration,
    /// Longest a job may run; a job that hangs (a stalled git server, say) is
    /// abandoned and counted as failed, so its key runs again.
    pub job_timeout: Duration,
}

impl QueueSettings {
    /// How long events for `key` are gathered before its job runs.
    pub fn window(&self, key: &JobKey) -> Duration {
        match key {
            JobKey::Refresh { .. } | JobKey::PullRequest(_) => self.git_debounce,
            JobKey::Update(_) | JobKey::ImagePushed(_) => self.debounce,
        }
    }
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            debounce: Duration::from_secs(2),
            git_debounce: Duration::from_millis(200),
            capacity: 1024,
            max_concurrent_jobs: 4,
            shutdown_timeout: Duration::from_secs(30),
            retry_after: Duration::from_secs(5),
            job_timeout: Duration::from_secs(600),
        }
    }
}

/// A receiver after validation: its auth is known to be present unless insecure.
#[derive(Debug)]
pub(crate) struct Receiver {
    pub name: String,
    pub source: RegistrySource,
    pub auth: Option<ReceiverAuth>,
    pub registry: Option<String>,
}

/// The validated configuration, as lookup tables.
#[derive(Debug)]
pub(crate) struct Routing {
    /// `None`: no GitHub route. `Some(None)`: insecure, unsigned deliveries accepted.
    pub github: Option<Option<ReceiverAuth>>,
    pub receivers: HashMap<String, Arc<Receiver>>,
    /// Normalised image → aliases tracking it.
    pub images: HashMap<String, Vec<String>>,
    /// Whether every pushed image queues an image-pushed job ([`ANY_IMAGE`]).
    pub any_image: bool,
    /// Lower-case `owner/name` → (configured repo, branches).
    pub repositories: HashMap<String, Vec<TrackedRepository>>,
    pub polls: Vec<(String, Duration)>,
}

impl ServerConfig {
    /// Checks the configuration and builds the handlers' lookup tables.
    pub(crate) fn validate(&self) -> Result<Routing, ServerError> {
        if self.body_limit == 0 {
            return Err(ServerError::InvalidLimit(
                "body_limit must be at least 1 byte",
            ));
        }
        if self.limits.max_in_flight_body_bytes < self.body_limit {
            return Err(ServerError::InvalidLimit(
                "max_in_flight_body_bytes must be at least body_limit",
            ));
        }
        if self.limits.max_connections == 0 || self.limits.max_connections_per_ip == 0 {
            return Err(ServerError::InvalidLimit(
                "connection limits must be at least 1",
            ));
        }
        if self.queue.capacity == 0 {
            return Err(ServerError::InvalidQueueSettings(
                "capacity must be at least 1",
            ));
        }
        if self.queue.max_concurrent_jobs == 0 {
            return Err(ServerError::InvalidQueueSettings(
                "max_concurrent_jobs must be at least 1",
            ));
        }
        let github = match &self.github {
            None => None,
            Some(GitHubReceiver {
                secret: Some(secret),
                ..
            }) if secret.expose().is_empty() => {
                return Err(ServerError::EmptySecret {
                    receiver: "github".to_owned(),
                });
            }
            Some(GitHubReceiver {
                secret: Some(secret),
                ..
            }) => Some(Some(ReceiverAuth::github(secret.clone()))),
            Some(GitHubReceiver {
                secret: None,
                insecure: true,
            }) => Some(None),
            Some(GitHubReceiver {
                secret: None,
                insecure: false,
            }) => {
                return Err(ServerError::ReceiverWithoutSecret {
                    receiver: "github".to_owned(),
                });
            }
        };
        let (images, polls) = self.image_tables()?;
        let mut repositories: HashMap<String, Vec<TrackedRepository>> = HashMap::new();
        for repository in &self.repositories {
            repositories
                .entry(repository_key(&repository.repo))
                .or_default()
                .push(repository.clone());
        }
        let any_image = self.images.iter().any(|tracked| tracked.image == ANY_IMAGE);
        Ok(Routing {
            any_image,
            github,
            receivers: self.receiver_table()?,
            images,
            repositories,
            polls,
        })
    }

    fn receiver_table(&self) -> Result<HashMap<String, Arc<Receiver>>, ServerError> {
        let mut receivers = HashMap::new();
        for receiver in &self.receivers {
            let name = &receiver.name;
            let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
            if name.is_empty() || !name.chars().all(valid) {
                return Err(ServerError::InvalidReceiverName(name.clone()));
            }
            if receiver.auth.is_none() && !receiver.insecure {
                return Err(ServerError::ReceiverWithoutSecret {
                    receiver: name.clone(),
                });
            }
            if receiver
                .auth
                .as_ref()
                .is_some_and(|a| secret_of(a).expose().is_empty())
            {
                return Err(ServerError::EmptySecret {
                    receiver: name.clone(),
                });
            }
            let validated = Receiver {
                name: name.clone(),
                source: receiver.source,
                auth: receiver.auth.clone(),
                registry: receiver.registry.clone(),
            };
            if receivers
                .insert(name.clone(), Arc::new(validated))
                .is_some()
            {
                return Err(ServerError::DuplicateReceiver(name.clone()));
            }
        }
        Ok(receivers)
    }

    #[allow(clippy::type_complexity)]
    fn image_tables(
        &self,
    ) -> Result<(HashMap<String, Vec<String>>, Vec<(String, Duration)>), ServerError> {
        let mut images: HashMap<String, Vec<String>> = HashMap::new();
        let mut aliases = std::collections::HashSet::new();
        let mut polls = Vec::new();
        for tracked in &self.images {
            if tracked.image == ANY_IMAGE {
                continue;
            }
            if !aliases.insert(tracked.alias.clone()) {
                return Err(ServerError::DuplicateAlias(tracked.alias.clone()));
            }
            let image = kedge_webhook::normalise_image_name(&tracked.image).map_err(|source| {
                ServerError::InvalidImage {
                    alias: tracked.alias.clone(),
                    source,
                }
            })?;
            images.entry(image).or_default().push(tracked.alias.clone());
            let interval = tracked.poll_interval.unwrap_or(DEFAULT_POLL_INTERVAL);
            if !interval.is_zero() {
                polls.push((tracked.alias.clone(), interval));
            }
        }
        Ok((images, polls))
    }
}

/// The shared secret behind any receiver authentication.
fn secret_of(auth: &ReceiverAuth) -> &crate::Secret {
    match auth {
        ReceiverAuth::HmacSha256 { secret, .. } => secret,
        ReceiverAuth::Header { value, .. } => value,
        ReceiverAuth::Basic { password, .. } => password,
        ReceiverAuth::UrlToken { token } => token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_without_secret_is_refused_unless_insecure() {
        let mut config = ServerConfig {
            receivers: vec![RegistryReceiver {
                name: "hub".into(),
                source: RegistrySource::DockerHub,
                auth: None,
                insecure: false,
                registry: None,
            }],
            ..ServerConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert!(
            matches!(err, ServerError::ReceiverWithoutSecret { receiver } if receiver == "hub")
        );
        config.receivers[0].insecure = true;
        assert!(config.validate().is_ok());
    }

    #[test]
    fn empty_secrets_are_refused() {
        let config = ServerConfig {
            receivers: vec![RegistryReceiver {
                name: "local".into(),
                source: RegistrySource::Distribution,
                auth: Some(ReceiverAuth::Header {
                    name: "authorization".into(),
                    value: Secret::new(""),
                }),
                insecure: false,
                registry: None,
            }],
            ..ServerConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert!(matches!(err, ServerError::EmptySecret { receiver } if receiver == "local"));
        let github = ServerConfig {
            github: Some(GitHubReceiver {
                secret: Some(Secret::new("")),
                insecure: false,
            }),
            ..ServerConfig::default()
        };
        assert!(matches!(
            github.validate(),
            Err(ServerError::EmptySecret { .. })
        ));
    }

    #[test]
    fn github_without_secret_is_refused() {
        let config = ServerConfig {
            github: Some(GitHubReceiver {
                secret: None,
                insecure: false,
            }),
            ..ServerConfig::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn repository_keys_from_urls() {
        assert_eq!(
            repository_key("https://github.com/Org/Repo.git"),
            "org/repo"
        );
        assert_eq!(repository_key("git@github.com:org/repo.git"), "org/repo");
        assert_eq!(repository_key("Org/Repo"), "org/repo");
        assert_eq!(
            repository_key("https://ghe.example.com:8443/Org/Repo/"),
            "org/repo"
        );
        assert_eq!(
            repository_key("ssh://git@github.com/org/repo.git"),
            "org/repo"
        );
    }
}
