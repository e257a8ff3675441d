//! kedge-kube against the test bed's real API server: waves with a
//! Namespace, a CRD and its custom resource; a no-op re-sync that writes
//! nothing; prune; ignoreDifferences and apply conflicts; unknown kinds.
//!
//! There is no kubelet: [`support::kubelet`] reports Pods Running and Ready
//! through `/status`, so the controller-manager makes the Deployments
//! Available exactly as on a node, and sync's health waits see it.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kedge_kube::{Action, KubeError, SharedDiscovery, SyncOptions, SyncReport, sync};
use kedge_render::{RenderedObject, Renderer, render};
use kedge_sync::health::HealthStatus;
use kedge_sync::ignore::{IgnoreDifferences, IgnoreRules};
use kedge_sync::inventory::AppName;
use kedge_testkit::kube::TestCluster;
use kube::api::{Api, Patch, PatchParams};
use support::{config_map, deployment, kubelet, recording_client, secret, write_manifests};

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn rendered(dir: &std::path::Path) -> Vec<RenderedObject> {
    render(dir, &Renderer::Plain).expect("manifests render")
}

/// Options for an app named after its namespace: app names are
/// cluster-wide, so each test run has its own.
fn options(namespace: &str) -> SyncOptions {
    let mut options = SyncOptions::new(AppName::new(namespace).unwrap(), namespace);
    options.timeout = Duration::from_secs(60);
    options
}

fn action_of<'a>(report: &'a SyncReport, kind: &str, name: &str) -> &'a Action {
    &report
        .objects
        .iter()
        .find(|o| o.key.kind == kind && o.key.name == name)
        .unwrap_or_else(|| panic!("{kind} {name} not in the report: {report:#?}"))
        .action
}

fn position(report: &SyncReport, kind: &str) -> usize {
    report
        .objects
        .iter()
        .position(|o| o.key.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} in {report:#?}"))
}

fn waves(namespace: &str, group: &str) -> Vec<(&'static str, String)> {
    let wave1 = "  annotations:\n    kedge.dev/sync-wave: \"1\"\n";
    vec![
        (
            "namespace.yaml",
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n"),
        ),
        (
            "crd.yaml",
            format!(
                "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {{type: object, properties: {{size: {{type: integer}}}}}}
"
            ),
        ),
        (
            "widget.yaml",
            format!("apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: w\n{wave1}spec:\n  size: 3\n"),
        ),
        ("config.yaml", config_map("settings", "")),
        (
            "service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n".into(),
        ),
        ("deployment.yaml", deployment("web", wave1)),
    ]
}

#[tokio::test]
async fn two_waves_apply_in_order_and_a_resync_writes_nothing() {
    let test = "two_waves_apply_in_order_and_a_resync_writes_nothing";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = unique("waves");
    let group = format!("{namespace}.kedge.dev");
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &waves(&namespace, &group));
    let _kubelet = kubelet(cluster.client(), &[&namespace]);
    let objects = rendered(dir.path());

    let first = sync(&cluster.client(), &objects, &options(&namespace))
        .await
        .unwrap();
    assert!(first.succeeded(), "{first:#?}");
    for object in &first.objects {
        assert_eq!(object.action, Action::Applied, "{object:?}");
        let health = object.health.as_ref().expect("health after a wait");
        assert_eq!(health.status, HealthStatus::Healthy, "{object:?}");
    }
    assert_eq!(first.objects.len(), 6);
    // Namespace and CRD first, wave 0 before wave 1.
    assert!(position(&first, "Namespace") < position(&first, "ConfigMap"));
    assert!(position(&first, "CustomResourceDefinition") < position(&first, "Widget"));
    assert!(position(&first, "ConfigMap") < position(&first, "Deployment"));
    assert!(position(&first, "Service") < position(&first, "Widget"));
    let live = Api::<Deployment>::namespaced(cluster.client(), &namespace)
        .get("web")
        .await
        .unwrap();
    assert_eq!(
        live.metadata.labels.unwrap()["kedge.dev/app"],
        namespace,
        "applied objects carry the inventory label"
    );

    let (client, requests) = recording_client(&cluster).await;
    let again = sync(&client, &objects, &options(&namespace)).await.unwrap();
    let sent = requests.take();
    assert!(again.succeeded(), "{again:#?}");
    for object in &again.objects {
        assert_eq!(object.action, Action::Unchanged, "{object:?}");
    }
    let writes: Vec<_> = sent
        .iter()
        .filter(|(m, _)| m != http::Method::GET)
        .collect();
    assert!(writes.is_empty(), "a no-op re-sync wrote: {writes:?}");
    let per_object: Vec<_> = sent
        .iter()
        .filter(|(_, path)| {
            let path = path.split('?').next().unwrap_or_default();
            ["/web", "/settings", "/w", &format!("/{namespace}")]
                .iter()
                .any(|name| path.ends_with(name))
        })
        .collect();
    assert!(per_object.is_empty(), "per-object requests: {per_object:?}");
    assert!(
        sent.len() <= 2 + 6,
        "discovery and one LIST a type: {sent:#?}"
    );
}

