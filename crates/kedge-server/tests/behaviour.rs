//! The server's contract over real HTTP: authentication, bad input, the
//! queue's coalescing, bounds and shutdown, polling, health and metrics.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Call, RecordingRunner, fast_queue, start, start_with_runner};
use kedge_server::{
    ANY_REPOSITORY, GitHubReceiver, QueueSettings, ReceiverAuth, RegistryReceiver, RegistrySource,
    Secret, Server, ServerConfig, ServerError, TrackedImage, TrackedRepository,
};
use kedge_webhook::sign_hmac_sha256;

const TOKEN: &str = "dist-secret";
const GITHUB_SECRET: &str = "gh-secret";

fn distribution_push(repository: &str, tag: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "events": [{
            "id": format!("{repository}-{tag}"),
            "action": "push",
            "target": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "repository": repository,
                "tag": tag,
            },
            "request": { "host": "registry.test:5000" },
        }]
    }))
    .unwrap()
}

fn tracked(alias: &str, repository: &str) -> TrackedImage {
    TrackedImage {
        alias: alias.into(),
        image: format!("registry.test:5000/{repository}"),
        poll_interval: Some(Duration::ZERO),
    }
}

fn config(queue: QueueSettings) -> ServerConfig {
    ServerConfig {
        github: Some(GitHubReceiver {
            secret: Some(Secret::new(GITHUB_SECRET)),
            insecure: false,
        }),
        receivers: vec![RegistryReceiver {
            name: "dist".into(),
            source: RegistrySource::Distribution,
            auth: Some(ReceiverAuth::bearer(TOKEN)),
            insecure: false,
            registry: None,
        }],
        images: vec![tracked("web", "team/web"), tracked("api", "team/api")],
        repositories: vec![TrackedRepository {
            repo: "org/deploy".into(),
            branches: vec!["main".into()],
        }],
        queue,
        ..ServerConfig::default()
    }
}

async fn push(server: &common::Running, body: Vec<u8>, token: Option<&str>) -> reqwest::Response {
    let mut request = common::client()
        .post(server.url("/webhooks/registry/dist"))
        .body(body);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.send().await.unwrap()
}

