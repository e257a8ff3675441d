//! The Application controller on the test bed's API server, reading a real
//! git daemon: a branch that moves is picked up by polling, what left Git is
//! pruned, drift is healed while fields added outside Git stay, `dependsOn`
//! holds an Application back until the other one is healthy, and of two
//! replicas sharing a Lease exactly one acts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kedge_controller::runtime::{
    ApplicationController, ControllerOptions, LeaderLease, RefreshRequests, RemoteHeads,
    run_as_leader,
};
use kedge_controller::{Application, ConditionStatus, ConditionType};
use kedge_testkit::kube::{TestCluster, eventually};
use kedge_testkit::kubelet::kubelet;
use kedge_testkit::{GitDaemon, GitRoot};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

mod support;

const WAIT: Duration = Duration::from_secs(60);

fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: {image}
"
    )
}

fn config_map(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  greeting: hello\n"
    )
}

fn application(
    name: &str,
    namespace: &str,
    url: &str,
    path: &str,
    extra: serde_json::Value,
) -> Application {
    let mut spec = json!({
        "source": {"repoURL": url, "targetRevision": "main", "path": path},
        "destination": {"namespace": namespace},
        "syncPolicy": {"automated": true, "prune": true, "selfHeal": true, "interval": "2s"},
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }))
    .expect("an Application")
}

/// A controller for `namespace` only, running until the returned sender is
/// dropped or sent to.
fn start_controller(
    client: &Client,
    namespace: &str,
    cache: &std::path::Path,
) -> tokio::sync::oneshot::Sender<()> {
    start_counting_controller(client, namespace, cache).0
}

/// [`start_controller`], and the ref listings it makes.
fn start_counting_controller(
    client: &Client,
    namespace: &str,
    cache: &std::path::Path,
) -> (tokio::sync::oneshot::Sender<()>, Arc<RemoteHeads>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut options = ControllerOptions::new(cache);
    options.sync_timeout = Duration::from_secs(120);
    let controller = ApplicationController::new(client.clone(), Some(namespace), options);
    let heads = controller.remote_heads();
    tokio::spawn(controller.run(async move {
        let _ = stopped.await;
    }));
    (stop, heads)
}

async fn condition(
    api: &Api<Application>,
    name: &str,
    wanted: ConditionType,
) -> Result<(ConditionStatus, String, String), String> {
    let app = api.get(name).await.map_err(|e| e.to_string())?;
    let status = app.status.ok_or("no status yet")?;
    status
        .conditions
        .iter()
        .find(|c| c.condition_type == wanted)
        .map(|c| (c.status, c.reason.clone(), c.message.clone()))
        .ok_or_else(|| format!("no {wanted:?} condition in {:?}", status.conditions))
}

