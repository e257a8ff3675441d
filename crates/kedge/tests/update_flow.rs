//! The update flow end to end on real parts: the distribution registry with
//! images pushed by skopeo, and bare git repositories served by git daemon and
//! smart HTTP.

use std::path::Path;

use kedge::config::Config;
use kedge::update::{RunOptions, Updater};
use kedge_testkit::{GitDaemon, GitRoot, ImageSpec, OciLayout, TestRegistry};

/// A registry holding `team/web` and `team/api` at 1.0.0 and 1.1.0 (and a 2.0.0
/// that `^1.0` excludes).
fn registry() -> (TestRegistry, tempfile::TempDir) {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(dir.path());
    for (tag, day) in [("1.0.0", "01"), ("1.1.0", "02"), ("2.0.0", "03")] {
        layout.add_image(
            tag,
            &ImageSpec::new(&format!("2026-01-{day}T00:00:00Z"), tag),
        );
        registry.push(&layout, tag, "team/web");
        registry.push(&layout, tag, "team/api");
    }
    (registry, dir)
}

fn deployment(host: &str, name: &str, tag: &str) -> String {
    format!(
        "# {name} serves the storefront\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: {name}\n          image: \"{host}/team/{name}:{tag}\" # pinned by kedge\n          ports:\n            - containerPort: 8080\n"
    )
}

fn seed(root: &GitRoot, host: &str) {
    root.create(
        "manifests",
        "main",
        &[
            ("apps/web/deploy.yaml", &deployment(host, "web", "1.0.0")),
            ("apps/api/deploy.yaml", &deployment(host, "api", "1.0.0")),
            ("README.md", "manifests\n"),
        ],
    );
}

fn config_text(host: &str, url: &str, images: &[&str]) -> String {
    let mut text = format!(
        "git:\n  url: {url}\n  branch: main\n  author: {{name: kedge-bot, email: bot@example.com}}\nregistries:\n  - prefix: {host}\n    insecure: true\nimages:\n"
    );
    for alias in images {
        text.push_str(&format!(
            "  - alias: {alias}\n    image: {host}/team/{alias}\n    policy: {{strategy: semver, constraint: \"^1.0\"}}\n    targets: [apps/{alias}]\n"
        ));
    }
    text
}

fn updater(text: &str, cache: &Path) -> Updater {
    let config = Config::parse(Path::new("kedge.yaml"), text).unwrap();
    Updater::new(config)
        .unwrap()
        .with_cache_dir(cache.to_owned())
}

#[tokio::test]
async fn push_mode_commits_exactly_the_changed_bytes_once() {
    let (registry, _layout) = registry();
    let host = registry.host();
    let root = GitRoot::new();
    seed(&root, &host);
    let daemon = GitDaemon::start(&root);
    let cache = tempfile::tempdir().unwrap();
    let updater = updater(
        &config_text(&host, &daemon.url("manifests"), &["web"]),
        cache.path(),
    );

    let result = updater.run(RunOptions::default()).await.unwrap();
    assert_eq!(result.updates.len(), 1);
    let update = &result.updates[0];
    assert_eq!(update.old_reference, format!("{host}/team/web:1.0.0"));
    assert_eq!(update.new_reference, format!("{host}/team/web:1.1.0"));
    assert_eq!(update.files, ["apps/web/deploy.yaml"]);
    assert_eq!(
        result.commit.as_deref(),
        Some(root.head("manifests", "main").as_str())
    );

    // Only the tag changed: the comment, the quotes and the trailing comment stay.
    assert_eq!(
        root.show("manifests", "main", "apps/web/deploy.yaml"),
        deployment(&host, "web", "1.1.0")
    );
    assert_eq!(
        root.show("manifests", "main", "apps/api/deploy.yaml"),
        deployment(&host, "api", "1.0.0")
    );
    let subjects = root.subjects("manifests", "main");
    assert_eq!(subjects[0], "Update web to 1.1.0");

    // A second run finds nothing to do and pushes nothing.
    let again = updater.run(RunOptions::default()).await.unwrap();
    assert!(again.updates.is_empty());
    assert_eq!(again.current, ["web"]);
    assert_eq!(root.subjects("manifests", "main").len(), 2);
}

#[tokio::test]
async fn racing_writers_both_land_over_file_urls() {
    let (registry, _layout) = registry();
    let root = GitRoot::new();
    seed(&root, &registry.host());
    let url = root.file_url("manifests");
    race(&registry.host(), &root, &url).await;
}

