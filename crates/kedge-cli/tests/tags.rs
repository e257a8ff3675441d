//! `kedge tags` end to end: the real binary against the real distribution
//! registry, with images pushed by skopeo.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use kedge_testkit::{ImageSpec, OciLayout, TestRegistry};

/// One registry with one repository shared by the read-only tests below.
struct Fixture {
    registry: TestRegistry,
    _layout_dir: tempfile::TempDir,
}

/// Tags of `demo/web`, with build days and platforms:
/// 1.0.0 (Jan), 1.1.0 (Feb), 1.2.0-rc.1 (Mar 1), 1.2.0 (Mar 15), 1.3.0 multi-arch (Apr),
/// 1.4.0-alpine (Apr 15), 2.0.0 (May), main-20260601.1 (Jun), latest (= 2.0.0).
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let registry = TestRegistry::start();
        let dir = tempfile::tempdir().unwrap();
        let mut layout = OciLayout::create(dir.path());
        let singles = [
            ("1.0.0", "2026-01-01"),
            ("1.1.0", "2026-02-01"),
            ("1.2.0-rc.1", "2026-03-01"),
            ("1.2.0", "2026-03-15"),
            ("1.4.0-alpine", "2026-04-15"),
            ("2.0.0", "2026-05-01"),
            ("main-20260601.1", "2026-06-01"),
        ];
        for (tag, day) in singles {
            layout.add_image(tag, &ImageSpec::new(&format!("{day}T00:00:00Z"), tag));
            registry.push(&layout, tag, "demo/web");
        }
        layout.add_index(
            "1.3.0",
            &[
                ImageSpec::for_platform("linux", "amd64", "2026-04-01T00:00:00Z", "a"),
                ImageSpec::for_platform("linux", "arm64", "2026-04-01T00:00:00Z", "b"),
            ],
        );
        registry.push(&layout, "1.3.0", "demo/web");
        layout.add_image("latest", &ImageSpec::new("2026-05-01T00:00:00Z", "2.0.0"));
        registry.push(&layout, "latest", "demo/web");
        Fixture {
            registry,
            _layout_dir: dir,
        }
    })
}

fn kedge(args: &[&str]) -> Output {
    kedge_with_stdin(args, None)
}

fn kedge_with_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args(args)
        // No stray ~/.docker/config.json from the machine running the tests.
        .env("HOME", home.path())
        .env_remove("DOCKER_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn web() -> String {
    format!("{}/demo/web", fixture().registry.host())
}

