//! End-to-end runs of `kedge sync` and `kedge diff` against the test bed's
//! real API server: a live edit shown by diff, reported as a conflict and
//! restored with `--force-conflicts` while a field added outside Git stays;
//! renders that fail apply nothing; the fixture Helm chart and Kustomize
//! overlay sync and become healthy; `--watch` brings back a deleted object.
//!
//! There is no kubelet: `support::kubelet` reports Pods Running and Ready
//! (and LoadBalancers addressed) through `/status`, as a node and a cloud
//! controller would, so Deployments become Available for real.

#[path = "../../kedge-kube/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kedge_testkit::fixtures_dir;
use kedge_testkit::kube::{TestCluster, cli, eventually};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use support::{config_map, kubelet, write_manifests};

fn kedge(command: &str, path: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kedge"))
        .arg(command)
        .arg(path)
        .args(args)
        .output()
        .expect("run kedge")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn expect(output: &Output, code: i32, what: &str) -> String {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}\nstdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[tokio::test]
async fn diff_shows_a_live_edit_and_sync_restores_it_leaving_foreign_fields() {
    let test = "diff_shows_a_live_edit_and_sync_restores_it_leaving_foreign_fields";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("cli-drift").await;
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &[("settings.yaml", config_map("settings", ""))]);
    // App names are cluster-wide: one per test run.
    let app = [
        "--app",
        namespace.as_str(),
        "--namespace",
        namespace.as_str(),
    ];

    expect(
        &kedge("diff", dir.path(), &app),
        1,
        "diff before the first sync",
    );
    let out = expect(&kedge("sync", dir.path(), &app), 0, "first sync");
    assert!(
        out.contains(&format!("applied   ConfigMap {namespace}/settings")),
        "{out}"
    );
    let out = expect(&kedge("diff", dir.path(), &app), 0, "diff right after sync");
    assert_eq!(out, "");

    // Someone edits a field Git sets, and adds one Git never set.
    let maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);
    let edit = serde_json::json!({
        "metadata": {"annotations": {"team": "payments"}},
        "data": {"greeting": "edited by hand"}
    });
    let params = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    maps.patch("settings", &params, &Patch::Merge(&edit))
        .await
        .unwrap();

    let out = expect(&kedge("diff", dir.path(), &app), 1, "diff after the edit");
    assert!(out.contains("settings"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with('-') && l.contains("edited by hand"))
            && out
                .lines()
                .any(|l| l.starts_with('+') && l.contains("greeting: hello")),
        "{out}"
    );
    assert!(
        !out.contains("payments"),
        "a field Git never set is not drift: {out}"
    );

    // The editor now owns the field: a plain sync reports the conflict...
    let out = expect(&kedge("sync", dir.path(), &app), 1, "sync into a conflict");
    assert!(
        out.contains("skipped")
            && out.contains("kubectl-edit")
            && out.contains("--force-conflicts"),
        "{out}"
    );
    // ...and --force-conflicts restores Git's value.
    let mut forced = app.to_vec();
    forced.push("--force-conflicts");
    expect(&kedge("sync", dir.path(), &forced), 0, "forced sync");
    let live = maps.get("settings").await.unwrap();
    assert_eq!(live.data.unwrap()["greeting"], "hello");
    assert_eq!(live.metadata.annotations.unwrap()["team"], "payments");

    let mut json = app.to_vec();
    json.extend(["-o", "json"]);
    let out = expect(&kedge("diff", dir.path(), &json), 0, "diff as JSON");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["objects"][0]["status"], "in-sync", "{report}");
}

