//! End-to-end runs of `kedge set-image` on a temporary directory.

use std::path::Path;
use std::process::{Command, Output};

const DEPLOY: &str = "apiVersion: apps/v1\r\nkind: Deployment\r\nmetadata:\r\n  name: web # the web tier\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n      - name: web\r\n        image: 'nginx:1.25' # pinned\r\n      initContainers:\r\n      - {name: init, image: docker.io/library/nginx:1.25}\r\n";
const KUSTOMIZATION: &str =
    "resources:\n- deploy.yaml\nimages:\n- name: nginx\n  newTag: \"1.25\"\n";
const VALUES: &str = "image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: 7.2.4 # tag\n  digest: \"\"";

fn kedge(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kedge"))
        .arg("set-image")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run kedge")
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/deploy.yaml"), DEPLOY).unwrap();
    std::fs::write(dir.path().join("app/kustomization.yaml"), KUSTOMIZATION).unwrap();
    std::fs::write(dir.path().join("app/values.yaml"), VALUES).unwrap();
    dir
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn rewrites_every_reference_in_place() {
    let dir = setup();
    let out = kedge(
        &["app", "nginx=nginx:1.27", "bitnami/redis=*:7.4.1"],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("app/deploy.yaml: 2 references changed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("app/kustomization.yaml: 1 reference changed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("app/values.yaml: 1 reference changed"),
        "{stdout}"
    );
    assert_eq!(
        read(dir.path(), "app/deploy.yaml"),
        DEPLOY
            .replace("'nginx:1.25'", "'nginx:1.27'")
            // The name keeps its spelling (issue 10); only the tag changes.
            .replace(
                "docker.io/library/nginx:1.25",
                "docker.io/library/nginx:1.27"
            )
    );
    assert_eq!(
        read(dir.path(), "app/kustomization.yaml"),
        KUSTOMIZATION.replace("\"1.25\"", "\"1.27\"")
    );
    assert_eq!(
        read(dir.path(), "app/values.yaml"),
        VALUES.replace("7.2.4", "7.4.1")
    );
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let dir = setup();
    let out = kedge(&["app", "nginx=nginx:1.27", "--dry-run"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("--- a/app/deploy.yaml"), "{stdout}");
    assert!(
        stdout.contains("-        image: 'nginx:1.25' # pinned"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+        image: 'nginx:1.27' # pinned"),
        "{stdout}"
    );
    assert_eq!(read(dir.path(), "app/deploy.yaml"), DEPLOY);
}

#[test]
fn json_output_says_what_changed() {
    let dir = setup();
    let out = kedge(
        &["app/values.yaml", "redis=redis:1", "-o", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["files"].as_array().unwrap().len(),
        0,
        "bitnami/redis is not redis"
    );
    let out = kedge(
        &["app", "bitnami/redis=bitnami/redis:8.0", "-o", "json"],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["written"], true);
    assert_eq!(v["files"][0]["changes"][0]["old"], "7.2.4");
    assert_eq!(v["files"][0]["changes"][0]["new"], "8.0");
    assert_eq!(
        read(dir.path(), "app/values.yaml"),
        VALUES.replace("7.2.4", "\"8.0\"")
    );
}

#[test]
fn one_bad_file_means_exit_1_and_nothing_written() {
    let dir = setup();
    std::fs::write(
        dir.path().join("app/broken.yaml"),
        "spec:\n  replicas: {{ .replicas }}\n",
    )
    .unwrap();
    let out = kedge(&["app", "nginx=nginx:1.27"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("app/broken.yaml:2:14"), "{stderr}");
    assert_eq!(read(dir.path(), "app/deploy.yaml"), DEPLOY);
    assert_eq!(read(dir.path(), "app/kustomization.yaml"), KUSTOMIZATION);
}

#[test]
fn usage_errors_exit_2() {
    let dir = setup();
    assert_eq!(kedge(&["app"], dir.path()).status.code(), Some(2));
    assert_eq!(
        kedge(&["app", "nginx=nginx:a b"], dir.path()).status.code(),
        Some(2)
    );
    assert_eq!(
        kedge(&["nginx=nginx:1", "x=y:1"], dir.path()).status.code(),
        Some(2)
    );
    assert_eq!(
        kedge(&["missing", "x=y:1"], dir.path()).status.code(),
        Some(2)
    );
}

#[test]
fn alias_edits_are_refused() {
    let dir = setup();
    std::fs::write(
        dir.path().join("app/alias.yaml"),
        "defaults: &img nginx:1.25\nspec:\n  containers:\n  - image: *img\n",
    )
    .unwrap();
    let out = kedge(&["app", "nginx=nginx:1.27"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("alias.yaml:4:12") && stderr.contains("*img"),
        "{stderr}"
    );
    assert_eq!(read(dir.path(), "app/deploy.yaml"), DEPLOY);
}

#[test]
fn setter_markers_follow_a_policy() {
    let dir = setup();
    let marked = "spec:\n  containers:\n  - image: ghcr.io/org/app:1.0 # {\"$imagepolicy\": \"flux-system:app\"}\n";
    std::fs::write(dir.path().join("app/marked.yaml"), marked).unwrap();
    let out = kedge(
        &[
            "app/marked.yaml",
            "unused=unused:1",
            "--setter",
            "flux-system:app=ghcr.io/org/app:1.1",
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read(dir.path(), "app/marked.yaml"),
        marked.replace(":1.0 #", ":1.1 #")
    );
}

/// Issue 10: a reference to the requested image that no rule rewrites is reported on stderr
/// with file:line, key and the option that would include it; the option then includes it.
#[test]
fn references_left_alone_are_reported_with_the_option_that_includes_them() {
    let dir = setup();
    let cr =
        "apiVersion: monitoring.example.com/v1\nkind: Prometheus\nspec:\n  image: nginx:1.25\n";
    std::fs::write(dir.path().join("app/prometheus.yaml"), cr).unwrap();
    let out = kedge(&["app", "nginx=nginx:1.27"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("app/prometheus.yaml:4:10: `spec.image` holds `nginx:1.25`")
            && stderr.contains("--object-image-path spec.image would include it"),
        "{stderr}"
    );
    assert_eq!(read(dir.path(), "app/prometheus.yaml"), cr);
    let out = kedge(
        &[
            "app",
            "nginx=nginx:1.28",
            "--object-image-path",
            "Prometheus:spec.image",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read(dir.path(), "app/prometheus.yaml"),
        cr.replace("1.25", "1.28")
    );
}

/// Issue 12: staging held every changed file open, so a tree larger than the open-file limit
/// failed with "Too many open files". 3,000 files under a limit of 256.
#[test]
fn issue12_more_changed_files_than_the_open_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    for d in 0..3 {
        let sub = dir.path().join(format!("team-{d}"));
        std::fs::create_dir(&sub).unwrap();
        for i in 0..1000 {
            std::fs::write(sub.join(format!("svc-{i}.yaml")), VALUES).unwrap();
        }
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" set-image . bitnami/redis=*:7.4 -o json")
        .arg(env!("CARGO_BIN_EXE_kedge"))
        .current_dir(dir.path())
        .output()
        .expect("run kedge under sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["written"], true);
    assert_eq!(json["files"].as_array().unwrap().len(), 3000);
    assert!(read(dir.path(), "team-2/svc-999.yaml").contains("tag: \"7.4\" # tag"));
}

/// Issue 11: one file that cannot be replaced (immutable, which stops root too) and one that can:
/// nothing is written and the output says so.
#[test]
fn issue11_unreplaceable_file_means_nothing_written() {
    let dir = setup();
    let target = dir.path().join("app/values.yaml");
    let chattr = |flag: &str| Command::new("chattr").arg(flag).arg(&target).output();
    if !chattr("+i").is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: this filesystem (or user) cannot set the immutable attribute");
        return;
    }
    let out = kedge(
        &[
            "app",
            "nginx=nginx:1.27",
            "bitnami/redis=*:7.4",
            "-o",
            "json",
        ],
        dir.path(),
    );
    let _ = chattr("-i");
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["written"], false);
    assert_eq!(json["written_files"], serde_json::json!([]));
    let message = json["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("values.yaml: not replaced: the file is immutable"),
        "{message}"
    );
    assert_eq!(read(dir.path(), "app/deploy.yaml"), DEPLOY);
}

/// `kedge set-image … | head`: when the reader of the report goes away, kedge has done its work
/// and exits 0 without a panic, whether it was writing the report or a dry run's diffs.
#[test]
fn a_reader_that_stops_early_is_not_a_failure() {
    use std::io::Read;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    for i in 0..2_000 {
        std::fs::write(
            dir.path().join(format!("svc-{i}.yaml")),
            format!("kind: Pod\nmetadata:\n  name: svc-{i}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.25\n"),
        )
        .unwrap();
    }
    // A dry run's diffs are about 400 KB and the write's report about 60 KB: both more than a
    // pipe holds, so kedge is still writing when the reader leaves.
    for (args, written) in [
        (&["--dry-run", ".", "nginx=nginx:1.27"][..], false),
        (&[".", "nginx=nginx:1.27"][..], true),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kedge"))
            .arg("set-image")
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kedge");
        let mut first = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        let changed = read(dir.path(), "svc-1999.yaml").contains("nginx:1.27");
        assert_eq!(changed, written, "{args:?}");
    }
}
