//! Labelling and prune decisions on hand-made live objects.

use serde_json::json;

use super::*;

fn app(name: &str) -> AppName {
    match AppName::new(name) {
        Ok(app) => app,
        Err(error) => panic!("{error}"),
    }
}

fn as_object(value: Value) -> Object {
    match value {
        Value::Object(object) => object,
        _ => unreachable!("a JSON object literal"),
    }
}

/// A live object as the API server returns it: labelled for `app` unless
/// `metadata` says otherwise.
fn live(
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    metadata: Value,
) -> Object {
    let mut object = as_object(json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "labels": {APP_LABEL: "shop"}},
    }));
    if let Some(Value::Object(meta)) = object.get_mut("metadata") {
        if let Some(namespace) = namespace {
            meta.insert("namespace".into(), namespace.into());
        }
        if let Value::Object(extra) = metadata {
            meta.extend(extra);
        }
    }
    object
}

fn key(group: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectKey {
    ObjectKey {
        group: group.into(),
        kind: kind.into(),
        namespace: namespace.map(str::to_owned),
        name: name.into(),
    }
}

/// Each candidate as `kind/name: decision`.
fn decisions(live: &[Object], desired: &[ObjectKey]) -> Vec<String> {
    let desired: BTreeSet<ObjectKey> = desired.iter().cloned().collect();
    prune_candidates(&app("shop"), live, &desired)
        .into_iter()
        .map(|(object, decision)| {
            let key = crate::object_key(object);
            match decision {
                PruneDecision::Delete => format!("{}/{}: delete", key.kind, key.name),
                PruneDecision::Protected(reason) => {
                    format!("{}/{}: keep, {reason}", key.kind, key.name)
                }
            }
        })
        .collect()
}

#[test]
fn label_creates_metadata_and_labels_as_needed() {
    let mut bare = as_object(json!({"apiVersion": "v1", "kind": "ConfigMap"}));
    label(&mut bare, &app("shop"));
    assert_eq!(
        bare["metadata"],
        json!({"labels": {"kedge.dev/app": "shop"}})
    );

    let mut null_labels = as_object(json!({"metadata": {"name": "a", "labels": null}}));
    label(&mut null_labels, &app("shop"));
    assert_eq!(
        null_labels["metadata"]["labels"],
        json!({"kedge.dev/app": "shop"})
    );
}

#[test]
fn label_keeps_other_labels_and_replaces_another_apps() {
    let mut object = as_object(json!({
        "metadata": {"name": "a", "labels": {"tier": "web", "kedge.dev/app": "old"}},
    }));
    label(&mut object, &app("shop"));
    assert_eq!(
        object["metadata"]["labels"],
        json!({"tier": "web", "kedge.dev/app": "shop"})
    );
}

#[test]
fn an_object_that_left_git_is_deleted_and_one_still_in_git_is_not_listed() {
    let live = [
        live("v1", "ConfigMap", Some("shop"), "kept", json!({})),
        live("v1", "ConfigMap", Some("shop"), "removed", json!({})),
    ];
    let desired = [key("", "ConfigMap", Some("shop"), "kept")];
    assert_eq!(decisions(&live, &desired), ["ConfigMap/removed: delete"]);
}

#[test]
fn objects_kedge_did_not_apply_for_this_app_are_never_candidates() {
    let mut unlabelled = live("v1", "ConfigMap", Some("shop"), "by-hand", json!({}));
    if let Some(Value::Object(meta)) = unlabelled.get_mut("metadata") {
        meta.remove("labels");
    }
    let live = [
        unlabelled,
        live(
            "v1",
            "ConfigMap",
            Some("shop"),
            "other-app",
            json!({"labels": {APP_LABEL: "billing"}}),
        ),
        live(
            "v1",
            "ConfigMap",
            Some("shop"),
            "other-label",
            json!({"labels": {"app": "shop"}}),
        ),
    ];
    assert_eq!(decisions(&live, &[]), Vec::<String>::new());
}

#[test]
fn owned_objects_and_objects_being_deleted_are_left_to_their_owner() {
    let live = [
        live(
            "apps/v1",
            "ReplicaSet",
            Some("shop"),
            "web-5d8f",
            json!({
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                    "uid": "1", "controller": true}],
            }),
        ),
        live(
            "v1",
            "ConfigMap",
            Some("shop"),
            "going",
            json!({
                "deletionTimestamp": "2024-10-07T09:06:33Z",
            }),
        ),
        live(
            "v1",
            "ConfigMap",
            Some("shop"),
            "no-owners",
            json!({"ownerReferences": []}),
        ),
    ];
    assert_eq!(decisions(&live, &[]), ["ConfigMap/no-owners: delete"]);
}

