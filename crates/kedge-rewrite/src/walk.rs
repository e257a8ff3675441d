//! Rewriting files and directory trees, one file at a time: each file is read, rewritten and,
//! when it changed, staged beside its target before the next is read, so memory and open
//! descriptors stay bounded whatever the number of files. Nothing is renamed into place unless
//! every file succeeded (see [`crate::stage`]).
//!
//! What is kept for the report is kept small, since it grows with the number of changed files:
//! each path is stored once (shared by the report and the staged file) and each distinct image
//! name, old and new value once for the whole tree (every file of a fleet changes the same
//! image).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::source::Source;
use crate::stage::{self, Staged};
use crate::{Change, Options, Outcome, RewriteError, Skipped, Update};

/// What [`rewrite_tree`] does with the changed files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Look only: nothing is written, not even a temporary file.
    DryRun,
    /// Write every changed file beside its target, and rename them into place only when
    /// [`TreeOutcome::write`] is called (after the caller has looked at the changes).
    Stage,
    /// Stage, then rename into place when every file succeeded.
    Write,
}

/// One file that changed (or would change, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    /// The file (shared with the staged new content, when there is one).
    pub path: Arc<Path>,
    /// Every value changed, in file order.
    pub changes: Vec<Change>,
}

/// A changed file while its contents are in memory, as [`rewrite_tree_each`] shows it.
#[derive(Debug)]
pub struct ChangedFile<'a> {
    /// The file.
    pub path: &'a Path,
    /// Its content before the rewrite.
    pub original: &'a [u8],
    /// The new content and the changes.
    pub outcome: &'a Outcome,
}

/// The result of [`rewrite_tree`].
#[derive(Debug, Default)]
pub struct TreeOutcome {
    /// Files that changed, in path order.
    pub files: Vec<FileOutcome>,
    /// How many files were examined.
    pub scanned: usize,
    /// Whether the changed files were written (false for a dry run or before
    /// [`TreeOutcome::write`] in [`Mode::Stage`]).
    pub written: bool,
    /// References to an updated image that were seen but not changed, by file, in path order.
    pub skipped: Vec<(PathBuf, Skipped)>,
    /// New contents waiting beside their targets.
    staged: Vec<Staged>,
}

/// Rewrites every manifest under `paths` (files, or directories walked recursively).
///
/// Directories yield `*.yaml`, `*.yml` and extension-less `Kustomization` files; hidden
/// directories, `.git` and a Helm chart's `templates/` (a directory with `Chart.yaml` beside it)
/// are skipped. A file named explicitly is always processed. Only regular files are read (a
/// FIFO, a device or a symlink to one is refused). A changed file is replaced only if it can be
/// without losing anything: read-only files, files with several hard links, immutable files and
/// files whose owner kedge cannot keep are refused.
/// If any file fails, nothing is written and [`RewriteError::Files`] lists every failure.
pub fn rewrite_tree(
    paths: &[PathBuf],
    updates: &[Update],
    options: &Options,
    mode: Mode,
) -> Result<TreeOutcome, RewriteError> {
    rewrite_tree_each(paths, updates, options, mode, |_| {})
}

