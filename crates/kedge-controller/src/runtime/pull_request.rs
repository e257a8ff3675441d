//! What a pull request would change, for every Application that reads the
//! repository and branch it targets: the rendered difference from the merge
//! base to the pull request's head, as one markdown comment kedge keeps up
//! to date on the pull request.

use std::path::PathBuf;
use std::sync::Arc;

use kedge_git::{CommitId, GitAuth, Remote, Workspace};
use kedge_revision_diff::{GITHUB_COMMENT_LIMIT, RevisionRange, diff_revisions};
use kube::ResourceExt;

use crate::Application;

/// The marker that finds kedge's comment among a pull request's comments.
pub const DIFF_COMMENT_MARKER: &str = "<!-- kedge:rendered-diff -->";

/// An opened or updated pull request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PullRequestRef {
    /// The pull request number.
    pub number: u64,
    /// The branch it would be merged into.
    pub base_branch: String,
    /// The base branch's commit.
    pub base_sha: String,
    /// The pull request's newest commit.
    pub head_sha: String,
}

impl PullRequestRef {
    /// Pull request `number` from `head_sha` into `base_branch` at `base_sha`.
    pub fn new(number: u64, base_branch: &str, base_sha: &str, head_sha: &str) -> Self {
        Self {
            number,
            base_branch: base_branch.to_owned(),
            base_sha: base_sha.to_owned(),
            head_sha: head_sha.to_owned(),
        }
    }
}

/// The comment for `pull_request` over `apps` (those that read its
/// repository at its base branch), or `None` when no Application does.
/// Each Application's section says what changes in its rendered objects, or
/// why it could not be rendered; the whole comment stays within GitHub's
/// size limit.
pub async fn pull_request_comment(
    apps: Vec<Arc<Application>>,
    pull_request: &PullRequestRef,
    cache_dir: PathBuf,
) -> Result<Option<String>, String> {
    let apps: Vec<Arc<Application>> = apps
        .into_iter()
        .filter(|app| app.spec.source.target_revision == pull_request.base_branch)
        .collect();
    let Some(first) = apps.first() else {
        return Ok(None);
    };
    let remote = Remote {
        url: first.spec.source.repo_url.clone(),
        auth: GitAuth::None,
    };
    let pull_request = pull_request.clone();
    tokio::task::spawn_blocking(move || render_comment(&apps, &remote, &pull_request, &cache_dir))
        .await
        .map_err(|e| format!("pull request comment task: {e}"))?
        .map(Some)
}

fn render_comment(
    apps: &[Arc<Application>],
    remote: &Remote,
    pull_request: &PullRequestRef,
    cache_dir: &std::path::Path,
) -> Result<String, String> {
    let commit = |sha: &str| {
        sha.parse::<CommitId>()
            .map_err(|e| format!("commit {sha}: {e}"))
    };
    let (base, head) = (
        commit(&pull_request.base_sha)?,
        commit(&pull_request.head_sha)?,
    );
    let workspace =
        Workspace::open(&cache_dir.join("git"), remote.clone()).map_err(|e| e.to_string())?;
    let base_ref = format!("refs/heads/{}", pull_request.base_branch);
    workspace
        .fetch_commit(Some(&base_ref), base)
        .map_err(|e| e.to_string())?;
    // GitHub keeps every pull request's head at refs/pull/N/head, forks'
    // included; other servers have the branch itself.
    let pull_ref = format!("refs/pull/{}/head", pull_request.number);
    workspace
        .fetch_commit(Some(&pull_ref), head)
        .or_else(|_| workspace.fetch_commit(None, head))
        .map_err(|e| e.to_string())?;
    workspace.reset_to(head).map_err(|e| e.to_string())?;
    let mut range = RevisionRange::new(&pull_request.base_sha, &pull_request.head_sha);
    range.from_merge_base = true;
    let share = GITHUB_COMMENT_LIMIT.saturating_sub(1024) / apps.len().max(1);
    let mut comment = format!(
        "{DIFF_COMMENT_MARKER}\n## kedge: what merging this changes in the cluster\n\nAt {}; Helm charts are rendered with the values files in Git only.\n\n",
        short(&pull_request.head_sha)
    );
    for app in apps {
        let name = format!("{}/{}", app.namespace().unwrap_or_default(), app.name_any());
        comment.push_str(&format!("#### Application `{name}`\n\n"));
        let section = crate::runtime::application::renderer_for(app, &app.name_any(), cache_dir)
            .map(without_inline_values)
            .and_then(|renderer| {
                let path = workspace.workdir().join(&app.spec.source.path);
                diff_revisions(&path, &range, &renderer, None).map_err(|e| e.to_string())
            });
        match section {
            Ok(diff) if diff.is_empty() => comment.push_str("No rendered object changes.\n\n"),
            Ok(diff) => {
                comment.push_str(&diff.to_markdown(share));
                comment.push('\n');
            }
            Err(error) => comment.push_str(&format!("Could not render: {error}\n\n")),
        }
    }
    Ok(comment)
}

/// The renderer without the Application's inline Helm values: they live in
/// the cluster, not in Git, and a pull request must not be able to print
/// them into a comment.
fn without_inline_values(renderer: kedge_render::Renderer) -> kedge_render::Renderer {
    match renderer {
        kedge_render::Renderer::Helm(mut helm) => {
            helm.values_files.retain(|file| !file.is_absolute());
            kedge_render::Renderer::Helm(helm)
        }
        other => other,
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
