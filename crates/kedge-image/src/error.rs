//! The image crate's error type: which rule a name or reference breaks, with
//! the value quoted safely.

use std::fmt;

/// How much of a refused value an error message quotes.
const QUOTED_LEN: usize = 80;

/// Which kind of name an [`ImageError::InvalidName`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameKind {
    /// An image tag.
    Tag,
    /// A repository path inside a registry (`team/app`).
    Repository,
    /// A registry host, with optional port.
    Host,
    /// A content digest (`sha256:…`).
    Digest,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tag => "tag",
            Self::Repository => "repository name",
            Self::Host => "registry host",
            Self::Digest => "digest",
        })
    }
}

/// Why an image reference was refused, named in [`ImageError::InvalidReference`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Problem {
    /// Nothing was given.
    Empty,
    /// The reference holds white space or a control character.
    WhiteSpace,
    /// The registry host is not a DNS name or an IP address with an optional port.
    Host,
    /// The repository path has upper-case letters, which the distribution spec forbids;
    /// `suggestion` is the reference with its path in lower case.
    UpperCase {
        /// The reference as written, its repository path in lower case.
        suggestion: String,
    },
    /// The repository path breaks the distribution spec's component grammar.
    Repository,
    /// The repository path is longer than [`MAX_REPOSITORY_LEN`](crate::MAX_REPOSITORY_LEN).
    RepositoryTooLong,
    /// The tag breaks the distribution spec's tag grammar.
    Tag,
    /// The digest is not `ALGORITHM:ENCODED`, or not the right length and alphabet for its algorithm.
    Digest,
    /// A name was expected and the reference carries a tag.
    UnexpectedTag,
    /// A name was expected and the reference carries a digest.
    UnexpectedDigest,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty reference"),
            Self::WhiteSpace => f.write_str("contains white space or a control character"),
            Self::Host => f.write_str(
                "the registry host is not a DNS name or IP address with an optional :PORT",
            ),
            Self::UpperCase { suggestion } => write!(
                f,
                "the repository path must be lower case (OCI distribution spec); write {suggestion:?}"
            ),
            Self::Repository => f.write_str(
                "the repository path must be '/'-separated components of lower-case letters \
                 and digits joined by '.', '_', '__' or '-'",
            ),
            Self::RepositoryTooLong => {
                f.write_str("the repository path is longer than 255 characters")
            }
            Self::Tag => f.write_str("the tag must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}"),
            Self::Digest => f.write_str(
                "the digest must be ALGORITHM:ENCODED, sha256: with 64 and sha512: with 128 \
                 lower-case hex digits",
            ),
            Self::UnexpectedTag => f.write_str("expected an image name without tag"),
            Self::UnexpectedDigest => f.write_str("expected an image name without digest"),
        }
    }
}

/// A name or reference that breaks the OCI distribution rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// An image reference or name could not be parsed.
    #[error("invalid image reference {input:?}: {problem}")]
    InvalidReference {
        /// The start of the reference as given (at most 80 characters); `Display` escapes it.
        input: String,
        /// The rule it breaks.
        problem: Problem,
    },

    /// A tag, repository name, registry host or digest checked on its own breaks
    /// its rule (see [`validate_tag`](crate::validate_tag) and its siblings).
    #[error("invalid {kind} {value:?} ({length} bytes): expected {rule}")]
    InvalidName {
        /// What kind of name it is.
        kind: NameKind,
        /// The start of the value (at most 80 characters); `Display` escapes it.
        value: String,
        /// The value's full length in bytes.
        length: usize,
        /// The rule it breaks.
        rule: &'static str,
    },
}

impl ImageError {
    pub(crate) fn reference(input: &str, problem: Problem) -> Self {
        Self::InvalidReference {
            input: quoted(input),
            problem,
        }
    }

    pub(crate) fn name(kind: NameKind, value: &str, rule: &'static str) -> Self {
        Self::InvalidName {
            kind,
            value: quoted(value),
            length: value.len(),
            rule,
        }
    }

    /// The rule an [`ImageError::InvalidReference`] breaks.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::InvalidReference { problem, .. } => Some(problem),
            Self::InvalidName { .. } => None,
        }
    }
}

/// The first [`QUOTED_LEN`] characters of `value`, with `…` when cut.
fn quoted(value: &str) -> String {
    let mut quoted: String = value.chars().take(QUOTED_LEN).collect();
    if quoted.len() < value.len() {
        quoted.push('…');
    }
    quoted
}
