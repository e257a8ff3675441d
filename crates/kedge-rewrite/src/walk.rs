//! Rewriting files and directory trees: everything is processed in memory first, and nothing is
//! written unless every file succeeded. Writes are atomic (temporary file in the same directory,
//! then rename) and keep the file's permissions.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{Options, Outcome, RewriteError, Skipped, Update, rewrite_file};

/// One file that changed (or would change, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    /// The file.
    pub path: PathBuf,
    /// Its content before the rewrite.
    pub original: Vec<u8>,
    /// The new content and the changes.
    pub outcome: Outcome,
}

/// The result of [`rewrite_tree`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeOutcome {
    /// Files that changed, in path order.
    pub files: Vec<FileOutcome>,
    /// How many files were examined.
    pub scanned: usize,
    /// Whether the changed files were written (false for a dry run).
    pub written: bool,
    /// References to an updated image that were seen but not changed, by file, in path order.
    pub skipped: Vec<(PathBuf, Skipped)>,
}

/// Rewrites every manifest under `paths` (files, or directories walked recursively).
///
/// Directories yield `*.yaml`, `*.yml` and extension-less `Kustomization` files; hidden
/// directories, `.git` and a Helm chart's `templates/` (a directory with `Chart.yaml` beside it)
/// are skipped. A file named explicitly is always processed. With `dry_run`, nothing is written.
/// If any file fails, nothing is written and [`RewriteError::Files`] lists every failure.
pub fn rewrite_tree(
    paths: &[PathBuf],
    updates: &[Update],
    options: &Options,
    dry_run: bool,
) -> Result<TreeOutcome, RewriteError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|source| io(path, source))?;
        if meta.is_dir() {
            collect(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    let mut changed = Vec::new();
    let mut skipped = Vec::new();
    let mut errors = Vec::new();
    for path in &files {
        let result = fs::read(path)
            .map_err(|source| io(path, source))
            .and_then(|original| {
                // `--add-missing`: an entry only where the kustomization's resources use the image.
                let addable = (options.add_kustomize_entries && is_kustomization(path))
                    .then(|| crate::kustomize::images_used(path, options));
                let outcome = rewrite_file(path, &original, updates, options, addable.as_ref())?;
                Ok((original, outcome))
            });
        if let Ok((_, outcome)) = &result {
            skipped.extend(outcome.skipped.iter().map(|s| (path.clone(), s.clone())));
        }
        match result {
            Ok((original, outcome)) if outcome.bytes != original => changed.push(FileOutcome {
                path: path.clone(),
                original,
                outcome,
            }),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(RewriteError::Files { errors });
    }
    let mut outcome = TreeOutcome {
        files: changed,
        scanned: files.len(),
        written: false,
        skipped,
    };
    if !dry_run {
        outcome.write()?;
    }
    Ok(outcome)
}

impl TreeOutcome {
    /// Writes the changed files of a dry run, after the caller has looked at them.
    ///
    /// Every new file is written beside its target before any is renamed into
    /// place, so a full disk or a read-only directory leaves everything as it was.
    pub fn write(&mut self) -> Result<(), RewriteError> {
        if self.written {
            return Ok(());
        }
        let staged = self
            .files
            .iter()
            .map(|file| stage(&file.path, &file.outcome.bytes))
            .collect::<Result<Vec<_>, _>>()?;
        for (path, (temp, target)) in self.files.iter().map(|f| &f.path).zip(staged) {
            temp.persist(&target).map_err(|e| io(path, e.error))?;
        }
        self.written = true;
        Ok(())
    }
}

fn io(path: &Path, source: std::io::Error) -> RewriteError {
    RewriteError::Io {
        path: path.to_owned(),
        source,
    }
}

fn is_kustomization(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

fn is_manifest(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name == "Kustomization"
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), RewriteError> {
    let chart = dir.join("Chart.yaml").is_file();
    let entries = fs::read_dir(dir).map_err(|source| io(dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| io(dir, source))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let kind = entry
            .file_type()
            .map_err(|source| io(&entry.path(), source))?;
        if kind.is_dir() {
            if name.starts_with('.') || (chart && name == "templates") {
                continue;
            }
            collect(&entry.path(), out)?;
        } else if kind.is_file() && is_manifest(name) {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// Replaces `path` with `bytes` through a temporary file in the same directory.
/// Writes `bytes` to a temporary file beside `path` with its permissions; the
/// caller renames it over the (symlink-resolved) target.
fn stage(path: &Path, bytes: &[u8]) -> Result<(tempfile::NamedTempFile, PathBuf), RewriteError> {
    use std::io::Write;
    let target = fs::canonicalize(path).map_err(|source| io(path, source))?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let permissions = fs::metadata(&target)
        .map_err(|source| io(path, source))?
        .permissions();
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|source| io(dir, source))?;
    temp.write_all(bytes).map_err(|source| io(path, source))?;
    temp.as_file()
        .set_permissions(permissions)
        .map_err(|source| io(path, source))?;
    Ok((temp, target))
}
