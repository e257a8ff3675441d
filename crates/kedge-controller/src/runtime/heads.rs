//! [`RemoteHeads`]: what each repository's refs point at, listed once per
//! repository per interval however many Applications read it, and listed
//! again at once when a webhook says the repository changed.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use kedge_git::{CommitId, GitError, Remote, ls_remote, resolve_revision};

use super::ControllerMetrics;

/// A revision resolved against a remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRevision {
    /// The ref it came from (`refs/heads/main`); `None` for a commit id.
    pub refname: Option<String>,
    /// The commit.
    pub commit: CommitId,
}

#[derive(Default)]
struct Listing {
    listed_at: Option<(Instant, SystemTime)>,
    refs: BTreeMap<String, CommitId>,
}

/// The refs of every repository the controller reads, each listed at most
/// once per `max_age` (one `git ls-remote`), shared by all Applications.
#[derive(Default)]
pub struct RemoteHeads {
    listings: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Listing>>>>,
    listed: AtomicU64,
    metrics: Option<ControllerMetrics>,
}

impl RemoteHeads {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts listings in `metrics` too.
    pub fn with_metrics(mut self, metrics: Option<ControllerMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The commit `revision` names on `remote`, from a listing no older
    /// than `max_age` and, when `fresh_after` is given (a webhook's time),
    /// made after it. Callers asking for one repository at once wait for a
    /// single listing, so one push to a repository read by many
    /// Applications lists it once.
    pub async fn resolve(
        &self,
        remote: &Remote,
        revision: &str,
        max_age: Duration,
        fresh_after: Option<SystemTime>,
    ) -> Result<ResolvedRevision, HeadsError> {
        if let Ok(commit) = revision.parse::<CommitId>() {
            return Ok(ResolvedRevision {
                refname: None,
                commit,
            });
        }
        let listing = self.listing(&remote.url);
        let mut listing = listing.lock().await;
        let fresh = listing.listed_at.is_some_and(|(at, wall)| {
            at.elapsed() < max_age && fresh_after.is_none_or(|after| wall >= after)
        });
        if !fresh {
            let started = (Instant::now(), SystemTime::now());
            let owned = remote.clone();
            let refs = tokio::task::spawn_blocking(move || ls_remote(&owned))
                .await
                .map_err(HeadsError::Task)??;
            self.listed.fetch_add(1, Ordering::Relaxed);
            if let Some(metrics) = &self.metrics {
                metrics.record_git_listing();
            }
            *listing = Listing {
                listed_at: Some(started),
                refs,
            };
        }
        let commit =
            resolve_revision(&listing.refs, revision).ok_or_else(|| HeadsError::NoRevision {
                url: kedge_git::redact_url(&remote.url),
                revision: revision.to_owned(),
            })?;
        let refname = [
            revision.to_owned(),
            format!("refs/heads/{revision}"),
            format!("refs/tags/{revision}"),
        ]
        .into_iter()
        .find(|name| listing.refs.contains_key(name));
        Ok(ResolvedRevision { refname, commit })
    }

    /// How many `ls-remote`s were made so far.
    pub fn listings_made(&self) -> u64 {
        self.listed.load(Ordering::Relaxed)
    }

    fn listing(&self, url: &str) -> Arc<tokio::sync::Mutex<Listing>> {
        Arc::clone(
            self.listings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(url.to_owned())
                .or_default(),
        )
    }
}

/// Why a revision could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeadsError {
    /// Listing the remote failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The remote has no branch or tag of that name.
    #[error("{url} has no branch or tag {revision:?}")]
    NoRevision {
        /// The remote, without credentials.
        url: String,
        /// The revision asked for.
        revision: String,
    },
    /// The blocking listing task died.
    #[error("listing refs: {0}")]
    Task(#[source] tokio::task::JoinError),
}
