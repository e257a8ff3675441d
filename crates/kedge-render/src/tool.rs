//! Kustomize and Helm: the real CLIs, run once per render; their output is a
//! YAML stream parsed like a plain file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::documents::{parse_document, split_documents};
use crate::error::RenderError;
use crate::object::RenderedObject;

/// How to run Kustomize.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct KustomizeOptions {
    /// The command and its leading arguments; the path is appended
    /// (`kubectl kustomize` by default, or `kustomize build`).
    pub command: Vec<OsString>,
}

impl KustomizeOptions {
    /// Runs `command` (a program and its leading arguments, such as
    /// `["kustomize", "build"]`) with the path appended.
    pub fn new<S: Into<OsString>>(command: impl IntoIterator<Item = S>) -> Self {
        Self {
            command: command.into_iter().map(Into::into).collect(),
        }
    }
}

impl Default for KustomizeOptions {
    fn default() -> Self {
        Self {
            command: vec!["kubectl".into(), "kustomize".into()],
        }
    }
}

/// How to run `helm template`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct HelmOptions {
    /// The `helm` binary (found on `PATH` by default).
    pub binary: PathBuf,
    /// The release name templates see as `.Release.Name`.
    pub release: String,
    /// `.Release.Namespace`.
    pub namespace: Option<String>,
    /// Values files, relative to the chart directory (as `-f`).
    pub values_files: Vec<PathBuf>,
    /// `--set` values, `KEY=VALUE`.
    pub set: Vec<String>,
}

impl HelmOptions {
    /// Options for release `release`, everything else default.
    pub fn new(release: impl Into<String>) -> Self {
        Self {
            binary: "helm".into(),
            release: release.into(),
            namespace: None,
            values_files: Vec::new(),
            set: Vec::new(),
        }
    }
}

pub(crate) fn render_kustomize(
    path: &Path,
    options: &KustomizeOptions,
) -> Result<Vec<RenderedObject>, RenderError> {
    let Some((program, args)) = options.command.split_first() else {
        return Err(RenderError::ToolMissing {
            tool: String::new(),
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "empty Kustomize command",
            ),
        });
    };
    let mut command = Command::new(program);
    command.args(args).arg(path);
    let output = run(command, path)?;
    parse_stream(&output, path, |_| None)
}

pub(crate) fn render_helm(
    path: &Path,
    options: &HelmOptions,
) -> Result<Vec<RenderedObject>, RenderError> {
    let mut command = Command::new(&options.binary);
    // Values files are relative to the chart; CRDs in crds/ are part of what
    // sync applies; `helm test` hooks are not.
    command.current_dir(path).args([
        "template",
        &options.release,
        ".",
        "--include-crds",
        "--skip-tests",
    ]);
    if let Some(namespace) = &options.namespace {
        command.args(["--namespace", namespace]);
    }
    for file in &options.values_files {
        command.arg("--values").arg(file);
    }
    for value in &options.set {
        command.args(["--set", value]);
    }
    let output = run(command, path)?;
    parse_stream(&output, path, template_source)
}

/// Helm starts each document with `# Source: CHART/templates/FILE`.
fn template_source(text: &str) -> Option<PathBuf> {
    text.lines()
        .take(3)
        .find_map(|line| line.strip_prefix("# Source: "))
        .map(|source| PathBuf::from(source.trim()))
}

fn run(mut command: Command, path: &Path) -> Result<String, RenderError> {
    let tool = describe(&command);
    let output = command
        .output()
        .map_err(|source| RenderError::ToolMissing {
            tool: tool.clone(),
            path: path.to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(RenderError::ToolFailed {
            tool,
            path: path.to_owned(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr)
                .trim_end()
                .to_owned(),
        });
    }
    String::from_utf8(output.stdout).map_err(|_| RenderError::Syntax {
        file: PathBuf::from(&tool),
        line: 1,
        message: "output is not UTF-8".into(),
    })
}

fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let program = program.file_name().map_or(program.as_os_str(), |n| n);
    let first = command.get_args().next().unwrap_or_default();
    format!("{} {}", program.to_string_lossy(), first.to_string_lossy())
}

/// Parses a tool's output. Each document's source is what `source` finds in
/// it, or the rendered path with the line in the output.
fn parse_stream(
    output: &str,
    path: &Path,
    source: impl Fn(&str) -> Option<PathBuf>,
) -> Result<Vec<RenderedObject>, RenderError> {
    let mut out = Vec::new();
    for document in split_documents(output) {
        match source(document.text) {
            Some(file) => parse_document(&document, &file, None, &mut out)?,
            None => parse_document(&document, path, None, &mut out)?,
        }
    }
    Ok(out)
}
