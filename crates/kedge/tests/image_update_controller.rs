//! The ImageUpdate controller on real parts: the test bed's API server, the
//! distribution registry with images pushed by skopeo, and a bare repository
//! served by git daemon. Each test runs its own controller over its own
//! namespace and reads what a user would: the resource's status, its Events
//! and the repository.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kedge::controller::{ImageUpdateController, ImageUpdateOptions};
use kedge_controller::{ConditionStatus, ConditionType, ImageUpdate, ImageUpdateStatus};
use kedge_forge::test_server::{TestGitHub, TestGitHubOptions};
use kedge_testkit::kube::{TestCluster, eventually};
use kedge_testkit::{GitDaemon, GitRoot, ImageSpec, OciLayout, TestRegistry};
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

const MANAGER: &str = "kedge-controller-test";
const WAIT: Duration = Duration::from_secs(60);

/// Installs the CRDs generated from the types and waits until they are served.
async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in kedge_controller::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|error| panic!("applying CRD {name}: {error}"));
        eventually(&format!("{name} Established"), WAIT, || {
            let crds = crds.clone();
            let name = name.clone();
            async move {
                let crd = crds.get(&name).await.map_err(|e| e.to_string())?;
                let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
                conditions
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
                    .then_some(())
                    .ok_or_else(|| format!("{conditions:?}"))
            }
        })
        .await;
    }
}

/// A registry holding `team/web` and `team/api` at 1.0.0, 1.1.0 and 2.0.0.
fn registry() -> (TestRegistry, OciLayout, tempfile::TempDir) {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(dir.path());
    for (tag, day) in [("1.0.0", "01"), ("1.1.0", "02"), ("2.0.0", "03")] {
        let image = ImageSpec::new(&format!("2026-01-{day}T00:00:00Z"), tag);
        layout.add_image(tag, &image);
        registry.push(&layout, tag, "team/web");
        registry.push(&layout, tag, "team/api");
    }
    (registry, layout, dir)
}

fn deployment(host: &str, name: &str, tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: {name}\n          image: {host}/team/{name}:{tag} # kedge keeps this\n"
    )
}

/// The manifest repository with web from `web_host` and api from `api_host`, both at 1.0.0.
fn seed(root: &GitRoot, web_host: &str, api_host: &str) {
    root.create(
        "manifests",
        "main",
        &[
            (
                "apps/web/deploy.yaml",
                &deployment(web_host, "web", "1.0.0"),
            ),
            (
                "apps/api/deploy.yaml",
                &deployment(api_host, "api", "1.0.0"),
            ),
        ],
    );
}

/// An image entry of a spec, following `^1.0`.
fn image(alias: &str, host: &str) -> serde_json::Value {
    json!({
        "alias": alias,
        "image": format!("{host}/team/{alias}"),
        "policy": {"strategy": "semver", "constraint": "^1.0"},
        "targets": [format!("apps/{alias}")],
    })
}

/// Creates the ImageUpdate `name` with `spec`, retrying while discovery
/// catches up with a CRD just established.
async fn create(client: &Client, namespace: &str, name: &str, spec: serde_json::Value) {
    let api: Api<ImageUpdate> = Api::namespaced(client.clone(), namespace);
    let resource: ImageUpdate = serde_json::from_value(json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "ImageUpdate",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }))
    .expect("a valid ImageUpdate");
    eventually(&format!("ImageUpdate {name} created"), WAIT, || {
        let api = api.clone();
        let resource = resource.clone();
        async move {
            api.create(&PostParams::default(), &resource)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    })
    .await;
}

/// Runs a controller over `namespace` until the returned sender is dropped.
fn start_controller(
    client: &Client,
    namespace: &str,
    cache: &Path,
) -> (
    kedge::controller::ImageUpdateHandle,
    tokio::sync::oneshot::Sender<()>,
) {
    let controller = ImageUpdateController::new(
        client.clone(),
        Some(namespace),
        ImageUpdateOptions::new(cache),
    );
    let handle = controller.handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(controller.run(async move {
        let _ = stopped.await;
    }));
    (handle, stop)
}

