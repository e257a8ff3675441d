//! The state every handler shares.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Routing;
use crate::metrics::Metrics;
use crate::queue::WorkQueue;

/// Shared by all handlers: the validated configuration, the queue and the metrics.
#[derive(Clone)]
pub(crate) struct AppState {
    pub routing: Arc<Routing>,
    pub queue: Arc<WorkQueue>,
    pub metrics: Arc<Metrics>,
    pub retry_after: Duration,
    /// The runner's [`busy_for`](crate::JobRunner::busy_for).
    pub busy_for: Arc<dyn Fn() -> Option<Duration> + Send + Sync>,
    /// Blocking work running longer than this means a wedged worker.
    pub job_timeout: Duration,
    /// Largest accepted body.
    pub body_limit: usize,
    /// Bytes of request bodies that may be read at once, over all requests.
    pub body_budget: Arc<tokio::sync::Semaphore>,
}
