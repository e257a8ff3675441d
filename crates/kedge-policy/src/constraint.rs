//! Semver range constraints in the syntax of Masterminds/semver v3, which
//! Flux and argocd-image-updater use.
//!
//! The `semver` crate's `VersionReq` differs (no space-separated AND, no
//! `v` prefixes, no hyphen ranges), hence this small parser.
//!
//! Grammar: alternatives separated by `||`; each alternative is a list of
//! terms separated by spaces and/or commas, all of which must hold. A term is
//! an optional operator (`=`, `!=`, `>`, `>=`/`=>`, `<`, `<=`/`=<`, `~`/`~>`,
//! `^`) followed by a version that may be partial (`1`, `1.2`) or use
//! wildcards (`1.x`, `1.2.*`, `*`), may carry a `v` prefix, a pre-release and
//! build metadata. `A - B` is the hyphen range `>=A <=B`.
//!
//! Meaning, with `[lo, hi)` the range a partial version covers (`1.2` is
//! `[1.2.0, 1.3.0)`): `=P` and bare `P` are that range, `>P` is `>= hi`,
//! `<=P` is `< hi`, `>=P` is `>= lo`, `<P` is `< lo`, `!=P` is outside it;
//! `~1.2.3` is `[1.2.3, 1.3.0)`, `~1` is `[1.0.0, 2.0.0)`; `^1.2.3` is
//! `[1.2.3, 2.0.0)`, `^0.2.3` is `[0.2.3, 0.3.0)`, `^0.0.3` is
//! `[0.0.3, 0.0.4)`. Upper bounds derived from a partial version, `~` or `^`
//! compare `MAJOR.MINOR.PATCH` only, so `^1.2` never admits `2.0.0-rc.1`.
//!
//! Pre-releases: a version with a pre-release satisfies an alternative only
//! when pre-releases are enabled in the policy or a term of that alternative
//! names a pre-release (`>=1.2.0-rc.0`). Masterminds applies this per term; kedge
//! applies it per alternative so that `>=1.2.0-rc.0 <2.0.0` admits `1.5.0-rc.1`
//! as one would expect. Single-term constraints behave identically. Either way a
//! pre-release stays inside the range: an exclusive upper bound written without a
//! pre-release (`<1.28.0`) compares `MAJOR.MINOR.PATCH`, so `>=1.27.0-0 <1.28.0`
//! admits `1.27.4-alpine` but never `1.28.0-alpine`.

use std::cmp::Ordering;

use crate::error::ConstraintProblem;
use crate::version::{Version, parse_suffix, take_number};

/// A parsed constraint: satisfied when any alternative is.
#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    alternatives: Vec<Alternative>,
}

/// Terms that must all hold.
#[derive(Debug, Clone)]
struct Alternative {
    comparators: Vec<Comparator>,
    admits_prereleases: bool,
}

/// One check against a version.
#[derive(Debug, Clone)]
enum Comparator {
    /// Full semver precedence against a point.
    Compare { op: Op, point: Point },
    /// `MAJOR.MINOR.PATCH` strictly below a bound.
    TripleBelow([u64; 3]),
    /// `MAJOR.MINOR.PATCH` at or above a bound.
    TripleAtLeast([u64; 3]),
    /// Outside `[lo, hi)`; no `hi` means outside `[lo, ∞)`.
    Outside { lo: Point, hi: Option<[u64; 3]> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A version owned by the constraint.
#[derive(Debug, Clone)]
struct Point {
    triple: [u64; 3],
    pre: Box<str>,
}

impl Point {
    fn version(&self) -> Version<'_> {
        let [major, minor, patch] = self.triple;
        Version {
            major,
            minor,
            patch,
            pre: &self.pre,
        }
    }
}

/// A possibly partial version from a constraint term.
#[derive(Debug, Clone)]
struct Partial {
    /// Leading specified numbers; the rest are wildcards or missing.
    numbers: Vec<u64>,
    pre: Box<str>,
}

impl Partial {
    fn lo(&self) -> Point {
        let mut triple = [0; 3];
        triple[..self.numbers.len()].copy_from_slice(&self.numbers);
        Point {
            triple,
            pre: self.pre.clone(),
        }
    }

