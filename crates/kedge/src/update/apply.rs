//! Applying chosen references to a checked-out repository with the lossless
//! rewriter. Runs on the working clone only; the caller commits or resets.

use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::time::SystemTime;

use kedge_policy::TagPolicy;
use kedge_rewrite::{
    Change, Field, ImageRef, Mode, Options, Part, Target, TreeOutcome, Update, rewrite_tree,
};

use super::UpdateError;
use super::result::{ImageFailure, ImageUpdate};

/// One image with its chosen reference, ready to apply.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// Configured alias.
    pub alias: String,
    /// Configured image name.
    pub image: String,
    /// Chosen tag.
    pub tag: String,
    /// Its digest.
    pub digest: String,
    /// The reference as pinned (`image:tag`, `image@digest`, `image:tag@digest`).
    pub reference: String,
    /// Tag and digest as the pin wants them.
    pub tag_part: Option<String>,
    /// Digest part as the pin wants it.
    pub digest_part: Option<String>,
    /// Repository-relative targets.
    pub targets: Vec<String>,
    /// Extra image fields of objects (`images[].objectImagePaths`).
    pub object_image_paths: Vec<String>,
    /// The policy that chose `tag`, when it can rank tags without build times:
    /// used to never move a manifest back from a tag it prefers.
    pub policy: Option<Arc<TagPolicy>>,
}

/// What applying the plan did: the images that changed, and those that could
/// not be applied (nothing written for them).
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Images whose references changed.
    pub updates: Vec<ImageUpdate>,
    /// Images that failed, with why.
    pub failed: Vec<ImageFailure>,
}

/// Rewrites every planned image under `workdir`. An image whose targets are
/// missing or whose files cannot all be processed is reported in
/// [`Applied::failed`] with nothing written for it; the others go ahead. A
/// file that fails to be written is an error for the whole run: the caller
/// resets the clone, so nothing half-written is committed.
pub(crate) fn apply(workdir: &Path, planned: &[Planned]) -> Result<Applied, UpdateError> {
    let mut applied = Applied::default();
    for plan in planned {
        let mut staged = match stage_image(workdir, plan) {
            Ok(Some(staged)) => staged,
            Ok(None) => continue,
            Err(error) => {
                applied
                    .failed
                    .push(ImageFailure::new(&plan.alias, &plan.image, &error));
                continue;
            }
        };
        applied
            .updates
            .extend(write_staged(workdir, plan, &mut staged)?);
    }
    Ok(applied)
}

/// Stages one image's rewrite (nothing written yet); `None` when the
/// manifests already have a tag its policy prefers.
fn stage_image(workdir: &Path, plan: &Planned) -> Result<Option<TreeOutcome>, UpdateError> {
    let paths = target_paths(workdir, plan)?;
    // A symlink in the repository must not make kedge read or write outside its clone
    // (the walk below does not follow symlinks inside directories).
    for path in &paths {
        inside(workdir, path, &plan.alias)?;
    }
    let update = Update::Image {
        name: plan.image.clone(),
        // The name stays as each manifest spells it; only tag and digest change.
        target: Target {
            name: None,
            tag: Part::Set(plan.tag_part.clone()),
            digest: Part::Set(plan.digest_part.clone()),
        },
    };
    let fail = |source| UpdateError::Rewrite {
        alias: plan.alias.clone(),
        source,
    };
    // Staged and looked at before anything is renamed into place: parsed once.
    let options = Options {
        object_image_paths: plan.object_image_paths.clone(),
        ..Options::default()
    };
    let outcome =
        rewrite_tree(&paths, std::slice::from_ref(&update), &options, Mode::Stage).map_err(fail)?;
    for (path, skipped) in &outcome.skipped {
        tracing::warn!(alias = %plan.alias, file = %path.display(), line = skipped.line,
            key = %skipped.key, value = %skipped.value,
            "reference to the image left unchanged: not an image field kedge rewrites \
             (images[].objectImagePaths would include an object's field)");
    }
    // The plan was made before this checkout: another writer may have moved the
    // manifests past it since. Never move an image back.
    let old_changes = outcome.files.iter().flat_map(|f| &f.changes);
    if let Some(newer) = preferred_old_tag(plan, old_changes) {
        tracing::warn!(alias = %plan.alias, manifest = %newer, chosen = %plan.tag,
            "manifests already have a tag the policy prefers; leaving them");
        return Ok(None);
    }
    Ok(Some(outcome))
}

/// Writes a staged rewrite into place; `None` when it changes nothing.
fn write_staged(
    workdir: &Path,
    plan: &Planned,
    outcome: &mut TreeOutcome,
) -> Result<Option<ImageUpdate>, UpdateError> {
    outcome.write().map_err(|source| UpdateError::Rewrite {
        alias: plan.alias.clone(),
        source,
    })?;
    if outcome.files.is_empty() {
        return Ok(None);
    }
    let changes: Vec<_> = outcome.files.iter().flat_map(|f| &f.changes).collect();
    let first = changes.first();
    Ok(Some(ImageUpdate {
        alias: plan.alias.clone(),
        image: plan.image.clone(),
        old_reference: (first.and_then(|c| c.old.as_deref()))
            .unwrap_or_default()
            .to_owned(),
        old_tag: first.and_then(|c| old_tag(c)),
        new_reference: plan.reference.clone(),
        new_tag: plan.tag.clone(),
        new_digest: plan.digest.clone(),
        files: outcome
            .files
            .iter()
            .map(|f| relative(workdir, &f.path))
            .collect(),
        changes: changes.len(),
    }))
}

/// An old tag in the manifests that the plan's policy ranks above the planned tag.
fn preferred_old_tag<'c>(
    plan: &Planned,
    changes: impl Iterator<Item = &'c Change>,
) -> Option<String> {
    let policy = plan.policy.as_ref()?;
    let no_build_time = |_: &str| None;
    changes.filter_map(old_tag).find(|old| {
        old != &plan.tag
            && policy
                .select_from(
                    [old.as_str(), plan.tag.as_str()],
                    &no_build_time,
                    SystemTime::now(),
                )
                .is_ok_and(|chosen| chosen.tag == old.as_str())
    })
}

fn old_tag(change: &Change) -> Option<String> {
    match change.field {
        Field::Reference => ImageRef::parse(change.old.as_deref()?).ok()?.tag,
        Field::Tag => change.old.as_deref().map(str::to_owned),
        _ => None,
    }
}

fn inside(workdir: &Path, path: &Path, alias: &str) -> Result<(), UpdateError> {
    let resolved = path.canonicalize().ok();
    let root = workdir.canonicalize().ok();
    match (resolved, root) {
        (Some(resolved), Some(root)) if resolved.starts_with(&root) => Ok(()),
        _ => Err(UpdateError::OutsideRepository {
            alias: alias.to_owned(),
            path: relative(workdir, path),
        }),
    }
}

fn target_paths(workdir: &Path, plan: &Planned) -> Result<Vec<PathBuf>, UpdateError> {
    plan.targets
        .iter()
        .map(|target| {
            let path = workdir.join(target);
            if path.exists() {
                Ok(path)
            } else {
                Err(UpdateError::MissingTarget {
                    alias: plan.alias.clone(),
                    target: target.clone(),
                })
            }
        })
        .collect()
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
