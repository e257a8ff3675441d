//! Real git remotes for tests: bare repositories reached over `file://`, over
//! `git daemon` (with receive-pack) and over smart HTTP (`git http-backend`
//! behind lighttpd with basic auth).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::Watched;
use crate::registry::{free_port, require_tool};

/// A directory of bare repositories.
pub struct GitRoot {
    dir: tempfile::TempDir,
}

impl Default for GitRoot {
    fn default() -> Self {
        Self::new()
    }
}

impl GitRoot {
    /// An empty directory for bare repositories.
    pub fn new() -> Self {
        require_tool("git", "git");
        Self {
            dir: tempfile::tempdir().expect("git root"),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Creates `NAME.git` whose `branch` holds `files` (path, content) in one commit.
    pub fn create(&self, name: &str, branch: &str, files: &[(&str, &str)]) -> PathBuf {
        let bare = self.path().join(format!("{name}.git"));
        git(
            self.path(),
            &[
                "init",
                "--quiet",
                "--bare",
                "-b",
                branch,
                bare.to_str().unwrap(),
            ],
        );
        // Let smart HTTP accept pushes without a per-repo setting in the tests.
        git(&bare, &["config", "http.receivepack", "true"]);
        let work = tempfile::tempdir().expect("seed work tree");
        git(work.path(), &["init", "--quiet", "-b", branch]);
        for (path, content) in files {
            let file = work.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, content).unwrap();
        }
        git(work.path(), &["add", "-A"]);
        git(
            work.path(),
            &["commit", "--quiet", "-m", "Initial manifests"],
        );
        git(
            work.path(),
            &["push", "--quiet", bare.to_str().unwrap(), branch],
        );
        bare
    }

    /// `file://…/NAME.git`.
    pub fn file_url(&self, name: &str) -> String {
        format!("file://{}/{name}.git", self.path().display())
    }

    /// The content of `path` on `branch` of `NAME.git`, as git shows it.
    pub fn show(&self, name: &str, branch: &str, path: &str) -> String {
        git_output(&self.bare(name), &["show", &format!("{branch}:{path}")])
    }

    /// `git log --format=%s` of `branch`: commit subjects, newest first.
    pub fn subjects(&self, name: &str, branch: &str) -> Vec<String> {
        git_output(&self.bare(name), &["log", "--format=%s", branch])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The commit `branch` points at.
    pub fn head(&self, name: &str, branch: &str) -> String {
        git_output(&self.bare(name), &["rev-parse", branch])
            .trim()
            .to_owned()
    }

    /// Commits `files` on top of `branch` directly in the remote, as another writer would.
    pub fn commit_files(&self, name: &str, branch: &str, files: &[(&str, &str)], message: &str) {
        let work = tempfile::tempdir().expect("work tree");
        let bare = self.bare(name);
        git(
            work.path(),
            &[
                "clone",
                "--quiet",
                "-b",
                branch,
                bare.to_str().unwrap(),
                ".",
            ],
        );
        for (path, content) in files {
            let file = work.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, content).unwrap();
        }
        git(work.path(), &["add", "-A"]);
        git(work.path(), &["commit", "--quiet", "-m", message]);
        git(work.path(), &["push", "--quiet", "origin", branch]);
    }

    /// Commits a symlink at `path` pointing to `target` on `branch`, as a
    /// hostile repository would.
    pub fn commit_symlink(&self, name: &str, branch: &str, path: &str, target: &str) {
        let work = tempfile::tempdir().expect("work tree");
        let bare = self.bare(name);
        let bare = bare.to_str().unwrap();
        git(work.path(), &["clone", "--quiet", "-b", branch, bare, "."]);
        let link = work.path().join(path);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, &link).unwrap();
        git(work.path(), &["add", "-A"]);
        git(work.path(), &["commit", "--quiet", "-m", "a symlink"]);
        git(work.path(), &["push", "--quiet", "origin", branch]);
    }

    /// Creates `branch` of `NAME.git` at the commit `from` points at.
    pub fn branch(&self, name: &str, from: &str, branch: &str) {
        git(&self.bare(name), &["branch", branch, from]);
    }

