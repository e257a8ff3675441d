//! Writing the tree of a commit to a temporary directory, so the render tools
//! see the repository exactly as that commit has it: blobs with their
//! executable bit, directories, and symbolic links that stay inside the tree.
//!
//! The whole tree is written, not only the rendered path: a Kustomize
//! overlay reads its base from `../base`, a chart its values from anywhere
//! the caller points. Submodules are left as empty directories, as a checkout
//! without `--recurse-submodules` leaves them; links that would lead out of
//! the tree (absolute, or `..` past its root) are not written, so a change
//! under review cannot make a tool read the reviewer's files.

use std::fs;
use std::path::{Component, Path, PathBuf};

use git2::{ObjectType, Repository, Tree};

use crate::RevisionDiffError;

/// Git's file modes for tree entries.
const MODE_TREE: i32 = 0o040000;
const MODE_EXECUTABLE: i32 = 0o100755;
const MODE_LINK: i32 = 0o120000;
const MODE_SUBMODULE: i32 = 0o160000;

/// A commit's tree written out; removed when dropped.
pub(crate) struct Checkout {
    dir: tempfile::TempDir,
}

impl Checkout {
    /// Writes `tree` (of `revision`, which names it in errors) to a new
    /// temporary directory.
    pub(crate) fn write(
        repo: &Repository,
        tree: &Tree<'_>,
        revision: &str,
    ) -> Result<Self, RevisionDiffError> {
        let dir = tempfile::Builder::new()
            .prefix("kedge-revision-")
            .tempdir()
            .map_err(|source| RevisionDiffError::Checkout {
                revision: revision.to_owned(),
                path: std::env::temp_dir(),
                source,
            })?;
        let writer = TreeWriter {
            repo,
            revision,
            root: dir.path(),
        };
        let mut links = Vec::new();
        writer.write_tree(tree, dir.path(), Path::new(""), &mut links)?;
        writer.remove_escaping_links(&links)?;
        Ok(Self { dir })
    }

    /// The checkout's root directory.
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }
}

struct TreeWriter<'a> {
    repo: &'a Repository,
    revision: &'a str,
    root: &'a Path,
}

