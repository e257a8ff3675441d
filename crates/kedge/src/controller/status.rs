//! What one reconcile of an ImageUpdate found, turned into its status: the
//! pure half of the reconciler, tested without a cluster.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kedge_controller::{
    AppliedImage, Condition, ConditionStatus, ConditionType, ImageUpdateStatus, set_condition,
};

use crate::update::{FailureKind, ImageFailure, PullRequestAction, UpdateResult};

/// How a reconcile ended.
#[derive(Debug)]
pub enum Outcome<'a> {
    /// The update flow ran (some images may have failed).
    Ran(&'a UpdateResult),
    /// Nothing ran, and why: `reason` is the condition reason
    /// (`SecretNotFound`, `InvalidSpec`, `PushFailed`).
    NotRun {
        /// CamelCase reason.
        reason: &'static str,
        /// For a person.
        message: String,
        /// kedge will not retry until the spec changes.
        stalled: bool,
    },
}

/// The condition reason for images that failed: the step the first one
/// failed at.
pub fn failure_reason(failed: &[ImageFailure]) -> &'static str {
    match failed.first().map(|failure| failure.kind) {
        Some(FailureKind::NoMatchingTag) => "NoMatchingTag",
        Some(FailureKind::Manifests) => "ManifestError",
        _ => "RegistryError",
    }
}

/// The status after `outcome`, starting from `previous` so that unchanged
/// conditions keep their transition times. `aliases` are the images the
/// spec has now (entries of `lastAppliedImages` for others are dropped);
/// `generation` is the spec's `metadata.generation`.
///
/// The conditions and their reasons:
///
/// | condition | reasons |
/// |---|---|
/// | `Ready` | `UpToDate`, `Updated`, `PullRequestOpened` (True); `RegistryError`, `NoMatchingTag`, `ManifestError`, `SecretNotFound`, `SecretNotReadable`, `InvalidSpec`, `PushFailed`, `GitError`, `PullRequestFailed`, `UpdateFailed` (False) |
/// | `Synced` | `UpToDate`, `Updated` (True); `PullRequestOpened` while it waits to be merged, or the reason `Ready` has (False) |
/// | `Stalled` | `InvalidSpec` (True, until the spec changes); `Reconciled` (False) |
pub fn next_status(
    previous: Option<&ImageUpdateStatus>,
    generation: Option<i64>,
    aliases: &[&str],
    outcome: &Outcome<'_>,
    now: &Time,
) -> ImageUpdateStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.observed_generation = generation;
    status
        .last_applied_images
        .retain(|image| aliases.contains(&image.alias.as_str()));
    let verdict = match outcome {
        Outcome::Ran(result) => {
            record_result(&mut status, result);
            verdict_of(result)
        }
        Outcome::NotRun {
            reason, message, ..
        } => Verdict::same(false, reason, message.clone()),
    };
    let stalled = match outcome {
        Outcome::NotRun {
            reason,
            message,
            stalled: true,
        } => (true, *reason, message.clone()),
        _ => (false, "Reconciled", String::new()),
    };
    let condition = |condition_type, ok: bool, reason: &str, message: String| Condition {
        condition_type,
        status: if ok {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        reason: reason.to_owned(),
        message,
        last_transition_time: now.clone(),
        observed_generation: generation,
    };
    for next in [
        condition(
            ConditionType::Ready,
            verdict.ready,
            verdict.ready_reason,
            verdict.ready_message,
        ),
        condition(
            ConditionType::Synced,
            verdict.synced,
            verdict.synced_reason,
            verdict.synced_message,
        ),
        condition(ConditionType::Stalled, stalled.0, stalled.1, stalled.2),
    ] {
        set_condition(&mut status.conditions, next);
    }
    status
}

/// `Ready` and `Synced`, each with its reason and message.
struct Verdict {
    ready: bool,
    ready_reason: &'static str,
    ready_message: String,
    synced: bool,
    synced_reason: &'static str,
    synced_message: String,
}

