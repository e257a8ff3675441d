//! The strongest check of `kedge import`: each of Argo CD Image Updater's e2e
//! scenarios, in both forms (Application annotations, v0.18.0, and the
//! ImageUpdater resource, v1.x), imported and run with `kedge update` against
//! a real registry and Git repository holding the scenario's images and
//! manifests; then Flux's samples with setter markers (`import_update_support/flux.rs`).
//! Only hosts are changed: the scenario's registries and repository become the
//! test servers.
//!
//! The expected tags are those of upstream's `02-assert.yaml` (and
//! `04-assert.yaml` after the `03-revert` step) at the fixtures' commits; the
//! fixtures hold only `01-install.yaml`, so each test names the assert it
//! follows. The registry holds the tags upstream's logs list for each image.
//! Where kedge differs on purpose, the test pins kedge's answer and
//! docs/migration.md says why.

mod import_update_support;

use import_update_support::{Form, Scenario, aiu_scenario, aiu_testdata, fixture};

const AIU: &str = "argocd-image-updater";

/// `test-image` as AIU's `e2e-test.sh` pushes it.
const TEST_IMAGE: &[(&str, &str)] = &[
    ("1.0.0", "2026-01-01T00:00:00Z"),
    ("1.0.1", "2026-01-02T00:00:00Z"),
    ("1.0.2", "2026-01-03T00:00:00Z"),
    ("latest", "2026-01-04T00:00:00Z"),
];

/// `quay.io/dkarpele/my-guestbook`: the tags AIU's 005 log lists; 2.0.0 is the
/// newest build there (newest-build picks it).
const MY_GUESTBOOK: &[(&str, &str)] = &[
    ("1.0.0", "2026-01-01T00:00:00Z"),
    ("1.0.1", "2026-01-02T00:00:00Z"),
    ("1.0.2", "2026-01-03T00:00:00Z"),
    ("2.0.0", "2026-01-04T00:00:00Z"),
];

/// `gcr.io/heptio-images/ks-guestbook-demo`: 0.1 and 0.2, 0.1 built last
/// (AIU's v0.18.0 005 log: `latest` moves 0.2 to 0.1).
const KS_GUESTBOOK: &[(&str, &str)] = &[
    ("0.2", "2026-01-01T00:00:00Z"),
    ("0.1", "2026-01-02T00:00:00Z"),
];

/// The guestbook app of scenarios 005, 101 (and the image of 008): v0.18.0
/// ran argocd-example-apps' kustomize-guestbook, v1.x its own copy.
struct Guestbook {
    image: &'static str,
    tags: &'static [(&'static str, &'static str)],
    dir: &'static str,
    deployment: &'static str,
    /// The change upstream's 02-assert expects for the selected Application.
    change: (&'static str, &'static str),
    tag: &'static str,
}

fn guestbook(form: Form) -> Guestbook {
    match form {
        Form::Annotations => Guestbook {
            image: "heptio-images/ks-guestbook-demo",
            tags: KS_GUESTBOOK,
            dir: "kustomize-guestbook",
            deployment: "kustomize-guestbook/guestbook-ui-deployment.yaml",
            change: ("ks-guestbook-demo:0.1", "ks-guestbook-demo:0.2"),
            tag: "0.2",
        },
        Form::ImageUpdater => Guestbook {
            image: "dkarpele/my-guestbook",
            tags: MY_GUESTBOOK,
            dir: "005-public-guestbook",
            deployment: "005-public-guestbook/deployment.yaml",
            change: ("my-guestbook:1.0.0", "my-guestbook:1.0.2"),
            tag: "1.0.2",
        },
    }
}

/// Asserts `path` on `branch` is its original in `files` with the first
/// `from` replaced by `to` (both localised) for each change, and nothing else changed.
fn assert_committed(
    scenario: &Scenario,
    files: &[(String, String)],
    branch: &str,
    path: &str,
    changes: &[(&str, &str)],
) {
    let original = files
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, content)| scenario.localise(content))
        .unwrap_or_else(|| panic!("{path} is in the test data"));
    let expected = changes.iter().fold(original, |text, (from, to)| {
        let from = scenario.localise(from);
        assert!(text.contains(&from), "{path} holds {from:?}");
        // The first occurrence: a commented-out copy further down stays as it is.
        text.replacen(&from, &scenario.localise(to), 1)
    });
    assert_eq!(scenario.show(branch, path), expected, "{path} on {branch}");
}

