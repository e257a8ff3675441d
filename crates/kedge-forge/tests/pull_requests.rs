//! The GitHub forge against the in-memory test GitHub: pull request lifecycle,
//! listing, authentication and the errors a user sees.

mod common;

use common::{OWNER, REPO, TOKEN, client, spec, token_setup};
use kedge_forge::test_server::{TestGitHub, TestGitHubOptions};
use kedge_forge::{Ensured, Forge, ForgeError, GitHubAuth, ensure_pull_request};
use serde_json::json;

#[tokio::test]
async fn create_opens_a_draft_with_labels() {
    let (server, github) = token_setup().await;
    let mut wanted = spec("kedge/app");
    wanted.draft = true;

    let pr = github.create_pull_request(&wanted).await.unwrap();

    assert_eq!(pr.number, 1);
    assert_eq!(
        pr.url,
        format!("{}/{OWNER}/{REPO}/pull/1", server.api_url())
    );
    assert_eq!((pr.head.as_str(), pr.base.as_str()), ("kedge/app", "main"));
    assert_eq!(pr.labels, vec!["kedge", "automated"]);
    assert!(pr.draft && pr.open);
    let create = &server.requests_to("POST", "/repos/acme/deploy/pulls")[0];
    assert_eq!(
        create.body,
        Some(json!({
            "title": wanted.title, "head": "kedge/app", "base": "main",
            "body": wanted.body, "draft": true
        }))
    );
    let labels = &server.requests_to("POST", "/repos/acme/deploy/issues/1/labels")[0];
    assert_eq!(labels.body, Some(json!({"labels": ["kedge", "automated"]})));
    let stored = &server.pull_requests()[0];
    assert_eq!(stored["draft"], true);
    assert_eq!(stored["labels"][1]["name"], "automated");
}

#[tokio::test]
async fn create_without_labels_sends_no_label_request() {
    let (server, github) = token_setup().await;
    let mut wanted = spec("kedge/app");
    wanted.labels.clear();
    github.create_pull_request(&wanted).await.unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn token_is_sent_as_bearer_authorization() {
    let (server, github) = token_setup().await;
    github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        request.authorization.as_deref(),
        Some("Bearer ghp_testtoken123")
    );
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/repos/acme/deploy/pulls");
    assert_eq!(
        request.query,
        "state=open&base=main&per_page=100&head=acme:kedge%2Fapp"
    );
}

#[tokio::test]
async fn ensure_twice_opens_one_pull_request() {
    let (server, github) = token_setup().await;
    let wanted = spec("kedge/app");

    let first = ensure_pull_request(&github, &wanted).await.unwrap();
    let second = ensure_pull_request(&github, &wanted).await.unwrap();

    assert!(matches!(first, Ensured::Created(_)), "{first:?}");
    assert!(matches!(second, Ensured::Unchanged(_)), "{second:?}");
    assert_eq!(first.pull_request(), second.pull_request());
    assert_eq!(server.pull_requests().len(), 1);
    assert_eq!(
        server.requests_to("POST", "/repos/acme/deploy/pulls").len(),
        1
    );
    assert!(
        server
            .requests_to("PATCH", "/repos/acme/deploy/pulls/1")
            .is_empty()
    );
}

#[tokio::test]
async fn ensure_updates_title_body_and_adds_missing_labels() {
    let (server, github) = token_setup().await;
    let mut wanted = spec("kedge/app");
    wanted.labels = vec!["kedge".into()];
    ensure_pull_request(&github, &wanted).await.unwrap();

    wanted.title = "Update app to 1.2.4".into();
    wanted.body = "new body".into();
    wanted.labels = vec!["kedge".into(), "automerge".into()];
    let updated = ensure_pull_request(&github, &wanted).await.unwrap();

    let Ensured::Updated(pr) = updated else {
        panic!("expected an update, got {updated:?}");
    };
    assert_eq!(
        (pr.title.as_str(), pr.body.as_str()),
        ("Update app to 1.2.4", "new body")
    );
    assert_eq!(pr.labels, vec!["kedge", "automerge"]);
    let patch = &server.requests_to("PATCH", "/repos/acme/deploy/pulls/1")[0];
    assert_eq!(
        patch.body,
        Some(json!({"title": "Update app to 1.2.4", "body": "new body"}))
    );
    let label_calls = server.requests_to("POST", "/repos/acme/deploy/issues/1/labels");
    assert_eq!(label_calls[1].body, Some(json!({"labels": ["automerge"]})));
    assert_eq!(server.pull_requests().len(), 1);
}

