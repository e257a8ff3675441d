//! The unvalidated description of a policy, as read from configuration.
//!
//! [`TagPolicy::new`](crate::TagPolicy::new) validates a [`PolicySpec`] once
//! (compiling regexes, parsing the constraint) and is then cheap to reuse.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::PolicyError;

/// Which end of a sorted list is the newest, for the alphabetical and
/// numerical strategies.
///
/// The values are sorted ascending (byte-wise for alphabetical, by numeric
/// value for numerical); `Asc` picks the **last** (largest) one and `Desc` the
/// **first** (smallest). This is Flux's `order: asc|desc`: "ASC" names the
/// sort direction, so under `Asc` the newest tag is the greatest, as with
/// timestamps or build numbers that grow over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// Sort ascending, pick the largest value (Flux's default).
    #[default]
    Asc,
    /// Sort descending, pick the smallest value.
    Desc,
}

impl FromStr for Order {
    type Err = PolicyError;

    /// Parses `asc` or `desc` in any case (Flux writes `ASC`/`DESC`). An
    /// absent order is [`Order::Asc`] (`Order::default()`); the empty string
    /// is rejected here, so callers decide whether `""` means absent.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.eq_ignore_ascii_case("asc") {
            Ok(Self::Asc)
        } else if value.eq_ignore_ascii_case("desc") {
            Ok(Self::Desc)
        } else {
            Err(PolicyError::InvalidOrder {
                value: value.to_owned(),
            })
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        })
    }
}

/// How candidates that passed the filters are ranked. Each variant carries
/// only its own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrategySpec {
    /// Highest semantic version satisfying `constraint`.
    ///
    /// The constraint uses Masterminds/semver syntax, as Flux and
    /// argocd-image-updater do: `^1.2`, `~1.2`, `>=1.0 <2.0` (space or comma
    /// means AND), `1.2.x`, `*`, `=1.0.0`, `^1 || ^3`, `1.2 - 1.4`.
    /// Tags may carry a `v` prefix and may omit the patch (`1.2` is 1.2.0),
    /// but a bare number (`16`, `3050`) is not a version unless `loose` is set.
    ///
    /// Pre-releases are skipped unless `prereleases` is true or the
    /// constraint names one (`>=1.3.0-rc.0`; with `||`, the alternative that
    /// names one). Variant suffixes such as
    /// `1.2.3-alpine` are pre-releases in semver terms, so they are never
    /// mixed in silently: to follow a variant, set `prereleases` and keep only
    /// that variant with `allow: '-alpine$'`, or use `pattern: '^(?P<v>.*)-alpine$'`
    /// with `extract: '$v'` to rank the plain version of the alpine tags.
    Semver {
        /// The range, e.g. `^1.2`.
        constraint: String,
        /// Admit pre-release versions (anything with a `-suffix`).
        prereleases: bool,
        /// Coerce a bare number to a version (`42` is 42.0.0, `20241105` is 20241105.0.0),
        /// as Argo CD Image Updater does, so imported configurations choose what they chose
        /// there. Off by default: a bare number is usually a build number or a floating major
        /// tag, and would outrank every real release.
        loose: bool,
    },
    /// Byte-wise string order, e.g. for `RELEASE.2024-01-01T00-00-00Z` tags.
    Alphabetical {
        /// Which end is newest; see [`Order`].
        order: Order,
    },
    /// Numeric order of values parsed as decimal numbers (`42`, `-1.5`,
    /// `1e3`); values that are not finite numbers are filtered out.
    Numerical {
        /// Which end is newest; see [`Order`].
        order: Order,
    },
    /// The candidate whose image was built last (its config `created` time).
    /// Equal build times are broken by the byte-wise greater tag.
    NewestBuild,
    /// Follow one mutable tag (e.g. `latest`): selects exactly `tag` when it
    /// is present and passes the filters. Resolving the tag to its digest is
    /// the registry's job.
    Digest {
        /// The tag to follow.
        tag: String,
    },
}

impl StrategySpec {
    /// The strategy's name as written in configuration: `semver`,
    /// `alphabetical`, `numerical`, `newest-build` or `digest`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Semver { .. } => "semver",
            Self::Alphabetical { .. } => "alphabetical",
            Self::Numerical { .. } => "numerical",
            Self::NewestBuild => "newest-build",
            Self::Digest { .. } => "digest",
        }
    }
}

/// A policy as configured: a ranking strategy plus filters that apply to
/// every strategy, in this order: `allow`, `ignore`, `pattern`, the
/// strategy's own filter (e.g. the semver constraint), then `min_age`.
///
/// Regexes use the Rust `regex` crate's syntax, which is RE2 syntax as in Go
/// (named groups `(?P<name>...)` and `(?<name>...)`, no look-around, no
/// back-references). They *search* the tag: anchor with `^...$` to match it
/// whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySpec {
    /// How candidates are ranked.
    pub strategy: StrategySpec,
    /// Only tags this regex matches are considered.
    pub allow: Option<String>,
    /// Tags any of these regexes match are dropped (a glob such as
    /// argocd's `ignore-tags: v1.*` is the regex `^v1\..*$`).
    pub ignore: Vec<String>,
    /// Tags must match this regex; with `extract`, its groups pick the value
    /// that is ranked. An empty pattern matches every tag.
    pub pattern: Option<String>,
    /// Template such as `$ts`, `${1}` or `$major.$minor` expanded from
    /// `pattern`'s match: the result is ranked while the original tag is what
    /// gets selected (Flux's `filterTags.extract`). Requires `pattern`; an
    /// empty template means "rank the whole tag".
    pub extract: Option<String>,
    /// Skip tags whose image was built less than this long ago (or whose build
    /// time is unknown). `Some(Duration::ZERO)` is the same as `None`.
    pub min_age: Option<Duration>,
}

impl PolicySpec {
    /// A spec with the given strategy and no filters.
    pub fn new(strategy: StrategySpec) -> Self {
        Self {
            strategy,
            allow: None,
            ignore: Vec::new(),
            pattern: None,
            extract: None,
            min_age: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_parses_any_case_and_names_bad_input() {
        assert_eq!("ASC".parse::<Order>().ok(), Some(Order::Asc));
        assert_eq!("desc".parse::<Order>().ok(), Some(Order::Desc));
        let error = "invalid".parse::<Order>().expect_err("not an order");
        assert_eq!(
            error.to_string(),
            "invalid order \"invalid\": expected asc or desc (any case)"
        );
    }
}
