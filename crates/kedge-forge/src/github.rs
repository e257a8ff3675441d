//! The GitHub forge: pull requests over GitHub's REST API (github.com or GitHub
//! Enterprise Server), authenticated with a token or as a GitHub App installation.

use std::fmt;
use std::time::Duration;

use http::{HeaderValue, Method, StatusCode};
use jiff::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::auth::{AppSigner, InstallationToken, Secret};
use crate::pull_request::{GitHubLabel, GitHubPullRequest};
use crate::transport::{Answer, Call, Transport, next_link};
use crate::{ForgeError, GitHubAuth, Operation, PullRequest, PullRequestSpec, RateLimitPolicy};

/// github.com's REST API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Refresh an installation token once it has less than this left.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Pages read at most when listing pull requests (100 per page).
const MAX_PAGES: usize = 50;

/// Query values: everything but RFC 3986's unreserved characters is escaped.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where the repository is and how to authenticate.
#[derive(Debug, Clone)]
pub struct GitHubConfig {
    /// REST API root: [`DEFAULT_API_URL`], or `https://HOST/api/v3` for GitHub Enterprise Server.
    pub api_url: String,
    /// Repository owner (user or organization).
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Credentials.
    pub auth: GitHubAuth,
}

impl GitHubConfig {
    /// A repository on github.com.
    pub fn new(owner: impl Into<String>, repo: impl Into<String>, auth: GitHubAuth) -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            owner: owner.into(),
            repo: repo.into(),
            auth,
        }
    }
}

/// How requests are authenticated.
enum Authenticator {
    Token(Secret),
    App {
        signer: AppSigner,
        cached: Mutex<Option<InstallationToken>>,
    },
}

/// The answer to `POST /app/installations/{id}/access_tokens`.
#[derive(Deserialize)]
struct AccessTokenAnswer {
    token: String,
    /// RFC 3339, e.g. `2016-07-11T22:14:10Z`.
    expires_at: String,
}

/// A [`crate::Forge`] for one GitHub repository.
///
/// Build it inside a Tokio runtime: octocrab starts its worker task there.
pub struct GitHub {
    owner: String,
    name: String,
    pub(crate) transport: Transport,
    auth: Authenticator,
}

