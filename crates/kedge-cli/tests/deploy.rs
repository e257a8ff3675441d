//! The install paths in `deploy/`: the Helm chart and the Kustomize base,
//! rendered by the real `helm` and `kubectl kustomize`, make the same objects
//! (with their defaults, and with every opt-in part), carry the generated
//! CRDs, lint clean, and pass a server-side dry run against the test bed's
//! API server. The chart's values table is what `values.yaml` says.

mod install;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use install::{EVERY_OPTION, NAMESPACE, RELEASE, helm_template, key, kustomize, list, run};
use k8s_openapi::api::core::v1::Namespace;
use kedge_testkit::kube::{TestCluster, cli};
use kube::api::{Api, ObjectMeta, PostParams};
use serde_json::Value;

/// Asserts that `helm` and `kustomize` render the same objects: the same
/// kinds, namespaces and names, and the same content except for the labels
/// Helm adds (every Kustomize label is on the Helm object too). The
/// Kustomize base also makes its Namespace, which Helm leaves to
/// `--create-namespace`; that is the one object only one side has.
fn assert_same_objects(helm: Vec<Value>, kustomize: Vec<Value>) {
    let namespace = format!("Namespace {NAMESPACE}");
    let mut helm = by_key(helm);
    let mut kustomize = by_key(kustomize);
    assert!(
        kustomize.remove(&namespace).is_some(),
        "the Kustomize base makes its namespace"
    );
    let helm_keys: Vec<&String> = helm.keys().collect();
    let kustomize_keys: Vec<&String> = kustomize.keys().collect();
    assert_eq!(
        helm_keys, kustomize_keys,
        "helm template vs kubectl kustomize"
    );
    for (key, kustomized) in &mut kustomize {
        let templated = helm.get_mut(key).expect("same keys");
        let helm_labels = take_labels(templated);
        for (label, value) in take_labels(kustomized) {
            assert_eq!(
                helm_labels.get(&label),
                Some(&value),
                "{key}: label {label} (Helm's labels: {helm_labels:?})"
            );
        }
        if let Some(difference) = first_difference(templated, kustomized, "") {
            panic!("{key}: Helm and Kustomize differ at {difference}");
        }
    }
}

/// Where `left` and `right` first differ, as `/json/pointer: left vs right`;
/// numbers are compared by value.
fn first_difference(left: &Value, right: &Value, at: &str) -> Option<String> {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let keys: std::collections::BTreeSet<&String> = l.keys().chain(r.keys()).collect();
            keys.into_iter().find_map(|k| {
                let (a, b) = (
                    l.get(k).unwrap_or(&Value::Null),
                    r.get(k).unwrap_or(&Value::Null),
                );
                first_difference(a, b, &format!("{at}/{k}"))
            })
        }
        (Value::Array(l), Value::Array(r)) if l.len() == r.len() => l
            .iter()
            .zip(r)
            .enumerate()
            .find_map(|(i, (a, b))| first_difference(a, b, &format!("{at}/{i}"))),
        // 1.0 in YAML and 1 in JSON are the same number to the API server.
        (Value::Number(l), Value::Number(r)) if l.as_f64() == r.as_f64() => None,
        _ if left == right => None,
        _ => Some(format!("{at}: {left} vs {right}")),
    }
}

fn by_key(objects: Vec<Value>) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for object in objects {
        let key = key(&object);
        assert!(map.insert(key.clone(), object).is_none(), "{key} twice");
    }
    map
}

