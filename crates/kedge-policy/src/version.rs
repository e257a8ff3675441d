//! Semantic versions as they appear in image tags, parsed without allocating.
//!
//! Accepted: an optional `v`, then `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`
//! (a missing patch is 0), then an optional `-PRERELEASE` and `+BUILD`.
//! Leading zeros in the numbers are accepted (`1.02.3` is 1.2.3), as
//! Masterminds/semver's loose parser does. A bare `MAJOR` (`16`, `3050`,
//! `20240101`) is *not* a version: such tags are floating major tags or build
//! numbers far more often than releases, Flux rejects them too, and they would
//! otherwise outrank every real release under `*` or `>=1.0`. The semver strategy's
//! `loose` mode reads them anyway, as Argo CD Image Updater does.
//!
//! Precedence follows semver 2.0: numbers compare numerically, a pre-release
//! is lower than its release, pre-release identifiers compare numerically when
//! both are numeric and byte-wise otherwise, numeric below alphanumeric; build
//! metadata is ignored.

use std::cmp::Ordering;

/// A parsed version borrowing its pre-release text from the tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version<'a> {
    pub(crate) major: u64,
    pub(crate) minor: u64,
    pub(crate) patch: u64,
    /// Pre-release identifiers without the leading `-`; empty for a release.
    pub(crate) pre: &'a str,
}

impl<'a> Version<'a> {
    /// Parses a tag (or extracted value) as a version; `None` when it is not one.
    pub(crate) fn parse_tag(text: &'a str) -> Option<Self> {
        let body = text.strip_prefix('v').unwrap_or(text);
        let (major, rest) = take_number(body)?;
        let (minor, rest) = take_number(rest.strip_prefix('.')?)?;
        let (patch, rest) = match rest.strip_prefix('.') {
            Some(after_dot) => take_number(after_dot)?,
            None => (0, rest),
        };
        let pre = parse_suffix(rest)?;
        Some(Self {
            major,
            minor,
            patch,
            pre,
        })
    }

    /// Like [`Version::parse_tag`], but a bare `MAJOR` (`42`, `20241105`, `7-rc.1`) is a
    /// version too: `MAJOR.0.0`, as Masterminds/semver's `NewVersion` (and so Argo CD Image
    /// Updater) reads it.
    pub(crate) fn parse_tag_loose(text: &'a str) -> Option<Self> {
        if let Some(version) = Self::parse_tag(text) {
            return Some(version);
        }
        let body = text.strip_prefix('v').unwrap_or(text);
        let (major, rest) = take_number(body)?;
        let pre = parse_suffix(rest)?;
        Some(Self {
            major,
            minor: 0,
            patch: 0,
            pre,
        })
    }

    /// `(major, minor, patch)`, used by range bounds that ignore pre-releases.
    pub(crate) fn triple(&self) -> [u64; 3] {
        [self.major, self.minor, self.patch]
    }

    /// Semver precedence (build metadata ignored).
    pub(crate) fn precedence(&self, other: &Version<'_>) -> Ordering {
        self.triple()
            .cmp(&other.triple())
            .then_with(|| compare_prerelease(self.pre, other.pre))
    }
}

/// A [`Version`] stored next to the string it was parsed from, so that
/// candidates can own their ranked value without self-references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VersionKey {
    triple: [u64; 3],
    pre_start: u32,
    pre_end: u32,
}

impl VersionKey {
    /// Records `version`, whose `pre` must be a sub-slice of `text`.
    pub(crate) fn new(version: &Version<'_>, text: &str) -> Self {
        let (pre_start, pre_end) = if version.pre.is_empty() {
            (0, 0)
        } else {
            let start = version.pre.as_ptr() as usize - text.as_ptr() as usize;
            (start, start + version.pre.len())
        };
        Self {
            triple: version.triple(),
            pre_start: u32::try_from(pre_start).unwrap_or(0),
            pre_end: u32::try_from(pre_end).unwrap_or(0),
        }
    }

