//! `kedge diff --revision A..B PATH`: what changing the repository from one
//! revision to another does to the objects PATH renders to, with no cluster
//! (what a pull request changes once merged).
//!
//! Exit status, as `git diff --exit-code` and `kubectl diff`: 0 when the two
//! revisions render to the same objects, 1 when they differ, 2 on errors (an
//! unknown revision, a render that fails at either revision, usage errors).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kedge_revision_diff::{GITHUB_COMMENT_LIMIT, RevisionDiff, RevisionRange, diff_revisions};

use crate::render::RenderFlags;

/// Arguments of `kedge diff --revision`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  kedge diff --revision main..HEAD apps/shop\n  kedge diff --revision origin/main...pr-42 charts/web --values prod.yaml -o markdown\n  kedge diff --revision v1.4.0..v1.5.0 overlays/prod -o json"
)]
pub struct DiffRevisionArgs {
    /// The revisions to compare: `A..B`, or `A...B` to start from their
    /// merge base (what a pull request from B into A changes). Each side is
    /// any revision git understands: branch, tag, commit, `HEAD~1`.
    #[arg(long, value_name = "A..B")]
    pub revision: RevisionRange,

    /// The directory (or file) to render, inside a Git working tree.
    pub path: PathBuf,

    #[command(flatten)]
    pub flags: RenderFlags,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = DiffFormat::Text)]
    pub output: DiffFormat,
}

/// `kedge diff --revision` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// A unified diff per object, as `git diff` prints files.
    Text,
    /// The typed result: revisions, and each object's change and diff.
    Json,
    /// A pull request comment: summary line and diff blocks, within GitHub's size limit.
    Markdown,
}

/// Runs `kedge diff --revision`.
pub fn run(args: &DiffRevisionArgs) -> anyhow::Result<ExitCode> {
    // The renderer is chosen once, from the working tree's copy of the path,
    // and used at both revisions.
    let renderer = args.flags.renderer(&args.path)?;
    let diff = diff_revisions(&args.path, &args.revision, &renderer, None)?;
    let mut out = std::io::stdout().lock();
    write_diff(&mut out, &diff, args.output)?;
    Ok(if diff.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Writes `diff` in `format`.
pub fn write_diff(
    out: &mut impl Write,
    diff: &RevisionDiff,
    format: DiffFormat,
) -> anyhow::Result<()> {
    match format {
        DiffFormat::Text => out.write_all(diff.to_text().as_bytes())?,
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, diff)?;
            writeln!(out)?;
        }
        DiffFormat::Markdown => out.write_all(diff.to_markdown(GITHUB_COMMENT_LIMIT).as_bytes())?,
    }
    Ok(())
}
