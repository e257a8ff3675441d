//! The work queue: jobs keyed by image alias (update) or repository and branch
//! (refresh), debounced, bounded, one job per key at a time.
//!
//! Events for a key wait for the debounce window that the first of them opened,
//! so a burst becomes one job. An event arriving while its key runs waits for
//! the next run instead of being lost. When the queue holds `capacity` distinct
//! keys, new keys are refused (the HTTP layer answers 503); an event for a key
//! already waiting is always merged.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use kedge_webhook::ImageEvent;
use tokio::sync::Notify;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::config::QueueSettings;
use crate::metrics::Metrics;
use crate::runner::{JobError, JobRunner, PullRequestChange};

/// What a job is about; jobs with equal keys coalesce.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobKey {
    /// Discover and update the tracked image with this alias.
    Update(String),
    /// Refresh what a repository's branch names.
    Refresh {
        /// The repository as configured.
        repo: String,
        /// The branch pushed or merged into.
        branch: String,
    },
    /// Show what an opened or updated pull request would change.
    PullRequest(PullRequestChange),
    /// An image was pushed; whoever tracks it at run time looks again.
    ImagePushed(String),
}

impl JobKey {
    /// The metric label: `update` or `refresh`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Update(_) => "update",
            Self::Refresh { .. } => "refresh",
            Self::PullRequest(_) => "pull_request",
            Self::ImagePushed(_) => "image_pushed",
        }
    }
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Update(alias) => write!(f, "update {alias}"),
            Self::ImagePushed(image) => write!(f, "image pushed {image}"),
            Self::Refresh { repo, branch } => write!(f, "refresh {repo}@{branch}"),
            Self::PullRequest(change) => write!(
                f,
                "pull request {}#{} at {}",
                change.repo,
                change.number,
                change.head_sha.get(..12).unwrap_or(&change.head_sha)
            ),
        }
    }
}

/// Why the queue refused a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueueRejection {
    /// `capacity` keys are already waiting.
    Full,
    /// The server is shutting down.
    Closed,
}

/// What the events of one job said beyond its key, gathered as they coalesce.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum JobHint {
    /// Nothing more (a poll, a merged pull request).
    #[default]
    None,
    /// The image push that asked for the job; a later one replaces it.
    Image(ImageEvent),
    /// The files pushed commits changed, from every push gathered.
    ChangedPaths(BTreeSet<String>),
}

impl JobHint {
    /// Folds a later event's hint into this one.
    fn merge(&mut self, later: JobHint) {
        match (self, later) {
            (_, JobHint::None) => {}
            (JobHint::ChangedPaths(paths), JobHint::ChangedPaths(more)) => paths.extend(more),
            (this, later) => *this = later,
        }
    }

    fn image(self) -> Option<ImageEvent> {
        match self {
            JobHint::Image(event) => Some(event),
            _ => None,
        }
    }

