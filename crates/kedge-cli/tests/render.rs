//! End-to-end runs of `kedge render` on plain manifests, the fixture chart
//! (real helm) and a fixture overlay (real kubectl kustomize).

use std::path::Path;
use std::process::{Command, Output};

use kedge_testkit::fixtures_dir;
use kedge_testkit::kube::cli;

fn kedge(args: &[&str], path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kedge"))
        .arg("render")
        .arg(path)
        .args(args)
        .output()
        .expect("run kedge")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "kedge render failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn plain_manifests_print_as_a_stream_with_sources() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.yaml"),
        "# the app\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: \"on\"\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n",
    )
    .unwrap();
    let text = stdout(&kedge(&["--show-source"], dir.path()));
    assert!(
        text.starts_with("---\n# Source: app.yaml:1\napiVersion: v1\nkind: ConfigMap\n"),
        "{text}"
    );
    assert!(
        text.contains("---\n# Source: app.yaml:8\napiVersion: v1\nkind: Service\n"),
        "{text}"
    );
    // A string that YAML 1.1 would read as a boolean stays a quoted string.
    assert!(
        text.contains("mode: \"on\"") || text.contains("mode: 'on'"),
        "{text}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&kedge(&["-o", "json"], dir.path()))).unwrap();
    assert_eq!(json[1]["spec"]["ports"][0]["port"], 80);
    assert!(json[1]["metadata"].get("annotations").is_none());
}

#[test]
fn a_broken_manifest_exits_1_naming_file_and_line_and_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labels: [x\n",
    )
    .unwrap();
    let output = kedge(&[], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stdout.is_empty(),
        "nothing is printed from a failed render"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("kedge: render failed: bad.yaml:"),
        "{stderr}"
    );
}

#[test]
fn helm_flags_on_a_plain_directory_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = kedge(&["--set", "a=b"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a Helm chart"), "{stderr}");
}

#[test]
fn helm_chart_is_detected_and_templated_with_values() {
    let Some(helm) = cli("helm_chart_is_detected_and_templated_with_values", "helm") else {
        return;
    };
    let chart = fixtures_dir().join("charts/GoogleCloudPlatform__microservices-demo");
    let output = Command::new(env!("CARGO_BIN_EXE_kedge"))
        .arg("render")
        .arg(&chart)
        .args([
            "--release",
            "shop",
            "-n",
            "store",
            "--set",
            "images.tag=v1.2.3",
            "--show-source",
        ])
        .env("KEDGE_HELM", helm)
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(
        text.contains("# Source: onlineboutique/templates/frontend.yaml\n"),
        "{}",
        &text[..400.min(text.len())]
    );
    assert!(
        text.contains("/frontend:v1.2.3"),
        "the --set value reaches the templates"
    );
    assert!(text.contains("namespace: store"));
}

#[test]
fn kustomize_overlay_is_detected_and_built() {
    let Some(kubectl) = cli("kustomize_overlay_is_detected_and_built", "kubectl") else {
        return;
    };
    let overlay =
        fixtures_dir().join("manifests/kubernetes-sigs__kustomize/examples/multibases/dev");
    let output = Command::new(env!("CARGO_BIN_EXE_kedge"))
        .arg("render")
        .arg(&overlay)
        .env(
            "KEDGE_KUSTOMIZE",
            format!("{} kustomize", kubectl.display()),
        )
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(text.contains("name: dev-myapp-pod"), "{text}");
}
