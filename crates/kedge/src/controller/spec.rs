//! An `ImageUpdate`'s spec and the Secret values it names, turned into what
//! the update flow runs: a validated [`Config`] and the credentials beside it.
//!
//! Pure: nothing is read or written here. Values that libraries only take
//! as files (an SSH key for libgit2, a CA bundle for the registry's TLS) come
//! back as [`SecretFile`]s for the caller to write before running.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Secret;
use kedge_controller::{
    ImageSpec, ImageUpdateSpec, PinSpec, PolicySpec, PolicyStrategy, RegistrySpec, SecretKeyRef,
    SortOrder,
};
use kedge_forge::{GitHubAuth, GitHubConfig as ForgeClientConfig};
use kedge_git::GitAuth;
use kedge_policy::Order;
use kedge_registry::{ClientConfig, CredentialStore, Credentials, RegistrySettings};

use crate::config::{
    AuthorConfig, Config, ConfigError, ForgeConfig, GitHubAppConfig, GitHubConfig, ImageConfig,
    Pin, PolicyConfig, PullRequestConfig, RegistryConfig, Strategy, WriteBackConfig, WriteBackMode,
};

/// Why a spec and its Secrets do not make a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// A Secret the spec refers to does not exist in the resource's namespace.
    #[error("{field}: Secret {secret:?} not found in the ImageUpdate's namespace")]
    SecretNotFound {
        /// The spec field referring to it (`spec.git.auth.tokenSecretRef`).
        field: String,
        /// The Secret's name.
        secret: String,
    },
    /// The Secret exists but has no such key.
    #[error("{field}: Secret {secret:?} has no key {key:?}")]
    SecretKeyMissing {
        /// The spec field referring to it.
        field: String,
        /// The Secret's name.
        secret: String,
        /// The missing key.
        key: String,
    },
    /// A value that must be text (a token, a user name) is not UTF-8.
    #[error("{field}: key {key:?} of Secret {secret:?} is not UTF-8 text")]
    SecretNotText {
        /// The spec field referring to it.
        field: String,
        /// The Secret's name.
        secret: String,
        /// The key.
        key: String,
    },
    /// A pull Secret's `.dockerconfigjson` does not read.
    #[error("{field}: {source}")]
    PullSecret {
        /// The spec field referring to it.
        field: String,
        /// The parser's reason, naming the Secret.
        #[source]
        source: Box<kedge_registry::RegistryError>,
    },
    /// What the resource's own checks refuse (two Git credentials, pull
    /// requests without a forge, an interval that is not a duration).
    #[error("spec.{source}")]
    Spec {
        /// The resource's reason, naming the field.
        #[source]
        source: kedge_controller::Error,
    },
    /// What `kedge.yaml`'s validation refuses: a policy, an image name, a
    /// target outside the repository, a registry limit.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as a path in the resource (`spec.images[1].policy.constraint`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl SpecError {
    /// The spec field at fault, as a path from the resource's root.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::SecretNotFound { field, .. }
            | Self::SecretKeyMissing { field, .. }
            | Self::SecretNotText { field, .. }
            | Self::PullSecret { field, .. }
            | Self::Invalid { field, .. } => Some(field),
            Self::Spec { .. } => None,
        }
    }

    /// Whether creating or filling a Secret fixes it (the spec itself is fine).
    pub fn is_missing_secret(&self) -> bool {
        matches!(
            self,
            Self::SecretNotFound { .. } | Self::SecretKeyMissing { .. }
        )
    }

    /// A `kedge.yaml` validation error, its key moved under `spec.`.
    pub(crate) fn from_config(error: ConfigError) -> Self {
        Self::Invalid {
            field: format!("spec.{}", error.key),
            message: error.message,
        }
    }
}

/// The Secrets of one namespace that a spec refers to, by name and key.
/// Values never print: `{:?}` shows names and keys only.
#[derive(Clone, Default)]
pub struct SecretValues {
    secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

impl SecretValues {
    /// No Secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the Secret `name` with its `data`; an existing one is replaced.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        data: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) {
        self.secrets.insert(name.into(), data.into_iter().collect());
    }