    /// Exclusive upper triple of the range this partial covers; `None` for `*`.
    fn hi(&self) -> Option<[u64; 3]> {
        bump(&self.numbers, self.numbers.len())
    }

    fn is_exact(&self) -> bool {
        self.numbers.len() == 3
    }
}

/// `numbers` padded with zeros, with the number at `position - 1` incremented
/// and everything after it zero; `None` when `position` is 0.
fn bump(numbers: &[u64], position: usize) -> Option<[u64; 3]> {
    let index = position.checked_sub(1)?;
    let mut triple = [0; 3];
    triple[..index].copy_from_slice(&numbers[..index]);
    triple[index] = numbers[index].saturating_add(1);
    Some(triple)
}

const OPERATORS: [&str; 11] = ["!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^"];

impl Constraint {
    /// Parses `text`; `prereleases` enables pre-releases in every alternative.
    pub(crate) fn parse(text: &str, prereleases: bool) -> Result<Self, ConstraintProblem> {
        if text.trim().is_empty() {
            return Err(ConstraintProblem::Empty);
        }
        let mut alternatives = Vec::new();
        let mut offset = 0;
        for part in text.split("||") {
            if part.trim().is_empty() {
                return Err(ConstraintProblem::EmptyAlternative);
            }
            let (comparators, names_prerelease) = parse_alternative(part, offset)?;
            alternatives.push(Alternative {
                comparators,
                admits_prereleases: prereleases || names_prerelease,
            });
            offset += part.len() + 2;
        }
        Ok(Self { alternatives })
    }

    /// Whether `version` satisfies the constraint.
    pub(crate) fn matches(&self, version: &Version<'_>) -> bool {
        self.alternatives.iter().any(|alternative| {
            (version.pre.is_empty() || alternative.admits_prereleases)
                && alternative.comparators.iter().all(|c| c.matches(version))
        })
    }
}

impl Comparator {
    fn matches(&self, version: &Version<'_>) -> bool {
        match self {
            Self::Compare { op, point } => {
                let ordering = version.precedence(&point.version());
                match op {
                    Op::Eq => ordering == Ordering::Equal,
                    Op::Ne => ordering != Ordering::Equal,
                    Op::Gt => ordering == Ordering::Greater,
                    Op::Ge => ordering != Ordering::Less,
                    Op::Lt => ordering == Ordering::Less,
                    Op::Le => ordering != Ordering::Greater,
                }
            }
            Self::TripleBelow(bound) => version.triple() < *bound,
            Self::TripleAtLeast(bound) => version.triple() >= *bound,
            Self::Outside { lo, hi } => {
                version.precedence(&lo.version()) == Ordering::Less
                    || hi.is_some_and(|hi| version.triple() >= hi)
            }
        }
    }
}

/// Parses one `||` alternative; `base` is its byte offset for error messages.
/// Returns its comparators and whether a term names a pre-release.
fn parse_alternative(
    text: &str,
    base: usize,
) -> Result<(Vec<Comparator>, bool), ConstraintProblem> {
    let mut comparators = Vec::new();
    let mut names_prerelease = false;
    let mut pos = skip_separators(text, 0);
    while pos < text.len() {
        let rest = &text[pos..];
        let operator = OPERATORS
            .iter()
            .find(|op| rest.starts_with(**op))
            .copied()
            .unwrap_or("");
        pos = skip_spaces(text, pos + operator.len());
        let (term, next) = take_term(text, pos, base)?;
        if term.is_empty() {
            return Err(ConstraintProblem::MissingVersion {
                operator: operator.to_owned(),
            });
        }
        let mut partial = parse_partial(term)?;
        pos = next;
        names_prerelease |= !partial.pre.is_empty();
        if operator.is_empty()
            && let Some((upper, after)) = hyphen_upper(text, pos, base)?
        {
            names_prerelease |= !upper.pre.is_empty();
            comparators.extend(lower_comparators(">=", partial));
            partial = upper;
            pos = after;
            comparators.extend(lower_comparators("<=", partial));
        } else {
            comparators.extend(lower_comparators(operator, partial));
        }
        pos = expect_separator(text, pos, base)?;
    }
    Ok((comparators, names_prerelease))
}

/// After a bare version at `pos`, recognises ` - VERSION` and returns the upper version.
fn hyphen_upper(
    text: &str,
    pos: usize,
    base: usize,
) -> Result<Option<(Partial, usize)>, ConstraintProblem> {
    let spaced = skip_spaces(text, pos);
    let dash_follows = spaced > pos
        && text[spaced..].starts_with('-')
        && text[spaced + 1..].starts_with(char::is_whitespace);
    if !dash_follows {
        return Ok(None);
    }
    let start = skip_spaces(text, spaced + 1);
    let (term, next) = take_term(text, start, base)?;
    if term.is_empty() {
        return Err(ConstraintProblem::MissingVersion {
            operator: "-".to_owned(),
        });
    }
    Ok(Some((parse_partial(term)?, next)))
}

/// Reads the version characters starting at `pos`.
fn take_term(text: &str, pos: usize, base: usize) -> Result<(&str, usize), ConstraintProblem> {
    let rest = &text[pos..];
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '*')))
        .unwrap_or(rest.len());
    let next = pos + len;
    if len == 0
        && let Some(character) = rest.chars().next()
        && !is_separator(character)
    {
        return Err(ConstraintProblem::UnexpectedCharacter {
            character,
            offset: base + pos,
        });
    }
    Ok((&rest[..len], next))
}

