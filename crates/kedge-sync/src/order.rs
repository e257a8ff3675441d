//! In which order a sync applies objects: hook phases, then Namespaces and
//! CRDs, then sync waves, kinds in a stable order within a wave.
//!
//! Contract: `kedge.dev/sync-wave` and Argo CD's `argocd.argoproj.io/sync-wave`
//! are read the same way; Argo CD's `argocd.argoproj.io/hook` and Helm's
//! `helm.sh/hook` mark hooks; a bad annotation is an error naming the object
//! and its source.

use kedge_render::RenderedObject;

/// A phase of a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum Phase {
    /// Hooks that run before anything is applied.
    PreSync,
    /// The objects themselves (and `Sync` hooks).
    Sync,
    /// Hooks that run once everything is healthy.
    PostSync,
    /// Hooks that run when the sync failed.
    SyncFail,
}

/// When a hook object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum HookDeletePolicy {
    /// Before the hook is created again (the default for Argo CD).
    BeforeHookCreation,
    /// Once it succeeded.
    HookSucceeded,
    /// Once it failed.
    HookFailed,
}

/// One step of a sync: objects (indices into the rendered list) applied
/// together, after every earlier step is healthy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// The phase.
    pub phase: Phase,
    /// The wave within it.
    pub wave: i64,
    /// Indices into the objects given to [`plan`], in apply order.
    pub objects: Vec<usize>,
    /// Delete policies of the hooks in this step, by object index.
    pub hooks: Vec<(usize, Vec<HookDeletePolicy>)>,
}

/// The whole order of a sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// Steps in the order they run; `SyncFail` steps run only on failure.
    pub steps: Vec<Step>,
}

/// An annotation that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OrderError {
    /// A wave, hook or delete-policy annotation with a bad value.
    #[error("{source_file}: {key}: annotation {annotation}: {reason}")]
    Annotation {
        /// The object.
        key: crate::ObjectKey,
        /// Where it came from.
        source_file: kedge_render::Source,
        /// The annotation.
        annotation: String,
        /// What is wrong.
        reason: String,
    },
}

/// Orders rendered objects into steps.
pub fn plan(objects: &[RenderedObject]) -> Result<Plan, OrderError> {
    let _ = objects;
    todo!("plan")
}
