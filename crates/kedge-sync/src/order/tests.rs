//! `plan` on hand-made objects: each test names the order a user sees.

use std::path::PathBuf;

use kedge_render::{RenderedObject, Source};
use serde_json::{Value, json};

use super::*;

fn object(api_version: &str, kind: &str, name: &str, annotations: Value) -> RenderedObject {
    let Value::Object(object) = json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "annotations": annotations},
    }) else {
        unreachable!("a JSON object literal")
    };
    RenderedObject {
        object,
        source: Source {
            file: PathBuf::from("app.yaml"),
            line: Some(1),
        },
    }
}

fn with_namespace(mut rendered: RenderedObject, namespace: &str) -> RenderedObject {
    if let Some(Value::Object(metadata)) = rendered.object.get_mut("metadata") {
        metadata.insert("namespace".into(), namespace.into());
    }
    rendered
}

/// Each step as `Phase wave: kind/name, …`.
fn outline(plan: &Plan, objects: &[RenderedObject]) -> Vec<String> {
    plan.steps
        .iter()
        .map(|step| {
            let names: Vec<String> = step
                .objects
                .iter()
                .map(|&i| format!("{}/{}", objects[i].kind(), objects[i].name()))
                .collect();
            format!("{} {}: {}", step.phase, step.wave, names.join(", "))
        })
        .collect()
}