fn take_labels(object: &mut Value) -> BTreeMap<String, Value> {
    match object["metadata"]
        .as_object_mut()
        .and_then(|m| m.remove("labels"))
    {
        Some(Value::Object(labels)) => labels.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

#[test]
fn the_chart_and_the_kustomize_base_make_the_same_objects() {
    let test = "the_chart_and_the_kustomize_base_make_the_same_objects";
    let (Some(helm), Some(kubectl)) = (cli(test, "helm"), cli(test, "kubectl")) else {
        return;
    };
    let templated = helm_template(&helm, RELEASE, NAMESPACE, &[]);
    let kinds: Vec<&str> = templated
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    for kind in ["Deployment", "NetworkPolicy", "PodDisruptionBudget", "Role"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    for opt_in in ["Ingress", "ServiceMonitor"] {
        assert!(!kinds.contains(&opt_in), "{opt_in} is opt-in: {kinds:?}");
    }
    assert!(
        !templated.iter().any(|o| key(o).ends_with("kedge-apply")),
        "rights to apply Applications' objects are opt-in"
    );
    assert_same_objects(templated, kustomize(&kubectl, "deploy/kustomize"));
}

#[test]
fn every_opt_in_part_makes_the_same_objects_in_both() {
    let test = "every_opt_in_part_makes_the_same_objects_in_both";
    let (Some(helm), Some(kubectl)) = (cli(test, "helm"), cli(test, "kubectl")) else {
        return;
    };
    let templated = helm_template(&helm, RELEASE, NAMESPACE, EVERY_OPTION);
    let keys: Vec<String> = templated.iter().map(key).collect();
    for opt_in in [
        "Ingress kedge-system/kedge",
        "ServiceMonitor kedge-system/kedge",
        "ClusterRole kedge-apply",
        "ClusterRoleBinding kedge-apply",
    ] {
        assert!(keys.iter().any(|k| k == opt_in), "{opt_in} in {keys:?}");
    }
    assert_same_objects(templated, kustomize(&kubectl, "deploy/examples/kustomize"));
}

#[test]
fn both_install_paths_carry_the_crds_kedge_crds_prints() {
    let test = "both_install_paths_carry_the_crds_kedge_crds_prints";
    let (Some(helm), Some(kubectl)) = (cli(test, "helm"), cli(test, "kubectl")) else {
        return;
    };
    let printed = Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args(["crds", "-o", "json"])
        .output()
        .expect("kedge runs");
    let printed: Value = serde_json::from_slice(&printed.stdout).expect("a JSON List");
    let crds = |objects: Vec<Value>| -> Vec<Value> {
        objects
            .into_iter()
            .filter(|o| o["kind"] == "CustomResourceDefinition")
            .collect()
    };
    let expected = printed["items"].as_array().expect("items").clone();
    assert_eq!(expected.len(), 2);
    let expected = Value::Array(expected);
    for (what, rendered) in [
        (
            "helm template",
            crds(helm_template(&helm, RELEASE, NAMESPACE, &[])),
        ),
        (
            "kubectl kustomize",
            crds(kustomize(&kubectl, "deploy/kustomize")),
        ),
    ] {
        if let Some(difference) = first_difference(&Value::Array(rendered), &expected, "") {
            panic!("{what} vs kedge crds: {difference}");
        }
    }
    // One source of truth: the chart links to deploy/crds, it holds no copy.
    for file in ["applications.yaml", "imageupdates.yaml"] {
        let link = install::chart().join("crds").join(file);
        let target = std::fs::read_link(&link)
            .unwrap_or_else(|e| panic!("{} is a link to deploy/crds: {e}", link.display()));
        assert_eq!(target, Path::new("../../../crds").join(file));
    }
}

#[test]
fn the_deployment_runs_the_controller_locked_down() {
    let test = "the_deployment_runs_the_controller_locked_down";
    let Some(helm) = cli(test, "helm") else {
        return;
    };
    let objects = helm_template(&helm, RELEASE, NAMESPACE, EVERY_OPTION);
    let find = |kind: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("a {kind}"))
    };
    let pod = &find("Deployment")["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        args[..4],
        [
            "serve",
            "--controller",
            "--listen=0.0.0.0:8080",
            "--metrics-listen=0.0.0.0:9090"
        ]
    );
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"][0], "ALL");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["port"], "metrics");
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert!(pod["terminationGracePeriodSeconds"].as_u64() >= Some(30));
    // The writable places are emptyDirs: the Git cache and /tmp. The one
    // other mount, the registries of the Argo CD Image Updater take-over (a
    // ConfigMap), is read-only.
    let mounts = container["volumeMounts"].as_array().expect("mounts");
    let paths = |read_only: bool| -> Vec<&str> {
        (mounts.iter())
            .filter(|m| m["readOnly"].as_bool().unwrap_or(false) == read_only)
            .filter_map(|m| m["mountPath"].as_str())
            .collect()
    };
    assert_eq!(paths(false), ["/var/cache/kedge", "/tmp"]);
    assert_eq!(paths(true), ["/etc/kedge/argocd-image-updater"]);
    let volumes = pod["volumes"].as_array().expect("volumes");
    for volume in volumes {
        let read_only = (mounts.iter())
            .any(|m| m["name"] == volume["name"] && m["readOnly"].as_bool() == Some(true));
        assert!(
            volume["emptyDir"].is_object() || (read_only && volume["configMap"].is_object()),
            "{volume}"
        );
    }
    // The ServiceMonitor scrapes a port the Service has.
    let ports: Vec<&str> = find("Service")["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    let scraped = find("ServiceMonitor")["spec"]["endpoints"][0]["port"].as_str();
    assert!(
        scraped.is_some_and(|p| ports.contains(&p)),
        "{scraped:?} in {ports:?}"
    );
}

#[test]
fn the_chart_passes_helm_lint() {
    let Some(helm) = cli("the_chart_passes_helm_lint", "helm") else {
        return;
    };
    let chart = install::chart();
    let chart = chart.to_str().expect("UTF-8 path");
    run(&helm, &["lint", "--strict", chart], None);
    let every_option: Vec<&str> = EVERY_OPTION.iter().flat_map(|v| ["--set", v]).collect();
    run(
        &helm,
        &[&["lint", "--strict", chart][..], &every_option].concat(),
        None,
    );
    // A mode that is not one of the three fails, naming them.
    let wrong = install::output(
        &helm,
        &["template", chart, "--set", "rbac.apply.mode=all"],
        None,
    );
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success());
    assert!(
        stderr.contains("use none, cluster or namespaces"),
        "{stderr}"
    );
}

#[test]
fn the_chart_values_table_is_what_values_yaml_says() {
    let script = install::repository().join("scripts/chart-values-doc.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg("--check")
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Objects of `objects` other than the ServiceMonitor, and the ServiceMonitor.
fn without_service_monitor(objects: Vec<Value>) -> (Vec<Value>, Vec<Value>) {
    objects
        .into_iter()
        .partition(|o| o["kind"] != "ServiceMonitor")
}

#[tokio::test]
async fn both_install_paths_pass_a_server_side_dry_run() {
    let test = "both_install_paths_pass_a_server_side_dry_run";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let (Some(helm), Some(kubectl)) = (cli(test, "helm"), cli(test, "kubectl")) else {
        return;
    };
    // The Kustomize base's namespace must exist for a dry run of the objects
    // in it (a dry run of the Namespace creates nothing).
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(NAMESPACE.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match Api::<Namespace>::all(cluster.client())
        .create(&PostParams::default(), &namespace)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(e) => panic!("creating namespace {NAMESPACE}: {e}"),
    }
    let kubeconfig = cluster.kubeconfig().to_str().expect("UTF-8 path");
    let renders = [
        (
            "helm template",
            helm_template(&helm, RELEASE, NAMESPACE, &[]),
        ),
        (
            "kubectl kustomize deploy/kustomize",
            kustomize(&kubectl, "deploy/kustomize"),
        ),
        (
            "helm template with every option",
            helm_template(&helm, RELEASE, NAMESPACE, EVERY_OPTION),
        ),
        (
            "kubectl kustomize deploy/examples/kustomize",
            kustomize(&kubectl, "deploy/examples/kustomize"),
        ),
    ];
    for (what, objects) in renders {
        let (objects, service_monitors) = without_service_monitor(objects);
        let applied = run(
            &kubectl,
            &[
                "--kubeconfig",
                kubeconfig,
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=kedge-deploy-test",
                "--dry-run=server",
                "-f",
                "-",
            ],
            Some(&list(&objects)),
        );
        for object in &objects {
            // `kind[.group]/name serverside-applied (server dry run)`
            let kind = object["kind"].as_str().unwrap_or("?").to_lowercase();
            let name = object["metadata"]["name"].as_str().unwrap_or("?");
            let tail = format!("/{name} serverside-applied (server dry run)");
            let reported = applied.lines().any(|line| {
                line.strip_prefix(kind.as_str()).is_some_and(|rest| {
                    let rest = rest
                        .strip_prefix('.')
                        .map_or(rest, |r| r.trim_start_matches(|c| c != '/'));
                    rest == tail
                })
            });
            assert!(reported, "{what}: {kind} {name} in:\n{applied}");
        }
        assert_service_monitor_kind_is_missing(&kubectl, kubeconfig, &service_monitors);
    }
}

/// The test bed has no Prometheus Operator, so a ServiceMonitor cannot be
/// dry-run there: check that the API server refuses it for that reason only
/// (no such kind), which fails the day the test bed serves the kind and the
/// ServiceMonitor should be dry-run with the rest.
fn assert_service_monitor_kind_is_missing(kubectl: &Path, kubeconfig: &str, objects: &[Value]) {
    if objects.is_empty() {
        return;
    }
    let output = install::output(
        kubectl,
        &[
            "--kubeconfig",
            kubeconfig,
            "apply",
            "--server-side",
            "--dry-run=server",
            "-f",
            "-",
        ],
        Some(&list(objects)),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("no matches for kind \"ServiceMonitor\""),
        "the test bed serves ServiceMonitors now: dry-run them with the rest\n{stderr}"
    );
}
