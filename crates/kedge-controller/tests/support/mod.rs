//! Shared by kedge-controller's cluster tests: the checked-in CRDs
//! installed on the test bed.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kedge_testkit::kube::eventually;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};

/// The field manager the tests apply with.
pub const MANAGER: &str = "kedge-controller-test";

pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

pub fn read_yaml<T: serde::de::DeserializeOwned>(path: &str) -> T {
    let path = repo_file(path);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Installs the checked-in CRDs (what users apply) and waits until both
/// are served.
pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for file in [
        "deploy/crds/applications.yaml",
        "deploy/crds/imageupdates.yaml",
    ] {
        let crd: CustomResourceDefinition = read_yaml(file);
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|error| panic!("applying {file}: {error}"));
        eventually(
            &format!("{name} Established"),
            Duration::from_secs(30),
            || {
                let crds = crds.clone();
                let name = name.clone();
                async move {
                    let crd = crds.get(&name).await.map_err(|error| error.to_string())?;
                    let conditions = crd
                        .status
                        .and_then(|status| status.conditions)
                        .unwrap_or_default();
                    let established = conditions.iter().any(|condition| {
                        condition.type_ == "Established" && condition.status == "True"
                    });
                    if established {
                        Ok(())
                    } else {
                        Err(format!("{conditions:?}"))
                    }
                }
            },
        )
        .await;
    }
}
