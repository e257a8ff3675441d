//! `kedge update` end to end: the real binary, a real registry and a real git
//! server over smart HTTP with basic auth.

use std::process::{Command, Output};

use kedge_testkit::{GitHttp, GitRoot, ImageSpec, OciLayout, TestRegistry};

const DEPLOY: &str = "apps/web/deploy.yaml";

struct World {
    registry: TestRegistry,
    root: GitRoot,
    http: GitHttp,
    dir: tempfile::TempDir,
}

fn world() -> World {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(&dir.path().join("layout"));
    for tag in ["1.0.0", "1.0.1"] {
        layout.add_image(tag, &ImageSpec::new("2026-01-01T00:00:00Z", tag));
        registry.push(&layout, tag, "team/web");
    }
    let root = GitRoot::new();
    let manifest = format!(
        "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: {}/team/web:1.0.0\n",
        registry.host()
    );
    root.create("manifests", "main", &[(DEPLOY, &manifest)]);
    let http = GitHttp::start(&root, "bot", "s3cret");
    let config = format!(
        "git:\n  url: {url}\n  auth: {{tokenEnv: GIT_TOKEN, username: bot}}\nregistries:\n  - prefix: {host}\n    insecure: true\nimages:\n  - alias: web\n    image: {host}/team/web\n    policy: {{strategy: semver, constraint: \"~1.0\"}}\n    targets: [apps/web]\n    pin: tag+digest\n",
        url = http.url("manifests"),
        host = registry.host(),
    );
    std::fs::write(dir.path().join("kedge.yaml"), config).unwrap();
    World {
        registry,
        root,
        http,
        dir,
    }
}

fn kedge(world: &World, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args(["update", "--config"])
        .arg(world.dir.path().join("kedge.yaml"))
        .arg("--cache-dir")
        .arg(world.dir.path().join("cache"))
        .args(args)
        .env("GIT_TOKEN", token)
        .env("HOME", world.dir.path())
        .output()
        .unwrap()
}

#[test]
fn update_pushes_a_tag_and_digest_pin_and_reports_json() {
    let world = world();
    let out = kedge(&world, "s3cret", &["-o", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let update = &json["updates"][0];
    assert_eq!(update["alias"], "web");
    let new_reference = update["newReference"].as_str().unwrap();
    assert!(
        new_reference.starts_with(&format!("{}/team/web:1.0.1@sha256:", world.registry.host())),
        "{new_reference}"
    );
    assert_eq!(json["commit"], world.root.head("manifests", "main"));
    let deployed = world.root.show("manifests", "main", DEPLOY);
    assert!(
        deployed.contains(&format!("image: {new_reference}\n")),
        "{deployed}"
    );

    // Already current: exit 0, nothing new.
    let out = kedge(&world, "s3cret", &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "web: already current\n"
    );
    let _ = &world.http;
}

#[test]
fn wrong_token_exits_1_and_pushes_nothing() {
    let world = world();
    let before = world.root.head("manifests", "main");
    let out = kedge(&world, "wrong", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(
        !stderr.contains("wrong"),
        "the token is never printed: {stderr}"
    );
    assert_eq!(world.root.head("manifests", "main"), before);
}

/// An image whose target is missing exits 1 naming it, while the other image
/// is still pushed.
#[test]
fn a_failing_image_exits_1_and_the_others_are_pushed() {
    let world = world();
    let path = world.dir.path().join("kedge.yaml");
    let config = std::fs::read_to_string(&path).unwrap()
        + &format!(
            "  - alias: gone\n    image: {}/team/web\n    targets: [apps/gone]\n",
            world.registry.host()
        );
    std::fs::write(&path, config).unwrap();
    let out = kedge(&world, "s3cret", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "kedge: image gone not updated: image gone: target \"apps/gone\" does not exist"
        ),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("updated web: "), "{stdout}");
    assert!(
        world
            .root
            .show("manifests", "main", DEPLOY)
            .contains("team/web:1.0.1@sha256:")
    );
}

#[test]
fn dry_run_prints_the_diff() {
    let world = world();
    let before = world.root.head("manifests", "main");
    let out = kedge(&world, "s3cret", &["--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("would update web: "), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "-        image: {}/team/web:1.0.0",
            world.registry.host()
        )),
        "{stdout}"
    );
    assert_eq!(world.root.head("manifests", "main"), before);
}

#[test]
fn config_errors_exit_2_naming_file_line_and_key() {
    let world = world();
    let path = world.dir.path().join("kedge.yaml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "    pin: tag+digest\n",
        "    pin: tag+digest\n    pinn: tag\n",
    );
    std::fs::write(&path, text).unwrap();
    let out = kedge(&world, "s3cret", &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kedge.yaml:"), "{stderr}");
    assert!(stderr.contains("pinn"), "{stderr}");
}
