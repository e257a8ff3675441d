//! `kedge serve`: the webhook receiver and bot, reacting to registry pushes and
//! GitHub events, polling as a safety net.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use kedge::config::Config;
use kedge::serve::{Server, UpdateRunner, server_config};
use kedge::update::Updater;
use kedge_server::{
    ANY_IMAGE, ANY_REPOSITORY, GitHubReceiver, ReceiverAuth, RegistryReceiver, RegistrySource,
    Secret, ServerConfig, TrackedImage, TrackedRepository,
};

use crate::UsageError;
use crate::controller::{
    self, CommentSettings, ConfiguredUpdate, ControllerFlags, ControllerRunner,
};
use kedge_controller::runtime::ControllerMetrics;

/// Arguments of `kedge serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The configuration file (default: kedge.yaml; with --controller it may be absent).
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,

    /// Webhook listener (overrides `serve.listen`; default 0.0.0.0:8080).
    #[arg(long)]
    listen: Option<String>,

    /// Separate listener for /metrics, /healthz and /readyz (overrides `serve.metricsListen`).
    #[arg(long)]
    metrics_listen: Option<String>,

    /// Where cached clones live (overrides `git.cacheDir`).
    #[arg(long, env = "KEDGE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,

    /// How long image events for one job are gathered into one run (overrides `serve.debounce`; default 2s).
    #[arg(long, value_parser = humantime::parse_duration)]
    debounce: Option<std::time::Duration>,

    /// How long Git events (pushes, pull requests) for one repository and branch are gathered into one run (overrides `serve.gitDebounce`; default 200ms).
    #[arg(long, value_parser = humantime::parse_duration)]
    git_debounce: Option<std::time::Duration>,

    #[command(flatten)]
    controller: ControllerFlags,
}

/// The environment variable holding the GitHub webhook secret when
/// `kedge serve --controller` runs without a `kedge.yaml`.
const GITHUB_SECRET_ENV: &str = "KEDGE_GITHUB_WEBHOOK_SECRET";

/// The environment variable holding the bearer token registry notifications
/// carry when `kedge serve --controller` runs without a `kedge.yaml`.
const REGISTRY_TOKEN_ENV: &str = "KEDGE_REGISTRY_WEBHOOK_TOKEN";