#[tokio::test]
async fn racing_writers_both_land_over_git_daemon() {
    let (registry, _layout) = registry();
    let root = GitRoot::new();
    seed(&root, &registry.host());
    let daemon = GitDaemon::start(&root);
    race(&registry.host(), &root, &daemon.url("manifests")).await;
}

/// Two writers updating different images at once both land; the same image
/// from two writers at once lands once.
async fn race(host: &str, root: &GitRoot, url: &str) {
    let (host, url) = (host.to_owned(), url.to_owned());
    let (cache_a, cache_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let web = updater(&config_text(&host, &url, &["web"]), cache_a.path());
    let api = updater(&config_text(&host, &url, &["api"]), cache_b.path());

    let (a, b) = tokio::join!(
        web.run(RunOptions::default()),
        api.run(RunOptions::default())
    );
    assert_eq!(a.unwrap().updates.len(), 1);
    assert_eq!(b.unwrap().updates.len(), 1);
    assert!(
        root.show("manifests", "main", "apps/web/deploy.yaml")
            .contains("web:1.1.0")
    );
    assert!(
        root.show("manifests", "main", "apps/api/deploy.yaml")
            .contains("api:1.1.0")
    );
    assert_eq!(
        root.subjects("manifests", "main").len(),
        3,
        "two bumps on the seed commit"
    );

    // The same image from two writers at once: one change, not two.
    root.commit_files(
        "manifests",
        "main",
        &[("apps/web/deploy.yaml", &deployment(&host, "web", "1.0.0"))],
        "Roll web back",
    );
    let (cache_c, cache_d) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = updater(&config_text(&host, &url, &["web"]), cache_c.path());
    let second = updater(&config_text(&host, &url, &["web"]), cache_d.path());
    let (c, d) = tokio::join!(
        first.run(RunOptions::default()),
        second.run(RunOptions::default())
    );
    // Either the second writer found web current after the first pushed, or both
    // built the very same commit (same tree, parent, author and second) and the
    // second push was a no-op: one change either way.
    let mut commits: Vec<String> = [c.unwrap(), d.unwrap()]
        .into_iter()
        .filter_map(|r| r.commit)
        .collect();
    commits.dedup();
    assert_eq!(commits, [root.head("manifests", "main")]);
    assert_eq!(root.subjects("manifests", "main")[0], "Update web to 1.1.0");
    assert_eq!(root.subjects("manifests", "main").len(), 5);
}

#[tokio::test]
async fn dry_run_shows_the_diff_and_pushes_nothing() {
    let (registry, _layout) = registry();
    let host = registry.host();
    let root = GitRoot::new();
    seed(&root, &host);
    let before = root.head("manifests", "main");
    let cache = tempfile::tempdir().unwrap();
    let updater = updater(
        &config_text(&host, &root.file_url("manifests"), &["web", "api"]),
        cache.path(),
    );

    let result = updater.run(RunOptions { dry_run: true }).await.unwrap();
    assert!(result.dry_run);
    assert_eq!(result.updates.len(), 2);
    assert_eq!(result.commit, None);
    let diff = result.diff.unwrap();
    assert!(
        diff.contains(&format!(
            "-          image: \"{host}/team/web:1.0.0\" # pinned by kedge"
        )),
        "{diff}"
    );
    assert!(
        diff.contains(&format!(
            "+          image: \"{host}/team/web:1.1.0\" # pinned by kedge"
        )),
        "{diff}"
    );
    assert_eq!(root.head("manifests", "main"), before);
}

#[tokio::test]
async fn bad_inputs_fail_clearly_and_leave_the_remote_untouched() {
    let (registry, _layout) = registry();
    let host = registry.host();
    let root = GitRoot::new();
    seed(&root, &host);
    let url = root.file_url("manifests");
    let before = root.head("manifests", "main");

    // An unknown key names file, line and key.
    let text = config_text(&host, &url, &["web"])
        .replace("  branch: main\n", "  branch: main\n  brnach: x\n");
    let err = Config::parse(Path::new("kedge.yaml"), &text).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("kedge.yaml:4: brnach: unknown field `brnach`"),
        "{err}"
    );

    // A bad regex names the image and the policy key.
    let text = config_text(&host, &url, &["web"]).replace("constraint: \"^1.0\"", "allow: \"(\"");
    let err = Config::parse(Path::new("kedge.yaml"), &text).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("kedge.yaml:11: images[0].policy.allow: invalid allow regex"),
        "{err}"
    );

    // An unreachable registry fails its image, reported with the registry's address.
    let gone = format!("127.0.0.1:{}", kedge_testkit::free_port());
    let text = config_text(&gone, &url, &["web"]);
    let cache = tempfile::tempdir().unwrap();
    let result = updater(&text, cache.path())
        .run(RunOptions::default())
        .await
        .unwrap();
    assert_eq!(result.failed.len(), 1, "{result:?}");
    assert_eq!(result.failed[0].alias, "web");
    assert!(result.failed[0].error.contains(&gone), "{result:?}");
    assert!(result.updates.is_empty() && result.current.is_empty());

    // A target that is not valid YAML: the image fails with file and line, nothing pushed.
    root.commit_files(
        "manifests",
        "main",
        &[("apps/web/broken.yaml", "spec:\n  image: [unclosed\n")],
        "Break a manifest",
    );
    let broken = root.head("manifests", "main");
    let result = updater(&config_text(&host, &url, &["web"]), cache.path())
        .run(RunOptions::default())
        .await
        .unwrap();
    assert_eq!(result.failed.len(), 1, "{result:?}");
    assert!(result.failed[0].error.contains("broken.yaml"), "{result:?}");
    assert!(result.updates.is_empty() && result.commit.is_none());
    assert_eq!(root.head("manifests", "main"), broken);
    assert_ne!(broken, before);
}

