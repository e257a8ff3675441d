//! What a webhook may name, by the OCI distribution spec: repository names,
//! tags, digests and registry hosts. Anything else is refused before it
//! reaches a queue, a commit or a log line.
//!
//! Kept here, small and pure, so the webhook crate needs nothing else to check
//! its input.

/// Longest repository name accepted (the spec's limit on a whole name).
const MAX_NAME: usize = 255;

/// A tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    first_ok
        && tag.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A repository name: `/`-separated components, each
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, at most 255 characters in all.
pub fn is_valid_repository(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && name.split('/').all(is_valid_component)
}

fn is_valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
        return false;
    }
    // Between alphanumeric runs: one '.', one or two '_', or any number of '-'.
    let mut i = 0;
    while i < bytes.len() {
        if alnum(&bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(&bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A registry host: DNS labels or an IPv4 address, or a bracketed IPv6
/// address, with an optional `:port`.
pub fn is_valid_host(host: &str) -> bool {
    if host.is_empty() || host.len() > MAX_NAME {
        return false;
    }
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, after)) if v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') => {
                return after.is_empty() || after.strip_prefix(':').is_some_and(is_valid_port);
            }
            _ => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    name.split('.').all(label_ok) && port.is_none_or(is_valid_port)
}

fn is_valid_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

/// A digest: `algorithm:encoded`, as the OCI image spec writes it.
pub fn is_valid_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let encoded_ok = !encoded.is_empty()
        && encoded.len() <= 256
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
    algorithm_ok && encoded_ok
}

/// `value` as it may appear in an error or a log: control characters escaped,
/// cut after 64 characters.
pub(crate) fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(64)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_distribution_spec() {
        for good in ["1.2.3", "latest", "_x", "v1.0-rc.1", &"a".repeat(128)] {
            assert!(is_valid_tag(good), "{good}");
        }
        for bad in [
            "",
            ".x",
            "-x",
            "1.0\n",
            "a b",
            "\u{1b}[31m",
            &"a".repeat(129),
        ] {
            assert!(!is_valid_tag(bad), "{bad:?}");
        }
    }

    #[test]
    fn repositories_follow_the_distribution_spec() {
        for good in ["team/web", "library/nginx", "a__b/c-d--e/f.g", "x"] {
            assert!(is_valid_repository(good), "{good}");
        }
        for bad in [
            "../../etc",
            "team//web",
            "Team/web",
            "a/",
            "a___b",
            "a.-b",
            "a\nb",
            &"a".repeat(256),
        ] {
            assert!(!is_valid_repository(bad), "{bad:?}");
        }
    }

    #[test]
    fn hosts_are_names_or_addresses_with_a_port() {
        for good in [
            "registry.test:5000",
            "127.0.0.1:5000",
            "ghcr.io",
            "localhost",
            "[::1]:5000",
        ] {
            assert!(is_valid_host(good), "{good}");
        }
        for bad in [
            "",
            "evil\nhost",
            "a..b",
            "-a.b",
            "host:port",
            "a/b",
            "[::1",
            &"a".repeat(300),
        ] {
            assert!(!is_valid_host(bad), "{bad:?}");
        }
    }

    #[test]
    fn shown_values_carry_no_control_characters() {
        assert_eq!(shown("a\nb\u{1b}"), "a\\nb\\u{1b}");
        assert_eq!(shown(&"x".repeat(100)).chars().count(), 65);
    }
}
