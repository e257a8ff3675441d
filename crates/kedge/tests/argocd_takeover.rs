//! The take-over of Argo CD Image Updater on real parts: the test bed's API
//! server with Argo CD's Application CRD and AIU's ImageUpdater CRD, the
//! distribution registry with images pushed by skopeo, and a bare repository
//! served by git daemon. The objects are AIU's own e2e scenario 001 (the
//! v0.18 annotation form and the ImageUpdater form), only its hosts changed;
//! each test reads what an AIU user would: the repository, the Events on the
//! Application and the ImageUpdater's status. That nothing happens without
//! the opt-in is `kedge-cli`'s `controller_argocd` test.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kedge::controller::argocd::{application_resource, image_updater_resource};
use kedge::controller::{ArgoCdTakeover, ArgoCdTakeoverOptions, ImageUpdateOptions};
use kedge_controller::RegistrySpec;
use kedge_testkit::kube::{TestCluster, apply_crd, argocd_crd_files, eventually};
use kedge_testkit::{GitDaemon, GitHttp, GitRoot, ImageSpec, OciLayout, TestRegistry};
use kube::api::{ApiResource, DynamicObject, ObjectMeta, PostParams};
use kube::{Api, Client};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);
const SCENARIO: &str = "test/e2e/suite/001-simple-kustomize-app-semver/01-install.yaml";
const APP_DIR: &str = "001-simple-kustomize-app";

/// Installs Argo CD's Application CRD and AIU's ImageUpdater CRD.
async fn install_crds(client: &Client) {
    for path in argocd_crd_files() {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        apply_crd(client, &serde_saphyr::from_str(&text).expect("a CRD")).await;
    }
}

/// The scenario's servers: a registry with `test-image` at 1.0.0, 1.0.2,
/// 1.1.0 and 2.0.0, and the `testdata` repository with AIU's kustomize app
/// running 1.0.0.
struct Scenario {
    registry: TestRegistry,
    _layout: tempfile::TempDir,
    root: GitRoot,
    /// The repository's server (git daemon, or smart HTTP with a password).
    _git_server: Box<dyn std::any::Any>,
    /// The repository's URL on it.
    url: String,
}

impl Scenario {
    /// The servers, the repository served by git daemon.
    fn start() -> Self {
        Self::start_with(|root| {
            let daemon = GitDaemon::start(root);
            let url = daemon.url("testdata");
            (Box::new(daemon), url)
        })
    }

    /// The servers, the repository served by `serve` (which returns its URL).
    fn start_with(serve: impl FnOnce(&GitRoot) -> (Box<dyn std::any::Any>, String)) -> Self {
        let registry = TestRegistry::start();
        let layout_dir = tempfile::tempdir().expect("temp dir");
        let mut layout = OciLayout::create(layout_dir.path());
        for (tag, day) in [
            ("1.0.0", "01"),
            ("1.0.2", "02"),
            ("1.1.0", "03"),
            ("2.0.0", "04"),
        ] {
            layout.add_image(
                tag,
                &ImageSpec::new(&format!("2026-01-{day}T00:00:00Z"), tag),
            );
            registry.push(&layout, tag, "test-image");
        }
        let root = GitRoot::new();
        let deployment = deployment(&registry.host(), "1.0.0");
        root.create(
            "testdata",
            "main",
            &[
                (
                    &format!("{APP_DIR}/kustomization.yaml"),
                    "resources:\n- deployment.yaml\n",
                ),
                (&format!("{APP_DIR}/deployment.yaml"), &deployment),
            ],
        );
        let (git_server, url) = serve(&root);
        Self {
            registry,
            _layout: layout_dir,
            root,
            _git_server: git_server,
            url,
        }
    }

    /// The scenario's objects (the Namespace left out) in `namespace`, with
    /// the registry and repository hosts replaced by the test servers.
    fn objects(&self, relative: &str, namespace: &str) -> Vec<Value> {
        let path = kedge_testkit::fixtures_dir()
            .join("migration/argoproj-labs__argocd-image-updater")
            .join(relative);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
            .replace("10.42.0.1:30000", &self.registry.host())
            .replace("http://10.42.0.1:30002/testdata.git", &self.url);
        (text.split("\n---\n"))
            .map(|document| serde_saphyr::from_str::<Value>(document).expect("YAML"))
            .filter(|object| object["kind"] != "Namespace")
            .map(|mut object| {
                object["metadata"]["namespace"] = Value::from(namespace);
                object
            })
            .collect()
    }

    fn deployed(&self) -> String {
        self.root
            .show("testdata", "main", &format!("{APP_DIR}/deployment.yaml"))
    }
}

fn deployment(host: &str, tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: test\nspec:\n  template:\n    \
         spec:\n      containers:\n      - name: test\n        image: {host}/test-image:{tag}\n"
    )
}

