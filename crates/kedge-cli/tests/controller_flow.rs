//! The whole loop of `kedge serve --controller` on real parts, as a
//! platform team runs it: a new tag pushed with skopeo to the distribution
//! registry, whose push notification reaches kedge; the ImageUpdate opens a
//! pull request (on the local GitHub test server, its branch in the real git
//! daemon); the pull request is merged on the bare repository and GitHub's
//! `pull_request` webhook arrives; the Application syncs the merge commit
//! and the Deployment in the test bed's API server runs the new image.
//! Every interval is an hour: only the webhooks can explain the speed.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kedge_controller::{Application, ConditionStatus, ImageUpdate};
use kedge_forge::test_server::{TestGitHub, TestGitHubOptions};
use kedge_testkit::kube::{TestCluster, eventually};
use kedge_testkit::kubelet::kubelet;
use kedge_testkit::{GitDaemon, GitRoot, ImageSpec, OciLayout, RegistryOptions, TestRegistry};
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use serde_json::{Value, json};

mod controller_support;

use controller_support::*;

const REGISTRY_TOKEN: &str = "registry-notify-token";
const GITHUB_TOKEN: &str = "ghp_flow";

/// How the manifest repository holds the Deployment: plain YAML, or a Helm
/// chart whose values name the image (the seed's "template tool" variant).
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Plain,
    Helm,
}

impl Layout {
    /// The files of `web/`, with the image at `tag`.
    fn files(self, host: &str, tag: &str) -> Vec<(&'static str, String)> {
        match self {
            Layout::Plain => vec![(
                "web/deployment.yaml",
                deployment(&format!("{host}/team/web:{tag}")),
            )],
            Layout::Helm => vec![
                (
                    "web/Chart.yaml",
                    "apiVersion: v2\nname: web\nversion: 0.1.0\n".to_owned(),
                ),
                (
                    "web/values.yaml",
                    format!(
                        "image:\n  repository: {host}/team/web\n  tag: \"{tag}\" # kedge keeps this\n"
                    ),
                ),
                (
                    "web/templates/deployment.yaml",
                    deployment("\"{{ .Values.image.repository }}:{{ .Values.image.tag }}\""),
                ),
            ],
        }
    }

    /// The file the pull request changes.
    fn changed_file(self) -> &'static str {
        match self {
            Layout::Plain => "web/deployment.yaml",
            Layout::Helm => "web/values.yaml",
        }
    }

    fn render(self) -> Value {
        match self {
            Layout::Plain => json!({"type": "plain"}),
            Layout::Helm => json!({"type": "helm"}),
        }
    }
}

/// An ImageUpdate keeping `image` on `^1.0` in `web/`, through pull requests.
fn image_update(namespace: &str, git_url: &str, host: &str, github_api: &str) -> ImageUpdate {
    serde_json::from_value(json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "ImageUpdate",
        "metadata": {"name": "manifests", "namespace": namespace},
        "spec": {
            "interval": "1h",
            "git": {"url": git_url, "branch": "main"},
            "writeBack": {"mode": "pull-request"},
            "forge": {"github": {
                "apiURL": github_api,
                "owner": "Codertocat",
                "repo": "Hello-World",
                "tokenSecretRef": {"name": "github", "key": "token"},
            }},
            "registries": [{"prefix": host, "insecure": true}],
            "images": [{
                "alias": "web",
                "image": format!("{host}/team/web"),
                "policy": {"strategy": "semver", "constraint": "^1.0"},
                "targets": ["web"],
            }],
        },
    }))
    .expect("an ImageUpdate")
}

fn application(namespace: &str, git_url: &str, layout: Layout) -> Application {
    serde_json::from_value(json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "source": {"repoURL": git_url, "targetRevision": "main", "path": "web", "render": layout.render()},
            "destination": {"namespace": namespace},
            "syncPolicy": {"automated": true, "interval": "1h"},
        },
    }))
    .expect("an Application")
}

