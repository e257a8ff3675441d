//! `kedge tags`: choose the newest tag of an image that a policy allows.

use std::io::Read;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use kedge::config::{self, PolicyConfig};
use kedge::discover::{DiscoverError, DiscoverOptions, Discovery, discover};
use kedge::policy::{Order, TagPolicy};
use kedge::registry::{
    ClientConfig, CredentialStore, Credentials, ImageName, Platform, RegistryClient,
    RegistrySettings, escape_control,
};
use serde::Serialize;

use crate::{OutputFormat, UsageError};

/// Arguments of `kedge tags`.
#[derive(Debug, clap::Args)]
pub struct TagsArgs {
    /// Image without tag: `127.0.0.1:5000/team/app`, `ghcr.io/org/app`, `nginx`.
    image: String,

    /// How tags are ranked.
    #[arg(long, value_enum, default_value_t = Strategy::Semver)]
    strategy: Strategy,

    /// Semver range for `--strategy semver` (`^1.2`, `~1.2`, `>=1.0 <2.0`, `1.2.x`, `*`).
    #[arg(long, default_value = "*", allow_hyphen_values = true)]
    constraint: String,

    /// Consider pre-releases (`1.2.0-rc.1`) with `--strategy semver`.
    #[arg(long)]
    prereleases: bool,

    /// Read bare numbers (`42`, `20241105`) as versions with `--strategy semver`, as Argo CD
    /// Image Updater does; by default they are not versions.
    #[arg(long)]
    loose: bool,

    /// The mutable tag to follow with `--strategy digest`.
    #[arg(long = "tag", default_value = "latest")]
    follow_tag: String,

    /// Keep only tags matching this regex (it may start with `-`: `--allow -alpine$`).
    #[arg(long, allow_hyphen_values = true)]
    allow: Option<String>,

    /// Drop tags matching this regex (repeatable; it may start with `-`: `--ignore -rc`).
    #[arg(long, allow_hyphen_values = true)]
    ignore: Vec<String>,

    /// Keep only tags matching this regex, and rank by the value `--extract` builds from it.
    #[arg(long, requires = "extract", allow_hyphen_values = true)]
    pattern: Option<String>,

    /// Capture-group template (`$ts`, `${1}`) of the value ranked instead of the tag.
    #[arg(long, requires = "pattern")]
    extract: Option<String>,

    /// Ranking order for alphabetical and numerical: asc picks the highest, desc the lowest.
    #[arg(long, value_enum, default_value_t = OrderArg::Asc)]
    order: OrderArg,

    /// Keep only tags with an image for this platform (`linux/arm64`, `linux/arm/v7`).
    #[arg(long)]
    platform: Option<String>,

    /// Skip tags whose image was built less than this long ago (`1h`, `30m`, `2d`).
    #[arg(long, value_parser = humantime::parse_duration)]
    min_age: Option<Duration>,

    /// Talk plain HTTP to the registry.
    #[arg(long)]
    insecure: bool,

    /// Trust this CA certificate (PEM) for the registry.
    #[arg(long)]
    ca_file: Option<PathBuf>,

    /// Registry user name; the password is read from standard input.
    #[arg(long, requires = "password_stdin")]
    username: Option<String>,

    /// Read the registry password from standard input.
    #[arg(long, requires = "username")]
    password_stdin: bool,

    /// Requests started per second to the registry (default 200).
    #[arg(long, value_parser = parse_rate)]
    requests_per_second: Option<f64>,

    /// A Kubernetes `dockerconfigjson` Secret (or `.dockerconfigjson` file) to take credentials from.
    #[arg(long)]
    pull_secret: Option<PathBuf>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Strategy {
    Semver,
    Alphabetical,
    Numerical,
    NewestBuild,
    Digest,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OrderArg {
    Asc,
    Desc,
}

/// What `-o json` prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TagsOutput<'a> {
    image: String,
    tag: &'a str,
    digest: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_digest: Option<&'a str>,
    reference: String,
    candidates: usize,
    seen: usize,
}

impl TagsArgs {
    /// The same policy a `kedge.yaml` `policy:` block with these values would give.
    fn policy(&self) -> Result<TagPolicy, UsageError> {
        let strategy = match self.strategy {
            Strategy::Semver => config::Strategy::Semver,
            Strategy::Alphabetical => config::Strategy::Alphabetical,
            Strategy::Numerical => config::Strategy::Numerical,
            Strategy::NewestBuild => config::Strategy::NewestBuild,
            Strategy::Digest => config::Strategy::Digest,
        };
        let order = Some(match self.order {
            OrderArg::Asc => Order::Asc,
            OrderArg::Desc => Order::Desc,
        });
        let config = PolicyConfig {
            strategy,
            constraint: Some(self.constraint.clone()),
            prereleases: self.prereleases,
            loose: self.loose,
            order,
            tag: Some(self.follow_tag.clone()),
            allow: self.allow.clone(),
            ignore: self.ignore.clone(),
            pattern: self.pattern.clone(),
            extract: self.extract.clone(),
            min_age: self
                .min_age
                .map(|d| humantime::format_duration(d).to_string()),
            ..PolicyConfig::default()
        };
        config
            .to_policy()
            .map_err(|(field, message)| UsageError(format!("policy {field}: {message}")))
    }

