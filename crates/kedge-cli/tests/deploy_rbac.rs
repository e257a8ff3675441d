//! The chart installed for real into the test bed: its ServiceAccount may do
//! what the controller needs (read kedge's resources everywhere, write their
//! status, emit Events, get Secrets by name, hold its Lease at home) and
//! nothing more, until `rbac.apply.mode` opts into applying Applications'
//! objects, in chosen namespaces or everywhere, or into taking over from Argo
//! CD Image Updater (read Argo CD Applications, report on ImageUpdaters,
//! never write an Application). The API server answers every
//! question (`kubectl auth can-i --as` is a SubjectAccessReview). And a real
//! `kedge sync` with the ServiceAccount's token is refused, naming who may
//! not do what where, until the chart opts into that namespace.

mod install;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use install::run;
use kedge_testkit::kube::{TestCluster, cli, eventually};

/// Where a right is asked for.
#[derive(Clone, Copy, Debug)]
enum Scope<'a> {
    /// Every namespace.
    All,
    /// One namespace.
    In(&'a str),
}

/// One question to the API server: may the ServiceAccount `verb` `resource`?
#[derive(Clone, Copy)]
struct Right<'a> {
    verb: &'a str,
    resource: &'a str,
    scope: Scope<'a>,
}

fn right<'a>(verb: &'a str, resource: &'a str, scope: Scope<'a>) -> Right<'a> {
    Right {
        verb,
        resource,
        scope,
    }
}

struct Installed<'a> {
    kubectl: &'a Path,
    kubeconfig: &'a str,
    user: String,
}

