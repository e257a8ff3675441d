//! Issue 12, log volume: `kedge serve` writes at most one line per accepted
//! delivery at the default level, and no colour codes when stderr is a file.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kedge_testkit::GitRoot;

const DELIVERIES: usize = 20;

fn status_of(port: u16, request: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn one_plain_line_per_accepted_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let root = GitRoot::new();
    root.create(
        "manifests",
        "main",
        &[(
            "apps/web/deploy.yaml",
            "image: registry.test:5000/team/web:1.0.0\n",
        )],
    );
    std::fs::write(dir.path().join("secret"), "Bearer s3cret").unwrap();
    let config = format!(
        "git: {{url: \"{url}\"}}\nimages:\n  - {{alias: web, image: \"registry.test:5000/team/web\", targets: [apps/web], pollInterval: 0s}}\nserve:\n  debounce: 1h\n  receivers:\n    - name: local\n      source: distribution\n      auth: {{type: header, header: Authorization, secretFile: \"{secret}\"}}\n",
        url = root.file_url("manifests"),
        secret = dir.path().join("secret").display(),
    );
    std::fs::write(dir.path().join("kedge.yaml"), config).unwrap();
    let log = dir.path().join("stderr.log");
    let port = kedge_testkit::free_port();
    let mut kedge = Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(dir.path().join("kedge.yaml"))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .env("HOME", dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let readyz = "GET /readyz HTTP/1.1\r\nHost: kedge\r\nConnection: close\r\n\r\n";
    while status_of(port, readyz) != Some(200) {
        assert!(
            Instant::now() < deadline,
            "kedge serve did not become ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = std::fs::read_to_string(&log).unwrap().lines().count();
    for i in 0..DELIVERIES {
        let body = format!(
            r#"{{"events":[{{"action":"push","target":{{"repository":"team/web","tag":"1.0.{i}","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},"request":{{"host":"registry.test:5000"}}}}]}}"#
        );
        let request = format!(
            "POST /webhooks/registry/local HTTP/1.1\r\nHost: kedge\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(status_of(port, &request), Some(202));
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = kedge.kill();
    let _ = kedge.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in a log file:\n{text}"
    );
    let during = text.lines().count() - before;
    assert!(
        during <= DELIVERIES,
        "{during} lines for {DELIVERIES} deliveries:\n{text}"
    );
}
