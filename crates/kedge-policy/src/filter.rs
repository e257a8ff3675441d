//! String-only filtering: `allow`, `ignore`, `pattern`/`extract` and the
//! strategy's own check, producing the [`Filtered`] candidates that
//! [`TagPolicy::select`](crate::TagPolicy::select) ranks.

use std::borrow::Cow;

use regex::{CaptureLocations, Regex};

use crate::error::{PolicyError, RegexField};
use crate::report::FilterReport;
use crate::strategy::{Key, Strategy};
use crate::template::Template;

/// The compiled regex filters of a policy.
#[derive(Debug, Clone)]
pub(crate) struct Filters {
    allow: Option<Regex>,
    ignore: Vec<Regex>,
    pattern: Option<Pattern>,
}

/// `pattern` plus the optional `extract` template over its groups.
#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    extract: Option<Template>,
}

impl Filters {
    /// Compiles the filters, naming the field of any bad regex.
    pub(crate) fn new(
        allow: Option<&str>,
        ignore: &[String],
        pattern: Option<&str>,
        extract: Option<&str>,
    ) -> Result<Self, PolicyError> {
        let allow = allow.map(|r| compile(r, RegexField::Allow)).transpose()?;
        let ignore = ignore
            .iter()
            .enumerate()
            .map(|(index, regex)| compile(regex, RegexField::Ignore(index)))
            .collect::<Result<_, _>>()?;
        let extract = extract.filter(|template| !template.is_empty());
        let pattern = match (pattern, extract) {
            (None, Some(template)) => {
                return Err(PolicyError::ExtractWithoutPattern {
                    extract: template.to_owned(),
                });
            }
            (None, None) => None,
            (Some(pattern), template) => {
                let regex = compile(pattern, RegexField::Pattern)?;
                let extract = template.map(|t| Template::parse(t, &regex)).transpose()?;
                Some(Pattern { regex, extract })
            }
        };
        Ok(Self {
            allow,
            ignore,
            pattern,
        })
    }

    /// Runs every filter over `tags`, keying the survivors with `strategy`.
    pub(crate) fn apply<'t>(
        &self,
        strategy: &Strategy,
        tags: impl IntoIterator<Item = &'t str>,
    ) -> Filtered<'t> {
        let rank = strategy.rank();
        let mut report = FilterReport::default();
        let mut locations = self
            .pattern
            .as_ref()
            .filter(|pattern| pattern.extract.is_some())
            .map(|pattern| pattern.regex.capture_locations());
        let tags = tags.into_iter();
        let mut entries = Vec::with_capacity(tags.size_hint().0);
        for tag in tags {
            report.seen += 1;
            if self
                .allow
                .as_ref()
                .is_some_and(|allow| !allow.is_match(tag))
            {
                report.removed_by_allow += 1;
                continue;
            }
            if self.ignore.iter().any(|ignore| ignore.is_match(tag)) {
                report.removed_by_ignore += 1;
                continue;
            }
            let Some(value) = self.ranked_value(tag, locations.as_mut()) else {
                report.removed_by_pattern += 1;
                continue;
            };
            match rank.key(tag, &value) {
                Some(key) => entries.push(Candidate { tag, value, key }),
                None => report.removed_by_strategy += 1,
            }
        }
        Filtered { entries, report }
    }
}

impl Filters {
    /// The value `tag` is ranked by, or `None` when `pattern` does not match.
    /// `locations` is scratch space for `pattern`'s groups.
    fn ranked_value<'t>(
        &self,
        tag: &'t str,
        locations: Option<&mut CaptureLocations>,
    ) -> Option<Cow<'t, str>> {
        let Some(pattern) = &self.pattern else {
            return Some(Cow::Borrowed(tag));
        };
        match (&pattern.extract, locations) {
            (Some(template), Some(locations)) => {
                pattern.regex.captures_read(locations, tag)?;
                Some(template.expand(tag, locations))
            }
            // Without extract only the match matters, which is cheaper to find.
            _ => pattern.regex.is_match(tag).then_some(Cow::Borrowed(tag)),
        }
    }
}

fn compile(regex: &str, field: RegexField) -> Result<Regex, PolicyError> {
    Regex::new(regex).map_err(|source| PolicyError::InvalidRegex {
        field,
        regex: regex.to_owned(),
        source,
    })
}

/// A tag that passed every string filter, with the value it is ranked by.
#[derive(Debug, Clone)]
pub(crate) struct Candidate<'t> {
    pub(crate) tag: &'t str,
    pub(crate) value: Cow<'t, str>,
    pub(crate) key: Key,
}

/// The tags that passed the string filters of a policy, with their ranking
/// keys, and how many each filter removed.
///
/// Produced by [`TagPolicy::filter`](crate::TagPolicy::filter) and consumed
/// by [`TagPolicy::select`](crate::TagPolicy::select) of the **same** policy
/// (the keys are specific to its strategy). Keeping the two steps apart lets
/// a caller fetch build times only for the survivors.
#[derive(Debug, Clone)]
pub struct Filtered<'t> {
    pub(crate) entries: Vec<Candidate<'t>>,
    /// How many tags were seen and how many each string filter removed.
    /// `removed_by_min_age` and `missing_build_time` are always 0 here: they
    /// are counted by `select`.
    pub report: FilterReport,
}

impl<'t> Filtered<'t> {
    /// The surviving tags, in input order.
    pub fn candidates(&self) -> impl Iterator<Item = &'t str> + '_ {
        self.entries.iter().map(|entry| entry.tag)
    }

    /// The surviving tags with the value each is ranked by (the tag itself,
    /// or what `extract` made of it), in input order.
    pub fn ranked_values(&self) -> impl Iterator<Item = (&'t str, &str)> + '_ {
        self.entries
            .iter()
            .map(|entry| (entry.tag, entry.value.as_ref()))
    }

    /// How many tags survived.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no tag survived.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