/// After a term, requires a separator or the end; returns the next term's start.
fn expect_separator(text: &str, pos: usize, base: usize) -> Result<usize, ConstraintProblem> {
    match text[pos..].chars().next() {
        None => Ok(pos),
        Some(c) if is_separator(c) => Ok(skip_separators(text, pos)),
        Some(character) => Err(ConstraintProblem::UnexpectedCharacter {
            character,
            offset: base + pos,
        }),
    }
}

fn is_separator(c: char) -> bool {
    c == ',' || c.is_whitespace()
}

fn skip_separators(text: &str, pos: usize) -> usize {
    text[pos..]
        .find(|c: char| !is_separator(c))
        .map_or(text.len(), |n| pos + n)
}

fn skip_spaces(text: &str, pos: usize) -> usize {
    text[pos..]
        .find(|c: char| !c.is_whitespace())
        .map_or(text.len(), |n| pos + n)
}

/// Parses `[v]N[.N[.N]][-PRE][+BUILD]` where each N may be `x`, `X` or `*`
/// (and everything after a wildcard must be a wildcard too).
fn parse_partial(term: &str) -> Result<Partial, ConstraintProblem> {
    let invalid = || ConstraintProblem::InvalidVersion {
        term: term.to_owned(),
    };
    let body = term.strip_prefix('v').unwrap_or(term);
    let mut numbers = Vec::with_capacity(3);
    let mut wildcard = false;
    let mut rest = body;
    for index in 0..3 {
        if index > 0 {
            match rest.strip_prefix('.') {
                Some(after) => rest = after,
                None => break,
            }
        }
        if let Some(after) = rest.strip_prefix(['x', 'X', '*']) {
            wildcard = true;
            rest = after;
        } else {
            let (number, after) = take_number(rest).ok_or_else(invalid)?;
            if wildcard {
                return Err(invalid());
            }
            numbers.push(number);
            rest = after;
        }
    }
    let pre = parse_suffix(rest).ok_or_else(invalid)?;
    Ok(Partial {
        numbers,
        pre: pre.into(),
    })
}

