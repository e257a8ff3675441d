//! Pull-request mode end to end: a real registry, a real git remote, and a
//! local server answering the documented GitHub REST shapes kedge uses.

use std::path::Path;

use kedge::config::Config;
use kedge::update::{PullRequestAction, RunOptions, Updater};
use kedge_forge::test_server::{TestGitHub, TestGitHubOptions};
use kedge_testkit::{GitRoot, ImageSpec, OciLayout, TestRegistry};

const DEPLOY: &str = "apps/web/deploy.yaml";

struct World {
    registry: TestRegistry,
    layout: OciLayout,
    root: GitRoot,
    github: TestGitHub,
    dir: tempfile::TempDir,
}

async fn world() -> World {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(&dir.path().join("layout"));
    for tag in ["1.0.0", "1.1.0"] {
        layout.add_image(tag, &ImageSpec::new("2026-01-01T00:00:00Z", tag));
        registry.push(&layout, tag, "team/web");
    }
    let root = GitRoot::new();
    root.create(
        "manifests",
        "main",
        &[(DEPLOY, &manifest(&registry.host(), "1.0.0"))],
    );
    let github = TestGitHub::start(TestGitHubOptions::token("org", "manifests", "ghp_test"))
        .await
        .unwrap();
    std::fs::write(dir.path().join("token"), "ghp_test\n").unwrap();
    World {
        registry,
        layout,
        root,
        github,
        dir,
    }
}

fn manifest(host: &str, tag: &str) -> String {
    format!("spec:\n  containers:\n    - name: web\n      image: {host}/team/web:{tag} # kedge\n")
}

fn updater(world: &World) -> Updater {
    let host = world.registry.host();
    let text = format!(
        "git:\n  url: {url}\nwriteBack:\n  mode: pull-request\n  pullRequest:\n    labels: [deps, kedge]\n    draft: true\nforge:\n  github: {{apiUrl: \"{api}\", owner: org, repo: manifests, tokenFile: {token}}}\nregistries:\n  - prefix: {host}\n    insecure: true\nimages:\n  - alias: web\n    image: {host}/team/web\n    targets: [apps/web]\n",
        url = world.root.file_url("manifests"),
        api = world.github.api_url(),
        token = world.dir.path().join("token").display(),
    );
    let config = Config::parse(Path::new("kedge.yaml"), &text).unwrap();
    Updater::new(config)
        .unwrap()
        .with_cache_dir(world.dir.path().join("cache"))
}

#[tokio::test]
async fn opens_then_updates_then_closes_one_pull_request() {
    let mut world = world().await;
    let host = world.registry.host();
    let main_before = world.root.head("manifests", "main");

    // A new tag: a branch and a draft PR with labels; main untouched.
    let result = updater(&world).run(RunOptions::default()).await.unwrap();
    assert_eq!(result.pull_requests.len(), 1, "{result:?}");
    let pr = &result.pull_requests[0];
    assert_eq!(
        (pr.action, pr.branch.as_str()),
        (PullRequestAction::Created, "kedge/web")
    );
    assert_eq!(pr.title, "Update web to 1.1.0");
    assert_eq!(world.root.head("manifests", "main"), main_before);
    assert_eq!(
        world.root.show("manifests", "kedge/web", DEPLOY),
        manifest(&host, "1.1.0")
    );
    let prs = world.github.pull_requests();
    assert_eq!(prs.len(), 1);
    assert_eq!(prs[0]["head"]["ref"], "kedge/web");
    assert_eq!(prs[0]["base"]["ref"], "main");
    assert_eq!(prs[0]["draft"], true);
    let labels: Vec<&str> = prs[0]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["deps", "kedge"]);
    let body = prs[0]["body"].as_str().unwrap();
    assert!(body.contains(&format!("`{host}/team/web:1.0.0`")), "{body}");

    // Running again opens no second PR, does not rewrite the branch, and
    // leaves the pull request alone: it already says what it should.
    let branch_before = world.root.head("manifests", "kedge/web");
    let again = updater(&world).run(RunOptions::default()).await.unwrap();
    assert_eq!(again.pull_requests[0].action, PullRequestAction::Unchanged);
    assert_eq!(world.github.pull_requests().len(), 1);
    assert_eq!(world.root.head("manifests", "kedge/web"), branch_before);

    // A newer tag supersedes the open PR: same PR, new branch content and title.
    world
        .layout
        .add_image("1.2.0", &ImageSpec::new("2026-01-02T00:00:00Z", "1.2.0"));
    world.registry.push(&world.layout, "1.2.0", "team/web");
    let newer = updater(&world).run(RunOptions::default()).await.unwrap();
    let pr = &newer.pull_requests[0];
    assert_eq!(pr.action, PullRequestAction::Updated);
    assert_eq!(pr.number, result.pull_requests[0].number);
    assert_eq!(
        world.root.show("manifests", "kedge/web", DEPLOY),
        manifest(&host, "1.2.0")
    );
    assert_eq!(
        world.github.pull_requests()[0]["title"],
        "Update web to 1.2.0"
    );

    // Someone bumps main by hand past the PR: the PR is moot and closed with a comment.
    world.root.commit_files(
        "manifests",
        "main",
        &[(DEPLOY, &manifest(&host, "1.2.0"))],
        "Manual bump",
    );
    let moot = updater(&world).run(RunOptions::default()).await.unwrap();
    assert!(moot.updates.is_empty());
    assert_eq!(moot.pull_requests[0].action, PullRequestAction::Closed);
    let number = pr.number.unwrap();
    assert_eq!(world.github.pull_requests()[0]["state"], "closed");
    assert!(world.github.comments(number)[0].contains("already has"));
}

#[tokio::test]
async fn dry_run_plans_the_pull_request_and_touches_nothing() {
    let world = world().await;
    let result = updater(&world)
        .run(RunOptions { dry_run: true })
        .await
        .unwrap();
    assert_eq!(result.pull_requests[0].action, PullRequestAction::Planned);
    assert!(result.diff.unwrap().contains("+      image:"));
    assert!(world.github.pull_requests().is_empty());
    let writes: Vec<_> = world
        .github
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

/// `Updater::new` builds every client (the GitHub one included) without a
/// Tokio runtime, so a synchronous tool can build it before starting one.
#[test]
fn updater_new_works_outside_a_runtime() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "t0ken\n").unwrap();
    let text = format!(
        "git:\n  url: file:///srv/git/manifests.git\nwriteBack:\n  mode: pull-request\nforge:\n  github: {{apiUrl: \"http://127.0.0.1:1\", owner: org, repo: manifests, tokenFile: {token}}}\nimages:\n  - alias: web\n    image: registry.example/team/web\n    targets: [apps/web]\n",
        token = dir.path().join("token").display(),
    );
    let config = Config::parse(Path::new("kedge.yaml"), &text).unwrap();
    let updater = Updater::new(config);
    assert!(updater.is_ok(), "{:?}", updater.err());
}