fn first_line(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kedge failed ({:?}): {}{}",
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn semver_range_picks_newest_release_in_range() {
    let out = kedge(&["tags", &web(), "--insecure", "--constraint", "^1.0"]);
    assert_eq!(first_line(&out), "1.3.0");
    let out = kedge(&["tags", &web(), "--insecure", "--constraint", "~1.2"]);
    assert_eq!(first_line(&out), "1.2.0");
    let out = kedge(&["tags", &web(), "--insecure", "--constraint", ">=1.0 <3"]);
    assert_eq!(first_line(&out), "2.0.0");
}

#[test]
fn prereleases_only_when_asked() {
    let out = kedge(&[
        "tags",
        &web(),
        "--insecure",
        "--constraint",
        "~1.2.0-0",
        "--prereleases",
    ]);
    assert_eq!(first_line(&out), "1.2.0");
    let out = kedge(&[
        "tags",
        &web(),
        "--insecure",
        "--constraint",
        "<1.2.0-rc.2",
        "--prereleases",
    ]);
    assert_eq!(first_line(&out), "1.2.0-rc.1");
    // An exclusive bound keeps out its own pre-releases (issue 10), opted in or not.
    let out = kedge(&[
        "tags",
        &web(),
        "--insecure",
        "--constraint",
        "<1.2.0",
        "--prereleases",
    ]);
    assert_eq!(first_line(&out), "1.1.0");
    let out = kedge(&["tags", &web(), "--insecure", "--constraint", "<1.2.0"]);
    assert_eq!(first_line(&out), "1.1.0");
}

#[test]
fn variant_suffix_is_chosen_through_a_pattern_not_by_accident() {
    let out = kedge(&["tags", &web(), "--insecure", "--constraint", "^1"]);
    assert_eq!(first_line(&out), "1.3.0", "1.4.0-alpine is not a release");
    let out = kedge(&[
        "tags",
        &web(),
        "--insecure",
        "--constraint",
        "^1",
        "--pattern",
        r"^(?P<v>\d+\.\d+\.\d+)-alpine$",
        "--extract",
        "$v",
    ]);
    assert_eq!(first_line(&out), "1.4.0-alpine");
}

#[test]
fn json_output_names_image_tag_digest_and_candidates() {
    let out = kedge(&[
        "tags",
        &web(),
        "--insecure",
        "--constraint",
        "^1.0",
        "-o",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["image"], web());
    assert_eq!(json["tag"], "1.3.0");
    assert!(json["digest"].as_str().unwrap().starts_with("sha256:"));
    // 1.0.0, 1.1.0, 1.2.0, 1.3.0 are releases in ^1.0.
    assert_eq!(json["candidates"], 4);
    assert_eq!(json["seen"], 9);
}

#[test]
fn newest_build_and_digest_strategies() {
    let out = kedge(&["tags", &web(), "--insecure", "--strategy", "newest-build"]);
    assert_eq!(first_line(&out), "main-20260601.1");

    let latest = kedge(&[
        "tags",
        &web(),
        "--insecure",
        "--strategy",
        "digest",
        "-o",
        "json",
    ]);
    let latest: serde_json::Value = serde_json::from_slice(&latest.stdout).unwrap();
    assert_eq!(latest["tag"], "latest");
    let release = kedge(&[
        "tags",
        &web(),
        "--insecure",
        "--constraint",
        "2.0.0",
        "-o",
        "json",
    ]);
    let release: serde_json::Value = serde_json::from_slice(&release.stdout).unwrap();
    // `latest` was built from the same bytes as 2.0.0, so it is the same image.
    assert_eq!(latest["digest"], release["digest"]);
    let older = kedge(&[
        "tags",
        &web(),
        "--insecure",
        "--constraint",
        "1.0.0",
        "-o",
        "json",
    ]);
    let older: serde_json::Value = serde_json::from_slice(&older.stdout).unwrap();
    assert_ne!(latest["digest"], older["digest"]);
}

#[test]
fn min_age_skips_young_builds() {
    // Every image here was built in 2026; a minimum age of ten years excludes them all.
    let out = kedge(&["tags", &web(), "--insecure", "--min-age", "3650d"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("min-age"), "{stderr}");
}

#[test]
fn platform_keeps_only_tags_that_have_it() {
    let out = kedge(&[
        "tags",
        &web(),
        "--insecure",
        "--constraint",
        ">=1.0",
        "--platform",
        "linux/arm64",
        "-o",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["tag"], "1.3.0", "only the 1.3.0 index has linux/arm64");
    assert!(
        json["platformDigest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn no_match_exits_1_saying_what_removed_the_tags() {
    let out = kedge(&[
        "tags",
        &web(),
        "--insecure",
        "--constraint",
        "^3.0",
        "--ignore",
        "^main-",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("9 tags"), "{stderr}");
    assert!(stderr.contains("ignore removed 1"), "{stderr}");
    assert!(stderr.contains("^3.0"), "{stderr}");
}

#[test]
fn usage_and_connection_errors_exit_2_naming_the_problem() {
    let out = kedge(&["tags", &format!("{}:1.0", web()), "--insecure"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without tag"));

    let out = kedge(&["tags", &web(), "--insecure", "--allow", "(unclosed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("(unclosed"));

    let port = kedge_testkit::free_port();
    let out = kedge(&["tags", &format!("127.0.0.1:{port}/team/app"), "--insecure"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
}

/// Issue 10: `kedge tags IMAGE --ignore '-rc'` (the README's example) was a usage error
/// (`unexpected argument '-r'`); filter values may start with `-`.
#[test]
fn filter_values_may_start_with_a_dash() {
    let rows: [(&[&str], &str); 4] = [
        (
            &["--prereleases", "--constraint", "<2", "--ignore", "-rc"],
            "1.4.0-alpine",
        ),
        (
            &["--prereleases", "--constraint", "<2", "--ignore", "-alpine"],
            "1.3.0",
        ),
        (
            &["--prereleases", "--allow", "-rc", "--constraint", "*"],
            "1.2.0-rc.1",
        ),
        (
            &[
                "--strategy",
                "alphabetical",
                "--pattern",
                "-(?P<v>[a-z]+)$",
                "--extract",
                "$v",
            ],
            "1.4.0-alpine",
        ),
    ];
    for (flags, expected) in rows {
        let image = web();
        let mut args = vec!["tags", image.as_str(), "--insecure"];
        args.extend_from_slice(flags);
        assert_eq!(first_line(&kedge(&args)), expected, "{flags:?}");
    }
}

#[test]
fn username_and_password_from_stdin() {
    let registry = TestRegistry::start_with_basic_auth("ci", "pa55");
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(dir.path());
    layout.add_image("0.3.0", &ImageSpec::new("2026-01-01T00:00:00Z", "p"));
    registry.push(&layout, "0.3.0", "private/app");
    let image = format!("{}/private/app", registry.host());

    let out = kedge_with_stdin(
        &[
            "tags",
            &image,
            "--insecure",
            "--username",
            "ci",
            "--password-stdin",
        ],
        Some("pa55\n"),
    );
    assert_eq!(first_line(&out), "0.3.0");

    let out = kedge(&["tags", &image, "--insecure"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("authentication failed"), "{stderr}");
}

/// `kedge tags … | grep -q` may close the pipe before kedge writes: the answer was found, so
/// kedge exits 0 without a panic, in text and in JSON.
#[test]
fn a_closed_stdout_is_not_a_failure() {
    for output in ["text", "json"] {
        let home = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_kedge"))
            .args(["tags", &web(), "--insecure", "--constraint", "^1.0"])
            .args(["--output", output])
            .env("HOME", home.path())
            .env_remove("DOCKER_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader leaves before kedge has asked the registry anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{output}: {stderr}");
        assert!(!stderr.contains("panicked"), "{output}: {stderr}");
    }
}
