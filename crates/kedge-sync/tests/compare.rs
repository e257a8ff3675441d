//! Desired objects from the shared fixtures against live objects exactly as a
//! real API server returned them (`tests/compare/*.json`, recorded from the
//! test bed as `tests/compare/README.md` describes): defaults filled in,
//! `managedFields` of kedge (Apply) and of other managers (Update), status.

// One module, so that `cargo test -p kedge-sync compare` selects these too.
mod compare_recorded_objects {
    use std::path::Path;

    use kedge_sync::Object;
    use kedge_sync::compare::{
        CompareOptions, Comparison, SyncStatus, compare, unified_diff, without_ignored,
    };
    use kedge_sync::ignore::{IgnoreDifferences, IgnoreRules};
    use serde_json::{Value, json};

    /// The object of `kind` and `name` in a fixture manifest file.
    fn desired(manifest: &str, kind: &str, name: &str) -> Value {
        let path = kedge_testkit::fixtures_dir()
            .join("manifests")
            .join(manifest);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        documents
            .into_iter()
            .find(|doc| doc["kind"] == kind && doc["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {manifest}"))
    }

    const FRONTEND: &str =
        "GoogleCloudPlatform__microservices-demo/kubernetes-manifests/frontend.yaml";
    const HELLO_WORLD: &str = "kubernetes-sigs__kustomize/examples/helloWorld/deployment.yaml";

    fn frontend() -> Value {
        desired(FRONTEND, "Deployment", "frontend")
    }

