//! The one error type of kedge-kube: what stops a sync or a diff as a whole
//! (per-object failures are results, see [`crate::report`]).

use kedge_render::Source;
use kedge_sync::ObjectKey;

/// An object and the file it came from, for messages (`app.yaml:3: apps/Deployment shop/web`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The object.
    pub key: ObjectKey,
    /// The file (or template) and line it came from.
    pub source_file: Source,
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.source_file, self.key)
    }
}

impl From<kedge_sync::order::OrderError> for KubeError {
    fn from(error: kedge_sync::order::OrderError) -> Self {
        KubeError::Order(Box::new(error))
    }
}

/// Why a sync or a diff could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeError {
    /// The API server's discovery failed.
    #[error("API discovery failed")]
    Discovery(#[source] kube::Error),

    /// An object whose apiVersion/kind the cluster does not serve, and whose
    /// CRD is not part of the sync.
    #[error("{object}: the cluster serves no {kind} in {api_version} (is its CRD installed?)")]
    UnknownKind {
        /// The object and its file.
        object: Box<Located>,
        /// Its apiVersion.
        api_version: String,
        /// Its kind.
        kind: String,
    },

    /// A cluster-scoped object that names a namespace.
    #[error("{object}: a cluster-scoped {kind} must not set metadata.namespace")]
    NamespaceOnClusterScoped {
        /// The object and its file.
        object: Box<Located>,
        /// Its kind.
        kind: String,
    },

    /// An object without a name (only `generateName`), which apply cannot address.
    #[error("{source_file}: {kind} has no metadata.name (generateName cannot be applied)")]
    Unnamed {
        /// The file it came from.
        source_file: Box<Source>,
        /// Its kind.
        kind: String,
    },

    /// Prune asked with nothing rendered: it would delete every object of
    /// the app, which is more often a wrong path than an intent.
    #[error(
        "nothing rendered for app {app}: prune would delete all its objects (allow it with allow_empty / --allow-empty)"
    )]
    EmptyRender {
        /// The app.
        app: String,
    },

    /// A sync-wave, hook or delete-policy annotation kedge cannot read.
    #[error(transparent)]
    Order(Box<kedge_sync::order::OrderError>),

    /// Listing the app's live objects of one resource type failed.
    #[error("listing {resource} labelled {selector}")]
    List {
        /// The resource (`deployments.apps/v1`).
        resource: String,
        /// The label selector.
        selector: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },

    /// Reading one object failed.
    #[error("reading {key}")]
    Get {
        /// The object.
        key: Box<ObjectKey>,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },

    /// Creating the destination namespace failed.
    #[error("creating namespace {namespace}")]
    CreateNamespace {
        /// The namespace.
        namespace: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },

    /// A watch of the app's objects ended with an error.
    #[error("watching {resource}")]
    Watch {
        /// The resource.
        resource: String,
        /// What the watcher said.
        #[source]
        source: kube::runtime::watcher::Error,
    },
}
