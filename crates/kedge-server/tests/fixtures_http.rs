//! Every registry and GitHub payload in `shared/fixtures/webhooks/` through the
//! real HTTP stack, each with its vendor's authentication: 202 and the expected
//! jobs for the ones kedge acts on, 202 "ignored" for the rest, 400 for the
//! malformed, and the runner called once per tracked image or repository.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use common::{Call, fast_queue, start};
use kedge_server::{
    GitHubReceiver, ReceiverAuth, RegistryReceiver, RegistrySource, Secret, ServerConfig,
    TrackedImage, TrackedRepository,
};
use kedge_testkit::fixtures_dir;
use kedge_webhook::{GitHubEvent, ImageEvent, parse_github_event, sign_hmac_sha256};

const GITHUB_SECRET: &str = "It's a Secret to Everybody";

/// One receiver per source, each authenticated the way its vendor documents.
fn receivers() -> Vec<(RegistryReceiver, &'static str)> {
    let header = |name: &str, value: &str| {
        Some(ReceiverAuth::Header {
            name: name.into(),
            value: Secret::new(value),
        })
    };
    let receiver = |name: &str, source, auth, registry: Option<&str>| RegistryReceiver {
        name: name.into(),
        source,
        auth,
        insecure: false,
        registry: registry.map(str::to_owned),
    };
    vec![
        (
            receiver(
                "acr",
                RegistrySource::Acr,
                header("authorization", "Bearer acr-secret"),
                None,
            ),
            "acr",
        ),
        (
            receiver(
                "distribution",
                RegistrySource::Distribution,
                Some(ReceiverAuth::bearer("dist-secret")),
                None,
            ),
            "distribution",
        ),
        (
            receiver(
                "dockerhub",
                RegistrySource::DockerHub,
                Some(ReceiverAuth::UrlToken {
                    token: Secret::new("hub secret"),
                }),
                None,
            ),
            "dockerhub",
        ),
        (
            receiver(
                "generic",
                RegistrySource::Generic,
                Some(ReceiverAuth::generic_hmac(Secret::new("generic-secret"))),
                None,
            ),
            "generic",
        ),
        (
            receiver(
                "harbor",
                RegistrySource::Harbor,
                header("authorization", "harbor-secret"),
                Some("harbor.internal:8443"),
            ),
            "harbor",
        ),
        (
            receiver(
                "jfrog",
                RegistrySource::Jfrog,
                header("x-jfrog-event-auth", "jfrog-secret"),
                None,
            ),
            "jfrog",
        ),
        (
            receiver(
                "quay",
                RegistrySource::Quay,
                Some(ReceiverAuth::Basic {
                    username: "quay".into(),
                    password: Secret::new("quay-secret"),
                }),
                None,
            ),
            "quay",
        ),
    ]
}

/// The request that authenticates `body` for the receiver of `provider`.
fn registry_request(
    client: &reqwest::Client,
    base: &str,
    provider: &str,
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    let post = |path: &str| client.post(format!("{base}{path}"));
    match provider {
        "acr" => post("/webhooks/registry/acr").header("authorization", "Bearer acr-secret"),
        "distribution" => {
            post("/webhooks/registry/distribution").header("authorization", "Bearer dist-secret")
        }
        "dockerhub" => post("/webhooks/registry/dockerhub/hub%20secret"),
        "generic" => post("/webhooks/registry/generic").header(
            "x-kedge-signature-256",
            sign_hmac_sha256(&Secret::new("generic-secret"), &body),
        ),
        "harbor" => post("/webhooks/registry/harbor").header("authorization", "harbor-secret"),
        "jfrog" => post("/webhooks/registry/jfrog").header("x-jfrog-event-auth", "jfrog-secret"),
        "quay" => {
            let token = base64::engine::general_purpose::STANDARD.encode("quay:quay-secret");
            post("/webhooks/registry/quay").header("authorization", format!("Basic {token}"))
        }
        other => panic!("no receiver for {other}"),
    }
    .header("content-type", "application/json")
    .body(body)
}

