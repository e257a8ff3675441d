//! Lossless rewriting of container image references in YAML manifests.
//!
//! Bytes in, bytes out: [`rewrite`] finds image references in Kubernetes objects (`image` of
//! `containers`, `initContainers` and `ephemeralContainers` entries at any depth, which covers
//! every pod-template kind and custom resources embedding pod specs, plus
//! [`Options::object_image_paths`]), Helm values (`image` and `*Image` keys holding a reference
//! or a block), Kustomize `images:` entries and Flux setter markers, and splices new values into
//! the exact byte span of each old one. A reference to an updated image seen anywhere else is
//! reported in [`Outcome::skipped`], not changed. See `docs/rewrite.md`.
//! Every other byte — comments, quoting, indentation, line endings, a missing final newline —
//! stays as it was. The result is parsed again and each new value checked before it is returned.
//!
//! [`rewrite_tree`] applies updates to files and directories, one file in memory at a time,
//! writing nothing unless every file could be processed.
//!
//! ```
//! use kedge_rewrite::{rewrite, Update};
//! let yaml = b"spec:\n  containers:\n  - image: nginx:1.25 # web\n";
//! let out = rewrite("deploy.yaml".as_ref(), yaml, &[Update::parse("nginx=nginx:1.27").unwrap()]).unwrap();
//! assert_eq!(out.bytes, b"spec:\n  containers:\n  - image: nginx:1.27 # web\n");
//! assert_eq!(out.changes.len(), 1);
//! ```

mod edit;
mod error;
mod image_ref;
mod kustomize;
mod layout;
mod locate;
mod plan;
mod scalar;
mod setter;
mod source;
mod stage;
mod tree;
mod walk;

use std::ops::Range;
use std::path::Path;

pub use edit::{Change, Field, Site, Skipped};
pub use error::RewriteError;
pub use image_ref::{ImageRef, Part, PolicyRef, Target, Update, normalise_name};
pub use walk::{ChangedFile, FileOutcome, Mode, TreeOutcome, rewrite_tree, rewrite_tree_each};

use locate::Occurrence;

/// How references are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Keys whose value is an image: a string reference, a Helm block
    /// (`registry`/`repository`/`tag`/`digest` or `sha`), or a map with `reference`.
    /// A bare key (`image`) matches at any depth, so it also finds nested charts' blocks and
    /// every container; a dotted path (`server.sidecar.image`) matches from a document's root.
    pub image_keys: Vec<String>,
    /// Add an `images:` entry to a kustomization that has none for an updated image
    /// ([`rewrite_tree`]: only where the kustomization's `resources` or `components` use it).
    pub add_kustomize_entries: bool,
    /// Extra image fields of Kubernetes objects (custom resources with their own image
    /// fields), as dotted paths from the object's root with list levels left out
    /// (`spec.image`, `spec.steps.image`); `Kind:path` limits one to a kind
    /// (`Prometheus:spec.image`). In objects, `image` of `containers`, `initContainers` and
    /// `ephemeralContainers` entries is always an image; `image_keys` apply to values files.
    pub object_image_paths: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            image_keys: vec!["image".to_owned()],
            add_kustomize_entries: false,
            object_image_paths: Vec::new(),
        }
    }
}

/// The result of rewriting one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The new content (equal to the input when nothing changed).
    pub bytes: Vec<u8>,
    /// Every value changed, in file order.
    pub changes: Vec<Change>,
    /// References to an updated image that were seen but not changed, in file order.
    pub skipped: Vec<Skipped>,
}

/// An image reference found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The normalised name (`docker.io/library/nginx`).
    pub name: String,
    /// The reference as written (for Helm blocks and Kustomize entries, assembled from fields).
    pub reference: ImageRef,
    /// What kind of place holds it.
    pub site: Site,
    /// 1-based line.
    pub line: usize,
    /// 1-based character column.
    pub column: usize,
    /// Byte range of the scalar holding the reference (its name part for blocks and entries).
    pub span: Range<usize>,
}

