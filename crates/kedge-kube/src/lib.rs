//! kedge's sync against a cluster: the IO around [`kedge_sync`]'s pure core.
//!
//! - [`sync`]: discovery once, the app's live state in one LIST per resource
//!   type, server-side apply (field manager `kedge`) of what differs, step
//!   by step in [`kedge_sync::order::plan`] order, each step waiting until
//!   healthy; hooks; prune of what left Git.
//! - [`diff`]: the same reading, compared and shown as a unified diff per
//!   object, without writing.
//! - [`heal`]: after a sync, watch the app's objects and re-apply any that
//!   drift or disappear, until shut down.
//!
//! Both take rendered objects ([`kedge_render::render`]) and a
//! [`kube::Client`], and return a typed report ([`SyncReport`], [`DiffReport`]).
//!
//! ```no_run
//! use kedge_kube::{SyncOptions, sync};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let path = std::path::Path::new("apps/shop");
//! let objects = kedge_render::render(path, &kedge_render::Renderer::detect(path))?;
//! let client = kube::Client::try_default().await?;
//! let app = kedge_sync::inventory::AppName::new("shop")?;
//! let report = sync(&client, &objects, &SyncOptions::new(app, "shop")).await?;
//! for object in report.failures() {
//!     eprintln!("{}: {:?}", object.key, object.action);
//! }
//! # Ok(())
//! # }
//! ```

mod apply;
mod diff;
mod discovery;
mod engine;
mod error;
mod heal;
mod live;
mod prune;
pub mod report;
mod resources;
mod wait;

use std::collections::BTreeSet;
use std::time::Duration;

use kedge_sync::ignore::IgnoreRules;
use kedge_sync::inventory::AppName;

pub use diff::diff;
pub use discovery::SharedDiscovery;
pub use engine::sync;
pub use error::{KubeError, Located};
pub use heal::{heal, keep_synced};
pub use report::{Action, DiffReport, ObjectDiff, ObjectResult, SyncReport};

/// How a sync (and a diff) runs. Build with [`SyncOptions::new`], then set
/// fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncOptions {
    /// The app: the value of the inventory label on everything applied.
    pub app: AppName,
    /// The destination namespace of namespaced objects that name none.
    pub namespace: String,
    /// Delete the app's objects that left Git, once every object applied
    /// (none failed or was refused for a conflict).
    pub prune: bool,
    /// Apply with the server's dry run, delete nothing, list what would be pruned.
    pub dry_run: bool,
    /// Take over fields another field manager owns instead of skipping the object.
    pub force_conflicts: bool,
    /// Create the destination namespace if it does not exist.
    pub create_namespace: bool,
    /// How long the whole sync may wait for objects to become healthy.
    pub timeout: Duration,
    /// Fields sync neither compares nor sends.
    pub ignore: IgnoreRules,
    /// Let prune run when nothing was rendered (it deletes all the app's objects).
    pub allow_empty: bool,
    /// Requests in flight at once (lists, applies, reads).
    pub concurrency: usize,
    /// Where the app's objects that left Git can be: `None` (the default)
    /// lists every listable type, one LIST each (about sixty on a bare
    /// cluster); `Some(kinds)` lists Git's types and these only. For a
    /// caller that remembers the kinds of the app's objects between syncs
    /// ([`SyncReport::kinds`], [`DiffReport::kinds`]), as a controller
    /// does between full sweeps; an object of another kind labelled for
    /// the app is then neither reported nor pruned.
    pub inventory_kinds: Option<BTreeSet<GroupKind>>,
    /// API discovery shared with other syncs; `None` (the default) asks
    /// the API server each time.
    pub discovery: Option<SharedDiscovery>,
}

/// A resource type as an inventory remembers it: API group (empty for the
/// core group) and kind, whatever the version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKind {
    /// API group, empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
}

impl GroupKind {
    /// The group and kind of `key`.
    pub fn of(key: &kedge_sync::ObjectKey) -> Self {
        Self {
            group: key.group.clone(),
            kind: key.kind.clone(),
        }
    }
}

impl SyncOptions {
    /// Options for app `app` into namespace `namespace`: no prune, no dry
    /// run, a 5 minute timeout, 32 requests in flight.
    pub fn new(app: AppName, namespace: impl Into<String>) -> Self {
        Self {
            app,
            namespace: namespace.into(),
            prune: false,
            dry_run: false,
            force_conflicts: false,
            create_namespace: false,
            timeout: Duration::from_secs(300),
            ignore: IgnoreRules::default(),
            allow_empty: false,
            concurrency: 32,
            inventory_kinds: None,
            discovery: None,
        }
    }

    pub(crate) fn compare_options(&self) -> kedge_sync::compare::CompareOptions {
        kedge_sync::compare::CompareOptions::with_ignore(self.ignore.clone())
    }
}

/// `sync`, `diff` and `keep_synced` futures can be spawned on a
/// multi-threaded runtime (a controller runs many at once); this fails to
/// compile if one of them stops being `Send`.
#[cfg(test)]
#[allow(dead_code)]
fn futures_are_send(
    client: &kube::Client,
    objects: &[kedge_render::RenderedObject],
    options: &SyncOptions,
) {
    fn is_send<T: Send>(_: &T) {}
    is_send(&sync(client, objects, options));
    is_send(&diff(client, objects, options));
}
