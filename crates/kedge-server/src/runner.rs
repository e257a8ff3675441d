//! The seam between the server and the update flow: the server decides *when*
//! to run a job, a [`JobRunner`] decides *what* it does.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use kedge_webhook::ImageEvent;

use crate::queue::JobKey;

/// What a job did, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Something changed: manifests rewritten and committed, a PR opened, a sync triggered.
    Changed,
    /// Everything was already up to date.
    Unchanged,
}

impl JobOutcome {
    /// The metric label: `changed` or `unchanged`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Changed => "changed",
            Self::Unchanged => "unchanged",
        }
    }
}

/// An opened or updated pull request, as a job names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PullRequestChange {
    /// `owner/name` as GitHub names the base repository.
    pub repo: String,
    /// The pull request number.
    pub number: u64,
    /// The branch it would be merged into.
    pub base_branch: String,
    /// The base branch's commit when the event was sent.
    pub base_sha: String,
    /// The pull request's newest commit.
    pub head_sha: String,
}

/// A job failed; the server logs it and counts it, and the next event or poll retries.
#[derive(Debug)]
pub struct JobError(Box<dyn Error + Send + Sync + 'static>);

impl JobError {
    /// Wraps the runner's own error.
    pub fn new(error: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Self {
        Self(error.into())
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Error for JobError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

/// Runs the work the server schedules.
///
/// Calls are coalesced: one call per key per debounce window, and never two
/// calls for the same key at once.
pub trait JobRunner: Send + Sync + 'static {
    /// Run discovery + update for the tracked image `alias`. `hint` is the
    /// newest pushed tag that triggered it; `None` for a poll.
    fn update_image(
        &self,
        alias: &str,
        hint: Option<ImageEvent>,
    ) -> impl Future<Output = Result<JobOutcome, JobError>> + Send;

    /// A push to `repo`/`branch` or a pull request merged into it: refresh or
    /// sync what it names. `changed_paths` are the files the pushes listed
    /// (sorted; empty when no delivery listed any): a hint of what changed
    /// first, never the whole story.
    fn refresh_repository(
        &self,
        repo: &str,
        branch: &str,
        changed_paths: &[String],
    ) -> impl Future<Output = Result<JobOutcome, JobError>> + Send;

    /// `image` was pushed and the server tracks every image: whoever keeps
    /// it up to date looks again. `hint` is the push. The default does
    /// nothing.
    fn image_pushed(
        &self,
        image: &str,
        hint: Option<ImageEvent>,
    ) -> impl Future<Output = Result<JobOutcome, JobError>> + Send {
        let _ = (image, hint);
        async { Ok(JobOutcome::Unchanged) }
    }

    /// Pull request `change.number` was opened or pushed to: show what it
    /// would change (the controller comments the rendered difference). The
    /// default does nothing.
    fn pull_request_changed(
        &self,
        change: &PullRequestChange,
    ) -> impl Future<Output = Result<JobOutcome, JobError>> + Send {
        let _ = change;
        async { Ok(JobOutcome::Unchanged) }
    }

    /// The repository `job` writes. Jobs that write the same repository run
    /// one at a time, and a job's timeout starts when its turn comes. The
    /// default puts every job behind one writer.
    fn repository(&self, job: &JobKey) -> String {
        let _ = job;
        String::new()
    }

    /// How long the runner's oldest unfinished piece of blocking work (a git
    /// fetch on a worker thread, say) has been going; `None` when there is none.
    ///
    /// A job abandoned at its timeout cannot stop a thread that is blocked; the
    /// server reports itself not ready while this exceeds the job timeout, so a
    /// wedged worker shows on `/readyz`.
    fn busy_for(&self) -> Option<Duration> {
        None
    }
}
