//! `kedge tags` against registries, counting what it asks: newest-build on 200
//! tags of the real distribution registry (requests counted from its access log,
//! never timed), and a hostile registry listing tags that break the OCI rules.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use kedge_testkit::oci::{OCI_MANIFEST, read_blob};
use kedge_testkit::{ImageSpec, OciLayout, RegistryOptions, TestRegistry};

fn kedge(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args(args)
        .env("HOME", home.path())
        .env_remove("DOCKER_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// 200 tags `build-000` … `build-199`, each a distinct manifest (an annotation
/// tells them apart) of one image built 2026-01-01, except `build-199`: another
/// image, built 2026-06-01.
fn registry_with_200_builds() -> TestRegistry {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(dir.path());
    let old = layout.add_image("build-000", &ImageSpec::new("2026-01-01T00:00:00Z", "old"));
    layout.add_image("build-199", &ImageSpec::new("2026-06-01T00:00:00Z", "new"));
    registry.push(&layout, "build-000", "team/app");
    registry.push(&layout, "build-199", "team/app");
    let manifest: serde_json::Value =
        serde_json::from_slice(&read_blob(&layout, &old.digest)).unwrap();
    for i in 1..199 {
        let mut variant = manifest.clone();
        variant["annotations"] = serde_json::json!({"build": i.to_string()});
        let bytes = serde_json::to_vec(&variant).unwrap();
        registry.tag_manifest("team/app", &format!("build-{i:03}"), OCI_MANIFEST, &bytes);
    }
    registry
}

/// Requests kedge made: those logged after `before`, by kind.
fn count(requests: &[String], kind: &str) -> usize {
    requests.iter().filter(|r| r.starts_with(kind)).count()
}

/// Issue 12: newest-build on 200 tags made three requests per tag (a HEAD that
/// repeated the manifest GET). Now: one manifest GET and one config GET per tag.
#[test]
fn newest_build_asks_two_requests_per_tag_and_none_for_filtered_tags() {
    let registry = registry_with_200_builds();
    let image = format!("{}/team/app", registry.host());

    let before = registry.requests().len();
    let output = kedge(&["tags", &image, "--insecure", "--strategy", "newest-build"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().next(), Some("build-199"), "{stdout}");
    assert!(stdout.contains("candidates: 200 of 200 tags"), "{stdout}");
    let asked = registry.requests()[before..].to_vec();
    assert_eq!(count(&asked, "GET /v2/team/app/tags/list"), 1, "{asked:?}");
    assert_eq!(
        count(&asked, "GET /v2/team/app/manifests/"),
        200,
        "{asked:?}"
    );
    assert_eq!(count(&asked, "GET /v2/team/app/blobs/"), 200, "{asked:?}");
    assert_eq!(count(&asked, "HEAD "), 0, "{asked:?}");
    assert!(
        asked.len() <= 1 + 1 + 2 * 200,
        "/v2/ probe, list, two per tag: {}",
        asked.len()
    );

    // Tags the allow regex removes are never looked up.
    let before = registry.requests().len();
    let output = kedge(&[
        "tags",
        &image,
        "--insecure",
        "--strategy",
        "newest-build",
        "--allow",
        "^build-19[0-8]$",
        "--requests-per-second",
        "1000",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let asked = registry.requests()[before..].to_vec();
    assert_eq!(count(&asked, "GET /v2/team/app/manifests/"), 9, "{asked:?}");
    assert_eq!(count(&asked, "GET /v2/team/app/blobs/"), 9, "{asked:?}");
}

#[test]
fn requests_per_second_must_be_a_positive_number() {
    for bad in ["0", "-5", "NaN", "inf", "fast"] {
        let flag = format!("--requests-per-second={bad}");
        let output = kedge(&["tags", "127.0.0.1:1/a", "--insecure", &flag]);
        assert_eq!(output.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("positive number of requests per second"),
            "{bad}: {stderr}"
        );
    }
}

/// A registry on a loopback port answering every tag list with `tags_json`
/// and every manifest HEAD with a digest; serves `requests` requests.
fn hostile_registry(tags_json: &'static str, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { return };
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut request_line).unwrap();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let digest = format!("sha256:{}", "a".repeat(64));
            let answer = if request_line.contains("/tags/list") {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{tags_json}",
                    tags_json.len()
                )
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nDocker-Content-Digest: {digest}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            };
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    host
}

/// Issue 11: a tag with a newline or terminal escapes was printed raw.
#[test]
fn listed_tags_breaking_the_oci_rules_are_dropped_with_a_warning() {
    let tags = r#"{"tags":["1.0.0","9.0.0\nforged: line","9.1.0\u001b[2J","2.0.0"]}"#;
    let host = hostile_registry(tags, 10);
    let output = kedge(&["tags", &format!("{host}/team/app"), "--insecure"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.lines().next(), Some("2.0.0"), "{stdout}");
    assert!(stdout.contains("candidates: 2 of 2 tags"), "{stdout}");
    assert!(
        stderr.contains("ignored 2 of 4 listed tags that break the OCI tag rules"),
        "{stderr}"
    );
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains("\u{1b}[2J") && !text.contains("\nforged"),
            "{text:?}"
        );
    }
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
}
