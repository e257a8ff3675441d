//! GitHub App authentication against the test GitHub: signed JWTs, installation
//! tokens, their caching and refresh.

mod common;

use std::time::Duration;

use common::{OWNER, REPO, client, spec};
use kedge_forge::test_server::{TestGitHub, TestGitHubOptions, verify_app_jwt};
use kedge_forge::{Forge, ForgeError, GitHubAuth};

const APP_ID: u64 = 4242;
const INSTALLATION_ID: u64 = 77;
const PRIVATE_KEY: &str = include_str!("keys/test-app.pem");
const PUBLIC_KEY: &str = include_str!("keys/test-app.pub.pem");
const TOKEN_PATH: &str = "/app/installations/77/access_tokens";

fn app_auth() -> GitHubAuth {
    GitHubAuth::App {
        app_id: APP_ID,
        installation_id: INSTALLATION_ID,
        private_key_pem: PRIVATE_KEY.into(),
    }
}

async fn app_server() -> TestGitHub {
    let options = TestGitHubOptions::app(OWNER, REPO, APP_ID, INSTALLATION_ID, PUBLIC_KEY);
    TestGitHub::start(options).await.unwrap()
}

#[tokio::test]
async fn jwt_is_signed_for_the_app_and_buys_an_installation_token() {
    let server = app_server().await;
    let github = client(&server, app_auth());

    github
        .create_pull_request(&spec("kedge/app"))
        .await
        .unwrap();

    let token_request = &server.requests()[0];
    assert_eq!(
        (token_request.method.as_str(), token_request.path.as_str()),
        ("POST", TOKEN_PATH)
    );
    let jwt = token_request
        .authorization
        .as_deref()
        .and_then(|h| h.strip_prefix("Bearer "))
        .expect("bearer JWT");
    let claims =
        verify_app_jwt(jwt, APP_ID, PUBLIC_KEY).expect("JWT verifies with the App's public key");
    assert_eq!(claims.iss, serde_json::json!(APP_ID));
    let now = jiff::Timestamp::now().as_second();
    assert!(
        (now - 70..=now - 50).contains(&claims.iat),
        "iat a minute ago: {claims:?}"
    );
    assert!(
        claims.exp - now <= 600,
        "exp at most 10 minutes ahead: {claims:?}"
    );

    let issued = server.issued_tokens();
    let api_calls = &server.requests()[1..];
    assert_eq!(api_calls.len(), 2, "create, then labels");
    for call in api_calls {
        assert_eq!(call.authorization, Some(format!("Bearer {}", issued[0])));
    }
}

#[tokio::test]
async fn installation_token_is_cached_and_used_for_git() {
    let server = app_server().await;
    let github = client(&server, app_auth());

    github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap();
    github
        .list_open_pull_requests("kedge/", "main")
        .await
        .unwrap();
    let (user, password) = github.git_credentials().await.unwrap();

    assert_eq!(server.requests_to("POST", TOKEN_PATH).len(), 1);
    assert_eq!(user, "x-access-token");
    assert_eq!(password, server.issued_tokens()[0]);
}

#[tokio::test]
async fn token_with_less_than_five_minutes_left_is_refreshed() {
    let server = app_server().await;
    // GitHub tokens live an hour; this one is already inside the refresh margin.
    server.set_token_lifetime(Duration::from_secs(120));
    let github = client(&server, app_auth());

    github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap();
    server.set_token_lifetime(Duration::from_secs(3600));
    github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap();
    github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap();

    let issued = server.issued_tokens();
    assert_eq!(issued.len(), 2, "refreshed once, then cached");
    let last = server.requests().last().cloned().unwrap();
    assert_eq!(last.authorization, Some(format!("Bearer {}", issued[1])));
}

#[tokio::test]
async fn revoked_installation_token_is_replaced_after_a_401() {
    let server = app_server().await;
    let github = client(&server, app_auth());
    github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap();
    server.revoke_installation_tokens();

    github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap();

    let issued = server.issued_tokens();
    assert_eq!(issued.len(), 2);
    let statuses: Vec<(String, Option<String>)> = server
        .requests()
        .into_iter()
        .map(|r| (r.path, r.authorization))
        .skip(2)
        .collect();
    assert_eq!(
        statuses.len(),
        3,
        "refused call, new token, retried call: {statuses:?}"
    );
    assert_eq!(statuses[1].0, TOKEN_PATH);
    assert_eq!(statuses[2].1, Some(format!("Bearer {}", issued[1])));
}

#[tokio::test]
async fn wrong_app_key_is_an_authentication_failure() {
    let server = TestGitHub::start(TestGitHubOptions::app(
        OWNER,
        REPO,
        APP_ID + 1,
        INSTALLATION_ID,
        PUBLIC_KEY,
    ))
    .await
    .unwrap();
    let github = client(&server, app_auth());

    let err = github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap_err();

    assert!(matches!(err, ForgeError::Unauthorized { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(
            "GitHub acme/deploy: get installation token: authentication failed (HTTP 401"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn debug_output_hides_the_key() {
    let server = app_server().await;
    let github = client(&server, app_auth());
    let shown = format!("{github:?} {:?}", app_auth());
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    assert!(!shown.contains(&PRIVATE_KEY[40..80]), "{shown}");
}

#[tokio::test]
async fn concurrent_calls_share_one_installation_token() {
    let server = app_server().await;
    let github = client(&server, app_auth());

    let (a, b, c) = tokio::join!(
        github.find_open_pull_request("kedge/a", "main"),
        github.find_open_pull_request("kedge/b", "main"),
        github.git_credentials(),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();

    assert_eq!(server.requests_to("POST", TOKEN_PATH).len(), 1);
}