#[tokio::test]
async fn a_bad_manifest_or_a_failing_helm_render_applies_nothing() {
    let test = "a_bad_manifest_or_a_failing_helm_render_applies_nothing";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("cli-bad").await;
    let maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);

    let dir = tempfile::tempdir().unwrap();
    write_manifests(
        dir.path(),
        &[
            ("a.yaml", config_map("good", "")),
            (
                "b.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: [broken\n".into(),
            ),
        ],
    );
    let out = kedge("sync", dir.path(), &["--app", &namespace, "-n", &namespace]);
    expect(&out, 2, "sync of a bad manifest");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("b.yaml") && stderr.contains("nothing applied"),
        "{stderr}"
    );
    assert!(maps.get_opt("good").await.unwrap().is_none());

    let Some(_) = cli(test, "helm") else { return };
    let chart = tempfile::tempdir().unwrap();
    std::fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::create_dir(chart.path().join("templates")).unwrap();
    std::fs::write(
        chart.path().join("templates/cm.yaml"),
        config_map("from-chart", ""),
    )
    .unwrap();
    std::fs::write(
        chart.path().join("templates/fail.yaml"),
        "{{ fail \"no database configured\" }}\n",
    )
    .unwrap();
    let out = kedge(
        "sync",
        chart.path(),
        &["--app", &namespace, "-n", &namespace],
    );
    expect(&out, 2, "sync of a failing chart");
    assert!(
        text(&out.stderr).contains("no database configured"),
        "{}",
        text(&out.stderr)
    );
    assert!(maps.get_opt("from-chart").await.unwrap().is_none());
}

// The stand-in kubelet runs on another worker while the CLI blocks this one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_chart_and_overlay_sync_and_become_healthy() {
    let test = "the_fixture_chart_and_overlay_sync_and_become_healthy";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let (Some(_), Some(_)) = (cli(test, "helm"), cli(test, "kubectl")) else {
        return;
    };
    let shop = cluster.namespace("cli-chart").await;
    let pods = cluster.namespace("cli-overlay").await;
    let _kubelet = kubelet(cluster.client(), &[&shop, &pods]);

    let chart = fixtures_dir().join("charts/GoogleCloudPlatform__microservices-demo");
    let args = ["--app", &shop, "-n", &shop, "--timeout", "2m", "-o", "json"];
    let out = expect(&kedge("sync", &chart, &args), 0, "chart sync");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let objects = report["objects"].as_array().unwrap();
    assert!(objects.len() > 30, "{report}");
    for object in objects {
        assert_eq!(object["action"], "applied", "{object}");
        assert_eq!(object["health"]["status"], "Healthy", "{object}");
    }
    let deployments = objects
        .iter()
        .filter(|o| o["key"]["kind"] == "Deployment")
        .count();
    assert!(deployments >= 10, "{report}");
    let out = expect(&kedge("sync", &chart, &args), 0, "chart re-sync");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    for object in report["objects"].as_array().unwrap() {
        assert_eq!(object["action"], "unchanged", "{object}");
    }

    let overlay =
        fixtures_dir().join("manifests/kubernetes-sigs__kustomize/examples/multibases/dev");
    let out = expect(
        &kedge(
            "sync",
            &overlay,
            &["--app", &pods, "-n", &pods, "--timeout", "1m"],
        ),
        0,
        "overlay sync",
    );
    assert!(
        out.contains(&format!("applied   Pod {pods}/dev-myapp-pod (Healthy)")),
        "{out}"
    );
}