fn resource_of(object: &Value) -> ApiResource {
    match object["kind"].as_str() {
        Some("Application") => application_resource(),
        _ => image_updater_resource(),
    }
}

/// Creates `object`, retrying while discovery catches up with a new CRD.
async fn create(client: &Client, namespace: &str, object: &Value) {
    let resource = resource_of(object);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let object: DynamicObject = serde_json::from_value(object.clone()).expect("an object");
    eventually(&format!("{} created", resource.kind), WAIT, || {
        let (api, object) = (api.clone(), object.clone());
        async move {
            api.create(&PostParams::default(), &object)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    })
    .await;
}

/// Runs the take-over over `namespace` until the returned sender is dropped.
fn start_takeover(
    client: &Client,
    namespace: &str,
    cache: &Path,
    host: &str,
) -> tokio::sync::oneshot::Sender<()> {
    let mut options = ArgoCdTakeoverOptions::new(ImageUpdateOptions::new(cache));
    let registry: RegistrySpec =
        serde_json::from_value(serde_json::json!({"prefix": host, "insecure": true}))
            .expect("a registry");
    options.registries = vec![registry];
    let takeover = ArgoCdTakeover::new(client.clone(), Some(namespace), options);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(takeover.run(async move {
        let _ = stopped.await;
    }));
    stop
}

/// The Events about the object `name`, as `(reason, note)`.
async fn events_about(client: &Client, namespace: &str, name: &str) -> Vec<(String, String)> {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let list = events.list(&Default::default()).await.expect("Events");
    (list.items.into_iter())
        .filter(|event| event.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|event| {
            (
                event.reason.unwrap_or_default(),
                event.note.unwrap_or_default(),
            )
        })
        .collect()
}

/// Waits for an Event about `name` with `reason`; returns its note.
async fn wait_for_event(client: &Client, namespace: &str, name: &str, reason: &str) -> String {
    eventually(
        &format!("an Event {reason} about {name}"),
        WAIT,
        || async move {
            let events = events_about(client, namespace, name).await;
            (events.iter())
                .find(|(found, _)| found == reason)
                .map(|(_, note)| note.clone())
                .ok_or_else(|| format!("{events:?}"))
        },
    )
    .await
}

/// Waits until the repository's Deployment runs `tag`.
async fn wait_for_tag(scenario: &Scenario, tag: &str) {
    let wanted = deployment(&scenario.registry.host(), tag);
    eventually(&format!("the Deployment at {tag}"), WAIT, || {
        let deployed = scenario.deployed();
        let wanted = wanted.clone();
        async move { (deployed == wanted).then_some(()).ok_or(deployed) }
    })
    .await;
}

async fn get(client: &Client, namespace: &str, resource: &ApiResource, name: &str) -> Value {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    let object = api.get(name).await.expect("the object");
    serde_json::to_value(object).expect("JSON")
}

#[tokio::test]
async fn annotated_application_of_scenario_001_is_updated_in_git_with_an_event() {
    let test = "annotated_application_of_scenario_001_is_updated_in_git_with_an_event";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("aiu-legacy").await;
    let scenario = Scenario::start();
    let objects = scenario.objects(&format!("_legacy-v0.18.0/{SCENARIO}"), &namespace);
    create(&client, &namespace, &objects[0]).await;
    let app = "image-updater-001";
    let before = get(&client, &namespace, &application_resource(), app).await;
    let cache = tempfile::tempdir().expect("temp dir");
    let _stop = start_takeover(&client, &namespace, cache.path(), &scenario.registry.host());

    // AIU's semver constraint 1.X.X: the highest 1.x, never 2.0.0.
    wait_for_tag(&scenario, "1.1.0").await;
    assert_eq!(
        scenario.root.subjects("testdata", "main")[0],
        "Update test to 1.1.0"
    );
    let note = wait_for_event(&client, &namespace, app, "Updated").await;
    assert!(note.contains("test-image:1.1.0"), "{note}");
    // The Application is read, never written.
    let after = get(&client, &namespace, &application_resource(), app).await;
    assert_eq!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    assert_eq!(after["spec"], before["spec"]);
}

#[tokio::test]
async fn image_updater_of_scenario_001_gets_the_status_aiu_documents() {
    let test = "image_updater_of_scenario_001_gets_the_status_aiu_documents";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("aiu-crd").await;
    let scenario = Scenario::start();
    let objects = scenario.objects(SCENARIO, &namespace);
    let (app, updater) = (&objects[0], &objects[1]);
    // The ImageUpdater first: it selects nothing yet, and says so.
    create(&client, &namespace, updater).await;
    let cache = tempfile::tempdir().expect("temp dir");
    let _stop = start_takeover(&client, &namespace, cache.path(), &scenario.registry.host());
    let name = "image-updater-001";
    let resource = image_updater_resource();
    let ready = eventually("Ready False: no Application matched", WAIT, || {
        let (client, namespace, resource) = (&client, &namespace, &resource);
        async move {
            let status = get(client, namespace, resource, name).await["status"].clone();
            let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
            (conditions.into_iter())
                .find(|c| c["type"] == "Ready" && c["reason"] == "NoApplicationsMatched")
                .ok_or_else(|| status.to_string())
        }
    })
    .await;
    assert_eq!(ready["status"], "False");
    // The Application it selects is taken over as soon as it exists (the
    // next periodic check is 5 minutes away).
    create(&client, &namespace, app).await;

    wait_for_tag(&scenario, "1.1.0").await;
    let status = eventually("the ImageUpdater's status", WAIT, || {
        let (client, namespace, resource) = (&client, &namespace, &resource);
        async move {
            let status = get(client, namespace, resource, name).await["status"].clone();
            (status["recentUpdates"]
                .as_array()
                .is_some_and(|u| !u.is_empty()))
            .then(|| status.clone())
            .ok_or_else(|| status.to_string())
        }
    })
    .await;
    assert_eq!(status["applicationsMatched"], 1, "{status:#}");
    assert_eq!(status["imagesManaged"], 1, "{status:#}");
    assert_eq!(status["observedGeneration"], 1, "{status:#}");
    assert!(status["lastCheckedAt"].is_string() && status["lastUpdatedAt"].is_string());
    let update = &status["recentUpdates"][0];
    assert_eq!(update["alias"], "test");
    assert_eq!(update["newVersion"], "1.1.0");
    assert_eq!(update["applicationsUpdated"], 1);
    let host = scenario.registry.host();
    assert_eq!(update["image"], format!("{host}/test-image:1.0.0"));
    let condition = |kind: &str| {
        let conditions = status["conditions"].as_array().expect("conditions");
        let found = conditions.iter().find(|c| c["type"] == kind).expect(kind);
        (found["status"].clone(), found["reason"].clone())
    };
    assert_eq!(
        condition("Ready"),
        ("True".into(), "ReconcileSucceeded".into())
    );
    assert_eq!(condition("Reconciling"), ("False".into(), "Idle".into()));
    assert_eq!(condition("Error"), ("False".into(), "NoErrors".into()));
    // The Application the ImageUpdater selects gets the Event.
    wait_for_event(&client, &namespace, "image-updater-001", "Updated").await;
}

#[tokio::test]
async fn an_annotation_kedge_cannot_honour_is_named_in_an_event() {
    let test = "an_annotation_kedge_cannot_honour_is_named_in_an_event";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("aiu-unmapped").await;
    let scenario = Scenario::start();
    let mut app = scenario
        .objects(&format!("_legacy-v0.18.0/{SCENARIO}"), &namespace)
        .remove(0);
    let key = "argocd-image-updater.argoproj.io/test.kustomize.image-spec";
    app["metadata"]["annotations"][key] = Value::from("web");
    create(&client, &namespace, &app).await;
    let cache = tempfile::tempdir().expect("temp dir");
    let _stop = start_takeover(&client, &namespace, cache.path(), &scenario.registry.host());

    let note = wait_for_event(&client, &namespace, "image-updater-001", "NotMapped").await;
    assert!(note.contains(key), "{note}");
}

#[tokio::test]
async fn a_git_secret_write_back_pushes_with_the_secrets_credentials() {
    let test = "a_git_secret_write_back_pushes_with_the_secrets_credentials";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("aiu-secret").await;
    // Anyone may fetch; only bot/t0ken may push, as on a Git host.
    let scenario = Scenario::start_with(|root| {
        let http = GitHttp::start_push_auth(root, "bot", "t0ken");
        let url = http.url("testdata");
        (Box::new(http), url)
    });
    // The Secret as AIU's docs create it: username and password.
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("git-creds".into()),
            ..ObjectMeta::default()
        },
        string_data: Some(
            [("username", "bot"), ("password", "t0ken")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
        ),
        ..Secret::default()
    };
    Api::<Secret>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &secret)
        .await
        .expect("creating the Secret");
    let mut app = scenario
        .objects(&format!("_legacy-v0.18.0/{SCENARIO}"), &namespace)
        .remove(0);
    let method = format!("git:secret:{namespace}/git-creds");
    app["metadata"]["annotations"]["argocd-image-updater.argoproj.io/write-back-method"] =
        Value::from(method);
    create(&client, &namespace, &app).await;
    let cache = tempfile::tempdir().expect("temp dir");
    let _stop = start_takeover(&client, &namespace, cache.path(), &scenario.registry.host());

    wait_for_tag(&scenario, "1.1.0").await;
    wait_for_event(&client, &namespace, "image-updater-001", "Updated").await;
    let events = events_about(&client, &namespace, "image-updater-001").await;
    assert!(
        !events.iter().any(|(reason, _)| reason == "NotMapped"),
        "{events:?}"
    );
}