/// Rewrites `bytes` with default [`Options`]. `path` is used for messages and to recognise
/// `kustomization.yaml`; nothing is read from disk.
pub fn rewrite(path: &Path, bytes: &[u8], updates: &[Update]) -> Result<Outcome, RewriteError> {
    rewrite_with(path, bytes, updates, &Options::default())
}

/// Rewrites `bytes` with the given options. With [`Options::add_kustomize_entries`], an entry
/// is added for every updated image ([`rewrite_tree`] adds one only where the kustomization's
/// resources use the image).
pub fn rewrite_with(
    path: &Path,
    bytes: &[u8],
    updates: &[Update],
    options: &Options,
) -> Result<Outcome, RewriteError> {
    rewrite_file(path, bytes, updates, options, None)
}

/// [`rewrite_with`], adding Kustomize entries only for the normalised names in `addable`
/// (every name when `None`).
pub(crate) fn rewrite_file(
    path: &Path,
    bytes: &[u8],
    updates: &[Update],
    options: &Options,
    addable: Option<&std::collections::HashSet<String>>,
) -> Result<Outcome, RewriteError> {
    let text = as_text(path, bytes)?;
    let stream = tree::parse(path, text)?;
    let occurrences = locate::occurrences(path, text, &stream, options);
    let mut planner = plan::Planner::new(path, text);
    planner.plan(&occurrences, updates, options, addable)?;
    let plan::Planner {
        edits,
        changes,
        skipped,
        ..
    } = planner;
    // The input's tree is not needed any more: freed before the output is parsed to verify it,
    // so a big file's two trees are never in memory at once.
    drop(occurrences);
    drop(stream);
    if edits.is_empty() {
        return Ok(Outcome {
            bytes: bytes.to_vec(),
            changes,
            skipped,
        });
    }
    let mut pairs: Vec<(edit::Edit, Change)> = edits.into_iter().zip(changes).collect();
    pairs.sort_by_key(|(e, _)| (e.range.start, e.range.end));
    // Two planned edits over the same bytes (two keys of one entry removed, say) cannot
    // both be applied: refuse the file rather than splice garbage.
    if let Some(pair) = pairs
        .windows(2)
        .find(|w| w[0].0.range.end > w[1].0.range.start)
    {
        let (line, column) = tree::line_col(text, pair[1].0.range.start);
        return Err(RewriteError::Unsupported {
            path: path.to_owned(),
            line,
            column,
            reason: "overlapping edits in one entry; edit this entry by hand".to_owned(),
        });
    }
    let mut delta = 0isize;
    for (e, change) in &mut pairs {
        let start = e.range.start.saturating_add_signed(delta);
        change.new_span = start..start + e.text.len();
        delta += e.text.len() as isize - e.range.len() as isize;
    }
    // Sized exactly: a tree's report keeps every file's changes, and `unzip` would reserve room
    // for four (about 400 bytes a file of nothing).
    let mut edits = Vec::with_capacity(pairs.len());
    let mut changes = Vec::with_capacity(pairs.len());
    for (e, change) in pairs {
        edits.push(e);
        changes.push(change);
    }
    let output = edit::apply(text, &edits);
    verify(path, text, &output, &edits)?;
    Ok(Outcome {
        bytes: output.into_bytes(),
        changes,
        skipped,
    })
}

