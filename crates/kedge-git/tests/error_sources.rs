//! kedge-git's errors keep their cause (issue 9): the file system's or
//! libgit2's error is the source, not flattened into a string, and the kind
//! of a libgit2 failure can be asked without naming libgit2's types.

use std::error::Error as _;
use std::net::TcpListener;

use kedge_git::{Author, CommitId, GitAuth, GitError, LibgitError, Remote, Workspace};
use kedge_testkit::GitRoot;

const DEPLOY: &str = "apps/web/deploy.yaml";

fn remote(url: String) -> Remote {
    Remote {
        url,
        auth: GitAuth::None,
    }
}

#[test]
fn issue_9_a_cache_root_that_is_a_file_keeps_the_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let cache_root = dir.path().join("cache");
    std::fs::write(&cache_root, "not a directory").unwrap();
    let Err(error) = Workspace::open(&cache_root, remote("file:///nowhere".into())) else {
        panic!("a cache root that is a file opened");
    };
    assert!(matches!(error, GitError::Cache { .. }), "{error:?}");
    let source = error.source().expect("the io error is kept");
    let io = source
        .downcast_ref::<std::io::Error>()
        .expect("the source is the io error");
    assert_eq!(io.kind(), std::io::ErrorKind::AlreadyExists, "{io}");
    let shown = error.to_string();
    assert!(shown.starts_with("git cache "), "{shown}");
    assert!(shown.contains(&cache_root.display().to_string()), "{shown}");
    assert!(shown.ends_with(&io.to_string()), "{shown}");
}

#[test]
fn issue_9_a_push_that_libgit2_fails_keeps_libgit2s_error() {
    let root = GitRoot::new();
    let bare = root.create("manifests", "main", &[(DEPLOY, "image: web:1.0.0\n")]);
    let cache = tempfile::tempdir().unwrap();
    let workspace = Workspace::open(cache.path(), remote(root.file_url("manifests"))).unwrap();
    let head = workspace.fetch("main").unwrap();
    workspace.reset_to(head).unwrap();
    std::fs::write(workspace.workdir().join(DEPLOY), "image: web:1.1.0\n").unwrap();
    let author = Author {
        name: "kedge".into(),
        email: "kedge@example.com".into(),
    };
    let commit = workspace
        .commit(head, "Bump web to 1.1.0", &author)
        .unwrap()
        .unwrap();
    std::fs::remove_dir_all(&bare).unwrap();

    let error = workspace.push(commit, "main", false).unwrap_err();
    assert!(matches!(error, GitError::Push { .. }), "{error:?}");
    let source = error.source().expect("libgit2's error is kept");
    let libgit = source
        .downcast_ref::<LibgitError>()
        .expect("the source is kedge's libgit2 error");
    let cause = libgit.to_string();
    assert!(cause.contains(&*bare.to_string_lossy()), "{cause}");
    let shown = error.to_string();
    assert!(shown.starts_with("git push main to file://"), "{shown}");
    assert!(shown.ends_with(&cause), "{shown}");
}

#[test]
fn issue_9_a_fetch_from_a_closed_port_keeps_libgit2s_error() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let cache = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/manifests.git");
    let workspace = Workspace::open(cache.path(), remote(url)).unwrap();
    let error = workspace.fetch("main").unwrap_err();
    assert!(matches!(error, GitError::Fetch { .. }), "{error:?}");
    let source = error.source().expect("libgit2's error is kept");
    assert!(source.is::<LibgitError>(), "{source:?}");
    let cause = source.to_string();
    assert!(cause.contains("failed to connect to 127.0.0.1"), "{cause}");
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!(
            "git fetch main from http://127.0.0.1:{port}/manifests.git: "
        )),
        "{shown}"
    );
    assert!(shown.ends_with(&cause), "{shown}");
}

#[test]
fn issue_9_a_commit_the_clone_does_not_have_is_not_found() {
    let root = GitRoot::new();
    root.create("manifests", "main", &[(DEPLOY, "image: web:1.0.0\n")]);
    let cache = tempfile::tempdir().unwrap();
    let workspace = Workspace::open(cache.path(), remote(root.file_url("manifests"))).unwrap();
    let head = workspace.fetch("main").unwrap();
    let unknown: CommitId = "0123456789abcdef0123456789abcdef01234567".parse().unwrap();
    let error = workspace.same_change(head, unknown).unwrap_err();
    let GitError::Local { source, .. } = &error else {
        panic!("not a local error: {error:?}");
    };
    assert!(source.is_not_found(), "{source:?}");
    assert!(error.to_string().starts_with("git compare in "), "{error}");
}
