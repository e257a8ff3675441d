//! `kedge update`: discover, rewrite and publish every configured image.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kedge::config::Config;
use kedge::update::{PullRequestAction, RunOptions, UpdateError, UpdateResult, Updater};

use crate::{OutputFormat, UsageError};

/// Arguments of `kedge update`.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The configuration file.
    #[arg(long, short = 'c', default_value = "kedge.yaml")]
    config: PathBuf,

    /// Print the diff and the pull requests it would open; change nothing.
    #[arg(long)]
    dry_run: bool,

    /// Only these images (by alias; repeatable).
    #[arg(long = "image")]
    images: Vec<String>,

    /// Where cached clones live (overrides `git.cacheDir`).
    #[arg(long, env = "KEDGE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

/// Runs `kedge update`: exit 0 when updated or already current, 1 when anything
/// failed (nothing half-done pushed; the images that could be updated were),
/// 2 for usage and configuration errors.
pub async fn run(args: &UpdateArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config).map_err(|e| UsageError(e.to_string()))?;
    for alias in &args.images {
        if !config.images.iter().any(|i| &i.alias == alias) {
            return Err(UsageError(format!(
                "--image {alias}: no such alias in {}",
                args.config.display()
            ))
            .into());
        }
    }
    let mut updater = Updater::new(config).map_err(|e| UsageError(e.to_string()))?;
    if let Some(dir) = &args.cache_dir {
        updater = updater.with_cache_dir(dir.clone());
    }
    let aliases: Vec<&str> = args.images.iter().map(String::as_str).collect();
    let selected = (!aliases.is_empty()).then_some(aliases.as_slice());
    let options = RunOptions {
        dry_run: args.dry_run,
    };
    match updater.run_images(selected, options).await {
        Ok(result) => {
            print_result(&result, args.output)?;
            for failure in &result.failed {
                eprintln!(
                    "kedge: image {} not updated: {}",
                    failure.alias, failure.error
                );
            }
            Ok(if result.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(error) => {
            report_error(&error, args.output);
            Ok(ExitCode::from(1))
        }
    }
}

fn print_result(result: &UpdateResult, format: OutputFormat) -> anyhow::Result<()> {
    let mut out = crate::buffered_stdout();
    if format == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut out, result)?;
        writeln!(out)?;
        out.flush()?;
        return Ok(());
    }
    let verb = if result.dry_run {
        "would update"
    } else {
        "updated"
    };
    for update in &result.updates {
        writeln!(
            out,
            "{verb} {}: {} -> {} ({} in {})",
            update.alias,
            update.old_reference,
            update.new_reference,
            plural(update.changes, "reference"),
            update.files.join(", ")
        )?;
    }
    for alias in &result.current {
        writeln!(out, "{alias}: already current")?;
    }
    if let Some(commit) = &result.commit {
        writeln!(out, "pushed commit {commit}")?;
    }
    for pr in &result.pull_requests {
        let action = match pr.action {
            PullRequestAction::Created => "opened",
            PullRequestAction::Updated => "updated",
            PullRequestAction::Unchanged => "already up to date",
            PullRequestAction::Closed => "closed (moot)",
            PullRequestAction::Planned => "would open or update",
        };
        let target = pr.url.as_deref().unwrap_or(&pr.branch);
        writeln!(out, "pull request {action}: {target} \"{}\"", pr.title)?;
    }
    if let Some(diff) = &result.diff {
        write!(out, "{diff}")?;
    }
    out.flush()?;
    Ok(())
}

fn report_error(error: &UpdateError, format: OutputFormat) {
    if format == OutputFormat::Json {
        let json = serde_json::json!({"error": error.to_string()});
        // The run failed already; a reader that left changes nothing.
        let _ = writeln!(std::io::stdout().lock(), "{json}");
    }
    eprintln!(
        "kedge: update failed: {}",
        kedge::update::error_chain(error)
    );
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
