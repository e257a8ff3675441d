//! `kedge serve`: react to registry pushes and GitHub events within a second,
//! and poll only as a safety net.
//!
//! Webhook deliveries are authenticated (as an axum extractor), parsed by
//! [`kedge_webhook`], matched against the tracked images and repositories, and
//! queued. The queue coalesces events per image alias or repository within a
//! debounce window, runs one job per key at a time through a [`JobRunner`],
//! answers 503 with `Retry-After` when full, and drains on shutdown.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kedge_server::{JobError, JobOutcome, JobRunner, ServerConfig, TrackedImage, serve};
//! use kedge_webhook::ImageEvent;
//!
//! struct Runner;
//! impl JobRunner for Runner {
//!     async fn update_image(&self, alias: &str, _hint: Option<ImageEvent>) -> Result<JobOutcome, JobError> {
//!         Ok(JobOutcome::Unchanged)
//!     }
//!     async fn refresh_repository(&self, repo: &str, branch: &str, _changed: &[String]) -> Result<JobOutcome, JobError> {
//!         Ok(JobOutcome::Unchanged)
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ServerConfig {
//!     images: vec![TrackedImage { alias: "web".into(), image: "ghcr.io/org/web".into(), poll_interval: None }],
//!     ..ServerConfig::default()
//! };
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! serve(listener, config, Arc::new(Runner), std::future::pending::<()>()).await?;
//! # Ok(())
//! # }
//! ```

mod config;
mod error;
mod extract;
mod handlers;
mod listener;
mod metrics;
mod poll;
mod queue;
mod router;
mod runner;
mod server;
mod state;

pub use config::{
    ANY_IMAGE, ANY_REPOSITORY, ConnectionLimits, DEFAULT_BODY_LIMIT, DEFAULT_POLL_INTERVAL,
    GitHubReceiver, QueueSettings, RegistryReceiver, ServerConfig, TrackedImage, TrackedRepository,
};
pub use error::ServerError;
pub use kedge_webhook::{ImageEvent, ReceiverAuth, RegistrySource, Secret};
pub use metrics::{EventOutcome, Metrics};
pub use queue::JobKey;
pub use runner::{JobError, JobOutcome, JobRunner, PullRequestChange};
pub use server::{Server, serve};
