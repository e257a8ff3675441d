//! Which images a kustomization's resources use, so that `--add-missing` adds an `images:`
//! entry only where the image transformer would find the image.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::tree::Node;
use crate::{Options, find_images};

/// How deep `resources` and `components` are followed through other kustomizations.
const MAX_DEPTH: usize = 32;

/// Files larger than this are not read for image names.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The kustomization file names Kustomize looks for in a directory.
const NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The normalised names of the images that the `resources` and `components` of the
/// kustomization at `path` use, following directories through their own kustomizations.
/// Remote resources and files that cannot be read count as using nothing.
pub(crate) fn images_used(path: &Path, options: &Options) -> HashSet<String> {
    let mut used = HashSet::new();
    let mut visited = HashSet::new();
    visit(path, options, &mut used, &mut visited, 0);
    used
}

fn visit(
    kustomization: &Path,
    options: &Options,
    used: &mut HashSet<String>,
    visited: &mut HashSet<PathBuf>,
    depth: usize,
) {
    let Ok(canonical) = fs::canonicalize(kustomization) else {
        return;
    };
    if depth > MAX_DEPTH || !visited.insert(canonical) {
        return;
    }
    let Some(text) = read(kustomization) else {
        return;
    };
    let Ok(stream) = crate::tree::parse(kustomization, &text) else {
        return;
    };
    let dir = kustomization.parent().unwrap_or(Path::new("."));
    for doc in &stream.documents {
        for key in ["resources", "components"] {
            let Some(Node::Seq(list)) = doc.root.get(key) else {
                continue;
            };
            for entry in list.items.iter().filter_map(Node::as_scalar) {
                if entry.value.contains("://") || entry.value.contains("?ref=") {
                    continue;
                }
                let target = dir.join(&entry.value);
                if target.is_dir() {
                    if let Some(inner) = NAMES.iter().map(|n| target.join(n)).find(|p| p.is_file())
                    {
                        visit(&inner, options, used, visited, depth + 1);
                    }
                } else if let Some(bytes) = read(&target) {
                    let found = find_images(&target, bytes.as_bytes(), options);
                    used.extend(found.into_iter().flatten().map(|f| f.name));
                }
            }
        }
    }
}

/// The text of a regular file of reasonable size.
fn read(path: &Path) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    fs::read_to_string(path).ok()
}
