//! The git crate's error type, and [`LibgitError`], the libgit2 failure it
//! carries as its source.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use git2::ErrorCode;

use crate::redact::redact_text;

/// What can go wrong with a repository. Every variant names the remote (with
/// any password removed) or the local path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// The cache directory could not be created, locked or opened.
    #[error("git cache {path}: {source}")]
    Cache {
        /// The cache directory or lock file.
        path: PathBuf,
        /// What went wrong: the file system's error, or libgit2's.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
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
        source: LibgitError,
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
        source: LibgitError,
    },

    /// Listing the remote's refs (`git ls-remote`) failed.
    #[error("git ls-remote {url}: {source}")]
    ListRefs {
        /// The remote, without credentials.
        url: String,
        /// libgit2's error.
        #[source]
        source: LibgitError,
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
        /// What the remote said when it refused the update, or libgit2's
        /// error as text.
        reason: String,
        /// libgit2's error, when the push failed in libgit2 rather than being
        /// refused by the remote.
        #[source]
        source: Option<LibgitError>,
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
        source: LibgitError,
    },
}

/// An error from libgit2, the library under kedge's git. Opaque, so that
/// kedge's API does not change with libgit2's bindings: its message is
/// libgit2's (with any password in a URL removed), and
/// [`is_not_found`](Self::is_not_found) tells the one kind of failure kedge
/// acts on.
pub struct LibgitError(git2::Error);

impl LibgitError {
    /// Wraps libgit2's error.
    pub(crate) fn new(error: git2::Error) -> Self {
        Self(error)
    }

    /// True when libgit2 says that what was asked for does not exist: an
    /// object or a reference. (A remote that cannot be reached, or a local
    /// remote path that does not exist, is not this: libgit2 reports those
    /// as operating-system errors, and the message says which.)
    pub fn is_not_found(&self) -> bool {
        self.0.code() == ErrorCode::NotFound
    }
}

impl fmt::Display for LibgitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_text(&self.0.to_string()))
    }
}

impl fmt::Debug for LibgitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LibgitError")
            .field("message", &redact_text(self.0.message()))
            .field("class", &self.0.class())
            .field("code", &self.0.code())
            .finish()
    }
}

impl std::error::Error for LibgitError {}
