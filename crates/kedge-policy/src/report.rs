//! What filtering did to a tag list, and the "nothing left" outcome whose
//! message tells the user which filter removed the tags.

use std::fmt;
use std::time::Duration;

/// How many tags were seen and how many each filter removed. Every tag is
/// counted once, by the first filter that removed it, in this order:
/// allow, ignore, pattern, strategy, then (at selection) build time and
/// min-age.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FilterReport {
    /// Tags given to the policy (duplicates counted each time).
    pub seen: usize,
    /// Tags the `allow` regex did not match.
    pub removed_by_allow: usize,
    /// Tags an `ignore` regex matched.
    pub removed_by_ignore: usize,
    /// Tags the `pattern` regex did not match.
    pub removed_by_pattern: usize,
    /// Tags (or extracted values) the strategy rejected: not a version or
    /// outside the semver constraint, not a number, not the followed tag.
    pub removed_by_strategy: usize,
    /// Tags whose image is younger than `min_age`.
    pub removed_by_min_age: usize,
    /// Tags skipped because the policy needs a build time and none is known.
    pub missing_build_time: usize,
}

impl FilterReport {
    /// Tags left after every filter counted so far.
    pub fn remaining(&self) -> usize {
        self.seen.saturating_sub(
            self.removed_by_allow
                + self.removed_by_ignore
                + self.removed_by_pattern
                + self.removed_by_strategy
                + self.removed_by_min_age
                + self.missing_build_time,
        )
    }
}

/// No tag survived the policy. `Display` says how many tags were seen and
/// which filters removed them, e.g.
/// `saw 1000 tags; none left: allow removed 12, ignore removed 3, semver constraint ^1.2 removed 985`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoMatch {
    /// The counts behind the message.
    pub report: FilterReport,
    /// How the strategy's own filter is named in the message, e.g.
    /// `semver constraint ^1.2` or `numerical (not a number)`.
    pub strategy_filter: String,
    /// The policy's minimum age, named in the message when it removed tags.
    pub min_age: Option<Duration>,
}

impl fmt::Display for NoMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = &self.report;
        let noun = if report.seen == 1 { "tag" } else { "tags" };
        write!(f, "saw {} {noun}", report.seen)?;
        if report.seen == 0 {
            return f.write_str("; nothing to select from");
        }
        f.write_str("; none left")?;
        let min_age = self.min_age.map_or_else(
            || "min-age".to_owned(),
            |age| format!("min-age {}", HumanDuration(age)),
        );
        let parts = [
            ("allow", report.removed_by_allow),
            ("ignore", report.removed_by_ignore),
            ("pattern", report.removed_by_pattern),
            (self.strategy_filter.as_str(), report.removed_by_strategy),
            (min_age.as_str(), report.removed_by_min_age),
        ];
        let mut separator = ": ";
        for (name, count) in parts.into_iter().filter(|(_, count)| *count > 0) {
            write!(f, "{separator}{name} removed {count}")?;
            separator = ", ";
        }
        if report.missing_build_time > 0 {
            write!(
                f,
                "{separator}no build time known for {}",
                report.missing_build_time
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for NoMatch {}

/// Formats a duration compactly: `500ms`, `45s`, `1h30m`, `2d`.
struct HumanDuration(Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.0.as_secs();
        if total == 0 {
            return write!(f, "{}ms", self.0.as_millis());
        }
        let units = [
            (total / 86_400, "d"),
            (total % 86_400 / 3_600, "h"),
            (total % 3_600 / 60, "m"),
            (total % 60, "s"),
        ];
        for (value, unit) in units.into_iter().filter(|(value, _)| *value > 0) {
            write!(f, "{value}{unit}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_match(report: FilterReport, strategy_filter: &str) -> NoMatch {
        NoMatch {
            report,
            strategy_filter: strategy_filter.to_owned(),
            min_age: None,
        }
    }

    #[test]
    fn names_seen_count_and_each_removing_filter() {
        let report = FilterReport {
            seen: 1000,
            removed_by_allow: 12,
            removed_by_ignore: 3,
            removed_by_strategy: 985,
            ..FilterReport::default()
        };
        assert_eq!(
            no_match(report, "semver constraint ^1.2").to_string(),
            "saw 1000 tags; none left: allow removed 12, ignore removed 3, \
             semver constraint ^1.2 removed 985"
        );
    }

    #[test]
    fn names_build_time_filters() {
        let report = FilterReport {
            seen: 5,
            removed_by_pattern: 1,
            removed_by_min_age: 3,
            missing_build_time: 1,
            ..FilterReport::default()
        };
        let error = NoMatch {
            min_age: Some(Duration::from_secs(5400)),
            ..no_match(report, "newest-build")
        };
        assert_eq!(
            error.to_string(),
            "saw 5 tags; none left: pattern removed 1, min-age 1h30m removed 3, \
             no build time known for 1"
        );
    }

    #[test]
    fn says_when_there_was_nothing_to_choose_from() {
        let empty = no_match(FilterReport::default(), "alphabetical");
        assert_eq!(empty.to_string(), "saw 0 tags; nothing to select from");
        let one = FilterReport {
            seen: 1,
            removed_by_strategy: 1,
            ..FilterReport::default()
        };
        assert_eq!(
            no_match(one, "numerical (not a number)").to_string(),
            "saw 1 tag; none left: numerical (not a number) removed 1"
        );
    }

    #[test]
    fn formats_durations_compactly() {
        let cases = [(0, "0ms"), (1, "1s"), (90, "1m30s"), (86_400 + 7, "1d7s")];
        for (seconds, expected) in cases {
            assert_eq!(
                HumanDuration(Duration::from_secs(seconds)).to_string(),
                expected
            );
        }
        assert_eq!(
            HumanDuration(Duration::from_millis(250)).to_string(),
            "250ms"
        );
    }
}