/// octokit's `pull_request` `closed` example, made the merge of `number` into `main`.
fn merged(number: u64) -> Vec<u8> {
    let path = kedge_testkit::fixtures_dir().join(
        "webhooks/github/octokit__webhooks/payload-examples/api.github.com/pull_request/closed.payload.json",
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut payload: Value = serde_json::from_str(&text).expect("a JSON payload");
    payload["number"] = number.into();
    payload["pull_request"]["number"] = number.into();
    payload["pull_request"]["merged"] = true.into();
    payload["pull_request"]["base"]["ref"] = "main".into();
    serde_json::to_vec(&payload).expect("JSON")
}

async fn image_of(deployments: &Api<Deployment>) -> Result<String, String> {
    deployments
        .get("web")
        .await
        .map_err(|e| e.to_string())?
        .spec
        .and_then(|s| s.template.spec)
        .and_then(|p| p.containers.first().and_then(|c| c.image.clone()))
        .ok_or_else(|| "no image".to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_tag_becomes_a_pull_request_whose_merge_is_synced() {
    let test = "a_pushed_tag_becomes_a_pull_request_whose_merge_is_synced";
    if let Some(cluster) = TestCluster::connect(test).await {
        flow(&cluster, Layout::Plain).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_tag_in_helm_values_becomes_a_pull_request_whose_merge_is_synced() {
    let test = "a_pushed_tag_in_helm_values_becomes_a_pull_request_whose_merge_is_synced";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    // kedge renders the chart with the helm on PATH.
    if kedge_testkit::kube::cli(test, "helm").is_some() {
        flow(&cluster, Layout::Helm).await;
    }
}

/// The loop from a pushed tag to a synced merge, with the manifests laid out as `layout` says.
async fn flow(cluster: &TestCluster, layout: Layout) {
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("kedge-flow").await;
    let _kubelet = kubelet(client.clone(), &[&namespace]);
    let port = kedge_testkit::free_port();
    let registry = TestRegistry::start_with(RegistryOptions {
        notify_url: Some(format!(
            "http://127.0.0.1:{port}/webhooks/registry/distribution"
        )),
        notify_headers: vec![("Authorization".into(), format!("Bearer {REGISTRY_TOKEN}"))],
        ..RegistryOptions::default()
    });
    let host = registry.host();
    let layouts = tempfile::tempdir().expect("a layout directory");
    let mut images = OciLayout::create(layouts.path());
    for (tag, day) in [("1.0.0", "01"), ("1.1.0", "02")] {
        images.add_image(
            tag,
            &ImageSpec::new(&format!("2026-01-{day}T00:00:00Z"), tag),
        );
    }
    registry.push(&images, "1.0.0", "team/web");
    let root = GitRoot::new();
    let image = format!("{host}/team/web:1.0.0");
    let files = layout.files(&host, "1.0.0");
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    root.create(REPOSITORY, "main", &files);
    let daemon = GitDaemon::start(&root);
    let git_url = daemon.url(REPOSITORY);
    let github = TestGitHub::start(TestGitHubOptions::token(
        "Codertocat",
        "Hello-World",
        GITHUB_TOKEN,
    ))
    .await
    .expect("the GitHub test server");
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("github".into()),
            ..ObjectMeta::default()
        },
        string_data: Some([("token".to_owned(), GITHUB_TOKEN.to_owned())].into()),
        ..Secret::default()
    };
    Api::<Secret>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &secret)
        .await
        .expect("the token Secret");
    let apps: Api<Application> = Api::namespaced(client.clone(), &namespace);
    let image_updates: Api<ImageUpdate> = Api::namespaced(client.clone(), &namespace);
    let resource = image_update(&namespace, &git_url, &host, github.api_url());
    let app = application(&namespace, &git_url, layout);
    eventually("the resources created", WAIT, || async {
        image_updates
            .create(&PostParams::default(), &resource)
            .await
            .map_err(|e| e.to_string())?;
        apps.create(&PostParams::default(), &app)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await;

    let dir = tempfile::tempdir().expect("a working directory without kedge.yaml");
    let start = || {
        start_kedge_with(
            dir.path(),
            cluster.kubeconfig(),
            &namespace,
            port,
            &[("KEDGE_REGISTRY_WEBHOOK_TOKEN", REGISTRY_TOKEN)],
        )
    };
    let mut kedge = start();
    let first = root.head(REPOSITORY, "main");
    eventually("synced at the first commit", WAIT, || async {
        let app = apps.get("web").await.map_err(|e| e.to_string())?;
        match ready_at(&app) {
            Some((ConditionStatus::True, Some(revision))) if revision == first => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    assert_eq!(image_of(&deployments).await, Ok(image));

    // A new tag: the registry tells kedge, kedge opens a pull request.
    registry.push(&images, "1.1.0", "team/web");
    let pull_request = eventually("a pull request", WAIT, || async {
        match github.pull_requests().as_slice() {
            [pr] => Ok(pr.clone()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let number = pull_request["number"].as_u64().expect("a number");
    let branch = pull_request["head"]["ref"].as_str().expect("a head branch");
    let proposed = root.show(REPOSITORY, branch, layout.changed_file());
    let expected = match layout {
        Layout::Plain => format!("{host}/team/web:1.1.0"),
        Layout::Helm => "tag: \"1.1.0\" # kedge keeps this".to_owned(),
    };
    assert!(proposed.contains(&expected), "{proposed}");
    assert_eq!(
        root.head(REPOSITORY, "main"),
        first,
        "main waits for the merge"
    );
    if layout == Layout::Plain {
        // Killed between the pull request and its merge, with no chance to
        // say goodbye: the next process takes the Lease once it expires,
        // looks at everything again, and opens nothing twice.
        let proposed_head = root.head(REPOSITORY, branch);
        drop(kedge);
        kedge = start();
        let identity = format!("kedge-test-{}", kedge.0.id());
        let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);
        eventually("the new process leads", WAIT, || async {
            let lease = leases
                .get("kedge-controller")
                .await
                .map_err(|e| e.to_string())?;
            let holder = lease.spec.and_then(|s| s.holder_identity);
            (holder.as_deref() == Some(identity.as_str()))
                .then_some(())
                .ok_or(format!("{holder:?}"))
        })
        .await;
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        assert_eq!(github.pull_requests().len(), 1, "no second pull request");
        assert_eq!(
            root.head(REPOSITORY, branch),
            proposed_head,
            "the branch was not pushed again"
        );
    }

    // Merged on the bare repository; GitHub says so.
    let merge = root.merge(
        REPOSITORY,
        branch,
        "main",
        &format!("Merge pull request #{number}"),
    );
    assert_eq!(deliver(port, "pull_request", &merged(number)), 202);
    let wanted = format!("{host}/team/web:1.1.0");
    eventually("synced at the merge commit", WAIT, || async {
        let app = apps.get("web").await.map_err(|e| e.to_string())?;
        let image = image_of(&deployments).await?;
        match ready_at(&app) {
            Some((ConditionStatus::True, Some(revision)))
                if revision == merge && image == wanted =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}, image {image}")),
        }
    })
    .await;
    drop(kedge);
    drop(daemon);
}
