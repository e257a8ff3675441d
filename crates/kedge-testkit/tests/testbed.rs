//! The Kubernetes test bed behaves as a real cluster's control plane: the
//! API server's version, CRDs, server-side apply, the controller-manager's
//! Deployment → ReplicaSet and garbage collection, streaming watches, RBAC
//! for ServiceAccounts; and the real Helm and Kustomize render fixtures.

use std::process::Command;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kedge_testkit::kube::{TestCluster, eventually};
use kube::Api;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams,
    PostParams,
};
use kube::runtime::watcher;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

fn deployment(name: &str, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}
            }
        }
    })
}

#[tokio::test]
async fn server_is_kubernetes_1_36() {
    let Some(cluster) = TestCluster::connect("server_is_kubernetes_1_36").await else {
        return;
    };
    let version = cluster.client().apiserver_version().await.unwrap();
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "36")
    );
}

#[tokio::test]
async fn crd_is_established_and_serves_custom_resources() {
    let Some(cluster) =
        TestCluster::connect("crd_is_established_and_serves_custom_resources").await
    else {
        return;
    };
    let namespace = cluster.namespace("crd").await;
    // A group unique to this run, so re-runs against one test bed do not collide.
    let group = format!("{namespace}.testbed.kedge.dev");
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                }}}
            }]
        }
    }))
    .unwrap();
    let crds = Api::<CustomResourceDefinition>::all(cluster.client());
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let name = crd.metadata.name.clone().unwrap();
    eventually("CRD Established", WAIT, || async {
        let crd = crds.get(&name).await.map_err(|e| e.to_string())?;
        let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
        conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
            .then_some(())
            .ok_or_else(|| format!("{conditions:?}"))
    })
    .await;

    let resource = ApiResource {
        group: group.clone(),
        version: "v1".into(),
        api_version: format!("{group}/v1"),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    let widgets = Api::<DynamicObject>::namespaced_with(cluster.client(), &namespace, &resource);
    let widget: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1"), "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 3}
    }))
    .unwrap();
    // Discovery can lag Established by a moment; retry the first create.
    eventually("custom resource created", WAIT, || async {
        widgets
            .create(&PostParams::default(), &widget)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await;
    let read = widgets.get("w").await.unwrap();
    assert_eq!(read.data["spec"]["size"], 3);
}

#[tokio::test]
async fn server_side_apply_is_idempotent_and_controllers_and_gc_run() {
    let test = "server_side_apply_is_idempotent_and_controllers_and_gc_run";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("ssa").await;
    let deployments = Api::<Deployment>::namespaced(cluster.client(), &namespace);
    let replica_sets = Api::<ReplicaSet>::namespaced(cluster.client(), &namespace);
    let params = PatchParams::apply("kedge").force();
    let desired = deployment("web", "nginx:1.27");

    let first = deployments
        .patch("web", &params, &Patch::Apply(&desired))
        .await
        .unwrap();
    let second = deployments
        .patch("web", &params, &Patch::Apply(&desired))
        .await
        .unwrap();
    // The deployment controller may write status between the two applies
    // (a new resourceVersion); what the apply owns must not move.
    let kedge_entry = |deployment: &Deployment| {
        deployment
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .find(|m| m.manager.as_deref() == Some("kedge"))
            .map(|m| (m.time.clone(), m.fields_v1.clone()))
    };
    assert_eq!(
        (first.metadata.generation, kedge_entry(&first)),
        (second.metadata.generation, kedge_entry(&second)),
        "applying the same object twice must not change it"
    );
    let managers: Vec<_> = second
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.as_deref())
        .collect();
    assert!(managers.contains(&"kedge"), "field managers: {managers:?}");

    // The controller-manager's deployment controller makes the ReplicaSet.
    let uid = second.metadata.uid.clone().unwrap();
    let rs_name = eventually("ReplicaSet owned by the Deployment", WAIT, || async {
        let list = replica_sets
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?;
        list.items
            .iter()
            .find(|rs| {
                rs.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.uid == uid && o.controller == Some(true))
            })
            .and_then(|rs| rs.metadata.name.clone())
            .ok_or_else(|| format!("{} ReplicaSets, none owned", list.items.len()))
    })
    .await;
    let rs = replica_sets.get(&rs_name).await.unwrap();
    assert_eq!(
        rs.spec.unwrap().template.unwrap().spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("nginx:1.27")
    );

    // Foreground deletion: the garbage collector removes the ReplicaSet first.
    deployments
        .delete("web", &DeleteParams::foreground())
        .await
        .unwrap();
    eventually("Deployment and ReplicaSet deleted", WAIT, || async {
        let rs = replica_sets
            .get_opt(&rs_name)
            .await
            .map_err(|e| e.to_string())?;
        let deploy = deployments
            .get_opt("web")
            .await
            .map_err(|e| e.to_string())?;
        match (rs, deploy) {
            (None, None) => Ok(()),
            (rs, deploy) => Err(format!(
                "ReplicaSet present: {}, Deployment present: {}",
                rs.is_some(),
                deploy.is_some()
            )),
        }
    })
    .await;
}

