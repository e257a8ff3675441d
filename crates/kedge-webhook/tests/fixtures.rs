//! Every webhook payload in `shared/fixtures/webhooks/` through the parsers,
//! with the result its source expects; the files kedge does not handle are
//! listed with the reason, and the list is asserted exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod fixture_tables;

use fixture_tables::{
    EXPECTED_NOT_APPLICABLE, GitHub, NOT_APPLICABLE, Registry, github_expectations,
    registry_expectations,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use kedge_webhook::{
    DeliveryAuth, GitHubEvent, ImageEvent, ReceiverAuth, RegistrySource, Secret, normalise_image,
    parse_github_event,
};

/// The secret GitHub's docs sign with; the fixture collector used it for GitHub samples.
const GITHUB_DOCS_SECRET: &str = "It's a Secret to Everybody";
/// The secret Flux's receiver tests sign with.
const FLUX_SECRET: &str = "token";

use kedge_testkit::fixtures_dir;

fn not_applicable(relative: &str) -> Option<&'static str> {
    NOT_APPLICABLE
        .iter()
        .find(|(prefix, _)| {
            relative == *prefix || (prefix.ends_with('/') && relative.starts_with(prefix))
        })
        .map(|(_, reason)| *reason)
}

fn registry_source(relative: &str) -> Option<RegistrySource> {
    match relative.split('/').next()? {
        "acr" => Some(RegistrySource::Acr),
        "distribution" => Some(RegistrySource::Distribution),
        "dockerhub" => Some(RegistrySource::DockerHub),
        "harbor" => Some(RegistrySource::Harbor),
        "quay" => Some(RegistrySource::Quay),
        "jfrog" => Some(RegistrySource::Jfrog),
        "generic" => Some(RegistrySource::Generic),
        _ => None,
    }
}

/// `Name: value` lines of a `.headers` sidecar, and its comments.
fn read_sidecar(payload: &Path) -> (HeaderMap, String) {
    let path = payload.with_extension("headers");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut headers = HeaderMap::new();
    let mut comments = String::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            comments.push_str(comment);
        } else if let Some((name, value)) = line.split_once(':') {
            headers.insert(
                HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                HeaderValue::from_str(value.trim()).unwrap(),
            );
        }
    }
    (headers, comments)
}

/// Verifies a sidecar's computed `X-Hub-Signature-256`; true when there was one.
fn check_signature(relative: &str, body: &[u8], headers: &HeaderMap, comments: &str) -> bool {
    if !headers.contains_key("x-hub-signature-256") {
        return false;
    }
    let secret = if comments.contains("secret \"token\"") {
        FLUX_SECRET
    } else {
        GITHUB_DOCS_SECRET
    };
    let auth = ReceiverAuth::github(Secret::new(secret));
    let request = DeliveryAuth {
        headers,
        query: None,
        path_token: None,
        body,
    };
    auth.verify(&request)
        .unwrap_or_else(|e| panic!("{relative}: signature: {e}"));
    let mut tampered = body.to_vec();
    tampered.push(b' ');
    let request = DeliveryAuth {
        body: &tampered,
        ..request
    };
    assert!(
        auth.verify(&request).is_err(),
        "{relative}: tampered body accepted"
    );
    true
}

/// True for a digest in an upstream sample that kedge-image refuses (too short for sha256).
fn refused_digest(digest: Option<&str>) -> bool {
    digest.is_some_and(|d| kedge_image::validate_digest(d).is_err())
}

/// True when `error` refuses a payload for a digest kedge-image refuses: upstream
/// samples made up short ones (`sha256:def456`), which no registry sends.
fn refused_for_digest(error: &kedge_webhook::WebhookError) -> bool {
    matches!(error, kedge_webhook::WebhookError::InvalidValue { what: "digest", input }
        if refused_digest(Some(input)))
}

fn image_tuple(event: &ImageEvent) -> (String, Option<String>, Option<String>) {
    (event.image.clone(), event.tag.clone(), event.digest.clone())
}

