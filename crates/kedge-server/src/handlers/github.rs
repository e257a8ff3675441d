//! `POST /webhooks/github`: pushes and merged pull requests refresh tracked
//! repositories; published GHCR packages update tracked images.

use axum::extract::State;
use axum::response::Response;
use kedge_webhook::{GitHubEvent, RepositoryRef, parse_github_event};
use tracing::instrument;

use super::{Accepted, enqueue, image_jobs, respond};
use crate::config::repository_key;
use crate::extract::{GitHubDelivery, Rejection};
use crate::queue::JobKey;
use crate::state::AppState;

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
        GitHubEvent::Push { repository, branch }
        | GitHubEvent::PullRequestMerged {
            repository,
            base_branch: branch,
            ..
        } => {
            let jobs = refresh_jobs(state, &repository, &branch);
            enqueue(state, jobs, || {
                format!("{}@{branch} is not tracked", repository.full_name)
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
) -> Vec<(JobKey, Option<kedge_webhook::ImageEvent>)> {
    let tracked = state
        .routing
        .repositories
        .get(&repository_key(&repository.full_name));
    tracked
        .into_iter()
        .flatten()
        .filter(|t| t.branches.is_empty() || t.branches.iter().any(|b| b == branch))
        .map(|t| {
            let key = JobKey::Refresh {
                repo: t.repo.clone(),
                branch: branch.to_owned(),
            };
            (key, None)
        })
        .collect()
}