    /// Rebuilds the version against the text it was parsed from.
    pub(crate) fn resolve<'a>(&self, text: &'a str) -> Version<'a> {
        let [major, minor, patch] = self.triple;
        let pre = text
            .get(self.pre_start as usize..self.pre_end as usize)
            .unwrap_or("");
        Version {
            major,
            minor,
            patch,
            pre,
        }
    }
}

/// Reads a non-empty run of ASCII digits as a `u64`; `None` when empty or too large.
pub(crate) fn take_number(text: &str) -> Option<(u64, &str)> {
    let end = text
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(text.len());
    if end == 0 {
        return None;
    }
    let mut value: u64 = 0;
    for digit in text.as_bytes()[..end].iter() {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    Some((value, &text[end..]))
}

/// Parses what follows the numbers: `[-PRERELEASE][+BUILD]`, returning the
/// pre-release (possibly empty). `None` when anything else is left over.
pub(crate) fn parse_suffix(rest: &str) -> Option<&str> {
    let (pre_part, build) = match rest.split_once('+') {
        Some((pre_part, build)) => (pre_part, Some(build)),
        None => (rest, None),
    };
    let pre = match pre_part.strip_prefix('-') {
        Some(pre) if valid_identifiers(pre, true) => pre,
        Some(_) => return None,
        None if pre_part.is_empty() => "",
        None => return None,
    };
    match build {
        Some(build) if !valid_identifiers(build, false) => None,
        _ => Some(pre),
    }
}

/// Dot-separated non-empty `[0-9A-Za-z-]+` identifiers; with
/// `numeric_rules`, numeric identifiers must not have leading zeros.
fn valid_identifiers(text: &str, numeric_rules: bool) -> bool {
    text.split('.').all(|id| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !(numeric_rules
                && id.len() > 1
                && id.starts_with('0')
                && id.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Semver 2.0 pre-release precedence; an empty pre-release (a release) is highest.
pub(crate) fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match compare_identifier(x, y) {
                Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

fn compare_identifier(x: &str, y: &str) -> Ordering {
    let x_numeric = x.bytes().all(|b| b.is_ascii_digit());
    let y_numeric = y.bytes().all(|b| b.is_ascii_digit());
    match (x_numeric, y_numeric) {
        // No leading zeros, so the longer number is the larger one.
        (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.cmp(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version<'_> {
        Version::parse_tag(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn parses_full_partial_and_prefixed_versions() {
        assert_eq!(v("1.2.3").triple(), [1, 2, 3]);
        assert_eq!(v("v1.2.3").triple(), [1, 2, 3]);
        assert_eq!(v("1.2").triple(), [1, 2, 0]);
        assert_eq!(v("01.02.03").triple(), [1, 2, 3]);
        assert_eq!(v("1.2.3-rc.1").pre, "rc.1");
        assert_eq!(v("1.2.3-alpine+build.5").pre, "alpine");
        assert_eq!(v("1.2.3+build").pre, "");
        assert_eq!(
            v("v2.3.0-rc.0.18.g1abb7b5dd-ppc64le").pre,
            "rc.0.18.g1abb7b5dd-ppc64le"
        );
    }

    #[test]
    fn rejects_non_versions() {
        for tag in [
            "",
            "v",
            "1",
            "3050",
            "latest",
            "1.0.0.1",
            "1.0.0p",
            "b1.0.0",
            "V1.0.0",
            "1.2.3-",
            "1.2.3-a..b",
            "1.2.3-01",
            "1.2.3+",
            "1.2.3_x",
            "sha-abc1234",
            "1.2.",
            "99999999999999999999.0.0",
        ] {
            assert!(Version::parse_tag(tag).is_none(), "{tag} should not parse");
        }
    }

    #[test]
    fn orders_by_semver_precedence() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
            "2.0.0",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(
                v(pair[0]).precedence(&v(pair[1])),
                Ordering::Less,
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
        assert_eq!(v("1.2.3+a").precedence(&v("1.2.3+b")), Ordering::Equal);
        assert_eq!(v("v2.0").precedence(&v("2.0.0")), Ordering::Equal);
    }

    #[test]
    fn key_round_trips_through_its_text() {
        let text = "v1.2.3-rc.1+meta";
        let key = VersionKey::new(&v(text), text);
        assert_eq!(key.resolve(text), v(text));
    }
}