fn payload_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json" || e == "txt") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn sidecar_headers(payload: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(payload.with_extension("headers")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect()
}

/// What the server should answer and queue for one delivery.
struct Expected {
    status: u16,
    queued: bool,
    images: Vec<ImageEvent>,
    repo: Option<(String, String)>,
    /// An opened or updated pull request's base repository and branch: it
    /// is queued when a push tracks that repository and branch.
    pull_request: Option<(String, String)>,
}

fn expect_registry(source: RegistrySource, registry: Option<&str>, body: &[u8]) -> Expected {
    match source.parse(body, registry) {
        Err(_) => Expected {
            status: 400,
            queued: false,
            images: vec![],
            repo: None,
            pull_request: None,
        },
        Ok(events) => {
            let tagged: Vec<ImageEvent> = events.into_iter().filter(|e| e.tag.is_some()).collect();
            Expected {
                status: 202,
                queued: !tagged.is_empty(),
                images: tagged,
                repo: None,
                pull_request: None,
            }
        }
    }
}

fn expect_github(event: Option<&str>, body: &[u8]) -> Expected {
    let nothing = |status| Expected {
        status,
        queued: false,
        images: vec![],
        repo: None,
        pull_request: None,
    };
    let Some(event) = event else {
        return nothing(400);
    };
    match parse_github_event(event, body) {
        Err(_) => nothing(400),
        Ok(GitHubEvent::Push {
            repository, branch, ..
        }) => Expected {
            status: 202,
            queued: true,
            images: vec![],
            repo: Some((repository.full_name, branch)),
            pull_request: None,
        },
        Ok(GitHubEvent::PackagePublished(image)) if image.tag.is_some() => Expected {
            status: 202,
            queued: true,
            images: vec![image],
            repo: None,
            pull_request: None,
        },
        Ok(GitHubEvent::PullRequestChanged {
            repository,
            base_branch,
            ..
        }) => Expected {
            pull_request: Some((repository.full_name, base_branch)),
            ..nothing(202)
        },
        Ok(_) => nothing(202),
    }
}

/// One fixture as a delivery.
struct Delivery {
    relative: String,
    provider: String,
    body: Vec<u8>,
    event: Option<String>,
    expected: Expected,
}

/// What each fixture should do, for the providers kedge serve receives.
fn plan(root: &Path, receivers: &[(RegistryReceiver, &str)]) -> Vec<Delivery> {
    let mut deliveries = Vec::new();
    for path in payload_files(root) {
        let relative = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let provider = relative.split('/').next().unwrap().to_owned();
        let body = std::fs::read(&path).unwrap();
        let (event, expected) = if provider == "github" {
            let headers = sidecar_headers(&path);
            let event = headers
                .iter()
                .find(|(n, _)| n == "x-github-event")
                .map(|(_, v)| v.clone());
            // argocd-image-updater's GHCR samples are `registry_package` deliveries.
            let event = event.or_else(|| {
                relative
                    .contains("argocd-image-updater")
                    .then(|| "registry_package".to_owned())
            });
            let expected = expect_github(event.as_deref(), &body);
            (event, expected)
        } else if let Some((receiver, _)) = receivers.iter().find(|(r, _)| r.name == provider) {
            (
                None,
                expect_registry(receiver.source, receiver.registry.as_deref(), &body),
            )
        } else {
            continue; // not a source kedge serve receives (see kedge-webhook's fixture test)
        };
        deliveries.push(Delivery {
            relative,
            provider,
            body,
            event,
            expected,
        });
    }
    deliveries
}

