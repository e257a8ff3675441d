//! Ranking strategies: one small type per strategy behind the [`Rank`] trait,
//! built once from a [`StrategySpec`].
//!
//! A strategy does two things: at filter time it turns a candidate's ranked
//! value into a [`Key`] (or rejects it: not a version, outside the
//! constraint, not a number, not the followed tag), and at selection time it
//! orders two keyed candidates. Ties are broken here, the same way for every
//! strategy: candidates are ordered by `(key, tag)` ascending, with the tag
//! compared byte-wise, and the greatest wins, or the smallest under
//! [`Order::Desc`].

mod alphabetical;
mod digest;
mod newest_build;
mod numerical;
mod semver;

use std::cmp::Ordering;
use std::time::SystemTime;

use crate::error::PolicyError;
use crate::spec::{Order, StrategySpec};
use crate::version::VersionKey;

pub(crate) use alphabetical::Alphabetical;
pub(crate) use digest::Digest;
pub(crate) use newest_build::NewestBuild;
pub(crate) use numerical::Numerical;
pub(crate) use semver::Semver;

/// What a strategy remembers about a candidate from the filter stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Key {
    /// Nothing beyond the value itself (alphabetical, newest-build, digest).
    Plain,
    /// A parsed finite number (numerical).
    Number(f64),
    /// A parsed version, pointing into the ranked value (semver).
    Version(VersionKey),
}

/// A candidate as seen by [`Rank::compare`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranked<'c> {
    /// The ranked value: the tag, or what `extract` made of it.
    pub(crate) value: &'c str,
    /// The key computed at filter time.
    pub(crate) key: Key,
    /// The image's build time, when the policy needs build times.
    pub(crate) built: Option<SystemTime>,
}

/// One ranking strategy.
pub(crate) trait Rank: std::fmt::Debug + Send + Sync {
    /// The key of a candidate, or `None` when this strategy filters it out.
    fn key(&self, tag: &str, value: &str) -> Option<Key>;

    /// Orders two candidates ascending (newest last); ties are the caller's.
    fn compare(&self, a: &Ranked<'_>, b: &Ranked<'_>) -> Ordering;
}

/// The strategy of a validated policy.
#[derive(Debug, Clone)]
pub(crate) enum Strategy {
    Semver(Semver),
    Alphabetical(Alphabetical),
    Numerical(Numerical),
    NewestBuild(NewestBuild),
    Digest(Digest),
}

impl Strategy {
    /// Validates the spec and builds the strategy.
    pub(crate) fn from_spec(spec: &StrategySpec) -> Result<Self, PolicyError> {
        Ok(match spec {
            StrategySpec::Semver {
                constraint,
                prereleases,
                loose,
            } => Self::Semver(Semver::new(constraint, *prereleases, *loose)?),
            StrategySpec::Alphabetical { order } => Self::Alphabetical(Alphabetical::new(*order)),
            StrategySpec::Numerical { order } => Self::Numerical(Numerical::new(*order)),
            StrategySpec::NewestBuild => Self::NewestBuild(NewestBuild),
            StrategySpec::Digest { tag } => Self::Digest(Digest::new(tag)?),
        })
    }

    /// The strategy as its trait object.
    pub(crate) fn rank(&self) -> &dyn Rank {
        match self {
            Self::Semver(s) => s,
            Self::Alphabetical(s) => s,
            Self::Numerical(s) => s,
            Self::NewestBuild(s) => s,
            Self::Digest(s) => s,
        }
    }

    /// Whether ranking needs build times.
    pub(crate) fn needs_build_time(&self) -> bool {
        matches!(self, Self::NewestBuild(_))
    }

    /// Which end of the `(key, tag)` order wins.
    fn order(&self) -> Order {
        match self {
            Self::Alphabetical(s) => s.order(),
            Self::Numerical(s) => s.order(),
            _ => Order::Asc,
        }
    }

    /// Whether candidate `a` (with tag `a_tag`) beats `b`.
    pub(crate) fn prefers(&self, a: &Ranked<'_>, a_tag: &str, b: &Ranked<'_>, b_tag: &str) -> bool {
        let ascending = self.rank().compare(a, b).then_with(|| a_tag.cmp(b_tag));
        match self.order() {
            Order::Asc => ascending == Ordering::Greater,
            Order::Desc => ascending == Ordering::Less,
        }
    }

    /// Names what the strategy's own filter removes, for [`NoMatch`](crate::NoMatch).
    pub(crate) fn filter_label(&self) -> String {
        match self {
            Self::Semver(s) => s.label(),
            Self::Alphabetical(_) => "alphabetical".to_owned(),
            Self::Numerical(_) => "numerical (not a number)".to_owned(),
            Self::NewestBuild(_) => "newest-build".to_owned(),
            Self::Digest(s) => s.label(),
        }
    }
}
