//! What a change to a GitOps repository does to the rendered objects, with no
//! cluster: the path is rendered at two revisions and the object streams are
//! compared by identity, as a reviewer of a pull request wants to see it.
//!
//! Each revision's tree is written out to a temporary directory and rendered
//! there with the same [`Renderer`], so Kustomize bases outside the path and
//! Helm values files are read as that revision has them. A render failure at
//! either revision is an error naming the revision; a path that only one
//! revision has renders to no objects at the other (an app added or removed).
//!
//! ```no_run
//! use kedge_render::Renderer;
//! use kedge_revision_diff::{GITHUB_COMMENT_LIMIT, RevisionRange, diff_revisions};
//!
//! # fn run() -> Result<(), kedge_revision_diff::RevisionDiffError> {
//! let range: RevisionRange = "main...feature".parse()?;
//! let diff = diff_revisions("apps/shop".as_ref(), &range, &Renderer::Plain, None)?;
//! println!("{}", diff.summary());
//! let comment = diff.to_markdown(GITHUB_COMMENT_LIMIT);
//! # let _ = comment;
//! # Ok(())
//! # }
//! ```

mod checkout;
mod compare;
mod error;
mod range;
mod report;
mod resolve;

use std::path::Path;
use std::sync::Arc;

use kedge_render::{RenderCache, RenderKey, RenderedObject, Renderer};

pub use compare::{Change, ObjectChange};
pub use error::RevisionDiffError;
pub use range::RevisionRange;
pub use report::{GITHUB_COMMENT_LIMIT, Revision, RevisionDiff, Summary};

use checkout::Checkout;
use compare::{Side, compare};
use resolve::{RepoPath, ResolvedRevision};

/// Renders `path` (inside a Git working tree) at both revisions of `range`
/// with `renderer`, and compares the results. With a `cache`, a revision
/// whose render is already known (same commit, path and renderer) is
/// neither written out nor rendered again.
pub fn diff_revisions(
    path: &Path,
    range: &RevisionRange,
    renderer: &Renderer,
    cache: Option<&RenderCache>,
) -> Result<RevisionDiff, RevisionDiffError> {
    let repo_path = RepoPath::find(path)?;
    let (from, to) = resolve::resolve_range(&repo_path.repo, range)?;
    let from_present = from.has_path(&repo_path.relative)?;
    let to_present = to.has_path(&repo_path.relative)?;
    if !from_present && !to_present {
        return Err(RevisionDiffError::PathMissing {
            path: repo_path.relative,
            from: from.name,
            to: to.name,
        });
    }
    if from.commit.tree_id() == to.commit.tree_id() {
        // The same repository content renders the same objects.
        return Ok(RevisionDiff {
            path: repo_path.relative.clone(),
            from: from.revision(),
            to: to.revision(),
            changes: Vec::new(),
        });
    }
    let render_side = |revision: &ResolvedRevision<'_>, present: bool| {
        if present {
            render_at(&repo_path, revision, renderer, cache)
        } else {
            Ok(Arc::from(Vec::new()))
        }
    };
    let before = render_side(&from, from_present)?;
    let after = render_side(&to, to_present)?;
    let changes = compare(
        &Side {
            name: &from.name,
            objects: &before,
        },
        &Side {
            name: &to.name,
            objects: &after,
        },
    )?;
    Ok(RevisionDiff {
        path: repo_path.relative.clone(),
        from: from.revision(),
        to: to.revision(),
        changes,
    })
}

/// The objects of the path at one revision: from the cache, or by writing
/// the revision's tree out and rendering it.
fn render_at(
    repo_path: &RepoPath,
    revision: &ResolvedRevision<'_>,
    renderer: &Renderer,
    cache: Option<&RenderCache>,
) -> Result<Arc<[RenderedObject]>, RevisionDiffError> {
    let key = RenderKey::new(
        revision.commit.id().to_string(),
        &repo_path.relative,
        renderer.clone(),
    );
    if let Some(objects) = cache.and_then(|cache| cache.get(&key)) {
        return Ok(objects);
    }
    let tree = revision
        .commit
        .tree()
        .map_err(|source| RevisionDiffError::ReadTree {
            revision: revision.name.clone(),
            source: source.into(),
        })?;
    let checkout = Checkout::write(&repo_path.repo, &tree, &revision.name)?;
    let rendered = match cache {
        Some(cache) => cache.render(&key, checkout.root()),
        None => kedge_render::render(&checkout.root().join(&key.path), renderer).map(Arc::from),
    };
    rendered.map_err(|source| RevisionDiffError::Render {
        revision: revision.name.clone(),
        path: repo_path.relative.clone(),
        source: Box::new(source),
    })
}