#[tokio::test]
async fn streaming_watch_sees_initial_objects_and_changes() {
    let test = "streaming_watch_sees_initial_objects_and_changes";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("watch").await;
    let config_maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);
    let map = |name: &str, value: &str| ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        data: Some([("k".to_owned(), value.to_owned())].into()),
        ..ConfigMap::default()
    };
    config_maps
        .create(&PostParams::default(), &map("before", "1"))
        .await
        .unwrap();

    // WatchList: the initial state arrives as watch events, not a LIST.
    let config = watcher::Config::default().streaming_lists();
    let mut events = watcher(config_maps.clone(), config).boxed();
    let mut initial = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.try_next())
            .await
            .expect("initial events in time")
            .unwrap()
            .unwrap();
        match event {
            watcher::Event::InitApply(cm) => initial.push(cm.metadata.name.unwrap()),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert!(initial.contains(&"before".to_owned()), "{initial:?}");

    config_maps
        .create(&PostParams::default(), &map("after", "2"))
        .await
        .unwrap();
    loop {
        let event = tokio::time::timeout_at(deadline, events.try_next())
            .await
            .expect("the new object's event in time")
            .unwrap()
            .unwrap();
        // The controller-manager publishes `kube-root-ca.crt` into every new
        // namespace; its event may come first. Wait for ours.
        if let watcher::Event::Apply(cm) = event
            && cm.metadata.name.as_deref() == Some("after")
        {
            assert_eq!(
                cm.data.unwrap_or_default().get("k").map(String::as_str),
                Some("2")
            );
            break;
        }
    }
}

