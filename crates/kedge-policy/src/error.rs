//! The crate's one error type, returned when a [`PolicySpec`](crate::PolicySpec)
//! cannot be turned into a [`TagPolicy`](crate::TagPolicy).
//!
//! Every variant names the offending input (the regex and the field it sits in,
//! the constraint and the term that failed, ...) so that a user reading the
//! message can fix the configuration without looking at code.

use std::fmt;

/// Why a policy specification was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A regular expression in `allow`, `ignore` or `pattern` does not compile.
    #[error("invalid {field} regex {regex:?}: {source}")]
    InvalidRegex {
        /// Which field of the spec holds the regex.
        field: RegexField,
        /// The regex as written by the user.
        regex: String,
        /// What the regex engine said.
        #[source]
        source: regex::Error,
    },

    /// The semver constraint cannot be parsed.
    #[error("invalid semver constraint {constraint:?}: {problem}")]
    InvalidConstraint {
        /// The constraint as written by the user.
        constraint: String,
        /// What is wrong with it.
        problem: ConstraintProblem,
    },

    /// `extract` was given without a `pattern` to take capture groups from.
    #[error(
        "extract {extract:?} needs a pattern: set `pattern` to a regex with the groups it names"
    )]
    ExtractWithoutPattern {
        /// The extract template as written by the user.
        extract: String,
    },

    /// `extract` refers to a capture group that `pattern` does not define.
    #[error(
        "extract {extract:?} refers to group {group:?}, which pattern {pattern:?} does not define"
    )]
    UnknownCaptureGroup {
        /// The extract template as written by the user.
        extract: String,
        /// The group name or number that has no match in the pattern.
        group: String,
        /// The pattern the group was looked up in.
        pattern: String,
    },

    /// A sort order string is neither `asc` nor `desc`.
    #[error("invalid order {value:?}: expected asc or desc (any case)")]
    InvalidOrder {
        /// The order as written by the user.
        value: String,
    },

    /// The digest strategy was given an empty tag to follow.
    #[error("the digest strategy needs a tag to follow (e.g. \"latest\"), got an empty string")]
    EmptyDigestTag,
}

/// The field of a [`PolicySpec`](crate::PolicySpec) that holds a regex, named in
/// [`PolicyError::InvalidRegex`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegexField {
    /// The `allow` regex.
    Allow,
    /// The `ignore` regex at this index (0-based).
    Ignore(usize),
    /// The `pattern` regex.
    Pattern,
}

impl fmt::Display for RegexField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allow => f.write_str("allow"),
            Self::Ignore(index) => write!(f, "ignore[{index}]"),
            Self::Pattern => f.write_str("pattern"),
        }
    }
}

/// What is wrong with a semver constraint, carried by
/// [`PolicyError::InvalidConstraint`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConstraintProblem {
    /// The constraint is empty or blank (use `*` to accept every version).
    Empty,
    /// One of the `||` alternatives is empty.
    EmptyAlternative,
    /// An operator such as `>=` is not followed by a version.
    MissingVersion {
        /// The operator.
        operator: String,
    },
    /// A term is not a (possibly partial or wildcard) version.
    InvalidVersion {
        /// The term as written.
        term: String,
    },
    /// A character that cannot start or continue a term.
    UnexpectedCharacter {
        /// The character.
        character: char,
        /// Its byte offset in the constraint.
        offset: usize,
    },
}

impl fmt::Display for ConstraintProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty (use \"*\" to accept every version)"),
            Self::EmptyAlternative => f.write_str("an alternative around \"||\" is empty"),
            Self::MissingVersion { operator } => {
                write!(f, "operator {operator:?} is not followed by a version")
            }
            Self::InvalidVersion { term } => write!(
                f,
                "{term:?} is not a version (expected [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD], \
                 where MINOR and PATCH may be x, X or *)"
            ),
            Self::UnexpectedCharacter { character, offset } => {
                write!(f, "unexpected character {character:?} at byte {offset}")
            }
        }
    }
}
