//! GitHub webhook events kedge acts on: `ping`, `push` to a branch, a merged
//! `pull_request`, and a published container `package` / `registry_package`.
//! Every other event or action parses to [`GitHubEvent::Ignored`] with the reason.

use serde::Deserialize;

use crate::error::from_json;
use crate::{ImageEvent, WebhookError};

/// The header naming the event type.
pub const EVENT_HEADER: &str = "x-github-event";
/// The header carrying the delivery's unique id.
pub const DELIVERY_HEADER: &str = "x-github-delivery";
/// GitHub's container registry.
pub const GHCR: &str = "ghcr.io";

/// A repository as a GitHub event names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryRef {
    /// `owner/name`.
    pub full_name: String,
    /// HTTPS clone URL, when the payload has one.
    pub clone_url: Option<String>,
    /// SSH clone URL, when the payload has one.
    pub ssh_url: Option<String>,
}

/// What a GitHub delivery asks kedge to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitHubEvent {
    /// The webhook was just created; nothing to do but answer.
    Ping {
        /// GitHub's zen line.
        zen: Option<String>,
    },
    /// Commits were pushed to `branch` of `repository`.
    Push {
        /// The repository pushed to.
        repository: RepositoryRef,
        /// The branch, from `refs/heads/<branch>`.
        branch: String,
        /// The files the pushed commits added, modified or removed, sorted
        /// and without repeats, as the payload lists them. A hint of which
        /// paths changed, not a complete list: empty when the payload lists
        /// no commits (a new branch, a payload trimmed by its sender).
        changed_paths: Vec<String>,
    },
    /// A pull request was merged into `base_branch`.
    PullRequestMerged {
        /// The base repository.
        repository: RepositoryRef,
        /// The branch it was merged into.
        base_branch: String,
        /// The pull request number.
        number: u64,
    },
    /// A pull request was opened, reopened or pushed to: what it would
    /// change once merged is worth showing on it.
    PullRequestChanged {
        /// The base repository.
        repository: RepositoryRef,
        /// The pull request number.
        number: u64,
        /// The branch it would be merged into.
        base_branch: String,
        /// The commit the base branch was at (40 hex digits).
        base_sha: String,
        /// The pull request's newest commit (40 hex digits).
        head_sha: String,
        /// Whether the head is in another repository (a fork): anyone may
        /// open such a pull request.
        from_fork: bool,
    },
    /// A container image was published to GHCR.
    PackagePublished(ImageEvent),
    /// A well-formed event kedge has nothing to do for.
    Ignored {
        /// The event type.
        event: String,
        /// Why it is ignored.
        reason: &'static str,
    },
}

/// Parses a delivery of type `event` (the `X-GitHub-Event` header).
///
/// Check the signature first ([`crate::ReceiverAuth::github`]): this only reads the body.
pub fn parse_github_event(event: &str, body: &[u8]) -> Result<GitHubEvent, WebhookError> {
    let ignored = |reason| {
        Ok(GitHubEvent::Ignored {
            event: event.to_owned(),
            reason,
        })
    };
    match event {
        "ping" => {
            let ping: Ping = from_json("github ping", body)?;
            Ok(GitHubEvent::Ping { zen: ping.zen })
        }
        "push" => parse_push(body),
        "pull_request" => parse_pull_request(body),
        "package" | "registry_package" => parse_package(event, body),
        _ => ignored("event type kedge does not act on"),
    }
}

#[derive(Deserialize)]
struct Ping {
    zen: Option<String>,
}

#[derive(Deserialize)]
struct Repository {
    full_name: Option<String>,
    clone_url: Option<String>,
    ssh_url: Option<String>,
}

impl Repository {
    fn into_ref(self, payload: &'static str) -> Result<RepositoryRef, WebhookError> {
        let full_name =
            self.full_name
                .filter(|n| !n.is_empty())
                .ok_or(WebhookError::MissingField {
                    payload,
                    field: "repository.full_name",
                })?;
        Ok(RepositoryRef {
            full_name,
            clone_url: self.clone_url,
            ssh_url: self.ssh_url,
        })
    }
}

#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    #[serde(default)]
    deleted: bool,
    repository: Option<Repository>,
    /// Read leniently: the files are a hint, so a shape kedge does not
    /// expect loses the hint, never the delivery.
    #[serde(default)]
    commits: Option<serde_json::Value>,
}

/// The files `commits` lists as added, removed or modified, sorted and
/// without repeats; whatever is not an array of strings is passed over.
fn changed_paths(commits: Option<&serde_json::Value>) -> Vec<String> {
    let commits = commits.and_then(serde_json::Value::as_array);
    let paths: std::collections::BTreeSet<&str> = commits
        .into_iter()
        .flatten()
        .flat_map(|commit| ["added", "removed", "modified"].map(|list| commit.get(list)))
        .flatten()
        .filter_map(serde_json::Value::as_array)
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .collect();
    paths.into_iter().map(str::to_owned).collect()
}