    /// Merges `from` into `into` of `NAME.git` with a merge commit, as a
    /// pull request's merge button does, and returns the merge commit.
    pub fn merge(&self, name: &str, from: &str, into: &str, message: &str) -> String {
        let work = tempfile::tempdir().expect("work tree");
        let bare = self.bare(name);
        let bare = bare.to_str().unwrap();
        git(work.path(), &["clone", "--quiet", "-b", into, bare, "."]);
        let theirs = format!("origin/{from}");
        git(
            work.path(),
            &["merge", "--quiet", "--no-ff", "-m", message, &theirs],
        );
        git(work.path(), &["push", "--quiet", "origin", into]);
        self.head(name, into)
    }

    fn bare(&self, name: &str) -> PathBuf {
        self.path().join(format!("{name}.git"))
    }
}

fn git(dir: &Path, args: &[&str]) {
    git_output(dir, args);
}

fn git_output(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("git output is UTF-8")
}

/// `git daemon` serving a [`GitRoot`] with pushes enabled.
pub struct GitDaemon {
    _server: Watched,
    port: u16,
}

impl GitDaemon {
    /// Serves `root` on a free loopback port.
    pub fn start(root: &GitRoot) -> Self {
        let port = free_port();
        let base = format!("--base-path={}", root.path().display());
        let port_arg = format!("--port={port}");
        let dir = root.path().display().to_string();
        let server = Watched::listening(
            &[
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--informative-errors",
                "--listen=127.0.0.1",
                &port_arg,
                &base,
                &dir,
            ],
            port,
        );
        Self {
            _server: server,
            port,
        }
    }

    /// `git://127.0.0.1:PORT/NAME.git`.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}.git", self.port)
    }
}

/// Smart HTTP: `git http-backend` as CGI behind lighttpd, with basic auth.
pub struct GitHttp {
    _server: Watched,
    _config: tempfile::TempDir,
    port: u16,
}

impl GitHttp {
    /// Serves `root` at `http://127.0.0.1:PORT/git/NAME.git`, for `user`/`password` only.
    pub fn start(root: &GitRoot, user: &str, password: &str) -> Self {
        Self::start_with(root, user, password, &[("url", "^/git")])
    }

    /// Like [`start`](Self::start), but anyone may fetch: only pushes need the password,
    /// as on a typical Git host with public repositories.
    pub fn start_push_auth(root: &GitRoot, user: &str, password: &str) -> Self {
        let push = [
            ("url", "/git-receive-pack$"),
            ("querystring", "service=git-receive-pack"),
        ];
        Self::start_with(root, user, password, &push)
    }

    /// `protected`: lighttpd conditions (`url`, `querystring`) and regexes that need auth.
    fn start_with(root: &GitRoot, user: &str, password: &str, protected: &[(&str, &str)]) -> Self {
        require_tool("lighttpd", "lighttpd");
        let exec_path = git_output(root.path(), &["--exec-path"]).trim().to_owned();
        let backend = format!("{exec_path}/git-http-backend");
        let config = tempfile::tempdir().expect("lighttpd dir");
        let users = config.path().join("users");
        std::fs::write(&users, format!("{user}:{password}\n")).unwrap();
        let port = free_port();
        let conf = format!(
            r#"server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{dir}/error.log"
server.modules = ("mod_alias", "mod_setenv", "mod_cgi", "mod_auth", "mod_authn_file")
auth.backend = "plain"
auth.backend.plain.userfile = "{users}"
alias.url = ("/git" => "{backend}")
$HTTP["url"] =~ "^/git" {{
  cgi.assign = ("" => "")
  setenv.add-environment = ("GIT_PROJECT_ROOT" => "{root}", "GIT_HTTP_EXPORT_ALL" => "")
}}
{auth}"#,
            root = root.path().display(),
            dir = config.path().display(),
            users = users.display(),
            auth = "{auth}",
        );
        let conf = conf.replace("{auth}", &auth_blocks(protected));
        let conf_path = config.path().join("lighttpd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let server =
            Watched::listening(&["lighttpd", "-D", "-f", conf_path.to_str().unwrap()], port);
        Self {
            _server: server,
            _config: config,
            port,
        }
    }

    /// `http://127.0.0.1:PORT/git/NAME.git`.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/git/{name}.git", self.port)
    }
}

fn auth_blocks(protected: &[(&str, &str)]) -> String {
    protected
        .iter()
        .map(|(condition, regex)| {
            format!(
                "$HTTP[\"{condition}\"] =~ \"{regex}\" {{\n  auth.require = (\"/\" => (\"method\" => \"basic\", \"realm\" => \"git\", \"require\" => \"valid-user\"))\n}}\n"
            )
        })
        .collect()
}
