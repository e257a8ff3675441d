//! `kedge render`: print the objects a path renders to, as sync would apply
//! them: plain manifests, a Kustomize build or a Helm chart.
//!
//! Exit status: 0 when it rendered, 1 when the render failed (a bad document,
//! a duplicate object, a failing tool: the error names file and line, or the
//! tool and its stderr), 2 for usage errors.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kedge::render::{HelmOptions, KustomizeOptions, RenderedObject, Renderer, render};

use crate::UsageError;

/// How a path is rendered: flags shared by `render` (and later `diff`/`sync`).
#[derive(Debug, Clone, clap::Args)]
pub struct RenderFlags {
    /// Build the path with Kustomize (detected from a kustomization file otherwise).
    #[arg(long, conflicts_with = "helm")]
    pub kustomize: bool,

    /// Template the path as a Helm chart (detected from Chart.yaml otherwise).
    #[arg(long)]
    pub helm: bool,

    /// Helm release name (default: the chart directory's name).
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,

    /// Namespace for Helm's `.Release.Namespace`.
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,

    /// Helm values file, relative to the chart; repeatable.
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    pub values: Vec<PathBuf>,

    /// Helm value `KEY=VALUE`; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// The helm binary.
    #[arg(long, value_name = "PATH", default_value = "helm", env = "KEDGE_HELM")]
    pub helm_binary: PathBuf,

    /// The Kustomize command, split at spaces; the path is appended.
    #[arg(
        long,
        value_name = "COMMAND",
        default_value = "kubectl kustomize",
        env = "KEDGE_KUSTOMIZE"
    )]
    pub kustomize_command: String,
}

impl RenderFlags {
    /// The renderer these flags ask for, detecting it from the path when
    /// neither `--kustomize` nor `--helm` is given.
    pub fn renderer(&self, path: &Path) -> Result<Renderer, UsageError> {
        let detected = Renderer::detect(path);
        if self.helm || !self.kustomize && matches!(detected, Renderer::Helm(_)) {
            let release = match (&self.release, detected) {
                (Some(release), _) => release.clone(),
                (None, Renderer::Helm(options)) => options.release,
                (None, _) => "release".into(),
            };
            let mut options = HelmOptions::new(release);
            options.binary = self.helm_binary.clone();
            options.namespace = self.namespace.clone();
            options.values_files = self.values.clone();
            options.set = self.set.clone();
            return Ok(Renderer::Helm(options));
        }
        if !self.values.is_empty() || !self.set.is_empty() || self.release.is_some() {
            return Err(UsageError(format!(
                "--values, --set and --release are Helm flags, but {} is not a Helm chart (no Chart.yaml; pass --helm to insist)",
                path.display()
            )));
        }
        if self.kustomize || matches!(detected, Renderer::Kustomize(_)) {
            let command: Vec<OsString> = self
                .kustomize_command
                .split_whitespace()
                .map(Into::into)
                .collect();
            if command.is_empty() {
                return Err(UsageError("--kustomize-command is empty".into()));
            }
            return Ok(Renderer::Kustomize(KustomizeOptions::new(command)));
        }
        Ok(Renderer::Plain)
    }
}

/// Arguments of `kedge render`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  kedge render deploy/\n  kedge render charts/app --values prod.yaml --set image.tag=1.2.3 --show-source\n  kedge render overlays/prod -o json"
)]
pub struct RenderArgs {
    /// The directory (or file) to render.
    pub path: PathBuf,

    #[command(flatten)]
    pub flags: RenderFlags,

    /// Say which file (or Helm template) and line each object came from.
    #[arg(long)]
    pub show_source: bool,

    /// Output format: a YAML stream, or a JSON array of objects.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Yaml)]
    pub output: Format,
}

/// `kedge render` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A YAML stream, one document an object.
    Yaml,
    /// A JSON array.
    Json,
}

/// Runs `kedge render`.
pub fn run(args: &RenderArgs) -> anyhow::Result<ExitCode> {
    let renderer = args.flags.renderer(&args.path)?;
    let objects = match render(&args.path, &renderer) {
        Ok(objects) => objects,
        Err(error) => {
            eprintln!("kedge: render failed: {error}");
            return Ok(ExitCode::from(1));
        }
    };
    let mut out = std::io::stdout().lock();
    match args.output {
        Format::Yaml => write_yaml(&mut out, &objects, args.show_source)?,
        Format::Json => {
            let list: Vec<_> = objects
                .iter()
                .map(|o| json_with_source(o, args.show_source))
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_yaml(
    out: &mut impl Write,
    objects: &[RenderedObject],
    show_source: bool,
) -> anyhow::Result<()> {
    for object in objects {
        writeln!(out, "---")?;
        if show_source {
            writeln!(out, "# Source: {}", object.source)?;
        }
        out.write_all(serde_saphyr::to_string(&object.object)?.as_bytes())?;
    }
    Ok(())
}

fn json_with_source(object: &RenderedObject, show_source: bool) -> serde_json::Value {
    let mut value = serde_json::Value::Object(object.object.clone());
    if show_source {
        value["metadata"]["annotations"]["kedge.dev/source"] = object.source.to_string().into();
    }
    value
}
