//! `kedge serve --controller` end to end, as the binary runs in a cluster:
//! an Application in the test bed's API server, its manifests in a real git
//! daemon, and a signed GitHub webhook (octokit's payload examples) for a
//! merged pull request. The Application's interval is an hour, so only the
//! webhook can explain a sync within seconds. On SIGTERM the process exits
//! 0 and gives its leader Lease up.

use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use kedge_controller::ConditionStatus;
use kedge_forge::test_server::{TestGitHub, TestGitHubOptions};
use kedge_testkit::kube::{TestCluster, eventually};
use kedge_testkit::kubelet::kubelet;
use kedge_testkit::{GitDaemon, GitRoot};
use kube::Api;
use kube::api::ListParams;

mod controller_support;

use controller_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_pull_request_webhook_syncs_the_application_at_the_merge_commit() {
    let Some(cluster) = TestCluster::connect(
        "a_merged_pull_request_webhook_syncs_the_application_at_the_merge_commit",
    )
    .await
    else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("kedge-serve-ctl").await;
    let _kubelet = kubelet(client.clone(), &[&namespace]);
    let root = GitRoot::new();
    root.create(
        REPOSITORY,
        "main",
        &[("web/deployment.yaml", &deployment("nginx:1.27"))],
    );
    let daemon = GitDaemon::start(&root);
    let apps = create_web_application(&client, &namespace, &daemon.url(REPOSITORY), true).await;

    let dir = tempfile::tempdir().expect("a working directory without kedge.yaml");
    let port = kedge_testkit::free_port();
    let kedge = start_kedge(dir.path(), cluster.kubeconfig(), &namespace, port);
    let first = root.head(REPOSITORY, "main");
    eventually("synced at the first commit", WAIT, || async {
        let app = apps.get("web").await.map_err(|e| e.to_string())?;
        match ready_at(&app) {
            Some((ConditionStatus::True, Some(revision))) if revision == first => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // A pull request: a branch with the new image, merged with a merge commit.
    root.branch(REPOSITORY, "main", "bump-web");
    root.commit_files(
        REPOSITORY,
        "bump-web",
        &[("web/deployment.yaml", &deployment("nginx:1.28"))],
        "web 1.28",
    );
    let merge = root.merge(
        REPOSITORY,
        "bump-web",
        "main",
        "Merge pull request #2 from bump-web",
    );
    assert_eq!(deliver(port, "pull_request", &merged_pull_request()), 202);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    eventually(
        "synced at the merge commit",
        Duration::from_secs(30),
        || async {
            let app = apps.get("web").await.map_err(|e| e.to_string())?;
            let image = deployments
                .get("web")
                .await
                .map_err(|e| e.to_string())?
                .spec
                .and_then(|s| s.template.spec)
                .and_then(|p| p.containers.first().and_then(|c| c.image.clone()));
            match (ready_at(&app), image.as_deref()) {
                (Some((ConditionStatus::True, Some(revision))), Some("nginx:1.28"))
                    if revision == merge =>
                {
                    Ok(())
                }
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;

    let metrics = get_body(port, "/metrics");
    for line in [
        "kedge_controller_leader 1",
        "kedge_controller_reconciles_total{kind=\"Application\",result=\"synced\"}",
        "kedge_controller_git_listings_total",
        "kedge_jobs_total{kind=\"refresh\",outcome=\"changed\"} 1",
    ] {
        assert!(
            metrics.contains(line),
            "/metrics has no {line:?}:\n{metrics}"
        );
    }

    // SIGTERM: a clean exit that gives the Lease up for the next replica.
    let pid = kedge.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || {
        let mut kedge = kedge;
        kedge.0.wait()
    })
    .await
    .expect("waiting")
    .expect("kedge exits");
    assert!(status.success(), "kedge serve exited with {status}");
    let lease = Api::<Lease>::namespaced(client.clone(), &namespace)
        .get("kedge-controller")
        .await
        .expect("the leader Lease exists");
    let holder = lease.spec.and_then(|s| s.holder_identity);
    assert_eq!(holder, None, "the Lease was released on shutdown");

    // A restart finds everything in Git and the cluster: it takes the Lease
    // and re-reads, and applies nothing twice.
    let synced_events = || async {
        let events = Api::<Event>::namespaced(client.clone(), &namespace)
            .list(&ListParams::default())
            .await
            .expect("listing Events");
        events
            .items
            .iter()
            .filter(|e| e.reason.as_deref() == Some("Synced"))
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("web"))
            .map(|e| e.series.as_ref().map_or(1, |s| s.count))
            .sum::<i32>()
    };
    let before = synced_events().await;
    assert_eq!(before, 2, "one Synced Event per commit applied");
    let generation = deployments
        .get("web")
        .await
        .expect("web")
        .metadata
        .generation;
    let _restarted = start_kedge(dir.path(), cluster.kubeconfig(), &namespace, port);
    let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    eventually("the restarted kedge leads", WAIT, || async {
        let lease = leases
            .get("kedge-controller")
            .await
            .map_err(|e| e.to_string())?;
        let holder = lease.spec.and_then(|s| s.holder_identity);
        holder.is_some().then_some(()).ok_or(format!("{holder:?}"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let app = apps.get("web").await.expect("web");
    assert_eq!(
        ready_at(&app),
        Some((ConditionStatus::True, Some(merge.clone())))
    );
    assert_eq!(synced_events().await, before, "the restart applied nothing");
    assert_eq!(
        deployments
            .get("web")
            .await
            .expect("web")
            .metadata
            .generation,
        generation,
        "the Deployment's spec was not written again"
    );
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_gets_one_comment_with_its_rendered_difference_kept_up_to_date() {
    let Some(cluster) = TestCluster::connect(
        "a_pull_request_gets_one_comment_with_its_rendered_difference_kept_up_to_date",
    )
    .await
    else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("kedge-serve-pr").await;
    let root = GitRoot::new();
    root.create(
        REPOSITORY,
        "main",
        &[("web/deployment.yaml", &deployment("nginx:1.27"))],
    );
    let daemon = GitDaemon::start(&root);
    let github = TestGitHub::start(TestGitHubOptions::token(
        "Codertocat",
        "Hello-World",
        "gh-token",
    ))
    .await
    .expect("the GitHub test server");
    let number = github.seed_pull_request("Codertocat", "bump-web", "main", "web 1.28");
    let apps = create_web_application(&client, &namespace, &daemon.url(REPOSITORY), false).await;
    let dir = tempfile::tempdir().expect("a working directory");
    let port = kedge_testkit::free_port();
    let _kedge = start_kedge_with(
        dir.path(),
        cluster.kubeconfig(),
        &namespace,
        port,
        &[
            ("KEDGE_GITHUB_TOKEN", "gh-token"),
            ("KEDGE_GITHUB_API_URL", github.api_url()),
        ],
    );
    eventually("kedge answers", WAIT, || async {
        let body = tokio::task::spawn_blocking(move || get_body(port, "/healthz"))
            .await
            .map_err(|e| e.to_string())?;
        (!body.is_empty())
            .then_some(())
            .ok_or("no answer".to_owned())
    })
    .await;

    let base = root.head(REPOSITORY, "main");
    root.branch(REPOSITORY, "main", "bump-web");
    root.commit_files(
        REPOSITORY,
        "bump-web",
        &[("web/deployment.yaml", &deployment("nginx:1.28"))],
        "web 1.28",
    );
    let head = root.head(REPOSITORY, "bump-web");
    // The controller's Application cache must hold the Application before
    // the delivery, or it finds nothing to comment on.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        deliver(
            port,
            "pull_request",
            &pull_request_event("opened", number, &base, &head)
        ),
        202
    );
    let comment = eventually("a comment on the pull request", WAIT, || async {
        match github.comments(number).as_slice() {
            [comment] => Ok(comment.clone()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(comment.contains("Application `"), "{comment}");
    assert!(
        comment.contains("nginx:1.27") && comment.contains("nginx:1.28"),
        "{comment}"
    );
    assert!(comment.contains("Deployment"), "{comment}");

    // Another push to the pull request: the same comment, edited.
    root.commit_files(
        REPOSITORY,
        "bump-web",
        &[("web/deployment.yaml", &deployment("nginx:1.29"))],
        "web 1.29",
    );
    let newer = root.head(REPOSITORY, "bump-web");
    assert_eq!(
        deliver(
            port,
            "pull_request",
            &pull_request_event("synchronize", number, &base, &newer)
        ),
        202
    );
    let comment = eventually("the comment edited", WAIT, || async {
        match github.comments(number).as_slice() {
            [comment] if comment.contains("nginx:1.29") => Ok(comment.clone()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(
        !comment.contains("nginx:1.28"),
        "the comment shows the newest push only: {comment}"
    );
    assert!(
        apps.get("web")
            .await
            .expect("web")
            .status
            .and_then(|s| s.last_synced_revision)
            .is_none_or(|r| r == base),
        "a pull request is never applied"
    );
    drop(daemon);
}
