//! The typed result of an update run. The same values write the commit
//! message, the pull request title and body, the JSON output and the log line.

use minijinja::Environment;
use serde::Serialize;

/// One image whose references changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdate {
    /// The configured alias.
    pub alias: String,
    /// The image name, as configured.
    pub image: String,
    /// The first old value found (a whole reference, or a tag in Helm and Kustomize fields).
    pub old_reference: String,
    /// The old tag, when one could be read.
    pub old_tag: Option<String>,
    /// The new reference, as pinned.
    pub new_reference: String,
    /// The chosen tag.
    pub new_tag: String,
    /// The chosen tag's digest.
    pub new_digest: String,
    /// Changed files, relative to the repository root.
    pub files: Vec<String>,
    /// How many values changed.
    pub changes: usize,
}

/// An image that could not be updated while the others were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFailure {
    /// The configured alias.
    pub alias: String,
    /// The image name, as configured.
    pub image: String,
    /// Why, with the file, registry or target at fault.
    pub error: String,
    /// Which step failed, for callers that react differently (a status
    /// reason, a metric label).
    pub kind: FailureKind,
}

/// The step at which an image failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FailureKind {
    /// The registry could not be asked or did not answer usefully (down,
    /// refused the credentials, too slow).
    Registry,
    /// The registry answered, but no tag passed the policy.
    NoMatchingTag,
    /// The manifests could not be rewritten (a missing target, a file that
    /// does not parse, a path outside the repository).
    Manifests,
}

impl FailureKind {
    fn of(error: &super::UpdateError) -> Self {
        match error {
            super::UpdateError::Discover { source, .. } => match source.as_ref() {
                crate::discover::DiscoverError::NoMatch { .. } => Self::NoMatchingTag,
                _ => Self::Registry,
            },
            _ => Self::Manifests,
        }
    }
}

impl ImageFailure {
    /// The failure of one image, logged once here so every place an image
    /// can fail reports it the same way.
    pub(crate) fn new(alias: &str, image: &str, error: &super::UpdateError) -> Self {
        tracing::error!(alias, image, %error, "image not updated");
        Self {
            alias: alias.to_owned(),
            image: image.to_owned(),
            error: super::error_chain(error),
            kind: FailureKind::of(error),
        }
    }
}

/// What happened to a pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullRequestAction {
    /// Opened.
    Created,
    /// Its branch, title and body were refreshed.
    Updated,
    /// It already carried this change, title and body; nothing was sent.
    Unchanged,
    /// Closed because the base branch already has the change.
    Closed,
    /// Would be opened or updated (dry run).
    Planned,
}

/// A pull request kedge touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestResult {
    /// Head branch.
    pub branch: String,
    /// What kedge did.
    pub action: PullRequestAction,
    /// Number, once it exists.
    pub number: Option<u64>,
    /// Web URL, once it exists.
    pub url: Option<String>,
    /// Title.
    pub title: String,
    /// Images it carries.
    pub aliases: Vec<String>,
}

/// Everything one `kedge update` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateResult {
    /// Images whose references changed (or would, in a dry run).
    pub updates: Vec<ImageUpdate>,
    /// Aliases already at the chosen reference.
    pub current: Vec<String>,
    /// Images that failed (registry down, target missing, a file that does not
    /// parse); nothing was written for them, and the others went ahead.
    pub failed: Vec<ImageFailure>,
    /// The commit pushed to the base branch (push mode).
    pub commit: Option<String>,
    /// Pull requests opened, updated or closed (pull-request mode).
    pub pull_requests: Vec<PullRequestResult>,
    /// Nothing was written.
    pub dry_run: bool,
    /// The unified diff of the change (dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// Renders a configured template over `updates`; `image` is the first update,
/// for per-image templates such as `kedge/{{ image.alias }}`.
pub(crate) fn render(template: &str, updates: &[ImageUpdate]) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let context = minijinja::context! {
        updates => minijinja::value::Serde(updates),
        image => minijinja::value::Serde(updates.first()),
    };
    env.render_str(template, context)
}

/// Checks a template against a sample result, so mistakes surface before any work.
pub(crate) fn check_template(template: &str) -> Result<(), minijinja::Error> {
    let sample = ImageUpdate {
        alias: "web".into(),
        image: "registry.example/team/web".into(),
        old_reference: "registry.example/team/web:1.0.0".into(),
        old_tag: Some("1.0.0".into()),
        new_reference: "registry.example/team/web:1.1.0".into(),
        new_tag: "1.1.0".into(),
        new_digest: "sha256:0".into(),
        files: vec!["apps/web/deploy.yaml".into()],
        changes: 1,
    };
    render(template, &[sample]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_see_the_update_result() {
        let update = ImageUpdate {
            alias: "web".into(),
            image: "ghcr.io/acme/web".into(),
            old_reference: "ghcr.io/acme/web:1.2.3".into(),
            old_tag: Some("1.2.3".into()),
            new_reference: "ghcr.io/acme/web:1.2.4".into(),
            new_tag: "1.2.4".into(),
            new_digest: "sha256:ab".into(),
            files: vec!["apps/web/deploy.yaml".into()],
            changes: 2,
        };
        let text = render(
            "kedge/{{ image.alias }}: {{ updates[0].oldTag }} -> {{ image.newTag }} in {{ image.files|join(',') }}",
            &[update],
        )
        .unwrap();
        assert_eq!(text, "kedge/web: 1.2.3 -> 1.2.4 in apps/web/deploy.yaml");
    }

    #[test]
    fn unknown_fields_are_errors_not_blanks() {
        let err = check_template("{{ image.nope }}").unwrap_err();
        assert!(err.to_string().contains("undefined"), "{err}");
    }
}
