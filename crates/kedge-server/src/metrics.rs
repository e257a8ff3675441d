//! Prometheus metrics: webhook events by source and outcome, queue depth, jobs
//! by kind and outcome, and request and job durations as histograms.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What happened to one webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// At least one job was queued (or merged into a waiting one).
    Queued,
    /// Well-formed, but nothing to do (unknown event type, pull, delete).
    Ignored,
    /// Well-formed, but for images or repositories kedge does not track.
    Untracked,
    /// Missing or wrong signature or credentials.
    Unauthorized,
    /// Malformed body or headers.
    Invalid,
    /// Body over the limit.
    TooLarge,
    /// The queue was full or closing; the sender should retry.
    Rejected,
}

impl EventOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Ignored => "ignored",
            Self::Untracked => "untracked",
            Self::Unauthorized => "unauthorized",
            Self::Invalid => "invalid",
            Self::TooLarge => "too_large",
            Self::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    source: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

fn request_histogram() -> Histogram {
    // 50 µs … ~1.6 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

fn job_histogram() -> Histogram {
    // 10 ms … ~5.5 min
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

/// The server's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    events: Family<EventLabels, Counter>,
    request_seconds: Family<SourceLabels, Histogram, fn() -> Histogram>,
    queue_depth: Gauge,
    jobs: Family<JobLabels, Counter>,
    coalesced: Family<KindLabels, Counter>,
    job_seconds: Family<KindLabels, Histogram, fn() -> Histogram>,
    /// Another part's metrics served beside these (the controller's).
    extra: Option<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `kedge_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kedge");
        let events = Family::default();
        let request_seconds = Family::new_with_constructor(request_histogram as fn() -> Histogram);
        let queue_depth = Gauge::default();
        let jobs = Family::default();
        let coalesced = Family::default();
        let job_seconds = Family::new_with_constructor(job_histogram as fn() -> Histogram);
        registry.register(
            "webhook_events",
            "Webhook deliveries by source and outcome",
            events.clone(),
        );
        registry.register(
            "webhook_request_duration_seconds",
            "Time to authenticate, parse and queue one delivery",
            request_seconds.clone(),
        );
        registry.register(
            "queue_depth",
            "Jobs waiting in the queue (one per key)",
            queue_depth.clone(),
        );
        registry.register("jobs", "Jobs run, by kind and outcome", jobs.clone());
        registry.register(
            "jobs_coalesced",
            "Events merged into a job already waiting for the same key",
            coalesced.clone(),
        );
        registry.register(
            "job_duration_seconds",
            "Time one job took in the runner",
            job_seconds.clone(),
        );
        Self {
            registry,
            events,
            request_seconds,
            queue_depth,
            jobs,
            coalesced,
            job_seconds,
            extra: None,
        }
    }

    /// These metrics, and `extra`'s served with them on `/metrics`.
    pub fn with_extra(extra: Registry) -> Self {
        Self {
            extra: Some(extra),
            ..Self::new()
        }
    }

    /// Counts one delivery and records how long it took.
    pub fn record_event(&self, source: &'static str, outcome: EventOutcome, elapsed: Duration) {
        self.events
            .get_or_create(&EventLabels {
                source,
                outcome: outcome.label(),
            })
            .inc();
        self.request_seconds
            .get_or_create(&SourceLabels { source })
            .observe(elapsed.as_secs_f64());
    }

    /// Sets the number of waiting jobs.
    pub(crate) fn set_queue_depth(&self, depth: usize) {
        self.queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Counts an event merged into a waiting job.
    pub(crate) fn record_coalesced(&self, kind: &'static str) {
        self.coalesced.get_or_create(&KindLabels { kind }).inc();
    }

    /// Counts one finished job.
    pub(crate) fn record_job(&self, kind: &'static str, outcome: &'static str, elapsed: Duration) {
        self.jobs.get_or_create(&JobLabels { kind, outcome }).inc();
        self.job_seconds
            .get_or_create(&KindLabels { kind })
            .observe(elapsed.as_secs_f64());
    }

    /// Every metric in the OpenMetrics text format Prometheus scrapes.
    pub fn encode(&self) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        if let Some(extra) = &self.extra {
            let _ = encode_registry(&mut out, extra);
        }
        let _ = encode_eof(&mut out);
        out
    }
}
