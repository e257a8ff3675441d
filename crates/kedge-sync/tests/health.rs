//! kedge's health verdicts against Argo CD's on the live custom resources in
//! `../shared/fixtures/manifests/argoproj__argo-cd/resource_customizations`.
//!
//! Origin of the data (see `../shared/fixtures/README.md`, `SOURCES.jsonl`):
//! the objects are Argo CD's health test inputs,
//! `resource_customizations/<group>/<Kind>/testdata/*.yaml` of argoproj/argo-cd
//! @ 37ee0097cf851bc2dd7665fc081bbce61a7e836e (Apache-2.0), one file per API
//! group. The fixtures hold the objects only; [`ARGO_EXPECTED`] transcribes the
//! `healthStatus.status` that the `health_test.yaml` beside each object expects
//! at the same commit.
//!
//! Every file is accounted for: it agrees with Argo CD, or it is in
//! [`DIFFERS`] with the reason, or it has no expectation upstream. The number
//! of agreeing cases is asserted, so a rule that regresses shows up here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kedge_sync::Object;
use kedge_sync::health::{HealthStatus, assess};
use serde_json::Value;

use HealthStatus::{Degraded, Healthy, Progressing};

/// Argo CD's expected status per testdata file, one `status path` a line,
/// transcribed from `healthStatus.status` in the `health_test.yaml` beside
/// each file (argoproj/argo-cd @ 37ee0097cf85).
const ARGO_EXPECTED: &str = "\
Degraded    _.cnrm.cloud.google.com/_/testdata/config-connector-context-unhealthy.yaml
Healthy     _.crossplane.io/_/testdata/composition_healthy.yaml
Healthy     _.services.k8s.aws/_/testdata/healthy.yaml
Degraded    _.upbound.io/_/testdata/managedresource_failedupdate_degraded.yaml
Healthy     acid.zalan.do/postgresql/testdata/healthy.yaml
Healthy     addons.cluster.x-k8s.io/ClusterResourceSet/testdata/healthy_resourceapplied.yaml
Healthy     apiextensions.k8s.io/CustomResourceDefinition/testdata/crd-v1-healthy.yaml
Healthy     apps.3scale.net/APIManager/testdata/healthy.yaml
Healthy     apps.kruise.io/CloneSet/testdata/healthy.yaml
Healthy     apps.openshift.io/DeploymentConfig/testdata/healthy.yaml
Degraded    argoproj.io/AnalysisRun/testdata/errorAnalysisRun.yaml
Healthy     argoproj.io/ApplicationSet/testdata/healthyApplicationSet.yaml
Healthy     argoproj.io/CronWorkflow/testdata/healthyCronWorkflow.yaml
Healthy     argoproj.io/EventBus/testdata/healthy.yaml
Degraded    argoproj.io/Experiment/testdata/errorExperiment.yaml
Healthy     argoproj.io/Rollout/testdata/bluegreen/healthy_servingActiveService.yaml
Healthy     astra.netapp.io/AppVault/testdata/healthy.yaml
Healthy     batch/CronJob/testdata/healthy.yaml
Progressing beat.k8s.elastic.co/Beat/testdata/progressing.yaml
Healthy     bitnami.com/SealedSecret/testdata/healthy.yaml
Healthy     camel.apache.org/Integration/testdata/healthy.yaml
Healthy     capabilities.3scale.net/ActiveDoc/testdata/healthy.yaml
Healthy     cassandra.rook.io/Cluster/testdata/healthy.yaml
Healthy     cdi.kubevirt.io/DataVolume/testdata/healthy_succeeded.yaml
Healthy     ceph.rook.io/CephCluster/testdata/healthy.yaml
Healthy     cert-manager.io/Certificate/testdata/healthy_issued.yaml
Healthy     certmanager.k8s.io/Certificate/testdata/healthy_issued.yaml
Healthy     clickhouse-keeper.altinity.com/ClickHouseKeeperInstallation/testdata/healthy_completed.yaml
Healthy     clickhouse.altinity.com/ClickHouseInstallation/testdata/healthy_completed.yaml
Healthy     cloudfront.aws.crossplane.io/Distribution/testdata/healthy.yaml
Healthy     cluster.x-k8s.io/Cluster/testdata/healthy_provisioned.yaml
Healthy     controlplane.cluster.x-k8s.io/AWSManagedControlPlane/testdata/healthy.yaml
Healthy     coralogix.com/Alert/testdata/healthy_alert.yaml
Healthy     core.gardener.cloud/Shoot/testdata/healthy.yaml
Healthy     core.humio.com/HumioAction/testdata/healthy.yaml
Healthy     core.spinkube.dev/SpinApp/testdata/healthy.yaml
Healthy     datadoghq.com/DatadogMetric/testdata/healthy.yaml
Healthy     db.atlasgo.io/AtlasMigration/testdata/healthy.yaml
Progressing elasticsearch.k8s.elastic.co/Elasticsearch/testdata/progressing.yaml
Healthy     external-secrets.io/ClusterExternalSecret/testdata/healthy.yaml
Progressing flagger.app/Canary/testdata/progressing.yaml
Healthy     flink.apache.org/FlinkDeployment/testdata/healthy_running_v0.1.x.yaml
Healthy     game.kruise.io/GameServer/testdata/healthy.yaml
Healthy     gateway.networking.k8s.io/BackendTLSPolicy/testdata/healthy.yaml
Healthy     gateway.solo.io/Gateway/testdata/gloo-accepted.yaml
Healthy     gloo.solo.io/Proxy/testdata/gloo-accepted.yaml
Healthy     grafana-org-operator.kubitus-project.gitlab.io/_/testdata/healthy.yaml
Healthy     grafana.integreatly.org/Grafana/testdata/healthy.yaml
Healthy     helm.toolkit.fluxcd.io/HelmRelease/testdata/healthy.yaml
Healthy     iam.aws.crossplane.io/Policy/testdata/healthy.yaml
Healthy     iammanager.keikoproj.io/Iamrole/testdata/healthy.yaml
Healthy     image.toolkit.fluxcd.io/ImagePolicy/testdata/healthy.yaml
Healthy     install.istio.io/IstioOperator/testdata/healthy.yaml
Healthy     jaegertracing.io/Jaeger/testdata/healthy.yaml
Healthy     k8s.keycloak.org/Keycloak/testdata/healthy.yaml
Degraded    k8s.mariadb.com/Backup/testdata/failed.yaml
Healthy     kafka.banzaicloud.io/KafkaCluster/testdata/healthy.yaml
Healthy     kafka.strimzi.io/Kafka/testdata/healthy.yaml
Healthy     karpenter.k8s.aws/EC2NodeClass/testdata/healthy.yaml
Healthy     karpenter.sh/NodeClaim/testdata/healthy.yaml
Healthy     kiali.io/Kiali/testdata/healthy.yaml
Healthy     kubernetes-client.io/ExternalSecret/testdata/healthy.yaml
Healthy     kubevirt.io/VirtualMachine/testdata/healthy_ready.yaml
Healthy     kustomize.toolkit.fluxcd.io/Kustomization/testdata/healthy.yaml
Healthy     kyverno.io/Policy/testdata/healthy.yaml
Healthy     lifecycle.keptn.sh/KeptnAppVersion/testdata/healthy.yaml
Healthy     logstash.k8s.elastic.co/Logstash/testdata/green.yaml
Degraded    mariadb.mmontes.io/MariaDB/testdata/mariadb_error.yaml
Healthy     metrics.keptn.sh/Analysis/testdata/healthy_pass.yaml
Healthy     microgateway.airlock.com/_/testdata/healthy.yaml
Degraded    minio.min.io/Tenant/testdata/another_tenant_exists.yaml
Degraded    minio.min.io/Tenant/testdata/incorrect_tenant_credentials.yaml
Healthy     monitoring.coreos.com/Prometheus/testdata/healthy.yaml
Healthy     networking.gke.io/ManagedCertificate/testdata/active.yaml
Healthy     nmstate.io/NodeNetworkConfigurationPolicy/testdata/healthy_configured.yaml
Healthy     notification.toolkit.fluxcd.io/Receiver/testdata/healthy.yaml
Healthy     numaflow.numaproj.io/InterStepBufferService/testdata/healthy.yaml
Healthy     numaplane.numaproj.io/ISBServiceRollout/testdata/ISBServiceRollout/healthy.yaml
Healthy     objectbucket.io/ObjectBucketClaim/testdata/healthy.yaml
Progressing ocs.openshift.io/StorageCluster/testdata/progressing.yaml
Healthy     onepassword.com/OnePasswordItem/testdata/healthy.yaml
Healthy     openfaas.com/Function/testdata/healthy.yaml
Healthy     opentelemetry.io/OpenTelemetryCollector/testdata/healthy.yaml
Healthy     operator.knative.dev/KnativeEventing/testdata/healthy.yaml
Healthy     operator.openshift.io/IngressController/testdata/healthy.yaml
Healthy     operator.victoriametrics.com/_/testdata/healthy.yaml
Healthy     operators.coreos.com/Subscription/testdata/healthy.yaml
Healthy     pkg.crossplane.io/Provider/testdata/healthy.yaml
Healthy     platform.confluent.io/Connect/testdata/healthy.yaml
Healthy     policy.open-cluster-management.io/CertificatePolicy/testdata/healthy.yaml
Healthy     policy/PodDisruptionBudget/testdata/healthy.yaml
Healthy     proclaim.dogmatiq.io/DNSSDServiceInstance/testdata/healthy.yaml
Healthy     projectcontour.io/ExtensionService/testdata/healthy.yaml
Healthy     promoter.argoproj.io/ClusterScmProvider/testdata/healthy.yaml
Healthy     pulumi.com/Stack/testdata/healthy.yaml
Degraded    pxc.percona.com/PerconaXtraDBCluster/testdata/error.yaml
Healthy     rabbitmq.com/Binding/testdata/healthy.yaml
Healthy     rds.aws.crossplane.io/DBCluster/testdata/healthy.yaml
Healthy     rollouts.kruise.io/Rollout/testdata/healthy.yaml
Healthy     route.openshift.io/Route/testdata/healthy.yaml
Healthy     route53.aws.crossplane.io/ResourceRecordSet/testdata/healthy.yaml
Healthy     s3.aws.crossplane.io/Bucket/testdata/healthy.yaml
Healthy     services.cloud.sap.com/ServiceBinding/testdata/healthy.yaml
Healthy     serving.knative.dev/Service/testdata/healthy.yaml
Healthy     serving.kserve.io/InferenceService/testdata/healthy.yaml
Degraded    snapshot.storage.k8s.io/VolumeSnapshot/testdata/bad.yaml
Healthy     solr.apache.org/SolrCloud/testdata/healthy.yaml
Healthy     source.toolkit.fluxcd.io/Bucket/testdata/healthy.yaml
Healthy     sparkoperator.k8s.io/SparkApplication/testdata/healthy.yaml
Healthy     spot.io/SpotDeployment/testdata/healthy_spotdeployment.yaml
Progressing stacks.crossplane.io/ClusterStackInstall/testdata/being_created_stack.yaml
Healthy     tower.ansible.com/AnsibleJob/testdata/healthy.yaml
Healthy     trident.netapp.io/TridentBackendConfig/testdata/healthy.yaml
Progressing work.karmada.io/ClusterResourceBinding/testdata/progressing.yaml
Healthy     zookeeper.pravega.io/ZookeeperCluster/testdata/healthy.yaml
";

