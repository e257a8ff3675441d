//! Rendering real manifests, a real Helm chart and a real Kustomize overlay
//! from the shared fixtures with the real CLIs.

use std::fs;
use std::path::Path;

use kedge_render::{HelmOptions, KustomizeOptions, RenderError, Renderer, render};
use kedge_testkit::fixtures_dir;
use kedge_testkit::kube::cli;

fn keys(objects: &[kedge_render::RenderedObject]) -> Vec<String> {
    objects.iter().map(|o| o.key().to_string()).collect()
}

#[test]
fn plain_directory_renders_every_document_in_a_stable_order() {
    let dir = fixtures_dir().join("manifests/prometheus-operator__kube-prometheus/manifests");
    let objects = render(&dir, &Renderer::Plain).unwrap();
    assert!(objects.len() > 90, "{} objects", objects.len());
    // Sources are relative and in byte order of the file names.
    let files: Vec<_> = objects.iter().map(|o| o.source.file.clone()).collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted);
    assert!(files.iter().all(|f| f.is_relative()));
    assert!(keys(&objects).contains(&"apps/Deployment monitoring/grafana".to_owned()));
    assert!(
        keys(&objects)
            .iter()
            .any(|k| k.starts_with("apiextensions.k8s.io/CustomResourceDefinition ")),
        "CRDs from setup/ are part of the render"
    );
}

#[test]
fn plain_render_skips_kustomization_files_and_hidden_directories() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [cm.yaml]\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    )
    .unwrap();
    fs::create_dir(dir.path().join(".github")).unwrap();
    fs::write(dir.path().join(".github/ci.yaml"), "on: push\n").unwrap();
    fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
    let objects = render(dir.path(), &Renderer::Plain).unwrap();
    assert_eq!(keys(&objects), ["ConfigMap a"]);
}

#[test]
fn a_bad_document_fails_the_whole_render_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    )
    .unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(
        dir.path().join("sub/b.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\napiVersion: v1\nmetadata: {name: c}\n",
    )
    .unwrap();
    let error = render(dir.path(), &Renderer::Plain).unwrap_err();
    assert_eq!(
        error.to_string(),
        "sub/b.yaml:4: not a Kubernetes object: `kind` is missing"
    );

    fs::write(
        dir.path().join("sub/b.yaml"),
        "{\"apiVersion\": \"v1\",\n \"kind\": }\n",
    )
    .unwrap();
    fs::rename(dir.path().join("sub/b.yaml"), dir.path().join("sub/b.json")).unwrap();
    let error = render(dir.path(), &Renderer::Plain)
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("sub/b.json:2: "), "{error}");
}

#[test]
fn the_same_object_twice_is_an_error_naming_both_places() {
    let dir = tempfile::tempdir().unwrap();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n";
    fs::write(dir.path().join("one.yaml"), cm).unwrap();
    fs::write(dir.path().join("two.yaml"), format!("---\n{cm}---\n{cm}")).unwrap();
    let error = render(dir.path(), &Renderer::Plain).unwrap_err();
    assert_eq!(
        error.to_string(),
        "ConfigMap x/a is defined twice: one.yaml:1 and two.yaml:1"
    );
}

#[test]
fn detect_follows_chart_and_kustomization_files() {
    let fixtures = fixtures_dir();
    let chart = fixtures.join("charts/GoogleCloudPlatform__microservices-demo");
    assert!(
        matches!(Renderer::detect(&chart), Renderer::Helm(ref o) if o.release == "GoogleCloudPlatform__microservices-demo")
    );
    let overlay = fixtures.join("manifests/kubernetes-sigs__kustomize/examples/multibases/dev");
    assert!(matches!(Renderer::detect(&overlay), Renderer::Kustomize(_)));
    assert_eq!(Renderer::detect(Path::new("/nonexistent")), Renderer::Plain);
}

#[test]
fn helm_chart_renders_with_release_namespace_and_values() {
    let Some(helm) = cli(
        "helm_chart_renders_with_release_namespace_and_values",
        "helm",
    ) else {
        return;
    };
    let chart = fixtures_dir().join("charts/GoogleCloudPlatform__microservices-demo");
    let values = tempfile::NamedTempFile::new().unwrap();
    fs::write(values.path(), "cartService:\n  create: false\n").unwrap();
    let mut options = HelmOptions::new("shop");
    options.binary = helm;
    options.namespace = Some("store".into());
    options.values_files = vec![values.path().to_owned()];
    options.set = vec!["images.tag=v9.9.9".into()];
    let objects = render(&chart, &Renderer::Helm(options)).unwrap();
    let keys = keys(&objects);
    assert!(
        keys.contains(&"apps/Deployment store/frontend".to_owned()),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.contains("cartservice")),
        "values file not applied: {keys:?}"
    );
    let frontend = objects
        .iter()
        .find(|o| o.name() == "frontend" && o.kind() == "Deployment")
        .unwrap();
    assert_eq!(
        frontend.source.file,
        Path::new("onlineboutique/templates/frontend.yaml"),
        "the template each object came from"
    );
    let image = frontend.object["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(image.ends_with("frontend:v9.9.9"), "{image}");
}

#[test]
fn a_failing_helm_template_reports_the_tool_and_its_stderr() {
    let Some(helm) = cli(
        "a_failing_helm_template_reports_the_tool_and_its_stderr",
        "helm",
    ) else {
        return;
    };
    let chart = tempfile::tempdir().unwrap();
    fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
    )
    .unwrap();
    fs::create_dir(chart.path().join("templates")).unwrap();
    fs::write(
        chart.path().join("templates/cm.yaml"),
        "{{ fail \"values.region is required\" }}\n",
    )
    .unwrap();
    let mut options = HelmOptions::new("r");
    options.binary = helm;
    match render(chart.path(), &Renderer::Helm(options)).unwrap_err() {
        RenderError::ToolFailed {
            tool,
            status,
            stderr,
            ..
        } => {
            assert_eq!(tool, "helm template");
            assert_eq!(status.code(), Some(1));
            assert!(stderr.contains("values.region is required"), "{stderr}");
        }
        other => panic!("expected a tool failure, got {other}"),
    }
}

#[test]
fn kustomize_overlay_renders_and_a_broken_one_fails() {
    let Some(kubectl) = cli(
        "kustomize_overlay_renders_and_a_broken_one_fails",
        "kubectl",
    ) else {
        return;
    };
    let options = KustomizeOptions::new([kubectl.into_os_string(), "kustomize".into()]);
    let overlay =
        fixtures_dir().join("manifests/kubernetes-sigs__kustomize/examples/multibases/dev");
    let objects = render(&overlay, &Renderer::Kustomize(options.clone())).unwrap();
    assert_eq!(keys(&objects), ["Pod dev-myapp-pod"]);

    let broken = tempfile::tempdir().unwrap();
    fs::write(
        broken.path().join("kustomization.yaml"),
        "resources: [missing.yaml]\n",
    )
    .unwrap();
    let error = render(broken.path(), &Renderer::Kustomize(options))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("kubectl kustomize failed for "),
        "{error}"
    );
    assert!(error.contains("missing.yaml"), "{error}");
}