async fn image_of(deployments: &Api<Deployment>, name: &str) -> Result<String, String> {
    let deployment = deployments.get(name).await.map_err(|e| e.to_string())?;
    deployment
        .spec
        .and_then(|spec| spec.template.spec)
        .and_then(|pod| pod.containers.first().and_then(|c| c.image.clone()))
        .ok_or_else(|| "no image".to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_branch_is_synced_by_polling_and_drift_is_healed() {
    let Some(cluster) =
        TestCluster::connect("a_moved_branch_is_synced_by_polling_and_drift_is_healed").await
    else {
        return;
    };
    let client = cluster.client();
    support::install_crds(&client).await;
    let namespace = cluster.namespace("kedge-ctl-poll").await;
    let _kubelet = kubelet(client.clone(), &[&namespace]);
    let root = GitRoot::new();
    root.create(
        "manifests",
        "main",
        &[
            ("web/deployment.yaml", &deployment("web", "nginx:1.27")),
            ("web/config.yaml", &config_map("web-config")),
            (
                "README.md",
                "not rendered: outside the Application's path\n",
            ),
        ],
    );
    let daemon = GitDaemon::start(&root);
    let cache = tempfile::tempdir().expect("cache");
    let apps: Api<Application> = Api::namespaced(client.clone(), &namespace);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    apps.create(
        &PostParams::default(),
        &application(
            "web",
            &namespace,
            &daemon.url("manifests"),
            "web",
            json!({}),
        ),
    )
    .await
    .expect("creating the Application");
    let _controller = start_controller(&client, &namespace, cache.path());

    let first = root.head("manifests", "main");
    eventually("the first commit synced and healthy", WAIT, || async {
        let app = apps.get("web").await.map_err(|e| e.to_string())?;
        let revision = app
            .status
            .as_ref()
            .and_then(|s| s.last_synced_revision.clone());
        let ready = condition(&apps, "web", ConditionType::Ready).await?;
        (revision.as_deref() == Some(first.as_str()) && ready.0 == ConditionStatus::True)
            .then_some(())
            .ok_or(format!("revision {revision:?}, Ready {ready:?}"))
    })
    .await;
    assert_eq!(
        image_of(&deployments, "web").await.as_deref(),
        Ok("nginx:1.27")
    );
    config_maps
        .get("web-config")
        .await
        .expect("the ConfigMap was applied");

    // A new commit, with no webhook: polling finds it, applies the new image
    // and prunes the ConfigMap that left Git.
    root.commit_files(
        "manifests",
        "main",
        &[
            ("web/deployment.yaml", &deployment("web", "nginx:1.28")),
            ("web/config.yaml", &config_map("web-config-v2")),
        ],
        "web 1.28",
    );
    let second = root.head("manifests", "main");
    eventually("the second commit synced", WAIT, || async {
        let app = apps.get("web").await.map_err(|e| e.to_string())?;
        let revision = app
            .status
            .as_ref()
            .and_then(|s| s.last_synced_revision.clone());
        let image = image_of(&deployments, "web").await?;
        let old = config_maps
            .get_opt("web-config")
            .await
            .map_err(|e| e.to_string())?;
        (revision.as_deref() == Some(second.as_str()) && image == "nginx:1.28" && old.is_none())
            .then_some(())
            .ok_or(format!(
                "revision {revision:?}, image {image}, old ConfigMap there: {}",
                old.is_some()
            ))
    })
    .await;
    config_maps
        .get("web-config-v2")
        .await
        .expect("the new ConfigMap was applied");

    // Drift: a hand edit of a field Git sets is undone; a label Git never
    // set stays.
    let edit = json!({
        "metadata": {"labels": {"team": "payments"}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:hand-edited"}]}}},
    });
    deployments
        .patch("web", &PatchParams::apply("kubectl-edit").force(), &Patch::Apply(&json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "payments"}},
            "spec": edit["spec"],
        })))
        .await
        .expect("editing the Deployment by hand");
    eventually("the hand edit undone", WAIT, || async {
        let image = image_of(&deployments, "web").await?;
        (image == "nginx:1.28").then_some(()).ok_or(image)
    })
    .await;
    let labels = deployments
        .get("web")
        .await
        .expect("the Deployment")
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(
        labels.get("team").map(String::as_str),
        Some("payments"),
        "a label Git never set stays"
    );

    deployments
        .delete("web", &DeleteParams::default())
        .await
        .expect("deleting the Deployment");
    eventually("the deleted Deployment back", WAIT, || async {
        let deployment = deployments
            .get_opt("web")
            .await
            .map_err(|e| e.to_string())?;
        match deployment {
            Some(d) if d.metadata.deletion_timestamp.is_none() => Ok(()),
            _ => Err("not there yet".to_owned()),
        }
    })
    .await;

    let events: Api<Event> = Api::namespaced(client.clone(), &namespace);
    let events = events
        .list(&ListParams::default())
        .await
        .expect("listing Events");
    let reasons: Vec<String> = events
        .items
        .iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("web"))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("Application"))
        .filter_map(|e| e.reason.clone())
        .collect();
    assert!(
        reasons.iter().any(|r| r == "Synced"),
        "Events for the Application: {reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r == "Pruned"),
        "Events for the Application: {reasons:?}"
    );
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_listing_serves_every_application_of_a_repository_and_a_webhook_refreshes_at_once() {
    let Some(cluster) = TestCluster::connect(
        "one_listing_serves_every_application_of_a_repository_and_a_webhook_refreshes_at_once",
    )
    .await
    else {
        return;
    };
    let client = cluster.client();
    support::install_crds(&client).await;
    let namespace = cluster.namespace("kedge-ctl-refresh").await;
    let root = GitRoot::new();
    let files: Vec<(String, String)> = ["a", "b", "c"]
        .iter()
        .map(|app| {
            (
                format!("{app}/config.yaml"),
                config_map(&format!("{app}-config")),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    // Nested like GitHub's owner/name, so the webhook's `full_name` matches.
    root.create("Team/shared", "main", &files);
    let daemon = GitDaemon::start(&root);
    let cache = tempfile::tempdir().expect("cache");
    let apps: Api<Application> = Api::namespaced(client.clone(), &namespace);
    let hourly = json!({"syncPolicy": {"automated": true, "interval": "1h"}});
    for app in ["a", "b", "c"] {
        apps.create(
            &PostParams::default(),
            &application(
                app,
                &namespace,
                &daemon.url("Team/shared"),
                app,
                hourly.clone(),
            ),
        )
        .await
        .expect("creating an Application");
    }
    let (_controller, heads) = start_counting_controller(&client, &namespace, cache.path());
    for app in ["a", "b", "c"] {
        eventually(&format!("{app} ready"), WAIT, || async {
            let ready = condition(&apps, app, ConditionType::Ready).await?;
            (ready.0 == ConditionStatus::True)
                .then_some(())
                .ok_or(format!("{ready:?}"))
        })
        .await;
    }
    assert_eq!(
        heads.listings_made(),
        1,
        "three Applications of one repository, one ls-remote"
    );

    let changed = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-config\ndata:\n  greeting: changed\n";
    root.commit_files(
        "Team/shared",
        "main",
        &[("a/config.yaml", changed)],
        "a changes",
    );
    let head = root.head("Team/shared", "main");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    let greeting = |cm: ConfigMap| {
        cm.data
            .and_then(|d| d.get("greeting").cloned())
            .unwrap_or_default()
    };
    assert_eq!(
        greeting(config_maps.get("a-config").await.expect("a-config")),
        "hello",
        "with an hourly interval and no webhook, nothing has looked yet"
    );

    // The push webhook, as any replica receives it, by GitHub's name.
    let refresh = RefreshRequests::start(client.clone(), Some(&namespace));
    refresh.wait_until_ready().await.expect("the caches fill");
    let other_branch = refresh
        .repository_changed("team/Shared", "feature", &[])
        .await;
    assert_eq!(
        other_branch.expect("annotating"),
        0,
        "a push to another branch refreshes nothing"
    );
    // The push lists a's file: a is asked first, then b and c.
    let asked = refresh
        .repository_changed("team/Shared", "main", &["a/config.yaml".to_owned()])
        .await
        .expect("annotating");
    assert_eq!(asked, 3);
    eventually("a synced at the pushed commit", WAIT, || async {
        let app = apps.get("a").await.map_err(|e| e.to_string())?;
        let revision = app.status.and_then(|s| s.last_synced_revision);
        let now = greeting(
            config_maps
                .get("a-config")
                .await
                .map_err(|e| e.to_string())?,
        );
        (revision.as_deref() == Some(head.as_str()) && now == "changed")
            .then_some(())
            .ok_or(format!("revision {revision:?}, greeting {now}"))
    })
    .await;
    for app in ["b", "c"] {
        eventually(&format!("{app} at the pushed commit"), WAIT, || async {
            let revision = apps
                .get(app)
                .await
                .map_err(|e| e.to_string())?
                .status
                .and_then(|s| s.last_synced_revision);
            (revision.as_deref() == Some(head.as_str()))
                .then_some(())
                .ok_or(format!("{revision:?}"))
        })
        .await;
    }
    for app in ["b", "c"] {
        let (_, _, message) = condition(&apps, app, ConditionType::Synced)
            .await
            .expect("a Synced condition");
        assert!(
            message.starts_with("nothing to apply"),
            "{app}'s render did not change, so nothing was applied: {message}"
        );
    }
    assert_eq!(
        heads.listings_made(),
        2,
        "one push, one more ls-remote for all three"
    );
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depends_on_waits_for_the_other_application_to_be_healthy() {
    let Some(cluster) =
        TestCluster::connect("depends_on_waits_for_the_other_application_to_be_healthy").await
    else {
        return;
    };
    let client = cluster.client();
    support::install_crds(&client).await;
    let namespace = cluster.namespace("kedge-ctl-deps").await;
    let root = GitRoot::new();
    root.create(
        "platform",
        "main",
        &[
            ("db/deployment.yaml", &deployment("db", "postgres:17")),
            ("api/config.yaml", &config_map("api-config")),
        ],
    );
    let daemon = GitDaemon::start(&root);
    let cache = tempfile::tempdir().expect("cache");
    let apps: Api<Application> = Api::namespaced(client.clone(), &namespace);
    let url = daemon.url("platform");
    apps.create(
        &PostParams::default(),
        &application("db", &namespace, &url, "db", json!({})),
    )
    .await
    .expect("creating db");
    apps.create(
        &PostParams::default(),
        &application("api", &namespace, &url, "api", json!({"dependsOn": ["db"]})),
    )
    .await
    .expect("creating api");
    let _controller = start_controller(&client, &namespace, cache.path());

    // No kubelet yet: db's Deployment cannot become available, so api waits.
    eventually("api waiting for db", WAIT, || async {
        let ready = condition(&apps, "api", ConditionType::Ready).await?;
        (ready.1 == "DependencyNotReady")
            .then_some(())
            .ok_or(format!("{ready:?}"))
    })
    .await;
    let (_, _, message) = condition(&apps, "api", ConditionType::Ready)
        .await
        .expect("api's Ready condition");
    assert!(
        message.contains("db"),
        "the message names the dependency: {message}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    assert!(
        config_maps
            .get_opt("api-config")
            .await
            .expect("reading")
            .is_none(),
        "api applied nothing while db was not healthy"
    );

    let _kubelet = kubelet(client.clone(), &[&namespace]);
    eventually("api synced once db is healthy", WAIT, || async {
        let ready = condition(&apps, "api", ConditionType::Ready).await?;
        (ready.0 == ConditionStatus::True)
            .then_some(())
            .ok_or(format!("{ready:?}"))
    })
    .await;
    config_maps
        .get("api-config")
        .await
        .expect("api's ConfigMap applied");
    let db = condition(&apps, "db", ConditionType::Healthy)
        .await
        .expect("db's Healthy condition");
    assert_eq!(db.0, ConditionStatus::True, "{db:?}");
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_replicas_exactly_one_acts_and_the_other_takes_over() {
    let Some(cluster) =
        TestCluster::connect("of_two_replicas_exactly_one_acts_and_the_other_takes_over").await
    else {
        return;
    };
    let client = cluster.client();
    let namespace = cluster.namespace("kedge-ctl-lease").await;
    let acting = Arc::new(AtomicUsize::new(0));
    let started = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let mut stops = Vec::new();
    let mut replicas = Vec::new();
    for replica in 0..2 {
        let lease = LeaderLease::new(
            client.clone(),
            &namespace,
            "kedge-controller",
            format!("replica-{replica}"),
            Duration::from_secs(3),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        let acting = Arc::clone(&acting);
        let started = Arc::clone(&started);
        replicas.push(tokio::spawn(async move {
            run_as_leader(
                &lease,
                async move {
                    let _ = stopped.await;
                },
                |until| {
                    let acting = Arc::clone(&acting);
                    started[replica].fetch_add(1, Ordering::SeqCst);
                    async move {
                        let now = acting.fetch_add(1, Ordering::SeqCst) + 1;
                        assert_eq!(now, 1, "two replicas acted at once");
                        until.await;
                        acting.fetch_sub(1, Ordering::SeqCst);
                    }
                },
            )
            .await;
        }));
    }
    eventually("one replica leading", WAIT, || async {
        (acting.load(Ordering::SeqCst) == 1)
            .then_some(())
            .ok_or("none yet".to_owned())
    })
    .await;
    // Several renewal periods: the other never starts while the leader renews.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let counts = [
        started[0].load(Ordering::SeqCst),
        started[1].load(Ordering::SeqCst),
    ];
    assert_eq!(counts.iter().sum::<usize>(), 1, "started {counts:?}");
    let leader = counts.iter().position(|&c| c == 1).expect("a leader");

    // The leader shuts down and releases the Lease: the other takes over.
    let stop = stops.remove(leader);
    stop.send(()).expect("the leader is running");
    let follower = 1 - leader;
    eventually("the other replica took over", WAIT, || async {
        (started[follower].load(Ordering::SeqCst) == 1 && acting.load(Ordering::SeqCst) == 1)
            .then_some(())
            .ok_or("not yet".to_owned())
    })
    .await;
    drop(stops);
    for replica in replicas {
        replica.await.expect("a replica panicked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_stops_renewing_is_replaced_only_after_the_lease_duration() {
    let Some(cluster) = TestCluster::connect(
        "a_leader_that_stops_renewing_is_replaced_only_after_the_lease_duration",
    )
    .await
    else {
        return;
    };
    let client = cluster.client();
    let namespace = cluster.namespace("kedge-ctl-expiry").await;
    let lease = |who: &str| {
        LeaderLease::new(
            client.clone(),
            &namespace,
            "kedge-controller",
            who,
            Duration::from_secs(2),
        )
    };
    let (a, b) = (lease("a"), lease("b"));
    assert!(
        a.try_acquire().await.expect("a asks"),
        "a takes the free Lease"
    );
    // While a renews, b never takes it, however long it watches.
    for _ in 0..8 {
        assert!(
            !b.try_acquire().await.expect("b asks"),
            "b took a renewed Lease"
        );
        assert!(
            a.try_acquire().await.expect("a renews"),
            "a lost its own Lease"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // a stops renewing (killed): b takes over once it has seen the Lease
    // unchanged for its whole duration on its own clock, not before.
    let stopped = std::time::Instant::now();
    let taken = eventually("b takes the unrenewed Lease", WAIT, || async {
        match b.try_acquire().await {
            Ok(true) => Ok(stopped.elapsed()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(
        taken >= Duration::from_secs(2),
        "taken after {taken:?}, before the Lease's 2 s"
    );
    assert!(
        !a.try_acquire().await.expect("a asks again"),
        "a must not take it back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_that_leads_outside_the_repository_is_refused() {
    let Some(cluster) =
        TestCluster::connect("a_path_that_leads_outside_the_repository_is_refused").await
    else {
        return;
    };
    let client = cluster.client();
    support::install_crds(&client).await;
    let namespace = cluster.namespace("kedge-ctl-escape").await;
    let outside = tempfile::tempdir().expect("a directory outside every repository");
    std::fs::write(outside.path().join("secret.yaml"), config_map("stolen")).expect("a file");
    let root = GitRoot::new();
    root.create("escape", "main", &[("README.md", "nothing to see\n")]);
    let target = outside.path().to_str().expect("UTF-8 path");
    root.commit_symlink("escape", "main", "app", target);
    let daemon = GitDaemon::start(&root);
    let cache = tempfile::tempdir().expect("cache");
    let apps: Api<Application> = Api::namespaced(client.clone(), &namespace);
    apps.create(
        &PostParams::default(),
        &application(
            "escape",
            &namespace,
            &daemon.url("escape"),
            "app",
            json!({}),
        ),
    )
    .await
    .expect("creating the Application");
    let _controller = start_controller(&client, &namespace, cache.path());
    let (_, reason, message) = eventually("the refusal", WAIT, || async {
        let synced = condition(&apps, "escape", ConditionType::Synced).await?;
        (synced.1 == "RenderFailed")
            .then_some(synced.clone())
            .ok_or(format!("{synced:?}"))
    })
    .await;
    assert_eq!(reason, "RenderFailed");
    assert!(
        message.contains("leads outside the repository"),
        "{message}"
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    assert!(
        config_maps
            .get_opt("stolen")
            .await
            .expect("reading")
            .is_none(),
        "nothing applied"
    );
    drop(daemon);
}
