//! [`TagPolicy`]: a validated policy that filters a tag list and selects the
//! newest allowed tag.

use std::time::{Duration, SystemTime};

use crate::error::PolicyError;
use crate::filter::{Filtered, Filters};
use crate::report::{FilterReport, NoMatch};
use crate::spec::PolicySpec;
use crate::strategy::{Ranked, Strategy};

/// A validated tag policy: regexes compiled and the constraint parsed once,
/// so it is cheap to reuse across repositories and reconciliations. It is
/// `Send + Sync` and holds no interior state.
#[derive(Debug, Clone)]
pub struct TagPolicy {
    strategy: Strategy,
    filters: Filters,
    min_age: Option<Duration>,
    strategy_filter: String,
}

/// The tag a policy chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected<'t> {
    /// The chosen tag, as given (never the extracted value).
    pub tag: &'t str,
    /// How many tags passed every filter, including build time and min-age,
    /// and so competed for selection (at least 1).
    pub candidates: usize,
    /// What each filter removed, including the selection-time counts.
    pub report: FilterReport,
}

impl TagPolicy {
    /// Validates `spec`: compiles `allow`, `ignore` and `pattern`, checks that
    /// `extract` has a pattern and names only groups it defines, and parses
    /// the semver constraint.
    pub fn new(spec: PolicySpec) -> Result<Self, PolicyError> {
        let strategy = Strategy::from_spec(&spec.strategy)?;
        let filters = Filters::new(
            spec.allow.as_deref(),
            &spec.ignore,
            spec.pattern.as_deref(),
            spec.extract.as_deref(),
        )?;
        let strategy_filter = strategy.filter_label();
        Ok(Self {
            strategy,
            filters,
            min_age: spec.min_age.filter(|age| !age.is_zero()),
            strategy_filter,
        })
    }

    /// True when [`select`](Self::select) needs build times: for the
    /// newest-build strategy, or when `min_age` is set. When false, `select`
    /// never calls its `build_time` function.
    pub fn needs_build_time(&self) -> bool {
        self.strategy.needs_build_time() || self.min_age.is_some()
    }

