//! `kedge serve --controller --argocd-image-updater` as the binary runs in a
//! cluster: an Argo CD Application annotated for Argo CD Image Updater (its
//! e2e scenario 001, v0.18 form) is left alone by `kedge serve --controller`,
//! and taken over (a commit, an Event on the Application) once the flag is
//! given.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kedge::controller::argocd::application_resource;
use kedge_testkit::kube::{TestCluster, apply_crd, argocd_crd_files, eventually};
use kedge_testkit::{GitDaemon, GitRoot, ImageSpec, OciLayout, TestRegistry};
use kube::api::{DynamicObject, PostParams};
use kube::{Api, Client};
use serde_json::Value;

mod controller_support;

use controller_support::{Kedge, WAIT, kedge_serve_controller};

const APP: &str = "image-updater-001";
const APP_DIR: &str = "001-simple-kustomize-app";

fn deployment(host: &str, tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: test\nspec:\n  template:\n    \
         spec:\n      containers:\n      - name: test\n        image: {host}/test-image:{tag}\n"
    )
}

/// `kedge serve --controller` over `namespace`, without leader election,
/// with `extra` flags.
fn start_kedge(dir: &Path, kubeconfig: &Path, namespace: &str, extra: &[&str]) -> Kedge {
    let port = kedge_testkit::free_port();
    let mut command = kedge_serve_controller(dir, kubeconfig, port);
    command
        .args(["--no-leader-election", "--watch-namespace", namespace])
        .args(extra);
    Kedge(command.spawn().expect("starting kedge serve --controller"))
}

/// The scenario's annotated Application in `namespace`, its registry and
/// repository replaced by `registry` and `repository`.
fn application(namespace: &str, registry: &str, repository: &str) -> DynamicObject {
    let path = kedge_testkit::fixtures_dir().join(
        "migration/argoproj-labs__argocd-image-updater/_legacy-v0.18.0/test/e2e/suite/\
         001-simple-kustomize-app-semver/01-install.yaml",
    );
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .replace("10.42.0.1:30000", registry)
        .replace("http://10.42.0.1:30002/testdata.git", repository);
    let mut app: Value = (text.split("\n---\n"))
        .map(|document| serde_saphyr::from_str::<Value>(document).expect("YAML"))
        .find(|object| object["kind"] == "Application")
        .expect("an Application");
    app["metadata"]["namespace"] = Value::from(namespace);
    serde_json::from_value(app).expect("an object")
}

async fn event_reasons(client: &Client, namespace: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let list = events.list(&Default::default()).await.expect("Events");
    (list.items.into_iter())
        .filter(|event| event.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(APP))
        .filter_map(|event| event.reason)
        .collect()
}

/// A registry with `test-image` at 1.0.0, 1.1.0 and 2.0.0, and the
/// scenario's `testdata` repository running 1.0.0, served by git daemon.
fn servers() -> (TestRegistry, tempfile::TempDir, GitRoot, GitDaemon) {
    let registry = TestRegistry::start();
    let layout_dir = tempfile::tempdir().expect("temp dir");
    let mut layout = OciLayout::create(layout_dir.path());
    for (tag, day) in [("1.0.0", "01"), ("1.1.0", "02"), ("2.0.0", "03")] {
        let image = ImageSpec::new(&format!("2026-01-{day}T00:00:00Z"), tag);
        layout.add_image(tag, &image);
        registry.push(&layout, tag, "test-image");
    }
    let root = GitRoot::new();
    let deployed = deployment(&registry.host(), "1.0.0");
    let files = [
        (
            format!("{APP_DIR}/kustomization.yaml"),
            "resources:\n- deployment.yaml\n".to_owned(),
        ),
        (format!("{APP_DIR}/deployment.yaml"), deployed),
    ];
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    root.create("testdata", "main", &files);
    let daemon = GitDaemon::start(&root);
    (registry, layout_dir, root, daemon)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotated_applications_are_taken_over_only_with_the_flag() {
    let test = "annotated_applications_are_taken_over_only_with_the_flag";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let client = cluster.client();
    controller_support::install_crds(&client).await;
    for path in argocd_crd_files() {
        let text = std::fs::read_to_string(&path).expect("a CRD file");
        apply_crd(&client, &serde_saphyr::from_str(&text).expect("a CRD")).await;
    }
    let namespace = cluster.namespace("kedge-serve-aiu").await;
    let (registry, _layout, root, daemon) = servers();
    let host = registry.host();
    let apps: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &namespace, &application_resource());
    let app = application(&namespace, &host, &daemon.url("testdata"));
    eventually("the Application created", WAIT, || async {
        apps.create(&PostParams::default(), &app)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await;
    let deployed = || root.show("testdata", "main", &format!("{APP_DIR}/deployment.yaml"));

    // Without the flag: nothing is read or written for it.
    let dir = tempfile::tempdir().expect("a working directory without kedge.yaml");
    let kedge = start_kedge(dir.path(), cluster.kubeconfig(), &namespace, &[]);
    tokio::time::sleep(Duration::from_secs(8)).await;
    drop(kedge);
    assert_eq!(deployed(), deployment(&host, "1.0.0"));
    assert_eq!(
        event_reasons(&client, &namespace).await,
        Vec::<String>::new()
    );

    // With it: the highest 1.x is committed and the Application has an Event.
    let registries = dir.path().join("registries.yaml");
    std::fs::write(&registries, format!("- prefix: {host}\n  insecure: true\n")).expect("written");
    let registries = registries.to_str().expect("UTF-8 path");
    let flags = [
        "--argocd-image-updater",
        "--argocd-image-updater-registries",
        registries,
    ];
    let _kedge = start_kedge(dir.path(), cluster.kubeconfig(), &namespace, &flags);
    eventually("the Deployment at 1.1.0", WAIT, || async {
        let now = deployed();
        (now == deployment(&host, "1.1.0")).then_some(()).ok_or(now)
    })
    .await;
    eventually("an Event Updated", WAIT, || async {
        let reasons = event_reasons(&client, &namespace).await;
        reasons
            .contains(&"Updated".to_owned())
            .then_some(())
            .ok_or(format!("{reasons:?}"))
    })
    .await;
}
