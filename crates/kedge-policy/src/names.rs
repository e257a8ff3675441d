//! Names from outside (tags, repository names, registry hosts, digests) checked
//! against the OCI distribution rules, and text made safe to print: URLs with
//! their credentials redacted, control characters escaped.
//!
//! Every place a value enters kedge from a registry listing or a webhook payload
//! calls these checks, so a tag with a newline or a terminal escape never reaches
//! a manifest, a commit title or a log line. Every URL kedge prints goes through
//! [`redact_url`].

use std::borrow::Cow;
use std::fmt;

use crate::PolicyError;

/// Longest tag the OCI distribution spec allows.
pub const MAX_TAG_LEN: usize = 128;
/// Longest repository name kedge accepts (the spec's usual client limit).
pub const MAX_REPOSITORY_LEN: usize = 255;
/// Longest registry host (a DNS name, with port).
pub const MAX_HOST_LEN: usize = 253 + 6;
/// Longest digest kedge accepts (sha512 in hex is 135 characters).
pub const MAX_DIGEST_LEN: usize = 256;
/// How much of a refused value an error message quotes.
const QUOTED_LEN: usize = 80;

/// Which kind of name a [`PolicyError::InvalidName`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameKind {
    /// An image tag.
    Tag,
    /// A repository path inside a registry (`team/app`).
    Repository,
    /// A registry host, with optional port.
    Host,
    /// A content digest (`sha256:…`).
    Digest,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tag => "tag",
            Self::Repository => "repository name",
            Self::Host => "registry host",
            Self::Digest => "digest",
        })
    }
}

fn refuse(kind: NameKind, value: &str, rule: &'static str) -> PolicyError {
    let mut quoted: String = value.chars().take(QUOTED_LEN).collect();
    if quoted.len() < value.len() {
        quoted.push('…');
    }
    PolicyError::InvalidName {
        kind,
        value: quoted,
        length: value.len(),
        rule,
    }
}

/// Checks a tag against the OCI distribution spec: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
///
/// ```
/// assert!(kedge_policy::validate_tag("v1.2.3-rc.1_amd64").is_ok());
/// assert!(kedge_policy::validate_tag("1.0\n\x1b[31m").is_err());
/// assert!(kedge_policy::validate_tag(".hidden").is_err());
/// ```
pub fn validate_tag(tag: &str) -> Result<(), PolicyError> {
    const RULE: &str = "[A-Za-z0-9_][A-Za-z0-9._-]{0,127}";
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if first_ok && rest_ok && tag.len() <= MAX_TAG_LEN {
        Ok(())
    } else {
        Err(refuse(NameKind::Tag, tag, RULE))
    }
}

/// Checks a repository name against the OCI distribution spec: `/`-separated
/// components of lower-case letters and digits joined by `.`, `_`, `__` or runs
/// of `-`, at most 255 characters.
///
/// ```
/// assert!(kedge_policy::validate_repository("library/nginx").is_ok());
/// assert!(kedge_policy::validate_repository("team/my__app-v2").is_ok());
/// assert!(kedge_policy::validate_repository("../../etc").is_err());
/// assert!(kedge_policy::validate_repository("Team/App").is_err());
/// ```
pub fn validate_repository(name: &str) -> Result<(), PolicyError> {
    const RULE: &str = "[a-z0-9]+((.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((.|_|__|-+)[a-z0-9]+)*)*, \
                        at most 255 characters";
    if name.len() <= MAX_REPOSITORY_LEN && name.split('/').all(repository_component_ok) {
        Ok(())
    } else {
        Err(refuse(NameKind::Repository, name, RULE))
    }
}

fn repository_component_ok(component: &str) -> bool {
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
/// `.` (or a bracketed IPv6 address), with an optional numeric `:port`.
///
/// ```
/// assert!(kedge_policy::validate_registry_host("ghcr.io").is_ok());
/// assert!(kedge_policy::validate_registry_host("127.0.0.1:5000").is_ok());
/// assert!(kedge_policy::validate_registry_host("[::1]:5000").is_ok());
/// assert!(kedge_policy::validate_registry_host("evil.example\nFAKE log").is_err());
/// ```
pub fn validate_registry_host(host: &str) -> Result<(), PolicyError> {
    const RULE: &str = "DNS labels [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? joined by '.', \
                        or [IPv6], then an optional :PORT";
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
            !v6.is_empty()
                && v6
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
                && host.len() == name.len() + port.map_or(0, |p| p.len() + 1)
        }
        None => !name.is_empty() && name.split('.').all(dns_label_ok),
    };
    if host.len() <= MAX_HOST_LEN && port_ok && name_ok {
        Ok(())
    } else {
        Err(refuse(NameKind::Host, host, RULE))
    }
}

