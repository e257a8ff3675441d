//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while finding or rewriting image references.
///
/// Positions are 1-based (`line`, `column`), as editors show them; `column` counts characters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// The file is not valid YAML, so it is left untouched.
    #[error("{path}:{line}:{column}: invalid YAML: {message}")]
    Parse {
        /// The file that failed to parse.
        path: PathBuf,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What the parser reported.
        message: String,
    },
    /// The file is not UTF-8 text.
    #[error("{path}:{line}:{column}: file is not valid UTF-8")]
    Encoding {
        /// The offending file.
        path: PathBuf,
        /// Line of the first invalid byte.
        line: usize,
        /// Column of the first invalid byte.
        column: usize,
    },
    /// The value to change is reached through an alias (`*name`): editing it would silently change
    /// every other user of the anchor, so the edit is refused.
    #[error(
        "{path}:{line}:{column}: image `{image}` is reached through alias `*{alias}`; edit the anchored value instead"
    )]
    EditThroughAlias {
        /// The file holding the alias.
        path: PathBuf,
        /// Line of the alias.
        line: usize,
        /// Column of the alias.
        column: usize,
        /// The anchor name the alias refers to.
        alias: String,
        /// The image reference found behind the alias.
        image: String,
    },
    /// The value to change is anchored (`&name`) and another image reaches it through an alias:
    /// editing it would change that image too, so the edit is refused.
    #[error(
        "{path}:{line}: this value is anchored as `&{anchor}` and image `{image}` uses it through `*{anchor}` at line {alias_line}; editing it would change both, so give that image its own value"
    )]
    SharedAnchor {
        /// The file holding the anchored value.
        path: PathBuf,
        /// Line of the anchored value.
        line: usize,
        /// The anchor name.
        anchor: String,
        /// Line of the alias that shares it.
        alias_line: usize,
        /// The other image that reaches the value through the alias.
        image: String,
    },
    /// The value to change is written in a way this crate does not rewrite (a block scalar, a
    /// tagged scalar, a flow collection that needs a new key).
    #[error("{path}:{line}:{column}: cannot rewrite this value: {reason}")]
    Unsupported {
        /// The file holding the value.
        path: PathBuf,
        /// Line of the value.
        line: usize,
        /// Column of the value.
        column: usize,
        /// Why it cannot be rewritten.
        reason: String,
    },
    /// A reference or an update given by the caller is malformed.
    #[error("invalid image reference `{reference}`: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The rewritten text did not read back as intended; nothing is written. This is a bug guard.
    #[error("{path}:{line}:{column}: rewritten value does not read back as `{expected}`")]
    Verification {
        /// The file being rewritten.
        path: PathBuf,
        /// Line of the value.
        line: usize,
        /// Column of the value.
        column: usize,
        /// The value that should have been read back.
        expected: String,
    },
    /// Some files could not be processed, so no file was written.
    #[error(
        "{} file(s) could not be processed; nothing was written: {}",
        errors.len(),
        errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Files {
        /// One error per failing file, in path order.
        errors: Vec<RewriteError>,
    },
    /// The file is not a regular file (a FIFO, a device, a socket, or a symlink to one), so it is
    /// not read.
    #[error("{path}: {kind}, not a regular file; only regular files are read")]
    NotRegular {
        /// The file as named.
        path: PathBuf,
        /// What it is (`a FIFO`, `a character device`, …).
        kind: &'static str,
    },
    /// The file would change but replacing it would lose something (its owner, its other hard
    /// links) or is not allowed (read-only, immutable), so nothing is written.
    #[error("{path}: not replaced: {reason}")]
    NotReplaceable {
        /// The file.
        path: PathBuf,
        /// Why it cannot be replaced.
        reason: String,
    },
    /// Renaming a staged file into place failed after other files had been renamed: the listed
    /// files hold their new content, the others their old one.
    #[error(
        "{source}; {} file(s) were written before this failure ({}), {} were not",
        written.len(),
        written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        not_written.len()
    )]
    PartialWrite {
        /// Files renamed into place, in order.
        written: Vec<PathBuf>,
        /// Files left with their old content, the failing one first.
        not_written: Vec<PathBuf>,
        /// The failed rename.
        #[source]
        source: Box<RewriteError>,
    },
    /// Reading, writing or renaming a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl RewriteError {
    /// The file this error is about, when it is about one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Self::Parse { path, .. }
            | Self::Encoding { path, .. }
            | Self::EditThroughAlias { path, .. }
            | Self::SharedAnchor { path, .. }
            | Self::Unsupported { path, .. }
            | Self::Verification { path, .. }
            | Self::NotRegular { path, .. }
            | Self::NotReplaceable { path, .. }
            | Self::Io { path, .. } => Some(path),
            Self::PartialWrite { not_written, .. } => not_written.first().map(PathBuf::as_path),
            Self::InvalidReference { .. } | Self::Files { .. } => None,
        }
    }
}
