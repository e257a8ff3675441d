//! kedge-kube's hooks, dry runs and `create_namespace` against the test
//! bed's real API server. Hook Jobs complete because `support::kubelet`
//! reports their Pods Succeeded, as a node would; the Job controller of the
//! real controller-manager does the rest.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kedge_kube::{Action, KubeError, SyncOptions, SyncReport, sync};
use kedge_render::{Renderer, render};
use kedge_sync::inventory::AppName;
use kedge_testkit::kube::TestCluster;
use kube::api::Api;
use support::{config_map, kubelet, write_manifests};

fn options(app: &str, namespace: &str) -> SyncOptions {
    let mut options = SyncOptions::new(AppName::new(app).unwrap(), namespace);
    options.timeout = Duration::from_secs(60);
    options
}

fn job(name: &str, hook: &str, policy: Option<&str>) -> String {
    let policy = policy
        .map(|p| format!("    argocd.argoproj.io/hook-delete-policy: {p}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
  annotations:
    argocd.argoproj.io/hook: {hook}
{policy}spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: run
        image: busybox:1.36
        command: [\"true\"]
"
    )
}

fn position(report: &SyncReport, name: &str) -> usize {
    report
        .objects
        .iter()
        .position(|o| o.key.name == name)
        .unwrap_or_else(|| panic!("{name} not in {report:#?}"))
}

#[tokio::test]
async fn hook_jobs_complete_around_the_sync_and_delete_policies_hold() {
    let test = "hook_jobs_complete_around_the_sync_and_delete_policies_hold";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("hooks").await;
    let _kubelet = kubelet(cluster.client(), &[&namespace]);
    let dir = tempfile::tempdir().unwrap();
    write_manifests(
        dir.path(),
        &[
            (
                "migrate.yaml",
                job("migrate", "PreSync", Some("HookSucceeded")),
            ),
            ("settings.yaml", config_map("settings", "")),
            ("smoke.yaml", job("smoke", "PostSync", None)),
        ],
    );
    let objects = render(dir.path(), &Renderer::Plain).unwrap();
    let options = options(&namespace, &namespace);
    let report = sync(&cluster.client(), &objects, &options).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert!(position(&report, "migrate") < position(&report, "settings"));
    assert!(position(&report, "settings") < position(&report, "smoke"));

    let jobs = Api::<Job>::namespaced(cluster.client(), &namespace);
    assert!(
        jobs.get_opt("migrate").await.unwrap().is_none(),
        "HookSucceeded deletes the PreSync Job once it completed"
    );
    let smoke = jobs.get("smoke").await.unwrap();
    let first_uid = smoke.metadata.uid.clone();

    let again = sync(&cluster.client(), &objects, &options).await.unwrap();
    assert!(again.succeeded(), "{again:#?}");
    assert_eq!(
        again.objects[position(&again, "settings")].action,
        Action::Unchanged
    );
    assert_eq!(
        again.objects[position(&again, "smoke")].action,
        Action::Applied
    );
    let smoke = jobs.get("smoke").await.unwrap();
    assert_ne!(
        smoke.metadata.uid, first_uid,
        "BeforeHookCreation replaces the previous run's Job"
    );
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_lists_what_prune_would_delete() {
    let test = "a_dry_run_changes_nothing_and_lists_what_prune_would_delete";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("dry").await;
    let dir = tempfile::tempdir().unwrap();
    write_manifests(
        dir.path(),
        &[
            ("a.yaml", config_map("a", "")),
            ("b.yaml", config_map("b", "")),
        ],
    );
    let mut options = options(&namespace, &namespace);
    options.prune = true;
    let objects = render(dir.path(), &Renderer::Plain).unwrap();
    assert!(
        sync(&cluster.client(), &objects, &options)
            .await
            .unwrap()
            .succeeded()
    );

    let changed = config_map("a", "").replace("hello", "changed");
    write_manifests(
        dir.path(),
        &[("a.yaml", changed), ("c.yaml", config_map("c", ""))],
    );
    options.dry_run = true;
    let objects = render(dir.path(), &Renderer::Plain).unwrap();
    let report = sync(&cluster.client(), &objects, &options).await.unwrap();
    assert!(report.succeeded() && report.dry_run, "{report:#?}");
    assert_eq!(
        report.objects[position(&report, "a")].action,
        Action::Applied
    );
    assert_eq!(
        report.objects[position(&report, "c")].action,
        Action::Applied
    );
    assert_eq!(
        report.objects[position(&report, "b")].action,
        Action::Pruned
    );

    let maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);
    assert_eq!(
        maps.get("a").await.unwrap().data.unwrap()["greeting"],
        "hello"
    );
    assert!(maps.get_opt("b").await.unwrap().is_some());
    assert!(maps.get_opt("c").await.unwrap().is_none());
}

#[tokio::test]
async fn create_namespace_makes_the_destination_and_prune_leaves_it() {
    let test = "create_namespace_makes_the_destination_and_prune_leaves_it";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let namespace = format!(
        "made-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &[("a.yaml", config_map("a", ""))]);
    let mut options = options(&namespace, &namespace);
    options.create_namespace = true;
    options.prune = true;
    let objects = render(dir.path(), &Renderer::Plain).unwrap();
    let report = sync(&cluster.client(), &objects, &options).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);
    assert!(maps.get_opt("a").await.unwrap().is_some());

    write_manifests(dir.path(), &[]);
    let objects = render(dir.path(), &Renderer::Plain).unwrap();
    let refused = sync(&cluster.client(), &objects, &options)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, KubeError::EmptyRender { .. }),
        "{refused}"
    );
    assert!(maps.get_opt("a").await.unwrap().is_some());
    options.allow_empty = true;
    let report = sync(&cluster.client(), &objects, &options).await.unwrap();
    assert_eq!(
        report.objects.len(),
        1,
        "only the ConfigMap is pruned: {report:#?}"
    );
    assert_eq!(report.objects[0].action, Action::Pruned);
    let namespaces = Api::<Namespace>::all(cluster.client());
    assert!(namespaces.get_opt(&namespace).await.unwrap().is_some());
}

