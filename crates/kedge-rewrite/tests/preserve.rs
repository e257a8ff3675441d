//! What a rewrite must preserve, one feature per test, on small hand-made samples (the corpus
//! tests cover the same on real files).

use std::path::Path;

use kedge_rewrite::{Options, RewriteError, Update, rewrite, rewrite_with};

fn set(file: &str, text: &str, spec: &str) -> Result<String, RewriteError> {
    let out = rewrite(
        Path::new(file),
        text.as_bytes(),
        &[Update::parse(spec).unwrap()],
    )?;
    Ok(String::from_utf8(out.bytes).unwrap())
}

#[test]
fn every_pod_template_kind_and_custom_resources() {
    let text = "\
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - image: app:1
          containers:
          - image: app:1
          ephemeralContainers:
          - image: app:1
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
spec:
  template:
    spec:
      containers: [{name: a, image: app:1}]
";
    assert_eq!(
        set("x.yaml", text, "app=app:2").unwrap(),
        text.replace("app:1", "app:2")
    );
}

#[test]
fn crlf_missing_final_newline_and_non_ascii() {
    let text = "# 한국어 주석\r\nspec:\r\n  containers:\r\n  - image: nginx:1.25 # ünïcode\r\n  - image: nginx";
    assert_eq!(
        set("x.yaml", text, "nginx=nginx:1.27").unwrap(),
        "# 한국어 주석\r\nspec:\r\n  containers:\r\n  - image: nginx:1.27 # ünïcode\r\n  - image: nginx:1.27"
    );
}

#[test]
fn quoting_is_kept_and_added_only_when_needed() {
    let text = "a: {image: 'app:1'}\nb:\n  image: \"app:1\"\nc:\n  image: app:1\n";
    assert_eq!(
        set("x.yaml", text, "app=app:2").unwrap(),
        "a: {image: 'app:2'}\nb:\n  image: \"app:2\"\nc:\n  image: app:2\n"
    );
    let values = "image:\n  repository: app\n  tag: v1 # t\n";
    for (tag, written) in [
        ("1.10", "\"1.10\""),
        ("true", "\"true\""),
        ("0755", "\"0755\""),
        ("1.2.3", "1.2.3"),
    ] {
        let out = set("values.yaml", values, &format!("app=app:{tag}")).unwrap();
        assert_eq!(out, values.replace("v1", written), "{tag}");
    }
}

#[test]
fn document_separators_and_block_scalars_survive() {
    let text = "---\nimage: app:1\nnote: |\n  image: app:1\n...\n---\nimage: >-\n  app:1\n";
    assert_eq!(
        set("x.yaml", text, "app=app:2").unwrap(),
        "---\nimage: app:2\nnote: |\n  image: app:1\n...\n---\nimage: >-\n  app:2\n"
    );
    let multi_line = "image: |\n  app:1\n  more\n";
    assert!(
        set("x.yaml", multi_line, "app=app:2").is_ok(),
        "not an image: left alone"
    );
}

#[test]
fn edits_through_aliases_are_refused_but_anchors_are_edited() {
    let err = set("x.yaml", "base: &b app:1\nimage: *b\n", "app=app:2").unwrap_err();
    assert!(
        matches!(&err, RewriteError::EditThroughAlias { line: 2, column: 8, alias, .. } if alias == "b"),
        "{err}"
    );
    assert!(err.to_string().contains("x.yaml:2:8"));
    let text = "image: &img\n  repository: app\n  tag: \"1\"\nother:\n  image: *img\n";
    assert_eq!(
        set("values.yaml", text, "app=app:2").unwrap(),
        text.replace("\"1\"", "\"2\"")
    );
    let merged = "defaults: &d {image: app:1}\nspec:\n  containers:\n  - <<: *d\n    name: x\n";
    // The anchored map is itself a container-like map, so it is edited where it is defined.
    assert_eq!(
        set("x.yaml", merged, "app=app:2").unwrap(),
        merged.replace("app:1", "app:2")
    );
}

