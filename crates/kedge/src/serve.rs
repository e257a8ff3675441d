//! `kedge serve` as a library: the webhook server's configuration built from
//! `kedge.yaml`, and the job runner that turns queued events into update runs.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kedge_server::{
    GitHubReceiver, JobError, JobKey, JobOutcome, JobRunner, QueueSettings, ReceiverAuth,
    RegistryReceiver, Secret, ServerConfig, TrackedImage, TrackedRepository,
};
use kedge_webhook::ImageEvent;

use crate::config::{AuthKind, Config, ConfigError, ReceiverAuthConfig};
use crate::update::{RunOptions, Updater};

pub use kedge_server::{Server, ServerError};

/// Runs an [`Updater`] for the jobs the server queues: one image per image
/// event or poll, every image after a push to the manifest repository.
pub struct UpdateRunner {
    updater: Arc<Updater>,
}

impl UpdateRunner {
    /// A runner over `updater`.
    pub fn new(updater: Arc<Updater>) -> Self {
        Self { updater }
    }
}

/// A job fails when any of its images failed, even if others were updated:
/// the failure is what the metrics and logs must show.
fn outcome(result: &crate::update::UpdateResult) -> Result<JobOutcome, JobError> {
    if !result.failed.is_empty() {
        let failures: Vec<String> = result
            .failed
            .iter()
            .map(|f| format!("image {}: {}", f.alias, f.error))
            .collect();
        return Err(JobError::new(failures.join("; ")));
    }
    let closed_or_opened = !result.pull_requests.is_empty();
    Ok(if result.updates.is_empty() && !closed_or_opened {
        JobOutcome::Unchanged
    } else {
        JobOutcome::Changed
    })
}

impl JobRunner for UpdateRunner {
    async fn update_image(
        &self,
        alias: &str,
        hint: Option<ImageEvent>,
    ) -> Result<JobOutcome, JobError> {
        tracing::info!(alias, tag = ?hint.as_ref().and_then(|h| h.tag.as_deref()), "update job");
        // The hint only wakes kedge up: the policy still decides from the registry's tag list.
        let result = self
            .updater
            .run_images(Some(&[alias]), RunOptions::default())
            .await
            .map_err(JobError::new)?;
        outcome(&result)
    }

    async fn refresh_repository(
        &self,
        repo: &str,
        branch: &str,
        _changed_paths: &[String],
    ) -> Result<JobOutcome, JobError> {
        tracing::info!(repo = %kedge_git::redact_url(repo), branch, "refresh job");
        let result = self
            .updater
            .run(RunOptions::default())
            .await
            .map_err(JobError::new)?;
        outcome(&result)
    }

    /// Every job of this runner writes the one manifest repository its
    /// configuration names (an image job and a refresh job have different
    /// queue keys but the same clone), so they take turns.
    fn repository(&self, _job: &JobKey) -> String {
        self.updater.config().git.url.clone()
    }

    /// The git work of a run happens on a blocking thread holding the clone's
    /// lock; a job abandoned at its timeout leaves that thread to finish alone.
    fn busy_for(&self) -> Option<Duration> {
        kedge_git::longest_held_lock()
    }
}

/// Builds the server's configuration from `kedge.yaml`: tracked images and
/// repository, receivers with their secrets (read now), queue settings.
pub fn server_config(config: &Config, path: &Path) -> Result<ServerConfig, ConfigError> {
    let serve = &config.serve;
    let error = |key: &str, message: String| ConfigError {
        file: path.to_owned(),
        line: 0,
        key: key.to_owned(),
        message,
    };
    let duration = |key: &str, value: &Option<String>| -> Result<Option<Duration>, ConfigError> {
        value
            .as_deref()
            .map(humantime::parse_duration)
            .transpose()
            .map_err(|e| error(key, e.to_string()))
    };
    let default_poll = duration("serve.pollInterval", &serve.poll_interval)?;
    let mut images = Vec::new();
    for (i, image) in config.images.iter().enumerate() {
        let poll = duration(&format!("images[{i}].pollInterval"), &image.poll_interval)?;
        images.push(TrackedImage {
            alias: image.alias.clone(),
            image: image.image.clone(),
            poll_interval: poll.or(default_poll),
        });
    }
    let github = match &serve.github {
        Some(github) => Some(GitHubReceiver {
            secret: github.secret.read("serve.github")?.map(Secret::new),
            insecure: github.insecure,
        }),
        None => None,
    };
    let mut receivers = Vec::new();
    for (i, receiver) in serve.receivers.iter().enumerate() {
        let key = format!("serve.receivers[{i}]");
        let source = receiver.source;
        let auth = match &receiver.auth {
            Some(auth) => Some(receiver_auth(path, &format!("{key}.auth"), auth)?),
            None => None,
        };
        receivers.push(RegistryReceiver {
            name: receiver.name.clone(),
            source,
            auth,
            insecure: receiver.insecure,
            registry: receiver.registry.clone(),
        });
    }
    let mut queue = QueueSettings::default();
    if let Some(debounce) = duration("serve.debounce", &serve.debounce)? {
        queue.debounce = debounce;
    }
    if let Some(debounce) = duration("serve.gitDebounce", &serve.git_debounce)? {
        queue.git_debounce = debounce;
    }
    if let Some(capacity) = serve.queue_capacity {
        queue.capacity = capacity;
    }
    Ok(ServerConfig {
        github,
        receivers,
        images,
        repositories: vec![TrackedRepository {
            repo: kedge_git::redact_url(&config.git.url),
            branches: vec![config.git.branch.clone()],
        }],
        queue,
        body_limit: serve
            .body_limit_bytes
            .unwrap_or(kedge_server::DEFAULT_BODY_LIMIT),
        ..ServerConfig::default()
    })
}

fn receiver_auth(
    path: &Path,
    key: &str,
    auth: &ReceiverAuthConfig,
) -> Result<ReceiverAuth, ConfigError> {
    let missing = |field: &str| ConfigError {
        file: path.to_owned(),
        line: 0,
        key: format!("{key}.{field}"),
        message: format!("auth type {} needs {field}", auth.kind.name()),
    };
    let secret = auth
        .secret
        .read(key)?
        .map(Secret::new)
        .ok_or_else(|| missing("secretEnv or secretFile"))?;
    Ok(match auth.kind {
        AuthKind::Header => ReceiverAuth::Header {
            name: auth.header.clone().ok_or_else(|| missing("header"))?,
            value: secret,
        },
        AuthKind::Hmac => ReceiverAuth::HmacSha256 {
            header: auth.header.clone().ok_or_else(|| missing("header"))?,
            prefix: auth.prefix.clone().unwrap_or_default(),
            secret,
        },
        AuthKind::Basic => ReceiverAuth::Basic {
            username: auth.username.clone().ok_or_else(|| missing("username"))?,
            password: secret,
        },
        AuthKind::UrlToken => ReceiverAuth::UrlToken { token: secret },
    })
}