/// Like [`rewrite_tree`], and calls `each` with every changed file, in path order, while its old
/// and new contents are in memory (they are not kept afterwards).
pub fn rewrite_tree_each(
    paths: &[PathBuf],
    updates: &[Update],
    options: &Options,
    mode: Mode,
    mut each: impl FnMut(&ChangedFile<'_>),
) -> Result<TreeOutcome, RewriteError> {
    let files = manifests(paths)?;
    let mut outcome = TreeOutcome {
        scanned: files.len(),
        ..TreeOutcome::default()
    };
    let mut errors = Vec::new();
    let mut values = SharedValues::default();
    // By value: a path is kept only if its file changes.
    for path in files {
        match rewrite_file(
            path,
            updates,
            options,
            mode,
            &mut outcome.skipped,
            &mut each,
        ) {
            Ok(Some((mut file, staged))) => {
                values.share(&mut file.changes);
                outcome.files.push(file);
                outcome.staged.extend(staged);
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        // Dropping `outcome` removes every staged file.
        return Err(RewriteError::Files { errors });
    }
    if mode == Mode::Write {
        outcome.write()?;
    }
    Ok(outcome)
}

/// The files `paths` name: files as given, directories walked; sorted, without duplicates.
fn manifests(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RewriteError> {
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
    Ok(files)
}

/// Reads, rewrites and (unless a dry run) stages one file; `None` when it does not change.
/// References it sees but leaves alone are added to `skipped`.
fn rewrite_file(
    path: PathBuf,
    updates: &[Update],
    options: &Options,
    mode: Mode,
    skipped: &mut Vec<(PathBuf, Skipped)>,
    each: &mut impl FnMut(&ChangedFile<'_>),
) -> Result<Option<(FileOutcome, Option<Staged>)>, RewriteError> {
    let mut source = Source::open(&path)?;
    let original = source.read(&path)?;
    // `--add-missing`: an entry only where the kustomization's resources use the image.
    let addable = (options.add_kustomize_entries && is_kustomization(&path))
        .then(|| crate::kustomize::images_used(&path, options));
    let outcome = crate::rewrite_file(&path, &original, updates, options, addable.as_ref())?;
    skipped.extend(outcome.skipped.iter().map(|s| (path.clone(), s.clone())));
    if outcome.bytes == original {
        return Ok(None);
    }
    source.check_replaceable(&path)?;
    let path: Arc<Path> = Arc::from(path);
    let staged = match mode {
        Mode::DryRun => None,
        Mode::Stage | Mode::Write => Some(stage::stage(&path, &outcome.bytes, &source.meta)?),
    };
    each(&ChangedFile {
        path: &path,
        original: &original,
        outcome: &outcome,
    });
    let file = FileOutcome {
        path,
        changes: outcome.changes,
    };
    Ok(Some((file, staged)))
}

impl TreeOutcome {
    /// Renames the staged files into place ([`Mode::Stage`]); does nothing after a dry run or
    /// when already written.
    ///
    /// Every new file was written beside its target before any is renamed into place, so a full
    /// disk or a read-only directory leaves everything as it was. Should a rename still fail
    /// (a file swapped for a directory meanwhile, say), [`RewriteError::PartialWrite`] names the
    /// files that were written and those that were not.
    pub fn write(&mut self) -> Result<(), RewriteError> {
        if self.written || self.staged.is_empty() {
            return Ok(());
        }
        stage::commit(std::mem::take(&mut self.staged))?;
        self.written = true;
        Ok(())
    }
}

/// One copy of each distinct image name, old and new value seen in a tree's changes.
#[derive(Debug, Default)]
struct SharedValues(HashSet<Arc<str>>);

impl SharedValues {
    /// Replaces every value in `changes` by the copy already held, keeping new ones.
    fn share(&mut self, changes: &mut [Change]) {
        for change in changes {
            self.share_one(&mut change.image);
            change.old.iter_mut().for_each(|v| self.share_one(v));
            change.new.iter_mut().for_each(|v| self.share_one(v));
        }
    }

    fn share_one(&mut self, value: &mut Arc<str>) {
        match self.0.get(value.as_ref()) {
            Some(held) => *value = Arc::clone(held),
            None => {
                self.0.insert(Arc::clone(value));
            }
        }
    }
}

pub(crate) fn io(path: &Path, source: std::io::Error) -> RewriteError {
    RewriteError::Io {
        path: path.to_owned(),
        source,
    }
}

fn is_kustomization(path: &Path) -> bool {
    path.file_name().is_some_and(|name| {
        let name = name.as_encoded_bytes();
        name == b"kustomization.yaml" || name == b"kustomization.yml" || name == b"Kustomization"
    })
}

fn is_manifest(name: &[u8]) -> bool {
    name.ends_with(b".yaml") || name.ends_with(b".yml") || name == b"Kustomization"
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), RewriteError> {
    let chart = dir.join("Chart.yaml").is_file();
    let entries = fs::read_dir(dir).map_err(|source| io(dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| io(dir, source))?;
        // Names need not be UTF-8: compared as bytes, so no file is skipped for its name.
        let name = entry.file_name();
        let name = name.as_encoded_bytes();
        let kind = entry
            .file_type()
            .map_err(|source| io(&entry.path(), source))?;
        if kind.is_dir() {
            if name.starts_with(b".") || (chart && name == b"templates") {
                continue;
            }
            collect(&entry.path(), out)?;
        } else if kind.is_file() && is_manifest(name) {
            out.push(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "quay.io/brancz/kube-rbac-proxy:v0.22.1";
    const NEW: &str = "quay.io/brancz/kube-rbac-proxy:v9.9.9";

    /// A directory of `n` Deployments, each with the same sidecar image to change.
    fn fleet(n: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temporary directory");
        for i in 0..n {
            let yaml = format!(
                "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/svc-{i}:1.0\n      - name: proxy\n        image: \"{OLD}\" # sidecar\n"
            );
            fs::write(dir.path().join(format!("svc-{i}.yaml")), yaml).expect("write manifest");
        }
        dir
    }

    fn run(dir: &Path, mode: Mode) -> TreeOutcome {
        let update =
            Update::parse(&format!("quay.io/brancz/kube-rbac-proxy={NEW}")).expect("valid update");
        rewrite_tree(&[dir.to_owned()], &[update], &Options::default(), mode)
            .expect("rewrite succeeds")
    }

    /// Issue 12: the report of a tree whose files all change one image holds one copy of the
    /// image name, the old and the new reference, and no spare room per file (100,000 files
    /// once needed 129 MB, about 1 KB a file).
    #[test]
    fn files_changing_one_image_share_one_copy_of_each_value() {
        let n = 40;
        let dir = fleet(n);
        let outcome = run(dir.path(), Mode::DryRun);
        assert_eq!(outcome.files.len(), n);
        let first = &outcome.files[0].changes[0];
        assert_eq!(first.old.as_deref(), Some(OLD));
        assert_eq!(first.new.as_deref(), Some(NEW));
        let (old, new) = (
            first.old.as_ref().expect("old"),
            first.new.as_ref().expect("new"),
        );
        for file in &outcome.files {
            assert_eq!(file.changes.capacity(), 1, "{}", file.path.display());
            let change = &file.changes[0];
            assert!(Arc::ptr_eq(&change.image, &first.image));
            assert!(change.old.as_ref().is_some_and(|v| Arc::ptr_eq(v, old)));
            assert!(change.new.as_ref().is_some_and(|v| Arc::ptr_eq(v, new)));
        }
        // One reference a change, none kept by the walk.
        assert_eq!(Arc::strong_count(&first.image), n);
        assert_eq!(Arc::strong_count(old), n);
        assert_eq!(Arc::strong_count(new), n);
    }

    /// Issue 12: a staged file and the report share one copy of its path.
    #[test]
    fn staged_files_share_their_path_with_the_report() {
        let dir = fleet(3);
        let mut outcome = run(dir.path(), Mode::Stage);
        assert_eq!(outcome.staged.len(), 3);
        for (file, staged) in outcome.files.iter().zip(&outcome.staged) {
            assert!(Arc::ptr_eq(&file.path, &staged.path));
            assert_eq!(Arc::strong_count(&file.path), 2);
        }
        outcome.write().expect("write");
        let written = fs::read_to_string(dir.path().join("svc-2.yaml")).expect("read");
        assert!(
            written.ends_with(&format!("image: \"{NEW}\" # sidecar\n")),
            "{written}"
        );
    }
}
