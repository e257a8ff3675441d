//! `kedge import`: reads an Argo CD Image Updater, Flux or Keel setup and
//! prints the `kedge.yaml` that does the same, with what could not be mapped
//! on standard error.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod crd;

use anyhow::Context as _;
use kedge_migrate::{Import, ImportOptions, Source, Tool};

/// Arguments of `kedge import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The tool the files configure.
    #[arg(value_enum)]
    tool: ToolArg,
    /// Its configuration: Argo CD Applications and ImageUpdaters; Flux
    /// ImageRepository, ImagePolicy, ImageUpdateAutomation, GitRepository and
    /// manifests with $imagepolicy markers; Keel workloads and Helm values.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The manifest repository, where the files do not name it (required for Keel).
    #[arg(long)]
    git_url: Option<String>,
    /// Path in that repository to rewrite: once for all files, or once per file.
    #[arg(long = "path", value_name = "PATH")]
    paths: Vec<String>,
    /// The branch, where the files do not name it.
    #[arg(long)]
    branch: Option<String>,
    /// What to print: kedge.yaml (several separated by ---), JSON with the
    /// report, or ImageUpdate resources for kedge's controller.
    #[arg(short, long, value_enum, default_value_t = ImportFormat::Yaml)]
    output: ImportFormat,
}

/// The tools `kedge import` reads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ToolArg {
    /// Argo CD Image Updater (annotations or ImageUpdater resources).
    ArgocdImageUpdater,
    /// Flux image automation.
    Flux,
    /// Keel.
    Keel,
}

/// `kedge import -o`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportFormat {
    /// kedge.yaml.
    Yaml,
    /// `{configs, notMapped, notes}`.
    Json,
    /// `ImageUpdate` resources (kedge.dev/v1alpha1).
    Crd,
}

/// Runs `kedge import`: 0 when everything mapped, 1 when something did not.
pub fn run(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let tool = match args.tool {
        ToolArg::ArgocdImageUpdater => Tool::ArgoCdImageUpdater,
        ToolArg::Flux => Tool::Flux,
        ToolArg::Keel => Tool::Keel,
    };
    let sources = args
        .files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Ok(Source::new(path, text))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut options = ImportOptions::default();
    options.git_url = args.git_url.clone();
    options.paths = args.paths.clone();
    options.branch = args.branch.clone();
    let imported = kedge_migrate::import(tool, &sources, &options)?;
    let yaml = imported.to_yaml()?;
    check_with_kedge(&imported)?;
    print(&imported, &yaml, args.output)?;
    for finding in &imported.not_mapped {
        eprintln!("kedge: not mapped: {finding}");
    }
    for finding in &imported.notes {
        eprintln!("kedge: note: {finding}");
    }
    if imported.configs.is_empty() {
        eprintln!("kedge: nothing could be mapped");
    }
    let complete = imported.not_mapped.is_empty() && !imported.configs.is_empty();
    Ok(if complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Prints the import on stdout in `format`.
fn print(imported: &Import, yaml: &str, format: ImportFormat) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match format {
        ImportFormat::Yaml => stdout.write_all(yaml.as_bytes())?,
        ImportFormat::Json => {
            let json = serde_json::json!({
                "configs": imported.configs,
                "notMapped": imported.not_mapped,
                "notes": imported.notes,
            });
            writeln!(stdout, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        ImportFormat::Crd => {
            let (resources, notes) = crd::image_updates(&imported.configs)?;
            let documents = resources
                .iter()
                .map(serde_saphyr::to_string)
                .collect::<Result<Vec<_>, _>>()?;
            stdout.write_all(documents.join("---\n").as_bytes())?;
            for note in notes {
                eprintln!("kedge: note: {note}");
            }
        }
    }
    stdout.flush()?;
    Ok(())
}

/// Reads every imported file back with kedge's own loader: what is printed
/// is a file `kedge update` accepts.
fn check_with_kedge(imported: &Import) -> anyhow::Result<()> {
    for config in &imported.configs {
        let yaml = config.to_yaml()?;
        kedge::config::Config::parse(Path::new("(imported kedge.yaml)"), &yaml).with_context(
            || format!("the imported configuration is not one kedge reads:\n{yaml}"),
        )?;
    }
    Ok(())
}