/// 001: `test=…/test-image:1.X.X`, semver. 02-assert: test-image:1.0.2.
#[test]
fn aiu_001_semver_picks_the_highest_1_x() {
    for form in Form::BOTH {
        let scenario = aiu_scenario(&[("test-image", TEST_IMAGE)]);
        let files = aiu_testdata(form, &["001-simple-kustomize-app"]);
        scenario.repository("main", &files);
        scenario.import_fixture(AIU, &form.install("001-simple-kustomize-app-semver"));
        let run = scenario.update(false);
        assert_eq!(run.new_tag("test"), "1.0.2", "{form:?}: {:#}", run.json);
        let path = "001-simple-kustomize-app/deployment.yaml";
        let change = ("test-image:1.0.0", "test-image:1.0.2");
        assert_committed(&scenario, &files, "main", path, &[change]);
    }
}

/// 002: `test=…/test-image:latest`, digest. 02-assert: the Deployment changed
/// (observedGeneration 2); AIU and kedge both write `latest@sha256:…`.
#[test]
fn aiu_002_digest_follows_latest() {
    for form in Form::BOTH {
        let scenario = aiu_scenario(&[("test-image", TEST_IMAGE)]);
        let files = aiu_testdata(form, &["001-simple-kustomize-app"]);
        scenario.repository("main", &files);
        scenario.import_fixture(AIU, &form.install("002-simple-kustomize-app-latest"));
        let run = scenario.update(false);
        let digest = run.update("test")["newDigest"].as_str().unwrap_or_default();
        assert!(digest.starts_with("sha256:"), "{form:?}: {:#}", run.json);
        let path = "001-simple-kustomize-app/deployment.yaml";
        let pinned = format!("test-image:latest@{digest}");
        let change = ("test-image:1.0.0", pinned.as_str());
        assert_committed(&scenario, &files, "main", path, &[change]);
    }
}

/// 003: an image that is not there. 02-assert: the Deployment is untouched
/// (observedGeneration 1). kedge says which image and writes nothing.
#[test]
fn aiu_003_invalid_image_is_reported_and_nothing_is_written() {
    for form in Form::BOTH {
        let scenario = aiu_scenario(&[("test-image", TEST_IMAGE)]);
        let host = scenario.host();
        let scenario = scenario.replacing("some/invalid", &format!("{host}/some/invalid"));
        scenario.repository("main", &aiu_testdata(form, &["001-simple-kustomize-app"]));
        let before = scenario.head("main");
        let imported = scenario.import_fixture(AIU, &form.install("003-invalid-image-specified"));
        match form {
            // `some/invalid:latest` has no alias, so the default strategy, semver, reads
            // "latest" as its constraint: the import refuses it and maps nothing.
            Form::Annotations => {
                assert_eq!(imported.status, 1, "{}", imported.stderr);
                assert!(
                    imported.stderr.contains("image-list")
                        && imported
                            .stderr
                            .contains("invalid semver constraint \"latest\""),
                    "{}",
                    imported.stderr
                );
                assert!(!imported.config.contains("images:"), "{}", imported.config);
            }
            // newest-build on an image the registry does not have.
            Form::ImageUpdater => {
                let run = scenario.update(false);
                assert_eq!(run.status, 1, "{:#}", run.json);
                let failure = &run.json["failed"][0];
                assert_eq!(failure["alias"], "test", "{:#}", run.json);
                assert_eq!(failure["kind"], "registry", "{:#}", run.json);
                let error = failure["error"].as_str().unwrap_or_default();
                assert!(error.contains("some/invalid"), "{error}");
                assert!(
                    run.stderr.contains("image test not updated"),
                    "{}",
                    run.stderr
                );
                assert_eq!(run.json["updates"], serde_json::json!([]));
            }
        }
        assert_eq!(scenario.head("main"), before, "{form:?}: nothing committed");
    }
}

