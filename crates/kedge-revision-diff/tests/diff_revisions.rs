//! `diff_revisions` on a real repository with a fake Kustomize that logs
//! every run: the render cache spares the tool, identical trees spare it too.

use std::num::NonZeroUsize;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use kedge_render::{KustomizeOptions, RenderCache, Renderer};
use kedge_revision_diff::{Change, RevisionDiffError, RevisionRange, diff_revisions};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?}");
}

/// A repository whose `app/objects.yaml` changes once, a later commit that
/// only touches a README, and a fake Kustomize (outside the repository)
/// that prints `objects.yaml` of the path it is given.
struct Fixture {
    repo: tempfile::TempDir,
    tools: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path();
        git(root, &["init", "--quiet", "-b", "main"]);
        std::fs::create_dir(root.join("app")).unwrap();
        for data in ["one", "two"] {
            std::fs::write(
                root.join("app/objects.yaml"),
                format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{value: {data}}}\n"),
            )
            .unwrap();
            git(root, &["add", "-A"]);
            git(root, &["commit", "--quiet", "-m", data]);
        }
        std::fs::write(root.join("README.md"), "docs\n").unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "--quiet", "-m", "docs"]);

        let tools = tempfile::tempdir().unwrap();
        let script = tools.path().join("kustomize.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$1\" >> '{}'\ncat \"$1/objects.yaml\"\n",
                tools.path().join("runs.log").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { repo, tools }
    }

    fn renderer(&self) -> Renderer {
        Renderer::Kustomize(KustomizeOptions::new([self
            .tools
            .path()
            .join("kustomize.sh")]))
    }

    fn runs(&self) -> usize {
        std::fs::read_to_string(self.tools.path().join("runs.log"))
            .map_or(0, |log| log.lines().count())
    }
}

#[test]
fn a_cache_renders_each_revision_once() {
    let fixture = Fixture::new();
    let cache = RenderCache::new(NonZeroUsize::new(8).unwrap());
    let range: RevisionRange = "HEAD~2..HEAD~1".parse().unwrap();
    let app = fixture.repo.path().join("app");
    for _ in 0..3 {
        let diff = diff_revisions(&app, &range, &fixture.renderer(), Some(&cache)).unwrap();
        assert_eq!(diff.changes.len(), 1);
        assert_eq!(diff.changes[0].change, Change::Changed);
        assert!(
            diff.changes[0]
                .diff
                .contains("-  value: one\n+  value: two\n"),
            "{}",
            diff.changes[0].diff
        );
    }
    assert_eq!(fixture.runs(), 2, "one render a revision, then hits");
    assert_eq!(cache.stats().hits, 4);
}

#[test]
fn revisions_with_the_same_tree_are_not_rendered() {
    let fixture = Fixture::new();
    let app = fixture.repo.path().join("app");
    let range: RevisionRange = "HEAD..main".parse().unwrap();
    let diff = diff_revisions(&app, &range, &fixture.renderer(), None).unwrap();
    assert!(diff.is_empty());
    assert_eq!(fixture.runs(), 0);
    // A README change is a different tree: both sides render, nothing differs.
    let range: RevisionRange = "HEAD~1..HEAD".parse().unwrap();
    let diff = diff_revisions(&app, &range, &fixture.renderer(), None).unwrap();
    assert!(diff.is_empty());
    assert_eq!(fixture.runs(), 2);
}

#[test]
fn three_dots_compare_from_the_merge_base() {
    let fixture = Fixture::new();
    let root = fixture.repo.path();
    // A pull request branch from HEAD~1 that changes the app again, while
    // main moved on: `main...pr` shows only the branch's change.
    git(root, &["checkout", "--quiet", "-b", "pr", "HEAD~1"]);
    std::fs::write(
        root.join("app/objects.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {value: three}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: token}\n",
    )
    .unwrap();
    git(root, &["commit", "--quiet", "-am", "three"]);
    let range: RevisionRange = "main...pr".parse().unwrap();
    let diff = diff_revisions(&root.join("app"), &range, &fixture.renderer(), None).unwrap();
    assert_eq!(diff.from.name, "merge-base(main, pr)");
    let changes: Vec<_> = diff
        .changes
        .iter()
        .map(|c| (c.key.to_string(), c.change))
        .collect();
    assert_eq!(
        changes,
        [
            ("ConfigMap settings".to_owned(), Change::Changed),
            ("Secret token".to_owned(), Change::Added)
        ]
    );
    assert!(
        diff.changes[0]
            .diff
            .contains("-  value: two\n+  value: three\n")
    );
}

#[test]
fn issue_9_an_unknown_revision_keeps_libgit2s_error_as_the_source() {
    let fixture = Fixture::new();
    let range: RevisionRange = "main..no-such-branch".parse().unwrap();
    let path = fixture.repo.path().join("app");
    let error = diff_revisions(&path, &range, &fixture.renderer(), None).unwrap_err();
    assert!(
        matches!(error, RevisionDiffError::UnknownRevision { .. }),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "unknown revision `no-such-branch`");
    let source = std::error::Error::source(&error).expect("libgit2's error is kept");
    assert!(source.to_string().contains("no-such-branch"), "{source}");
}
