//! The embedding example against real parts: the distribution registry with
//! images pushed by skopeo, and a bare git repository over `file://`.

use std::process::{Command, Output};

use kedge_testkit::{GitRoot, ImageSpec, OciLayout, TestRegistry};

fn embed(args: &[&str], home: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kedge-embed"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn picks_rewrites_and_updates_through_the_public_api() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(&dir.path().join("layout"));
    for tag in ["1.0.0", "1.1.0", "2.0.0"] {
        layout.add_image(tag, &ImageSpec::new("2026-01-01T00:00:00Z", tag));
        registry.push(&layout, tag, "team/web");
    }
    let image = format!("{}/team/web", registry.host());

    let out = embed(&["pick", &image, "^1", "--insecure"], dir.path());
    assert_eq!(stdout(&out), "1.1.0\n");

    let manifest = dir.path().join("deploy.yaml");
    let text = format!("# web\nspec:\n  containers:\n  - image: \"{image}:1.0.0\" # pinned\n");
    std::fs::write(&manifest, &text).unwrap();
    let out = embed(
        &[
            "rewrite",
            manifest.to_str().unwrap(),
            &format!("{image}={image}:1.1.0"),
        ],
        dir.path(),
    );
    assert_eq!(stdout(&out), "1 changes\n");
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap(),
        text.replace(":1.0.0", ":1.1.0")
    );

    let root = GitRoot::new();
    root.create("manifests", "main", &[("apps/web/deploy.yaml", &text)]);
    let url = root.file_url("manifests");
    let out = embed(
        &[
            "update",
            &url,
            "web",
            &image,
            "apps/web",
            "^1",
            "--insecure",
        ],
        dir.path(),
    );
    assert_eq!(stdout(&out), "updated web to 1.1.0\n");
    assert_eq!(
        root.show("manifests", "main", "apps/web/deploy.yaml"),
        text.replace(":1.0.0", ":1.1.0")
    );
}
