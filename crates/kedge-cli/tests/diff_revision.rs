//! End-to-end runs of `kedge diff --revision A..B PATH` on real Git
//! repositories: plain manifests, a fixture Kustomize overlay (real kubectl
//! kustomize) and the fixture Helm chart (real helm).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kedge_testkit::fixtures_dir;
use kedge_testkit::kube::cli;

/// A Git working tree in a temporary directory.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let repo = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "--quiet", "-b", "main"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes (`Some`) or deletes (`None`) files and commits them all.
    fn commit(&self, files: &[(&str, Option<&str>)], message: &str) {
        for (path, content) in files {
            let file = self.path().join(path);
            match content {
                Some(content) => {
                    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                    std::fs::write(file, content).unwrap();
                }
                None => std::fs::remove_file(file).unwrap(),
            }
        }
        self.commit_all(message);
    }

    fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "--quiet", "-m", message]);
    }

    fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_AUTHOR_NAME", "test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

fn kedge_diff(range: &str, path: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kedge"));
    command
        .args(["diff", "--revision", range])
        .arg(path)
        .args(args)
        .env_remove("KEDGE_HELM")
        .env_remove("KEDGE_KUSTOMIZE");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run kedge")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: {image}\n"
    )
}

fn config_map(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  mode: fast\n")
}

/// Three commits of `apps/web`: the image bumped, then one file replaced by another.
fn plain_history() -> Repo {
    let repo = Repo::new();
    let settings = config_map("settings");
    let legacy = config_map("legacy");
    let web = deployment("registry.example/web:1.0");
    repo.commit(
        &[
            ("apps/web/deployment.yaml", Some(&web)),
            ("apps/web/settings.yaml", Some(&settings)),
            ("apps/web/legacy.yaml", Some(&legacy)),
            ("README.md", Some("not a manifest\n")),
        ],
        "web 1.0",
    );
    let web = deployment("registry.example/web:1.1");
    repo.commit(&[("apps/web/deployment.yaml", Some(&web))], "web 1.1");
    let cache = config_map("cache");
    repo.commit(
        &[
            ("apps/web/legacy.yaml", None),
            ("apps/web/cache.yaml", Some(&cache)),
        ],
        "cache replaces legacy",
    );
    repo
}

#[test]
fn a_bumped_image_is_one_changed_object_with_exactly_its_lines() {
    let repo = plain_history();
    let output = kedge_diff("HEAD~2..HEAD~1", &repo.path().join("apps/web"), &[], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "--- a/apps/Deployment shop/web (HEAD~2)",
            "+++ b/apps/Deployment shop/web (HEAD~1)",
            "@@ -8,4 +8,4 @@",
            "     spec:",
            "       containers:",
            "       - name: web",
            "-        image: registry.example/web:1.0",
            "+        image: registry.example/web:1.1",
        ]
    );
}

#[test]
fn a_removed_file_is_a_removed_object_and_a_new_file_an_added_one() {
    let repo = plain_history();
    let output = kedge_diff("HEAD~1..HEAD", &repo.path().join("apps/web"), &[], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let headers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("--- ") || l.starts_with("+++ "))
        .collect();
    assert_eq!(
        headers,
        [
            "--- /dev/null",
            "+++ b/ConfigMap cache (HEAD)",
            "--- a/ConfigMap legacy (HEAD~1)",
            "+++ /dev/null",
        ]
    );
    assert!(text.contains("+  name: cache\n"), "{text}");
    assert!(text.contains("-  name: legacy\n"), "{text}");
    assert!(
        !text.contains("settings"),
        "unchanged objects are not shown"
    );

    let markdown = kedge_diff(
        "HEAD~1..HEAD",
        &repo.path().join("apps/web"),
        &["-o", "markdown"],
        &[],
    );
    let body = stdout(&markdown);
    assert!(
        body.contains("**0 objects changed, 1 added, 1 removed**"),
        "{body}"
    );
    assert!(
        body.contains("#### `ConfigMap cache` (added)\n\n```diff\n"),
        "{body}"
    );

    let json = kedge_diff(
        "HEAD~1..HEAD",
        &repo.path().join("apps/web"),
        &["-o", "json"],
        &[],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(
        json["to"]["commit"],
        repo.git(&["rev-parse", "HEAD"]).trim()
    );
    assert_eq!(json["path"], "apps/web");
    let changes: Vec<_> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["change"], c["key"]["name"]))
        .collect();
    assert_eq!(changes, ["\"added\" \"cache\"", "\"removed\" \"legacy\""]);
}

#[test]
fn the_same_objects_at_both_revisions_exit_0_with_no_output() {
    let repo = plain_history();
    // README.md changed nowhere near apps/web: HEAD~1..HEAD~1 and a range
    // whose only change is outside the path are both "no difference".
    repo.commit(&[("README.md", Some("edited\n"))], "docs");
    for range in ["HEAD..HEAD", "HEAD~1..HEAD"] {
        let output = kedge_diff(range, &repo.path().join("apps/web"), &[], &[]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{range}: {}",
            stderr(&output)
        );
        assert_eq!(stdout(&output), "", "{range}");
    }
}

