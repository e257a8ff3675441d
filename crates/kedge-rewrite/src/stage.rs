//! Writing new contents so that a crash leaves each file old or new, never empty or half-written.
//!
//! Each new content is written to a temporary file beside its target (with the target's mode and
//! owner) and closed at once, so staging holds no descriptor and any number of files can be
//! staged. When every file is staged, one `syncfs` per filesystem makes all their data durable
//! (one flush for the whole set instead of an `fsync` each, whose journal commits made the cost
//! grow faster than the file count); then each is renamed over its target, and a last `syncfs`
//! makes the renames durable.

use std::fs::{self, File, Metadata};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::RewriteError;
use crate::walk::io;

/// A new content written beside its target, not yet renamed into place.
#[derive(Debug)]
pub(crate) struct Staged {
    /// The path as the caller named it (for messages and reports), shared with the report.
    pub path: Arc<Path>,
    /// The file the rename replaces when `path` is a symlink (resolved); `None` for `path`
    /// itself, so that a tree of plain files keeps each path once.
    resolved: Option<PathBuf>,
    /// The filesystem the target lives on.
    device: u64,
    /// The temporary file; removed when dropped before the rename.
    temp: tempfile::TempPath,
}

/// Writes `bytes` beside `path` (whose current metadata is `meta`), keeping mode and owner.
pub(crate) fn stage(
    path: &Arc<Path>,
    bytes: &[u8],
    meta: &Metadata,
) -> Result<Staged, RewriteError> {
    // A rename replaces a symlink itself, so the target is the file it points to; other paths
    // are renamed over as given (directories on the way resolve as usual).
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let resolved = if is_link {
        Some(fs::canonicalize(path).map_err(|source| io(path, source))?)
    } else {
        None
    };
    let dir = parent(resolved.as_deref().unwrap_or(path));
    let mut temp = tempfile::Builder::new()
        .prefix(".kedge-")
        .tempfile_in(dir)
        .map_err(|source| io(dir, source))?;
    temp.write_all(bytes).map_err(|source| io(path, source))?;
    let file = temp.as_file();
    keep_owner(path, file, meta)?;
    // After the owner: changing the owner clears set-user-ID and set-group-ID bits.
    file.set_permissions(meta.permissions())
        .map_err(|source| io(path, source))?;
    Ok(Staged {
        path: Arc::clone(path),
        resolved,
        device: meta.dev(),
        temp: temp.into_temp_path(),
    })
}

/// Gives the temporary file the target's owner and group, or refuses the file when that is not
/// allowed (a file owned by another user, when kedge does not run as root).
fn keep_owner(path: &Path, file: &File, meta: &Metadata) -> Result<(), RewriteError> {
    let current = file.metadata().map_err(|source| io(path, source))?;
    if (current.uid(), current.gid()) == (meta.uid(), meta.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).map_err(|source| {
        RewriteError::NotReplaceable {
            path: path.to_owned(),
            reason: format!(
                "its owner {}:{} cannot be kept ({source}); kedge does not change owners",
                meta.uid(),
                meta.gid()
            ),
        }
    })
}

impl Staged {
    /// The file the rename replaces (symlinks resolved).
    fn target(&self) -> &Path {
        self.resolved.as_deref().unwrap_or(&self.path)
    }
}

/// Renames every staged file over its target, after making all their data durable.
///
/// When a rename fails, the files not yet renamed are left as they were (their temporary files
/// removed) and the error says which files were written and which were not.
pub(crate) fn commit(staged: Vec<Staged>) -> Result<(), RewriteError> {
    let filesystems = filesystems(&staged)?;
    sync(&filesystems)?;
    // Shared paths, copied only should a rename fail.
    let mut written: Vec<Arc<Path>> = Vec::with_capacity(staged.len());
    let mut rest = staged.into_iter();
    while let Some(Staged {
        path,
        resolved,
        temp,
        ..
    }) = rest.next()
    {
        if let Err(e) = temp.persist(resolved.as_deref().unwrap_or(&path)) {
            let failure = io(&path, e.error);
            let mut not_written = vec![path.to_path_buf()];
            not_written.extend(rest.map(|s| s.path.to_path_buf()));
            let written = written.iter().map(|p| p.to_path_buf()).collect::<Vec<_>>();
            // Best effort: the error below is what matters.
            let _ = sync(&filesystems);
            return Err(if written.is_empty() {
                failure
            } else {
                RewriteError::PartialWrite {
                    written,
                    not_written,
                    source: Box::new(failure),
                }
            });
        }
        written.push(path);
    }
    sync(&filesystems)?;
    Ok(())
}

/// One open directory on each filesystem that holds a staged file.
fn filesystems(staged: &[Staged]) -> Result<Vec<(PathBuf, File)>, RewriteError> {
    let mut seen: Vec<u64> = Vec::new();
    let mut handles = Vec::new();
    for file in staged {
        if seen.contains(&file.device) {
            continue;
        }
        seen.push(file.device);
        let dir = parent(file.target());
        let handle = File::open(dir).map_err(|source| io(dir, source))?;
        handles.push((dir.to_owned(), handle));
    }
    Ok(handles)
}

/// Flushes every filesystem in `handles` to disk (`syncfs`).
fn sync(handles: &[(PathBuf, File)]) -> Result<(), RewriteError> {
    for (dir, handle) in handles {
        rustix::fs::syncfs(handle).map_err(|e| io(dir, e.into()))?;
    }
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}
