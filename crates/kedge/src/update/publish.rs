//! Publishing: push mode (one commit on the base branch, re-applied when the
//! branch moved) and pull-request mode (one branch and PR per grouping,
//! updated in place, closed when moot).

use std::collections::BTreeMap;

use kedge_forge::{Ensured, Forge, GitHubAuth, GitHubConfig, PullRequestSpec};
use kedge_git::{CommitId, PushOutcome, Workspace};
use kedge_registry::Registry;

use super::apply::{Applied, Planned, apply};
use super::result::{
    ImageFailure, ImageUpdate, PullRequestAction, PullRequestResult, UpdateResult, render,
};
use super::{MAX_PUSH_ATTEMPTS, UpdateError, Updater};
use crate::config::{Config, ConfigError, SecretSource};

/// What one attempt on the working clone produced.
enum Attempt {
    /// The base branch already has every chosen reference that could be applied.
    Current { failed: Vec<ImageFailure> },
    /// A commit was made (and pushed, unless a dry run).
    Committed {
        updates: Vec<ImageUpdate>,
        failed: Vec<ImageFailure>,
        commit: CommitId,
        diff: Option<String>,
    },
    /// The push lost a race.
    Raced(String),
}

/// Where an attempt's commit goes.
#[derive(Clone)]
enum Destination {
    /// The base branch, fast-forward only.
    Base,
    /// kedge's own branch, replaced on every run.
    Branch(String),
    /// Nowhere: compute the diff and reset.
    DryRun,
}

/// The forge client's settings from the configuration (secrets read now), if
/// one is configured.
pub(super) fn forge_config(config: &Config) -> Result<Option<GitHubConfig>, UpdateError> {
    let Some(forge) = &config.forge else {
        return Ok(None);
    };
    let github = if let Some(github) = &forge.github {
        GitHubConfig {
            api_url: github.api_url.clone(),
            owner: github.owner.clone(),
            repo: github.repo.clone(),
            auth: GitHubAuth::Token(github_token(github)?),
        }
    } else if let Some(app) = &forge.github_app {
        let pem =
            std::fs::read_to_string(&app.private_key_file).map_err(|e| UpdateError::File {
                key: "forge.githubApp.privateKeyFile".into(),
                path: app.private_key_file.clone(),
                source: e.into(),
            })?;
        GitHubConfig {
            api_url: app.api_url.clone(),
            owner: app.owner.clone(),
            repo: app.repo.clone(),
            auth: GitHubAuth::App {
                app_id: app.app_id,
                installation_id: app.installation_id,
                private_key_pem: pem,
            },
        }
    } else {
        return Ok(None);
    };
    Ok(Some(github))
}

fn github_token(github: &crate::config::GitHubConfig) -> Result<String, UpdateError> {
    let source = SecretSource::new(github.token_env.as_deref(), github.token_file.as_deref());
    let token = source.read("forge.github")?;
    // Validation requires exactly one of tokenEnv and tokenFile.
    token.ok_or_else(|| ConfigError::key("forge.github", "set tokenEnv or tokenFile").into())
}

/// Push mode: every update in one commit on the base branch.
pub(super) async fn push<R: Registry, F: Forge>(
    updater: &Updater<R, F>,
    planned: &[Planned],
    dry_run: bool,
) -> Result<UpdateResult, UpdateError> {
    let base = updater.config.git.branch.clone();
    let destination = if dry_run {
        Destination::DryRun
    } else {
        Destination::Base
    };
    for _ in 0..MAX_PUSH_ATTEMPTS {
        match attempt(updater, planned, destination.clone()).await? {
            Attempt::Current { failed } => {
                return Ok(UpdateResult {
                    failed,
                    ..UpdateResult::default()
                });
            }
            Attempt::Committed {
                updates,
                failed,
                commit,
                diff,
            } => {
                return Ok(UpdateResult {
                    updates,
                    failed,
                    commit: (!dry_run).then(|| commit.to_string()),
                    diff,
                    ..UpdateResult::default()
                });
            }
            Attempt::Raced(reason) => {
                tracing::info!(branch = %base, %reason, "base branch moved; re-applying on the new head");
                tokio::time::sleep(race_backoff()).await;
            }
        }
    }
    Err(UpdateError::TooManyRaces {
        branch: base,
        attempts: MAX_PUSH_ATTEMPTS,
    })
}

