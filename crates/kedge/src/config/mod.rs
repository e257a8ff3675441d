//! `kedge.yaml`: what kedge updates, where it writes, and how it authenticates.
//!
//! The file is read strictly (unknown keys are errors) and validated up front:
//! every regex, constraint, image name and template is checked before anything
//! is fetched, and every error names the file, the line and the key.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kedge_policy::{Order, PolicySpec, StrategySpec, TagPolicy};
use serde::Deserialize;
use serde_saphyr::Spanned;

mod serve;

pub use serve::{
    AuthKind, GitHubWebhookConfig, ReceiverAuthConfig, ReceiverConfig, SecretSource, ServeConfig,
};

/// A configuration problem, located in the file as far as it can be.
#[derive(Debug, thiserror::Error)]
#[error("{}{key}: {message}", location(file, *line))]
pub struct ConfigError {
    /// The configuration file.
    pub file: PathBuf,
    /// 1-based line (0 when the whole file is at fault).
    pub line: u64,
    /// The key path, `images[0].policy.allow`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// A problem with `key` found after the file was read (a secret that cannot be
    /// read, a rendered template): it names the key, not a file or line.
    pub fn key(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: PathBuf::new(),
            line: 0,
            key: key.into(),
            message: message.into(),
        }
    }
}

/// `file:line: `, `file: ` or nothing, as far as the error is located.
fn location(file: &Path, line: u64) -> String {
    match (file.as_os_str().is_empty(), line) {
        (true, _) => String::new(),
        (false, 0) => format!("{}: ", file.display()),
        (false, line) => format!("{}:{line}: ", file.display()),
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// The manifest repository.
    pub git: GitConfig,
    /// How changes reach it.
    #[serde(default)]
    pub write_back: WriteBackConfig,
    /// The forge that hosts it, for pull requests.
    #[serde(default)]
    pub forge: Option<ForgeConfig>,
    /// Per-registry connection settings and credentials.
    #[serde(default)]
    pub registries: Vec<RegistryConfig>,
    /// The images kedge keeps up to date.
    #[serde(deserialize_with = "located_images")]
    pub images: Vec<ImageConfig>,
    /// `kedge serve`: listeners, webhook receivers, queue.
    #[serde(default)]
    pub serve: ServeConfig,
}

/// `git:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitConfig {
    /// `https://…`, `http://…`, `ssh://…`, `git://…` or `file://…`.
    pub url: String,
    /// The base branch.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// Commit author.
    #[serde(default)]
    pub author: AuthorConfig,
    /// Credentials.
    #[serde(default)]
    pub auth: GitAuthConfig,
    /// Where cached clones live (default: `$XDG_CACHE_HOME/kedge` or `~/.cache/kedge`).
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
}

fn default_branch() -> String {
    "main".to_owned()
}

/// `git.author`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorConfig {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

impl Default for AuthorConfig {
    fn default() -> Self {
        Self {
            name: "kedge".to_owned(),
            email: "kedge@localhost".to_owned(),
        }
    }
}

/// `git.auth`: one of a token from the environment, an SSH key, or nothing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitAuthConfig {
    /// Environment variable holding a token (HTTP basic, user `x-access-token`
    /// unless `usernameEnv` or `username` says otherwise).
    pub token_env: Option<String>,
    /// Environment variable holding the user name for `tokenEnv`.
    pub username_env: Option<String>,
    /// User name for `tokenEnv`.
    pub username: Option<String>,
    /// SSH private key file.
    pub ssh_key_file: Option<PathBuf>,
}

/// `writeBack:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WriteBackConfig {
    /// `push` commits to the base branch; `pull-request` opens a PR.
    #[serde(default)]
    pub mode: WriteBackMode,
    /// Pull request settings (mode `pull-request`).
    #[serde(default)]
    pub pull_request: PullRequestConfig,
    /// Commit message template.
    #[serde(default = "default_commit_message")]
    pub commit_message: String,
}

impl Default for WriteBackConfig {
    fn default() -> Self {
        Self {
            mode: WriteBackMode::default(),
            pull_request: PullRequestConfig::default(),
            commit_message: default_commit_message(),
        }
    }
}

