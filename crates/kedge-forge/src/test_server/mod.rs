//! An in-memory GitHub for tests, served over HTTP on `127.0.0.1`, port 0.
//!
//! It answers the documented REST shapes of the endpoints kedge uses, and no
//! more: `GET`/`POST /repos/{o}/{r}/pulls`, `PATCH /repos/{o}/{r}/pulls/{n}`,
//! `POST /repos/{o}/{r}/issues/{n}/labels`, `POST /repos/{o}/{r}/issues/{n}/comments`
//! and `POST /app/installations/{id}/access_tokens`. It checks the
//! `Authorization` header (a token, or App JWTs verified with the App's public
//! key and the installation tokens it issued), records every request, and can
//! be told to answer the next requests with a rate limit.
//!
//! ```no_run
//! use kedge_forge::test_server::{TestGitHub, TestGitHubOptions};
//! use kedge_forge::{GitHub, GitHubAuth, GitHubConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = TestGitHub::start(TestGitHubOptions::token("acme", "deploy", "test-token")).await?;
//! let config = GitHubConfig {
//!     api_url: server.api_url().to_owned(),
//!     ..GitHubConfig::new("acme", "deploy", GitHubAuth::Token("test-token".into()))
//! };
//! let github = GitHub::new(config)?;
//! // ... drive kedge, then look at server.pull_requests() and server.requests().
//! # Ok(())
//! # }
//! ```

mod handlers;
mod jwt;
mod model;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::oneshot;

pub use jwt::{AppJwtClaims, verify as verify_app_jwt};

use handlers::{Shared, lock};
use model::{Scripted, State, StoredPullRequest};

/// Which credentials the server accepts.
#[derive(Debug, Clone)]
pub enum TestAuth {
    /// `Authorization: Bearer <token>` (or `token <token>`) with exactly this token.
    Token(String),
    /// A GitHub App: JWTs signed by the key matching `public_key_pem` (RS256,
    /// `iss` = `app_id`) get installation tokens for `installation_id`, which the
    /// other endpoints accept until they expire.
    App {
        /// The App's id.
        app_id: u64,
        /// The only installation the server knows.
        installation_id: u64,
        /// The App's public key, PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`).
        public_key_pem: String,
    },
}

/// How to start a [`TestGitHub`].
#[derive(Debug, Clone)]
pub struct TestGitHubOptions {
    /// The repository's owner.
    pub owner: String,
    /// The repository's name.
    pub repo: String,
    /// Accepted credentials.
    pub auth: TestAuth,
    /// Largest `per_page` honoured (GitHub: 100); lower it to test pagination.
    pub max_page_size: usize,
    /// Lifetime of issued installation tokens (GitHub: one hour).
    pub token_lifetime: Duration,
    /// Where to listen: `127.0.0.1:0` (a free port) unless a fixed one is wanted.
    pub address: SocketAddr,
    /// Path of the REST API: empty like github.com, or `/api/v3` like GitHub Enterprise Server.
    pub api_prefix: String,
}

impl TestGitHubOptions {
    /// A repository that accepts `token`.
    pub fn token(owner: &str, repo: &str, token: &str) -> Self {
        Self::with_auth(owner, repo, TestAuth::Token(token.to_owned()))
    }

    /// A repository with a GitHub App installation.
    pub fn app(
        owner: &str,
        repo: &str,
        app_id: u64,
        installation_id: u64,
        public_key_pem: &str,
    ) -> Self {
        let auth = TestAuth::App {
            app_id,
            installation_id,
            public_key_pem: public_key_pem.to_owned(),
        };
        Self::with_auth(owner, repo, auth)
    }

    fn with_auth(owner: &str, repo: &str, auth: TestAuth) -> Self {
        Self {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            auth,
            max_page_size: 100,
            token_lifetime: Duration::from_secs(3600),
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_prefix: String::new(),
        }
    }
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, `PATCH`...
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string, empty when none.
    pub query: String,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    /// The JSON body, when there was one.
    pub body: Option<Value>,
    /// When it arrived, counted from the server's start.
    pub elapsed: Duration,
}

