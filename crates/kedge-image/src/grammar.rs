//! The OCI distribution spec's grammar for each part of a reference, checked by
//! hand (the reference regex costs more to compile than a request).
//!
//! Every place a value enters kedge from a registry listing, a webhook payload
//! or a manifest goes through these checks, so a tag with a newline or a
//! terminal escape never reaches a manifest, a commit title or a log line.

use crate::{ImageError, NameKind};

/// Longest tag the OCI distribution spec allows.
pub const MAX_TAG_LEN: usize = 128;
/// Longest repository path kedge accepts (the spec's usual client limit).
pub const MAX_REPOSITORY_LEN: usize = 255;
/// Longest registry host (a DNS name, with port).
pub const MAX_HOST_LEN: usize = 253 + 6;
/// Longest digest kedge accepts (sha512 in hex is 135 characters).
pub const MAX_DIGEST_LEN: usize = 256;

/// Checks a tag against the OCI distribution spec: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
///
/// ```
/// assert!(kedge_image::validate_tag("v1.2.3-rc.1_amd64").is_ok());
/// assert!(kedge_image::validate_tag("1.0\n\x1b[31m").is_err());
/// assert!(kedge_image::validate_tag(".hidden").is_err());
/// ```
pub fn validate_tag(tag: &str) -> Result<(), ImageError> {
    const RULE: &str = "[A-Za-z0-9_][A-Za-z0-9._-]{0,127}";
    if is_tag(tag) {
        Ok(())
    } else {
        Err(ImageError::name(NameKind::Tag, tag, RULE))
    }
}

pub(crate) fn is_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    first_ok && rest_ok && tag.len() <= MAX_TAG_LEN
}

/// Checks a repository path against the OCI distribution spec: `/`-separated
/// components of lower-case letters and digits joined by `.`, `_`, `__` or runs
/// of `-`, at most 255 characters.
///
/// ```
/// assert!(kedge_image::validate_repository("library/nginx").is_ok());
/// assert!(kedge_image::validate_repository("team/my__app-v2").is_ok());
/// assert!(kedge_image::validate_repository("../../etc").is_err());
/// assert!(kedge_image::validate_repository("Team/App").is_err());
/// ```
pub fn validate_repository(name: &str) -> Result<(), ImageError> {
    const RULE: &str = "[a-z0-9]+((.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((.|_|__|-+)[a-z0-9]+)*)*, \
                        at most 255 characters";
    if name.len() <= MAX_REPOSITORY_LEN && is_repository_path(name) {
        Ok(())
    } else {
        Err(ImageError::name(NameKind::Repository, name, RULE))
    }
}

/// True when every `/`-separated component of `path` follows the grammar (any length).
pub(crate) fn is_repository_path(path: &str) -> bool {
    path.split('/').all(is_repository_component)
}