#[tokio::test]
async fn close_comments_then_closes() {
    let (server, github) = token_setup().await;
    let pr = github
        .create_pull_request(&spec("kedge/app"))
        .await
        .unwrap();

    github
        .close_pull_request(pr.number, "Superseded by #2: app 1.2.4 replaces 1.2.3.")
        .await
        .unwrap();

    assert_eq!(
        server.comments(1),
        vec!["Superseded by #2: app 1.2.4 replaces 1.2.3."]
    );
    let methods: Vec<(String, String)> = server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .skip(2)
        .collect();
    assert_eq!(
        methods,
        vec![
            ("POST".into(), "/repos/acme/deploy/issues/1/comments".into()),
            ("PATCH".into(), "/repos/acme/deploy/pulls/1".into()),
        ]
    );
    assert_eq!(server.pull_requests()[0]["state"], "closed");
    assert_eq!(
        github
            .find_open_pull_request("kedge/app", "main")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn list_follows_link_pagination_and_keeps_own_prefixed_branches() {
    let mut options = TestGitHubOptions::token(OWNER, REPO, TOKEN);
    options.max_page_size = 2;
    let server = TestGitHub::start(options).await.unwrap();
    let github = client(&server, GitHubAuth::Token(TOKEN.into()));
    for head in ["kedge/a", "feature/x", "kedge/b", "kedge/c"] {
        server.seed_pull_request(OWNER, head, "main", head);
    }
    server.seed_pull_request("someone", "kedge/fork", "main", "fork with our prefix");
    server.seed_pull_request(OWNER, "kedge/other-base", "release", "other base");

    let found = github
        .list_open_pull_requests("kedge/", "main")
        .await
        .unwrap();

    let mut heads: Vec<&str> = found.iter().map(|pr| pr.head.as_str()).collect();
    heads.sort();
    assert_eq!(heads, vec!["kedge/a", "kedge/b", "kedge/c"]);
    let pages = server.requests_to("GET", "/repos/acme/deploy/pulls");
    assert_eq!(pages.len(), 3, "5 open PRs into main, 2 a page");
    assert!(pages[2].query.ends_with("page=3"), "{}", pages[2].query);
}

#[tokio::test]
async fn find_ignores_a_fork_branch_of_the_same_name() {
    let (server, github) = token_setup().await;
    server.seed_pull_request("someone", "kedge/app", "main", "fork");
    assert_eq!(
        github
            .find_open_pull_request("kedge/app", "main")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn wrong_token_says_authentication_failed() {
    let (server, _) = token_setup().await;
    let github = client(&server, GitHubAuth::Token("ghp_wrong".into()));

    let err = github
        .create_pull_request(&spec("kedge/app"))
        .await
        .unwrap_err();

    assert!(matches!(err, ForgeError::Unauthorized { .. }), "{err:?}");
    assert!(err.is_auth());
    assert_eq!(
        err.to_string(),
        "GitHub acme/deploy: create pull request: authentication failed (HTTP 401: Bad credentials); \
         check the token or the GitHub App id, installation id and private key"
    );
    assert!(!format!("{err:?}").contains("ghp_wrong"));
}

#[tokio::test]
async fn duplicate_create_carries_githubs_message() {
    let (_server, github) = token_setup().await;
    github
        .create_pull_request(&spec("kedge/app"))
        .await
        .unwrap();

    let err = github
        .create_pull_request(&spec("kedge/app"))
        .await
        .unwrap_err();

    assert!(matches!(err, ForgeError::Validation { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "GitHub acme/deploy: create pull request: rejected (HTTP 422): \
         Validation Failed: A pull request already exists for acme:kedge/app."
    );
}

#[tokio::test]
async fn missing_pull_request_names_its_number() {
    let (_server, github) = token_setup().await;
    let err = github
        .update_pull_request(42, &spec("kedge/app"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::NotFound {
                number: Some(42),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("GitHub acme/deploy: update pull request #42: not found"),
        "{err}"
    );
}

#[tokio::test]
async fn git_credentials_for_a_token() {
    let (_server, github) = token_setup().await;
    let (user, password) = github.git_credentials().await.unwrap();
    assert_eq!(
        (user.as_str(), password.as_str()),
        ("x-access-token", TOKEN)
    );
    assert!(!format!("{github:?}").contains(TOKEN));
}

#[tokio::test]
async fn unreachable_forge_is_a_connect_error() {
    let port = kedge_testkit::free_port();
    let config = kedge_forge::GitHubConfig {
        api_url: format!("http://127.0.0.1:{port}"),
        ..kedge_forge::GitHubConfig::new(OWNER, REPO, GitHubAuth::Token(TOKEN.into()))
    };
    let github = kedge_forge::GitHub::with_policy(config, common::quick_policy()).unwrap();
    let err = github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Connect { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("GitHub acme/deploy: find open pull request: request failed")
    );
}

#[tokio::test]
async fn invalid_names_are_refused_before_any_request() {
    let config = kedge_forge::GitHubConfig::new("acme", "de ploy", GitHubAuth::Token(TOKEN.into()));
    let err = kedge_forge::GitHub::new(config).unwrap_err();
    assert!(matches!(err, ForgeError::InvalidConfig { .. }), "{err:?}");
}

#[test]
fn building_outside_a_runtime_is_an_error_not_a_panic() {
    let config = kedge_forge::GitHubConfig::new(OWNER, REPO, GitHubAuth::Token(TOKEN.into()));
    let err = kedge_forge::GitHub::new(config).unwrap_err();
    assert!(err.to_string().contains("inside a Tokio runtime"), "{err}");
}

#[tokio::test]
async fn github_enterprise_api_path_is_kept_across_pages() {
    let mut options = TestGitHubOptions::token(OWNER, REPO, TOKEN);
    options.api_prefix = "/api/v3".into();
    options.max_page_size = 1;
    let server = TestGitHub::start(options).await.unwrap();
    assert!(server.api_url().ends_with("/api/v3"));
    let github = client(&server, GitHubAuth::Token(TOKEN.into()));
    github.create_pull_request(&spec("kedge/a")).await.unwrap();
    let second = github.create_pull_request(&spec("kedge/b")).await.unwrap();

    let found = github
        .list_open_pull_requests("kedge/", "main")
        .await
        .unwrap();

    assert_eq!(found.len(), 2);
    let web_root = server.api_url().trim_end_matches("/api/v3");
    assert_eq!(second.url, format!("{web_root}/{OWNER}/{REPO}/pull/2"));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths
            .iter()
            .all(|p| p.starts_with("/api/v3/repos/acme/deploy/")),
        "{paths:?}"
    );
    assert_eq!(
        server
            .requests_to("GET", "/api/v3/repos/acme/deploy/pulls")
            .len(),
        2
    );
}

#[tokio::test]
async fn one_marked_comment_is_added_then_edited_in_place_and_never_resent_unchanged() {
    let (server, github) = token_setup().await;
    let number = server.seed_pull_request(OWNER, "feature", "main", "A change");
    let marker = "<!-- kedge:diff -->";
    // Someone else's comment comes first and is left alone.
    server.seed_comment(number, "LGTM");

    let first = format!("{marker}\n1 object changes");
    let action = github.upsert_comment(number, marker, &first).await.unwrap();
    assert_eq!(action, kedge_forge::CommentAction::Created);
    let second = format!("{marker}\n2 objects change");
    let action = github
        .upsert_comment(number, marker, &second)
        .await
        .unwrap();
    assert_eq!(action, kedge_forge::CommentAction::Updated);
    assert_eq!(server.comments(number), ["LGTM".to_owned(), second.clone()]);

    let writes_before = server
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count();
    let action = github
        .upsert_comment(number, marker, &second)
        .await
        .unwrap();
    assert_eq!(action, kedge_forge::CommentAction::Unchanged);
    let writes_after = server
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count();
    assert_eq!(
        writes_after, writes_before,
        "an unchanged comment is not sent again"
    );
    let edits = server.requests_to("PATCH", "/repos/acme/deploy/issues/comments/2");
    assert_eq!(edits.len(), 1, "{:?}", server.requests());
}