/// `files` written to `dir` and synced with prune as the app of
/// `namespace`: the options used and the report, which must have succeeded.
async fn synced_with_prune(
    cluster: &TestCluster,
    dir: &std::path::Path,
    namespace: &str,
    files: &[(&str, String)],
) -> (SyncOptions, SyncReport) {
    write_manifests(dir, files);
    let mut options = options(namespace);
    options.prune = true;
    let report = sync(&cluster.client(), &rendered(dir), &options)
        .await
        .unwrap();
    assert!(report.succeeded(), "{report:#?}");
    (options, report)
}

#[tokio::test]
async fn prune_deletes_exactly_what_left_git_and_spares_protected_objects() {
    let test = "prune_deletes_exactly_what_left_git_and_spares_protected_objects";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("prune").await;
    let dir = tempfile::tempdir().unwrap();
    let protected = "  annotations:\n    kedge.dev/prune: \"false\"\n";
    let all = [
        ("a.yaml", config_map("stays", "")),
        ("b.yaml", config_map("leaves", "")),
        ("c.yaml", config_map("protected", protected)),
        ("secret.yaml", secret("token")),
    ];
    let (options, _) = synced_with_prune(&cluster, dir.path(), &namespace, &all).await;

    write_manifests(dir.path(), &all[..1]);
    let report = sync(&cluster.client(), &rendered(dir.path()), &options)
        .await
        .unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(action_of(&report, "ConfigMap", "stays"), &Action::Unchanged);
    assert_eq!(action_of(&report, "ConfigMap", "leaves"), &Action::Pruned);
    assert_eq!(action_of(&report, "Secret", "token"), &Action::Pruned);
    match action_of(&report, "ConfigMap", "protected") {
        Action::Skipped { reason, .. } => assert!(reason.contains("kedge.dev/prune"), "{reason}"),
        other => panic!("protected object: {other:?}"),
    }
    let maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);
    assert!(maps.get_opt("stays").await.unwrap().is_some());
    assert!(maps.get_opt("protected").await.unwrap().is_some());
    assert!(maps.get_opt("leaves").await.unwrap().is_none());
    let secrets =
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(cluster.client(), &namespace);
    assert!(secrets.get_opt("token").await.unwrap().is_none());
    // kube-root-ca.crt, which kedge never applied, is untouched.
    assert!(maps.get_opt("kube-root-ca.crt").await.unwrap().is_some());
}

#[tokio::test]
async fn with_the_kinds_it_reported_a_sync_lists_only_those_and_still_prunes() {
    let test = "with_the_kinds_it_reported_a_sync_lists_only_those_and_still_prunes";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("kinds").await;
    let dir = tempfile::tempdir().unwrap();
    let all = [
        ("a.yaml", config_map("stays", "")),
        ("secret.yaml", secret("token")),
    ];
    let (mut options, first) = synced_with_prune(&cluster, dir.path(), &namespace, &all).await;
    let kinds: Vec<String> = first.kinds().iter().map(|k| k.kind.clone()).collect();
    assert_eq!(kinds, ["ConfigMap", "Secret"]);
    assert!(first.inventory_complete, "every type listed and pruned");

    // The Secret leaves Git; the kinds remembered still find it.
    write_manifests(dir.path(), &all[..1]);
    options.inventory_kinds = Some(first.kinds());
    let (client, requests) = recording_client(&cluster).await;
    let report = sync(&client, &rendered(dir.path()), &options)
        .await
        .unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(action_of(&report, "Secret", "token"), &Action::Pruned);
    assert!(
        !report.inventory_complete,
        "two kinds listed, not every one"
    );
    let mut listed: Vec<String> = requests
        .take()
        .into_iter()
        .filter(|(method, path)| method == http::Method::GET && path.contains("labelSelector"))
        .map(|(_, path)| path.split('?').next().unwrap_or_default().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, ["/api/v1/configmaps", "/api/v1/secrets"]);
}