    /// helloWorld's Deployment as it was applied: with resources written in the
    /// notations Git uses and the server rewrites (`1000m`, `1.5`, `2048Mi`).
    fn hello_world() -> Value {
        let mut deployment = desired(HELLO_WORLD, "Deployment", "the-deployment");
        deployment["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({
            "requests": {"cpu": "1000m", "memory": "1073741824"},
            "limits": {"cpu": 1.5, "memory": "2048Mi"}
        });
        deployment
    }

    /// A live object recorded from the API server.
    fn recorded(name: &str) -> Object {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/compare")
            .join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    fn object(value: Value) -> Object {
        match value {
            Value::Object(object) => object,
            other => panic!("not an object: {other}"),
        }
    }

    fn compared(desired: Value, live: &Object, options: &CompareOptions) -> Comparison {
        compare(&object(desired), Some(live), options)
    }

    fn pointers(comparison: &Comparison) -> Vec<&str> {
        comparison
            .drift
            .iter()
            .map(|d| d.pointer.as_str())
            .collect()
    }

    fn hpa_rule() -> CompareOptions {
        let mut rule = IgnoreDifferences::for_kind("apps", "Deployment");
        rule.managed_fields_managers = vec!["kube-controller-manager".into()];
        CompareOptions::with_ignore(IgnoreRules::new(vec![rule]).unwrap())
    }

    #[test]
    fn applied_objects_with_server_defaults_are_in_sync() {
        let options = CompareOptions::default();
        let cases = [
            (frontend(), "frontend.deployment.json"),
            (
                desired(FRONTEND, "Service", "frontend"),
                "frontend.service.json",
            ),
            (
                desired(FRONTEND, "Service", "frontend-external"),
                "frontend-external.service.json",
            ),
        ];
        for (desired, file) in cases {
            let live = recorded(file);
            let comparison = compare(&object(desired.clone()), Some(&live), &options);
            assert_eq!(
                comparison.status,
                SyncStatus::InSync,
                "{file}: {:#?}",
                comparison.drift
            );
            assert!(!comparison.needs_dry_run, "{file}");
            assert_eq!(comparison.key.namespace.as_deref(), Some("shop"));
            assert_eq!(
                unified_diff(&comparison, Some(&object(desired)), Some(&live)),
                "",
                "{file}"
            );
        }
    }

    #[test]
    fn a_new_image_in_git_is_drift_at_the_image() {
        let live = recorded("frontend.deployment.json");
        let mut desired = frontend();
        desired["spec"]["template"]["spec"]["containers"][0]["image"] = json!("frontend:v2");
        let comparison = compared(desired.clone(), &live, &CompareOptions::default());
        assert_eq!(comparison.status, SyncStatus::OutOfSync);
        assert_eq!(
            pointers(&comparison),
            ["/spec/template/spec/containers/0/image"]
        );
        assert_eq!(comparison.drift[0].desired, Some(json!("frontend:v2")));
        assert_eq!(comparison.drift[0].live, Some(json!("frontend")));
        assert!(!comparison.needs_dry_run);

        let diff = unified_diff(&comparison, Some(&object(desired)), Some(&live));
        assert!(
            diff.starts_with(
                "--- live/apps/Deployment shop/frontend\n+++ git/apps/Deployment shop/frontend\n"
            ),
            "{diff}"
        );
        let changed: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with(['-', '+']))
            .skip(2)
            .collect();
        assert_eq!(
            changed,
            ["-        image: frontend", "+        image: frontend:v2"],
            "{diff}"
        );
    }

    #[test]
    fn replicas_the_hpa_manager_owns_are_drift_until_an_ignore_rule_names_it() {
        let live = recorded("the-deployment.scaled.json");
        let unruled = compared(hello_world(), &live, &CompareOptions::default());
        assert_eq!(pointers(&unruled), ["/spec/replicas"]);
        assert_eq!(
            (
                unruled.drift[0].desired.clone(),
                unruled.drift[0].live.clone()
            ),
            (Some(json!(3)), Some(json!(5)))
        );

        let options = hpa_rule();
        let comparison = compared(hello_world(), &live, &options);
        assert_eq!(
            comparison.status,
            SyncStatus::InSync,
            "{:#?}",
            comparison.drift
        );

        let applied = without_ignored(&object(hello_world()), Some(&live), &options);
        assert!(
            applied["spec"].get("replicas").is_none(),
            "sync must not fight the HPA over replicas"
        );
        assert_eq!(
            applied["spec"]["template"],
            hello_world()["spec"]["template"]
        );
    }

    #[test]
    fn the_same_rule_by_json_pointer_works_too() {
        let mut rule = IgnoreDifferences::for_kind("apps", "Deployment");
        rule.name = Some("the-deployment".into());
        rule.json_pointers = vec!["/spec/replicas".into()];
        let options = CompareOptions::with_ignore(IgnoreRules::new(vec![rule]).unwrap());
        let comparison = compared(
            hello_world(),
            &recorded("the-deployment.scaled.json"),
            &options,
        );
        assert_eq!(
            comparison.status,
            SyncStatus::InSync,
            "{:#?}",
            comparison.drift
        );
    }

    #[test]
    fn an_env_var_removed_from_git_that_kedge_applied_is_drift() {
        let live = recorded("frontend.deployment.json");
        let mut desired = frontend();
        let env = desired["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap();
        env.retain(|var| var["name"] != "ENABLE_PROFILER");
        let comparison = compared(desired.clone(), &live, &CompareOptions::default());
        assert_eq!(
            pointers(&comparison),
            ["/spec/template/spec/containers/0/env/9"]
        );
        assert_eq!(comparison.drift[0].desired, None);
        assert_eq!(
            comparison.drift[0].live,
            Some(json!({"name": "ENABLE_PROFILER", "value": "0"}))
        );
        let diff = unified_diff(&comparison, Some(&object(desired)), Some(&live));
        let changed: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with(['-', '+']))
            .skip(2)
            .collect();
        assert_eq!(
            changed,
            [
                "-        - name: ENABLE_PROFILER",
                "-          value: \"0\""
            ],
            "{diff}"
        );
    }

    #[test]
    fn a_sidecar_an_annotation_and_a_field_other_managers_added_are_not_drift() {
        let live = recorded("frontend.touched.deployment.json");
        let comparison = compared(frontend(), &live, &CompareOptions::default());
        assert_eq!(
            comparison.status,
            SyncStatus::InSync,
            "{:#?}",
            comparison.drift
        );
        assert!(!comparison.needs_dry_run);

        // The sidecar comes first live: Git's container is found by name.
        let mut desired = frontend();
        desired["spec"]["template"]["spec"]["containers"][0]["image"] = json!("frontend:v2");
        let comparison = compared(desired, &live, &CompareOptions::default());
        assert_eq!(
            pointers(&comparison),
            ["/spec/template/spec/containers/1/image"]
        );
    }

    #[test]
    fn quantities_as_git_wrote_them_match_what_the_server_stored() {
        let live = recorded("the-deployment.scaled.json");
        let stored = &live["spec"]["template"]["spec"]["containers"][0]["resources"];
        assert_eq!(
            stored["limits"],
            json!({"cpu": "1500m", "memory": "2Gi"}),
            "the server rewrote them"
        );
        let comparison = compared(hello_world(), &live, &hpa_rule());
        assert_eq!(
            comparison.status,
            SyncStatus::InSync,
            "{:#?}",
            comparison.drift
        );

        let frontend_live = recorded("frontend.deployment.json");
        let mut desired = frontend();
        let resources = &mut desired["spec"]["template"]["spec"]["containers"][0]["resources"];
        resources["requests"] = json!({"cpu": 0.1, "memory": "67108864"});
        resources["limits"] = json!({"cpu": "0.2", "memory": "0.125Gi"});
        let same = compared(desired.clone(), &frontend_live, &CompareOptions::default());
        assert_eq!(same.status, SyncStatus::InSync, "{:#?}", same.drift);

        desired["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] =
            json!("256Mi");
        let more = compared(desired, &frontend_live, &CompareOptions::default());
        assert_eq!(
            pointers(&more),
            ["/spec/template/spec/containers/0/resources/limits/memory"]
        );
    }

    #[test]
    fn missing_and_extra_objects_and_their_json() {
        let options = CompareOptions::default();
        let missing = compare(&object(frontend()), None, &options);
        let extra = Comparison::extra(&recorded("frontend.service.json"));
        let in_sync = compared(frontend(), &recorded("frontend.deployment.json"), &options);
        let mut changed = frontend();
        changed["spec"]["template"]["spec"]["serviceAccountName"] = json!("web");
        let out_of_sync = compared(changed, &recorded("frontend.deployment.json"), &options);

        let json = serde_json::to_value([&missing, &extra, &in_sync, &out_of_sync]).unwrap();
        let statuses: Vec<&Value> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["status"])
            .collect();
        assert_eq!(statuses, ["missing", "extra", "in-sync", "out-of-sync"]);
        assert_eq!(
            json[1]["key"],
            json!({"group": "", "kind": "Service", "namespace": "shop", "name": "frontend"})
        );
        assert_eq!(
            json[3]["drift"],
            json!([{"pointer": "/spec/template/spec/serviceAccountName", "desired": "web", "live": "frontend"}])
        );

        let diff = unified_diff(&extra, None, Some(&recorded("frontend.service.json")));
        assert!(
            diff.starts_with("--- live/Service shop/frontend\n+++ git/Service shop/frontend\n"),
            "{diff}"
        );
        assert!(diff.contains("\n-  clusterIP: \"10.0.0.254\"\n"), "{diff}");
        assert!(
            !diff.contains("managedFields") && !diff.contains("resourceVersion"),
            "{diff}"
        );
    }

    #[test]
    fn env_vars_git_reorders_are_drift_of_the_list() {
        let live = recorded("frontend.deployment.json");
        let mut desired = frontend();
        let env = &mut desired["spec"]["template"]["spec"]["containers"][0]["env"];
        env.as_array_mut().unwrap().rotate_right(1);
        let comparison = compared(desired.clone(), &live, &CompareOptions::default());
        assert_eq!(
            pointers(&comparison),
            ["/spec/template/spec/containers/0/env"]
        );
        let diff = unified_diff(&comparison, Some(&object(desired)), Some(&live));
        let changed: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with(['-', '+']))
            .skip(2)
            .collect();
        assert_eq!(
            changed,
            [
                "+        - name: ENABLE_PROFILER",
                "+          value: \"0\"",
                "-        - name: ENABLE_PROFILER",
                "-          value: \"0\"",
            ],
            "{diff}"
        );
    }
}
