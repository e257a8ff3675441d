//! One test per comparison rule, on small objects.

use serde_json::{Value, json};

use super::*;
use crate::ignore::{IgnoreDifferences, IgnoreRules};

fn object(value: Value) -> Object {
    match value {
        Value::Object(object) => object,
        other => panic!("not an object: {other}"),
    }
}

fn deployment(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": "shop"}, "spec": spec})
}

/// Live `deployment(spec)` with server metadata and kedge owning `fields`.
fn live_deployment(spec: Value, applied: Value, others: Value) -> Object {
    let mut live = object(deployment(spec));
    live["metadata"] = json!({
        "name": "web", "namespace": "shop", "uid": "3f1c", "resourceVersion": "812",
        "generation": 4, "creationTimestamp": "2026-12-06T03:00:00Z",
        "annotations": {"deployment.kubernetes.io/revision": "2"},
        "managedFields": [
            {"manager": "kedge", "operation": "Apply", "apiVersion": "apps/v1",
             "fieldsType": "FieldsV1", "fieldsV1": applied},
            {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
             "fieldsType": "FieldsV1", "fieldsV1": others}
        ]
    });
    live.insert("status".into(), json!({"replicas": 2, "readyReplicas": 2}));
    live
}

fn compared(desired: Value, live: &Object) -> Comparison {
    compare(&object(desired), Some(live), &CompareOptions::default())
}

fn pointers(comparison: &Comparison) -> Vec<&str> {
    comparison
        .drift
        .iter()
        .map(|d| d.pointer.as_str())
        .collect()
}

#[test]
fn absent_live_is_missing_and_serialises_kebab_case() {
    let comparison = compare(
        &object(deployment(json!({}))),
        None,
        &CompareOptions::default(),
    );
    assert_eq!(comparison.status, SyncStatus::Missing);
    let json = serde_json::to_value(&comparison).unwrap();
    assert_eq!(json["status"], "missing");
    assert_eq!(json["key"]["kind"], "Deployment");
    assert!(json.get("needs_dry_run").is_none());
    let extra = Comparison::extra(&object(deployment(json!({}))));
    assert_eq!(serde_json::to_value(&extra).unwrap()["status"], "extra");
}

#[test]
fn server_metadata_status_and_defaults_are_not_drift() {
    let live = live_deployment(
        json!({"replicas": 2, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}),
        json!({"f:spec": {"f:replicas": {}}}),
        json!({}),
    );
    let comparison = compared(deployment(json!({"replicas": 2})), &live);
    assert_eq!(
        comparison.status,
        SyncStatus::InSync,
        "{:?}",
        comparison.drift
    );
    assert_eq!(
        serde_json::to_value(&comparison).unwrap()["status"],
        "in-sync"
    );
}

#[test]
fn a_changed_value_is_drift_at_its_pointer() {
    let live = live_deployment(
        json!({"replicas": 2}),
        json!({"f:spec": {"f:replicas": {}}}),
        json!({}),
    );
    let comparison = compared(deployment(json!({"replicas": 3})), &live);
    assert_eq!(comparison.status, SyncStatus::OutOfSync);
    assert_eq!(
        comparison.drift,
        [Drift {
            pointer: "/spec/replicas".into(),
            desired: Some(json!(3)),
            live: Some(json!(2))
        }]
    );
}

#[test]
fn a_field_git_sets_that_live_lacks_is_drift() {
    let live = live_deployment(json!({}), json!({}), json!({}));
    let comparison = compared(deployment(json!({"paused": true})), &live);
    assert_eq!(pointers(&comparison), ["/spec/paused"]);
    assert_eq!(comparison.drift[0].live, None);
}

#[test]
fn a_field_kedge_alone_applied_and_git_dropped_is_drift() {
    let live = live_deployment(
        json!({"replicas": 2, "paused": true}),
        json!({"f:spec": {"f:replicas": {}, "f:paused": {}}}),
        json!({}),
    );
    let comparison = compared(deployment(json!({"replicas": 2})), &live);
    assert_eq!(
        comparison.drift,
        [Drift {
            pointer: "/spec/paused".into(),
            desired: None,
            live: Some(json!(true))
        }]
    );
}