#[test]
fn names_normalise_and_ports_are_not_tags() {
    let text = "- image: docker.io/library/nginx:1\n- image: index.docker.io/nginx\n- image: localhost:5000/nginx:1\n";
    assert_eq!(
        set("x.yaml", text, "nginx=nginx:2").unwrap(),
        // The name is kept as written (issue 10): only the tag changes.
        "- image: docker.io/library/nginx:2\n- image: index.docker.io/nginx:2\n- image: localhost:5000/nginx:1\n"
    );
    assert_eq!(
        set("x.yaml", text, "localhost:5000/nginx=*@sha256:ab").unwrap(),
        text.replace("localhost:5000/nginx:1", "localhost:5000/nginx@sha256:ab")
    );
}

#[test]
fn helm_blocks_registry_digest_and_nested_charts() {
    let text = "\
image:
  registry: docker.io
  repository: bitnami/redis
  tag: 7.2.4
  digest: \"\"
sidecar:
  image:
    repository: quay.io/org/tool
    tag: v1
    sha: \"\"
";
    let out = set(
        "values.yaml",
        text,
        "bitnami/redis=ghcr.io/bitnami/redis:7.4@sha256:aa",
    )
    .unwrap();
    assert_eq!(
        out,
        text.replace("docker.io", "ghcr.io")
            .replace("7.2.4", "\"7.4\"")
            .replace("digest: \"\"", "digest: \"sha256:aa\"")
    );
    let out = set("values.yaml", text, "quay.io/org/tool=*:v2@sha256:bb").unwrap();
    assert_eq!(
        out,
        text.replace("tag: v1", "tag: v2")
            .replace("sha: \"\"", "sha: \"bb\"")
    );
    // A digest where the block has no digest key goes into `tag:` (issue 10).
    let plain = "image:\n  repository: app\n  tag: v1\n";
    assert_eq!(
        set("values.yaml", plain, "app=app:v1@sha256:cc").unwrap(),
        "image:\n  repository: app\n  tag: v1@sha256:cc\n"
    );
    let dotted = Options {
        image_keys: vec!["server.img".into()],
        ..Options::default()
    };
    let out = rewrite_with(
        Path::new("values.yaml"),
        b"server:\n  img: app:1\nimg: app:1\n",
        &[Update::parse("app=app:2").unwrap()],
        &dotted,
    )
    .unwrap();
    assert_eq!(out.bytes, b"server:\n  img: app:2\nimg: app:1\n");
}

#[test]
fn kustomize_entries_are_edited_added_and_trimmed() {
    let text =
        "resources:\r\n  - deploy.yaml\r\nimages:\r\n  - name: app # main\r\n    newTag: v1\r\n";
    assert_eq!(
        set(
            "kustomization.yaml",
            text,
            "app=registry.test/app@sha256:dd"
        )
        .unwrap(),
        "resources:\r\n  - deploy.yaml\r\nimages:\r\n  - name: app # main\r\n    newName: registry.test/app\r\n    digest: sha256:dd\r\n"
    );
    let add = Options {
        add_kustomize_entries: true,
        ..Options::default()
    };
    let out = rewrite_with(
        Path::new("kustomization.yaml"),
        b"images: []\n",
        &[Update::parse("app=app:1.10").unwrap()],
        &add,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(out.bytes).unwrap(),
        "images: [{name: app, newTag: \"1.10\"}]\n"
    );
    // Without the option nothing is added.
    assert_eq!(
        set("kustomization.yaml", "resources: []\n", "app=app:1").unwrap(),
        "resources: []\n"
    );
}