    fn client(&self, image: &ImageName) -> anyhow::Result<RegistryClient> {
        let mut credentials = CredentialStore::from_default_docker_config()?;
        if let Some(path) = &self.pull_secret {
            credentials.merge(CredentialStore::from_kubernetes_secret(path)?);
        }
        if let Some(username) = &self.username {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the registry password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            if password.is_empty() {
                bail!(UsageError(
                    "--password-stdin: standard input was empty".into()
                ));
            }
            credentials.insert(
                image.registry(),
                Credentials::Basic {
                    username: username.clone(),
                    password,
                },
            );
        }
        let defaults = RegistrySettings::default();
        let settings = RegistrySettings {
            insecure: self.insecure,
            ca_file: self.ca_file.clone(),
            requests_per_second: self
                .requests_per_second
                .unwrap_or(defaults.requests_per_second),
            ..defaults
        };
        Ok(RegistryClient::new(ClientConfig {
            registries: vec![(image.registry().to_owned(), settings)],
            default_settings: RegistrySettings::default(),
            credentials,
        }))
    }
}

/// A positive, finite number of requests per second.
fn parse_rate(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{value:?} is not a positive number of requests per second"
        )),
    }
}

/// Runs `kedge tags`: exit 0 with a tag, 1 when no tag matches, 2 for usage and
/// connection errors (returned as `Err`).
pub async fn run(args: &TagsArgs) -> anyhow::Result<ExitCode> {
    let image: ImageName = args.image.parse().map_err(|e| UsageError(format!("{e}")))?;
    let policy = args.policy()?;
    let platform = args
        .platform
        .as_deref()
        .map(str::parse::<Platform>)
        .transpose()
        .map_err(|e| UsageError(e.to_string()))?;
    let client = args.client(&image)?;
    let options = DiscoverOptions {
        platform,
        now: None,
    };
    match discover(&client, &image, &policy, &options).await {
        Ok(found) => {
            print_found(&found, args.output)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(no_match @ DiscoverError::NoMatch { .. }) => {
            eprintln!("kedge: {}", escape_control(&no_match.to_string()));
            Ok(ExitCode::from(1))
        }
        Err(DiscoverError::Registry(e)) => Err(e.into()),
        Err(other) => Err(other.into()),
    }
}

/// Prints what was found in one write, so that a reader that stops early (`| grep -q`) meets a
/// complete answer or none; a write that fails is returned, never a panic.
fn print_found(found: &Discovery, format: OutputFormat) -> anyhow::Result<()> {
    let mut out = crate::buffered_stdout();
    match format {
        OutputFormat::Text => {
            // Registry-supplied values are checked when listed; escaping is the last line of defence.
            writeln!(out, "{}", escape_control(&found.tag))?;
            writeln!(out, "digest: {}", escape_control(&found.digest))?;
            if let Some(platform_digest) = &found.platform_digest {
                writeln!(out, "platform digest: {}", escape_control(platform_digest))?;
            }
            writeln!(
                out,
                "candidates: {} of {} tags",
                found.candidates, found.seen
            )?;
        }
        OutputFormat::Json => {
            let output = TagsOutput {
                image: found.image.to_string(),
                tag: &found.tag,
                digest: &found.digest,
                platform_digest: found.platform_digest.as_deref(),
                reference: format!("{}:{}@{}", found.image, found.tag, found.digest),
                candidates: found.candidates,
                seen: found.seen,
            };
            serde_json::to_writer_pretty(&mut out, &output)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}
