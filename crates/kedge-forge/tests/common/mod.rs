//! Helpers shared by the forge tests: a test GitHub and a client pointed at it.

#![allow(dead_code)]

use std::time::Duration;

use kedge_forge::test_server::{TestGitHub, TestGitHubOptions};
use kedge_forge::{GitHub, GitHubAuth, GitHubConfig, PullRequestSpec, RateLimitPolicy};

pub const OWNER: &str = "acme";
pub const REPO: &str = "deploy";
pub const TOKEN: &str = "ghp_testtoken123";

/// Short waits so rate-limit tests stay quick; behaviour, not timing, is asserted.
pub fn quick_policy() -> RateLimitPolicy {
    RateLimitPolicy {
        max_retries: 2,
        max_wait: Duration::from_secs(5),
        secondary_wait: Duration::from_millis(200),
        request_timeout: Duration::from_secs(10),
        retry_backoff: Duration::from_millis(100),
    }
}

pub fn client(server: &TestGitHub, auth: GitHubAuth) -> GitHub {
    let config = GitHubConfig {
        api_url: server.api_url().to_owned(),
        ..GitHubConfig::new(OWNER, REPO, auth)
    };
    GitHub::with_policy(config, quick_policy()).expect("client")
}

/// A test GitHub accepting [`TOKEN`], and a client using it.
pub async fn token_setup() -> (TestGitHub, GitHub) {
    let server = TestGitHub::start(TestGitHubOptions::token(OWNER, REPO, TOKEN))
        .await
        .expect("server");
    let github = client(&server, GitHubAuth::Token(TOKEN.into()));
    (server, github)
}

pub fn spec(head: &str) -> PullRequestSpec {
    PullRequestSpec {
        base: "main".into(),
        head: head.into(),
        title: format!("Update images on {head}"),
        body: "kedge updated `ghcr.io/acme/app` from 1.2.2 to 1.2.3.".into(),
        labels: vec!["kedge".into(), "automated".into()],
        draft: false,
    }
}
