//! Credentials out of every remote URL kedge prints: one rule for the whole
//! of kedge, owned by `kedge-policy` (pure, so registry, git and webhook code
//! share it).

pub use kedge_policy::{redact_url, redact_urls_in as redact_text};

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