    /// Adds a Secret as the API server returns it (`data`; `stringData`
    /// too, for one built in code). A Secret without a name is ignored.
    pub fn insert_secret(&mut self, secret: &Secret) {
        let Some(name) = secret.metadata.name.clone() else {
            return;
        };
        let data = secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()));
        let strings =
            (secret.string_data.iter().flatten()).map(|(k, v)| (k.clone(), v.clone().into_bytes()));
        self.insert(name, data.chain(strings));
    }

    /// The bytes `reference` points at; `field` names the reference in errors.
    fn bytes(&self, field: &str, reference: &SecretKeyRef) -> Result<&[u8], SpecError> {
        let secret =
            self.secrets
                .get(&reference.name)
                .ok_or_else(|| SpecError::SecretNotFound {
                    field: field.to_owned(),
                    secret: reference.name.clone(),
                })?;
        secret
            .get(&reference.key)
            .map(Vec::as_slice)
            .ok_or_else(|| SpecError::SecretKeyMissing {
                field: field.to_owned(),
                secret: reference.name.clone(),
                key: reference.key.clone(),
            })
    }

    /// The text `reference` points at, without the line break that
    /// `kubectl create secret --from-file` keeps from a file.
    fn text(&self, field: &str, reference: &SecretKeyRef) -> Result<&str, SpecError> {
        let bytes = self.bytes(field, reference)?;
        let text = std::str::from_utf8(bytes).map_err(|_| SpecError::SecretNotText {
            field: field.to_owned(),
            secret: reference.name.clone(),
            key: reference.key.clone(),
        })?;
        Ok(text.trim_end_matches(['\n', '\r']))
    }
}

impl fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                (self.secrets.iter()).map(|(name, data)| (name, data.keys().collect::<Vec<_>>())),
            )
            .finish()
    }
}

/// A Secret value a library reads from a file: write `contents` to `path`
/// (readable by the owner only) before the update runs.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// Where the configuration expects it.
    pub path: PathBuf,
    /// The value.
    pub contents: Vec<u8>,
}

impl fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretFile({}, <redacted>)", self.path.display())
    }
}

/// What one ImageUpdate runs: [`Config`] as `kedge.yaml` would say it, and
/// the credentials the spec takes from Secrets, held beside it rather than in
/// the environment variables and files `kedge.yaml` names.
#[derive(Debug)]
#[non_exhaustive]
pub struct UpdateSettings {
    /// The validated configuration ([`Config::validate`]).
    pub config: Config,
    /// Credentials for the manifest repository.
    pub git_auth: GitAuth,
    /// The registry client's settings and credentials: only what the spec
    /// names, never the controller's own Docker configuration.
    pub registry: ClientConfig,
    /// The forge client's settings, for pull-request mode.
    pub forge: Option<ForgeClientConfig>,
    /// Files to write first (an SSH key, CA bundles).
    pub files: Vec<SecretFile>,
}

/// Builds what `spec` runs from the `secrets` of its namespace. Files that
/// must be on disk are placed under `secret_dir` (one directory per
/// resource). The configuration is validated as `kedge.yaml` is; every error
/// names the spec field, and the Secret and key when one is missing.
pub fn update_settings(
    spec: &ImageUpdateSpec,
    secrets: &SecretValues,
    secret_dir: &Path,
) -> Result<UpdateSettings, SpecError> {
    spec.validate()
        .and_then(|()| spec.interval().map(drop))
        .map_err(|source| SpecError::Spec { source })?;
    let mut files = Vec::new();
    let mut config = Config::new(&spec.git.url, images(&spec.images));
    config.git.branch = spec.git.branch.clone();
    config.git.author = AuthorConfig {
        name: spec.git.author.name.clone(),
        email: spec.git.author.email.clone(),
    };
    config.git.auth.username = spec.git.auth.username.clone();
    let git_auth = git_auth(spec, secrets, secret_dir, &mut files)?;
    if let GitAuth::SshKey { private_key, .. } = &git_auth {
        config.git.auth.ssh_key_file = Some(private_key.clone());
    }
    config.write_back = write_back(spec);
    let (forge_config, forge) = match forge(spec, secrets)? {
        Some((config, client)) => (Some(config), Some(client)),
        None => (None, None),
    };
    config.forge = forge_config;
    let (registries, registry) = registries(&spec.registries, secrets, secret_dir, &mut files)?;
    config.registries = registries;
    config.validate().map_err(SpecError::from_config)?;
    Ok(UpdateSettings {
        config,
        git_auth,
        registry,
        forge,
        files,
    })
}

