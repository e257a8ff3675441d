//! kedge-git under faults (issue 11): a remote that accepts and never answers,
//! a clone held by a hung run, and a cached clone left by a killed run.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use kedge_git::{
    Author, GitAuth, GitError, NetworkTimeouts, PushOutcome, Remote, Workspace, longest_held_lock,
    set_network_timeouts,
};
use kedge_testkit::{GitDaemon, GitRoot};

const DEPLOY: &str = "apps/web/deploy.yaml";

fn remote(url: String) -> Remote {
    Remote {
        url,
        auth: GitAuth::None,
    }
}

fn author() -> Author {
    Author {
        name: "kedge".into(),
        email: "kedge@example.com".into(),
    }
}

fn seeded() -> GitRoot {
    let root = GitRoot::new();
    root.create("manifests", "main", &[(DEPLOY, "image: web:1.0.0\n")]);
    root
}

/// A loopback server that accepts every connection and never sends a byte.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(16) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(120));
    });
    port
}

/// Runs `f` on its own thread; panics if it has not returned within 60 s
/// instead of hanging the test run.
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what} still hanging after 60 s"))
}

/// The one clone directory under `cache`.
fn clone_dir(cache: &Path) -> PathBuf {
    std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a cached clone")
}

#[test]
fn issue_11_a_silent_remote_times_out_and_releases_the_clone() {
    set_network_timeouts(NetworkTimeouts::new(
        Duration::from_secs(2),
        Duration::from_secs(2),
    ))
    .unwrap();
    let port = silent_server();
    let cache = tempfile::tempdir().unwrap();
    for url in [
        format!("git://127.0.0.1:{port}/manifests.git"),
        format!("http://127.0.0.1:{port}/manifests.git"),
    ] {
        let root = cache.path().to_owned();
        let shown = url.clone();
        let error = bounded(&format!("fetch from {shown}"), move || {
            let workspace = Workspace::open(&root, remote(url)).unwrap();
            workspace.fetch("main").map(|_| ()).unwrap_err().to_string()
        });
        assert!(error.contains("timed out"), "{shown}: {error}");
        // The lock went with the workspace: the next run gets the clone at once.
        let root = cache.path().to_owned();
        let url = shown.clone();
        bounded("reopening", move || {
            Workspace::open_waiting(&root, remote(url), Duration::from_millis(500)).unwrap();
        });
    }
}

#[test]
fn issue_11_a_clone_held_too_long_is_reported_and_refused_after_the_wait() {
    let root = seeded();
    let cache = tempfile::tempdir().unwrap();
    let url = root.file_url("manifests");
    let held = Workspace::open(cache.path(), remote(url.clone())).unwrap();
    assert!(longest_held_lock().is_some());
    let error = Workspace::open_waiting(cache.path(), remote(url), Duration::from_millis(300))
        .err()
        .expect("the clone is held");
    assert!(matches!(error, GitError::Locked { .. }), "{error}");
    assert!(error.to_string().contains("still locked"), "{error}");
    drop(held);
}

#[test]
fn issue_11_lock_files_left_by_a_killed_run_are_removed_and_the_clone_kept() {
    let root = seeded();
    let daemon = GitDaemon::start(&root);
    let cache = tempfile::tempdir().unwrap();
    let url = daemon.url("manifests");
    {
        let workspace = Workspace::open(cache.path(), remote(url.clone())).unwrap();
        workspace.fetch("main").unwrap();
    }
    // What `kill -9` during a fetch and a commit leaves behind.
    let git_dir = clone_dir(cache.path()).join(".git");
    for lock in ["refs/remotes/origin/main.lock", "index.lock", "HEAD.lock"] {
        std::fs::write(git_dir.join(lock), "").unwrap();
    }
    std::fs::write(git_dir.join("kept"), "").unwrap();

    let workspace = Workspace::open(cache.path(), remote(url)).unwrap();
    let head = workspace.fetch("main").unwrap();
    workspace.reset_to(head).unwrap();
    std::fs::write(workspace.workdir().join(DEPLOY), "image: web:1.1.0\n").unwrap();
    let commit = workspace
        .commit(head, "Bump web", &author())
        .unwrap()
        .unwrap();
    assert_eq!(
        workspace.push(commit, "main", false).unwrap(),
        PushOutcome::Pushed
    );
    assert_eq!(root.show("manifests", "main", DEPLOY), "image: web:1.1.0\n");
    assert!(
        git_dir.join("kept").exists(),
        "the clone was re-made, not recovered"
    );
}

#[test]
fn issue_11_a_clone_that_is_not_a_repository_is_made_anew() {
    let root = seeded();
    let cache = tempfile::tempdir().unwrap();
    let url = root.file_url("manifests");
    drop(Workspace::open(cache.path(), remote(url.clone())).unwrap());
    let git_dir = clone_dir(cache.path()).join(".git");
    std::fs::write(git_dir.join("HEAD"), "garbage\n").unwrap();
    let workspace = Workspace::open(cache.path(), remote(url)).unwrap();
    let head = workspace.fetch("main").unwrap();
    workspace.reset_to(head).unwrap();
    assert_eq!(
        std::fs::read_to_string(workspace.workdir().join(DEPLOY)).unwrap(),
        "image: web:1.0.0\n"
    );
}

#[test]
fn issue_11_private_push_refs_of_dead_writers_are_pruned() {
    let root = seeded();
    let cache = tempfile::tempdir().unwrap();
    let bare = root.path().join("manifests.git");
    let head = root.head("manifests", "main");
    // A writer killed between sending its objects and moving the branch; pid
    // 4194304 is above Linux's pid_max, so it is never alive.
    let leftover = format!("refs/kedge/incoming/4194304-1-{head}");
    let status = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(&bare)
        .args(["update-ref", &leftover, &head])
        .status()
        .unwrap();
    assert!(status.success());

    let workspace = Workspace::open(cache.path(), remote(root.file_url("manifests"))).unwrap();
    let tip = workspace.fetch("main").unwrap();
    workspace.reset_to(tip).unwrap();
    std::fs::write(workspace.workdir().join(DEPLOY), "image: web:1.2.0\n").unwrap();
    let commit = workspace
        .commit(tip, "Bump web", &author())
        .unwrap()
        .unwrap();
    workspace.push(commit, "main", false).unwrap();

    let refs = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(&bare)
        .args(["for-each-ref", "refs/kedge/"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&refs.stdout), "");
}

#[test]
fn issue_11_credentials_in_remote_urls_never_reach_error_messages() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let cache = tempfile::tempdir().unwrap();
    for url in [
        format!("http://ghp_TOKEN@127.0.0.1:{port}/manifests.git"),
        format!("http://bot:pa/ss_SECRET@127.0.0.1:{port}/manifests.git"),
        format!("git://bot:SECRET@127.0.0.1:{port}/manifests.git"),
    ] {
        let workspace = Workspace::open(cache.path(), remote(url.clone())).unwrap();
        let error = workspace.fetch("main").unwrap_err();
        let mut shown = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            shown.push_str(&cause.to_string());
            source = cause.source();
        }
        for secret in ["TOKEN", "SECRET", "pa/ss"] {
            assert!(!shown.contains(secret), "{url}: {shown}");
        }
        assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
    }
}
