//! The cache directory's bookkeeping: the per-clone lock (waited on for a
//! bounded time, and reported while held), and recovery of a clone that a
//! killed process left behind.

use std::collections::{HashMap, HashSet};
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use git2::{ErrorClass, ErrorCode, Repository};

use crate::GitError;
use crate::error::LibgitError;

/// How long [`Workspace::open`](crate::Workspace::open) waits for another run
/// to release the clone before giving up.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(600);

/// An exclusive `flock` on one cached clone; released on drop (or by the
/// kernel when the process dies).
///
/// Threads of one process wait on an in-process lock first and are woken
/// the moment it is released; only other processes are waited for by
/// polling the `flock`. (A controller renders a thousand Applications of one
/// repository from one clone: polling at a fixed step between its own
/// threads cost tens of milliseconds per render.)
pub(crate) struct CacheLock {
    file: Option<File>,
    claim: Option<Claim>,
    id: u64,
}

/// This process's claim on one lock file, given up on drop (a panic
/// included), waking the threads that wait for it.
struct Claim(PathBuf);

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(claimed) = in_process().as_mut() {
            claimed.remove(&self.0);
        }
        RELEASED.notify_all();
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static HELD: Mutex<Option<HashMap<u64, Instant>>> = Mutex::new(None);
/// The lock files this process holds, and the signal that one was released.
static IN_PROCESS: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
static RELEASED: Condvar = Condvar::new();

/// The longest pause between two tries at another process's `flock`.
const MAX_POLL: Duration = Duration::from_millis(50);

fn held() -> MutexGuard<'static, Option<HashMap<u64, Instant>>> {
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

fn in_process() -> MutexGuard<'static, Option<HashSet<PathBuf>>> {
    IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner())
}

impl CacheLock {
    /// Locks `lock_path`, waiting at most `wait` for another holder to let go.
    pub(crate) fn acquire(lock_path: &Path, wait: Duration) -> Result<Self, GitError> {
        let deadline = Instant::now() + wait;
        let timed_out = || GitError::Locked {
            path: lock_path.to_owned(),
            waited: wait,
        };
        let claim = claim_in_process(lock_path, deadline).ok_or_else(timed_out)?;
        let file =
            lock_file(lock_path, deadline).map_err(|error| error.unwrap_or_else(timed_out))?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        held()
            .get_or_insert_with(HashMap::new)
            .insert(id, Instant::now());
        Ok(Self {
            file: Some(file),
            claim: Some(claim),
            id,
        })
    }
}

