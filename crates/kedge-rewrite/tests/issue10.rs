//! Issue 10 (fidelity on real repositories): one table per item, each on a small file written
//! for it. A row is (what it pins, file name, input, update, expected output).

use std::path::Path;

use kedge_rewrite::{Options, Outcome, RewriteError, Update, rewrite_with};

fn run(file: &str, text: &str, spec: &str, options: &Options) -> Result<Outcome, RewriteError> {
    rewrite_with(
        Path::new(file),
        text.as_bytes(),
        &[Update::parse(spec).unwrap()],
        options,
    )
}

/// Runs each row and compares the output bytes.
fn table(rows: &[(&str, &str, &str, &str, &str)], options: &Options) {
    for (what, file, input, spec, expected) in rows {
        let out = run(file, input, spec, options).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(String::from_utf8(out.bytes).unwrap(), *expected, "{what}");
    }
}

/// Runs each row and checks the error message holds every fragment.
fn refused(rows: &[(&str, &str, &str, &str, &[&str])]) {
    for (what, file, input, spec, fragments) in rows {
        let err = run(file, input, spec, &Options::default())
            .err()
            .unwrap_or_else(|| panic!("{what}: not refused"));
        let message = err.to_string();
        for fragment in *fragments {
            assert!(message.contains(fragment), "{what}: {message}");
        }
    }
}

const CONFIGMAP: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  image: app:1
---
apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - name: init
            image: app:1
          containers:
          - {name: main, image: app:1}
---
apiVersion: example.com/v1
kind: Database
spec:
  image: app:1
  podTemplate:
    spec:
      ephemeralContainers:
      - image: app:1
";

/// Item 1: in objects only container `image` fields (and configured paths) are images.
#[test]
fn objects_rewrite_container_images_only() {
    let containers = CONFIGMAP
        .replace(
            "  image: app:1\n  podTemplate",
            "  image: app:X\n  podTemplate",
        )
        .replace("data:\n  image: app:1", "data:\n  image: app:X")
        .replace("app:1", "app:2")
        .replace("app:X", "app:1");
    let with_path = containers.replace(
        "  image: app:1\n  podTemplate",
        "  image: app:2\n  podTemplate",
    );
    let values = "image: app:1\nworker:\n  image: app:1\n";
    let helm_release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  values:\n    image:\n      repository: app\n      tag: \"1\"\n";
    table(
        &[
            (
                "ConfigMap data and CR spec.image kept",
                "all.yaml",
                CONFIGMAP,
                "app=app:2",
                &containers,
            ),
            (
                "values files keep today's rule",
                "values.yaml",
                values,
                "app=app:2",
                &values.replace("app:1", "app:2"),
            ),
            (
                "a HelmRelease's values are values",
                "hr.yaml",
                helm_release,
                "app=app:2",
                &helm_release.replace("\"1\"", "\"2\""),
            ),
        ],
        &Options::default(),
    );
    let options = Options {
        object_image_paths: vec!["Database:spec.image".into()],
        ..Options::default()
    };
    table(
        &[(
            "a configured path is an image",
            "all.yaml",
            CONFIGMAP,
            "app=app:2",
            &with_path,
        )],
        &options,
    );
}

/// Item 2: ingress-nginx's `registry` + `image` + `tag` + `digest` block, named `registry/image`.
#[test]
fn split_blocks_with_an_image_key() {
    let text = "\
controller:
  image:
    registry: registry.k8s.io
    image: ingress-nginx/controller
    tag: \"v1.15.1\"
    digest: sha256:aaa
";
    let new_tag = text
        .replace("v1.15.1", "v1.16.0")
        .replace("sha256:aaa", "sha256:bbb");
    table(
        &[
            (
                "tag and digest",
                "values.yaml",
                text,
                "registry.k8s.io/ingress-nginx/controller=*:v1.16.0@sha256:bbb",
                &new_tag,
            ),
            (
                "the inner image is not a whole reference",
                "values.yaml",
                text,
                "ingress-nginx/controller=*:v9",
                text,
            ),
        ],
        &Options::default(),
    );
}