fn planned(objects: &[RenderedObject]) -> Plan {
    match plan(objects) {
        Ok(plan) => plan,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn no_objects_make_an_empty_plan() {
    assert_eq!(planned(&[]), Plan::default());
}

#[test]
fn kinds_are_ordered_within_a_wave_then_by_namespace_and_name() {
    let objects = vec![
        object("networking.k8s.io/v1", "Ingress", "web", json!({})),
        object("apps/v1", "Deployment", "web", json!({})),
        with_namespace(object("v1", "Service", "web", json!({})), "b"),
        with_namespace(object("v1", "Service", "web", json!({})), "a"),
        object("v1", "ConfigMap", "web", json!({})),
        object(
            "monitoring.coreos.com/v1",
            "ServiceMonitor",
            "web",
            json!({}),
        ),
        object(
            "monitoring.coreos.com/v1",
            "PrometheusRule",
            "web",
            json!({}),
        ),
        object("v1", "Secret", "web", json!({})),
    ];
    let plan = planned(&objects);
    assert_eq!(
        outline(&plan, &objects),
        [
            "Sync 0: Secret/web, ConfigMap/web, Service/web, Service/web, Deployment/web, \
          Ingress/web, PrometheusRule/web, ServiceMonitor/web"
        ]
    );
    // Namespace "a" before "b".
    assert_eq!(plan.steps[0].objects[2..4], [3, 2]);
}

#[test]
fn namespaces_and_crds_come_first_whatever_their_wave() {
    let objects = vec![
        object(
            "example.com/v1",
            "Widget",
            "w",
            json!({"argocd.argoproj.io/sync-wave": "-3"}),
        ),
        object(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "widgets.example.com",
            json!({"argocd.argoproj.io/sync-wave": "4"}),
        ),
        object("v1", "Namespace", "shop", json!({})),
        object(
            "batch/v1",
            "Job",
            "migrate",
            json!({"argocd.argoproj.io/hook": "PreSync"}),
        ),
    ];
    let plan = planned(&objects);
    assert_eq!(
        outline(&plan, &objects),
        [
            "Prerequisites 0: Namespace/shop, CustomResourceDefinition/widgets.example.com",
            "PreSync 0: Job/migrate",
            "Sync -3: Widget/w",
        ]
    );
}

#[test]
fn a_namespace_hook_stays_in_its_phase() {
    let objects = vec![object(
        "v1",
        "Namespace",
        "scratch",
        json!({"argocd.argoproj.io/hook": "PreSync"}),
    )];
    assert_eq!(
        outline(&planned(&objects), &objects),
        ["PreSync 0: Namespace/scratch"]
    );
}

#[test]
fn waves_run_in_ascending_order_with_negative_waves_first() {
    let objects = vec![
        object(
            "apps/v1",
            "Deployment",
            "api",
            json!({"kedge.dev/sync-wave": "1"}),
        ),
        object("v1", "ConfigMap", "settings", json!({})),
        object(
            "apps/v1",
            "StatefulSet",
            "db",
            json!({"argocd.argoproj.io/sync-wave": "-1"}),
        ),
        object("v1", "Service", "api", json!({"kedge.dev/sync-wave": "1"})),
    ];
    assert_eq!(
        outline(&planned(&objects), &objects),
        [
            "Sync -1: StatefulSet/db",
            "Sync 0: ConfigMap/settings",
            "Sync 1: Service/api, Deployment/api",
        ]
    );
}

#[test]
fn hooks_run_in_their_phases_and_sync_hooks_join_their_wave() {
    let objects = vec![
        object("apps/v1", "Deployment", "web", json!({})),
        object(
            "batch/v1",
            "Job",
            "smoke-test",
            json!({"argocd.argoproj.io/hook": "PostSync"}),
        ),
        object(
            "batch/v1",
            "Job",
            "notify",
            json!({"argocd.argoproj.io/hook": "SyncFail"}),
        ),
        object(
            "batch/v1",
            "Job",
            "migrate",
            json!({
                "helm.sh/hook": "pre-install,pre-upgrade",
                "helm.sh/hook-weight": "-5",
            }),
        ),
        object(
            "batch/v1",
            "Job",
            "seed",
            json!({"argocd.argoproj.io/hook": "Sync"}),
        ),
        object(
            "batch/v1",
            "Job",
            "backup",
            json!({"argocd.argoproj.io/hook": "PreSync"}),
        ),
    ];
    let plan = planned(&objects);
    assert_eq!(
        outline(&plan, &objects),
        [
            "PreSync -5: Job/migrate",
            "PreSync 0: Job/backup",
            "Sync 0: Deployment/web, Job/seed",
            "PostSync 0: Job/smoke-test",
            "SyncFail 0: Job/notify",
        ]
    );
    let sync = &plan.steps[2];
    assert_eq!(
        sync.hooks,
        [(4, vec![HookDeletePolicy::BeforeHookCreation])]
    );
    assert_eq!(plan.phase(Phase::PreSync).count(), 2);
}

#[test]
fn a_hook_with_two_phases_is_applied_in_both() {
    let objects = vec![object(
        "batch/v1",
        "Job",
        "check",
        json!({"argocd.argoproj.io/hook": "PreSync,PostSync"}),
    )];
    assert_eq!(
        outline(&planned(&objects), &objects),
        ["PreSync 0: Job/check", "PostSync 0: Job/check"]
    );
}

#[test]
fn skipped_objects_are_listed_with_their_reason_and_never_applied() {
    let objects = vec![
        object(
            "v1",
            "Pod",
            "test-connection",
            json!({"helm.sh/hook": "test"}),
        ),
        object(
            "v1",
            "ConfigMap",
            "draft",
            json!({"argocd.argoproj.io/hook": "Skip"}),
        ),
        object("v1", "ConfigMap", "live", json!({})),
    ];
    let plan = planned(&objects);
    assert_eq!(outline(&plan, &objects), ["Sync 0: ConfigMap/live"]);
    let reasons: Vec<(usize, String)> = plan
        .skipped
        .iter()
        .map(|skipped| (skipped.object, skipped.reason.to_string()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                0,
                "helm.sh/hook: test: sync runs only install and upgrade hooks".to_owned()
            ),
            (1, "argocd.argoproj.io/hook: Skip".to_owned()),
        ]
    );
}

#[test]
fn a_bad_annotation_names_the_object_and_its_source() {
    let mut objects = vec![
        object("v1", "ConfigMap", "fine", json!({})),
        with_namespace(
            object(
                "apps/v1",
                "Deployment",
                "web",
                json!({"kedge.dev/sync-wave": "1.5"}),
            ),
            "shop",
        ),
    ];
    objects[1].source = Source {
        file: PathBuf::from("apps/web.yaml"),
        line: Some(12),
    };
    let Err(error) = plan(&objects) else {
        panic!("a wave of 1.5 was accepted");
    };
    assert_eq!(
        error.to_string(),
        "apps/web.yaml:12: apps/Deployment shop/web: annotation kedge.dev/sync-wave: \
         \"1.5\" is not an integer: invalid digit found in string"
    );
}

#[test]
fn the_plan_serialises_for_json_output() {
    let objects = vec![
        object(
            "batch/v1",
            "Job",
            "migrate",
            json!({"argocd.argoproj.io/hook": "PreSync"}),
        ),
        object("v1", "Pod", "test", json!({"helm.sh/hook": "test"})),
    ];
    let json = serde_json::to_value(planned(&objects)).unwrap_or_default();
    assert_eq!(
        json,
        json!({
            "steps": [{
                "phase": "PreSync",
                "wave": 0,
                "objects": [0],
                "hooks": [[0, ["BeforeHookCreation"]]],
            }],
            "skipped": [{"object": 1, "reason": "helm-hook", "events": ["test"]}],
        })
    );
}

#[test]
fn a_bad_wave_on_a_namespace_is_an_error_even_though_waves_do_not_order_it() {
    let objects = vec![object(
        "v1",
        "Namespace",
        "shop",
        json!({"kedge.dev/sync-wave": "early"}),
    )];
    let Err(error) = plan(&objects) else {
        panic!("a wave of \"early\" was accepted");
    };
    assert!(
        error.to_string().starts_with(
            "app.yaml:1: Namespace shop: annotation kedge.dev/sync-wave: \"early\" is not an integer"
        ),
        "{error}"
    );
}
