//! The strongest check of `kedge import`: Argo CD Image Updater's own e2e
//! scenarios (annotation form and ImageUpdater form) and Flux's documented
//! setup, imported and run with `kedge update --dry-run` against a real
//! registry and Git repository. Only the hosts are changed: the scenario's
//! registry and repository become the test servers.

use std::path::Path;
use std::process::{Command, Output};

use kedge_testkit::{GitRoot, ImageSpec, OciLayout, TestRegistry};

/// A registry holding `tags` of `repository`, each built at its time.
fn registry(repository: &str, tags: &[(&str, &str)]) -> (TestRegistry, tempfile::TempDir) {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = OciLayout::create(&dir.path().join("layout"));
    for (tag, created) in tags {
        layout.add_image(tag, &ImageSpec::new(created, tag));
        registry.push(&layout, tag, repository);
    }
    (registry, dir)
}

fn kedge(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args(args)
        .env("HOME", dir)
        .output()
        .expect("kedge runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Imports `source` (a fixture with hosts replaced) as `tool`, lets the
/// registry be plain HTTP, and returns `kedge update --dry-run -o json`.
fn import_and_dry_run(
    tool: &str,
    source: &str,
    registry: &TestRegistry,
    dir: &Path,
) -> serde_json::Value {
    let input = dir.join("input.yaml");
    std::fs::write(&input, source).expect("input written");
    let import = kedge(&["import", tool, input.to_str().expect("UTF-8 path")], dir);
    assert!(
        matches!(import.status.code(), Some(0 | 1)),
        "import failed: {}",
        text(&import.stderr)
    );
    // The registry settings AIU and Flux keep elsewhere (registries.conf, the cluster).
    let config = format!(
        "{}registries:\n- prefix: {}\n  insecure: true\n",
        text(&import.stdout),
        registry.host()
    );
    let config_path = dir.join("kedge.yaml");
    std::fs::write(&config_path, config).expect("config written");
    let update = kedge(
        &[
            "update",
            "--config",
            config_path.to_str().expect("UTF-8 path"),
            "--cache-dir",
            dir.join("cache").to_str().expect("UTF-8 path"),
            "--dry-run",
            "-o",
            "json",
        ],
        dir,
    );
    assert!(
        update.status.success(),
        "kedge update: {}",
        text(&update.stderr)
    );
    serde_json::from_slice(&update.stdout).expect("JSON result")
}

fn fixture(relative: &str) -> String {
    let path = kedge_testkit::fixtures_dir()
        .join("migration")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// AIU's kustomize test app: a Deployment running the scenario's image.
fn kustomize_app(dir: &str, image: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("{dir}/kustomization.yaml"),
            "resources:\n- deployment.yaml\n".to_owned(),
        ),
        (
            format!("{dir}/deployment.yaml"),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: test\nspec:\n  template:\n    \
                 spec:\n      containers:\n      - name: test\n        image: {image}\n"
            ),
        ),
    ]
}

fn repository(root: &GitRoot, files: &[(String, String)]) {
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    root.create("testdata", "main", &files);
}

/// Scenario 001: `test=…/test-image:1.X.X`, semver. Both forms choose the
/// highest 1.x tag and rewrite the app's Deployment.
#[test]
fn argocd_image_updater_001_semver_picks_the_highest_1_x() {
    for scenario in [
        "argoproj-labs__argocd-image-updater/_legacy-v0.18.0/test/e2e/suite/001-simple-kustomize-app-semver/01-install.yaml",
        "argoproj-labs__argocd-image-updater/test/e2e/suite/001-simple-kustomize-app-semver/01-install.yaml",
    ] {
        let tags = [
            ("1.0.0", "2026-01-01T00:00:00Z"),
            ("1.0.2", "2026-01-02T00:00:00Z"),
            ("1.1.0", "2026-01-03T00:00:00Z"),
            ("2.0.0", "2026-01-04T00:00:00Z"),
        ];
        let (registry, dir) = registry("test-image", &tags);
        let root = GitRoot::new();
        let image = format!("{}/test-image", registry.host());
        repository(
            &root,
            &kustomize_app("001-simple-kustomize-app", &format!("{image}:1.0.0")),
        );
        let source = fixture(scenario)
            .replace("10.42.0.1:30000", &registry.host())
            .replace(
                "http://10.42.0.1:30002/testdata.git",
                &root.file_url("testdata"),
            );
        let result = import_and_dry_run("argocd-image-updater", &source, &registry, dir.path());
        let update = &result["updates"][0];
        assert_eq!(update["newTag"], "1.1.0", "{scenario}: {result:#}");
        assert_eq!(
            update["files"][0], "001-simple-kustomize-app/deployment.yaml",
            "{scenario}"
        );
    }
}

/// Scenario 002: `test=…/test-image:latest` with the digest strategy: kedge
/// follows `latest` and pins its digest.
#[test]
fn argocd_image_updater_002_digest_follows_latest() {
    for scenario in [
        "argoproj-labs__argocd-image-updater/_legacy-v0.18.0/test/e2e/suite/002-simple-kustomize-app-latest/01-install.yaml",
        "argoproj-labs__argocd-image-updater/test/e2e/suite/002-simple-kustomize-app-latest/01-install.yaml",
    ] {
        let (registry, dir) = registry("test-image", &[("latest", "2026-01-05T00:00:00Z")]);
        let root = GitRoot::new();
        let image = format!("{}/test-image", registry.host());
        repository(
            &root,
            &kustomize_app("001-simple-kustomize-app", &format!("{image}:latest")),
        );
        let source = fixture(scenario)
            .replace("10.42.0.1:30000", &registry.host())
            .replace(
                "https://10.42.0.1:30003/testdata.git",
                &root.file_url("testdata"),
            );
        let result = import_and_dry_run("argocd-image-updater", &source, &registry, dir.path());
        let reference = result["updates"][0]["newReference"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reference.starts_with(&format!("{image}:latest@sha256:")),
            "{scenario}: {result:#}"
        );
    }
}

/// Flux's documented setup (GitRepository, ImageRepository, ImagePolicy
/// `5.0.x`, ImageUpdateAutomation) with a marked Deployment in the repository.
#[test]
fn flux_documented_setup_picks_the_highest_5_0_x() {
    let tags = [
        ("5.0.0", "2026-01-01T00:00:00Z"),
        ("5.0.3", "2026-01-02T00:00:00Z"),
        ("5.1.0", "2026-01-03T00:00:00Z"),
    ];
    let (registry, dir) = registry("stefanprodan/podinfo", &tags);
    let root = GitRoot::new();
    let image = format!("{}/stefanprodan/podinfo", registry.host());
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  template:\n    spec:\n      \
         containers:\n      - name: podinfo\n        image: {image}:5.0.0 # {{\"$imagepolicy\": \"default:podinfo-policy\"}}\n"
    );
    repository(&root, &[("apps/podinfo.yaml".to_owned(), deployment)]);
    let source = fixture(
        "fluxcd__image-automation-controller/_transcribed/docs/spec/v1/imageupdateautomations/L0017-0068_full-GitRepository-ImageRepository-ImagePolicy-ImageUpdateAutomation.yaml",
    )
    .replace("ghcr.io/stefanprodan/podinfo", &image)
    .replace("https://github.com/fluxcd/example", &root.file_url("testdata"));
    let result = import_and_dry_run("flux", &source, &registry, dir.path());
    let update = &result["updates"][0];
    assert_eq!(update["newTag"], "5.0.3", "{result:#}");
    assert_eq!(update["files"][0], "apps/podinfo.yaml");
}
