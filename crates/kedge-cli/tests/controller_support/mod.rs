//! Shared by the `kedge serve --controller` tests: the binary started
//! against the test bed, signed GitHub deliveries (octokit's payload
//! examples), and reads of the Applications' status.
#![allow(dead_code)] // each test binary uses a different part

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kedge_controller::{Application, ConditionStatus, ConditionType};
use kedge_testkit::fixtures_dir;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::Value;

pub const SECRET: &str = "webhook-s3cret";
pub const REPOSITORY: &str = "Codertocat/Hello-World";
pub const WAIT: Duration = Duration::from_secs(60);

pub fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: {image}\n"
    )
}

pub struct Kedge(pub Child);

impl Drop for Kedge {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_kedge(dir: &Path, kubeconfig: &Path, namespace: &str, port: u16) -> Kedge {
    start_kedge_with(dir, kubeconfig, namespace, port, &[])
}

pub fn start_kedge_with(
    dir: &Path,
    kubeconfig: &Path,
    namespace: &str,
    port: u16,
    env: &[(&str, &str)],
) -> Kedge {
    let mut command = kedge_serve_controller(dir, kubeconfig, port);
    command
        .envs(env.iter().copied())
        .args(["--watch-namespace", namespace])
        .args(["--lease-namespace", namespace])
        .env("KEDGE_GITHUB_WEBHOOK_SECRET", SECRET);
    Kedge(command.spawn().expect("starting kedge serve --controller"))
}

/// `kedge serve --controller` on `port` with its cache in `dir`, talking to
/// the cluster of `kubeconfig`; the caller adds flags and spawns it.
pub fn kedge_serve_controller(dir: &Path, kubeconfig: &Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kedge"));
    command
        .args(["serve", "--controller", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .current_dir(dir)
        .env("KUBECONFIG", kubeconfig)
        .env("HOSTNAME", "kedge-test")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
}

/// POSTs a signed GitHub delivery; returns the HTTP status.
pub fn deliver(port: u16, event: &str, body: &[u8]) -> u16 {
    let signature = kedge_webhook::sign_hmac_sha256(&kedge_webhook::Secret::new(SECRET), body);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connecting to kedge");
    write!(
        stream,
        "POST /webhooks/github HTTP/1.1\r\nHost: kedge\r\nContent-Type: application/json\r\nX-GitHub-Event: {event}\r\nX-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("writing the request");
    stream.write_all(body).expect("writing the body");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("reading the answer");
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// The body of a GET.
pub fn get_body(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connecting to kedge");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: kedge\r\nConnection: close\r\n\r\n"
    )
    .expect("writing the request");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("reading the answer");
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// octokit's `pull_request` `action` example for pull request `number`
/// from `head` into `main` at `base`.
pub fn pull_request_event(action: &str, number: u64, base: &str, head: &str) -> Vec<u8> {
    let path = fixtures_dir().join(format!(
        "webhooks/github/octokit__webhooks/payload-examples/api.github.com/pull_request/{action}.payload.json"
    ));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut payload: Value = serde_json::from_str(&text).expect("a JSON payload");
    payload["number"] = number.into();
    payload["pull_request"]["number"] = number.into();
    payload["pull_request"]["base"]["ref"] = "main".into();
    payload["pull_request"]["base"]["sha"] = base.into();
    payload["pull_request"]["head"]["sha"] = head.into();
    serde_json::to_vec(&payload).expect("JSON")
}

/// octokit's `pull_request` `closed` example, made a merge into `main`.
pub fn merged_pull_request() -> Vec<u8> {
    let path = fixtures_dir()
        .join("webhooks/github/octokit__webhooks/payload-examples/api.github.com/pull_request/closed.payload.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut payload: Value = serde_json::from_str(&text).expect("a JSON payload");
    payload["pull_request"]["merged"] = true.into();
    payload["pull_request"]["base"]["ref"] = "main".into();
    serde_json::to_vec(&payload).expect("JSON")
}

pub fn ready_at(app: &Application) -> Option<(ConditionStatus, Option<String>)> {
    let status = app.status.as_ref()?;
    let ready = status
        .conditions
        .iter()
        .find(|c| c.condition_type == ConditionType::Ready)?;
    Some((ready.status, status.last_synced_revision.clone()))
}

/// Creates the Application `web` in `namespace`, rendering `web/` of
/// `url`'s main branch hourly (`automated` or compare only), retrying while
/// discovery catches up with the CRDs.
pub async fn create_web_application(
    client: &Client,
    namespace: &str,
    url: &str,
    automated: bool,
) -> Api<Application> {
    let apps: Api<Application> = Api::namespaced(client.clone(), namespace);
    let app: Application = serde_json::from_value(serde_json::json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "source": {"repoURL": url, "targetRevision": "main", "path": "web"},
            "destination": {"namespace": namespace},
            "syncPolicy": {"automated": automated, "interval": "1h"},
        },
    }))
    .expect("an Application");
    kedge_testkit::kube::eventually("the Application created", WAIT, || async {
        apps.create(&kube::api::PostParams::default(), &app)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await;
    apps
}

/// Installs the CRDs `kedge crds` prints.
pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in kedge_controller::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(
            &name,
            &PatchParams::apply("kedge-cli-test").force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("installing a CRD");
    }
}
