//! The cache directory's bookkeeping: the per-clone lock (waited on for a
//! bounded time, and reported while held), and recovery of a clone that a
//! killed process left behind.

use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use git2::{ErrorClass, ErrorCode, Repository};

use crate::GitError;

/// How long [`Workspace::open`](crate::Workspace::open) waits for another run
/// to release the clone before giving up.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(600);

/// An exclusive `flock` on one cached clone; released on drop (or by the
/// kernel when the process dies).
pub(crate) struct CacheLock {
    _file: File,
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static HELD: Mutex<Option<HashMap<u64, Instant>>> = Mutex::new(None);

fn held() -> MutexGuard<'static, Option<HashMap<u64, Instant>>> {
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

impl CacheLock {
    /// Locks `lock_path`, waiting at most `wait` for another holder to let go.
    pub(crate) fn acquire(lock_path: &Path, wait: Duration) -> Result<Self, GitError> {
        let cache_error = |reason: String| GitError::Cache {
            path: lock_path.to_owned(),
            reason,
        };
        let file = File::create(lock_path).map_err(|e| cache_error(e.to_string()))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(GitError::Locked {
                        path: lock_path.to_owned(),
                        waited: wait,
                    });
                }
                Err(TryLockError::Error(e)) => {
                    return Err(cache_error(format!("cannot lock: {e}")));
                }
            }
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        held()
            .get_or_insert_with(HashMap::new)
            .insert(id, Instant::now());
        Ok(Self { _file: file, id })
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        if let Some(map) = held().as_mut() {
            map.remove(&self.id);
        }
    }
}

/// How long the longest-held clone lock in this process has been held; `None`
/// when no [`Workspace`](crate::Workspace) is open. A server compares it with
/// its job timeout to tell a wedged worker from a busy one.
pub fn longest_held_lock() -> Option<Duration> {
    held().as_ref()?.values().map(Instant::elapsed).max()
}

/// Opens the clone at `path` (its lock held), making a new one when there is
/// none, clearing what a killed run left, and starting over only when the
/// clone is actually corrupt.
pub(crate) fn open_or_recover(path: &Path) -> Result<Repository, GitError> {
    let cache_error = |reason: String| GitError::Cache {
        path: path.to_owned(),
        reason,
    };
    if !path.exists() {
        return Repository::init(path).map_err(|e| cache_error(e.to_string()));
    }
    remove_stale_locks(&path.join(".git")).map_err(|e| cache_error(e.to_string()))?;
    match Repository::open(path).and_then(|repo| check_usable(&repo).map(|()| repo)) {
        Ok(repo) => Ok(repo),
        Err(e) if is_corrupt(&e) => {
            // An interrupted first clone or a damaged one holds nothing that a
            // fetch cannot bring back: start over.
            tracing::warn!(path = %path.display(), error = %e, "discarding an unusable cached clone");
            std::fs::remove_dir_all(path).map_err(|e| cache_error(e.to_string()))?;
            Repository::init(path).map_err(|e| cache_error(e.to_string()))
        }
        Err(e) => Err(cache_error(e.message().to_owned())),
    }
}

/// A repository whose `HEAD` cannot be read is not worth keeping.
fn check_usable(repo: &Repository) -> Result<(), git2::Error> {
    match repo.head() {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Errors that say the clone itself is broken, as opposed to the machine
/// (permissions, a full disk), where deleting would only lose the cache.
fn is_corrupt(e: &git2::Error) -> bool {
    e.code() == ErrorCode::NotFound
        || matches!(
            e.class(),
            ErrorClass::Repository
                | ErrorClass::Odb
                | ErrorClass::Object
                | ErrorClass::Reference
                | ErrorClass::Config
                | ErrorClass::Index
        )
}

/// Removes the `*.lock` files under `git_dir` (objects aside). Called with the
/// clone's lock held: no other kedge uses this clone, so every such file was
/// left by a run that died mid-write, and libgit2 would refuse to touch its ref
/// ("failed to lock file") for good.
fn remove_stale_locks(git_dir: &Path) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(git_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() && entry.file_name() != "objects" {
            remove_stale_locks(&path)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "lock") {
            tracing::warn!(path = %path.display(), "removing a lock file left by an interrupted run");
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