fn is_repository_component(component: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    // Every run of non-alphanumerics must be one separator: ".", "_", "__" or dashes.
    component
        .split(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        .filter(|run| !run.is_empty())
        .all(|run| matches!(run, "." | "_" | "__") || run.bytes().all(|b| b == b'-'))
}

/// Checks a registry host: DNS labels of letters, digits and inner `-` joined by
/// `.` (an IPv4 address is such a name), or a bracketed IPv6 address, with an
/// optional numeric `:port`. Letters may be of either case.
///
/// ```
/// assert!(kedge_image::validate_registry_host("ghcr.io").is_ok());
/// assert!(kedge_image::validate_registry_host("127.0.0.1:5000").is_ok());
/// assert!(kedge_image::validate_registry_host("[::1]:5000").is_ok());
/// assert!(kedge_image::validate_registry_host("evil.example\nFAKE log").is_err());
/// ```
pub fn validate_registry_host(host: &str) -> Result<(), ImageError> {
    const RULE: &str = "DNS labels [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? joined by '.', \
                        or [IPv6], then an optional :PORT";
    if is_host(host) {
        Ok(())
    } else {
        Err(ImageError::name(NameKind::Host, host, RULE))
    }
}

pub(crate) fn is_host(host: &str) -> bool {
    let (name, port) = match host.find(']') {
        Some(close) if host.starts_with('[') => {
            (&host[..=close], host[close + 1..].strip_prefix(':'))
        }
        _ => match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(v6) => {
            v6.contains(':')
                && v6
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
                && host.len() == name.len() + port.map_or(0, |p| p.len() + 1)
        }
        None => !name.is_empty() && name.split('.').all(is_dns_label),
    };
    host.len() <= MAX_HOST_LEN && port_ok && name_ok
}

fn is_dns_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// Checks a content digest against the OCI image spec: `algorithm:encoded`, the
/// algorithm `[a-z0-9]+([+._-][a-z0-9]+)*`, the encoded part `[a-zA-Z0-9=_-]+`;
/// for the registered algorithms the encoded part is lower-case hex of the
/// digest's length (64 digits for `sha256`, 128 for `sha512`).
///
/// ```
/// let digest = format!("sha256:{}", "ab".repeat(32));
/// assert!(kedge_image::validate_digest(&digest).is_ok());
/// assert!(kedge_image::validate_digest("sha256:abc").is_err());
/// assert!(kedge_image::validate_digest("sha256:abc\r\n").is_err());
/// assert!(kedge_image::validate_digest("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8").is_ok());
/// ```
pub fn validate_digest(digest: &str) -> Result<(), ImageError> {
    const RULE: &str = "[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+ \
                        (sha256: 64, sha512: 128 lower-case hex digits)";
    if is_digest(digest) {
        Ok(())
    } else {
        Err(ImageError::name(NameKind::Digest, digest, RULE))
    }
}

pub(crate) fn is_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let algorithm_ok = algorithm
        .split(['+', '.', '_', '-'])
        .all(|part| !part.is_empty() && part.bytes().all(alnum));
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    let lower_hex = |len: usize| {
        encoded.len() == len
            && encoded
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let registered_ok = match algorithm {
        "sha256" => lower_hex(64),
        "sha512" => lower_hex(128),
        _ => true,
    };
    digest.len() <= MAX_DIGEST_LEN && algorithm_ok && encoded_ok && registered_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_distribution_grammar() {
        for good in [
            "latest",
            "1.0.0",
            "_x",
            "v1.2.3-rc.1",
            "A-b_c.d",
            &"a".repeat(128),
        ] {
            assert!(validate_tag(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".x",
            "-x",
            "1.0\n",
            "1.0\x1b[31m",
            "a/b",
            "a:b",
            "é",
            &"a".repeat(129),
        ] {
            assert!(validate_tag(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn repositories_follow_the_distribution_grammar() {
        for good in ["a", "library/nginx", "a.b_c__d---e/f0", "team/app"] {
            assert!(validate_repository(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "../../etc",
            "A",
            "a___b",
            "a._b",
            "a-",
            "a\nb",
            &"a".repeat(256),
        ] {
            assert!(validate_repository(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosts_are_dns_names_or_addresses_with_ports() {
        for good in [
            "ghcr.io",
            "localhost",
            "127.0.0.1:5000",
            "[::1]",
            "[::1]:443",
            "a-b.example",
            "GHCR.IO",
        ] {
            assert!(validate_registry_host(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a..b",
            "-a.io",
            "a.io:",
            "a.io:x",
            "a.io:123456",
            "a\nb",
            "a b",
            "a/b",
            "[::1",
            "[]",
            "[::1]x",
            "host:port",
            &"a".repeat(300),
        ] {
            assert!(validate_registry_host(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn digests_of_registered_algorithms_have_their_length() {
        assert!(validate_digest(&format!("sha512:{}", "0f".repeat(64))).is_ok());
        for bad in [
            "sha256:ab",
            &format!("sha256:{}", "AB".repeat(32)),
            &format!("sha256:{}", "ab".repeat(33)),
            "sha256:",
            ":abc",
            "SHA256:abc",
            "sha256",
        ] {
            assert!(validate_digest(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refused_values_are_quoted_escaped_and_short() {
        let long = format!("{}\x1b[2J", "x".repeat(10_000));
        let message = validate_tag(&long).unwrap_err().to_string();
        assert!(message.len() < 400, "{message}");
        assert!(!message.contains('\x1b'), "{message:?}");
        assert!(message.contains("10004 bytes"), "{message}");
    }
}