/// `writeBack.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteBackMode {
    /// Commit and push to the base branch.
    #[default]
    Push,
    /// Push a branch and open (or update) a pull request.
    PullRequest,
}

/// `writeBack.pullRequest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PullRequestConfig {
    /// Branch template; one PR per distinct rendered branch (so
    /// `kedge/{{ image.alias }}` gives one PR per image, `kedge/updates` one for all).
    #[serde(default = "default_pr_branch")]
    pub branch: String,
    /// Title template.
    #[serde(default = "default_pr_title")]
    pub title: String,
    /// Body template.
    #[serde(default = "default_pr_body")]
    pub body: String,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Open as draft.
    #[serde(default)]
    pub draft: bool,
}

impl Default for PullRequestConfig {
    fn default() -> Self {
        Self {
            branch: default_pr_branch(),
            title: default_pr_title(),
            body: default_pr_body(),
            labels: Vec::new(),
            draft: false,
        }
    }
}

fn default_commit_message() -> String {
    "{% if updates|length == 1 %}Update {{ updates[0].alias }} to {{ updates[0].newTag }}\
     {% else %}Update {{ updates|length }} images{% endif %}\n\n\
     {% for u in updates %}- {{ u.image }}: {{ u.oldTag or u.oldReference }} -> {{ u.newTag }}\n{% endfor %}"
        .to_owned()
}

fn default_pr_branch() -> String {
    "kedge/{{ image.alias }}".to_owned()
}

fn default_pr_title() -> String {
    "{% if updates|length == 1 %}Update {{ updates[0].alias }} to {{ updates[0].newTag }}\
     {% else %}Update {{ updates|length }} images{% endif %}"
        .to_owned()
}

fn default_pr_body() -> String {
    "kedge found newer images:\n\n| image | from | to | files |\n|---|---|---|---|\n\
     {% for u in updates %}| `{{ u.image }}` | `{{ u.oldReference }}` | `{{ u.newReference }}` | {{ u.files|join(', ') }} |\n{% endfor %}"
        .to_owned()
}

/// `forge:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ForgeConfig {
    /// GitHub with a token.
    pub github: Option<GitHubConfig>,
    /// GitHub as a GitHub App installation.
    pub github_app: Option<GitHubAppConfig>,
}

/// `forge.github`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitHubConfig {
    /// API root (`https://HOST/api/v3` for GitHub Enterprise).
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the token (a mounted Kubernetes Secret, say).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

/// `forge.githubApp`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitHubAppConfig {
    /// API root.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// The App's id.
    pub app_id: u64,
    /// The installation's id.
    pub installation_id: u64,
    /// PEM private key file of the App.
    pub private_key_file: PathBuf,
}

fn default_api_url() -> String {
    "https://api.github.com".to_owned()
}

/// `registries[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegistryConfig {
    /// Registry host prefix this entry applies to (`127.0.0.1:5000`, `ghcr.io`).
    pub prefix: String,
    /// Plain HTTP.
    #[serde(default)]
    pub insecure: bool,
    /// Extra CA certificate (PEM).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Credentials from the environment.
    #[serde(default)]
    pub credentials: Option<RegistryCredentialsConfig>,
    /// A Kubernetes `dockerconfigjson` Secret file.
    #[serde(default)]
    pub pull_secret: Option<PathBuf>,
    /// Requests per second to this registry.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// Requests in flight at once.
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// Largest response body read from this registry, in bytes.
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
    /// Most tags accepted for one repository.
    #[serde(default)]
    pub max_tags: Option<usize>,
    /// Longest one discovery may take, listing and build-time lookups (`5m`).
    #[serde(default)]
    pub discovery_deadline: Option<String>,
    /// Follow redirects of tag lists and manifests to another origin.
    #[serde(default)]
    pub allow_cross_origin_redirects: bool,
}

impl RegistryConfig {
    /// Settings for registries whose host starts with `prefix`, all at their
    /// defaults (HTTPS, no credentials beyond the Docker config): set the
    /// public fields that differ, `RegistryConfig { insecure: true, ..RegistryConfig::new(host) }`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            insecure: false,
            ca_file: None,
            credentials: None,
            pull_secret: None,
            requests_per_second: None,
            max_concurrency: None,
            max_body_bytes: None,
            max_tags: None,
            discovery_deadline: None,
            allow_cross_origin_redirects: false,
        }
    }
}

