//! A CI tool embedding kedge through its public API only, with the `update`
//! feature and nothing else:
//!
//! ```sh
//! kedge-embed pick IMAGE CONSTRAINT [--insecure]     # prints the newest allowed tag
//! kedge-embed rewrite FILE NAME=REFERENCE            # rewrites one manifest in place
//! kedge-embed update GIT_URL ALIAS IMAGE TARGET CONSTRAINT [--insecure]
//! ```
//!
//! Exit status: 0 done, 1 the work failed, 2 usage errors.

use std::path::Path;
use std::process::ExitCode;

use kedge::config::{Config, ImageConfig, PolicyConfig, RegistryConfig};
use kedge::discover::{DiscoverOptions, discover};
use kedge::policy::{PolicySpec, StrategySpec, TagPolicy};
use kedge::registry::{ClientConfig, RegistryClient, RegistrySettings};
use kedge::rewrite::{Update, rewrite};
use kedge::update::{RunOptions, Updater};

type Error = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let insecure = args.iter().any(|a| a == "--insecure");
    let args: Vec<&str> = (args.iter().map(String::as_str))
        .filter(|a| *a != "--insecure")
        .collect();
    let result = match args.as_slice() {
        ["pick", image, constraint] => pick(image, constraint, insecure).await,
        ["rewrite", file, update] => rewrite_file(Path::new(file), update),
        ["update", url, alias, image, target, constraint] => {
            update(url, alias, image, target, constraint, insecure).await
        }
        _ => {
            eprintln!("usage: kedge-embed pick|rewrite|update … (see the crate docs)");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kedge-embed: {error}");
            ExitCode::from(1)
        }
    }
}

/// Picks the newest tag of `image` that the semver `constraint` allows.
async fn pick(image: &str, constraint: &str, insecure: bool) -> Result<(), Error> {
    let image = image.parse()?;
    let registry = RegistryClient::new(ClientConfig {
        default_settings: RegistrySettings {
            insecure,
            ..RegistrySettings::default()
        },
        ..ClientConfig::default()
    });
    let policy = TagPolicy::new(PolicySpec {
        strategy: StrategySpec::Semver {
            constraint: constraint.into(),
            prereleases: false,
            loose: false,
        },
        allow: None,
        ignore: vec![],
        pattern: None,
        extract: None,
        min_age: None,
    })?;
    let found = discover(&registry, &image, &policy, &DiscoverOptions::default()).await?;
    println!("{}", found.tag);
    Ok(())
}

/// Rewrites the image references of one manifest, keeping every other byte.
fn rewrite_file(file: &Path, update: &str) -> Result<(), Error> {
    let bytes = std::fs::read(file)?;
    let outcome = rewrite(file, &bytes, &[Update::parse(update)?])?;
    std::fs::write(file, &outcome.bytes)?;
    println!("{} changes", outcome.changes.len());
    Ok(())
}

/// Runs the update flow from a configuration built in code.
async fn update(
    url: &str,
    alias: &str,
    image: &str,
    target: &str,
    constraint: &str,
    insecure: bool,
) -> Result<(), Error> {
    let tracked = ImageConfig::new(alias, image, [target]).with_policy(PolicyConfig {
        constraint: Some(constraint.into()),
        ..PolicyConfig::default()
    });
    let mut config = Config::new(url, vec![tracked]);
    let host = image.split('/').next().unwrap_or_default();
    config.registries.push(RegistryConfig {
        insecure,
        ..RegistryConfig::new(host)
    });
    let result = Updater::new(config)?.run(RunOptions::default()).await?;
    for update in &result.updates {
        println!("updated {} to {}", update.alias, update.new_tag);
    }
    for alias in &result.current {
        println!("{alias} is current");
    }
    for failure in &result.failed {
        eprintln!("{}: {}", failure.alias, failure.error);
    }
    if result.failed.is_empty() {
        Ok(())
    } else {
        Err("an image failed".into())
    }
}