fn git_auth(
    spec: &ImageUpdateSpec,
    secrets: &SecretValues,
    secret_dir: &Path,
    files: &mut Vec<SecretFile>,
) -> Result<GitAuth, SpecError> {
    let auth = &spec.git.auth;
    if let Some(reference) = &auth.token_secret_ref {
        let token = secrets.text("spec.git.auth.tokenSecretRef", reference)?;
        return Ok(GitAuth::UserPass {
            username: auth
                .username
                .clone()
                .unwrap_or_else(|| "x-access-token".to_owned()),
            password: token.to_owned(),
        });
    }
    if let Some(reference) = &auth.ssh_key_secret_ref {
        let key = secrets.bytes("spec.git.auth.sshKeySecretRef", reference)?;
        let path = secret_dir.join("git-ssh-key");
        files.push(SecretFile {
            path: path.clone(),
            contents: key.to_vec(),
        });
        return Ok(GitAuth::SshKey {
            private_key: path,
            passphrase: None,
        });
    }
    Ok(GitAuth::None)
}

fn write_back(spec: &ImageUpdateSpec) -> WriteBackConfig {
    let given = &spec.write_back;
    let defaults = WriteBackConfig::default();
    let pull_request = PullRequestConfig::default();
    WriteBackConfig {
        mode: match given.mode {
            kedge_controller::WriteBackMode::Push => WriteBackMode::Push,
            kedge_controller::WriteBackMode::PullRequest => WriteBackMode::PullRequest,
        },
        pull_request: PullRequestConfig {
            branch: (given.pull_request.branch.clone()).unwrap_or(pull_request.branch),
            title: (given.pull_request.title.clone()).unwrap_or(pull_request.title),
            body: (given.pull_request.body.clone()).unwrap_or(pull_request.body),
            labels: given.pull_request.labels.clone(),
            draft: given.pull_request.draft,
        },
        commit_message: (given.commit_message.clone()).unwrap_or(defaults.commit_message),
    }
}

/// The forge as `kedge.yaml` describes it (no credential fields) and the
/// client's settings with the credential from its Secret.
fn forge(
    spec: &ImageUpdateSpec,
    secrets: &SecretValues,
) -> Result<Option<(ForgeConfig, ForgeClientConfig)>, SpecError> {
    let Some(forge) = &spec.forge else {
        return Ok(None);
    };
    let api_url = |url: &Option<String>| {
        url.clone()
            .unwrap_or_else(|| kedge_forge::DEFAULT_API_URL.to_owned())
    };
    if let Some(github) = &forge.github {
        let token = secrets.text("spec.forge.github.tokenSecretRef", &github.token_secret_ref)?;
        let config = GitHubConfig {
            api_url: api_url(&github.api_url),
            owner: github.owner.clone(),
            repo: github.repo.clone(),
            token_env: None,
            token_file: None,
        };
        let client = ForgeClientConfig {
            api_url: config.api_url.clone(),
            owner: config.owner.clone(),
            repo: config.repo.clone(),
            auth: GitHubAuth::Token(token.to_owned()),
        };
        let forge = ForgeConfig {
            github: Some(config),
            github_app: None,
        };
        return Ok(Some((forge, client)));
    }
    let Some(app) = &forge.github_app else {
        return Ok(None);
    };
    let field = "spec.forge.githubApp.privateKeySecretRef";
    let pem = secrets.text(field, &app.private_key_secret_ref)?;
    let config = GitHubAppConfig {
        api_url: api_url(&app.api_url),
        owner: app.owner.clone(),
        repo: app.repo.clone(),
        app_id: app.app_id,
        installation_id: app.installation_id,
        // The key is held in the client's settings, not in a file.
        private_key_file: PathBuf::new(),
    };
    let client = ForgeClientConfig {
        api_url: config.api_url.clone(),
        owner: config.owner.clone(),
        repo: config.repo.clone(),
        auth: GitHubAuth::App {
            app_id: app.app_id,
            installation_id: app.installation_id,
            private_key_pem: pem.to_owned(),
        },
    };
    let forge = ForgeConfig {
        github: None,
        github_app: Some(config),
    };
    Ok(Some((forge, client)))
}

