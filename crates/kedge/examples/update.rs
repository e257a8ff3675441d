//! Embedding kedge's update flow in another CI tool: load `kedge.yaml`, run
//! discover → rewrite → publish once, and act on the typed result.
//!
//! ```sh
//! cargo run -p kedge --example update -- path/to/kedge.yaml [--dry-run]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use kedge::config::Config;
use kedge::update::{RunOptions, Updater};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: update KEDGE_YAML [--dry-run]");
        return ExitCode::from(2);
    };
    let dry_run = args.any(|a| a == "--dry-run");

    let config = match Config::load(&path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let updater = match Updater::new(config) {
        Ok(updater) => updater,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match updater.run(RunOptions { dry_run }).await {
        Ok(result) => {
            for update in &result.updates {
                println!(
                    "{}: {} -> {}",
                    update.alias, update.old_reference, update.new_reference
                );
            }
            if let Some(commit) = &result.commit {
                println!("commit {commit}");
            }
            for pr in &result.pull_requests {
                println!(
                    "{:?} {}",
                    pr.action,
                    pr.url.as_deref().unwrap_or(&pr.branch)
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("update failed: {e}");
            ExitCode::from(1)
        }
    }
}
