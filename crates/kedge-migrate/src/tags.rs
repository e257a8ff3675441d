//! Small translations shared by the three tools: globs to regexes, image
//! references, repository URLs to GitHub owner and name, durations.

use crate::model::{Forge, GitHub};

/// A Go `path.Match` glob (`*`, `?`, `[a-z]`, `[^a-z]`, `\x`) as a regex
/// matching a whole tag; `None` for a glob with an unclosed `[`.
pub(crate) fn glob_to_regex(glob: &str) -> Option<String> {
    let mut regex = String::from("^");
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => regex.push_str("[^/]*"),
            '?' => regex.push_str("[^/]"),
            '\\' => regex.push_str(&regex::escape(&chars.next()?.to_string())),
            '[' => {
                let mut class = String::from("[");
                loop {
                    match chars.next()? {
                        ']' if class.len() > 1 && !class.ends_with("[^") => break,
                        '\\' => class.push_str(&regex::escape(&chars.next()?.to_string())),
                        '[' => class.push_str("\\["),
                        other => class.push(other),
                    }
                }
                class.push(']');
                regex.push_str(&class);
            }
            other => regex.push_str(&regex::escape(&other.to_string())),
        }
    }
    regex.push('$');
    Some(regex)
}

/// `name[:tag]` split at the tag's colon (after the last `/`, so a registry
/// port stays in the name).
pub(crate) fn split_tag(reference: &str) -> (&str, Option<&str>) {
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[slash..].rfind(':') {
        Some(colon) => (
            &reference[..slash + colon],
            Some(&reference[slash + colon + 1..]),
        ),
        None => (reference, None),
    }
}

/// The image name as kedge checks it; `Err` says why it is not one.
pub(crate) fn check_image_name(name: &str) -> Result<(), String> {
    kedge_image::ImageName::parse(name)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// `forge.github` for a repository on github.com, from any of its URL forms.
pub(crate) fn github_forge(url: &str) -> Option<Forge> {
    let rest = url
        .strip_prefix("https://github.com/")
        .or_else(|| url.strip_prefix("http://github.com/"))
        .or_else(|| url.strip_prefix("ssh://git@github.com/"))
        .or_else(|| url.strip_prefix("git@github.com:"))?;
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let (owner, repo) = rest.split_once('/')?;
    (!owner.is_empty() && !repo.is_empty() && !repo.contains('/')).then(|| Forge {
        github: GitHub {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
        },
    })
}

/// A Go duration or Keel's `@every 5m` as kedge writes durations (`1h`,
/// `5m0s` → `5m`); `None` when it is neither (a cron expression).
pub(crate) fn duration(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text.strip_prefix("@every").map_or(text, str::trim);
    let valid = regex::Regex::new(r"^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$").ok()?;
    if !valid.is_match(text) {
        return None;
    }
    let mut trimmed = text.to_owned();
    for zero in ["0s", "0m"] {
        if trimmed.len() > zero.len()
            && trimmed.ends_with(zero)
            && !trimmed[..trimmed.len() - zero.len()].ends_with(|c: char| c.is_ascii_digit())
        {
            trimmed.truncate(trimmed.len() - zero.len());
        }
    }
    Some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_anchored_regexes() {
        assert_eq!(glob_to_regex("*").as_deref(), Some("^[^/]*$"));
        assert_eq!(glob_to_regex("v1.*").as_deref(), Some("^v1\\.[^/]*$"));
        assert_eq!(glob_to_regex("[^a]?").as_deref(), Some("^[^a][^/]$"));
        assert_eq!(glob_to_regex("[abc"), None);
    }

    #[test]
    fn tags_split_after_the_registry_port() {
        assert_eq!(
            split_tag("10.42.0.1:30000/test-image:1.X.X"),
            ("10.42.0.1:30000/test-image", Some("1.X.X"))
        );
        assert_eq!(
            split_tag("10.42.0.1:30000/test-image"),
            ("10.42.0.1:30000/test-image", None)
        );
        assert_eq!(split_tag("nginx"), ("nginx", None));
    }

    #[test]
    fn github_urls_in_every_form() {
        for url in [
            "https://github.com/org/repo.git",
            "git@github.com:org/repo.git",
            "ssh://git@github.com/org/repo",
        ] {
            let forge = github_forge(url).expect(url);
            assert_eq!(
                (forge.github.owner.as_str(), forge.github.repo.as_str()),
                ("org", "repo")
            );
        }
        assert!(github_forge("https://gitlab.com/org/repo.git").is_none());
    }

    #[test]
    fn durations_from_go_and_keel() {
        assert_eq!(duration("5m0s").as_deref(), Some("5m"));
        assert_eq!(duration("1h").as_deref(), Some("1h"));
        assert_eq!(duration("@every 12m").as_deref(), Some("12m"));
        assert_eq!(duration("10s").as_deref(), Some("10s"));
        assert_eq!(duration("*/5 * * * *"), None);
    }
}