#[test]
fn an_app_that_only_the_later_revision_has_is_all_added() {
    let repo = plain_history();
    let worker = config_map("worker");
    repo.commit(&[("apps/worker/cm.yaml", Some(&worker))], "worker");
    let output = kedge_diff("HEAD~1..HEAD", &repo.path().join("apps/worker"), &[], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("--- /dev/null\n+++ b/ConfigMap worker (HEAD)\n"),
        "{}",
        stdout(&output)
    );
    // Checked out at the older revision, the path does not exist at all.
    repo.git(&["checkout", "--quiet", "HEAD~1"]);
    let output = kedge_diff("HEAD..main", &repo.path().join("apps/worker"), &[], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn an_unknown_revision_exits_2_naming_it() {
    let repo = plain_history();
    let output = kedge_diff(
        "HEAD..no-such-branch",
        &repo.path().join("apps/web"),
        &[],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(
        stderr(&output).starts_with("kedge: error: unknown revision `no-such-branch`"),
        "{}",
        stderr(&output)
    );
    let output = kedge_diff("HEAD..HEAD", &repo.path().join("apps/typo"), &[], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("apps/typo exists at neither `HEAD` nor `HEAD`"),
        "{}",
        stderr(&output)
    );
    let output = kedge_diff("main", &repo.path().join("apps/web"), &[], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("expected A..B"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_render_failing_at_the_later_revision_exits_2_naming_it_and_the_file() {
    let repo = plain_history();
    repo.commit(
        &[(
            "apps/web/broken.yaml",
            Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n"),
        )],
        "broken",
    );
    let output = kedge_diff("HEAD~1..HEAD", &repo.path().join("apps/web"), &[], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no partial diff is printed");
    let error = stderr(&output);
    assert!(
        error.starts_with("kedge: error: rendering apps/web at `HEAD`: broken.yaml:"),
        "{error}"
    );
}

/// Copies a fixture directory into the repository.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_kustomize_overlay_sees_its_base_change_at_each_revision() {
    let Some(kubectl) = cli(
        "a_kustomize_overlay_sees_its_base_change_at_each_revision",
        "kubectl",
    ) else {
        return;
    };
    let repo = Repo::new();
    let fixture = fixtures_dir().join("manifests/kubernetes-sigs__kustomize/examples/multibases");
    copy_dir(&fixture, &repo.path().join("multibases"));
    repo.commit_all("multibases");
    // Only the base changes: the overlay must be built from each revision's base.
    let pod = repo.path().join("multibases/base/pod.yaml");
    let text = std::fs::read_to_string(&pod).unwrap();
    std::fs::write(&pod, text.replace("nginx:1.7.9", "nginx:1.27.0")).unwrap();
    repo.commit_all("nginx 1.27.0");

    let kustomize = PathBuf::from(format!("{} kustomize", kubectl.display()));
    let output = kedge_diff(
        "HEAD~1..HEAD",
        &repo.path().join("multibases/dev"),
        &[],
        &[("KEDGE_KUSTOMIZE", &kustomize)],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let changed: Vec<&str> = text.lines().filter(|l| l.starts_with(['-', '+'])).collect();
    assert_eq!(
        changed,
        [
            "--- a/Pod dev-myapp-pod (HEAD~1)",
            "+++ b/Pod dev-myapp-pod (HEAD)",
            "-  - image: nginx:1.7.9",
            "+  - image: nginx:1.27.0",
        ],
        "{text}"
    );
}

#[test]
fn a_helm_values_file_changed_between_revisions() {
    let Some(helm) = cli("a_helm_values_file_changed_between_revisions", "helm") else {
        return;
    };
    let repo = Repo::new();
    let chart = fixtures_dir().join("charts/GoogleCloudPlatform__microservices-demo");
    copy_dir(&chart, &repo.path().join("charts/shop"));
    repo.commit(
        &[("charts/shop/prod.yaml", Some("images:\n  tag: v1.0.0\n"))],
        "shop chart",
    );
    repo.commit(
        &[("charts/shop/prod.yaml", Some("images:\n  tag: v1.0.1\n"))],
        "shop v1.0.1",
    );
    let output = kedge_diff(
        "main~1..main",
        &repo.path().join("charts/shop"),
        &["--release", "shop", "-n", "store", "--values", "prod.yaml"],
        &[("KEDGE_HELM", &helm)],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(
            "--- a/apps/Deployment store/frontend (main~1)\n+++ b/apps/Deployment store/frontend (main)\n"
        ),
        "{text}"
    );
    let image = "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/frontend";
    let frontend: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(['-', '+']) && l.contains(image))
        .map(str::trim_end)
        .collect();
    assert_eq!(frontend.len(), 2, "{text}");
    assert!(frontend[0].starts_with('-') && frontend[0].ends_with("/frontend:v1.0.0"));
    assert!(frontend[1].starts_with('+') && frontend[1].ends_with("/frontend:v1.0.1"));
    // Only image tags moved: Services and ServiceAccounts are unchanged.
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("--- ")).collect();
    assert!(
        headers
            .iter()
            .all(|h| h.starts_with("--- a/apps/Deployment store/")),
        "{headers:?}"
    );

    // A template that fails at the later revision: exit 2 naming it and helm's message.
    repo.commit(
        &[(
            "charts/shop/templates/zz-fail.yaml",
            Some("{{ fail \"prod needs a tag\" }}\n"),
        )],
        "failing template",
    );
    let output = kedge_diff(
        "main~1..main",
        &repo.path().join("charts/shop"),
        &["--release", "shop", "--values", "prod.yaml"],
        &[("KEDGE_HELM", &helm)],
    );
    assert_eq!(output.status.code(), Some(2));
    let error = stderr(&output);
    assert!(
        error.starts_with("kedge: error: rendering charts/shop at `main`: helm template failed"),
        "{error}"
    );
    assert!(error.contains("prod needs a tag"), "{error}");
}
