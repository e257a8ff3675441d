//! kedge-git against real remotes: file://, git daemon and smart HTTP with basic auth.

use kedge_git::{Author, GitAuth, GitError, PushOutcome, Remote, Workspace};
use kedge_testkit::{GitDaemon, GitHttp, GitRoot};

const DEPLOY: &str = "apps/web/deploy.yaml";

fn author() -> Author {
    Author {
        name: "kedge".into(),
        email: "kedge@example.com".into(),
    }
}

fn remote(url: String, auth: GitAuth) -> Remote {
    Remote { url, auth }
}

/// Fetches main, writes `content` to the deploy file, commits and pushes.
fn bump(workspace: &Workspace, content: &str, message: &str) -> PushOutcome {
    let head = workspace.fetch("main").unwrap();
    workspace.reset_to(head).unwrap();
    std::fs::write(workspace.workdir().join(DEPLOY), content).unwrap();
    let commit = workspace.commit(head, message, &author()).unwrap().unwrap();
    workspace.push(commit, "main", false).unwrap()
}

fn seeded() -> GitRoot {
    let root = GitRoot::new();
    root.create(
        "manifests",
        "main",
        &[(DEPLOY, "image: web:1.0.0\n"), ("README.md", "hi\n")],
    );
    root
}

#[test]
fn file_remote_round_trip_and_cached_clone_is_reused() {
    let root = seeded();
    let cache = tempfile::tempdir().unwrap();
    let url = root.file_url("manifests");
    {
        let workspace = Workspace::open(cache.path(), remote(url.clone(), GitAuth::None)).unwrap();
        assert_eq!(
            bump(&workspace, "image: web:1.1.0\n", "Bump web to 1.1.0"),
            PushOutcome::Pushed
        );
    }
    assert_eq!(root.show("manifests", "main", DEPLOY), "image: web:1.1.0\n");
    assert_eq!(
        root.subjects("manifests", "main"),
        ["Bump web to 1.1.0", "Initial manifests"]
    );

    // Another writer moves main; the cached clone fetches the new commit.
    root.commit_files(
        "manifests",
        "main",
        &[("README.md", "hello\n")],
        "Edit README",
    );
    let workspace = Workspace::open(cache.path(), remote(url, GitAuth::None)).unwrap();
    let head = workspace.fetch("main").unwrap();
    assert_eq!(head.to_string(), root.head("manifests", "main"));
    workspace.reset_to(head).unwrap();
    assert_eq!(
        std::fs::read_to_string(workspace.workdir().join("README.md")).unwrap(),
        "hello\n"
    );
    // Nothing changed: nothing to commit.
    assert_eq!(workspace.commit(head, "noop", &author()).unwrap(), None);
}

