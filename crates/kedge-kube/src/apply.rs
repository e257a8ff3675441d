//! Server-side apply of one object: what is sent (the app's label on, fields
//! that `ignoreDifferences` gives away taken off) and how a refusal reads.

use k8s_openapi::api::core::v1::Namespace;
use kedge_sync::compare::{CompareOptions, without_ignored};
use kedge_sync::inventory::AppName;
use kedge_sync::{FIELD_MANAGER, Object};
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::Value;

use crate::KubeError;
use crate::live::{api_for, to_object};
use crate::resources::Target;

/// Why an apply did not go through.
#[derive(Debug)]
pub(crate) enum ApplyRefusal {
    /// Another field manager owns fields Git sets.
    Conflict {
        /// The managers the server named.
        managers: Vec<String>,
        /// The reason a user reads.
        reason: String,
    },
    /// Any other refusal (validation, admission, RBAC, network).
    Failed(String),
}

/// The object kedge sends for `target`: the app's inventory label set, and
/// every field an ignore rule gives away (by pointer, or owned by a named
/// manager in `live`) left out, so apply neither sets nor fights over it.
pub(crate) fn prepare(
    target: &Target,
    app: &AppName,
    options: &CompareOptions,
    live: Option<&Object>,
) -> Object {
    let mut object = target.object.clone();
    kedge_sync::inventory::label(&mut object, app);
    without_ignored(&object, live, options)
}

/// Applies `object` (server-side apply as [`FIELD_MANAGER`]) and returns
/// what the server stored (or would store, in a dry run).
pub(crate) async fn apply(
    client: &Client,
    target: &Target,
    object: &Object,
    force: bool,
    dry_run: bool,
) -> Result<Object, ApplyRefusal> {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    if force {
        params = params.force();
    }
    if dry_run {
        params = params.dry_run();
    }
    let api = api_for(client, &target.kind, target.key.namespace.as_deref());
    let patch = Value::Object(object.clone());
    match api
        .patch(&target.key.name, &params, &Patch::Apply(&patch))
        .await
    {
        Ok(applied) => Ok(to_object(applied, &target.kind)),
        Err(kube::Error::Api(status)) if status.code == 409 => Err(ApplyRefusal::Conflict {
            managers: conflicting_managers(&status.message),
            reason: conflict_reason(&status.message),
        }),
        Err(kube::Error::Api(status)) => Err(ApplyRefusal::Failed(format!(
            "the API server refused it ({} {}): {}",
            status.code, status.reason, status.message
        ))),
        Err(error) => Err(ApplyRefusal::Failed(error.to_string())),
    }
}

/// Whether `live` already is what applying `desired` makes it, decided by
/// the API server (a dry-run apply), for differences a local comparison
/// cannot settle (quantities the server normalises, lists without merge keys).
pub(crate) async fn server_sees_no_change(
    client: &Client,
    target: &Target,
    desired: &Object,
    live: &Object,
) -> bool {
    match apply(client, target, desired, false, true).await {
        Ok(applied) => without_server_metadata(&applied) == without_server_metadata(live),
        Err(_) => false,
    }
}

fn without_server_metadata(object: &Object) -> Object {
    let mut object = object.clone();
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        metadata.remove("managedFields");
    }
    object
}

/// Creates the destination namespace unless it exists (not labelled with
/// the app: it is not part of Git, so prune never deletes it).
pub(crate) async fn ensure_namespace(
    client: &Client,
    namespace: &str,
    dry_run: bool,
) -> Result<(), KubeError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let failed = |source| KubeError::CreateNamespace {
        namespace: namespace.to_owned(),
        source,
    };
    if namespaces
        .get_opt(namespace)
        .await
        .map_err(failed)?
        .is_some()
    {
        return Ok(());
    }
    let mut params = PatchParams::apply(FIELD_MANAGER);
    if dry_run {
        params = params.dry_run();
    }
    let object = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace},
    });
    namespaces
        .patch(namespace, &params, &Patch::Apply(&object))
        .await
        .map_err(failed)?;
    Ok(())
}

/// The reason a conflict is reported with, naming the other managers.
fn conflict_reason(message: &str) -> String {
    let managers = conflicting_managers(message);
    let who = if managers.is_empty() {
        "another field manager".to_owned()
    } else {
        format!("field manager {}", managers.join(", "))
    };
    format!("conflict with {who}: {message} (pass --force-conflicts to take the fields over)")
}

/// The managers a server-side apply conflict message names
/// (`conflict with "kubectl-edit" using v1: .data.key`).
pub(crate) fn conflicting_managers(message: &str) -> Vec<String> {
    let mut managers: Vec<String> = message
        .split("conflict with \"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(name, _)| name.to_owned()))
        .collect();
    managers.sort();
    managers.dedup();
    managers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_names_every_other_manager() {
        let message = "Apply failed with 2 conflicts: conflict with \"kubectl-edit\" using v1: .data.a\nconflict with \"hpa\" using apps/v1: .spec.replicas";
        assert_eq!(conflicting_managers(message), ["hpa", "kubectl-edit"]);
    }
}