/// Waits until no thread of this process holds `lock_path`, then claims it;
/// `None` when `deadline` passes first.
fn claim_in_process(lock_path: &Path, deadline: Instant) -> Option<Claim> {
    let mut claimed = in_process();
    while claimed.get_or_insert_with(HashSet::new).contains(lock_path) {
        let left = deadline.checked_duration_since(Instant::now())?;
        claimed = RELEASED
            .wait_timeout(claimed, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    claimed
        .get_or_insert_with(HashSet::new)
        .insert(lock_path.to_owned());
    Some(Claim(lock_path.to_owned()))
}

// How often a `flock` was found held, for tests: threads of one process
// never get that far while another of them holds the clone. Per thread, so
// that tests running beside each other do not mix their counts.
#[cfg(test)]
thread_local! {
    static FLOCK_BUSY: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Takes the `flock` on `lock_path`, polling (1 ms, doubling up to
/// [`MAX_POLL`]) while another process holds it. `Err(None)` when
/// `deadline` passes first.
fn lock_file(lock_path: &Path, deadline: Instant) -> Result<File, Option<GitError>> {
    let cache_error = |source: Box<dyn std::error::Error + Send + Sync>| GitError::Cache {
        path: lock_path.to_owned(),
        source,
    };
    let file = File::create(lock_path).map_err(|e| Some(cache_error(Box::new(e))))?;
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                #[cfg(test)]
                FLOCK_BUSY.with(|busy| busy.set(busy.get() + 1));
                std::thread::sleep(pause);
                pause = (pause * 2).min(MAX_POLL);
            }
            Err(TryLockError::WouldBlock) => return Err(None),
            Err(TryLockError::Error(e)) => {
                return Err(Some(cache_error(Box::new(CannotLock(e)))));
            }
        }
    }
}

/// The lock file exists but the system refused to lock it.
#[derive(Debug, thiserror::Error)]
#[error("cannot lock: {0}")]
struct CannotLock(#[source] std::io::Error);

impl Drop for CacheLock {
    fn drop(&mut self) {
        if let Some(map) = held().as_mut() {
            map.remove(&self.id);
        }
        // The `flock` first, so that a thread woken next finds both free.
        drop(self.file.take());
        drop(self.claim.take());
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
    let io_error = |source: std::io::Error| GitError::Cache {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let git_error = |source: git2::Error| GitError::Cache {
        path: path.to_owned(),
        source: Box::new(LibgitError::new(source)),
    };
    if !path.exists() {
        return Repository::init(path).map_err(git_error);
    }
    remove_stale_locks(&path.join(".git")).map_err(io_error)?;
    match Repository::open(path).and_then(|repo| check_usable(&repo).map(|()| repo)) {
        Ok(repo) => Ok(repo),
        Err(e) if is_corrupt(&e) => {
            // An interrupted first clone or a damaged one holds nothing that a
            // fetch cannot bring back: start over.
            tracing::warn!(path = %path.display(), error = %e, "discarding an unusable cached clone");
            std::fs::remove_dir_all(path).map_err(io_error)?;
            Repository::init(path).map_err(git_error)
        }
        Err(e) => Err(git_error(e)),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn threads_of_one_process_hold_a_clone_one_at_a_time_and_all_get_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("clone.lock");
        let holders = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (path, holders, most) = (path.clone(), holders.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        let lock = CacheLock::acquire(&path, Duration::from_secs(30))
                            .expect("the lock comes within the wait");
                        let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        holders.fetch_sub(1, Ordering::SeqCst);
                        drop(lock);
                    }
                    FLOCK_BUSY.with(|busy| busy.get())
                })
            })
            .collect();
        let flock_busy: u64 = threads
            .into_iter()
            .map(|thread| thread.join().expect("no panic"))
            .sum();
        assert_eq!(
            flock_busy, 0,
            "threads of one process wait in process, never on the flock"
        );
        assert_eq!(
            most.load(Ordering::SeqCst),
            1,
            "two threads held the clone at once"
        );
        assert!(
            in_process()
                .as_ref()
                .is_none_or(|held| !held.contains(&path)),
            "the last holder released its claim"
        );
    }

    #[test]
    fn another_process_holding_the_flock_is_waited_for_then_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("clone.lock");
        std::fs::write(&path, "").expect("lock file");
        let mut other = std::process::Command::new("flock")
            // `-o`: the lock stays with flock itself, not with `sleep`.
            .arg("-o")
            .arg(&path)
            .args(["sleep", "30"])
            .spawn()
            .expect("flock(1) from util-linux runs");
        // Until the other process holds it, a try may still succeed.
        let error = loop {
            match CacheLock::acquire(&path, Duration::from_millis(200)) {
                Ok(lock) => drop(lock),
                Err(error) => break error,
            }
        };
        assert!(matches!(error, GitError::Locked { .. }), "{error}");
        assert!(
            in_process()
                .as_ref()
                .is_none_or(|held| !held.contains(&path)),
            "a refused wait leaves no claim behind"
        );
        other.kill().expect("kill flock");
        other.wait().expect("reaped");
        let lock = CacheLock::acquire(&path, Duration::from_secs(30));
        assert!(lock.is_ok(), "free once the other process is gone");
    }
}
