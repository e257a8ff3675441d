//! The update flow: discover each image's tag, rewrite the manifests in a
//! working clone, then publish: one commit pushed to the base branch, or one
//! branch and pull request per configured grouping.
//!
//! A push that loses a race (the branch moved) fetches the new head and runs
//! the rewrite again on it, a bounded number of times, so two writers updating
//! different images both land and the same image from both lands once.

mod apply;
mod publish;
mod result;

use std::path::PathBuf;
use std::sync::Arc;

use std::future::Future;

use futures::StreamExt;

use kedge_forge::{Forge, GitHub};
use kedge_git::{Author, GitAuth, GitError, Remote};
use kedge_policy::TagPolicy;
use kedge_registry::{
    ClientConfig, CredentialStore, Credentials, ImageName, Platform, Registry, RegistryClient,
    RegistrySettings,
};

pub use result::{
    FailureKind, ImageFailure, ImageUpdate, PullRequestAction, PullRequestResult, UpdateResult,
};

use crate::config::{Config, ConfigError, ImageConfig, Pin, WriteBackMode};
use crate::discover::{DiscoverError, DiscoverOptions, discover};
use apply::Planned;

/// Pushes tried before giving up when other writers keep moving the branch.
const MAX_PUSH_ATTEMPTS: u32 = 5;

/// Images discovered at once; each registry's own request rate still applies.
const DISCOVERY_CONCURRENCY: usize = 8;