#[tokio::test]
async fn a_failed_sync_runs_its_sync_fail_hooks_and_says_why() {
    let test = "a_failed_sync_runs_its_sync_fail_hooks_and_says_why";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    // No kubelet stand-in here: the Deployment's Pod never runs.
    let namespace = cluster.namespace("fail").await;
    let dir = tempfile::tempdir().unwrap();
    let on_failure = "  annotations:\n    argocd.argoproj.io/hook: SyncFail\n";
    let later = "  annotations:\n    kedge.dev/sync-wave: \"5\"\n";
    write_manifests(
        dir.path(),
        &[
            ("web.yaml", support::deployment("web", "")),
            ("later.yaml", config_map("later", later)),
            ("alert.yaml", config_map("alert", on_failure)),
        ],
    );
    let mut options = options(&namespace, &namespace);
    options.timeout = Duration::from_secs(2);
    let objects = render(dir.path(), &Renderer::Plain).unwrap();
    let report = sync(&cluster.client(), &objects, &options).await.unwrap();
    assert!(!report.succeeded(), "{report:#?}");
    match &report.objects[position(&report, "web")].action {
        Action::Failed { reason } => assert!(reason.contains("not healthy"), "{reason}"),
        other => panic!("web: {other:?}"),
    }
    assert!(matches!(
        report.objects[position(&report, "later")].action,
        Action::Skipped { .. }
    ));
    assert_eq!(
        report.objects[position(&report, "alert")].action,
        Action::Applied
    );
    let maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);
    assert!(maps.get_opt("alert").await.unwrap().is_some());
    assert!(maps.get_opt("later").await.unwrap().is_none());
}

#[tokio::test]
async fn a_kedge_allowed_only_its_namespace_syncs_and_prunes_there() {
    let test = "a_kedge_allowed_only_its_namespace_syncs_and_prunes_there";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("rbac").await;
    let post = kube::api::PostParams::default();
    let account: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "kedge"}})).unwrap();
    Api::<ServiceAccount>::namespaced(cluster.client(), &namespace)
        .create(&post, &account)
        .await
        .unwrap();
    let role: Role = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "kedge"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                   "verbs": ["get", "list", "watch", "create", "patch", "delete"]}]
    }))
    .unwrap();
    Api::<Role>::namespaced(cluster.client(), &namespace)
        .create(&post, &role)
        .await
        .unwrap();
    let binding: RoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "kedge"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kedge"},
        "subjects": [{"kind": "ServiceAccount", "name": "kedge", "namespace": namespace}]
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(cluster.client(), &namespace)
        .create(&post, &binding)
        .await
        .unwrap();
    let client = cluster.service_account_client(&namespace, "kedge").await;

    let dir = tempfile::tempdir().unwrap();
    write_manifests(
        dir.path(),
        &[
            ("a.yaml", config_map("a", "")),
            ("b.yaml", config_map("b", "")),
        ],
    );
    let mut options = options(&namespace, &namespace);
    options.prune = true;
    // RBAC bindings take a moment to reach the authorizer's cache.
    let report =
        kedge_testkit::kube::eventually("first sync allowed", Duration::from_secs(30), || async {
            let objects = render(dir.path(), &Renderer::Plain).unwrap();
            let report = sync(&client, &objects, &options)
                .await
                .map_err(|e| e.to_string())?;
            if report.succeeded() {
                Ok(report)
            } else {
                Err(format!("{report:?}"))
            }
        })
        .await;
    assert_eq!(report.objects.len(), 2, "{report:#?}");

    write_manifests(dir.path(), &[("a.yaml", config_map("a", ""))]);
    let objects = render(dir.path(), &Renderer::Plain).unwrap();
    let report = sync(&client, &objects, &options).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(
        report.objects[position(&report, "a")].action,
        Action::Unchanged
    );
    assert_eq!(
        report.objects[position(&report, "b")].action,
        Action::Pruned
    );
}
