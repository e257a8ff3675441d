//! `ImageUpdate`: what `kedge.yaml` says for one manifest repository, as a
//! Kubernetes resource.
//!
//! The fields keep `kedge.yaml`'s names and meaning; what differs is where
//! credentials come from: a [`SecretKeyRef`] to a Secret in the resource's
//! own namespace, never a value, a file or an environment variable.

use std::time::Duration;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Error, ImageUpdateStatus, parse_duration};

/// What an ImageUpdate keeps up to date, and how changes reach Git.
// Each printer column repeats `type_ = "string"`: kube-derive's syntax, not a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[kube(
    group = "kedge.dev",
    version = "v1alpha1",
    kind = "ImageUpdate",
    doc = "Keeps the images of one manifest repository up to date: finds newer tags by policy, rewrites the targets, and pushes or opens a pull request.",
    namespaced,
    status = "ImageUpdateStatus",
    shortname = "kiu",
    category = "kedge",
    printcolumn(name = "Repository", type_ = "string", json_path = ".spec.git.url"),
    printcolumn(name = "Mode", type_ = "string", json_path = ".spec.writeBack.mode"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Pull Request",
        type_ = "string",
        priority = 1,
        json_path = ".status.lastPullRequestURL"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateSpec {
    /// The manifest repository.
    pub git: ManifestGitSpec,
    /// How changes reach the repository.
    #[serde(default)]
    pub write_back: WriteBackSpec,
    /// Where pull requests are opened (mode `pull-request`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge: Option<ForgeSpec>,
    /// Registry settings by reference prefix (each prefix once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["prefix"]))]
    pub registries: Vec<RegistrySpec>,
    /// The images to keep up to date (each alias once).
    #[schemars(length(min = 1))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["alias"]))]
    pub images: Vec<ImageSpec>,
    /// How often registries are checked when no webhook says sooner.
    #[serde(default = "default_interval")]
    #[schemars(schema_with = "crate::schema::duration")]
    pub interval: String,
}

fn default_interval() -> String {
    "5m".to_owned()
}

impl ImageUpdateSpec {
    /// [`ImageUpdateSpec::interval`] read as a duration.
    pub fn interval(&self) -> Result<Duration, Error> {
        parse_duration("interval", &self.interval)
    }

    /// Checks what the schema cannot: one kind of Git credential, one
    /// forge, and a forge when pull requests are asked for.
    pub fn validate(&self) -> Result<(), Error> {
        let auth = &self.git.auth;
        if auth.token_secret_ref.is_some() && auth.ssh_key_secret_ref.is_some() {
            return Err(Error::GitAuthAmbiguous);
        }
        if let Some(forge) = &self.forge
            && forge.github.is_some()
            && forge.github_app.is_some()
        {
            return Err(Error::ForgeAmbiguous);
        }
        let has_forge = self
            .forge
            .as_ref()
            .is_some_and(|forge| forge.github.is_some() || forge.github_app.is_some());
        if self.write_back.mode == WriteBackMode::PullRequest && !has_forge {
            return Err(Error::PullRequestWithoutForge);
        }
        Ok(())
    }

    /// Whether the spec keeps `pushed` up to date: names compare as
    /// `kedge-image` normalises them (`nginx` is
    /// `registry.hub.docker.com/library/nginx`).
    pub fn tracks(&self, pushed: &kedge_image::ImageName) -> bool {
        self.images.iter().any(|image| {
            kedge_image::ImageName::parse(&image.image).is_ok_and(|name| name == *pushed)
        })
    }

    /// Every Secret the spec refers to, each name once, sorted: what the
    /// controller reads and watches.
    pub fn secret_names(&self) -> Vec<&str> {
        let auth = &self.git.auth;
        let forge = self.forge.as_ref();
        let mut names: Vec<&str> = [
            auth.token_secret_ref.as_ref(),
            auth.ssh_key_secret_ref.as_ref(),
            forge
                .and_then(|forge| forge.github.as_ref())
                .map(|github| &github.token_secret_ref),
            forge
                .and_then(|forge| forge.github_app.as_ref())
                .map(|app| &app.private_key_secret_ref),
        ]
        .into_iter()
        .flatten()
        .chain(self.registries.iter().flat_map(RegistrySpec::secret_refs))
        .map(|secret| secret.name.as_str())
        .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// A key of a Secret in the resource's own namespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key in its `data`.
    #[schemars(length(min = 1))]
    pub key: String,
}

/// `spec.git`: `kedge.yaml`'s `git:`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestGitSpec {
    /// The repository URL.
    #[schemars(length(min = 1))]
    pub url: String,
    /// The base branch.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// The commit author.
    #[serde(default)]
    pub author: AuthorSpec,
    /// Credentials; none for a public repository.
    #[serde(default)]
    pub auth: GitAuthSpec,
}

fn default_branch() -> String {
    "main".to_owned()
}

/// `spec.git.author`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorSpec {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

impl Default for AuthorSpec {
    fn default() -> Self {
        Self {
            name: "kedge".to_owned(),
            email: "kedge@localhost".to_owned(),
        }
    }
}

/// `spec.git.auth`: a token or an SSH key, from a Secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitAuthSpec {
    /// A token for HTTPS (user `x-access-token` unless `username` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeyRef>,
    /// The user name for the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// An SSH private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key_secret_ref: Option<SecretKeyRef>,
}

/// `spec.writeBack`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WriteBackSpec {
    /// `push` to the base branch or open a `pull-request`.
    #[serde(default)]
    pub mode: WriteBackMode,
    /// Pull request settings (mode `pull-request`).
    #[serde(default)]
    pub pull_request: PullRequestSpec,
    /// Commit message template; kedge's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_message: Option<String>,
}

