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
}
