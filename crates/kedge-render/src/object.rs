//! A rendered object, where it came from, and the identity sync keys it by.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Map, Value};

/// One Kubernetes object of a render, as JSON, with its source.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedObject {
    /// The object: a map with at least `apiVersion`, `kind` and `metadata`.
    pub object: Map<String, Value>,
    /// Which file (or Helm template) and line it came from.
    pub source: Source,
}

/// Where a rendered object came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file, relative to the rendered path; for Helm, the template
    /// (`chart/templates/deployment.yaml`); for Kustomize, the overlay.
    pub file: PathBuf,
    /// The line its document starts on, where the file is the one read.
    pub line: Option<u64>,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// An object's identity: API group, kind, namespace and name, the key that
/// sync, diff and prune use (the version is not part of it: one object is
/// served at several versions).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ObjectKey {
    /// API group, empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace as written; `None` when the manifest names none.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.group.is_empty() {
            write!(f, "{}/", self.group)?;
        }
        write!(f, "{}", self.kind)?;
        if let Some(namespace) = &self.namespace {
            write!(f, " {namespace}/{}", self.name)
        } else {
            write!(f, " {}", self.name)
        }
    }
}

impl RenderedObject {
    /// `apiVersion`, e.g. `apps/v1`.
    pub fn api_version(&self) -> &str {
        self.str_field("apiVersion").unwrap_or_default()
    }

    /// `kind`, e.g. `Deployment`.
    pub fn kind(&self) -> &str {
        self.str_field("kind").unwrap_or_default()
    }

    /// `metadata.name` (empty for objects that only have `generateName`).
    pub fn name(&self) -> &str {
        self.metadata_str("name").unwrap_or_default()
    }

    /// `metadata.namespace`, if the manifest sets one.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata_str("namespace")
    }

    /// The object's identity.
    pub fn key(&self) -> ObjectKey {
        let group = match self.api_version().rsplit_once('/') {
            Some((group, _version)) => group.to_owned(),
            None => String::new(),
        };
        ObjectKey {
            group,
            kind: self.kind().to_owned(),
            namespace: self.namespace().map(str::to_owned),
            name: self.name().to_owned(),
        }
    }

    fn str_field(&self, field: &str) -> Option<&str> {
        self.object.get(field).and_then(Value::as_str)
    }

    fn metadata_str(&self, field: &str) -> Option<&str> {
        self.object.get("metadata")?.get(field)?.as_str()
    }
}
