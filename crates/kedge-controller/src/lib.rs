//! kedge's Kubernetes custom resources, group `kedge.dev`, version `v1alpha1`.
//!
//! - [`Application`]: a path of a Git repository rendered (plain, Kustomize or
//!   Helm) and synced into one namespace.
//! - [`ImageUpdate`]: what `kedge.yaml` says for one manifest repository
//!   (images, tag policies, targets, write-back, forge), with credentials only
//!   as Secret references in the resource's own namespace.
//!
//! Both carry a status subresource with the standard Kubernetes conditions
//! ([`ConditionType`]). The types are the source of the CRDs: [`crds`] returns
//! them in a stable order, `kedge crds` prints them, and the copies under
//! `deploy/crds/` are checked against it.
//!
//! [`runtime`] runs them: the Application controller (resolve, render, sync,
//! status, Events), the shared ref listings, and leader election.

mod application;
mod duration;
mod image_update;
pub mod runtime;
mod schema;
mod status;

pub use application::{
    Application, ApplicationSource, ApplicationSpec, Destination, HelmRender, IgnoreDifferences,
    Render, RenderType, RetryPolicy, SyncPolicy,
};
pub use duration::parse_duration;
pub use image_update::{
    AuthorSpec, ForgeSpec, GitAuthSpec, GitHubAppSpec, GitHubSpec, ImageSpec, ImageUpdate,
    ImageUpdateSpec, ManifestGitSpec, PinSpec, PolicySpec, PolicyStrategy, PullRequestSpec,
    RegistryCredentials, RegistrySpec, SecretKeyRef, SortOrder, WriteBackMode, WriteBackSpec,
};
pub use status::{
    ApplicationStatus, AppliedImage, Condition, ConditionStatus, ConditionType, HealthState,
    ImageUpdateStatus, MAX_RESOURCE_SUMMARIES, ResourceState, SyncState, set_condition,
};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// The API group of every kedge resource.
pub const GROUP: &str = "kedge.dev";

/// The version of the resources this crate defines.
pub const VERSION: &str = "v1alpha1";

/// Every kedge CRD, in a stable order (Application, then ImageUpdate).
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![Application::crd(), ImageUpdate::crd()]
}

/// What is wrong with a resource's spec that the API server's schema does not
/// catch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A duration field that is not a duration (`5m`, `1h30m`).
    #[error("{field}: {value:?} is not a duration (e.g. 30s, 5m, 1h30m): {source}")]
    Duration {
        /// The field, as a path in the spec (`syncPolicy.interval`).
        field: String,
        /// The value as written.
        value: String,
        /// Why it could not be read.
        #[source]
        source: humantime::DurationError,
    },
    /// An `ignoreDifferences` rule the sync engine cannot use.
    #[error("ignoreDifferences: {source}")]
    IgnoreDifferences {
        /// The sync engine's reason.
        #[source]
        source: kedge_sync::ignore::IgnoreError,
    },
    /// An `ignoreDifferences` rule that does not read as the sync engine's
    /// rule shape.
    #[error("ignoreDifferences[{index}]: {source}")]
    IgnoreDifferencesShape {
        /// The rule's position.
        index: usize,
        /// The reason.
        #[source]
        source: serde_json::Error,
    },
    /// Git credentials given both as a token and as an SSH key.
    #[error("git.auth: give either tokenSecretRef or sshKeySecretRef, not both")]
    GitAuthAmbiguous,
    /// A forge given both as a GitHub token and as a GitHub App.
    #[error("forge: give either github or githubApp, not both")]
    ForgeAmbiguous,
    /// Pull request write-back without a forge to open it on.
    #[error("writeBack.mode is pull-request but no forge is configured")]
    PullRequestWithoutForge,
}

#[cfg(test)]
mod tests;
