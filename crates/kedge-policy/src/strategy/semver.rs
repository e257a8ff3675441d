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
    constraint: Constraint,
}

impl Semver {
    /// Parses the constraint.
    pub(crate) fn new(constraint: &str, prereleases: bool) -> Result<Self, PolicyError> {
        let parsed = Constraint::parse(constraint, prereleases).map_err(|problem| {
            PolicyError::InvalidConstraint {
                constraint: constraint.to_owned(),
                problem,
            }
        })?;
        Ok(Self {
            source: constraint.to_owned(),
            prereleases,
            constraint: parsed,
        })
    }

    /// `semver constraint ^1.2`, noting when pre-releases are admitted.
    pub(crate) fn label(&self) -> String {
        if self.prereleases {
            format!("semver constraint {} (pre-releases included)", self.source)
        } else {
            format!("semver constraint {}", self.source)
        }
    }
}

impl Rank for Semver {
    fn key(&self, _tag: &str, value: &str) -> Option<Key> {
        let version = Version::parse_tag(value)?;
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
        let policy = TagPolicy::new(PolicySpec::new(StrategySpec::Semver {
            constraint: constraint.to_owned(),
            prereleases,
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
}
