//! Credentials out of every remote URL kedge prints.

/// What replaces a credential that cannot be told apart from a user name.
const HIDDEN: &str = "***";

/// Removes credentials from a remote URL, for logs and errors:
///
/// - `scheme://user:password@host/…` keeps the user, drops the password (even
///   one containing `/`, which ends the authority too early for a URL parser);
/// - `scheme://TOKEN@host/…` hides the lone user part, which is often a token,
///   except for `ssh://`, where it is only the login name;
/// - scp-style `user:password@host:path` drops the password.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let Some((userinfo, after)) = split_userinfo(rest) else {
                return url.to_owned();
            };
            let user = match userinfo.split_once(':') {
                Some((user, _password)) => user,
                None if scheme.eq_ignore_ascii_case("ssh") => userinfo,
                None => HIDDEN,
            };
            format!("{scheme}://{user}@{after}")
        }
        None => match url.split_once('@') {
            // scp-style: only a `user:password` before the `@` has anything to hide.
            Some((userinfo, after)) if userinfo.contains(':') && !userinfo.contains('/') => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{user}@{after}")
            }
            _ => url.to_owned(),
        },
    }
}

/// Splits `user:pass@host/path` at the `@` that ends the user information.
fn split_userinfo(rest: &str) -> Option<(&str, &str)> {
    let authority_end = rest.find('/').unwrap_or(rest.len());
    if let Some(at) = rest[..authority_end].rfind('@') {
        return Some((&rest[..at], &rest[at + 1..]));
    }
    // A password with a `/` in it: `user:pa/ss@host/…`.
    let at = rest.find('@')?;
    let userinfo = &rest[..at];
    userinfo
        .split_once(':')
        .is_some_and(|(user, _)| !user.contains('/'))
        .then(|| (userinfo, &rest[at + 1..]))
}

/// Redacts every URL in a free-form message (a libgit2 or HTTP error), as
/// [`redact_url`] does, leaving the rest of the text as it is.
pub fn redact_text(text: &str) -> String {
    if !text.contains('@') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let word_start = rest[..start]
            .rfind(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '(' | '<'))
            .map_or(0, |i| i + 1);
        let end = rest[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | ')' | '>'))
            .map_or(rest.len(), |i| start + i);
        out.push_str(&rest[..word_start]);
        out.push_str(&redact_url(&rest[word_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_removed_from_urls() {
        assert_eq!(
            redact_url("https://bot:ghp_secret@github.com/org/repo.git"),
            "https://bot@github.com/org/repo.git"
        );
        assert_eq!(
            redact_url("file:///srv/git/repo.git"),
            "file:///srv/git/repo.git"
        );
        assert_eq!(
            redact_url("https://github.com/org/repo@v1.git"),
            "https://github.com/org/repo@v1.git"
        );
    }

    #[test]
    fn issue_11_token_as_user_slash_in_password_and_scp_style_are_redacted() {
        assert_eq!(
            redact_url("http://ghp_TOKEN@127.0.0.1:9/org/repo.git"),
            "http://***@127.0.0.1:9/org/repo.git"
        );
        assert_eq!(
            redact_url("https://bot:pa/ss@host.example/org/repo.git"),
            "https://bot@host.example/org/repo.git"
        );
        assert_eq!(
            redact_url("bot:hunter2@host.example:org/repo.git"),
            "bot@host.example:org/repo.git"
        );
        assert_eq!(
            redact_url("ssh://git@github.com/org/repo.git"),
            "ssh://git@github.com/org/repo.git"
        );
        assert_eq!(
            redact_url("git@github.com:org/repo.git"),
            "git@github.com:org/repo.git"
        );
    }

    #[test]
    fn urls_inside_messages_are_redacted() {
        assert_eq!(
            redact_text("cannot reach 'https://bot:s3cret@host/r.git': refused"),
            "cannot reach 'https://bot@host/r.git': refused"
        );
        assert_eq!(redact_text("no url here"), "no url here");
    }
}
