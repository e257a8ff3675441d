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

use import_update_support::{
    Form, Images, Imported, Scenario, Updated, aiu_scenario, aiu_testdata, fixture,
};

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

/// One scenario in one form: the registry and repository it runs on, and
/// what upstream's assert expects kedge to choose and commit.
struct Case {
    /// The scenario's folder under `test/e2e/suite/`.
    suite: &'static str,
    /// Repositories and tags in the registry.
    images: Images<'static>,
    /// Docker Hub references (prefixes) moved to the test registry.
    hub: &'static [&'static str],
    /// AIU's test data folders in the repository.
    dirs: &'static [&'static str],
    /// The branch the Application follows.
    branch: &'static str,
    /// `(alias, tag)` kedge must choose.
    picks: &'static [(&'static str, &'static str)],
    /// The file the change lands in, and the `(from, to)` changes expected there.
    file: &'static str,
    changes: &'static [(&'static str, &'static str)],
}

/// A case after `kedge import` and one `kedge update`.
struct Ran {
    scenario: Scenario,
    files: Vec<(String, String)>,
    imported: Imported,
    /// `None` when the import mapped nothing to run.
    updated: Option<Updated>,
}

impl Case {
    /// Sets the servers up, imports the case's `01-install.yaml` in `form`
    /// and runs `kedge update` (a real one: it commits).
    fn run(&self, form: Form) -> Ran {
        let mut scenario = aiu_scenario(self.images);
        let host = scenario.host();
        for prefix in self.hub {
            scenario = scenario.replacing(prefix, &format!("{host}/{prefix}"));
        }
        let files = aiu_testdata(form, self.dirs);
        scenario.repository(self.branch, &files);
        let imported = scenario.import_fixture(AIU, &form.install(self.suite));
        let updated = imported
            .config
            .contains("images:")
            .then(|| scenario.update(false));
        Ran {
            scenario,
            files,
            imported,
            updated,
        }
    }

    /// Runs the case and checks the tags kedge picks and the file it commits.
    fn check(&self, form: Form) -> Ran {
        let ran = self.run(form);
        for (alias, tag) in self.picks {
            let run = ran.updated();
            let json = &run.json;
            assert_eq!(
                run.new_tag(alias),
                *tag,
                "{} {form:?}: {json:#}",
                self.suite
            );
        }
        ran.committed(self.branch, self.file, self.changes);
        ran
    }
}

impl Ran {
    /// The `kedge update` result.
    fn updated(&self) -> &Updated {
        (self.updated.as_ref())
            .unwrap_or_else(|| panic!("the import mapped nothing: {}", self.imported.stderr))
    }