#[test]
fn protected_objects_are_kept_with_the_annotation_that_protects_them() {
    let annotated = |name: &str, annotations: Value| {
        live(
            "v1",
            "ConfigMap",
            Some("shop"),
            name,
            json!({"annotations": annotations}),
        )
    };
    let live = [
        annotated("kedge", json!({"kedge.dev/prune": "false"})),
        annotated(
            "argo",
            json!({"argocd.argoproj.io/sync-options": "ServerSideApply=true, Prune=false"}),
        ),
        annotated(
            "confirm",
            json!({"argocd.argoproj.io/sync-options": "Prune=confirm"}),
        ),
        annotated("helm", json!({"helm.sh/resource-policy": "keep"})),
        annotated("unclear", json!({"kedge.dev/prune": "no"})),
        annotated("prunable", json!({"kedge.dev/prune": "true"})),
        annotated(
            "other-options",
            json!({"argocd.argoproj.io/sync-options": "Replace=true"}),
        ),
    ];
    assert_eq!(
        decisions(&live, &[]),
        [
            "ConfigMap/kedge: keep, kedge.dev/prune: \"false\"",
            "ConfigMap/argo: keep, argocd.argoproj.io/sync-options: Prune=false",
            "ConfigMap/confirm: keep, argocd.argoproj.io/sync-options: Prune=confirm \
             (kedge does not ask; delete it by hand)",
            "ConfigMap/helm: keep, helm.sh/resource-policy: keep",
            "ConfigMap/unclear: keep, kedge.dev/prune: \"no\" is neither \"true\" nor \"false\"",
            "ConfigMap/prunable: delete",
            "ConfigMap/other-options: delete",
        ]
    );
}

#[test]
fn the_api_version_does_not_matter_but_the_group_does() {
    let live = [
        live(
            "autoscaling/v1",
            "HorizontalPodAutoscaler",
            Some("shop"),
            "web",
            json!({}),
        ),
        live(
            "extensions/v1beta1",
            "Ingress",
            Some("shop"),
            "web",
            json!({}),
        ),
        live(
            "serving.knative.dev/v1",
            "Service",
            Some("shop"),
            "api",
            json!({}),
        ),
    ];
    let desired = [
        key(
            "autoscaling",
            "HorizontalPodAutoscaler",
            Some("shop"),
            "web",
        ),
        key("networking.k8s.io", "Ingress", Some("shop"), "web"),
        key("", "Service", Some("other"), "api"),
    ];
    assert_eq!(
        decisions(&live, &desired),
        [
            "Ingress/web: keep, in Git as networking.k8s.io/Ingress shop/web, which may be \
             the same object served by another API group",
            "Service/api: delete",
        ]
    );
}

#[test]
fn a_missing_namespace_on_either_side_keeps_rather_than_deletes() {
    let live = [
        // Namespaced, while the desired key was not given the destination namespace.
        live("v1", "ConfigMap", Some("shop"), "settings", json!({})),
        // Cluster-scoped, while the manifest named a namespace the server ignored.
        live(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            None,
            "reader",
            json!({}),
        ),
        live("v1", "ConfigMap", Some("elsewhere"), "gone", json!({})),
    ];
    let desired = [
        key("", "ConfigMap", None, "settings"),
        key(
            "rbac.authorization.k8s.io",
            "ClusterRole",
            Some("shop"),
            "reader",
        ),
        key("", "ConfigMap", Some("shop"), "gone"),
    ];
    assert_eq!(decisions(&live, &desired), ["ConfigMap/gone: delete"]);
}
