//! Argo CD Image Updater's settings in one shape, whether they were written
//! as annotations or as `ImageUpdater` fields: each value keeps where it was
//! written, and narrower settings fall back to wider ones field by field.

use crate::report::At;

/// One setting's value(s) and where they were written.
#[derive(Debug, Clone)]
pub(super) struct Setting {
    /// The value; lists (`ignore-tags`, `platforms`) have one entry per item.
    pub values: Vec<String>,
    /// Where.
    pub at: At,
}

impl Setting {
    /// A single value.
    pub fn one(value: &str, at: At) -> Self {
        Self {
            values: vec![value.to_owned()],
            at,
        }
    }

    /// A comma-separated annotation value, trimmed, empty items left out.
    pub fn comma_list(value: &str, at: At) -> Self {
        Self {
            values: value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
            at,
        }
    }

    /// The (first) value.
    pub fn value(&self) -> &str {
        self.values.first().map_or("", String::as_str)
    }
}

/// How tags are chosen: AIU's per-image and application-wide settings.
#[derive(Debug, Clone, Default)]
pub(super) struct UpdateSettings {
    /// `update-strategy` / `updateStrategy`.
    pub strategy: Option<Setting>,
    /// `force-update` / `forceUpdate`.
    pub force_update: Option<Setting>,
    /// `allow-tags` / `allowTags`.
    pub allow_tags: Option<Setting>,
    /// `ignore-tags` / `ignoreTags`.
    pub ignore_tags: Option<Setting>,
    /// `pull-secret` / `pullSecret`.
    pub pull_secret: Option<Setting>,
    /// `platforms`.
    pub platforms: Option<Setting>,
}

impl UpdateSettings {
    /// These settings, each missing one taken from `wider`.
    pub fn or(self, wider: &UpdateSettings) -> UpdateSettings {
        UpdateSettings {
            strategy: self.strategy.or_else(|| wider.strategy.clone()),
            force_update: self.force_update.or_else(|| wider.force_update.clone()),
            allow_tags: self.allow_tags.or_else(|| wider.allow_tags.clone()),
            ignore_tags: self.ignore_tags.or_else(|| wider.ignore_tags.clone()),
            pull_secret: self.pull_secret.or_else(|| wider.pull_secret.clone()),
            platforms: self.platforms.or_else(|| wider.platforms.clone()),
        }
    }
}

/// Where changes go: `write-back-method`, `git-branch`, `git-repository`,
/// `write-back-target`, and the CR's pull request settings.
#[derive(Debug, Clone, Default)]
pub(super) struct WriteBackSettings {
    /// `write-back-method` / `writeBackConfig.method`.
    pub method: Option<Setting>,
    /// `git-branch` / `gitConfig.branch`.
    pub branch: Option<Setting>,
    /// `git-repository` / `gitConfig.repository`.
    pub repository: Option<Setting>,
    /// `write-back-target` / `gitConfig.writeBackTarget`.
    pub target: Option<Setting>,
    /// `gitConfig.pullRequest`.
    pub pull_request: Option<PullRequestSettings>,
}

impl WriteBackSettings {
    /// These settings, each missing one taken from `wider`.
    pub fn or(self, wider: &WriteBackSettings) -> WriteBackSettings {
        WriteBackSettings {
            method: self.method.or_else(|| wider.method.clone()),
            branch: self.branch.or_else(|| wider.branch.clone()),
            repository: self.repository.or_else(|| wider.repository.clone()),
            target: self.target.or_else(|| wider.target.clone()),
            pull_request: self.pull_request.or_else(|| wider.pull_request.clone()),
        }
    }
}

/// `gitConfig.pullRequest`.
#[derive(Debug, Clone)]
pub(super) struct PullRequestSettings {
    /// Which forge: `github` or `gitlab`.
    pub forge: String,
    /// `labels`.
    pub labels: Vec<String>,
    /// Where.
    pub at: At,
}

/// One image to update, from an `image-list` entry or an `images[]` item.
#[derive(Debug, Clone)]
pub(super) struct AiuImage {
    /// The alias (AIU's annotations and kedge's `alias`).
    pub alias: Option<String>,
    /// The image name without the constraint.
    pub name: String,
    /// What follows the name's `:`: a semver range, or the tag a digest strategy follows.
    pub constraint: Option<String>,
    /// Where the image was listed.
    pub at: At,
    /// Its settings, already falling back to the application's.
    pub settings: UpdateSettings,
    /// `helm.image-name`.
    pub helm_name: Option<Setting>,
    /// `helm.image-tag`.
    pub helm_tag: Option<Setting>,
    /// `helm.image-spec`.
    pub helm_spec: Option<Setting>,
    /// `kustomize.image-name`.
    pub kustomize_name: Option<Setting>,
    /// Keys that have no kedge meaning at all, with why.
    pub unsupported: Vec<(At, String)>,
}

impl AiuImage {
    /// An image listed as `[alias=]name[:constraint]` at `at`.
    pub fn from_spec(spec: &str, at: At) -> Self {
        let (alias, reference) = match spec.split_once('=') {
            Some((alias, reference)) => (Some(alias.trim().to_owned()), reference.trim()),
            None => (None, spec.trim()),
        };
        let (name, constraint) = crate::tags::split_tag(reference);
        Self {
            alias,
            name: name.to_owned(),
            constraint: constraint.map(str::to_owned),
            at,
            settings: UpdateSettings::default(),
            helm_name: None,
            helm_tag: None,
            helm_spec: None,
            kustomize_name: None,
            unsupported: Vec::new(),
        }
    }
}
