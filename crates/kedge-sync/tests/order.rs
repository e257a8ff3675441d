//! Sync order of real manifests, rendered by `kedge_render` from the shared
//! fixtures: the steps a user sees when kedge syncs them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use kedge_render::{RenderedObject, Renderer, render};
use kedge_sync::order::{HookDeletePolicy, Phase, Plan, plan};
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

fn planned(objects: &[RenderedObject]) -> Plan {
    match plan(objects) {
        Ok(plan) => plan,
        Err(error) => panic!("{error}"),
    }
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

/// The kinds of a step in apply order, each once.
fn kinds(objects: &[RenderedObject], indices: &[usize]) -> Vec<String> {
    let mut kinds: Vec<String> = indices
        .iter()
        .map(|&i| objects[i].kind().to_owned())
        .collect();
    kinds.dedup();
    kinds
}

/// kube-prometheus's manifests (5 MB): rendered once for the tests that read them.
static KUBE_PROMETHEUS: LazyLock<Vec<RenderedObject>> =
    LazyLock::new(|| rendered(&manifests("prometheus-operator__kube-prometheus/manifests")));

/// Argo CD's health fixtures carry real hook and wave annotations: one file each.
const ARGO_ANNOTATED: [&str; 5] = [
    "k8s.keycloak.org/Keycloak/testdata/healthy.yaml",
    "acid.zalan.do/postgresql/testdata/healthy.yaml",
    "tower.ansible.com/AnsibleJob/testdata/healthy.yaml",
    "grafana.integreatly.org/Grafana/testdata/healthy.yaml",
    "numaplane.numaproj.io/ISBServiceRollout/testdata/ISBServiceRollout/healthy.yaml",
];

fn argo_annotated() -> Vec<RenderedObject> {
    let root = manifests("argoproj__argo-cd/resource_customizations");
    ARGO_ANNOTATED
        .iter()
        .flat_map(|file| rendered(&root.join(file)))
        .collect()
}

#[test]
fn kube_prometheus_applies_its_namespace_and_crds_before_the_custom_resources() {
    let objects = &KUBE_PROMETHEUS;
    // The files sort `alertmanager-*.yaml` before `setup/`: the render starts
    // with a custom resource whose CRD it has not reached yet.
    assert_eq!(objects[0].kind(), "Alertmanager");
    let plan = planned(objects);

    assert_eq!(
        plan.steps
            .iter()
            .map(|s| (s.phase, s.wave))
            .collect::<Vec<_>>(),
        [(Phase::Prerequisites, 0), (Phase::Sync, 0)]
    );
    let prerequisites = outline(&plan, objects)[0].clone();
    assert_eq!(
        prerequisites,
        "Prerequisites 0: Namespace/monitoring, \
         CustomResourceDefinition/alertmanagerconfigs.monitoring.coreos.com, \
         CustomResourceDefinition/alertmanagers.monitoring.coreos.com, \
         CustomResourceDefinition/podmonitors.monitoring.coreos.com, \
         CustomResourceDefinition/probes.monitoring.coreos.com, \
         CustomResourceDefinition/prometheusagents.monitoring.coreos.com, \
         CustomResourceDefinition/prometheuses.monitoring.coreos.com, \
         CustomResourceDefinition/prometheusrules.monitoring.coreos.com, \
         CustomResourceDefinition/scrapeconfigs.monitoring.coreos.com, \
         CustomResourceDefinition/servicemonitors.monitoring.coreos.com, \
         CustomResourceDefinition/thanosrulers.monitoring.coreos.com"
    );
    assert_eq!(
        kinds(objects, &plan.steps[1].objects),
        [
            "NetworkPolicy",
            "ServiceAccount",
            "Secret",
            "ConfigMap",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "Service",
            "DaemonSet",
            "Deployment",
            "APIService",
            // Kinds the list does not name, by kind name.
            "Alertmanager",
            "PodDisruptionBudget",
            "Prometheus",
            "PrometheusRule",
            "ServiceMonitor",
        ]
    );
    assert!(plan.skipped.is_empty());
}

#[test]
fn every_rendered_object_is_planned_exactly_once() {
    let objects = &KUBE_PROMETHEUS;
    let plan = planned(objects);
    let planned: Vec<usize> = plan.steps.iter().flat_map(|s| s.objects.clone()).collect();
    let distinct: BTreeSet<usize> = planned.iter().copied().collect();
    assert_eq!(planned.len(), objects.len());
    assert_eq!(distinct, (0..objects.len()).collect());
}

#[test]
fn within_a_namespace_objects_sort_by_name_whatever_the_file_order() {
    let objects = &KUBE_PROMETHEUS;
    let plan = planned(objects);
    let roles: Vec<String> = plan.steps[1]
        .objects
        .iter()
        .map(|&i| &objects[i])
        .filter(|object| object.kind() == "Role")
        .map(|object| object.key().to_string())
        .collect();
    assert_eq!(
        roles,
        [
            "rbac.authorization.k8s.io/Role default/prometheus-k8s",
            "rbac.authorization.k8s.io/Role kube-system/prometheus-k8s",
            "rbac.authorization.k8s.io/Role monitoring/prometheus-k8s",
            "rbac.authorization.k8s.io/Role monitoring/prometheus-k8s-config",
        ]
    );
}

#[test]
fn argo_cd_hooks_and_waves_from_real_objects() {
    let objects = argo_annotated();
    let plan = planned(&objects);
    assert_eq!(
        outline(&plan, &objects),
        [
            "PreSync 0: AnsibleJob/prehook-test-dfcff01-presync-1687897341",
            "Sync 1: Grafana/grafana, postgresql/foobar-db",
            "Sync 2: ISBServiceRollout/my-isbsvc, Keycloak/keycloak",
        ]
    );
    let presync = &plan.steps[0];
    assert_eq!(
        presync.hooks,
        [(2, vec![HookDeletePolicy::BeforeHookCreation])],
        "a hook without a delete policy is replaced before it is created again"
    );
    assert!(plan.steps[1].hooks.is_empty());
}

#[test]
fn an_argo_wave_that_contradicts_kedges_names_the_object_and_file() {
    let mut objects = argo_annotated();
    let keycloak = objects
        .iter_mut()
        .find(|object| object.kind() == "Keycloak")
        .expect("the Keycloak fixture");
    let annotations = keycloak
        .object
        .get_mut("metadata")
        .and_then(|metadata| metadata.get_mut("annotations"))
        .and_then(Value::as_object_mut)
        .expect("the fixture is annotated");
    annotations.insert("kedge.dev/sync-wave".into(), "1".into());

    let Err(error) = plan(&objects) else {
        panic!("two different waves were accepted");
    };
    assert_eq!(
        error.to_string(),
        "healthy.yaml:1: k8s.keycloak.org/Keycloak foo/keycloak: annotation kedge.dev/sync-wave: \
         1 differs from argocd.argoproj.io/sync-wave: 2"
    );
}

#[test]
fn an_old_example_applies_its_namespace_then_services_before_their_controllers() {
    let dir = manifests("kubernetes__examples/_archived/spark");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the spark example")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let objects: Vec<RenderedObject> = files.iter().flat_map(|file| rendered(file)).collect();
    // The files put each controller before its service.
    assert_eq!(
        objects.iter().map(|o| o.kind()).collect::<Vec<_>>(),
        [
            "Namespace",
            "ReplicationController",
            "Service",
            "ReplicationController",
            "Service",
            "ReplicationController",
            "ReplicationController",
            "Service",
        ]
    );
    assert_eq!(
        outline(&planned(&objects), &objects),
        [
            "Prerequisites 0: Namespace/spark-cluster",
            "Sync 0: Service/spark-master, Service/spark-ui-proxy, Service/zeppelin, \
             ReplicationController/spark-master-controller, \
             ReplicationController/spark-ui-proxy-controller, \
             ReplicationController/spark-worker-controller, \
             ReplicationController/zeppelin-controller",
        ]
    );
}
