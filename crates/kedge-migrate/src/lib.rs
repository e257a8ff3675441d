//! Reads the image-update configuration of Argo CD Image Updater, Flux image
//! automation or Keel and maps it to `kedge.yaml`.
//!
//! [`import`] takes the files a user already has (Argo CD `Application`s and
//! `ImageUpdater`s; Flux `ImageRepository`, `ImagePolicy`,
//! `ImageUpdateAutomation` and manifests with `$imagepolicy` markers; Keel
//! workloads and Helm values with a `keel:` block) and returns one
//! [`KedgeConfig`] per manifest repository and branch, plus every key it could
//! not map with its file, line and the reason. Nothing here touches the
//! network or the file system: the caller reads the files.
//!
//! ```
//! use kedge_migrate::{ImportOptions, Source, Tool, import};
//!
//! let text = "apiVersion: argoproj.io/v1alpha1
//! kind: Application
//! metadata:
//!   name: web
//!   annotations:
//!     argocd-image-updater.argoproj.io/image-list: web=ghcr.io/org/web:~1.2
//!     argocd-image-updater.argoproj.io/write-back-method: git
//! spec:
//!   source: {repoURL: https://github.com/org/manifests.git, path: apps/web, targetRevision: main}
//! ";
//! let sources = [Source::new("web.yaml", text)];
//! let imported = import(Tool::ArgoCdImageUpdater, &sources, &ImportOptions::default())?;
//! assert_eq!(imported.configs[0].images[0].targets, ["apps/web"]);
//! assert!(imported.not_mapped.is_empty());
//! # Ok::<(), kedge_migrate::MigrateError>(())
//! ```

#![deny(missing_docs)]

mod argocd;
mod error;
mod flux;
mod group;
mod keel;
mod model;
mod report;
mod tags;
mod yaml;

use std::path::PathBuf;

pub use error::MigrateError;
pub use model::{
    Author, Forge, Git, GitHub, Image, KedgeConfig, Pin, Policy, PullRequest, Strategy, WriteBack,
    WriteBackMode,
};
pub use report::Finding;

/// The tool whose configuration is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tool {
    /// Argo CD Image Updater: annotated `Application`s and `ImageUpdater` resources.
    ArgoCdImageUpdater,
    /// Flux image automation: `ImageRepository`, `ImagePolicy`, `ImageUpdateAutomation`.
    Flux,
    /// Keel: `keel.sh/*` annotations and Helm `keel:` values.
    Keel,
}

impl Tool {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::ArgoCdImageUpdater => "argocd-image-updater",
            Self::Flux => "flux",
            Self::Keel => "keel",
        }
    }
}

/// One input file: its path as the user named it and its text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path, used in findings (and, for Flux manifests with markers, as the target).
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
}

impl Source {
    /// A file named `path` holding `text`.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }
}

/// What the files themselves may not say: where the manifests live in Git.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportOptions {
    /// The manifest repository (required for Keel; otherwise it fills in for
    /// an Application or automation whose repository is not among the files).
    pub git_url: Option<String>,
    /// Paths in that repository: one for all files, or one per file in order.
    pub paths: Vec<String>,
    /// The branch, when the files do not name one.
    pub branch: Option<String>,
}

impl ImportOptions {
    /// Options naming the manifest repository and the target paths in it.
    pub fn with_git(git_url: impl Into<String>, paths: Vec<String>) -> Self {
        Self {
            git_url: Some(git_url.into()),
            paths,
            branch: None,
        }
    }

    /// The `--path` for the file at `index`, if any.
    pub(crate) fn path_for(&self, index: usize) -> Option<&str> {
        match self.paths.as_slice() {
            [] => None,
            [one] => Some(one),
            many => many.get(index).map(String::as_str),
        }
    }
}

/// The result of an import.
#[derive(Debug, Clone, Default)]
pub struct Import {
    /// One configuration per repository, branch and write-back setting.
    pub configs: Vec<KedgeConfig>,
    /// Keys kedge cannot honour, with why: the import is incomplete while any remain.
    pub not_mapped: Vec<Finding>,
    /// Keys that were mapped but behave somewhat differently in kedge, with how.
    pub notes: Vec<Finding>,
}

impl Import {
    /// Every configuration as one YAML stream, `---` between them (empty when
    /// nothing was mapped).
    pub fn to_yaml(&self) -> Result<String, MigrateError> {
        let documents = self
            .configs
            .iter()
            .map(KedgeConfig::to_yaml)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(documents.join("---\n"))
    }
}

/// Maps `sources`, all configuration of `tool`, to `kedge.yaml`.
///
/// Fails only on input that is not that tool's configuration at all: YAML
/// that does not parse, or a file with none of the tool's objects (the error
/// names the file and the kinds it has).
pub fn import(
    tool: Tool,
    sources: &[Source],
    options: &ImportOptions,
) -> Result<Import, MigrateError> {
    let files = sources
        .iter()
        .map(|source| {
            let documents = yaml::parse(&source.path, &source.text)?;
            Ok(report::File {
                path: source.path.clone(),
                text: source.text.clone(),
                documents,
            })
        })
        .collect::<Result<Vec<_>, MigrateError>>()?;
    let mut report = report::Report::default();
    let mapped = match tool {
        Tool::ArgoCdImageUpdater => argocd::import(&files, options, &mut report)?,
        Tool::Flux => flux::import(&files, options, &mut report)?,
        Tool::Keel => keel::import(&files, options, &mut report)?,
    };
    let configs = group::into_configs(mapped, &mut report);
    Ok(Import {
        configs,
        not_mapped: report.not_mapped,
        notes: report.notes,
    })
}
