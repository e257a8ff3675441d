//! `kedge diff`: what `kedge sync` would change, as a unified diff per
//! object (desired vs live, as the API server would merge them).
//!
//! Exit status: 0 when the cluster is in sync, 1 when something differs, 2
//! on errors (usage, a failed render, an unreadable cluster), as `kubectl diff`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kedge::kube::DiffReport;
use kedge::sync::compare::SyncStatus;

use crate::OutputFormat;
use crate::sync::AppFlags;

/// Arguments of `kedge diff`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  kedge diff deploy/ --app shop --namespace shop\n  kedge diff charts/app --app web -n web --values prod.yaml -o json"
)]
pub struct DiffArgs {
    /// The directory (or file) to render and compare.
    pub path: PathBuf,

    #[command(flatten)]
    pub app: AppFlags,

    /// Output format: unified diffs, or JSON with each object's status.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Runs `kedge diff`.
pub async fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let options = args.app.options()?;
    let objects = args.app.render(&args.path)?;
    let client = kube::Client::try_default().await?;
    let report = kedge::kube::diff(&client, &objects, &options).await?;
    let mut out = std::io::stdout().lock();
    match args.output {
        OutputFormat::Text => write_text(&mut out, &report)?,
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
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
