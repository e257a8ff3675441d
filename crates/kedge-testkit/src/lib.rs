//! Test harness for kedge's tests on real parts: the CNCF distribution registry
//! started on loopback, and small OCI image layouts pushed to it with skopeo.

pub mod git;
pub mod oci;
mod process;
pub mod registry;

pub use git::{GitDaemon, GitHttp, GitRoot};
pub use oci::{ImageSpec, OciLayout};
pub use registry::{RegistryOptions, TestRegistry, free_port};

/// Where the shared fixtures live: `$KEDGE_FIXTURES`, else `shared/fixtures`
/// beside the repository (CI clones the repository next to a copy of it).
pub fn fixtures_dir() -> std::path::PathBuf {
    match std::env::var_os("KEDGE_FIXTURES") {
        Some(dir) => dir.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    }
}