/// Pull-request mode: one branch and PR per rendered branch name.
pub(super) async fn pull_requests<R: Registry, F: Forge>(
    updater: &Updater<R, F>,
    planned: &[Planned],
    dry_run: bool,
) -> Result<UpdateResult, UpdateError> {
    let settings = &updater.config.write_back.pull_request;
    let mut groups: BTreeMap<String, Vec<Planned>> = BTreeMap::new();
    for plan in planned {
        let branch =
            render(&settings.branch, &[preview(plan)]).map_err(|source| UpdateError::Template {
                key: "writeBack.pullRequest.branch",
                source: source.into(),
            })?;
        let branch = branch.trim().to_owned();
        check_branch(&branch, &updater.config.git.branch)?;
        groups.entry(branch).or_default().push(plan.clone());
    }
    let mut result = UpdateResult::default();
    for (branch, group) in groups {
        let destination = if dry_run {
            Destination::DryRun
        } else {
            Destination::Branch(branch.clone())
        };
        let pr = match attempt(updater, &group, destination).await? {
            // A pull request whose image failed this time is not moot: keep it.
            Attempt::Current { failed } if !failed.is_empty() => {
                result.failed.extend(failed);
                None
            }
            Attempt::Current { .. } => close_moot(updater, &branch, dry_run).await?,
            Attempt::Committed {
                updates,
                failed,
                diff,
                ..
            } => {
                let pr = ensure_pull_request(updater, &branch, &updates, dry_run).await?;
                result.updates.extend(updates);
                result.failed.extend(failed);
                if let Some(diff) = diff {
                    result.diff.get_or_insert_with(String::new).push_str(&diff);
                }
                Some(pr)
            }
            Attempt::Raced(reason) => {
                // kedge's own branch is force-pushed, so only a broken remote says this.
                return Err(UpdateError::Git(kedge_git::GitError::Push {
                    url: kedge_git::redact_url(&updater.remote.url),
                    branch,
                    reason,
                    source: None,
                }));
            }
        };
        result.pull_requests.extend(pr);
    }
    Ok(result)
}

/// kedge force-pushes its pull request branches, so one must never be the base
/// branch, and must be a valid branch name.
fn check_branch(branch: &str, base: &str) -> Result<(), UpdateError> {
    let problem = if branch.is_empty() {
        Some("renders to an empty name".to_owned())
    } else if branch == base {
        Some(format!(
            "renders to the base branch {base:?}, which kedge never force-pushes"
        ))
    } else if !kedge_git::is_valid_branch_name(branch) {
        Some(format!(
            "renders to {branch:?}, which is not a valid branch name"
        ))
    } else {
        None
    };
    match problem {
        Some(message) => Err(UpdateError::Config(ConfigError::key(
            "writeBack.pullRequest.branch",
            message,
        ))),
        None => Ok(()),
    }
}

/// One attempt: fetch the base branch, apply, commit, and send the commit to `destination`.
async fn attempt<R: Registry, F: Forge>(
    updater: &Updater<R, F>,
    planned: &[Planned],
    destination: Destination,
) -> Result<Attempt, UpdateError> {
    let remote = updater.git_remote().await?;
    let cache_dir = updater.cache_dir.clone();
    let base = updater.config.git.branch.clone();
    let author = updater.author.clone();
    let template = updater.config.write_back.commit_message.clone();
    let planned = planned.to_vec();
    tokio::task::spawn_blocking(move || {
        let workspace = Workspace::open(&cache_dir, remote)?;
        let head = workspace.fetch(&base)?;
        workspace.reset_to(head)?;
        let Applied { updates, failed } = match apply(workspace.workdir(), &planned) {
            Ok(applied) => applied,
            Err(e) => {
                // Leave no half-edited tree behind for the next run to trip over.
                workspace.reset_to(head)?;
                return Err(e);
            }
        };
        if updates.is_empty() {
            return Ok(Attempt::Current { failed });
        }
        let message = render(&template, &updates).map_err(|source| UpdateError::Template {
            key: "writeBack.commitMessage",
            source: source.into(),
        })?;
        let Some(commit) = workspace.commit(head, message.trim_end(), &author)? else {
            return Ok(Attempt::Current { failed });
        };
        let outcome = match &destination {
            Destination::DryRun => {
                let diff = workspace.diff(head, commit)?;
                workspace.reset_to(head)?;
                return Ok(Attempt::Committed {
                    updates,
                    failed,
                    commit,
                    diff: Some(diff),
                });
            }
            Destination::Base => workspace.push(commit, &base, false)?,
            Destination::Branch(branch) if *branch == base => {
                unreachable!("check_branch refuses the base branch")
            }
            Destination::Branch(branch) => match workspace.fetch_if_exists(branch)? {
                // kedge's branch already carries this very change: pushing again
                // would only churn CI on the pull request.
                Some(tip) if workspace.same_change(tip, commit)? => PushOutcome::Pushed,
                _ => workspace.push(commit, branch, true)?,
            },
        };
        Ok(match outcome {
            PushOutcome::Pushed => Attempt::Committed {
                updates,
                failed,
                commit,
                diff: None,
            },
            PushOutcome::Rejected { reason } => Attempt::Raced(reason),
        })
    })
    .await
    .map_err(UpdateError::Task)?
}

