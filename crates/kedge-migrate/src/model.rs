//! The part of `kedge.yaml` an import writes, with the same keys and meaning
//! as kedge's own loader (`kedge::config::Config`).
//!
//! This crate stays free of kedge's Git and network stack, so it carries its
//! own small, serialisable copy of those keys; its tests read every emitted
//! file back with kedge's real loader, so the two cannot drift apart unseen.
//! Keys at kedge's default are left out.

use serde::Serialize;

/// One `kedge.yaml`: one manifest repository and branch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KedgeConfig {
    /// `git:`.
    pub git: Git,
    /// `writeBack:`.
    #[serde(skip_serializing_if = "WriteBack::is_default")]
    pub write_back: WriteBack,
    /// `forge:`, for pull requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forge: Option<Forge>,
    /// `images:`.
    pub images: Vec<Image>,
}

impl KedgeConfig {
    /// The file as kedge reads it.
    pub fn to_yaml(&self) -> Result<String, crate::MigrateError> {
        // Paths and regexes stay on one line however long: a folded `>-` block is
        // valid YAML, but not what anyone writes in kedge.yaml.
        let mut options = serde_saphyr::SerializerOptions::default();
        options.folded_wrap_chars = usize::MAX;
        serde_saphyr::to_string_with_options(self, options).map_err(|source| {
            crate::MigrateError::Emit {
                source: Box::new(source),
            }
        })
    }
}

/// `git:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Git {
    /// `git.url`.
    pub url: String,
    /// `git.branch` (kedge's default `main` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// `git.author`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
}

/// `git.author`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Author {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

/// `writeBack:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteBack {
    /// `writeBack.mode`.
    #[serde(skip_serializing_if = "WriteBackMode::is_push")]
    pub mode: WriteBackMode,
    /// `writeBack.pullRequest`.
    #[serde(skip_serializing_if = "PullRequest::is_default")]
    pub pull_request: PullRequest,
    /// `writeBack.commitMessage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_message: Option<String>,
}

impl WriteBack {
    fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// `writeBack.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteBackMode {
    /// Commit and push to `git.branch`.
    #[default]
    Push,
    /// Push a branch and open a pull request.
    PullRequest,
}

impl WriteBackMode {
    fn is_push(&self) -> bool {
        *self == Self::Push
    }
}

/// `writeBack.pullRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    /// Branch template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl PullRequest {
    fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// `forge:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Forge {
    /// `forge.github`.
    pub github: GitHub,
}

/// `forge.github`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GitHub {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
}

/// `images[]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// `alias`.
    pub alias: String,
    /// `image`, without tag.
    pub image: String,
    /// `policy` (semver `*` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// `targets`: files or directories in the repository.
    pub targets: Vec<String>,
    /// `pin`.
    #[serde(skip_serializing_if = "Pin::is_tag")]
    pub pin: Pin,
    /// `platform`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `pollInterval` for `kedge serve`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<String>,
}

/// `images[].pin`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum Pin {
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

impl Pin {
    fn is_tag(&self) -> bool {
        *self == Self::Tag
    }
}

/// `images[].policy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// `strategy`.
    pub strategy: Strategy,
    /// Semver range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
    /// Admit pre-releases (semver).
    #[serde(skip_serializing_if = "is_false")]
    pub prereleases: bool,
    /// Read bare numbers as versions (semver).
    #[serde(skip_serializing_if = "is_false")]
    pub loose: bool,
    /// `asc` or `desc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The tag a digest policy follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Regex a tag must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<String>,
    /// Regexes that drop a tag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// Regex whose `extract` is ranked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Capture template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// `images[].policy.strategy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Highest semantic version.
    #[default]
    Semver,
    /// Last in alphabetical order.
    Alphabetical,
    /// Highest number.
    Numerical,
    /// Most recently built.
    NewestBuild,
    /// The digest of a mutable tag.
    Digest,
}

impl Policy {
    /// A policy with `strategy` and nothing else.
    pub fn new(strategy: Strategy) -> Self {
        Self {
            strategy,
            ..Self::default()
        }
    }

    /// Checks the policy as kedge will build it; `Err` says why it would be refused.
    pub(crate) fn check(&self) -> Result<(), String> {
        use kedge_policy::{Order, PolicySpec, StrategySpec, TagPolicy};
        let order = match self.order.as_deref() {
            Some(text) => text.parse::<Order>().map_err(|e| e.to_string())?,
            None => Order::default(),
        };
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
        let mut spec = PolicySpec::new(strategy);
        spec.allow = self.allow.clone();
        spec.ignore = self.ignore.clone();
        spec.pattern = self.pattern.clone();
        spec.extract = self.extract.clone();
        TagPolicy::new(spec).map(drop).map_err(|e| e.to_string())
    }
}
