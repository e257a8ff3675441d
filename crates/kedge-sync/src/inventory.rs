//! What kedge applied for an app, and what prune may delete.
//!
//! Contract: every applied object carries [`APP_LABEL`] = the app's name (an
//! [`AppName`], checked once to be a valid label value); prune deletes live
//! objects that carry it for this app and left Git, never one without it or
//! with another app's, never one owned by another object (a ReplicaSet that
//! copied its Deployment's labels) or already being deleted, and keeps, with
//! the reason, one protected by `kedge.dev/prune: "false"`, Argo CD's
//! `argocd.argoproj.io/sync-options: Prune=false` or Helm's
//! `helm.sh/resource-policy: keep`.
//!
//! Matching live to Git ([`prune_candidates`]):
//! - By [`ObjectKey`]: API group, kind, namespace and name. The version is not
//!   part of it, so an object Git now writes as `autoscaling/v2` is the live
//!   `autoscaling/v1` one.
//! - The caller (the IO layer) sets the desired keys' namespaces as the API
//!   server will: the destination namespace for a namespaced kind that names
//!   none, none for a cluster-scoped kind. As a guard, a missing namespace on
//!   either side matches any namespace, so a key left undefaulted keeps an
//!   object rather than deleting it.
//! - A live object whose kind, namespace and name are in Git under another API
//!   group is kept: an object served by two groups (`extensions` and
//!   `networking.k8s.io` Ingresses on old clusters, core and `events.k8s.io`
//!   Events) must not be deleted as if it had left Git.

mod app_name;

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

pub use self::app_name::{AppName, AppNameError, AppNameProblem};
use crate::{Object, ObjectKey};

/// The label that marks an object as applied by kedge for an app.
pub const APP_LABEL: &str = "kedge.dev/app";
/// Annotation: `"false"` keeps an object from prune.
pub const PRUNE_ANNOTATION: &str = "kedge.dev/prune";
/// Annotation: Argo CD's sync options (`Prune=false` keeps an object).
pub const ARGO_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// Annotation: Helm's resource policy (`keep` keeps an object).
pub const HELM_RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Sets [`APP_LABEL`] on an object about to be applied, creating
/// `metadata.labels` as needed (a `null` one is replaced).
pub fn label(object: &mut Object, app: &AppName) {
    let metadata = object_field(object, "metadata");
    let labels = object_field(metadata, "labels");
    labels.insert(APP_LABEL.to_owned(), Value::String(app.as_str().to_owned()));
}

/// The map at `field`, made a map if it is absent or not one (`null`; any
/// other value the API server would refuse anyway).
fn object_field<'a>(map: &'a mut Object, field: &str) -> &'a mut Object {
    let value = map
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(inner) => inner,
        _ => unreachable!("replaced by an object above"),
    }
}

/// Why a live object is or is not pruned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PruneDecision {
    /// Delete it: kedge applied it for this app and Git no longer has it.
    Delete,
    /// Keep it, for the reason given: the annotation that protects it, or
    /// that Git has it under another API group.
    Protected(String),
}

/// Live objects of this app's inventory that left Git, with what to do, in
/// the order of `live`. Objects not labelled for `app`, owned by another
/// object or being deleted are not listed; see the module for how live
/// objects are matched to `desired`.
pub fn prune_candidates<'a>(
    app: &AppName,
    live: &'a [Object],
    desired: &BTreeSet<ObjectKey>,
) -> Vec<(&'a Object, PruneDecision)> {
    let in_git = DesiredIndex::new(desired);
    live.iter()
        .filter(|object| {
            labelled_for(object, app) && !is_owned(object) && !is_being_deleted(object)
        })
        .filter_map(|object| {
            let key = crate::object_key(object);
            let decision = match in_git.find(&key) {
                Found::SameGroup => return None,
                Found::OtherGroup(twin) => PruneDecision::Protected(format!(
                    "in Git as {twin}, which may be the same object served by another API group"
                )),
                Found::Nothing => {
                    protection(object).map_or(PruneDecision::Delete, PruneDecision::Protected)
                }
            };
            Some((object, decision))
        })
        .collect()
}

