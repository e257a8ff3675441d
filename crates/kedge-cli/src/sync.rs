//! `kedge sync`: render a path and make the cluster equal to it (server-side
//! apply, waves, hooks, health, prune), optionally healing it until
//! interrupted.
//!
//! Exit status: 0 when every object applied and became healthy, 1 when one
//! failed to apply or become healthy (each listed with its reason), 2 for
//! usage errors, a failed render (nothing is applied) or an unreadable cluster.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use kedge::kube::report::action_name;
use kedge::kube::{Action, ObjectResult, SyncOptions, SyncReport};
use kedge::render::{RenderedObject, Renderer, render};
use kedge::sync::ignore::{IgnoreDifferences, IgnoreRules};
use kedge::sync::inventory::AppName;

use crate::OutputFormat;
use crate::UsageError;
use crate::render::RenderFlags;

/// Where and as which app a path is synced: flags shared by `sync` and `diff`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    mut_arg("namespace", |arg| arg.help("The destination namespace (required); Helm's `.Release.Namespace`")),
    mut_arg("release", |arg| arg.help("Helm release name (default: the app's name)"))
)]
pub struct AppFlags {
    /// The app: every object applied carries the label `kedge.dev/app=NAME`.
    #[arg(long, value_name = "NAME")]
    pub app: AppName,

    /// A YAML or JSON list of ignoreDifferences rules (Argo CD's shape):
    /// fields neither compared nor applied.
    #[arg(long, value_name = "FILE")]
    pub ignore_differences: Option<PathBuf>,

    /// How the path is rendered; `--namespace` is the destination namespace.
    #[command(flatten)]
    pub render: RenderFlags,
}

impl AppFlags {
    /// The destination namespace (`--namespace`, required).
    pub fn namespace(&self) -> Result<&str, UsageError> {
        self.render.namespace.as_deref().ok_or_else(|| {
            UsageError("--namespace NS is required: the destination namespace".into())
        })
    }

    /// Sync options for this app, before the command's own flags.
    pub fn options(&self) -> anyhow::Result<SyncOptions> {
        let mut options = SyncOptions::new(self.app.clone(), self.namespace()?);
        if let Some(file) = &self.ignore_differences {
            options.ignore = read_ignore_rules(file)?;
        }
        Ok(options)
    }

    /// Renders `path`; `Err` with the message for a failed render. A Helm
    /// release is named after the app unless `--release` says otherwise.
    pub fn render(&self, path: &Path) -> anyhow::Result<Vec<RenderedObject>> {
        let mut renderer = self.render.renderer(path)?;
        if let (Renderer::Helm(options), None) = (&mut renderer, &self.render.release) {
            options.release = self.app.to_string();
        }
        render(path, &renderer)
            .map_err(|error| anyhow::anyhow!("render failed, nothing applied: {error}"))
    }
}

fn read_ignore_rules(file: &Path) -> anyhow::Result<IgnoreRules> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError(format!("--ignore-differences {}: {e}", file.display())))?;
    let rules: Vec<IgnoreDifferences> = serde_saphyr::from_str(&text)
        .map_err(|e| UsageError(format!("--ignore-differences {}: {e}", file.display())))?;
    IgnoreRules::new(rules)
        .map_err(|e| UsageError(format!("--ignore-differences {}: {e}", file.display())).into())
}

/// Arguments of `kedge sync`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  kedge sync deploy/ --app shop --namespace shop --prune\n  kedge sync charts/app --app web -n web --values prod.yaml --dry-run -o json\n  kedge sync overlays/prod --app shop -n shop --watch"
)]
pub struct SyncArgs {
    /// The directory (or file) to render and apply.
    pub path: PathBuf,

    #[command(flatten)]
    pub app: AppFlags,

    /// Delete the app's objects that left Git, once everything applied.
    #[arg(long)]
    pub prune: bool,

    /// Ask the API server to validate every apply without persisting it; list what would be pruned.
    #[arg(long)]
    pub dry_run: bool,

    /// Take over fields that another field manager owns instead of skipping the object.
    #[arg(long)]
    pub force_conflicts: bool,

    /// Create the destination namespace if it does not exist.
    #[arg(long)]
    pub create_namespace: bool,

    /// Let --prune delete every object of the app when the path renders to nothing.
    #[arg(long, requires = "prune")]
    pub allow_empty: bool,

    /// How long to wait for objects to become healthy.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Keep healing the app after the sync (re-apply drifted or deleted objects) until interrupted.
    #[arg(long, conflicts_with = "dry_run")]
    pub watch: bool,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Runs `kedge sync`.
pub async fn run(args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let mut options = args.app.options()?;
    options.prune = args.prune;
    options.dry_run = args.dry_run;
    options.force_conflicts = args.force_conflicts;
    options.create_namespace = args.create_namespace;
    options.allow_empty = args.allow_empty;
    options.timeout = args.timeout;
    let objects = args.app.render(&args.path)?;
    let client = kube::Client::try_default().await?;
    let report = kedge::kube::sync(&client, &objects, &options).await?;
    let mut out = std::io::stdout().lock();
    match args.output {
        OutputFormat::Text => write_text(&mut out, &report)?,
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    drop(out);
    if args.watch {
        eprintln!("kedge: watching app {} (interrupt to stop)", options.app);
        let shutdown = interrupted();
        let format = args.output;
        kedge::kube::heal(&client, &objects, &options, shutdown, |healed| {
            print_healed(healed, format);
        })
        .await?;
    }
    Ok(if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Completes on Ctrl-C, or on SIGTERM (how a container is stopped).
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn print_healed(healed: &ObjectResult, format: OutputFormat) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        OutputFormat::Text => write_line(&mut out, healed),
        OutputFormat::Json => serde_json::to_writer(&mut out, healed)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
    };
    let _ = out.flush();
}

fn write_text(out: &mut impl Write, report: &SyncReport) -> std::io::Result<()> {
    for object in &report.objects {
        write_line(out, object)?;
    }
    let count = |name: &str| {
        report
            .objects
            .iter()
            .filter(|o| action_name(&o.action) == name)
            .count()
    };
    writeln!(
        out,
        "{}app {}: {} applied, {} unchanged, {} pruned, {} skipped, {} failed",
        if report.dry_run { "(dry run) " } else { "" },
        report.app,
        count("applied"),
        count("unchanged"),
        count("pruned"),
        count("skipped"),
        count("failed"),
    )
}

fn write_line(out: &mut impl Write, object: &ObjectResult) -> std::io::Result<()> {
    let health = object
        .health
        .as_ref()
        .map(|h| format!(" ({:?})", h.status))
        .unwrap_or_default();
    match &object.action {
        Action::Skipped { reason, .. } | Action::Failed { reason } => writeln!(
            out,
            "{:<9} {}{health}: {reason}",
            action_name(&object.action),
            object.key
        ),
        action => writeln!(out, "{:<9} {}{health}", action_name(action), object.key),
    }
}