/// One image whose registry is down and one whose target is missing do not
/// stop a third: it is committed and pushed, and the two are reported.
#[tokio::test]
async fn one_failing_image_does_not_stop_the_others() {
    let (registry, _layout) = registry();
    let host = registry.host();
    let root = GitRoot::new();
    seed(&root, &host);
    let url = root.file_url("manifests");
    let gone = format!("127.0.0.1:{}", kedge_testkit::free_port());
    let text = config_text(&host, &url, &["web", "api"])
        .replace("targets: [apps/api]", "targets: [apps/api-gone]")
        .replace(
            "registries:\n",
            &format!("registries:\n  - prefix: {gone}\n    insecure: true\n"),
        )
        + &format!("  - alias: down\n    image: {gone}/team/web\n    targets: [apps/web]\n");
    let cache = tempfile::tempdir().unwrap();
    let result = updater(&text, cache.path())
        .run(RunOptions::default())
        .await
        .unwrap();

    let updated: Vec<_> = result.updates.iter().map(|u| u.alias.as_str()).collect();
    assert_eq!(updated, ["web"]);
    assert_eq!(root.subjects("manifests", "main")[0], "Update web to 1.1.0");
    let failed: Vec<_> = result
        .failed
        .iter()
        .map(|f| (f.alias.as_str(), f.error.as_str()))
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed
            .iter()
            .any(|(alias, error)| *alias == "down" && error.contains(&gone)),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|(alias, error)| *alias == "api" && error.contains("apps/api-gone")),
        "{failed:?}"
    );
    assert!(result.current.is_empty(), "{result:?}");
    assert_eq!(
        root.show("manifests", "main", "apps/api/deploy.yaml"),
        deployment(&host, "api", "1.0.0")
    );
}

/// A configuration built in code is validated by `Updater::new` as a file is
/// by `Config::load`, before anything is fetched or pushed.
#[test]
fn updater_new_refuses_an_invalid_config_built_in_code() {
    let text = config_text("registry.example", "file:///nowhere", &["web"]);
    let valid = Config::parse(Path::new("kedge.yaml"), &text).unwrap();

    let mut escaping = valid.clone();
    escaping.images[0].targets = vec!["../../etc".into()];
    let err = Updater::new(escaping).err().expect("refused");
    assert!(
        err.to_string()
            .contains("images[0].targets: \"../../etc\" must be a path inside the repository"),
        "{err}"
    );

    let mut no_forge = valid.clone();
    no_forge.write_back.mode = kedge::config::WriteBackMode::PullRequest;
    let err = Updater::new(no_forge).err().expect("refused");
    assert!(
        err.to_string()
            .contains("forge: writeBack.mode pull-request needs"),
        "{err}"
    );

    assert!(valid.validate().is_ok());
}

#[tokio::test]
async fn a_manifest_already_past_the_chosen_tag_is_never_moved_back() {
    let (registry, _layout) = registry();
    let host = registry.host();
    let root = GitRoot::new();
    seed(&root, &host);
    // Someone bumped web by hand to a release kedge's plan does not know about.
    root.commit_files(
        "manifests",
        "main",
        &[("apps/web/deploy.yaml", &deployment(&host, "web", "1.9.0"))],
        "Hotfix web",
    );
    let cache = tempfile::tempdir().unwrap();
    let url = root.file_url("manifests");
    let result = updater(&config_text(&host, &url, &["web"]), cache.path())
        .run(RunOptions::default())
        .await
        .unwrap();
    assert!(result.updates.is_empty(), "{result:?}");
    assert_eq!(root.subjects("manifests", "main")[0], "Hotfix web");
    assert!(
        root.show("manifests", "main", "apps/web/deploy.yaml")
            .contains("web:1.9.0")
    );
}