#[test]
fn setters_follow_their_policy() {
    let text = "image: a:1 # {\"$imagepolicy\": \"ns:p\"}\ntag: \"1\" # {\"$imagepolicy\": \"ns:p:tag\"}\n";
    let out = rewrite(
        Path::new("x.yaml"),
        text.as_bytes(),
        &[Update::setter("ns:p", "b:1.10").unwrap()],
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(out.bytes).unwrap(),
        "image: b:1.10 # {\"$imagepolicy\": \"ns:p\"}\ntag: \"1.10\" # {\"$imagepolicy\": \"ns:p:tag\"}\n"
    );
}

#[test]
fn errors_name_file_line_and_column() {
    let err = set("bad.yaml", "a: 1\nb: [\n", "app=app:2").unwrap_err();
    let RewriteError::Parse { line, column, .. } = &err else {
        panic!("{err}")
    };
    assert!(*line >= 2 && *column >= 1, "{err}");
    let err = set("tab.yaml", "a:\n\t- x\n", "app=app:2").unwrap_err();
    assert!(err.to_string().starts_with("tab.yaml:2:"), "{err}");
    let err = rewrite(Path::new("bin.yaml"), b"a: \xff\n", &[]).unwrap_err();
    assert!(
        matches!(
            err,
            RewriteError::Encoding {
                line: 1,
                column: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn flux_kustomization_spec_images() {
    let text = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  images:\n  - name: app\n    newTag: v1 # pin\n";
    assert_eq!(
        set("flux.yaml", text, "app=*:v2").unwrap(),
        text.replace("newTag: v1", "newTag: v2")
    );
}

/// Regression: removing two keys of one Kustomize entry planned overlapping edits
/// and panicked while splicing.
#[test]
fn removing_two_keys_of_one_entry_is_refused_not_a_panic() {
    let update = kedge_rewrite::Update::parse("nginx=nginx").unwrap();
    for text in [
        "images: [{name: nginx, newTag: \"1\", digest: \"sha256:x\"}]\n",
        "images:\n- newTag: \"1\"\n  digest: sha256:x\n  name: nginx\n",
    ] {
        let path = std::path::Path::new("kustomization.yaml");
        match kedge_rewrite::rewrite(path, text.as_bytes(), std::slice::from_ref(&update)) {
            Ok(outcome) => {
                let out = String::from_utf8(outcome.bytes).unwrap();
                assert!(!out.contains("newTag") && !out.contains("digest"), "{out}");
            }
            Err(e) => assert!(e.to_string().contains("kustomization.yaml"), "{e}"),
        }
    }
}

/// Regression: an empty `tag:` (a common Helm values idiom) could not be filled in.
#[test]
fn an_empty_helm_tag_is_filled_in() {
    let text = "image:\n  repository: app\n  tag:\n  pullPolicy: IfNotPresent\n";
    let update = kedge_rewrite::Update::parse("app=app:1.27").unwrap();
    let outcome = kedge_rewrite::rewrite(
        std::path::Path::new("values.yaml"),
        text.as_bytes(),
        &[update],
    );
    match outcome {
        Ok(outcome) => assert_eq!(
            String::from_utf8(outcome.bytes).unwrap(),
            "image:\n  repository: app\n  tag: \"1.27\"\n  pullPolicy: IfNotPresent\n"
        ),
        Err(e) => panic!("{e}"),
    }
}

/// Regression: a setter and an image update disagreeing on one value silently
/// dropped one of them.
#[test]
fn conflicting_updates_for_one_value_are_refused() {
    let text = "spec:\n  containers:\n    - image: app:1 # {\"$imagepolicy\": \"ns:p\"}\n";
    let image = kedge_rewrite::Update::parse("app=app:2").unwrap();
    let setter = kedge_rewrite::Update::setter("ns:p", "app:3").unwrap();
    let err = kedge_rewrite::rewrite(
        std::path::Path::new("deploy.yaml"),
        text.as_bytes(),
        &[image, setter],
    )
    .unwrap_err();
    assert!(err.to_string().contains("deploy.yaml:3"), "{err}");
}
