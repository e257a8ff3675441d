//! Rendering for kedge's sync, the repo-server's job: turn a path in a Git
//! checkout into the Kubernetes objects it describes, each with its source.
//!
//! - Plain directories: every `*.yaml`, `*.yml` and `*.json` below the path,
//!   multi-document, `List` kinds expanded, in a stable order.
//! - Kustomize (`kubectl kustomize` or `kustomize build`) and Helm
//!   (`helm template`): the real CLIs, found on `PATH` unless configured.
//!
//! A render either yields every object or fails naming the file and line (or
//! the tool, its exit status and its standard error): sync applies nothing
//! from a failed render. Two documents for one object are an error too.
//!
//! A [`RenderCache`] keeps renders by (commit, path, renderer), so a re-sync
//! of an unchanged revision does not run Helm or Kustomize again.
//!
//! ```no_run
//! use kedge_render::{Renderer, render};
//!
//! let objects = render("apps/shop".as_ref(), &Renderer::detect("apps/shop".as_ref())).unwrap();
//! for object in &objects {
//!     println!("{} from {}", object.key(), object.source);
//! }
//! ```

mod cache;
mod documents;
mod error;
mod object;
mod plain;
mod tool;

use std::collections::HashMap;
use std::path::Path;

pub use cache::{CacheStats, RenderCache, RenderKey};
pub use error::RenderError;
pub use object::{ObjectKey, RenderedObject, Source};
pub use tool::{HelmOptions, KustomizeOptions};

/// How a path is rendered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Renderer {
    /// Read the manifests as they are.
    Plain,
    /// Build a Kustomization.
    Kustomize(KustomizeOptions),
    /// Template a Helm chart whose dependencies are already vendored.
    Helm(HelmOptions),
}

impl Renderer {
    /// What the path holds, as Argo CD decides it: a `Chart.yaml` makes a
    /// Helm chart (release `release`), a Kustomization file a Kustomize
    /// build, anything else plain manifests.
    pub fn detect_with_release(path: &Path, release: &str) -> Self {
        if path.join("Chart.yaml").is_file() {
            Renderer::Helm(HelmOptions::new(release))
        } else if ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .any(|name| path.join(name).is_file())
        {
            Renderer::Kustomize(KustomizeOptions::default())
        } else {
            Renderer::Plain
        }
    }

    /// [`Renderer::detect_with_release`], naming a Helm release after the
    /// directory.
    pub fn detect(path: &Path) -> Self {
        let release = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "release".into());
        Self::detect_with_release(path, &release)
    }
}

/// Renders `path` with `renderer`: every object, in a stable order, or the
/// first error.
pub fn render(path: &Path, renderer: &Renderer) -> Result<Vec<RenderedObject>, RenderError> {
    let objects = match renderer {
        Renderer::Plain => plain::render_plain(path)?,
        Renderer::Kustomize(options) => tool::render_kustomize(path, options)?,
        Renderer::Helm(options) => tool::render_helm(path, options)?,
    };
    refuse_duplicates(&objects)?;
    Ok(objects)
}

fn refuse_duplicates(objects: &[RenderedObject]) -> Result<(), RenderError> {
    let mut seen: HashMap<ObjectKey, &RenderedObject> = HashMap::with_capacity(objects.len());
    for object in objects {
        if object.name().is_empty() {
            continue; // generateName: a new object every time
        }
        if let Some(first) = seen.insert(object.key(), object) {
            return Err(RenderError::Duplicate {
                key: object.key().to_string(),
                first: first.source.to_string(),
                second: object.source.to_string(),
            });
        }
    }
    Ok(())
}
