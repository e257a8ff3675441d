//! Tests of the generated CRDs and of the pure helpers.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use super::*;

fn crd_json(index: usize) -> Value {
    serde_json::to_value(&crds()[index]).expect("a CRD serializes")
}

fn spec_schema(crd: &Value) -> &Value {
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
}

#[test]
fn both_crds_are_namespaced_kedge_dev_v1alpha1_with_status() {
    let names: Vec<String> = crds()
        .iter()
        .map(|crd| crd.metadata.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["applications.kedge.dev", "imageupdates.kedge.dev"]);
    for index in 0..2 {
        let crd = crd_json(index);
        assert_eq!(crd["spec"]["group"], GROUP);
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], VERSION);
        assert_eq!(version["subresources"]["status"], json!({}));
        assert_eq!(crd["spec"]["names"]["categories"], json!(["kedge"]));
    }
}

#[test]
fn render_type_and_write_back_mode_are_enums_in_the_schema() {
    let application = crd_json(0);
    let render = &spec_schema(&application)["properties"]["source"]["properties"]["render"];
    assert_eq!(
        render["properties"]["type"]["enum"],
        json!(["plain", "kustomize", "helm"])
    );
    let image_update = crd_json(1);
    let write_back = &spec_schema(&image_update)["properties"]["writeBack"];
    assert_eq!(
        write_back["properties"]["mode"]["enum"],
        json!(["push", "pull-request"])
    );
}

#[test]
fn helm_values_are_free_form_and_repo_url_keeps_its_argo_name() {
    let application = crd_json(0);
    let source = &spec_schema(&application)["properties"]["source"];
    assert!(source["properties"]["repoURL"].is_object(), "{source}");
    let values = &source["properties"]["render"]["properties"]["helm"]["properties"]["values"];
    assert_eq!(
        values["x-kubernetes-preserve-unknown-fields"], true,
        "{values}"
    );
}

#[test]
fn the_resource_summary_bound_is_in_the_schema() {
    let application = crd_json(0);
    let status =
        &application["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
    assert_eq!(
        status["properties"]["resources"]["maxItems"],
        json!(MAX_RESOURCE_SUMMARIES)
    );
}

#[test]
fn image_aliases_and_registry_prefixes_are_list_map_keys() {
    let image_update = crd_json(1);
    let spec = spec_schema(&image_update);
    assert_eq!(
        spec["properties"]["images"]["x-kubernetes-list-map-keys"],
        json!(["alias"])
    );
    assert_eq!(
        spec["properties"]["registries"]["x-kubernetes-list-map-keys"],
        json!(["prefix"])
    );
}

#[test]
fn printer_columns_show_revision_and_conditions() {
    let application = crd_json(0);
    let columns: Vec<&str> = application["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .expect("printer columns")
        .iter()
        .filter_map(|column| column["name"].as_str())
        .collect();
    assert_eq!(
        columns,
        ["Revision", "Synced", "Healthy", "Ready", "Reason", "Age"]
    );
}

#[test]
fn no_secret_value_fits_in_an_image_update() {
    let image_update = crd_json(1);
    let text = spec_schema(&image_update).to_string();
    for inline in [
        "\"token\"",
        "\"password\"",
        "\"tokenEnv\"",
        "\"privateKeyFile\"",
    ] {
        assert!(!text.contains(inline), "the schema has a field {inline}");
    }
}

fn condition(kind: ConditionType, status: ConditionStatus, reason: &str, at: &str) -> Condition {
    Condition {
        condition_type: kind,
        status,
        reason: reason.to_owned(),
        message: String::new(),
        last_transition_time: Time(at.parse().expect("a timestamp")),
        observed_generation: Some(1),
    }
}

#[test]
fn a_condition_keeps_its_transition_time_while_its_status_holds() {
    let mut conditions = vec![];
    let first = "2026-01-01T00:00:00Z";
    let later = "2026-01-01T01:00:00Z";
    let ready = |status, reason, at| condition(ConditionType::Ready, status, reason, at);
    assert!(set_condition(
        &mut conditions,
        ready(ConditionStatus::False, "Syncing", first)
    ));
    assert!(set_condition(
        &mut conditions,
        ready(ConditionStatus::False, "RetryingSync", later)
    ));
    assert_eq!(conditions[0].reason, "RetryingSync");
    assert_eq!(conditions[0].last_transition_time.0.to_string(), first);
    assert!(!set_condition(
        &mut conditions,
        ready(ConditionStatus::False, "RetryingSync", later)
    ));
    assert!(set_condition(
        &mut conditions,
        ready(ConditionStatus::True, "Synced", later)
    ));
    assert_eq!(conditions[0].last_transition_time.0.to_string(), later);
    let synced = condition(
        ConditionType::Synced,
        ConditionStatus::True,
        "Synced",
        later,
    );
    assert!(set_condition(&mut conditions, synced));
    assert_eq!(conditions.len(), 2);
}

fn resource(name: &str, status: SyncState, health: HealthState) -> ResourceState {
    ResourceState {
        group: "apps".to_owned(),
        kind: "Deployment".to_owned(),
        namespace: Some("web".to_owned()),
        name: name.to_owned(),
        status,
        health,
        message: None,
    }
}

#[test]
fn the_resource_summary_is_bounded_and_lists_trouble_first() {
    let mut resources: Vec<ResourceState> = (0..250)
        .map(|index| {
            resource(
                &format!("app-{index:03}"),
                SyncState::InSync,
                HealthState::Healthy,
            )
        })
        .collect();
    resources.push(resource(
        "zz-unhealthy",
        SyncState::InSync,
        HealthState::Degraded,
    ));
    resources.push(resource(
        "zz-drifted",
        SyncState::OutOfSync,
        HealthState::Healthy,
    ));
    let mut status = ApplicationStatus::default();
    status.set_resources(resources);
    assert_eq!(status.resource_count, Some(252));
    assert_eq!(status.resources.len(), MAX_RESOURCE_SUMMARIES);
    let first: Vec<&str> = status.resources[..3]
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(first, ["zz-drifted", "zz-unhealthy", "app-000"]);
}

#[test]
fn retries_back_off_up_to_the_maximum_and_stop_at_the_limit() {
    let retry = RetryPolicy {
        limit: 6,
        duration: "5s".to_owned(),
        factor: 2,
        max_duration: "30s".to_owned(),
    };
    let delays: Vec<Option<Duration>> = (1..=7)
        .map(|attempt| retry.delay(attempt).ok().flatten())
        .collect();
    let seconds = |s| Some(Duration::from_secs(s));
    assert_eq!(
        delays,
        [
            seconds(5),
            seconds(10),
            seconds(20),
            seconds(30),
            seconds(30),
            seconds(30),
            None
        ]
    );
}

#[test]
fn a_bad_ignore_rule_is_refused_by_the_sync_engines_rules() {
    let mut spec = example_application();
    assert!(spec.ignore_rules().is_ok());
    spec.ignore_differences[0].json_pointers = vec!["spec/replicas".to_owned()];
    let message = spec
        .ignore_rules()
        .expect_err("no leading slash")
        .to_string();
    assert!(message.contains("spec/replicas"), "{message}");
}

#[test]
fn sync_and_health_states_follow_the_sync_engine() {
    use kedge_sync::{compare::SyncStatus, health::HealthStatus};
    assert_eq!(SyncState::from(SyncStatus::OutOfSync), SyncState::OutOfSync);
    assert_eq!(
        HealthState::from(HealthStatus::Progressing),
        HealthState::Progressing
    );
}

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn example_application() -> ApplicationSpec {
    let application: Application =
        serde_saphyr::from_str(&example("application.yaml")).expect("the example reads");
    application.spec
}

fn example_image_update() -> ImageUpdateSpec {
    let image_update: ImageUpdate =
        serde_saphyr::from_str(&example("imageupdate.yaml")).expect("the example reads");
    image_update.spec
}

#[test]
fn the_examples_read_with_their_settings() {
    let application = example_application();
    assert_eq!(application.source.render.render_type, RenderType::Helm);
    assert_eq!(application.depends_on, ["database"]);
    assert_eq!(
        application.sync_policy.interval().ok(),
        Some(Duration::from_secs(180))
    );
    let image_update = example_image_update();
    assert_eq!(image_update.write_back.mode, WriteBackMode::PullRequest);
    assert_eq!(image_update.images[0].pin, PinSpec::TagAndDigest);
    assert!(image_update.validate().is_ok());
    assert_eq!(image_update.secret_names(), ["ghcr", "manifests-git"]);
}

#[test]
fn defaults_fill_a_minimal_application() {
    let application: Application = serde_json::from_value(json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "minimal"},
        "spec": {
            "source": {"repoURL": "https://git.example.com/m.git"},
            "destination": {"namespace": "default"}
        }
    }))
    .expect("a minimal Application reads");
    let spec = application.spec;
    assert_eq!(spec.source.target_revision, "main");
    assert_eq!(spec.source.path, ".");
    assert_eq!(spec.source.render.render_type, RenderType::Plain);
    assert!(spec.sync_policy.automated);
    assert!(!spec.sync_policy.prune);
    assert_eq!(
        spec.sync_policy.retry.delay(1).ok().flatten(),
        Some(Duration::from_secs(5))
    );
}

