//! Prune decisions on real manifests: the live cluster is simulated by the
//! rendered objects as kedge applied them (labelled), and Git changes by
//! leaving objects out of the desired set.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use kedge_render::{RenderedObject, Renderer, render};
use kedge_sync::inventory::{APP_LABEL, AppName, PruneDecision, label, prune_candidates};
use kedge_sync::{Object, ObjectKey, object_key};
use serde_json::Value;

fn manifests(path: &str) -> PathBuf {
    kedge_testkit::fixtures_dir().join("manifests").join(path)
}

fn rendered(path: &Path) -> Vec<RenderedObject> {
    match render(path, &Renderer::Plain) {
        Ok(objects) => objects,
        Err(error) => panic!("{error}"),
    }
}

/// kube-prometheus's manifests (5 MB): rendered once for the tests that read them.
static KUBE_PROMETHEUS: LazyLock<Vec<RenderedObject>> =
    LazyLock::new(|| rendered(&manifests("prometheus-operator__kube-prometheus/manifests")));

fn app(name: &str) -> AppName {
    match AppName::new(name) {
        Ok(app) => app,
        Err(error) => panic!("{error}"),
    }
}

/// The objects as the cluster holds them once kedge applied them for `app`.
fn applied(objects: &[RenderedObject], app: &AppName) -> Vec<Object> {
    objects
        .iter()
        .map(|rendered| {
            let mut object = rendered.object.clone();
            label(&mut object, app);
            object
        })
        .collect()
}

/// Each candidate as `key: decision`.
fn decisions(app: &AppName, live: &[Object], desired: &BTreeSet<ObjectKey>) -> Vec<String> {
    prune_candidates(app, live, desired)
        .into_iter()
        .map(|(object, decision)| match decision {
            PruneDecision::Delete => format!("{}: delete", object_key(object)),
            PruneDecision::Protected(reason) => format!("{}: keep, {reason}", object_key(object)),
            other => format!("{}: {other:?}", object_key(object)),
        })
        .collect()
}

fn annotate(object: &mut Object, name: &str, value: &str) {
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(annotations) = annotations {
            annotations.insert(name.into(), value.into());
        }
    }
}

#[test]
fn files_removed_from_git_are_exactly_what_prune_deletes() {
    let monitoring = app("monitoring");
    let objects = &KUBE_PROMETHEUS;
    let live = applied(objects, &monitoring);
    let removed = [
        "grafana-deployment.yaml",
        "blackboxExporter-configuration.yaml",
    ];
    let desired: BTreeSet<ObjectKey> = objects
        .iter()
        .filter(|object| {
            !removed
                .iter()
                .any(|file| object.source.file == Path::new(file))
        })
        .map(RenderedObject::key)
        .collect();
    assert_eq!(desired.len(), objects.len() - 2);

    assert_eq!(
        decisions(&monitoring, &live, &desired),
        [
            "ConfigMap monitoring/blackbox-exporter-configuration: delete",
            "apps/Deployment monitoring/grafana: delete",
        ]
    );
    let everything: BTreeSet<ObjectKey> = objects.iter().map(RenderedObject::key).collect();
    assert!(
        decisions(&monitoring, &live, &everything).is_empty(),
        "a re-sync of an unchanged render prunes nothing"
    );
}

#[test]
fn a_protected_object_survives_its_removal_from_git() {
    let monitoring = app("monitoring");
    let objects = &KUBE_PROMETHEUS;
    let mut live = applied(objects, &monitoring);
    for object in &mut live {
        match object_key(object).name.as_str() {
            "grafana" if object["kind"] == "Deployment" => {
                annotate(object, "kedge.dev/prune", "false");
            }
            "kube-state-metrics" if object["kind"] == "Deployment" => {
                annotate(object, "argocd.argoproj.io/sync-options", "Prune=false");
            }
            _ => {}
        }
    }
    let desired: BTreeSet<ObjectKey> = objects
        .iter()
        .filter(|object| object.kind() != "Deployment")
        .map(RenderedObject::key)
        .collect();
    assert_eq!(
        decisions(&monitoring, &live, &desired),
        [
            "apps/Deployment monitoring/blackbox-exporter: delete",
            "apps/Deployment monitoring/grafana: keep, kedge.dev/prune: \"false\"",
            "apps/Deployment monitoring/kube-state-metrics: keep, \
             argocd.argoproj.io/sync-options: Prune=false",
            "apps/Deployment monitoring/prometheus-adapter: delete",
            "apps/Deployment monitoring/prometheus-operator: delete",
        ]
    );
}

#[test]
fn another_apps_objects_and_owned_objects_are_never_pruned() {
    let root = manifests("argoproj__argo-cd/resource_customizations");
    let shop = app("shop");
    // A Route its ArgoCD owner created: labels copied from the owner.
    let route = applied(
        &rendered(&root.join("route.openshift.io/Route/testdata/healthy.yaml")),
        &shop,
    );
    // A Keycloak another app applied.
    let keycloak = applied(
        &rendered(&root.join("k8s.keycloak.org/Keycloak/testdata/healthy.yaml")),
        &app("identity"),
    );
    let live: Vec<Object> = route.into_iter().chain(keycloak).collect();
    assert_eq!(live[0]["metadata"]["labels"][APP_LABEL], "shop");
    assert!(live[0]["metadata"]["ownerReferences"].is_array());

    assert!(decisions(&shop, &live, &BTreeSet::new()).is_empty());
    assert_eq!(
        decisions(&app("identity"), &live, &BTreeSet::new()),
        ["k8s.keycloak.org/Keycloak foo/keycloak: delete"]
    );
}

#[test]
fn desired_keys_left_without_their_namespace_keep_the_live_objects() {
    // The spark example's controllers name no namespace; the cluster holds
    // them in the destination namespace.
    let dir = manifests("kubernetes__examples/_archived/spark");
    let objects = rendered(&dir.join("spark-master-controller.yaml"));
    let spark = app("spark");
    let mut live = applied(&objects, &spark);
    if let Some(Value::Object(metadata)) = live[0].get_mut("metadata") {
        metadata.insert("namespace".into(), "spark-cluster".into());
    }
    let undefaulted: BTreeSet<ObjectKey> = objects.iter().map(RenderedObject::key).collect();
    assert_eq!(
        undefaulted.first().and_then(|key| key.namespace.clone()),
        None
    );
    assert!(decisions(&spark, &live, &undefaulted).is_empty());
}