/// Tracks every image and repository the deliveries name.
fn tracking_config(
    receivers: &[(RegistryReceiver, &str)],
    images: &BTreeSet<String>,
    repositories: &BTreeSet<(String, String)>,
) -> ServerConfig {
    ServerConfig {
        github: Some(GitHubReceiver {
            secret: Some(Secret::new(GITHUB_SECRET)),
            insecure: false,
        }),
        receivers: receivers.iter().map(|(r, _)| r.clone()).collect(),
        images: images
            .iter()
            .map(|image| TrackedImage {
                alias: image.clone(),
                image: image.clone(),
                poll_interval: Some(Duration::ZERO),
            })
            .collect(),
        repositories: repositories
            .iter()
            .map(|(repo, _)| TrackedRepository {
                repo: repo.clone(),
                branches: vec![],
            })
            .collect(),
        queue: fast_queue(),
        ..ServerConfig::default()
    }
}

/// Sends one delivery with the right authentication; returns the status and the JSON answer.
async fn send(
    client: &reqwest::Client,
    base: &str,
    delivery: &Delivery,
) -> (u16, serde_json::Value) {
    let body = delivery.body.clone();
    let request = if delivery.provider == "github" {
        let signature = sign_hmac_sha256(&Secret::new(GITHUB_SECRET), &body);
        let mut request = client
            .post(format!("{base}/webhooks/github"))
            .header("x-hub-signature-256", signature);
        if let Some(event) = &delivery.event {
            request = request.header("x-github-event", event);
        }
        request.body(body)
    } else {
        registry_request(client, base, &delivery.provider, body)
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn every_fixture_through_http_queues_the_expected_jobs() {
    let root = fixtures_dir().join("webhooks");
    let receivers = receivers();
    let deliveries = plan(&root, &receivers);
    let mut tracked_images = BTreeSet::new();
    let mut tracked_repos = BTreeSet::new();
    for delivery in &deliveries {
        tracked_images.extend(delivery.expected.images.iter().map(|e| e.image.clone()));
        tracked_repos.extend(delivery.expected.repo.clone());
    }
    let server = start(tracking_config(&receivers, &tracked_images, &tracked_repos)).await;
    let (client, base) = (common::client(), server.url(""));
    let mut answers = BTreeMap::<&str, usize>::new();
    for delivery in &deliveries {
        let (status, answer) = send(&client, &base, delivery).await;
        let relative = &delivery.relative;
        assert_eq!(status, delivery.expected.status, "{relative}: {answer}");
        let tracked_pull_request = (delivery.expected.pull_request.as_ref())
            .is_some_and(|pull_request| tracked_repos.contains(pull_request));
        let queued = delivery.expected.queued || tracked_pull_request;
        let kind = match (status, answer["status"].as_str()) {
            (202, Some("queued")) if queued => "queued",
            (202, Some("ignored")) if !queued => "ignored",
            (400, None) if answer["error"].as_str().is_some_and(|e| !e.is_empty()) => "refused",
            other => panic!("{relative}: unexpected answer {other:?}: {answer}"),
        };
        *answers.entry(kind).or_default() += 1;
    }
    let expected_calls = tracked_images.len() + tracked_repos.len();
    server
        .runner
        .wait_for_calls(expected_calls, Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calls = server.runner.calls();
    let updates: BTreeSet<String> = server.runner.update_aliases().into_iter().collect();
    assert_eq!(updates, tracked_images);
    let refreshes: BTreeSet<(String, String)> = calls
        .iter()
        .filter_map(|c| match c {
            Call::Refresh { repo, branch } => Some((repo.clone(), branch.clone())),
            Call::Update { .. } => None,
        })
        .collect();
    assert_eq!(refreshes, tracked_repos);
    // One call per key: the fixtures' repeats of the same image coalesced.
    assert_eq!(calls.len(), expected_calls, "{calls:#?}");
    eprintln!(
        "{} deliveries: {answers:?}; {expected_calls} runner calls",
        deliveries.len()
    );
    assert!(answers.values().all(|n| *n >= 20), "{answers:?}");
    server.stop().await.unwrap();
}