/// [`ARGO_EXPECTED`] as (file, status).
fn argo_expected() -> Vec<(&'static str, HealthStatus)> {
    ARGO_EXPECTED
        .lines()
        .map(|line| {
            let (status, path) = line.split_once(' ').expect("`status path`");
            let status = match status {
                "Healthy" => Healthy,
                "Progressing" => Progressing,
                "Degraded" => Degraded,
                other => panic!("{other}: not a status Argo CD's tests expect here"),
            };
            (path.trim(), status)
        })
        .collect()
}

/// Testdata files that no `health_test.yaml` names (inputs of Argo CD's
/// resource-action tests), with kedge's verdict and why.
const NO_ARGO_EXPECTATION: &[(&str, HealthStatus, &str)] = &[
    (
        "apps/DaemonSet/actions/testdata/daemonset-restarted.yaml",
        Healthy,
        "built-in rule: generation 3 observed, 4 of 4 pods updated and available",
    ),
    (
        "argoproj.io/AnalysisRun/actions/testdata/failedAnalysisRun.yaml",
        Healthy,
        "generic rule, no signal: only status.phase (Failed), which kstatus does not read",
    ),
    (
        "argoproj.io/CronWorkflow/actions/testdata/cronworkflow-without-label.yaml",
        Healthy,
        "generic rule: no status",
    ),
    (
        "argoproj.io/Rollout/actions/testdata/healthy_rollout.yaml",
        Healthy,
        "generic rule: Available=True; observedGeneration is a hash, not a generation",
    ),
    (
        "argoproj.io/WorkflowTemplate/actions/testdata/workflow.yaml",
        Healthy,
        "not a live object but an action's expected output (a list of {k8sOperation, \
         unstructuredObj}); without kind or status it is Healthy",
    ),
    (
        "core.strimzi.io/StrimziPodSet/actions/testdata/strimzi-pod-set-restarting.yaml",
        Healthy,
        "generic rule: generation 1 observed, no conditions",
    ),
    (
        "keda.sh/ScaledJob/actions/testdata/scaledjob-pause.yaml",
        Healthy,
        "generic rule: no status",
    ),
    (
        "postgresql.cnpg.io/Cluster/actions/testdata/cluster_healthy.yaml",
        Healthy,
        "generic rule, no signal: only status.phase, no observedGeneration",
    ),
    (
        "psmdb.percona.com/PerconaServerMongoDB/actions/testdata/paused.yaml",
        Healthy,
        "generic rule, no signal: observedGeneration without metadata.generation, \
         operator-specific fields",
    ),
];

