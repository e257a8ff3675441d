//! Flux's samples with `$imagepolicy` setter markers, imported together with
//! their Flux objects and run with `kedge update` against the test servers.

use super::{Scenario, fixture, setters_fixture};

const AUTOMATION_DOCS: &str =
    "fluxcd__image-automation-controller/_transcribed/docs/spec/v1/imageupdateautomations";

/// Writes `files` (localised) into the repository on `main` and, at the same
/// paths, into the import's working directory: the import runs from the
/// repository root, so marked manifests are named by their repository paths.
fn manifests(scenario: &Scenario, files: &[(String, String)]) {
    scenario.repository("main", files);
    for (path, content) in files {
        let local = scenario.dir.path().join(path);
        std::fs::create_dir_all(local.parent().expect("a parent")).expect("folder");
        std::fs::write(local, scenario.localise(content)).expect("manifest written");
    }
}

/// Writes the Flux objects (localised) as `flux.yaml` in the working directory.
fn objects(scenario: &Scenario, documents: &[String]) {
    let text = documents.join("\n---\n");
    std::fs::write(
        scenario.dir.path().join("flux.yaml"),
        scenario.localise(&text),
    )
    .expect("objects written");
}

/// The documented setup (GitRepository, ImageRepository, ImagePolicy `5.0.x`,
/// ImageUpdateAutomation), the documented ImagePolicy with
/// `digestReflectionPolicy` (`5.1.x`), and the two documented marked
/// manifests: a Deployment with a whole-reference marker and a HelmRelease
/// with `:name`, `:tag` and `:digest` markers. The docs' snippets name a
/// policy `flux-system:my-policy` that none of them defines; the test points
/// the Deployment at the first policy and the HelmRelease at the second.
/// Flux writes `name:tag` at the whole-reference marker and the tag and
/// digest at theirs; the name stays.
#[test]
fn flux_documented_markers_get_tag_and_digest() {
    let tags: &[(&str, &str)] = &[
        ("4.0.6", "2026-01-01T00:00:00Z"),
        ("5.0.0", "2026-01-02T00:00:00Z"),
        ("5.0.3", "2026-01-03T00:00:00Z"),
        ("5.1.0", "2026-01-04T00:00:00Z"),
    ];
    let scenario = Scenario::new(&[("stefanprodan/podinfo", tags)]);
    let image = format!("{}/stefanprodan/podinfo", scenario.host());
    let scenario = scenario
        .replacing("ghcr.io/stefanprodan/podinfo", &image)
        .replacing("ghcr.io/my-org/my-app", &image)
        .repository_for("https://github.com/fluxcd/example");
    let deployment = fixture(&format!(
        "{AUTOMATION_DOCS}/L0743-0753_Deployment-imagepolicy-marker.yaml"
    ))
    .replace("flux-system:my-policy", "default:podinfo-policy");
    let release = fixture(&format!(
        "{AUTOMATION_DOCS}/L0764-0774_HelmRelease-imagepolicy-name-tag-digest-markers.yaml"
    ))
    .replace("flux-system:my-policy", "default:podinfo");
    let files = vec![
        ("apps/my-app.yaml".to_owned(), deployment.clone()),
        ("apps/my-app-release.yaml".to_owned(), release.clone()),
    ];
    manifests(&scenario, &files);
    objects(
        &scenario,
        &[
            fixture(&format!(
                "{AUTOMATION_DOCS}/L0017-0068_full-GitRepository-ImageRepository-ImagePolicy-ImageUpdateAutomation.yaml"
            )),
            fixture(
                "fluxcd__image-reflector-controller/_transcribed/docs/spec/v1/imagepolicies/L0015-0027_ImagePolicy-semver-digestReflectionPolicy.yaml",
            ),
        ],
    );
    let inputs = ["flux.yaml", "apps/my-app.yaml", "apps/my-app-release.yaml"];
    let imported = scenario.import_files("flux", &inputs, scenario.dir.path());
    assert!(
        imported.stderr.contains("never renames"),
        "the :name marker is reported: {}",
        imported.stderr
    );
    let run = scenario.update(false);
    assert_eq!(run.new_tag("podinfo-policy"), "5.0.3", "{:#}", run.json);
    let release_update = run.update("podinfo");
    assert_eq!(release_update["newTag"], "5.1.0", "{:#}", run.json);
    let digest = release_update["newDigest"].as_str().unwrap_or_default();
    assert!(digest.starts_with("sha256:"), "{:#}", run.json);

    let expected = scenario
        .localise(&deployment)
        .replace(&format!("{image}:4.0.6"), &format!("{image}:5.0.3"));
    assert_eq!(scenario.show("main", "apps/my-app.yaml"), expected);
    let old_digest = "sha256:6129bb944cada32b4662eafd13fd9904d34c77286bf2ec4523eaedb711757cb0";
    let expected = scenario
        .localise(&release)
        .replace("tag: 4.0.6", "tag: 5.1.0")
        .replace(old_digest, digest);
    assert_eq!(scenario.show("main", "apps/my-app-release.yaml"), expected);
}

