//! Issue 11: `kedge update` killed with SIGKILL at random moments against
//! `git daemon` must leave nothing that breaks the runs after it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kedge_testkit::{GitDaemon, GitRoot, ImageSpec, OciLayout, TestRegistry};

const DEPLOY: &str = "apps/web/deploy.yaml";
const KILLS: usize = 30;

fn manifest(host: &str, tag: &str) -> String {
    format!("spec:\n  containers:\n    - name: web\n      image: {host}/team/web:{tag}\n")
}

/// A small xorshift generator: the seed is printed so a failure can be replayed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn issue_11_runs_after_random_kills_all_succeed() {
    let registry = TestRegistry::start();
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(&dir.path().join("layout"));
    for tag in ["1.0.0", "1.0.1"] {
        layout.add_image(tag, &ImageSpec::new("2026-01-01T00:00:00Z", tag));
        registry.push(&layout, tag, "team/web");
    }
    let root = GitRoot::new();
    root.create("manifests", "main", &[(DEPLOY, &manifest(&host, "1.0.0"))]);
    let daemon = GitDaemon::start(&root);
    let config = dir.path().join("kedge.yaml");
    std::fs::write(
        &config,
        format!(
            "git: {{url: \"{url}\"}}\nregistries: [{{prefix: \"{host}\", insecure: true}}]\nimages:\n  - {{alias: web, image: \"{host}/team/web\", targets: [apps/web]}}\n",
            url = daemon.url("manifests"),
        ),
    )
    .unwrap();
    let update = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kedge"));
        command
            .args(["update", "--config"])
            .arg(&config)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .env("HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    // Give every run something to push: main goes back to the old tag.
    let revert = || {
        if root.show("manifests", "main", DEPLOY) == manifest(&host, "1.0.0") {
            return; // the killed run pushed nothing
        }
        root.commit_files(
            "manifests",
            "main",
            &[(DEPLOY, &manifest(&host, "1.0.0"))],
            "Back to 1.0.0",
        )
    };
    let started = Instant::now();
    assert!(update().status().unwrap().success());
    let full_run = started.elapsed();

    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}, full run {full_run:?}");
    for _ in 0..KILLS {
        revert();
        let mut child = update().spawn().unwrap();
        let at = next(&mut seed) % (full_run.as_micros() as u64 + 1);
        std::thread::sleep(Duration::from_micros(at));
        let _ = child.kill();
        let _ = child.wait();
    }
    for run in 0..3 {
        revert();
        let output = update().output().unwrap();
        assert!(
            output.status.success(),
            "run {run} after the kills: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            root.show("manifests", "main", DEPLOY),
            manifest(&host, "1.0.1")
        );
    }
    let refs = Command::new("git")
        .arg("--git-dir")
        .arg(root.path().join("manifests.git"))
        .args(["for-each-ref", "refs/kedge/"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&refs.stdout), "");
}
