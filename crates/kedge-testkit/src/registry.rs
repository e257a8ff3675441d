//! The CNCF distribution registry (Debian's `docker-registry`), started on a free
//! loopback port with its own storage, and stopped when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;

use crate::oci::OciLayout;
use crate::process::Watched;

/// A running registry.
pub struct TestRegistry {
    tls: bool,
    _server: Watched,
    port: u16,
    credentials: Option<(String, String)>,
    dir: tempfile::TempDir,
}

/// How to start a [`TestRegistry`].
#[derive(Debug, Default, Clone)]
pub struct RegistryOptions {
    /// Require HTTP basic auth with this user and password (htpasswd, bcrypt).
    pub basic_auth: Option<(String, String)>,
    /// Send push notifications to this URL.
    pub notify_url: Option<String>,
    /// Headers sent with every notification (`headers:` of the endpoint), for
    /// receivers that authenticate with a shared secret such as `Authorization: Bearer ...`.
    pub notify_headers: Vec<(String, String)>,
    /// Serve HTTPS with a certificate for 127.0.0.1 signed by a fresh test CA
    /// ([`TestRegistry::ca_file`]).
    pub tls: bool,
    /// Write an access log, for [`TestRegistry::requests`].
    pub access_log: bool,
}

impl TestRegistry {
    /// Starts an open registry.
    pub fn start() -> Self {
        Self::start_with(RegistryOptions::default())
    }

    /// Starts a registry that wants `user`/`password`.
    pub fn start_with_basic_auth(user: &str, password: &str) -> Self {
        Self::start_with(RegistryOptions {
            basic_auth: Some((user.into(), password.into())),
            ..RegistryOptions::default()
        })
    }

    /// Starts a registry with `options`.
    pub fn start_with(options: RegistryOptions) -> Self {
        require_tool("docker-registry", "docker-registry");
        let dir = tempfile::tempdir().expect("registry temp dir");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: {}\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            !options.access_log,
            root = dir.path().join("data").display(),
        );
        if options.tls {
            let (cert, key) = make_certificates(dir.path());
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if let Some((user, password)) = &options.basic_auth {
            let htpasswd = dir.path().join("htpasswd");
            let line = htpasswd_line(user, password);
            std::fs::write(&htpasswd, line).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: kedge-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        if let Some(url) = &options.notify_url {
            config.push_str(&format!(
                "notifications:\n  endpoints:\n    - name: kedge\n      url: {url}\n      timeout: 2s\n      threshold: 1\n      backoff: 200ms\n"
            ));
            if !options.notify_headers.is_empty() {
                config.push_str("      headers:\n");
                for (name, value) in &options.notify_headers {
                    config.push_str(&format!("        {name}: [{value:?}]\n"));
                }
            }
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let log = dir.path().join("registry.log");
        let config_arg = config_path.display().to_string();
        // The access log goes to standard output: send it to the log file too.
        let child = if options.access_log {
            let script = "exec docker-registry serve \"$1\" >&2";
            Watched::spawn(&["sh", "-c", script, "sh", &config_arg], &log)
        } else {
            Watched::spawn(&["docker-registry", "serve", &config_arg], &log)
        };
        let registry = Self {
            tls: options.tls,
            _server: child,
            port,
            credentials: options.basic_auth,
            dir,
        };
        registry.wait_ready();
        registry
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `METHOD PATH` of every request answered so far, from the access log
    /// (started with [`RegistryOptions::access_log`]), in order.
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| {
                let request = line.split('"').nth(1)?;
                let mut parts = request.split(' ');
                Some(format!("{} {}", parts.next()?, parts.next()?))
            })
            .filter(|request| request.contains(" /v2/"))
            .collect()
    }

    /// The test CA's certificate (PEM), for a registry started with `tls`.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let ready = if self.tls {
                TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            } else {
                self.request("GET", "/v2/", None, &[]).is_ok()
            };
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not start on {}:\n{}",
            self.host(),
            self.log()
        );
    }

    /// Pushes `oci:LAYOUT:TAG` to `REPOSITORY:TAG` with skopeo (all platforms of an index).
    pub fn push(&self, layout: &OciLayout, tag: &str, repository: &str) {
        require_tool("skopeo", "skopeo");
        let mut command = Command::new("skopeo");
        command
            .args([
                "copy",
                "--quiet",
                "--all",
                "--preserve-digests",
                "--dest-tls-verify=false",
            ])
            .env("HOME", self.dir.path());
        if let Some((user, password)) = &self.credentials {
            command.arg(format!("--dest-creds={user}:{password}"));
        }
        let output = command
            .arg(format!("oci:{}:{tag}", layout.dir().display()))
            .arg(format!("docker://{}/{repository}:{tag}", self.host()))
            .output()
            .expect("run skopeo");
        assert!(
            output.status.success(),
            "skopeo copy {tag} failed: {}\nregistry log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
    }

    /// Points `REPOSITORY:TAG` at an already pushed manifest, as `crane tag` and
    /// `skopeo copy docker://… docker://…` do: one `PUT` of the same manifest bytes.
    pub fn tag_manifest(&self, repository: &str, tag: &str, media_type: &str, manifest: &[u8]) {
        let path = format!("/v2/{repository}/manifests/{tag}");
        let status = self
            .request("PUT", &path, Some(media_type), manifest)
            .expect("PUT manifest");
        assert_eq!(status, 201, "PUT {path} answered {status}");
    }

    /// A minimal HTTP/1.1 request; returns the status code.
    fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> std::io::Result<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.host(),
            body.len()
        );
        if let Some(content_type) = content_type {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        if let Some((user, password)) = &self.credentials {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            head.push_str(&format!("Authorization: Basic {token}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        let line = String::from_utf8_lossy(&answer);
        line.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad HTTP answer: {line:.80}")))
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port")
}

/// A test CA and a server certificate for 127.0.0.1 signed by it: (cert, key).
fn make_certificates(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    require_tool("openssl", "openssl");
    let run = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=kedge test CA",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write extensions");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (dir.join("server.pem"), dir.join("server.key"))
}

fn htpasswd_line(user: &str, password: &str) -> String {
    require_tool("htpasswd", "apache2-utils");
    let output = Command::new("htpasswd")
        .args(["-Bbn", user, password])
        .output()
        .expect("run htpasswd");
    assert!(output.status.success(), "htpasswd failed");
    String::from_utf8(output.stdout).expect("htpasswd output is UTF-8")
}

/// Fails with the install command when a tool the real-parts tests need is missing.
pub fn require_tool(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| Path::new(&dir).join(tool).exists()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is not installed; these tests run against the real thing: apt-get install {package} (see .ci/run)"
    );
}
