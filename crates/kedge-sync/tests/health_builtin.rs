//! Health of the built-in kinds on real manifests from `../shared/fixtures/manifests`
//! (microservices-demo, kubernetes/examples, kube-prometheus, kustomize's
//! examples and Argo CD's CronJob testdata; origins in
//! `../shared/fixtures/README.md`), each given the status block its
//! controller writes at one moment of a rollout.

use kedge_sync::Object;
use kedge_sync::health::{Health, HealthStatus, assess};
use serde_json::Value;

use HealthStatus::{Degraded, Progressing, Suspended};

/// The first object of `kind` in a file under `fixtures/manifests`.
fn manifest(path: &str, kind: &str) -> Object {
    named(path, kind, None)
}

/// The object of `kind` (and `name`, when given) in a file under `fixtures/manifests`.
fn named(path: &str, kind: &str, name: Option<&str>) -> Object {
    let path = kedge_testkit::fixtures_dir().join("manifests").join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    documents
        .into_iter()
        .find_map(|document| match document {
            Value::Object(object)
                if object["kind"] == kind
                    && name.is_none_or(|name| object["metadata"]["name"] == name) =>
            {
                Some(object)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{}: no {kind}", path.display()))
}

/// `object` as the API server returns it: at `generation`, with `status`
/// (YAML) as its controller wrote it.
fn live(mut object: Object, generation: i64, status: &str) -> Object {
    let status: Value = serde_saphyr::from_str(status).unwrap_or_else(|e| panic!("{e}\n{status}"));
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        metadata.insert("generation".to_owned(), generation.into());
    }
    object.insert("status".to_owned(), status);
    object
}

/// Sets a field below `spec` (what a user changed in Git).
fn with_spec(mut object: Object, field: &str, value: Value) -> Object {
    if let Some(Value::Object(spec)) = object.get_mut("spec") {
        spec.insert(field.to_owned(), value);
    }
    object
}

fn verdict(status: HealthStatus, message: &str) -> Health {
    Health {
        status,
        message: Some(message.to_owned()),
    }
}

const FRONTEND: &str = "GoogleCloudPlatform__microservices-demo/kubernetes-manifests/frontend.yaml";

#[test]
fn health_of_the_frontend_deployment_through_a_rollout() {
    let deployment = || manifest(FRONTEND, "Deployment");
    let steps = [
        (
            live(
                deployment(),
                2,
                "{observedGeneration: 1, replicas: 1, updatedReplicas: 1}",
            ),
            verdict(
                Progressing,
                r#"Deployment "frontend": waiting for the controller to observe generation 2 (it has seen 1)"#,
            ),
        ),
        (
            live(
                deployment(),
                2,
                "{observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 1}",
            ),
            verdict(
                Progressing,
                r#"Deployment "frontend": 1 old replicas are pending termination"#,
            ),
        ),
        (
            live(
                deployment(),
                2,
                "{observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 0}",
            ),
            verdict(
                Progressing,
                r#"Deployment "frontend": 0 of 1 updated replicas are available"#,
            ),
        ),
        (
            live(
                deployment(),
                2,
                "{observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1, \
                 availableReplicas: 1, conditions: [{type: Available, status: 'True', \
                 reason: MinimumReplicasAvailable}, {type: Progressing, status: 'True', \
                 reason: NewReplicaSetAvailable}]}",
            ),
            Health::healthy(),
        ),
    ];
    for (object, expected) in steps {
        assert_eq!(assess(&object), expected, "{:?}", object["status"]);
    }
}

#[test]
fn health_of_the_frontend_deployment_scaled_up_stuck_or_paused() {
    let scaled = with_spec(manifest(FRONTEND, "Deployment"), "replicas", 3.into());
    let partly_updated = live(
        scaled.clone(),
        3,
        "{observedGeneration: 3, replicas: 3, updatedReplicas: 1, availableReplicas: 3}",
    );
    assert_eq!(
        assess(&partly_updated),
        verdict(
            Progressing,
            r#"Deployment "frontend": 1 of 3 replicas are updated"#
        )
    );
    let stuck = live(
        scaled.clone(),
        3,
        "{observedGeneration: 3, replicas: 4, updatedReplicas: 1, availableReplicas: 3, \
         conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded, \
         message: 'ReplicaSet \"frontend-7d9c\" has timed out progressing.'}]}",
    );
    assert_eq!(
        assess(&stuck),
        verdict(
            Degraded,
            r#"Deployment "frontend": rollout exceeded its progress deadline (ProgressDeadlineExceeded: ReplicaSet "frontend-7d9c" has timed out progressing.)"#
        )
    );
    let paused = live(
        with_spec(scaled, "paused", true.into()),
        4,
        "{observedGeneration: 3}",
    );
    assert_eq!(
        assess(&paused),
        verdict(Suspended, r#"Deployment "frontend": rollout is paused"#)
    );
}

#[test]
fn health_of_the_frontend_replica_set_waits_for_available_pods() {
    let mut replica_set = manifest(FRONTEND, "Deployment");
    replica_set.insert("kind".to_owned(), "ReplicaSet".into());
    let starting = live(
        replica_set.clone(),
        1,
        "{observedGeneration: 1, replicas: 1, availableReplicas: 0}",
    );
    assert_eq!(
        assess(&starting),
        verdict(
            Progressing,
            r#"ReplicaSet "frontend": 0 of 1 replicas are available"#
        )
    );
    let ready = live(
        replica_set,
        1,
        "{observedGeneration: 1, replicas: 1, readyReplicas: 1, availableReplicas: 1}",
    );
    assert_eq!(assess(&ready), Health::healthy());
}

#[test]
fn health_of_the_external_frontend_service_waits_for_its_load_balancer() {
    let service = |name| named(FRONTEND, "Service", Some(name));
    let external = service("frontend-external");
    assert_eq!(
        assess(&live(external.clone(), 1, "{loadBalancer: {}}")),
        verdict(
            Progressing,
            r#"Service "frontend-external": waiting for the load balancer to get an address"#
        )
    );
    assert_eq!(
        assess(&live(
            external,
            1,
            "{loadBalancer: {ingress: [{ip: 203.0.113.10, ipMode: VIP}]}}"
        )),
        Health::healthy()
    );
    assert_eq!(
        assess(&live(service("frontend"), 1, "{loadBalancer: {}}")),
        Health::healthy()
    );
}

#[test]
fn health_of_the_cassandra_stateful_set_rolls_pod_by_pod() {
    let cassandra = || {
        manifest(
            "kubernetes__examples/databases/cassandra/cassandra-statefulset.yaml",
            "StatefulSet",
        )
    };
    let rolling = live(
        cassandra(),
        2,
        "{observedGeneration: 2, replicas: 3, readyReplicas: 3, currentReplicas: 2, \
         updatedReplicas: 1, currentRevision: cassandra-5b7d8f6c9, updateRevision: cassandra-6f4c7d9b8}",
    );
    assert_eq!(
        assess(&rolling),
        verdict(
            Progressing,
            r#"StatefulSet "cassandra": 1 of 3 pods are at revision cassandra-6f4c7d9b8"#
        )
    );
    let restarting = live(
        cassandra(),
        2,
        "{observedGeneration: 2, replicas: 3, readyReplicas: 2, updatedReplicas: 2, \
         currentRevision: cassandra-5b7d8f6c9, updateRevision: cassandra-6f4c7d9b8}",
    );
    assert_eq!(
        assess(&restarting),
        verdict(
            Progressing,
            r#"StatefulSet "cassandra": 2 of 3 pods are ready"#
        )
    );
    let done = live(
        cassandra(),
        2,
        "{observedGeneration: 2, replicas: 3, readyReplicas: 3, currentReplicas: 3, \
         updatedReplicas: 3, currentRevision: cassandra-6f4c7d9b8, updateRevision: cassandra-6f4c7d9b8}",
    );
    assert_eq!(assess(&done), Health::healthy());
}

#[test]
fn health_of_the_node_exporter_daemon_set_rolls_over_every_node() {
    let node_exporter = || {
        manifest(
            "prometheus-operator__kube-prometheus/manifests/nodeExporter-daemonset.yaml",
            "DaemonSet",
        )
    };
    let rolling = live(
        node_exporter(),
        5,
        "{observedGeneration: 5, desiredNumberScheduled: 6, currentNumberScheduled: 6, \
         updatedNumberScheduled: 4, numberAvailable: 5, numberReady: 5}",
    );
    assert_eq!(
        assess(&rolling),
        verdict(
            Progressing,
            r#"DaemonSet "node-exporter": 4 of 6 pods are updated"#
        )
    );
    let done = live(
        node_exporter(),
        5,
        "{observedGeneration: 5, desiredNumberScheduled: 6, currentNumberScheduled: 6, \
         updatedNumberScheduled: 6, numberAvailable: 6, numberReady: 6}",
    );
    assert_eq!(assess(&done), Health::healthy());
}

/// Argo CD's CronJob testdata; its Job is built from the job template.
const HELLO_CRON_JOB: &str =
    "argoproj__argo-cd/resource_customizations/batch/CronJob/testdata/healthy.yaml";

#[test]
fn health_of_the_hello_cron_job() {
    let cron_job = manifest(HELLO_CRON_JOB, "CronJob");
    assert_eq!(assess(&cron_job), Health::healthy(), "as recorded");
    let failed_last_run = live(
        cron_job.clone(),
        1,
        "{lastScheduleTime: '2025-07-30T13:45:00Z', lastSuccessfulTime: '2025-07-30T13:44:19Z'}",
    );
    assert_eq!(
        assess(&failed_last_run),
        verdict(
            Degraded,
            r#"CronJob "hello": the run scheduled at 2025-07-30T13:45:00Z did not succeed (last success at 2025-07-30T13:44:19Z)"#
        )
    );
    let suspended = with_spec(cron_job, "suspend", true.into());
    assert_eq!(
        assess(&suspended),
        verdict(Suspended, r#"CronJob "hello": is suspended"#)
    );
}

#[test]
fn health_of_a_job_the_hello_cron_job_starts() {
    let cron_job = manifest(HELLO_CRON_JOB, "CronJob");
    let job_spec = cron_job["spec"]["jobTemplate"]["spec"].clone();
    let job: Object = serde_json::from_value(serde_json::json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "hello-29232825", "namespace": "test-cronjob"},
        "spec": job_spec,
    }))
    .expect("a Job");
    let running = live(
        job.clone(),
        1,
        "{active: 1, startTime: '2025-07-30T13:45:00Z'}",
    );
    assert_eq!(
        assess(&running),
        verdict(
            Progressing,
            r#"Job "hello-29232825": running: 0 of 1 completions succeeded, 1 pods active, 0 failed"#
        )
    );
    let failed = live(
        job.clone(),
        1,
        "{failed: 7, conditions: [{type: FailureTarget, status: 'True', reason: BackoffLimitExceeded, \
         message: Job has reached the specified backoff limit}, {type: Failed, status: 'True', \
         reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}]}",
    );
    assert_eq!(
        assess(&failed),
        verdict(
            Degraded,
            r#"Job "hello-29232825": failed (BackoffLimitExceeded: Job has reached the specified backoff limit)"#
        )
    );
    let complete = live(
        job,
        1,
        "{succeeded: 1, conditions: [{type: SuccessCriteriaMet, status: 'True'}, \
         {type: Complete, status: 'True'}]}",
    );
    assert_eq!(assess(&complete), Health::healthy());
}

#[test]
fn health_of_the_myapp_pod_crash_looping_or_missing_its_image() {
    let pod = || {
        manifest(
            "kubernetes-sigs__kustomize/examples/multibases/base/pod.yaml",
            "Pod",
        )
    };
    let crash_loop = live(
        pod(),
        1,
        "{phase: Running, conditions: [{type: Ready, status: 'False', reason: ContainersNotReady}], \
         containerStatuses: [{name: nginx, image: 'nginx:1.7.9', ready: false, restartCount: 5, \
         state: {waiting: {reason: CrashLoopBackOff, \
         message: 'back-off 2m40s restarting failed container=nginx pod=myapp-pod_default'}}, \
         lastState: {terminated: {exitCode: 1, reason: Error}}}]}",
    );
    assert_eq!(
        assess(&crash_loop),
        verdict(
            Degraded,
            r#"Pod "myapp-pod": container "nginx": CrashLoopBackOff: back-off 2m40s restarting failed container=nginx pod=myapp-pod_default"#
        )
    );
    let image_pull = live(
        pod(),
        1,
        "{phase: Pending, containerStatuses: [{name: nginx, image: 'nginx:1.7.9', ready: false, \
         state: {waiting: {reason: ImagePullBackOff, \
         message: 'Back-off pulling image \"nginx:1.7.9\"'}}}]}",
    );
    assert_eq!(
        assess(&image_pull),
        verdict(
            Degraded,
            r#"Pod "myapp-pod": container "nginx": ImagePullBackOff: Back-off pulling image "nginx:1.7.9""#
        )
    );
    let running = live(
        pod(),
        1,
        "{phase: Running, conditions: [{type: Ready, status: 'True'}], \
         containerStatuses: [{name: nginx, ready: true, state: {running: {}}}]}",
    );
    assert_eq!(assess(&running), Health::healthy());
}

#[test]
fn health_of_the_model_claim_pending_bound_or_lost() {
    let claim = || {
        manifest(
            "kubernetes__examples/AI/model-serving-tensorflow/pvc.yaml",
            "PersistentVolumeClaim",
        )
    };
    assert_eq!(
        assess(&live(claim(), 1, "{phase: Pending}")),
        verdict(
            Progressing,
            r#"PersistentVolumeClaim "my-model-pvc": waiting for a volume to be bound"#
        )
    );
    assert_eq!(
        assess(&live(
            claim(),
            1,
            "{phase: Bound, capacity: {storage: 1Gi}}"
        )),
        Health::healthy()
    );
    assert_eq!(
        assess(&live(claim(), 1, "{phase: Lost}")),
        verdict(
            Degraded,
            r#"PersistentVolumeClaim "my-model-pvc": its volume "my-model-pv" is lost; the data must be restored"#
        )
    );
}

#[test]
fn health_of_the_serving_ingress_waits_for_an_address() {
    let ingress = || {
        manifest(
            "kubernetes__examples/AI/model-serving-tensorflow/ingress.yaml",
            "Ingress",
        )
    };
    assert_eq!(
        assess(&live(ingress(), 1, "{loadBalancer: {}}")),
        verdict(
            Progressing,
            r#"Ingress "tf-serving-ingress": waiting for an ingress controller to publish an address"#
        )
    );
    assert_eq!(
        assess(&live(
            ingress(),
            1,
            "{loadBalancer: {ingress: [{ip: 192.0.2.40}]}}"
        )),
        Health::healthy()
    );
}

#[test]
fn health_of_the_prometheus_crd_is_healthy_once_established() {
    let crd = || {
        manifest(
            "prometheus-operator__kube-prometheus/manifests/setup/0prometheusCustomResourceDefinition.yaml",
            "CustomResourceDefinition",
        )
    };
    let installing = live(
        crd(),
        1,
        "{conditions: [{type: NamesAccepted, status: 'True', reason: NoConflicts, \
         message: no conflicts found}, {type: Established, status: 'False', reason: Installing, \
         message: the initial names have been accepted}]}",
    );
    assert_eq!(
        assess(&installing),
        verdict(
            Progressing,
            r#"CustomResourceDefinition "prometheuses.monitoring.coreos.com": is being installed (Installing: the initial names have been accepted)"#
        )
    );
    let established = live(
        crd(),
        1,
        "{conditions: [{type: NamesAccepted, status: 'True', reason: NoConflicts}, \
         {type: Established, status: 'True', reason: InitialNamesAccepted}]}",
    );
    assert_eq!(assess(&established), Health::healthy());
}

#[test]
fn health_of_the_metrics_api_service_is_progressing_until_its_backend_answers() {
    let api_service = || {
        manifest(
            "prometheus-operator__kube-prometheus/manifests/prometheusAdapter-apiService.yaml",
            "APIService",
        )
    };
    let failing = live(
        api_service(),
        1,
        "{conditions: [{type: Available, status: 'False', reason: FailedDiscoveryCheck, \
         message: 'failing or missing response from https://10.96.0.12:443/apis/metrics.k8s.io/v1beta1'}]}",
    );
    assert_eq!(
        assess(&failing),
        verdict(
            Progressing,
            r#"APIService "v1beta1.metrics.k8s.io": is not available (FailedDiscoveryCheck: failing or missing response from https://10.96.0.12:443/apis/metrics.k8s.io/v1beta1)"#
        )
    );
    let available = live(
        api_service(),
        1,
        "{conditions: [{type: Available, status: 'True', reason: Passed, message: all checks passed}]}",
    );
    assert_eq!(assess(&available), Health::healthy());
}

#[test]
fn health_of_the_vllm_autoscaler_without_its_custom_metric_is_degraded() {
    let hpa = || {
        manifest(
            "kubernetes__examples/AI/vllm-deployment/hpa/horizontal-pod-autoscaler.yaml",
            "HorizontalPodAutoscaler",
        )
    };
    let no_metric = live(
        hpa(),
        1,
        "{currentReplicas: 1, desiredReplicas: 0, conditions: [{type: AbleToScale, status: 'True', \
         reason: SucceededGetScale}, {type: ScalingActive, status: 'False', \
         reason: FailedGetPodsMetric, message: 'the HPA was unable to compute the replica count: \
         unable to get metric vllm_num_requests_running'}]}",
    );
    assert_eq!(
        assess(&no_metric),
        verdict(
            Degraded,
            r#"HorizontalPodAutoscaler "gemma-server-hpa": cannot scale (FailedGetPodsMetric: the HPA was unable to compute the replica count: unable to get metric vllm_num_requests_running)"#
        )
    );
    let scaling = live(
        hpa(),
        1,
        "{currentReplicas: 2, desiredReplicas: 2, conditions: [{type: AbleToScale, status: 'True', \
         reason: ReadyForNewScale}, {type: ScalingActive, status: 'True', reason: ValidMetricFound}, \
         {type: ScalingLimited, status: 'False', reason: DesiredWithinRange}]}",
    );
    assert_eq!(assess(&scaling), Health::healthy());
    let new = live(hpa(), 1, "{currentReplicas: 0, desiredReplicas: 0}");
    assert_eq!(
        assess(&new),
        verdict(
            Progressing,
            r#"HorizontalPodAutoscaler "gemma-server-hpa": waiting for the autoscaler to assess its target"#
        )
    );
}