/// A Flux object of `kind` named `name` in `namespace`; `spec` is its spec's
/// lines, indented two spaces.
fn object(kind: &str, namespace: &str, name: &str, spec: &str) -> String {
    let api = match kind {
        "GitRepository" => "source.toolkit.fluxcd.io/v1",
        _ => "image.toolkit.fluxcd.io/v1",
    };
    format!(
        "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {namespace}\n\
         spec:\n{spec}"
    )
}

/// The Flux objects a setters test of Flux builds in Go: a GitRepository for
/// the scenario's repository and an ImageUpdateAutomation (`update` lines
/// added to its `update:`), then an ImageRepository and an ImagePolicy
/// (`semver: 1.0.x`, `extra` spec lines) per `(policy, image, extra)`.
fn setters_objects(
    scenario: &Scenario,
    namespace: &str,
    update: &str,
    policies: &[(&str, &str, &str)],
) {
    let url = scenario.root.file_url(super::REPO);
    let host = scenario.host();
    let mut documents = vec![
        object(
            "GitRepository",
            namespace,
            "repo",
            &format!("  url: {url}\n  ref:\n    branch: main\n"),
        ),
        object(
            "ImageUpdateAutomation",
            namespace,
            "update",
            &format!(
                "  sourceRef:\n    kind: GitRepository\n    name: repo\n  update:\n    strategy: Setters\n{update}"
            ),
        ),
    ];
    for (policy, image, extra) in policies {
        let repository = object(
            "ImageRepository",
            namespace,
            image,
            &format!("  image: {host}/{image}\n"),
        );
        if !documents.contains(&repository) {
            documents.push(repository);
        }
        let spec = format!(
            "  imageRepositoryRef:\n    name: {image}\n  policy:\n    semver:\n      range: 1.0.x\n{extra}"
        );
        documents.push(object("ImagePolicy", namespace, policy, &spec));
    }
    objects(scenario, &documents);
}

