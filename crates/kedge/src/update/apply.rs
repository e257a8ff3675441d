//! Applying chosen references to a checked-out repository with the lossless
//! rewriter. Runs on the working clone only; the caller commits or resets.

use std::path::{Path, PathBuf};

use kedge_rewrite::{Field, ImageRef, Options, Part, Target, Update, rewrite_tree};

use super::UpdateError;
use super::result::ImageUpdate;

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
}

/// Rewrites every planned image under `workdir`; returns the images that changed.
/// Nothing is written for an image whose files could not all be processed.
pub(crate) fn apply(workdir: &Path, planned: &[Planned]) -> Result<Vec<ImageUpdate>, UpdateError> {
    let mut updates = Vec::new();
    for plan in planned {
        let paths = target_paths(workdir, plan)?;
        let update = Update::Image {
            name: plan.image.clone(),
            // The name stays as each manifest spells it; only tag and digest change.
            target: Target {
                name: None,
                tag: Part::Set(plan.tag_part.clone()),
                digest: Part::Set(plan.digest_part.clone()),
            },
        };
        let outcome =
            rewrite_tree(&paths, &[update], &Options::default(), false).map_err(|source| {
                UpdateError::Rewrite {
                    alias: plan.alias.clone(),
                    source,
                }
            })?;
        if outcome.files.is_empty() {
            continue;
        }
        let changes: Vec<_> = outcome
            .files
            .iter()
            .flat_map(|f| &f.outcome.changes)
            .collect();
        let first = changes.first();
        let old_reference = first.and_then(|c| c.old.clone()).unwrap_or_default();
        let old_tag = first.and_then(|c| match c.field {
            Field::Reference => ImageRef::parse(c.old.as_deref()?).ok()?.tag,
            Field::Tag => c.old.clone(),
            _ => None,
        });
        updates.push(ImageUpdate {
            alias: plan.alias.clone(),
            image: plan.image.clone(),
            old_reference,
            old_tag,
            new_reference: plan.reference.clone(),
            new_tag: plan.tag.clone(),
            new_digest: plan.digest.clone(),
            files: outcome
                .files
                .iter()
                .map(|f| relative(workdir, &f.path))
                .collect(),
            changes: changes.len(),
        });
    }
    Ok(updates)
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
