//! What kedge applied for an app, and what prune may delete.
//!
//! Contract: every applied object carries [`APP_LABEL`] = the app's name; prune
//! deletes live objects that carry it for this app and left Git, never one
//! without it, and never one protected by `kedge.dev/prune: "false"` or Argo
//! CD's `argocd.argoproj.io/sync-options: Prune=false`.

use std::collections::BTreeSet;

use crate::{Object, ObjectKey};

/// The label that marks an object as applied by kedge for an app.
pub const APP_LABEL: &str = "kedge.dev/app";

/// Sets [`APP_LABEL`] on an object about to be applied.
pub fn label(object: &mut Object, app: &str) {
    let _ = (object, app);
    todo!("label")
}

/// Why a live object is or is not pruned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PruneDecision {
    /// Delete it: kedge applied it for this app and Git no longer has it.
    Delete,
    /// Keep it: protected by an annotation (which one).
    Protected(String),
}

/// Live objects of this app's inventory that left Git, with what to do.
pub fn prune_candidates<'a>(
    app: &str,
    live: &'a [Object],
    desired: &BTreeSet<ObjectKey>,
) -> Vec<(&'a Object, PruneDecision)> {
    let _ = (app, live, desired);
    todo!("prune candidates")
}