fn check_registry(
    relative: &str,
    result: Result<Vec<ImageEvent>, kedge_webhook::WebhookError>,
    expect: &Registry,
) {
    match (expect, &result) {
        // Upstream samples with made-up digests (`sha256:abc123`): kedge-image's digest
        // rule holds for webhooks too, so the payload is refused, naming the digest.
        (Registry::Events(want), Err(e)) if want.iter().any(|(_, _, d)| refused_digest(*d)) => {
            assert!(refused_for_digest(e), "{relative}: {e}");
        }
        (Registry::Events(want), Ok(got)) => {
            let want: Vec<_> = want
                .iter()
                .map(|(i, t, d)| (i.to_string(), t.map(str::to_owned), d.map(str::to_owned)))
                .collect();
            let got: Vec<_> = got.iter().map(image_tuple).collect();
            assert_eq!(got, want, "{relative}");
        }
        (Registry::Nothing, Ok(got)) => assert!(got.is_empty(), "{relative}: {got:?}"),
        (Registry::Error, Err(e)) => assert!(!e.is_unauthorized(), "{relative}: {e}"),
        _ => panic!("{relative}: expected {expect:?}, got {result:?}"),
    }
}

fn check_github(relative: &str, event: Option<&str>, body: &[u8], expect: &GitHub) {
    let Some(event) = event else {
        assert!(
            matches!(expect, GitHub::NoEventHeader),
            "{relative}: no X-GitHub-Event header"
        );
        return;
    };
    let parsed = match (expect, parse_github_event(event, body)) {
        (GitHub::Package(_, _, digest), Err(e)) if refused_digest(*digest) => {
            assert!(refused_for_digest(&e), "{relative}: {e}");
            return;
        }
        (_, parsed) => parsed.unwrap_or_else(|e| panic!("{relative}: {e}")),
    };
    let ok = match (expect, &parsed) {
        (GitHub::Ping, GitHubEvent::Ping { .. }) => true,
        (GitHub::Ignored, GitHubEvent::Ignored { .. }) => true,
        (
            GitHub::Push(repo, branch),
            GitHubEvent::Push {
                repository,
                branch: b,
                ..
            },
        ) => repository.full_name == *repo && b == branch && repository.clone_url.is_some(),
        (
            GitHub::PullRequest(repo, number, base, base_commit, head_commit),
            GitHubEvent::PullRequestChanged {
                repository,
                number: n,
                base_branch,
                base_sha,
                head_sha,
                from_fork: false,
            },
        ) => {
            repository.full_name == *repo
                && n == number
                && base_branch == base
                && base_sha == base_commit
                && head_sha == head_commit
        }
        (GitHub::Package(image, tag, digest), GitHubEvent::PackagePublished(e)) => {
            image_tuple(e)
                == (
                    image.to_string(),
                    tag.map(str::to_owned),
                    digest.map(str::to_owned),
                )
        }
        _ => false,
    };
    assert!(ok, "{relative}: expected {expect:?}, got {parsed:?}");
}

