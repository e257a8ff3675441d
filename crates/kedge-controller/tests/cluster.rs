//! The CRDs on a real API server (the test bed): the checked-in copies
//! install with server-side apply, the examples are accepted and read back
//! typed, status is written through its subresource, and the schema refuses
//! a bad object with a message naming the field.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kedge_controller::{
    Application, ApplicationStatus, Condition, ConditionStatus, ConditionType, HealthState,
    ImageUpdate, RenderType, ResourceState, SyncState, WriteBackMode,
};
use kedge_testkit::kube::{TestCluster, cli, eventually};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};

mod support;

use support::{MANAGER, install_crds, read_yaml};

/// Applies the example at `path` in `namespace`, retrying while the API
/// server's discovery catches up with a CRD it has just established.
async fn apply_example(client: &Client, namespace: &str, path: &str, kind: &str) -> Value {
    let mut object: Value = read_yaml(path);
    object["metadata"]["namespace"] = namespace.into();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "kedge.dev",
            "v1alpha1",
            kind,
        )),
    );
    eventually(&format!("{path} applied"), Duration::from_secs(30), || {
        let api = api.clone();
        let name = name.clone();
        let object = object.clone();
        async move {
            api.patch(&name, &PatchParams::apply(MANAGER), &Patch::Apply(&object))
                .await
                .map(|_| ())
                .map_err(|error| error.to_string())
        }
    })
    .await;
    object
}

fn synced_status(generation: Option<i64>) -> ApplicationStatus {
    let mut status = ApplicationStatus {
        observed_generation: generation,
        last_synced_revision: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
        ..ApplicationStatus::default()
    };
    kedge_controller::set_condition(
        &mut status.conditions,
        Condition {
            condition_type: ConditionType::Synced,
            status: ConditionStatus::True,
            reason: "Synced".to_owned(),
            message: "applied 1 object".to_owned(),
            last_transition_time: Time("2026-01-01T00:00:00Z".parse().expect("a timestamp")),
            observed_generation: generation,
        },
    );
    status.set_resources(vec![ResourceState {
        group: "apps".to_owned(),
        kind: "Deployment".to_owned(),
        namespace: Some("web".to_owned()),
        name: "web".to_owned(),
        status: SyncState::InSync,
        health: HealthState::Healthy,
        message: None,
    }]);
    status
}

#[tokio::test]
async fn examples_are_accepted_read_back_typed_and_take_a_status() {
    let Some(cluster) =
        TestCluster::connect("examples_are_accepted_read_back_typed_and_take_a_status").await
    else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("crds").await;

    apply_example(
        &client,
        &namespace,
        "deploy/examples/application.yaml",
        "Application",
    )
    .await;
    apply_example(
        &client,
        &namespace,
        "deploy/examples/imageupdate.yaml",
        "ImageUpdate",
    )
    .await;

    let applications: Api<Application> = Api::namespaced(client.clone(), &namespace);
    let web = applications
        .get("web")
        .await
        .expect("the Application reads back typed");
    assert_eq!(web.spec.source.render.render_type, RenderType::Helm);
    assert_eq!(web.spec.destination.namespace, "web");
    assert_eq!(web.spec.depends_on, ["database"]);
    assert!(
        web.status.is_none(),
        "a new Application has no status: {:?}",
        web.status
    );

    let image_updates: Api<ImageUpdate> = Api::namespaced(client.clone(), &namespace);
    let manifests = image_updates
        .get("manifests")
        .await
        .expect("the ImageUpdate reads back typed");
    assert_eq!(manifests.spec.write_back.mode, WriteBackMode::PullRequest);
    assert_eq!(manifests.spec.secret_names(), ["ghcr", "manifests-git"]);

    let generation = web.metadata.generation;
    let status = synced_status(generation);
    let patch = json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "status": status,
    });
    applications
        .patch_status(
            "web",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .expect("status is written through the status subresource");
    let web = applications.get("web").await.expect("reads back");
    assert_eq!(web.status, Some(status), "the status reads back as written");

    // What a person sees: kubectl's printer columns.
    let Some(kubectl) = cli(
        "examples_are_accepted_read_back_typed_and_take_a_status",
        "kubectl",
    ) else {
        return;
    };
    let output = std::process::Command::new(kubectl)
        .args(["get", "applications.kedge.dev", "--namespace", &namespace])
        .env("KUBECONFIG", cluster.kubeconfig())
        .output()
        .expect("kubectl runs");
    let table = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines.first().map(|header| header.as_slice()),
        Some(["NAME", "REVISION", "SYNCED", "HEALTHY", "READY", "AGE"].as_slice()),
        "{table}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        lines.get(1).map(|row| &row[..3]),
        Some(["web", "0123456789abcdef0123456789abcdef01234567", "True"].as_slice()),
        "{table}"
    );
}

#[tokio::test]
async fn the_schema_refuses_an_unknown_render_type_and_an_inline_secret() {
    let Some(cluster) =
        TestCluster::connect("the_schema_refuses_an_unknown_render_type_and_an_inline_secret")
            .await
    else {
        return;
    };
    let client = cluster.client();
    install_crds(&client).await;
    let namespace = cluster.namespace("crds-invalid").await;
    // The CRDs are served: a valid example goes in first.
    let mut application = apply_example(
        &client,
        &namespace,
        "deploy/examples/application.yaml",
        "Application",
    )
    .await;

    let applications: Api<Application> = Api::namespaced(client.clone(), &namespace);
    application["metadata"]["name"] = "jsonnet".into();
    application["spec"]["source"]["render"]["type"] = "jsonnet".into();
    let error = applications
        .patch(
            "jsonnet",
            &PatchParams::apply(MANAGER),
            &Patch::Apply(&application),
        )
        .await
        .expect_err("the API server refuses render type jsonnet");
    let message = error.to_string();
    assert!(
        message.contains("spec.source.render.type")
            && message.contains("\"jsonnet\"")
            && message.contains("\"kustomize\""),
        "the refusal names the field, the value and what is allowed: {message}"
    );

    application["spec"]["source"]["render"]["type"] = "helm".into();
    application["spec"]["syncPolicy"]["interval"] = "soon".into();
    let error = applications
        .patch(
            "jsonnet",
            &PatchParams::apply(MANAGER),
            &Patch::Apply(&application),
        )
        .await
        .expect_err("the API server refuses interval soon");
    let message = error.to_string();
    assert!(
        message.contains("spec.syncPolicy.interval: Invalid value: \"soon\""),
        "the refusal names the field and the value: {message}"
    );

    let mut image_update: Value = read_yaml("deploy/examples/imageupdate.yaml");
    image_update["metadata"]["namespace"] = namespace.clone().into();
    image_update["spec"]["git"]["auth"] = json!({"token": "ghp_not_a_secret_ref"});
    let image_updates: Api<ImageUpdate> = Api::namespaced(client.clone(), &namespace);
    let error = image_updates
        .patch(
            "manifests",
            &PatchParams::apply(MANAGER).validation_strict(),
            &Patch::Apply(&image_update),
        )
        .await
        .expect_err("the API server refuses an inline token");
    let message = error.to_string();
    assert!(
        message.contains(".spec.git.auth.token: field not declared in schema"),
        "server-side apply names the field the schema has no place for: {message}"
    );
}