/// How changes reach the repository.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WriteBackMode {
    /// Commit and push to the base branch.
    #[default]
    Push,
    /// Push a branch and open (or update) a pull request.
    PullRequest,
}

/// `spec.writeBack.pullRequest`; templates left out are kedge's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestSpec {
    /// Branch template; one pull request per distinct rendered branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Title template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Body template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Open as draft.
    #[serde(default)]
    pub draft: bool,
}

/// `spec.forge`: one of `github` or `githubApp`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForgeSpec {
    /// GitHub with a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<GitHubSpec>,
    /// GitHub as a GitHub App installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_app: Option<GitHubAppSpec>,
}

/// `spec.forge.github`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitHubSpec {
    /// The API's base URL (GitHub Enterprise); github.com when absent.
    #[serde(rename = "apiURL", default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The repository's owner.
    pub owner: String,
    /// The repository's name.
    pub repo: String,
    /// The token.
    pub token_secret_ref: SecretKeyRef,
}

/// `spec.forge.githubApp`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitHubAppSpec {
    /// The API's base URL (GitHub Enterprise); github.com when absent.
    #[serde(rename = "apiURL", default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The repository's owner.
    pub owner: String,
    /// The repository's name.
    pub repo: String,
    /// The App's ID.
    #[schemars(range(min = 1))]
    pub app_id: u64,
    /// The installation's ID.
    #[schemars(range(min = 1))]
    pub installation_id: u64,
    /// The App's PEM private key.
    pub private_key_secret_ref: SecretKeyRef,
}

/// `spec.registries[]`: settings for references starting with `prefix`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrySpec {
    /// Reference prefix (`ghcr.io`, `registry.example.com/team`).
    #[schemars(length(min = 1))]
    pub prefix: String,
    /// Plain HTTP.
    #[serde(default)]
    pub insecure: bool,
    /// A CA bundle (PEM) to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretKeyRef>,
    /// A user name and password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<RegistryCredentials>,
    /// A Docker config (`.dockerconfigjson`) to take credentials from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret_ref: Option<SecretKeyRef>,
    /// Request rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub requests_per_second: Option<f64>,
    /// Concurrent requests limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_concurrency: Option<u32>,
    /// Most tags read per repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_tags: Option<u32>,
    /// Time allowed for one repository's tag discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::optional_duration")]
    pub discovery_deadline: Option<String>,
}

impl RegistrySpec {
    /// The Secrets this registry's settings refer to.
    fn secret_refs(&self) -> impl Iterator<Item = &SecretKeyRef> {
        let credentials = self.credentials.as_ref();
        [
            self.ca_secret_ref.as_ref(),
            self.pull_secret_ref.as_ref(),
            credentials.map(|credentials| &credentials.username_secret_ref),
            credentials.map(|credentials| &credentials.password_secret_ref),
        ]
        .into_iter()
        .flatten()
    }
}

/// `spec.registries[].credentials`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryCredentials {
    /// The user name.
    pub username_secret_ref: SecretKeyRef,
    /// The password or token.
    pub password_secret_ref: SecretKeyRef,
}

/// `spec.images[]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// A short name, unique in the resource (commit messages, branches).
    #[schemars(length(min = 1))]
    pub alias: String,
    /// The image repository (`ghcr.io/acme/web`).
    #[schemars(length(min = 1))]
    pub image: String,
    /// How the next tag is chosen; semver when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicySpec>,
    /// Files or directories to rewrite, relative to the repository.
    #[schemars(length(min = 1))]
    pub targets: Vec<String>,
    /// Paths in objects that hold this image, beyond the ones kedge knows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_image_paths: Vec<String>,
    /// What is written: tag, digest or both.
    #[serde(default)]
    pub pin: PinSpec,
    /// The platform whose digest is pinned (`linux/amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// `spec.images[].pin`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum PinSpec {
    /// `image:tag`.
    #[default]
    #[serde(rename = "tag")]
    Tag,
    /// `image@sha256:…`.
    #[serde(rename = "digest")]
    Digest,
    /// `image:tag@sha256:…`.
    #[serde(rename = "tag+digest")]
    TagAndDigest,
}

/// `spec.images[].policy`: `kedge.yaml`'s tag policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    /// `semver`, `alphabetical`, `numerical`, `newest-build` or `digest`.
    #[serde(default)]
    pub strategy: PolicyStrategy,
    /// Semver range (`>=1.2 <2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
    /// Consider pre-releases (semver).
    #[serde(default)]
    pub prereleases: bool,
    /// Read bare numbers as versions (semver).
    #[serde(default)]
    pub loose: bool,
    /// `asc` or `desc` (alphabetical, numerical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<SortOrder>,
    /// The mutable tag to follow (digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Keep only tags matching this pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<String>,
    /// Drop tags matching any of these patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// Pattern whose `extract` is ranked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Capture template (`$version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
    /// Minimum build age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::optional_duration")]
    pub min_age: Option<String>,
}

/// `spec.images[].policy.strategy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyStrategy {
    /// Highest semantic version.
    #[default]
    Semver,
    /// Last in alphabetical order (or first, with `order: desc`).
    Alphabetical,
    /// Highest number.
    Numerical,
    /// The most recently built image.
    NewestBuild,
    /// The current digest of a mutable tag.
    Digest,
}

/// `asc` or `desc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Ascending: the last is chosen.
    Asc,
    /// Descending: the first is chosen.
    Desc,
}
