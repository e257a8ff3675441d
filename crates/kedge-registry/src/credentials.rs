//! Registry credentials: Docker's `config.json`, credential helpers, and
//! Kubernetes `kubernetes.io/dockerconfigjson` secrets.
//!
//! Lookup follows Docker's order: a per-registry `credHelpers` entry, then a
//! static `auths` entry, then the default `credsStore`, else anonymous.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::RegistryError;

/// What kedge presents to a registry.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// No credentials: anonymous pulls, or an anonymous bearer token where the registry issues one.
    #[default]
    Anonymous,
    /// Username and password (or access token used as a password).
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// A ready bearer token (Docker's `registrytoken`).
    Bearer(String),
}

// Secrets never reach logs, not even through `{:?}`.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("Anonymous"),
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Credentials for many registries, read from Docker-style configuration.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    auths: HashMap<String, Credentials>,
    helpers: HashMap<String, String>,
    default_helper: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DockerConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

#[derive(Deserialize)]
struct SecretFile {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default, rename = "type")]
    secret_type: Option<String>,
    #[serde(default)]
    data: HashMap<String, String>,
    #[serde(default, rename = "stringData")]
    string_data: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

const DOCKERCONFIGJSON_KEY: &str = ".dockerconfigjson";

impl CredentialStore {
    /// An empty store: every registry is accessed anonymously.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the user's Docker configuration: `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`. A missing file gives an empty store.
    pub fn from_default_docker_config() -> Result<Self, RegistryError> {
        let dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
        match dir.map(|d| d.join("config.json")) {
            Some(path) if path.exists() => Self::from_docker_config(&path),
            _ => Ok(Self::new()),
        }
    }

    /// Reads a Docker `config.json` file.
    pub fn from_docker_config(path: &Path) -> Result<Self, RegistryError> {
        let text = read(path)?;
        Self::parse_docker_config(path, &text)
    }

    /// Reads a Kubernetes Secret of type `kubernetes.io/dockerconfigjson` (YAML or
    /// JSON, with `data` or `stringData`), or a bare `.dockerconfigjson` file.
    pub fn from_kubernetes_secret(path: &Path) -> Result<Self, RegistryError> {
        let text = read(path)?;
        let bad = |reason: String| RegistryError::CredentialsFile {
            path: path.to_owned(),
            reason,
        };
        let secret: SecretFile = serde_saphyr::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if secret.kind.is_none() {
            // Not a Secret object: treat the file as the `.dockerconfigjson` payload itself.
            return Self::parse_docker_config(path, &text);
        }
        if let Some(t) = &secret.secret_type
            && t != "kubernetes.io/dockerconfigjson"
        {
            return Err(bad(format!(
                "secret type is {t:?}, expected \"kubernetes.io/dockerconfigjson\""
            )));
        }
        let payload = if let Some(plain) = secret.string_data.get(DOCKERCONFIGJSON_KEY) {
            plain.clone()
        } else if let Some(encoded) = secret.data.get(DOCKERCONFIGJSON_KEY) {
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|e| bad(format!("data.{DOCKERCONFIGJSON_KEY} is not base64: {e}")))?;
            String::from_utf8(bytes)
                .map_err(|_| bad(format!("data.{DOCKERCONFIGJSON_KEY} is not UTF-8")))?
        } else {
            return Err(bad(format!(
                "no data.{DOCKERCONFIGJSON_KEY} or stringData.{DOCKERCONFIGJSON_KEY}"
            )));
        };
        Self::parse_docker_config(path, &payload)
    }

    /// Reads the `.dockerconfigjson` of a Kubernetes pull Secret held in
    /// memory; `source` names it in errors (`Secret team/ghcr key .dockerconfigjson`).
    ///
    /// Only its `auths` are kept: `credsStore` and `credHelpers` name
    /// programs on the machine reading it, which a Secret written by a
    /// cluster's tenant must not choose for the controller.
    pub fn from_pull_secret(source: &str, text: &str) -> Result<Self, RegistryError> {
        let store = Self::parse_docker_config(Path::new(source), text)?;
        Ok(Self {
            auths: store.auths,
            ..Self::default()
        })
    }

    fn parse_docker_config(path: &Path, text: &str) -> Result<Self, RegistryError> {
        let bad = |reason: String| RegistryError::CredentialsFile {
            path: path.to_owned(),
            reason,
        };
        let file: DockerConfigFile = serde_json::from_str(text)
            .map_err(|e| bad(format!("line {}, column {}: {e}", e.line(), e.column())))?;
        let mut store = Self {
            default_helper: file.creds_store.filter(|s| !s.is_empty()),
            ..Self::default()
        };
        for (server, entry) in file.auths {
            let credentials = entry
                .into_credentials()
                .map_err(|reason| bad(format!("auths.{server:?}: {reason}")))?;
            // Docker writes empty entries beside credsStore: they hold nothing, so the
            // store must still be asked.
            if credentials != Credentials::Anonymous {
                store.auths.insert(normalise_server(&server), credentials);
            }
        }
        for (server, helper) in file.cred_helpers {
            store.helpers.insert(normalise_server(&server), helper);
        }
        Ok(store)
    }

    /// Sets the credentials of one registry, replacing whatever the files said.
    pub fn insert(&mut self, registry: &str, credentials: Credentials) {
        let key = normalise_server(registry);
        self.helpers.remove(&key);
        self.auths.insert(key, credentials);
    }

    /// Adds every entry of `other`, which wins where both name a registry.
    pub fn merge(&mut self, other: CredentialStore) {
        for key in other.auths.keys() {
            self.helpers.remove(key);
        }
        self.auths.extend(other.auths);
        self.helpers.extend(other.helpers);
        if other.default_helper.is_some() {
            self.default_helper = other.default_helper;
        }
    }

    /// The credentials for `registry` (as users write it: `docker.io`, `ghcr.io`,
    /// `127.0.0.1:5000`). May run a credential helper, which blocks.
    pub fn lookup(&self, registry: &str) -> Result<Credentials, RegistryError> {
        let key = normalise_server(registry);
        if let Some(helper) = self.helpers.get(&key) {
            return run_helper(helper, registry);
        }
        if let Some(credentials) = self.auths.get(&key) {
            return Ok(credentials.clone());
        }
        match &self.default_helper {
            Some(helper) => run_helper(helper, registry),
            None => Ok(Credentials::Anonymous),
        }
    }
}