/// Where kedge's verdict differs from the one Argo CD's kind-specific Lua
/// script gives: (file, kedge's verdict, why).
const DIFFERS: &[(&str, HealthStatus, &str)] = &[
    (
        "_.cnrm.cloud.google.com/_/testdata/config-connector-context-unhealthy.yaml",
        Healthy,
        "Argo reads status.healthy: false; not a kstatus field",
    ),
    (
        "_.upbound.io/_/testdata/managedresource_failedupdate_degraded.yaml",
        Healthy,
        "Ready=True; Argo's Crossplane script also reads Synced=False and \
         LastAsyncOperation=False, which kstatus does not",
    ),
    (
        "argoproj.io/AnalysisRun/testdata/errorAnalysisRun.yaml",
        Healthy,
        "Argo reads status.phase: Error; no condition or generation to read",
    ),
    (
        "argoproj.io/Experiment/testdata/errorExperiment.yaml",
        Healthy,
        "Argo reads status.phase: Error; the only condition is Progressing",
    ),
    (
        "beat.k8s.elastic.co/Beat/testdata/progressing.yaml",
        Healthy,
        "Argo reads the missing status.health; there is no metadata.generation to \
         compare observedGeneration with",
    ),
    (
        "elasticsearch.k8s.elastic.co/Elasticsearch/testdata/progressing.yaml",
        Healthy,
        "Argo compares status.availableNodes with the node sets in the spec",
    ),
    (
        "flagger.app/Canary/testdata/progressing.yaml",
        Healthy,
        "Argo reads status.phase: Progressing; the only condition is Promoted",
    ),
    (
        "k8s.mariadb.com/Backup/testdata/failed.yaml",
        Healthy,
        "Argo reads Complete=False; Complete is not a kstatus condition",
    ),
    (
        "minio.min.io/Tenant/testdata/another_tenant_exists.yaml",
        Healthy,
        "Argo matches the text of status.currentState",
    ),
    (
        "minio.min.io/Tenant/testdata/incorrect_tenant_credentials.yaml",
        Healthy,
        "Argo matches the text of status.currentState",
    ),
    (
        "pxc.percona.com/PerconaXtraDBCluster/testdata/error.yaml",
        Healthy,
        "Argo reads status.state: error; no metadata.generation, no conditions",
    ),
    (
        "snapshot.storage.k8s.io/VolumeSnapshot/testdata/bad.yaml",
        Healthy,
        "Argo reads status.error and status.readyToUse",
    ),
    (
        "stacks.crossplane.io/ClusterStackInstall/testdata/being_created_stack.yaml",
        Healthy,
        "its Ready=False sits in status.conditionedStatus.conditions, not status.conditions",
    ),
    (
        "work.karmada.io/ClusterResourceBinding/testdata/progressing.yaml",
        Healthy,
        "Argo reads Scheduled=False and FullyApplied=False; no observedGeneration",
    ),
];