#[tokio::test]
async fn service_account_gets_only_what_its_role_allows() {
    let test = "service_account_gets_only_what_its_role_allows";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("rbac").await;
    let client = cluster.client();
    let post = PostParams::default();
    let meta = |name: &str| ObjectMeta {
        name: Some(name.into()),
        ..ObjectMeta::default()
    };
    Api::<ServiceAccount>::namespaced(client.clone(), &namespace)
        .create(
            &post,
            &ServiceAccount {
                metadata: meta("reader"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": "read-config"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
    }))
    .unwrap();
    Api::<Role>::namespaced(client.clone(), &namespace)
        .create(&post, &role)
        .await
        .unwrap();
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-config"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}]
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(client.clone(), &namespace)
        .create(&post, &binding)
        .await
        .unwrap();

    let reader = cluster.service_account_client(&namespace, "reader").await;
    let config_maps = Api::<ConfigMap>::namespaced(reader.clone(), &namespace);
    // kube-root-ca.crt is published into every namespace by the controller-manager.
    eventually("reader lists ConfigMaps", WAIT, || async {
        let names: Vec<_> = config_maps
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?
            .items
            .into_iter()
            .filter_map(|cm| cm.metadata.name)
            .collect();
        names
            .contains(&"kube-root-ca.crt".to_owned())
            .then_some(())
            .ok_or_else(|| format!("{names:?}"))
    })
    .await;

    let forbidden = |e: kube::Error| match e {
        kube::Error::Api(status) => status.code,
        other => panic!("expected an API refusal, got {other}"),
    };
    let secrets = Api::<Secret>::namespaced(reader.clone(), &namespace);
    assert_eq!(
        forbidden(secrets.list(&ListParams::default()).await.unwrap_err()),
        403
    );
    let write = config_maps
        .create(
            &post,
            &ConfigMap {
                metadata: meta("nope"),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(forbidden(write.unwrap_err()), 403);
    let other_namespace = Api::<ConfigMap>::namespaced(reader, "default");
    assert_eq!(
        forbidden(
            other_namespace
                .list(&ListParams::default())
                .await
                .unwrap_err()
        ),
        403
    );

    // The same identity as a kubeconfig minted by the test bed, used by kubectl.
    let (Some(mut mint), Some(_)) = (tool(test, "kedge-testbed"), tool(test, "kubectl")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reader.kubeconfig");
    let status = mint
        .args([
            "kubeconfig",
            "--namespace",
            &namespace,
            "--service-account",
            "reader",
            "--out",
        ])
        .arg(&file)
        .env("KUBECONFIG", cluster.kubeconfig())
        .status()
        .unwrap();
    assert!(status.success());
    let kubectl = |resource: &str| {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&file)
            .args(["get", resource, "-o", "name"])
            .output()
            .unwrap()
    };
    let allowed = kubectl("configmaps");
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    assert!(String::from_utf8_lossy(&allowed.stdout).contains("configmap/kube-root-ca.crt"));
    let refused = kubectl("secrets");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("forbidden")
            && stderr.contains(&format!("system:serviceaccount:{namespace}:reader")),
        "{stderr}"
    );
}

#[tokio::test]
async fn workload_status_is_written_through_the_status_subresource() {
    let test = "workload_status_is_written_through_the_status_subresource";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("status").await;
    let deployments = Api::<Deployment>::namespaced(cluster.client(), &namespace);
    deployments
        .patch(
            "web",
            &PatchParams::apply("kedge"),
            &Patch::Apply(&deployment("web", "nginx:1.27")),
        )
        .await
        .unwrap();
    // What a kubelet and the deployment controller would report once pods run.
    let status = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                   "readyReplicas": 1, "availableReplicas": 1,
                   "conditions": [{"type": "Available", "status": "True",
                                   "reason": "MinimumReplicasAvailable", "message": "test"}]}
    });
    deployments
        .patch_status(
            "web",
            &PatchParams::apply("testbed-kubelet").force(),
            &Patch::Apply(&status),
        )
        .await
        .unwrap();
    let read = deployments.get_status("web").await.unwrap();
    assert_eq!(read.status.unwrap().available_replicas, Some(1));
}

fn tool(test: &str, name: &str) -> Option<Command> {
    kedge_testkit::kube::cli(test, name).map(Command::new)
}

fn rendered_kinds(output: &std::process::Output) -> Vec<String> {
    assert!(
        output.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn helm_renders_the_fixture_chart() {
    let chart =
        kedge_testkit::fixtures_dir().join("charts/GoogleCloudPlatform__microservices-demo");
    let Some(mut helm) = tool("helm_renders_the_fixture_chart", "helm") else {
        return;
    };
    let output = helm
        .args(["template", "shop", "--namespace", "shop"])
        .arg(&chart)
        .output()
        .expect("run helm");
    let kinds = rendered_kinds(&output);
    assert!(
        kinds.iter().filter(|k| *k == "Deployment").count() >= 10,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"Service".to_owned()), "{kinds:?}");
}

#[test]
fn kustomize_renders_the_fixture_overlay() {
    let overlay = kedge_testkit::fixtures_dir()
        .join("manifests/kubernetes-sigs__kustomize/examples/multibases/dev");
    let Some(mut kubectl) = tool("kustomize_renders_the_fixture_overlay", "kubectl") else {
        return;
    };
    let output = kubectl
        .arg("kustomize")
        .arg(&overlay)
        .output()
        .expect("run kubectl");
    let kinds = rendered_kinds(&output);
    assert_eq!(kinds, ["Pod"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("name: dev-myapp-pod"), "{text}");
}