#[tokio::test]
async fn syncs_sharing_discovery_ask_once_and_a_kind_installed_since_still_resolves() {
    let test = "syncs_sharing_discovery_ask_once_and_a_kind_installed_since_still_resolves";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("discovery").await;
    let group = format!("{namespace}.kedge.dev");
    let files = waves(&namespace, &group);
    let file = |name: &str| {
        let (name, text) = files.iter().find(|(n, _)| *n == name).unwrap();
        (*name, text.clone())
    };
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(&namespace);
    options.discovery = Some(SharedDiscovery::new(Duration::from_secs(600)));
    let (client, requests) = recording_client(&cluster).await;
    let discovery_requests = |sent: Vec<(http::Method, String)>| {
        sent.into_iter()
            .filter(|(_, path)| {
                ["/api", "/apis"].contains(&path.split('?').next().unwrap_or_default())
            })
            .count()
    };

    write_manifests(dir.path(), &[file("config.yaml")]);
    let first = sync(&client, &rendered(dir.path()), &options)
        .await
        .unwrap();
    assert!(first.succeeded(), "{first:#?}");
    assert!(
        discovery_requests(requests.take()) > 0,
        "the first sync asks"
    );
    let again = sync(&client, &rendered(dir.path()), &options)
        .await
        .unwrap();
    assert!(again.succeeded(), "{again:#?}");
    assert_eq!(
        discovery_requests(requests.take()),
        0,
        "the second reuses the answer"
    );

    // Another app installs a CRD; the shared answer does not know its kind.
    let other = tempfile::tempdir().unwrap();
    write_manifests(other.path(), &[file("crd.yaml")]);
    let mut installer = self::options(&namespace);
    installer.app = AppName::new(format!("{namespace}-crds")).unwrap();
    let installed = sync(&cluster.client(), &rendered(other.path()), &installer)
        .await
        .unwrap();
    assert!(installed.succeeded(), "{installed:#?}");
    write_manifests(dir.path(), &[file("config.yaml"), file("widget.yaml")]);
    let widget = sync(&client, &rendered(dir.path()), &options)
        .await
        .unwrap();
    assert!(widget.succeeded(), "{widget:#?}");
    assert_eq!(action_of(&widget, "Widget", "w"), &Action::Applied);
    assert!(
        discovery_requests(requests.take()) > 0,
        "a new kind asks again"
    );
}

#[tokio::test]
async fn syncs_starting_together_share_one_discovery_request() {
    let test = "syncs_starting_together_share_one_discovery_request";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("together").await;
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &[("a.yaml", config_map("a", ""))]);
    let objects = rendered(dir.path());
    let (client, requests) = recording_client(&cluster).await;
    let discovery_requests = |sent: Vec<(http::Method, String)>| {
        sent.into_iter()
            .filter(|(_, path)| {
                // `/api`, `/apis`, and a group walk's `/api/v1`, `/apis/G/V`.
                let path = path.split('?').next().unwrap_or_default();
                let depth = path.matches('/').count();
                (path == "/api" || path == "/api/v1") || (path.starts_with("/apis") && depth <= 3)
            })
            .count()
    };
    let options_for = |app: &str, shared: &SharedDiscovery| {
        let mut options = options(&namespace);
        options.app = AppName::new(format!("{namespace}-{app}")).unwrap();
        options.discovery = Some(shared.clone());
        options
    };

    let alone = SharedDiscovery::new(Duration::from_secs(600));
    let one = sync(&client, &objects, &options_for("one", &alone))
        .await
        .unwrap();
    assert!(one.succeeded(), "{one:#?}");
    let by_one = discovery_requests(requests.take());
    assert!(by_one > 0);

    let shared = SharedDiscovery::new(Duration::from_secs(600));
    let apps = ["two", "three", "four", "five"].map(|app| options_for(app, &shared));
    let reports = futures::future::join_all(apps.iter().map(|o| sync(&client, &objects, o))).await;
    for report in reports {
        let report = report.unwrap();
        assert!(report.succeeded(), "{report:#?}");
    }
    assert_eq!(
        discovery_requests(requests.take()),
        by_one,
        "four syncs starting together ask as one does"
    );
}