#[test]
fn a_lost_race_is_rejected_not_overwritten() {
    let root = seeded();
    let (cache_a, cache_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let url = root.file_url("manifests");
    let a = Workspace::open(cache_a.path(), remote(url.clone(), GitAuth::None)).unwrap();
    let b = Workspace::open(cache_b.path(), remote(url, GitAuth::None)).unwrap();
    let head_b = b.fetch("main").unwrap();
    b.reset_to(head_b).unwrap();

    assert_eq!(bump(&a, "image: web:1.1.0\n", "A"), PushOutcome::Pushed);

    std::fs::write(b.workdir().join("README.md"), "from b\n").unwrap();
    let commit_b = b.commit(head_b, "B", &author()).unwrap().unwrap();
    assert!(matches!(
        b.push(commit_b, "main", false).unwrap(),
        PushOutcome::Rejected { .. }
    ));
    assert_eq!(
        root.subjects("manifests", "main"),
        ["A", "Initial manifests"]
    );

    // Re-applied on the new head, B lands on top of A.
    let head = b.fetch("main").unwrap();
    b.reset_to(head).unwrap();
    std::fs::write(b.workdir().join("README.md"), "from b\n").unwrap();
    let commit = b.commit(head, "B", &author()).unwrap().unwrap();
    assert_eq!(b.push(commit, "main", false).unwrap(), PushOutcome::Pushed);
    assert_eq!(
        root.subjects("manifests", "main"),
        ["B", "A", "Initial manifests"]
    );
    assert_eq!(root.show("manifests", "main", DEPLOY), "image: web:1.1.0\n");
}

#[test]
fn git_daemon_remote_accepts_pushes() {
    let root = seeded();
    let daemon = GitDaemon::start(&root);
    let cache = tempfile::tempdir().unwrap();
    let workspace =
        Workspace::open(cache.path(), remote(daemon.url("manifests"), GitAuth::None)).unwrap();
    assert_eq!(
        bump(&workspace, "image: web:2.0.0\n", "Bump over git://"),
        PushOutcome::Pushed
    );
    assert_eq!(root.show("manifests", "main", DEPLOY), "image: web:2.0.0\n");
}

#[test]
fn smart_http_with_basic_auth() {
    let root = seeded();
    let http = GitHttp::start(&root, "bot", "t0ken");
    let cache = tempfile::tempdir().unwrap();
    let good = GitAuth::UserPass {
        username: "bot".into(),
        password: "t0ken".into(),
    };
    let workspace = Workspace::open(cache.path(), remote(http.url("manifests"), good)).unwrap();
    assert_eq!(
        bump(&workspace, "image: web:3.0.0\n", "Bump over HTTP"),
        PushOutcome::Pushed
    );
    assert_eq!(root.show("manifests", "main", DEPLOY), "image: web:3.0.0\n");

    let before = root.head("manifests", "main");
    let wrong = GitAuth::UserPass {
        username: "bot".into(),
        password: "wrong".into(),
    };
    let cache = tempfile::tempdir().unwrap();
    let workspace = Workspace::open(cache.path(), remote(http.url("manifests"), wrong)).unwrap();
    let err = workspace.fetch("main").unwrap_err();
    assert!(matches!(err, GitError::Auth { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("authentication failed") && message.contains("bot"),
        "{message}"
    );
    assert!(
        !message.contains("wrong"),
        "the password is never shown: {message}"
    );
    assert_eq!(root.head("manifests", "main"), before, "remote untouched");
}

#[test]
fn missing_branch_is_named() {
    let root = seeded();
    let cache = tempfile::tempdir().unwrap();
    let workspace = Workspace::open(
        cache.path(),
        remote(root.file_url("manifests"), GitAuth::None),
    )
    .unwrap();
    let err = workspace.fetch("release").unwrap_err();
    assert!(matches!(err, GitError::NoBranch { .. }), "{err:?}");
    assert!(err.to_string().contains("\"release\""), "{err}");
}

#[test]
fn push_with_wrong_credentials_fails_and_leaves_the_remote_untouched() {
    let root = seeded();
    let http = GitHttp::start_push_auth(&root, "bot", "t0ken");
    let before = root.head("manifests", "main");
    let wrong = GitAuth::UserPass {
        username: "bot".into(),
        password: "wrong".into(),
    };
    let cache = tempfile::tempdir().unwrap();
    let workspace = Workspace::open(cache.path(), remote(http.url("manifests"), wrong)).unwrap();
    // Fetching is public; the push is refused.
    let head = workspace.fetch("main").unwrap();
    workspace.reset_to(head).unwrap();
    std::fs::write(workspace.workdir().join(DEPLOY), "image: web:9.9.9\n").unwrap();
    let commit = workspace.commit(head, "Bump", &author()).unwrap().unwrap();
    let err = workspace.push(commit, "main", false).unwrap_err();
    assert!(matches!(err, GitError::Auth { .. }), "{err:?}");
    assert!(!err.to_string().contains("wrong"), "{err}");
    assert_eq!(root.head("manifests", "main"), before, "remote untouched");
}
