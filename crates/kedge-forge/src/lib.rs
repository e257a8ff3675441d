//! kedge's forge layer: open, update and close the pull requests of kedge's
//! pull-request mode, and hand out credentials for `git push` over HTTPS.
//!
//! [`Forge`] is the seam the update flow talks to; [`GitHub`] implements it for
//! github.com and GitHub Enterprise Server with a token or as a GitHub App.
//! Rate limits (primary and secondary) are waited out politely, a bounded
//! number of times. With the `test-server` feature, `test_server` serves an
//! in-memory GitHub on loopback for tests.
//!
//! ```no_run
//! use kedge_forge::{Forge, GitHub, GitHubAuth, GitHubConfig, PullRequestSpec, ensure_pull_request};
//!
//! # async fn run() -> Result<(), kedge_forge::ForgeError> {
//! let config = GitHubConfig::new("acme", "deploy", GitHubAuth::Token("ghp_…".into()));
//! let github = GitHub::new(config)?;
//! let spec = PullRequestSpec {
//!     base: "main".into(),
//!     head: "kedge/update-app".into(),
//!     title: "Update app to 1.2.3".into(),
//!     body: "Bumps `ghcr.io/acme/app` from 1.2.2 to 1.2.3.".into(),
//!     labels: vec!["kedge".into()],
//!     draft: false,
//! };
//! let outcome = ensure_pull_request(&github, &spec).await?;
//! println!("{}", outcome.pull_request().url);
//! # Ok(())
//! # }
//! ```

mod auth;
mod comment;
mod error;
mod github;
mod pull_request;
mod transport;

#[cfg(feature = "test-server")]
pub mod test_server;

use std::future::Future;

pub use auth::GitHubAuth;
pub use comment::CommentAction;
pub use error::{ForgeError, Operation};
pub use github::{DEFAULT_API_URL, GitHub, GitHubConfig};
pub use pull_request::{PullRequest, PullRequestSpec};
pub use transport::RateLimitPolicy;

/// The pull request operations of kedge's pull-request mode.
///
/// [`GitHub`] implements it over GitHub's REST API.
pub trait Forge: Send + Sync {
    /// The open pull request from branch `head` (in this repository) into `base`, if any.
    fn find_open_pull_request(
        &self,
        head: &str,
        base: &str,
    ) -> impl Future<Output = Result<Option<PullRequest>, ForgeError>> + Send;

    /// Open pull requests into `base` whose head branch (in this repository)
    /// starts with `head_prefix`: kedge's own, to close those that became moot.
    fn list_open_pull_requests(
        &self,
        head_prefix: &str,
        base: &str,
    ) -> impl Future<Output = Result<Vec<PullRequest>, ForgeError>> + Send;

    /// Opens the pull request, then adds its labels.
    fn create_pull_request(
        &self,
        spec: &PullRequestSpec,
    ) -> impl Future<Output = Result<PullRequest, ForgeError>> + Send;

    /// Sets title and body of pull request `number` and adds the labels it lacks.
    fn update_pull_request(
        &self,
        number: u64,
        spec: &PullRequestSpec,
    ) -> impl Future<Output = Result<PullRequest, ForgeError>> + Send;

    /// Comments `comment` on pull request `number` (unless empty), then closes it.
    fn close_pull_request(
        &self,
        number: u64,
        comment: &str,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;

    /// Username and password for `git` over HTTPS to this forge.
    fn git_credentials(&self) -> impl Future<Output = Result<(String, String), ForgeError>> + Send;
}

/// What [`ensure_pull_request`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    /// No open pull request existed; this one was opened.
    Created(PullRequest),
    /// The open pull request's title, body or labels were brought up to date.
    Updated(PullRequest),
    /// The open pull request already matched; nothing was sent.
    Unchanged(PullRequest),
}

impl Ensured {
    /// The pull request, whatever was done to it.
    pub fn pull_request(&self) -> &PullRequest {
        match self {
            Self::Created(pr) | Self::Updated(pr) | Self::Unchanged(pr) => pr,
        }
    }
}

/// Makes sure one open pull request from `spec.head` into `spec.base` matches
/// `spec`: updates the existing one, or opens it. Running it twice opens one.
pub async fn ensure_pull_request<F: Forge>(
    forge: &F,
    spec: &PullRequestSpec,
) -> Result<Ensured, ForgeError> {
    match forge.find_open_pull_request(&spec.head, &spec.base).await? {
        Some(existing) if existing.matches(spec) => Ok(Ensured::Unchanged(existing)),
        Some(existing) => Ok(Ensured::Updated(
            forge.update_pull_request(existing.number, spec).await?,
        )),
        None => Ok(Ensured::Created(forge.create_pull_request(spec).await?)),
    }
}