/// Opens the PR for `branch`, or refreshes the one already open.
async fn ensure_pull_request<R: Registry, F: Forge>(
    updater: &Updater<R, F>,
    branch: &str,
    updates: &[ImageUpdate],
    dry_run: bool,
) -> Result<PullRequestResult, UpdateError> {
    let settings = &updater.config.write_back.pull_request;
    let title = render(&settings.title, updates).map_err(|source| UpdateError::Template {
        key: "writeBack.pullRequest.title",
        source: source.into(),
    })?;
    let body = render(&settings.body, updates).map_err(|source| UpdateError::Template {
        key: "writeBack.pullRequest.body",
        source: source.into(),
    })?;
    let aliases = updates.iter().map(|u| u.alias.clone()).collect();
    let spec = PullRequestSpec {
        base: updater.config.git.branch.clone(),
        head: branch.to_owned(),
        title: title.trim().to_owned(),
        body,
        labels: settings.labels.clone(),
        draft: settings.draft,
    };
    let forge = updater.forge()?;
    if dry_run {
        let existing = forge.find_open_pull_request(branch, &spec.base).await?;
        return Ok(PullRequestResult {
            branch: branch.to_owned(),
            action: PullRequestAction::Planned,
            number: existing.as_ref().map(|pr| pr.number),
            url: existing.map(|pr| pr.url),
            title: spec.title,
            aliases,
        });
    }
    let (pr, action) = match kedge_forge::ensure_pull_request(forge, &spec).await? {
        Ensured::Created(pr) => (pr, PullRequestAction::Created),
        Ensured::Updated(pr) => (pr, PullRequestAction::Updated),
        Ensured::Unchanged(pr) => (pr, PullRequestAction::Unchanged),
    };
    tracing::info!(branch, number = pr.number, url = %pr.url, ?action, "pull request");
    Ok(PullRequestResult {
        branch: branch.to_owned(),
        action,
        number: Some(pr.number),
        url: Some(pr.url),
        title: spec.title,
        aliases,
    })
}

/// Closes kedge's open PR for `branch` when the base branch already has its change.
async fn close_moot<R: Registry, F: Forge>(
    updater: &Updater<R, F>,
    branch: &str,
    dry_run: bool,
) -> Result<Option<PullRequestResult>, UpdateError> {
    let forge = updater.forge()?;
    let base = &updater.config.git.branch;
    let Some(pr) = forge.find_open_pull_request(branch, base).await? else {
        return Ok(None);
    };
    if !dry_run {
        let comment = format!(
            "{base} already has these images at or past the versions this pull request proposes; closing."
        );
        forge.close_pull_request(pr.number, &comment).await?;
    }
    Ok(Some(PullRequestResult {
        branch: branch.to_owned(),
        action: PullRequestAction::Closed,
        number: Some(pr.number),
        url: Some(pr.url),
        title: pr.title,
        aliases: Vec::new(),
    }))
}

/// An update as far as it is known before applying: enough for branch templates.
fn preview(plan: &Planned) -> ImageUpdate {
    ImageUpdate {
        alias: plan.alias.clone(),
        image: plan.image.clone(),
        old_reference: String::new(),
        old_tag: None,
        new_reference: plan.reference.clone(),
        new_tag: plan.tag.clone(),
        new_digest: plan.digest.clone(),
        files: Vec::new(),
        changes: 0,
    }
}

/// A short random pause so racing writers do not collide again in lockstep.
fn race_backoff() -> std::time::Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::time::Duration::from_millis(50 + u64::from(nanos % 200))
}

impl<R: Registry, F: Forge> Updater<R, F> {
    /// The forge client, built on first use (octocrab needs the runtime).
    pub(super) fn forge(&self) -> Result<&F, UpdateError> {
        if let Some(forge) = self.forge.get() {
            return Ok(forge);
        }
        let make = self.make_forge.as_ref().ok_or_else(|| {
            UpdateError::Config(ConfigError::key("forge", "pull-request mode needs a forge"))
        })?;
        let built = make()?;
        Ok(self.forge.get_or_init(|| built))
    }

    fn has_forge(&self) -> bool {
        self.forge.get().is_some() || self.make_forge.is_some()
    }

    /// The git remote, with the forge's credentials when the config names none.
    async fn git_remote(&self) -> Result<kedge_git::Remote, UpdateError> {
        let mut remote = self.remote.clone();
        if matches!(remote.auth, kedge_git::GitAuth::None)
            && remote.url.starts_with("https://")
            && self.has_forge()
        {
            let (username, password) = self.forge()?.git_credentials().await?;
            remote.auth = kedge_git::GitAuth::UserPass { username, password };
        }
        Ok(remote)
    }
}