#[tokio::test]
async fn a_first_sync_asks_which_objects_exist_once_per_type_not_once_per_object() {
    let test = "a_first_sync_asks_which_objects_exist_once_per_type_not_once_per_object";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("first").await;
    // One of the ten exists already, made by someone else, without kedge's label.
    let existing = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm-7"}, "data": {"greeting": "from before"}});
    Api::<ConfigMap>::namespaced(cluster.client(), &namespace)
        .patch(
            "cm-7",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(&existing),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(String, String)> = (0..10)
        .map(|n| (format!("cm-{n}.yaml"), config_map(&format!("cm-{n}"), "")))
        .collect();
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    write_manifests(dir.path(), &files);
    let (client, requests) = recording_client(&cluster).await;
    let mut options = options(&namespace);
    options.force_conflicts = true;
    let report = sync(&client, &rendered(dir.path()), &options)
        .await
        .unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let reads: Vec<String> = requests
        .take()
        .into_iter()
        .filter(|(method, path)| method == http::Method::GET && path.contains("/configmaps/"))
        .map(|(_, path)| path)
        .collect();
    assert_eq!(
        reads,
        [format!("/api/v1/namespaces/{namespace}/configmaps/cm-7")],
        "only the ConfigMap that exists is read by name"
    );
    let adopted = Api::<ConfigMap>::namespaced(cluster.client(), &namespace)
        .get("cm-7")
        .await
        .unwrap();
    assert_eq!(adopted.data.unwrap()["greeting"], "hello", "Git's value");
    assert_eq!(adopted.metadata.labels.unwrap()["kedge.dev/app"], namespace);
}

#[tokio::test]
async fn a_field_another_manager_owns_is_a_conflict_unless_ignored() {
    let test = "a_field_another_manager_owns_is_a_conflict_unless_ignored";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("owners").await;
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &[("web.yaml", deployment("web", ""))]);
    let _kubelet = kubelet(cluster.client(), &[&namespace]);
    let objects = rendered(dir.path());
    let options = options(&namespace);
    let first = sync(&cluster.client(), &objects, &options).await.unwrap();
    assert!(first.succeeded(), "{first:#?}");

    // An autoscaler takes over the replica count.
    let deployments = Api::<Deployment>::namespaced(cluster.client(), &namespace);
    let scale = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 3}});
    deployments
        .patch(
            "web",
            &PatchParams::apply("autoscaler").force(),
            &Patch::Apply(&scale),
        )
        .await
        .unwrap();

    let conflicted = sync(&cluster.client(), &objects, &options).await.unwrap();
    assert!(!conflicted.succeeded());
    match action_of(&conflicted, "Deployment", "web") {
        Action::Skipped {
            reason,
            conflicts_with,
        } => {
            assert_eq!(conflicts_with, &["autoscaler"]);
            assert!(
                reason.contains("autoscaler") && reason.contains("--force-conflicts"),
                "{reason}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }

    let mut ignoring = options.clone();
    let rule: IgnoreDifferences = serde_json::from_value(serde_json::json!(
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
    ))
    .unwrap();
    ignoring.ignore = IgnoreRules::new(vec![rule]).unwrap();
    let report = sync(&cluster.client(), &objects, &ignoring).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let live = deployments.get("web").await.unwrap();
    assert_eq!(
        live.spec.unwrap().replicas,
        Some(3),
        "the autoscaler's count stays"
    );
    let again = sync(&cluster.client(), &objects, &ignoring).await.unwrap();
    assert_eq!(action_of(&again, "Deployment", "web"), &Action::Unchanged);

    // The same, naming the manager instead of the field.
    let scale = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 4}});
    deployments
        .patch(
            "web",
            &PatchParams::apply("autoscaler").force(),
            &Patch::Apply(&scale),
        )
        .await
        .unwrap();
    let rule: IgnoreDifferences = serde_json::from_value(serde_json::json!(
        {"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["autoscaler"]}
    ))
    .unwrap();
    let mut by_manager = options.clone();
    by_manager.ignore = IgnoreRules::new(vec![rule]).unwrap();
    let report = sync(&cluster.client(), &objects, &by_manager)
        .await
        .unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let live = deployments.get("web").await.unwrap();
    assert_eq!(
        live.spec.unwrap().replicas,
        Some(4),
        "the autoscaler's count stays"
    );
}

