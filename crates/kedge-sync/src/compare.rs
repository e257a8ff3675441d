//! Desired vs live, as the API server would merge them.
//!
//! Contract: a field is drift only if Git sets it and the live value differs,
//! or kedge's field manager owns it live and Git no longer sets it (apply
//! would remove it). Fields Git never set (defaults, other managers' fields,
//! `status`, server metadata) and fields matched by [`IgnoreRules`] are not
//! drift.
//!
//! Lists merge the way server-side apply merges them: by the keys that
//! kedge's `managedFields` name (`k:{"name":…}`), else by `name`,
//! `containerPort` or `port`; lists of values that `managedFields` mark as
//! sets are sets; other lists are compared whole. Quantities are compared by
//! value (`1000m` is `1`), a Secret's `stringData` as the `data` it becomes.
//! What only the server can decide sets [`Comparison::needs_dry_run`].
//!
//! The live object must carry its `metadata.managedFields` (a watcher that
//! strips them to save memory makes every field Git dropped invisible, and
//! lists fall back to guessing their keys).

mod diff;
mod fields;
mod quantity;
mod strip;
mod walk;

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::Value;

pub use diff::unified_diff;
pub use strip::without_ignored;

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
    /// RFC 6901 pointer to the field in the live object
    /// (`/spec/template/spec/containers/0/image`); a list item Git adds ends
    /// in `-`, as in JSON Patch.
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
    /// The object (its namespace taken from live when Git names none).
    pub key: ObjectKey,
    /// Its status.
    pub status: SyncStatus,
    /// The fields that differ (empty when in sync).
    pub drift: Vec<Drift>,
    /// True when some of the drift could not be decided locally (a list
    /// whose merge `managedFields` do not describe, a quantity the server
    /// would round, a number given for a string, another `apiVersion`): a
    /// server-side dry-run apply has the last word.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub needs_dry_run: bool,
}

impl Comparison {
    /// An object of kedge's inventory that is no longer in Git.
    pub fn extra(live: &Object) -> Self {
        Comparison {
            key: crate::object_key(live),
            status: SyncStatus::Extra,
            drift: Vec::new(),
            needs_dry_run: false,
        }
    }

    /// An object in Git that the cluster does not have.
    pub fn missing(desired: &Object) -> Self {
        Comparison {
            key: crate::object_key(desired),
            status: SyncStatus::Missing,
            drift: Vec::new(),
            needs_dry_run: false,
        }
    }
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

impl CompareOptions {
    /// Options with these ignore rules and kedge's field manager.
    pub fn with_ignore(ignore: IgnoreRules) -> Self {
        CompareOptions {
            ignore,
            ..CompareOptions::default()
        }
    }
}

/// Compares what Git wants with what the cluster has (`None`: absent).
pub fn compare(desired: &Object, live: Option<&Object>, options: &CompareOptions) -> Comparison {
    let Some(live) = live else {
        return Comparison::missing(desired);
    };
    let key = key_of(desired, live);
    let pointers = options.ignore.pointers(&key);
    let managers = options.ignore.managers(&key);
    let owners = fields::Owners::read(live, &options.field_manager, &managers);
    let desired = as_stored(desired);
    let mut walk = walk::Walk::new(&pointers);
    walk.object(&desired, live, fields::Members::root(&owners));
    let other_version = desired.get("apiVersion") != live.get("apiVersion");
    let status = if walk.drift.is_empty() {
        SyncStatus::InSync
    } else {
        SyncStatus::OutOfSync
    };
    Comparison {
        key,
        status,
        needs_dry_run: walk.undecided || owners.unreadable || other_version,
        drift: walk.drift,
    }
}

/// The desired object's key, its namespace taken from live when Git names
/// none.
fn key_of(desired: &Object, live: &Object) -> ObjectKey {
    let mut key = crate::object_key(desired);
    if key.namespace.is_none() {
        key.namespace = crate::object_key(live).namespace;
    }
    key
}

/// Desired as the server stores it where that is known locally: a v1
/// Secret's `stringData` merged into `data`, base64-encoded.
fn as_stored(desired: &Object) -> Cow<'_, Object> {
    let is_secret = desired.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && desired.get("kind").and_then(Value::as_str) == Some("Secret");
    let Some(Value::Object(string_data)) = desired.get("stringData").filter(|_| is_secret) else {
        return Cow::Borrowed(desired);
    };
    let mut stored = desired.clone();
    let mut data = match stored.remove("data") {
        Some(Value::Object(data)) => data,
        _ => serde_json::Map::new(),
    };
    for (name, value) in string_data {
        if let Some(text) = value.as_str() {
            let encoded = base64::engine::general_purpose::STANDARD.encode(text);
            data.insert(name.clone(), Value::String(encoded));
        }
    }
    stored.remove("stringData");
    stored.insert("data".to_owned(), Value::Object(data));
    Cow::Owned(stored)
}

#[cfg(test)]
mod tests;