    /// Asserts `path` on `branch` is its original with the first `from`
    /// replaced by `to` (both localised) for each change, and nothing else.
    fn committed(&self, branch: &str, path: &str, changes: &[(&str, &str)]) {
        let scenario = &self.scenario;
        let original = (self.files.iter())
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
}

/// 001: `test=…/test-image:1.X.X`, semver. 02-assert: test-image:1.0.2.
const SEMVER_001: Case = Case {
    suite: "001-simple-kustomize-app-semver",
    images: &[("test-image", TEST_IMAGE)],
    hub: &[],
    dirs: &["001-simple-kustomize-app"],
    branch: "main",
    picks: &[("test", "1.0.2")],
    file: "001-simple-kustomize-app/deployment.yaml",
    changes: &[("test-image:1.0.0", "test-image:1.0.2")],
};

/// 002: `test=…/test-image:latest`, digest. 02-assert: the Deployment changed
/// (observedGeneration 2); AIU and kedge both write `latest@sha256:…`, whose
/// digest the test reads from kedge's result.
const DIGEST_002: Case = Case {
    suite: "002-simple-kustomize-app-latest",
    picks: &[("test", "latest")],
    changes: &[],
    ..SEMVER_001
};

/// 003: an image that is not there. 02-assert: the Deployment is untouched
/// (observedGeneration 1).
const INVALID_003: Case = Case {
    suite: "003-invalid-image-specified",
    hub: &["some/invalid"],
    picks: &[],
    changes: &[],
    ..SEMVER_001
};

/// 004: two Docker Hub images, each with an exact version. 02-assert:
/// nginx:1.17.10 and memcached:1.6.10.
const MULTIPLE_004: Case = Case {
    suite: "004-multiple-images",
    images: &[
        (
            "nginx",
            &[
                ("1.17.0", "2026-01-01T00:00:00Z"),
                ("1.17.10", "2026-01-02T00:00:00Z"),
                ("1.18.0", "2026-01-03T00:00:00Z"),
            ],
        ),
        (
            "memcached",
            &[
                ("1.6.0", "2026-01-01T00:00:00Z"),
                ("1.6.10", "2026-01-02T00:00:00Z"),
                ("1.6.21", "2026-01-03T00:00:00Z"),
            ],
        ),
    ],
    hub: &["nginx:1.", "memcached:1."],
    dirs: &["004-multi-images-public"],
    branch: "main",
    picks: &[("test-nginx", "1.17.10"), ("test-memcached", "1.6.10")],
    file: "004-multi-images-public/deployment.yaml",
    changes: &[
        ("nginx:1.17.0", "nginx:1.17.10"),
        ("memcached:1.6.0", "memcached:1.6.10"),
    ],
};

/// 007: Git write-back to branch master, target `kustomization`. 02-assert:
/// test-image:1.0.2. AIU records the tag in kustomization.yaml's `images:`,
/// kedge in the Deployment it renders (the same rendered image).
const GIT_007: Case = Case {
    suite: "007-git-repository",
    branch: "master",
    ..SEMVER_001
};

/// The guestbook app of scenarios 005 and 101, where the selected
/// Application moves to 1.0.2: v0.18.0 ran argocd-example-apps'
/// kustomize-guestbook (ks-guestbook-demo 0.1 to 0.2), v1.x its own copy.
fn guestbook(form: Form, suite: &'static str) -> Case {
    match form {
        Form::Annotations => Case {
            suite,
            images: &[("heptio-images/ks-guestbook-demo", KS_GUESTBOOK)],
            hub: &[],
            dirs: &["kustomize-guestbook"],
            branch: "main",
            picks: &[("guestbook", "0.2")],
            file: "kustomize-guestbook/guestbook-ui-deployment.yaml",
            changes: &[("ks-guestbook-demo:0.1", "ks-guestbook-demo:0.2")],
        },
        Form::ImageUpdater => Case {
            suite,
            images: &[("dkarpele/my-guestbook", MY_GUESTBOOK)],
            hub: &[],
            dirs: &["005-public-guestbook"],
            branch: "main",
            picks: &[("guestbook", "1.0.2")],
            file: "005-public-guestbook/deployment.yaml",
            changes: &[("my-guestbook:1.0.0", "my-guestbook:1.0.2")],
        },
    }
}

#[test]
fn aiu_001_semver_picks_the_highest_1_x() {
    for form in Form::BOTH {
        SEMVER_001.check(form);
    }
}

#[test]
fn aiu_002_digest_follows_latest() {
    for form in Form::BOTH {
        let ran = DIGEST_002.run(form);
        let run = ran.updated();
        let (alias, tag) = DIGEST_002.picks[0];
        assert_eq!(run.new_tag(alias), tag, "{form:?}: {:#}", run.json);
        let digest = run.update("test")["newDigest"].as_str().unwrap_or_default();
        assert!(digest.starts_with("sha256:"), "{form:?}: {:#}", run.json);
        let pinned = format!("test-image:latest@{digest}");
        ran.committed("main", DIGEST_002.file, &[("test-image:1.0.0", &pinned)]);
    }
}

/// kedge says which image failed and writes nothing.
#[test]
fn aiu_003_invalid_image_is_reported_and_nothing_is_written() {
    for form in Form::BOTH {
        let ran = INVALID_003.check(form);
        let commits = ran
            .scenario
            .root
            .subjects(import_update_support::REPO, "main");
        assert_eq!(commits.len(), 1, "{form:?}: nothing committed: {commits:?}");
        let imported = &ran.imported;
        if form == Form::Annotations {
            // `some/invalid:latest` has no alias, so the default strategy, semver, reads
            // "latest" as its constraint: the import refuses it and maps nothing.
            assert_eq!(imported.status, 1, "{}", imported.stderr);
            let refused =
                "image-list: kedge would refuse this policy: invalid semver constraint \"latest\"";
            assert!(imported.stderr.contains(refused), "{}", imported.stderr);
            assert!(ran.updated.is_none(), "{}", imported.config);
            continue;
        }
        let run = ran.updated();
        // newest-build on an image the registry does not have.
        assert_eq!(run.status, 1, "{:#}", run.json);
        let failure = &run.json["failed"][0];
        let json = &run.json;
        assert!(
            failure["alias"] == "test" && failure["kind"] == "registry",
            "{json:#}"
        );
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

#[test]
fn aiu_004_multiple_images_each_take_their_version() {
    for form in Form::BOTH {
        MULTIPLE_004.check(form);
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
        let ran = guestbook(form, "005-app-wide-update-strategy").check(form);
        let stderr = &ran.imported.stderr;
        assert_eq!(ran.imported.status, 1, "{form:?}: {stderr}");
        let dropped = "guestbook (image-updater-005-02) updates";
        assert!(
            stderr.contains(dropped) && stderr.contains("keeps only \"guestbook\""),
            "{stderr}"
        );
        assert_eq!(
            ran.updated().json["updates"].as_array().map(Vec::len),
            Some(1)
        );
    }
}

/// 007, then its 03-revert step (the constraint becomes `1.0.0`), 04-assert: 1.0.0.
#[test]
fn aiu_007_git_write_back_commits_and_reverts() {
    for form in Form::BOTH {
        let ran = GIT_007.check(form);
        assert!(
            ran.updated().json["commit"].is_string(),
            "{:#}",
            ran.updated().json
        );
        ran.committed("master", "001-simple-kustomize-app/kustomization.yaml", &[]);
        let install = fixture(&form.install(GIT_007.suite));
        let revert = install.replace("test-image:1.X.X", "test-image:1.0.0");
        ran.scenario.import_text(AIU, &revert);
        let run = ran.scenario.update(false);
        assert_eq!(run.new_tag("test"), "1.0.0", "{form:?}: {:#}", run.json);
        ran.committed("master", GIT_007.file, &[]);
    }
}

/// 008: Git write-back of a Helm chart on master. v1.x: semver `1.0.2`,
/// 02-assert my-guestbook:1.0.2, then 03-revert to `1.0.0`. v0.18.0: digest
/// of 0.2, 02-assert `0.2@sha256:…`, then the digest of 0.1. AIU writes Helm
/// parameters to `.argocd-source-image-updater-008.yaml`; kedge edits
/// values.yaml, which the templates read (`templates/` is left alone).
#[test]
fn aiu_008_helm_values_commit_and_revert() {
    for form in Form::BOTH {
        let app = guestbook(form, "008-git-repository-helm");
        let (first, second) = match form {
            Form::Annotations => ("0.2", "0.1"),
            Form::ImageUpdater => ("1.0.2", "1.0.0"),
        };
        let case = Case {
            dirs: &["008-simple-helm-app"],
            branch: "master",
            file: "008-simple-helm-app/values.yaml",
            changes: &[],
            ..app
        };
        let ran = case.run(form);
        let old = (ran.files.iter())
            .find(|(p, _)| p == case.file)
            .and_then(|(_, values)| values.lines().find(|l| l.starts_with("  tag: ")))
            .expect("values.yaml has image.tag")
            .to_owned();
        let expect = |run: &Updated, tag: &str| {
            let update = run.update("test");
            assert_eq!(update["newTag"], tag, "{form:?}: {:#}", run.json);
            let digest = update["newDigest"].as_str().unwrap_or_default();
            let value = match form {
                Form::Annotations => format!("  tag: {tag}@{digest}"),
                Form::ImageUpdater => format!("  tag: {tag}"),
            };
            ran.committed("master", case.file, &[(old.as_str(), value.as_str())]);
        };
        expect(ran.updated(), first);
        let install = fixture(&form.install(case.suite));
        let reverted = install.replace(&format!(":{first}"), &format!(":{second}"));
        ran.scenario.import_text(AIU, &reverted);
        expect(&ran.scenario.update(false), second);
        ran.committed(
            "master",
            "008-simple-helm-app/templates/deployment.yaml",
            &[],
        );
    }
}

/// 101: three Applications on one path; only `app.index: "0"` is selected
/// (v1.x: `labelSelectors`; v0.18.0: `--match-application-label`, a flag of
/// the AIU process the import cannot see). 02-assert: the first moves to
/// 1.0.2 (v0.18.0: 0.2). The others share its manifests, so in Git they move too.
#[test]
fn aiu_101_label_match_updates_the_selected_application() {
    for form in Form::BOTH {
        let ran = guestbook(form, "101-kustomize-match-application-label").check(form);
        if form == Form::ImageUpdater {
            for name in ["image-updater-101-1", "image-updater-101-2"] {
                let skipped =
                    format!("Application {name} matches {name:?} but not its labelSelectors");
                assert!(
                    ran.imported.stderr.contains(&skipped),
                    "{}",
                    ran.imported.stderr
                );
            }
        }
    }
}