/// Turns one `operator version` term into comparators (see the module docs).
fn lower_comparators(operator: &str, partial: Partial) -> Vec<Comparator> {
    let compare = |op, point| vec![Comparator::Compare { op, point }];
    let hi = partial.hi();
    match operator {
        "" | "=" if partial.is_exact() => compare(Op::Eq, partial.lo()),
        "" | "=" => within(partial.lo(), hi),
        "!=" if partial.is_exact() => compare(Op::Ne, partial.lo()),
        "!=" => vec![Comparator::Outside {
            lo: partial.lo(),
            hi,
        }],
        ">" => match hi {
            Some(hi) if !partial.is_exact() => vec![Comparator::TripleAtLeast(hi)],
            _ => compare(Op::Gt, partial.lo()),
        },
        ">=" | "=>" => compare(Op::Ge, partial.lo()),
        // An exclusive bound without a pre-release keeps out that release's
        // pre-releases too: `<1.28.0` never admits `1.28.0-alpine`.
        "<" if partial.pre.is_empty() => vec![Comparator::TripleBelow(partial.lo().triple)],
        "<" => compare(Op::Lt, partial.lo()),
        "<=" | "=<" => match hi {
            _ if partial.is_exact() => compare(Op::Le, partial.lo()),
            Some(hi) => vec![Comparator::TripleBelow(hi)],
            None => Vec::new(),
        },
        "~" | "~>" => {
            let position = partial.numbers.len().min(2);
            within(partial.lo(), bump(&partial.numbers, position))
        }
        _ => within(partial.lo(), caret_upper(&partial.numbers)),
    }
}

/// `>= lo` and, when bounded, `MAJOR.MINOR.PATCH < hi`; everything for `*`.
fn within(lo: Point, hi: Option<[u64; 3]>) -> Vec<Comparator> {
    match hi {
        Some(hi) => vec![
            Comparator::Compare {
                op: Op::Ge,
                point: lo,
            },
            Comparator::TripleBelow(hi),
        ],
        None => Vec::new(),
    }
}