/// Why an update run failed. Nothing half-done was pushed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// An environment variable the configuration names is not set.
    #[error("{key}: environment variable {name} is not set")]
    MissingEnv {
        /// The configuration key naming it.
        key: String,
        /// The variable.
        name: String,
    },

    /// A file the configuration names could not be read.
    #[error("{key}: {path}: {source}")]
    File {
        /// The configuration key naming it.
        key: String,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Tag discovery failed for an image.
    #[error("image {alias}: {source}")]
    Discover {
        /// The image's alias.
        alias: String,
        /// What went wrong.
        #[source]
        source: Box<DiscoverError>,
    },

    /// A target named in the configuration is not in the repository.
    #[error("image {alias}: target {target:?} does not exist in the repository")]
    MissingTarget {
        /// The image's alias.
        alias: String,
        /// The missing path.
        target: String,
    },

    /// A manifest is a symlink that leads outside the repository; kedge writes nothing.
    #[error("image {alias}: {path} resolves outside the repository; not rewriting it")]
    OutsideRepository {
        /// The image's alias.
        alias: String,
        /// The path in the repository.
        path: String,
    },

    /// The manifests could not be rewritten; the working clone is discarded.
    #[error("image {alias}: {source}")]
    Rewrite {
        /// The image's alias.
        alias: String,
        /// The rewriter's error (file, line and column).
        #[source]
        source: kedge_rewrite::RewriteError,
    },

    /// A template did not render.
    #[error("template {key}: {source}")]
    Template {
        /// The configuration key of the template.
        key: &'static str,
        /// The template engine's error (line and what it could not do).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A git operation failed.
    #[error(transparent)]
    Git(#[from] GitError),

    /// Other writers kept moving the branch.
    #[error("git push to {branch}: the branch moved on each of {attempts} attempts; giving up")]
    TooManyRaces {
        /// The branch.
        branch: String,
        /// Attempts made.
        attempts: u32,
    },

    /// The forge refused a pull request operation.
    #[error(transparent)]
    Forge(#[from] kedge_forge::ForgeError),

    /// A blocking task panicked or was cancelled.
    #[error("internal task failed: {0}")]
    Task(#[source] tokio::task::JoinError),
}

/// Options of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Show what would change; write, commit and push nothing.
    pub dry_run: bool,
}

/// One configured image, parsed and validated once: discovery runs on every event.
struct Tracked {
    alias: String,
    image: String,
    name: ImageName,
    policy: Arc<TagPolicy>,
    platform: Option<Platform>,
    pin: Pin,
    targets: Vec<String>,
    object_image_paths: Vec<String>,
}

impl Tracked {
    fn new(index: usize, config: &ImageConfig) -> Result<Self, UpdateError> {
        let key = |field: &str| format!("images[{index}].{field}");
        let invalid = |field: &str, message: String| {
            UpdateError::Config(ConfigError::key(key(field), message))
        };
        let policy = config
            .tag_policy()
            .map_err(|(field, message)| invalid(&format!("policy.{field}"), message))?;
        let platform =
            match &config.platform {
                Some(p) => Some(p.parse().map_err(|e: kedge_registry::RegistryError| {
                    invalid("platform", e.to_string())
                })?),
                None => None,
            };
        Ok(Self {
            alias: config.alias.clone(),
            image: config.image.clone(),
            name: config
                .image
                .parse()
                .map_err(|e: kedge_registry::RegistryError| invalid("image", e.to_string()))?,
            policy: Arc::new(policy),
            platform,
            pin: config.pin,
            targets: config.targets.clone(),
            object_image_paths: config.object_image_paths.clone(),
        })
    }
}

/// A configured updater: clients built once, reusable across runs (the webhook
/// server calls [`run`](Self::run) for every event).
///
/// [`Updater::new`] talks to OCI registries over HTTP and to GitHub;
/// [`Updater::with_clients`] takes any [`Registry`] and [`Forge`]
/// implementation instead (a mirror, a cache, another forge).
pub struct Updater<R: Registry = RegistryClient, F: Forge = GitHub> {
    config: Config,
    images: Vec<Tracked>,
    registry: R,
    remote: Remote,
    author: Author,
    cache_dir: PathBuf,
    /// The forge client, once built.
    forge: std::sync::OnceLock<F>,
    /// Builds the forge client on first use, inside the runtime that runs the
    /// update (octocrab needs one); its settings were read and checked by `new`.
    make_forge: Option<MakeForge<F>>,
}

/// Builds a forge client from settings read up front.
type MakeForge<F> = Box<dyn Fn() -> Result<F, UpdateError> + Send + Sync>;

impl Updater {
    /// Validates the configuration ([`Config::validate`]) and builds the
    /// clients. Reads the environment variables and files it names; contacts
    /// nothing, so an invalid configuration never reaches the network. Works
    /// outside a Tokio runtime; [`run`](Self::run) needs one.
    pub fn new(config: Config) -> Result<Self, UpdateError> {
        let registry = RegistryClient::new(registry_config(&config)?);
        let make_forge = publish::forge_config(&config)?.map(|github| {
            let make: MakeForge<GitHub> = Box::new(move || Ok(GitHub::new(github.clone())?));
            make
        });
        let mut updater = Updater::with_clients(config, registry, None)?;
        updater.make_forge = make_forge;
        Ok(updater)
    }
}

impl<R: Registry, F: Forge> Updater<R, F> {
    /// An updater over the given registry and forge clients (`forge` may be
    /// `None` in push mode). Validates the configuration as [`Updater::new`]
    /// does; registry settings and credentials in the configuration are the
    /// given client's business.
    pub fn with_clients(
        config: Config,
        registry: R,
        forge: Option<F>,
    ) -> Result<Self, UpdateError> {
        config.validate()?;
        for (key, template) in [
            ("writeBack.commitMessage", &config.write_back.commit_message),
            (
                "writeBack.pullRequest.branch",
                &config.write_back.pull_request.branch,
            ),
            (
                "writeBack.pullRequest.title",
                &config.write_back.pull_request.title,
            ),
            (
                "writeBack.pullRequest.body",
                &config.write_back.pull_request.body,
            ),
        ] {
            result::check_template(template).map_err(|source| UpdateError::Template {
                key,
                source: source.into(),
            })?;
        }
        let images = config
            .images
            .iter()
            .enumerate()
            .map(|(i, image)| Tracked::new(i, image))
            .collect::<Result<_, _>>()?;
        let remote = Remote {
            url: config.git.url.clone(),
            auth: git_auth(&config)?,
        };
        let author = Author {
            name: config.git.author.name.clone(),
            email: config.git.author.email.clone(),
        };
        let cache_dir = config
            .git
            .cache_dir
            .clone()
            .unwrap_or_else(default_cache_dir);
        Ok(Self {
            config,
            images,
            registry,
            remote,
            author,
            cache_dir,
            forge: forge.map(std::sync::OnceLock::from).unwrap_or_default(),
            make_forge: None,
        })
    }

    /// Uses `dir` for cached clones instead of the configured or default one.
    pub fn with_cache_dir(mut self, dir: PathBuf) -> Self {
        self.cache_dir = dir;
        self
    }

    /// Uses `auth` for the manifest repository instead of what the
    /// configuration's `git.auth` names: credentials held in memory, such as
    /// a token read from a Kubernetes Secret rather than the environment.
    pub fn with_git_auth(mut self, auth: GitAuth) -> Self {
        self.remote.auth = auth;
        self
    }

    /// The configuration this updater runs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs the whole flow for every configured image.
    pub async fn run(&self, options: RunOptions) -> Result<UpdateResult, UpdateError> {
        self.run_images(None, options).await
    }

    /// Runs the flow for the images whose alias is in `aliases` (all when `None`).
    ///
    /// An image that fails (its registry is down, a target is missing, a file
    /// does not parse) is reported in [`UpdateResult::failed`] and the others
    /// are still updated; an `Err` means the run as a whole failed (git, the
    /// forge) and nothing half-done was pushed.
    #[tracing::instrument(skip_all, fields(repo = %kedge_git::redact_url(&self.config.git.url), dry_run = options.dry_run))]
    pub async fn run_images(
        &self,
        aliases: Option<&[&str]>,
        options: RunOptions,
    ) -> Result<UpdateResult, UpdateError> {
        if self.config.write_back.mode == WriteBackMode::PullRequest {
            // The forge client is built now, so a bad forge setting fails the
            // run before any branch is pushed.
            self.forge()?;
        }
        let (planned, discovery_failed) = self.plan(aliases).await;
        let mut result = if planned.is_empty() {
            UpdateResult::default()
        } else {
            match self.config.write_back.mode {
                WriteBackMode::Push => publish::push(self, &planned, options.dry_run).await?,
                WriteBackMode::PullRequest => {
                    publish::pull_requests(self, &planned, options.dry_run).await?
                }
            }
        };
        result.failed.splice(0..0, discovery_failed);
        let settled: Vec<&str> = (result.updates.iter().map(|u| u.alias.as_str()))
            .chain(result.failed.iter().map(|f| f.alias.as_str()))
            .collect();
        result.current = planned
            .iter()
            .filter(|p| !settled.contains(&p.alias.as_str()))
            .map(|p| p.alias.clone())
            .collect();
        result.dry_run = options.dry_run;
        for update in &result.updates {
            tracing::info!(
                image = %update.image, alias = %update.alias, from = %update.old_reference,
                to = %update.new_reference, files = update.files.len(), "image updated"
            );
        }
        Ok(result)
    }

    /// Discovers the tag of every selected image, several at once; an image
    /// whose discovery fails is returned as a failure, not as an error.
    async fn plan(&self, aliases: Option<&[&str]>) -> (Vec<Planned>, Vec<ImageFailure>) {
        type Found<'a> = (
            &'a Tracked,
            Result<crate::discover::Discovery, DiscoverError>,
        );
        let lookups: Vec<std::pin::Pin<Box<dyn Future<Output = Found<'_>> + Send + '_>>> = self
            .images
            .iter()
            .filter(|image| aliases.is_none_or(|a| a.contains(&image.alias.as_str())))
            .map(|image| {
                let lookup: std::pin::Pin<Box<dyn Future<Output = Found<'_>> + Send + '_>> =
                    Box::pin(async move { (image, self.discover_image(image).await) });
                lookup
            })
            .collect();
        let found: Vec<Found<'_>> = futures::stream::iter(lookups)
            .buffered(DISCOVERY_CONCURRENCY)
            .collect()
            .await;
        let mut planned = Vec::new();
        let mut failed = Vec::new();
        for (image, found) in found {
            match found {
                Ok(found) => planned.push(image.planned(found)),
                Err(source) => {
                    let error = UpdateError::Discover {
                        alias: image.alias.clone(),
                        source: Box::new(source),
                    };
                    failed.push(ImageFailure::new(&image.alias, &image.image, &error));
                }
            }
        }
        (planned, failed)
    }

    async fn discover_image(
        &self,
        image: &Tracked,
    ) -> Result<crate::discover::Discovery, DiscoverError> {
        let options = DiscoverOptions {
            platform: image.platform.clone(),
            now: None,
        };
        discover(&self.registry, &image.name, &image.policy, &options).await
    }
}

impl Tracked {
    /// The plan for a discovered tag, pinned as configured.
    fn planned(&self, found: crate::discover::Discovery) -> Planned {
        let (tag_part, digest_part) = match self.pin {
            Pin::Tag => (Some(found.tag.clone()), None),
            Pin::Digest => (None, Some(found.digest.clone())),
            Pin::TagAndDigest => (Some(found.tag.clone()), Some(found.digest.clone())),
        };
        let mut reference = self.image.clone();
        if let Some(tag) = &tag_part {
            reference = format!("{reference}:{tag}");
        }
        if let Some(digest) = &digest_part {
            reference = format!("{reference}@{digest}");
        }
        Planned {
            alias: self.alias.clone(),
            image: self.image.clone(),
            tag: found.tag,
            digest: found.digest,
            reference,
            tag_part,
            digest_part,
            targets: self.targets.clone(),
            object_image_paths: self.object_image_paths.clone(),
            // Build times are not at hand when applying, so such a policy cannot rank there.
            policy: (!self.policy.needs_build_time()).then(|| Arc::clone(&self.policy)),
        }
    }
}

/// An error and its causes on one line, each cause once: what `kedge update`
/// prints and what [`ImageFailure::error`] holds.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

fn env(key: &str, name: &str) -> Result<String, UpdateError> {
    std::env::var(name).map_err(|_| UpdateError::MissingEnv {
        key: key.to_owned(),
        name: name.to_owned(),
    })
}

fn git_auth(config: &Config) -> Result<GitAuth, UpdateError> {
    let auth = &config.git.auth;
    if let Some(token_env) = &auth.token_env {
        let username = match (&auth.username_env, &auth.username) {
            (Some(name), _) => env("git.auth.usernameEnv", name)?,
            (None, Some(username)) => username.clone(),
            (None, None) => "x-access-token".to_owned(),
        };
        return Ok(GitAuth::UserPass {
            username,
            password: env("git.auth.tokenEnv", token_env)?,
        });
    }
    if let Some(key) = &auth.ssh_key_file {
        return Ok(GitAuth::SshKey {
            private_key: key.clone(),
            passphrase: None,
        });
    }
    Ok(GitAuth::None)
}

fn registry_config(config: &Config) -> Result<ClientConfig, UpdateError> {
    let mut credentials =
        CredentialStore::from_default_docker_config().map_err(|e| UpdateError::File {
            key: "registries (docker config)".into(),
            path: PathBuf::from("~/.docker/config.json"),
            source: e.into(),
        })?;
    let mut registries = Vec::new();
    for (i, registry) in config.registries.iter().enumerate() {
        if let Some(secret) = &registry.pull_secret {
            let store =
                CredentialStore::from_kubernetes_secret(secret).map_err(|e| UpdateError::File {
                    key: format!("registries[{i}].pullSecret"),
                    path: secret.clone(),
                    source: e.into(),
                })?;
            credentials.merge(store);
        }
        if let Some(creds) = &registry.credentials {
            let key = format!("registries[{i}].credentials");
            credentials.insert(
                &registry.prefix,
                Credentials::Basic {
                    username: env(&format!("{key}.usernameEnv"), &creds.username_env)?,
                    password: env(&format!("{key}.passwordEnv"), &creds.password_env)?,
                },
            );
        }
        let settings = registry.settings().map_err(|(field, message)| {
            ConfigError::key(format!("registries[{i}].{field}"), message)
        })?;
        registries.push((registry.prefix.clone(), settings));
    }
    Ok(ClientConfig {
        registries,
        default_settings: RegistrySettings::default(),
        credentials,
    })
}

fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("kedge").join("git")
}