#[test]
fn a_field_git_dropped_that_another_manager_shares_stays() {
    let live = live_deployment(
        json!({"paused": true}),
        json!({"f:spec": {"f:paused": {}}}),
        json!({"f:spec": {"f:paused": {}}}),
    );
    assert_eq!(
        compared(deployment(json!({})), &live).status,
        SyncStatus::InSync
    );
}

#[test]
fn a_field_another_manager_added_is_not_drift() {
    let live = live_deployment(
        json!({"replicas": 2, "minReadySeconds": 5}),
        json!({"f:spec": {"f:replicas": {}}}),
        json!({"f:spec": {"f:minReadySeconds": {}}}),
    );
    assert_eq!(
        compared(deployment(json!({"replicas": 2})), &live).status,
        SyncStatus::InSync
    );
}

#[test]
fn named_items_merge_by_name_and_extra_items_of_others_are_not_drift() {
    let live = live_deployment(
        json!({"template": {"spec": {"containers": [
            {"name": "istio-proxy", "image": "proxy:1"},
            {"name": "web", "image": "web:1", "imagePullPolicy": "IfNotPresent"}
        ]}}}),
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"web\"}": {".": {}, "f:name": {}, "f:image": {}}}}}}}),
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"istio-proxy\"}": {".": {}, "f:name": {}, "f:image": {}}}}}}}),
    );
    let desired = |image: &str| {
        deployment(json!({"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}))
    };
    assert_eq!(compared(desired("web:1"), &live).status, SyncStatus::InSync);
    let comparison = compared(desired("web:2"), &live);
    assert_eq!(
        pointers(&comparison),
        ["/spec/template/spec/containers/1/image"]
    );
}

#[test]
fn an_item_kedge_applied_and_git_dropped_is_drift_as_a_whole() {
    let live = live_deployment(
        json!({"template": {"spec": {"containers": [
            {"name": "web", "image": "web:1"}, {"name": "log", "image": "log:1"}]}}}),
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"web\"}": {".": {}, "f:image": {}},
            "k:{\"name\":\"log\"}": {".": {}, "f:image": {}}}}}}}),
        json!({}),
    );
    let desired = deployment(
        json!({"template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}}}),
    );
    let comparison = compared(desired, &live);
    assert_eq!(pointers(&comparison), ["/spec/template/spec/containers/1"]);
    assert_eq!(
        comparison.drift[0].live,
        Some(json!({"name": "log", "image": "log:1"}))
    );
}

#[test]
fn an_item_git_adds_points_past_the_end() {
    let live = live_deployment(
        json!({"template": {"spec": {"containers": [{"name": "web"}]}}}),
        json!({}),
        json!({}),
    );
    let desired = deployment(
        json!({"template": {"spec": {"containers": [{"name": "web"}, {"name": "log"}]}}}),
    );
    let comparison = compared(desired, &live);
    assert_eq!(pointers(&comparison), ["/spec/template/spec/containers/-"]);
    assert_eq!(comparison.drift[0].desired, Some(json!({"name": "log"})));
}

#[test]
fn ports_without_names_merge_by_container_port_with_tcp_by_default() {
    let live = live_deployment(
        json!({"template": {"spec": {"containers": [{"name": "web", "ports": [
            {"containerPort": 9090, "protocol": "TCP"}, {"containerPort": 8080, "protocol": "TCP"}]}]}}}),
        json!({}),
        json!({}),
    );
    let desired = deployment(json!({"template": {"spec": {"containers": [
        {"name": "web", "ports": [{"containerPort": 8080}]}]}}}));
    assert_eq!(compared(desired, &live).status, SyncStatus::InSync);
}

#[test]
fn lists_without_keys_compare_whole_and_ask_for_a_dry_run() {
    let live = live_deployment(
        json!({"template": {"spec": {"containers": [{"name": "web", "args": ["--a", "--b"]}]}}}),
        json!({}),
        json!({}),
    );
    let desired = |args: Value| {
        deployment(json!({"template": {"spec": {"containers": [{"name": "web", "args": args}]}}}))
    };
    assert_eq!(
        compared(desired(json!(["--a", "--b"])), &live).status,
        SyncStatus::InSync
    );
    let reordered = compared(desired(json!(["--b", "--a"])), &live);
    assert_eq!(
        pointers(&reordered),
        ["/spec/template/spec/containers/0/args"]
    );
    assert!(
        reordered.needs_dry_run,
        "no managedFields say the list is atomic"
    );
}

#[test]
fn a_list_kedge_owns_whole_is_atomic_for_certain() {
    let live = live_deployment(
        json!({"template": {"spec": {"containers": [{"name": "web", "args": ["--a"]}]}}}),
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"web\"}": {"f:args": {}}}}}}}),
        json!({}),
    );
    let desired = deployment(
        json!({"template": {"spec": {"containers": [{"name": "web", "args": ["--b"]}]}}}),
    );
    let comparison = compared(desired, &live);
    assert_eq!(comparison.status, SyncStatus::OutOfSync);
    assert!(!comparison.needs_dry_run);
}

