//! `kedge import`: kedge.yaml on stdout, what did not map on stderr, and the
//! exit status a script can branch on (0 all mapped, 1 something not, 2 bad input).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn migration(relative: &str) -> PathBuf {
    kedge_testkit::fixtures_dir()
        .join("migration")
        .join(relative)
}

fn kedge_import(args: &[&str], files: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kedge"))
        .arg("import")
        .args(args)
        .args(files)
        .output()
        .expect("kedge runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const LEGACY_SEMVER: &str = "argoproj-labs__argocd-image-updater/_legacy-v0.18.0/test/e2e/suite/001-simple-kustomize-app-semver/01-install.yaml";

#[test]
fn a_fully_mapped_setup_exits_0_with_a_kedge_yaml_kedge_reads() {
    let file = migration(LEGACY_SEMVER);
    let output = kedge_import(&["argocd-image-updater"], &[&file]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        text(&output.stderr)
    );
    let config = kedge::config::Config::parse(Path::new("kedge.yaml"), &stdout)
        .unwrap_or_else(|e| panic!("kedge reads what import printed: {e}\n{stdout}"));
    assert_eq!(config.git.url, "http://10.42.0.1:30002/testdata.git");
    assert_eq!(config.images[0].image, "10.42.0.1:30000/test-image");
    assert_eq!(config.images[0].targets, ["001-simple-kustomize-app"]);
    // Differences are told, without failing the import.
    assert!(
        text(&output.stderr).contains("kedge: note:"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn what_does_not_map_is_on_stderr_with_file_line_and_key_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("app.yaml");
    std::fs::write(
        &file,
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  annotations:\n    \
         argocd-image-updater.argoproj.io/image-list: web=ghcr.io/org/web:~1.2\n    \
         argocd-image-updater.argoproj.io/write-back-method: argocd\n    \
         argocd-image-updater.argoproj.io/web.platforms: linux/amd64,linux/arm64\nspec:\n  source:\n    \
         repoURL: https://github.com/org/manifests.git\n    path: apps/web\n    targetRevision: main\n",
    )
    .expect("written");
    let output = kedge_import(&["argocd-image-updater"], &[&file]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let shown = file.display();
    assert!(
        stderr.contains(&format!(
            "kedge: not mapped: {shown}:7: argocd-image-updater.argoproj.io/write-back-method: argocd is not applicable"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("kedge checks one platform per image: linux/amd64 is kept"),
        "{stderr}"
    );
    // What did map is still printed.
    let config = kedge::config::Config::parse(Path::new("kedge.yaml"), &text(&output.stdout))
        .expect("kedge reads the partial import");
    assert_eq!(config.images[0].platform.as_deref(), Some("linux/amd64"));
}

#[test]
fn a_file_of_another_kind_exits_2_naming_the_file_and_its_kind() {
    let file = migration(
        "keel-hq__keel/_transcribed/readme/L0152-0175_Deployment-policy-trigger-annotations.yaml",
    );
    let output = kedge_import(&["flux"], &[&file]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("Deployment (apps/v1) is not flux configuration"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing printed for bad input");
}

#[test]
fn keel_needs_the_git_repository_and_maps_with_it() {
    let file = migration(
        "keel-hq__keel/_transcribed/readme/L0152-0175_Deployment-policy-trigger-annotations.yaml",
    );
    let without = kedge_import(&["keel"], &[&file]);
    assert_eq!(without.status.code(), Some(2));
    assert!(
        text(&without.stderr).contains("--git-url"),
        "{}",
        text(&without.stderr)
    );

    let with = kedge_import(
        &[
            "keel",
            "--git-url",
            "https://github.com/org/manifests.git",
            "--path",
            "k8s/wd.yaml",
        ],
        &[&file],
    );
    assert_eq!(
        with.status.code(),
        Some(0),
        "stderr: {}",
        text(&with.stderr)
    );
    let config = kedge::config::Config::parse(Path::new("kedge.yaml"), &text(&with.stdout))
        .expect("kedge reads it");
    let image = &config.images[0];
    assert_eq!(image.targets, ["k8s/wd.yaml"]);
    // keel.sh/policy: minor from 0.0.8: any newer version below the next major.
    let policy = image.policy.as_ref().expect("a policy");
    assert_eq!(policy.constraint.as_deref(), Some(">=0.0.8 <1.0.0"));
}

#[test]
fn json_output_carries_the_report_for_programs() {
    let file =
        migration("fluxcd__image-reflector-controller/config/samples/image_v1_imagepolicy.yaml");
    let output = kedge_import(&["flux", "-o", "json"], &[&file]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the ImageRepository is missing"
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let not_mapped = json["notMapped"].as_array().expect("a list");
    assert_eq!(not_mapped[0]["key"], "spec.imageRepositoryRef");
    assert_eq!(not_mapped[0]["line"], 8);
    assert!(json["configs"].as_array().is_some_and(Vec::is_empty));
}

#[test]
fn crd_output_is_image_update_resources_the_controller_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("app.yaml");
    std::fs::write(
        &file,
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  annotations:\n    \
         argocd-image-updater.argoproj.io/image-list: web=ghcr.io/org/web:~1.2\n    \
         argocd-image-updater.argoproj.io/write-back-method: git\n    \
         argocd-image-updater.argoproj.io/git-branch: main:kedge/web\nspec:\n  source:\n    \
         repoURL: https://github.com/org/manifests.git\n    path: apps/web\n    targetRevision: main\n",
    )
    .expect("written");
    let output = kedge_import(&["argocd-image-updater", "-o", "crd"], &[&file]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    let resource: kedge_controller::ImageUpdate =
        serde_saphyr::from_str(&text(&output.stdout)).expect("an ImageUpdate");
    assert_eq!(resource.metadata.name.as_deref(), Some("manifests"));
    let spec = &resource.spec;
    spec.validate().expect("valid for the controller");
    assert_eq!(
        spec.write_back.mode,
        kedge_controller::WriteBackMode::PullRequest
    );
    assert_eq!(
        spec.write_back.pull_request.branch.as_deref(),
        Some("kedge/web")
    );
    assert_eq!(spec.images[0].targets, ["apps/web"]);
    assert!(stderr.contains("create Secret github-token"), "{stderr}");
}