/// Agreeing cases decided by a built-in rule (CustomResourceDefinition, CronJob).
const AGREE_BUILT_IN: usize = 2;
/// Agreeing cases where the generic rule read a kstatus condition or an
/// observed generation (two of them not Healthy: a Ready=False with a failure
/// reason, an Available=False while initialising).
const AGREE_GENERIC_SIGNAL: usize = 53;
/// Agreeing cases where the generic rule found nothing to read and said
/// Healthy, as Argo CD's script did from the kind's own fields.
const AGREE_NO_SIGNAL: usize = 46;

fn testdata_root() -> PathBuf {
    kedge_testkit::fixtures_dir().join("manifests/argoproj__argo-cd/resource_customizations")
}

/// The first object of a testdata file (one is a YAML list of objects).
fn first_object(path: &Path) -> Object {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    documents
        .into_iter()
        .flat_map(|document| match document {
            Value::Array(items) => items,
            other => vec![other],
        })
        .find_map(|document| match document {
            Value::Object(object) => Some(object),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{}: no object", path.display()))
}

/// Whether the generic rule has something to read: an integer
/// `status.observedGeneration` beside `metadata.generation`, or one of the
/// kstatus conditions.
fn has_generic_signal(object: &Object) -> bool {
    let integer = |value: Option<&Value>| value.and_then(Value::as_i64).is_some();
    let status = object.get("status");
    let generations = integer(status.and_then(|s| s.get("observedGeneration")))
        && integer(object.get("metadata").and_then(|m| m.get("generation")));
    let conditions = status
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("type").and_then(Value::as_str))
        .any(|kind| matches!(kind, "Ready" | "Available" | "Stalled" | "Reconciling"));
    generations || conditions
}

fn has_built_in_rule(object: &Object) -> bool {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    matches!(
        (group, kind),
        (
            "apps" | "extensions",
            "Deployment" | "DaemonSet" | "ReplicaSet"
        ) | ("apps", "StatefulSet")
            | ("batch", "Job" | "CronJob")
            | ("", "Pod" | "PersistentVolumeClaim" | "Service")
            | ("networking.k8s.io" | "extensions", "Ingress")
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("apiregistration.k8s.io", "APIService")
            | ("autoscaling", "HorizontalPodAutoscaler")
    )
}

#[test]
fn health_testdata_files_are_all_accounted_for() {
    let root = testdata_root();
    let mut on_disk = BTreeSet::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(&root).expect("below the root");
                on_disk.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let expected = argo_expected();
    let listed: BTreeSet<String> = expected
        .iter()
        .map(|(path, _)| path.to_string())
        .chain(
            NO_ARGO_EXPECTATION
                .iter()
                .map(|(path, _, _)| path.to_string()),
        )
        .collect();
    let unlisted: Vec<_> = on_disk.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&on_disk).collect();
    assert!(
        unlisted.is_empty() && gone.is_empty(),
        "files not in the tables: {unlisted:?}; listed files not on disk: {gone:?}"
    );
    assert_eq!((expected.len(), NO_ARGO_EXPECTATION.len()), (115, 9));
}

