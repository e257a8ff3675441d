//! `kedge diff`: what `kedge sync` would change, as a unified diff per
//! object (desired vs live, as the API server would merge them); with
//! `--revision A..B`, what a change in Git changes, rendered at both
//! revisions, with no cluster.
//!
//! Exit status: 0 when there is no difference, 1 when something differs, 2 on
//! errors (usage, a failed render, an unreadable cluster), as `kubectl diff`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kedge::kube::DiffReport;
use kedge::sync::compare::SyncStatus;

use kedge::sync::inventory::AppName;
use kedge_revision_diff::RevisionRange;

use crate::UsageError;
use crate::diff_revision::{DiffFormat, DiffRevisionArgs};
use crate::render::RenderFlags;
use crate::sync::AppFlags;

/// Arguments of `kedge diff`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  kedge diff deploy/ --app shop --namespace shop\n  kedge diff charts/app --app web -n web --values prod.yaml -o json\n  kedge diff --revision main...feature deploy/ -o markdown",
    mut_arg("namespace", |arg| arg.help("The destination namespace (required with --app); Helm's `.Release.Namespace`")),
    mut_arg("release", |arg| arg.help("Helm release name (default: the app's name)"))
)]
pub struct DiffArgs {
    /// The directory (or file) to render and compare.
    pub path: PathBuf,

    /// Compare the path's render at two Git revisions instead of the
    /// cluster: `A..B`, or `A...B` from their merge base (what a pull
    /// request from B into A changes).
    #[arg(long, value_name = "A..B", conflicts_with_all = ["app", "ignore_differences"])]
    pub revision: Option<RevisionRange>,

    /// The app whose objects are compared with the cluster (label `kedge.dev/app=NAME`).
    #[arg(long, value_name = "NAME", required_unless_present = "revision")]
    pub app: Option<AppName>,

    /// A YAML or JSON list of ignoreDifferences rules (Argo CD's shape):
    /// fields not compared.
    #[arg(long, value_name = "FILE")]
    pub ignore_differences: Option<PathBuf>,

    /// How the path is rendered.
    #[command(flatten)]
    pub render: RenderFlags,

    /// Output format: unified diffs, JSON with each object's status, or (with
    /// --revision) a Markdown pull request comment.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = DiffFormat::Text)]
    pub output: DiffFormat,
}

/// Runs `kedge diff`.
pub async fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    if let Some(revision) = &args.revision {
        return crate::diff_revision::run(&DiffRevisionArgs {
            revision: revision.clone(),
            path: args.path.clone(),
            flags: args.render.clone(),
            output: args.output,
        });
    }
    if args.output == DiffFormat::Markdown {
        return Err(UsageError("-o markdown is for --revision diffs".into()).into());
    }
    let Some(app) = &args.app else {
        return Err(UsageError("--app NAME or --revision A..B is required".into()).into());
    };
    let app = AppFlags {
        app: app.clone(),
        ignore_differences: args.ignore_differences.clone(),
        render: args.render.clone(),
    };
    let options = app.options()?;
    let objects = app.render(&args.path)?;
    let client = kube::Client::try_default().await?;
    let report = kedge::kube::diff(&client, &objects, &options).await?;
    let mut out = std::io::stdout().lock();
    match args.output {
        DiffFormat::Text => write_text(&mut out, &report)?,
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        DiffFormat::Markdown => unreachable!("refused above"),
    }
    Ok(if report.in_sync() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_text(out: &mut impl Write, report: &DiffReport) -> std::io::Result<()> {
    for object in &report.objects {
        if object.status == SyncStatus::InSync {
            continue;
        }
        out.write_all(object.diff.as_bytes())?;
        if !object.diff.ends_with('\n') {
            writeln!(out)?;
        }
    }
    Ok(())
}
