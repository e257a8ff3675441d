//! Finding the repository that holds a path, and the commits a range names.

use std::path::{Path, PathBuf};

use git2::{Commit, Repository};

use crate::{Revision, RevisionDiffError, RevisionRange};

/// A path and the repository whose working tree holds it.
pub(crate) struct RepoPath {
    /// The repository.
    pub repo: Repository,
    /// The path relative to the working tree's root (empty for the root).
    pub relative: PathBuf,
}

impl RepoPath {
    /// Finds the repository from `path`, or from its nearest existing parent
    /// when the working tree does not have it (an app only the other
    /// revision has).
    pub(crate) fn find(path: &Path) -> Result<Self, RevisionDiffError> {
        let absolute = std::path::absolute(path).map_err(|e| not_a_repository(path, e))?;
        let mut existing = absolute.as_path();
        let mut missing = Vec::new();
        while !existing.exists() {
            let Some(parent) = existing.parent() else {
                break;
            };
            missing.extend(existing.file_name());
            existing = parent;
        }
        let existing = existing
            .canonicalize()
            .map_err(|e| not_a_repository(path, e))?;
        let repo = Repository::discover(&existing).map_err(|source| {
            RevisionDiffError::NotARepository {
                path: path.to_owned(),
                source: source.into(),
            }
        })?;
        let workdir = repo
            .workdir()
            .and_then(|w| w.canonicalize().ok())
            .ok_or_else(|| RevisionDiffError::NotARepository {
                path: path.to_owned(),
                source: "the repository is bare".into(),
            })?;
        let mut relative = existing
            .strip_prefix(&workdir)
            .map_err(|_| RevisionDiffError::NotARepository {
                path: path.to_owned(),
                source: "the path is outside the working tree".into(),
            })?
            .to_owned();
        relative.extend(missing.iter().rev());
        Ok(Self { repo, relative })
    }
}

fn not_a_repository(path: &Path, error: std::io::Error) -> RevisionDiffError {
    RevisionDiffError::NotARepository {
        path: path.to_owned(),
        source: Box::new(error),
    }
}

/// A revision and the commit it names.
pub(crate) struct ResolvedRevision<'r> {
    /// As the user wrote it (or `merge-base(A, B)`).
    pub name: String,
    /// The commit.
    pub commit: Commit<'r>,
}

impl ResolvedRevision<'_> {
    /// Whether the commit's tree has `relative` (the root always).
    pub(crate) fn has_path(&self, relative: &Path) -> Result<bool, RevisionDiffError> {
        if relative.as_os_str().is_empty() {
            return Ok(true);
        }
        let tree = self
            .commit
            .tree()
            .map_err(|source| RevisionDiffError::ReadTree {
                revision: self.name.clone(),
                source: source.into(),
            })?;
        match tree.get_path(relative) {
            Ok(_) => Ok(true),
            Err(error) if error.code() == git2::ErrorCode::NotFound => Ok(false),
            Err(source) => Err(RevisionDiffError::ReadTree {
                revision: self.name.clone(),
                source: source.into(),
            }),
        }
    }

    /// The name and commit id, for the result.
    pub(crate) fn revision(&self) -> Revision {
        Revision {
            name: self.name.clone(),
            commit: self.commit.id().to_string(),
        }
    }
}

/// The two commits of `range`.
pub(crate) fn resolve_range<'r>(
    repo: &'r Repository,
    range: &RevisionRange,
) -> Result<(ResolvedRevision<'r>, ResolvedRevision<'r>), RevisionDiffError> {
    let from = resolve(repo, &range.from)?;
    let to = resolve(repo, &range.to)?;
    if !range.from_merge_base {
        return Ok((from, to));
    }
    let base = repo
        .merge_base(from.commit.id(), to.commit.id())
        .and_then(|id| repo.find_commit(id))
        .map_err(|source| RevisionDiffError::NoMergeBase {
            from: range.from.clone(),
            to: range.to.clone(),
            source: source.into(),
        })?;
    let from = ResolvedRevision {
        name: format!("merge-base({}, {})", range.from, range.to),
        commit: base,
    };
    Ok((from, to))
}

fn resolve<'r>(
    repo: &'r Repository,
    name: &str,
) -> Result<ResolvedRevision<'r>, RevisionDiffError> {
    let commit = repo
        .revparse_single(name)
        .and_then(|object| object.peel_to_commit())
        .map_err(|source| RevisionDiffError::UnknownRevision {
            revision: name.to_owned(),
            source: source.into(),
        })?;
    Ok(ResolvedRevision {
        name: name.to_owned(),
        commit,
    })
}
