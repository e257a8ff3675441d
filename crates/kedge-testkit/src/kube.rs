//! The Kubernetes test bed: a real kube-apiserver, etcd and
//! kube-controller-manager built from their Go modules (`tests/kube`) and
//! started by `scripts/test.sh` (or `scripts/kube-up.sh` by hand), which
//! export `KUBECONFIG`. There is no kubelet and no scheduler: a test that needs
//! a workload's status writes it through `/status`, as a kubelet would.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{ObjectMeta, PostParams};
use kube::config::{AuthInfo, KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

/// The test bed's API server, reached with its admin identity.
#[derive(Clone)]
pub struct TestCluster {
    config: Config,
    client: Client,
    kubeconfig: PathBuf,
}

impl TestCluster {
    /// Connects to the cluster `$KUBECONFIG` names.
    ///
    /// Without `$KUBECONFIG`, a Kubernetes test cannot run: under `CI=true`
    /// that is a failure (this panics, so CI never passes by skipping);
    /// elsewhere it prints why `test` is skipped and returns `None`.
    pub async fn connect(test: &str) -> Option<Self> {
        let Some(kubeconfig) = std::env::var_os("KUBECONFIG").map(PathBuf::from) else {
            let why = "KUBECONFIG is not set: start the test bed with scripts/kube-up.sh \
                       (or run scripts/test.sh, which starts it)";
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("{test}: {why}; under CI=true a Kubernetes test must not be skipped");
            }
            eprintln!("SKIPPED {test}: {why}");
            return None;
        };
        let raw = Kubeconfig::read_from(&kubeconfig)
            .unwrap_or_else(|e| panic!("reading {}: {e}", kubeconfig.display()));
        let config = Config::from_custom_kubeconfig(raw, &KubeConfigOptions::default())
            .await
            .unwrap_or_else(|e| panic!("kubeconfig {}: {e}", kubeconfig.display()));
        let client = Client::try_from(config.clone()).expect("kube client");
        // Fail with a clear message if the server named there is not answering.
        client.apiserver_version().await.unwrap_or_else(|e| {
            panic!(
                "{test}: no API server at {} ({}): {e}",
                config.cluster_url,
                kubeconfig.display()
            )
        });
        Some(Self {
            config,
            client,
            kubeconfig,
        })
    }

    /// A client with the admin identity (`system:masters`).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The admin kubeconfig file, for CLIs started by a test.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Creates a Namespace whose name starts with `prefix` and is unique to
    /// this test bed, and returns its name.
    pub async fn namespace(&self, prefix: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(self.client())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
        name
    }

    /// A client that authenticates as the ServiceAccount `namespace/name`
    /// (which must exist) with a one-hour token from the TokenRequest API, so
    /// a test acts with exactly the rights its RBAC bindings grant.
    pub async fn service_account_client(&self, namespace: &str, name: &str) -> Client {
        let request = TokenRequest {
            spec: Some(TokenRequestSpec {
                expiration_seconds: Some(3600),
                ..TokenRequestSpec::default()
            }),
            ..TokenRequest::default()
        };
        let token = Api::<ServiceAccount>::namespaced(self.client(), namespace)
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .unwrap_or_else(|e| panic!("token for ServiceAccount {namespace}/{name}: {e}"))
            .status
            .and_then(|status| status.token)
            .expect("TokenRequest status carries a token");
        let mut config = self.config.clone();
        config.auth_info = AuthInfo {
            token: Some(token.into()),
            ..AuthInfo::default()
        };
        config.default_namespace = namespace.to_owned();
        Client::try_from(config).expect("ServiceAccount client")
    }
}

/// Polls `check` every 50 ms until it returns `Some`, and panics naming
/// `what` (with the last value seen) if that takes longer than `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not so after {timeout:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The real CLI `name` (`helm`, `kubectl`, `kedge-testbed`) on `PATH`, where
/// `scripts/test.sh` and `scripts/kube-up.sh` put the test bed's tools.
/// Missing, it fails `test` under `CI=true` and prints why it is skipped
/// elsewhere.
pub fn cli(test: &str, name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        let why =
            format!("{name} is not on PATH (scripts/test.sh and scripts/kube-up.sh put it there)");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: {why}"
        );
        eprintln!("SKIPPED {test}: {why}");
    }
    found
}

/// Argo CD's `Application` CRD and Argo CD Image Updater's `ImageUpdater`
/// CRD, as files: the first is kept in this repository (`tests/crds`, with
/// its origin), the second is among the shared fixtures.
pub fn argocd_crd_files() -> [PathBuf; 2] {
    let application = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/crds/argoproj.io_applications.yaml");
    let image_updater = crate::fixtures_dir().join(
        "migration/argoproj-labs__argocd-image-updater/config/crd/bases/\
         argocd-image-updater.argoproj.io_imageupdaters.yaml",
    );
    [application, image_updater]
}

/// Applies the CustomResourceDefinition `crd` (server-side) and waits until
/// it is served.
pub async fn apply_crd(client: &Client, crd: &serde_json::Value) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Patch, PatchParams};
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    crds.patch(
        &name,
        &PatchParams::apply("kedge-testkit").force(),
        &Patch::Apply(crd),
    )
    .await
    .unwrap_or_else(|error| panic!("applying CRD {name}: {error}"));
    eventually(
        &format!("{name} Established"),
        Duration::from_secs(60),
        || {
            let (crds, name) = (crds.clone(), name.clone());
            async move {
                let crd = crds.get(&name).await.map_err(|e| e.to_string())?;
                let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
                (conditions.iter())
                    .any(|c| c.type_ == "Established" && c.status == "True")
                    .then_some(())
                    .ok_or_else(|| format!("{conditions:?}"))
            }
        },
    )
    .await;
}