/// One line of an argocd-image-updater `cases.jsonl`.
fn check_case(provider: &str, case: &serde_json::Value, body: &[u8], relative: &str) {
    let field = |name: &str| {
        case.get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let expect_error = case
        .get("expectError")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let registry_hint = [
        field("expectedRegistry"),
        field("expectedURL"),
        field("expectedRegistryURL"),
    ]
    .into_iter()
    .find(|r| !r.is_empty());
    let (result, default_registry) = match provider {
        // argocd-image-updater's GHCR parser is fed `registry_package` deliveries.
        "github" => {
            let result = match parse_github_event("registry_package", body) {
                Ok(GitHubEvent::PackagePublished(e)) => Ok(vec![e]),
                Ok(_) => Ok(Vec::new()),
                Err(e) => Err(e),
            };
            (result, "ghcr.io")
        }
        // argocd-image-updater's Harbor test falls back to the host `harbor`:
        // kedge does the same when the receiver is configured with that registry.
        "harbor" => (RegistrySource::Harbor.parse(body, Some("harbor")), "harbor"),
        "dockerhub" => (RegistrySource::DockerHub.parse(body, None), "docker.io"),
        "quay" => (RegistrySource::Quay.parse(body, None), "quay.io"),
        "acr" => (RegistrySource::Acr.parse(body, None), ""),
        other => panic!("{relative}: no case handling for {other}"),
    };
    if let Err(e) = &result
        && refused_for_digest(e)
    {
        return;
    }
    if expect_error {
        let tagged = result
            .as_ref()
            .map(|events| events.iter().any(|e| e.tag.is_some()));
        assert!(
            !matches!(tagged, Ok(true)),
            "{relative}: expected an error or no tagged push, got {result:?}"
        );
        return;
    }
    let events = result.unwrap_or_else(|e| panic!("{relative}: {e}"));
    let first = events
        .first()
        .unwrap_or_else(|| panic!("{relative}: no event"));
    let registry = registry_hint.as_deref().unwrap_or(default_registry);
    assert_eq!(
        first.image,
        normalise_image(registry, &field("expectedRepo")).unwrap(),
        "{relative}"
    );
    let tag = field("expectedTag");
    assert_eq!(
        first.tag.as_deref(),
        (!tag.is_empty()).then_some(tag.as_str()),
        "{relative}"
    );
    let digest = field("expectedDigest");
    if !digest.is_empty() {
        assert_eq!(first.digest.as_deref(), Some(digest.as_str()), "{relative}");
    }
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

/// `payload path (relative to webhooks/)` → case line, from every `cases.jsonl`.
fn cases(root: &Path) -> BTreeMap<String, serde_json::Value> {
    let mut cases = BTreeMap::new();
    for file in payload_files(root)
        .iter()
        .filter_map(|p| p.parent())
        .collect::<BTreeSet<_>>()
    {
        let Some(test_dir) = file.parent() else {
            continue;
        };
        let jsonl = test_dir.join("cases.jsonl");
        let Ok(text) = std::fs::read_to_string(&jsonl) else {
            continue;
        };
        let base = test_dir
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap();
        for line in text.lines() {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            let payload = base.join(case["payload_file"].as_str().unwrap());
            let relative = payload
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            cases.insert(relative, case);
        }
    }
    cases
}

#[test]
fn every_webhook_fixture_parses_as_its_source_expects() {
    let root = fixtures_dir().join("webhooks");
    let cases = cases(&root);
    let github = github_expectations();
    let registry = registry_expectations();
    let (mut checked, mut signatures) = (0, 0);
    let mut skipped = BTreeMap::new();
    let mut used = BTreeSet::new();
    for path in payload_files(&root) {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let body = std::fs::read(&path).unwrap();
        let (headers, comments) = read_sidecar(&path);
        if check_signature(&relative, &body, &headers, &comments) {
            signatures += 1;
        }
        if let Some(reason) = not_applicable(&relative) {
            skipped.insert(relative, reason);
            continue;
        }
        let provider = relative.split('/').next().unwrap();
        used.insert(relative.clone());
        if let Some(case) = cases.get(&relative) {
            check_case(provider, case, &body, &relative);
        } else if let Some(expect) = github.get(relative.as_str()) {
            let event = headers.get("x-github-event").map(|v| v.to_str().unwrap());
            check_github(&relative, event, &body, expect);
        } else if let Some(expect) = registry.get(relative.as_str()) {
            let source =
                registry_source(&relative).unwrap_or_else(|| panic!("{relative}: no source"));
            check_registry(&relative, source.parse(&body, None), expect);
        } else {
            panic!(
                "{relative}: no expectation; add it to a table or to NOT_APPLICABLE with a reason"
            );
        }
        checked += 1;
    }
    let skipped_list: Vec<String> = skipped.keys().cloned().collect();
    assert_eq!(
        skipped_list, EXPECTED_NOT_APPLICABLE,
        "the not-applicable list changed"
    );
    for (file, reason) in &skipped {
        eprintln!("not applicable: {file}: {reason}");
    }
    // Every table entry names a file that exists: no stale expectations.
    for file in github.keys().chain(registry.keys()) {
        assert!(
            used.contains(*file),
            "{file}: in a table but not in the fixtures"
        );
    }
    assert_eq!((checked, skipped.len(), signatures), (91, 29, 23));
}

#[test]
fn github_docs_signature_vector_verifies() {
    let path = fixtures_dir().join("webhooks/github/signature-test-vectors.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut count = 0;
    for line in text.lines() {
        let vector: serde_json::Value = serde_json::from_str(line).unwrap();
        let secret = Secret::new(vector["secret"].as_str().unwrap());
        let payload = vector["payload"].as_str().unwrap().as_bytes();
        let expected = vector["expected"].as_str().unwrap();
        assert_eq!(kedge_webhook::sign_hmac_sha256(&secret, payload), expected);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-hub-signature-256",
            HeaderValue::from_str(expected).unwrap(),
        );
        let request = DeliveryAuth {
            headers: &headers,
            query: None,
            path_token: None,
            body: payload,
        };
        ReceiverAuth::github(secret.clone())
            .verify(&request)
            .unwrap();
        let wrong = ReceiverAuth::github(Secret::new("It's a Secret to Everybody!"));
        assert!(wrong.verify(&request).unwrap_err().is_unauthorized());
        count += 1;
    }
    assert_eq!(count, 1);
}

/// Argo CD's recorded push (two files added, one modified in one commit):
/// the paths it lists, each once and sorted. octokit's push with its
/// commits trimmed lists none, and one of a shape kedge does not expect
/// lists the paths it can read: it is still a push.
#[test]
fn a_push_lists_the_paths_its_commits_changed() {
    let read = |relative: &str| std::fs::read(fixtures_dir().join(relative)).unwrap();
    let body =
        read("webhooks/github/argoproj__argo-cd/util/webhook/testdata/github-commit-event.json");
    let mut payload: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // The same file modified again in a second commit is listed once.
    let again = serde_json::json!({"modified": ["ksapps/test-app/app.yaml"], "added": null});
    payload["commits"].as_array_mut().unwrap().push(again);
    let body = serde_json::to_vec(&payload).unwrap();
    match parse_github_event("push", &body).unwrap() {
        GitHubEvent::Push { changed_paths, .. } => assert_eq!(
            changed_paths,
            [
                "ksapps/test-app/app.yaml",
                "ksapps/test-app/environments/staging-argocd-demo/main.jsonnet",
                "ksapps/test-app/environments/staging-argocd-demo/params.libsonnet",
            ]
        ),
        other => panic!("expected a push, got {other:?}"),
    }
    let body = read(
        "webhooks/github/octokit__webhooks/payload-examples/api.github.com/push/with-new-branch.payload.json",
    );
    let mut payload: serde_json::Value = serde_json::from_slice(&body).unwrap();
    payload["commits"] = serde_json::Value::Null;
    let body = serde_json::to_vec(&payload).unwrap();
    match parse_github_event("push", &body).unwrap() {
        GitHubEvent::Push { changed_paths, .. } => assert!(changed_paths.is_empty()),
        other => panic!("expected a push, got {other:?}"),
    }
    payload["commits"] =
        serde_json::json!([{"added": "not-a-list"}, 7, {"modified": [1, "a.yaml"]}]);
    let body = serde_json::to_vec(&payload).unwrap();
    match parse_github_event("push", &body).unwrap() {
        GitHubEvent::Push { changed_paths, .. } => assert_eq!(changed_paths, ["a.yaml"]),
        other => panic!("expected a push, got {other:?}"),
    }
}

/// The fixtures hold no merged pull request (every `closed` sample has
/// `merged: false`), so this flips octokit's closed sample: a hand-made
/// variant of real data.
#[test]
fn merged_pull_request_names_the_base_branch() {
    let path = fixtures_dir()
        .join("webhooks/github/octokit__webhooks/payload-examples/api.github.com/pull_request/closed.payload.json");
    let mut payload: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    payload["pull_request"]["merged"] = serde_json::Value::Bool(true);
    let body = serde_json::to_vec(&payload).unwrap();
    match parse_github_event("pull_request", &body).unwrap() {
        GitHubEvent::PullRequestMerged {
            repository,
            base_branch,
            number,
        } => {
            assert_eq!(repository.full_name, "Codertocat/Hello-World");
            assert_eq!(base_branch, "master");
            assert_eq!(number, 2);
        }
        other => panic!("expected a merged pull request, got {other:?}"),
    }
}

/// octokit's `opened` sample with its head moved to a fork: marked, so the
/// server does not render it with the cluster's settings.
#[test]
fn a_pull_request_from_a_fork_says_so() {
    let path = fixtures_dir()
        .join("webhooks/github/octokit__webhooks/payload-examples/api.github.com/pull_request/opened.payload.json");
    let mut payload: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let same = parse_github_event("pull_request", &serde_json::to_vec(&payload).unwrap()).unwrap();
    assert!(
        matches!(
            same,
            GitHubEvent::PullRequestChanged {
                from_fork: false,
                ..
            }
        ),
        "{same:?}"
    );
    payload["pull_request"]["head"]["repo"]["full_name"] = "Mallory/Hello-World".into();
    let fork = parse_github_event("pull_request", &serde_json::to_vec(&payload).unwrap()).unwrap();
    assert!(
        matches!(
            fork,
            GitHubEvent::PullRequestChanged {
                from_fork: true,
                ..
            }
        ),
        "{fork:?}"
    );
}