impl RegistryConfig {
    /// The client settings this entry gives, defaults filled in; `Err((key, message))`
    /// names the key under `registries[]` that is out of range.
    pub fn settings(&self) -> Result<kedge_registry::RegistrySettings, (&'static str, String)> {
        let defaults = kedge_registry::RegistrySettings::default();
        let rate = self
            .requests_per_second
            .unwrap_or(defaults.requests_per_second);
        if !(rate.is_finite() && rate > 0.0) {
            return Err((
                "requestsPerSecond",
                format!("{rate} is not a positive number"),
            ));
        }
        let positive = |key: &'static str, value: Option<u64>| match value {
            Some(0) => Err((key, "must be at least 1".to_owned())),
            _ => Ok(()),
        };
        positive("maxConcurrency", self.max_concurrency.map(|n| n as u64))?;
        positive("maxBodyBytes", self.max_body_bytes)?;
        positive("maxTags", self.max_tags.map(|n| n as u64))?;
        let discovery_deadline = match &self.discovery_deadline {
            Some(text) => humantime::parse_duration(text)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or((
                    "discoveryDeadline",
                    format!("{text:?} is not a duration such as 5m"),
                ))?,
            None => defaults.discovery_deadline,
        };
        Ok(kedge_registry::RegistrySettings {
            insecure: self.insecure,
            ca_file: self.ca_file.clone(),
            requests_per_second: rate,
            max_concurrency: self.max_concurrency.unwrap_or(defaults.max_concurrency),
            max_body_bytes: self.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            max_tags: self.max_tags.unwrap_or(defaults.max_tags),
            discovery_deadline,
            allow_cross_origin_redirects: self.allow_cross_origin_redirects,
            ..defaults
        })
    }
}

/// `registries[].credentials`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegistryCredentialsConfig {
    /// Environment variable holding the user name.
    pub username_env: String,
    /// Environment variable holding the password or token.
    pub password_env: String,
}

/// `images[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageConfig {
    /// Short name used in templates, branches and logs.
    pub alias: String,
    /// Image name without tag.
    pub image: String,
    /// How the tag is chosen (semver `*` when absent).
    #[serde(default, deserialize_with = "located_policy")]
    pub policy: Option<PolicyConfig>,
    /// Files or directories in the repository, relative to its root.
    pub targets: Vec<String>,
    /// Extra image fields of Kubernetes objects in the targets (custom resources with their
    /// own image fields): `[KIND:]dotted.path`, list levels left out (`Prometheus:spec.image`).
    #[serde(default)]
    pub object_image_paths: Vec<String>,
    /// What the manifests pin.
    #[serde(default)]
    pub pin: Pin,
    /// Only tags with an image for this platform (`linux/arm64`).
    #[serde(default)]
    pub platform: Option<String>,
    /// `kedge serve` polls this image this often as a safety net (default `serve.pollInterval`).
    #[serde(default)]
    pub poll_interval: Option<String>,
    /// The line of the file this image was read from; 0 when built in code.
    #[serde(skip)]
    pub line: u64,
}

impl ImageConfig {
    /// An image tracked with the default policy (the highest semver tag) and
    /// pinned by tag in `targets` (files or directories of the repository).
    pub fn new(
        alias: impl Into<String>,
        image: impl Into<String>,
        targets: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            alias: alias.into(),
            image: image.into(),
            policy: None,
            targets: targets.into_iter().map(Into::into).collect(),
            object_image_paths: Vec::new(),
            pin: Pin::default(),
            platform: None,
            poll_interval: None,
            line: 0,
        }
    }

    /// The same image with `policy`.
    pub fn with_policy(mut self, policy: PolicyConfig) -> Self {
        self.policy = Some(policy);
        self
    }
}

/// Reads `images:` keeping each entry's line for error messages.
fn located_images<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ImageConfig>, D::Error> {
    let images: Vec<Spanned<ImageConfig>> = Deserialize::deserialize(deserializer)?;
    Ok(images
        .into_iter()
        .map(|image| ImageConfig {
            line: image.referenced.line(),
            ..image.value
        })
        .collect())
}