impl AuthEntry {
    fn into_credentials(self) -> Result<Credentials, String> {
        if let Some(token) = self.registrytoken.filter(|t| !t.is_empty()) {
            return Ok(Credentials::Bearer(token));
        }
        if let Some(auth) = self.auth.filter(|a| !a.is_empty()) {
            let decoded = STANDARD
                .decode(auth.trim())
                .map_err(|e| format!("auth is not base64: {e}"))?;
            let decoded = String::from_utf8(decoded).map_err(|_| "auth is not UTF-8".to_owned())?;
            let (username, password) = decoded
                .split_once(':')
                .ok_or_else(|| "auth does not decode to USER:PASSWORD".to_owned())?;
            return Ok(Credentials::Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            });
        }
        match (self.username, self.password) {
            (Some(username), Some(password)) => Ok(Credentials::Basic { username, password }),
            _ => Ok(Credentials::Anonymous),
        }
    }
}

/// The key a server is stored and looked up under: its canonical host
/// (`https://index.docker.io/v1/`, `registry-1.docker.io` and `DOCKER.IO` are all
/// `docker.io`). A key that is not a host is only lower-cased, so it still finds itself.
fn normalise_server(server: &str) -> String {
    match kedge_image::RegistryHost::parse_server(server) {
        Ok(host) => host.to_string(),
        Err(_) => server.trim().to_ascii_lowercase(),
    }
}