#[test]
fn health_without_an_argo_expectation_is_as_listed() {
    let root = testdata_root();
    for (path, expected, reason) in NO_ARGO_EXPECTATION {
        let health = assess(&first_object(&root.join(path)));
        assert_eq!(health.status, *expected, "{path}: {reason}");
    }
}

#[test]
fn health_agrees_with_argo_cd_except_where_listed() {
    let root = testdata_root();
    let mut disagreements = Vec::new();
    let (mut built_in, mut signal, mut no_signal) = (0, 0, 0);
    let expected = argo_expected();
    for (path, argo) in &expected {
        let object = first_object(&root.join(path));
        let ours = assess(&object).status;
        match DIFFERS.iter().find(|(listed, _, _)| listed == path) {
            Some((_, listed, reason)) => {
                assert_ne!(
                    ours, *argo,
                    "{path} now agrees with Argo CD: drop it from DIFFERS"
                );
                assert_eq!(ours, *listed, "{path}: {reason}");
            }
            None if ours != *argo => {
                disagreements.push(format!("{path}: kedge {ours}, Argo CD {argo}"));
            }
            None if has_built_in_rule(&object) => built_in += 1,
            None if has_generic_signal(&object) => signal += 1,
            None => no_signal += 1,
        }
    }
    assert!(
        disagreements.is_empty(),
        "unlisted differences:\n{}",
        disagreements.join("\n")
    );
    assert_eq!(
        (built_in, signal, no_signal),
        (AGREE_BUILT_IN, AGREE_GENERIC_SIGNAL, AGREE_NO_SIGNAL),
        "agreeing cases (built-in rule, generic signal, no signal)"
    );
    assert_eq!(
        built_in + signal + no_signal + DIFFERS.len(),
        expected.len()
    );
}

