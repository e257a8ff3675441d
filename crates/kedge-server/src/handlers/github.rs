//! `POST /webhooks/github`: pushes and merged pull requests refresh tracked
//! repositories; published GHCR packages update tracked images.

use axum::extract::State;
use axum::response::Response;
use kedge_webhook::{GitHubEvent, RepositoryRef, parse_github_event};
use tracing::instrument;

use super::{Accepted, enqueue, image_jobs, respond};
use crate::config::ANY_REPOSITORY;
use crate::extract::{GitHubDelivery, Rejection};
use crate::queue::{JobHint, JobKey};
use crate::runner::PullRequestChange;
use crate::state::AppState;
use kedge_webhook::repository_key;

/// Verifies (in the extractor), parses and queues a GitHub delivery.
#[instrument(skip_all, fields(event = %delivery.event))]
pub(crate) async fn github_webhook(
    State(state): State<AppState>,
    delivery: GitHubDelivery,
) -> Response {
    let result = parse_github_event(&delivery.event, &delivery.body)
        .map_err(|e| Rejection::BadRequest(e.to_string()))
        .and_then(|event| accept(&state, event));
    respond(&state, "github", delivery.started, result)
}

fn accept(state: &AppState, event: GitHubEvent) -> Result<Accepted, Rejection> {
    match event {
        GitHubEvent::Ping { .. } => Ok(Accepted::Ignored("ping".to_owned())),
        GitHubEvent::Ignored { event, reason } => {
            Ok(Accepted::Ignored(format!("{event}: {reason}")))
        }
        GitHubEvent::Push {
            repository,
            branch,
            changed_paths,
        } => {
            let hint = JobHint::ChangedPaths(changed_paths.into_iter().collect());
            let jobs = refresh_jobs(state, &repository, &branch, &hint);
            enqueue(state, jobs, || {
                format!("{}@{branch} is not tracked", repository.full_name)
            })
        }
        GitHubEvent::PullRequestMerged {
            repository,
            base_branch: branch,
            ..
        } => {
            let jobs = refresh_jobs(state, &repository, &branch, &JobHint::None);
            enqueue(state, jobs, || {
                format!("{}@{branch} is not tracked", repository.full_name)
            })
        }
        GitHubEvent::PullRequestChanged {
            from_fork: true, ..
        } => Ok(Accepted::Ignored(
            "pull request from a fork: not rendered with this cluster's settings".to_owned(),
        )),
        GitHubEvent::PullRequestChanged {
            repository,
            number,
            base_branch,
            base_sha,
            head_sha,
            ..
        } => {
            let tracked =
                !refresh_jobs(state, &repository, &base_branch, &JobHint::None).is_empty();
            let jobs = if tracked {
                let change = PullRequestChange {
                    repo: repository.full_name.clone(),
                    number,
                    base_branch: base_branch.clone(),
                    base_sha,
                    head_sha,
                };
                vec![(JobKey::PullRequest(change), JobHint::None)]
            } else {
                Vec::new()
            };
            enqueue(state, jobs, || {
                format!("{}@{base_branch} is not tracked", repository.full_name)
            })
        }
        GitHubEvent::PackagePublished(image) => {
            if image.tag.is_none() {
                return Ok(Accepted::Ignored(
                    "package published by digest only".to_owned(),
                ));
            }
            let jobs = image_jobs(state, std::slice::from_ref(&image));
            enqueue(state, jobs, || format!("{} is not tracked", image.image))
        }
    }
}

fn refresh_jobs(
    state: &AppState,
    repository: &RepositoryRef,
    branch: &str,
    hint: &JobHint,
) -> Vec<(JobKey, JobHint)> {
    let repositories = &state.routing.repositories;
    let named = repositories
        .get(&repository_key(&repository.full_name))
        .into_iter()
        .flatten()
        .map(|t| (t, t.repo.clone()));
    // `*` tracks every repository (the controller's Applications name
    // theirs at run time): the job names the repository as GitHub does.
    let any = repositories
        .get(ANY_REPOSITORY)
        .into_iter()
        .flatten()
        .map(|t| (t, repository.full_name.clone()));
    named
        .chain(any)
        .filter(|(t, _)| t.branches.is_empty() || t.branches.iter().any(|b| b == branch))
        .map(|(_, repo)| {
            let key = JobKey::Refresh {
                repo,
                branch: branch.to_owned(),
            };
            (key, hint.clone())
        })
        .collect()
}
