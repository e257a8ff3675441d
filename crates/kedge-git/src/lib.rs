//! Git for kedge: a cached working clone per remote, commits with a configured
//! author, and pushes that tell a lost race ("the branch moved") apart from
//! every other failure, so callers can fetch, re-apply and try again.
//!
//! Built on git2 with a vendored libgit2 (HTTPS and SSH transports), because
//! kedge must push and gix cannot yet.
//!
//! ```no_run
//! use kedge_git::{Author, GitAuth, Remote, Workspace};
//!
//! # fn run() -> Result<(), kedge_git::GitError> {
//! let remote = Remote { url: "https://github.com/org/manifests.git".into(), auth: GitAuth::None };
//! let workspace = Workspace::open("/var/cache/kedge".as_ref(), remote)?;
//! let head = workspace.fetch("main")?;
//! workspace.reset_to(head)?;
//! // … edit files under workspace.workdir() …
//! let author = Author { name: "kedge".into(), email: "kedge@example.com".into() };
//! if let Some(commit) = workspace.commit(head, "Bump web to 1.2.4", &author)? {
//!     workspace.push(commit, "main", false)?;
//! }
//! # Ok(())
//! # }
//! ```

mod cache;
mod commit_id;
mod credentials;
mod error;
mod heads;
mod network;
mod redact;
mod workspace;

pub use cache::{DEFAULT_LOCK_WAIT, longest_held_lock};
pub use commit_id::{CommitId, InvalidCommitId, is_valid_branch_name};
pub use error::{GitError, LibgitError};
pub use heads::{ls_remote, resolve_revision};
pub use network::{NetworkTimeouts, set_network_timeouts};
pub use redact::{redact_text, redact_url};
pub use workspace::{Author, GitAuth, PushOutcome, Remote, Workspace};