/// Runs `kedge serve` until SIGTERM or Ctrl-C, then drains the queue and exits 0.
pub async fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let (config_path, config) = load_config(args)?;
    let mut server_config = match (&config, &config_path) {
        (Some(config), Some(path)) => {
            server_config(config, path).map_err(|e| UsageError(e.to_string()))?
        }
        _ => controller_only_server_config()?,
    };
    if let Some(debounce) = args.debounce {
        server_config.queue.debounce = debounce;
    }
    if let Some(debounce) = args.git_debounce {
        server_config.queue.git_debounce = debounce;
    }
    let listeners = Listeners::bind(args, config.as_ref()).await?;
    let update = match config {
        Some(config) => {
            let (url, branch) = (config.git.url.clone(), config.git.branch.clone());
            let mut updater = Updater::new(config).map_err(|e| UsageError(e.to_string()))?;
            if let Some(dir) = &args.cache_dir {
                updater = updater.with_cache_dir(dir.clone());
            }
            Some((UpdateRunner::new(Arc::new(updater)), url, branch))
        }
        None => None,
    };
    if args.controller.controller {
        return serve_with_controller(args, server_config, listeners, update).await;
    }
    let Some((runner, _, _)) = update else {
        unreachable!("load_config returns a config without --controller");
    };
    let mut server =
        Server::new(server_config, Arc::new(runner)).map_err(|e| UsageError(e.to_string()))?;
    if let Some(metrics) = listeners.metrics {
        server = server.with_metrics_listener(metrics);
    }
    server.serve(listeners.webhooks, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// The webhook listener and the optional separate one for `/metrics`.
struct Listeners {
    webhooks: tokio::net::TcpListener,
    metrics: Option<tokio::net::TcpListener>,
}

impl Listeners {
    /// Binds what the flags, else `kedge.yaml`, say (webhooks on 0.0.0.0:8080
    /// by default).
    async fn bind(args: &ServeArgs, config: Option<&Config>) -> anyhow::Result<Self> {
        let listen = args
            .listen
            .clone()
            .or_else(|| config.and_then(|c| c.serve.listen.clone()))
            .unwrap_or_else(|| "0.0.0.0:8080".to_owned());
        let metrics_listen = args
            .metrics_listen
            .clone()
            .or_else(|| config.and_then(|c| c.serve.metrics_listen.clone()));
        let webhooks = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let metrics = match metrics_listen {
            Some(address) => Some(
                tokio::net::TcpListener::bind(&address)
                    .await
                    .with_context(|| format!("listening on {address}"))?,
            ),
            None => None,
        };
        tracing::info!(listen = %webhooks.local_addr()?, "kedge serve is listening");
        eprintln!("kedge: serving webhooks on {}", webhooks.local_addr()?);
        Ok(Self { webhooks, metrics })
    }
}

/// `kedge serve --controller`: the server, with every repository and image
/// tracked for the controller, which runs beside it until shutdown.
async fn serve_with_controller(
    args: &ServeArgs,
    mut server_config: ServerConfig,
    listeners: Listeners,
    update: Option<(UpdateRunner, String, String)>,
) -> anyhow::Result<ExitCode> {
    // Every repository's pushes reach the controller's Applications, every
    // image's pushes its ImageUpdates.
    server_config.repositories = vec![TrackedRepository {
        repo: ANY_REPOSITORY.to_owned(),
        branches: Vec::new(),
    }];
    server_config.images.push(TrackedImage {
        alias: ANY_IMAGE.to_owned(),
        image: ANY_IMAGE.to_owned(),
        poll_interval: Some(std::time::Duration::ZERO),
    });
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("kedge-controller"));
    let mut registry = prometheus_client::registry::Registry::with_prefix("kedge");
    let controller_metrics = ControllerMetrics::register(&mut registry);
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let stop_controller = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let comments = CommentSettings::from_env(cache_dir.clone());
    let (refresh, controller) = controller::start(
        &args.controller,
        cache_dir,
        controller_metrics,
        stop_controller,
    )
    .await?;
    let update = update.map(|(runner, url, branch)| ConfiguredUpdate::new(runner, &url, &branch));
    let runner = Arc::new(ControllerRunner::new(refresh, update, comments));
    let mut server = Server::new(server_config, runner)
        .map_err(|e| UsageError(e.to_string()))?
        .with_extra_metrics(registry);
    if let Some(metrics) = listeners.metrics {
        server = server.with_metrics_listener(metrics);
    }
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    server.serve(listeners.webhooks, shutdown).await?;
    controller.await.context("the controller task")?;
    Ok(ExitCode::SUCCESS)
}

/// `kedge.yaml` as `--config` names it, or `kedge.yaml` when it exists; with
/// `--controller` and no `--config`, no file at all is fine.
fn load_config(args: &ServeArgs) -> anyhow::Result<(Option<PathBuf>, Option<Config>)> {
    let path = match &args.config {
        Some(path) => path.clone(),
        None if args.controller.controller && !Path::new("kedge.yaml").exists() => {
            return Ok((None, None));
        }
        None => PathBuf::from("kedge.yaml"),
    };
    let config = Config::load(&path).map_err(|e| UsageError(e.to_string()))?;
    Ok((Some(path), Some(config)))
}

/// The server of `kedge serve --controller` without a `kedge.yaml`: GitHub
/// deliveries signed with the secret in `$KEDGE_GITHUB_WEBHOOK_SECRET`
/// (none: no GitHub route, polling only), and distribution registry
/// notifications at `/webhooks/registry/distribution` carrying
/// `Authorization: Bearer $KEDGE_REGISTRY_WEBHOOK_TOKEN` (none: no route).
fn controller_only_server_config() -> anyhow::Result<ServerConfig> {
    let receivers = match std::env::var(REGISTRY_TOKEN_ENV) {
        Ok(token) if token.is_empty() => {
            return Err(UsageError(format!("${REGISTRY_TOKEN_ENV} is set but empty")).into());
        }
        Ok(token) => vec![RegistryReceiver {
            name: "distribution".to_owned(),
            source: RegistrySource::Distribution,
            auth: Some(ReceiverAuth::bearer(&token)),
            insecure: false,
            registry: None,
        }],
        Err(_) => Vec::new(),
    };
    let github = match std::env::var(GITHUB_SECRET_ENV) {
        Ok(secret) if secret.is_empty() => {
            return Err(UsageError(format!("${GITHUB_SECRET_ENV} is set but empty")).into());
        }
        Ok(secret) => Some(GitHubReceiver {
            secret: Some(Secret::new(secret)),
            insecure: false,
        }),
        Err(_) => None,
    };
    Ok(ServerConfig {
        github,
        receivers,
        ..ServerConfig::default()
    })
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