/// 004: two Docker Hub images, each with an exact version. 02-assert:
/// nginx:1.17.10 and memcached:1.6.10.
#[test]
fn aiu_004_multiple_images_each_take_their_version() {
    let nginx: &[(&str, &str)] = &[
        ("1.17.0", "2026-01-01T00:00:00Z"),
        ("1.17.10", "2026-01-02T00:00:00Z"),
        ("1.18.0", "2026-01-03T00:00:00Z"),
    ];
    let memcached: &[(&str, &str)] = &[
        ("1.6.0", "2026-01-01T00:00:00Z"),
        ("1.6.10", "2026-01-02T00:00:00Z"),
        ("1.6.21", "2026-01-03T00:00:00Z"),
    ];
    for form in Form::BOTH {
        let scenario = aiu_scenario(&[("nginx", nginx), ("memcached", memcached)]);
        let host = scenario.host();
        let scenario = scenario
            .replacing("nginx:1.", &format!("{host}/nginx:1."))
            .replacing("memcached:1.", &format!("{host}/memcached:1."));
        let files = aiu_testdata(form, &["004-multi-images-public"]);
        scenario.repository("main", &files);
        scenario.import_fixture(AIU, &form.install("004-multiple-images"));
        let run = scenario.update(false);
        assert_eq!(run.new_tag("test-nginx"), "1.17.10", "{form:?}");
        assert_eq!(run.new_tag("test-memcached"), "1.6.10", "{form:?}");
        let changes = [
            ("nginx:1.17.0", "nginx:1.17.10"),
            ("memcached:1.6.0", "memcached:1.6.10"),
        ];
        let path = "004-multi-images-public/deployment.yaml";
        assert_committed(&scenario, &files, "main", path, &changes);
    }
}

/// 005: two Applications on the same source path, one semver, one
/// newest-build. 02-assert: the first runs 1.0.2 (v0.18.0: 0.2), the second
/// 2.0.0 (v0.18.0: 0.1). AIU keeps each choice in its Application; kedge
/// writes to the one set of manifests both render, so the import keeps the
/// first policy and reports the second (docs/migration.md).
#[test]
fn aiu_005_app_wide_strategy_keeps_the_first_application_on_a_shared_path() {
    for form in Form::BOTH {
        let app = guestbook(form);
        let scenario = aiu_scenario(&[(app.image, app.tags)]);
        let files = aiu_testdata(form, &[app.dir]);
        scenario.repository("main", &files);
        let imported = scenario.import_fixture(AIU, &form.install("005-app-wide-update-strategy"));
        assert_eq!(imported.status, 1, "{form:?}: {}", imported.stderr);
        assert!(
            imported.stderr.contains("(image-updater-005-02)")
                && imported.stderr.contains("keeps only \"guestbook\""),
            "{form:?}: {}",
            imported.stderr
        );
        let run = scenario.update(false);
        assert_eq!(run.json["updates"].as_array().map(Vec::len), Some(1));
        assert_eq!(run.new_tag("guestbook"), app.tag, "{form:?}");
        assert_committed(&scenario, &files, "main", app.deployment, &[app.change]);
    }
}

/// 007: Git write-back to branch master, target `kustomization`. 02-assert:
/// test-image:1.0.2; after 03-revert (the constraint becomes `1.0.0`),
/// 04-assert: 1.0.0. AIU records the tag in kustomization.yaml's `images:`,
/// kedge in the Deployment it renders (the same rendered image).
#[test]
fn aiu_007_git_write_back_commits_and_reverts() {
    for form in Form::BOTH {
        let scenario = aiu_scenario(&[("test-image", TEST_IMAGE)]);
        let files = aiu_testdata(form, &["001-simple-kustomize-app"]);
        scenario.repository("master", &files);
        let install = form.install("007-git-repository");
        scenario.import_fixture(AIU, &install);
        let run = scenario.update(false);
        assert_eq!(run.new_tag("test"), "1.0.2", "{form:?}: {:#}", run.json);
        assert!(run.json["commit"].is_string(), "{:#}", run.json);
        let path = "001-simple-kustomize-app/deployment.yaml";
        let change = ("test-image:1.0.0", "test-image:1.0.2");
        assert_committed(&scenario, &files, "master", path, &[change]);
        let kustomization = "001-simple-kustomize-app/kustomization.yaml";
        assert_committed(&scenario, &files, "master", kustomization, &[]);

        let revert = fixture(&install).replace("test-image:1.X.X", "test-image:1.0.0");
        scenario.import_text(AIU, &revert);
        let run = scenario.update(false);
        assert_eq!(run.new_tag("test"), "1.0.0", "{form:?}: {:#}", run.json);
        assert_committed(&scenario, &files, "master", path, &[]);
    }
}