#[test]
fn image_update_validation_names_what_is_missing_or_doubled() {
    let mut spec = example_image_update();
    spec.forge = None;
    let message = spec.validate().expect_err("no forge").to_string();
    assert_eq!(
        message,
        "writeBack.mode is pull-request but no forge is configured"
    );
    let mut spec = example_image_update();
    spec.git.auth.ssh_key_secret_ref = Some(SecretKeyRef {
        name: "ssh".to_owned(),
        key: "identity".to_owned(),
    });
    let message = spec.validate().expect_err("two credentials").to_string();
    assert!(
        message.contains("either tokenSecretRef or sshKeySecretRef"),
        "{message}"
    );
}

fn source(value: Value) -> ApplicationSource {
    serde_json::from_value(value).expect("a source")
}

#[test]
fn a_source_reads_the_files_under_its_path_and_its_values_files() {
    let changed = |paths: &[&str]| paths.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
    let plain = source(json!({"repoURL": "https://g/r", "path": "./apps/web/"}));
    assert!(plain.reads_any_of(&changed(&["apps/web/deploy.yaml"])));
    assert!(plain.reads_any_of(&changed(&["README.md", "apps/web/sub/cm.yaml"])));
    assert!(
        !plain.reads_any_of(&changed(&["apps/web-canary/deploy.yaml"])),
        "a sibling whose name starts the same is another path"
    );
    assert!(!plain.reads_any_of(&changed(&["apps/api/deploy.yaml"])));
    assert!(!plain.reads_any_of(&[]));
    let helm = source(json!({
        "repoURL": "https://g/r",
        "path": "charts/web",
        "render": {"type": "helm", "helm": {"valueFiles": ["../../env/prod/web.yaml"]}},
    }));
    assert!(helm.reads_any_of(&changed(&["env/prod/web.yaml"])));
    assert!(!helm.reads_any_of(&changed(&["env/staging/web.yaml"])));
    let root = source(json!({"repoURL": "https://g/r", "path": "."}));
    assert!(root.reads_any_of(&changed(&["anything.yaml"])));
    assert!(
        !root.reads_any_of(&[]),
        "no listed change orders nothing first"
    );
}