    /// String-only filtering: `allow`, `ignore`, `pattern`/`extract`, then the
    /// strategy's own check (semver parse and constraint, numerical parse,
    /// digest tag). No allocation per tag unless `extract` builds a value
    /// from more than one group.
    pub fn filter<'t>(&self, tags: impl IntoIterator<Item = &'t str>) -> Filtered<'t> {
        self.filters.apply(&self.strategy, tags)
    }

    /// Ranks the candidates of `filtered` (which must come from this policy's
    /// [`filter`](Self::filter)) and picks the newest, in one pass.
    ///
    /// `build_time(tag)` gives the image's config `created` time where known;
    /// it is called once per candidate, and only when
    /// [`needs_build_time`](Self::needs_build_time). Candidates without one
    /// are then skipped and counted in `missing_build_time`; those built less
    /// than `min_age` before `now` (or after `now`) in `removed_by_min_age`.
    ///
    /// Ties (equal versions such as `1.2` and `1.2.0`, equal numbers or build
    /// times, equal extracted values) go to the byte-wise greater tag, or the
    /// smaller one under [`Order::Desc`](crate::Order::Desc).
    pub fn select<'t>(
        &self,
        filtered: &Filtered<'t>,
        build_time: &dyn Fn(&str) -> Option<SystemTime>,
        now: SystemTime,
    ) -> Result<Selected<'t>, NoMatch> {
        let mut report = filtered.report;
        let needs_time = self.needs_build_time();
        let mut best: Option<(&'t str, Ranked<'_>)> = None;
        let mut candidates = 0;
        for entry in &filtered.entries {
            let built = if needs_time {
                let Some(built) = build_time(entry.tag) else {
                    report.missing_build_time += 1;
                    continue;
                };
                if self.is_too_young(built, now) {
                    report.removed_by_min_age += 1;
                    continue;
                }
                Some(built)
            } else {
                None
            };
            candidates += 1;
            let ranked = Ranked {
                value: &entry.value,
                key: entry.key,
                built,
            };
            let wins = best.as_ref().is_none_or(|(best_tag, best_ranked)| {
                self.strategy
                    .prefers(&ranked, entry.tag, best_ranked, best_tag)
            });
            if wins {
                best = Some((entry.tag, ranked));
            }
        }
        match best {
            Some((tag, _)) => Ok(Selected {
                tag,
                candidates,
                report,
            }),
            None => Err(NoMatch {
                report,
                strategy_filter: self.strategy_filter.clone(),
                min_age: self.min_age,
            }),
        }
    }

    /// [`filter`](Self::filter) then [`select`](Self::select), for callers
    /// that have build times at hand (or need none).
    pub fn select_from<'t>(
        &self,
        tags: impl IntoIterator<Item = &'t str>,
        build_time: &dyn Fn(&str) -> Option<SystemTime>,
        now: SystemTime,
    ) -> Result<Selected<'t>, NoMatch> {
        self.select(&self.filter(tags), build_time, now)
    }

    fn is_too_young(&self, built: SystemTime, now: SystemTime) -> bool {
        self.min_age
            .is_some_and(|min_age| now.duration_since(built).unwrap_or(Duration::ZERO) < min_age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Order, RegexField, StrategySpec};

    fn numerical() -> PolicySpec {
        PolicySpec::new(StrategySpec::Numerical { order: Order::Asc })
    }

    #[test]
    fn is_send_sync_and_cheap_to_share() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<TagPolicy>();
        assert_send_sync::<Filtered<'static>>();
        assert_send_sync::<NoMatch>();
    }

    #[test]
    fn counts_each_tag_once_by_the_first_filter_that_removes_it() {
        let policy = TagPolicy::new(PolicySpec {
            allow: Some("^main-".to_owned()),
            ignore: vec!["-dirty$".to_owned(), "-wip$".to_owned()],
            pattern: Some(r"^main-(?P<ts>\d+)\.(?P<n>\d+)".to_owned()),
            extract: Some("$ts$n".to_owned()),
            ..numerical()
        })
        .expect("valid");
        let tags = [
            "main-20240101.1",
            "main-20240102.3",
            "main-20240103.1-dirty",
            "main-20240104.2-wip",
            "main-x",
            "dev-20250101.1",
            "main-20240102.12",
        ];
        let filtered = policy.filter(tags);
        let values: Vec<_> = filtered.ranked_values().collect();
        assert_eq!(
            values,
            [
                ("main-20240101.1", "202401011"),
                ("main-20240102.3", "202401023"),
                ("main-20240102.12", "2024010212")
            ]
        );
        assert_eq!(
            filtered.report,
            FilterReport {
                seen: 7,
                removed_by_allow: 1,
                removed_by_ignore: 2,
                removed_by_pattern: 1,
                ..FilterReport::default()
            }
        );
        let chosen = policy.select(&filtered, &|_| None, SystemTime::UNIX_EPOCH);
        assert_eq!(
            chosen.map(|s| (s.tag, s.candidates)),
            Ok(("main-20240102.12", 3))
        );
    }

    #[test]
    fn ranks_the_extracted_value_but_returns_the_original_tag() {
        let policy = TagPolicy::new(PolicySpec {
            pattern: Some(r"^(?P<v>\d+\.\d+\.\d+)-alpine$".to_owned()),
            extract: Some("$v".to_owned()),
            ..PolicySpec::new(StrategySpec::Semver {
                constraint: "^1".to_owned(),
                prereleases: false,
                loose: false,
            })
        })
        .expect("valid");
        let tags = ["1.9.0", "1.2.0-alpine", "1.10.0-alpine", "2.0.0-alpine"];
        let chosen = policy.select_from(tags, &|_| None, SystemTime::UNIX_EPOCH);
        assert_eq!(chosen.map(|s| s.tag).ok(), Some("1.10.0-alpine"));
    }

    #[test]
    fn rejects_invalid_specs_naming_the_culprit() {
        let bad_ignore = TagPolicy::new(PolicySpec {
            ignore: vec!["ok".to_owned(), "(".to_owned()],
            ..numerical()
        });
        match bad_ignore {
            Err(PolicyError::InvalidRegex { field, regex, .. }) => {
                assert_eq!((field, regex.as_str()), (RegexField::Ignore(1), "("));
                assert_eq!(field.to_string(), "ignore[1]");
            }
            other => panic!("expected InvalidRegex, got {other:?}"),
        }
        let no_pattern = TagPolicy::new(PolicySpec {
            extract: Some("$1".to_owned()),
            ..numerical()
        });
        assert_eq!(
            no_pattern.expect_err("extract without pattern").to_string(),
            "extract \"$1\" needs a pattern: set `pattern` to a regex with the groups it names"
        );
        let bad_constraint = TagPolicy::new(PolicySpec::new(StrategySpec::Semver {
            constraint: "latest".to_owned(),
            prereleases: false,
            loose: false,
        }));
        assert!(
            bad_constraint
                .expect_err("not a constraint")
                .to_string()
                .starts_with("invalid semver constraint \"latest\": \"latest\" is not a version")
        );
    }

    #[test]
    fn empty_extract_ranks_the_whole_tag() {
        let policy = TagPolicy::new(PolicySpec {
            extract: Some(String::new()),
            ..numerical()
        })
        .expect("an empty extract needs no pattern");
        let filtered = policy.filter(["7"]);
        let values: Vec<_> = filtered.ranked_values().collect();
        assert_eq!(values, [("7", "7")]);
    }

    #[test]
    fn build_times_are_only_asked_for_when_needed() {
        let asked = std::cell::Cell::new(0);
        let build_time = |_: &str| {
            asked.set(asked.get() + 1);
            Some(SystemTime::UNIX_EPOCH)
        };
        let plain = TagPolicy::new(numerical()).expect("valid");
        assert!(!plain.needs_build_time());
        let zero_age = TagPolicy::new(PolicySpec {
            min_age: Some(Duration::ZERO),
            ..numerical()
        })
        .expect("valid");
        assert!(!zero_age.needs_build_time());
        plain
            .select_from(["1", "2"], &build_time, SystemTime::UNIX_EPOCH)
            .expect("numbers");
        assert_eq!(asked.get(), 0);
        let aged = TagPolicy::new(PolicySpec {
            min_age: Some(Duration::from_secs(1)),
            ..numerical()
        })
        .expect("valid");
        assert!(aged.needs_build_time());
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
        let chosen = aged
            .select_from(["1", "2"], &build_time, now)
            .expect("old enough");
        assert_eq!((chosen.tag, asked.get()), ("2", 2));
    }
}
