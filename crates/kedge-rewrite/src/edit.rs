//! Byte-level edits and the change records they produce.

use std::ops::Range;
use std::sync::Arc;

/// What kind of value a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// A whole reference (`image: nginx:1.27`).
    Reference,
    /// An image name or repository (`newName`, Helm `repository`, setter `:name`).
    Name,
    /// A registry host (Helm `registry`).
    Registry,
    /// A tag (`newTag`, Helm `tag`, setter `:tag`).
    Tag,
    /// A digest (`digest`, Helm `digest`/`sha`, setter `:digest`).
    Digest,
    /// A whole new Kustomize `images:` entry.
    Entry,
}

/// Where the change was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Site {
    /// An `image:` value (containers, init/ephemeral containers, CRs, Helm single string).
    ImageField,
    /// A Helm-style image block (`registry`/`repository`/`tag`/`digest`).
    HelmBlock,
    /// A Kustomize `images:` entry.
    Kustomize,
    /// A value marked with a Flux setter comment.
    Setter,
}

/// One value that changed.
///
/// The image name and the old and new values are shared strings: across a tree, every change
/// with the same value holds one copy of it (see [`crate::rewrite_tree`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// 1-based line of the old value (of the insertion point for added keys).
    pub line: usize,
    /// 1-based character column.
    pub column: usize,
    /// Where the value was found.
    pub site: Site,
    /// Which part of the reference it holds.
    pub field: Field,
    /// The normalised image name (or `namespace:policy` for setters) that matched.
    pub image: Arc<str>,
    /// The old value (`None` when a key was added).
    pub old: Option<Arc<str>>,
    /// The new value (`None` when a key was removed).
    pub new: Option<Arc<str>>,
    /// Which reference of the file this change belongs to: changes with the same number edit one
    /// reference (a Helm block's `repository` and `tag`, say).
    pub reference: usize,
    /// Byte range of the replaced (or removed) text in the input; empty for an insertion.
    pub span: Range<usize>,
    /// Byte range of the text written in its place in the output; empty for a removal.
    pub new_span: Range<usize>,
}

/// A reference to an updated image that was seen but left unchanged, because no rule says it
/// is an image field (a ConfigMap's `data.image`, a values key kedge does not know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line of the value.
    pub line: usize,
    /// 1-based character column.
    pub column: usize,
    /// Dotted key path from the document root (list levels left out), e.g. `data.image`.
    pub key: String,
    /// The normalised image name that was asked for.
    pub image: String,
    /// The value as written.
    pub value: String,
    /// The option that would include it, e.g. `--object-image-path data.image`.
    pub option: String,
}

/// A planned byte edit: replace `range` with `text`. `expect` is the scalar value the new text
/// must read back as (for replaced scalars).
#[derive(Debug, Clone)]
pub(crate) struct Edit {
    pub range: Range<usize>,
    pub text: String,
    pub expect: Option<String>,
}

/// Applies non-overlapping edits (sorted by start) to `text`.
pub(crate) fn apply(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for edit in edits {
        out.push_str(&text[at..edit.range.start]);
        out.push_str(&edit.text);
        at = edit.range.end;
    }
    out.push_str(&text[at..]);
    out
}