/// A rate-limit answer to play instead of the real one.
#[derive(Debug, Clone)]
pub enum RateLimitAnswer {
    /// Secondary limit: `status` (403 or 429) with `retry-after: retry_after` seconds.
    Secondary {
        /// 403 or 429.
        status: u16,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Secondary limit with no header at all, only GitHub's message.
    SecondaryWithoutHeaders {
        /// 403 or 429.
        status: u16,
    },
    /// Primary limit: `x-ratelimit-remaining: 0`, `x-ratelimit-reset` = now + `reset_after`.
    Primary {
        /// 403 or 429.
        status: u16,
        /// When the limit resets, from the moment of the answer.
        reset_after: Duration,
    },
}

/// A running in-memory GitHub; stops when dropped.
pub struct TestGitHub {
    api_url: String,
    state: Shared,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestGitHub {
    /// Serves on [`TestGitHubOptions::address`] (a free loopback port by default) until dropped.
    pub async fn start(options: TestGitHubOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(options.address).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let api_prefix = options.api_prefix.trim_end_matches('/').to_owned();
        if !api_prefix.is_empty() && !api_prefix.starts_with('/') {
            let reason = format!("api_prefix {api_prefix:?} must start with '/'");
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                reason,
            ));
        }
        let api_url = format!("{base_url}{api_prefix}");
        let state = Arc::new(Mutex::new(State {
            owner: options.owner,
            repo: options.repo,
            auth: options.auth,
            base_url,
            api_prefix: api_prefix.clone(),
            max_page_size: options.max_page_size.max(1),
            pull_requests: Vec::new(),
            issued: Vec::new(),
            token_lifetime: options.token_lifetime,
            requests: Vec::new(),
            scripted: VecDeque::new(),
            next_id: 0,
            started: Instant::now(),
        }));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = handlers::router(state.clone(), &api_prefix);
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "test GitHub server stopped");
            }
        });
        Ok(Self {
            api_url,
            state,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:PORT` plus [`TestGitHubOptions::api_prefix`]: the `api_url` to configure.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// Requests received so far with this method and path.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<RecordedRequest> {
        let state = lock(&self.state);
        let matching = state.requests.iter();
        matching
            .filter(|r| r.method == method && r.path == path)
            .cloned()
            .collect()
    }

    /// Every pull request, open or closed, as `GET /pulls/{n}` would show it, by number.
    pub fn pull_requests(&self) -> Vec<Value> {
        let state = lock(&self.state);
        let mut all: Vec<&StoredPullRequest> = state.pull_requests.iter().collect();
        all.sort_by_key(|pr| pr.number);
        all.iter().map(|pr| state.pull_request_json(pr)).collect()
    }

    /// Bodies of the comments on pull request `number`, oldest first.
    pub fn comments(&self, number: u64) -> Vec<String> {
        let state = lock(&self.state);
        let pr = state.pull_requests.iter().find(|pr| pr.number == number);
        pr.map(|pr| pr.comments.iter().map(|c| c.body.clone()).collect())
            .unwrap_or_default()
    }

    /// Adds a comment to pull request `number`, as another user would.
    pub fn seed_comment(&self, number: u64, body: &str) {
        let mut state = lock(&self.state);
        let id = state.new_comment_id();
        if let Some(pr) = state.find_mut(number) {
            pr.comments.push(model::StoredComment {
                id,
                body: body.to_owned(),
            });
        }
    }

    /// Adds an open pull request from `head_owner:head` (a fork when `head_owner`
    /// is not the repository's owner) into `base`, as if someone opened it; returns its number.
    pub fn seed_pull_request(&self, head_owner: &str, head: &str, base: &str, title: &str) -> u64 {
        let mut state = lock(&self.state);
        let now = Timestamp::now();
        let number = state.next_number();
        state.pull_requests.push(StoredPullRequest {
            number,
            title: title.to_owned(),
            body: None,
            head_owner: head_owner.to_owned(),
            head_ref: head.to_owned(),
            base_ref: base.to_owned(),
            open: true,
            draft: false,
            labels: Vec::new(),
            comments: Vec::new(),
            created_at: now,
            updated_at: now,
            closed_at: None,
        });
        number
    }

    /// Answers the next `times` requests, whatever they are, with `answer`.
    pub fn rate_limit_next(&self, times: usize, answer: RateLimitAnswer) {
        let mut state = lock(&self.state);
        let answer = Scripted::RateLimit(answer);
        state.scripted.extend(std::iter::repeat_n(answer, times));
    }

    /// Answers the next `times` requests, whatever they are, with `status`
    /// (e.g. 502 or 503) and GitHub's error body.
    pub fn fail_next(&self, times: usize, status: u16) {
        let mut state = lock(&self.state);
        let answer = Scripted::Status(status);
        state.scripted.extend(std::iter::repeat_n(answer, times));
    }

    /// Lifetime of installation tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.state).token_lifetime = lifetime;
    }

    /// Makes every installation token issued so far invalid, as
    /// `DELETE /installation/token` or an uninstall would.
    pub fn revoke_installation_tokens(&self) {
        let mut state = lock(&self.state);
        let now = Timestamp::now();
        for token in &mut state.issued {
            token.expires_at = now;
        }
    }

    /// Installation tokens issued so far, oldest first.
    pub fn issued_tokens(&self) -> Vec<String> {
        let state = lock(&self.state);
        state.issued.iter().map(|t| t.token.clone()).collect()
    }
}

impl Drop for TestGitHub {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