fn dns_label_ok(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// Checks a content digest against the OCI image spec:
/// `algorithm:encoded`, the algorithm `[a-z0-9]+([+._-][a-z0-9]+)*`, the encoded part `[a-zA-Z0-9=_-]+`.
///
/// ```
/// let digest = format!("sha256:{}", "ab".repeat(32));
/// assert!(kedge_policy::validate_digest(&digest).is_ok());
/// assert!(kedge_policy::validate_digest("sha256:abc\r\n").is_err());
/// ```
pub fn validate_digest(digest: &str) -> Result<(), PolicyError> {
    const RULE: &str = "[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+";
    let ok = digest.len() <= MAX_DIGEST_LEN
        && digest.split_once(':').is_some_and(|(algorithm, encoded)| {
            let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            algorithm
                .split(['+', '.', '_', '-'])
                .all(|part| !part.is_empty() && part.bytes().all(alnum))
                && !encoded.is_empty()
                && encoded
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(refuse(NameKind::Digest, digest, RULE))
    }
}

/// `text` with every control character (C0, DEL, C1) and bidirectional override
/// escaped as `\n`, `\u{1b}`, …, so printing it cannot move the cursor, change
/// colours, or forge a line. Borrowed unchanged when there is nothing to escape.
///
/// ```
/// assert_eq!(kedge_policy::escape_control("1.0\n\x1b[2J"), "1.0\\n\\u{1b}[2J");
/// assert_eq!(kedge_policy::escape_control("plain"), "plain");
/// ```
pub fn escape_control(text: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// `url` as kedge prints it, credentials removed and control characters
/// escaped:
///
/// - `scheme://user:password@host/…` keeps the user and drops the password,
///   even one holding `/` (which ends the authority too early for a URL
///   parser);
/// - `scheme://TOKEN@host/…` hides the lone user part, often a token, except
///   for `ssh://`, where it is only the login name;
/// - scp-style `user:password@host:path` drops the password; `git@host:path`
///   is kept.
///
/// Use it for every URL in an error message or a log line.
///
/// ```
/// use kedge_policy::redact_url;
/// assert_eq!(redact_url("https://x-access-token:ghs_abc@github.com/o/r.git"), "https://x-access-token@github.com/o/r.git");
/// assert_eq!(redact_url("http://TOKEN@127.0.0.1:5000/v2/"), "http://***@127.0.0.1:5000/v2/");
/// assert_eq!(redact_url("https://bot:pa/ss@host/repo"), "https://bot@host/repo");
/// assert_eq!(redact_url("bot:pw@host:org/repo.git"), "bot@host:org/repo.git");
/// assert_eq!(redact_url("git@github.com:org/repo.git"), "git@github.com:org/repo.git");
/// assert_eq!(redact_url("ssh://git@github.com/org/repo.git"), "ssh://git@github.com/org/repo.git");
/// assert_eq!(redact_url("https://github.com/org/repo@v1.git"), "https://github.com/org/repo@v1.git");
/// ```
pub fn redact_url(url: &str) -> String {
    let redacted = match url.split_once("://") {
        Some((scheme, rest)) => match split_userinfo(rest) {
            Some((userinfo, after)) => {
                let user = match userinfo.split_once(':') {
                    Some((user, _password)) => user,
                    None if scheme.eq_ignore_ascii_case("ssh") => userinfo,
                    None => "***",
                };
                Cow::Owned(format!("{scheme}://{user}@{after}"))
            }
            None => Cow::Borrowed(url),
        },
        None => match url.split_once('@') {
            // scp-style: only a `user:password` before the `@` hides anything.
            Some((userinfo, after)) if userinfo.contains(':') && !userinfo.contains('/') => {
                let user = userinfo.split(':').next().unwrap_or_default();
                Cow::Owned(format!("{user}@{after}"))
            }
            _ => Cow::Borrowed(url),
        },
    };
    escape_control(&redacted).into_owned()
}

/// Splits `user:pass@host/path` at the `@` that ends the user information.
fn split_userinfo(rest: &str) -> Option<(&str, &str)> {
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if let Some(at) = rest[..authority_end].rfind('@') {
        return Some((&rest[..at], &rest[at + 1..]));
    }
    // A password with a `/` in it: `user:pa/ss@host/…`; the last `@` before
    // a query, so that an unencoded `@` in the password is hidden too.
    let at = rest[..rest.find(['?', '#']).unwrap_or(rest.len())].rfind('@')?;
    let userinfo = &rest[..at];
    userinfo
        .split_once(':')
        .is_some_and(|(user, _)| !user.contains('/'))
        .then(|| (userinfo, &rest[at + 1..]))
}

/// `text` with every URL in it (`scheme://…` up to white space or a quote) passed
/// through [`redact_url`]: for messages from tools such as git that quote URLs.
///
/// ```
/// let said = "fatal: unable to access 'https://TOKEN@host/r.git/': 403";
/// assert_eq!(kedge_policy::redact_urls_in(said), "fatal: unable to access 'https://***@host/r.git/': 403");
/// ```
pub fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let len = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '<' | '>' | '`'))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&escape_control(&rest[..start]));
        out.push_str(&redact_url(&rest[start..len]));
        rest = &rest[len..];
    }
    out.push_str(&escape_control(rest));
    out
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
        ] {
            assert!(validate_registry_host(bad).is_err(), "{bad:?}");
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

    #[test]
    fn redaction_covers_token_password_with_slash_and_scp_forms() {
        assert_eq!(redact_url("http://TOKEN@host"), "http://***@host");
        assert_eq!(
            redact_url("https://u:p/a@ss@h/x?q=1@2"),
            "https://u@h/x?q=1@2"
        );
        assert_eq!(redact_url("user:pw@host:path"), "user@host:path");
        assert_eq!(redact_url("ssh://git@host/x"), "ssh://git@host/x");
        assert_eq!(redact_url("ssh://git:pw@host/x"), "ssh://git@host/x");
        assert_eq!(redact_url("http://h/\x1b[31m"), "http://h/\\u{1b}[31m");
        assert_eq!(
            redact_urls_in("push to http://a:b@h/r failed\nand git+ssh://u:p@h2/x"),
            "push to http://a@h/r failed\\nand git+ssh://u@h2/x"
        );
    }
}