#[test]
fn health_messages_name_their_object() {
    let root = testdata_root();
    let paths = argo_expected()
        .into_iter()
        .map(|(path, _)| path)
        .chain(NO_ARGO_EXPECTATION.iter().map(|(path, _, _)| *path));
    let mut unhealthy = 0;
    for path in paths {
        let object = first_object(&root.join(path));
        let health = assess(&object);
        if health.status == Healthy {
            assert_eq!(health.message, None, "{path}");
            continue;
        }
        unhealthy += 1;
        let kind = object["kind"].as_str().expect("a kind");
        let name = object["metadata"]["name"].as_str().expect("a name");
        let prefix = format!("{kind} {name:?}: ");
        let message = health.message.unwrap_or_default();
        assert!(message.starts_with(&prefix), "{path}: {message}");
        assert!(message.len() > prefix.len(), "{path}: {message}");
    }
    assert_eq!(unhealthy, 2, "the MariaDB and StorageCluster cases");
}

#[test]
fn health_of_generic_kinds_reads_as_a_user_sees_it() {
    let root = testdata_root();
    let cases = [
        (
            "mariadb.mmontes.io/MariaDB/testdata/mariadb_error.yaml",
            Degraded,
            r#"MariaDB "mariadb-server": is not ready (Failed: Error creating ConfigMap)"#,
        ),
        (
            "ocs.openshift.io/StorageCluster/testdata/progressing.yaml",
            Progressing,
            r#"StorageCluster "test-storagecluster": is not available yet (Init: Initializing StorageCluster)"#,
        ),
    ];
    for (path, status, message) in cases {
        let health = assess(&first_object(&root.join(path)));
        assert_eq!(health.status, status, "{path}");
        assert_eq!(health.message.as_deref(), Some(message), "{path}");
    }
}
