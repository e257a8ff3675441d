//! The semver strategy: highest version satisfying a constraint.

use std::cmp::Ordering;

use super::{Key, Rank, Ranked};
use crate::constraint::Constraint;
use crate::error::PolicyError;
use crate::version::{Version, VersionKey};

/// Keeps values that are versions within the constraint; ranks by precedence.
#[derive(Debug, Clone)]
pub(crate) struct Semver {
    source: String,
    prereleases: bool,
    loose: bool,
    constraint: Constraint,
}

impl Semver {
    /// Parses the constraint; `loose` reads bare numbers as versions.
    pub(crate) fn new(
        constraint: &str,
        prereleases: bool,
        loose: bool,
    ) -> Result<Self, PolicyError> {
        let parsed = Constraint::parse(constraint, prereleases).map_err(|problem| {
            PolicyError::InvalidConstraint {
                constraint: constraint.to_owned(),
                problem,
            }
        })?;
        Ok(Self {
            source: constraint.to_owned(),
            prereleases,
            loose,
            constraint: parsed,
        })
    }

    /// `semver constraint ^1.2`, noting when pre-releases are admitted.
    pub(crate) fn label(&self) -> String {
        let mut label = format!("semver constraint {}", self.source);
        match (self.prereleases, self.loose) {
            (true, true) => label.push_str(" (pre-releases included, loose)"),
            (true, false) => label.push_str(" (pre-releases included)"),
            (false, true) => label.push_str(" (loose)"),
            (false, false) => {}
        }
        label
    }
}

impl Rank for Semver {
    fn key(&self, _tag: &str, value: &str) -> Option<Key> {
        let version = if self.loose {
            Version::parse_tag_loose(value)?
        } else {
            Version::parse_tag(value)?
        };
        self.constraint
            .matches(&version)
            .then(|| Key::Version(VersionKey::new(&version, value)))
    }

    fn compare(&self, a: &Ranked<'_>, b: &Ranked<'_>) -> Ordering {
        match (a.key, b.key) {
            (Key::Version(x), Key::Version(y)) => {
                x.resolve(a.value).precedence(&y.resolve(b.value))
            }
            _ => Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{PolicySpec, StrategySpec, TagPolicy};

    fn pick<'t>(constraint: &str, prereleases: bool, tags: &[&'t str]) -> Option<&'t str> {
        pick_with(constraint, prereleases, false, tags)
    }

    fn pick_with<'t>(
        constraint: &str,
        prereleases: bool,
        loose: bool,
        tags: &[&'t str],
    ) -> Option<&'t str> {
        let policy = TagPolicy::new(PolicySpec::new(StrategySpec::Semver {
            constraint: constraint.to_owned(),
            prereleases,
            loose,
        }))
        .expect("valid policy");
        let filtered = policy.filter(tags.iter().copied());
        policy
            .select(&filtered, &|_| None, std::time::UNIX_EPOCH)
            .ok()
            .map(|selected| selected.tag)
    }

    const TAGS: &[&str] = &[
        "1.2.3",
        "v1.4.0",
        "1.4.1-alpine",
        "1.5.0-rc.1",
        "2.0.0",
        "sha-abc1234",
        "latest",
        "1.3",
    ];

    #[test]
    fn picks_highest_release_within_the_constraint() {
        assert_eq!(pick("^1.2", false, TAGS), Some("v1.4.0"));
        assert_eq!(pick("~1.2", false, TAGS), Some("1.2.3"));
        assert_eq!(pick("*", false, TAGS), Some("2.0.0"));
        assert_eq!(pick("1.3.x", false, TAGS), Some("1.3"));
        assert_eq!(pick("^3", false, TAGS), None);
    }

    #[test]
    fn variants_and_prereleases_need_opt_in() {
        assert_eq!(pick("^1.2", true, TAGS), Some("1.5.0-rc.1"));
        assert_eq!(pick(">=1.5.0-rc.0 <2", false, TAGS), Some("1.5.0-rc.1"));
    }

    #[test]
    fn equal_versions_go_to_the_greater_tag() {
        assert_eq!(
            pick("^1", false, &["1.2.0", "1.2", "v1.2.0"]),
            Some("v1.2.0")
        );
        assert_eq!(pick("^1", false, &["1.2.0+b", "1.2.0+a"]), Some("1.2.0+b"));
    }

    /// Issue 10: Argo CD Image Updater coerces bare numbers; `loose` does the same, strict
    /// (the default) keeps refusing them.
    #[test]
    fn loose_reads_bare_numbers_as_versions() {
        let tags = &["42", "1001", "20241105", "2025.01.02", "1.5.0", "latest"];
        let rows = [
            ("*", false, Some("2025.01.02")),
            ("*", true, Some("20241105")),
            ("<2000", true, Some("1001")),
            ("^42", true, Some("42")),
            ("^42", false, None),
        ];
        for (constraint, loose, expected) in rows {
            assert_eq!(
                pick_with(constraint, false, loose, tags),
                expected,
                "{constraint} loose={loose}"
            );
        }
        assert_eq!(pick_with("*", false, true, &["7-rc.1", "6"]), Some("6"));
        assert_eq!(pick_with("*", true, true, &["7-rc.1", "6"]), Some("7-rc.1"));
    }
}