impl TreeWriter<'_> {
    /// Writes `tree` into `dir`, which is `relative` below the root.
    fn write_tree(
        &self,
        tree: &Tree<'_>,
        dir: &Path,
        relative: &Path,
        links: &mut Vec<PathBuf>,
    ) -> Result<(), RevisionDiffError> {
        for entry in tree.iter() {
            let name = entry
                .name()
                .ok()
                .filter(|name| is_safe_name(name))
                .ok_or_else(|| RevisionDiffError::UnsafeEntry {
                    revision: self.revision.to_owned(),
                    name: String::from_utf8_lossy(entry.name_bytes()).into_owned(),
                })?;
            let path = dir.join(name);
            match entry.filemode() {
                MODE_TREE | MODE_SUBMODULE => {
                    fs::create_dir(&path).map_err(|e| self.io(&path, e))?;
                    if entry.kind() == Some(ObjectType::Tree) {
                        let subtree = self.tree(entry.id())?;
                        self.write_tree(&subtree, &path, &relative.join(name), links)?;
                    }
                }
                MODE_LINK => {
                    let target = self.blob(entry.id())?;
                    let target = PathBuf::from(String::from_utf8_lossy(&target).into_owned());
                    if stays_inside(relative, &target) {
                        symlink(&target, &path).map_err(|e| self.io(&path, e))?;
                        links.push(path);
                    }
                }
                mode => {
                    let content = self.blob(entry.id())?;
                    fs::write(&path, content).map_err(|e| self.io(&path, e))?;
                    if mode == MODE_EXECUTABLE {
                        make_executable(&path).map_err(|e| self.io(&path, e))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Links that read lexically as inside may still leave through another
    /// link (`d/up -> ..`, then `d/x -> up/../..`); once every file exists,
    /// each link is resolved for real and removed if it leads out.
    fn remove_escaping_links(&self, links: &[PathBuf]) -> Result<(), RevisionDiffError> {
        let root = fs::canonicalize(self.root).map_err(|e| self.io(self.root, e))?;
        for link in links {
            let escapes = fs::canonicalize(link).is_ok_and(|target| !target.starts_with(&root));
            if escapes {
                fs::remove_file(link).map_err(|e| self.io(link, e))?;
            }
        }
        Ok(())
    }

    fn tree(&self, id: git2::Oid) -> Result<Tree<'_>, RevisionDiffError> {
        self.repo.find_tree(id).map_err(|source| self.git(source))
    }

    fn blob(&self, id: git2::Oid) -> Result<Vec<u8>, RevisionDiffError> {
        let blob = self.repo.find_blob(id).map_err(|source| self.git(source))?;
        Ok(blob.content().to_vec())
    }

    fn git(&self, source: git2::Error) -> RevisionDiffError {
        RevisionDiffError::ReadTree {
            revision: self.revision.to_owned(),
            source: source.into(),
        }
    }

    fn io(&self, path: &Path, source: std::io::Error) -> RevisionDiffError {
        RevisionDiffError::Checkout {
            revision: self.revision.to_owned(),
            path: path.strip_prefix(self.root).unwrap_or(path).to_owned(),
            source,
        }
    }
}

/// A name git would check out: not empty, `.`, `..` or `.git`, and no
/// separator.
fn is_safe_name(name: &str) -> bool {
    !matches!(name, "" | "." | "..")
        && !name.eq_ignore_ascii_case(".git")
        && !name.contains(['/', '\\', '\0'])
}

/// Whether a link in `dir` (relative to the root) to `target` resolves inside
/// the root, read lexically as the tools would follow it.
fn stays_inside(dir: &Path, target: &Path) -> bool {
    let mut depth = dir.components().count();
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Ok(()) // no portable symbolic links: the link is left out
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit made by the git CLI with an executable, a nested file and
    /// links that stay inside, leave lexically, and leave through another link.
    fn repository_with_modes_and_links() -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::create_dir_all(root.join("apps/web")).unwrap();
        fs::create_dir_all(root.join("links")).unwrap();
        fs::write(root.join("bin/render.sh"), "#!/bin/sh\n").unwrap();
        make_executable(&root.join("bin/render.sh")).unwrap();
        fs::write(root.join("apps/web/pod.yaml"), "kind: Pod\n").unwrap();
        for (link, target) in [
            ("links/pod.yaml", "../apps/web/pod.yaml"),
            ("links/apps", "../apps"),
            ("links/up", ".."),
            ("links/through-up", "up/../.."),
            ("links/parent", "../../x"),
            ("links/absolute", "/etc/passwd"),
        ] {
            symlink(Path::new(target), &root.join(link)).unwrap();
        }
        let git = |args: &[&str]| {
            let status = std::process::Command::new("git")
                .args(args)
                .current_dir(root)
                .env("GIT_AUTHOR_NAME", "test")
                .env("GIT_AUTHOR_EMAIL", "test@example.com")
                .env("GIT_COMMITTER_NAME", "test")
                .env("GIT_COMMITTER_EMAIL", "test@example.com")
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        };
        git(&["init", "--quiet", "-b", "main"]);
        git(&["add", "-A"]);
        git(&["commit", "--quiet", "-m", "tree"]);
        let repo = Repository::open(root).unwrap();
        (dir, repo)
    }

    #[cfg(unix)]
    #[test]
    fn a_checkout_keeps_modes_and_only_links_that_stay_inside() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, repo) = repository_with_modes_and_links();
        let tree = repo.head().unwrap().peel_to_tree().unwrap();
        let checkout = Checkout::write(&repo, &tree, "main").unwrap();
        let root = checkout.root();
        let mode = |path: &str| fs::metadata(root.join(path)).unwrap().permissions().mode() & 0o111;
        assert_ne!(mode("bin/render.sh"), 0, "the executable bit survives");
        assert_eq!(mode("apps/web/pod.yaml"), 0);
        assert_eq!(
            fs::read_to_string(root.join("links/pod.yaml")).unwrap(),
            "kind: Pod\n"
        );
        assert!(root.join("links/apps/web/pod.yaml").is_file());
        assert!(
            root.join("links/up/bin").is_dir(),
            "a link to the root stays"
        );
        for escaping in ["links/through-up", "links/parent", "links/absolute"] {
            assert!(
                fs::symlink_metadata(root.join(escaping)).is_err(),
                "{escaping} is not written"
            );
        }
        assert!(!root.join(".git").exists());
    }

    #[test]
    fn links_may_not_leave_the_tree() {
        let inside = |dir: &str, target: &str| stays_inside(Path::new(dir), Path::new(target));
        assert!(inside("apps/web", "../base/pod.yaml"));
        assert!(inside("apps/web", "../../shared"));
        assert!(inside("", "./shared/x"));
        assert!(!inside("apps/web", "../../../etc/passwd"));
        assert!(!inside("", "../x"));
        assert!(!inside("apps", "/etc/passwd"));
        assert!(!inside("apps", "a/../../../x"));
    }

    #[test]
    fn entry_names_cannot_climb_or_reach_git() {
        for bad in ["", ".", "..", ".git", ".GIT", "a/b", "a\\b"] {
            assert!(!is_safe_name(bad), "{bad:?}");
        }
        for good in [".github", "..data", "values.yaml", "a b"] {
            assert!(is_safe_name(good), "{good:?}");
        }
    }
}
