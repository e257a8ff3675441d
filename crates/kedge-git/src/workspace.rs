//! [`Workspace`]: one cached working clone of one remote.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use git2::build::CheckoutBuilder;
use git2::{
    ErrorCode, FetchOptions, IndexAddOption, Oid, PushOptions, RemoteCallbacks, Repository,
    ResetType, Signature,
};
use sha2::{Digest, Sha256};

use crate::CommitId;
use crate::cache::{CacheLock, DEFAULT_LOCK_WAIT, open_or_recover};
use crate::credentials::{CredentialState, auth_error, credential_callbacks};
use crate::error::{GitError, LibgitError};
use crate::network::ensure_network_timeouts;
use crate::redact::redact_url;

/// How kedge authenticates to a remote.
#[derive(Clone, Default)]
pub enum GitAuth {
    /// No credentials (file://, git://, public HTTPS).
    #[default]
    None,
    /// HTTP basic: a user and a password or token.
    UserPass {
        /// User name (`x-access-token` for GitHub tokens).
        username: String,
        /// Password or token.
        password: String,
    },
    /// An SSH private key file.
    SshKey {
        /// The key file.
        private_key: PathBuf,
        /// Its passphrase, if it has one.
        passphrase: Option<String>,
    },
}

impl std::fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::UserPass { username, .. } => write!(f, "UserPass({username}, <redacted>)"),
            Self::SshKey { private_key, .. } => write!(f, "SshKey({})", private_key.display()),
        }
    }
}

/// A remote repository and how to reach it.
#[derive(Debug, Clone)]
pub struct Remote {
    /// `https://…`, `http://…`, `ssh://…`, `git://…` or `file://…`.
    pub url: String,
    /// Credentials.
    pub auth: GitAuth,
}

/// Who kedge commits as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

/// What became of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The branch now points at the commit.
    Pushed,
    /// The branch moved since it was fetched: fetch, re-apply and try again.
    Rejected {
        /// What the remote or libgit2 said.
        reason: String,
    },
}

/// A working clone of one remote, kept in a cache directory between runs so
/// later runs fetch instead of cloning. Holds an exclusive lock on the clone for
/// its lifetime, so two kedge processes sharing a cache take turns.
pub struct Workspace {
    repo: Repository,
    remote: Remote,
    path: PathBuf,
    _lock: CacheLock,
}

impl Workspace {
    /// Opens the cached clone of `remote` under `cache_root`, creating it empty
    /// when there is none (the first [`fetch`](Self::fetch) fills it). Waits up to
    /// [`DEFAULT_LOCK_WAIT`] for another run using the same clone.
    pub fn open(cache_root: &Path, remote: Remote) -> Result<Self, GitError> {
        Self::open_waiting(cache_root, remote, DEFAULT_LOCK_WAIT)
    }

    /// Like [`open`](Self::open), waiting at most `lock_wait` for the clone's lock:
    /// a run that hangs (say on a stuck file system) cannot block later runs forever.
    ///
    /// A clone left by a killed run is recovered: its stale `*.lock` files are
    /// removed, and a clone that cannot be opened as a repository is made anew.
    pub fn open_waiting(
        cache_root: &Path,
        remote: Remote,
        lock_wait: Duration,
    ) -> Result<Self, GitError> {
        ensure_network_timeouts()?;
        let key = format!("{:x}", Sha256::digest(remote.url.as_bytes()));
        let path = cache_root.join(&key[..16]);
        std::fs::create_dir_all(cache_root).map_err(|e| GitError::Cache {
            path: cache_root.to_owned(),
            source: Box::new(e),
        })?;
        let lock = CacheLock::acquire(&cache_root.join(format!("{}.lock", &key[..16])), lock_wait)?;
        let repo = open_or_recover(&path)?;
        Ok(Self {
            repo,
            remote,
            path,
            _lock: lock,
        })
    }

    /// The working tree that [`reset_to`](Self::reset_to) fills and [`commit`](Self::commit) reads.
    pub fn workdir(&self) -> &Path {
        self.repo.workdir().unwrap_or(&self.path)
    }

    /// The remote's URL without any password, for messages.
    pub fn display_url(&self) -> String {
        redact_url(&self.remote.url)
    }

