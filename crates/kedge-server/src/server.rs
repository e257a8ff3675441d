//! Starting and stopping: the HTTP listeners, the queue's scheduler and the
//! pollers, and the graceful shutdown that stops accepting, finishes queued
//! jobs within a timeout, and returns.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::ServerError;
use crate::config::{Routing, ServerConfig};
use crate::listener::serve_connections;
use crate::metrics::Metrics;
use crate::poll::start_polling;
use crate::queue::WorkQueue;
use crate::router::{metrics_router, router};
use crate::runner::JobRunner;
use crate::state::AppState;

/// A validated server, ready to serve.
pub struct Server<R: JobRunner> {
    config: ServerConfig,
    routing: Arc<Routing>,
    runner: Arc<R>,
    metrics: Arc<Metrics>,
    metrics_listener: Option<TcpListener>,
}

impl<R: JobRunner> Server<R> {
    /// Validates `config`; refuses receivers without a secret that are not marked insecure.
    pub fn new(config: ServerConfig, runner: Arc<R>) -> Result<Self, ServerError> {
        let routing = Arc::new(config.validate()?);
        Ok(Self {
            config,
            routing,
            runner,
            metrics: Arc::new(Metrics::new()),
            metrics_listener: None,
        })
    }

    /// Serves `/metrics` (and `/healthz`, `/readyz`) on `listener` instead of the webhook listener.
    pub fn with_metrics_listener(mut self, listener: TcpListener) -> Self {
        self.metrics_listener = Some(listener);
        self
    }

    /// Serves `registry`'s metrics on `/metrics` beside the server's own
    /// (call before [`metrics`](Self::metrics)).
    pub fn with_extra_metrics(mut self, registry: prometheus_client::registry::Registry) -> Self {
        self.metrics = Arc::new(Metrics::with_extra(registry));
        self
    }

    /// The metrics the server records, for embedding in another registry or test.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// Serves until `shutdown` completes, then stops accepting, runs what is
    /// queued (bounded by the queue's `shutdown_timeout`) and returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let settings = self.config.queue.clone();
        let queue = Arc::new(WorkQueue::new(settings.clone(), Arc::clone(&self.metrics)));
        let scheduler = tokio::spawn(Arc::clone(&queue).run(Arc::clone(&self.runner)));
        let pollers = start_polling(&queue, &self.routing.polls);
        let state = AppState {
            routing: self.routing,
            queue: Arc::clone(&queue),
            metrics: self.metrics,
            retry_after: settings.retry_after,
            busy_for: {
                let runner = Arc::clone(&self.runner);
                Arc::new(move || runner.busy_for())
            },
            job_timeout: settings.job_timeout,
            body_limit: self.config.body_limit,
            body_budget: Arc::new(tokio::sync::Semaphore::new(
                self.config.limits.max_in_flight_body_bytes,
            )),
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let metrics_server = self.metrics_listener.map(|listener| {
            let app = metrics_router(state.clone());
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await
            })
        });
        let with_metrics = metrics_server.is_none();
        let app = router(state, self.config.body_limit, with_metrics);
        info!(address = ?listener.local_addr().ok(), "kedge serve listening");
        serve_connections(listener, app, self.config.limits, stopped(stop_rx)).await;
        info!("stopped accepting; finishing queued jobs");
        queue.close();
        for poller in pollers {
            poller.abort();
        }
        drain(&queue, scheduler, settings.shutdown_timeout).await;
        if let Some(handle) = metrics_server {
            match handle.await {
                Ok(result) => result.map_err(|source| ServerError::Serve {
                    what: "metrics",
                    source,
                })?,
                Err(e) => warn!(error = %e, "metrics listener task failed"),
            }
        }
        Ok(())
    }
}

/// Resolves once the shutdown signal has been sent (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn drain(
    queue: &WorkQueue,
    scheduler: tokio::task::JoinHandle<()>,
    timeout: std::time::Duration,
) {
    let abort = scheduler.abort_handle();
    match tokio::time::timeout(timeout, scheduler).await {
        Ok(_) => info!("queue drained"),
        Err(_) => {
            let (waiting, running) = queue.backlog();
            warn!(
                waiting,
                running,
                seconds = timeout.as_secs_f64(),
                "shutdown timeout; abandoning jobs"
            );
            abort.abort();
        }
    }
}

/// Serves `config` on `listener` with `runner` until `shutdown` completes;
/// shorthand for [`Server::new`] then [`Server::serve`].
pub async fn serve<R: JobRunner>(
    listener: TcpListener,
    config: ServerConfig,
    runner: Arc<R>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    Server::new(config, runner)?.serve(listener, shutdown).await
}
