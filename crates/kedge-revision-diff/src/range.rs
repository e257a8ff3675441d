//! `A..B` and `A...B`: which two revisions to compare, as `git diff` reads them.

use std::fmt;
use std::str::FromStr;

use crate::RevisionDiffError;

/// Two revisions to compare: anything git's rev-parse understands (branch,
/// tag, commit id, `HEAD~1`, `origin/main`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevisionRange {
    /// The revision before the change (`A`).
    pub from: String,
    /// The revision after the change (`B`).
    pub to: String,
    /// Compare from the merge base of `A` and `B` (`A...B`): what a pull
    /// request from `B` into `A` changes, whatever else `A` gained since.
    pub from_merge_base: bool,
}

impl RevisionRange {
    /// Compares `from` with `to`.
    pub fn new(from: impl Into<String>, to: impl Into<String>) -> Self {
        Self {
            from: from.into(),
            to: to.into(),
            from_merge_base: false,
        }
    }
}

impl FromStr for RevisionRange {
    type Err = RevisionDiffError;

    /// `A..B`, or `A...B` for the merge base; an empty side is `HEAD`, as in
    /// git.
    fn from_str(range: &str) -> Result<Self, Self::Err> {
        let bad = |reason| RevisionDiffError::BadRange {
            range: range.to_owned(),
            reason,
        };
        let (from, to, from_merge_base) = if let Some((from, to)) = range.split_once("...") {
            (from, to, true)
        } else if let Some((from, to)) = range.split_once("..") {
            (from, to, false)
        } else {
            return Err(bad("expected A..B (or A...B from their merge base)"));
        };
        if from.is_empty() && to.is_empty() {
            return Err(bad("name at least one revision"));
        }
        if to.contains("..") {
            return Err(bad("more than one `..`"));
        }
        let side = |s: &str| if s.is_empty() { "HEAD" } else { s }.to_owned();
        Ok(Self {
            from: side(from),
            to: side(to),
            from_merge_base,
        })
    }
}

impl fmt::Display for RevisionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dots = if self.from_merge_base { "..." } else { ".." };
        write!(f, "{}{dots}{}", self.from, self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(range: &str) -> Result<(String, String, bool), String> {
        range
            .parse::<RevisionRange>()
            .map(|r| (r.from, r.to, r.from_merge_base))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn ranges_read_as_git_reads_them() {
        let owned = |a: &str, b: &str, m| Ok((a.to_owned(), b.to_owned(), m));
        assert_eq!(parse("main..feature"), owned("main", "feature", false));
        assert_eq!(parse("HEAD~1..HEAD"), owned("HEAD~1", "HEAD", false));
        assert_eq!(parse("v1.0..v1.1"), owned("v1.0", "v1.1", false));
        assert_eq!(parse("main...pr"), owned("main", "pr", true));
        assert_eq!(parse("main.."), owned("main", "HEAD", false));
        assert_eq!(parse("..pr"), owned("HEAD", "pr", false));
        assert_eq!(
            "origin/main...pr"
                .parse::<RevisionRange>()
                .unwrap()
                .to_string(),
            "origin/main...pr"
        );
    }

    #[test]
    fn malformed_ranges_say_what_is_expected() {
        assert_eq!(
            parse("main").unwrap_err(),
            "bad revision range `main`: expected A..B (or A...B from their merge base)"
        );
        assert_eq!(
            parse("..").unwrap_err(),
            "bad revision range `..`: name at least one revision"
        );
        assert_eq!(
            parse("a..b..c").unwrap_err(),
            "bad revision range `a..b..c`: more than one `..`"
        );
    }
}
