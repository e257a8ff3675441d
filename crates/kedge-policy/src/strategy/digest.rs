//! The digest strategy: follow one mutable tag such as `latest`.

use std::cmp::Ordering;

use super::{Key, Rank, Ranked};
use crate::error::PolicyError;

/// Keeps only the followed tag (compared with the original tag, not the
/// extracted value).
#[derive(Debug, Clone)]
pub(crate) struct Digest {
    tag: String,
}

impl Digest {
    /// Builds the strategy; the tag must not be empty.
    pub(crate) fn new(tag: &str) -> Result<Self, PolicyError> {
        if tag.is_empty() {
            return Err(PolicyError::EmptyDigestTag);
        }
        Ok(Self {
            tag: tag.to_owned(),
        })
    }

    /// `digest (not "latest")`.
    pub(crate) fn label(&self) -> String {
        format!("digest (not {:?})", self.tag)
    }
}

impl Rank for Digest {
    fn key(&self, tag: &str, _value: &str) -> Option<Key> {
        (tag == self.tag).then_some(Key::Plain)
    }

    fn compare(&self, _a: &Ranked<'_>, _b: &Ranked<'_>) -> Ordering {
        Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use crate::{PolicyError, PolicySpec, StrategySpec, TagPolicy};

    fn policy(tag: &str) -> Result<TagPolicy, PolicyError> {
        TagPolicy::new(PolicySpec::new(StrategySpec::Digest {
            tag: tag.to_owned(),
        }))
    }

    #[test]
    fn selects_exactly_the_followed_tag() {
        let latest = policy("latest").expect("valid");
        assert!(!latest.needs_build_time());
        let chosen = latest
            .select_from(
                ["1.0.0", "latest", "latest-debug"],
                &|_| None,
                std::time::UNIX_EPOCH,
            )
            .expect("latest is present");
        assert_eq!((chosen.tag, chosen.candidates), ("latest", 1));
        let error = latest
            .select_from(["1.0.0", "main"], &|_| None, std::time::UNIX_EPOCH)
            .expect_err("absent");
        assert_eq!(
            error.to_string(),
            "saw 2 tags; none left: digest (not \"latest\") removed 2"
        );
    }

    #[test]
    fn rejects_an_empty_tag() {
        assert!(matches!(policy(""), Err(PolicyError::EmptyDigestTag)));
    }
}