#[tokio::test]
async fn a_pull_request_branch_that_renders_to_the_base_is_refused() {
    let (registry, _layout) = registry();
    let host = registry.host();
    let root = GitRoot::new();
    seed(&root, &host);
    let before = root.head("manifests", "main");
    let token = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token.path(), "t").unwrap();
    let text = config_text(&host, &root.file_url("manifests"), &["web"]).replace(
        "registries:",
        &format!(
            "writeBack:\n  mode: pull-request\n  pullRequest: {{branch: main}}\nforge:\n  github: {{apiUrl: \"http://127.0.0.1:9\", owner: o, repo: r, tokenFile: {}}}\nregistries:",
            token.path().display()
        ),
    );
    let cache = tempfile::tempdir().unwrap();
    let err = updater(&text, cache.path())
        .run(RunOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("writeBack.pullRequest.branch"),
        "{err}"
    );
    assert!(err.to_string().contains("never force-pushes"), "{err}");
    assert_eq!(root.head("manifests", "main"), before);
}

/// Issue 10: in objects only container images are rewritten; a custom resource's own image
/// field is updated once `images[].objectImagePaths` names it.
#[tokio::test]
async fn object_image_paths_reach_custom_resource_fields() {
    let (registry, _layout) = registry();
    let host = registry.host();
    let root = GitRoot::new();
    let cr = format!(
        "apiVersion: monitoring.example.com/v1\nkind: Prometheus\nspec:\n  image: {host}/team/web:1.0.0\n"
    );
    root.create(
        "manifests",
        "main",
        &[
            ("apps/web/deploy.yaml", &deployment(&host, "web", "1.0.0")),
            ("apps/web/prom.yaml", &cr),
        ],
    );
    let daemon = GitDaemon::start(&root);
    let rows: [(&str, &[&str]); 2] = [
        ("", &["apps/web/deploy.yaml"]),
        (
            "    objectImagePaths: [\"Prometheus:spec.image\"]\n",
            &["apps/web/deploy.yaml", "apps/web/prom.yaml"],
        ),
    ];
    for (extra, files) in rows {
        let cache = tempfile::tempdir().unwrap();
        let text = config_text(&host, &daemon.url("manifests"), &["web"]) + extra;
        let result = updater(&text, cache.path())
            .run(RunOptions { dry_run: true })
            .await
            .unwrap();
        assert_eq!(result.updates[0].files, files, "{extra}");
    }
}

/// A registry kedge never talks HTTP to: the tags an embedding tool already
/// knows (a mirror, a cache).
struct KnownTags(Vec<&'static str>);

impl kedge::registry::Registry for KnownTags {
    async fn list_tags(
        &self,
        _image: &kedge::registry::ImageName,
    ) -> Result<Vec<String>, kedge::registry::RegistryError> {
        Ok(self.0.iter().map(|t| t.to_string()).collect())
    }

    async fn manifest_digest(
        &self,
        _image: &kedge::registry::ImageName,
        tag: &str,
    ) -> Result<String, kedge::registry::RegistryError> {
        Ok(format!("sha256:{:0>64}", tag.replace('.', "")))
    }

    async fn image_info(
        &self,
        _image: &kedge::registry::ImageName,
        _tag: &str,
        _platform: Option<&kedge::registry::Platform>,
    ) -> Result<Option<kedge::registry::ImageInfo>, kedge::registry::RegistryError> {
        Ok(None)
    }
}

/// `Updater::with_clients` runs the whole flow over any `Registry`: here one
/// that answers from memory, with no registry server at all.
#[tokio::test]
async fn any_registry_implementation_drives_the_update() {
    let root = GitRoot::new();
    seed(&root, "mirror.example");
    let cache = tempfile::tempdir().unwrap();
    let text = config_text("mirror.example", &root.file_url("manifests"), &["web"]);
    let config = Config::parse(Path::new("kedge.yaml"), &text).unwrap();
    let registry = KnownTags(vec!["1.0.0", "1.4.2", "2.0.0"]);
    let updater = Updater::<_, kedge::forge::GitHub>::with_clients(config, registry, None)
        .unwrap()
        .with_cache_dir(cache.path().to_owned());
    let result = updater.run(RunOptions::default()).await.unwrap();
    assert_eq!(result.updates.len(), 1, "{result:?}");
    assert_eq!(
        root.show("manifests", "main", "apps/web/deploy.yaml"),
        deployment("mirror.example", "web", "1.4.2")
    );
}