/// Reads `policy:` keeping its line for error messages.
fn located_policy<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<PolicyConfig>, D::Error> {
    let policy: Option<Spanned<PolicyConfig>> = Deserialize::deserialize(deserializer)?;
    Ok(policy.map(|policy| PolicyConfig {
        line: policy.referenced.line(),
        ..policy.value
    }))
}

/// `images[].pin`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum Pin {
    /// `image:1.2.4`.
    #[default]
    #[serde(rename = "tag")]
    Tag,
    /// `image@sha256:…`.
    #[serde(rename = "digest")]
    Digest,
    /// `image:1.2.4@sha256:…`.
    #[serde(rename = "tag+digest")]
    TagAndDigest,
}

/// `images[].policy`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyConfig {
    /// How tags are ranked.
    #[serde(default)]
    pub strategy: Strategy,
    /// Semver range.
    #[serde(default)]
    pub constraint: Option<String>,
    /// Consider pre-releases (semver).
    #[serde(default)]
    pub prereleases: bool,
    /// Read bare numbers (`42`, `20241105`) as versions, as Argo CD Image Updater does (semver).
    #[serde(default)]
    pub loose: bool,
    /// `asc` or `desc` (alphabetical, numerical).
    #[serde(default, deserialize_with = "parse_order")]
    pub order: Option<Order>,
    /// The mutable tag to follow (digest).
    #[serde(default)]
    pub tag: Option<String>,
    /// Keep only tags matching.
    #[serde(default)]
    pub allow: Option<String>,
    /// Drop tags matching any.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Pattern whose `extract` is ranked.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Capture template.
    #[serde(default)]
    pub extract: Option<String>,
    /// Minimum build age (`1h`, `30m`).
    #[serde(default)]
    pub min_age: Option<String>,
    /// The line of the file this policy was read from; 0 when built in code.
    #[serde(skip)]
    pub line: u64,
}

/// `images[].policy.strategy`: how tags are ranked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Strategy {
    /// The highest semantic version within `constraint`.
    #[default]
    Semver,
    /// The last tag in alphabetical `order`.
    Alphabetical,
    /// The last tag read as a number in `order`.
    Numerical,
    /// The most recently built image (`created` of its configuration).
    NewestBuild,
    /// The digest that the mutable `tag` points at.
    Digest,
}

/// Reads `order:` as [`Order`] (`asc` or `desc`), naming the bad value.
fn parse_order<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Order>, D::Error> {
    let text: Option<String> = Deserialize::deserialize(deserializer)?;
    text.map(|text| text.parse().map_err(serde::de::Error::custom))
        .transpose()
}

