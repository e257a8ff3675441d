//! `kedge crds`: print the CustomResourceDefinitions of kedge's resources
//! (Application, ImageUpdate), generated from the Rust types, so they can be
//! piped to `kubectl apply --server-side -f -`.
//!
//! With `--output-dir`, each CRD is also written to `<plural>.yaml`
//! there: how the copies under `deploy/crds/` are made.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// `kedge crds` flags.
#[derive(Debug, clap::Args)]
pub struct CrdsArgs {
    /// Output format: a YAML stream, or a JSON `List`.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Yaml)]
    pub output: Format,

    /// Also write each CRD as YAML to `<plural>.yaml` in this directory
    /// (`applications.yaml`, `imageupdates.yaml`).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}

/// `kedge crds` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A YAML stream, one document a CRD.
    Yaml,
    /// A JSON `v1/List` of the CRDs.
    Json,
}

/// Runs `kedge crds`.
pub fn run(args: &CrdsArgs) -> anyhow::Result<ExitCode> {
    let crds = kedge_controller::crds();
    let mut out = std::io::stdout().lock();
    match args.output {
        Format::Yaml => {
            for crd in &crds {
                out.write_all(crd_yaml(crd)?.as_bytes())?;
            }
        }
        Format::Json => {
            let list = serde_json::json!({
                "apiVersion": "v1",
                "kind": "List",
                "items": crds,
            });
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
    }
    if let Some(dir) = &args.output_dir {
        for crd in &crds {
            let path = dir.join(format!("{}.yaml", crd.spec.names.plural));
            std::fs::write(&path, crd_yaml(crd)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One CRD as a YAML document, starting with `---`.
fn crd_yaml(crd: &CustomResourceDefinition) -> anyhow::Result<String> {
    let name = crd.metadata.name.as_deref().unwrap_or_default();
    let yaml =
        serde_saphyr::to_string(crd).with_context(|| format!("writing CRD {name} as YAML"))?;
    Ok(format!("---\n{yaml}"))
}