fn parse_push(body: &[u8]) -> Result<GitHubEvent, WebhookError> {
    const PAYLOAD: &str = "github push";
    let push: Push = from_json(PAYLOAD, body)?;
    let git_ref = push.git_ref.ok_or(WebhookError::MissingField {
        payload: PAYLOAD,
        field: "ref",
    })?;
    let repository = push
        .repository
        .ok_or(WebhookError::MissingField {
            payload: PAYLOAD,
            field: "repository",
        })?
        .into_ref(PAYLOAD)?;
    let ignored = |reason| GitHubEvent::Ignored {
        event: "push".to_owned(),
        reason,
    };
    let Some(branch) = git_ref.strip_prefix("refs/heads/") else {
        return Ok(ignored("push of a tag or other non-branch ref"));
    };
    if push.deleted {
        return Ok(ignored("branch deleted"));
    }
    Ok(GitHubEvent::Push {
        repository,
        branch: branch.to_owned(),
        changed_paths: changed_paths(push.commits.as_ref()),
    })
}

#[derive(Deserialize)]
struct PullRequestEvent {
    action: Option<String>,
    number: Option<u64>,
    pull_request: Option<PullRequest>,
}

#[derive(Deserialize)]
struct PullRequest {
    #[serde(default)]
    merged: Option<bool>,
    number: Option<u64>,
    base: Option<Base>,
    head: Option<Base>,
}

#[derive(Deserialize)]
struct Base {
    #[serde(rename = "ref")]
    branch: Option<String>,
    sha: Option<String>,
    repo: Option<Repository>,
}

fn parse_pull_request(body: &[u8]) -> Result<GitHubEvent, WebhookError> {
    const PAYLOAD: &str = "github pull_request";
    let event: PullRequestEvent = from_json(PAYLOAD, body)?;
    let missing = |field| WebhookError::MissingField {
        payload: PAYLOAD,
        field,
    };
    let pull_request = event.pull_request.ok_or(missing("pull_request"))?;
    if matches!(
        event.action.as_deref(),
        Some("opened" | "reopened" | "synchronize")
    ) {
        return pull_request_changed(event.number, pull_request);
    }
    if event.action.as_deref() != Some("closed") || pull_request.merged != Some(true) {
        return Ok(GitHubEvent::Ignored {
            event: "pull_request".to_owned(),
            reason: "pull request not merged",
        });
    }
    let base = pull_request.base.ok_or(missing("pull_request.base"))?;
    let base_branch = base
        .branch
        .filter(|b| !b.is_empty())
        .ok_or(missing("pull_request.base.ref"))?;
    let repository = base
        .repo
        .ok_or(missing("pull_request.base.repo"))?
        .into_ref(PAYLOAD)?;
    Ok(GitHubEvent::PullRequestMerged {
        repository,
        base_branch,
        number: event.number.or(pull_request.number).unwrap_or_default(),
    })
}

/// An opened, reopened or updated pull request, with both commits checked
/// to be commit ids (they are used as git revisions).
fn pull_request_changed(
    number: Option<u64>,
    pull_request: PullRequest,
) -> Result<GitHubEvent, WebhookError> {
    const PAYLOAD: &str = "github pull_request";
    let missing = |field| WebhookError::MissingField {
        payload: PAYLOAD,
        field,
    };
    let commit = |sha: Option<String>, field| {
        let sha = sha.ok_or(missing(field))?;
        if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(sha.to_ascii_lowercase())
        } else {
            Err(WebhookError::InvalidValue {
                what: "commit",
                input: sha
                    .chars()
                    .take(64)
                    .flat_map(char::escape_default)
                    .collect(),
            })
        }
    };
    let base = pull_request.base.ok_or(missing("pull_request.base"))?;
    let head = pull_request.head.ok_or(missing("pull_request.head"))?;
    let full_name = |side: &Base| side.repo.as_ref().and_then(|r| r.full_name.clone());
    let from_fork = full_name(&head).is_none_or(|head| Some(head) != full_name(&base));
    let base_branch = base
        .branch
        .filter(|b| !b.is_empty())
        .ok_or(missing("pull_request.base.ref"))?;
    let repository = base
        .repo
        .ok_or(missing("pull_request.base.repo"))?
        .into_ref(PAYLOAD)?;
    Ok(GitHubEvent::PullRequestChanged {
        repository,
        number: number.or(pull_request.number).ok_or(missing("number"))?,
        base_branch,
        base_sha: commit(base.sha, "pull_request.base.sha")?,
        head_sha: commit(head.sha, "pull_request.head.sha")?,
        from_fork,
    })
}

