//! Background servers for tests, each owned by a watchdog shell that stops it
//! when the test process is gone: servers in `static` fixtures are never
//! dropped, and must still not outlive the test run.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `$1` the test process to outlive no longer than, `$2` the server's log, then the command.
const WATCHDOG: &str = r#"parent=$1; log=$2; shift 2
"$@" 2>>"$log" &
s=$!
trap 'kill $s 2>/dev/null; exit 0' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 $s 2>/dev/null; do sleep 0.2; done
kill $s 2>/dev/null"#;

/// A server process under its watchdog; stopped when dropped.
pub(crate) struct Watched {
    child: Child,
}

impl Watched {
    /// Starts `command` with its standard error appended to `log`.
    pub(crate) fn spawn(command: &[&str], log: &Path) -> Self {
        let child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("kedge-test-server")
            .arg(std::process::id().to_string())
            .arg(log)
            .args(command)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
        Self { child }
    }

    /// Starts `command` and waits until something listens on `port`.
    pub(crate) fn listening(command: &[&str], port: u16) -> Self {
        let server = Self::spawn(command, Path::new("/dev/null"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{command:?} did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        server
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // SIGTERM lets the watchdog stop the server; SIGKILL would orphan it.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