impl Config {
    /// A configuration in code: push mode to the `main` branch of `git_url`,
    /// no forge, default registries. Change the public fields as needed;
    /// [`crate::update::Updater::new`] validates the result.
    pub fn new(git_url: impl Into<String>, images: Vec<ImageConfig>) -> Self {
        Self {
            git: GitConfig {
                url: git_url.into(),
                branch: default_branch(),
                author: AuthorConfig::default(),
                auth: GitAuthConfig::default(),
                cache_dir: None,
            },
            write_back: WriteBackConfig::default(),
            forge: None,
            registries: Vec::new(),
            images,
            serve: ServeConfig::default(),
        }
    }

    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            line: 0,
            key: "(file)".to_owned(),
            message: e.to_string(),
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates `text`; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let config: Config = serde_saphyr::from_str(text).map_err(|e| {
            let message = syntax_message(&e.to_string());
            let line = e.location().map(|l| l.line()).unwrap_or(0);
            let key = unknown_field(&message)
                .map(str::to_owned)
                .or_else(|| key_at(text, line))
                .unwrap_or_else(|| "(syntax)".to_owned());
            ConfigError {
                file: path.to_owned(),
                line,
                key,
                message,
            }
        })?;
        config.validate_in(path)?;
        Ok(config)
    }

    /// Checks a configuration built in code as [`Config::load`] checks a file:
    /// image names, policies, targets inside the repository, the forge that
    /// pull-request mode needs. [`crate::update::Updater::new`] calls it, so no
    /// invalid configuration reaches the network.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_in(Path::new(""))
    }

    fn validate_in(&self, path: &Path) -> Result<(), ConfigError> {
        let error = |line: u64, key: String, message: String| ConfigError {
            file: path.to_owned(),
            line,
            key,
            message,
        };
        if self.images.is_empty() {
            return Err(error(
                0,
                "images".into(),
                "at least one image is needed".into(),
            ));
        }
        let mut aliases = std::collections::HashSet::new();
        for (i, image) in self.images.iter().enumerate() {
            if !aliases.insert(image.alias.as_str()) {
                let message = format!("{:?} is used twice", image.alias);
                return Err(error(image.line, format!("images[{i}].alias"), message));
            }
            image.check().map_err(|(line, field, message)| {
                error(line, format!("images[{i}].{field}"), message)
            })?;
        }
        for (i, registry) in self.registries.iter().enumerate() {
            registry.settings().map_err(|(field, message)| {
                error(0, format!("registries[{i}].{field}"), message)
            })?;
        }
        self.check_publishing()
            .map_err(|(key, message)| error(0, key.into(), message))?;
        self.serve.validate(path, &self.images)?;
        Ok(())
    }

    /// Checks how changes are published: the forge pull-request mode needs,
    /// the Git URL and its credentials. On error, the key at fault and why.
    fn check_publishing(&self) -> Result<(), (&'static str, String)> {
        if self.write_back.mode == WriteBackMode::PullRequest && self.forge.is_none() {
            return Err((
                "forge",
                "writeBack.mode pull-request needs forge.github or forge.githubApp".into(),
            ));
        }
        if let Some(forge) = &self.forge
            && forge.github.is_some() == forge.github_app.is_some()
        {
            return Err(("forge", "set exactly one of github and githubApp".into()));
        }
        let url = &self.git.url;
        let scp_like = !url.contains("://") && url.contains('@') && url.contains(':');
        let known = ["https://", "http://", "ssh://", "git://", "file:///"];
        if !scp_like && !known.iter().any(|scheme| url.starts_with(scheme)) {
            return Err((
                "git.url",
                format!(
                    "{:?}: expected https://, http://, ssh://, git://, user@host:path or file:///absolute/path",
                    kedge_git::redact_url(url)
                ),
            ));
        }
        let auth = &self.git.auth;
        if auth.token_env.is_some() && auth.ssh_key_file.is_some() {
            return Err(("git.auth", "set tokenEnv or sshKeyFile, not both".into()));
        }
        Ok(())
    }
}

impl ImageConfig {
    /// Checks one image's name, targets, platform and policy; on error, the
    /// line, the field at fault (under `images[i].`) and why.
    fn check(&self) -> Result<(), (u64, String, String)> {
        let line = self.line;
        self.image
            .parse::<kedge_registry::ImageName>()
            .map_err(|e| (line, "image".to_owned(), e.to_string()))?;
        if self.targets.is_empty() {
            let message = "at least one file or directory".to_owned();
            return Err((line, "targets".to_owned(), message));
        }
        for target in &self.targets {
            if Path::new(target).is_absolute() || target.split('/').any(|p| p == "..") {
                let message = format!("{target:?} must be a path inside the repository");
                return Err((line, "targets".to_owned(), message));
            }
        }
        if let Some(platform) = &self.platform {
            platform
                .parse::<kedge_registry::Platform>()
                .map_err(|e| (line, "platform".to_owned(), e.to_string()))?;
        }
        let policy_line = self.policy.as_ref().map_or(line, |p| p.line.max(line));
        self.tag_policy()
            .map(drop)
            .map_err(|(field, message)| (policy_line, format!("policy.{field}"), message))
    }
}

impl ImageConfig {
    /// The image's validated tag policy; on error, the policy field at fault and why.
    pub fn tag_policy(&self) -> Result<TagPolicy, (String, String)> {
        match &self.policy {
            Some(policy) => policy.to_policy(),
            None => PolicyConfig::default().to_policy(),
        }
    }
}