    fn changed_paths(self) -> Vec<String> {
        match self {
            JobHint::ChangedPaths(paths) => paths.into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

struct Pending {
    due: Instant,
    hint: JobHint,
}

#[derive(Default)]
struct Slot {
    pending: Option<Pending>,
    running: bool,
}

#[derive(Default)]
struct State {
    slots: HashMap<JobKey, Slot>,
    waiting: usize,
    running: usize,
    closing: bool,
}

/// The queue shared by the handlers (which enqueue) and the scheduler (which runs).
pub(crate) struct WorkQueue {
    state: Mutex<State>,
    /// One lock per repository that jobs write ([`JobRunner::repository`]).
    writers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    wake: Notify,
    settings: QueueSettings,
    metrics: Arc<Metrics>,
    scheduler_alive: AtomicBool,
}

impl WorkQueue {
    pub(crate) fn new(settings: QueueSettings, metrics: Arc<Metrics>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            writers: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            settings,
            metrics,
            scheduler_alive: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the state itself stays consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `jobs` all or nothing; returns how many were new keys (the rest merged).
    pub(crate) fn enqueue_all(
        &self,
        jobs: Vec<(JobKey, JobHint)>,
    ) -> Result<usize, QueueRejection> {
        let mut state = self.lock();
        if state.closing {
            return Err(QueueRejection::Closed);
        }
        let mut new_keys: Vec<&JobKey> = Vec::new();
        for (key, _) in &jobs {
            let waiting = state.slots.get(key).is_some_and(|s| s.pending.is_some());
            if !waiting && !new_keys.contains(&key) {
                new_keys.push(key);
            }
        }
        if state.waiting + new_keys.len() > self.settings.capacity {
            return Err(QueueRejection::Full);
        }
        let fresh = new_keys.len();
        let now = Instant::now();
        for (key, hint) in jobs {
            let due = now + self.settings.window(&key);
            let kind = key.kind();
            let slot = state.slots.entry(key).or_default();
            match &mut slot.pending {
                Some(pending) => {
                    pending.hint.merge(hint);
                    self.metrics.record_coalesced(kind);
                }
                None => {
                    slot.pending = Some(Pending { due, hint });
                    state.waiting += 1;
                }
            }
        }
        self.metrics.set_queue_depth(state.waiting);
        drop(state);
        self.wake.notify_one();
        Ok(fresh)
    }

    /// Refuses new jobs from now on and runs the waiting ones without waiting for their window.
    pub(crate) fn close(&self) {
        self.lock().closing = true;
        self.wake.notify_one();
    }

    /// True while the scheduler runs and the queue accepts jobs.
    pub(crate) fn is_ready(&self) -> bool {
        self.scheduler_alive.load(Ordering::Acquire) && !self.lock().closing
    }

    /// Jobs waiting and running, for shutdown logs.
    pub(crate) fn backlog(&self) -> (usize, usize) {
        let state = self.lock();
        (state.waiting, state.running)
    }

    /// The scheduler: starts due jobs until the queue is closed and empty.
    pub(crate) async fn run<R: JobRunner>(self: Arc<Self>, runner: Arc<R>) {
        self.scheduler_alive.store(true, Ordering::Release);
        loop {
            let (ready, next_due, finished) = self.take_ready();
            for (key, hint) in ready {
                let queue = Arc::clone(&self);
                let runner = Arc::clone(&runner);
                tokio::spawn(async move { queue.run_job(runner, key, hint).await });
            }
            if finished {
                break;
            }
            match next_due {
                Some(due) => {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep_until(due.into()) => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
        self.scheduler_alive.store(false, Ordering::Release);
    }

    /// Marks due jobs running and takes them; also the next due time and whether all is done.
    #[allow(clippy::type_complexity)]
    fn take_ready(&self) -> (Vec<(JobKey, JobHint)>, Option<Instant>, bool) {
        let now = Instant::now();
        let mut state = self.lock();
        let closing = state.closing;
        let mut ready = Vec::new();
        let mut next_due: Option<Instant> = None;
        let mut running = state.running;
        // Oldest first, so a busy key cannot keep a waiting one from its turn.
        let mut due: Vec<(Instant, JobKey)> = Vec::new();
        for (key, slot) in &state.slots {
            let Some(pending) = &slot.pending else {
                continue;
            };
            if slot.running {
                continue;
            }
            if closing || pending.due <= now {
                due.push((pending.due, key.clone()));
            } else {
                next_due = Some(next_due.map_or(pending.due, |d| d.min(pending.due)));
            }
        }
        due.sort_by_key(|(due, _)| *due);
        for (_, key) in due {
            if running >= self.settings.max_concurrent_jobs {
                break;
            }
            let Some(slot) = state.slots.get_mut(&key) else {
                continue;
            };
            let Some(pending) = slot.pending.take() else {
                continue;
            };
            slot.running = true;
            running += 1;
            ready.push((key, pending.hint));
        }
        state.running = running;
        state.waiting -= ready.len();
        self.metrics.set_queue_depth(state.waiting);
        let finished = closing && state.slots.is_empty();
        (ready, next_due, finished)
    }

    /// The lock of the repository `job` writes.
    fn writer<R: JobRunner>(&self, runner: &R, job: &JobKey) -> Arc<tokio::sync::Mutex<()>> {
        let repository = runner.repository(job);
        let mut writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(writers.entry(repository).or_default())
    }

    async fn run_job<R: JobRunner>(&self, runner: Arc<R>, key: JobKey, hint: JobHint) {
        let span = info_span!("job", job = %key);
        // Writers of one repository take turns; the timeout and the recorded
        // duration count the work only, not the wait for a turn.
        let waited = Instant::now();
        let turn = self.writer(runner.as_ref(), &key).lock_owned().await;
        debug!(parent: &span, waited = waited.elapsed().as_secs_f64(), "job's turn");
        let started = Instant::now();
        let task_key = key.clone();
        // The runner runs in its own task so a panic in it cannot wedge the key,
        // and under a deadline so a hang cannot either.
        let task = tokio::spawn(
            async move {
                let _turn = turn;
                match &task_key {
                    JobKey::Update(alias) => runner.update_image(alias, hint.image()).await,
                    JobKey::Refresh { repo, branch } => {
                        let changed_paths = hint.changed_paths();
                        runner
                            .refresh_repository(repo, branch, &changed_paths)
                            .await
                    }
                    JobKey::PullRequest(change) => runner.pull_request_changed(change).await,
                    JobKey::ImagePushed(image) => runner.image_pushed(image, hint.image()).await,
                }
            }
            .instrument(span.clone()),
        );
        let abort = task.abort_handle();
        let result = match tokio::time::timeout(self.settings.job_timeout, task).await {
            Ok(result) => result,
            Err(_) => {
                abort.abort();
                error!(parent: &span, timeout = ?self.settings.job_timeout, "job timed out; abandoned");
                Ok(Err(JobError::new(format!(
                    "timed out after {:?}",
                    self.settings.job_timeout
                ))))
            }
        };
        let elapsed = started.elapsed();
        let outcome = match result {
            Ok(Ok(outcome)) => {
                info!(parent: &span, outcome = outcome.label(), seconds = elapsed.as_secs_f64(), "job finished");
                outcome.label()
            }
            Ok(Err(e)) => {
                error!(parent: &span, error = %e, seconds = elapsed.as_secs_f64(), "job failed");
                "failed"
            }
            Err(e) => {
                error!(parent: &span, error = %e, "job panicked");
                "failed"
            }
        };
        self.metrics.record_job(key.kind(), outcome, elapsed);
        self.finish(&key);
    }

    fn finish(&self, key: &JobKey) {
        let mut state = self.lock();
        state.running -= 1;
        match state.slots.get_mut(key) {
            Some(slot) if slot.pending.is_some() => slot.running = false,
            Some(_) => {
                state.slots.remove(key);
            }
            None => warn!(job = %key, "finished job had no slot"),
        }
        drop(state);
        self.wake.notify_one();
    }
}