#[test]
fn sets_from_managed_fields_ignore_order_and_others_items() {
    let mut live = live_deployment(
        json!({}),
        json!({"f:metadata": {"f:finalizers": {"v:\"a\"": {}}}}),
        json!({}),
    );
    live["metadata"]["finalizers"] = json!(["b", "a"]);
    let mut desired = object(deployment(json!({})));
    desired["metadata"]["finalizers"] = json!(["a"]);
    assert_eq!(
        compare(&desired, Some(&live), &CompareOptions::default()).status,
        SyncStatus::InSync
    );
    desired["metadata"]["finalizers"] = json!(["c"]);
    let comparison = compare(&desired, Some(&live), &CompareOptions::default());
    assert_eq!(
        pointers(&comparison),
        ["/metadata/finalizers/-", "/metadata/finalizers/1"]
    );
}

#[test]
fn quantities_compare_by_value() {
    let resources = |requests: Value| json!({"template": {"spec": {"containers": [{"name": "web", "resources": {"requests": requests}}]}}});
    let live = live_deployment(
        resources(json!({"cpu": "1", "memory": "1Gi"})),
        json!({}),
        json!({}),
    );
    let same = compared(
        deployment(resources(json!({"cpu": "1000m", "memory": "1073741824"}))),
        &live,
    );
    assert_eq!(same.status, SyncStatus::InSync, "{:?}", same.drift);
    let more = compared(
        deployment(resources(json!({"cpu": 2, "memory": "1Gi"}))),
        &live,
    );
    assert_eq!(
        pointers(&more),
        ["/spec/template/spec/containers/0/resources/requests/cpu"]
    );
    assert!(!more.needs_dry_run);
    let rounded = compared(deployment(resources(json!({"cpu": "0.1n"}))), &live);
    assert!(rounded.needs_dry_run);
}

#[test]
fn quantity_like_strings_elsewhere_compare_as_text() {
    let mut live = live_deployment(json!({}), json!({}), json!({}));
    live["metadata"]["labels"] = json!({"cpu": "1"});
    let mut desired = object(deployment(json!({})));
    desired["metadata"]["labels"] = json!({"cpu": "1000m"});
    let comparison = compare(&desired, Some(&live), &CompareOptions::default());
    assert_eq!(pointers(&comparison), ["/metadata/labels/cpu"]);
}

#[test]
fn int_or_string_values_keep_their_type() {
    let live = object(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "8080", "protocol": "TCP"}]}}),
    );
    let desired = object(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
    );
    let comparison = compare(&desired, Some(&live), &CompareOptions::default());
    assert_eq!(pointers(&comparison), ["/spec/ports/0/targetPort"]);
    assert!(
        comparison.needs_dry_run,
        "the server decides whether 8080 and \"8080\" are one value"
    );
}

#[test]
fn empty_maps_and_lists_equal_absent_fields() {
    let live = live_deployment(
        json!({"template": {"spec": {"containers": [{"name": "web"}]}}}),
        json!({}),
        json!({}),
    );
    let desired = deployment(json!({"template": {"metadata": {"annotations": {}},
        "spec": {"containers": [{"name": "web", "args": [], "resources": {}}], "volumes": []}}}));
    let comparison = compared(desired, &live);
    assert_eq!(
        comparison.status,
        SyncStatus::InSync,
        "{:?}",
        comparison.drift
    );
}

#[test]
fn json_pointer_rules_skip_fields() {
    let live = live_deployment(
        json!({"replicas": 5}),
        json!({"f:spec": {"f:replicas": {}}}),
        json!({}),
    );
    let mut rule = IgnoreDifferences::for_kind("apps", "Deployment");
    rule.json_pointers = vec!["/spec/replicas".into()];
    let options = CompareOptions::with_ignore(IgnoreRules::new(vec![rule]).unwrap());
    let comparison = compare(
        &object(deployment(json!({"replicas": 2}))),
        Some(&live),
        &options,
    );
    assert_eq!(comparison.status, SyncStatus::InSync);
    let removed = compare(&object(deployment(json!({}))), Some(&live), &options);
    assert_eq!(
        removed.status,
        SyncStatus::InSync,
        "ignored fields are not removed either"
    );
}

