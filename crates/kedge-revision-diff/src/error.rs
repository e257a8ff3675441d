//! What can go wrong while diffing two revisions, each naming the revision,
//! path or object. The message gives the context; the cause is the source.

use std::path::PathBuf;

/// A revision diff that could not be made: nothing is reported as changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevisionDiffError {
    /// The range is not `A..B` or `A...B`.
    #[error("bad revision range `{range}`: {reason}")]
    BadRange {
        /// The range as given.
        range: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The path is not inside a Git working tree.
    #[error("{} is not inside a Git working tree", path.display())]
    NotARepository {
        /// The path as given.
        path: PathBuf,
        /// What libgit2 (or the file system) said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A revision does not name a commit of the repository.
    #[error("unknown revision `{revision}`")]
    UnknownRevision {
        /// The revision as given.
        revision: String,
        /// What libgit2 (or the file system) said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The two revisions have no common ancestor (`A...B`).
    #[error("`{from}` and `{to}` have no common ancestor")]
    NoMergeBase {
        /// The first revision.
        from: String,
        /// The second revision.
        to: String,
        /// What libgit2 (or the file system) said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The tree of a revision could not be read.
    #[error("reading the tree of `{revision}`")]
    ReadTree {
        /// The revision.
        revision: String,
        /// What libgit2 (or the file system) said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The tree of a revision could not be written out.
    #[error("writing the tree of `{revision}` to {}", path.display())]
    Checkout {
        /// The revision.
        revision: String,
        /// The file or directory being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A tree entry's name would write outside the checkout.
    #[error("`{revision}` has an unsafe entry name `{name}` in its tree")]
    UnsafeEntry {
        /// The revision.
        revision: String,
        /// The entry's name.
        name: String,
    },
    /// The path is in neither revision.
    #[error("{} exists at neither `{from}` nor `{to}`", path.display())]
    PathMissing {
        /// The path, relative to the repository's root.
        path: PathBuf,
        /// The first revision.
        from: String,
        /// The second revision.
        to: String,
    },
    /// Rendering the path at a revision failed.
    #[error("rendering {} at `{revision}`", path.display())]
    Render {
        /// The revision.
        revision: String,
        /// The path, relative to the repository's root.
        path: PathBuf,
        /// The render's error (file and line, or the tool's stderr);
        /// boxed, as it is several times larger than the other variants.
        #[source]
        source: Box<kedge_render::RenderError>,
    },
    /// An object could not be written as YAML (boxed: the serializer's
    /// error is large, and this one never happens for parsed objects).
    #[error("writing {key} at `{revision}` as YAML")]
    Yaml {
        /// The object.
        key: String,
        /// The revision.
        revision: String,
        /// The serializer's error.
        #[source]
        source: Box<serde_saphyr::SerializeError>,
    },
}
