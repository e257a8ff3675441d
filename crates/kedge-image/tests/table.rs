//! One table pins how every kind of reference kedge meets is read: the canonical
//! name, its parts, or the exact error a user sees.

use kedge_image::ImageRef;

const SHA: &str = "sha256:6e8b8b2d9a5c0b3f3c1f8f1f4d8e7b3a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f";

/// What a reference must parse into.
enum Expect {
    /// canonical name, registry, repository, tag, digest (`DIGEST` stands for `SHA`).
    Parsed(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    ),
    /// The error message, exactly.
    Refused(&'static str),
}

use Expect::{Parsed, Refused};

fn table() -> Vec<(String, Expect)> {
    let rows: Vec<(&str, Expect)> = vec![
        // Docker Hub, every spelling of it.
        (
            "nginx",
            Parsed(
                "docker.io/library/nginx",
                "docker.io",
                "library/nginx",
                None,
                None,
            ),
        ),
        (
            "nginx:1.25",
            Parsed(
                "docker.io/library/nginx:1.25",
                "docker.io",
                "library/nginx",
                Some("1.25"),
                None,
            ),
        ),
        (
            "library/nginx",
            Parsed(
                "docker.io/library/nginx",
                "docker.io",
                "library/nginx",
                None,
                None,
            ),
        ),
        (
            "docker.io/nginx",
            Parsed(
                "docker.io/library/nginx",
                "docker.io",
                "library/nginx",
                None,
                None,
            ),
        ),
        (
            "docker.io/library/nginx",
            Parsed(
                "docker.io/library/nginx",
                "docker.io",
                "library/nginx",
                None,
                None,
            ),
        ),
        (
            "index.docker.io/library/nginx",
            Parsed(
                "docker.io/library/nginx",
                "docker.io",
                "library/nginx",
                None,
                None,
            ),
        ),
        (
            "registry-1.docker.io/nginx:1.25",
            Parsed(
                "docker.io/library/nginx:1.25",
                "docker.io",
                "library/nginx",
                Some("1.25"),
                None,
            ),
        ),
        // The first bug: webhooks routed this name, manifests never matched it.
        (
            "registry.hub.docker.com/library/nginx",
            Parsed(
                "docker.io/library/nginx",
                "docker.io",
                "library/nginx",
                None,
                None,
            ),
        ),
        (
            "Registry.Hub.Docker.com/nginx",
            Parsed(
                "docker.io/library/nginx",
                "docker.io",
                "library/nginx",
                None,
                None,
            ),
        ),
        (
            "DOCKER.IO/bitnami/redis:7",
            Parsed(
                "docker.io/bitnami/redis:7",
                "docker.io",
                "bitnami/redis",
                Some("7"),
                None,
            ),
        ),
        (
            "bitnami/redis",
            Parsed(
                "docker.io/bitnami/redis",
                "docker.io",
                "bitnami/redis",
                None,
                None,
            ),
        ),
        (
            "hub.docker.com/r/nginx",
            Parsed(
                "hub.docker.com/r/nginx",
                "hub.docker.com",
                "r/nginx",
                None,
                None,
            ),
        ),
        // The second bug: host case.
        (
            "GHCR.IO/org/app",
            Parsed("ghcr.io/org/app", "ghcr.io", "org/app", None, None),
        ),
        (
            "ghcr.io/org/app:v1.2.3",
            Parsed(
                "ghcr.io/org/app:v1.2.3",
                "ghcr.io",
                "org/app",
                Some("v1.2.3"),
                None,
            ),
        ),
        (
            "Quay.IO/org/app",
            Parsed("quay.io/org/app", "quay.io", "org/app", None, None),
        ),
        // Ports, localhost, addresses.
        (
            "localhost/app",
            Parsed("localhost/app", "localhost", "app", None, None),
        ),
        (
            "LOCALHOST:5000/app",
            Parsed("localhost:5000/app", "localhost:5000", "app", None, None),
        ),
        (
            "localhost:5000/my-project/app:dev",
            Parsed(
                "localhost:5000/my-project/app:dev",
                "localhost:5000",
                "my-project/app",
                Some("dev"),
                None,
            ),
        ),
        (
            "127.0.0.1:5000/team/web",
            Parsed(
                "127.0.0.1:5000/team/web",
                "127.0.0.1:5000",
                "team/web",
                None,
                None,
            ),
        ),
        (
            "127.0.0.1:5000/web:1",
            Parsed(
                "127.0.0.1:5000/web:1",
                "127.0.0.1:5000",
                "web",
                Some("1"),
                None,
            ),
        ),
        (
            "[::1]:5000/app:1",
            Parsed("[::1]:5000/app:1", "[::1]:5000", "app", Some("1"), None),
        ),
        (
            "[FE80::1]/app",
            Parsed("[fe80::1]/app", "[fe80::1]", "app", None, None),
        ),
        (
            "registry.example.com:443/a/b/c",
            Parsed(
                "registry.example.com:443/a/b/c",
                "registry.example.com:443",
                "a/b/c",
                None,
                None,
            ),
        ),
        (
            "foo.bar.foo:8800/foo/image1:foo-bar",
            Parsed(
                "foo.bar.foo:8800/foo/image1:foo-bar",
                "foo.bar.foo:8800",
                "foo/image1",
                Some("foo-bar"),
                None,
            ),
        ),
        // A lone host-looking name with a port-looking suffix is a tag on Docker Hub, as for Docker.
        (
            "localhost:5000",
            Parsed(
                "docker.io/library/localhost:5000",
                "docker.io",
                "library/localhost",
                Some("5000"),
                None,
            ),
        ),
        // Separators in paths.
        (
            "team/my__app-v2",
            Parsed(
                "docker.io/team/my__app-v2",
                "docker.io",
                "team/my__app-v2",
                None,
                None,
            ),
        ),
        (
            "ghcr.io/a.b_c--d/e",
            Parsed("ghcr.io/a.b_c--d/e", "ghcr.io", "a.b_c--d/e", None, None),
        ),
        // Tags and digests.
        (
            "nginx:_private",
            Parsed(
                "docker.io/library/nginx:_private",
                "docker.io",
                "library/nginx",
                Some("_private"),
                None,
            ),
        ),
        (
            "nginx@DIGEST",
            Parsed(
                "docker.io/library/nginx@DIGEST",
                "docker.io",
                "library/nginx",
                None,
                Some("DIGEST"),
            ),
        ),
        (
            "ghcr.io/org/app:1.2@DIGEST",
            Parsed(
                "ghcr.io/org/app:1.2@DIGEST",
                "ghcr.io",
                "org/app",
                Some("1.2"),
                Some("DIGEST"),
            ),
        ),
        (
            "app@sha512:",
            Refused(
                "invalid image reference \"app@sha512:\": the digest must be ALGORITHM:ENCODED, sha256: with 64 and sha512: with 128 lower-case hex digits",
            ),
        ),
        (
            "app@sha256:abc",
            Refused(
                "invalid image reference \"app@sha256:abc\": the digest must be ALGORITHM:ENCODED, sha256: with 64 and sha512: with 128 lower-case hex digits",
            ),
        ),
        (
            "app@SHA256:abc",
            Refused(
                "invalid image reference \"app@SHA256:abc\": the digest must be ALGORITHM:ENCODED, sha256: with 64 and sha512: with 128 lower-case hex digits",
            ),
        ),
        (
            "nginx:",
            Refused(
                "invalid image reference \"nginx:\": the tag must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}",
            ),
        ),
        (
            "nginx:.hidden",
            Refused(
                "invalid image reference \"nginx:.hidden\": the tag must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}",
            ),
        ),
        (
            "nginx:1:2",
            Refused(
                "invalid image reference \"nginx:1:2\": the tag must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}",
            ),
        ),
        (
            "app:{GENERATED_TAG}",
            Refused(
                "invalid image reference \"app:{GENERATED_TAG}\": the tag must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}",
            ),
        ),
        // The third bug: upper case in the path is an error, naming the fix.
        (
            "ghcr.io/Org/App",
            Refused(
                "invalid image reference \"ghcr.io/Org/App\": the repository path must be lower case (OCI distribution spec); write \"ghcr.io/org/app\"",
            ),
        ),
        (
            "GHCR.IO/Org/app:V1",
            Refused(
                "invalid image reference \"GHCR.IO/Org/app:V1\": the repository path must be lower case (OCI distribution spec); write \"GHCR.IO/org/app:V1\"",
            ),
        ),
        (
            "MyOrg/app",
            Refused(
                "invalid image reference \"MyOrg/app\": the repository path must be lower case (OCI distribution spec); write \"myorg/app\"",
            ),
        ),
        (
            "Nginx",
            Refused(
                "invalid image reference \"Nginx\": the repository path must be lower case (OCI distribution spec); write \"nginx\"",
            ),
        ),
        // Paths, hosts and input that are not names at all.
        ("", Refused("invalid image reference \"\": empty reference")),
        (
            " nginx",
            Refused(
                "invalid image reference \" nginx\": contains white space or a control character",
            ),
        ),
        (
            "nginx:1.0\n",
            Refused(
                "invalid image reference \"nginx:1.0\\n\": contains white space or a control character",
            ),
        ),
        (
            "ghcr.io/org//app",
            Refused(
                "invalid image reference \"ghcr.io/org//app\": the repository path must be '/'-separated components of lower-case letters and digits joined by '.', '_', '__' or '-'",
            ),
        ),
        (
            "ghcr.io/../etc",
            Refused(
                "invalid image reference \"ghcr.io/../etc\": the repository path must be '/'-separated components of lower-case letters and digits joined by '.', '_', '__' or '-'",
            ),
        ),
        (
            "ghcr.io/",
            Refused(
                "invalid image reference \"ghcr.io/\": the repository path must be '/'-separated components of lower-case letters and digits joined by '.', '_', '__' or '-'",
            ),
        ),
        (
            "a___b",
            Refused(
                "invalid image reference \"a___b\": the repository path must be '/'-separated components of lower-case letters and digits joined by '.', '_', '__' or '-'",
            ),
        ),
        (
            "https://ghcr.io/org/app",
            Refused(
                "invalid image reference \"https://ghcr.io/org/app\": the registry host is not a DNS name or IP address with an optional :PORT",
            ),
        ),
        (
            "-bad.io/app",
            Refused(
                "invalid image reference \"-bad.io/app\": the registry host is not a DNS name or IP address with an optional :PORT",
            ),
        ),
        (
            "host.io:port/app",
            Refused(
                "invalid image reference \"host.io:port/app\": the registry host is not a DNS name or IP address with an optional :PORT",
            ),
        ),
        (
            "[::1/app",
            Refused(
                "invalid image reference \"[::1/app\": the registry host is not a DNS name or IP address with an optional :PORT",
            ),
        ),
    ];
    rows.into_iter()
        .map(|(input, expect)| (input.replace("DIGEST", SHA), expect))
        .collect()
}

#[test]
fn every_reference_parses_to_its_canonical_name_or_its_exact_error() {
    let table = table();
    assert!(table.len() >= 40, "{} rows", table.len());
    for (input, expect) in table {
        let parsed = ImageRef::parse(&input);
        match expect {
            Parsed(canonical, registry, repository, tag, digest) => {
                let r = parsed.unwrap_or_else(|e| panic!("{input:?}: {e}"));
                let digest = digest.map(|d| d.replace("DIGEST", SHA));
                assert_eq!(r.to_string(), canonical.replace("DIGEST", SHA), "{input:?}");
                assert_eq!(r.registry(), registry, "{input:?}");
                assert_eq!(r.repository(), repository, "{input:?}");
                assert_eq!(r.tag(), tag, "{input:?}");
                assert_eq!(r.digest(), digest.as_deref(), "{input:?}");
                assert_eq!(r.as_written(), input, "the written form is kept");
                // The canonical form is a fixed point.
                assert_eq!(ImageRef::parse(&r.to_string()), Ok(r.clone()), "{input:?}");
            }
            Refused(message) => match parsed {
                Ok(r) => panic!("{input:?} parsed as {r}"),
                Err(e) => assert_eq!(e.to_string(), message, "{input:?}"),
            },
        }
    }
}

#[test]
fn names_refuse_tags_and_digests_and_name_the_input() {
    use kedge_image::ImageName;
    for (input, message) in [
        (
            "nginx:1.25",
            "invalid image reference \"nginx:1.25\": expected an image name without tag",
        ),
        (
            &*format!("ghcr.io/org/app@{SHA}"),
            "expected an image name without digest",
        ),
    ] {
        let err = input.parse::<ImageName>().unwrap_err().to_string();
        // Long input is cut to 80 characters in the message.
        let start: String = input.chars().take(40).collect();
        assert!(err.ends_with(message) && err.contains(&start), "{err}");
    }
}

#[test]
fn payload_forms_drop_schemes_and_trailing_slashes() {
    use kedge_image::{ImageName, RegistryHost};
    let r = ImageRef::parse_payload(" https://Harbor.Example.com/library/app:v1.0.0/ ").unwrap();
    assert_eq!(r.to_string(), "harbor.example.com/library/app:v1.0.0");
    assert_eq!(r.written_host(), Some("Harbor.Example.com"));
    let name = ImageName::from_parts("HTTPS://registry.hub.docker.com/", "/nginx/").unwrap();
    assert_eq!(name.to_string(), "docker.io/library/nginx");
    let err = ImageName::from_parts("ghcr.io", "Org/App").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid image reference \"ghcr.io/Org/App\": the repository path must be lower case \
         (OCI distribution spec); write \"ghcr.io/org/app\""
    );
    assert!(ImageName::from_parts("", "app").is_err());
    assert!(ImageName::from_parts("ghcr.io", "").is_err());
    for server in [
        "https://index.docker.io/v1/",
        "registry-1.docker.io",
        "DOCKER.IO",
        "http://registry.hub.docker.com",
    ] {
        assert_eq!(
            RegistryHost::parse_server(server).unwrap().as_str(),
            "docker.io",
            "{server}"
        );
    }
    let err = ImageRef::parse_payload("https://ghcr.io/Org/app:1").unwrap_err();
    assert!(
        err.to_string().contains("\"https://ghcr.io/Org/app:1\""),
        "{err}"
    );
}