/// Desired keys by kind and name, to match live objects with a missing
/// namespace or another group.
struct DesiredIndex<'a> {
    by_kind_and_name: HashMap<(&'a str, &'a str), Vec<&'a ObjectKey>>,
}

/// What Git has for a live object.
enum Found<'a> {
    /// The object itself.
    SameGroup,
    /// The same kind, namespace and name in another group.
    OtherGroup(&'a ObjectKey),
    /// Nothing: it left Git.
    Nothing,
}

impl<'a> DesiredIndex<'a> {
    fn new(desired: &'a BTreeSet<ObjectKey>) -> Self {
        let mut by_kind_and_name: HashMap<_, Vec<_>> = HashMap::new();
        for key in desired {
            by_kind_and_name
                .entry((key.kind.as_str(), key.name.as_str()))
                .or_default()
                .push(key);
        }
        DesiredIndex { by_kind_and_name }
    }

    fn find(&self, live: &ObjectKey) -> Found<'a> {
        let Some(twins) = self
            .by_kind_and_name
            .get(&(live.kind.as_str(), live.name.as_str()))
        else {
            return Found::Nothing;
        };
        let mut same_place = twins
            .iter()
            .filter(|twin| match (&twin.namespace, &live.namespace) {
                (Some(desired), Some(live)) => desired == live,
                _ => true,
            });
        match same_place.clone().find(|twin| twin.group == live.group) {
            Some(_) => Found::SameGroup,
            None => same_place
                .next()
                .map_or(Found::Nothing, |twin| Found::OtherGroup(twin)),
        }
    }
}

fn metadata_field<'a>(object: &'a Object, field: &str) -> Option<&'a Value> {
    object.get("metadata")?.get(field)
}

fn labelled_for(object: &Object, app: &AppName) -> bool {
    metadata_field(object, "labels")
        .and_then(|labels| labels.get(APP_LABEL))
        .and_then(Value::as_str)
        == Some(app.as_str())
}

/// Owned by another object (a controller's ReplicaSet, Pod or Job), which
/// deletes it with its owner.
fn is_owned(object: &Object) -> bool {
    metadata_field(object, "ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|owners| !owners.is_empty())
}

fn is_being_deleted(object: &Object) -> bool {
    metadata_field(object, "deletionTimestamp").is_some_and(|stamp| !stamp.is_null())
}

/// The annotation that keeps an object from prune, if any. A `kedge.dev/prune`
/// value other than `"true"` or `"false"` keeps the object too: prune deletes,
/// so a value it cannot read errs on the side of keeping.
fn protection(object: &Object) -> Option<String> {
    let annotations = metadata_field(object, "annotations")?;
    let text = |name: &str| annotations.get(name).and_then(Value::as_str).map(str::trim);
    if let Some(value) = annotations.get(PRUNE_ANNOTATION) {
        match value.as_str().map(str::trim) {
            Some(flag) if flag.eq_ignore_ascii_case("true") => {}
            Some(flag) if flag.eq_ignore_ascii_case("false") => {
                return Some(format!("{PRUNE_ANNOTATION}: \"false\""));
            }
            _ => {
                return Some(format!(
                    "{PRUNE_ANNOTATION}: {value} is neither \"true\" nor \"false\""
                ));
            }
        }
    }
    if let Some(options) = text(ARGO_SYNC_OPTIONS) {
        for option in options.split(',').map(str::trim) {
            match option {
                "Prune=false" => return Some(format!("{ARGO_SYNC_OPTIONS}: Prune=false")),
                "Prune=confirm" => {
                    return Some(format!(
                        "{ARGO_SYNC_OPTIONS}: Prune=confirm (kedge does not ask; delete it by hand)"
                    ));
                }
                _ => {}
            }
        }
    }
    if text(HELM_RESOURCE_POLICY) == Some("keep") {
        return Some(format!("{HELM_RESOURCE_POLICY}: keep"));
    }
    None
}

#[cfg(test)]
mod tests;