#[test]
fn manager_rules_skip_the_fields_that_manager_owns() {
    let live = live_deployment(
        json!({"replicas": 5, "paused": false}),
        json!({"f:spec": {"f:replicas": {}, "f:paused": {}}}),
        json!({"f:spec": {"f:replicas": {}}}),
    );
    let mut rule = IgnoreDifferences::for_kind("apps", "Deployment");
    rule.managed_fields_managers = vec!["kube-controller-manager".into()];
    let options = CompareOptions::with_ignore(IgnoreRules::new(vec![rule]).unwrap());
    let desired = object(deployment(json!({"replicas": 2, "paused": true})));
    let comparison = compare(&desired, Some(&live), &options);
    assert_eq!(pointers(&comparison), ["/spec/paused"]);
}

#[test]
fn secret_string_data_compares_as_the_data_it_becomes() {
    let live = object(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "type": "Opaque", "data": {"user": "YWRtaW4="}}),
    );
    let desired = |user: &str| {
        object(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"user": user}}),
        )
    };
    let options = CompareOptions::default();
    assert_eq!(
        compare(&desired("admin"), Some(&live), &options).status,
        SyncStatus::InSync
    );
    assert_eq!(
        compare(&desired("root"), Some(&live), &options).status,
        SyncStatus::OutOfSync
    );
}

#[test]
fn another_api_version_asks_for_a_dry_run() {
    let live = live_deployment(json!({}), json!({}), json!({}));
    let mut desired = object(deployment(json!({})));
    desired["apiVersion"] = json!("apps/v1beta2");
    let comparison = compare(&desired, Some(&live), &CompareOptions::default());
    assert_eq!(comparison.status, SyncStatus::InSync);
    assert!(comparison.needs_dry_run);
}