/// 008: Git write-back of a Helm chart on master. v1.x: semver `1.0.2`,
/// 02-assert my-guestbook:1.0.2, revert to `1.0.0`. v0.18.0: digest of 0.2,
/// 02-assert `0.2@sha256:…`, revert to the digest of 0.1. AIU writes Helm
/// parameters to `.argocd-source-image-updater-008.yaml`; kedge edits
/// values.yaml, which the templates read (`templates/` is left alone).
#[test]
fn aiu_008_helm_values_commit_and_revert() {
    for form in Form::BOTH {
        let app = guestbook(form);
        let scenario = aiu_scenario(&[(app.image, app.tags)]);
        let files = aiu_testdata(form, &["008-simple-helm-app"]);
        scenario.repository("master", &files);
        let install = form.install("008-git-repository-helm");
        let (first, second, revert) = match form {
            Form::Annotations => (
                "0.2",
                "0.1",
                ("ks-guestbook-demo:0.2", "ks-guestbook-demo:0.1"),
            ),
            Form::ImageUpdater => (
                "1.0.2",
                "1.0.0",
                ("my-guestbook:1.0.2", "my-guestbook:1.0.0"),
            ),
        };
        let old = files
            .iter()
            .find(|(p, _)| p == "008-simple-helm-app/values.yaml")
            .and_then(|(_, values)| values.lines().find(|l| l.starts_with("  tag: ")))
            .expect("values.yaml has image.tag")
            .to_owned();
        let path = "008-simple-helm-app/values.yaml";
        let mut written = Vec::new();
        for (source, tag) in [
            (fixture(&install), first),
            (fixture(&install).replace(revert.0, revert.1), second),
        ] {
            scenario.import_text(AIU, &source);
            let run = scenario.update(false);
            let update = run.update("test");
            assert_eq!(update["newTag"], tag, "{form:?}: {:#}", run.json);
            let value = match form {
                Form::Annotations => {
                    format!("{tag}@{}", update["newDigest"].as_str().unwrap_or_default())
                }
                Form::ImageUpdater => tag.to_owned(),
            };
            written.push(format!("  tag: {value}"));
            let change = (
                old.as_str(),
                written.last().map(String::as_str).unwrap_or_default(),
            );
            assert_committed(&scenario, &files, "master", path, &[change]);
        }
        let template = "008-simple-helm-app/templates/deployment.yaml";
        assert_committed(&scenario, &files, "master", template, &[]);
    }
}

/// 101: three Applications on one path; only `app.index: "0"` is selected
/// (v1.x: `labelSelectors`; v0.18.0: `--match-application-label`, a flag of
/// the AIU process the import cannot see). 02-assert: the first moves to
/// 1.0.2 (v0.18.0: 0.2). The others share its manifests, so in Git they move too.
#[test]
fn aiu_101_label_match_updates_the_selected_application() {
    for form in Form::BOTH {
        let app = guestbook(form);
        let scenario = aiu_scenario(&[(app.image, app.tags)]);
        let files = aiu_testdata(form, &[app.dir]);
        scenario.repository("main", &files);
        let imported =
            scenario.import_fixture(AIU, &form.install("101-kustomize-match-application-label"));
        if form == Form::ImageUpdater {
            for name in ["image-updater-101-1", "image-updater-101-2"] {
                let skipped =
                    format!("Application {name} matches {name:?} but not its labelSelectors");
                assert!(imported.stderr.contains(&skipped), "{}", imported.stderr);
            }
        }
        let run = scenario.update(false);
        assert_eq!(
            run.new_tag("guestbook"),
            app.tag,
            "{form:?}: {:#}",
            run.json
        );
        assert_committed(&scenario, &files, "main", app.deployment, &[app.change]);
    }
}
