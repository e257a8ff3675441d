//! The forge crate's error type.

use std::fmt;
use std::time::Duration;

/// What kedge was doing when a forge call failed; part of every request error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Looking up the open pull request from one branch into another.
    FindPullRequest,
    /// Listing kedge's open pull requests.
    ListPullRequests,
    /// Opening a pull request.
    CreatePullRequest,
    /// Changing a pull request's title and body.
    UpdatePullRequest,
    /// Adding labels to a pull request.
    AddLabels,
    /// Commenting on a pull request.
    Comment,
    /// Reading a pull request's comments.
    ListComments,
    /// Closing a pull request.
    ClosePullRequest,
    /// Exchanging a GitHub App JWT for an installation token.
    InstallationToken,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::FindPullRequest => "find open pull request",
            Self::ListPullRequests => "list open pull requests",
            Self::CreatePullRequest => "create pull request",
            Self::UpdatePullRequest => "update pull request",
            Self::AddLabels => "add labels",
            Self::Comment => "comment",
            Self::ListComments => "list comments",
            Self::ClosePullRequest => "close pull request",
            Self::InstallationToken => "get installation token",
        })
    }
}

/// Everything that can go wrong while talking to a forge.
///
/// Request errors name the repository (`owner/repo`), the [`Operation`] and the
/// pull request number where there is one, so a message printed on its own still
/// tells the user where to look. No variant ever carries a token or a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForgeError {
    /// The forge configuration was refused before any request was made.
    #[error("GitHub {repo}: invalid configuration: {reason}")]
    InvalidConfig {
        /// `owner/repo` as configured.
        repo: String,
        /// What was wrong.
        reason: String,
    },

    /// The GitHub App private key could not be used to sign a JWT.
    #[error("GitHub App {app_id}: cannot sign a JWT with the private key: {source}")]
    AppKey {
        /// The App's id.
        app_id: u64,
        /// What was wrong with the key: the JWT library's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The HTTP client could not be built.
    #[error("GitHub {repo}: cannot build HTTP client: {source}")]
    Client {
        /// `owner/repo`.
        repo: String,
        /// The HTTP client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The forge could not be reached, or the connection broke.
    #[error("GitHub {repo}: {operation}{}: request failed: {source}", number_suffix(.number))]
    Connect {
        /// `owner/repo`.
        repo: String,
        /// What kedge was doing.
        operation: Operation,
        /// The pull request, where there is one.
        number: Option<u64>,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// GitHub refused the credentials (HTTP 401).
    #[error(
        "GitHub {repo}: {operation}{}: authentication failed (HTTP 401: {message}); check the token or the GitHub App id, installation id and private key",
        number_suffix(.number)
    )]
    Unauthorized {
        /// `owner/repo`.
        repo: String,
        /// What kedge was doing.
        operation: Operation,
        /// The pull request, where there is one.
        number: Option<u64>,
        /// GitHub's message, e.g. "Bad credentials".
        message: String,
    },

    /// The credentials are valid but may not do this (HTTP 403 that is not a rate limit).
    #[error(
        "GitHub {repo}: {operation}{}: permission denied (HTTP 403: {message}); the token or App installation needs write access to pull requests and issues",
        number_suffix(.number)
    )]
    Forbidden {
        /// `owner/repo`.
        repo: String,
        /// What kedge was doing.
        operation: Operation,
        /// The pull request, where there is one.
        number: Option<u64>,
        /// GitHub's message.
        message: String,
    },

    /// The repository or pull request does not exist, or the credentials cannot see it.
    #[error(
        "GitHub {repo}: {operation}{}: not found (HTTP 404); the repository may not exist or be invisible to these credentials",
        number_suffix(.number)
    )]
    NotFound {
        /// `owner/repo`.
        repo: String,
        /// What kedge was doing.
        operation: Operation,
        /// The pull request, where there is one.
        number: Option<u64>,
    },

    /// GitHub refused the request's content (HTTP 422), e.g. "A pull request already exists".
    #[error("GitHub {repo}: {operation}{}: rejected (HTTP 422): {message}", number_suffix(.number))]
    Validation {
        /// `owner/repo`.
        repo: String,
        /// What kedge was doing.
        operation: Operation,
        /// The pull request, where there is one.
        number: Option<u64>,
        /// GitHub's message followed by the messages of its `errors` entries.
        message: String,
    },

    /// GitHub kept answering with a rate limit, or asked for a longer wait than allowed.
    #[error(
        "GitHub {repo}: {operation}{}: rate limited after {attempts} attempts (GitHub asked to wait {}s; kedge waits at most {}s): {message}",
        number_suffix(.number), .wait.as_secs(), .max_wait.as_secs()
    )]
    RateLimited {
        /// `owner/repo`.
        repo: String,
        /// What kedge was doing.
        operation: Operation,
        /// The pull request, where there is one.
        number: Option<u64>,
        /// Requests sent, all answered with a rate limit.
        attempts: u32,
        /// The wait GitHub asked for in its last answer.
        wait: Duration,
        /// The longest wait kedge accepts ([`crate::RateLimitPolicy::max_wait`]).
        max_wait: Duration,
        /// GitHub's message.
        message: String,
    },

    /// GitHub answered with another unexpected status.
    #[error("GitHub {repo}: {operation}{}: HTTP {status}: {message}", number_suffix(.number))]
    Status {
        /// `owner/repo`.
        repo: String,
        /// What kedge was doing.
        operation: Operation,
        /// The pull request, where there is one.
        number: Option<u64>,
        /// The status code.
        status: u16,
        /// GitHub's message, or the start of the body.
        message: String,
    },

    /// GitHub answered with a body kedge could not understand.
    #[error("GitHub {repo}: {operation}{}: invalid response: {reason}", number_suffix(.number))]
    InvalidResponse {
        /// `owner/repo`.
        repo: String,
        /// What kedge was doing.
        operation: Operation,
        /// The pull request, where there is one.
        number: Option<u64>,
        /// What was wrong with it.
        reason: String,
    },
}

impl ForgeError {
    /// True when the credentials were refused or lack permission (HTTP 401 or 403).
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            Self::Unauthorized { .. } | Self::Forbidden { .. } | Self::AppKey { .. }
        )
    }

    /// True when the error is a rate limit that outlasted kedge's patience: retry later.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Self::RateLimited { .. })
    }
}

/// ` #N` for errors about one pull request, nothing otherwise.
fn number_suffix(number: &Option<u64>) -> String {
    number.map(|n| format!(" #{n}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_repo_operation_and_number() {
        let err = ForgeError::Validation {
            repo: "acme/deploy".into(),
            operation: Operation::UpdatePullRequest,
            number: Some(7),
            message: "Validation Failed".into(),
        };
        assert_eq!(
            err.to_string(),
            "GitHub acme/deploy: update pull request #7: rejected (HTTP 422): Validation Failed"
        );
        let err = ForgeError::NotFound {
            repo: "acme/deploy".into(),
            operation: Operation::ListPullRequests,
            number: None,
        };
        assert!(
            err.to_string()
                .starts_with("GitHub acme/deploy: list open pull requests: not found")
        );
    }
}
