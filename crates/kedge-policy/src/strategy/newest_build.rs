//! The newest-build strategy: the image built last wins.

use std::cmp::Ordering;

use super::{Key, Rank, Ranked};

/// Keeps every value; ranks by build time (candidates without one never
/// reach ranking: selection skips and counts them).
#[derive(Debug, Clone)]
pub(crate) struct NewestBuild;

impl Rank for NewestBuild {
    fn key(&self, _tag: &str, _value: &str) -> Option<Key> {
        Some(Key::Plain)
    }

    fn compare(&self, a: &Ranked<'_>, b: &Ranked<'_>) -> Ordering {
        a.built.cmp(&b.built)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use crate::{PolicySpec, StrategySpec, TagPolicy};

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn build_time(tag: &str) -> Option<SystemTime> {
        match tag {
            "a" => Some(at(30)),
            "b" => Some(at(50)),
            "c" => Some(at(50)),
            "d" => Some(at(10)),
            _ => None,
        }
    }

    #[test]
    fn picks_the_latest_build_breaking_ties_by_greater_tag() {
        let policy = TagPolicy::new(PolicySpec::new(StrategySpec::NewestBuild)).expect("valid");
        assert!(policy.needs_build_time());
        let chosen = policy
            .select_from(["a", "b", "c", "d", "unknown"], &build_time, at(100))
            .expect("candidates");
        assert_eq!(chosen.tag, "c");
        assert_eq!(chosen.candidates, 4);
        assert_eq!(chosen.report.missing_build_time, 1);
    }

    #[test]
    fn min_age_skips_young_images() {
        let policy = TagPolicy::new(PolicySpec {
            min_age: Some(Duration::from_secs(60)),
            ..PolicySpec::new(StrategySpec::NewestBuild)
        })
        .expect("valid");
        let chosen = policy
            .select_from(["a", "b", "c", "d"], &build_time, at(100))
            .expect("a and d are old enough");
        assert_eq!(chosen.tag, "a");
        assert_eq!(chosen.report.removed_by_min_age, 2);
        let error = policy
            .select_from(["b", "c", "x"], &build_time, at(100))
            .expect_err("all too young or unknown");
        assert_eq!(
            error.to_string(),
            "saw 3 tags; none left: min-age 1m removed 2, no build time known for 1"
        );
    }
}