/// The exclusive upper bound of `^numbers`: bump the first non-zero number,
/// or the last given one when all given numbers are zero.
fn caret_upper(numbers: &[u64]) -> Option<[u64; 3]> {
    let position = match numbers.iter().position(|&n| n != 0) {
        Some(index) => index + 1,
        None => numbers.len(),
    };
    bump(numbers, position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn satisfies(constraint: &str, version: &str) -> bool {
        let constraint = Constraint::parse(constraint, false)
            .unwrap_or_else(|e| panic!("{constraint:?} should parse: {e}"));
        let version = Version::parse_tag(version).expect("test version parses");
        constraint.matches(&version)
    }

    #[test]
    fn caret_ranges() {
        let cases = [
            ("^1.2.3", "1.2.3", true),
            ("^1.2.3", "1.9.0", true),
            ("^1.2.3", "2.0.0", false),
            ("^1.2.3", "1.2.2", false),
            ("^1.2", "1.2.0", true),
            ("^1", "1.0.0", true),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            ("^0.2", "0.2.0", true),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            ("^0.0", "0.0.9", true),
            ("^0.0", "0.1.0", false),
            ("^0", "0.9.0", true),
            ("^0", "1.0.0", false),
            ("^*", "7.0.0", true),
            ("^1.x", "1.5.0", true),
        ];
        for (constraint, version, expected) in cases {
            assert_eq!(
                satisfies(constraint, version),
                expected,
                "{constraint} {version}"
            );
        }
    }

    #[test]
    fn tilde_wildcard_and_comparison_ranges() {
        let cases = [
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("~1.2", "1.2.0", true),
            ("~1", "1.9.0", true),
            ("~1", "2.0.0", false),
            ("~>1.2", "1.2.5", true),
            ("1.2.x", "1.2.7", true),
            ("1.2.x", "1.3.0", false),
            ("1.2", "1.2.7", true),
            ("*", "0.0.1", true),
            ("=1.0.0", "1.0.0", true),
            ("=1.0.0", "1.0.1", false),
            ("1.0.0", "1.0.0+build", true),
            (">1.2", "1.2.9", false),
            (">1.2", "1.3.0", true),
            (">1.2.3", "1.2.4", true),
            ("<=1.2", "1.2.9", true),
            ("<=1.2", "1.3.0", false),
            ("<1.2", "1.1.9", true),
            ("<1.2", "1.2.0", false),
            ("!=1.2.3", "1.2.3", false),
            ("!=1.2.3", "1.2.4", true),
            ("!=1.2.x", "1.2.4", false),
            ("!=1.2.x", "1.3.0", true),
            (">=1.0 <2.0", "1.5.0", true),
            (">=1.0 <2.0", "2.0.0", false),
            (">0,<2.0", "1.0.0", true),
            (">= 1.0, < 2.0", "1.9.9", true),
            ("1.2 - 1.4.5", "1.4.5", true),
            ("1.2 - 1.4.5", "1.4.6", false),
            ("1.2 - 1.4", "1.4.9", true),
            ("1.2 - 1.4", "1.1.0", false),
            ("^1.0 || ^3.0", "3.1.0", true),
            ("^1.0 || ^3.0", "2.1.0", false),
            ("v1.0.x", "1.0.5", true),
            (">=0.x", "0.1.1", true),
        ];
        for (constraint, version, expected) in cases {
            assert_eq!(
                satisfies(constraint, version),
                expected,
                "{constraint} {version}"
            );
        }
    }

    #[test]
    fn prereleases_need_opt_in_or_a_prerelease_term() {
        assert!(!satisfies("^1.2", "1.3.0-rc.1"));
        assert!(!satisfies("*", "1.3.0-alpine"));
        assert!(satisfies(">=1.3.0-rc.0", "1.3.0-rc.1"));
        assert!(satisfies(">=1.2.0-0 <2.0.0", "1.5.0-rc.1"));
        assert!(!satisfies(">=1.2.0-0 <2.0.0 || ^3", "3.1.0-rc.1"));
        assert!(!satisfies("^1.2", "2.0.0-rc.1"));
        let with = Constraint::parse("^1.2", true).expect("parses");
        let check = |tag| with.matches(&Version::parse_tag(tag).expect("parses"));
        assert!(check("1.3.0-rc.1"));
        assert!(check("1.2.3-alpine"));
        assert!(
            !check("2.0.0-rc.1"),
            "derived upper bounds ignore pre-releases"
        );
        assert!(!check("1.2.0-rc.1"), "below the lower bound");
    }

    /// Issue 10: `>=1.27.0-0 <1.28.0` chose `1.28.0-alpine`, past its upper bound.
    #[test]
    fn prereleases_stay_below_an_exclusive_upper_bound() {
        let cases = [
            (">=1.27.0-0 <1.28.0", "1.27.4-alpine", true),
            (">=1.27.0-0 <1.28.0", "1.28.0-alpine", false),
            (">=1.27.0-0 <1.28.0", "1.28.0-0", false),
            (">=1.27.0-0 <1.28.0", "1.26.9-alpine", false),
            (">=1.27.0-0 <1.28", "1.28.0-rc.1", false),
            (">=1.27.0-0 <1.28.0-rc.2", "1.28.0-rc.1", true),
            (">=1.27.0-0 <1.28.0-rc.2", "1.28.0-rc.2", false),
            (">=1.27.0-0 <=1.28.0", "1.28.0-rc.1", true),
            ("<1.28.0", "1.27.9", true),
            ("<1.28.0", "1.28.0", false),
        ];
        for (constraint, version, expected) in cases {
            assert_eq!(
                satisfies(constraint, version),
                expected,
                "{constraint} {version}"
            );
        }
        let with = Constraint::parse("<2.0.0", true).expect("parses");
        let tag = Version::parse_tag("2.0.0-rc.1").expect("parses");
        assert!(!with.matches(&tag), "opted-in pre-releases obey `<` too");
    }

    fn problem(text: &str) -> ConstraintProblem {
        Constraint::parse(text, false).expect_err(text)
    }

    #[test]
    fn rejects_terms_that_are_not_versions() {
        for term in [
            "1.0.0p", "1x", "x1", "a", "latest", "stable", "*-*", "1.x.3", "-1",
        ] {
            let expected = ConstraintProblem::InvalidVersion { term: term.into() };
            assert_eq!(problem(term), expected, "{term:?}");
        }
    }

    #[test]
    fn rejects_malformed_structure_naming_the_problem() {
        assert_eq!(problem(""), ConstraintProblem::Empty);
        assert_eq!(problem("   "), ConstraintProblem::Empty);
        assert_eq!(problem("^1 ||"), ConstraintProblem::EmptyAlternative);
        let operator = ">=".to_owned();
        assert_eq!(
            problem(">="),
            ConstraintProblem::MissingVersion { operator }
        );
        let unexpected =
            |character, offset| ConstraintProblem::UnexpectedCharacter { character, offset };
        assert_eq!(problem(">1<2"), unexpected('<', 2));
        assert_eq!(problem("^1 || @2"), unexpected('@', 6));
    }
}
