//! A stand-in kubelet for the test bed, which has none: Pods are reported
//! Running and Ready through `/status` (a Job's Pods Succeeded), so the
//! controller-manager's ReplicaSet, Deployment and Job controllers see ready
//! replicas and completions, as on a real node; LoadBalancer Services get an
//! address, as a cloud controller would give them.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams};
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