/// Waits until `check` accepts the resource's status; panics with the last status seen.
async fn wait_for_status(
    client: &Client,
    namespace: &str,
    name: &str,
    what: &str,
    check: impl Fn(&ImageUpdateStatus) -> bool,
) -> ImageUpdateStatus {
    let api: Api<ImageUpdate> = Api::namespaced(client.clone(), namespace);
    let check = &check;
    eventually(what, WAIT, || {
        let api = api.clone();
        async move {
            let resource = api.get(name).await.map_err(|e| e.to_string())?;
            match resource.status {
                Some(status) if check(&status) => Ok(status),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await
}

fn condition(
    status: &ImageUpdateStatus,
    wanted: ConditionType,
) -> Option<(ConditionStatus, &str, &str)> {
    (status.conditions.iter())
        .find(|c| c.condition_type == wanted)
        .map(|c| (c.status, c.reason.as_str(), c.message.as_str()))
}

/// Waits for an Event about `name` in `namespace` with `reason`: Events
/// are sent after the status is written.
async fn wait_for_event(client: &Client, namespace: &str, name: &str, reason: &str) {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    eventually(&format!("an Event {reason}"), WAIT, || {
        let events = events.clone();
        async move {
            let list = events
                .list(&Default::default())
                .await
                .map_err(|e| e.to_string())?;
            let reasons: Vec<String> = (list.items.into_iter())
                .filter(|event| {
                    event.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                })
                .filter_map(|event| event.reason)
                .collect();
            reasons
                .iter()
                .any(|found| found == reason)
                .then_some(())
                .ok_or_else(|| format!("{reasons:?}"))
        }
    })
    .await;
}

#[tokio::test]
async fn push_mode_commits_the_new_tag_and_reports_it() {
    let Some(cluster) = TestCluster::connect("push_mode_commits_the_new_tag_and_reports_it").await
    else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("iu-push").await;
    let (registry, mut layout, _layout_dir) = registry();
    let host = registry.host();
    let root = GitRoot::new();
    seed(&root, &host, &host);
    let daemon = GitDaemon::start(&root);
    let spec = json!({
        "git": {"url": daemon.url("manifests"), "author": {"name": "kedge-bot", "email": "bot@example.com"}},
        "registries": [{"prefix": host, "insecure": true}],
        "images": [image("web", &host)],
        // Only the webhook below can bring the second bump within the test.
        "interval": "1h",
    });
    create(&client, &namespace, "manifests", spec).await;
    let cache = tempfile::tempdir().unwrap();
    let (handle, _stop) = start_controller(&client, &namespace, cache.path());

    let status = wait_for_status(&client, &namespace, "manifests", "web updated", |status| {
        condition(status, ConditionType::Synced).is_some_and(|c| c.1 == "Updated")
    })
    .await;
    assert_eq!(
        root.show("manifests", "main", "apps/web/deploy.yaml"),
        deployment(&host, "web", "1.1.0")
    );
    assert_eq!(root.subjects("manifests", "main")[0], "Update web to 1.1.0");
    let applied = &status.last_applied_images;
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0].reference, format!("{host}/team/web:1.1.0"));
    assert_eq!(applied[0].tag.as_deref(), Some("1.1.0"));
    let (ready, reason, _) = condition(&status, ConditionType::Ready).expect("Ready");
    assert_eq!((ready, reason), (ConditionStatus::True, "Updated"));
    assert_eq!(status.observed_generation, Some(1));
    wait_for_event(&client, &namespace, "manifests", "Updated").await;

    // A registry webhook for web brings the next tag at once.
    let image = ImageSpec::new("2026-01-04T00:00:00Z", "1.2.0");
    layout.add_image("1.2.0", &image);
    registry.push(&layout, "1.2.0", "team/web");
    let queued = handle
        .image_pushed(&format!("{host}/team/web"))
        .expect("a valid image name");
    assert_eq!(queued, 1);
    assert_eq!(
        handle.image_pushed(&format!("{host}/team/other")).unwrap(),
        0
    );
    let status = wait_for_status(&client, &namespace, "manifests", "web at 1.2.0", |status| {
        (status.last_applied_images.iter()).any(|image| image.tag.as_deref() == Some("1.2.0"))
    })
    .await;
    assert_eq!(
        condition(&status, ConditionType::Synced).map(|c| c.0),
        Some(ConditionStatus::True)
    );
    assert!(
        root.show("manifests", "main", "apps/web/deploy.yaml")
            .contains(&format!("{host}/team/web:1.2.0 # kedge keeps this"))
    );
}

fn token_secret(name: &str, token: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        string_data: Some([("token".to_owned(), token.to_owned())].into()),
        ..Secret::default()
    }
}

#[tokio::test]
async fn a_missing_secret_is_named_in_ready_until_it_exists() {
    let Some(cluster) =
        TestCluster::connect("a_missing_secret_is_named_in_ready_until_it_exists").await
    else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("iu-secret").await;
    // A Secret of that name in another namespace does not count.
    let elsewhere = cluster.namespace("iu-secret-other").await;
    Api::<Secret>::namespaced(client.clone(), &elsewhere)
        .create(
            &PostParams::default(),
            &token_secret("git-credentials", "t"),
        )
        .await
        .expect("creating the Secret elsewhere");
    let (registry, _layout, _layout_dir) = registry();
    let host = registry.host();
    let root = GitRoot::new();
    seed(&root, &host, &host);
    let spec = json!({
        "git": {
            "url": root.file_url("manifests"),
            "auth": {"tokenSecretRef": {"name": "git-credentials", "key": "token"}},
        },
        "registries": [{"prefix": host, "insecure": true}],
        "images": [image("web", &host)],
    });
    create(&client, &namespace, "manifests", spec).await;
    let cache = tempfile::tempdir().unwrap();
    let (_handle, _stop) = start_controller(&client, &namespace, cache.path());

    let status = wait_for_status(
        &client,
        &namespace,
        "manifests",
        "SecretNotFound",
        |status| condition(status, ConditionType::Ready).is_some_and(|c| c.1 == "SecretNotFound"),
    )
    .await;
    let (ready, _, message) = condition(&status, ConditionType::Ready).expect("Ready");
    assert_eq!(ready, ConditionStatus::False);
    assert_eq!(
        message,
        "spec.git.auth.tokenSecretRef: Secret \"git-credentials\" not found in the ImageUpdate's namespace"
    );
    // Creating the Secret is all it takes: no spec change, no stall.
    assert_eq!(
        condition(&status, ConditionType::Stalled).map(|c| c.0),
        Some(ConditionStatus::False)
    );
    wait_for_event(&client, &namespace, "manifests", "SecretNotFound").await;
    assert_eq!(
        root.subjects("manifests", "main").len(),
        1,
        "nothing was pushed"
    );

    Api::<Secret>::namespaced(client.clone(), &namespace)
        .create(
            &PostParams::default(),
            &token_secret("git-credentials", "t"),
        )
        .await
        .expect("creating the Secret");
    wait_for_status(
        &client,
        &namespace,
        "manifests",
        "Updated once the Secret exists",
        |s| condition(s, ConditionType::Ready).is_some_and(|c| c.0 == ConditionStatus::True),
    )
    .await;
    assert!(
        root.show("manifests", "main", "apps/web/deploy.yaml")
            .contains("web:1.1.0")
    );
}

#[tokio::test]
async fn a_registry_that_is_down_fails_its_image_and_not_the_others() {
    let Some(cluster) =
        TestCluster::connect("a_registry_that_is_down_fails_its_image_and_not_the_others").await
    else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("iu-down").await;
    let (registry, _layout, _layout_dir) = registry();
    let live = registry.host();
    // Nothing listens on this port: the registry of web is down.
    let down = format!("127.0.0.1:{}", kedge_testkit::free_port());
    let root = GitRoot::new();
    seed(&root, &down, &live);
    let spec = json!({
        "git": {"url": root.file_url("manifests")},
        "registries": [
            {"prefix": live, "insecure": true},
            {"prefix": down, "insecure": true, "discoveryDeadline": "5s"},
        ],
        "images": [image("web", &down), image("api", &live)],
    });
    create(&client, &namespace, "manifests", spec).await;
    let cache = tempfile::tempdir().unwrap();
    let (_handle, _stop) = start_controller(&client, &namespace, cache.path());

    let status = wait_for_status(
        &client,
        &namespace,
        "manifests",
        "RegistryError",
        |status| condition(status, ConditionType::Ready).is_some_and(|c| c.1 == "RegistryError"),
    )
    .await;
    let (ready, _, message) = condition(&status, ConditionType::Ready).expect("Ready");
    assert_eq!(ready, ConditionStatus::False);
    assert!(
        message.starts_with("1 image(s) not updated: image web: "),
        "{message}"
    );
    assert!(message.contains(&down), "{message}");
    assert!(
        message.ends_with(&format!("updated: api {live}/team/api:1.1.0")),
        "{message}"
    );
    // api went ahead.
    assert_eq!(
        root.show("manifests", "main", "apps/api/deploy.yaml"),
        deployment(&live, "api", "1.1.0")
    );
    assert_eq!(
        root.show("manifests", "main", "apps/web/deploy.yaml"),
        deployment(&down, "web", "1.0.0")
    );
    let aliases: Vec<&str> = (status.last_applied_images.iter())
        .map(|image| image.alias.as_str())
        .collect();
    assert_eq!(aliases, ["api"]);
    wait_for_event(&client, &namespace, "manifests", "RegistryError").await;
}

#[tokio::test]
async fn pull_request_mode_opens_one_and_reports_its_url() {
    let Some(cluster) =
        TestCluster::connect("pull_request_mode_opens_one_and_reports_its_url").await
    else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("iu-pr").await;
    let (registry, _layout, _layout_dir) = registry();
    let host = registry.host();
    let root = GitRoot::new();
    seed(&root, &host, &host);
    let main_before = root.head("manifests", "main");
    let github = TestGitHub::start(TestGitHubOptions::token("org", "manifests", "ghp_test"))
        .await
        .expect("the GitHub test server starts");
    Api::<Secret>::namespaced(client.clone(), &namespace)
        .create(
            &PostParams::default(),
            &token_secret("github", "ghp_test\n"),
        )
        .await
        .expect("creating the token Secret");
    let spec = json!({
        "git": {"url": root.file_url("manifests")},
        "writeBack": {"mode": "pull-request", "pullRequest": {"labels": ["deps"]}},
        "forge": {"github": {
            "apiURL": github.api_url(),
            "owner": "org",
            "repo": "manifests",
            "tokenSecretRef": {"name": "github", "key": "token"},
        }},
        "registries": [{"prefix": host, "insecure": true}],
        "images": [image("web", &host)],
    });
    create(&client, &namespace, "manifests", spec).await;
    let cache = tempfile::tempdir().unwrap();
    let (_handle, _stop) = start_controller(&client, &namespace, cache.path());

    let status = wait_for_status(&client, &namespace, "manifests", "PullRequestOpened", |s| {
        condition(s, ConditionType::Ready).is_some_and(|c| c.1 == "PullRequestOpened")
    })
    .await;
    let prs = github.pull_requests();
    assert_eq!(prs.len(), 1, "{prs:?}");
    assert_eq!(prs[0]["head"]["ref"], "kedge/web");
    let url = prs[0]["html_url"].as_str().expect("the PR has a URL");
    assert_eq!(status.last_pull_request_url.as_deref(), Some(url));
    assert_eq!(
        condition(&status, ConditionType::Ready).map(|c| c.0),
        Some(ConditionStatus::True)
    );
    assert_eq!(
        condition(&status, ConditionType::Synced),
        Some((
            ConditionStatus::False,
            "PullRequestOpened",
            format!("waiting for {url} to be merged").as_str()
        ))
    );
    assert_eq!(
        root.head("manifests", "main"),
        main_before,
        "main is untouched"
    );
    assert!(
        root.show("manifests", "kedge/web", "apps/web/deploy.yaml")
            .contains("web:1.1.0")
    );
    wait_for_event(&client, &namespace, "manifests", "PullRequestOpened").await;
}

#[tokio::test]
async fn an_invalid_policy_stalls_naming_the_field_until_the_spec_changes() {
    let Some(cluster) =
        TestCluster::connect("an_invalid_policy_stalls_naming_the_field_until_the_spec_changes")
            .await
    else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("iu-invalid").await;
    // Nothing listens on this port: once the spec is fixed, the registry
    // is the next problem.
    let down = format!("127.0.0.1:{}", kedge_testkit::free_port());
    let root = GitRoot::new();
    seed(&root, &down, &down);
    let mut api = image("api", &down);
    api["policy"]["constraint"] = json!(">=banana");
    let spec = json!({
        "git": {"url": root.file_url("manifests")},
        "images": [image("web", &down), api],
    });
    create(&client, &namespace, "manifests", spec).await;
    let cache = tempfile::tempdir().unwrap();
    let (_handle, _stop) = start_controller(&client, &namespace, cache.path());

    let status = wait_for_status(&client, &namespace, "manifests", "Stalled", |status| {
        condition(status, ConditionType::Stalled).is_some_and(|c| c.0 == ConditionStatus::True)
    })
    .await;
    let (_, reason, message) = condition(&status, ConditionType::Stalled).expect("Stalled");
    assert_eq!(reason, "InvalidSpec");
    assert!(
        message.starts_with("spec.images[1].policy.constraint: "),
        "{message}"
    );
    assert!(message.contains("banana"), "{message}");
    assert_eq!(
        condition(&status, ConditionType::Ready).map(|c| (c.0, c.1)),
        Some((ConditionStatus::False, "InvalidSpec"))
    );

    // Fixing the spec is looked at at once (a new generation).
    let images: Api<ImageUpdate> = Api::namespaced(client.clone(), &namespace);
    let fix = json!({"spec": {"images": [image("web", &down)]}});
    images
        .patch("manifests", &PatchParams::default(), &Patch::Merge(&fix))
        .await
        .expect("fixing the spec");
    let status = wait_for_status(&client, &namespace, "manifests", "not stalled", |status| {
        status.observed_generation == Some(2)
            && condition(status, ConditionType::Stalled)
                .is_some_and(|c| c.0 == ConditionStatus::False)
    })
    .await;
    assert_eq!(
        condition(&status, ConditionType::Ready).map(|c| c.1),
        Some("RegistryError")
    );
}