/// Item 3: a digest pin on a block without a digest key goes into `tag:`, or is refused.
#[test]
fn digest_pin_without_a_digest_key() {
    let text = "image:\n  repository: ghcr.io/org/podinfo\n  tag: 6.7.0\n";
    let pinned = "image:\n  repository: ghcr.io/org/podinfo\n  tag: 6.7.1@sha256:cc\n";
    table(
        &[
            (
                "TAG@DIGEST",
                "values.yaml",
                text,
                "ghcr.io/org/podinfo=*:6.7.1@sha256:cc",
                pinned,
            ),
            (
                "a pinned tag follows a tag-only update",
                "values.yaml",
                pinned,
                "ghcr.io/org/podinfo=*:6.7.2",
                &text.replace("6.7.0", "6.7.2"),
            ),
            (
                "a pinned tag gets a new digest",
                "values.yaml",
                pinned,
                "ghcr.io/org/podinfo=*:6.7.1@sha256:dd",
                &pinned.replace(":cc", ":dd"),
            ),
        ],
        &Options::default(),
    );
    refused(&[(
        "a digest without a tag",
        "values.yaml",
        text,
        "ghcr.io/org/podinfo=ghcr.io/org/podinfo@sha256:cc",
        &["values.yaml:2:", "no `digest` key"],
    )]);
}

/// Item 4: a tag-only update keeps a `digest:` line that carries a Flux marker.
#[test]
fn flux_markers_are_never_lost() {
    let text = "\
images:
- name: app
  newTag: v1 # {\"$imagepolicy\": \"flux-system:app:tag\"}
  digest: sha256:aa # {\"$imagepolicy\": \"flux-system:app:digest\"}
";
    let expected = text
        .replace("newTag: v1", "newTag: v2")
        .replace("digest: sha256:aa", "digest: \"\"");
    let plain = "images:\n- name: app\n  newTag: v1\n  digest: sha256:aa\n";
    table(
        &[
            (
                "marker kept, value blanked",
                "kustomization.yaml",
                text,
                "app=*:v2",
                &expected,
            ),
            (
                "without a comment the key goes",
                "kustomization.yaml",
                plain,
                "app=*:v2",
                "images:\n- name: app\n  newTag: v2\n",
            ),
        ],
        &Options::default(),
    );
}

/// Item 5: a name that normalises to the one written keeps the spelling written.
#[test]
fn names_keep_their_spelling() {
    let deploy = "spec:\n  containers:\n  - image: docker.io/library/busybox:1.36\n";
    let kustomization =
        "images:\n- name: busybox\n  newName: docker.io/library/busybox\n  newTag: \"1.36\"\n";
    let block = "image:\n  registry: docker.io\n  repository: library/busybox\n  tag: \"1.36\"\n";
    table(
        &[
            (
                "container",
                "deploy.yaml",
                deploy,
                "busybox=busybox:1.37",
                &deploy.replace("1.36", "1.37"),
            ),
            (
                "kustomize newName",
                "kustomization.yaml",
                kustomization,
                "busybox=busybox:1.37",
                &kustomization.replace("1.36", "1.37"),
            ),
            (
                "helm block",
                "values.yaml",
                block,
                "busybox=busybox:1.37",
                &block.replace("1.36", "1.37"),
            ),
            (
                "a real rename respells",
                "deploy.yaml",
                deploy,
                "busybox=quay.io/b/busybox:1.37",
                &deploy.replace("docker.io/library/busybox:1.36", "quay.io/b/busybox:1.37"),
            ),
        ],
        &Options::default(),
    );
}

/// Item 6: aliases are followed, never duplicated over, and shared anchors are refused.
#[test]
fn aliases_in_blocks() {
    let alias_tag = "versions:\n  app: &t \"1\"\nimage:\n  repository: app\n  tag: *t\n";
    let through = "base: &b\n  repository: app\nimage: *b\n";
    let shared = "\
app:
  image:
    repository: app
    tag: &v \"1\"
sidecar:
  image:
    repository: helper
    tag: *v
";
    refused(&[
        (
            "an aliased tag is not duplicated",
            "values.yaml",
            alias_tag,
            "app=app:2",
            &["values.yaml:5:", "alias `*t`"],
        ),
        (
            "a block reached through an alias is reported",
            "values.yaml",
            through,
            "app=app:2",
            &["values.yaml:3:", "alias `*b`"],
        ),
        (
            "a shared anchored tag is refused",
            "values.yaml",
            shared,
            "app=app:2",
            &["values.yaml:4:", "`&v`", "helper", "line 8"],
        ),
    ]);
    let same = shared.replace("helper", "app");
    table(
        &[(
            "both images updated alike",
            "values.yaml",
            &same,
            "app=app:2",
            &same.replace("\"1\"", "\"2\""),
        )],
        &Options::default(),
    );
}

