//! Text made safe to print: URLs with their credentials redacted, control
//! characters escaped. Every URL kedge prints goes through [`redact_url`].
//!
//! (Image names, tags and digests are checked by `kedge-image`.)

use std::borrow::Cow;

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