impl Verdict {
    /// Both conditions saying the same.
    fn same(ok: bool, reason: &'static str, message: String) -> Self {
        Self {
            ready: ok,
            ready_reason: reason,
            ready_message: message.clone(),
            synced: ok,
            synced_reason: reason,
            synced_message: message,
        }
    }
}

/// Keeps what the run wrote: the references pushed to the base branch and
/// the pull request opened or refreshed.
fn record_result(status: &mut ImageUpdateStatus, result: &UpdateResult) {
    if result.commit.is_some() && !result.dry_run {
        for update in &result.updates {
            let reference = kedge_image::ImageRef::parse(&update.new_reference).ok();
            let applied = AppliedImage {
                alias: update.alias.clone(),
                reference: update.new_reference.clone(),
                tag: reference.as_ref().and_then(|r| r.tag().map(str::to_owned)),
                digest: reference
                    .as_ref()
                    .and_then(|r| r.digest().map(str::to_owned)),
            };
            match (status.last_applied_images.iter_mut()).find(|image| image.alias == update.alias)
            {
                Some(existing) => *existing = applied,
                None => status.last_applied_images.push(applied),
            }
        }
        status
            .last_applied_images
            .sort_by(|a, b| a.alias.cmp(&b.alias));
    }
    let open = result
        .pull_requests
        .iter()
        .rev()
        .find_map(|pr| match pr.action {
            PullRequestAction::Created
            | PullRequestAction::Updated
            | PullRequestAction::Unchanged => pr.url.clone(),
            _ => None,
        });
    if let Some(url) = open {
        status.last_pull_request_url = Some(url);
    }
}

fn verdict_of(result: &UpdateResult) -> Verdict {
    if !result.failed.is_empty() {
        return Verdict::same(
            false,
            failure_reason(&result.failed),
            failure_message(result),
        );
    }
    let open: Vec<&str> = (result.pull_requests.iter())
        .filter(|pr| pr.action != PullRequestAction::Closed)
        .map(|pr| pr.url.as_deref().unwrap_or(pr.branch.as_str()))
        .collect();
    if !open.is_empty() {
        let list = open.join(", ");
        return Verdict {
            ready: true,
            ready_reason: "PullRequestOpened",
            ready_message: format!("{} image(s) proposed in {list}", result.updates.len()),
            synced: false,
            synced_reason: "PullRequestOpened",
            synced_message: format!("waiting for {list} to be merged"),
        };
    }
    match &result.commit {
        Some(commit) => {
            let short = commit.get(..12).unwrap_or(commit);
            Verdict::same(
                true,
                "Updated",
                format!("pushed {short}: {}", changes(result)),
            )
        }
        None => Verdict::same(
            true,
            "UpToDate",
            format!(
                "{} image(s) match their policies",
                result.current.len() + result.updates.len()
            ),
        ),
    }
}

/// `web 127.0.0.1:5000/team/web:1.1.0, api …`.
pub fn changes(result: &UpdateResult) -> String {
    (result.updates.iter())
        .map(|update| format!("{} {}", update.alias, update.new_reference))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Names each failed image with its error, then what still went ahead.
fn failure_message(result: &UpdateResult) -> String {
    let failed: Vec<String> = (result.failed.iter())
        .take(5)
        .map(|failure| {
            // The update flow's errors already start `image ALIAS: `.
            let named = format!("image {}", failure.alias);
            if failure.error.starts_with(&named) {
                failure.error.clone()
            } else {
                format!("{named}: {}", failure.error)
            }
        })
        .collect();
    let mut message = format!(
        "{} image(s) not updated: {}",
        result.failed.len(),
        failed.join("; ")
    );
    if result.failed.len() > 5 {
        message.push_str("; …");
    }
    if !result.updates.is_empty() {
        message.push_str(&format!("; updated: {}", changes(result)));
    }
    message
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
