//! Server-side apply of one object: what is sent (the app's label on, fields
//! that `ignoreDifferences` gives away taken off) and how a refusal reads.

use k8s_openapi::api::core::v1::Namespace;
use kedge_sync::ignore::IgnoreRules;
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
/// every field an ignore rule gives away removed, so apply neither sets nor
/// fights over it.
pub(crate) fn prepare(
    target: &Target,
    app: &AppName,
    ignore: &IgnoreRules,
    live: Option<&Object>,
) -> Object {
    let mut object = target.object.clone();
    kedge_sync::inventory::label(&mut object, app);
    let mut value = Value::Object(object);
    for rule in ignore.matching(&target.key) {
        for pointer in &rule.json_pointers {
            remove_pointer(&mut value, pointer);
        }
        if let Some(live) = live {
            for manager in &rule.managed_fields_managers {
                for pointer in fields_owned_by(live, manager, &value).iter().rev() {
                    remove_pointer(&mut value, pointer);
                }
            }
        }
    }
    match value {
        Value::Object(object) => object,
        _ => unreachable!("an object stays an object when fields are removed"),
    }
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

/// Removes the field at an RFC 6901 pointer, if present.
pub(crate) fn remove_pointer(value: &mut Value, pointer: &str) {
    let Some(rest) = pointer.strip_prefix('/') else {
        return;
    };
    let tokens: Vec<String> = rest
        .split('/')
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut current = value;
    for token in parents {
        current = match current {
            Value::Object(map) => match map.get_mut(token) {
                Some(next) => next,
                None => return,
            },
            Value::Array(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i))
            {
                Some(next) => next,
                None => return,
            },
            _ => return,
        };
    }
    match current {
        Value::Object(map) => {
            map.remove(last);
        }
        Value::Array(items) => {
            if let Ok(index) = last.parse::<usize>()
                && index < items.len()
            {
                items.remove(index);
            }
        }
        _ => {}
    }
}

/// Pointers into `desired` of the leaf fields `manager` owns in `live`'s
/// `managedFields` (the `fieldsV1` set: `f:` fields, `k:` list keys, `v:` set
/// values).
pub(crate) fn fields_owned_by(live: &Object, manager: &str, desired: &Value) -> Vec<String> {
    let entries = live
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array);
    let mut pointers = Vec::new();
    for entry in entries.into_iter().flatten() {
        if entry.get("manager").and_then(Value::as_str) == Some(manager)
            && let Some(fields) = entry.get("fieldsV1")
        {
            collect_owned(fields, desired, String::new(), &mut pointers);
        }
    }
    pointers.sort();
    pointers.dedup();
    pointers
}

fn collect_owned(fields: &Value, desired: &Value, prefix: String, out: &mut Vec<String>) {
    let Some(fields) = fields.as_object() else {
        return;
    };
    for (name, child) in fields {
        let Some((step, next)) = locate(name, desired) else {
            continue;
        };
        let pointer = format!("{prefix}/{}", step.replace('~', "~0").replace('/', "~1"));
        let is_leaf = child.as_object().is_some_and(|c| c.is_empty());
        if is_leaf {
            out.push(pointer);
        } else {
            collect_owned(child, next, pointer, out);
        }
    }
}

/// The pointer token and the value a `fieldsV1` key names in `desired`.
fn locate<'a>(name: &str, desired: &'a Value) -> Option<(String, &'a Value)> {
    if let Some(field) = name.strip_prefix("f:") {
        return desired.get(field).map(|value| (field.to_owned(), value));
    }
    let items = desired.as_array()?;
    let position = if let Some(keys) = name.strip_prefix("k:") {
        let keys: serde_json::Map<String, Value> = serde_json::from_str(keys).ok()?;
        items
            .iter()
            .position(|item| keys.iter().all(|(k, v)| item.get(k) == Some(v)))?
    } else if let Some(set_value) = name.strip_prefix("v:") {
        let set_value: Value = serde_json::from_str(set_value).ok()?;
        items.iter().position(|item| item == &set_value)?
    } else {
        return None;
    };
    Some((position.to_string(), &items[position]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conflict_names_every_other_manager() {
        let message = "Apply failed with 2 conflicts: conflict with \"kubectl-edit\" using v1: .data.a\nconflict with \"hpa\" using apps/v1: .spec.replicas";
        assert_eq!(conflicting_managers(message), ["hpa", "kubectl-edit"]);
    }

    #[test]
    fn pointer_removal_handles_escapes_and_lists() {
        let mut value = json!({"metadata": {"annotations": {"a/b": "1", "c": "2"}},
            "spec": {"items": [1, 2, 3]}});
        remove_pointer(&mut value, "/metadata/annotations/a~1b");
        remove_pointer(&mut value, "/spec/items/1");
        remove_pointer(&mut value, "/spec/absent/x");
        assert_eq!(
            value,
            json!({"metadata": {"annotations": {"c": "2"}}, "spec": {"items": [1, 3]}})
        );
    }

    #[test]
    fn managed_fields_of_another_manager_become_pointers() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "hpa", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "sidecar", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"app\"}": {".": {}, "f:resources": {}}}}}}}}
        ]}});
        let desired = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "side"}, {"name": "app", "resources": {"limits": {}}}]}}}});
        let live = live.as_object().unwrap();
        assert_eq!(fields_owned_by(live, "hpa", &desired), ["/spec/replicas"]);
        assert_eq!(
            fields_owned_by(live, "sidecar", &desired),
            ["/spec/template/spec/containers/1/resources"]
        );
    }
}
