//! The git crate's error type.

use std::path::PathBuf;
use std::time::Duration;

/// What can go wrong with a repository. Every variant names the remote (with
/// any password removed) or the local path.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The cache directory could not be created, locked or opened.
    #[error("git cache {path}: {reason}")]
    Cache {
        /// The cache directory or lock file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// Another run held the cached clone longer than kedge was willing to wait.
    #[error(
        "git cache {path}: still locked by another run after {waited:?}; if no kedge is running, that run hung"
    )]
    Locked {
        /// The clone's lock file.
        path: PathBuf,
        /// How long kedge waited.
        waited: Duration,
    },

    /// libgit2 refused a process-wide setting (network timeouts).
    #[error("git settings: {source}")]
    Settings {
        /// libgit2's error.
        #[source]
        source: git2::Error,
    },

    /// Fetching from the remote failed.
    #[error("git fetch {branch} from {url}: {source}")]
    Fetch {
        /// The remote, without credentials.
        url: String,
        /// The branch asked for.
        branch: String,
        /// libgit2's error.
        #[source]
        source: git2::Error,
    },

    /// Listing the remote's refs (`git ls-remote`) failed.
    #[error("git ls-remote {url}: {source}")]
    ListRefs {
        /// The remote, without credentials.
        url: String,
        /// libgit2's error.
        #[source]
        source: git2::Error,
    },

    /// The remote does not have the commit asked for (it moved on, or the
    /// id is wrong).
    #[error("git remote {url} has no commit {commit}")]
    NoCommit {
        /// The remote, without credentials.
        url: String,
        /// The commit id asked for.
        commit: String,
    },

    /// The remote has no such branch.
    #[error("git remote {url} has no branch {branch:?}")]
    NoBranch {
        /// The remote, without credentials.
        url: String,
        /// The missing branch.
        branch: String,
    },

    /// The remote refused the credentials (or wanted some and none were configured).
    #[error("git remote {url}: authentication failed ({detail})")]
    Auth {
        /// The remote, without credentials.
        url: String,
        /// What was tried.
        detail: String,
    },

    /// Pushing failed for a reason other than a lost race.
    #[error("git push {branch} to {url}: {reason}")]
    Push {
        /// The remote, without credentials.
        url: String,
        /// The branch pushed to.
        branch: String,
        /// What the remote or libgit2 said.
        reason: String,
    },

    /// A local repository operation failed.
    #[error("git {operation} in {path}: {source}")]
    Local {
        /// What kedge was doing: `checkout`, `commit`, `diff`.
        operation: &'static str,
        /// The working clone.
        path: PathBuf,
        /// libgit2's error.
        #[source]
        source: git2::Error,
    },
}