/// Item 8: `*Image` keys, `repo`/`name` + `tag` blocks and Kustomize `newName` are recognised.
#[test]
fn more_shapes_are_recognised() {
    let image_keys = "thanosImage:\n  repository: quay.io/thanos/thanos\n  tag: v0.36.0\nsidecarImage: quay.io/thanos/thanos:v0.36.0\n";
    let repo_block = "image:\n  repo: quay.io/thanos/thanos\n  tag: v0.36.0\n";
    let name_block = "image:\n  name: quay.io/thanos/thanos\n  tag: v0.36.0\n";
    let new_name = "images:\n- name: thanos\n  newName: quay.io/thanos/thanos\n  newTag: v0.36.0\n";
    let spec = "quay.io/thanos/thanos=*:v0.37.0";
    let bump = |t: &str| t.replace("v0.36.0", "v0.37.0");
    table(
        &[
            (
                "*Image block and string",
                "values.yaml",
                image_keys,
                spec,
                &bump(image_keys),
            ),
            (
                "repo + tag",
                "values.yaml",
                repo_block,
                spec,
                &bump(repo_block),
            ),
            (
                "name + tag",
                "values.yaml",
                name_block,
                spec,
                &bump(name_block),
            ),
            (
                "kustomize entry by newName",
                "kustomization.yaml",
                new_name,
                spec,
                &bump(new_name),
            ),
        ],
        &Options::default(),
    );
}

/// Item 8: a reference seen but not changed is reported with its key and the option.
#[test]
fn references_left_alone_are_reported() {
    let rows = [
        (
            "configmap",
            "cm.yaml",
            CONFIGMAP,
            6,
            "data.image",
            "--object-image-path data.image",
        ),
        (
            "CR field",
            "cm.yaml",
            CONFIGMAP,
            24,
            "spec.image",
            "--object-image-path spec.image",
        ),
        (
            "unknown values key",
            "values.yaml",
            "images:\n  repository: app\n  tag: \"1\"\n",
            2,
            "images.repository",
            "--image-key images",
        ),
    ];
    for (what, file, text, line, key, option) in rows {
        let out = run(file, text, "app=app:2", &Options::default()).unwrap();
        let skipped = out
            .skipped
            .iter()
            .find(|s| s.line == line)
            .unwrap_or_else(|| panic!("{what}: {:?}", out.skipped));
        assert_eq!(
            (skipped.key.as_str(), skipped.option.as_str()),
            (key, option),
            "{what}"
        );
        assert_eq!(skipped.image, "docker.io/library/app", "{what}");
    }
    let out = run("cm.yaml", CONFIGMAP, "other=other:2", &Options::default()).unwrap();
    assert!(out.skipped.is_empty(), "other images are not reported");
    let out = run("cm.yaml", CONFIGMAP, "app=app:1", &Options::default()).unwrap();
    assert!(
        out.skipped.is_empty(),
        "values that would not change are not reported"
    );
}

/// Item 7: `--add-missing` adds an entry only to kustomizations whose resources (followed
/// through directories) use the image; components and unrelated kustomizations stay as they are.
#[test]
fn add_missing_only_where_resources_use_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("base/kustomization.yaml", "resources:\n- deploy.yaml\n"),
        (
            "base/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: app:1\n",
        ),
        ("overlay/kustomization.yaml", "resources:\n- ../base\n"),
        (
            "component/kustomization.yaml",
            "kind: Component\nresources:\n- cm.yaml\n",
        ),
        (
            "component/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  key: value\n",
        ),
        ("other/kustomization.yaml", "resources:\n- job.yaml\n"),
        (
            "other/job.yaml",
            "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n      - image: other:1\n",
        ),
    ];
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let options = Options {
        add_kustomize_entries: true,
        ..Options::default()
    };
    let update = Update::parse("app=app:2").unwrap();
    kedge_rewrite::rewrite_tree(
        &[dir.path().to_owned()],
        &[update],
        &options,
        kedge_rewrite::Mode::Write,
    )
    .unwrap();
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    let entry = "images:\n- name: app\n  newTag: \"2\"\n";
    assert_eq!(
        read("base/kustomization.yaml"),
        format!("{}{entry}", files[0].1)
    );
    assert_eq!(
        read("overlay/kustomization.yaml"),
        format!("{}{entry}", files[2].1)
    );
    assert_eq!(read("component/kustomization.yaml"), files[3].1);
    assert_eq!(read("other/kustomization.yaml"), files[5].1);
}
