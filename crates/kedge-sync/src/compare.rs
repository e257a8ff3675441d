//! Desired vs live, as the API server would merge them.
//!
//! Contract: a field is drift only if Git sets it and the live value differs,
//! or kedge's field manager owns it live and Git no longer sets it (apply
//! would remove it). Fields Git never set (defaults, other managers' fields,
//! `status`, server metadata) and fields matched by [`IgnoreRules`] are not
//! drift.

use crate::ignore::IgnoreRules;
use crate::{Object, ObjectKey};

/// An object's sync status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SyncStatus {
    /// Live equals Git wherever Git (or kedge) has a say.
    InSync,
    /// Live differs from Git.
    OutOfSync,
    /// In Git, not in the cluster.
    Missing,
    /// In the cluster (kedge's inventory), no longer in Git.
    Extra,
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Drift {
    /// RFC 6901 pointer to the field (`/spec/template/spec/containers/0/image`).
    pub pointer: String,
    /// What Git says; `None` when apply would remove the field.
    pub desired: Option<serde_json::Value>,
    /// What the cluster has; `None` when the field is absent.
    pub live: Option<serde_json::Value>,
}

/// The comparison of one object.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Comparison {
    /// The object.
    pub key: ObjectKey,
    /// Its status.
    pub status: SyncStatus,
    /// The fields that differ (empty when in sync).
    pub drift: Vec<Drift>,
}

/// How to compare.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CompareOptions {
    /// The field manager whose fields count as Git's (default [`crate::FIELD_MANAGER`]).
    pub field_manager: String,
    /// Fields not to compare.
    pub ignore: IgnoreRules,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            field_manager: crate::FIELD_MANAGER.to_owned(),
            ignore: IgnoreRules::default(),
        }
    }
}

/// Compares what Git wants with what the cluster has (`None`: absent).
pub fn compare(desired: &Object, live: Option<&Object>, options: &CompareOptions) -> Comparison {
    let _ = (desired, live, options);
    todo!("compare")
}

/// A unified diff of one object, `kubectl diff` style, between the live
/// object and what it becomes once Git's fields are applied (headers name the
/// object); empty when nothing differs.
pub fn unified_diff(
    comparison: &Comparison,
    desired: Option<&Object>,
    live: Option<&Object>,
) -> String {
    let _ = (comparison, desired, live);
    todo!("unified diff")
}