fn read(path: &Path) -> Result<String, RegistryError> {
    std::fs::read_to_string(path).map_err(|e| RegistryError::CredentialsFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn run_helper(helper: &str, registry: &str) -> Result<Credentials, RegistryError> {
    run_helper_program(&format!("docker-credential-{helper}"), helper, registry)
}

fn run_helper_program(
    program: &str,
    helper: &str,
    registry: &str,
) -> Result<Credentials, RegistryError> {
    let fail = |reason: String| RegistryError::CredentialHelper {
        helper: helper.to_owned(),
        registry: registry.to_owned(),
        reason,
    };
    // Docker stores Docker Hub credentials under its legacy index URL.
    let server = if normalise_server(registry) == kedge_image::DOCKER_HUB {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| fail(format!("cannot write request: {e}")))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| fail(format!("cannot read answer: {e}")))?;
    if !output.status.success() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        // The helper protocol's way of saying "nothing stored for this server".
        if stdout.contains("credentials not found") {
            return Ok(Credentials::Anonymous);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(fail(format!(
            "exited with {}: {}",
            output.status,
            stderr.trim()
        )));
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
        .map_err(|e| fail(format!("answered invalid JSON: {e}")))?;
    if answer.username == "<token>" {
        // An OAuth refresh token for the registry's token service, which kedge does not
        // exchange yet: say so instead of sending it where it will be refused.
        return Err(fail(
            "answered with an identity token (<token>), which kedge cannot use yet; \
             store a username and password or access token for this registry"
                .to_owned(),
        ));
    }
    Ok(Credentials::Basic {
        username: answer.username,
        password: answer.secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn basic(u: &str, p: &str) -> Credentials {
        Credentials::Basic {
            username: u.into(),
            password: p.into(),
        }
    }

    #[test]
    fn a_pull_secret_in_memory_keeps_its_auths_and_runs_no_helper() {
        let text = r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz"}},"credsStore":"desktop","credHelpers":{"quay.io":"ecr-login"}}"#;
        let store = CredentialStore::from_pull_secret("Secret team/ghcr", text).unwrap();
        assert_eq!(store.lookup("ghcr.io").unwrap(), basic("user", "pass"));
        // Neither the store nor the helper named in the Secret is run.
        assert_eq!(store.lookup("quay.io").unwrap(), Credentials::Anonymous);
        assert_eq!(store.lookup("docker.io").unwrap(), Credentials::Anonymous);

        let error = CredentialStore::from_pull_secret("Secret team/ghcr", "{").unwrap_err();
        assert!(error.to_string().contains("Secret team/ghcr"), "{error}");
    }

    #[test]
    fn docker_config_auths_are_found_by_any_spelling_of_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "config.json",
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
                "ghcr.io": {"username": "octo", "password": "ghp_x"},
                "127.0.0.1:5000": {"registrytoken": "tok"}
            }}"#,
        );
        let store = CredentialStore::from_docker_config(&path).unwrap();
        assert_eq!(store.lookup("docker.io").unwrap(), basic("hub", "secret"));
        assert_eq!(store.lookup("GHCR.io").unwrap(), basic("octo", "ghp_x"));
        assert_eq!(
            store.lookup("127.0.0.1:5000").unwrap(),
            Credentials::Bearer("tok".into())
        );
        assert_eq!(store.lookup("quay.io").unwrap(), Credentials::Anonymous);
    }

    #[test]
    fn docker_hub_credentials_are_found_under_every_alias() {
        // Regression (issue 9): `registry.hub.docker.com` and a `DOCKER.IO` key were
        // registries of their own, so Docker Hub was pulled anonymously.
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "config.json",
            r#"{"auths": {"DOCKER.IO": {"auth": "aHViOnNlY3JldA=="}}}"#,
        );
        let store = CredentialStore::from_docker_config(&path).unwrap();
        for registry in [
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "registry.hub.docker.com",
            "Registry.Hub.Docker.Com",
        ] {
            assert_eq!(
                store.lookup(registry).unwrap(),
                basic("hub", "secret"),
                "{registry}"
            );
        }
        let mut store = CredentialStore::new();
        store.insert("https://registry-1.docker.io/v2/", basic("bot", "pw"));
        assert_eq!(store.lookup("docker.io").unwrap(), basic("bot", "pw"));
    }

    #[test]
    fn kubernetes_secret_with_base64_data() {
        let payload = r#"{"auths":{"registry.example.com":{"auth":"dTpw"}}}"#;
        let encoded = STANDARD.encode(payload);
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "secret.yaml",
            &format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {encoded}\n"
            ),
        );
        let store = CredentialStore::from_kubernetes_secret(&path).unwrap();
        assert_eq!(
            store.lookup("registry.example.com").unwrap(),
            basic("u", "p")
        );
    }

    #[test]
    fn kubernetes_secret_of_wrong_type_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "secret.yaml",
            "kind: Secret\ntype: Opaque\ndata: {}\n",
        );
        let err = CredentialStore::from_kubernetes_secret(&path).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("secret.yaml") && msg.contains("Opaque"),
            "{msg}"
        );
    }

    #[test]
    fn malformed_auth_names_file_and_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "config.json",
            r#"{"auths": {"ghcr.io": {"auth": "bm9jb2xvbg=="}}}"#,
        );
        let msg = CredentialStore::from_docker_config(&path)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("config.json") && msg.contains("ghcr.io"),
            "{msg}"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let shown = format!("{:?}", basic("me", "hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn credential_helper_answers_are_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let helper = write(
            &dir,
            "docker-credential-kedgetest",
            "#!/bin/sh\nread server\ncase \"$server\" in\n  registry.example.com) printf '{\"ServerURL\":\"%s\",\"Username\":\"bot\",\"Secret\":\"pw\"}' \"$server\" ;;\n  https://index.docker.io/v1/) printf '{\"Username\":\"<token>\",\"Secret\":\"idt\"}' ;;\n  *) echo 'credentials not found in native keychain'; exit 1 ;;\nesac\n",
        );
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let program = helper.to_str().unwrap();
        assert_eq!(
            run_helper_program(program, "kedgetest", "registry.example.com").unwrap(),
            basic("bot", "pw")
        );
        let identity = run_helper_program(program, "kedgetest", "docker.io").unwrap_err();
        assert!(
            identity.to_string().contains("identity token"),
            "{identity}"
        );
        assert_eq!(
            run_helper_program(program, "kedgetest", "quay.io").unwrap(),
            Credentials::Anonymous
        );
        let missing = run_helper_program("/nonexistent/helper", "gone", "quay.io").unwrap_err();
        assert!(
            missing.to_string().contains("docker-credential-gone"),
            "{missing}"
        );
    }

    #[test]
    fn cred_helpers_entry_is_preferred_over_auths() {
        let dir = tempfile::tempdir().unwrap();
        let config = write(
            &dir,
            "config.json",
            r#"{"auths": {"registry.example.com": {"auth": "dTpw"}},
                "credHelpers": {"registry.example.com": "kedge-missing-helper"}}"#,
        );
        let store = CredentialStore::from_docker_config(&config).unwrap();
        let err = store.lookup("registry.example.com").unwrap_err();
        assert!(
            err.to_string()
                .contains("docker-credential-kedge-missing-helper"),
            "{err}"
        );
    }
}
