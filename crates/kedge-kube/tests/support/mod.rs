//! Shared by kedge-kube's and kedge-cli's cluster tests: a stand-in kubelet
//! (the test bed has none), a request-recording client, and manifests
//! written to a temporary directory.
#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service};
use kedge_testkit::kube::TestCluster;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;

/// Stops the stand-in kubelet when dropped.
pub struct Kubelet(tokio::task::JoinHandle<()>);

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Does a kubelet's part for Pods in `namespaces`: every Pod is reported
/// Running and Ready through `/status` (a Job's Pods Succeeded), so the
/// controller-manager's ReplicaSet, Deployment and Job controllers see
/// ready replicas and completions, as on a real node; and a cloud
/// controller's part for LoadBalancer Services (an ingress address from
/// TEST-NET-1).
pub fn kubelet(client: Client, namespaces: &[&str]) -> Kubelet {
    let namespaces: Vec<String> = namespaces.iter().map(|n| (*n).to_owned()).collect();
    Kubelet(tokio::spawn(async move {
        loop {
            for namespace in &namespaces {
                mark_pods(&client, namespace).await;
                mark_load_balancers(&client, namespace).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }))
}

async fn mark_pods(client: &Client, namespace: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let Ok(list) = pods.list(&ListParams::default()).await else {
        return;
    };
    for pod in list.items {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Running" | "Succeeded")) {
            continue;
        }
        let of_job = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|owner| owner.kind == "Job");
        let now = "2026-01-01T00:00:00Z";
        let containers: Vec<_> = pod
            .spec
            .iter()
            .flat_map(|spec| &spec.containers)
            .map(|c| {
                let state = if of_job {
                    json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}})
                } else {
                    json!({"running": {"startedAt": now}})
                };
                json!({"name": c.name, "image": c.image, "imageID": "", "ready": !of_job,
                       "restartCount": 0, "started": !of_job, "state": state})
            })
            .collect();
        let ready = if of_job { "False" } else { "True" };
        let status = json!({"status": {
            "phase": if of_job { "Succeeded" } else { "Running" },
            "startTime": now,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": ready, "lastTransitionTime": now},
                {"type": "Ready", "status": ready, "lastTransitionTime": now},
            ],
            "containerStatuses": containers,
        }});
        let name = pod.metadata.name.unwrap_or_default();
        if let Err(error) = pods
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await
        {
            eprintln!("kubelet stand-in: pod {namespace}/{name}: {error}");
        }
    }
}

async fn mark_load_balancers(client: &Client, namespace: &str) {
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let Ok(list) = services.list(&ListParams::default()).await else {
        return;
    };
    for service in list.items {
        let is_load_balancer =
            service.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
        let has_address = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .is_some_and(|ingress| !ingress.is_empty());
        if is_load_balancer && !has_address {
            let status = json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}});
            let name = service.metadata.name.unwrap_or_default();
            let _ = services
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                .await;
        }
    }
}

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
