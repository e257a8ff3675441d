//! Test harness for kedge's tests on real parts: the CNCF distribution registry
//! started on loopback, small OCI image layouts pushed to it with skopeo, git
//! servers, and the Kubernetes test bed's API server ([`kube`]).

use std::path::{Path, PathBuf};

pub mod git;
pub mod kube;
pub mod kubelet;
pub mod oci;
mod process;
pub mod registry;

pub use git::{GitDaemon, GitHttp, GitRoot};
pub use oci::{ImageSpec, OciLayout};
pub use registry::{RegistryOptions, TestRegistry, free_port};

/// Where the shared fixtures live: `$KEDGE_FIXTURES`; else `shared/fixtures`
/// beside the repository (CI clones the repository next to a copy of it); else,
/// for a scratch clone of a local checkout, `shared/fixtures` beside that checkout.
pub fn fixtures_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KEDGE_FIXTURES") {
        return dir.into();
    }
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let beside = repository.join("../shared/fixtures");
    if beside.is_dir() {
        return beside;
    }
    local_origin(&repository)
        .map(|origin| origin.join("../shared/fixtures"))
        .filter(|dir| dir.is_dir())
        .unwrap_or(beside)
}

/// The checkout this repository was cloned from, when it is a local path.
fn local_origin(repository: &Path) -> Option<PathBuf> {
    let output = std::process::Command::new("git")
        .args(["remote", "get-url", "origin"])
        .current_dir(repository)
        .output()
        .ok()?;
    let url = String::from_utf8(output.stdout).ok()?;
    let url = url.trim();
    let path = Path::new(url.strip_prefix("file://").unwrap_or(url));
    path.is_absolute().then(|| path.to_owned())
}