/// Lists the image references in `bytes` (what [`rewrite`] would look at for image updates).
pub fn find_images(
    path: &Path,
    bytes: &[u8],
    options: &Options,
) -> Result<Vec<Found>, RewriteError> {
    let text = as_text(path, bytes)?;
    let stream = tree::parse(path, text)?;
    let mut found = Vec::new();
    for occurrence in locate::occurrences(path, text, &stream, options) {
        let (scalar, reference, site) = match occurrence {
            Occurrence::Full { scalar, .. } => match ImageRef::parse(&scalar.value) {
                Ok(r) => (scalar, r, Site::ImageField),
                Err(_) => continue,
            },
            Occurrence::Block { block, .. } => match ImageRef::parse(&block.name()) {
                Ok(r) if r.tag.is_none() && r.digest.is_none() => {
                    (block.repository, block.reference(), Site::HelmBlock)
                }
                _ => continue,
            },
            Occurrence::Entry { entry, .. } => {
                let value =
                    |s: Option<&tree::Scalar>| s.and_then(tree::Scalar::text).map(str::to_owned);
                let reference = ImageRef {
                    name: entry.name.value.clone(),
                    tag: value(entry.new_tag),
                    digest: value(entry.digest),
                };
                (entry.name, reference, Site::Kustomize)
            }
            Occurrence::Marker { .. } | Occurrence::List(_) | Occurrence::Seen(_) => continue,
        };
        if ImageRef::parse(&reference.name).is_err() {
            continue;
        }
        found.push(Found {
            name: reference.normalised_name(),
            reference,
            site,
            line: scalar.pos.line,
            column: scalar.pos.col + 1,
            span: scalar.span.clone(),
        });
    }
    Ok(found)
}

fn as_text<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str, RewriteError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("");
        let (line, column) = tree::line_col(valid, valid.len());
        RewriteError::Encoding {
            path: path.to_owned(),
            line,
            column,
        }
    })
}

/// Parses the output again and checks that every replaced scalar reads back as intended.
/// Spaces an edit writes before its scalar (a value filled in after `key:`).
fn leading_spaces(text: &str) -> usize {
    text.len() - text.trim_start_matches(' ').len()
}

fn verify(
    path: &Path,
    input: &str,
    output: &str,
    edits: &[edit::Edit],
) -> Result<(), RewriteError> {
    let stream = tree::parse(path, output).map_err(|e| match e {
        RewriteError::Parse { line, column, .. } => RewriteError::Verification {
            path: path.to_owned(),
            line,
            column,
            expected: "valid YAML".to_owned(),
        },
        other => other,
    })?;
    let mut wanted = std::collections::HashMap::new();
    let mut delta: isize = 0;
    for e in edits {
        if e.expect.is_some() {
            wanted.insert(
                e.range.start.saturating_add_signed(delta) + leading_spaces(&e.text),
                None,
            );
        }
        delta += e.text.len() as isize - e.range.len() as isize;
    }
    collect_scalars(&stream, &mut wanted);
    let values: std::collections::HashMap<usize, String> = wanted
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    let mut delta: isize = 0;
    for e in edits {
        let new_start = e.range.start.saturating_add_signed(delta) + leading_spaces(&e.text);
        delta += e.text.len() as isize - e.range.len() as isize;
        if let Some(expected) = &e.expect
            && values.get(&new_start).map(String::as_str) != Some(expected.as_str())
        {
            let (line, column) = tree::line_col(input, e.range.start);
            return Err(RewriteError::Verification {
                path: path.to_owned(),
                line,
                column,
                expected: expected.clone(),
            });
        }
    }
    Ok(())
}

/// Fills in the values of the scalars starting at the offsets already in `out`.
fn collect_scalars(
    stream: &tree::Stream,
    out: &mut std::collections::HashMap<usize, Option<String>>,
) {
    fn visit(node: &tree::Node, out: &mut std::collections::HashMap<usize, Option<String>>) {
        match node {
            tree::Node::Scalar(s) => {
                if let Some(slot) = out.get_mut(&s.span.start) {
                    *slot = Some(s.value.clone());
                }
            }
            tree::Node::Map(m) => m.items.iter().for_each(|(k, v)| {
                visit(k, out);
                visit(v, out);
            }),
            tree::Node::Seq(s) => s.items.iter().for_each(|i| visit(i, out)),
            tree::Node::Alias { .. } => {}
        }
    }
    stream.documents.iter().for_each(|d| visit(&d.root, out));
}
