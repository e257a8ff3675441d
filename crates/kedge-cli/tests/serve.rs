//! `kedge serve` end to end: the real distribution registry notifies the real
//! binary, which commits the bump to a real git repository.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kedge_testkit::{GitRoot, ImageSpec, OciLayout, RegistryOptions, TestRegistry};

const DEPLOY: &str = "apps/web/deploy.yaml";
const SECRET: &str = "Bearer notify-s3cret";

struct Serving {
    kedge: Child,
    registry: TestRegistry,
    layout: OciLayout,
    root: GitRoot,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.kedge.kill();
        let _ = self.kedge.wait();
    }
}

fn manifest(host: &str, tag: &str) -> String {
    format!("spec:\n  containers:\n    - name: web\n      image: {host}/team/web:{tag}\n")
}

fn start(debounce: &str) -> Serving {
    let port = kedge_testkit::free_port();
    let registry = TestRegistry::start_with(RegistryOptions {
        notify_url: Some(format!("http://127.0.0.1:{port}/webhooks/registry/local")),
        notify_headers: vec![("Authorization".into(), SECRET.into())],
        ..RegistryOptions::default()
    });
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(&dir.path().join("layout"));
    layout.add_image("1.0.0", &ImageSpec::new("2026-01-01T00:00:00Z", "1.0.0"));
    registry.push(&layout, "1.0.0", "team/web");
    let root = GitRoot::new();
    root.create("manifests", "main", &[(DEPLOY, &manifest(&host, "1.0.0"))]);
    std::fs::write(dir.path().join("secret"), SECRET).unwrap();
    let config = format!(
        "git: {{url: \"{url}\"}}\nregistries: [{{prefix: \"{host}\", insecure: true}}]\nimages:\n  - {{alias: web, image: \"{host}/team/web\", targets: [apps/web], pollInterval: 0s}}\nserve:\n  debounce: {debounce}\n  receivers:\n    - name: local\n      source: distribution\n      auth: {{type: header, header: Authorization, secretFile: \"{secret}\"}}\n",
        url = root.file_url("manifests"),
        secret = dir.path().join("secret").display(),
    );
    std::fs::write(dir.path().join("kedge.yaml"), config).unwrap();
    let kedge = spawn_kedge(dir.path(), port);
    let serving = Serving {
        kedge,
        registry,
        layout,
        root,
        dir,
        port,
    };
    wait_ready(port);
    serving
}

fn spawn_kedge(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(dir.join("kedge.yaml"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .env("HOME", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(port, "/readyz") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "kedge serve did not become ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The status of a GET, or `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: kedge\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// Waits until main's newest commit says `subject`; returns how long that took.
fn wait_for_commit(serving: &Serving, subject: &str, since: Instant) -> Duration {
    let deadline = since + Duration::from_secs(60);
    loop {
        if serving.root.subjects("manifests", "main")[0] == subject {
            return since.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "no commit {subject:?} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_registry_push_notification_becomes_a_commit() {
    let mut serving = start("200ms");
    let host = serving.registry.host();
    let pushed = Instant::now();
    serving
        .layout
        .add_image("1.1.0", &ImageSpec::new("2026-01-02T00:00:00Z", "1.1.0"));
    serving.registry.push(&serving.layout, "1.1.0", "team/web");
    let latency = wait_for_commit(&serving, "Update web to 1.1.0", pushed);
    eprintln!("registry push to pushed commit: {latency:?} (debounce 200ms)");
    assert_eq!(
        serving.root.show("manifests", "main", DEPLOY),
        manifest(&host, "1.1.0")
    );
    assert_eq!(get(serving.port, "/metrics"), Some(200));
}

#[test]
fn a_burst_of_pushes_becomes_one_commit_with_the_highest_tag() {
    let mut serving = start("20s");
    let host = serving.registry.host();
    let pushed = Instant::now();
    for minor in 1..=20 {
        let tag = format!("1.{minor}.0");
        serving
            .layout
            .add_image(&tag, &ImageSpec::new("2026-01-02T00:00:00Z", &tag));
        serving.registry.push(&serving.layout, &tag, "team/web");
    }
    wait_for_commit(&serving, "Update web to 1.20.0", pushed);
    assert_eq!(
        serving.root.show("manifests", "main", DEPLOY),
        manifest(&host, "1.20.0")
    );
    assert_eq!(
        serving.root.subjects("manifests", "main"),
        ["Update web to 1.20.0", "Initial manifests"],
        "twenty pushes, one commit"
    );
}

#[test]
fn a_push_while_kedge_is_down_is_redelivered_and_lands_after_restart() {
    let mut serving = start("200ms");
    let host = serving.registry.host();
    // Killed hard, as a crashed or evicted pod would be: nothing is drained.
    serving.kedge.kill().unwrap();
    serving.kedge.wait().unwrap();
    serving
        .layout
        .add_image("1.1.0", &ImageSpec::new("2026-01-02T00:00:00Z", "1.1.0"));
    serving.registry.push(&serving.layout, "1.1.0", "team/web");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        serving.root.subjects("manifests", "main"),
        ["Initial manifests"]
    );

    // The registry keeps retrying its notification until the endpoint answers.
    let restarted = Instant::now();
    serving.kedge = spawn_kedge(serving.dir.path(), serving.port);
    wait_ready(serving.port);
    wait_for_commit(&serving, "Update web to 1.1.0", restarted);
    assert_eq!(
        serving.root.show("manifests", "main", DEPLOY),
        manifest(&host, "1.1.0")
    );
}