async fn github(
    server: &common::Running,
    event: &str,
    body: &[u8],
    secret: &str,
) -> reqwest::Response {
    common::client()
        .post(server.url("/webhooks/github"))
        .header("x-github-event", event)
        .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .header(
            "x-hub-signature-256",
            sign_hmac_sha256(&Secret::new(secret), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_401_and_queue_nothing() {
    let server = start(config(fast_queue())).await;
    let body = distribution_push("team/web", "1.0.0");
    assert_eq!(
        push(&server, body.clone(), Some("wrong")).await.status(),
        401
    );
    assert_eq!(push(&server, body.clone(), None).await.status(), 401);
    let push_body = br#"{"ref":"refs/heads/main","repository":{"full_name":"org/deploy"}}"#;
    assert_eq!(
        github(&server, "push", push_body, "not-the-secret")
            .await
            .status(),
        401
    );
    let unsigned = common::client()
        .post(server.url("/webhooks/github"))
        .header("x-github-event", "push")
        .body(push_body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let answer: serde_json::Value = unsigned.json().await.unwrap();
    assert!(!answer.to_string().contains(GITHUB_SECRET));
    settle().await;
    assert!(server.runner.calls().is_empty());
    assert!(
        server.metrics.encode().contains(
            r#"kedge_webhook_events_total{source="distribution",outcome="unauthorized"} 2"#
        )
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn malformed_json_is_400_naming_where() {
    let server = start(config(fast_queue())).await;
    let response = push(
        &server,
        br#"{"events": [{"action": 7}]}"#.to_vec(),
        Some(TOKEN),
    )
    .await;
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value = response.json().await.unwrap();
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("events[0].action") && error.contains("line 1"),
        "{error}"
    );
    let response = github(&server, "push", b"{not json", GITHUB_SECRET).await;
    assert_eq!(response.status(), 400);
    let missing_event = common::client()
        .post(server.url("/webhooks/github"))
        .header(
            "x-hub-signature-256",
            sign_hmac_sha256(&Secret::new(GITHUB_SECRET), b"{}"),
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(missing_event.status(), 400);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let server = start(ServerConfig {
        body_limit: 1024,
        ..config(fast_queue())
    })
    .await;
    let response = push(&server, vec![b' '; 4096], Some(TOKEN)).await;
    assert_eq!(response.status(), 413);
    let response = github(&server, "push", &vec![b' '; 4096], GITHUB_SECRET).await;
    assert_eq!(response.status(), 413);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn default_limit_is_five_mebibytes() {
    let server = start(config(fast_queue())).await;
    let big = vec![b' '; 5 * 1024 * 1024 + 1];
    assert_eq!(push(&server, big, Some(TOKEN)).await.status(), 413);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_event_and_untracked_image_are_202_ignored() {
    let server = start(config(fast_queue())).await;
    let response = github(&server, "star", br#"{"action":"created"}"#, GITHUB_SECRET).await;
    assert_eq!(response.status(), 202);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "ignored");
    let response = push(&server, distribution_push("other/app", "1.0"), Some(TOKEN)).await;
    assert_eq!(response.status(), 202);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "ignored", "{answer}");
    let other_branch = br#"{"ref":"refs/heads/dev","repository":{"full_name":"org/deploy"}}"#;
    let answer: serde_json::Value = github(&server, "push", other_branch, GITHUB_SECRET)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "ignored");
    settle().await;
    assert!(server.runner.calls().is_empty());
    let metrics = server.metrics.encode();
    assert!(metrics.contains(r#"outcome="untracked"} 1"#), "{metrics}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_receiver_is_404() {
    let server = start(config(fast_queue())).await;
    let response = common::client()
        .post(server.url("/webhooks/registry/nope"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn burst_of_fifty_pushes_is_one_runner_call() {
    // A window wide enough for a debug build on a busy machine to send all 50.
    let window = Duration::from_secs(1);
    let server = Arc::new(
        start(config(QueueSettings {
            debounce: window,
            ..fast_queue()
        }))
        .await,
    );
    let started = std::time::Instant::now();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..50 {
        let server = Arc::clone(&server);
        requests.spawn(async move {
            // Sent in order of tag so the last accepted push carries the newest tag.
            tokio::time::sleep(Duration::from_millis(i * 4)).await;
            push(
                &server,
                distribution_push("team/web", &format!("1.0.{i}")),
                Some(TOKEN),
            )
            .await
            .status()
        });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 202);
    }
    assert!(
        started.elapsed() < window,
        "the burst took {:?}, longer than the window",
        started.elapsed()
    );
    server
        .runner
        .wait_for_calls(1, Duration::from_secs(5))
        .await;
    settle().await;
    let calls = server.runner.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    // The newest tag is the hint.
    let Call::Update { alias, hint } = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(alias, "web");
    assert_eq!(hint.as_ref().and_then(|h| h.tag.as_deref()), Some("1.0.49"));
    assert!(
        server
            .metrics
            .encode()
            .contains(r#"kedge_jobs_coalesced_total{kind="update"} 49"#)
    );
    let Ok(server) = Arc::try_unwrap(server) else {
        panic!("requests still hold the server")
    };
    server.stop().await.unwrap();
}

#[tokio::test]
async fn event_while_its_job_runs_runs_once_more_never_in_parallel() {
    let runner = Arc::new(RecordingRunner::default());
    *runner.delay.lock().unwrap() = Duration::from_millis(500);
    let server = start_with_runner(config(fast_queue()), runner).await;
    push(&server, distribution_push("team/web", "1"), Some(TOKEN)).await;
    tokio::time::sleep(Duration::from_millis(250)).await; // the first job is running now
    push(&server, distribution_push("team/web", "2"), Some(TOKEN)).await;
    push(&server, distribution_push("team/web", "3"), Some(TOKEN)).await;
    let calls = server
        .runner
        .wait_for_calls(2, Duration::from_secs(5))
        .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(server.runner.calls().len(), 2, "{calls:#?}");
    assert_eq!(*server.runner.max_parallel_same_key.lock().unwrap(), 1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn full_queue_answers_503_with_retry_after_and_keeps_what_it_took() {
    let queue = QueueSettings {
        capacity: 1,
        debounce: Duration::from_millis(300),
        ..fast_queue()
    };
    let server = start(config(queue)).await;
    assert_eq!(
        push(&server, distribution_push("team/web", "1"), Some(TOKEN))
            .await
            .status(),
        202
    );
    // Same key: merged, never refused.
    assert_eq!(
        push(&server, distribution_push("team/web", "2"), Some(TOKEN))
            .await
            .status(),
        202
    );
    let response = push(&server, distribution_push("team/api", "1"), Some(TOKEN)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    server
        .runner
        .wait_for_calls(1, Duration::from_secs(5))
        .await;
    settle().await;
    assert_eq!(server.runner.update_aliases(), ["web"]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_git_push_waits_only_for_the_git_window_while_image_events_wait_for_theirs() {
    let mut config = config(QueueSettings {
        debounce: Duration::from_secs(30),
        git_debounce: Duration::from_millis(100),
        ..fast_queue()
    });
    config.repositories = vec![TrackedRepository {
        repo: ANY_REPOSITORY.into(),
        branches: vec!["main".into()],
    }];
    let server = start(config).await;
    let image = push(&server, distribution_push("team/web", "1"), Some(TOKEN)).await;
    assert_eq!(image.status(), 202);
    let push_body = br#"{"ref":"refs/heads/main","repository":{"full_name":"team/deploy"}}"#;
    assert_eq!(
        github(&server, "push", push_body, GITHUB_SECRET)
            .await
            .status(),
        202
    );
    let calls = server
        .runner
        .wait_for_calls(1, Duration::from_secs(10))
        .await;
    assert_eq!(
        calls,
        [Call::Refresh {
            repo: "team/deploy".into(),
            branch: "main".into()
        }],
        "the refresh ran; the image job still waits for its 30 s window"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn pushes_gathered_into_one_refresh_hand_it_every_path_they_changed() {
    // A window no machine misses: shutting down runs the waiting job at once.
    let mut config = config(QueueSettings {
        git_debounce: Duration::from_secs(60),
        ..fast_queue()
    });
    config.repositories = vec![TrackedRepository {
        repo: ANY_REPOSITORY.into(),
        branches: vec!["main".into()],
    }];
    let server = start(config).await;
    let pushes: [&[u8]; 3] = [
        br#"{"ref":"refs/heads/main","repository":{"full_name":"team/deploy"},"commits":[{"modified":["apps/web/deploy.yaml"]}]}"#,
        br#"{"ref":"refs/heads/main","repository":{"full_name":"team/deploy"},"commits":[{"added":["apps/api/cm.yaml"],"removed":["apps/web/deploy.yaml"]}]}"#,
        br#"{"ref":"refs/heads/main","repository":{"full_name":"team/deploy"}}"#,
    ];
    for body in pushes {
        assert_eq!(
            github(&server, "push", body, GITHUB_SECRET).await.status(),
            202
        );
    }
    assert!(server.runner.calls().is_empty(), "the window is a minute");
    // Shutting down runs the waiting job at once.
    let runner = Arc::clone(&server.runner);
    server.stop().await.unwrap();
    assert_eq!(runner.calls().len(), 1, "one refresh for the three pushes");
    assert_eq!(
        *runner.changed_paths.lock().unwrap(),
        [vec![
            "apps/api/cm.yaml".to_owned(),
            "apps/web/deploy.yaml".to_owned()
        ]]
    );
}

#[tokio::test]
async fn a_wildcard_repository_refreshes_any_pushed_repository_by_its_github_name() {
    let mut config = config(fast_queue());
    config.repositories = vec![TrackedRepository {
        repo: ANY_REPOSITORY.into(),
        branches: vec!["main".into()],
    }];
    let server = start(config).await;
    let push_body = br#"{"ref":"refs/heads/main","repository":{"full_name":"Team/Platform","clone_url":"https://github.com/Team/Platform.git"}}"#;
    assert_eq!(
        github(&server, "push", push_body, GITHUB_SECRET)
            .await
            .status(),
        202
    );
    let other_branch = br#"{"ref":"refs/heads/dev","repository":{"full_name":"Team/Platform"}}"#;
    assert_eq!(
        github(&server, "push", other_branch, GITHUB_SECRET)
            .await
            .status(),
        202
    );
    let calls = server
        .runner
        .wait_for_calls(1, Duration::from_secs(5))
        .await;
    settle().await;
    assert_eq!(
        calls,
        [Call::Refresh {
            repo: "Team/Platform".into(),
            branch: "main".into()
        }],
        "the job names the repository as GitHub does; other branches are not tracked"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn push_and_merged_pull_request_refresh_the_repository() {
    let server = start(config(fast_queue())).await;
    let push_body = br#"{"ref":"refs/heads/main","repository":{"full_name":"Org/Deploy","clone_url":"https://github.com/Org/Deploy.git"}}"#;
    let response = github(&server, "push", push_body, GITHUB_SECRET).await;
    assert_eq!(response.status(), 202);
    let calls = server
        .runner
        .wait_for_calls(1, Duration::from_secs(5))
        .await;
    assert_eq!(
        calls,
        [Call::Refresh {
            repo: "org/deploy".into(),
            branch: "main".into()
        }]
    );
    let merged = br#"{"action":"closed","number":7,"pull_request":{"merged":true,"base":{"ref":"main","repo":{"full_name":"org/deploy"}}}}"#;
    assert_eq!(
        github(&server, "pull_request", merged, GITHUB_SECRET)
            .await
            .status(),
        202
    );
    let calls = server
        .runner
        .wait_for_calls(2, Duration::from_secs(5))
        .await;
    assert_eq!(calls.len(), 2);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_finishes_queued_jobs_then_returns() {
    let queue = QueueSettings {
        debounce: Duration::from_secs(30),
        ..fast_queue()
    };
    let server = start(config(queue)).await;
    assert_eq!(
        push(&server, distribution_push("team/web", "1"), Some(TOKEN))
            .await
            .status(),
        202
    );
    assert_eq!(
        push(&server, distribution_push("team/api", "1"), Some(TOKEN))
            .await
            .status(),
        202
    );
    assert!(server.runner.calls().is_empty(), "debounce is 30 s");
    let runner = Arc::clone(&server.runner);
    let addr = server.addr;
    let stopped = tokio::time::timeout(Duration::from_secs(5), server.stop()).await;
    stopped.expect("shutdown within the timeout").unwrap();
    let mut aliases = runner.update_aliases();
    aliases.sort();
    assert_eq!(aliases, ["api", "web"]);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener closed"
    );
}

#[tokio::test]
async fn tracked_images_are_polled_on_their_interval() {
    let mut config = config(fast_queue());
    config.images[0].poll_interval = Some(Duration::from_millis(200));
    let server = start(config).await;
    let calls = server
        .runner
        .wait_for_calls(2, Duration::from_secs(5))
        .await;
    assert!(calls.len() >= 2, "{calls:?}");
    assert!(
        calls.iter().all(|c| *c
            == Call::Update {
                alias: "web".into(),
                hint: None
            }),
        "{calls:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let server = start(config(fast_queue())).await;
    let client = common::client();
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let mut ready = false;
    for _ in 0..50 {
        if client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ready);
    push(&server, distribution_push("team/web", "1"), Some(TOKEN)).await;
    server
        .runner
        .wait_for_calls(1, Duration::from_secs(5))
        .await;
    settle().await;
    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        r#"kedge_webhook_events_total{source="distribution",outcome="queued"} 1"#,
        "kedge_queue_depth 0",
        r#"kedge_jobs_total{kind="update",outcome="changed"} 1"#,
        "kedge_job_duration_seconds_bucket",
        "kedge_webhook_request_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(needle), "{needle} not in\n{metrics}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_on_a_separate_listener() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (addr, metrics_addr) = (
        listener.local_addr().unwrap(),
        metrics_listener.local_addr().unwrap(),
    );
    let server = Server::new(config(fast_queue()), Arc::new(RecordingRunner::default()))
        .unwrap()
        .with_metrics_listener(metrics_listener);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));
    let client = common::client();
    let scraped = client
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.unwrap().contains("kedge_queue_depth"));
    assert_eq!(
        client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn receiver_without_secret_is_refused_at_startup() {
    let mut config = config(fast_queue());
    config.receivers[0].auth = None;
    let refused = Server::new(config.clone(), Arc::new(RecordingRunner::default()));
    assert!(
        matches!(refused, Err(ServerError::ReceiverWithoutSecret { receiver }) if receiver == "dist")
    );
    config.receivers[0].insecure = true;
    let server = start(config).await;
    assert_eq!(
        push(&server, distribution_push("team/web", "1"), None)
            .await
            .status(),
        202
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_hung_job_is_abandoned_and_its_key_runs_again() {
    let queue = QueueSettings {
        job_timeout: Duration::from_millis(300),
        ..fast_queue()
    };
    let runner = Arc::new(RecordingRunner::default());
    *runner.delay.lock().unwrap() = Duration::from_secs(3600);
    let server = start_with_runner(config(queue), Arc::clone(&runner)).await;
    let first = push(&server, distribution_push("team/web", "1"), Some(TOKEN)).await;
    assert_eq!(first.status(), 202);
    assert_eq!(
        runner.wait_for_calls(1, Duration::from_secs(5)).await.len(),
        1
    );
    // The first job hangs for an hour; after its timeout the key is free again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = push(&server, distribution_push("team/web", "2"), Some(TOKEN)).await;
    assert_eq!(second.status(), 202);
    assert_eq!(
        runner.wait_for_calls(2, Duration::from_secs(5)).await.len(),
        2
    );
}

/// Two images written to one repository take turns, and the second job's
/// timeout starts when its turn comes: each job takes 250 ms under a 400 ms
/// timeout, so both succeed although the second finishes 500 ms after it was due.
#[tokio::test]
async fn writers_of_one_repository_take_turns_and_only_the_work_is_timed() {
    let queue = QueueSettings {
        job_timeout: Duration::from_millis(400),
        ..fast_queue()
    };
    let runner = Arc::new(RecordingRunner::default());
    *runner.delay.lock().unwrap() = Duration::from_millis(250);
    for alias in ["web", "api"] {
        (runner.repositories.lock().unwrap()).insert(alias.into(), "org/deploy".into());
    }
    let server = start_with_runner(config(queue), Arc::clone(&runner)).await;
    push(&server, distribution_push("team/web", "1"), Some(TOKEN)).await;
    push(&server, distribution_push("team/api", "1"), Some(TOKEN)).await;
    assert_eq!(
        runner.wait_for_calls(2, Duration::from_secs(5)).await.len(),
        2
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(*runner.max_parallel_same_repository.lock().unwrap(), 1);
    let metrics = server.metrics.encode();
    assert!(
        metrics.contains(r#"kedge_jobs_total{kind="update",outcome="changed"} 2"#),
        "{metrics}"
    );
    assert!(!metrics.contains(r#"outcome="failed""#), "{metrics}");
    server.stop().await.unwrap();
}

/// Images in different repositories do not wait for each other.
#[tokio::test]
async fn writers_of_different_repositories_run_at_once() {
    let runner = Arc::new(RecordingRunner::default());
    *runner.delay.lock().unwrap() = Duration::from_millis(300);
    let server = start_with_runner(config(fast_queue()), Arc::clone(&runner)).await;
    push(&server, distribution_push("team/web", "1"), Some(TOKEN)).await;
    push(&server, distribution_push("team/api", "1"), Some(TOKEN)).await;
    runner.wait_for_calls(2, Duration::from_secs(5)).await;
    assert_eq!(*runner.max_parallel_same_key.lock().unwrap(), 2);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn issue_11_a_worker_blocked_past_the_job_timeout_makes_readyz_503_until_it_ends() {
    let queue = QueueSettings {
        job_timeout: Duration::from_millis(300),
        ..fast_queue()
    };
    let runner = Arc::new(RecordingRunner::default());
    *runner.blocking.lock().unwrap() = Duration::from_secs(3);
    let server = start_with_runner(config(queue), Arc::clone(&runner)).await;
    let client = common::client();
    let readyz = || async {
        let response = client.get(server.url("/readyz")).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    push(&server, distribution_push("team/web", "1"), Some(TOKEN)).await;
    runner.wait_for_calls(1, Duration::from_secs(5)).await;
    // The job is abandoned at 300 ms; its blocked thread goes on for 3 s.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, body) = readyz().await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("past the job timeout"), "{body}");
    let mut ready = false;
    for _ in 0..100 {
        if readyz().await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once the blocked thread ends");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn issue_11_hostile_names_tags_and_hosts_are_400_and_queue_nothing() {
    let server = start(config(fast_queue())).await;
    let long = "a".repeat(10 * 1024);
    let cases: Vec<(&str, &str, &str)> = vec![
        ("../../etc", "1.0.0", "registry.test:5000"),
        (&long, "1.0.0", "registry.test:5000"),
        ("team/web", "1.0.0\nforged", "registry.test:5000"),
        ("team/web", "\u{1b}[31m1.0.0", "registry.test:5000"),
        (
            "team/web",
            "1.0.0",
            "registry.test:5000\nlevel=ERROR forged",
        ),
    ];
    for (repository, tag, host) in cases {
        let body = serde_json::to_vec(&serde_json::json!({
            "events": [{
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "repository": repository,
                    "tag": tag,
                    "digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                },
                "request": {"host": host},
            }]
        }))
        .unwrap();
        let response = push(&server, body, Some(TOKEN)).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 400, "{repository:.40} {tag:?} {host:?}: {text}");
        assert!(!text.contains('\n') && text.len() < 1024, "{text}");
    }
    settle().await;
    assert!(server.runner.calls().is_empty());
    server.stop().await.unwrap();
}