impl fmt::Debug for GitHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.auth {
            Authenticator::Token(_) => "token",
            Authenticator::App { .. } => "github-app",
        };
        f.debug_struct("GitHub")
            .field("repo", &self.transport.repo)
            .field("auth", &auth)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    /// A client for `config`'s repository with the default [`RateLimitPolicy`].
    pub fn new(config: GitHubConfig) -> Result<Self, ForgeError> {
        Self::with_policy(config, RateLimitPolicy::default())
    }

    /// A client for `config`'s repository that honours rate limits per `policy`.
    pub fn with_policy(config: GitHubConfig, policy: RateLimitPolicy) -> Result<Self, ForgeError> {
        let repo = format!("{}/{}", config.owner, config.repo);
        if tokio::runtime::Handle::try_current().is_err() {
            // octocrab spawns its request worker on the current runtime.
            return Err(ForgeError::InvalidConfig {
                repo,
                reason: "GitHub::new must be called inside a Tokio runtime".into(),
            });
        }
        for (what, value) in [("owner", &config.owner), ("repo", &config.repo)] {
            let valid = !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid {
                return Err(ForgeError::InvalidConfig {
                    repo,
                    reason: format!("{what} {value:?} is not a GitHub name"),
                });
            }
        }
        let auth = match config.auth {
            GitHubAuth::Token(token) => Authenticator::Token(Secret::new(token)),
            GitHubAuth::App {
                app_id,
                installation_id,
                private_key_pem,
            } => Authenticator::App {
                signer: AppSigner::new(app_id, installation_id, &private_key_pem)?,
                cached: Mutex::new(None),
            },
        };
        Ok(Self {
            transport: Transport::new(&config.api_url, repo, policy)?,
            owner: config.owner,
            name: config.repo,
            auth,
        })
    }

    pub(crate) fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.owner, self.name)
    }

    /// Sends an API call with the repository credentials; non-2xx answers are errors.
    /// A 401 with an App token drops the cached token and tries once more.
    pub(crate) async fn request(&self, call: &Call<'_>) -> Result<Answer, ForgeError> {
        let mut refused: Option<Secret> = None;
        loop {
            let token = self.api_token(refused.as_ref()).await?;
            let header = bearer(&self.transport.repo, &token)?;
            let answer = self
                .transport
                .send_limited(call, &|| Ok(header.clone()))
                .await?;
            let is_app = matches!(self.auth, Authenticator::App { .. });
            if answer.status == StatusCode::UNAUTHORIZED && is_app && refused.is_none() {
                tracing::info!(repo = %self.transport.repo, "installation token refused, getting a new one");
                refused = Some(token);
                continue;
            }
            if !answer.status.is_success() {
                return Err(self.transport.status_error(call, &answer));
            }
            return Ok(answer);
        }
    }

    /// The token for API and git calls; for an App, the cached installation token
    /// while it has more than five minutes left and is not the `refused` one.
    async fn api_token(&self, refused: Option<&Secret>) -> Result<Secret, ForgeError> {
        let (signer, cached) = match &self.auth {
            Authenticator::Token(token) => return Ok(token.clone()),
            Authenticator::App { signer, cached } => (signer, cached),
        };
        // Holding the lock while fetching makes concurrent callers share one token.
        let mut cached = cached.lock().await;
        // A concurrent caller may already have replaced a refused token.
        if let Some(token) = cached.as_ref()
            && Some(&token.token) != refused
            && token.is_fresh(Timestamp::now(), TOKEN_REFRESH_MARGIN)
        {
            return Ok(token.token.clone());
        }
        let fresh = self.installation_token(signer).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// `POST /app/installations/{id}/access_tokens` with a freshly signed JWT.
    async fn installation_token(
        &self,
        signer: &AppSigner,
    ) -> Result<InstallationToken, ForgeError> {
        let call = Call {
            operation: Operation::InstallationToken,
            number: None,
            method: Method::POST,
            target: format!(
                "/app/installations/{}/access_tokens",
                signer.installation_id
            ),
            body: None,
        };
        let repo = &self.transport.repo;
        let jwt = || bearer(repo, &signer.jwt(Timestamp::now())?);
        let answer = self.transport.send_limited(&call, &jwt).await?;
        if !answer.status.is_success() {
            return Err(self.transport.status_error(&call, &answer));
        }
        let parsed: AccessTokenAnswer = self.transport.json(&call, &answer)?;
        let expires_at: Timestamp =
            parsed
                .expires_at
                .parse()
                .map_err(|e| ForgeError::InvalidResponse {
                    repo: repo.clone(),
                    operation: call.operation,
                    number: None,
                    reason: format!("expires_at {:?}: {e}", parsed.expires_at),
                })?;
        tracing::info!(
            repo = %repo,
            app_id = signer.app_id,
            installation_id = signer.installation_id,
            expires_at = %expires_at,
            "got GitHub App installation token"
        );
        Ok(InstallationToken {
            token: Secret::new(parsed.token),
            expires_at,
        })
    }

    /// Adds `labels` to pull request `number`; returns all its labels afterwards.
    async fn add_labels(&self, number: u64, labels: &[&str]) -> Result<Vec<String>, ForgeError> {
        let body = json!({ "labels": labels });
        let call = Call {
            operation: Operation::AddLabels,
            number: Some(number),
            method: Method::POST,
            target: self.repo_path(&format!("/issues/{number}/labels")),
            body: Some(&body),
        };
        let answer = self.request(&call).await?;
        let labels: Vec<GitHubLabel> = self.transport.json(&call, &answer)?;
        Ok(labels.into_iter().map(|l| l.name).collect())
    }

    /// Sends `call` and reads a pull request object from the answer.
    async fn pull_request_call(&self, call: &Call<'_>) -> Result<PullRequest, ForgeError> {
        let answer = self.request(call).await?;
        let pr: GitHubPullRequest = self.transport.json(call, &answer)?;
        Ok(pr.into())
    }

    /// Open pull requests into `base`, following `Link` pagination; keeps those
    /// whose head is a branch of this repository and passes `keep`.
    async fn open_pull_requests(
        &self,
        operation: Operation,
        base: &str,
        head_filter: Option<&str>,
        keep: impl Fn(&GitHubPullRequest) -> bool,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        let mut target = format!(
            "{}?state=open&base={}&per_page=100",
            self.repo_path("/pulls"),
            encode(base)
        );
        if let Some(head) = head_filter {
            target.push_str(&format!("&head={}:{}", self.owner, encode(head)));
        }
        let mut found = Vec::new();
        for _ in 0..MAX_PAGES {
            let call = Call {
                operation,
                number: None,
                method: Method::GET,
                target,
                body: None,
            };
            let answer = self.request(&call).await?;
            let page: Vec<GitHubPullRequest> = self.transport.json(&call, &answer)?;
            found.extend(
                page.into_iter()
                    .filter(|pr| pr.head_is_owned_by(&self.owner) && keep(pr))
                    .map(PullRequest::from),
            );
            match next_link(&answer.headers) {
                Some(next) if self.transport.is_same_origin(&next) => target = next,
                Some(next) => {
                    tracing::warn!(repo = %self.transport.repo, next = %next, "ignoring a Link to another host");
                    break;
                }
                None => break,
            }
        }
        Ok(found)
    }
}

