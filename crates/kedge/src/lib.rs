//! kedge as a library: the GitOps loop that CI tools and controllers embed.
//!
//! - [`discover`] finds the newest tag of an image that a [`policy::TagPolicy`] allows.
//! - [`rewrite`] changes image references in manifests, byte for byte.
//! - [`update`] runs the whole flow from a [`config::Config`]: discover, rewrite
//!   a working clone, commit, push or open a pull request.
//! - [`render`] turns a path (plain manifests, Kustomize, Helm) into the
//!   objects sync applies, each with its source file; [`sync`] orders them,
//!   compares them with the cluster and judges their health.
//! - [`kube`] syncs rendered objects to a cluster (server-side apply, waves,
//!   hooks, health, prune, self-heal) and diffs them.
//! - [`controller`] runs `ImageUpdate` resources through [`update`] in a
//!   cluster, with status and Events on each resource.
//!
//! # Features
//!
//! Each part is a Cargo feature, so a tool that only picks tags or rewrites
//! files compiles neither libgit2 nor the HTTP and TLS stacks:
//!
//! | feature | modules | builds |
//! |---|---|---|
//! | (always) | [`policy`] | pure tag selection |
//! | `rewrite` | [`rewrite`] | pure YAML edits |
//! | `registry` | [`registry`], [`discover`] | HTTP, TLS, Tokio |
//! | `render`, `sync` | [`render`], [`sync`] | pure; Helm and Kustomize are run as programs |
//! | `git` | [`git`] | libgit2 |
//! | `github` | [`forge`] | the GitHub client |
//! | `update` | [`config`], [`update`] | `registry`, `rewrite`, `git`, `github` |
//! | `server` | [`serve`] | `update` and the webhook server |
//! | `kube` | [`kube`] | `sync` and the Kubernetes client |
//! | `controller` | [`controller`] | `update`, `kube` and kube-runtime |
//!
//! The default is everything (`update`, `server`, `kube`, `controller`).
//!
//! # Pick a tag
//!
//! ```no_run
//! # #[cfg(feature = "registry")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use kedge::discover::{discover, DiscoverOptions};
//! use kedge::policy::{PolicySpec, StrategySpec, TagPolicy};
//! use kedge::registry::{ClientConfig, RegistryClient};
//!
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
//!
//! # Rewrite files
//!
//! ```
//! # #[cfg(feature = "rewrite")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use kedge::rewrite::{rewrite, Update};
//!
//! let manifest = b"spec:\n  containers:\n  - image: ghcr.io/org/app:1.2.0 # pinned\n";
//! let update = Update::parse("ghcr.io/org/app=ghcr.io/org/app:1.3.0")?;
//! let out = rewrite("deploy.yaml".as_ref(), manifest, &[update])?;
//! assert_eq!(out.bytes, b"spec:\n  containers:\n  - image: ghcr.io/org/app:1.3.0 # pinned\n");
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "rewrite"))]
//! # fn main() {}
//! ```
//!
//! # Run an update from a configuration built in code
//!
//! ```no_run
//! # #[cfg(feature = "update")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use kedge::config::{Config, ImageConfig, PolicyConfig};
//! use kedge::update::{RunOptions, Updater};
//!
//! let image = ImageConfig::new("web", "ghcr.io/org/web", ["apps/web"]).with_policy(PolicyConfig {
//!     constraint: Some("^1".into()),
//!     ..PolicyConfig::default()
//! });
//! let config = Config::new("https://github.com/org/deploy.git", vec![image]);
//! // Validates the configuration; contacts nothing yet.
//! let updater = Updater::new(config)?;
//! let result = updater.run(RunOptions::default()).await?;
//! for update in &result.updates {
//!     println!("{} -> {}", update.alias, update.new_reference);
//! }
//! for failure in &result.failed {
//!     eprintln!("{}: {}", failure.alias, failure.error);
//! }
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "update")]
pub mod config;
#[cfg(feature = "controller")]
pub mod controller;
#[cfg(feature = "registry")]
pub mod discover;
#[cfg(feature = "server")]
pub mod serve;
#[cfg(feature = "update")]
pub mod update;

#[cfg(feature = "github")]
pub use kedge_forge as forge;
#[cfg(feature = "git")]
pub use kedge_git as git;
#[cfg(feature = "kube")]
pub use kedge_kube as kube;
pub use kedge_policy as policy;
#[cfg(feature = "registry")]
pub use kedge_registry as registry;
#[cfg(feature = "render")]
pub use kedge_render as render;
#[cfg(feature = "rewrite")]
pub use kedge_rewrite as rewrite;
#[cfg(feature = "sync")]
pub use kedge_sync as sync;
