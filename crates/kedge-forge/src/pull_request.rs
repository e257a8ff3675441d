//! Pull request types: what kedge asks for ([`PullRequestSpec`]) and what the
//! forge has ([`PullRequest`]), read from GitHub's documented pull request object.

use serde::Deserialize;

/// The pull request kedge wants to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestSpec {
    /// Branch the changes go into (`main`).
    pub base: String,
    /// Branch holding kedge's commit, in the same repository.
    pub head: String,
    /// Title.
    pub title: String,
    /// Body (Markdown).
    pub body: String,
    /// Labels to add; existing labels are kept.
    pub labels: Vec<String>,
    /// Open as a draft. Only used when creating: GitHub's REST API cannot change it later.
    pub draft: bool,
}

/// A pull request as the forge reports it.
///
/// Deserializes from GitHub's pull request object (REST answers and the
/// `pull_request` of webhook payloads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "GitHubPullRequest")]
pub struct PullRequest {
    /// Number, unique in the repository.
    pub number: u64,
    /// Web page of the pull request (`html_url`).
    pub url: String,
    /// Head branch name (`head.ref`).
    pub head: String,
    /// Base branch name (`base.ref`).
    pub base: String,
    /// Title.
    pub title: String,
    /// Body; empty when GitHub has none.
    pub body: String,
    /// Names of the labels on the pull request.
    pub labels: Vec<String>,
    /// Whether it is a draft.
    pub draft: bool,
    /// Whether it is open (GitHub `state` is `open`).
    pub open: bool,
}

/// GitHub's pull request object, the fields kedge reads.
#[derive(Deserialize)]
pub(crate) struct GitHubPullRequest {
    number: u64,
    html_url: String,
    state: String,
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Vec<GitHubLabel>,
    #[serde(default)]
    draft: Option<bool>,
    head: GitHubRef,
    base: GitHubRef,
}

/// A label object; kedge only needs its name.
#[derive(Deserialize)]
pub(crate) struct GitHubLabel {
    pub(crate) name: String,
}

/// `head` or `base` of a pull request.
#[derive(Deserialize)]
struct GitHubRef {
    #[serde(rename = "ref")]
    name: String,
    /// `owner:branch`; tells a branch of this repository from a fork's.
    #[serde(default)]
    label: Option<String>,
}

impl GitHubPullRequest {
    /// True when the head branch lives in `owner`'s repository, not in a fork.
    pub(crate) fn head_is_owned_by(&self, owner: &str) -> bool {
        match self.head.label.as_deref().and_then(|l| l.split_once(':')) {
            Some((head_owner, _)) => head_owner.eq_ignore_ascii_case(owner),
            // Without a label there is no way to tell; GitHub always sends one.
            None => false,
        }
    }

    pub(crate) fn head_ref(&self) -> &str {
        &self.head.name
    }
}

impl From<GitHubPullRequest> for PullRequest {
    fn from(pr: GitHubPullRequest) -> Self {
        Self {
            number: pr.number,
            url: pr.html_url,
            head: pr.head.name,
            base: pr.base.name,
            title: pr.title,
            body: pr.body.unwrap_or_default(),
            labels: pr.labels.into_iter().map(|l| l.name).collect(),
            draft: pr.draft.unwrap_or(false),
            open: pr.state == "open",
        }
    }
}

impl PullRequest {
    /// Labels of `spec` this pull request does not have yet, in `spec` order.
    pub fn missing_labels<'a>(&self, spec: &'a PullRequestSpec) -> Vec<&'a str> {
        spec.labels
            .iter()
            .filter(|wanted| !self.labels.iter().any(|have| have == *wanted))
            .map(String::as_str)
            .collect()
    }

    /// True when title, body and labels already match `spec`.
    pub fn matches(&self, spec: &PullRequestSpec) -> bool {
        self.title == spec.title && self.body == spec.body && self.missing_labels(spec).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PullRequestSpec {
        PullRequestSpec {
            base: "main".into(),
            head: "kedge/app".into(),
            title: "Update app".into(),
            body: "body".into(),
            labels: vec!["kedge".into(), "automerge".into()],
            draft: false,
        }
    }

    #[test]
    fn null_body_and_missing_draft_are_defaults() {
        let pr: PullRequest = serde_json::from_value(serde_json::json!({
            "number": 3, "html_url": "https://github.com/o/r/pull/3", "state": "closed",
            "title": "t", "body": null,
            "head": {"ref": "kedge/app", "label": "o:kedge/app"},
            "base": {"ref": "main", "label": "o:main"}
        }))
        .unwrap();
        assert_eq!(pr.body, "");
        assert!(!pr.draft && !pr.open);
        assert!(pr.labels.is_empty());
    }

    #[test]
    fn missing_labels_and_matches() {
        let mut pr = PullRequest {
            number: 1,
            url: String::new(),
            head: "kedge/app".into(),
            base: "main".into(),
            title: "Update app".into(),
            body: "body".into(),
            labels: vec!["kedge".into(), "other".into()],
            draft: false,
            open: true,
        };
        assert_eq!(pr.missing_labels(&spec()), vec!["automerge"]);
        assert!(!pr.matches(&spec()));
        pr.labels.push("automerge".into());
        assert!(pr.matches(&spec()));
    }
}