impl Installed<'_> {
    /// Whether the API server lets the ServiceAccount exercise `right`.
    fn can(&self, right: &Right<'_>) -> bool {
        let (resource, subresource) = match right.resource.split_once('/') {
            Some((resource, sub)) => (resource, Some(sub)),
            None => (right.resource, None),
        };
        let mut args = vec![
            "--kubeconfig",
            self.kubeconfig,
            "auth",
            "can-i",
            right.verb,
            resource,
        ];
        if let Some(sub) = subresource {
            args.extend(["--subresource", sub]);
        }
        match right.scope {
            Scope::All => args.push("--all-namespaces"),
            Scope::In(namespace) => args.extend(["--namespace", namespace]),
        }
        args.extend(["--as", &self.user]);
        let output = install::output(self.kubectl, &args, None);
        match output.status.code() {
            Some(0) => true,
            Some(1) => false,
            _ => panic!(
                "kubectl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }

    /// Asserts (waiting up to 10 s for RBAC changes to reach the authorizer)
    /// that every right in `allowed` is granted and none in `denied` is.
    async fn assert_rights(&self, what: &str, allowed: &[Right<'_>], denied: &[Right<'_>]) {
        for right in allowed {
            let question = format!(
                "{what}: {} {} in {:?}",
                right.verb, right.resource, right.scope
            );
            eventually(&question, Duration::from_secs(10), || async {
                if self.can(right) {
                    Ok(())
                } else {
                    Err("denied".to_owned())
                }
            })
            .await;
        }
        for right in denied {
            assert!(
                !self.can(right),
                "{what}: {} may {} {} in {:?}",
                self.user,
                right.verb,
                right.resource,
                right.scope
            );
        }
    }
}

#[tokio::test]
async fn the_chart_grants_the_controller_rights_and_applying_only_when_opted_in() {
    let test = "the_chart_grants_the_controller_rights_and_applying_only_when_opted_in";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let (Some(helm), Some(kubectl)) = (cli(test, "helm"), cli(test, "kubectl")) else {
        return;
    };
    let home = cluster.namespace("kedge-install").await;
    let team = cluster.namespace("kedge-team").await;
    let other = cluster.namespace("kedge-other").await;
    let kubeconfig = cluster.kubeconfig().to_str().expect("UTF-8 path");
    let chart = install::chart();
    let chart = chart.to_str().expect("UTF-8 path");
    // The release name holds "kedge", so it names every object; unique per
    // run, so its ClusterRoles meet no other test's.
    let release = home.as_str();
    let helm_run = |verb: &str, set: &[&str]| {
        helm_release(&helm, verb, release, chart, &home, kubeconfig, set)
    };
    helm_run("install", &[]);
    let installed = Installed {
        kubectl: &kubectl,
        kubeconfig,
        user: format!("system:serviceaccount:{home}:{release}"),
    };

    let controller = [
        right("list", "applications.kedge.dev", Scope::All),
        right("watch", "imageupdates.kedge.dev", Scope::All),
        right("patch", "applications.kedge.dev/status", Scope::In(&team)),
        // The refresh annotation a webhook sets.
        right("patch", "applications.kedge.dev", Scope::In(&team)),
        right("patch", "imageupdates.kedge.dev", Scope::In(&team)),
        right("patch", "imageupdates.kedge.dev/status", Scope::In(&team)),
        right("create", "events", Scope::In(&team)),
        right("create", "events.events.k8s.io", Scope::In(&team)),
        right("get", "secrets", Scope::In(&team)),
        right("create", "leases.coordination.k8s.io", Scope::In(&home)),
        right("update", "leases.coordination.k8s.io", Scope::In(&home)),
    ];
    let apply_in_team = [
        right("create", "deployments.apps", Scope::In(&team)),
        right("patch", "configmaps", Scope::In(&team)),
        right("delete", "services", Scope::In(&team)),
    ];
    let apply_in_other = [
        right("create", "deployments.apps", Scope::In(&other)),
        right("delete", "configmaps", Scope::In(&other)),
    ];
    // Denied unless applying is allowed there (applying and pruning an
    // Application's Secrets needs list and watch on them, too).
    let never = [
        right("list", "secrets", Scope::In(&other)),
        right("watch", "secrets", Scope::All),
        right("delete", "applications.kedge.dev", Scope::In(&other)),
        right("delete", "imageupdates.kedge.dev", Scope::In(&other)),
        right("create", "applications.kedge.dev", Scope::In(&other)),
        right("create", "leases.coordination.k8s.io", Scope::In(&other)),
        right(
            "create",
            "clusterroles.rbac.authorization.k8s.io",
            Scope::All,
        ),
    ];

    // The take-over of Argo CD Image Updater, opted into with
    // argocdImageUpdater.enabled.
    let takeover = [
        right("list", "applications.argoproj.io", Scope::All),
        right("watch", "applications.argoproj.io", Scope::All),
        right(
            "watch",
            "imageupdaters.argocd-image-updater.argoproj.io",
            Scope::All,
        ),
        right(
            "patch",
            "imageupdaters.argocd-image-updater.argoproj.io/status",
            Scope::In(&team),
        ),
    ];
    // Argo CD's Applications and the ImageUpdaters' specs are never written.
    let never_argocd = [
        right("patch", "applications.argoproj.io", Scope::In(&team)),
        right("update", "applications.argoproj.io", Scope::In(&team)),
        right(
            "patch",
            "imageupdaters.argocd-image-updater.argoproj.io",
            Scope::In(&team),
        ),
    ];

    let denied: Vec<Right> = [
        &apply_in_team[..],
        &apply_in_other,
        &never,
        &takeover,
        &never_argocd,
    ]
    .concat();
    installed
        .assert_rights("default values", &controller, &denied)
        .await;

    helm_run("upgrade", &["argocdImageUpdater.enabled=true"]);
    let allowed: Vec<Right> = [&controller[..], &takeover].concat();
    let denied: Vec<Right> = [&apply_in_team[..], &never, &never_argocd].concat();
    installed
        .assert_rights("argocdImageUpdater.enabled=true", &allowed, &denied)
        .await;

    let namespaces = format!("rbac.apply.namespaces={{{team}}}");
    helm_run("upgrade", &["rbac.apply.mode=namespaces", &namespaces]);
    let allowed: Vec<Right> = [&controller[..], &apply_in_team].concat();
    let denied: Vec<Right> = [&apply_in_other[..], &never].concat();
    installed
        .assert_rights("rbac.apply.mode=namespaces", &allowed, &denied)
        .await;

    helm_run("upgrade", &["rbac.apply.mode=cluster"]);
    let allowed: Vec<Right> = [&controller[..], &apply_in_team, &apply_in_other].concat();
    installed
        .assert_rights("rbac.apply.mode=cluster", &allowed, &[])
        .await;

    run(
        &helm,
        &[
            "uninstall",
            release,
            "--namespace",
            &home,
            "--kubeconfig",
            kubeconfig,
        ],
        None,
    );
}

/// Runs `helm VERB RELEASE CHART` in `namespace` as the admin, with `--set`
/// values.
fn helm_release(
    helm: &Path,
    verb: &str,
    release: &str,
    chart: &str,
    namespace: &str,
    kubeconfig: &str,
    set: &[&str],
) -> String {
    let mut args = vec![
        verb,
        release,
        chart,
        "--namespace",
        namespace,
        "--kubeconfig",
        kubeconfig,
    ];
    for value in set {
        args.extend(["--set", value]);
    }
    run(helm, &args, None)
}

/// A kubeconfig that authenticates as the ServiceAccount `namespace/name`
/// with a token from the TokenRequest API, written next to nothing else.
fn service_account_kubeconfig(
    kubectl: &Path,
    admin: &Path,
    namespace: &str,
    name: &str,
    dir: &Path,
) -> PathBuf {
    let token = run(
        kubectl,
        &[
            "--kubeconfig",
            admin.to_str().expect("UTF-8 path"),
            "create",
            "token",
            name,
            "--namespace",
            namespace,
        ],
        None,
    );
    let kubeconfig = dir.join("kubeconfig");
    std::fs::copy(admin, &kubeconfig).expect("copying the kubeconfig");
    let path = kubeconfig.to_str().expect("UTF-8 path");
    let credentials = format!("--token={}", token.trim());
    let config = |args: &[&str]| {
        run(
            kubectl,
            &[&["--kubeconfig", path, "config"][..], args].concat(),
            None,
        )
    };
    config(&["set-credentials", "kedge", &credentials]);
    config(&["set-context", "--current", "--user=kedge"]);
    kubeconfig
}

#[tokio::test]
async fn a_sync_as_the_chart_service_account_is_refused_until_opted_in() {
    let test = "a_sync_as_the_chart_service_account_is_refused_until_opted_in";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let (Some(helm), Some(kubectl)) = (cli(test, "helm"), cli(test, "kubectl")) else {
        return;
    };
    let home = cluster.namespace("kedge-sync").await;
    let team = cluster.namespace("kedge-sync-team").await;
    let admin = cluster.kubeconfig().to_str().expect("UTF-8 path");
    let chart = install::chart();
    let chart = chart.to_str().expect("UTF-8 path");
    let release = home.as_str();
    let helm_run =
        |verb: &str, set: &[&str]| helm_release(&helm, verb, release, chart, &home, admin, set);
    helm_run("install", &[]);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig =
        service_account_kubeconfig(&kubectl, cluster.kubeconfig(), &home, release, dir.path());
    let manifests = dir.path().join("app");
    std::fs::create_dir(&manifests).expect("manifest dir");
    std::fs::write(
        manifests.join("settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hello\n",
    )
    .expect("manifest");
    let sync = || {
        Command::new(env!("CARGO_BIN_EXE_kedge"))
            .arg("sync")
            .arg(&manifests)
            .args([
                "--app",
                "settings",
                "--namespace",
                &team,
                "--timeout",
                "30s",
            ])
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .expect("kedge runs")
    };

    // Without rbac.apply: refused by the API server, and kedge says by whom
    // and for what, naming the ServiceAccount and the namespace.
    let refused = sync();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    let who = format!(
        "User \"system:serviceaccount:{home}:{release}\" cannot list resource \"configmaps\""
    );
    assert!(stderr.contains(&who), "{stderr}");
    assert!(
        stderr.contains(&format!("in the namespace \"{team}\"")),
        "{stderr}"
    );

    // Opted in for that namespace: the same sync applies.
    let namespaces = format!("rbac.apply.namespaces={{{team}}}");
    helm_run("upgrade", &["rbac.apply.mode=namespaces", &namespaces]);
    let synced = eventually(
        "the sync as kedge's ServiceAccount",
        Duration::from_secs(20),
        || async {
            let output = sync();
            if output.status.success() {
                Ok(output)
            } else {
                Err(String::from_utf8_lossy(&output.stderr).into_owned())
            }
        },
    )
    .await;
    let stdout = String::from_utf8_lossy(&synced.stdout);
    assert!(
        stdout.contains(&format!("ConfigMap {team}/settings")),
        "{stdout}"
    );
    run(
        &helm,
        &[
            "uninstall",
            release,
            "--namespace",
            &home,
            "--kubeconfig",
            admin,
        ],
        None,
    );
}

/// The controller itself, run with the chart's ServiceAccount token (not
/// admin): it takes its Lease at home, reads the Application and reports the
/// refusal in the Application's status (no crash, no retry storm) until the
/// chart opts into the Application's namespace, then syncs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_as_the_chart_service_account_reports_refusals_until_opted_in() {
    let test = "the_controller_as_the_chart_service_account_reports_refusals_until_opted_in";
    let Some(cluster) = TestCluster::connect(test).await else {
        return;
    };
    let (Some(helm), Some(kubectl)) = (cli(test, "helm"), cli(test, "kubectl")) else {
        return;
    };
    let home = cluster.namespace("kedge-ctl-home").await;
    let team = cluster.namespace("kedge-ctl-team").await;
    let admin = cluster.kubeconfig().to_str().expect("UTF-8 path");
    let chart = install::chart();
    let chart = chart.to_str().expect("UTF-8 path");
    let release = home.as_str();
    let helm_run =
        |verb: &str, set: &[&str]| helm_release(&helm, verb, release, chart, &home, admin, set);
    helm_run("install", &[]);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig =
        service_account_kubeconfig(&kubectl, cluster.kubeconfig(), &home, release, dir.path());
    let root = kedge_testkit::GitRoot::new();
    let config_map =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hello\n";
    root.create(
        "team/settings",
        "main",
        &[("app/settings.yaml", config_map)],
    );
    let daemon = kedge_testkit::GitDaemon::start(&root);
    let client = cluster.client();
    let apps: kube::Api<kedge_controller::Application> =
        kube::Api::namespaced(client.clone(), &team);
    let app: kedge_controller::Application = serde_json::from_value(serde_json::json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "settings", "namespace": team},
        "spec": {
            "source": {"repoURL": daemon.url("team/settings"), "path": "app"},
            "destination": {"namespace": team},
            "syncPolicy": {"interval": "2s", "retry": {"limit": 100, "duration": "1s", "maxDuration": "2s"}},
        },
    }))
    .expect("an Application");
    apps.create(&Default::default(), &app)
        .await
        .expect("creating the Application");

    let work = tempfile::tempdir().expect("a working directory");
    let port = kedge_testkit::free_port();
    let mut kedge = Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args(["serve", "--controller", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "--watch-namespace",
            &team,
            "--lease-namespace",
            &home,
            "--cache-dir",
        ])
        .arg(work.path().join("cache"))
        .current_dir(work.path())
        .env("KUBECONFIG", &kubeconfig)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kedge serve --controller");
    let reason = |app: &kedge_controller::Application| {
        let conditions = app
            .status
            .as_ref()
            .map(|s| s.conditions.clone())
            .unwrap_or_default();
        conditions
            .into_iter()
            .find(|c| c.condition_type == kedge_controller::ConditionType::Synced)
            .map(|c| (c.status, c.reason, c.message))
    };
    let refused = eventually(
        "the refusal in the Application's status",
        Duration::from_secs(60),
        || async {
            let app = apps.get("settings").await.map_err(|e| e.to_string())?;
            match reason(&app) {
                Some((_, reason, message))
                    if reason == "SyncFailed" && message.contains("forbidden") =>
                {
                    Ok(message)
                }
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    let who = format!("system:serviceaccount:{home}:{release}");
    assert!(
        refused.contains(&who),
        "the message names who was refused: {refused}"
    );
    assert!(
        kedge.try_wait().expect("kedge's status").is_none(),
        "kedge keeps running"
    );

    let namespaces = format!("rbac.apply.namespaces={{{team}}}");
    helm_run("upgrade", &["rbac.apply.mode=namespaces", &namespaces]);
    eventually("synced once opted in", Duration::from_secs(60), || async {
        let app = apps.get("settings").await.map_err(|e| e.to_string())?;
        match reason(&app) {
            Some((kedge_controller::ConditionStatus::True, _, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let config_maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, &team);
    config_maps
        .get("settings")
        .await
        .expect("the ConfigMap applied by the ServiceAccount");
    let _ = kedge.kill();
    let _ = kedge.wait();
    drop(daemon);
}
