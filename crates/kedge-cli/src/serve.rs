//! `kedge serve`: the webhook receiver and bot, reacting to registry pushes and
//! GitHub events, polling as a safety net.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use kedge::config::Config;
use kedge::serve::{Server, UpdateRunner, server_config};
use kedge::update::Updater;

use crate::UsageError;

/// Arguments of `kedge serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The configuration file.
    #[arg(long, short = 'c', default_value = "kedge.yaml")]
    config: PathBuf,

    /// Webhook listener (overrides `serve.listen`; default 0.0.0.0:8080).
    #[arg(long)]
    listen: Option<String>,

    /// Separate listener for /metrics, /healthz and /readyz (overrides `serve.metricsListen`).
    #[arg(long)]
    metrics_listen: Option<String>,

    /// Where cached clones live (overrides `git.cacheDir`).
    #[arg(long, env = "KEDGE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

/// Runs `kedge serve` until SIGTERM or Ctrl-C, then drains the queue and exits 0.
pub async fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config).map_err(|e| UsageError(e.to_string()))?;
    let server_config =
        server_config(&config, &args.config).map_err(|e| UsageError(e.to_string()))?;
    let listen = args
        .listen
        .clone()
        .or_else(|| config.serve.listen.clone())
        .unwrap_or_else(|| "0.0.0.0:8080".to_owned());
    let metrics_listen = args
        .metrics_listen
        .clone()
        .or_else(|| config.serve.metrics_listen.clone());
    let mut updater = Updater::new(config).map_err(|e| UsageError(e.to_string()))?;
    if let Some(dir) = &args.cache_dir {
        updater = updater.with_cache_dir(dir.clone());
    }
    let runner = Arc::new(UpdateRunner::new(Arc::new(updater)));
    let mut server = Server::new(server_config, runner).map_err(|e| UsageError(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    if let Some(address) = metrics_listen {
        let metrics = tokio::net::TcpListener::bind(&address)
            .await
            .with_context(|| format!("listening on {address}"))?;
        server = server.with_metrics_listener(metrics);
    }
    tracing::info!(listen = %listener.local_addr()?, "kedge serve is listening");
    eprintln!("kedge: serving webhooks on {}", listener.local_addr()?);
    server.serve(listener, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing queued jobs");
}
