//! The `kedge` command: a thin layer that parses flags, builds clients once and
//! calls the `kedge` library.

mod controller;
mod crds;
mod diff;
mod diff_revision;
mod import;
mod render;
mod serve;
mod set_image;
mod sync;
mod tags;
mod update;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// GitOps automation: discover image tags, bump manifests, publish and sync.
#[derive(Debug, Parser)]
#[command(name = "kedge", version, about, propagate_version = true)]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// More log output (-v: debug, -vv: trace). `RUST_LOG` overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Choose the newest tag of an image that a policy allows.
    Tags(Box<tags::TagsArgs>),
    /// Rewrite image references in manifest files, changing only those bytes.
    SetImage(set_image::SetImageArgs),
    /// Discover new tags, bump the manifests in Git, and push or open pull requests.
    Update(update::UpdateArgs),
    /// Serve webhooks: react to registry pushes and GitHub events, poll as a safety net.
    Serve(serve::ServeArgs),
    /// Print the objects a path renders to: plain manifests, Kustomize or Helm.
    Render(render::RenderArgs),
    /// Make a cluster equal to what a path renders to: apply, wait, prune, heal.
    Sync(Box<sync::SyncArgs>),
    /// Show what sync would change, or with --revision what a change in Git
    /// changes: a unified diff per object (exit 1 when something differs).
    Diff(Box<diff::DiffArgs>),
    /// Print the CustomResourceDefinitions of kedge's Application and ImageUpdate.
    Crds(crds::CrdsArgs),
    /// Print the kedge.yaml for an Argo CD Image Updater, Flux or Keel setup
    /// (exit 1 when something could not be mapped; it is listed on stderr).
    Import(Box<import::ImportArgs>),
}

/// Output formats shared by the subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Text,
    /// For programs.
    Json,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// A mistake in how kedge was called; exits with status 2 like clap's own errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn init_logging(cli: &Cli) {
    // A server's log is its record of what it did; one-shot commands stay quiet.
    let quiet = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    let default = match cli.verbose {
        0 => quiet,
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colour only for a person at a terminal: in a file or a collector the
    // escape codes are noise (and most of the bytes).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn block_on(future: impl Future<Output = anyhow::Result<ExitCode>>) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let result = match &cli.command {
        Command::Tags(args) => block_on(tags::run(args)),
        Command::SetImage(args) => set_image::run(args),
        Command::Update(args) => block_on(update::run(args)),
        Command::Serve(args) => block_on(serve::run(args)),
        Command::Render(args) => render::run(args),
        Command::Sync(args) => block_on(sync::run(args)),
        Command::Diff(args) => block_on(diff::run(args)),
        Command::Crds(args) => crds::run(args),
        Command::Import(args) => import::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader of the output went away (`kedge … | head`): the work is done and nobody is
        // left to read a message, so exit as if it had been read.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kedge: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Standard output for a command's report: locked once and buffered, so a long report is a
/// few writes. A write that fails (the reader went away) is returned to `main`, which ends
/// quietly on a broken pipe.
fn buffered_stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::new(std::io::stdout().lock())
}

/// Whether `error` is a write to a closed pipe.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
