//! Comparing two renders object by object: which objects were added,
//! removed or changed, each with a unified diff of its YAML.

use std::collections::BTreeMap;

use kedge_render::{ObjectKey, RenderedObject};
use serde::Serialize;
use similar::TextDiff;

use crate::RevisionDiffError;

/// Lines of context around each change, as `git diff` shows them.
const CONTEXT_LINES: usize = 3;

/// How one object differs between the two revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Change {
    /// Only the second revision has it.
    Added,
    /// Only the first revision has it.
    Removed,
    /// Both have it, with different content.
    Changed,
}

/// One object that differs, with its diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ObjectChange {
    /// The object's identity (group, kind, namespace, name).
    pub key: ObjectKey,
    /// Added, removed or changed.
    pub change: Change,
    /// A unified diff of the object's YAML, headers included:
    /// `--- a/KEY (A)` / `+++ b/KEY (B)`, `/dev/null` for the missing side.
    pub diff: String,
}

/// One revision's render, named for the diff's headers.
pub(crate) struct Side<'a> {
    /// The revision as the user wrote it.
    pub name: &'a str,
    /// What it renders to.
    pub objects: &'a [RenderedObject],
}

/// The objects that differ between `from` and `to`, ordered by key; objects
/// with equal content are left out.
pub(crate) fn compare(
    from: &Side<'_>,
    to: &Side<'_>,
) -> Result<Vec<ObjectChange>, RevisionDiffError> {
    let before = by_key(from)?;
    let mut after = by_key(to)?;
    let mut changes = Vec::new();
    for (id, old) in before {
        let new = after.remove(&id);
        if new.as_ref() == Some(&old) {
            continue;
        }
        let change = if new.is_some() {
            Change::Changed
        } else {
            Change::Removed
        };
        changes.push(object_change(
            &id.0,
            change,
            Some(&old),
            new.as_deref(),
            from,
            to,
        ));
    }
    for (id, new) in after {
        changes.push(object_change(
            &id.0,
            Change::Added,
            None,
            Some(&new),
            from,
            to,
        ));
    }
    changes.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(changes)
}

/// Each object's YAML by key. Objects with only a `generateName` share a
/// key; their order among themselves tells them apart.
fn by_key(side: &Side<'_>) -> Result<BTreeMap<(ObjectKey, usize), String>, RevisionDiffError> {
    let mut out = BTreeMap::new();
    let mut seen: BTreeMap<ObjectKey, usize> = BTreeMap::new();
    for object in side.objects {
        let key = object.key();
        let yaml =
            serde_saphyr::to_string(&object.object).map_err(|source| RevisionDiffError::Yaml {
                key: key.to_string(),
                revision: side.name.to_owned(),
                source: Box::new(source),
            })?;
        let ordinal = seen.entry(key.clone()).or_default();
        out.insert((key, *ordinal), yaml);
        *ordinal += 1;
    }
    Ok(out)
}

fn object_change(
    key: &ObjectKey,
    change: Change,
    old: Option<&str>,
    new: Option<&str>,
    from: &Side<'_>,
    to: &Side<'_>,
) -> ObjectChange {
    let old_header = match old {
        Some(_) => format!("a/{key} ({})", from.name),
        None => "/dev/null".to_owned(),
    };
    let new_header = match new {
        Some(_) => format!("b/{key} ({})", to.name),
        None => "/dev/null".to_owned(),
    };
    let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
    let diff = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(&old_header, &new_header)
        .to_string();
    ObjectChange {
        key: key.clone(),
        change,
        diff,
    }
}