#[tokio::test]
async fn an_unknown_kind_names_its_file_and_nothing_is_applied() {
    let test = "an_unknown_kind_names_its_file_and_nothing_is_applied";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("unknown").await;
    let dir = tempfile::tempdir().unwrap();
    let gizmo = "apiVersion: gizmos.example.invalid/v1\nkind: Gizmo\nmetadata:\n  name: g\n";
    write_manifests(
        dir.path(),
        &[
            ("a.yaml", config_map("first", "")),
            ("gizmo.yaml", gizmo.into()),
        ],
    );
    let error = sync(
        &cluster.client(),
        &rendered(dir.path()),
        &options(&namespace),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, KubeError::UnknownKind { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("gizmo.yaml") && message.contains("Gizmo"),
        "{message}"
    );
    let maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);
    assert!(maps.get_opt("first").await.unwrap().is_none());
}

#[tokio::test]
async fn a_cluster_scoped_object_with_a_namespace_is_refused_before_any_apply() {
    let test = "a_cluster_scoped_object_with_a_namespace_is_refused_before_any_apply";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("scope").await;
    let dir = tempfile::tempdir().unwrap();
    let role = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {namespace}-reader\n  namespace: {namespace}\nrules: []\n"
    );
    write_manifests(
        dir.path(),
        &[("a.yaml", config_map("first", "")), ("role.yaml", role)],
    );
    let error = sync(
        &cluster.client(),
        &rendered(dir.path()),
        &options(&namespace),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, KubeError::NamespaceOnClusterScoped { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("role.yaml"), "{error}");
    let maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);
    assert!(maps.get_opt("first").await.unwrap().is_none());
}

/// The library loop: a new revision (a new render) is synced, and the object
/// it changed carries the new value; a delete between revisions is healed.
#[tokio::test]
async fn keep_synced_applies_each_new_revision_and_heals_between_them() {
    let test = "keep_synced_applies_each_new_revision_and_heals_between_them";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = unique("revisions");
    let dir = tempfile::tempdir().unwrap();
    let namespace_yaml =
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n");
    let revision = |greeting: &str| {
        write_manifests(
            dir.path(),
            &[
                ("namespace.yaml", namespace_yaml.clone()),
                (
                    "config.yaml",
                    config_map("settings", "").replace("hello", greeting),
                ),
            ],
        );
        rendered(dir.path())
    };
    let (revisions, receiver) = futures::channel::mpsc::unbounded();
    revisions.unbounded_send(revision("one")).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let client = cluster.client();
    let options = options(&namespace);
    let syncs = std::sync::atomic::AtomicU32::new(0);
    let looping = kedge_kube::keep_synced(
        &client,
        receiver,
        &options,
        async {
            let _ = stopped.await;
        },
        |report| {
            assert!(report.succeeded(), "{report:#?}");
            syncs.fetch_add(1, Ordering::Relaxed);
        },
        |_| {},
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(cluster.client(), &namespace);
    // The live object's uid once it says `expected` (and is not `replaced`).
    let greeting = |expected: &'static str, replaced: Option<String>| {
        let config_maps = config_maps.clone();
        async move {
            let live = (config_maps.get_opt("settings").await)
                .map_err(|e| e.to_string())?
                .ok_or("no ConfigMap")?;
            let uid = live.metadata.uid.clone().unwrap_or_default();
            let data = live.data.unwrap_or_default();
            match data.get("greeting").map(String::as_str) {
                _ if replaced.as_ref() == Some(&uid) => Err("not deleted yet".to_owned()),
                Some(value) if value == expected => Ok(uid),
                other => Err(format!("greeting is {other:?}, not {expected}")),
            }
        }
    };
    use kedge_testkit::kube::eventually;
    let driver = async {
        let wait = Duration::from_secs(30);
        let first = eventually("revision one applied", wait, || greeting("one", None)).await;
        config_maps
            .delete("settings", &Default::default())
            .await
            .unwrap();
        eventually("the deleted object healed", wait, || {
            greeting("one", Some(first.clone()))
        })
        .await;
        revisions.unbounded_send(revision("two")).unwrap();
        eventually("revision two applied", wait, || greeting("two", None)).await;
        stop.send(()).unwrap();
    };
    let (looped, ()) = tokio::join!(looping, driver);
    looped.unwrap();
    assert_eq!(syncs.load(Ordering::Relaxed), 2);
}
