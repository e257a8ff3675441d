//! The one error type of kedge-kube: what stops a sync or a diff as a whole
//! (per-object failures are results, see [`crate::report`]).

use kedge_render::Source;
use kedge_sync::ObjectKey;

/// Why a sync or a diff could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeError {
    /// The API server's discovery failed.
    #[error("API discovery failed")]
    Discovery(#[source] kube::Error),

    /// An object whose apiVersion/kind the cluster does not serve, and whose
    /// CRD is not part of the sync.
    #[error(
        "{source_file}: {key}: the cluster serves no {kind} in {api_version} (is its CRD installed?)"
    )]
    UnknownKind {
        /// The object.
        key: ObjectKey,
        /// The file it came from.
        source_file: Source,
        /// Its apiVersion.
        api_version: String,
        /// Its kind.
        kind: String,
    },

    /// A cluster-scoped object that names a namespace.
    #[error("{source_file}: {key}: a cluster-scoped {kind} must not set metadata.namespace")]
    NamespaceOnClusterScoped {
        /// The object.
        key: ObjectKey,
        /// The file it came from.
        source_file: Source,
        /// Its kind.
        kind: String,
    },

    /// An object without a name (only `generateName`), which apply cannot address.
    #[error("{source_file}: {kind} has no metadata.name (generateName cannot be applied)")]
    Unnamed {
        /// The file it came from.
        source_file: Source,
        /// Its kind.
        kind: String,
    },

    /// A sync-wave, hook or delete-policy annotation kedge cannot read.
    #[error(transparent)]
    Order(#[from] kedge_sync::order::OrderError),

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
        key: ObjectKey,
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