#[test]
fn the_namespace_comes_from_live_when_git_names_none() {
    let live = live_deployment(json!({}), json!({}), json!({}));
    let mut desired = object(deployment(json!({})));
    desired["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    let comparison = compare(&desired, Some(&live), &CompareOptions::default());
    assert_eq!(comparison.key.namespace.as_deref(), Some("shop"));
    assert_eq!(comparison.status, SyncStatus::InSync);
}

#[test]
fn the_unified_diff_shows_changes_without_server_metadata() {
    let live = live_deployment(
        json!({"replicas": 2, "paused": true}),
        json!({"f:spec": {"f:replicas": {}, "f:paused": {}}}),
        json!({}),
    );
    let desired = object(deployment(json!({"replicas": 3})));
    let comparison = compare(&desired, Some(&live), &CompareOptions::default());
    let diff = unified_diff(&comparison, Some(&desired), Some(&live));
    assert!(
        diff.starts_with("--- live/apps/Deployment shop/web\n+++ git/apps/Deployment shop/web\n"),
        "{diff}"
    );
    for change in [
        "\n-  replicas: 2\n",
        "\n+  replicas: 3\n",
        "\n-  paused: true\n",
        "\n spec:\n",
    ] {
        assert!(diff.contains(change), "{change:?} not in\n{diff}");
    }
    assert!(
        diff.lines().all(|line| !line.starts_with('+')
            || line.starts_with("+++")
            || line == "+  replicas: 3"),
        "{diff}"
    );
    for server_field in [
        "managedFields",
        "resourceVersion",
        "readyReplicas",
        "deployment.kubernetes.io",
    ] {
        assert!(!diff.contains(server_field), "{server_field} in\n{diff}");
    }
}

#[test]
fn the_unified_diff_is_empty_in_sync_and_whole_for_missing_or_extra() {
    let live = live_deployment(json!({"replicas": 2}), json!({}), json!({}));
    let desired = object(deployment(json!({"replicas": 2})));
    let in_sync = compare(&desired, Some(&live), &CompareOptions::default());
    assert_eq!(unified_diff(&in_sync, Some(&desired), Some(&live)), "");
    let missing = compare(&desired, None, &CompareOptions::default());
    let diff = unified_diff(&missing, Some(&desired), None);
    assert!(diff.contains("+kind: Deployment\n"), "{diff}");
    assert!(
        !diff
            .lines()
            .any(|line| line.starts_with('-') && !line.starts_with("---")),
        "{diff}"
    );
    let extra = Comparison::extra(&live);
    let diff = unified_diff(&extra, None, Some(&live));
    assert!(diff.contains("-kind: Deployment\n"), "{diff}");
    assert!(!diff.contains("status"), "{diff}");
}

#[test]
fn drift_applied_removes_list_items_from_the_back() {
    let live = object(json!({"spec": {"items": [{"n": 0}, {"n": 1}, {"n": 2}], "keep": 1}}));
    let drift = [
        Drift {
            pointer: "/spec/items/0".into(),
            desired: None,
            live: None,
        },
        Drift {
            pointer: "/spec/items/2".into(),
            desired: None,
            live: None,
        },
        Drift {
            pointer: "/spec/items/-".into(),
            desired: Some(json!({"n": 3})),
            live: None,
        },
        Drift {
            pointer: "/spec/keep".into(),
            desired: Some(json!(2)),
            live: None,
        },
    ];
    let merged = diff::with_drift_applied(&live, &drift);
    assert_eq!(
        Value::Object(merged),
        json!({"spec": {"items": [{"n": 1}, {"n": 3}], "keep": 2}})
    );
}

#[test]
fn sync_applies_git_without_the_fields_ignore_rules_cover() {
    let live = live_deployment(
        json!({"replicas": 5, "template": {"spec": {"containers": [
            {"name": "web", "image": "web:1", "resources": {"limits": {"cpu": "1"}}}]}}}),
        json!({}),
        json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"web\"}": {"f:resources": {"f:limits": {"f:cpu": {}}}}}}}}}),
    );
    let mut by_manager = IgnoreDifferences::for_kind("apps", "Deployment");
    by_manager.managed_fields_managers = vec!["kube-controller-manager".into()];
    let mut by_pointer = IgnoreDifferences::for_kind("apps", "Deployment");
    by_pointer.json_pointers = vec!["/metadata/labels".into()];
    let options =
        CompareOptions::with_ignore(IgnoreRules::new(vec![by_manager, by_pointer]).unwrap());
    let mut desired = object(deployment(
        json!({"replicas": 2, "template": {"spec": {"containers": [
        {"name": "web", "image": "web:2", "resources": {"limits": {"cpu": "2", "memory": "1Gi"}}}]}}}),
    ));
    desired["metadata"]["labels"] = json!({"app": "web"});
    let applied = without_ignored(&desired, Some(&live), &options);
    let expected = deployment(json!({"template": {"spec": {"containers": [
        {"name": "web", "image": "web:2", "resources": {"limits": {"memory": "1Gi"}}}]}}}));
    assert_eq!(Value::Object(applied), expected);
    assert_eq!(
        without_ignored(&desired, None, &options),
        desired,
        "a new object is created as Git has it"
    );
}

#[test]
fn git_items_in_another_order_change_the_list_as_a_whole() {
    let live = live_deployment(
        json!({"template": {"spec": {"containers": [
            {"name": "istio-proxy", "image": "proxy:1"},
            {"name": "web", "image": "web:1", "imagePullPolicy": "IfNotPresent"},
            {"name": "log", "image": "log:1", "imagePullPolicy": "IfNotPresent"}
        ]}}}),
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"web\"}": {".": {}, "f:image": {}},
            "k:{\"name\":\"log\"}": {".": {}, "f:image": {}}}}}}}),
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"istio-proxy\"}": {".": {}, "f:image": {}}}}}}}),
    );
    let desired = deployment(json!({"template": {"spec": {"containers": [
        {"name": "log", "image": "log:2"}, {"name": "web", "image": "web:1"}]}}}));
    let comparison = compared(desired, &live);
    assert_eq!(pointers(&comparison), ["/spec/template/spec/containers"]);
    let merged = json!([
        {"name": "log", "image": "log:2", "imagePullPolicy": "IfNotPresent"},
        {"name": "web", "image": "web:1", "imagePullPolicy": "IfNotPresent"},
        {"name": "istio-proxy", "image": "proxy:1"}
    ]);
    assert_eq!(
        comparison.drift[0].desired,
        Some(merged),
        "defaults and other managers' items stay"
    );
}