#[tokio::test]
async fn watch_brings_back_a_deleted_or_edited_object_and_keeps_foreign_fields() {
    let test = "watch_brings_back_a_deleted_or_edited_object_and_keeps_foreign_fields";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("cli-watch").await;
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &[("settings.yaml", config_map("settings", ""))]);
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_kedge"))
            .arg("sync")
            .arg(dir.path())
            .args([
                "--app",
                &namespace,
                "-n",
                &namespace,
                "--watch",
                "--force-conflicts",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);
    let wait = Duration::from_secs(30);
    let uid = eventually("first sync applied", wait, || async {
        maps.get_opt("settings")
            .await
            .map_err(|e| e.to_string())?
            .and_then(|m| m.metadata.uid)
            .ok_or_else(|| "absent".to_owned())
    })
    .await;
    // Give the watch a moment to start, then delete the object.
    tokio::time::sleep(Duration::from_millis(500)).await;
    maps.delete("settings", &DeleteParams::default())
        .await
        .unwrap();
    eventually("deleted ConfigMap back", wait, || async {
        match maps.get_opt("settings").await.map_err(|e| e.to_string())? {
            Some(map) if map.metadata.uid.as_ref() != Some(&uid) => Ok(()),
            other => Err(format!("{:?}", other.map(|m| m.metadata.uid))),
        }
    })
    .await;

    // An edit of a field Git sets returns to Git's value (with
    // --force-conflicts: the editor owns the field now); a field Git never
    // set stays.
    let edit = serde_json::json!({
        "metadata": {"labels": {"owner": "payments"}},
        "data": {"greeting": "edited by hand"}
    });
    let params = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    maps.patch("settings", &params, &Patch::Merge(&edit))
        .await
        .unwrap();
    eventually("edited ConfigMap restored", wait, || async {
        let map = maps.get("settings").await.map_err(|e| e.to_string())?;
        let greeting = map.data.unwrap_or_default().remove("greeting");
        let owner = map.metadata.labels.unwrap_or_default().remove("owner");
        match (greeting.as_deref(), owner.as_deref()) {
            (Some("hello"), Some("payments")) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // SIGTERM (how a container is stopped) ends the watch cleanly.
    let term = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.0.wait().unwrap();
    assert!(
        status.success(),
        "kedge sync --watch after SIGTERM: {status}"
    );
}

#[tokio::test]
async fn what_left_git_shows_in_diff_and_a_dry_run_lists_it_for_prune() {
    let test = "what_left_git_shows_in_diff_and_a_dry_run_lists_it_for_prune";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let namespace = cluster.namespace("cli-left").await;
    let dir = tempfile::tempdir().unwrap();
    write_manifests(
        dir.path(),
        &[
            ("a.yaml", config_map("a", "")),
            ("b.yaml", config_map("b", "")),
        ],
    );
    let app = ["--app", namespace.as_str(), "-n", namespace.as_str()];
    expect(&kedge("sync", dir.path(), &app), 0, "first sync");

    write_manifests(dir.path(), &[("a.yaml", config_map("a", ""))]);
    let out = expect(
        &kedge("diff", dir.path(), &app),
        1,
        "diff after removing b.yaml",
    );
    assert!(out.contains(&format!("ConfigMap {namespace}/b")), "{out}");
    assert!(!out.contains(&format!("ConfigMap {namespace}/a")), "{out}");

    let mut dry = app.to_vec();
    dry.extend(["--prune", "--dry-run"]);
    let out = expect(&kedge("sync", dir.path(), &dry), 0, "dry run");
    assert!(
        out.contains(&format!("pruned    ConfigMap {namespace}/b")),
        "{out}"
    );
    assert!(out.contains("(dry run)"), "{out}");
    let maps = Api::<ConfigMap>::namespaced(cluster.client(), &namespace);
    assert!(
        maps.get_opt("b").await.unwrap().is_some(),
        "a dry run deletes nothing"
    );

    let mut prune = app.to_vec();
    prune.push("--prune");
    let out = expect(&kedge("sync", dir.path(), &prune), 0, "prune");
    assert!(
        out.contains(&format!("pruned    ConfigMap {namespace}/b")),
        "{out}"
    );
    assert!(maps.get_opt("b").await.unwrap().is_none());
    expect(&kedge("diff", dir.path(), &app), 0, "diff after prune");
}

/// A child process killed if the test fails before stopping it.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sync_without_a_namespace_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = kedge("sync", dir.path(), &["--app", "x"]);
    expect(&out, 2, "missing --namespace");
    assert!(
        text(&out.stderr).contains("--namespace"),
        "{}",
        text(&out.stderr)
    );
    let out = kedge("diff", dir.path(), &["--app", "Not A Label!", "-n", "x"]);
    expect(&out, 2, "bad app name");
}
