//! Shared by kedge-kube's and kedge-cli's cluster tests: a stand-in kubelet
//! (the test bed has none), a request-recording client, and manifests
//! written to a temporary directory.
#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use kedge_testkit::kube::TestCluster;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use kedge_testkit::kubelet::kubelet;

/// Every request a client sent: method and path with query.
#[derive(Clone, Default)]
pub struct Requests(Arc<Mutex<Vec<(http::Method, String)>>>);

impl Requests {
    /// The requests so far, and forget them.
    pub fn take(&self) -> Vec<(http::Method, String)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl<S> tower::Layer<S> for Requests {
    type Service = Recording<S>;
    fn layer(&self, inner: S) -> Recording<S> {
        Recording {
            inner,
            requests: self.clone(),
        }
    }
}

/// A service that records each request before passing it on.
pub struct Recording<S> {
    inner: S,
    requests: Requests,
}

impl<S, B> tower::Service<http::Request<B>> for Recording<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request
            .uri()
            .path_and_query()
            .map(ToString::to_string)
            .unwrap_or_default();
        self.requests
            .0
            .lock()
            .unwrap()
            .push((request.method().clone(), path));
        self.inner.call(request)
    }
}

/// A client of the test bed that records every request it sends.
pub async fn recording_client(cluster: &TestCluster) -> (Client, Requests) {
    let kubeconfig = Kubeconfig::read_from(cluster.kubeconfig()).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    let requests = Requests::default();
    let client = kube::client::ClientBuilder::try_from(config)
        .unwrap()
        .with_layer(&requests)
        .build();
    (client, requests)
}

/// Writes `files` (name, YAML) into `dir`, removing any other `.yaml` file.
pub fn write_manifests(dir: &Path, files: &[(&str, String)]) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::remove_file(path).unwrap();
        }
    }
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// A ConfigMap manifest.
/// A Secret manifest holding one token.
pub fn secret(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  token: s3cret\n"
    )
}

pub fn config_map(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra}data:\n  greeting: hello\n"
    )
}

/// A Deployment manifest of one replica.
pub fn deployment(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
{annotations}spec:
  replicas: 1
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
"
    )
}