/// `registries[]` as `kedge.yaml` says them, and the client's settings
/// with the credentials from their Secrets.
fn registries(
    specs: &[RegistrySpec],
    secrets: &SecretValues,
    secret_dir: &Path,
    files: &mut Vec<SecretFile>,
) -> Result<(Vec<RegistryConfig>, ClientConfig), SpecError> {
    let mut configs = Vec::new();
    let mut credentials = CredentialStore::new();
    let mut settings = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let config = registry(i, spec, secrets, secret_dir, files, &mut credentials)?;
        let registry_settings = config
            .settings()
            .map_err(|(key, message)| SpecError::Invalid {
                field: format!("spec.registries[{i}].{key}"),
                message,
            })?;
        settings.push((spec.prefix.clone(), registry_settings));
        configs.push(config);
    }
    let client = ClientConfig {
        registries: settings,
        default_settings: RegistrySettings::default(),
        credentials,
    };
    Ok((configs, client))
}

/// `registries[i]` as `kedge.yaml` says it; its credentials go to `credentials`.
fn registry(
    i: usize,
    spec: &RegistrySpec,
    secrets: &SecretValues,
    secret_dir: &Path,
    files: &mut Vec<SecretFile>,
    credentials: &mut CredentialStore,
) -> Result<RegistryConfig, SpecError> {
    let field = |name: &str| format!("spec.registries[{i}].{name}");
    let mut config = RegistryConfig {
        insecure: spec.insecure,
        requests_per_second: spec.requests_per_second,
        max_concurrency: spec.max_concurrency.map(|n| n as usize),
        max_tags: spec.max_tags.map(|n| n as usize),
        discovery_deadline: spec.discovery_deadline.clone(),
        ..RegistryConfig::new(&spec.prefix)
    };
    if let Some(reference) = &spec.ca_secret_ref {
        let pem = secrets.bytes(&field("caSecretRef"), reference)?;
        let path = secret_dir.join(format!("registry-{i}-ca.pem"));
        files.push(SecretFile {
            path: path.clone(),
            contents: pem.to_vec(),
        });
        config.ca_file = Some(path);
    }
    if let Some(reference) = &spec.pull_secret_ref {
        let field = field("pullSecretRef");
        let text = secrets.text(&field, reference)?;
        let source = format!("Secret {} key {}", reference.name, reference.key);
        let store = CredentialStore::from_pull_secret(&source, text).map_err(|source| {
            SpecError::PullSecret {
                field,
                source: Box::new(source),
            }
        })?;
        credentials.merge(store);
    }
    if let Some(given) = &spec.credentials {
        let username = secrets.text(
            &field("credentials.usernameSecretRef"),
            &given.username_secret_ref,
        )?;
        let password = secrets.text(
            &field("credentials.passwordSecretRef"),
            &given.password_secret_ref,
        )?;
        let basic = Credentials::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        credentials.insert(&spec.prefix, basic);
    }
    Ok(config)
}

fn images(specs: &[ImageSpec]) -> Vec<ImageConfig> {
    specs
        .iter()
        .map(|spec| ImageConfig {
            policy: spec.policy.as_ref().map(policy),
            object_image_paths: spec.object_image_paths.clone(),
            pin: match spec.pin {
                PinSpec::Tag => Pin::Tag,
                PinSpec::Digest => Pin::Digest,
                PinSpec::TagAndDigest => Pin::TagAndDigest,
            },
            platform: spec.platform.clone(),
            ..ImageConfig::new(&spec.alias, &spec.image, &spec.targets)
        })
        .collect()
}

fn policy(spec: &PolicySpec) -> PolicyConfig {
    PolicyConfig {
        strategy: match spec.strategy {
            PolicyStrategy::Semver => Strategy::Semver,
            PolicyStrategy::Alphabetical => Strategy::Alphabetical,
            PolicyStrategy::Numerical => Strategy::Numerical,
            PolicyStrategy::NewestBuild => Strategy::NewestBuild,
            PolicyStrategy::Digest => Strategy::Digest,
        },
        constraint: spec.constraint.clone(),
        prereleases: spec.prereleases,
        loose: spec.loose,
        order: spec.order.map(|order| match order {
            SortOrder::Asc => Order::Asc,
            SortOrder::Desc => Order::Desc,
        }),
        tag: spec.tag.clone(),
        allow: spec.allow.clone(),
        ignore: spec.ignore.clone(),
        pattern: spec.pattern.clone(),
        extract: spec.extract.clone(),
        min_age: spec.min_age.clone(),
        line: 0,
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