impl PolicyConfig {
    /// Builds the validated policy; on error, the field at fault and why.
    pub fn to_policy(&self) -> Result<TagPolicy, (String, String)> {
        let order = self.order.unwrap_or_default();
        let strategy = match self.strategy {
            Strategy::Semver => StrategySpec::Semver {
                constraint: self.constraint.clone().unwrap_or_else(|| "*".into()),
                prereleases: self.prereleases,
                loose: self.loose,
            },
            Strategy::Alphabetical => StrategySpec::Alphabetical { order },
            Strategy::Numerical => StrategySpec::Numerical { order },
            Strategy::NewestBuild => StrategySpec::NewestBuild,
            Strategy::Digest => StrategySpec::Digest {
                tag: self.tag.clone().unwrap_or_else(|| "latest".into()),
            },
        };
        let min_age: Option<Duration> = self
            .min_age
            .as_deref()
            .map(humantime::parse_duration)
            .transpose()
            .map_err(|e| ("minAge".to_owned(), e.to_string()))?;
        TagPolicy::new(PolicySpec {
            strategy,
            allow: self.allow.clone(),
            ignore: self.ignore.clone(),
            pattern: self.pattern.clone(),
            extract: self.extract.clone(),
            min_age,
        })
        .map_err(|e| (policy_field(&e), e.to_string()))
    }
}

/// Which policy key a policy error is about, from its message.
fn policy_field(error: &kedge_policy::PolicyError) -> String {
    use kedge_policy::{PolicyError, RegexField};
    match error {
        PolicyError::InvalidRegex { field, .. } => match field {
            RegexField::Allow => "allow".into(),
            RegexField::Ignore(i) => format!("ignore[{i}]"),
            RegexField::Pattern => "pattern".into(),
        },
        PolicyError::InvalidConstraint { .. } => "constraint".into(),
        PolicyError::ExtractWithoutPattern { .. } | PolicyError::UnknownCaptureGroup { .. } => {
            "extract".into()
        }
        PolicyError::InvalidOrder { .. } => "order".into(),
        PolicyError::EmptyDigestTag => "tag".into(),
        _ => "(policy)".into(),
    }
}

/// The parser's first line without its own `error: line N column M:` prefix,
/// since [`ConfigError`] already says where.
fn syntax_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    let without_error = first.strip_prefix("error: ").unwrap_or(first);
    match without_error.split_once(": ") {
        Some((location, rest)) if location.starts_with("line ") => rest.to_owned(),
        _ => without_error.to_owned(),
    }
}

/// The dotted key path of the `key:` on 1-based `line` of `text` (or the
/// nearest one above it), found by indentation: `serve.bodyLimitBytes`.
/// Sequence items add no index; the line number tells which one.
fn key_at(text: &str, line: u64) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let mut path: Vec<&str> = Vec::new();
    let mut indent = usize::MAX;
    for raw in lines.get(..=index)?.iter().rev() {
        let content = raw.trim_start();
        let here = raw.len() - content.len();
        let item = content.strip_prefix("- ").map(str::trim_start);
        let content = item.unwrap_or(content);
        let here = here + if item.is_some() { 2 } else { 0 };
        if content.is_empty() || content.starts_with('#') || here >= indent {
            continue;
        }
        let Some((key, _)) = content.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(['"', '\'', '{', ' ']);
        if key.is_empty() || key.contains(' ') {
            continue;
        }
        path.push(key);
        indent = if item.is_some() { here - 2 } else { here };
        if indent == 0 {
            break;
        }
    }
    path.reverse();
    (!path.is_empty()).then(|| path.join("."))
}

/// The key named by an "unknown field `key`" message.
fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tag => "tag",
            Self::Digest => "digest",
            Self::TagAndDigest => "tag+digest",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::PolicyConfig;

    /// Issue 10: `policy.loose: true` coerces bare numbers as Argo CD Image Updater does; the
    /// default stays strict.
    #[test]
    fn policy_loose_coerces_bare_numbers() {
        let tags = ["42", "20241105", "2025.01.02"];
        for (text, expected) in [
            ("strategy: semver\n", "2025.01.02"),
            ("strategy: semver\nloose: true\n", "20241105"),
        ] {
            let config: PolicyConfig = serde_saphyr::from_str(text).expect("policy parses");
            let policy = config.to_policy().expect("valid policy");
            let chosen = policy
                .select_from(tags, &|_| None, std::time::SystemTime::UNIX_EPOCH)
                .expect("a tag is chosen");
            assert_eq!(chosen.tag, expected, "{text}");
        }
    }
}
