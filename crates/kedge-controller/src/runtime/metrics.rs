//! The controller's metrics, registered in a `prometheus-client` registry
//! that `kedge serve` serves on `/metrics` beside the webhook server's.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

fn reconcile_histogram() -> Histogram {
    // 10 ms … ~5.5 min: a sync may wait minutes for health.
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

/// What the controller counts.
#[derive(Debug, Clone)]
pub struct ControllerMetrics {
    reconciles: Family<ResultLabels, Counter>,
    reconcile_seconds: Family<KindLabels, Histogram, fn() -> Histogram>,
    git_listings: Counter,
    leader: Gauge,
}

impl ControllerMetrics {
    /// Registers the metrics in `registry` (under its prefix, `kedge_` in
    /// `kedge serve`).
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            reconciles: Family::default(),
            reconcile_seconds: Family::new_with_constructor(
                reconcile_histogram as fn() -> Histogram,
            ),
            git_listings: Counter::default(),
            leader: Gauge::default(),
        };
        registry.register(
            "controller_reconciles",
            "Reconciles by kind and result (synced, compared, failed, waiting, stalled)",
            metrics.reconciles.clone(),
        );
        registry.register(
            "controller_reconcile_duration_seconds",
            "Time one reconcile took, health waits included",
            metrics.reconcile_seconds.clone(),
        );
        registry.register(
            "controller_git_listings",
            "git ls-remote calls (one per repository per interval, and per webhook)",
            metrics.git_listings.clone(),
        );
        registry.register(
            "controller_leader",
            "1 while this replica holds the leader Lease",
            metrics.leader.clone(),
        );
        metrics
    }

    /// Counts a reconcile of `kind` that ended in `result`.
    pub fn record_reconcile(&self, kind: &'static str, result: &'static str, elapsed: Duration) {
        self.reconciles
            .get_or_create(&ResultLabels { kind, result })
            .inc();
        self.reconcile_seconds
            .get_or_create(&KindLabels { kind })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one `git ls-remote`.
    pub fn record_git_listing(&self) {
        self.git_listings.inc();
    }

    /// Whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }
}