    /// Fetches `branch` and returns the commit it points at on the remote.
    pub fn fetch(&self, branch: &str) -> Result<CommitId, GitError> {
        let url = self.display_url();
        let attempts = CredentialState::default();
        let mut options = FetchOptions::new();
        options.remote_callbacks(self.callbacks(&attempts));
        let refspec = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
        let tracking = format!("refs/remotes/origin/{branch}");
        // libgit2 neither fails nor prunes when the remote branch is gone: forget the
        // old tip first so a deleted branch reads as missing, not as its last commit.
        if let Ok(mut stale) = self.repo.find_reference(&tracking) {
            let _ = stale.delete();
        }
        let mut remote = self
            .repo
            .remote_anonymous(&self.remote.url)
            .map_err(|source| GitError::Fetch {
                url: url.clone(),
                branch: branch.to_owned(),
                source: LibgitError::new(source),
            })?;
        remote
            .fetch(&[&refspec], Some(&mut options), None)
            .map_err(|source| {
                self.auth_error(&source, &attempts)
                    .unwrap_or_else(|| GitError::Fetch {
                        url: url.clone(),
                        branch: branch.to_owned(),
                        source: LibgitError::new(source),
                    })
            })?;
        match self.repo.refname_to_id(&tracking) {
            Ok(oid) => Ok(CommitId::from_oid(oid)),
            Err(e) if e.code() == ErrorCode::NotFound => Err(GitError::NoBranch {
                url,
                branch: branch.to_owned(),
            }),
            Err(source) => Err(self.local("fetch", source)),
        }
    }

    /// Makes sure `commit` is in the clone, fetching `refname` (as
    /// [`ls_remote`](crate::ls_remote) named it: `refs/heads/main`,
    /// `refs/tags/v1`), or every branch and tag when there is none, only when
    /// it is not there yet. A commit already fetched costs no network.
    pub fn fetch_commit(&self, refname: Option<&str>, commit: CommitId) -> Result<(), GitError> {
        let commit = commit.oid();
        if self.repo.find_commit(commit).is_ok() {
            return Ok(());
        }
        let refspecs: Vec<String> = match refname {
            Some(name) => vec![format!("+{name}:refs/kedge/fetched/{name}")],
            None => vec![
                "+refs/heads/*:refs/kedge/fetched/refs/heads/*".to_owned(),
                "+refs/tags/*:refs/kedge/fetched/refs/tags/*".to_owned(),
            ],
        };
        let url = self.display_url();
        let wanted = refname.unwrap_or("every branch and tag").to_owned();
        let fetch_error = |source| GitError::Fetch {
            url: url.clone(),
            branch: wanted.clone(),
            source: LibgitError::new(source),
        };
        let attempts = CredentialState::default();
        let mut options = FetchOptions::new();
        options.remote_callbacks(self.callbacks(&attempts));
        let mut remote = self
            .repo
            .remote_anonymous(&self.remote.url)
            .map_err(fetch_error)?;
        remote
            .fetch(&refspecs, Some(&mut options), None)
            .map_err(|source| {
                self.auth_error(&source, &attempts)
                    .unwrap_or_else(|| fetch_error(source))
            })?;
        self.repo
            .find_commit(commit)
            .map(drop)
            .map_err(|_| GitError::NoCommit {
                url: url.clone(),
                commit: commit.to_string(),
            })
    }