#[derive(Deserialize)]
struct PackageEvent {
    action: Option<String>,
    package: Option<Package>,
    registry_package: Option<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: Option<String>,
    namespace: Option<String>,
    package_type: Option<String>,
    ecosystem: Option<String>,
    owner: Option<Owner>,
    package_version: Option<PackageVersion>,
}

#[derive(Deserialize)]
struct Owner {
    login: Option<String>,
}

#[derive(Deserialize)]
struct PackageVersion {
    name: Option<String>,
    version: Option<String>,
    package_url: Option<String>,
    container_metadata: Option<ContainerMetadata>,
}

#[derive(Deserialize)]
struct ContainerMetadata {
    tag: Option<ContainerTag>,
}

#[derive(Deserialize)]
struct ContainerTag {
    name: Option<String>,
    digest: Option<String>,
}

fn parse_package(event: &str, body: &[u8]) -> Result<GitHubEvent, WebhookError> {
    const PAYLOAD: &str = "github package";
    let parsed: PackageEvent = from_json(PAYLOAD, body)?;
    let ignored = |reason| {
        Ok(GitHubEvent::Ignored {
            event: event.to_owned(),
            reason,
        })
    };
    let Some(package) = parsed.package.or(parsed.registry_package) else {
        return Err(WebhookError::MissingField {
            payload: PAYLOAD,
            field: "package",
        });
    };
    if parsed.action.as_deref() != Some("published") {
        return ignored("package action is not published");
    }
    // GitHub's own sample says `package_type: npm` beside `ecosystem: docker`: either counts.
    let is_container = [&package.package_type, &package.ecosystem]
        .into_iter()
        .flatten()
        .any(|kind| kind.eq_ignore_ascii_case("container") || kind.eq_ignore_ascii_case("docker"));
    if !is_container {
        return ignored("package is not a container image");
    }
    package_image(package).map(GitHubEvent::PackagePublished)
}

fn package_image(package: Package) -> Result<ImageEvent, WebhookError> {
    const PAYLOAD: &str = "github package";
    let missing = |field| WebhookError::MissingField {
        payload: PAYLOAD,
        field,
    };
    let version = package.package_version.ok_or(missing("package_version"))?;
    let tag_metadata = version.container_metadata.and_then(|m| m.tag);
    let (metadata_tag, digest) = match tag_metadata {
        Some(tag) => (tag.name, tag.digest),
        None => (None, None),
    };
    // GitHub names the tag in container_metadata; older payloads only in version/name.
    let tag = [metadata_tag, version.version, version.name]
        .into_iter()
        .flatten()
        .find(|t| !t.is_empty() && !t.starts_with("sha256:"));
    if tag.is_none() && digest.as_deref().is_none_or(str::is_empty) {
        return Err(missing("package_version.container_metadata.tag"));
    }
    let repository = match version.package_url.as_deref().and_then(ghcr_repository) {
        Some(repository) => repository.to_owned(),
        None => {
            let owner = package
                .owner
                .and_then(|o| o.login)
                .or(package.namespace)
                .filter(|o| !o.is_empty())
                .ok_or(missing("package.owner.login"))?;
            let name = package
                .name
                .filter(|n| !n.is_empty())
                .ok_or(missing("package.name"))?;
            format!("{owner}/{name}")
        }
    };
    // GitHub names the owner as it is displayed (`Codertocat`); on ghcr.io every
    // image is the owner and package in lower case, so that is the image pushed.
    let repository = repository.to_ascii_lowercase();
    ImageEvent::new(GHCR, &repository, tag.as_deref(), digest.as_deref())
}

/// The repository of a `package_url` on ghcr.io (`ghcr.io/Codertocat/hello-world:`).
fn ghcr_repository(url: &str) -> Option<&str> {
    let (name, _, _) = kedge_image::split_reference(url.trim());
    match kedge_image::split_host(name) {
        (Some(host), path) if host.eq_ignore_ascii_case(GHCR) && !path.is_empty() => Some(path),
        _ => None,
    }
}

/// `owner/name` in lower case, from a full name or a clone URL of any host
/// (`https://github.com/o/n.git`, `git@ghe.example.com:o/n.git`).
pub fn repository_key(repo: &str) -> String {
    let trimmed = repo.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed);
    let path = match trimmed.split_once("://") {
        // scheme://[user@]host[:port]/owner/name
        Some((_, rest)) => rest.split_once('/').map_or(rest, |(_, path)| path),
        // [user@]host:owner/name (scp-like SSH)
        None => match trimmed.split_once(':') {
            Some((host, path)) if !host.contains('/') => path,
            _ => trimmed,
        },
    };
    path.trim_matches('/').to_ascii_lowercase()
}
