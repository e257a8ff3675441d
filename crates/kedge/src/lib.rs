//! kedge as a library: the GitOps loop that CI tools and controllers embed.
//!
//! - [`discover`] finds the newest tag of an image that a [`policy::TagPolicy`] allows.
//! - [`rewrite`] changes image references in manifests, byte for byte.
//! - [`render`] turns a path (plain manifests, Kustomize, Helm) into the
//!   objects sync applies, each with its source file.
//! - [`kube`] syncs rendered objects to a cluster (server-side apply, waves,
//!   hooks, health, prune, self-heal) and diffs them; [`sync`] is its pure
//!   core (ordering, inventory, comparison, health rules).
//!
//! The building blocks are re-exported whole: [`policy`] (pure tag selection),
//! [`registry`] (the OCI client) and [`rewrite`] (lossless YAML edits).
//!
//! ```no_run
//! use kedge::discover::{discover, DiscoverOptions};
//! use kedge::policy::{PolicySpec, StrategySpec, TagPolicy};
//! use kedge::registry::{ClientConfig, RegistryClient};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = RegistryClient::new(ClientConfig::default());
//! let policy = TagPolicy::new(PolicySpec {
//!     strategy: StrategySpec::Semver { constraint: "^1.2".into(), prereleases: false, loose: false },
//!     allow: None,
//!     ignore: vec![],
//!     pattern: None,
//!     extract: None,
//!     min_age: None,
//! })?;
//! let image = "ghcr.io/org/app".parse()?;
//! let found = discover(&registry, &image, &policy, &DiscoverOptions::default()).await?;
//! println!("{}:{} ({})", found.image, found.tag, found.digest);
//! # Ok(())
//! # }
//! ```

pub mod config;
pub mod discover;
pub mod serve;
pub mod update;

pub use kedge_forge as forge;
pub use kedge_git as git;
pub use kedge_kube as kube;
pub use kedge_policy as policy;
pub use kedge_registry as registry;
pub use kedge_render as render;
pub use kedge_rewrite as rewrite;
pub use kedge_sync as sync;