    /// Like [`fetch`](Self::fetch), but `Ok(None)` when the remote has no such branch.
    pub fn fetch_if_exists(&self, branch: &str) -> Result<Option<CommitId>, GitError> {
        match self.fetch(branch) {
            Ok(oid) => Ok(Some(oid)),
            Err(GitError::NoBranch { .. }) => Ok(None),
            Err(GitError::Fetch { source, .. }) if source.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// True when two commits make the same change: same tree, same parents.
    /// Lets kedge skip re-pushing its own branch when nothing new would land.
    pub fn same_change(&self, a: CommitId, b: CommitId) -> Result<bool, GitError> {
        let find = |id: CommitId| {
            self.repo
                .find_commit(id.oid())
                .map_err(|e| self.local("compare", e))
        };
        let (a, b) = (find(a)?, find(b)?);
        Ok(a.tree_id() == b.tree_id() && a.parent_ids().eq(b.parent_ids()))
    }

    /// The commit the working tree was last reset to ([`reset_to`](Self::reset_to)),
    /// if any: lets a reader that never writes the tree skip a checkout.
    pub fn checked_out(&self) -> Option<CommitId> {
        self.repo.head().ok()?.target().map(CommitId::from_oid)
    }

    /// Makes the working tree exactly `commit`: tracked files reset, untracked removed.
    pub fn reset_to(&self, commit: CommitId) -> Result<(), GitError> {
        let commit = commit.oid();
        let object = self
            .repo
            .find_object(commit, None)
            .map_err(|e| self.local("checkout", e))?;
        self.repo
            .set_head_detached(commit)
            .map_err(|e| self.local("checkout", e))?;
        let mut checkout = CheckoutBuilder::new();
        checkout.force().remove_untracked(true).remove_ignored(true);
        self.repo
            .reset(&object, ResetType::Hard, Some(&mut checkout))
            .map_err(|e| self.local("checkout", e))
    }

    /// Commits every change in the working tree on top of `parent`.
    /// `Ok(None)` when the tree equals the parent's: nothing to commit.
    pub fn commit(
        &self,
        parent: CommitId,
        message: &str,
        author: &Author,
    ) -> Result<Option<CommitId>, GitError> {
        let parent = parent.oid();
        let commit_error = |e| self.local("commit", e);
        let mut index = self.repo.index().map_err(commit_error)?;
        index
            .add_all(["*"], IndexAddOption::DEFAULT, None)
            .map_err(commit_error)?;
        index.update_all(["*"], None).map_err(commit_error)?;
        index.write().map_err(commit_error)?;
        let tree_id = index.write_tree().map_err(commit_error)?;
        let parent = self.repo.find_commit(parent).map_err(commit_error)?;
        if parent.tree_id() == tree_id {
            return Ok(None);
        }
        let tree = self.repo.find_tree(tree_id).map_err(commit_error)?;
        let signature = Signature::now(&author.name, &author.email).map_err(commit_error)?;
        let oid = self
            .repo
            .commit(
                Some("HEAD"),
                &signature,
                &signature,
                message,
                &tree,
                &[&parent],
            )
            .map_err(commit_error)?;
        Ok(Some(CommitId::from_oid(oid)))
    }

    /// Pushes `commit` to `branch`. Without `force`, a branch that moved since the
    /// last fetch is [`PushOutcome::Rejected`], never overwritten.
    pub fn push(
        &self,
        commit: CommitId,
        branch: &str,
        force: bool,
    ) -> Result<PushOutcome, GitError> {
        let commit = commit.oid();
        // libgit2 pushes references, not bare ids: name the commit first.
        let local = "refs/kedge/push";
        self.repo
            .reference(local, commit, true, "kedge push")
            .map_err(|e| self.local("push", e))?;
        if let Some(path) = self.remote.url.strip_prefix("file://") {
            return self.push_local(Path::new(path), local, commit, branch, force);
        }
        let refspec = format!(
            "{}{local}:refs/heads/{branch}",
            if force { "+" } else { "" }
        );
        match self.push_refspec(&refspec, branch)? {
            None => Ok(PushOutcome::Pushed),
            Some(reason) if is_race(&reason) => Ok(PushOutcome::Rejected { reason }),
            Some(reason) => Err(GitError::Push {
                url: self.display_url(),
                branch: branch.to_owned(),
                reason,
                source: None,
            }),
        }
    }

    /// libgit2's local transport updates the branch without comparing it to the
    /// fetched value, so two writers could both "win". For `file://` remotes the
    /// objects go to a private ref first and the branch then moves with a
    /// compare-and-swap in the remote repository itself.
    fn push_local(
        &self,
        bare: &Path,
        local: &str,
        commit: Oid,
        branch: &str,
        force: bool,
    ) -> Result<PushOutcome, GitError> {
        // Unique per writer: two writers may push the very same commit at once.
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let incoming = format!(
            "refs/kedge/incoming/{}-{nonce}-{commit}",
            std::process::id()
        );
        if let Some(reason) = self.push_refspec(&format!("+{local}:{incoming}"), branch)? {
            return Err(GitError::Push {
                url: self.display_url(),
                branch: branch.to_owned(),
                reason,
                source: None,
            });
        }
        let push_error = |e| self.push_failed(branch, e);
        let remote = Repository::open(bare).map_err(push_error)?;
        prune_incoming(&remote);
        let target = format!("refs/heads/{branch}");
        let moved = if force {
            remote.reference(&target, commit, true, "kedge push")
        } else {
            let expected = self
                .repo
                .refname_to_id(&format!("refs/remotes/origin/{branch}"))
                .map_err(|e| self.local("push", e))?;
            remote.reference_matching(&target, commit, true, expected, "kedge push")
        };
        if let Ok(mut temporary) = remote.find_reference(&incoming) {
            let _ = temporary.delete();
        }
        match moved {
            Ok(_) => Ok(PushOutcome::Pushed),
            Err(e) if matches!(e.code(), ErrorCode::Modified | ErrorCode::Locked) => {
                Ok(PushOutcome::Rejected {
                    reason: format!("{target} moved: {}", e.message()),
                })
            }
            Err(e) => Err(push_error(e)),
        }
    }

    /// Pushes one refspec; `Ok(Some(reason))` when the remote refused the update.
    fn push_refspec(&self, refspec: &str, branch: &str) -> Result<Option<String>, GitError> {
        let attempts = CredentialState::default();
        let rejected: Cell<Option<String>> = Cell::new(None);
        let mut callbacks = self.callbacks(&attempts);
        callbacks.push_update_reference(|_, status| {
            if let Some(status) = status {
                rejected.set(Some(status.to_owned()));
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        let mut remote = self
            .repo
            .remote_anonymous(&self.remote.url)
            .map_err(|e| self.local("push", e))?;
        match remote.push(&[refspec], Some(&mut options)) {
            Ok(()) => {}
            Err(e) if e.code() == ErrorCode::NotFastForward => {
                return Ok(Some(format!("non-fast-forward: {}", e.message())));
            }
            // receive-pack refuses a concurrent update of the same ref this way.
            Err(e) if is_race(e.message()) => return Ok(Some(e.message().to_owned())),
            Err(e) => {
                return Err(self
                    .auth_error(&e, &attempts)
                    .unwrap_or_else(|| self.push_failed(branch, e)));
            }
        }
        drop(options);
        Ok(rejected.take())
    }

    /// A unified diff from `from` to `to`, as `git diff` prints it.
    pub fn diff(&self, from: CommitId, to: CommitId) -> Result<String, GitError> {
        let (from, to) = (from.oid(), to.oid());
        let diff_error = |e| self.local("diff", e);
        let old = self
            .repo
            .find_commit(from)
            .and_then(|c| c.tree())
            .map_err(diff_error)?;
        let new = self
            .repo
            .find_commit(to)
            .and_then(|c| c.tree())
            .map_err(diff_error)?;
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&old), Some(&new), None)
            .map_err(diff_error)?;
        let mut out = String::new();
        diff.print(git2::DiffFormat::Patch, |_, _, line| {
            if matches!(line.origin(), '+' | '-' | ' ') {
                out.push(line.origin());
            }
            out.push_str(&String::from_utf8_lossy(line.content()));
            true
        })
        .map_err(diff_error)?;
        Ok(out)
    }

    fn callbacks<'a>(&'a self, attempts: &'a CredentialState) -> RemoteCallbacks<'a> {
        credential_callbacks(&self.remote, attempts)
    }

    fn auth_error(&self, source: &git2::Error, attempts: &CredentialState) -> Option<GitError> {
        auth_error(&self.remote, source, attempts)
    }

    fn local(&self, operation: &'static str, source: git2::Error) -> GitError {
        GitError::Local {
            operation,
            path: self.path.clone(),
            source: LibgitError::new(source),
        }
    }

    /// A push that libgit2 failed (as opposed to one the remote refused).
    fn push_failed(&self, branch: &str, source: git2::Error) -> GitError {
        let source = LibgitError::new(source);
        GitError::Push {
            url: self.display_url(),
            branch: branch.to_owned(),
            reason: source.to_string(),
            source: Some(source),
        }
    }
}

/// A private push ref older than this is left over from a run that died.
const INCOMING_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes `refs/kedge/incoming/<pid>-<nanos>-<commit>` refs left by writers that
/// died between pushing their objects and moving the branch: those whose process
/// is gone from this machine, and any older than [`INCOMING_MAX_AGE`]. Deleting
/// a live writer's ref early costs it nothing: its objects stay in the odb.
fn prune_incoming(remote: &Repository) {
    let Ok(refs) = remote.references_glob("refs/kedge/incoming/*") else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut stale = Vec::new();
    for reference in refs.flatten() {
        let Ok(name) = reference.name() else {
            continue;
        };
        let mut parts = name.trim_start_matches("refs/kedge/incoming/").split('-');
        let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
        let born = parts.next().and_then(|n| n.parse::<u128>().ok());
        let dead = pid.is_some_and(|pid| {
            pid != std::process::id()
                && cfg!(target_os = "linux")
                && !Path::new(&format!("/proc/{pid}")).exists()
        });
        let old = born.is_none_or(|born| now.saturating_sub(born) > INCOMING_MAX_AGE.as_nanos());
        if dead || old {
            stale.push(name.to_owned());
        }
    }
    for name in stale {
        if let Ok(mut reference) = remote.find_reference(&name) {
            let _ = reference.delete();
        }
    }
}

/// Remote answers that mean "someone else pushed first".
fn is_race(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    [
        "non-fast-forward",
        "fetch first",
        "failed to lock",
        "failed to update ref",
        "stale info",
        "cannot lock ref",
    ]
    .iter()
    .any(|s| reason.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_races_are_told_apart() {
        assert!(is_race("non-fast-forward"));
        assert!(is_race("failed to update ref: fetch first"));
        assert!(!is_race("pre-receive hook declined"));
    }
}