/// Flux's own test "valid update strategy with update path": the same marked
/// Deployment under `./yes` and `./no`, the automation's `update.path` is
/// `./yes`, and the policy's latest is `helloworld:1.0.1`. The Flux objects
/// are written here (the upstream test builds them in Go); the manifests and
/// the expected tree are the fixture's, byte for byte.
#[test]
fn flux_setters_update_only_under_the_update_path() {
    let tags: &[(&str, &str)] = &[
        ("1.0.0", "2026-01-01T00:00:00Z"),
        ("1.0.1", "2026-01-02T00:00:00Z"),
    ];
    let scenario = Scenario::new(&[("helloworld", tags)]);
    let host = scenario.host();
    let scenario = scenario
        .replacing("SETTER_SITE", r#"{"$imagepolicy": "test-ns:policy1"}"#)
        .replacing("helloworld:1.0", &format!("{host}/helloworld:1.0"));
    let base = "fluxcd__image-automation-controller/internal/policy/testdata";
    let files: Vec<(String, String)> = ["yes/deploy.yaml", "no/deploy.yaml"]
        .iter()
        .map(|path| {
            let content = setters_fixture(&format!("{base}/pathconfig/{path}"));
            ((*path).to_owned(), content)
        })
        .collect();
    manifests(&scenario, &files);
    setters_objects(
        &scenario,
        "test-ns",
        "    path: ./yes\n",
        &[("policy1", "helloworld", "")],
    );
    let inputs = ["flux.yaml", "yes/deploy.yaml", "no/deploy.yaml"];
    let imported = scenario.import_files("flux", &inputs, scenario.dir.path());
    assert!(
        imported
            .stderr
            .contains("no/deploy.yaml with markers for ImagePolicy policy1 lie outside yes"),
        "{}",
        imported.stderr
    );
    let run = scenario.update(false);
    assert_eq!(run.new_tag("policy1"), "1.0.1", "{:#}", run.json);
    for path in ["yes/deploy.yaml", "no/deploy.yaml"] {
        let expected = setters_fixture(&format!("{base}/pathconfig-expected/{path}"));
        assert_eq!(
            scenario.show("main", path),
            scenario.localise(&expected),
            "{path}"
        );
    }
}

/// What the import says at the markers of `TestUpdateWithSetters` it cannot
/// honour (`{host}`: the test registry).
const RENAME_NOTES: &[&str] = &[
    "marked.yaml:14: $imagepolicy: \"{host}/image:v1.0.0\" is not {host}/updated, the image of ImagePolicy policy",
    "kustomization.yml:28: $imagepolicy: \"image\" is not",
    "Kustomization:8: $imagepolicy: kedge finds the image by name and never renames it",
    "otherns.yaml:11: $imagepolicy: ImagePolicy other-namespace:policy is not among the given files",
];

/// Flux's setters test `TestUpdateWithSetters`: its markers rename images
/// (`:name`, and a whole-reference marker on `image:v1.0.0` whose policy's
/// image is `index.repo.fake/updated`) and set a digest on a kustomization
/// entry named `container`. kedge finds references by image name and never
/// renames, so it changes none of these files where Flux changes three; the
/// import says so at each such marker (docs/migration.md). The Flux objects
/// are written here from the test's policies (`CASES.json`).
#[test]
fn flux_setters_that_rename_are_reported_and_left_alone() {
    let scenario = Scenario::new(&[
        (
            "updated",
            &[
                ("v1.0.0", "2026-01-01T00:00:00Z"),
                ("v1.0.1", "2026-01-02T00:00:00Z"),
            ],
        ),
        ("image", &[("v1.0.0", "2026-01-01T00:00:00Z")]),
    ]);
    let host = scenario.host();
    let scenario = scenario.replacing("image:v1.0.0", &format!("{host}/image:v1.0.0"));
    let base = "fluxcd__image-automation-controller/internal/update/testdata/setters/original";
    let marked = [
        "Kustomization",
        "kustomization.yml",
        "marked.yaml",
        "otherns.yaml",
    ];
    let files: Vec<(String, String)> = marked
        .iter()
        .map(|path| {
            (
                (*path).to_owned(),
                setters_fixture(&format!("{base}/{path}")),
            )
        })
        .collect();
    manifests(&scenario, &files);
    let before = scenario.head("main");
    setters_objects(
        &scenario,
        "automation-ns",
        "",
        &[
            ("policy", "updated", ""),
            ("unchanged", "image", ""),
            (
                "policy-with-digest",
                "image",
                "  digestReflectionPolicy: Always\n",
            ),
        ],
    );
    let mut inputs = vec!["flux.yaml"];
    inputs.extend(marked);
    let imported = scenario.import_files("flux", &inputs, scenario.dir.path());
    for expected in RENAME_NOTES {
        let expected = expected.replace("{host}", &host);
        assert!(
            imported.stderr.contains(&expected),
            "{expected}:\n{}",
            imported.stderr
        );
    }
    let run = scenario.update(false);
    assert_eq!(run.status, 0, "{:#}\n{}", run.json, run.stderr);
    assert_eq!(run.json["updates"], serde_json::json!([]), "{:#}", run.json);
    assert_eq!(scenario.head("main"), before, "nothing committed");
}
