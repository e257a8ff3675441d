//! The binary the container image ships, run the way the image and the
//! chart run it: as user 65532 with no capabilities, on a read-only root
//! filesystem whose only writable places are tmpfs mounts (the chart's
//! emptyDirs for the Git cache and /tmp). The image itself cannot be built
//! here (no base images), and CI builds no release binary (it would add
//! minutes), so the debug binary of this build stands in for the release
//! build of the same source: `kedge --version` answers, and `kedge serve`
//! answers `/healthz` and `/readyz` on its metrics port and stops on SIGTERM.
//!
//! The sandbox is `unshare --mount` (a private mount namespace whose `/` is
//! remounted read-only, leaving the machine's untouched) and `setpriv` (user
//! 65532, the image's `nonroot`; no groups, no capabilities, no_new_privs),
//! so it needs root: CI runs as root, a GitHub runner through `sudo -n`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Run as `sh -c SANDBOX sh DIR BINARY UNTIL ARGS...` inside `unshare
/// --mount`: makes `/` read-only in this mount namespace, puts tmpfs on
/// DIR/cache and DIR/tmp owned by the user, bind-mounts BINARY to DIR/kedge,
/// proves the root is read-only for the user, then runs `kedge ARGS` as that
/// user. With UNTIL `stdin-closes`, it sends kedge SIGTERM (what Kubernetes
/// sends) when its standard input closes, and exits with kedge's status.
/// Everything comes as arguments, since `sudo` clears the environment.
const SANDBOX: &str = r#"
set -eu
dir=$1 binary=$2 until=$3 user=65532
shift 3
mount --bind "$binary" "$dir/kedge"
mount -o remount,bind,ro /
for writable in cache tmp; do
  mount -t tmpfs -o "uid=$user,gid=$user,mode=0700,size=64m" tmpfs "$dir/$writable"
done
# `env` and `setpriv` exec what follows: a background `as_user` is kedge's pid.
as_user="env -i PATH=/usr/bin:/bin HOME=$dir/tmp TMPDIR=$dir/tmp KEDGE_CACHE_DIR=$dir/cache
  setpriv --reuid $user --regid $user --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs"
if $as_user touch "$dir/probe" 2>/dev/null; then
  echo "sandbox: the root filesystem is writable" >&2
  exit 97
fi
$as_user touch "$dir/cache/probe" "$dir/tmp/probe"
if [ "$until" != stdin-closes ]; then
  exec $as_user "$dir/kedge" "$@"
fi
$as_user "$dir/kedge" "$@" </dev/null &
kedge=$!
cat >/dev/null || true
kill -TERM "$kedge" 2>/dev/null || true
wait "$kedge"
"#;

/// How the tests reach root: directly, or through `sudo -n` (a GitHub
/// runner's user has it); `None` (after printing why, or failing under
/// `CI=true`) when neither works or util-linux is missing.
fn privilege(test: &str) -> Option<Vec<&'static str>> {
    let missing = ["unshare", "setpriv"]
        .into_iter()
        .find(|tool| Command::new(tool).arg("--version").output().is_err());
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    let sudo = || {
        Command::new("sudo")
            .args(["-n", "true"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let why = match missing {
        Some(tool) => format!("{tool} (util-linux) is not installed"),
        None if root => return Some(vec![]),
        None if sudo() => return Some(vec!["sudo", "-n"]),
        None => "root or `sudo -n` (to make a mount namespace and switch users)".to_owned(),
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: needs {why}"
    );
    eprintln!("SKIPPED {test}: needs {why}");
    None
}

/// A directory the user can read, holding `kedge.yaml` and the mount points.
fn sandbox_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for mount_point in ["cache", "tmp"] {
        std::fs::create_dir(dir.path().join(mount_point)).expect("mount point");
    }
    std::fs::write(dir.path().join("kedge"), "").expect("binary mount point");
    std::fs::write(
        dir.path().join("kedge.yaml"),
        "git: {url: \"file:///nonexistent/manifests.git\"}\nimages:\n  - {alias: web, image: registry.invalid/team/web, targets: [apps/web], pollInterval: 0s}\n",
    )
    .expect("config");
    set_mode(dir.path(), 0o755);
    set_mode(&dir.path().join("kedge.yaml"), 0o644);
    dir
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `kedge ARGS` in the sandbox, reached through `privilege`.
fn sandboxed(privilege: &[&str], dir: &Path, until: &str, args: &[&str]) -> Command {
    let mut command = match privilege.split_first() {
        Some((program, rest)) => {
            let mut command = Command::new(program);
            command.args(rest).arg("unshare");
            command
        }
        None => Command::new("unshare"),
    };
    command
        .args([
            "--mount",
            "--propagation",
            "private",
            "--fork",
            "--kill-child=SIGTERM",
        ])
        .args(["--", "sh", "-c", SANDBOX, "sh"])
        .arg(dir)
        .arg(env!("CARGO_BIN_EXE_kedge"))
        .arg(until)
        .args(args);
    command
}

fn text(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn version_answers_as_a_non_root_user_on_a_read_only_root() {
    let test = "version_answers_as_a_non_root_user_on_a_read_only_root";
    let Some(privilege) = privilege(test) else {
        return;
    };
    let dir = sandbox_dir();
    let output = sandboxed(&privilege, dir.path(), "exits", &["--version"])
        .output()
        .expect("unshare runs");
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("kedge {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `kedge serve` in the sandbox; stopped when dropped (its standard input
/// closes, or unshare's death sends the sandbox SIGTERM).
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// The status and body of a GET, or `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: kedge\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

fn stderr_of(child: &mut Child) -> String {
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    stderr
}

#[test]
fn serve_answers_health_checks_as_a_non_root_user_on_a_read_only_root() {
    let test = "serve_answers_health_checks_as_a_non_root_user_on_a_read_only_root";
    let Some(privilege) = privilege(test) else {
        return;
    };
    let dir = sandbox_dir();
    let webhooks = kedge_testkit::free_port();
    let metrics = kedge_testkit::free_port();
    let config = dir.path().join("kedge.yaml");
    let mut serving = Serving(
        sandboxed(
            &privilege,
            dir.path(),
            "stdin-closes",
            &[
                "serve",
                "--config",
                config.to_str().expect("UTF-8 path"),
                &format!("--listen=127.0.0.1:{webhooks}"),
                &format!("--metrics-listen=127.0.0.1:{metrics}"),
            ],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare runs"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Some(answer) = get(metrics, "/healthz") {
            break answer;
        }
        if let Ok(Some(status)) = serving.0.try_wait() {
            panic!(
                "kedge serve exited ({status}) before answering:\n{}",
                stderr_of(&mut serving.0)
            );
        }
        assert!(Instant::now() < deadline, "no /healthz within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(health.0, 200, "/healthz: {health:?}");
    let ready = get(metrics, "/readyz").expect("/readyz answers");
    assert_eq!(ready.0, 200, "/readyz: {ready:?}");

    // SIGTERM (what Kubernetes sends) ends it cleanly: closing its standard
    // input makes the sandbox send it.
    drop(serving.0.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = serving.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "kedge serve still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "exit {status} after SIGTERM:\n{}",
        stderr_of(&mut serving.0)
    );
}
