//! kedge serve with a runner that does nothing, for load tests (see
//! `docs/perf-server.md`): a GitHub receiver with the GitHub docs' example
//! secret, tracking `Codertocat/Hello-World`, so every correctly signed push
//! is verified, parsed, matched and queued.
//!
//! `cargo run --release -p kedge-server --example load_server -- 127.0.0.1:8099`

use std::sync::Arc;
use std::time::Duration;

use kedge_server::{
    GitHubReceiver, ImageEvent, JobError, JobOutcome, JobRunner, Secret, ServerConfig,
    TrackedRepository, serve,
};

/// Answers every job at once.
struct NoopRunner;

impl JobRunner for NoopRunner {
    async fn update_image(&self, _: &str, _: Option<ImageEvent>) -> Result<JobOutcome, JobError> {
        Ok(JobOutcome::Unchanged)
    }

    async fn refresh_repository(
        &self,
        _: &str,
        _: &str,
        _: &[String],
    ) -> Result<JobOutcome, JobError> {
        Ok(JobOutcome::Unchanged)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".into());
    let config = ServerConfig {
        github: Some(GitHubReceiver {
            secret: Some(Secret::new("It's a Secret to Everybody")),
            insecure: false,
        }),
        repositories: vec![TrackedRepository {
            repo: "Codertocat/Hello-World".into(),
            branches: vec![],
        }],
        queue: kedge_server::QueueSettings {
            debounce: Duration::from_millis(100),
            ..Default::default()
        },
        ..ServerConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve(listener, config, Arc::new(NoopRunner), shutdown).await?;
    Ok(())
}