/// `Bearer <token>` as a sensitive header value.
fn bearer(repo: &str, token: &Secret) -> Result<HeaderValue, ForgeError> {
    token.bearer().ok_or_else(|| ForgeError::InvalidConfig {
        repo: repo.to_owned(),
        reason: "the token contains characters not allowed in an HTTP header".into(),
    })
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

impl crate::Forge for GitHub {
    #[tracing::instrument(skip_all, fields(repo = %self.transport.repo, head = %head, base = %base))]
    async fn find_open_pull_request(
        &self,
        head: &str,
        base: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let found = self
            .open_pull_requests(Operation::FindPullRequest, base, Some(head), |pr| {
                pr.head_ref() == head
            })
            .await?;
        Ok(found.into_iter().next())
    }

    #[tracing::instrument(skip_all, fields(repo = %self.transport.repo, head_prefix = %head_prefix, base = %base))]
    async fn list_open_pull_requests(
        &self,
        head_prefix: &str,
        base: &str,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        self.open_pull_requests(Operation::ListPullRequests, base, None, |pr| {
            pr.head_ref().starts_with(head_prefix)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(repo = %self.transport.repo, head = %spec.head, base = %spec.base))]
    async fn create_pull_request(&self, spec: &PullRequestSpec) -> Result<PullRequest, ForgeError> {
        let body = json!({
            "title": spec.title,
            "head": spec.head,
            "base": spec.base,
            "body": spec.body,
            "draft": spec.draft,
        });
        let call = Call {
            operation: Operation::CreatePullRequest,
            number: None,
            method: Method::POST,
            target: self.repo_path("/pulls"),
            body: Some(&body),
        };
        let mut pr = self.pull_request_call(&call).await?;
        tracing::info!(number = pr.number, url = %pr.url, "opened pull request");
        let labels = pr.missing_labels(spec);
        if !labels.is_empty() {
            pr.labels = self.add_labels(pr.number, &labels).await?;
        }
        Ok(pr)
    }

    #[tracing::instrument(skip_all, fields(repo = %self.transport.repo, number = number))]
    async fn update_pull_request(
        &self,
        number: u64,
        spec: &PullRequestSpec,
    ) -> Result<PullRequest, ForgeError> {
        let body = json!({ "title": spec.title, "body": spec.body });
        let call = Call {
            operation: Operation::UpdatePullRequest,
            number: Some(number),
            method: Method::PATCH,
            target: self.repo_path(&format!("/pulls/{number}")),
            body: Some(&body),
        };
        let mut pr = self.pull_request_call(&call).await?;
        let labels = pr.missing_labels(spec);
        if !labels.is_empty() {
            pr.labels = self.add_labels(number, &labels).await?;
        }
        tracing::info!(url = %pr.url, "updated pull request");
        Ok(pr)
    }

    #[tracing::instrument(skip_all, fields(repo = %self.transport.repo, number = number))]
    async fn close_pull_request(&self, number: u64, comment: &str) -> Result<(), ForgeError> {
        if !comment.is_empty() {
            let body = json!({ "body": comment });
            let call = Call {
                operation: Operation::Comment,
                number: Some(number),
                method: Method::POST,
                target: self.repo_path(&format!("/issues/{number}/comments")),
                body: Some(&body),
            };
            self.request(&call).await?;
        }
        let body = json!({ "state": "closed" });
        let call = Call {
            operation: Operation::ClosePullRequest,
            number: Some(number),
            method: Method::PATCH,
            target: self.repo_path(&format!("/pulls/{number}")),
            body: Some(&body),
        };
        self.request(&call).await?;
        tracing::info!("closed pull request");
        Ok(())
    }

    async fn git_credentials(&self) -> Result<(String, String), ForgeError> {
        let token = self.api_token(None).await?;
        Ok(("x-access-token".to_owned(), token.expose().to_owned()))
    }
}
